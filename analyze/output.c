/* SPDX-License-Identifier: MIT */
/*
 * Implementation of output.h: the table of output formats and the helpers they share.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "util.h"

/* the profile sets of the export rows */
#define EXP_WAITERS ((1u << CT_AP_SYNC) | (1u << CT_AP_NET) | (1u << CT_AP_SYSCALL) | \
		     (1u << CT_AP_SLEEP))
#define EXP_ALL (EXP_WAITERS | (1u << CT_AP_HOLDER) | (1u << CT_AP_WAKEUP))

const struct ct_output ct_outputs[] = {
	{ "text", "txt", 0, CT_OUT_TRACE,
	  "the report for people: profiles, objects, threads, deadlocks", ct_out_text, 0, 0, 0, 0 },
	{ "json", "json", 0, CT_OUT_TRACE,
	  "the stable JSON document of analyze/README.md (\"report --json\")", ct_out_json, 0, 0, 0, 0 },
	{ "junit", "xml", 0, CT_OUT_VERDICTS,
	  "check's verdicts as JUnit XML: a testcase per rule", ct_out_junit, 0, 0, 0, 0 },
	/* ctrace export's, in its --help order */
	{ "pprof", "pb.gz", 1, CT_OUT_EXPORT,
	  "gzipped profile.proto (go tool pprof, Pyroscope, Parca)", ct_export_pprof,
	  1u << CT_AP_SYNC, EXP_ALL, CT_EKEY_THREAD, 0 },
	{ "folded", "folded", 0, CT_OUT_EXPORT,
	  "collapsed stacks (flamegraph.pl, speedscope)", ct_export_folded,
	  1u << CT_AP_SYNC, EXP_ALL | (1u << CT_EXPORT_WAKECHAIN), 0, 0 },
	{ "chrome", "json", 0, CT_OUT_EXPORT,
	  "Trace Event Format JSON (chrome://tracing, ui.perfetto.dev)", ct_export_chrome,
	  EXP_WAITERS, EXP_WAITERS, 0, 1 },
	{ "perfetto", "perfetto-trace", 1, CT_OUT_EXPORT,
	  "Perfetto protobuf trace of TrackEvents (ui.perfetto.dev)", ct_export_perfetto,
	  EXP_WAITERS, EXP_WAITERS, 0, 1 },
	{ "html", "html", 0, CT_OUT_EXPORT,
	  "one self-contained HTML report (flame graphs, timelines, tables)", ct_export_html,
	  EXP_ALL, EXP_ALL, 0, 1 },
};
const size_t ct_noutputs = sizeof(ct_outputs) / sizeof(ct_outputs[0]);

const struct ct_output *ct_output_find(const char *name)
{
	for (size_t i = 0; i < ct_noutputs; i++)
		if (!strcmp(ct_outputs[i].name, name))
			return &ct_outputs[i];
	return NULL;
}

const char *const ct_sort_names[CT_SORT_NKEYS] = {
	[CT_SORT_WAIT] = "wait", [CT_SORT_COUNT] = "count", [CT_SORT_MAX] = "max",
	[CT_SORT_P99] = "p99", [CT_SORT_HOLD] = "hold", [CT_SORT_WAITERS] = "waiters",
};

int ct_output_wants(const struct ct_report_opts *o, int p)
{
	return !o->profiles || (o->profiles & (1u << p));
}

int ct_aprofile_is_call(int p)
{
	return p == CT_AP_NET || p == CT_AP_SYSCALL || p == CT_AP_SLEEP;
}

void ct_pentry_kind(const struct ct_pentry *e, char *buf, size_t cap)
{
	if (ct_aprofile_is_call(e->profile) && e->fd_class != CT_FD_UNKNOWN &&
	    e->fd_class != CT_FD_NONE)
		snprintf(buf, cap, "%s %s", ct_kind_name(e->kind), ct_fd_class_name(e->fd_class));
	else
		snprintf(buf, cap, "%s", ct_kind_name(e->kind));
}

struct ct_frames *ct_output_frames(const struct ct_output_ctx *c, uint32_t proc)
{
	return c->nproc > 1 && proc < c->nproc ? c->frs[proc] : c->fr;
}

const struct ct_model *ct_output_model(const struct ct_output_ctx *c, uint32_t proc)
{
	return c->nproc > 1 && proc < c->nproc ? c->ms[proc] : c->m;
}

const char *ct_output_start_func(const struct ct_output_ctx *c, const struct ct_thread_info *t)
{
	if (t->is_main)
		return "main";
	const char *f;

	if (!t->start_func)
		return NULL;
	f = ct_frames_func(ct_output_frames(c, t->proc), t->start_func);
	return f && strcmp(f, "??") ? f : NULL; /* no symbol: not known by name */
}

const char *ct_output_group_name(const struct ct_output_ctx *c, const struct ct_thread_info *t)
{
	const char *sf = ct_output_start_func(c, t);

	if (t->untraced)
		return "(untraced)";
	/* a start routine not known (a thread the trace began after, a stripped one): its
	 * name groups it */
	return sf ? sf : t->name && t->name[0] ? t->name : "?";
}

static int cmp_thread_group(const void *pa, const void *pb, void *arg)
{
	const struct ct_thread_info *x = *(const struct ct_thread_info *const *)pa;
	const struct ct_thread_info *y = *(const struct ct_thread_info *const *)pb;
	const struct ct_output_ctx *oc = arg;
	int c;

	if (x->is_main != y->is_main)
		return x->is_main ? -1 : 1;
	if (x->untraced != y->untraced) /* last, together */
		return x->untraced ? 1 : -1;
	c = strcmp(ct_output_group_name(oc, x), ct_output_group_name(oc, y));
	if (c)
		return c;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->thr < y->thr ? -1 : x->thr > y->thr; /* a reused tid: in time order */
}

const struct ct_thread_info **ct_output_threads_by_group(const struct ct_output_ctx *c)
{
	const struct ct_analysis *a = c->a;
	const struct ct_thread_info **ord = ct_xmalloc((a->nthreads + 1) * sizeof(*ord));

	for (size_t i = 0; i < a->nthreads; i++)
		ord[i] = &a->threads[i];
	if (a->nthreads > 1)
		qsort_r(ord, a->nthreads, sizeof(*ord), cmp_thread_group, (void *)c);
	return ord;
}

void ct_output_at(const struct ct_output_ctx *c, size_t nproc, uint32_t proc,
		  const struct ct_model **m, struct ct_frames **fr)
{
	if (nproc > 1) {
		*m = ct_output_model(c, proc);
		*fr = ct_output_frames(c, proc);
	}
}
