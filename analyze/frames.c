/* SPDX-License-Identifier: MIT */
/*
 * Implementation of frames.h: stack id -> frame array, in an open-addressing table.
 */
#include "frames.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define INLINE_MAX 8 /* inline chain depth kept per PC */

struct slot {
	uint32_t id; /* 0 = empty */
	int truncated;
	size_t n;
	struct ct_frame *f;
};

struct ct_frames {
	const struct ct_model *m;
	struct ct_sym *sym;
	int sym_tried;
	struct slot *slots;
	size_t nslots, used;
};

struct ct_frames *ct_frames_new(const struct ct_model *m)
{
	struct ct_frames *c = ct_xcalloc(1, sizeof(*c));

	c->m = m;
	return c;
}

void ct_frames_free(struct ct_frames *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++)
		free(c->slots[i].f);
	free(c->slots);
	ct_sym_free(c->sym);
	free(c);
}

static struct ct_sym *sym(struct ct_frames *c)
{
	if (!c->sym_tried) {
		c->sym_tried = 1;
		c->sym = ct_sym_new(c->m->mods, c->m->nmods);
	}
	return c->sym;
}

static size_t hash(uint32_t id, size_t n)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (n - 1);
}

static struct slot *lookup(struct ct_frames *c, uint32_t id)
{
	size_t j;

	if ((c->used + 1) * 2 > c->nslots) {
		size_t n = c->nslots ? c->nslots * 2 : 64;
		struct slot *t = ct_xcalloc(n, sizeof(*t));

		for (size_t i = 0; i < c->nslots; i++) {
			if (!c->slots[i].id)
				continue;
			for (j = hash(c->slots[i].id, n); t[j].id; j = (j + 1) & (n - 1))
				;
			t[j] = c->slots[i];
		}
		free(c->slots);
		c->slots = t;
		c->nslots = n;
	}
	for (j = hash(id, c->nslots); c->slots[j].id; j = (j + 1) & (c->nslots - 1))
		if (c->slots[j].id == id)
			return &c->slots[j];
	return &c->slots[j];
}

/* Stand-in for an unresolvable PC when there is no symbolizer. */
static struct ct_frame unknown(uint64_t pc)
{
	return (struct ct_frame){ "??", NULL, 0, "?", pc, 0 };
}

size_t ct_frames_stack(struct ct_frames *c, uint32_t id, const struct ct_frame **out,
		       int *truncated)
{
	const struct ct_mstack *st;
	struct slot *s;
	size_t cap = 0;

	*out = NULL;
	if (truncated)
		*truncated = 0;
	if (id == 0 || !(st = ct_model_stack(c->m, id)))
		return 0;
	s = lookup(c, id);
	if (!s->id) {
		struct ct_sym *sy = sym(c);

		s->id = id;
		s->truncated = !!(st->flags & CT_STACKF_TRUNCATED);
		c->used++;
		for (size_t i = 0; i < st->nframes; i++) {
			struct ct_frame fr[INLINE_MAX];
			int n = 0;

			if (sy)
				n = ct_sym_resolve(sy, st->pcs[i], 0, fr, INLINE_MAX);
			if (n < 1) {
				fr[0] = unknown(st->pcs[i]);
				n = 1;
			}
			ct_grow(&s->f, &cap, s->n + (size_t)n, sizeof(*s->f));
			memcpy(&s->f[s->n], fr, (size_t)n * sizeof(*fr));
			s->n += (size_t)n;
		}
	}
	*out = s->f;
	if (truncated)
		*truncated = s->truncated;
	return s->n;
}

const char *ct_frames_func(struct ct_frames *c, uint64_t addr)
{
	struct ct_sym *sy = sym(c);
	struct ct_frame fr[INLINE_MAX];
	int n;

	if (!addr || !sy)
		return "??";
	n = ct_sym_resolve(sy, addr, 1, fr, INLINE_MAX);
	return n >= 1 ? fr[n - 1].func : "??";
}
