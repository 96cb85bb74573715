/* SPDX-License-Identifier: MIT */
/*
 * The "text" output format (output.h): `ctrace report`'s report for people, in the manner
 * of pprof -top and mutrace. A header (the trace, what was lost, filters, notes), then per
 * profile a table of entries with their frames and histograms, the objects table (sorted
 * by --sort) with convoy verdicts and, with --convoy-windows, each lock's windows, the
 * threads' lifetime split by start routine, and the deadlocks and wait chains. Several
 * traces of one program: a line per process under the header, and each result names its
 * process and is symbolized with its own trace.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockorder.h"
#include "regions.h"
#include "output.h"
#include "util.h"

#define TEXT_TOP_DEFAULT 10
#define TEXT_FRAMES 8

struct ctx {
	FILE *f;
	const struct ct_report_opts *o;
	const struct ct_model *m;
	const struct ct_analysis *a;
	struct ct_frames *fr;
	const struct ct_output_ctx *oc;
	size_t nproc;      /* several traces analysed as one: at() selects each one's m, fr */
};

/* The model and frames of trace proc, for the results that come from it. */
static void at(struct ctx *c, uint32_t proc)
{
	ct_output_at(c->oc, c->nproc, proc, &c->m, &c->fr);
}

static const char *const titles[CT_AP_MAX] = {
	[CT_AP_SYNC] = "waits at the waiting stack",
	[CT_AP_NET] = "network calls and readiness waits at the calling stack",
	[CT_AP_SYSCALL] = "blocking system calls at the calling stack",
	[CT_AP_SLEEP] = "sleeps at the calling stack",
	[CT_AP_HOLDER] = "waits charged to the releasing stack",
	[CT_AP_WAKEUP] = "release to waiter running again, at the waiting stack",
};

static void text_frames(struct ctx *c, const struct ct_frame *f, size_t n, int trunc)
{
	if (!n) {
		fprintf(c->f, "    (no stack)\n");
		return;
	}
	ct_frames_write(c->f, f, n, "    ", TEXT_FRAMES, CT_FRAME_MODULE | CT_FRAME_PC);
	if (n <= TEXT_FRAMES && trunc)
		fprintf(c->f, "    ... (stack truncated at capture)\n");
}

/* "func (file:line)" of a stack's first frame, for table cells. */
static void short_site(struct ctx *c, uint32_t stack, char *buf, size_t cap)
{
	const struct ct_frame *f;
	size_t n = ct_frames_stack(c->fr, stack, &f, NULL);

	if (!n)
		snprintf(buf, cap, "-");
	else
		ct_frame_str(&f[0], 0, buf, cap);
}

/* The analysed time ends before the trace does (--to). */
static int at_window_end(const struct ctx *c)
{
	return c->a->filtered && c->a->to_ts < c->m->end_ts;
}

static void text_header(struct ctx *c)
{
	const struct ct_model *m = c->m;
	char d[CT_DUR_BUF];

	fprintf(c->f, "trace %s: pid %" PRIu32 " (%s), duration %s, %zu threads, %" PRIu64
		" events", c->o->path ? c->o->path : "-", m->hdr.pid,
		m->hdr.exe[0] ? m->hdr.exe : "?", ct_fmt_duration(ct_model_duration(m), d),
		m->nthreads, m->nevents);
	if (m->lost_total) {
		fprintf(c->f, ", %" PRIu64 " lost (", m->lost_total);
		for (int k = 0, first = 1; k < CT_L_MAX; k++) {
			if (!m->lost[k])
				continue;
			fprintf(c->f, "%s%s %" PRIu64, first ? "" : ", ",
				ct_lost_name((unsigned)k), m->lost[k]);
			first = 0;
		}
		fprintf(c->f, ")");
	} else {
		fprintf(c->f, ", 0 lost");
	}
	if (m->untraced)
		fprintf(c->f, ", %" PRIu64 " thread%s ran untraced (CTRACE_MAX_THREADS)",
			m->untraced, m->untraced == 1 ? "" : "s");
	if (m->truncated) {
		char t[256];

		fprintf(c->f, ", truncated\n%s", ct_model_truncation(m, t, sizeof(t)));
	}
	fprintf(c->f, "\n");
	if (m->damaged)
		fprintf(c->f, "note: %" PRIu64 " damaged stretch%s of the file skipped (the first at "
			"byte offset %" PRIu64 "): the waits recorded in %s are missing\n",
			m->damaged, m->damaged == 1 ? "" : "es", m->damage_off,
			m->damaged == 1 ? "it" : "them");
	ct_trigger_text(c->f, m, c->fr);
	if (m->hdr.flags & CT_HF_ATTACHED)
		fprintf(c->f, "note: attached to a running process (ctrace attach): the trace starts "
			"at the attach; waits in progress then are not in it\n");
	if (m->hdr.flags & CT_HF_FSIZE)
		fprintf(c->f, "note: the trace stopped at the process's file-size limit (ulimit -f): "
			"events after the last chunk that fitted are missing\n");
	if (m->hdr.flags & CT_HF_SECCOMP)
		fprintf(c->f, "note: the trace ends where the program put itself under a seccomp "
			"filter (no system call of the recorder's allowed after it)\n");
	if (c->a->seccomp_threads)
		fprintf(c->f, "note: %" PRIu64 " thread%s stopped recording under a seccomp filter of "
			"%s own (its events after the filter, and those of the threads it made "
			"after it, are not in the trace)\n", c->a->seccomp_threads,
			c->a->seccomp_threads == 1 ? "" : "s",
			c->a->seccomp_threads == 1 ? "its" : "their");
	if (m->hdr.flags & CT_HF_SPARE)
		fprintf(c->f, "note: an unused spare file: pid %" PRIu32 " made it before switching "
			"user, for a child process that could not create its own trace; none took it\n",
			m->hdr.pid);
	if (c->a->filtered) {
		char f0[CT_DUR_BUF], f1[CT_DUR_BUF];

		fprintf(c->f, "filtered: window %s .. %s from the trace start%s\n",
			ct_fmt_duration(c->a->from_ts - m->start_ts, f0),
			ct_fmt_duration(c->a->to_ts - m->start_ts, f1),
			c->a->nthreads < m->nthreads ? ", selected threads only" : "");
	}
	if (c->a->unfinished)
		fprintf(c->f, "note: %" PRIu64 " wait(s) still in progress at the end of the %s "
			"(counted up to the end)\n", c->a->unfinished, at_window_end(c) ? "window" :
			"trace");
	if (c->a->unmatched_ends)
		fprintf(c->f, "note: %" PRIu64 " wait end(s) without a begin (lost events?) "
			"ignored\n", c->a->unmatched_ends);
	if (c->a->sys_nosite)
		fprintf(c->f, "note: %" PRIu64 " recorded system call(s) missing from the call-site "
			"totals (%s): counted as recorded\n", c->a->sys_nosite,
			at_window_end(c) ? "the window ends before their totals were written" :
			"trace truncated?");
}

/* One line: "    histogram: 512ns:3 1.02us:20 ..." (bucket lower bound : count). */
static void text_hist(struct ctx *c, const struct ct_hist *h)
{
	char d[CT_DUR_BUF];
	int any = 0;

	for (unsigned b = 0; b < CT_HIST_BUCKETS; b++) {
		if (!h->count[b])
			continue;
		fprintf(c->f, "%s %s:%" PRIu64, any ? "" : "    histogram:",
			ct_fmt_duration(1ull << b, d), h->count[b]);
		any = 1;
	}
	if (any)
		fputc('\n', c->f);
}

/* One entry: count and total are what is shown (the entry's less its idle threads' part,
 * icount and itotal, when those are folded). */
static void text_entry(struct ctx *c, const struct ct_pentry *e, uint64_t count, uint64_t total,
		       uint64_t icount, uint64_t itotal)
{
	char t[CT_DUR_BUF], mx[CT_DUR_BUF], p50[CT_DUR_BUF], p99[CT_DUR_BUF], kind[64];
	const struct ct_frame *f;
	int trunc, rest = e->remainder;
	size_t n;

	at(c, e->proc);
	n = ct_frames_entry(c->fr, e, &f, &trunc);
	ct_pentry_kind(e, kind, sizeof(kind));
	fprintf(c->f, "%8" PRIu64 " %10s %10s %10s %10s  %s\n", count,
		ct_fmt_duration(total, t),
		rest && !e->max_ns ? "-" : ct_fmt_duration(e->max_ns, mx),
		rest ? "-" : ct_fmt_duration(e->p50_ns, p50),
		rest ? "-" : ct_fmt_duration(e->p99_ns, p99), kind);
	if (c->nproc > 1)
		fprintf(c->f, "    process %" PRIu32 " (%s)\n", e->pid,
			c->m->hdr.exe[0] ? c->m->hdr.exe : "?");
	if (rest)
		fprintf(c->f, "    (calls without a recorded stack: %s)\n",
			e->site ? "the call site only" : "sites beyond the per-thread table");
	if (icount) {
		char it[CT_DUR_BUF];

		fprintf(c->f, "    (and %" PRIu64 " of idle threads, %s, folded below; max, p50 and p99 "
			"of all)\n", icount, ct_fmt_duration(itotal, it));
	}
	if (rest && !e->site)
		return;
	text_frames(c, f, n, trunc);
	if (e->profile == CT_AP_HOLDER && (e->taken_stack || e->kind == CT_K_MUTEX ||
					   e->kind == CT_K_RWLOCK_WR || e->kind == CT_K_SPIN)) {
		char site[256];

		/* the release is the end of the critical section (a lock_guard's closing
		 * brace): where it began is the acquisition */
		if (e->taken_stack)
			short_site(c, e->taken_stack, site, sizeof(site));
		fprintf(c->f, "    the lock taken at: %s\n", e->taken_stack ? site :
			"not recorded (no HOLD event and no wait that acquired it)");
	}
	if (!rest)
		text_hist(c, &e->hist);
}

/* The idle threads' part of entry e (README.md "Idle threads"): their waits with its key. */
static void idle_part(struct ctx *c, const struct ct_pentry *e, uint64_t *cnt, uint64_t *tot)
{
	*cnt = *tot = 0;
	if (e->remainder)
		return;
	for (size_t i = 0; i < c->a->nthreads; i++) {
		const struct ct_thread_info *t = &c->a->threads[i];

		if (!t->idle || t->proc != e->proc)
			continue;
		for (size_t k = 0; k < t->nidle_ents; k++) {
			const struct ct_idle_entry *x = &t->idle_ents[k];

			if (x->profile == e->profile && x->kind == e->kind &&
			    x->fd_class == e->fd_class && x->stack == e->stack) {
				*cnt += x->count;
				*tot += x->total_ns;
			}
		}
	}
}

static size_t idle_threads(const struct ct_analysis *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nthreads; i++)
		n += a->threads[i].idle;
	return n;
}

/* Idle threads' waits are folded when there are idle threads and others: with every
 * thread idle (a program that sleeps, a lone event loop), the idle waits are the story. */
static int folding(const struct ct_analysis *a)
{
	size_t n = idle_threads(a);

	return n && n < a->nthreads;
}

struct shown {
	const struct ct_pentry *e;
	uint64_t count, total, icount, itotal;
};

static int cmp_shown(const void *pa, const void *pb)
{
	const struct shown *x = pa, *y = pb;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->e < y->e ? -1 : x->e > y->e;
}

/* One line per thread group of the idle threads' waits in profile p. */
static void text_idle_folded(struct ctx *c, int p)
{
	const struct ct_thread_info **ord = ct_output_threads_by_group(c->oc);
	const struct ct_analysis *a = c->a;

	for (size_t i = 0, j; i < a->nthreads; i = j) {
		const char *g = ct_output_group_name(c->oc, ord[i]);
		uint64_t n = 0, tot = 0, kt[CT_K_MAX] = { 0 };
		size_t nthr = 0;
		char d[CT_DUR_BUF];

		for (j = i; j < a->nthreads && ord[j]->is_main == ord[i]->is_main &&
			    ord[j]->proc == ord[i]->proc &&
			    !strcmp(ct_output_group_name(c->oc, ord[j]), g); j++) {
			const struct ct_thread_info *t = ord[j];
			int any = 0;

			if (!t->idle)
				continue;
			for (size_t k = 0; k < t->nidle_ents; k++)
				if (t->idle_ents[k].profile == p) {
					n += t->idle_ents[k].count;
					tot += t->idle_ents[k].total_ns;
					if (t->idle_ents[k].kind < CT_K_MAX)
						kt[t->idle_ents[k].kind] += t->idle_ents[k].total_ns;
					any = 1;
				}
			nthr += (size_t)any;
		}
		if (!n)
			continue;
		fprintf(c->f, "  idle threads %s: %zu thread%s, %" PRIu64 " %s, %s (", g, nthr,
			nthr == 1 ? "" : "s", n, p == CT_AP_SYNC ? "waits" : "calls",
			ct_fmt_duration(tot, d));
		for (unsigned k = 0, first = 1; k < CT_K_MAX; k++)
			if (kt[k]) {
				fprintf(c->f, "%s%s %s", first ? "" : ", ", ct_kind_name(k),
					ct_fmt_duration(kt[k], d));
				first = 0;
			}
		fprintf(c->f, "), folded (--all shows them)\n");
	}
	free(ord);
}

static void text_profile(struct ctx *c, int p, long top)
{
	size_t n, ns = 0;
	const struct ct_pentry *e = ct_analysis_profile(c->a, p, &n);
	uint64_t calls = 0, total = 0, stacked = 0;
	int fold = !c->o->all && p < CT_AP_HOLDER && folding(c->a);
	struct shown *sh;
	char t[CT_DUR_BUF];

	fprintf(c->f, "\n== %s: %s ==\n", ct_aprofile_name(p), titles[p]);
	if (!n) {
		fprintf(c->f, "  (none recorded)\n");
		return;
	}
	if (ct_aprofile_is_call(p)) {
		for (size_t i = 0; i < n; i++) {
			calls += e[i].count;
			total += e[i].total_ns;
			stacked += e[i].stack_calls;
		}
		fprintf(c->f, "  %s in %" PRIu64 " calls, %" PRIu64 " of them with a stack "
			"(p50/p99/max from those)\n", ct_fmt_duration(total, t), calls, stacked);
	}
	sh = ct_xmalloc(n * sizeof(*sh));
	for (size_t i = 0; i < n; i++) {
		struct shown x = { &e[i], e[i].count, e[i].total_ns, 0, 0 };

		if (fold) {
			idle_part(c, &e[i], &x.icount, &x.itotal);
			x.count -= x.icount < x.count ? x.icount : x.count;
			x.total -= x.itotal < x.total ? x.itotal : x.total;
			if (!x.count)
				continue; /* all of it idle threads' */
		}
		sh[ns++] = x;
	}
	if (fold && ns > 1)
		qsort(sh, ns, sizeof(*sh), cmp_shown);
	fprintf(c->f, "%8s %10s %10s %10s %10s  %s\n", p == CT_AP_HOLDER ? "charges" : "count",
		"total", "max", "p50", "p99", "kind");
	for (size_t i = 0; i < ns && (top < 0 || (long)i < top); i++)
		text_entry(c, sh[i].e, sh[i].count, sh[i].total, sh[i].icount, sh[i].itotal);
	if (top >= 0 && ns > (size_t)top)
		fprintf(c->f, "  ... %zu more entries (--top)\n", ns - (size_t)top);
	if (fold)
		text_idle_folded(c, p);
	free(sh);
}

/* Totals per profile and kind, the idle threads' part apart. */
static void text_summary(struct ctx *c)
{
	const struct ct_analysis *a = c->a;
	size_t nidle = idle_threads(a);

	fprintf(c->f, "\n== summary: blocked time per profile and kind ==\n");
	for (int p = CT_AP_SYNC; p < CT_AP_HOLDER; p++) {
		size_t n;
		const struct ct_pentry *e = ct_analysis_profile(a, p, &n);
		uint64_t cnt[CT_K_MAX] = { 0 }, tot[CT_K_MAX] = { 0 }, icnt[CT_K_MAX] = { 0 };
		uint64_t itot[CT_K_MAX] = { 0 }, all = 0, alln = 0;
		char d[CT_DUR_BUF], d2[CT_DUR_BUF];
		int first = 1;

		for (size_t i = 0; i < n; i++) {
			uint64_t ic, it;

			if (e[i].kind >= CT_K_MAX)
				continue;
			cnt[e[i].kind] += e[i].count;
			tot[e[i].kind] += e[i].total_ns;
			all += e[i].total_ns;
			alln += e[i].count;
			if (!nidle)
				continue;
			idle_part(c, &e[i], &ic, &it);
			icnt[e[i].kind] += ic;
			itot[e[i].kind] += it;
		}
		fprintf(c->f, "  %-8s %10s", ct_aprofile_name(p), alln ? ct_fmt_duration(all, d) : "-");
		for (;;) { /* kinds by total, longest first */
			unsigned k = CT_K_MAX;

			for (unsigned x = 0; x < CT_K_MAX; x++)
				if (cnt[x] && (k == CT_K_MAX || tot[x] > tot[k]))
					k = x;
			if (k == CT_K_MAX)
				break;
			fprintf(c->f, "%s%s %s (%" PRIu64 ")", first ? "  " : ", ", ct_kind_name(k),
				ct_fmt_duration(tot[k], d), cnt[k]);
			if (itot[k])
				fprintf(c->f, " of which idle threads %s", ct_fmt_duration(itot[k], d2));
			cnt[k] = 0;
			first = 0;
		}
		fputc('\n', c->f);
	}
	if (nidle)
		fprintf(c->f, "  %zu of %zu threads idle most of their life (blocked in condition "
			"waits, epoll, poll, select or sleeps)%s\n", nidle, a->nthreads,
			c->o->all || !folding(a) ? "" : ": their idle waits are folded into one line "
			"per thread group below (--all shows them)");
}

static uint64_t obj_key(const struct ct_object *o, int sort)
{
	switch (sort) {
	case CT_SORT_COUNT: return o->contended;
	case CT_SORT_MAX: return o->wait_max_ns;
	case CT_SORT_P99: return o->wait_p99_ns;
	case CT_SORT_HOLD: return o->hold_total_ns;
	case CT_SORT_WAITERS: return o->max_waiters;
	default: return o->wait_total_ns;
	}
}

/* qsort_r order of the objects table; arg: the enum ct_sort key */
static int cmp_obj_ptr(const void *pa, const void *pb, void *arg)
{
	const struct ct_object *x = *(const struct ct_object *const *)pa;
	const struct ct_object *y = *(const struct ct_object *const *)pb;
	int sort = *(const int *)arg;
	uint64_t kx = obj_key(x, sort), ky = obj_key(y, sort);

	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (x->wait_total_ns != y->wait_total_ns)
		return x->wait_total_ns > y->wait_total_ns ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void text_window(struct ctx *c, const struct ct_convoy_window *w)
{
	char d[4][CT_DUR_BUF];

	fprintf(c->f, "    %10s %7.2f %6.0f%% %6.0f%% %6" PRIu64 " %6" PRIu64 " %10s %10s %10s  %s\n",
		ct_fmt_duration(w->start_ns, d[0]), w->mean_waiters, w->empty_fraction * 100,
		w->held_fraction * 100, w->acquisitions, w->releases,
		w->median_wait_ns ? ct_fmt_duration(w->median_wait_ns, d[1]) : "-",
		w->median_hold_ns ? ct_fmt_duration(w->median_hold_ns, d[2]) : "-",
		w->median_handoff_ns ? ct_fmt_duration(w->median_handoff_ns, d[3]) : "-",
		w->convoy ? "convoy" : w->queued ? "queued" : "");
}

static void text_window_header(struct ctx *c)
{
	fprintf(c->f, "    %10s %7s %7s %7s %6s %6s %10s %10s %10s\n", "window", "waiters",
		"empty", "held", "acq", "rel", "wait p50", "hold p50", "handoff");
}

/* The object's variable name, else its address. */
static const char *obj_name(struct ctx *c, const struct ct_object *o, char *buf, size_t cap)
{
	if (!ct_frames_data_name(c->fr, o->addr, buf, cap))
		snprintf(buf, cap, "0x%" PRIx64, o->addr);
	return buf;
}

static void text_convoy(struct ctx *c, const struct ct_object *o)
{
	const struct ct_convoy *v = &o->convoy_ev;
	char d[11][CT_DUR_BUF], site[256], hsite[256], name[128];

	short_site(c, v->waiter_stack ? v->waiter_stack : o->first_stack, site, sizeof(site));
	short_site(c, v->holder_stack, hsite, sizeof(hsite));
	fprintf(c->f, "convoy: %s %s from %s to %s (%" PRIu64 " of %" PRIu64
		" windows of %s, %" PRIu64 " in a row): %.1f waiters on average, queue empty "
		"%.0f%% of the time, held %.0f%%, hold mean %s p50 %s p99 %s max %s, median "
		"hand-off %s (p99 %s), median wait %s: at most %.0f acquisitions/s (1 / mean "
		"hold); %s of thread time queued; waiters at %s, released at %s\n",
		ct_kind_name(o->kind), obj_name(c, o, name, sizeof(name)),
		ct_fmt_duration(v->start_ns, d[0]), ct_fmt_duration(v->end_ns, d[1]), v->windows,
		v->total_windows, ct_fmt_duration(v->window_ns, d[2]), v->longest_run,
		v->mean_waiters, v->empty_fraction * 100, v->hold_fraction * 100,
		ct_fmt_duration(v->mean_hold_ns, d[8]), ct_fmt_duration(v->median_hold_ns, d[3]),
		ct_fmt_duration(v->p99_hold_ns, d[9]), ct_fmt_duration(v->max_hold_ns, d[10]),
		ct_fmt_duration(v->median_handoff_ns, d[4]), ct_fmt_duration(v->p99_handoff_ns, d[6]),
		ct_fmt_duration(v->median_wait_ns, d[5]), v->throughput_cap_per_s,
		ct_fmt_duration(v->lost_ns, d[7]), site, hsite);
	fprintf(c->f, "  waiters per window:");
	for (size_t i = 0; i < v->nseries; i++)
		fprintf(c->f, " %.1f%s", v->series[i].mean_waiters, v->series[i].convoy ? "" : "*");
	fprintf(c->f, "%s\n", v->nseries && v->windows < v->nseries ?
		"  (* not a convoy window)" : "");
}

/* --convoy-windows: the detector's measurements of every shown mutex-like object. */
static void text_convoy_windows(struct ctx *c, const struct ct_object *const *ord, size_t n)
{
	const struct ct_convoy_params *p = &c->a->convoy;

	fprintf(c->f, "\n== convoy windows: queued when waiters >= %.2f and empty <= %.0f%%; a "
		"convoy: %" PRIu64 " queued in a row with >= %.1f releases per window and wait p50 "
		">= %.2f x hold p50 ==\n", p->min_waiters, p->max_empty * 100, p->min_run,
		p->min_releases, p->wait_hold);
	for (size_t i = 0; i < n; i++) {
		const struct ct_object *o = ord[i];
		struct ct_convoy ev;
		int v;

		if (!o->mutex_like || !o->contended)
			continue;
		v = ct_convoy_detect(c->a, o->addr, c->a->from_ts, c->a->to_ts, &ev);
		fprintf(c->f, "%s 0x%" PRIx64 ": convoy %s (%" PRIu64 " convoy windows, %" PRIu64
			" in a row)\n", ct_kind_name(o->kind), o->addr, v ? "yes" : "no", ev.windows,
			ev.longest_run);
		if (ev.nseries)
			text_window_header(c);
		for (size_t k = 0; k < ev.nseries; k++)
			text_window(c, &ev.series[k]);
		ct_convoy_release(&ev);
	}
}

static void text_objects(struct ctx *c, long top)
{
	const struct ct_analysis *a = c->a;
	const struct ct_object **ord;
	size_t shown;
	int nconvoy = 0;

	if (!a->nobjs)
		return;
	ord = ct_xmalloc(a->nobjs * sizeof(*ord));
	for (size_t i = 0; i < a->nobjs; i++)
		ord[i] = &a->objs[i];
	if (a->nobjs > 1)
		qsort_r(ord, a->nobjs, sizeof(*ord), cmp_obj_ptr, (void *)&c->o->sort);
	fprintf(c->f, "\n== objects: by %s ==\n", c->o->sort > 0 && c->o->sort < CT_SORT_NKEYS ?
		ct_sort_names[c->o->sort] : "total wait");
	fprintf(c->f, "%-18s %-9s %7s %10s %10s %10s %10s %5s %10s %10s %10s %10s %10s %7s "
		"%7s %6s  %s\n", "object", "kind", "waits", "total", "p50", "p99", "max", "held",
		"hold mean", "hold p50", "hold p99", "hold max", "wake p50", "owners", "waiters",
		"convoy", "first seen");
	shown = top < 0 || (size_t)top > a->nobjs ? a->nobjs : (size_t)top;
	for (size_t i = 0; i < shown; i++) {
		const struct ct_object *o = ord[i];
		char t[CT_DUR_BUF], mx[CT_DUR_BUF], p50[CT_DUR_BUF], p99[CT_DUR_BUF];
		char h[CT_DUR_BUF], w[CT_DUR_BUF], site[256], addr[64], held[16];
		char hm[CT_DUR_BUF], h99[CT_DUR_BUF], hmx[CT_DUR_BUF];

		at(c, o->proc);
		obj_name(c, o, addr, sizeof(addr));
		if (o->held_ns)
			snprintf(held, sizeof(held), "%.0f%%", o->held_share * 100);
		else
			snprintf(held, sizeof(held), "-");
		short_site(c, o->first_stack, site, sizeof(site));
		if (c->nproc > 1)
			snprintf(site + strlen(site), sizeof(site) - strlen(site),
				 " [pid %" PRIu32 "]", o->pid);
		fprintf(c->f, "%-18s %-9s %7" PRIu64 " %10s %10s %10s %10s %5s %10s %10s %10s %10s "
			"%10s %7" PRIu64 " %7" PRIu64 " %6s  %s\n", addr, ct_kind_name(o->kind),
			o->contended, ct_fmt_duration(o->wait_total_ns, t),
			o->contended ? ct_fmt_duration(o->wait_p50_ns, p50) : "-",
			o->contended ? ct_fmt_duration(o->wait_p99_ns, p99) : "-",
			o->contended ? ct_fmt_duration(o->wait_max_ns, mx) : "-", held,
			o->hold_mean_ns ? ct_fmt_duration(o->hold_mean_ns, hm) : "-",
			o->holds ? ct_fmt_duration(o->hold_p50_ns, h) : "-",
			o->holds ? ct_fmt_duration(o->hold_p99_ns, h99) : "-",
			o->holds ? ct_fmt_duration(o->hold_max_ns, hmx) : "-",
			o->wakeups ? ct_fmt_duration(o->wakeup_p50_ns, w) : "-", o->owner_changes,
			o->max_waiters, !o->mutex_like ? "-" : o->convoy ? "yes" : "no", site);
		if (i < 3 && o->contended)
			text_hist(c, &o->hist);
	}
	if (shown < a->nobjs)
		fprintf(c->f, "  ... %zu more objects (--top)\n", a->nobjs - shown);
	for (size_t i = 0; i < a->nobjs; i++)
		if (a->objs[i].convoy) {
			if (!nconvoy++)
				fputc('\n', c->f);
			at(c, a->objs[i].proc);
			text_convoy(c, &a->objs[i]);
		}
	if (c->o->convoy_windows)
		text_convoy_windows(c, ord, shown);
	free(ord);
}

struct ul_ref {
	const struct ct_object *o;
	const struct ct_underlock *u;
};

static int cmp_ul_ref(const void *pa, const void *pb)
{
	const struct ul_ref *x = pa, *y = pb;

	if (x->u->total_ns != y->u->total_ns)
		return x->u->total_ns > y->u->total_ns ? -1 : 1;
	if (x->u->count != y->u->count)
		return x->u->count > y->u->count ? -1 : 1;
	return x->o->addr < y->o->addr ? -1 : x->o->addr > y->o->addr;
}

/* The slow calls and waits made while a lock was held, longest total first. */
static void text_under_locks(struct ctx *c, long top)
{
	const struct ct_analysis *a = c->a;
	struct ul_ref *r;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < a->nobjs; i++)
		n += a->objs[i].nunder;
	if (!n)
		return;
	r = ct_xmalloc(n * sizeof(*r));
	for (size_t i = 0; i < a->nobjs; i++)
		for (size_t x = 0; x < a->objs[i].nunder; x++)
			r[k++] = (struct ul_ref){ &a->objs[i], &a->objs[i].under[x] };
	qsort(r, n, sizeof(*r), cmp_ul_ref);
	fprintf(c->f, "\n== under locks: slow calls and waits made while a lock was held ==\n");
	for (k = 0; k < n && (top < 0 || (long)k < top); k++) {
		const struct ct_object *o = r[k].o;
		const struct ct_underlock *u = r[k].u;
		char site[256], taken[256], name[128], t[CT_DUR_BUF], mx[CT_DUR_BUF];

		at(c, o->proc);
		short_site(c, u->stack, site, sizeof(site));
		if (u->taken_stack)
			short_site(c, u->taken_stack, taken, sizeof(taken));
		fprintf(c->f, "  %s %s at %s: %" PRIu64 " %s%s, %s (max %s), under %s %s (taken "
			"at %s)\n", ct_aprofile_name(u->profile), ct_kind_name(u->kind), site,
			u->count, u->profile == CT_AP_SYNC ? "wait" : "call",
			u->count == 1 ? "" : "s", ct_fmt_duration(u->total_ns, t),
			ct_fmt_duration(u->max_ns, mx), ct_kind_name(o->kind),
			obj_name(c, o, name, sizeof(name)),
			u->taken_stack ? taken : "a site not recorded");
	}
	if (top >= 0 && n > (size_t)top)
		fprintf(c->f, "  ... %zu more (--top)\n", n - (size_t)top);
	free(r);
}

static void text_thread_row(struct ctx *c, const char *tid, const char *name, const char *sf,
			    const struct ct_thread_info *t, const char *state)
{
	char b[10][CT_DUR_BUF];
	const uint64_t *blk = t->blocked_ns;

	fprintf(c->f, "%8s %-16s %-20.20s %10s %10s %10s %10s %10s %10s %10s %10s %10s%s%s\n", tid,
		name, sf, ct_fmt_duration(t->lifetime_ns, b[0]),
		t->cpu_ns ? ct_fmt_duration(t->cpu_ns, b[1]) : "-",
		t->cpu_ns || t->runq_ns ? ct_fmt_duration(t->runq_ns, b[2]) : "-",
		ct_fmt_duration(blk[CT_P_SYNC], b[3]), ct_fmt_duration(blk[CT_P_NET], b[4]),
		ct_fmt_duration(blk[CT_P_SYSCALL], b[5]), ct_fmt_duration(blk[CT_P_SLEEP], b[6]),
		ct_fmt_duration(t->other_ns, b[7]),
		t->overlap_ns ? ct_fmt_duration(t->overlap_ns, b[8]) : "-", *state ? "  " : "", state);
}

static void text_threads(struct ctx *c)
{
	const struct ct_analysis *a = c->a;
	const struct ct_thread_info **ord;

	if (!a->nthreads)
		return;
	ord = ct_output_threads_by_group(c->oc);
	fprintf(c->f, "\n== threads: lifetime = cpu + runqueue + sync + net + syscall + sleep + "
		"other - overlap, by start routine ==\n");
	fprintf(c->f, "%8s %-16s %-20s %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "tid",
		"name", "start", "lifetime", "cpu", "runqueue", "sync", "net", "syscall", "sleep",
		"other", "overlap");
	for (size_t i = 0, j; i < a->nthreads; i = j) {
		const char *g = ct_output_group_name(c->oc, ord[i]);
		struct ct_thread_info sum = { 0 };
		size_t nidle = 0;
		char cnt[32], st[32];

		for (j = i; j < a->nthreads && ord[j]->is_main == ord[i]->is_main &&
			    !strcmp(ct_output_group_name(c->oc, ord[j]), g); j++) {
			const struct ct_thread_info *t = ord[j];
			char tid[24];

			if (t->untraced) { /* summed into one line below */
				sum.lifetime_ns += t->lifetime_ns;
				sum.cpu_ns += t->cpu_ns;
				sum.runq_ns += t->runq_ns;
				sum.other_ns += t->other_ns;
				sum.overlap_ns += t->overlap_ns;
				for (int p = 0; p < CT_P_MAX; p++)
					sum.blocked_ns[p] += t->blocked_ns[p];
				continue;
			}

			if (c->nproc > 1)
				snprintf(tid, sizeof(tid), "%" PRIu32 "/%" PRIu32, t->pid, t->tid);
			else
				snprintf(tid, sizeof(tid), "%" PRIu32, t->tid);
			text_thread_row(c, tid, t->name[0] ? t->name : "-",
					ct_output_start_func(c->oc, t) ? g : "?", t,
					t->idle ? "idle" : "");
			sum.lifetime_ns += t->lifetime_ns;
			sum.cpu_ns += t->cpu_ns;
			sum.runq_ns += t->runq_ns;
			sum.other_ns += t->other_ns;
			sum.overlap_ns += t->overlap_ns;
			nidle += (size_t)t->idle;
			for (int p = 0; p < CT_P_MAX; p++)
				sum.blocked_ns[p] += t->blocked_ns[p];
		}
		if (ord[i]->untraced) {
			/* begun without a recorder slot: nothing to tell them apart by */
			snprintf(cnt, sizeof(cnt), "%zu untraced", j - i);
			text_thread_row(c, "-", cnt, "-", &sum, "");
			fprintf(c->f, "  (%zu untraced thread%s: begun while CTRACE_MAX_THREADS were "
				"traced; counted in lost no_thread_slot)\n", j - i,
				j - i == 1 ? "" : "s");
		} else if (j - i > 1) {
			snprintf(cnt, sizeof(cnt), "%zu threads", j - i);
			snprintf(st, sizeof(st), nidle ? "%zu idle" : "", nidle);
			text_thread_row(c, "=", cnt, ct_output_start_func(c->oc, ord[i]) ? g :
					"? (same name)", &sum, st);
		}
	}
	free(ord);
}

/* "where thread H took it": the holder's frames for a chain link, or why they are missing. */
static void text_held(struct ctx *c, const struct ct_chain_link *l)
{
	const struct ct_frame *f;
	size_t n;

	if (!l->held_known) {
		fprintf(c->f, "    where thread %" PRIu32 " took it: not recorded (no HOLD event "
			"and no recorded wait that acquired it)\n", l->held_by);
		return;
	}
	n = ct_frames_stack(c->fr, l->held_stack, &f, NULL);
	fprintf(c->f, "    which thread %" PRIu32 " took at%s:\n", l->held_by,
		l->held_from == CT_HELD_HOLD ? " (call site)" : "");
	text_frames(c, f, n, 0);
}

/* Links waiting on the same object at the same stack: shown as one (their stack, and
 * where each holder took the object, printed once). */
static int same_wait(const struct ct_chain_link *x, const struct ct_chain_link *y)
{
	return x->proc == y->proc && x->obj == y->obj && x->stack == y->stack &&
	       x->kind == y->kind;
}

/* Link l, and the nsame links of other threads that wait the same way. */
static void text_link(struct ctx *c, const struct ct_chain_link *l,
		      const struct ct_chain_link *const *same, size_t nsame)
{
	const struct ct_analysis *a = c->a;
	const struct ct_chain_link *w = l;
	const struct ct_mthread *t, *h;
	const struct ct_frame *f;
	size_t n, nunk = 0, nheld = 1;
	uint64_t since = w->begin;
	char d[CT_DUR_BUF], name[128];

	at(c, l->proc);
	t = w->thr < c->m->nthreads ? &c->m->threads[w->thr] : NULL;
	h = ct_model_thread_at(c->m, l->held_by, a->to_ts);
	n = ct_frames_stack(c->fr, w->stack, &f, NULL);
	if (c->nproc > 1)
		fprintf(c->f, "  process %" PRIu32 ":\n", l->pid);
	fprintf(c->f, "  thread %" PRIu32 " (%s)", l->tid, t && t->name[0] ? t->name : "-");
	for (size_t i = 0; i < nsame; i++) {
		const struct ct_mthread *o = same[i]->thr < c->m->nthreads ?
					     &c->m->threads[same[i]->thr] : NULL;

		fprintf(c->f, "%s thread %" PRIu32 " (%s)", i + 1 == nsame ? " and" : ",",
			same[i]->tid, o && o->name[0] ? o->name : "-");
		if (same[i]->begin < since)
			since = same[i]->begin;
	}
	if (w->kind == CT_K_JOIN || !ct_frames_data_name(c->fr, l->obj, name, sizeof(name)))
		snprintf(name, sizeof(name), "0x%" PRIx64, l->obj);
	fprintf(c->f, " wait%s on %s %s held by thread %" PRIu32 " (%s)", nsame ? "" : "s",
		ct_kind_name(w->kind), name, l->held_by, h && h->name[0] ? h->name : "-");
	for (size_t i = 0; i < nsame; i++) {
		int seen = same[i]->held_by == l->held_by;

		for (size_t k = 0; k < i && !seen; k++)
			seen = same[k]->held_by == same[i]->held_by;
		if (!seen) {
			fprintf(c->f, " or %" PRIu32, same[i]->held_by);
			nheld++;
		}
	}
	fprintf(c->f, "%s since %s, waiting at:\n", nheld > 1 ? " (as each wait began)" : "",
		ct_fmt_duration(since - c->m->start_ts, d));
	text_frames(c, f, n, 0);
	if (w->kind == CT_K_JOIN) {
		fprintf(c->f, "    (a join: thread %" PRIu32 " has not exited)\n", l->held_by);
		return;
	}
	/* where each holder took it; the holders not recorded on one line */
	for (size_t i = 0; i <= nsame; i++) {
		const struct ct_chain_link *x = i ? same[i - 1] : l;
		int seen = 0;

		for (size_t k = 0; k < i && !seen; k++)
			seen = (k ? same[k - 1] : l)->held_by == x->held_by;
		if (seen)
			continue;
		if (x->held_known)
			text_held(c, x);
		else
			nunk++;
	}
	if (nunk) {
		fprintf(c->f, "    where thread");
		for (size_t i = 0, shown = 0; i <= nsame; i++) {
			const struct ct_chain_link *x = i ? same[i - 1] : l;
			int seen = 0;

			for (size_t k = 0; k < i && !seen; k++)
				seen = (k ? same[k - 1] : l)->held_by == x->held_by;
			if (seen || x->held_known)
				continue;
			fprintf(c->f, "%s %" PRIu32, shown++ ? (shown == nunk ? " and" : ",") :
				(nunk > 1 ? "s" : ""), x->held_by);
		}
		fprintf(c->f, " took it: not recorded (no HOLD event and no recorded wait that "
			"acquired it)\n");
	}
}

/* Is the chain link of tid part of a deadlock? */
static int in_deadlock(const struct ct_analysis *a, uint32_t tid)
{
	for (size_t i = 0; i < a->ndeadlocks; i++)
		for (size_t k = 0; k < a->deadlocks[i].n; k++)
			if (a->deadlocks[i].links[k].tid == tid)
				return 1;
	return 0;
}

static void text_deadlocks(struct ctx *c)
{
	const struct ct_analysis *a = c->a;
	size_t other = 0;

	if (a->ndeadlocks)
		fprintf(c->f, "\n== deadlocks: wait cycles at the end of the %s ==\n",
			at_window_end(c) ? "window" : "trace");
	for (size_t i = 0; i < a->ndeadlocks; i++) {
		const struct ct_deadlock *d = &a->deadlocks[i];

		fprintf(c->f, "deadlock %zu: %zu threads\n", i + 1, d->n);
		for (size_t k = 0; k < d->n; k++)
			text_link(c, &d->links[k], NULL, 0);
	}
	for (size_t i = 0; i < a->nchains; i++)
		other += !in_deadlock(a, a->chains[i].tid);
	if (!other)
		return;
	fprintf(c->f, "\n== wait chains: threads blocked on a lock or join held by another "
		"thread at the end of the %s ==\n", at_window_end(c) ? "window" : "trace");
	{
		const struct ct_chain_link **same = ct_xmalloc(a->nchains * sizeof(*same));
		char *done = ct_xcalloc(a->nchains, 1);

		for (size_t i = 0; i < a->nchains; i++) {
			size_t ns = 0;

			if (done[i] || in_deadlock(a, a->chains[i].tid))
				continue;
			for (size_t k = i + 1; k < a->nchains; k++)
				if (!done[k] && same_wait(&a->chains[i], &a->chains[k]) &&
				    !in_deadlock(a, a->chains[k].tid)) {
					same[ns++] = &a->chains[k];
					done[k] = 1;
				}
			text_link(c, &a->chains[i], same, ns);
		}
		free(same);
		free(done);
	}
}

int ct_out_text(const struct ct_output_ctx *oc, FILE *f)
{
	struct ctx c = { .f = f, .o = oc->o, .m = oc->m, .a = oc->a, .fr = oc->fr, .oc = oc,
			 .nproc = oc->nproc };
	long top = c.o->top >= 0 ? c.o->top : TEXT_TOP_DEFAULT;

	text_header(&c);
	for (size_t i = 0; c.nproc > 1 && i < c.nproc; i++) {
		const struct ct_model *m = oc->ms[i];
		char d[CT_DUR_BUF];

		fprintf(f, "process %" PRIu32 " (%s): %s, duration %s, %zu threads, %" PRIu64
			" events, %" PRIu64 " lost%s\n", m->hdr.pid, m->hdr.exe[0] ? m->hdr.exe : "?",
			c.o->paths && i < c.o->npaths ? c.o->paths[i] : "-",
			ct_fmt_duration(ct_model_duration(m), d), m->nthreads, m->nevents,
			m->lost_total, m->truncated ? ", truncated" : "");
	}
	text_summary(&c);
	for (int p = 1; p < CT_AP_MAX; p++)
		if (ct_output_wants(c.o, p))
			text_profile(&c, p, top);
	if (!c.o->profiles) {
		text_objects(&c, top);
		text_under_locks(&c, top);
		text_threads(&c);
	}
	text_deadlocks(&c);
	ct_lo_text(oc, f);
	ct_regions_text(oc, f);
	ct_tasks_text(oc, f);
	ct_frames_debug_hints(c.fr, f);
	return 0;
}
