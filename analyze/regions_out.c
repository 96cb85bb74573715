/* SPDX-License-Identifier: MIT */
/*
 * Regions and tasks as the outputs show them (regions.h): the text report's sections and
 * the JSON arrays `regions` and `tasks`. Kept apart from regions.c and tasks.c, the
 * analyses, which need no symbolization.
 */
#include "regions.h"

#include <inttypes.h>
#include <string.h>

#include "frames.h"
#include "json.h"
#include "util.h"

/* The frames of an annotation's call site, without the header's inlined wrapper. */
static size_t site_frames(struct ct_frames *fr, uint32_t stack, const struct ct_frame **out)
{
	const struct ct_frame *f;
	size_t n = ct_frames_stack(fr, stack, &f, NULL);

	while (n > 1 && f[0].inlined && f[0].file && strstr(f[0].file, "ctrace_annotate.h")) {
		f++;
		n--;
	}
	*out = f;
	return n;
}

/* Width of the name column: the longest name, 12 to 40. */
static int name_width(const struct ct_analysis *a)
{
	size_t w = 12;

	for (size_t i = 0; i < a->nregions; i++)
		if (strlen(a->regions[i].name) > w)
			w = strlen(a->regions[i].name);
	return w > 40 ? 40 : (int)w;
}

/* What a region and a task both have: how many, how long from begin to end, and the
 * waits inside by profile (struct ct_region and struct ct_task_stat name them alike). */
struct span_stats {
	uint64_t count, total_ns, p50_ns, p99_ns, max_ns;
	const uint64_t *blocked_ns; /* [CT_P_MAX] */
};
#define SPAN_STATS(x) ((struct span_stats){ (x)->count, (x)->total_ns, (x)->p50_ns, \
					    (x)->p99_ns, (x)->max_ns, (x)->blocked_ns })

/* The text columns of a span_stats, each after a space: their titles, then a row's cells. */
static void text_stats_head(FILE *f)
{
	fprintf(f, " %7s %9s %9s %9s %9s %9s %9s %9s %9s", "count", "total", "p50", "p99", "max",
		"sync", "net", "syscall", "sleep");
}

static void text_stats(FILE *f, struct span_stats s)
{
	char d[8][CT_DUR_BUF];

	fprintf(f, " %7" PRIu64 " %9s %9s %9s %9s %9s %9s %9s %9s", s.count,
		ct_fmt_duration(s.total_ns, d[0]), ct_fmt_duration(s.p50_ns, d[1]),
		ct_fmt_duration(s.p99_ns, d[2]), ct_fmt_duration(s.max_ns, d[3]),
		ct_fmt_duration(s.blocked_ns[CT_P_SYNC], d[4]),
		ct_fmt_duration(s.blocked_ns[CT_P_NET], d[5]),
		ct_fmt_duration(s.blocked_ns[CT_P_SYSCALL], d[6]),
		ct_fmt_duration(s.blocked_ns[CT_P_SLEEP], d[7]));
}

/* The JSON members of a span_stats: count, total_ns, p50_ns, p99_ns, max_ns, blocked_ns. */
static void json_stats(struct ct_json *j, struct span_stats s)
{
	ct_json_kv_u64(j, "count", s.count);
	ct_json_kv_u64(j, "total_ns", s.total_ns);
	ct_json_kv_u64(j, "p50_ns", s.p50_ns);
	ct_json_kv_u64(j, "p99_ns", s.p99_ns);
	ct_json_kv_u64(j, "max_ns", s.max_ns);
	ct_out_json_blocked(j, s.blocked_ns);
}

void ct_regions_text(const struct ct_output_ctx *oc, FILE *f)
{
	const struct ct_analysis *a = oc->a;

	if (!a->nregions && !a->region_unbalanced)
		return;
	fprintf(f, "\n== regions: time inside ctrace_region_begin .. end, and the waits in it ==\n");
	int w = name_width(a);

	fprintf(f, "%-*s %-12s", w, "region", "task");
	text_stats_head(f);
	fputc('\n', f);
	for (size_t i = 0; i < a->nregions; i++) {
		const struct ct_region *r = &a->regions[i];

		fprintf(f, "%-*s %-12s", w, r->name, r->task[0] ? r->task : "-");
		text_stats(f, SPAN_STATS(r));
		fputc('\n', f);
	}
	if (a->region_unbalanced || a->region_unfinished)
		fprintf(f, "(%" PRIu64 " region ends matched no open region and were ignored; %" PRIu64
			" regions were still open at their thread's end)\n", a->region_unbalanced,
			a->region_unfinished);
}

void ct_regions_json(const struct ct_output_ctx *oc, struct ct_json *j)
{
	const struct ct_analysis *a = oc->a;

	ct_json_key(j, "regions");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < a->nregions; i++) {
		const struct ct_region *r = &a->regions[i];
		const struct ct_frame *sf;
		size_t sn = site_frames(ct_output_frames(oc, r->proc), r->stack, &sf);

		ct_json_obj_begin(j);
		ct_json_kv_str(j, "name", r->name);
		ct_json_kv_str(j, "task", r->task);
		json_stats(j, SPAN_STATS(r));
		ct_frames_json_kv(j, "frames", sf, sn);
		ct_json_kv_u64(j, "pid", r->pid);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
	ct_json_kv_u64(j, "region_unbalanced_ends", a->region_unbalanced);
	ct_json_kv_u64(j, "region_unfinished", a->region_unfinished);
}

void ct_tasks_text(const struct ct_output_ctx *oc, FILE *f)
{
	const struct ct_analysis *a = oc->a;

	if (!a->ntasks)
		return;
	fprintf(f, "\n== tasks: ctrace_task_begin .. end, across threads, and the waits in their "
		"regions ==\n");
	fprintf(f, "%-16s", "task");
	text_stats_head(f);
	fprintf(f, " %7s %6s\n", "threads", "logs");
	for (size_t i = 0; i < a->ntasks; i++) {
		const struct ct_task_stat *t = &a->tasks[i];

		fprintf(f, "%-16s", t->name);
		text_stats(f, SPAN_STATS(t));
		fprintf(f, " %7" PRIu64 " %6" PRIu64 "%s\n", t->threads, t->logs,
			t->unended ? " (some not ended)" : "");
	}
}

void ct_tasks_json(const struct ct_output_ctx *oc, struct ct_json *j)
{
	const struct ct_analysis *a = oc->a;

	ct_json_key(j, "tasks");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < a->ntasks; i++) {
		const struct ct_task_stat *t = &a->tasks[i];

		ct_json_obj_begin(j);
		ct_json_kv_str(j, "name", t->name);
		json_stats(j, SPAN_STATS(t));
		ct_json_kv_u64(j, "threads", t->threads);
		ct_json_kv_u64(j, "logs", t->logs);
		ct_json_kv_u64(j, "unended", t->unended);
		ct_json_kv_u64(j, "pid", t->pid);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}
