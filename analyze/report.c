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
};

static void usage(FILE *f)
{
	fputs("usage: ctrace report [--json] [--top N] [--profile NAME[,NAME...]] FILE\n\n"
	      "Where the threads of a traced program waited.\n\n"
	      "  --json          the stable JSON document (see the README, \"report --json\")\n"
	      "  --top N         at most N entries per profile (text default 10, JSON all)\n"
	      "  --profile NAME  only these profiles (repeatable, or comma-separated):\n"
	      "                  sync net syscall sleep holder wakeup\n", f);
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
	if (f->file)
		fprintf(c->f, "    %s (%s:%d)\n", f->func, ct_basename(f->file), f->line);
	else if (f->module && strcmp(f->module, "?"))
		fprintf(c->f, "    %s (%s)\n", f->func, ct_basename(f->module));
	else
		fprintf(c->f, "    %s (0x%" PRIx64 ")\n", f->func, f->pc);
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
	fprintf(c->f, "\n");
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
	size_t n = entry_frames(c, e, &f, &trunc);

	kind_cell(e, p, kind, sizeof(kind));
	fprintf(c->f, "%8" PRIu64 " %10s %10s %10s %10s  %s\n", e->count,
		ct_fmt_duration(e->total_ns, t), rest ? "-" : ct_fmt_duration(e->max_ns, mx),
		rest ? "-" : ct_fmt_duration(e->p50_ns, p50),
		rest ? "-" : ct_fmt_duration(e->p99_ns, p99), kind);
	if (rest)
		fprintf(c->f, "    (calls without a recorded stack: %s)\n",
			e->site ? "the call site only" : "sites beyond the per-thread table");
	if (rest && !e->site)
		return;
	text_frames(c, f, n, trunc);
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

static void text_objects(struct ctx *c, long top)
{
	const struct ct_analysis *a = c->a;

	if (!a->nobjs)
		return;
	fprintf(c->f, "\n== objects: by total wait ==\n");
	fprintf(c->f, "%-18s %-9s %7s %10s %10s %10s %8s %7s  %s\n", "address", "kind", "waits",
		"total", "max", "p99", "releases", "maxwait", "first seen");
	for (size_t i = 0; i < a->nobjs && (top < 0 || (long)i < top); i++) {
		const struct ct_object *o = &a->objs[i];
		char t[CT_DUR_BUF], mx[CT_DUR_BUF], p99[CT_DUR_BUF], site[256], addr[24];

		snprintf(addr, sizeof(addr), "0x%" PRIx64, o->addr);
		short_site(c, o->first_stack, site, sizeof(site));
		fprintf(c->f, "%-18s %-9s %7" PRIu64 " %10s %10s %10s %8" PRIu64 " %7" PRIu64
			"  %s\n", addr, ct_kind_name(o->kind), o->contended,
			ct_fmt_duration(o->wait_total_ns, t), ct_fmt_duration(o->wait_max_ns, mx),
			ct_fmt_duration(o->wait_p99_ns, p99), o->releases, o->max_waiters, site);
	}
	if (top >= 0 && a->nobjs > (size_t)top)
		fprintf(c->f, "  ... %zu more objects (--top)\n", a->nobjs - (size_t)top);
}

static const char *start_func(struct ctx *c, const struct ct_thread_info *t)
{
	if (t->is_main)
		return "main";
	if (!t->start_func)
		return NULL;
	return ct_frames_func(c->fr, t->start_func);
}

static void text_threads(struct ctx *c)
{
	const struct ct_analysis *a = c->a;

	if (!a->nthreads)
		return;
	fprintf(c->f, "\n== threads ==\n");
	fprintf(c->f, "%8s %-16s %-20s %10s %10s %10s %10s %10s %10s %10s\n", "tid", "name",
		"start", "lifetime", "cpu", "runqueue", "sync", "net", "syscall", "sleep");
	for (size_t i = 0; i < a->nthreads; i++) {
		const struct ct_thread_info *t = &a->threads[i];
		const char *sf = start_func(c, t);
		char b[8][CT_DUR_BUF];

		fprintf(c->f, "%8" PRIu32 " %-16s %-20.20s %10s %10s %10s %10s %10s %10s %10s\n",
			t->tid, t->name[0] ? t->name : "-", sf ? sf : "?",
			ct_fmt_duration(t->lifetime_ns, b[0]),
			t->cpu_ns ? ct_fmt_duration(t->cpu_ns, b[1]) : "-",
			t->cpu_ns || t->runq_ns ? ct_fmt_duration(t->runq_ns, b[2]) : "-",
			ct_fmt_duration(t->blocked_ns[CT_P_SYNC], b[3]),
			ct_fmt_duration(t->blocked_ns[CT_P_NET], b[4]),
			ct_fmt_duration(t->blocked_ns[CT_P_SYSCALL], b[5]),
			ct_fmt_duration(t->blocked_ns[CT_P_SLEEP], b[6]));
	}
}

static void text(struct ctx *c)
{
	long top = c->o->top >= 0 ? c->o->top : TEXT_TOP_DEFAULT;

	text_header(c);
	for (int p = 1; p < CT_AP_MAX; p++)
		if (wanted(c->o, p))
			text_profile(c, p, top);
	if (!c->o->profiles) {
		text_objects(c, top);
		text_threads(c);
	}
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_frames(struct ct_json *j, const struct ct_frame *f, size_t n)
{
	ct_json_key(j, "frames");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		ct_json_obj_begin(j);
		ct_json_key(j, "func");
		ct_json_str(j, f[i].func ? f[i].func : "??");
		ct_json_key(j, "file");
		ct_json_str(j, f[i].file);
		ct_json_key(j, "line");
		ct_json_i64(j, f[i].file ? f[i].line : 0);
		ct_json_key(j, "module");
		ct_json_str(j, f[i].module && strcmp(f[i].module, "?") ? f[i].module : NULL);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
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
	ct_json_obj_end(j);
}

static void json_entry(struct ctx *c, struct ct_json *j, const struct ct_pentry *e, int p)
{
	const struct ct_frame *f;
	size_t n = entry_frames(c, e, &f, NULL);

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

static void json_objects(struct ctx *c, struct ct_json *j)
{
	ct_json_key(j, "objects");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < c->a->nobjs; i++) {
		const struct ct_object *o = &c->a->objs[i];

		ct_json_obj_begin(j);
		ct_json_key(j, "address");
		ct_json_hex(j, o->addr);
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
		ct_json_key(j, "convoy");
		ct_json_bool(j, 0);
		json_stack(c, j, o->first_stack);
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
		ct_json_key(j, "blocked_ns");
		ct_json_obj_begin(j);
		for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
			json_u64(j, prof[p], t->blocked_ns[p]);
		ct_json_obj_end(j);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static void json(struct ctx *c)
{
	struct ct_json j;

	ct_json_init(&j, c->f);
	ct_json_obj_begin(&j);
	json_trace(c, &j);
	json_profiles(c, &j);
	json_objects(c, &j);
	json_threads(c, &j);
	ct_json_key(&j, "deadlocks");
	ct_json_arr_begin(&j);
	ct_json_arr_end(&j);
	ct_json_obj_end(&j);
	ct_json_end(&j);
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

/* ---- command --------------------------------------------------------------------- */

static void parse_profiles(const char *val, struct ct_report_opts *o)
{
	const char *bad;

	if (ct_aprofile_parse_list(val, &o->profiles, &bad) < 0)
		ct_die(CT_EXIT_USAGE, "report: unknown profile '%.*s' (sync net syscall sleep "
		       "holder wakeup)", (int)strcspn(bad, ","), bad);
}

static void parse(int argc, char **argv, struct ct_report_opts *o)
{
	int i, rest = 0;

	o->json = 0;
	o->top = -1;
	o->profiles = 0;
	o->path = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;

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
		if (!rest && (!strcmp(a, "--top") || !strcmp(a, "--profile"))) {
			if (i + 1 >= argc)
				ct_die(CT_EXIT_USAGE, "report: %s needs a value", a);
			val = argv[++i];
		} else if (!rest && (!strncmp(a, "--top=", 6) || !strncmp(a, "--profile=", 10))) {
			val = strchr(a, '=') + 1;
		}
		if (val && !strncmp(a, "--top", 5)) {
			if (ct_parse_count(val, &o->top) < 0)
				ct_die(CT_EXIT_USAGE, "report: --top wants a count, not '%s'", val);
			continue;
		}
		if (val) {
			parse_profiles(val, o);
			continue;
		}
		if (!rest && a[0] == '-' && a[1])
			ct_die(CT_EXIT_USAGE, "report: unknown option '%s' (see 'ctrace report --help')",
			       a);
		if (o->path)
			ct_die(CT_EXIT_USAGE, "report: one FILE only (see 'ctrace report --help')");
		o->path = a;
	}
	if (!o->path)
		ct_die(CT_EXIT_USAGE, "report: no FILE given (see 'ctrace report --help')");
}

int ct_cmd_report(int argc, char **argv)
{
	struct ct_report_opts o;
	struct ct_model *m;
	struct ct_analysis *a;
	char err[512];

	parse(argc, argv, &o);
	if (ct_model_load(o.path, &m, err, sizeof(err)) < 0)
		ct_die(CT_EXIT_USAGE, "%s: %s", o.path, err);
	if (m->truncated) {
		fflush(stdout);
		if (m->trailing_bytes)
			fprintf(stderr, "warning: trace truncated (%" PRIu64 " bytes of an incomplete "
				"chunk ignored; the program was killed or is still running?)\n",
				m->trailing_bytes);
		else
			fprintf(stderr, "warning: trace truncated (the last generation has no end; "
				"the program was killed or is still running?)\n");
	}
	a = ct_analyze(m);
	ct_report_write(stdout, &o, m, a);
	ct_analysis_free(a);
	ct_model_free(m);
	if (fflush(stdout) != 0 || ferror(stdout))
		ct_die(CT_EXIT_USAGE, "report: write error: %s", strerror(errno));
	return CT_EXIT_OK;
}
