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

static void text_entry(struct ctx *c, const struct ct_pentry *e)
{
	char t[CT_DUR_BUF], mx[CT_DUR_BUF], p50[CT_DUR_BUF], p99[CT_DUR_BUF], kind[64];
	const struct ct_frame *f;
	int trunc, rest = e->remainder;
	size_t n;

	at(c, e->proc);
	n = ct_frames_entry(c->fr, e, &f, &trunc);
	ct_pentry_kind(e, kind, sizeof(kind));
	fprintf(c->f, "%8" PRIu64 " %10s %10s %10s %10s  %s\n", e->count,
		ct_fmt_duration(e->total_ns, t),
		rest && !e->max_ns ? "-" : ct_fmt_duration(e->max_ns, mx),
		rest ? "-" : ct_fmt_duration(e->p50_ns, p50),
		rest ? "-" : ct_fmt_duration(e->p99_ns, p99), kind);
	if (c->nproc > 1)
		fprintf(c->f, "    process %" PRIu32 " (%s)\n", e->pid,
			c->m->hdr.exe[0] ? c->m->hdr.exe : "?");
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
	if (ct_aprofile_is_call(p)) {
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
		text_entry(c, &e[i]);
	if (top >= 0 && n > (size_t)top)
		fprintf(c->f, "  ... %zu more entries (--top)\n", n - (size_t)top);
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
	if (a->nobjs > 1)
		qsort_r(ord, a->nobjs, sizeof(*ord), cmp_obj_ptr, (void *)&c->o->sort);
	fprintf(c->f, "\n== objects: by %s ==\n", c->o->sort > 0 && c->o->sort < CT_SORT_NKEYS ?
		ct_sort_names[c->o->sort] : "total wait");
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
	ord = ct_output_threads_by_group(c->oc);
	fprintf(c->f, "\n== threads: lifetime split, by start routine ==\n");
	fprintf(c->f, "%8s %-16s %-20s %10s %10s %10s %10s %10s %10s %10s %10s\n", "tid", "name",
		"start", "lifetime", "cpu", "runqueue", "sync", "net", "syscall", "sleep", "other");
	for (size_t i = 0, j; i < a->nthreads; i = j) {
		const char *g = ct_output_group_name(c->oc, ord[i]);
		uint64_t life = 0, cpu = 0, runq = 0, other = 0, blk[CT_P_MAX] = { 0 };
		char cnt[32];

		for (j = i; j < a->nthreads && ord[j]->is_main == ord[i]->is_main &&
			    !strcmp(ct_output_group_name(c->oc, ord[j]), g); j++) {
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
	for (int p = 1; p < CT_AP_MAX; p++)
		if (ct_output_wants(c.o, p))
			text_profile(&c, p, top);
	if (!c.o->profiles) {
		text_objects(&c, top);
		text_threads(&c);
	}
	text_deadlocks(&c);
	ct_frames_debug_hints(c.fr, f);
	return 0;
}
