/* SPDX-License-Identifier: MIT */
/*
 * `ctrace report [--json] [--top N] [--profile NAME[,NAME]] FILE`: loads a trace (model.h),
 * runs the analyses (analysis.h) and prints them as a pprof -top / mutrace-like text
 * report or as the stable JSON document described in analyze/README.md ("report --json").
 * Called from ctrace.c; ct_report_write (report.h) also from the unit tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "frames.h"
#include "json.h"
#include "model.h"
#include "options.h"
#include "report.h"
#include "util.h"

#define TEXT_TOP_DEFAULT 10
#define TEXT_FRAMES 8

struct ctx {
	FILE *f;
	const struct ct_report_opts *o;
	const struct ct_model *m;
	const struct ct_analysis *a;
	struct ct_frames *fr;
	/* several traces: each result's own model and frames (at() selects them) */
	const struct ct_model *const *ms;
	struct ct_frames **frs;
	size_t nproc;
};

/* The model and frames of trace proc, for the results that come from it. */
static void at(struct ctx *c, uint32_t proc)
{
	if (c->nproc > 1 && proc < c->nproc) {
		c->m = c->ms[proc];
		c->fr = c->frs[proc];
	}
}

static void usage(FILE *f)
{
	fputs("usage: ctrace report [--json] [--top N] [--profile NAME[,NAME...]] [--sort KEY]\n"
	      "                     [--from D] [--to D] [--thread NAME|TID] [--convoy-windows]\n"
	      "                     [--convoy-* VALUE] FILE...\n\n"
	      "Where the threads of a traced program waited. Several FILEs: the traces of one\n"
	      "program's processes, analysed as one (each result names its process).\n\n"
	      "  --json          the stable JSON document (see the README, \"report --json\")\n"
	      "  --top N         at most N entries per profile (text default 10, JSON all)\n"
	      "  --profile NAME  only these profiles (repeatable, or comma-separated):\n"
	      "                  sync net syscall sleep holder wakeup\n"
	      "  --sort KEY      order of the text objects table: wait (default), count, max,\n"
	      "                  p99, hold, waiters\n"
	      "  --convoy-windows  text: each lock's convoy measurements, window by window\n", f);
	fputs(ct_filter_help, f);
	fputc('\n', f);
	fputs(ct_convoy_help, f);
}

static const char *const titles[CT_AP_MAX] = {
	[CT_AP_SYNC] = "waits at the waiting stack",
	[CT_AP_NET] = "network calls and readiness waits at the calling stack",
	[CT_AP_SYSCALL] = "blocking system calls at the calling stack",
	[CT_AP_SLEEP] = "sleeps at the calling stack",
	[CT_AP_HOLDER] = "waits charged to the releasing stack",
	[CT_AP_WAKEUP] = "release to waiter running again, at the waiting stack",
};

/* ---- text ------------------------------------------------------------------------ */

static int is_syscall_profile(int p)
{
	return p == CT_AP_NET || p == CT_AP_SYSCALL || p == CT_AP_SLEEP;
}

static int wanted(const struct ct_report_opts *o, int p)
{
	return !o->profiles || (o->profiles & (1u << p));
}

/* The frames of an entry: its stack, or for a remainder entry its call site alone. */
static size_t entry_frames(struct ctx *c, const struct ct_pentry *e,
			   const struct ct_frame **f, int *trunc)
{
	if (trunc)
		*trunc = 0;
	if (e->remainder)
		return ct_frames_pc(c->fr, e->site, f);
	return ct_frames_stack(c->fr, e->stack, f, trunc);
}

static void text_frame(struct ctx *c, const struct ct_frame *f)
{
	fputs("    ", c->f);
	ct_frames_text(c->f, f);
	fputc('\n', c->f);
}

static void text_frames(struct ctx *c, const struct ct_frame *f, size_t n, int trunc)
{
	if (!n) {
		fprintf(c->f, "    (no stack)\n");
		return;
	}
	for (size_t i = 0; i < n && i < TEXT_FRAMES; i++)
		text_frame(c, &f[i]);
	if (n > TEXT_FRAMES)
		fprintf(c->f, "    ... %zu more frames\n", n - TEXT_FRAMES);
	else if (trunc)
		fprintf(c->f, "    ... (stack truncated at capture)\n");
}

/* "func (file:line)" of a stack's first frame, for table cells. */
static void short_site(struct ctx *c, uint32_t stack, char *buf, size_t cap)
{
	const struct ct_frame *f;
	size_t n = ct_frames_stack(c->fr, stack, &f, NULL);

	if (!n)
		snprintf(buf, cap, "-");
	else if (f[0].file)
		snprintf(buf, cap, "%s (%s:%d)", f[0].func, ct_basename(f[0].file), f[0].line);
	else if (!strcmp(f[0].func, "??") && f[0].module && strcmp(f[0].module, "?"))
		snprintf(buf, cap, "%s+0x%" PRIx64, ct_basename(f[0].module), f[0].offset);
	else
		snprintf(buf, cap, "%s", f[0].func);
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
	if (m->truncated) {
		char t[256];

		fprintf(c->f, ", truncated\n%s", ct_model_truncation(m, t, sizeof(t)));
	}
	fprintf(c->f, "\n");
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
		fprintf(c->f, "note: %" PRIu64 " wait(s) still in progress at the end of the trace "
			"(counted up to the end)\n", c->a->unfinished);
	if (c->a->unmatched_ends)
		fprintf(c->f, "note: %" PRIu64 " wait end(s) without a begin (lost events?) "
			"ignored\n", c->a->unmatched_ends);
	if (c->a->sys_nosite)
		fprintf(c->f, "note: %" PRIu64 " recorded system call(s) missing from the call-site "
			"totals (trace truncated?): counted as recorded\n", c->a->sys_nosite);
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

/* The kind cell: "mutex"; for system calls "recv socket". */
static void kind_cell(const struct ct_pentry *e, int p, char *buf, size_t cap)
{
	if (is_syscall_profile(p) && e->fd_class != CT_FD_UNKNOWN && e->fd_class != CT_FD_NONE)
		snprintf(buf, cap, "%s %s", ct_kind_name(e->kind), ct_fd_class_name(e->fd_class));
	else
		snprintf(buf, cap, "%s", ct_kind_name(e->kind));
}

static void text_entry(struct ctx *c, const struct ct_pentry *e, int p)
{
	char t[CT_DUR_BUF], mx[CT_DUR_BUF], p50[CT_DUR_BUF], p99[CT_DUR_BUF], kind[64];
	const struct ct_frame *f;
	int trunc, rest = e->remainder;
	size_t n;

	at(c, e->proc);
	n = entry_frames(c, e, &f, &trunc);
	kind_cell(e, p, kind, sizeof(kind));
	fprintf(c->f, "%8" PRIu64 " %10s %10s %10s %10s  %s\n", e->count,
		ct_fmt_duration(e->total_ns, t),
		rest && !e->max_ns ? "-" : ct_fmt_duration(e->max_ns, mx),
		rest ? "-" : ct_fmt_duration(e->p50_ns, p50),
		rest ? "-" : ct_fmt_duration(e->p99_ns, p99), kind);
	if (c->nproc > 1)
		fprintf(c->f, "    process %" PRIu32 " (%s)\n", e->pid,
			c->ms[e->proc]->hdr.exe[0] ? c->ms[e->proc]->hdr.exe : "?");
	if (rest)
		fprintf(c->f, "    (calls without a recorded stack: %s)\n",
			e->site ? "the call site only" : "sites beyond the per-thread table");
	if (rest && !e->site)
		return;
	text_frames(c, f, n, trunc);
	if (!rest)
		text_hist(c, &e->hist);
}

static void text_profile(struct ctx *c, int p, long top)
{
	size_t n;
	const struct ct_pentry *e = ct_analysis_profile(c->a, p, &n);
	uint64_t calls = 0, total = 0, stacked = 0;
	char t[CT_DUR_BUF];

	fprintf(c->f, "\n== %s: %s ==\n", ct_aprofile_name(p), titles[p]);
	if (!n) {
		fprintf(c->f, "  (none recorded)\n");
		return;
	}
	if (is_syscall_profile(p)) {
		for (size_t i = 0; i < n; i++) {
			calls += e[i].count;
			total += e[i].total_ns;
			stacked += e[i].stack_calls;
		}
		fprintf(c->f, "  %s in %" PRIu64 " calls, %" PRIu64 " of them with a stack "
			"(p50/p99/max from those)\n", ct_fmt_duration(total, t), calls, stacked);
	}
	fprintf(c->f, "%8s %10s %10s %10s %10s  %s\n", "count", "total", "max", "p50", "p99",
		"kind");
	for (size_t i = 0; i < n && (top < 0 || (long)i < top); i++)
		text_entry(c, &e[i], p);
	if (top >= 0 && n > (size_t)top)
		fprintf(c->f, "  ... %zu more entries (--top)\n", n - (size_t)top);
}

static int sort_key;

static uint64_t obj_key(const struct ct_object *o)
{
	switch (sort_key) {
	case CT_SORT_COUNT: return o->contended;
	case CT_SORT_MAX: return o->wait_max_ns;
	case CT_SORT_P99: return o->wait_p99_ns;
	case CT_SORT_HOLD: return o->hold_total_ns;
	case CT_SORT_WAITERS: return o->max_waiters;
	default: return o->wait_total_ns;
	}
}

static int cmp_obj_ptr(const void *pa, const void *pb)
{
	const struct ct_object *x = *(const struct ct_object *const *)pa;
	const struct ct_object *y = *(const struct ct_object *const *)pb;
	uint64_t kx = obj_key(x), ky = obj_key(y);

	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (x->wait_total_ns != y->wait_total_ns)
		return x->wait_total_ns > y->wait_total_ns ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const char *const sort_names[CT_SORT_NKEYS] = {
	[CT_SORT_WAIT] = "wait", [CT_SORT_COUNT] = "count", [CT_SORT_MAX] = "max",
	[CT_SORT_P99] = "p99", [CT_SORT_HOLD] = "hold", [CT_SORT_WAITERS] = "waiters",
};

/* One window of a convoy series, as a table row. */
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

static void text_convoy(struct ctx *c, const struct ct_object *o)
{
	const struct ct_convoy *v = &o->convoy_ev;
	char d[8][CT_DUR_BUF], site[256], hsite[256];

	short_site(c, v->waiter_stack ? v->waiter_stack : o->first_stack, site, sizeof(site));
	short_site(c, v->holder_stack, hsite, sizeof(hsite));
	fprintf(c->f, "convoy: %s 0x%" PRIx64 " from %s to %s (%" PRIu64 " of %" PRIu64
		" windows of %s, %" PRIu64 " in a row): %.1f waiters on average, queue empty "
		"%.0f%% of the time, held %.0f%%, median hold %s, median hand-off %s (p99 %s), "
		"median wait %s: at most %.0f acquisitions/s (1 / median hold); %s of thread time "
		"queued; waiters at %s, released at %s\n", ct_kind_name(o->kind), o->addr,
		ct_fmt_duration(v->start_ns, d[0]), ct_fmt_duration(v->end_ns, d[1]), v->windows,
		v->total_windows, ct_fmt_duration(v->window_ns, d[2]), v->longest_run,
		v->mean_waiters, v->empty_fraction * 100, v->hold_fraction * 100,
		ct_fmt_duration(v->median_hold_ns, d[3]), ct_fmt_duration(v->median_handoff_ns, d[4]),
		ct_fmt_duration(v->p99_handoff_ns, d[6]), ct_fmt_duration(v->median_wait_ns, d[5]),
		v->throughput_cap_per_s, ct_fmt_duration(v->lost_ns, d[7]), site, hsite);
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
	sort_key = c->o->sort;
	if (a->nobjs > 1)
		qsort(ord, a->nobjs, sizeof(*ord), cmp_obj_ptr);
	fprintf(c->f, "\n== objects: by %s ==\n", c->o->sort > 0 && c->o->sort < CT_SORT_NKEYS ?
		sort_names[c->o->sort] : "total wait");
	fprintf(c->f, "%-18s %-9s %7s %10s %10s %10s %10s %10s %10s %7s %7s %6s  %s\n",
		"object", "kind", "waits", "total", "p50", "p99", "max", "hold p50", "wake p50",
		"owners", "maxwait", "convoy", "first seen");
	shown = top < 0 || (size_t)top > a->nobjs ? a->nobjs : (size_t)top;
	for (size_t i = 0; i < shown; i++) {
		const struct ct_object *o = ord[i];
		char t[CT_DUR_BUF], mx[CT_DUR_BUF], p50[CT_DUR_BUF], p99[CT_DUR_BUF];
		char h[CT_DUR_BUF], w[CT_DUR_BUF], site[256], addr[64];

		at(c, o->proc);
		if (!ct_frames_data_name(c->fr, o->addr, addr, sizeof(addr)))
			snprintf(addr, sizeof(addr), "0x%" PRIx64, o->addr);
		short_site(c, o->first_stack, site, sizeof(site));
		if (c->nproc > 1)
			snprintf(site + strlen(site), sizeof(site) - strlen(site),
				 " [pid %" PRIu32 "]", o->pid);
		fprintf(c->f, "%-18s %-9s %7" PRIu64 " %10s %10s %10s %10s %10s %10s %7" PRIu64
			" %7" PRIu64 " %6s  %s\n", addr, ct_kind_name(o->kind), o->contended,
			ct_fmt_duration(o->wait_total_ns, t),
			o->contended ? ct_fmt_duration(o->wait_p50_ns, p50) : "-",
			o->contended ? ct_fmt_duration(o->wait_p99_ns, p99) : "-",
			o->contended ? ct_fmt_duration(o->wait_max_ns, mx) : "-",
			o->holds ? ct_fmt_duration(o->hold_p50_ns, h) : "-",
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

static const char *start_func(struct ctx *c, const struct ct_thread_info *t)
{
	if (t->is_main)
		return "main";
	if (!t->start_func)
		return NULL;
	at(c, t->proc);
	return ct_frames_func(c->fr, t->start_func);
}

/* Threads grouped by start routine: index order by (start routine name, tid). */
static struct ctx *group_ctx;

static const char *group_name(struct ctx *c, const struct ct_thread_info *t)
{
	const char *sf = start_func(c, t);

	return sf ? sf : "?";
}

static int cmp_thread_group(const void *pa, const void *pb)
{
	const struct ct_thread_info *x = *(const struct ct_thread_info *const *)pa;
	const struct ct_thread_info *y = *(const struct ct_thread_info *const *)pb;
	int c;

	if (x->is_main != y->is_main)
		return x->is_main ? -1 : 1;
	c = strcmp(group_name(group_ctx, x), group_name(group_ctx, y));
	if (c)
		return c;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->thr < y->thr ? -1 : x->thr > y->thr; /* a reused tid: in time order */
}

static const struct ct_thread_info **threads_by_group(struct ctx *c)
{
	const struct ct_thread_info **ord = ct_xmalloc((c->a->nthreads + 1) * sizeof(*ord));

	for (size_t i = 0; i < c->a->nthreads; i++)
		ord[i] = &c->a->threads[i];
	group_ctx = c;
	if (c->a->nthreads > 1)
		qsort(ord, c->a->nthreads, sizeof(*ord), cmp_thread_group);
	return ord;
}

static void text_thread_row(struct ctx *c, const char *tid, const char *name, const char *sf,
			    uint64_t life, uint64_t cpu, uint64_t runq, const uint64_t *blk,
			    uint64_t other)
{
	char b[9][CT_DUR_BUF];

	fprintf(c->f, "%8s %-16s %-20.20s %10s %10s %10s %10s %10s %10s %10s %10s\n", tid, name,
		sf, ct_fmt_duration(life, b[0]), cpu ? ct_fmt_duration(cpu, b[1]) : "-",
		cpu || runq ? ct_fmt_duration(runq, b[2]) : "-",
		ct_fmt_duration(blk[CT_P_SYNC], b[3]), ct_fmt_duration(blk[CT_P_NET], b[4]),
		ct_fmt_duration(blk[CT_P_SYSCALL], b[5]), ct_fmt_duration(blk[CT_P_SLEEP], b[6]),
		ct_fmt_duration(other, b[7]));
}

static void text_threads(struct ctx *c)
{
	const struct ct_analysis *a = c->a;
	const struct ct_thread_info **ord;

	if (!a->nthreads)
		return;
	ord = threads_by_group(c);
	fprintf(c->f, "\n== threads: lifetime split, by start routine ==\n");
	fprintf(c->f, "%8s %-16s %-20s %10s %10s %10s %10s %10s %10s %10s %10s\n", "tid", "name",
		"start", "lifetime", "cpu", "runqueue", "sync", "net", "syscall", "sleep", "other");
	for (size_t i = 0, j; i < a->nthreads; i = j) {
		const char *g = group_name(c, ord[i]);
		uint64_t life = 0, cpu = 0, runq = 0, other = 0, blk[CT_P_MAX] = { 0 };
		char cnt[32];

		for (j = i; j < a->nthreads && ord[j]->is_main == ord[i]->is_main &&
			    !strcmp(group_name(c, ord[j]), g); j++) {
			const struct ct_thread_info *t = ord[j];
			char tid[24];

			if (c->nproc > 1)
				snprintf(tid, sizeof(tid), "%" PRIu32 "/%" PRIu32, t->pid, t->tid);
			else
				snprintf(tid, sizeof(tid), "%" PRIu32, t->tid);
			text_thread_row(c, tid, t->name[0] ? t->name : "-", g, t->lifetime_ns,
					t->cpu_ns, t->runq_ns, t->blocked_ns, t->other_ns);
			life += t->lifetime_ns;
			cpu += t->cpu_ns;
			runq += t->runq_ns;
			other += t->other_ns;
			for (int p = 0; p < CT_P_MAX; p++)
				blk[p] += t->blocked_ns[p];
		}
		if (j - i > 1) {
			snprintf(cnt, sizeof(cnt), "%zu threads", j - i);
			text_thread_row(c, "=", cnt, g, life, cpu, runq, blk, other);
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

static void text_link(struct ctx *c, const struct ct_chain_link *l)
{
	const struct ct_analysis *a = c->a;
	const struct ct_chain_link *w = l;
	const struct ct_mthread *t, *h;
	const struct ct_frame *f;
	size_t n;
	char d[CT_DUR_BUF];

	at(c, l->proc);
	t = w->thr < c->m->nthreads ? &c->m->threads[w->thr] : NULL;
	h = ct_model_thread_at(c->m, l->held_by, a->to_ts);
	n = ct_frames_stack(c->fr, w->stack, &f, NULL);
	if (c->nproc > 1)
		fprintf(c->f, "  process %" PRIu32 ":\n", l->pid);

	fprintf(c->f, "  thread %" PRIu32 " (%s) waits on %s 0x%" PRIx64 " held by thread %" PRIu32
		" (%s) since %s, waiting at:\n", l->tid, t && t->name[0] ? t->name : "-",
		ct_kind_name(w->kind), l->obj, l->held_by, h && h->name[0] ? h->name : "-",
		ct_fmt_duration(w->begin - c->m->start_ts, d));
	text_frames(c, f, n, 0);
	if (w->kind == CT_K_JOIN)
		fprintf(c->f, "    (a join: thread %" PRIu32 " has not exited)\n", l->held_by);
	else
		text_held(c, l);
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
			a->filtered ? "window" : "trace");
	for (size_t i = 0; i < a->ndeadlocks; i++) {
		const struct ct_deadlock *d = &a->deadlocks[i];

		fprintf(c->f, "deadlock %zu: %zu threads\n", i + 1, d->n);
		for (size_t k = 0; k < d->n; k++)
			text_link(c, &d->links[k]);
	}
	for (size_t i = 0; i < a->nchains; i++)
		other += !in_deadlock(a, a->chains[i].tid);
	if (!other)
		return;
	fprintf(c->f, "\n== wait chains: threads blocked on a lock or join held by another "
		"thread at the end of the %s ==\n", a->filtered ? "window" : "trace");
	for (size_t i = 0; i < a->nchains; i++)
		if (!in_deadlock(a, a->chains[i].tid))
			text_link(c, &a->chains[i]);
}

static void text(struct ctx *c)
{
	long top = c->o->top >= 0 ? c->o->top : TEXT_TOP_DEFAULT;

	text_header(c);
	for (size_t i = 0; c->nproc > 1 && i < c->nproc; i++) {
		const struct ct_model *m = c->ms[i];
		char d[CT_DUR_BUF];

		fprintf(c->f, "process %" PRIu32 " (%s): %s, duration %s, %zu threads, %" PRIu64
			" events, %" PRIu64 " lost%s\n", m->hdr.pid, m->hdr.exe[0] ? m->hdr.exe : "?",
			c->o->paths && i < c->o->npaths ? c->o->paths[i] : "-",
			ct_fmt_duration(ct_model_duration(m), d), m->nthreads, m->nevents,
			m->lost_total, m->truncated ? ", truncated" : "");
	}
	for (int p = 1; p < CT_AP_MAX; p++)
		if (wanted(c->o, p))
			text_profile(c, p, top);
	if (!c->o->profiles) {
		text_objects(c, top);
		text_threads(c);
	}
	text_deadlocks(c);
	ct_frames_debug_hints(c->fr, c->f);
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_frames(struct ct_json *j, const struct ct_frame *f, size_t n)
{
	ct_json_key(j, "frames");
	ct_frames_json(j, f, n);
}

static void json_stack(struct ctx *c, struct ct_json *j, uint32_t stack)
{
	const struct ct_frame *f;
	size_t n = ct_frames_stack(c->fr, stack, &f, NULL);

	json_frames(j, f, n);
}

static void json_u64(struct ct_json *j, const char *key, uint64_t v)
{
	ct_json_key(j, key);
	ct_json_u64(j, v);
}

static void json_trace(struct ctx *c, struct ct_json *j)
{
	const struct ct_model *m = c->m;

	ct_json_key(j, "trace");
	ct_json_obj_begin(j);
	json_u64(j, "pid", m->hdr.pid);
	ct_json_key(j, "exe");
	ct_json_str(j, m->hdr.exe);
	json_u64(j, "duration_ns", ct_model_duration(m));
	json_u64(j, "threads", m->nthreads);
	json_u64(j, "events", m->nevents);
	json_u64(j, "lost_events", m->lost_total);
	ct_json_key(j, "lost");
	ct_json_obj_begin(j);
	for (int k = 0; k < CT_L_MAX; k++)
		json_u64(j, ct_lost_name((unsigned)k), m->lost[k]);
	ct_json_obj_end(j);
	ct_json_key(j, "truncated");
	ct_json_bool(j, m->truncated);
	ct_json_key(j, "spare");
	ct_json_bool(j, (m->hdr.flags & CT_HF_SPARE) != 0);
	json_u64(j, "truncated_at", ct_model_truncated_at(m));
	json_u64(j, "from_ns", c->a->from_ts - m->start_ts);
	json_u64(j, "to_ns", c->a->to_ts - m->start_ts);
	ct_json_key(j, "filtered");
	ct_json_bool(j, c->a->filtered);
	ct_json_key(j, "convoy_thresholds");
	ct_json_obj_begin(j);
	json_u64(j, "window_ns", c->a->convoy.window_ns);
	ct_json_key(j, "min_waiters");
	ct_json_double(j, c->a->convoy.min_waiters);
	ct_json_key(j, "max_empty");
	ct_json_double(j, c->a->convoy.max_empty);
	json_u64(j, "min_run", c->a->convoy.min_run);
	ct_json_key(j, "min_releases");
	ct_json_double(j, c->a->convoy.min_releases);
	ct_json_key(j, "wait_hold");
	ct_json_double(j, c->a->convoy.wait_hold);
	ct_json_obj_end(j);
	ct_json_obj_end(j);
}

static void json_hist(struct ct_json *j, const struct ct_hist *h)
{
	ct_json_key(j, "histogram");
	ct_json_arr_begin(j);
	for (unsigned b = 0; b < CT_HIST_BUCKETS; b++) {
		if (!h->count[b])
			continue;
		ct_json_obj_begin(j);
		json_u64(j, "min_ns", 1ull << b);
		json_u64(j, "count", h->count[b]);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static void json_entry(struct ctx *c, struct ct_json *j, const struct ct_pentry *e, int p)
{
	const struct ct_frame *f;
	size_t n;

	at(c, e->proc);
	n = entry_frames(c, e, &f, NULL);
	ct_json_obj_begin(j);
	ct_json_key(j, "profile");
	ct_json_str(j, ct_aprofile_name(p));
	ct_json_key(j, "kind");
	ct_json_str(j, ct_kind_name(e->kind));
	json_u64(j, "count", e->count);
	json_u64(j, "total_ns", e->total_ns);
	json_u64(j, "max_ns", e->max_ns);
	json_u64(j, "p50_ns", e->p50_ns);
	json_u64(j, "p99_ns", e->p99_ns);
	if (is_syscall_profile(p)) {
		ct_json_key(j, "fd_class");
		ct_json_str(j, ct_fd_class_name(e->fd_class));
		json_u64(j, "stack_calls", e->stack_calls);
	}
	json_frames(j, f, n);
	json_hist(j, &e->hist);
	json_u64(j, "pid", e->pid);
	ct_json_obj_end(j);
}

static void json_profiles(struct ctx *c, struct ct_json *j)
{
	ct_json_key(j, "profiles");
	ct_json_arr_begin(j);
	for (int p = 1; p < CT_AP_MAX; p++) {
		size_t n;
		const struct ct_pentry *e;

		if (!wanted(c->o, p))
			continue;
		e = ct_analysis_profile(c->a, p, &n);
		for (size_t i = 0; i < n && (c->o->top < 0 || (long)i < c->o->top); i++)
			json_entry(c, j, &e[i], p);
	}
	ct_json_arr_end(j);
}

static void json_stack_value(struct ctx *c, struct ct_json *j, uint32_t stack)
{
	const struct ct_frame *f;
	size_t n = ct_frames_stack(c->fr, stack, &f, NULL);

	ct_frames_json(j, f, n);
}

static void json_double(struct ct_json *j, const char *key, double v)
{
	ct_json_key(j, key);
	ct_json_double(j, v);
}

static void json_convoy(struct ctx *c, struct ct_json *j, const struct ct_convoy *v)
{
	ct_json_obj_begin(j);
	json_u64(j, "start_ns", v->start_ns);
	json_u64(j, "end_ns", v->end_ns);
	json_u64(j, "window_ns", v->window_ns);
	json_u64(j, "windows", v->windows);
	json_u64(j, "total_windows", v->total_windows);
	json_u64(j, "longest_run", v->longest_run);
	json_double(j, "mean_waiters", v->mean_waiters);
	json_double(j, "empty_fraction", v->empty_fraction);
	json_double(j, "hold_fraction", v->hold_fraction);
	json_u64(j, "acquisitions", v->acquisitions);
	json_u64(j, "releases", v->releases);
	json_u64(j, "median_hold_ns", v->median_hold_ns);
	json_u64(j, "median_wait_ns", v->median_wait_ns);
	json_u64(j, "median_handoff_ns", v->median_handoff_ns);
	json_u64(j, "p99_handoff_ns", v->p99_handoff_ns);
	json_double(j, "throughput_cap_per_s", v->throughput_cap_per_s);
	json_u64(j, "lost_ns", v->lost_ns);
	ct_json_key(j, "series");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < v->nseries; i++) {
		const struct ct_convoy_window *w = &v->series[i];

		ct_json_obj_begin(j);
		json_u64(j, "start_ns", w->start_ns);
		json_double(j, "mean_waiters", w->mean_waiters);
		json_double(j, "empty_fraction", w->empty_fraction);
		json_double(j, "hold_fraction", w->held_fraction);
		json_u64(j, "acquisitions", w->acquisitions);
		json_u64(j, "releases", w->releases);
		json_u64(j, "median_wait_ns", w->median_wait_ns);
		json_u64(j, "median_hold_ns", w->median_hold_ns);
		json_u64(j, "median_handoff_ns", w->median_handoff_ns);
		ct_json_key(j, "queued");
		ct_json_bool(j, w->queued);
		ct_json_key(j, "convoy");
		ct_json_bool(j, w->convoy);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
	ct_json_key(j, "waiter_frames");
	json_stack_value(c, j, v->waiter_stack);
	ct_json_key(j, "holder_frames");
	json_stack_value(c, j, v->holder_stack);
	ct_json_obj_end(j);
}

static void json_objects(struct ctx *c, struct ct_json *j)
{
	ct_json_key(j, "objects");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < c->a->nobjs; i++) {
		const struct ct_object *o = &c->a->objs[i];
		char name[256];

		at(c, o->proc);
		ct_json_obj_begin(j);
		ct_json_key(j, "address");
		ct_json_hex(j, o->addr);
		ct_json_key(j, "name");
		ct_json_str(j, ct_frames_data_name(c->fr, o->addr, name, sizeof(name)));
		ct_json_key(j, "kind");
		ct_json_str(j, ct_kind_name(o->kind));
		json_u64(j, "contended", o->contended);
		json_u64(j, "wait_total_ns", o->wait_total_ns);
		json_u64(j, "wait_max_ns", o->wait_max_ns);
		json_u64(j, "wait_p50_ns", o->wait_p50_ns);
		json_u64(j, "wait_p99_ns", o->wait_p99_ns);
		json_u64(j, "releases", o->releases);
		json_u64(j, "wakeups", o->wakeups);
		json_u64(j, "max_waiters", o->max_waiters);
		json_u64(j, "unfinished", o->unfinished);
		json_u64(j, "wakeup_p50_ns", o->wakeup_p50_ns);
		json_u64(j, "wakeup_p99_ns", o->wakeup_p99_ns);
		json_u64(j, "wakeup_max_ns", o->wakeup_max_ns);
		json_u64(j, "holds", o->holds);
		json_u64(j, "hold_total_ns", o->hold_total_ns);
		json_u64(j, "hold_p50_ns", o->hold_p50_ns);
		json_u64(j, "hold_p99_ns", o->hold_p99_ns);
		json_u64(j, "hold_max_ns", o->hold_max_ns);
		json_u64(j, "owner_changes", o->owner_changes);
		json_hist(j, &o->hist);
		ct_json_key(j, "convoy");
		ct_json_bool(j, o->convoy);
		ct_json_key(j, "convoy_evidence");
		if (o->convoy)
			json_convoy(c, j, &o->convoy_ev);
		else
			ct_json_null(j);
		json_stack(c, j, o->first_stack);
		ct_json_key(j, "first_seen");
		json_stack_value(c, j, o->first_stack);
		json_u64(j, "pid", o->pid);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static void json_threads(struct ctx *c, struct ct_json *j)
{
	static const char *const prof[] = { [CT_P_SYNC] = "sync", [CT_P_NET] = "net",
					    [CT_P_SYSCALL] = "syscall", [CT_P_SLEEP] = "sleep" };

	ct_json_key(j, "threads");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < c->a->nthreads; i++) {
		const struct ct_thread_info *t = &c->a->threads[i];

		ct_json_obj_begin(j);
		json_u64(j, "tid", t->tid);
		ct_json_key(j, "name");
		ct_json_str(j, t->name);
		ct_json_key(j, "start_func");
		ct_json_str(j, start_func(c, t));
		json_u64(j, "lifetime_ns", t->lifetime_ns);
		json_u64(j, "cpu_ns", t->cpu_ns);
		json_u64(j, "runqueue_ns", t->runq_ns);
		json_u64(j, "other_ns", t->other_ns);
		ct_json_key(j, "blocked_ns");
		ct_json_obj_begin(j);
		for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
			json_u64(j, prof[p], t->blocked_ns[p]);
		ct_json_obj_end(j);
		json_u64(j, "pid", t->pid);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static void json_thread_groups(struct ctx *c, struct ct_json *j)
{
	static const char *const prof[] = { [CT_P_SYNC] = "sync", [CT_P_NET] = "net",
					    [CT_P_SYSCALL] = "syscall", [CT_P_SLEEP] = "sleep" };
	const struct ct_thread_info **ord = threads_by_group(c);
	size_t n = c->a->nthreads;

	ct_json_key(j, "thread_groups");
	ct_json_arr_begin(j);
	for (size_t i = 0, k; i < n; i = k) {
		const char *g = start_func(c, ord[i]);
		uint64_t life = 0, cpu = 0, runq = 0, other = 0, blk[CT_P_MAX] = { 0 };

		for (k = i; k < n && ord[k]->is_main == ord[i]->is_main &&
			    !strcmp(group_name(c, ord[k]), group_name(c, ord[i])); k++) {
			life += ord[k]->lifetime_ns;
			cpu += ord[k]->cpu_ns;
			runq += ord[k]->runq_ns;
			other += ord[k]->other_ns;
			for (int p = 0; p < CT_P_MAX; p++)
				blk[p] += ord[k]->blocked_ns[p];
		}
		ct_json_obj_begin(j);
		ct_json_key(j, "start_func");
		ct_json_str(j, g);
		json_u64(j, "threads", k - i);
		ct_json_key(j, "tids");
		ct_json_arr_begin(j);
		for (size_t x = i; x < k; x++)
			ct_json_u64(j, ord[x]->tid);
		ct_json_arr_end(j);
		json_u64(j, "lifetime_ns", life);
		json_u64(j, "cpu_ns", cpu);
		json_u64(j, "runqueue_ns", runq);
		json_u64(j, "other_ns", other);
		ct_json_key(j, "blocked_ns");
		ct_json_obj_begin(j);
		for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
			json_u64(j, prof[p], blk[p]);
		ct_json_obj_end(j);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
	free(ord);
}

static const char *held_from_name(int from)
{
	switch (from) {
	case CT_HELD_HOLD: return "hold";
	case CT_HELD_WAIT: return "wait";
	default: return NULL;
	}
}

static void json_link(struct ctx *c, struct ct_json *j, const struct ct_chain_link *l)
{
	const struct ct_chain_link *w = l;
	const struct ct_mthread *t;

	at(c, l->proc);
	t = w->thr < c->m->nthreads ? &c->m->threads[w->thr] : NULL;
	ct_json_obj_begin(j);
	json_u64(j, "tid", l->tid);
	ct_json_key(j, "name");
	ct_json_str(j, t ? t->name : "");
	ct_json_key(j, "kind");
	ct_json_str(j, ct_kind_name(w->kind));
	ct_json_key(j, "waits_on");
	ct_json_hex(j, l->obj);
	json_u64(j, "held_by", l->held_by);
	json_u64(j, "since_ns", w->begin - c->m->start_ts);
	json_u64(j, "pid", l->pid);
	json_stack(c, j, w->stack);
	ct_json_key(j, "held_frames");
	if (l->held_known)
		json_stack_value(c, j, l->held_stack);
	else
		ct_frames_json(j, NULL, 0);
	ct_json_key(j, "held_frames_recorded");
	ct_json_bool(j, l->held_known);
	ct_json_key(j, "held_frames_from");
	ct_json_str(j, held_from_name(l->held_known ? l->held_from : CT_HELD_NONE));
	ct_json_obj_end(j);
}

static void json_deadlocks(struct ctx *c, struct ct_json *j)
{
	const struct ct_analysis *a = c->a;

	ct_json_key(j, "deadlocks");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < a->ndeadlocks; i++) {
		const struct ct_deadlock *d = &a->deadlocks[i];

		ct_json_arr_begin(j);
		for (size_t k = 0; k < d->n; k++)
			json_link(c, j, &d->links[k]);
		ct_json_arr_end(j);
	}
	ct_json_arr_end(j);
	ct_json_key(j, "wait_chains");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < a->nchains; i++)
		json_link(c, j, &a->chains[i]);
	ct_json_arr_end(j);
}

/* Every trace analysed: one per process (or per image after an exec). */
static void json_processes(struct ctx *c, struct ct_json *j)
{
	ct_json_key(j, "processes");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < (c->nproc > 1 ? c->nproc : 1); i++) {
		const struct ct_model *m = c->nproc > 1 ? c->ms[i] : c->m;
		const char *path = c->o->paths && i < c->o->npaths ? c->o->paths[i] : c->o->path;

		ct_json_obj_begin(j);
		json_u64(j, "pid", m->hdr.pid);
		ct_json_key(j, "exe");
		ct_json_str(j, m->hdr.exe);
		ct_json_key(j, "file");
		ct_json_str(j, path ? path : "");
		json_u64(j, "duration_ns", ct_model_duration(m));
		json_u64(j, "events", m->nevents);
		json_u64(j, "lost_events", m->lost_total);
		ct_json_key(j, "truncated");
		ct_json_bool(j, m->truncated);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static void json(struct ctx *c)
{
	struct ct_json j;
	const struct ct_model *tot = c->m;

	ct_json_init(&j, c->f);
	ct_json_obj_begin(&j);
	json_trace(c, &j);
	json_processes(c, &j);
	json_profiles(c, &j);
	json_objects(c, &j);
	json_threads(c, &j);
	json_thread_groups(c, &j);
	json_deadlocks(c, &j);
	ct_json_obj_end(&j);
	ct_json_end(&j);
	c->m = tot;
}

void ct_report_write(FILE *f, const struct ct_report_opts *o, const struct ct_model *m,
		     const struct ct_analysis *a)
{
	struct ctx c = { .f = f, .o = o, .m = m, .a = a, .fr = ct_frames_new(m) };

	if (o->json)
		json(&c);
	else
		text(&c);
	ct_frames_free(c.fr);
}

void ct_report_write_procs(FILE *f, const struct ct_report_opts *o,
			   const struct ct_model *const *ms, size_t n, const struct ct_analysis *a)
{
	struct ct_model tot;
	struct ctx c = { .f = f, .o = o, .a = a, .ms = ms, .nproc = n };

	if (n == 1) {
		ct_report_write(f, o, ms[0], a);
		return;
	}
	/* the header's totals: counts summed, the time from the first start to the last end */
	tot = *ms[0];
	for (size_t i = 1; i < n; i++) {
		const struct ct_model *m = ms[i];

		tot.nthreads += m->nthreads;
		tot.nevents += m->nevents;
		tot.lost_total += m->lost_total;
		for (int k = 0; k < CT_L_MAX; k++)
			tot.lost[k] += m->lost[k];
		if (m->start_ts < tot.start_ts)
			tot.start_ts = m->start_ts;
		if (m->end_ts > tot.end_ts)
			tot.end_ts = m->end_ts;
		if (m->truncated && !tot.truncated) {
			tot.truncated = 1;
			tot.last_gen_open = m->last_gen_open;
			tot.trailing_bytes = m->trailing_bytes;
			tot.file_bytes = m->file_bytes;
		}
	}
	c.frs = ct_xcalloc(n, sizeof(*c.frs));
	for (size_t i = 0; i < n; i++)
		c.frs[i] = ct_frames_new(ms[i]);
	c.m = &tot;
	c.fr = c.frs[0];
	if (o->json)
		json(&c);
	else
		text(&c);
	for (size_t i = 0; i < n; i++)
		ct_frames_free(c.frs[i]);
	free(c.frs);
}

/* ---- command --------------------------------------------------------------------- */

static void parse_profiles(const char *val, struct ct_report_opts *o)
{
	const char *bad;

	if (ct_aprofile_parse_list(val, &o->profiles, &bad) < 0)
		ct_die(CT_EXIT_USAGE, "report: unknown profile '%.*s' (sync net syscall sleep "
		       "holder wakeup)", (int)strcspn(bad, ","), bad);
}

static void parse_sort(const char *val, struct ct_report_opts *o)
{
	for (int k = 0; k < CT_SORT_NKEYS; k++)
		if (!strcmp(val, sort_names[k])) {
			o->sort = k;
			return;
		}
	ct_die(CT_EXIT_USAGE, "report: unknown sort key '%s' (wait count max p99 hold waiters)",
	       val);
}

static void parse(int argc, char **argv, struct ct_report_opts *o, struct ct_filter_args *fa,
		  struct ct_convoy_params *cp)
{
	static const char *const valued[] = { "--top", "--profile", "--sort" };
	int i, rest = 0;
	char err[512];
	const char **paths = ct_xcalloc((size_t)argc + 1, sizeof(*paths));

	o->json = 0;
	o->top = -1;
	o->profiles = 0;
	o->path = NULL;
	o->paths = NULL;
	o->npaths = 0;
	o->sort = CT_SORT_WAIT;
	o->convoy_windows = 0;
	ct_filter_args_init(fa);
	ct_convoy_params_default(cp);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		char opt[32] = "";
		int known = 0;

		if (!rest && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage(stdout);
			exit(CT_EXIT_OK);
		}
		if (!rest && !strcmp(a, "--")) {
			rest = 1;
			continue;
		}
		if (!rest && !strcmp(a, "--json")) {
			o->json = 1;
			continue;
		}
		if (!rest && !strcmp(a, "--convoy-windows")) {
			o->convoy_windows = 1;
			continue;
		}
		if (!rest && a[0] == '-' && a[1] == '-') {
			eq = strchr(a, '=');
			snprintf(opt, sizeof(opt), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
			for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
				known |= !strcmp(opt, valued[k]);
			known |= ct_shared_option(opt);
			if (known) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					ct_die(CT_EXIT_USAGE, "report: %s needs a value", opt);
			}
		}
		if (val && !strcmp(opt, "--top")) {
			if (ct_parse_count(val, &o->top) < 0)
				ct_die(CT_EXIT_USAGE, "report: --top wants a count, not '%s'", val);
			continue;
		}
		if (val && !strcmp(opt, "--profile")) {
			parse_profiles(val, o);
			continue;
		}
		if (val && !strcmp(opt, "--sort")) {
			parse_sort(val, o);
			continue;
		}
		if (val) {
			if (ct_filter_parse(fa, opt, val, err, sizeof(err)) < 0 ||
			    ct_convoy_parse(cp, opt, val, err, sizeof(err)) < 0)
				ct_die(CT_EXIT_USAGE, "report: %s", err);
			continue;
		}
		if (!rest && a[0] == '-' && a[1])
			ct_die(CT_EXIT_USAGE, "report: unknown option '%s' (see 'ctrace report --help')",
			       a);
		if (!o->path)
			o->path = a;
		paths[o->npaths++] = a;
	}
	if (!o->path)
		ct_die(CT_EXIT_USAGE, "report: no FILE given (see 'ctrace report --help')");
	o->paths = paths;
}

int ct_cmd_report(int argc, char **argv)
{
	struct ct_report_opts o;
	struct ct_filter_args fa;
	struct ct_convoy_params cp;
	struct ct_model **m;
	struct ct_analysis **as, *a;
	char err[512];

	parse(argc, argv, &o, &fa, &cp);
	m = ct_xcalloc(o.npaths, sizeof(*m));
	as = ct_xcalloc(o.npaths, sizeof(*as));
	/* one trace after the other, each streamed: several traces of one program */
	for (size_t i = 0; i < o.npaths; i++) {
		if (ct_analyze_file(o.paths[i], &fa.f, &cp, 2, &m[i], &as[i], err, sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "%s: %s", o.paths[i], err);
		if (m[i]->truncated) {
			char t[256];

			/* also in the text header; on stderr for the JSON reader's eyes */
			fflush(stdout);
			fprintf(stderr, "warning: %s: %s\n", o.paths[i],
				ct_model_truncation(m[i], t, sizeof(t)));
		}
	}
	a = o.npaths > 1 ? ct_analysis_merge(as, o.npaths) : as[0];
	ct_report_write_procs(stdout, &o, (const struct ct_model *const *)m, o.npaths, a);
	ct_analysis_free(a);
	ct_filter_args_free(&fa);
	for (size_t i = 0; i < o.npaths; i++)
		ct_model_free(m[i]);
	free(m);
	free(as);
	free((void *)o.paths);
	if (fflush(stdout) != 0 || ferror(stdout))
		ct_die(CT_EXIT_USAGE, "report: write error: %s", strerror(errno));
	return CT_EXIT_OK;
}
