/* SPDX-License-Identifier: MIT */
/*
 * Wait chains and deadlocks (engine.h) from the state at the end of the analysed time:
 * each thread's innermost open wait on a mutex-like object with a known owner (the one
 * the object's own events leave, else the one glibc named at the wait's begin if no
 * release followed it), or a join of a live thread, is an edge thread -> holder; where
 * the holder took the object comes from its latest HOLD record (unless a release of its
 * own followed), else its latest acquisition not followed by its own release. The cycles
 * are the deadlocks.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Whether the latest thread of tid had ended by to. */
static int ended_by(const struct ct_eng *e, uint32_t tid, uint64_t to)
{
	const struct eng_thread *j = NULL;

	for (size_t i = 0; i < e->nth; i++)
		if (e->th[i].tid == tid)
			j = &e->th[i];
	return j && j->ended && j->end_ts <= to;
}

static const struct ct_chain_link *link_of(const struct ct_chain_link *v, size_t n, uint32_t tid)
{
	size_t lo = 0, hi = n;

	CT_PARTITION(lo, hi, mid, v[mid].tid < tid);
	return lo < n && v[lo].tid == tid ? &v[lo] : NULL;
}

static int cmp_link_tid(const void *pa, const void *pb)
{
	const struct ct_chain_link *x = pa, *y = pb;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void ct_chain_cut(struct ct_eng *e, uint64_t to)
{
	for (size_t i = 0; i < e->nth; i++) {
		const struct eng_thread *t = &e->th[i];

		if (!t->selected || (t->ended && t->end_ts <= to))
			continue;
		for (size_t k = t->nopen; k-- > 0;) {
			const struct eng_wait *w = &t->open[k];
			struct ct_chain_link l = { .tid = t->tid, .obj = w->obj, .thr = t->key,
						   .kind = w->kind, .stack = w->stack,
						   .begin = w->begin < e->from ? e->from : w->begin };

			if (w->kind == CT_K_JOIN) {
				if (!w->arg || ended_by(e, (uint32_t)w->arg, to))
					continue;
				l.held_by = (uint32_t)w->arg;
			} else if (ct_eng_mutex_like(w->kind)) {
				struct eng_obj *o = w->oix ? ct_obj_of(e, w) : NULL;

				if (o && o->owner) {
					l.held_by = o->owner;
					if (o->owner_acq) {
						l.held_stack = o->owner_acq_stack;
						l.held_known = 1;
						l.held_from = CT_HELD_WAIT;
						l.held_ts = o->owner_acq_end;
					} else {
						struct eng_othr *h = ct_obj_thr(o, o->owner);

						if (h->acq_valid) {
							l.held_stack = h->acq_stack;
							l.held_known = 1;
							l.held_from = CT_HELD_WAIT;
							l.held_ts = h->acq_end;
						}
					}
				}
				/* else the owner glibc named at the wait's begin, unless the
				 * object was released since: the first release after it was
				 * that owner's, and the wait has not ended, so the mutex is
				 * on its way to this or another waiter (a wake in flight) */
				if (!l.held_by && w->kind == CT_K_MUTEX &&
				    !(o && o->have_prev && o->prev_rel >= w->begin))
					l.held_by = (uint32_t)w->arg;
			} else {
				continue;
			}
			if (!l.held_by || l.held_by == l.tid)
				continue;
			ct_grow(&e->links, &e->clinks, e->nlinks + 1, sizeof(*e->links));
			e->links[e->nlinks++] = l;
			break;
		}
	}
	if (e->nlinks > 1)
		qsort(e->links, e->nlinks, sizeof(*e->links), cmp_link_tid);
	/* where each holder took the object: its HOLD record, unless stale */
	for (size_t i = 0; i < e->nlinks; i++) {
		struct ct_chain_link *l = &e->links[i];
		const struct ct_chain_link *hl = link_of(e->links, e->nlinks, l->held_by);
		uint64_t ref = hl ? hl->begin : to;
		struct eng_obj *o = ct_obj_find(e, l->obj);
		struct eng_othr *h;

		if (!o)
			continue;
		h = ct_obj_thr(o, l->held_by);
		if (!h->hold_valid || h->hold_stale || h->hold_ts > ref)
			continue;
		l->held_known = 1;
		l->held_from = CT_HELD_HOLD;
		l->held_stack = h->hold_stack;
		l->held_ts = h->hold_ts;
		if (h->hold_after && h->hold_has_acq && h->hold_acq_stack) {
			l->held_from = CT_HELD_WAIT;
			l->held_stack = h->hold_acq_stack;
			l->held_ts = h->hold_acq_end;
		}
	}
}

void ct_chain_finish(struct ct_eng *e, const uint32_t *key_to_thr, size_t nkeys)
{
	struct ct_analysis *a = e->a;
	unsigned char *state;
	size_t dcap = 0;

	for (size_t i = 0; i < e->nlinks; i++)
		if (key_to_thr && e->links[i].thr < nkeys)
			e->links[i].thr = key_to_thr[e->links[i].thr];
	a->chains = e->links;
	a->nchains = e->nlinks;
	e->links = NULL;
	/* cycles of the functional graph tid -> held_by: 0 new, 1 on the path, 2 done */
	state = ct_xcalloc(a->nchains + 1, 1);
	for (size_t i = 0; i < a->nchains; i++) {
		const struct ct_chain_link *l = &a->chains[i];

		if (state[i])
			continue;
		while (l && !state[l - a->chains]) {
			state[l - a->chains] = 1;
			l = link_of(a->chains, a->nchains, l->held_by);
		}
		if (l && state[l - a->chains] == 1) {
			struct ct_deadlock d = { 0 };
			const struct ct_chain_link *s = l, *c = l;
			size_t dn = 0;

			do {
				if (c->tid < s->tid)
					s = c;
				c = link_of(a->chains, a->nchains, c->held_by);
				dn++;
			} while (c != l);
			d.links = ct_xmalloc(dn * sizeof(*d.links));
			c = s;
			do {
				d.links[d.n++] = *c;
				c = link_of(a->chains, a->nchains, c->held_by);
			} while (c != s);
			ct_grow(&a->deadlocks, &dcap, a->ndeadlocks + 1, sizeof(*a->deadlocks));
			a->deadlocks[a->ndeadlocks++] = d;
		}
		l = &a->chains[i];
		while (l && state[l - a->chains] == 1) {
			state[l - a->chains] = 2;
			l = link_of(a->chains, a->nchains, l->held_by);
		}
	}
	free(state);
}
