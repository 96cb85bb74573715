/* SPDX-License-Identifier: MIT */
/*
 * Implementation of analysis.h. Everything is computed from sorted index arrays; no
 * analysis is quadratic in the number of events except in the number of waiters
 * simultaneously blocked on one object (the holder sweep keeps that set).
 */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "util.h"

static const char *const profile_names[CT_AP_MAX] = {
	[CT_AP_SYNC] = "sync", [CT_AP_NET] = "net", [CT_AP_SYSCALL] = "syscall",
	[CT_AP_SLEEP] = "sleep", [CT_AP_HOLDER] = "holder", [CT_AP_WAKEUP] = "wakeup",
};

const char *ct_aprofile_name(int profile)
{
	if (profile <= 0 || profile >= CT_AP_MAX || !profile_names[profile])
		return "?";
	return profile_names[profile];
}

int ct_aprofile_from_name(const char *name)
{
	for (int p = 1; p < CT_AP_MAX; p++)
		if (profile_names[p] && strcmp(profile_names[p], name) == 0)
			return p;
	return -1;
}

int ct_aprofile_parse_list(const char *list, unsigned *mask, const char **bad)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");
		int found = -1;

		for (int k = 1; k < CT_AP_MAX && n; k++)
			if (strlen(profile_names[k]) == n && !strncmp(profile_names[k], p, n))
				found = k;
		if (found < 0) {
			*bad = p;
			return -1;
		}
		*mask |= 1u << found;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

uint64_t ct_percentile(const uint64_t *sorted, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(((unsigned long long)pct * n + 99) / 100); /* ceil(pct * n / 100) */
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

unsigned ct_hist_bucket(uint64_t v)
{
	return v <= 1 ? 0 : 63u - (unsigned)__builtin_clzll(v);
}

void ct_hist_add(struct ct_hist *h, uint64_t v)
{
	h->count[ct_hist_bucket(v)]++;
}

/* ---- waits and releases ---------------------------------------------------------- */

static size_t new_wait(struct ct_analysis *a, size_t *cap)
{
	struct ct_wait *w;

	ct_grow(&a->waits, cap, a->nwaits + 1, sizeof(*a->waits));
	w = &a->waits[a->nwaits];
	memset(w, 0, sizeof(*w));
	w->waker = CT_NO_RELEASE;
	return a->nwaits++;
}

static void close_wait(struct ct_wait *w, const struct ct_event *ev)
{
	w->end = ev->ts > w->begin ? ev->ts : w->begin;
	w->end_seq = ct_ev_wait_end_seq(ev);
	w->result = (uint8_t)ct_ev_wait_end_result(ev);
}

static void build_waits(const struct ct_model *m, struct ct_analysis *a)
{
	size_t wcap = 0, rcap = 0, hcap = 0, *open = NULL, nopen = 0, ocap = 0;

	for (size_t ti = 0; ti < m->nthreads; ti++) {
		const struct ct_mthread *t = &m->threads[ti];
		int pending = t->init_blocked, saw_wait = 0;
		uint64_t tend = t->has_end ? t->end_ts : m->end_ts;

		nopen = 0;
		for (size_t k = 0; k < t->nev; k++) {
			const struct ct_event *ev = &t->ev[k].ev;
			struct ct_wait *w;
			struct ct_release *r;
			size_t wi;

			switch (ev->type) {
			case CT_EV_WAIT_BEGIN:
				saw_wait = 1;
				wi = new_wait(a, &wcap);
				w = &a->waits[wi];
				w->tid = t->tid;
				w->thr = (uint32_t)ti;
				w->kind = ev->kind;
				w->profile = (uint8_t)ct_kind_profile(ev->kind);
				w->flags = ev->flags;
				w->stack = ev->stack;
				w->obj = ev->obj;
				w->arg = ct_ev_wait_begin_owner(ev);
				w->begin = ev->ts;
				w->begin_seq = ct_ev_wait_begin_seq(ev);
				ct_grow(&open, &ocap, nopen + 1, sizeof(*open));
				open[nopen++] = wi;
				break;
			case CT_EV_WAIT_END:
				saw_wait = 1;
				if (nopen) {
					close_wait(&a->waits[open[--nopen]], ev);
					a->waits[open[nopen]].released =
					ct_ev_wait_end_result(ev) == CT_R_RELEASED;
				} else if (pending && (t->init_obj == ev->obj || !t->init_obj)) {
					/* began before the file: the generation state has it */
					wi = new_wait(a, &wcap);
					w = &a->waits[wi];
					w->tid = t->tid;
					w->thr = (uint32_t)ti;
					w->kind = t->init_kind ? t->init_kind : ev->kind;
					w->profile = (uint8_t)ct_kind_profile(w->kind);
					w->obj = ev->obj;
					w->begin = t->init_since;
					w->synthetic = 1;
					close_wait(w, ev);
					pending = 0;
				} else {
					a->unmatched_ends++;
				}
				break;
			case CT_EV_RELEASE:
				ct_grow(&a->rels, &rcap, a->nrels + 1, sizeof(*a->rels));
				r = &a->rels[a->nrels++];
				memset(r, 0, sizeof(*r));
				r->tid = t->tid;
				r->thr = (uint32_t)ti;
				r->kind = ev->kind;
				r->flags = ev->flags;
				r->stack = ev->stack;
				r->ts = ev->ts;
				r->obj = ev->obj;
				r->seq = ct_ev_release_seq(ev);
				r->waiters = ct_ev_release_waiters(ev);
				break;
			case CT_EV_HOLD:
				ct_grow(&a->holds, &hcap, a->nholds + 1, sizeof(*a->holds));
				a->holds[a->nholds++] = (struct ct_hold){
					.tid = t->tid, .thr = (uint32_t)ti, .kind = ev->kind,
					.after_wait = ct_ev_hold_after_wait(ev) != 0,
					.stack = ev->stack, .obj = ev->obj, .ts = ev->ts,
				};
				break;
			default:
				break;
			}
		}
		if (pending && !saw_wait) {
			/* blocked from before the file to its end */
			nopen = 0;
			ct_grow(&open, &ocap, 1, sizeof(*open));
			open[nopen++] = new_wait(a, &wcap);
			a->waits[open[0]].tid = t->tid;
			a->waits[open[0]].thr = (uint32_t)ti;
			a->waits[open[0]].kind = t->init_kind;
			a->waits[open[0]].profile = (uint8_t)ct_kind_profile(t->init_kind);
			a->waits[open[0]].obj = t->init_obj;
			a->waits[open[0]].begin = t->init_since;
			a->waits[open[0]].synthetic = 1;
		}
		/* still waiting at the thread's end or the trace's end */
		for (size_t k = 0; k < nopen; k++) {
			struct ct_wait *w = &a->waits[open[k]];

			w->unfinished = 1;
			w->end = tend > w->begin ? tend : w->begin;
			a->unfinished++;
		}
	}
	free(open);
	/* a barrier's last arrival: its release is in rels, the pair is no wait */
	size_t kept = 0;
	for (size_t i = 0; i < a->nwaits; i++)
		if (!a->waits[i].released)
			a->waits[kept++] = a->waits[i];
	a->nwaits = kept;
}

/* qsort_r-free sorting of index arrays: the arrays being indexed live in a file static
 * for the duration of one qsort (the CLI is single-threaded). */
static const struct ct_wait *sort_waits;
static const struct ct_release *sort_rels;

static int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

static int cmp_size(size_t x, size_t y)
{
	return x < y ? -1 : x > y;
}

/* ---- system calls ---------------------------------------------------------------- */

static unsigned fd_class_of(uint64_t v)
{
	return v < CT_FD_MAX ? (unsigned)v : CT_FD_UNKNOWN;
}

static uint64_t sat_sub(uint64_t x, uint64_t y)
{
	return x > y ? x - y : 0;
}

static void add_syscall(const struct ct_model *m, struct ct_analysis *a, size_t *cap,
			uint32_t tid, uint32_t thr, const struct ct_event *ev)
{
	struct ct_syscall *s;
	const struct ct_mstack *st = ct_model_stack(m, ev->stack);

	ct_grow(&a->sys, cap, a->nsys + 1, sizeof(*a->sys));
	s = &a->sys[a->nsys++];
	memset(s, 0, sizeof(*s));
	s->tid = tid;
	s->thr = thr;
	s->kind = ev->kind;
	s->fd_class = (uint8_t)fd_class_of(ct_ev_syscall_fd_class(ev));
	s->profile = (uint8_t)ct_syscall_profile(ev->kind, s->fd_class);
	s->err = (uint16_t)ct_ev_syscall_err(ev);
	s->stack = ev->stack;
	s->fd = ct_ev_syscall_fd(ev);
	s->begin = ev->ts;
	s->end = ev->ts + ct_ev_syscall_duration(ev);
	s->ret = ct_ev_syscall_ret(ev);
	s->site = st && st->nframes ? st->pcs[0] : 0;
	s->site_ix = CT_NO_SITE;
}

static void add_site(struct ct_analysis *a, size_t *cap, uint32_t tid, uint32_t thr,
		     const struct ct_event *ev)
{
	struct ct_callsite *c;

	ct_grow(&a->sites, cap, a->nsites + 1, sizeof(*a->sites));
	c = &a->sites[a->nsites++];
	memset(c, 0, sizeof(*c));
	c->tid = tid;
	c->thr = thr;
	c->pc = ct_ev_site_pc(ev);
	c->kind = ev->kind;
	c->fd_class = (uint8_t)fd_class_of(ct_ev_site_fd_class(ev));
	c->profile = (uint8_t)ct_syscall_profile(ev->kind, c->fd_class);
	c->ts = ev->ts;
	c->calls = ct_ev_site_calls(ev);
	c->total_ns = ct_ev_site_total_ns(ev);
	c->max_ns = ct_ev_site_max_ns(ev);
}

/* Orders SITE counters by (thread instance, pc, kind, fd class): the counters of a
 * thread start at 0, so a reused tid's threads are kept apart; the overflow entry (pc 0)
 * is one entry per thread whatever the kind of its latest call. */
static int cmp_site_key(const struct ct_callsite *c, uint32_t thr, uint64_t pc,
			unsigned kind, unsigned cls)
{
	if (c->thr != thr)
		return c->thr < thr ? -1 : 1;
	if (c->pc != pc)
		return c->pc < pc ? -1 : 1;
	/* site 0 (the calls beyond a thread's table) has one entry per kind and class too */
	if (c->kind != kind)
		return c->kind < kind ? -1 : 1;
	return c->fd_class < cls ? -1 : c->fd_class > cls;
}

/* SITE records by key, then by the counters: the last of a key holds its totals. */
static int cmp_site_rec(const void *pa, const void *pb)
{
	const struct ct_callsite *x = pa, *y = pb;
	int c = cmp_site_key(x, y->thr, y->pc, y->kind, y->fd_class);

	if (!c)
		c = cmp_u64(x->calls, y->calls);
	if (!c)
		c = cmp_u64(x->total_ns, y->total_ns);
	if (!c)
		c = cmp_u64(x->ts, y->ts);
	return c;
}

static size_t find_site(const struct ct_analysis *a, uint32_t thr, uint64_t pc,
			unsigned kind, unsigned cls)
{
	size_t lo = 0, hi = a->nsites;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_site_key(&a->sites[mid], thr, pc, kind, cls);

		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return CT_NO_SITE;
}

const struct ct_callsite *ct_analysis_site(const struct ct_analysis *a, uint32_t tid,
					   uint64_t pc, unsigned kind, unsigned fd_class)
{
	for (size_t i = 0; i < a->nsites; i++) {
		const struct ct_callsite *c = &a->sites[i];

		if (c->tid == tid && !cmp_site_key(c, c->thr, pc, kind, fd_class))
			return c;
	}
	return NULL;
}

/* Keeps the last (largest) record of every key: SITE counters are cumulative. */
static void dedup_sites(struct ct_analysis *a)
{
	size_t n = 0;

	if (a->nsites > 1)
		qsort(a->sites, a->nsites, sizeof(*a->sites), cmp_site_rec);
	for (size_t i = 0; i < a->nsites; i++) {
		const struct ct_callsite *c = &a->sites[i];

		if (i + 1 < a->nsites && !cmp_site_key(&a->sites[i + 1], c->thr, c->pc, c->kind,
						       c->fd_class))
			continue;
		a->sites[n++] = *c;
	}
	a->nsites = n;
}

static void attach(struct ct_analysis *a, struct ct_syscall *s, size_t ix)
{
	struct ct_callsite *c = &a->sites[ix];
	uint64_t d = s->end - s->begin;

	s->site_ix = ix;
	c->ev_calls++;
	c->ev_ns += d;
	if (d > c->ev_max_ns)
		c->ev_max_ns = d;
	if (s->end <= c->ts) {
		/* counted in the snapshot: not part of the remainder */
		c->rem_calls = sat_sub(c->rem_calls, 1);
		c->rem_ns = sat_sub(c->rem_ns, d);
	}
}

/*
 * Where a call that its PC does not place went: a call without a stack to the site of
 * its thread, kind and class with the largest remainder that can hold it; a call at a
 * site missing from the thread's table to the overflow entry.
 */
static size_t place_unmatched(const struct ct_analysis *a, const struct ct_syscall *s)
{
	size_t lo = 0, hi = a->nsites, best = CT_NO_SITE, first;
	uint64_t d = s->end - s->begin;

	while (lo < hi) { /* the thread's first entry: its overflow entry if it has one */
		size_t mid = lo + (hi - lo) / 2;

		if (a->sites[mid].thr < s->thr)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	for (size_t i = first; !s->site && i < a->nsites && a->sites[i].thr == s->thr; i++) {
		const struct ct_callsite *c = &a->sites[i];

		if (!c->pc || c->kind != s->kind || c->fd_class != s->fd_class ||
		    !c->rem_calls || c->rem_ns < d)
			continue;
		if (best == CT_NO_SITE || c->rem_ns > a->sites[best].rem_ns)
			best = i;
	}
	/* else the thread's overflow entry (site 0) of the call's kind and class */
	for (size_t i = first; best == CT_NO_SITE && i < a->nsites && a->sites[i].thr == s->thr &&
	     !a->sites[i].pc; i++) {
		const struct ct_callsite *c = &a->sites[i];

		if (c->kind == s->kind && c->fd_class == s->fd_class && c->rem_calls)
			best = i;
	}
	return best;
}

/*
 * The recorded system calls and the per-site totals: each SYSCALL event is matched to its
 * thread's SITE counters by call site (its stack's pcs[0]), kind and fd class; what the
 * counters hold beyond the calls recorded up to their snapshot is the remainder (the
 * calls below the stack threshold, and slow calls whose event was lost).
 */
static void build_syscalls(const struct ct_model *m, struct ct_analysis *a)
{
	size_t scap = 0, ccap = 0;

	for (size_t ti = 0; ti < m->nthreads; ti++) {
		const struct ct_mthread *t = &m->threads[ti];

		for (size_t k = 0; k < t->nev; k++) {
			if (t->ev[k].ev.type == CT_EV_SYSCALL)
				add_syscall(m, a, &scap, t->tid, (uint32_t)ti, &t->ev[k].ev);
			else if (t->ev[k].ev.type == CT_EV_SITE)
				add_site(a, &ccap, t->tid, (uint32_t)ti, &t->ev[k].ev);
		}
	}
	dedup_sites(a);
	for (size_t i = 0; i < a->nsites; i++) {
		a->sites[i].rem_calls = a->sites[i].calls;
		a->sites[i].rem_ns = a->sites[i].total_ns;
	}
	for (size_t i = 0; i < a->nsys; i++) {
		struct ct_syscall *s = &a->sys[i];
		size_t ix;

		if (s->site &&
		    (ix = find_site(a, s->thr, s->site, s->kind, s->fd_class)) != CT_NO_SITE)
			attach(a, s, ix);
	}
	for (size_t i = 0; i < a->nsys; i++) {
		struct ct_syscall *s = &a->sys[i];
		size_t ix;

		if (s->site_ix != CT_NO_SITE)
			continue;
		ix = place_unmatched(a, s);
		if (ix != CT_NO_SITE)
			attach(a, s, ix);
		else
			a->sys_nosite++;
	}
	for (size_t i = 0; i < a->nsites; i++)
		if (!a->sites[i].rem_calls)
			a->sites[i].rem_ns = 0;
}

/* waits by (obj, begin) */
static int cmp_wait_obj_begin(const void *pa, const void *pb)
{
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct ct_wait *x = &sort_waits[ia], *y = &sort_waits[ib];
	int c = cmp_u64(x->obj, y->obj);

	if (!c)
		c = cmp_u64(x->begin, y->begin);
	return c ? c : cmp_size(ia, ib);
}

/* cond waits by (obj, end_seq, end) */
static int cmp_wait_obj_endseq(const void *pa, const void *pb)
{
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct ct_wait *x = &sort_waits[ia], *y = &sort_waits[ib];
	int c = cmp_u64(x->obj, y->obj);

	if (!c)
		c = cmp_u64(x->end_seq, y->end_seq);
	if (!c)
		c = cmp_u64(x->end, y->end);
	return c ? c : cmp_size(ia, ib);
}

/* releases by (obj, seq, ts) */
static int cmp_rel_obj_seq(const void *pa, const void *pb)
{
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct ct_release *x = &sort_rels[ia], *y = &sort_rels[ib];
	int c = cmp_u64(x->obj, y->obj);

	if (!c)
		c = cmp_u64(x->seq, y->seq);
	if (!c)
		c = cmp_u64(x->ts, y->ts);
	return c ? c : cmp_size(ia, ib);
}

/* releases by (obj, ts, seq) */
static int cmp_rel_obj_ts(const void *pa, const void *pb)
{
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct ct_release *x = &sort_rels[ia], *y = &sort_rels[ib];
	int c = cmp_u64(x->obj, y->obj);

	if (!c)
		c = cmp_u64(x->ts, y->ts);
	if (!c)
		c = cmp_u64(x->seq, y->seq);
	return c ? c : cmp_size(ia, ib);
}

static size_t *index_array(size_t n)
{
	size_t *ix = ct_xmalloc(n * sizeof(*ix));

	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	return ix;
}

/* First position in by_seq (sorted by (obj, seq)) with (obj, seq) >= (obj, seq). */
static size_t lower_bound_seq(const struct ct_analysis *a, const size_t *by_seq,
			      uint64_t obj, uint64_t seq)
{
	size_t lo = 0, hi = a->nrels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ct_release *r = &a->rels[by_seq[mid]];

		if (r->obj < obj || (r->obj == obj && r->seq < seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First position in by_ts (sorted by (obj, ts)) with (obj, ts) >= (obj, ts). */
static size_t lower_bound_ts(const struct ct_analysis *a, const size_t *by_ts, uint64_t obj,
			     uint64_t ts)
{
	size_t lo = 0, hi = a->nrels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ct_release *r = &a->rels[by_ts[mid]];

		if (r->obj < obj || (r->obj == obj && r->ts < ts))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Barrier waits. The thread that completes a round records the release at its own
 * arrival (its wait's begin) and advances the sequence number only after the others may
 * have read it, so sequence numbers do not name the release, and the completing thread's
 * own wait would match it. A barrier wait is ended by the first release on the barrier
 * made by another thread while it waited (begin <= ts <= end); the completing thread's
 * wait has no waker.
 */
static void match_barriers(struct ct_analysis *a, const size_t *r_by_ts)
{
	for (size_t i = 0; i < a->nwaits; i++) {
		struct ct_wait *w = &a->waits[i];

		if (w->kind != CT_K_BARRIER || w->unfinished)
			continue;
		for (size_t p = lower_bound_ts(a, r_by_ts, w->obj, w->begin); p < a->nrels; p++) {
			struct ct_release *r = &a->rels[r_by_ts[p]];

			if (r->obj != w->obj || r->ts > w->end)
				break;
			if (r->tid != w->tid) {
				w->waker = r_by_ts[p];
				r->woken++;
				break;
			}
		}
	}
}

static void match_releases(struct ct_analysis *a, const size_t *r_by_ts)
{
	size_t *by_seq, *conds, nconds = 0;

	if (!a->nrels)
		return;
	match_barriers(a, r_by_ts);
	by_seq = index_array(a->nrels);
	sort_rels = a->rels;
	if (a->nrels > 1)
		qsort(by_seq, a->nrels, sizeof(*by_seq), cmp_rel_obj_seq);

	/* mutex-like waits: the WAIT_END seq names the release exactly */
	conds = ct_xmalloc((a->nwaits ? a->nwaits : 1) * sizeof(*conds));
	for (size_t i = 0; i < a->nwaits; i++) {
		struct ct_wait *w = &a->waits[i];
		size_t p;

		if (w->unfinished || w->kind == CT_K_BARRIER || w->end_seq == 0 ||
		    w->end_seq == w->begin_seq)
			continue;
		if (w->kind == CT_K_COND) {
			if (w->result == CT_R_ACQUIRED && w->end_seq > w->begin_seq)
				conds[nconds++] = i;
			continue;
		}
		p = lower_bound_seq(a, by_seq, w->obj, w->end_seq);
		if (p < a->nrels && a->rels[by_seq[p]].obj == w->obj &&
		    a->rels[by_seq[p]].seq == w->end_seq) {
			w->waker = by_seq[p];
			a->rels[by_seq[p]].woken++;
		}
	}

	/* cond waits: candidates are the releases with seq in (begin seq, end seq]; the earliest
	 * waiter to return takes the earliest unassigned signal; a broadcast wakes many */
	sort_waits = a->waits;
	if (nconds > 1)
		qsort(conds, nconds, sizeof(*conds), cmp_wait_obj_endseq);
	for (size_t k = 0; k < nconds; k++) {
		struct ct_wait *w = &a->waits[conds[k]];

		for (size_t p = lower_bound_seq(a, by_seq, w->obj, w->begin_seq + 1);
		     p < a->nrels; p++) {
			struct ct_release *r = &a->rels[by_seq[p]];

			if (r->obj != w->obj || r->seq > w->end_seq)
				break;
			if ((r->flags & CT_EVF_BROADCAST) || r->woken == 0) {
				w->waker = by_seq[p];
				r->woken++;
				break;
			}
		}
	}
	free(conds);
	free(by_seq);
}

/* ---- holder profile -------------------------------------------------------------- */

/*
 * For every release R on o, in time order, and every wait w on o in progress at ts_R
 * (begin_w < ts_R <= end_w, or unfinished): charge ts_R - max(begin_w, ts of the previous
 * release on o) to R. Over a wait's life the charges add up to the part of it that
 * precedes its last release, so the holder total matches the waiters' total.
 *
 * Every wait that began before the previous release is charged the same ts_R - prev, so
 * those are one charge of n waits: a wait is charged alone only at the first release
 * after its begin, and the charges number O(waits + releases) however many threads wait
 * at once (a thousand waiters over a thousand releases would otherwise be a million).
 * The waits charged together are kept in a min-heap by end, to drop the ones over.
 */
struct hent {
	uint64_t end; /* UINT64_MAX: unfinished */
	size_t w;
};

static void heap_push(struct hent **h, size_t *n, size_t *cap, struct hent e)
{
	size_t i;

	ct_grow(h, cap, *n + 1, sizeof(**h));
	for (i = (*n)++; i > 0 && (*h)[(i - 1) / 2].end > e.end; i = (i - 1) / 2)
		(*h)[i] = (*h)[(i - 1) / 2];
	(*h)[i] = e;
}

static void heap_pop(struct hent *h, size_t *n)
{
	struct hent last = h[--*n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1].end < h[c].end)
			c++;
		if (h[c].end >= last.end)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
}

static void add_charge(struct ct_analysis *a, size_t *cap, size_t rel, size_t wait,
		       uint64_t ns, uint64_t n)
{
	struct ct_release *r = &a->rels[rel];

	ct_grow(&a->charges, cap, a->ncharges + 1, sizeof(*a->charges));
	a->charges[a->ncharges++] = (struct ct_charge){ .rel = rel, .wait = wait, .ns = ns,
							.n = n };
	r->charged_ns += ns * n;
	r->ncharged += n;
}

static void holder(struct ct_analysis *a, const size_t *w_by_obj, const size_t *r_by_ts)
{
	size_t wi = 0, ccap = 0, *fresh = NULL, nfresh = 0, fcap = 0, nold = 0, hcap = 0;
	struct hent *old = NULL;

	for (size_t ri = 0; ri < a->nrels;) {
		uint64_t obj = a->rels[r_by_ts[ri]].obj, prev = 0;
		int have_prev = 0;

		while (wi < a->nwaits && a->waits[w_by_obj[wi]].obj < obj)
			wi++;
		nfresh = nold = 0;
		for (; ri < a->nrels && a->rels[r_by_ts[ri]].obj == obj; ri++) {
			size_t rel = r_by_ts[ri];
			const struct ct_release *r = &a->rels[rel];
			size_t keep = 0;

			while (wi < a->nwaits && a->waits[w_by_obj[wi]].obj == obj &&
			       a->waits[w_by_obj[wi]].begin < r->ts) {
				ct_grow(&fresh, &fcap, nfresh + 1, sizeof(*fresh));
				fresh[nfresh++] = w_by_obj[wi++];
			}
			while (nold && old[0].end < r->ts) /* over: drop */
				heap_pop(old, &nold);
			if (nold)
				add_charge(a, &ccap, rel, old[0].w, r->ts - prev, nold);
			/* the waits begun since the previous release: charged from their begin */
			for (size_t k = 0; k < nfresh; k++) {
				const struct ct_wait *w = &a->waits[fresh[k]];
				uint64_t from = w->begin;

				if (!w->unfinished && w->end < r->ts)
					continue; /* over: drop */
				if (w->kind == CT_K_BARRIER && w->tid == r->tid) {
					/* the round's last arrival: it released, not waited */
					fresh[keep++] = fresh[k];
					continue;
				}
				if (have_prev && prev > from)
					from = prev;
				add_charge(a, &ccap, rel, fresh[k], r->ts > from ? r->ts - from : 0, 1);
				heap_push(&old, &nold, &hcap, (struct hent){
					w->unfinished ? UINT64_MAX : w->end, fresh[k] });
			}
			/* a barrier wait of the releaser stays apart: later releases may charge
			 * it (rounds are released by different threads) */
			nfresh = keep;
			prev = r->ts;
			have_prev = 1;
		}
	}
	free(fresh);
	free(old);
}

/* ---- profile entries ------------------------------------------------------------- */

struct sample {
	int profile;
	uint8_t kind, fd_class;
	uint32_t stack;
	uint64_t v;
	uint64_t n; /* how many samples of value v (holder charges of several waits) */
};

static int cmp_sample(const void *pa, const void *pb)
{
	const struct sample *x = pa, *y = pb;

	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->fd_class != y->fd_class)
		return x->fd_class < y->fd_class ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return cmp_u64(x->v, y->v);
}

static int cmp_entry(const void *pa, const void *pb)
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
	return cmp_u64(x->site, y->site);
}

static struct ct_pentry *new_entry(struct ct_analysis *a, size_t *cap)
{
	struct ct_pentry *e;

	ct_grow(&a->entries, cap, a->nentries + 1, sizeof(*a->entries));
	e = &a->entries[a->nentries++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* The samples of every profile: waits, wake-ups, holder charges, recorded system calls. */
static size_t collect_samples(const struct ct_analysis *a, struct sample *s)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nwaits; i++) {
		const struct ct_wait *w = &a->waits[i];

		if (w->profile > CT_P_NONE && w->profile < CT_P_MAX)
			s[n++] = (struct sample){ w->profile, w->kind, CT_FD_UNKNOWN, w->stack,
						  w->end - w->begin, 1 };
		if (w->waker != CT_NO_RELEASE && !w->unfinished) {
			const struct ct_release *r = &a->rels[w->waker];

			s[n++] = (struct sample){ CT_AP_WAKEUP, w->kind, CT_FD_UNKNOWN, w->stack,
						  w->end > r->ts ? w->end - r->ts : 0, 1 };
		}
	}
	for (size_t i = 0; i < a->ncharges; i++) {
		const struct ct_release *r = &a->rels[a->charges[i].rel];

		s[n++] = (struct sample){ CT_AP_HOLDER, r->kind, CT_FD_UNKNOWN, r->stack,
					  a->charges[i].ns, a->charges[i].n };
	}
	for (size_t i = 0; i < a->nsys; i++) {
		const struct ct_syscall *c = &a->sys[i];

		if (c->profile > CT_P_NONE && c->profile < CT_P_MAX)
			s[n++] = (struct sample){ c->profile, c->kind, c->fd_class, c->stack,
						  c->end - c->begin, 1 };
	}
	return n;
}

/* Remainders of call sites by (profile, kind, class, pc): one entry each, merged over
 * threads; no samples, so no percentiles. */
static int cmp_site_entry(const void *pa, const void *pb)
{
	const struct ct_callsite *x = pa, *y = pb;

	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->fd_class != y->fd_class)
		return x->fd_class < y->fd_class ? -1 : 1;
	return cmp_u64(x->pc, y->pc);
}

static void remainder_entries(struct ct_analysis *a, size_t *ecap)
{
	struct ct_callsite *c = ct_xmalloc((a->nsites ? a->nsites : 1) * sizeof(*c));
	size_t n = 0;

	for (size_t i = 0; i < a->nsites; i++)
		if (a->sites[i].rem_calls && a->sites[i].profile > CT_P_NONE &&
		    a->sites[i].profile < CT_P_MAX)
			c[n++] = a->sites[i];
	if (n > 1)
		qsort(c, n, sizeof(*c), cmp_site_entry);
	for (size_t i = 0, j; i < n; i = j) {
		struct ct_pentry *e = new_entry(a, ecap);

		e->profile = c[i].profile;
		e->kind = c[i].kind;
		e->fd_class = c[i].fd_class;
		e->remainder = 1;
		e->site = c[i].pc;
		for (j = i; j < n && !cmp_site_entry(&c[j], &c[i]); j++) {
			e->count += c[j].rem_calls;
			e->total_ns += c[j].rem_ns;
			/* SITE c, the longest call at the site, is a call without a stack
			 * when it is longer than every recorded call there: then it is the
			 * remainder's longest (otherwise that is unknown, below the
			 * recorder's stack threshold) */
			if (c[j].max_ns > c[j].ev_max_ns && c[j].max_ns <= c[j].rem_ns &&
			    c[j].max_ns > e->max_ns)
				e->max_ns = c[j].max_ns;
		}
	}
	free(c);
}

/* ct_percentile over samples sorted by value, sample i standing for s[i].n values, total
 * of them in all (> 0). */
static uint64_t weighted_percentile(const struct sample *s, size_t n, uint64_t total,
				    unsigned pct)
{
	uint64_t rank = (pct * total + 99) / 100, seen = 0; /* ceil(pct * total / 100) */

	if (rank < 1)
		rank = 1;
	for (size_t i = 0; i < n; i++) {
		seen += s[i].n;
		if (seen >= rank)
			return s[i].v;
	}
	return n ? s[n - 1].v : 0;
}

static void build_entries(struct ct_analysis *a)
{
	size_t n, cap = a->nwaits * 2 + a->ncharges + a->nsys + 1, ecap = 0;
	struct sample *s = ct_xmalloc(cap * sizeof(*s));

	n = collect_samples(a, s);
	if (n > 1)
		qsort(s, n, sizeof(*s), cmp_sample);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct ct_pentry *e = new_entry(a, &ecap);

		e->profile = s[i].profile;
		e->kind = s[i].kind;
		e->fd_class = s[i].fd_class;
		e->stack = s[i].stack;
		for (; j < n && s[j].profile == e->profile && s[j].kind == e->kind &&
		       s[j].fd_class == e->fd_class && s[j].stack == e->stack; j++) {
			e->count += s[j].n;
			e->total_ns += s[j].v * s[j].n;
			e->hist.count[ct_hist_bucket(s[j].v)] += s[j].n;
		}
		e->stack_calls = e->stack ? e->count : 0;
		e->max_ns = s[j - 1].v;
		e->p50_ns = weighted_percentile(s + i, j - i, e->count, 50);
		e->p99_ns = weighted_percentile(s + i, j - i, e->count, 99);
		i = j;
	}
	remainder_entries(a, &ecap);
	if (a->nentries > 1)
		qsort(a->entries, a->nentries, sizeof(*a->entries), cmp_entry);
	free(s);
}

const struct ct_pentry *ct_analysis_profile(const struct ct_analysis *a, int profile,
					    size_t *n)
{
	size_t i = 0, j;

	while (i < a->nentries && a->entries[i].profile != profile)
		i++;
	for (j = i; j < a->nentries && a->entries[j].profile == profile; j++)
		;
	*n = j - i;
	return j > i ? &a->entries[i] : NULL;
}

/* ---- objects --------------------------------------------------------------------- */

static int cmp_object(const void *pa, const void *pb)
{
	const struct ct_object *x = pa, *y = pb;

	if (x->wait_total_ns != y->wait_total_ns)
		return x->wait_total_ns > y->wait_total_ns ? -1 : 1;
	if (x->contended != y->contended)
		return x->contended > y->contended ? -1 : 1;
	return cmp_u64(x->addr, y->addr);
}

static int cmp_plain_u64(const void *pa, const void *pb)
{
	return cmp_u64(*(const uint64_t *)pa, *(const uint64_t *)pb);
}

/* Objects are what sync waits and releases name; fds and sleeps are not objects. */
static void build_objects(struct ct_analysis *a, const size_t *w_by_obj,
			  const size_t *r_by_ts)
{
	size_t wi = 0, ri = 0, cap = 0;
	uint64_t *durs = ct_xmalloc((a->nwaits ? a->nwaits : 1) * sizeof(*durs));
	uint64_t *ends = ct_xmalloc((a->nwaits ? a->nwaits : 1) * sizeof(*ends));

	while (wi < a->nwaits || ri < a->nrels) {
		uint64_t obj, first_ts = UINT64_MAX;
		size_t nd = 0, b, e, cur = 0;
		struct ct_object o = { 0 };
		const uint64_t *begins_src;

		if (ri >= a->nrels ||
		    (wi < a->nwaits && a->waits[w_by_obj[wi]].obj < a->rels[r_by_ts[ri]].obj))
			obj = a->waits[w_by_obj[wi]].obj;
		else
			obj = a->rels[r_by_ts[ri]].obj;
		o.addr = obj;
		/* waits (sorted by begin) */
		for (; wi < a->nwaits && a->waits[w_by_obj[wi]].obj == obj; wi++) {
			const struct ct_wait *w = &a->waits[w_by_obj[wi]];

			if (w->profile != CT_P_SYNC)
				continue;
			if (w->begin < first_ts) {
				first_ts = w->begin;
				o.kind = w->kind;
				o.first_stack = w->stack;
			}
			/* begins go in durs for the sweep first, durations afterwards */
			durs[nd] = w->begin;
			ends[nd] = w->end;
			nd++;
			o.contended++;
			o.wait_total_ns += w->end - w->begin;
			o.wakeups += w->waker != CT_NO_RELEASE;
			o.unfinished += w->unfinished;
		}
		for (; ri < a->nrels && a->rels[r_by_ts[ri]].obj == obj; ri++) {
			const struct ct_release *r = &a->rels[r_by_ts[ri]];

			if (r->ts < first_ts) {
				first_ts = r->ts;
				o.kind = r->kind;
				o.first_stack = r->stack;
			}
			o.releases++;
		}
		if (!o.contended && !o.releases)
			continue;
		o.first_ts = first_ts;
		/* max concurrent waiters: an end at the same ns as a begin comes first */
		begins_src = durs;
		if (nd > 1)
			qsort(ends, nd, sizeof(*ends), cmp_plain_u64);
		for (b = 0, e = 0; b < nd;) {
			/* cur > 0 keeps a zero-length wait (end == begin) from ending first */
			if (e < nd && cur > 0 && ends[e] <= begins_src[b]) {
				cur--;
				e++;
			} else {
				cur++;
				b++;
				if (cur > o.max_waiters)
					o.max_waiters = cur;
			}
		}
		/* durations: recompute from the waits of this object */
		nd = 0;
		for (size_t k = wi; k > 0 && a->waits[w_by_obj[k - 1]].obj == obj; k--) {
			const struct ct_wait *w = &a->waits[w_by_obj[k - 1]];

			if (w->profile == CT_P_SYNC)
				durs[nd++] = w->end - w->begin;
		}
		if (nd > 1)
			qsort(durs, nd, sizeof(*durs), cmp_plain_u64);
		o.wait_max_ns = nd ? durs[nd - 1] : 0;
		o.wait_p50_ns = ct_percentile(durs, nd, 50);
		o.wait_p99_ns = ct_percentile(durs, nd, 99);
		ct_grow(&a->objs, &cap, a->nobjs + 1, sizeof(*a->objs));
		a->objs[a->nobjs++] = o;
	}
	if (a->nobjs > 1)
		qsort(a->objs, a->nobjs, sizeof(*a->objs), cmp_object);
	free(durs);
	free(ends);
}

const struct ct_object *ct_analysis_object(const struct ct_analysis *a, uint64_t addr)
{
	for (size_t i = 0; i < a->nobjs; i++)
		if (a->objs[i].addr == addr)
			return &a->objs[i];
	return NULL;
}

/* ---- filters --------------------------------------------------------------------- */

/* Whether the filter keeps the thread m->threads[thr] (its tid or its name). */
static int thread_selected(const struct ct_model *m, const struct ct_filter *f, uint32_t thr)
{
	const struct ct_mthread *t;

	if (!f || (!f->ntids && !f->nnames))
		return 1;
	t = thr < m->nthreads ? &m->threads[thr] : NULL;
	for (size_t i = 0; t && i < f->ntids; i++)
		if (f->tids[i] == t->tid)
			return 1;
	for (size_t i = 0; t && i < f->nnames; i++)
		if (!strcmp(f->names[i], t->name))
			return 1;
	return 0;
}

/*
 * Keeps the waits, releases and system calls of the selected threads that overlap the
 * window [from_ts, to_ts], clipped to it: a wait still in progress at to_ts becomes
 * unfinished (it is one at the window's end). Call-site remainders have no time: a window
 * drops them all, a thread filter those of the other threads.
 */
static void apply_filter(const struct ct_model *m, struct ct_analysis *a,
			 const struct ct_filter *f)
{
	uint64_t from = a->from_ts, to = a->to_ts;
	int window = f && (f->from_ns || f->to_ns != UINT64_MAX);
	size_t n = 0;

	a->unfinished = 0;
	for (size_t i = 0; i < a->nwaits; i++) {
		struct ct_wait w = a->waits[i];

		if (!thread_selected(m, f, w.thr) || w.end < from || w.begin > to)
			continue;
		if (w.begin < from)
			w.begin = from;
		if (w.end > to) {
			w.end = to;
			w.unfinished = 1;
		}
		a->unfinished += w.unfinished;
		a->waits[n++] = w;
	}
	a->nwaits = n;
	n = 0;
	for (size_t i = 0; i < a->nrels; i++)
		if (thread_selected(m, f, a->rels[i].thr) && a->rels[i].ts >= from &&
		    a->rels[i].ts <= to)
			a->rels[n++] = a->rels[i];
	a->nrels = n;
	/* a lock held before the window is still held in it: holds are kept up to its end */
	n = 0;
	for (size_t i = 0; i < a->nholds; i++)
		if (thread_selected(m, f, a->holds[i].thr) && a->holds[i].ts <= to)
			a->holds[n++] = a->holds[i];
	a->nholds = n;
	n = 0;
	for (size_t i = 0; i < a->nsys; i++) {
		struct ct_syscall s = a->sys[i];

		if (!thread_selected(m, f, s.thr) || s.end < from || s.begin > to)
			continue;
		if (s.begin < from)
			s.begin = from;
		if (s.end > to)
			s.end = to;
		a->sys[n++] = s;
	}
	a->nsys = n;
	for (size_t i = 0; i < a->nsites; i++)
		if (window || !thread_selected(m, f, a->sites[i].thr)) {
			a->sites[i].rem_calls = 0;
			a->sites[i].rem_ns = 0;
		}
}

/* ---- object details: hold times, wake-ups, owners, convoys ----------------------- */

static int mutex_like(unsigned kind)
{
	return kind == CT_K_MUTEX || kind == CT_K_RWLOCK_WR || kind == CT_K_RWLOCK_RD ||
	       kind == CT_K_SPIN || kind == CT_K_OMP_CRITICAL || kind == CT_K_OMP_LOCK;
}

static int acquired(const struct ct_wait *w)
{
	return !w->unfinished && (w->result == CT_R_ACQUIRED || w->result == CT_R_OWNERDEAD);
}

/* One event of an object, for the per-thread and time-ordered walks. */
struct oev {
	uint64_t ts;
	uint32_t tid; /* the thread: its tid, or where threads are walked one by one
		       * (hold_starts) its instance (thr) */
	uint8_t type; /* 0 wait begin, 1 acquisition (wait end), 2 release */
	size_t ix;    /* index in waits or rels */
};

static int cmp_oev_tid(const void *pa, const void *pb)
{
	const struct oev *x = pa, *y = pb;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return cmp_size(x->ix, y->ix);
}

static int cmp_oev_ts(const void *pa, const void *pb)
{
	const struct oev *x = pa, *y = pb;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return cmp_size(x->ix, y->ix);
}

/* The sync waits [*lo, *hi) of obj in w_by_obj (sorted by obj, begin). */
static void wait_range(const struct ct_analysis *a, const size_t *w_by_obj, uint64_t obj,
		       size_t *lo, size_t *hi)
{
	size_t l = 0, h = a->nwaits;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (a->waits[w_by_obj[mid]].obj < obj)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	for (h = l; h < a->nwaits && a->waits[w_by_obj[h]].obj == obj; h++)
		;
	*hi = h;
}

static void rel_range(const struct ct_analysis *a, const size_t *r_by_ts, uint64_t obj,
		      size_t *lo, size_t *hi)
{
	size_t l = lower_bound_ts(a, r_by_ts, obj, 0), h;

	for (h = l; h < a->nrels && a->rels[r_by_ts[h]].obj == obj; h++)
		;
	*lo = l;
	*hi = h;
}

/* Per object workspace: the object's waits and releases and, per release, the start of
 * the hold it ends (UINT64_MAX unknown). */
struct objws {
	unsigned char *from_acq; /* [nr]: held_from is the releaser's own acquisition */
	unsigned char *estimated;/* [nr]: held_from is estimated from the median hold */
	const size_t *w;  /* indexes in waits (sync profile only), by begin */
	size_t nw;
	const size_t *r;  /* indexes in rels, by ts */
	size_t nr;
	uint64_t *held_from; /* [nr] */
};

static uint64_t median_of(uint64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_plain_u64);
	return ct_percentile(v, n, 50);
}

/*
 * The start of the hold each release ends: the releasing thread's acquisition that ended
 * its wait when there is one since its previous wait or release on the object; else the
 * begin of the earliest wait in progress at the release that began after the previous
 * release on the object (the lock was held by then); else unknown.
 */
static void hold_starts(const struct ct_analysis *a, struct objws *o)
{
	struct oev *ev = ct_xmalloc((2 * o->nw + o->nr + 1) * sizeof(*ev));
	size_t n = 0;
	uint64_t prev_rel = 0;
	int have_prev = 0;

	for (size_t i = 0; i < o->nr; i++) {
		o->held_from[i] = UINT64_MAX;
		o->from_acq[i] = 0;
		o->estimated[i] = 0;
	}
	for (size_t i = 0; i < o->nw; i++) {
		const struct ct_wait *w = &a->waits[o->w[i]];

		ev[n++] = (struct oev){ w->begin, w->thr, 0, i };
		if (acquired(w))
			ev[n++] = (struct oev){ w->end, w->thr, 1, i };
	}
	for (size_t i = 0; i < o->nr; i++)
		ev[n++] = (struct oev){ a->rels[o->r[i]].ts, a->rels[o->r[i]].thr, 2, i };
	if (n > 1)
		qsort(ev, n, sizeof(*ev), cmp_oev_tid);
	for (size_t i = 0; i < n;) {
		uint32_t tid = ev[i].tid;
		uint64_t pending = UINT64_MAX;

		for (; i < n && ev[i].tid == tid; i++) {
			if (ev[i].type == 0)
				pending = UINT64_MAX;
			else if (ev[i].type == 1)
				pending = ev[i].ts;
			else if (a->rels[o->r[ev[i].ix]].flags & CT_EVF_HANDOFF) {
				/* another thread's hold: its start is found below */
			} else {
				o->held_from[ev[i].ix] = pending;
				o->from_acq[ev[i].ix] = pending != UINT64_MAX;
				pending = UINT64_MAX;
			}
		}
	}
	/* A hold from the releaser's acquisition to its next recorded release is exact only
	 * if someone waited all along: a release made with nobody waiting is not recorded,
	 * so without that the thread may have released and taken the lock again unseen. */
	{
		uint64_t (*u)[2] = ct_xmalloc((o->nw + 1) * sizeof(*u));
		size_t nu = 0;

		for (size_t i = 0; i < o->nw; i++) {
			const struct ct_wait *w = &a->waits[o->w[i]];

			if (nu && w->begin <= u[nu - 1][1]) {
				if (w->end > u[nu - 1][1])
					u[nu - 1][1] = w->end;
			} else {
				u[nu][0] = w->begin;
				u[nu][1] = w->end;
				nu++;
			}
		}
		for (size_t i = 0; i < o->nr; i++) {
			uint64_t x = o->held_from[i], y = a->rels[o->r[i]].ts;
			size_t lo = 0, hi = nu;

			if (!o->from_acq[i])
				continue;
			while (lo < hi) { /* the last union interval starting at or before x */
				size_t mid = lo + (hi - lo) / 2;

				if (u[mid][0] <= x)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (!lo || u[lo - 1][1] < y) {
				o->held_from[i] = UINT64_MAX;
				o->from_acq[i] = 0;
			}
		}
		free(u);
	}
	/* unknown starts: the earliest wait that began after the previous release */
	for (size_t i = 0, wi = 0; i < o->nr; i++) {
		const struct ct_release *r = &a->rels[o->r[i]];

		if (o->held_from[i] == UINT64_MAX) {
			for (; wi < o->nw && a->waits[o->w[wi]].begin <= (have_prev ? prev_rel : 0);
			     wi++)
				;
			for (size_t k = wi; k < o->nw && a->waits[o->w[k]].begin <= r->ts; k++) {
				const struct ct_wait *w = &a->waits[o->w[k]];

				if (w->end >= r->ts && w->tid != r->tid) {
					o->held_from[i] = w->begin;
					break;
				}
			}
		}
		prev_rel = r->ts;
		have_prev = 1;
	}
	/* still unknown (the holder took it without waiting and nobody waited before the
	 * previous release): the median of the known holds, after the previous release */
	{
		uint64_t *v = ct_xmalloc((o->nr + 1) * sizeof(*v)), med;
		size_t nv = 0;

		for (size_t i = 0; i < o->nr; i++)
			if (o->from_acq[i] && o->held_from[i] <= a->rels[o->r[i]].ts)
				v[nv++] = a->rels[o->r[i]].ts - o->held_from[i];
		med = median_of(v, nv);
		free(v);
		prev_rel = 0;
		for (size_t i = 0; i < o->nr && nv; i++) {
			const struct ct_release *r = &a->rels[o->r[i]];

			if (o->held_from[i] == UINT64_MAX) {
				uint64_t from = r->ts > med ? r->ts - med : 0;

				o->held_from[i] = from > prev_rel ? from : prev_rel;
				o->estimated[i] = 1;
			}
			prev_rel = r->ts;
		}
	}
	free(ev);
}

/* Adds the overlap of [b, e) with each window to acc[] (windows of width dw from t0). */
static void add_overlap(double *acc, size_t nwin, uint64_t t0, uint64_t dw, uint64_t b,
			uint64_t e)
{
	uint64_t t1 = t0 + dw * nwin;

	if (b < t0)
		b = t0;
	if (e > t1)
		e = t1;
	if (e <= b)
		return;
	for (size_t k = (b - t0) / dw; k < nwin && t0 + k * dw < e; k++) {
		uint64_t ws = t0 + k * dw, we = ws + dw;
		uint64_t s = b > ws ? b : ws, x = e < we ? e : we;

		if (x > s)
			acc[k] += (double)(x - s);
	}
}

struct wval {
	size_t win;
	uint64_t v;
};

static int cmp_wval(const void *pa, const void *pb)
{
	const struct wval *x = pa, *y = pb;

	if (x->win != y->win)
		return x->win < y->win ? -1 : 1;
	return cmp_u64(x->v, y->v);
}

/* The median of the values of window k in v (sorted by window, value), from *pos on. */
static uint64_t window_median(const struct wval *v, size_t n, size_t *pos, size_t k)
{
	size_t s, e;

	while (*pos < n && v[*pos].win < k)
		(*pos)++;
	s = *pos;
	for (e = s; e < n && v[e].win == k; e++)
		;
	*pos = e;
	if (e == s)
		return 0;
	return v[s + (size_t)((((e - s) * 50 + 99) / 100) - 1)].v;
}

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t x = *(const uint32_t *)pa, y = *(const uint32_t *)pb;

	return x < y ? -1 : x > y;
}

/* The stack with the most entries among stacks[0..n) (0 if none). */
static uint32_t top_stack(uint32_t *stacks, size_t n)
{
	uint32_t best = 0;
	size_t bestn = 0;

	if (n > 1)
		qsort(stacks, n, sizeof(*stacks), cmp_u32);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && stacks[j] == stacks[i]; j++)
			;
		if (stacks[i] && j - i > bestn) {
			bestn = j - i;
			best = stacks[i];
		}
	}
	return best;
}

void ct_convoy_params_default(struct ct_convoy_params *p)
{
	p->window_ns = CT_CONVOY_WINDOW_NS;
	p->min_waiters = CT_CONVOY_WAITERS;
	p->max_empty = CT_CONVOY_EMPTY;
	p->min_run = CT_CONVOY_RUN;
	p->min_releases = CT_CONVOY_RELEASES;
	p->wait_hold = CT_CONVOY_WAIT_HOLD;
}

void ct_convoy_release(struct ct_convoy *ev)
{
	free(ev->series);
	ev->series = NULL;
	ev->nseries = 0;
}

/* The pct percentile of the values of v whose window is flagged in is[]; 0 if none. */
static uint64_t flagged_percentile(const struct wval *v, size_t n, const unsigned char *is,
				   unsigned pct)
{
	uint64_t *tmp = ct_xmalloc((n + 1) * sizeof(*tmp)), r;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (is[v[i].win])
			tmp[k++] = v[i].v;
	if (k > 1)
		qsort(tmp, k, sizeof(*tmp), cmp_plain_u64);
	r = ct_percentile(tmp, k, pct);
	free(tmp);
	return r;
}

/* The median of the values of v (sorted by window, then value) in windows [k0, k1). */
static uint64_t range_median(const struct wval *v, size_t n, size_t k0, size_t k1)
{
	size_t lo = 0, hi = n, e;
	uint64_t *tmp, r;

	while (lo < hi) { /* the first value of window k0 or later */
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].win < k0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (e = lo; e < n && v[e].win < k1; e++)
		;
	tmp = ct_xmalloc((e - lo + 1) * sizeof(*tmp));
	for (size_t i = lo; i < e; i++)
		tmp[i - lo] = v[i].v;
	r = median_of(tmp, e - lo);
	free(tmp);
	return r;
}

/*
 * Whether the run of queued windows [k0, k1) is a convoy (analysis.h): long enough,
 * enough recorded releases, and a median wait of at least wait_hold times the median hold
 * (the run's measured holds, else the object's median all_hold; unknown fails).
 */
static int convoy_run(const struct ct_convoy_params *p, size_t k0, size_t k1,
		      const uint64_t *rel, const struct wval *wv, size_t nwv,
		      const struct wval *hv, size_t nhv, uint64_t all_hold)
{
	uint64_t nrel = 0, mwait, mhold;

	if (k1 - k0 < p->min_run)
		return 0;
	for (size_t k = k0; k < k1; k++)
		nrel += rel[k];
	if ((double)nrel < p->min_releases * (double)(k1 - k0))
		return 0;
	mwait = range_median(wv, nwv, k0, k1);
	mhold = range_median(hv, nhv, k0, k1);
	if (!mhold)
		mhold = all_hold;
	if (!mwait || !mhold)
		return 0;
	return (double)mwait >= p->wait_hold * (double)mhold;
}

/*
 * The convoy detector (analysis.h, README.md "Convoys") over one object's waits and
 * releases in [t0, t1): windows of width min(window_ns, (t1 - t0) / CT_CONVOY_MIN_WINDOWS),
 * a last partial window left out. Per window: Q = integral of the waits in progress /
 * width; E = the share of the window when none was (the queue was empty); the recorded
 * releases; H = held time / width, capped at 1, from the holds that end at recorded
 * releases (hold_starts: exact from the releaser's own acquisition, else estimated); the
 * acquisitions that ended a wait; the medians of those waits, of the exact holds ending in
 * it and of the hand-offs (release -> the waiter it ended acquiring). Fills *out; with
 * all_series the series holds every window, else the windows from the first convoy
 * window to the last. Returns the verdict.
 */
static int convoy(const struct ct_analysis *a, const struct objws *o, uint64_t t0,
		  uint64_t t1, int all_series, struct ct_convoy *out)
{
	const struct ct_convoy_params *p = &a->convoy;
	uint64_t dur = t1 > t0 ? t1 - t0 : 0, dw = p->window_ns ? p->window_ns : CT_CONVOY_WINDOW_NS;
	size_t nwin, nwv = 0, nhv = 0, nxv = 0, pw = 0, ph = 0, px = 0, nu = 0;
	size_t first = 0, last = 0;
	double *q, *h, *busy;
	uint64_t *cont, *rel, *mw, *mh, *mx, all_hold, *tmp;
	struct wval *wv, *hv, *xv;
	unsigned char *queued, *is;
	uint64_t (*u)[2];
	uint32_t *stk;
	size_t nstk = 0, ntmp = 0;

	memset(out, 0, sizeof(*out));
	if (dur / CT_CONVOY_MIN_WINDOWS < dw)
		dw = dur / CT_CONVOY_MIN_WINDOWS;
	if (!dw || !o->nw)
		return 0;
	nwin = dur / dw;
	q = ct_xcalloc(nwin, sizeof(*q));
	h = ct_xcalloc(nwin, sizeof(*h));
	busy = ct_xcalloc(nwin, sizeof(*busy));
	cont = ct_xcalloc(nwin, sizeof(*cont));
	rel = ct_xcalloc(nwin, sizeof(*rel));
	mw = ct_xcalloc(nwin, sizeof(*mw));
	mh = ct_xcalloc(nwin, sizeof(*mh));
	mx = ct_xcalloc(nwin, sizeof(*mx));
	queued = ct_xcalloc(nwin, 1);
	is = ct_xcalloc(nwin, 1);
	wv = ct_xmalloc((o->nw + 1) * sizeof(*wv));
	xv = ct_xmalloc((o->nw + 1) * sizeof(*xv));
	hv = ct_xmalloc((o->nr + 1) * sizeof(*hv));
	u = ct_xmalloc((o->nw + 1) * sizeof(*u));
	/* waiters: Q from every wait, the queue's busy time from their union (by begin) */
	for (size_t i = 0; i < o->nw; i++) {
		const struct ct_wait *w = &a->waits[o->w[i]];
		size_t k;

		add_overlap(q, nwin, t0, dw, w->begin, w->end);
		if (nu && w->begin <= u[nu - 1][1]) {
			if (w->end > u[nu - 1][1])
				u[nu - 1][1] = w->end;
		} else {
			u[nu][0] = w->begin;
			u[nu][1] = w->end;
			nu++;
		}
		if (!acquired(w) || w->end < t0 || (k = (w->end - t0) / dw) >= nwin)
			continue;
		cont[k]++;
		wv[nwv++] = (struct wval){ k, w->end - w->begin };
		if (w->waker != CT_NO_RELEASE) {
			const struct ct_release *r = &a->rels[w->waker];

			if (r->tid != w->tid && w->begin <= r->ts)
				xv[nxv++] = (struct wval){ k, w->end > r->ts ? w->end - r->ts : 0 };
		}
	}
	for (size_t i = 0; i < nu; i++)
		add_overlap(busy, nwin, t0, dw, u[i][0], u[i][1]);
	/* holds, ending at the recorded releases */
	tmp = ct_xmalloc((o->nr + 1) * sizeof(*tmp));
	for (size_t i = 0; i < o->nr; i++) {
		const struct ct_release *r = &a->rels[o->r[i]];
		size_t k;

		if (o->from_acq[i] && o->held_from[i] <= r->ts)
			tmp[ntmp++] = r->ts - o->held_from[i];
		if (r->ts < t0 || (k = (r->ts - t0) / dw) >= nwin)
			continue;
		rel[k]++;
		if (o->held_from[i] != UINT64_MAX && o->held_from[i] < r->ts) {
			add_overlap(h, nwin, t0, dw, o->held_from[i], r->ts);
			if (o->from_acq[i])
				hv[nhv++] = (struct wval){ k, r->ts - o->held_from[i] };
		}
	}
	all_hold = median_of(tmp, ntmp);
	free(tmp);
	if (nwv > 1)
		qsort(wv, nwv, sizeof(*wv), cmp_wval);
	if (nhv > 1)
		qsort(hv, nhv, sizeof(*hv), cmp_wval);
	if (nxv > 1)
		qsort(xv, nxv, sizeof(*xv), cmp_wval);
	out->window_ns = dw;
	out->total_windows = nwin;
	/* per window: the measurements and the queued test */
	for (size_t k = 0; k < nwin; k++) {
		double hk = h[k] / (double)dw, ek = 1.0 - busy[k] / (double)dw;

		mw[k] = window_median(wv, nwv, &pw, k);
		mh[k] = window_median(hv, nhv, &ph, k);
		mx[k] = window_median(xv, nxv, &px, k);
		q[k] /= (double)dw;
		h[k] = hk > 1 ? 1 : hk;
		busy[k] = ek < 0 ? 0 : ek; /* from here on: the empty share E */
		queued[k] = q[k] >= p->min_waiters && busy[k] <= p->max_empty;
	}
	/* runs of queued windows, and which of them are convoys */
	for (size_t k0 = 0, k1; k0 < nwin; k0 = k1) {
		if (!queued[k0]) {
			k1 = k0 + 1;
			continue;
		}
		for (k1 = k0; k1 < nwin && queued[k1]; k1++)
			;
		if (!convoy_run(p, k0, k1, rel, wv, nwv, hv, nhv, all_hold))
			continue;
		memset(is + k0, 1, k1 - k0);
		if (!out->windows)
			first = k0;
		last = k1 - 1;
		out->windows += k1 - k0;
		if (k1 - k0 > out->longest_run)
			out->longest_run = k1 - k0;
	}
	for (size_t k = 0; k < nwin; k++) {
		if (!is[k])
			continue;
		out->mean_waiters += q[k];
		out->empty_fraction += busy[k];
		out->hold_fraction += h[k];
		out->acquisitions += cont[k];
		out->releases += rel[k];
		out->lost_ns += (uint64_t)(q[k] * (double)dw);
	}
	if (all_series || out->windows) {
		size_t s0 = all_series ? 0 : first, s1 = all_series ? nwin : last + 1;

		out->series = ct_xcalloc(s1 - s0 + 1, sizeof(*out->series));
		for (size_t k = s0; k < s1; k++)
			out->series[out->nseries++] = (struct ct_convoy_window){
				.start_ns = k * dw + (t0 - a->start_ts),
				.mean_waiters = q[k], .empty_fraction = busy[k],
				.held_fraction = h[k], .acquisitions = cont[k], .releases = rel[k],
				.median_wait_ns = mw[k], .median_hold_ns = mh[k],
				.median_handoff_ns = mx[k], .queued = queued[k], .convoy = is[k],
			};
	}
	if (out->windows) {
		out->start_ns = first * dw + (t0 - a->start_ts);
		out->end_ns = (last + 1) * dw + (t0 - a->start_ts);
		out->mean_waiters /= (double)out->windows;
		out->empty_fraction /= (double)out->windows;
		out->hold_fraction /= (double)out->windows;
		out->median_hold_ns = flagged_percentile(hv, nhv, is, 50);
		if (!out->median_hold_ns)
			out->median_hold_ns = all_hold;
		out->median_wait_ns = flagged_percentile(wv, nwv, is, 50);
		out->median_handoff_ns = flagged_percentile(xv, nxv, is, 50);
		out->p99_handoff_ns = flagged_percentile(xv, nxv, is, 99);
		if (out->median_hold_ns)
			out->throughput_cap_per_s = 1e9 / (double)out->median_hold_ns;
		stk = ct_xmalloc((o->nw + o->nr + 1) * sizeof(*stk));
		for (size_t i = 0; i < o->nw; i++) {
			const struct ct_wait *w = &a->waits[o->w[i]];
			size_t k;

			if (acquired(w) && w->end >= t0 && (k = (w->end - t0) / dw) < nwin && is[k])
				stk[nstk++] = w->stack;
		}
		out->waiter_stack = top_stack(stk, nstk);
		nstk = 0;
		for (size_t i = 0; i < o->nr; i++) {
			const struct ct_release *r = &a->rels[o->r[i]];
			size_t k;

			if (r->ts >= t0 && (k = (r->ts - t0) / dw) < nwin && is[k])
				stk[nstk++] = r->stack;
		}
		out->holder_stack = top_stack(stk, nstk);
		free(stk);
	}
	free(q);
	free(h);
	free(busy);
	free(cont);
	free(rel);
	free(mw);
	free(mh);
	free(mx);
	free(queued);
	free(is);
	free(wv);
	free(xv);
	free(hv);
	free(u);
	return out->windows > 0;
}

/* Hold times, wake-ups, owner changes, histogram and convoy verdict of one object. */
static void object_details(struct ct_analysis *a, struct ct_object *ob, struct objws *o)
{
	uint64_t *v = ct_xmalloc((o->nw + o->nr + 1) * sizeof(*v));
	struct oev *ev = ct_xmalloc((2 * o->nw + o->nr + 1) * sizeof(*ev));
	size_t n = 0, ne = 0;
	uint32_t owner = 0;

	for (size_t i = 0; i < o->nw; i++)
		ct_hist_add(&ob->hist, a->waits[o->w[i]].end - a->waits[o->w[i]].begin);
	/* wake-ups */
	for (size_t i = 0; i < o->nw; i++) {
		const struct ct_wait *w = &a->waits[o->w[i]];

		if (w->waker != CT_NO_RELEASE && !w->unfinished)
			v[n++] = w->end > a->rels[w->waker].ts ? w->end - a->rels[w->waker].ts : 0;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_plain_u64);
	ob->wakeup_p50_ns = ct_percentile(v, n, 50);
	ob->wakeup_p99_ns = ct_percentile(v, n, 99);
	ob->wakeup_max_ns = n ? v[n - 1] : 0;
	/* holds of contended acquisitions: acquisition to the same thread's next release */
	hold_starts(a, o);
	n = 0;
	for (size_t i = 0; i < o->nr; i++) {
		uint64_t from = o->held_from[i], ts = a->rels[o->r[i]].ts;

		/* only holds that began with the end of the releaser's own wait */
		if (!o->from_acq[i] || !mutex_like(ob->kind))
			continue;
		v[n++] = ts > from ? ts - from : 0;
		ob->hold_total_ns += v[n - 1];
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_plain_u64);
	ob->holds = n;
	ob->hold_p50_ns = ct_percentile(v, n, 50);
	ob->hold_p99_ns = ct_percentile(v, n, 99);
	ob->hold_max_ns = n ? v[n - 1] : 0;
	/* owner changes: who owns it, from each wait's begin (mutex owner), acquisition and
	 * release, in time order */
	for (size_t i = 0; i < o->nw; i++) {
		const struct ct_wait *w = &a->waits[o->w[i]];

		if (w->kind == CT_K_MUTEX && w->arg && !w->synthetic)
			ev[ne++] = (struct oev){ w->begin, (uint32_t)w->arg, 0, i };
		if (acquired(w))
			ev[ne++] = (struct oev){ w->end, w->tid, 1, i };
	}
	for (size_t i = 0; i < o->nr; i++)
		ev[ne++] = (struct oev){ a->rels[o->r[i]].ts, a->rels[o->r[i]].tid, 2, i };
	if (ne > 1)
		qsort(ev, ne, sizeof(*ev), cmp_oev_ts);
	for (size_t i = 0; i < ne; i++) {
		if (owner && ev[i].tid != owner)
			ob->owner_changes++;
		owner = ev[i].tid;
	}
	ob->mutex_like = mutex_like(ob->kind);
	if (ob->mutex_like)
		ob->convoy = convoy(a, o, a->from_ts, a->to_ts, 0, &ob->convoy_ev);
	free(v);
	free(ev);
}

static void build_object_details(struct ct_analysis *a, const size_t *w_by_obj,
				 const size_t *r_by_ts)
{
	size_t *wl = ct_xmalloc((a->nwaits + 1) * sizeof(*wl));

	for (size_t i = 0; i < a->nobjs; i++) {
		struct ct_object *ob = &a->objs[i];
		struct objws o = { 0 };
		size_t lo, hi, rlo, rhi;

		wait_range(a, w_by_obj, ob->addr, &lo, &hi);
		for (size_t k = lo; k < hi; k++)
			if (a->waits[w_by_obj[k]].profile == CT_P_SYNC)
				wl[o.nw++] = w_by_obj[k];
		o.w = wl;
		rel_range(a, r_by_ts, ob->addr, &rlo, &rhi);
		o.r = r_by_ts + rlo;
		o.nr = rhi - rlo;
		o.held_from = ct_xmalloc((o.nr + 1) * sizeof(*o.held_from));
		o.from_acq = ct_xmalloc(o.nr + 1);
		o.estimated = ct_xmalloc(o.nr + 1);
		object_details(a, ob, &o);
		free(o.held_from);
		free(o.from_acq);
		free(o.estimated);
	}
	free(wl);
}

int ct_convoy_detect(const struct ct_analysis *a, uint64_t obj, uint64_t t0, uint64_t t1,
		     struct ct_convoy *ev)
{
	size_t *w_by_obj = index_array(a->nwaits), *r_by_ts = index_array(a->nrels);
	size_t *wl = ct_xmalloc((a->nwaits + 1) * sizeof(*wl)), lo, hi, rlo, rhi;
	struct objws o = { 0 };
	int rc;

	sort_waits = a->waits;
	sort_rels = a->rels;
	if (a->nwaits > 1)
		qsort(w_by_obj, a->nwaits, sizeof(*w_by_obj), cmp_wait_obj_begin);
	if (a->nrels > 1)
		qsort(r_by_ts, a->nrels, sizeof(*r_by_ts), cmp_rel_obj_ts);
	wait_range(a, w_by_obj, obj, &lo, &hi);
	for (size_t k = lo; k < hi; k++)
		if (a->waits[w_by_obj[k]].profile == CT_P_SYNC)
			wl[o.nw++] = w_by_obj[k];
	o.w = wl;
	rel_range(a, r_by_ts, obj, &rlo, &rhi);
	o.r = r_by_ts + rlo;
	o.nr = rhi - rlo;
	o.held_from = ct_xmalloc((o.nr + 1) * sizeof(*o.held_from));
	o.from_acq = ct_xmalloc(o.nr + 1);
	o.estimated = ct_xmalloc(o.nr + 1);
	hold_starts(a, &o);
	rc = convoy(a, &o, t0, t1, 1, ev);
	free(o.held_from);
	free(o.from_acq);
	free(o.estimated);
	free(wl);
	free(w_by_obj);
	free(r_by_ts);
	return rc;
}

/* ---- wait chains and deadlocks --------------------------------------------------- */

/* The owner of obj at the end: the latest of a mutex wait's owner at its begin and an
 * acquisition, unless a release by that owner came after it (0: unknown). */
static uint32_t owner_at_end(const struct ct_analysis *a, const size_t *w_by_obj,
			     const size_t *r_by_ts, uint64_t obj, size_t *acq_wait)
{
	size_t lo, hi, rlo, rhi;
	uint64_t best_ts = 0;
	uint32_t owner = 0;

	*acq_wait = CT_NO_RELEASE;
	wait_range(a, w_by_obj, obj, &lo, &hi);
	for (size_t k = lo; k < hi; k++) {
		const struct ct_wait *w = &a->waits[w_by_obj[k]];

		if (w->kind == CT_K_MUTEX && w->arg && !w->synthetic && w->begin >= best_ts &&
		    (uint32_t)w->arg != w->tid) {
			best_ts = w->begin;
			owner = (uint32_t)w->arg;
			*acq_wait = CT_NO_RELEASE;
		}
		if (acquired(w) && w->end >= best_ts) {
			best_ts = w->end;
			owner = w->tid;
			*acq_wait = w_by_obj[k];
		}
	}
	rel_range(a, r_by_ts, obj, &rlo, &rhi);
	for (size_t k = rlo; k < rhi; k++) {
		const struct ct_release *r = &a->rels[r_by_ts[k]];

		if (r->ts >= best_ts && r->tid == owner && r->kind != CT_K_COND) {
			owner = 0;
			*acq_wait = CT_NO_RELEASE;
		}
	}
	/* the holder's own acquisition, if recorded: its latest acquired wait on obj not
	 * followed by a release of its own */
	if (owner && *acq_wait == CT_NO_RELEASE) {
		uint64_t ts = 0;

		for (size_t k = lo; k < hi; k++) {
			const struct ct_wait *w = &a->waits[w_by_obj[k]];

			if (w->tid == owner && acquired(w) && w->end >= ts) {
				ts = w->end;
				*acq_wait = w_by_obj[k];
			}
		}
		for (size_t k = rlo; k < rhi && *acq_wait != CT_NO_RELEASE; k++)
			if (a->rels[r_by_ts[k]].tid == owner && a->rels[r_by_ts[k]].ts >= ts)
				*acq_wait = CT_NO_RELEASE;
	}
	return owner;
}

static int cmp_link_tid(const void *pa, const void *pb)
{
	const struct ct_chain_link *x = pa, *y = pb;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static const struct ct_chain_link *find_link(const struct ct_analysis *a, uint32_t tid)
{
	size_t lo = 0, hi = a->nchains;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->chains[mid].tid == tid)
			return &a->chains[mid];
		if (a->chains[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_hold(const void *pa, const void *pb)
{
	const struct ct_hold *x = pa, *y = pb;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	return cmp_u64(x->ts, y->ts);
}

/* The latest HOLD of obj by tid at or before ts, or NULL (holds sorted by cmp_hold). */
static const struct ct_hold *latest_hold(const struct ct_analysis *a, uint32_t tid,
					 uint64_t obj, uint64_t ts)
{
	size_t lo = 0, hi = a->nholds;

	while (lo < hi) { /* first hold after (tid, obj, ts) */
		size_t mid = lo + (hi - lo) / 2;
		const struct ct_hold *h = &a->holds[mid];

		if (h->tid < tid || (h->tid == tid && (h->obj < obj ||
						       (h->obj == obj && h->ts <= ts))))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || a->holds[lo - 1].tid != tid || a->holds[lo - 1].obj != obj)
		return NULL;
	return &a->holds[lo - 1];
}

/* tid's latest wait on obj that acquired it and ended at or before ts (CT_NO_RELEASE:
 * none), from the object's waits [lo, hi) of w_by_obj. */
static size_t acquiring_wait(const struct ct_analysis *a, const size_t *w_by_obj, size_t lo,
			     size_t hi, uint32_t tid, uint64_t ts)
{
	size_t best = CT_NO_RELEASE;

	for (size_t k = lo; k < hi; k++) {
		const struct ct_wait *w = &a->waits[w_by_obj[k]];

		if (w->tid == tid && acquired(w) && w->end <= ts &&
		    (best == CT_NO_RELEASE || w->end >= a->waits[best].end))
			best = w_by_obj[k];
	}
	return best;
}

/*
 * Where each link's holder took the object (ct_chain_link.held_*): its latest HOLD of
 * the object at or before its own current wait began (or the analysed end when it is not
 * waiting) and not followed by a recorded release of its own; with HOLD after_wait set, the stack
 * of the wait that acquired it when that wait is in the analysis. Without a HOLD, the
 * acquisition owner_at_end found (*acq, per link) stays.
 */
static void held_sites(struct ct_analysis *a, const size_t *w_by_obj, const size_t *r_by_ts)
{
	for (size_t i = 0; i < a->nchains; i++) {
		struct ct_chain_link *l = &a->chains[i];
		const struct ct_chain_link *hl = find_link(a, l->held_by);
		uint64_t ref = hl ? a->waits[hl->wait].begin : a->to_ts;
		const struct ct_hold *h = latest_hold(a, l->held_by, l->obj, ref);
		size_t lo, hi, rlo, rhi, acq;
		int stale = 0;

		if (!h)
			continue;
		rel_range(a, r_by_ts, l->obj, &rlo, &rhi);
		for (size_t k = rlo; k < rhi; k++)
			if (a->rels[r_by_ts[k]].tid == l->held_by && a->rels[r_by_ts[k]].ts > h->ts &&
			    a->rels[r_by_ts[k]].ts <= ref)
				stale = 1;
		if (stale)
			continue;
		l->held_known = 1;
		l->held_from = CT_HELD_HOLD;
		l->held_stack = h->stack;
		l->held_ts = h->ts;
		if (!h->after_wait)
			continue;
		wait_range(a, w_by_obj, l->obj, &lo, &hi);
		acq = acquiring_wait(a, w_by_obj, lo, hi, l->held_by, h->ts);
		if (acq != CT_NO_RELEASE && a->waits[acq].stack) {
			l->held_from = CT_HELD_WAIT;
			l->held_stack = a->waits[acq].stack;
			l->held_ts = a->waits[acq].end;
		}
	}
}

/*
 * Who waits on whom at the end of the trace (or window): each thread's innermost wait
 * still in progress on a mutex-like object with a known owner, or a join of a live
 * thread; the cycles of that graph are deadlocks.
 */
static void build_chains(const struct ct_model *m, struct ct_analysis *a,
			 const size_t *w_by_obj, const size_t *r_by_ts)
{
	size_t cap = 0, dcap = 0;
	unsigned char *state;

	for (size_t i = 0; i < a->nwaits; i++) {
		const struct ct_wait *w = &a->waits[i];
		const struct ct_mthread *t = &m->threads[w->thr];
		struct ct_chain_link l = { .tid = w->tid, .obj = w->obj, .wait = i };
		size_t acq = CT_NO_RELEASE;

		if (!w->unfinished || (t && t->has_end && t->end_ts <= a->to_ts))
			continue;
		if (w->kind == CT_K_JOIN) {
			const struct ct_mthread *j = ct_model_thread_at(m, (uint32_t)w->arg,
									w->begin);

			if (!w->arg || (j && j->has_end && j->end_ts <= a->to_ts))
				continue;
			l.held_by = (uint32_t)w->arg;
		} else if (mutex_like(w->kind)) {
			l.held_by = owner_at_end(a, w_by_obj, r_by_ts, w->obj, &acq);
			if (!l.held_by && w->kind == CT_K_MUTEX)
				l.held_by = (uint32_t)w->arg;
			if (acq != CT_NO_RELEASE) {
				l.held_stack = a->waits[acq].stack;
				l.held_known = 1;
				l.held_from = CT_HELD_WAIT;
				l.held_ts = a->waits[acq].end;
			}
		} else {
			continue;
		}
		if (!l.held_by || l.held_by == l.tid)
			continue;
		/* the innermost (latest) wait of a thread wins */
		if (a->nchains && a->chains[a->nchains - 1].tid == l.tid) {
			a->chains[a->nchains - 1] = l;
			continue;
		}
		ct_grow(&a->chains, &cap, a->nchains + 1, sizeof(*a->chains));
		a->chains[a->nchains++] = l;
	}
	if (a->nchains > 1)
		qsort(a->chains, a->nchains, sizeof(*a->chains), cmp_link_tid);
	if (a->nholds > 1)
		qsort(a->holds, a->nholds, sizeof(*a->holds), cmp_hold);
	held_sites(a, w_by_obj, r_by_ts);
	/* cycles of the functional graph tid -> held_by: 0 new, 1 on the current path,
	 * 2 done */
	state = ct_xcalloc(a->nchains + 1, 1);
	for (size_t i = 0; i < a->nchains; i++) {
		const struct ct_chain_link *l = &a->chains[i];

		if (state[i])
			continue;
		while (l && !state[l - a->chains]) {
			state[l - a->chains] = 1;
			l = find_link(a, l->held_by);
		}
		if (l && state[l - a->chains] == 1) {
			/* a new cycle through l: start it at its smallest tid */
			struct ct_deadlock d = { 0 };
			const struct ct_chain_link *s = l, *c = l;
			size_t dn = 0;

			do {
				if (c->tid < s->tid)
					s = c;
				c = find_link(a, c->held_by);
				dn++;
			} while (c != l);
			d.links = ct_xmalloc(dn * sizeof(*d.links));
			c = s;
			do {
				d.links[d.n++] = *c;
				c = find_link(a, c->held_by);
			} while (c != s);
			ct_grow(&a->deadlocks, &dcap, a->ndeadlocks + 1, sizeof(*a->deadlocks));
			a->deadlocks[a->ndeadlocks++] = d;
		}
		l = &a->chains[i];
		while (l && state[l - a->chains] == 1) {
			state[l - a->chains] = 2;
			l = find_link(a, l->held_by);
		}
	}
	free(state);
}

/* ---- threads --------------------------------------------------------------------- */

/* A thread's system-call time per profile: its recorded calls plus its call sites'
 * remainders, i.e. the SITE totals (or the recorded calls where they exceed them). sys
 * and sites are grouped by thread instance in the model's order, as the threads are; *si
 * and *ci walk them. */
static void thread_syscalls(const struct ct_analysis *a, struct ct_thread_info *ti,
			    size_t *si, size_t *ci)
{
	while (*si < a->nsys && a->sys[*si].thr < ti->thr)
		(*si)++;
	while (*ci < a->nsites && a->sites[*ci].thr < ti->thr)
		(*ci)++;
	for (; *si < a->nsys && a->sys[*si].thr == ti->thr; (*si)++) {
		const struct ct_syscall *s = &a->sys[*si];

		if (s->profile > CT_P_NONE && s->profile < CT_P_MAX)
			ti->blocked_ns[s->profile] += s->end - s->begin;
		ti->syscalls++;
	}
	for (; *ci < a->nsites && a->sites[*ci].thr == ti->thr; (*ci)++) {
		const struct ct_callsite *c = &a->sites[*ci];

		if (c->profile > CT_P_NONE && c->profile < CT_P_MAX)
			ti->blocked_ns[c->profile] += c->rem_ns;
		ti->syscalls += c->rem_calls;
	}
}

static int cmp_iv(const void *pa, const void *pb)
{
	const uint64_t *x = pa, *y = pb;

	return cmp_u64(x[0], y[0]);
}

static void build_threads(const struct ct_model *m, struct ct_analysis *a,
			  const struct ct_filter *f)
{
	size_t wi = 0, si = 0, ci = 0, n = 0, ivcap = 0;
	uint64_t (*iv)[3] = NULL; /* begin, end, profile of the thread's waits */

	a->threads = ct_xcalloc(m->nthreads ? m->nthreads : 1, sizeof(*a->threads));
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct ct_mthread *t = &m->threads[i];
		struct ct_thread_info *ti = &a->threads[n];
		uint64_t start, end, blocked = 0, covered = 0;
		size_t niv = 0;

		memset(ti, 0, sizeof(*ti));
		ti->tid = t->tid;
		ti->thr = (uint32_t)i;
		ti->name = t->name;
		ti->is_main = t->tid == m->hdr.pid;
		ti->start_func = ti->is_main ? 0 : t->start_func;
		if (t->has_start)
			start = t->start_ts;
		else if (ti->is_main || t->in_first_gen)
			start = m->start_ts;
		else
			start = t->first_seen_ts ? t->first_seen_ts : m->start_ts;
		end = t->has_end ? t->end_ts : m->end_ts;
		if (a->filtered && (!thread_selected(m, f, (uint32_t)i) || end < a->from_ts ||
				    start > a->to_ts))
			continue;
		if (start < a->from_ts)
			start = a->from_ts;
		if (end > a->to_ts)
			end = a->to_ts;
		ti->lifetime_ns = end > start ? end - start : 0;
		if (!a->filtered || (a->from_ts <= m->start_ts && a->to_ts >= m->end_ts)) {
			ti->cpu_ns = t->cpu_ns;
			ti->runq_ns = t->runq_ns;
		} else {
			uint64_t c0, r0, c1, r1;

			ct_model_sched_at(t, start, &c0, &r0);
			ct_model_sched_at(t, end, &c1, &r1);
			ti->cpu_ns = c1 > c0 ? c1 - c0 : 0;
			ti->runq_ns = r1 > r0 ? r1 - r0 : 0;
		}
		/* waits are grouped by thread in the model's order; a wait nested in
		 * another (a signal handler's) counts only where it extends the outer one */
		while (wi < a->nwaits && a->waits[wi].thr < i)
			wi++;
		for (; wi < a->nwaits && a->waits[wi].thr == i; wi++) {
			const struct ct_wait *w = &a->waits[wi];

			ti->waits++;
			if (w->profile <= CT_P_NONE || w->profile >= CT_P_MAX)
				continue;
			ct_grow(&iv, &ivcap, niv + 1, sizeof(*iv));
			iv[niv][0] = w->begin;
			iv[niv][1] = w->end;
			iv[niv][2] = w->profile;
			niv++;
		}
		if (niv > 1)
			qsort(iv, niv, sizeof(*iv), cmp_iv);
		for (size_t k = 0; k < niv; k++) {
			uint64_t b = iv[k][0] > covered ? iv[k][0] : covered;

			if (iv[k][1] > b)
				ti->blocked_ns[iv[k][2]] += iv[k][1] - b;
			if (iv[k][1] > covered)
				covered = iv[k][1];
		}
		thread_syscalls(a, ti, &si, &ci);
		for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
			blocked += ti->blocked_ns[p];
		blocked += ti->cpu_ns + ti->runq_ns;
		ti->other_ns = ti->lifetime_ns > blocked ? ti->lifetime_ns - blocked : 0;
		n++;
	}
	a->nthreads = n;
	free(iv);
}

struct ct_analysis *ct_analyze_with(const struct ct_model *m, const struct ct_filter *f,
				    const struct ct_convoy_params *cp)
{
	struct ct_analysis *a = ct_xcalloc(1, sizeof(*a));
	size_t *w_by_obj, *r_by_ts;

	if (cp)
		a->convoy = *cp;
	else
		ct_convoy_params_default(&a->convoy);

	a->start_ts = m->start_ts;
	a->from_ts = m->start_ts;
	a->to_ts = m->end_ts;
	if (f) {
		if (f->from_ns && f->from_ns < m->end_ts - m->start_ts)
			a->from_ts = m->start_ts + f->from_ns;
		else if (f->from_ns)
			a->from_ts = m->end_ts;
		if (f->to_ns != UINT64_MAX && f->to_ns < m->end_ts - m->start_ts)
			a->to_ts = m->start_ts + f->to_ns;
		if (a->to_ts < a->from_ts)
			a->to_ts = a->from_ts;
		a->filtered = f->from_ns || f->to_ns != UINT64_MAX || f->ntids || f->nnames;
	}
	build_waits(m, a);
	build_syscalls(m, a);
	if (a->filtered)
		apply_filter(m, a, f);
	w_by_obj = index_array(a->nwaits);
	r_by_ts = index_array(a->nrels);
	sort_waits = a->waits;
	sort_rels = a->rels;
	if (a->nwaits > 1)
		qsort(w_by_obj, a->nwaits, sizeof(*w_by_obj), cmp_wait_obj_begin);
	if (a->nrels > 1)
		qsort(r_by_ts, a->nrels, sizeof(*r_by_ts), cmp_rel_obj_ts);
	match_releases(a, r_by_ts);
	holder(a, w_by_obj, r_by_ts);
	build_entries(a);
	build_objects(a, w_by_obj, r_by_ts);
	build_object_details(a, w_by_obj, r_by_ts);
	build_threads(m, a, f);
	build_chains(m, a, w_by_obj, r_by_ts);
	free(w_by_obj);
	free(r_by_ts);
	sort_waits = NULL;
	sort_rels = NULL;
	return a;
}

struct ct_analysis *ct_analyze_filtered(const struct ct_model *m, const struct ct_filter *f)
{
	return ct_analyze_with(m, f, NULL);
}

struct ct_analysis *ct_analyze(const struct ct_model *m)
{
	return ct_analyze_with(m, NULL, NULL);
}

void ct_analysis_free(struct ct_analysis *a)
{
	if (!a)
		return;
	free(a->waits);
	free(a->rels);
	free(a->sys);
	free(a->sites);
	free(a->charges);
	free(a->entries);
	for (size_t i = 0; i < a->nobjs; i++)
		ct_convoy_release(&a->objs[i].convoy_ev);
	free(a->objs);
	free(a->threads);
	for (size_t i = 0; i < a->ndeadlocks; i++)
		free(a->deadlocks[i].links);
	free(a->deadlocks);
	free(a->chains);
	free(a->holds);
	free(a);
}
