/* SPDX-License-Identifier: MIT */
/*
 * Tasks (README.md, "Regions and tasks"): every task id the annotations name, with its
 * name, begin and end (any thread may end it; one never ended lasts to the end of the
 * analysed time and is counted as unended), the threads that began, ended, logged to or
 * ran a region of it, its logs, and the waits inside its regions (regions.c adds them,
 * once per task). At the end the tasks are aggregated by name, with percentiles of their
 * durations from the log-linear histograms (lhist.h). The outputs are in regions_out.c.
 */
#include "regions.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct ann_task *ct_ann_task(struct ann_state *s, uint64_t id)
{
	uint32_t v = ct_htab_get(&s->task_by_id, id ? id : UINT64_MAX);
	struct ann_task *k;

	if (v != UINT32_MAX)
		return &s->tasks[v];
	ct_grow(&s->tasks, &s->ctasks, s->ntasks + 1, sizeof(*s->tasks));
	k = &s->tasks[s->ntasks];
	memset(k, 0, sizeof(*k));
	k->id = id;
	k->name = UINT32_MAX;
	ct_htab_put(&s->task_by_id, id ? id : UINT64_MAX, (uint32_t)s->ntasks++);
	return k;
}

void ct_ann_task_thread(struct ann_task *k, uint32_t tid)
{
	for (size_t i = 0; i < k->ntids; i++)
		if (k->tids[i] == tid)
			return;
	ct_grow(&k->tids, &k->ctids, k->ntids + 1, sizeof(*k->tids));
	k->tids[k->ntids++] = tid;
}

void ct_ann_task_begin(struct ann_state *s, uint64_t id, uint32_t name, uint64_t ts,
		       uint32_t tid)
{
	struct ann_task *k = ct_ann_task(s, id);

	k->name = name;
	k->begin = ts;
	ct_ann_task_thread(k, tid);
}

void ct_ann_task_end(struct ann_state *s, uint64_t id, uint64_t ts, uint32_t tid)
{
	struct ann_task *k = ct_ann_task(s, id);

	if (k->ended)
		return;
	k->ended = 1;
	k->end = ts;
	ct_ann_task_thread(k, tid);
}

void ct_ann_task_log(struct ann_state *s, uint64_t id, uint32_t tid)
{
	struct ann_task *k;

	if (!id)
		return;
	k = ct_ann_task(s, id);
	k->logs++;
	ct_ann_task_thread(k, tid);
}

const char *ct_ann_task_name(struct ann_state *s, uint64_t id)
{
	uint32_t v;

	if (!id)
		return "";
	v = ct_htab_get(&s->task_by_id, id);
	if (v == UINT32_MAX || s->tasks[v].name == UINT32_MAX)
		return "";
	return s->names[s->tasks[v].name];
}

static int cmp_task(const void *pa, const void *pb)
{
	const struct ct_task_stat *x = pa, *y = pb;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t x = *(const uint32_t *)pa, y = *(const uint32_t *)pb;

	return x < y ? -1 : x > y;
}

void ct_ann_tasks_finish(struct ann_state *s, struct ct_analysis *a, uint64_t end)
{
	/* one aggregate per name: the tasks of a name are contiguous after sorting by name */
	struct ct_lhist h = { 0 };
	uint32_t *order = ct_xmalloc((s->ntasks + 1) * sizeof(*order));
	uint32_t *tids = NULL;
	size_t n = 0, ntids = 0, ctids = 0;

	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].name != UINT32_MAX)
			order[n++] = (uint32_t)i;
	/* by name index: a name's tasks together */
	for (size_t i = 1; i < n; i++) {
		uint32_t v = order[i];
		size_t k = i;

		while (k > 0 && s->tasks[order[k - 1]].name > s->tasks[v].name) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = v;
	}
	a->tasks = ct_xcalloc(n + 1, sizeof(*a->tasks));
	for (size_t i = 0; i < n;) {
		uint32_t name = s->tasks[order[i]].name;
		struct ct_task_stat st = { .name = ct_xstrdup(s->names[name]) };

		ntids = 0;
		for (; i < n && s->tasks[order[i]].name == name; i++) {
			struct ann_task *k = &s->tasks[order[i]];
			uint64_t e = k->ended ? k->end : end;
			uint64_t d = e > k->begin ? e - k->begin : 0;

			st.count++;
			st.total_ns += d;
			if (d > st.max_ns)
				st.max_ns = d;
			ct_lhist_add(&h, d, 1);
			st.unended += !k->ended;
			st.logs += k->logs;
			for (int p = 0; p < CT_P_MAX; p++)
				st.blocked_ns[p] += k->blocked[p];
			for (size_t t = 0; t < k->ntids; t++) {
				ct_grow(&tids, &ctids, ntids + 1, sizeof(*tids));
				tids[ntids++] = k->tids[t];
			}
		}
		qsort(tids, ntids, sizeof(*tids), cmp_u32);
		for (size_t t = 0; t < ntids; t++)
			st.threads += !t || tids[t] != tids[t - 1];
		st.p50_ns = ct_lhist_pct(&h, 50);
		st.p99_ns = ct_lhist_pct(&h, 99);
		ct_lhist_clear(&h);
		a->tasks[a->ntasks++] = st;
	}
	ct_lhist_reset(&h);
	if (a->ntasks > 1)
		qsort(a->tasks, a->ntasks, sizeof(*a->tasks), cmp_task);
	for (size_t i = 0; i < s->ntasks; i++)
		free(s->tasks[i].tids);
	free(s->tasks);
	ct_htab_free(&s->task_by_id);
	free(order);
	free(tids);
}

void ct_ann_tasks_finish_free(struct ann_state *s)
{
	for (size_t i = 0; i < s->ntasks; i++)
		free(s->tasks[i].tids);
	free(s->tasks);
	ct_htab_free(&s->task_by_id);
	s->tasks = NULL;
	s->ntasks = s->ctasks = 0;
}
