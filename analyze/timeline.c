/* SPDX-License-Identifier: MIT */
/*
 * Implementation of timeline.h over the analysis' waits, releases and system calls, which
 * analysis.c keeps grouped by thread in the model's order and by begin within a thread.
 */
#include "timeline.h"

size_t ct_timeline_foreach(const struct ct_model *m, const struct ct_analysis *a,
			   void (*fn)(void *arg, const struct ct_tl_wait *w), void *arg)
{
	size_t wi = 0, si = 0, n = 0;

	while (wi < a->nwaits || si < a->nsys) {
		const struct ct_wait *w = wi < a->nwaits ? &a->waits[wi] : NULL;
		const struct ct_syscall *s = si < a->nsys ? &a->sys[si] : NULL;
		struct ct_tl_wait t = { .pid = m->hdr.pid };

		/* the next of the two by (thread, begin) */
		if (w && s && (s->thr < w->thr || (s->thr == w->thr && s->begin < w->begin)))
			w = NULL;
		if (w) {
			wi++;
			if (w->profile <= CT_P_NONE || w->profile >= CT_P_MAX)
				continue;
			t.tid = w->tid;
			t.thr = w->thr;
			t.profile = w->profile;
			t.kind = w->kind;
			t.fd_class = CT_FD_UNKNOWN;
			t.obj = w->obj;
			t.begin_ns = w->begin;
			t.end_ns = w->end;
			t.stack = w->stack;
			t.unfinished = w->unfinished;
			if (w->waker != CT_NO_RELEASE && w->waker < a->nrels) {
				const struct ct_release *r = &a->rels[w->waker];

				t.has_waker = 1;
				t.waker_tid = r->tid;
				t.waker_thr = r->thr;
				t.waker_ts = r->ts;
				t.waker_stack = r->stack;
			}
		} else {
			si++;
			if (s->profile <= CT_P_NONE || s->profile >= CT_P_MAX)
				continue;
			t.tid = s->tid;
			t.thr = s->thr;
			t.profile = s->profile;
			t.kind = s->kind;
			t.fd_class = s->fd_class;
			t.syscall = 1;
			t.begin_ns = s->begin;
			t.end_ns = s->end;
			t.stack = s->stack;
		}
		fn(arg, &t);
		n++;
	}
	return n;
}
