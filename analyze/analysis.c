/* SPDX-License-Identifier: MIT */
/*
 * Implementation of analysis.h. Everything is computed from sorted index arrays; no
 * analysis is quadratic in the number of events except in the number of waiters
 * simultaneously blocked on one object (the holder sweep keeps that set).
 */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

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
	w->end_seq = ev->a;
	w->result = (uint8_t)ev->b;
}

static void build_waits(const struct ct_model *m, struct ct_analysis *a)
{
	size_t wcap = 0, rcap = 0, *open = NULL, nopen = 0, ocap = 0;

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
				w->kind = ev->kind;
				w->profile = (uint8_t)ct_kind_profile(ev->kind);
				w->flags = ev->flags;
				w->stack = ev->stack;
				w->obj = ev->obj;
				w->arg = ev->a;
				w->begin = ev->ts;
				w->begin_seq = ev->b;
				ct_grow(&open, &ocap, nopen + 1, sizeof(*open));
				open[nopen++] = wi;
				break;
			case CT_EV_WAIT_END:
				saw_wait = 1;
				if (nopen) {
					close_wait(&a->waits[open[--nopen]], ev);
				} else if (pending && (t->init_obj == ev->obj || !t->init_obj)) {
					/* began before the file: the generation state has it */
					wi = new_wait(a, &wcap);
					w = &a->waits[wi];
					w->tid = t->tid;
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
				r->kind = ev->kind;
				r->flags = ev->flags;
				r->stack = ev->stack;
				r->ts = ev->ts;
				r->obj = ev->obj;
				r->seq = ev->a;
				r->waiters = ev->b;
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

static void match_releases(struct ct_analysis *a)
{
	size_t *by_seq, *conds, nconds = 0;

	if (!a->nrels)
		return;
	by_seq = index_array(a->nrels);
	sort_rels = a->rels;
	if (a->nrels > 1)
		qsort(by_seq, a->nrels, sizeof(*by_seq), cmp_rel_obj_seq);

	/* mutex-like waits: WAIT_END.a names the release exactly */
	conds = ct_xmalloc((a->nwaits ? a->nwaits : 1) * sizeof(*conds));
	for (size_t i = 0; i < a->nwaits; i++) {
		struct ct_wait *w = &a->waits[i];
		size_t p;

		if (w->unfinished || w->end_seq == 0 || w->end_seq == w->begin_seq)
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

	/* cond waits: candidates are the releases with seq in (begin.b, end.a]; the earliest
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
 */
static void holder(struct ct_analysis *a, const size_t *w_by_obj, const size_t *r_by_ts)
{
	size_t wi = 0, ccap = 0, *active = NULL, nactive = 0, acap = 0;

	for (size_t ri = 0; ri < a->nrels;) {
		uint64_t obj = a->rels[r_by_ts[ri]].obj, prev = 0;
		int have_prev = 0;

		while (wi < a->nwaits && a->waits[w_by_obj[wi]].obj < obj)
			wi++;
		nactive = 0;
		for (; ri < a->nrels && a->rels[r_by_ts[ri]].obj == obj; ri++) {
			struct ct_release *r = &a->rels[r_by_ts[ri]];

			while (wi < a->nwaits && a->waits[w_by_obj[wi]].obj == obj &&
			       a->waits[w_by_obj[wi]].begin < r->ts) {
				ct_grow(&active, &acap, nactive + 1, sizeof(*active));
				active[nactive++] = w_by_obj[wi++];
			}
			for (size_t k = 0; k < nactive;) {
				const struct ct_wait *w = &a->waits[active[k]];
				uint64_t from;
				struct ct_charge *c;

				if (!w->unfinished && w->end < r->ts) {
					active[k] = active[--nactive]; /* over: drop */
					continue;
				}
				from = w->begin;
				if (have_prev && prev > from)
					from = prev;
				ct_grow(&a->charges, &ccap, a->ncharges + 1, sizeof(*a->charges));
				c = &a->charges[a->ncharges++];
				c->rel = r_by_ts[ri];
				c->wait = active[k];
				c->ns = r->ts > from ? r->ts - from : 0;
				r->charged_ns += c->ns;
				r->ncharged++;
				k++;
			}
			prev = r->ts;
			have_prev = 1;
		}
	}
	free(active);
}

/* ---- profile entries ------------------------------------------------------------- */

struct sample {
	int profile;
	uint8_t kind;
	uint32_t stack;
	uint64_t v;
};

static int cmp_sample(const void *pa, const void *pb)
{
	const struct sample *x = pa, *y = pb;

	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
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
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static void build_entries(struct ct_analysis *a)
{
	size_t n = 0, cap = a->nwaits * 2 + a->ncharges + 1, ecap = 0;
	struct sample *s = ct_xmalloc(cap * sizeof(*s));
	uint64_t *vals;

	for (size_t i = 0; i < a->nwaits; i++) {
		const struct ct_wait *w = &a->waits[i];

		if (w->profile > CT_P_NONE && w->profile < CT_P_MAX)
			s[n++] = (struct sample){ w->profile, w->kind, w->stack, w->end - w->begin };
		if (w->waker != CT_NO_RELEASE && !w->unfinished) {
			const struct ct_release *r = &a->rels[w->waker];

			s[n++] = (struct sample){ CT_AP_WAKEUP, w->kind, w->stack,
						  w->end > r->ts ? w->end - r->ts : 0 };
		}
	}
	for (size_t i = 0; i < a->ncharges; i++) {
		const struct ct_release *r = &a->rels[a->charges[i].rel];

		s[n++] = (struct sample){ CT_AP_HOLDER, r->kind, r->stack, a->charges[i].ns };
	}
	if (n > 1)
		qsort(s, n, sizeof(*s), cmp_sample);
	vals = ct_xmalloc((n ? n : 1) * sizeof(*vals));
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct ct_pentry *e;

		ct_grow(&a->entries, &ecap, a->nentries + 1, sizeof(*a->entries));
		e = &a->entries[a->nentries++];
		memset(e, 0, sizeof(*e));
		e->profile = s[i].profile;
		e->kind = s[i].kind;
		e->stack = s[i].stack;
		for (; j < n && s[j].profile == e->profile && s[j].kind == e->kind &&
		       s[j].stack == e->stack; j++) {
			vals[j - i] = s[j].v;
			e->total_ns += s[j].v;
		}
		e->count = j - i;
		e->max_ns = vals[e->count - 1];
		e->p50_ns = ct_percentile(vals, e->count, 50);
		e->p99_ns = ct_percentile(vals, e->count, 99);
		i = j;
	}
	if (a->nentries > 1)
		qsort(a->entries, a->nentries, sizeof(*a->entries), cmp_entry);
	free(vals);
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

/* ---- threads --------------------------------------------------------------------- */

static void build_threads(const struct ct_model *m, struct ct_analysis *a)
{
	size_t wi = 0;

	a->nthreads = m->nthreads;
	a->threads = ct_xcalloc(m->nthreads ? m->nthreads : 1, sizeof(*a->threads));
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct ct_mthread *t = &m->threads[i];
		struct ct_thread_info *ti = &a->threads[i];
		uint64_t start, end;

		ti->tid = t->tid;
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
		ti->lifetime_ns = end > start ? end - start : 0;
		ti->cpu_ns = t->cpu_ns;
		ti->runq_ns = t->runq_ns;
		/* waits are grouped by thread in the model's tid order */
		for (; wi < a->nwaits && a->waits[wi].tid == t->tid; wi++) {
			const struct ct_wait *w = &a->waits[wi];

			if (w->profile > CT_P_NONE && w->profile < CT_P_MAX)
				ti->blocked_ns[w->profile] += w->end - w->begin;
			ti->waits++;
		}
	}
}

struct ct_analysis *ct_analyze(const struct ct_model *m)
{
	struct ct_analysis *a = ct_xcalloc(1, sizeof(*a));
	size_t *w_by_obj, *r_by_ts;

	build_waits(m, a);
	match_releases(a);
	w_by_obj = index_array(a->nwaits);
	r_by_ts = index_array(a->nrels);
	sort_waits = a->waits;
	sort_rels = a->rels;
	if (a->nwaits > 1)
		qsort(w_by_obj, a->nwaits, sizeof(*w_by_obj), cmp_wait_obj_begin);
	if (a->nrels > 1)
		qsort(r_by_ts, a->nrels, sizeof(*r_by_ts), cmp_rel_obj_ts);
	holder(a, w_by_obj, r_by_ts);
	build_entries(a);
	build_objects(a, w_by_obj, r_by_ts);
	build_threads(m, a);
	free(w_by_obj);
	free(r_by_ts);
	sort_waits = NULL;
	sort_rels = NULL;
	return a;
}

void ct_analysis_free(struct ct_analysis *a)
{
	if (!a)
		return;
	free(a->waits);
	free(a->rels);
	free(a->charges);
	free(a->entries);
	free(a->objs);
	free(a->threads);
	free(a);
}
