/* SPDX-License-Identifier: MIT */
/*
 * Counts per stack id (engine.h, struct eng_stks): the stacks of a convoy window's waiters
 * and holders, where the releasers of a holder entry took the lock. A small array, in the
 * order the stacks came, found by a scan up to STKS_INDEX_AT stacks and past that through
 * a hash table (hashtab.h: stack + 1 -> position), so that a trace with thousands of call
 * sites costs a look-up per sample, not a scan. The array's order decides nothing:
 * ct_stks_top breaks ties by the smaller id.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Stacks up to which a scan finds one. */
#define STKS_INDEX_AT 16

void ct_stks_add_slow(struct eng_stks *s, uint32_t stack, uint64_t n)
{
	if (s->ix.slots) {
		uint32_t i = ct_htab_get(&s->ix, (uint64_t)stack + 1);

		if (i != UINT32_MAX) {
			s->v[i].n += n;
			s->last = i;
			return;
		}
	} else {
		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].stack == stack) {
				s->v[i].n += n;
				s->last = i;
				return;
			}
	}
	ct_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->last = s->n;
	s->v[s->n++] = (struct eng_stk){ stack, n };
	if (s->ix.slots)
		ct_htab_put(&s->ix, (uint64_t)stack + 1, (uint32_t)s->last);
	else if (s->n > STKS_INDEX_AT)
		for (size_t i = 0; i < s->n; i++)
			ct_htab_put(&s->ix, (uint64_t)s->v[i].stack + 1, (uint32_t)i);
}

void ct_stks_merge(struct eng_stks *d, const struct eng_stks *s)
{
	for (size_t i = 0; i < s->n; i++)
		ct_stks_add(d, s->v[i].stack, s->v[i].n);
}

uint32_t ct_stks_top(const struct eng_stks *s)
{
	uint32_t best = 0;
	uint64_t bn = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].n > bn || (s->v[i].n == bn && s->v[i].stack < best)) {
			best = s->v[i].stack;
			bn = s->v[i].n;
		}
	return best;
}

void ct_stks_clear(struct eng_stks *s)
{
	/* the index goes (made again past STKS_INDEX_AT): emptying it would cost its size,
	 * which may be many times what the next window adds */
	ct_htab_free(&s->ix);
	s->n = 0;
	s->last = 0;
}

void ct_stks_free(struct eng_stks *s)
{
	free(s->v);
	ct_htab_free(&s->ix);
	memset(s, 0, sizeof(*s));
}
