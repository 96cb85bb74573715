/* SPDX-License-Identifier: MIT */
/*
 * Annotations (preload/include/ctrace_annotate.h) in the analyzer, internal to analyze/:
 * the state regions.c (per-thread regions and labels, the texts of the events) and
 * tasks.c (tasks across threads) share while events stream by, and the outputs' views of
 * the results (the text sections, the JSON arrays `regions` and `tasks`). Not for the
 * record path.
 */
#ifndef CTRACE_REGIONS_H
#define CTRACE_REGIONS_H

#include <stdio.h>

#include "../format/events.h"
#include "engine.h"
#include "output.h"

/* An open region of a thread. */
struct ann_open {
	uint32_t name;               /* index in the state's names */
	uint64_t task, begin;
	uint32_t stack;
	uint64_t blocked[CT_P_MAX];  /* waits inside it so far, by profile */
};

struct ann_label {
	uint32_t key, value;         /* indexes in the state's names */
};

struct ann_thread {
	uint32_t key, tid;
	struct ann_open *open;
	size_t nopen, copen;
	struct ann_label *labels;
	size_t nlabels, clabels;
	struct ct_event pend;        /* an annotation waiting for its TEXT events */
	unsigned pend_left;          /* TEXT events still to come (0: none pending) */
	char text[CT_TEXT_MAX + 1];
	size_t text_len;
};

/* One task instance (an id). */
struct ann_task {
	uint64_t id, begin, end;
	uint32_t name;               /* index in names; UINT32_MAX: never seen begun */
	int ended;
	uint64_t blocked[CT_P_MAX];
	uint64_t logs;
	uint32_t *tids;
	size_t ntids, ctids;
};

/* The aggregate of one (region name, task name). */
struct ann_region {
	struct ct_region r;
	uint32_t name, task_name;
	struct ct_lhist h;
};

struct ann_lsample {
	struct ct_lsample l;
	uint32_t labels, len;        /* the label blob: index in names, its length */
};

struct ann_state {
	char **names;                /* interned texts */
	size_t nnames, cnames;
	struct ct_htab name_by_key;
	struct ann_thread *th;
	size_t nth, cth;
	struct ct_htab th_by_key;
	struct ann_task *tasks;
	size_t ntasks, ctasks;
	struct ct_htab task_by_id;
	struct ann_region *reg;
	size_t nreg, creg;
	struct ct_htab reg_by_key;
	struct ann_lsample *ls;
	size_t nls, cls;
	struct ct_htab ls_by_key;
};

/* regions.c */
uint32_t ct_ann_intern(struct ann_state *s, const char *text, size_t len);
/* tasks.c */
struct ann_task *ct_ann_task(struct ann_state *s, uint64_t id);
void ct_ann_task_thread(struct ann_task *k, uint32_t tid);
void ct_ann_task_begin(struct ann_state *s, uint64_t id, uint32_t name, uint64_t ts,
		       uint32_t tid);
void ct_ann_task_end(struct ann_state *s, uint64_t id, uint64_t ts, uint32_t tid);
void ct_ann_task_log(struct ann_state *s, uint64_t id, uint32_t tid);
/* The tasks of the trace aggregated by name into a (end: the end of the analysed time). */
void ct_ann_tasks_finish(struct ann_state *s, struct ct_analysis *a, uint64_t end);
/* Frees the task table without aggregating it. */
void ct_ann_tasks_finish_free(struct ann_state *s);
/* The name of task id ("" for 0 or unknown). */
const char *ct_ann_task_name(struct ann_state *s, uint64_t id);

/* outputs (regions.c, tasks.c) */
void ct_regions_text(const struct ct_output_ctx *oc, FILE *f);
void ct_regions_json(const struct ct_output_ctx *oc, struct ct_json *j);
void ct_tasks_text(const struct ct_output_ctx *oc, FILE *f);
void ct_tasks_json(const struct ct_output_ctx *oc, struct ct_json *j);

#endif
