/* SPDX-License-Identifier: MIT */
/*
 * The per-thread table (engine.h): lifetime from the model's thread instance, blocked
 * time per profile from the engine (nested waits counted once, system calls and call-site
 * remainders added), schedstat cpu and run-queue time (interpolated at a window's ends),
 * and the rest.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static int model_selected(const struct ct_filter *f, const struct ct_mthread *t)
{
	if (!f || (!f->ntids && !f->nnames))
		return 1;
	for (size_t i = 0; i < f->ntids; i++)
		if (f->tids[i] == t->tid)
			return 1;
	for (size_t i = 0; i < f->nnames; i++)
		if (ct_filter_name(f->names[i], t->name))
			return 1;
	return 0;
}

void ct_threads_finish(struct ct_eng *e, const struct ct_model *m, const uint32_t *key_to_thr,
		       size_t nkeys)
{
	struct ct_analysis *a = e->a;
	uint32_t *by_thr = ct_xmalloc((m->nthreads + 1) * sizeof(*by_thr));

	for (size_t i = 0; i < m->nthreads; i++)
		by_thr[i] = UINT32_MAX;
	for (size_t i = 0; i < e->nth; i++) {
		uint32_t k = e->th[i].key, thr = key_to_thr ? (k < nkeys ? key_to_thr[k] : UINT32_MAX) : k;

		if (thr < m->nthreads)
			by_thr[thr] = (uint32_t)i;
	}
	a->threads = ct_xcalloc(m->nthreads ? m->nthreads : 1, sizeof(*a->threads));
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct ct_mthread *t = &m->threads[i];
		const struct eng_thread *et = by_thr[i] != UINT32_MAX ? &e->th[by_thr[i]] : NULL;
		struct ct_thread_info *ti = &a->threads[a->nthreads];
		uint64_t start, end, blocked = 0;

		memset(ti, 0, sizeof(*ti));
		ti->tid = t->tid;
		ti->thr = (uint32_t)i;
		ti->name = t->name;
		ti->is_main = t->tid == m->hdr.pid;
		ti->start_func = ti->is_main ? 0 : t->start_func;
		/* no THREAD_START, not listed at the start, no name: it never had a slot; but
		 * an attached trace's threads that ran before the attach begin with events of
		 * their own (adopted at the first one), and had one */
		ti->untraced = !ti->is_main && !t->has_start && !t->in_first_gen && !t->name[0] &&
			       !(et && (m->hdr.flags & CT_HF_ATTACHED));
		if (t->has_start)
			start = t->start_ts;
		else if (ti->is_main || t->in_first_gen)
			start = m->start_ts;
		else
			start = t->first_seen_ts ? t->first_seen_ts : m->start_ts;
		end = t->has_end ? t->end_ts : m->end_ts;
		if (a->filtered && (!model_selected(e->f, t) || end < a->from_ts ||
				    start > a->to_ts))
			continue;
		if (start < a->from_ts)
			start = a->from_ts;
		if (end > a->to_ts)
			end = a->to_ts;
		ti->lifetime_ns = end > start ? end - start : 0;
		if (!a->filtered || (a->from_ts <= m->start_ts && a->to_ts >= m->end_ts)) {
			ti->cpu_ns = t->cpu_ns;
			ti->runq_ns = t->runq_ns;
		} else {
			uint64_t c0, r0, c1, r1;

			ct_model_sched_at(t, start, &c0, &r0);
			ct_model_sched_at(t, end, &c1, &r1);
			ti->cpu_ns = c1 > c0 ? c1 - c0 : 0;
			ti->runq_ns = r1 > r0 ? r1 - r0 : 0;
		}
		if (et) {
			memcpy(ti->blocked_ns, et->blocked, sizeof(ti->blocked_ns));
			ti->waits = et->waits;
			ti->syscalls = et->syscalls;
			ti->idle_ns = et->idle_ns;
			ti->idle = et->idle_ns * 2 > ti->lifetime_ns;
			if (et->nidle) {
				ti->idle_ents = ct_xmalloc(et->nidle * sizeof(*ti->idle_ents));
				memcpy(ti->idle_ents, et->idle, et->nidle * sizeof(*ti->idle_ents));
				ti->nidle_ents = et->nidle;
			}
		}
		for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
			blocked += ti->blocked_ns[p];
		blocked += ti->cpu_ns + ti->runq_ns;
		/* the parts add up to the lifetime: what is counted twice (the cpu and
		 * run-queue time the kernel counts inside a blocking call) is the overlap */
		ti->other_ns = ti->lifetime_ns > blocked ? ti->lifetime_ns - blocked : 0;
		ti->overlap_ns = blocked > ti->lifetime_ns ? blocked - ti->lifetime_ns : 0;
		a->nthreads++;
	}
	free(by_thr);
}
