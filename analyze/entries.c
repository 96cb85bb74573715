/* SPDX-License-Identifier: MIT */
/*
 * Profile entries (engine.h): samples aggregated by (profile, kind, fd class, stack) as
 * they come, with a log-linear histogram for the percentiles (the log2 one is made from
 * it at the end); remainder entries by (profile, kind, fd class, call site). When the
 * filter's entry_keys asks, also by thread and object (the exports' labels; a report
 * never pays for them). At the end: sorted by profile, then total descending.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The entry of (profile, kind, fd class, stack or call site) and of the keys asked for
 * (thread key, object: UINT32_MAX and 0 when not asked), from the table (and cached when
 * it can be). */
static struct eng_entry *entry(struct ct_eng *e, int profile, unsigned kind, unsigned cls,
			       int rem, uint64_t id, uint32_t key, uint64_t obj)
{
	int keyed = key != UINT32_MAX || obj;
	uint64_t hkey;
	uint32_t ix;
	struct eng_entry *x;

	hkey = ct_htab_key(((uint64_t)profile << 32) | (kind << 16) | (cls << 1) | (unsigned)rem,
			   id, 0x11);
	if (keyed)
		hkey = ct_htab_key(hkey, key, obj);
	ix = ct_htab_get(&e->ent_by_key, hkey);
	if (ix == UINT32_MAX) {
		ct_grow(&e->ent, &e->cent, e->nent + 1, sizeof(*e->ent));
		ix = (uint32_t)e->nent++;
		x = &e->ent[ix];
		memset(x, 0, sizeof(*x));
		x->e.profile = profile;
		x->e.kind = (uint8_t)kind;
		x->e.fd_class = (uint8_t)cls;
		x->e.remainder = (uint8_t)rem;
		if (rem)
			x->e.site = id;
		else
			x->e.stack = (uint32_t)id;
		x->e.thr = key; /* a key until ct_ent_finish */
		x->e.obj = obj;
		ct_htab_put(&e->ent_by_key, hkey, ix);
	}
	if (!rem && !keyed) {
		unsigned slot = ct_ent_slot(profile, kind, id);

		e->ent_cache[slot].key = ct_ent_word(profile, kind, cls, id);
		e->ent_cache[slot].ix = ix;
	}
	return &e->ent[ix];
}

/* The keys of a sample that split entries: those the filter asks for. */
static unsigned keys_asked(const struct ct_eng *e)
{
	return e->f ? e->f->entry_keys : 0;
}

void ct_ent_add_slow(struct ct_eng *e, int profile, unsigned kind, unsigned fd_class,
		     uint32_t stack, uint64_t v, uint64_t n, uint64_t obj, uint32_t key)
{
	unsigned ks = keys_asked(e), slot;
	uint32_t k = ks & CT_EKEY_THREAD ? key : UINT32_MAX;
	uint64_t o = ks & CT_EKEY_OBJECT ? obj : 0, w;
	struct eng_entry *x;

	if (!ks) {
		ct_ent_sample(entry(e, profile, kind, fd_class, 0, stack, k, o), profile, v, n,
			      obj);
		return;
	}
	/* split by thread or object (an export's labels): cached too, every sample of a
	 * profile that is exported has them */
	w = ct_ent_word(profile, kind, fd_class, stack);
	slot = (unsigned)(((w ^ (uint64_t)k * 0x9e3779b97f4a7c15ull ^ o * 0xc2b2ae3d27d4eb4full) *
			   0xff51afd7ed558ccdull) >> 54);
	if (e->kent_cache[slot].word == w && e->kent_cache[slot].key == k &&
	    e->kent_cache[slot].obj == o) {
		x = &e->ent[e->kent_cache[slot].ix];
	} else {
		x = entry(e, profile, kind, fd_class, 0, stack, k, o);
		e->kent_cache[slot].word = w;
		e->kent_cache[slot].obj = o;
		e->kent_cache[slot].key = k;
		e->kent_cache[slot].ix = (uint32_t)(x - e->ent);
	}
	ct_ent_sample(x, profile, v, n, obj);
}

void ct_ent_remainder(struct ct_eng *e, int profile, unsigned kind, unsigned fd_class,
		      uint64_t pc, uint64_t calls, uint64_t ns, uint64_t max_ns, uint32_t key)
{
	struct eng_entry *x = entry(e, profile, kind, fd_class, 1, pc,
				    keys_asked(e) & CT_EKEY_THREAD ? key : UINT32_MAX, 0);

	x->e.count += calls;
	x->e.total_ns += ns;
	if (max_ns > x->e.max_ns)
		x->e.max_ns = max_ns;
}

static int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

int ct_ent_cmp(const void *pa, const void *pb)
{
	const struct ct_pentry *x = pa, *y = pb;

	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->fd_class != y->fd_class)
		return x->fd_class < y->fd_class ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->remainder != y->remainder)
		return x->remainder < y->remainder ? -1 : 1;
	if (x->site != y->site)
		return cmp_u64(x->site, y->site);
	if (x->thr != y->thr)
		return x->thr < y->thr ? -1 : 1;
	if (x->obj != y->obj)
		return cmp_u64(x->obj, y->obj);
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

void ct_ent_finish(struct ct_eng *e, const uint32_t *key_to_thr, size_t nkeys)
{
	struct ct_analysis *a = e->a;

	a->entries = ct_xcalloc(e->nent ? e->nent : 1, sizeof(*a->entries));
	for (size_t i = 0; i < e->nent; i++) {
		struct eng_entry *x = &e->ent[i];

		if (!x->e.remainder) { /* the samples' (n >= 1 each) */
			x->e.count = x->h.n;
			x->e.total_ns = x->total_ns;
			x->e.max_ns = x->h.n ? x->h.max : 0;
			x->e.max_obj = x->max_obj;
		}
		if (x->e.remainder && !x->e.count)
			continue;
		if (x->e.thr == UINT32_MAX)
			x->e.thr = 0; /* not split by thread */
		else if (key_to_thr)
			x->e.thr = x->e.thr < nkeys ? key_to_thr[x->e.thr] : UINT32_MAX;
		if (!x->e.remainder) {
			x->e.stack_calls = x->e.stack ? x->e.count : 0;
			x->e.p50_ns = ct_lhist_pct(&x->h, 50);
			x->e.p99_ns = ct_lhist_pct(&x->h, 99);
			ct_lhist_log2(&x->h, x->e.hist.count);
		}
		a->entries[a->nentries++] = x->e;
		ct_lhist_reset(&x->h);
	}
	if (a->nentries > 1)
		qsort(a->entries, a->nentries, sizeof(*a->entries), ct_ent_cmp);
	free(e->ent);
	ct_htab_free(&e->ent_by_key);
}
