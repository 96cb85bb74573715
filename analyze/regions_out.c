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

static const char *const prof_keys[CT_P_MAX] = {
	[CT_P_SYNC] = "sync", [CT_P_NET] = "net", [CT_P_SYSCALL] = "syscall",
	[CT_P_SLEEP] = "sleep",
};

void ct_regions_text(const struct ct_output_ctx *oc, FILE *f)
{
	const struct ct_analysis *a = oc->a;
	char d[8][CT_DUR_BUF];

	if (!a->nregions && !a->region_unbalanced)
		return;
	fprintf(f, "\n== regions: time inside ctrace_region_begin .. end, and the waits in it ==\n");
	int w = name_width(a);

	fprintf(f, "%-*s %-12s %7s %9s %9s %9s %9s %9s %9s %9s %9s\n", w, "region", "task",
		"count", "total", "p50", "p99", "max", "sync", "net", "syscall", "sleep");
	for (size_t i = 0; i < a->nregions; i++) {
		const struct ct_region *r = &a->regions[i];

		fprintf(f, "%-*s %-12s %7" PRIu64 " %9s %9s %9s %9s %9s %9s %9s %9s\n",
			w, r->name, r->task[0] ? r->task : "-", r->count,
			ct_fmt_duration(r->total_ns, d[0]), ct_fmt_duration(r->p50_ns, d[1]),
			ct_fmt_duration(r->p99_ns, d[2]), ct_fmt_duration(r->max_ns, d[3]),
			ct_fmt_duration(r->blocked_ns[CT_P_SYNC], d[4]),
			ct_fmt_duration(r->blocked_ns[CT_P_NET], d[5]),
			ct_fmt_duration(r->blocked_ns[CT_P_SYSCALL], d[6]),
			ct_fmt_duration(r->blocked_ns[CT_P_SLEEP], d[7]));
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
		const struct ct_model *m = oc->m;
		struct ct_frames *fr = oc->fr;

		ct_output_at(oc, oc->nproc, r->proc, &m, &fr);
		ct_json_obj_begin(j);
		ct_json_kv_str(j, "name", r->name);
		ct_json_kv_str(j, "task", r->task);
		ct_json_kv_u64(j, "count", r->count);
		ct_json_kv_u64(j, "total_ns", r->total_ns);
		ct_json_kv_u64(j, "p50_ns", r->p50_ns);
		ct_json_kv_u64(j, "p99_ns", r->p99_ns);
		ct_json_kv_u64(j, "max_ns", r->max_ns);
		ct_json_key(j, "blocked_ns");
		ct_json_obj_begin(j);
		for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
			ct_json_kv_u64(j, prof_keys[p], r->blocked_ns[p]);
		ct_json_obj_end(j);
		{
			const struct ct_frame *sf;
			size_t sn = site_frames(fr, r->stack, &sf);

			ct_frames_json_kv(j, "frames", sf, sn);
		}
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
	char d[8][CT_DUR_BUF];

	if (!a->ntasks)
		return;
	fprintf(f, "\n== tasks: ctrace_task_begin .. end, across threads, and the waits in their "
		"regions ==\n");
	fprintf(f, "%-16s %7s %9s %9s %9s %9s %9s %9s %9s %9s %7s %6s\n", "task", "count",
		"total", "p50", "p99", "max", "sync", "net", "syscall", "sleep", "threads", "logs");
	for (size_t i = 0; i < a->ntasks; i++) {
		const struct ct_task_stat *t = &a->tasks[i];

		fprintf(f, "%-16s %7" PRIu64 " %9s %9s %9s %9s %9s %9s %9s %9s %7" PRIu64
			" %6" PRIu64 "%s\n", t->name, t->count, ct_fmt_duration(t->total_ns, d[0]),
			ct_fmt_duration(t->p50_ns, d[1]), ct_fmt_duration(t->p99_ns, d[2]),
			ct_fmt_duration(t->max_ns, d[3]),
			ct_fmt_duration(t->blocked_ns[CT_P_SYNC], d[4]),
			ct_fmt_duration(t->blocked_ns[CT_P_NET], d[5]),
			ct_fmt_duration(t->blocked_ns[CT_P_SYSCALL], d[6]),
			ct_fmt_duration(t->blocked_ns[CT_P_SLEEP], d[7]), t->threads, t->logs,
			t->unended ? " (some not ended)" : "");
	}
}

void ct_tasks_json(const struct ct_output_ctx *oc, struct ct_json *j)
{
	static const char *const keys[CT_P_MAX] = {
		[CT_P_SYNC] = "sync", [CT_P_NET] = "net", [CT_P_SYSCALL] = "syscall",
		[CT_P_SLEEP] = "sleep",
	};
	const struct ct_analysis *a = oc->a;

	ct_json_key(j, "tasks");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < a->ntasks; i++) {
		const struct ct_task_stat *t = &a->tasks[i];

		ct_json_obj_begin(j);
		ct_json_kv_str(j, "name", t->name);
		ct_json_kv_u64(j, "count", t->count);
		ct_json_kv_u64(j, "total_ns", t->total_ns);
		ct_json_kv_u64(j, "p50_ns", t->p50_ns);
		ct_json_kv_u64(j, "p99_ns", t->p99_ns);
		ct_json_kv_u64(j, "max_ns", t->max_ns);
		ct_json_key(j, "blocked_ns");
		ct_json_obj_begin(j);
		for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
			ct_json_kv_u64(j, keys[p], t->blocked_ns[p]);
		ct_json_obj_end(j);
		ct_json_kv_u64(j, "threads", t->threads);
		ct_json_kv_u64(j, "logs", t->logs);
		ct_json_kv_u64(j, "unended", t->unended);
		ct_json_kv_u64(j, "pid", t->pid);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}
