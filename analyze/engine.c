/* SPDX-License-Identifier: MIT */
/*
 * The engine's driver (engine.h): events arrive in time order; each thread keeps the
 * stack of its open waits (a signal handler may nest one), the filters decide what the
 * analyses see (a window [from, to]: waits clipped to it, the state frozen at its end;
 * selected threads), and each event goes to the analyses it concerns.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "util.h"

int ct_eng_mutex_like(unsigned kind)
{
	return kind == CT_K_MUTEX || kind == CT_K_RWLOCK_WR || kind == CT_K_RWLOCK_RD ||
	       kind == CT_K_SPIN || kind == CT_K_OMP_CRITICAL || kind == CT_K_OMP_LOCK;
}

static int tid_selected(const struct ct_eng *e, uint32_t key, uint32_t tid)
{
	const struct ct_filter *f = e->f;

	if (e->sel_keys)
		return key < e->nsel_keys && e->sel_keys[key];
	if (!f || (!f->ntids && !f->nnames))
		return 1;
	for (size_t i = 0; i < f->ntids; i++)
		if (f->tids[i] == tid)
			return 1;
	return 0;
}

/* A thread not seen before. */
static struct eng_thread *thread_new(struct ct_eng *e, uint32_t key, uint32_t tid)
{
	struct eng_thread *t;

	ct_grow(&e->th, &e->cth, e->nth + 1, sizeof(*e->th));
	t = &e->th[e->nth];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->key = key;
	t->selected = tid_selected(e, key, tid);
	ct_htab_put(&e->th_by_key, (uint64_t)key + 1, (uint32_t)e->nth);
	if (key < 1u << 20) { /* keys are small and dense: a direct index too */
		if (key >= e->nkeyix) {
			size_t old = e->nkeyix;

			ct_grow(&e->keyix, &e->ckeyix, (size_t)key + 1, sizeof(*e->keyix));
			for (size_t k = old; k < e->ckeyix; k++)
				e->keyix[k] = UINT32_MAX;
			e->nkeyix = e->ckeyix;
		}
		e->keyix[key] = (uint32_t)e->nth;
	}
	e->nth++;
	return t;
}

struct eng_thread *ct_eng_thread_slow(struct ct_eng *e, uint32_t key, uint32_t tid)
{
	uint32_t ix = key < e->nkeyix ? e->keyix[key] : ct_htab_get(&e->th_by_key,
								   (uint64_t)key + 1);

	if (ix != UINT32_MAX)
		return &e->th[ix];
	return thread_new(e, key, tid);
}

struct ct_eng *ct_eng_new(struct ct_analysis *a, const struct ct_filter *f,
			  uint64_t start_ts, uint64_t dw)
{
	struct ct_eng *e = ct_xcalloc(1, sizeof(*e));

	e->a = a;
	e->f = f;
	e->dw = dw;
	e->start_ts = start_ts;
	e->from = start_ts;
	e->to = UINT64_MAX;
	if (f) {
		e->from = start_ts + f->from_ns;
		if (f->to_ns != UINT64_MAX)
			e->to = start_ts + f->to_ns;
		if (e->to < e->from)
			e->to = e->from;
		/* a region or label filter drops the call-site remainders as a window does:
		 * they carry no time to place */
		e->window = f->from_ns || f->to_ns != UINT64_MAX || f->region || f->label_key;
	}
	return e;
}

/* The blocked time of a wait that ended, nested ones counted only once. */
static void account(struct eng_thread *t, const struct eng_wait *w, uint64_t b, uint64_t en)
{
	uint64_t d = en - b, own = d > w->nested_ns ? d - w->nested_ns : 0;

	t->waits++;
	if (w->profile > CT_P_NONE && w->profile < CT_P_MAX)
		t->blocked[w->profile] += own;
	if (t->nopen)
		t->open[t->nopen - 1].nested_ns += d;
}

/*
 * A wait leaves the thread's stack: clipped to the window, counted, matched and given to
 * its object (unfinished: still in progress at the thread's end or the window's end).
 */
static void end_wait(struct ct_eng *e, struct eng_thread *t, struct eng_wait *w, uint64_t ts,
		     int unfinished, uint64_t end_seq, unsigned result)
{
	uint64_t b = w->begin < e->from ? e->from : w->begin;
	uint64_t en = ts > w->begin ? ts : w->begin;

	if (!t->selected || en < e->from)
		return;
	if (!ct_ann_keep(e, t)) {
		if (w->oix)
			ct_obj_unregister(e, w);
		return;
	}
	if (en > e->to) {
		en = e->to;
		unfinished = 1;
	}
	if (b > en)
		b = en;
	account(t, w, b, en);
	if (e->ann) /* the trace has annotations */
		ct_ann_blocked(e, t, w->profile,
			       en - b > w->nested_ns ? en - b - w->nested_ns : 0);
	if (unfinished)
		e->a->unfinished++;
	if (w->profile > CT_P_NONE && w->profile < CT_P_MAX) {
		ct_ent_add(e, w->profile, w->kind, CT_FD_UNKNOWN, w->stack, en - b, 1,
			   w->profile == CT_P_SYNC ? w->obj : 0, t->key);
		ct_ul_wait(e, t, w->begin, en, w->stack, w->kind, w->profile);
		ct_idle_add(t, w->profile, w->kind, CT_FD_UNKNOWN, w->stack, en - b);
		if (e->ann)
			ct_ann_sample(e, t, w->profile, w->kind, CT_FD_UNKNOWN, w->stack, en - b,
				      w->profile == CT_P_SYNC ? w->obj : 0);
	}
	{
		const struct eng_rel *r = w->oix ?
			ct_obj_end(e, t, w, b, en, unfinished, end_seq, result) : NULL;

		if (e->obs) {
			struct ct_wait_seen s = {
				.tid = t->tid, .stack = w->stack, .kind = w->kind,
				.unfinished = (uint8_t)unfinished, .begin = b, .end = en,
				.waker_ts = r ? r->ts : 0, .key = t->key, .profile = w->profile,
				.fd_class = CT_FD_UNKNOWN, .obj = w->obj,
				.waker_tid = r ? r->tid : 0, .waker_stack = r ? r->stack : 0,
			};

			e->obs->waits++;
			if (e->obs->wait)
				e->obs->wait(e->obs->ctx, &s);
		}
	}
}

/* The window's start: waits in progress then enter it (their begin clipped). */
static void cross(struct ct_eng *e)
{
	e->crossed = 1;
	for (size_t i = 0; i < e->nth; i++) {
		struct eng_thread *t = &e->th[i];

		for (size_t k = 0; k < t->nopen; k++)
			if (t->selected && t->open[k].profile == CT_P_SYNC && !t->open[k].oix)
				ct_obj_begin(e, t, &t->open[k], e->from);
	}
}

/* The window's end (or the trace's): the state for wait chains, then every wait still
 * open ends there, unfinished. */
static void cut(struct ct_eng *e, uint64_t to)
{
	if (!e->crossed)
		cross(e);
	e->cut = 1;
	e->cut_ts = to;
	ct_chain_cut(e, to);
	for (size_t i = 0; i < e->nth; i++) {
		struct eng_thread *t = &e->th[i];

		while (t->nopen) {
			struct eng_wait w = t->open[--t->nopen];

			end_wait(e, t, &w, to, 1, 0, CT_R_ACQUIRED);
		}
	}
}

static struct eng_wait *push_wait(struct ct_eng *e, struct eng_thread *t)
{
	struct eng_wait *w;

	ct_grow(&t->open, &t->cap, t->nopen + 1, sizeof(*t->open));
	w = &t->open[t->nopen++];
	memset(w, 0, sizeof(*w));
	w->id = ++e->next_id;
	return w;
}

static void wait_begin(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev)
{
	struct eng_wait *w = push_wait(e, t);

	t->saw_wait = 1;
	w->kind = ev->kind;
	w->profile = (uint8_t)ct_kind_profile(ev->kind);
	w->flags = ev->flags;
	w->stack = ev->stack;
	w->obj = ev->obj;
	w->arg = ct_ev_wait_begin_owner(ev);
	w->begin = ev->ts;
	w->begin_seq = ct_ev_wait_begin_seq(ev);
	if (t->selected && e->crossed && w->profile == CT_P_SYNC)
		ct_obj_begin(e, t, w, ev->ts);
}

static void wait_end(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev)
{
	struct eng_wait w, *p = &w;

	t->saw_wait = 1;
	if (t->nopen) {
		/* popped in place: its slot stays as it is until the thread's next wait */
		p = &t->open[--t->nopen];
		if (ct_ev_wait_end_result(ev) == CT_R_RELEASED) {
			/* the pair was no wait: the call released the others */
			if (p->oix)
				ct_obj_unregister(e, p);
			return;
		}
	} else if (t->init_blocked && (t->init_obj == ev->obj || !t->init_obj)) {
		/* began before the file: the generation state has it */
		memset(&w, 0, sizeof(w));
		w.id = ++e->next_id;
		w.kind = t->init_kind ? t->init_kind : ev->kind;
		w.profile = (uint8_t)ct_kind_profile(w.kind);
		w.obj = ev->obj;
		w.begin = t->init_since;
		w.synthetic = 1;
		t->init_blocked = 0;
		if (t->selected && e->crossed && w.profile == CT_P_SYNC)
			ct_obj_begin(e, t, &w, w.begin < e->from ? e->from : w.begin);
	} else {
		if (t->selected && ev->ts >= e->from)
			e->a->unmatched_ends++;
		return;
	}
	end_wait(e, t, p, ev->ts, 0, ct_ev_wait_end_seq(ev), (unsigned)ct_ev_wait_end_result(ev));
}

static void release(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev)
{
	if (t->selected && ev->ts >= e->from) {
		if (e->obs)
			e->obs->releases++;
		ct_obj_release(e, t, ev);
	}
}

static void thread_end(struct ct_eng *e, struct eng_thread *t, uint64_t ts)
{
	t->ended = 1;
	t->end_ts = ts;
	while (t->nopen) {
		struct eng_wait w = t->open[--t->nopen];

		end_wait(e, t, &w, ts, 1, 0, CT_R_ACQUIRED);
	}
	t->init_blocked = 0;
}

void ct_eng_event(struct ct_eng *e, const struct ct_eng_ev *x)
{
	const struct ct_event *ev = &x->ev;
	struct eng_thread *t;

	if (e->cut)
		return;
	if (ev->ts > e->to) {
		cut(e, e->to);
		return;
	}
	if (!e->crossed && ev->ts >= e->from)
		cross(e);
	t = ct_eng_thread(e, x->key, x->tid);
	t->seen = 1;
	if (!ct_filter_kind(e->f, ev->kind)) /* --kind, --exclude-kind */
		return;
	switch (ev->type) {
	case CT_ENG_INIT_BLOCKED:
		if (!t->saw_wait && !t->init_blocked) {
			t->init_blocked = 1;
			t->init_kind = ev->kind;
			t->init_obj = ev->obj;
			t->init_since = ct_sev_init_since(ev);
		}
		break;
	case CT_EV_WAIT_BEGIN:
		wait_begin(e, t, ev);
		break;
	case CT_EV_WAIT_END:
		wait_end(e, t, ev);
		break;
	case CT_EV_RELEASE:
		release(e, t, ev);
		break;
	case CT_EV_HOLD:
		if (t->selected)
			ct_obj_hold(e, t, ev);
		break;
	case CT_EV_LOCK_ORDER:
		if (t->selected)
			ct_lo_event(e, t, ev);
		break;
	case CT_EV_TASK_BEGIN: case CT_EV_TASK_END: case CT_EV_REGION_BEGIN:
	case CT_EV_REGION_END: case CT_EV_LOG: case CT_EV_LABEL: case CT_EV_TEXT:
		ct_ann_event(e, t, ev);
		break;
	case CT_EV_SYSCALL:
		if (t->selected)
			ct_sys_event(e, t, x);
		break;
	case CT_EV_SITE:
		ct_sys_site(e, t, x);
		break;
	case CT_EV_THREAD_END:
		if ((ev->flags & CT_EVF_SECCOMP) && t->selected)
			e->a->seccomp_threads++;
		thread_end(e, t, ev->ts);
		ct_ann_thread_end(e, t, ev->ts);
		break;
	default:
		break;
	}
}

void ct_eng_finish(struct ct_eng *e, const struct ct_model *m, uint64_t end_ts,
		   const uint32_t *key_to_thr, size_t nkeys)
{
	struct ct_analysis *a = e->a;

	if (!e->cut) {
		/* a thread blocked from before the file to its end */
		for (size_t i = 0; i < e->nth; i++) {
			struct eng_thread *t = &e->th[i];

			if (t->init_blocked && !t->saw_wait && !t->ended) {
				struct eng_wait *w = push_wait(e, t);

				w->kind = t->init_kind;
				w->profile = (uint8_t)ct_kind_profile(t->init_kind);
				w->obj = t->init_obj;
				w->begin = t->init_since;
				w->synthetic = 1;
				if (t->selected && e->crossed && w->profile == CT_P_SYNC)
					ct_obj_begin(e, t, w, w->begin < e->from ? e->from : w->begin);
			}
		}
		cut(e, e->to < end_ts ? e->to : end_ts);
	}
	ct_sys_finish(e); /* adds the remainder entries */
	ct_ent_finish(e, key_to_thr, nkeys);
	ct_obj_finish(e);
	ct_chain_finish(e, key_to_thr, nkeys);
	ct_lo_finish(e, key_to_thr, nkeys);
	ct_ann_finish(e, e->cut_ts ? e->cut_ts : end_ts, key_to_thr, nkeys);
	ct_threads_finish(e, m, key_to_thr, nkeys);
	for (size_t i = 0; i < e->nth; i++) {
		free(e->th[i].open);
		free(e->th[i].ulc);
		free(e->th[i].idle);
		free(e->th[i].ulh);
	}
	free(e->th);
	free(e->keyix);
	ct_htab_free(&e->th_by_key);
	free(e);
	(void)a;
}
