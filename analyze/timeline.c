/* SPDX-License-Identifier: MIT */
/*
 * Implementation of timeline.h on the streaming engine: the analysis keeps no per-event
 * arrays, so the model's events go through the engine once more (ct_analyze_observed),
 * under the window and the thread selection the analysis was computed with, and an
 * observer collects each finished wait with the release that ended it (as the wake-up and
 * holder analyses see it) and each recorded system call. They arrive in end order; they
 * are delivered sorted by thread and begin.
 */
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct collect {
	const struct ct_model *m;
	struct ct_tl_wait *v;
	size_t n, cap;
};

static struct ct_tl_wait *push(struct collect *c)
{
	struct ct_tl_wait *t;

	ct_grow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	t = &c->v[c->n++];
	memset(t, 0, sizeof(*t));
	t->pid = c->m->hdr.pid;
	return t;
}

/* A slice for what the engine saw (a wait or a recorded call), or NULL when it belongs
 * to no profile. */
static struct ct_tl_wait *push_seen(struct collect *c, const struct ct_wait_seen *s,
				    unsigned fd_class)
{
	struct ct_tl_wait *t;

	if (s->profile <= CT_P_NONE || s->profile >= CT_P_MAX)
		return NULL;
	t = push(c);
	t->tid = s->tid;
	t->thr = s->key;
	t->profile = s->profile;
	t->kind = s->kind;
	t->fd_class = (uint8_t)fd_class;
	t->begin_ns = s->begin;
	t->end_ns = s->end;
	t->stack = s->stack;
	return t;
}

static void on_wait(void *arg, const struct ct_wait_seen *s)
{
	struct collect *c = arg;
	struct ct_tl_wait *t = push_seen(c, s, CT_FD_UNKNOWN);

	if (!t)
		return;
	t->obj = s->obj;
	t->unfinished = s->unfinished;
	if (s->waker_ts) {
		const struct ct_mthread *h = ct_model_thread_at(c->m, s->waker_tid, s->waker_ts);

		t->has_waker = 1;
		t->waker_tid = s->waker_tid;
		t->waker_thr = h ? (uint32_t)(h - c->m->threads) : 0;
		t->waker_ts = s->waker_ts;
		t->waker_stack = s->waker_stack;
	}
}

static void on_syscall(void *arg, const struct ct_wait_seen *s)
{
	struct ct_tl_wait *t = push_seen(arg, s, s->fd_class);

	if (t)
		t->syscall = 1;
}

/* By thread, then begin; at the same begin the longer first (a nested wait, a signal
 * handler's, ends before the one it is nested in, so the arrival order is reversed). */
static int cmp_tl(const void *pa, const void *pb)
{
	const struct ct_tl_wait *x = *(const struct ct_tl_wait *const *)pa;
	const struct ct_tl_wait *y = *(const struct ct_tl_wait *const *)pb;

	if (x->thr != y->thr)
		return x->thr < y->thr ? -1 : 1;
	if (x->begin_ns != y->begin_ns)
		return x->begin_ns < y->begin_ns ? -1 : 1;
	if (x->end_ns != y->end_ns)
		return x->end_ns > y->end_ns ? -1 : 1;
	if (x->syscall != y->syscall)
		return x->syscall ? 1 : -1;
	return x < y ? -1 : x > y;
}

size_t ct_timeline_foreach(const struct ct_model *m, const struct ct_analysis *a,
			   void (*fn)(void *arg, const struct ct_tl_wait *w), void *arg)
{
	struct collect c = { .m = m };
	struct ct_observer ob;
	struct ct_filter f = { .to_ns = UINT64_MAX };
	struct ct_analysis *again;
	const struct ct_tl_wait **ord;
	uint32_t *tids = NULL;
	size_t ntids = 0;

	/* the window and threads a was computed with */
	if (a->filtered) {
		f.from_ns = a->from_ts > m->start_ts ? a->from_ts - m->start_ts : 0;
		if (a->to_ts < m->end_ts)
			f.to_ns = a->to_ts > m->start_ts ? a->to_ts - m->start_ts : 0;
	}
	memset(&ob, 0, sizeof(ob));
	ob.wait = on_wait;
	ob.syscall = on_syscall;
	ob.ctx = &c;
	if (a->filtered && a->nthreads < m->nthreads) {
		/* by tid: a tid left out names no selected instance (tids are reused, but a
		 * thread selected by name or tid selects every instance of that name or tid,
		 * and an instance outside the window has no wait in it) */
		tids = ct_xmalloc((a->nthreads + 1) * sizeof(*tids));
		for (size_t i = 0; i < a->nthreads; i++)
			tids[ntids++] = a->threads[i].tid;
		f.tids = tids;
		f.ntids = ntids;
		if (!ntids) {
			/* nothing selected: nothing to deliver */
			free(tids);
			return 0;
		}
	}
	again = ct_analyze_observed(m, a->filtered ? &f : NULL, &a->convoy, &ob);
	ct_analysis_free(again);
	free(tids);

	ord = ct_xmalloc((c.n + 1) * sizeof(*ord));
	for (size_t i = 0; i < c.n; i++)
		ord[i] = &c.v[i];
	if (c.n > 1)
		qsort(ord, c.n, sizeof(*ord), cmp_tl);
	for (size_t i = 0; i < c.n; i++)
		fn(arg, ord[i]);
	free(ord);
	free(c.v);
	return c.n;
}
