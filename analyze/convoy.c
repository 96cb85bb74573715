/* SPDX-License-Identifier: MIT */
/*
 * The convoy detector (analysis.h, README.md "Convoys") as windows go by: per object, the
 * open window integrates the waiters (Q) and the time with none (E), counts acquisitions
 * and releases and keeps the window's waits, holds and hand-offs in small histograms;
 * when time passes its end it is closed (its medians and whether it is queued), and runs
 * of queued windows are judged when they end (a run without a measured hold waits for
 * the object's median hold at the end). Held time H is added to the stored windows.
 * Only windows with something in them are stored (in order of their number k): time that
 * passes with no waiter and no event on the object is skipped, so an object contended a
 * few times in a long trace keeps a few windows, and costs nothing per window between.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The position of the first stored window numbered k or later (nwin: none). */
static size_t win_pos(const struct eng_conv *c, size_t k)
{
	size_t lo = 0, hi = c->nwin;

	CT_PARTITION(lo, hi, mid, c->win[mid].k < k);
	return lo;
}

/* The new open window, kcur, after the stored ones. */
static void win_open(struct eng_conv *c)
{
	ct_grow(&c->win, &c->cap, c->nwin + 1, sizeof(*c->win));
	c->win[c->nwin++] = (struct eng_win){ .k = c->kcur };
}

/* Window k (k0 <= k <= kcur), made (empty) when it was not stored: a hold estimated late
 * gives held time to windows that had nothing. */
static struct eng_win *win_at(struct eng_conv *c, size_t k)
{
	size_t i = win_pos(c, k);

	if (i < c->nwin && c->win[i].k == k)
		return &c->win[i];
	ct_grow(&c->win, &c->cap, c->nwin + 1, sizeof(*c->win));
	memmove(c->win + i + 1, c->win + i, (c->nwin - i) * sizeof(*c->win));
	c->nwin++;
	c->win[i] = (struct eng_win){ .k = k };
	return &c->win[i];
}

static void samples_merge(struct eng_csamples *d, const struct eng_csamples *s)
{
	ct_lhist_merge(&d->wait, &s->wait);
	ct_lhist_merge(&d->hold, &s->hold);
	ct_lhist_merge(&d->hand, &s->hand);
	ct_stks_merge(&d->ws, &s->ws);
	ct_stks_merge(&d->hs, &s->hs);
}

/* Frees what s holds and empties it (it may be freed again). */
static void samples_free(struct eng_csamples *s)
{
	ct_lhist_reset(&s->wait);
	ct_lhist_reset(&s->hold);
	ct_lhist_reset(&s->hand);
	ct_stks_free(&s->ws);
	ct_stks_free(&s->hs);
}

/* Windows k0..k1 are a convoy, with samples s. (A run's windows were all queued, so
 * all stored.) */
static void mark(struct eng_conv *c, size_t k0, size_t k1, const struct eng_csamples *s)
{
	for (size_t i = win_pos(c, k0); i < c->nwin && c->win[i].k < k1; i++)
		c->win[i].convoy = 1;
	samples_merge(&c->ev, s);
}

static void run_reset(struct eng_conv *c)
{
	samples_free(&c->run);
	c->in_run = 0;
	c->run_rel = 0;
}

static void end_run(struct ct_eng *e, struct eng_conv *c, size_t k1)
{
	const struct ct_convoy_params *p = &e->a->convoy;
	size_t len = k1 - c->run_k0;
	uint64_t mwait, mhold;

	if (len < p->min_run || (double)c->run_rel < p->min_releases * (double)len) {
		run_reset(c);
		return;
	}
	mwait = ct_lhist_pct(&c->run.wait, 50);
	if (!c->run.hold.n) {
		/* judged at the end, against the object's median hold */
		struct eng_run *r;

		ct_grow(&c->defer, &c->cdefer, c->ndefer + 1, sizeof(*c->defer));
		r = &c->defer[c->ndefer++];
		r->k0 = c->run_k0;
		r->k1 = k1;
		r->s = c->run; /* taken over */
		memset(&c->run, 0, sizeof(c->run));
		run_reset(c);
		return;
	}
	mhold = ct_lhist_pct(&c->run.hold, 50);
	if (mwait && mhold && (double)mwait >= p->wait_hold * (double)mhold)
		mark(c, c->run_k0, k1, &c->run);
	run_reset(c);
}

/* Closes the open window (the last stored), kcur. */
static void close_window(struct ct_eng *e, struct eng_conv *c)
{
	const struct ct_convoy_params *p = &e->a->convoy;
	struct eng_win *w = ct_conv_open(c);
	size_t k = c->kcur;
	double q = (double)w->q_int / (double)e->dw, em = 1.0 - (double)w->busy / (double)e->dw;

	w->mwait = ct_lhist_pct(&c->cur.wait, 50);
	w->mhold = ct_lhist_pct(&c->cur.hold, 50);
	w->mhand = ct_lhist_pct(&c->cur.hand, 50);
	w->queued = q >= p->min_waiters && (em < 0 ? 0 : em) <= p->max_empty;
	if (w->queued) {
		if (!c->in_run) {
			c->in_run = 1;
			c->run_k0 = k;
			c->run_rel = 0;
		}
		samples_merge(&c->run, &c->cur);
		c->run_rel += w->rel;
	} else if (c->in_run) {
		end_run(e, c, k);
	}
	/* emptied, its memory kept for the next window */
	ct_lhist_clear(&c->cur.wait);
	ct_lhist_clear(&c->cur.hold);
	ct_lhist_clear(&c->cur.hand);
	ct_stks_clear(&c->cur.ws);
	ct_stks_clear(&c->cur.hs);
}

int ct_conv_now(const struct ct_eng *e, const struct eng_obj *o, uint64_t since, size_t *run)
{
	const struct ct_convoy_params *p = &e->a->convoy;
	const struct eng_conv *c = o->cv;
	size_t len;
	uint64_t mwait, mhold;

	*run = 0;
	if (!c || !c->nwin)
		return 0;
	if (!c->in_run) { /* a run judged a convoy, with a window ending after since */
		for (size_t i = c->nwin - 1; i-- > 0 && e->from + (c->win[i].k + 1) * e->dw > since;)
			if (c->win[i].convoy)
				return 1;
		return 0;
	}
	len = c->kcur - c->run_k0;
	*run = len;
	if (len < p->min_run || (double)c->run_rel < p->min_releases * (double)len)
		return 0;
	mwait = ct_lhist_pct(&c->run.wait, 50);
	mhold = ct_lhist_pct(&c->run.hold, 50);
	return mwait && mhold && (double)mwait >= p->wait_hold * (double)mhold;
}

void ct_conv_advance_slow(struct ct_eng *e, struct eng_obj *o, uint64_t ts)
{
	struct eng_conv *c = o->cv;
	uint64_t t0 = e->from, dw = e->dw;

	/* past the last window allowed, (ts - t0) / dw - k0 >= CT_CONVOY_MAX_WINDOWS, checked
	 * without a division against the bounds of the windows allowed */
	if (e->convoy_overflow ||
	    (c->nwin && (ts - t0 < c->lo ? (ts - t0) / dw - c->k0 >= CT_CONVOY_MAX_WINDOWS :
				       c->hi_set && ts - t0 >= c->hi))) {
		/* too many windows of this width: the driver reads the trace again with
		 * wider ones (analysis.c) */
		e->convoy_overflow = 1;
		return;
	}
	if (!c->nwin) {
		uint64_t k1;

		c->k0 = c->kcur = (ts - t0) / dw;
		c->wend = t0 + (c->kcur + 1) * dw;
		c->lo = c->k0 * dw;
		c->hi_set = !__builtin_add_overflow(c->k0, (uint64_t)CT_CONVOY_MAX_WINDOWS, &k1) &&
			    !__builtin_mul_overflow(k1, dw, &c->hi);
		c->last_ts = ts;
		win_open(c);
		return;
	}
	for (;;) {
		uint64_t seg = ts < c->wend ? ts : c->wend;

		if (seg > c->last_ts)
			ct_conv_queue_time(c, o, ct_conv_open(c), seg);
		if (ts < c->wend)
			break;
		close_window(e, c);
		if (!o->cur && ts - c->wend >= dw) {
			/* no waiter, and no event on the object before ts: the windows up to
			 * ts's are empty, so not queued. The first ends a run; none is stored. */
			if (c->in_run)
				end_run(e, c, c->kcur + 1);
			c->kcur = (ts - t0) / dw;
			c->last_ts = t0 + c->kcur * dw;
		} else {
			c->kcur++;
		}
		c->wend = t0 + (c->kcur + 1) * dw;
		win_open(c);
	}
}

void ct_conv_acquire(struct ct_eng *e, struct eng_obj *o, uint64_t ts, uint64_t wait,
		     int handoff, uint64_t hand, uint32_t stack)
{
	struct eng_conv *c = o->cv;

	ct_conv_advance(e, o, ts);
	ct_conv_open(c)->acq++;
	ct_lhist_add(&c->cur.wait, wait, 1);
	if (handoff)
		ct_lhist_add(&c->cur.hand, hand, 1);
	ct_stks_add(&c->cur.ws, stack, 1);
}

void ct_conv_release(struct ct_eng *e, struct eng_obj *o, uint64_t ts, uint64_t held_from,
		     uint32_t stack)
{
	struct eng_conv *c = o->cv;

	ct_conv_advance(e, o, ts);
	ct_conv_open(c)->rel++;
	ct_stks_add(&c->cur.hs, stack, 1);
	if (held_from == UINT64_MAX || held_from >= ts)
		return;
	ct_lhist_add(&c->cur.hold, ts - held_from, 1);
	ct_conv_held(e, o, held_from, ts);
}

void ct_conv_held(struct ct_eng *e, struct eng_obj *o, uint64_t held_from, uint64_t ts)
{
	struct eng_conv *c = o->cv;
	uint64_t t0 = e->from, dw = e->dw;

	if (!c->nwin || held_from >= ts || e->convoy_overflow)
		return;
	if (held_from >= c->wend - dw && ts <= c->wend) {
		/* within the open window: most holds */
		ct_conv_open(c)->h_ns += ts - held_from;
		return;
	}
	if (held_from < t0 + c->k0 * dw)
		held_from = t0 + c->k0 * dw;
	for (size_t k = (held_from - t0) / dw; k <= c->kcur && held_from < ts; k++) {
		uint64_t ws = t0 + k * dw, we = ws + dw;
		uint64_t s = held_from > ws ? held_from : ws, x = ts < we ? ts : we;

		if (x > s)
			win_at(c, k)->h_ns += x - s;
	}
}

void ct_conv_finish(struct ct_eng *e, struct eng_obj *o)
{
	struct eng_conv *c = o->cv;
	struct ct_object *ob = &o->o;
	struct ct_convoy *ev = &ob->convoy_ev;
	const struct ct_convoy_params *p = &e->a->convoy;
	uint64_t t0 = e->from, dw = e->dw, dur = e->cut_ts > t0 ? e->cut_ts - t0 : 0;
	size_t nw = (size_t)(dur / dw), first = 0, last = 0, run = 0;
	uint64_t all_hold = ct_lhist_pct(&o->hold_h, 50);
	double held = 0, ev_held = 0;

	memset(ev, 0, sizeof(*ev));
	if (!nw || !c->nwin || e->convoy_overflow || nw > CT_CONVOY_MAX_WINDOWS + 1)
		return; /* (a first pass whose width the trace's length proved wrong) */
	if (c->kcur < nw)
		ct_conv_advance(e, o, t0 + nw * dw);
	if (c->in_run)
		end_run(e, c, c->kcur < nw ? c->kcur : nw);
	for (size_t i = 0; i < c->ndefer; i++) {
		struct eng_run *r = &c->defer[i];
		uint64_t mwait = ct_lhist_pct(&r->s.wait, 50);

		if (mwait && all_hold && (double)mwait >= p->wait_hold * (double)all_hold)
			mark(c, r->k0, r->k1, &r->s);
		samples_free(&r->s);
	}
	ev->window_ns = dw;
	ev->total_windows = nw;
	ob->windows_t0_ns = t0 - e->start_ts;
	/* the stored windows of the analysed time; the others are empty, no convoy */
	ob->nwindows = win_pos(c, nw);
	ob->windows = ob->nwindows ? ct_xcalloc(ob->nwindows, sizeof(*ob->windows)) : NULL;
	for (size_t i = 0; i < ob->nwindows; i++) {
		struct ct_convoy_window *s = &ob->windows[i];
		const struct eng_win *w = &c->win[i];
		size_t k = w->k;
		double em;

		if (i && k != c->win[i - 1].k + 1)
			run = 0;
		s->index = k;
		s->start_ns = k * dw + ob->windows_t0_ns;
		s->mean_waiters = (double)w->q_int / (double)dw;
		em = 1.0 - (double)w->busy / (double)dw;
		s->empty_fraction = em < 0 ? 0 : em;
		s->held_fraction = w->h_ns > dw ? 1 : (double)w->h_ns / (double)dw;
		held += s->held_fraction * (double)dw;
		s->acquisitions = w->acq;
		s->releases = w->rel;
		s->median_wait_ns = w->mwait;
		s->median_hold_ns = w->mhold;
		s->median_handoff_ns = w->mhand;
		s->queued = w->queued;
		s->convoy = w->convoy;
		if (!w->convoy) {
			run = 0;
			continue;
		}
		if (!ev->windows)
			first = k;
		last = k;
		ev->windows++;
		if (++run > ev->longest_run)
			ev->longest_run = run;
		ev->mean_waiters += s->mean_waiters;
		ev->empty_fraction += s->empty_fraction;
		ev->hold_fraction += s->held_fraction;
		ev_held += s->held_fraction * (double)dw;
		ev->acquisitions += s->acquisitions;
		ev->releases += s->releases;
		ev->lost_ns += (uint64_t)(s->mean_waiters * (double)dw);
	}
	ob->held_ns = (uint64_t)held;
	ob->held_share = held / (double)(nw * dw);
	if (!ev->windows)
		return;
	ob->convoy = 1;
	ev->start_ns = first * dw + (t0 - e->start_ts);
	ev->end_ns = (last + 1) * dw + (t0 - e->start_ts);
	ev->mean_waiters /= (double)ev->windows;
	ev->empty_fraction /= (double)ev->windows;
	ev->hold_fraction /= (double)ev->windows;
	ev->median_hold_ns = ct_lhist_pct(&c->ev.hold, 50);
	if (!ev->median_hold_ns)
		ev->median_hold_ns = all_hold;
	ev->median_wait_ns = ct_lhist_pct(&c->ev.wait, 50);
	ev->median_handoff_ns = ct_lhist_pct(&c->ev.hand, 50);
	ev->p99_handoff_ns = ct_lhist_pct(&c->ev.hand, 99);
	ev->p99_hold_ns = c->ev.hold.n ? ct_lhist_pct(&c->ev.hold, 99) :
					 ct_lhist_pct(&o->hold_h, 99);
	ev->max_hold_ns = c->ev.hold.n ? c->ev.hold.max : o->hold_h.max;
	ev->held_ns = (uint64_t)ev_held;
	if (ev->releases && ev->held_ns) {
		/* the mean, not the median: a few long holds (an fsync under the lock) take
		 * most of the held time while most holds are short */
		ev->mean_hold_ns = ev->held_ns / ev->releases;
		ev->throughput_cap_per_s = (double)ev->releases * 1e9 / (double)ev->held_ns;
	}
	ev->waiter_stack = ct_stks_top(&c->ev.ws);
	ev->holder_stack = ct_stks_top(&c->ev.hs);
	ev->series = ct_convoy_series(ob, first, last + 1, &ev->nseries);
}

void ct_conv_free(struct eng_conv *c)
{
	free(c->win);
	samples_free(&c->cur);
	run_reset(c);
	/* runs still deferred when the analysis ended early (a first pass whose windows
	 * were too narrow) */
	for (size_t i = 0; i < c->ndefer; i++)
		samples_free(&c->defer[i].s);
	free(c->defer);
	samples_free(&c->ev);
}
