/* SPDX-License-Identifier: MIT */
/*
 * System calls (engine.h): each recorded SYSCALL event is a sample of its profile entry
 * and counts in its thread's blocked time; it is matched to its thread's SITE counters by
 * call site, kind and fd class. The last SITE record of a key holds its totals; what they
 * hold beyond the recorded calls that ended by that snapshot is the remainder (calls below
 * the stack threshold), an entry at the call site and part of the thread's time.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "util.h"

#define MAX_UNPLACED (1u << 16)

static unsigned fd_class_of(uint64_t v)
{
	return v < CT_FD_MAX ? (unsigned)v : CT_FD_UNKNOWN;
}

static uint64_t sat_sub(uint64_t x, uint64_t y)
{
	return x > y ? x - y : 0;
}

static struct eng_site *site(struct ct_eng *e, uint32_t key, uint32_t tid, uint64_t pc,
			     unsigned kind, unsigned cls, int create)
{
	uint64_t k = ct_htab_key(pc, ((uint64_t)key << 32) | (kind << 8) | cls, 0x22);
	uint32_t ix = ct_htab_get(&e->site_by_key, k);
	struct eng_site *s;

	if (ix != UINT32_MAX)
		return &e->site[ix];
	if (!create)
		return NULL;
	ct_grow(&e->site, &e->csite, e->nsite + 1, sizeof(*e->site));
	s = &e->site[e->nsite];
	memset(s, 0, sizeof(*s));
	s->c.tid = tid;
	s->c.thr = key;
	s->c.pc = pc;
	s->c.kind = (uint8_t)kind;
	s->c.fd_class = (uint8_t)cls;
	s->c.profile = (uint8_t)ct_syscall_profile(kind, cls);
	ct_htab_put(&e->site_by_key, k, (uint32_t)e->nsite);
	e->nsite++;
	return s;
}

/* site(), for a call of t: most calls come from the call site its previous one did. */
static struct eng_site *thread_site(struct ct_eng *e, struct eng_thread *t, uint64_t pc,
				    unsigned kind, unsigned cls)
{
	uint32_t kc = kind << 8 | cls;
	struct eng_site *s;

	if (t->site_ix && t->site_pc == pc && t->site_kc == kc)
		return &e->site[t->site_ix - 1];
	s = site(e, t->key, t->tid, pc, kind, cls, 1);
	t->site_pc = pc;
	t->site_kc = kc;
	t->site_ix = (uint32_t)(s - e->site) + 1;
	return s;
}

static void attach(struct eng_site *s, uint64_t end, uint64_t d)
{
	s->c.ev_calls++;
	s->c.ev_ns += d;
	if (d > s->c.ev_max_ns)
		s->c.ev_max_ns = d;
	if (s->has_snap && end <= s->c.ts) {
		s->done_calls++;
		s->done_ns += d;
	} else {
		ct_grow(&s->pend, &s->cpend, s->npend + 1, sizeof(*s->pend));
		s->pend[s->npend][0] = end;
		s->pend[s->npend][1] = d;
		s->npend++;
	}
}

void ct_sys_event(struct ct_eng *e, struct eng_thread *t, const struct ct_eng_ev *x)
{
	const struct ct_event *ev = &x->ev;
	unsigned cls = fd_class_of(ct_ev_syscall_fd_class(ev));
	unsigned prof = (unsigned)ct_syscall_profile(ev->kind, cls);
	uint64_t b = ev->ts, en = ev->ts + ct_ev_syscall_duration(ev);

	/* matched to the call site over the whole trace: a window drops remainders anyway */
	if (x->site) {
		attach(thread_site(e, t, x->site, ev->kind, cls), en, en - b);
	} else if (e->nunpl < MAX_UNPLACED) {
		ct_grow(&e->unpl, &e->cunpl, e->nunpl + 1, sizeof(*e->unpl));
		e->unpl[e->nunpl++] = (struct eng_unplaced){ t->key, t->tid, ev->kind,
							     (uint8_t)cls, 1, en, en - b };
	} else {
		e->a->sys_nosite++;
	}
	if (en < e->from || b > e->to)
		return;
	if (b < e->from)
		b = e->from;
	if (en > e->to)
		en = e->to;
	if (!ct_ann_keep(e, t))
		return;
	if (e->obs) {
		e->obs->syscalls++;
		if (e->obs->syscall) {
			struct ct_wait_seen s = {
				.tid = t->tid, .stack = ev->stack, .kind = ev->kind, .begin = b,
				.end = en, .key = t->key, .profile = (uint8_t)prof,
				.fd_class = (uint8_t)cls,
			};

			e->obs->syscall(e->obs->ctx, &s);
		}
		if (ct_ev_syscall_err(ev)) {
			e->obs->sys_err++;
			e->obs->err_tid = t->tid;
			e->obs->err = (uint16_t)ct_ev_syscall_err(ev);
			e->obs->err_ret = ct_ev_syscall_ret(ev);
			e->obs->err_fd = ct_ev_syscall_fd(ev);
		}
	}
	if (prof > CT_P_NONE && prof < CT_P_MAX) {
		ct_ent_add(e, (int)prof, ev->kind, cls, ev->stack, en - b, 1, 0, t->key);
		ct_ann_sample(e, t, (int)prof, ev->kind, cls, ev->stack, en - b, 0);
		t->blocked[prof] += en - b;
		ct_ann_blocked(e, t, prof, en - b);
		ct_ul_call(e, t, ev->ts, b, en, ev->stack, ev->kind, prof);
		ct_idle_add(t, prof, ev->kind, cls, ev->stack, en - b);
	}
	t->syscalls++;
}

void ct_sys_site(struct ct_eng *e, struct eng_thread *t, const struct ct_eng_ev *x)
{
	const struct ct_event *ev = &x->ev;
	struct eng_site *s = site(e, t->key, t->tid, ct_ev_site_pc(ev), ev->kind,
				  fd_class_of(ct_ev_site_fd_class(ev)), 1);
	uint64_t calls = ct_ev_site_calls(ev), total = ct_ev_site_total_ns(ev);
	size_t k = 0;

	/* counters are cumulative: the largest record holds the totals */
	if (s->has_snap && (calls < s->c.calls || (calls == s->c.calls &&
	    (total < s->c.total_ns || (total == s->c.total_ns && ev->ts < s->c.ts)))))
		return;
	s->has_snap = 1;
	s->c.ts = ev->ts;
	s->c.calls = calls;
	s->c.total_ns = total;
	s->c.max_ns = ct_ev_site_max_ns(ev);
	for (size_t i = 0; i < s->npend; i++) {
		if (s->pend[i][0] <= s->c.ts) {
			s->done_calls++;
			s->done_ns += s->pend[i][1];
		} else {
			s->pend[k][0] = s->pend[i][0];
			s->pend[k][1] = s->pend[i][1];
			k++;
		}
	}
	s->npend = k;
}

/* Where a call its PC does not place went (as in the batch analysis): a call without a
 * stack to the site of its thread, kind and class with the largest remainder that can
 * hold it; else the thread's overflow entry (pc 0) of its kind and class. */
static struct eng_site *place(struct ct_eng *e, const struct eng_unplaced *u)
{
	struct eng_site *best = NULL;

	for (size_t i = 0; u->nosite && i < e->nsite; i++) {
		struct eng_site *s = &e->site[i];

		if (s->c.thr != u->key || !s->has_snap || !s->c.pc || s->c.kind != u->kind ||
		    s->c.fd_class != u->fd_class || !s->c.rem_calls || s->c.rem_ns < u->d)
			continue;
		if (!best || s->c.rem_ns > best->c.rem_ns)
			best = s;
	}
	if (!best) {
		struct eng_site *s = site(e, u->key, u->tid, 0, u->kind, u->fd_class, 0);

		if (s && s->has_snap && s->c.rem_calls)
			best = s;
	}
	return best;
}

void ct_sys_finish(struct ct_eng *e)
{
	struct ct_analysis *a = e->a;

	/* calls at a site without SITE counters: not placed by their PC */
	for (size_t i = 0; i < e->nsite; i++) {
		struct eng_site *s = &e->site[i];

		if (s->has_snap)
			continue;
		for (size_t k = 0; k < s->npend; k++) {
			if (e->nunpl >= MAX_UNPLACED) {
				a->sys_nosite++;
				continue;
			}
			ct_grow(&e->unpl, &e->cunpl, e->nunpl + 1, sizeof(*e->unpl));
			e->unpl[e->nunpl++] = (struct eng_unplaced){ s->c.thr, s->c.tid, s->c.kind,
				s->c.fd_class, 0, s->pend[k][0], s->pend[k][1] };
		}
	}
	for (size_t i = 0; i < e->nsite; i++) {
		struct eng_site *s = &e->site[i];

		s->c.rem_calls = sat_sub(s->c.calls, s->done_calls);
		s->c.rem_ns = sat_sub(s->c.total_ns, s->done_ns);
	}
	for (size_t i = 0; i < e->nunpl; i++) {
		struct eng_site *s = place(e, &e->unpl[i]);

		if (!s) {
			a->sys_nosite++;
			continue;
		}
		s->c.ev_calls++;
		s->c.ev_ns += e->unpl[i].d;
		if (e->unpl[i].d > s->c.ev_max_ns)
			s->c.ev_max_ns = e->unpl[i].d;
		if (e->unpl[i].end <= s->c.ts) {
			s->c.rem_calls = sat_sub(s->c.rem_calls, 1);
			s->c.rem_ns = sat_sub(s->c.rem_ns, e->unpl[i].d);
		}
	}
	a->sites = ct_xcalloc(e->nsite ? e->nsite : 1, sizeof(*a->sites));
	for (size_t i = 0; i < e->nsite; i++) {
		struct eng_site *s = &e->site[i];
		struct eng_thread *t = ct_eng_thread(e, s->c.thr, s->c.tid);
		uint64_t mx = 0;

		free(s->pend);
		if (!s->has_snap)
			continue;
		if (!s->c.rem_calls)
			s->c.rem_ns = 0;
		if (e->window || !t->selected) {
			s->c.rem_calls = 0;
			s->c.rem_ns = 0;
		}
		a->sites[a->nsites++] = s->c;
		if (!s->c.rem_calls)
			continue;
		t->syscalls += s->c.rem_calls;
		if (s->c.profile <= CT_P_NONE || s->c.profile >= CT_P_MAX)
			continue;
		t->blocked[s->c.profile] += s->c.rem_ns;
		/* SITE c, the site's longest call, had no stack when it is longer than every
		 * recorded call there */
		if (s->c.max_ns > s->c.ev_max_ns && s->c.max_ns <= s->c.rem_ns)
			mx = s->c.max_ns;
		ct_ent_remainder(e, s->c.profile, s->c.kind, s->c.fd_class, s->c.pc,
				 s->c.rem_calls, s->c.rem_ns, mx, s->c.thr);
	}
	free(e->site);
	free(e->unpl);
	ct_htab_free(&e->site_by_key);
}
