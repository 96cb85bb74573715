/* SPDX-License-Identifier: MIT */
/*
 * What each lock was held across (engine.h, README.md "Under locks"): the slow calls and
 * waits a thread made while it held a lock. A wait is charged to the locks of the HOLD
 * events just before it (the recorder writes one per lock the thread holds when it is
 * about to block), and so is a slow system call (SYSCALL, FORMAT.md). A call without
 * HOLDs (an older recorder, or a lock the recorder's set of 8 forgot) is kept among
 * its thread's latest calls, and when a hold of a lock by that thread is proven from its
 * first evidence to its release (objects.c), the calls in it are charged to the lock.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "util.h"

static void add(struct eng_obj *o, unsigned profile, unsigned kind, uint32_t stack,
		uint64_t d, uint32_t taken)
{
	struct ct_underlock *u = NULL;

	for (size_t i = 0; i < o->nul; i++)
		if (o->ul[i].stack == stack && o->ul[i].kind == kind &&
		    o->ul[i].profile == (int)profile) {
			u = &o->ul[i];
			break;
		}
	if (!u) {
		ct_grow(&o->ul, &o->cul, o->nul + 1, sizeof(*o->ul));
		u = &o->ul[o->nul++];
		memset(u, 0, sizeof(*u));
		u->profile = (int)profile;
		u->kind = (uint8_t)kind;
		u->stack = stack;
	}
	u->count++;
	u->total_ns += d;
	if (d > u->max_ns)
		u->max_ns = d;
	if (taken && !u->taken_stack)
		u->taken_stack = taken;
}

void ct_ul_call(struct ct_eng *e, struct eng_thread *t, uint64_t ts, uint64_t b, uint64_t en,
		uint32_t stack, unsigned kind, unsigned profile)
{
	struct eng_ulcall *c;

	if (t->nulh && t->ulh[0].ts == ts) {
		/* its HOLDs say what it was made under */
		for (unsigned i = 0; i < t->nulh; i++) {
			struct eng_obj *o = ct_obj_find(e, t->ulh[i].obj);

			if (o)
				add(o, profile, kind, stack, en - b, t->ulh[i].stack);
		}
		t->nulh = 0;
		return;
	}
	t->nulh = 0;
	if (!t->ulc)
		t->ulc = ct_xcalloc(ENG_ULCALLS, sizeof(*t->ulc));
	if (t->nulc && (b < t->ulc[(t->ulc_head + ENG_ULCALLS - 1) % ENG_ULCALLS].end || en < b))
		t->ulc_unordered = 1;
	c = &t->ulc[t->ulc_head];
	t->ulc_head = (t->ulc_head + 1) % ENG_ULCALLS;
	if (t->nulc < ENG_ULCALLS)
		t->nulc++;
	*c = (struct eng_ulcall){ b, en, stack, (uint8_t)kind, (uint8_t)profile };
}

void ct_ul_hold(struct ct_eng *e, struct eng_thread *t, uint64_t ts, uint64_t obj,
		uint32_t stack)
{
	(void)e;
	if (t->nulh && t->ulh[0].ts != ts)
		t->nulh = 0; /* HOLDs of an earlier wait */
	ct_grow(&t->ulh, &t->culh, t->nulh + 1, sizeof(*t->ulh));
	t->ulh[t->nulh++] = (struct eng_ulhold){ ts, obj, stack };
}

void ct_ul_wait_held(struct ct_eng *e, struct eng_thread *t, uint64_t b, uint64_t en,
		     uint32_t stack, unsigned kind, unsigned profile)
{
	if (t->ulh[0].ts == b)
		for (unsigned i = 0; i < t->nulh; i++) {
			struct eng_obj *o = ct_obj_find(e, t->ulh[i].obj);

			if (o && t->ulh[i].obj != (uint64_t)0)
				add(o, profile, kind, stack, en > b ? en - b : 0, t->ulh[i].stack);
		}
	t->nulh = 0;
}

/* A call the thread was in when the lock was known held from h0 to t1: held across all of
 * it (no lock changes hands inside a system call). */
static void held_call(struct eng_obj *o, const struct eng_ulcall *c, uint64_t h0, uint64_t t1,
		      uint32_t taken)
{
	if ((c->begin >= h0 || c->end > h0) && c->begin < t1)
		add(o, c->profile, c->kind, c->stack, c->end - c->begin, taken);
}

void ct_ul_held(struct ct_eng *e, struct eng_thread *t, struct eng_obj *o, uint64_t h0,
		uint64_t t1, uint32_t taken)
{
	unsigned k = 0, head = t->ulc_head;

	(void)e;
	if (t->ulc_unordered) {
		for (unsigned i = 0; i < t->nulc; i++)
			held_call(o, &t->ulc[i], h0, t1, taken);
		return;
	}
	/* the calls follow each other in time: only the latest k may count, as the newest
	 * call that began before h0 and ended by it cannot, nor can any before it. They are
	 * taken in the ring's order, as the full scan above takes them. */
	while (k < t->nulc) {
		const struct eng_ulcall *c = &t->ulc[(head + ENG_ULCALLS - 1 - k) % ENG_ULCALLS];

		if (c->begin < h0 && c->end <= h0)
			break;
		k++;
	}
	if (k <= head) {
		for (unsigned i = head - k; i < head; i++)
			held_call(o, &t->ulc[i], h0, t1, taken);
	} else {
		for (unsigned i = 0; i < head; i++)
			held_call(o, &t->ulc[i], h0, t1, taken);
		for (unsigned i = ENG_ULCALLS - (k - head); i < ENG_ULCALLS; i++)
			held_call(o, &t->ulc[i], h0, t1, taken);
	}
}

static int cmp_ul(const void *pa, const void *pb)
{
	const struct ct_underlock *x = pa, *y = pb;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

void ct_ul_finish(struct eng_obj *o, int keep)
{
	if (keep && o->nul) {
		qsort(o->ul, o->nul, sizeof(*o->ul), cmp_ul);
		o->o.under = o->ul;
		o->o.nunder = o->nul;
	} else {
		free(o->ul);
	}
	o->ul = NULL;
	o->nul = o->cul = 0;
}
