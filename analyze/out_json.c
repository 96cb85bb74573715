/* SPDX-License-Identifier: MIT */
/*
 * The "json" output format (output.h): the stable document of `ctrace report --json`,
 * described field by field in analyze/README.md: trace, processes, profiles, objects (with
 * convoy evidence), threads, thread_groups, deadlocks and wait_chains, each result with
 * its process's pid (several traces of one program: each symbolized with its own trace).
 * Compact, one document. Its records (a trace's members, objects, threads, a wait-chain
 * link) are also written alone for the formats that embed them (the HTML report).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "lockorder.h"
#include "regions.h"
#include "output.h"
#include "util.h"

struct ctx {
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

/* The members of the "trace" object. */
static void json_trace_members(struct ctx *c, struct ct_json *j)
{
	const struct ct_model *m = c->m;

	ct_json_kv_u64(j, "pid", m->hdr.pid);
	ct_json_kv_str(j, "exe", m->hdr.exe);
	ct_json_kv_u64(j, "duration_ns", ct_model_duration(m));
	ct_json_kv_u64(j, "threads", m->nthreads);
	ct_json_kv_u64(j, "events", m->nevents);
	ct_json_kv_u64(j, "lost_events", m->lost_total);
	ct_json_key(j, "lost");
	ct_json_obj_begin(j);
	for (int k = 0; k < CT_L_MAX; k++)
		ct_json_kv_u64(j, ct_lost_name((unsigned)k), m->lost[k]);
	ct_json_obj_end(j);
	ct_json_kv_bool(j, "truncated", m->truncated);
	ct_json_kv_bool(j, "spare", (m->hdr.flags & CT_HF_SPARE) != 0);
	ct_json_kv_bool(j, "fsize_limit", (m->hdr.flags & CT_HF_FSIZE) != 0);
	ct_json_kv_bool(j, "seccomp", (m->hdr.flags & CT_HF_SECCOMP) != 0);
	ct_json_kv_u64(j, "seccomp_threads", c->a->seccomp_threads);
	ct_json_kv_bool(j, "attached", (m->hdr.flags & CT_HF_ATTACHED) != 0);
	ct_json_kv_u64(j, "truncated_at", ct_model_truncated_at(m));
	ct_json_kv_u64(j, "damaged", m->damaged);
	{
		uint64_t n = 0;

		/* the recorder's count (the threads that needed a slot), or the untraced
		 * threads the others' events name (a join's target), when more */
		for (size_t i = 0; i < c->a->nthreads; i++)
			n += c->a->threads[i].untraced != 0;
		ct_json_kv_u64(j, "untraced_threads", m->untraced > n ? m->untraced : n);
	}
	ct_json_kv_u64(j, "from_ns", c->a->from_ts - m->start_ts);
	ct_json_kv_u64(j, "to_ns", c->a->to_ts - m->start_ts);
	ct_json_kv_bool(j, "filtered", c->a->filtered);
	ct_trigger_json(j, m, c->fr);
	ct_json_key(j, "convoy_thresholds");
	ct_json_obj_begin(j);
	ct_json_kv_u64(j, "window_ns", c->a->convoy.window_ns);
	ct_json_kv_double(j, "min_waiters", c->a->convoy.min_waiters);
	ct_json_kv_double(j, "max_empty", c->a->convoy.max_empty);
	ct_json_kv_u64(j, "min_run", c->a->convoy.min_run);
	ct_json_kv_double(j, "min_releases", c->a->convoy.min_releases);
	ct_json_kv_double(j, "wait_hold", c->a->convoy.wait_hold);
	ct_json_obj_end(j);
}

static void json_trace(struct ctx *c, struct ct_json *j)
{
	ct_json_key(j, "trace");
	ct_json_obj_begin(j);
	json_trace_members(c, j);
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
		ct_json_kv_u64(j, "min_ns", 1ull << b);
		ct_json_kv_u64(j, "count", h->count[b]);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static void json_entry(struct ctx *c, struct ct_json *j, const struct ct_pentry *e, int p)
{
	const struct ct_frame *f;
	size_t n;

	at(c, e->proc);
	n = ct_frames_entry(c->fr, e, &f, NULL);
	ct_json_obj_begin(j);
	ct_json_kv_str(j, "profile", ct_aprofile_name(p));
	ct_json_kv_str(j, "kind", ct_kind_name(e->kind));
	ct_json_kv_u64(j, "count", e->count);
	ct_json_kv_u64(j, "total_ns", e->total_ns);
	ct_json_kv_u64(j, "max_ns", e->max_ns);
	ct_json_kv_u64(j, "p50_ns", e->p50_ns);
	ct_json_kv_u64(j, "p99_ns", e->p99_ns);
	if (ct_aprofile_is_call(p)) {
		ct_json_kv_str(j, "fd_class", ct_fd_class_name(e->fd_class));
		ct_json_kv_u64(j, "stack_calls", e->stack_calls);
	}
	ct_frames_json_kv(j, "frames", f, n);
	if (p == CT_AP_HOLDER)
		ct_frames_json_stack(c->fr, j, "taken_frames", e->taken_stack);
	json_hist(j, &e->hist);
	ct_json_kv_u64(j, "pid", e->pid);
	ct_json_obj_end(j);
}

/* Totals per profile and kind, and the idle threads' part (README.md "Idle threads"). */
static void json_summary(struct ctx *c, struct ct_json *j)
{
	const struct ct_analysis *a = c->a;

	ct_json_key(j, "summary");
	ct_json_obj_begin(j);
	for (int p = CT_AP_SYNC; p < CT_AP_HOLDER; p++) {
		size_t n;
		const struct ct_pentry *e = ct_analysis_profile(a, p, &n);
		uint64_t cnt[CT_K_MAX] = { 0 }, tot[CT_K_MAX] = { 0 }, itot[CT_K_MAX] = { 0 };
		uint64_t all = 0, alln = 0, alli = 0;

		for (size_t i = 0; i < n; i++)
			if (e[i].kind < CT_K_MAX) {
				cnt[e[i].kind] += e[i].count;
				tot[e[i].kind] += e[i].total_ns;
				alln += e[i].count;
				all += e[i].total_ns;
			}
		for (size_t i = 0; i < a->nthreads; i++)
			for (size_t k = 0; a->threads[i].idle && k < a->threads[i].nidle_ents; k++) {
				const struct ct_idle_entry *x = &a->threads[i].idle_ents[k];

				if (x->profile == p && x->kind < CT_K_MAX) {
					itot[x->kind] += x->total_ns;
					alli += x->total_ns;
				}
			}
		ct_json_key(j, ct_aprofile_name(p));
		ct_json_obj_begin(j);
		ct_json_kv_u64(j, "count", alln);
		ct_json_kv_u64(j, "total_ns", all);
		ct_json_kv_u64(j, "idle_threads_ns", alli);
		ct_json_key(j, "kinds");
		ct_json_arr_begin(j);
		for (unsigned k = 0; k < CT_K_MAX; k++) {
			if (!cnt[k])
				continue;
			ct_json_obj_begin(j);
			ct_json_kv_str(j, "kind", ct_kind_name(k));
			ct_json_kv_u64(j, "count", cnt[k]);
			ct_json_kv_u64(j, "total_ns", tot[k]);
			ct_json_kv_u64(j, "idle_threads_ns", itot[k]);
			ct_json_obj_end(j);
		}
		ct_json_arr_end(j);
		ct_json_obj_end(j);
	}
	{
		uint64_t nidle = 0;

		for (size_t i = 0; i < a->nthreads; i++)
			nidle += (uint64_t)a->threads[i].idle;
		ct_json_kv_u64(j, "idle_threads", nidle);
	}
	ct_json_obj_end(j);
}

static void json_profiles(struct ctx *c, struct ct_json *j)
{
	ct_json_key(j, "profiles");
	ct_json_arr_begin(j);
	for (int p = 1; p < CT_AP_MAX; p++) {
		size_t n;
		const struct ct_pentry *e;

		if (!ct_output_wants(c->o, p))
			continue;
		e = ct_analysis_profile(c->a, p, &n);
		for (size_t i = 0; i < n && (c->o->top < 0 || (long)i < c->o->top); i++)
			json_entry(c, j, &e[i], p);
	}
	ct_json_arr_end(j);
}

static void json_convoy(struct ctx *c, struct ct_json *j, const struct ct_convoy *v)
{
	ct_json_obj_begin(j);
	ct_json_kv_u64(j, "start_ns", v->start_ns);
	ct_json_kv_u64(j, "end_ns", v->end_ns);
	ct_json_kv_u64(j, "window_ns", v->window_ns);
	ct_json_kv_u64(j, "windows", v->windows);
	ct_json_kv_u64(j, "total_windows", v->total_windows);
	ct_json_kv_u64(j, "longest_run", v->longest_run);
	ct_json_kv_double(j, "mean_waiters", v->mean_waiters);
	ct_json_kv_double(j, "empty_fraction", v->empty_fraction);
	ct_json_kv_double(j, "hold_fraction", v->hold_fraction);
	ct_json_kv_u64(j, "acquisitions", v->acquisitions);
	ct_json_kv_u64(j, "releases", v->releases);
	ct_json_kv_u64(j, "median_hold_ns", v->median_hold_ns);
	ct_json_kv_u64(j, "mean_hold_ns", v->mean_hold_ns);
	ct_json_kv_u64(j, "p99_hold_ns", v->p99_hold_ns);
	ct_json_kv_u64(j, "max_hold_ns", v->max_hold_ns);
	ct_json_kv_u64(j, "held_ns", v->held_ns);
	ct_json_kv_u64(j, "median_wait_ns", v->median_wait_ns);
	ct_json_kv_u64(j, "median_handoff_ns", v->median_handoff_ns);
	ct_json_kv_u64(j, "p99_handoff_ns", v->p99_handoff_ns);
	ct_json_kv_double(j, "throughput_cap_per_s", v->throughput_cap_per_s);
	ct_json_kv_u64(j, "lost_ns", v->lost_ns);
	ct_json_key(j, "series");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < v->nseries && (!c->o->max_series || i < c->o->max_series); i++) {
		const struct ct_convoy_window *w = &v->series[i];

		ct_json_obj_begin(j);
		ct_json_kv_u64(j, "start_ns", w->start_ns);
		ct_json_kv_double(j, "mean_waiters", w->mean_waiters);
		ct_json_kv_double(j, "empty_fraction", w->empty_fraction);
		ct_json_kv_double(j, "hold_fraction", w->held_fraction);
		ct_json_kv_u64(j, "acquisitions", w->acquisitions);
		ct_json_kv_u64(j, "releases", w->releases);
		ct_json_kv_u64(j, "median_wait_ns", w->median_wait_ns);
		ct_json_kv_u64(j, "median_hold_ns", w->median_hold_ns);
		ct_json_kv_u64(j, "median_handoff_ns", w->median_handoff_ns);
		ct_json_kv_bool(j, "queued", w->queued);
		ct_json_kv_bool(j, "convoy", w->convoy);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
	ct_frames_json_stack(c->fr, j, "waiter_frames", v->waiter_stack);
	ct_frames_json_stack(c->fr, j, "holder_frames", v->holder_stack);
	ct_json_obj_end(j);
}

/* The first max objects, as array elements. */
static void json_object_list(struct ctx *c, struct ct_json *j, size_t max)
{
	for (size_t i = 0; i < c->a->nobjs && i < max; i++) {
		const struct ct_object *o = &c->a->objs[i];
		char name[256];

		at(c, o->proc);
		ct_json_obj_begin(j);
		ct_json_kv_hex(j, "address", o->addr);
		ct_json_kv_str(j, "name", ct_frames_data_name(c->fr, o->addr, name, sizeof(name)));
		ct_json_kv_str(j, "kind", ct_kind_name(o->kind));
		ct_json_kv_u64(j, "contended", o->contended);
		ct_json_kv_u64(j, "wait_total_ns", o->wait_total_ns);
		ct_json_kv_u64(j, "wait_max_ns", o->wait_max_ns);
		ct_json_kv_u64(j, "wait_p50_ns", o->wait_p50_ns);
		ct_json_kv_u64(j, "wait_p99_ns", o->wait_p99_ns);
		ct_json_kv_u64(j, "releases", o->releases);
		ct_json_kv_u64(j, "wakeups", o->wakeups);
		ct_json_kv_u64(j, "max_waiters", o->max_waiters);
		ct_json_kv_u64(j, "unfinished", o->unfinished);
		ct_json_kv_u64(j, "wakeup_p50_ns", o->wakeup_p50_ns);
		ct_json_kv_u64(j, "wakeup_p99_ns", o->wakeup_p99_ns);
		ct_json_kv_u64(j, "wakeup_max_ns", o->wakeup_max_ns);
		ct_json_kv_u64(j, "holds", o->holds);
		ct_json_kv_u64(j, "holds_exact", o->holds_exact);
		ct_json_kv_u64(j, "holds_bounded", o->holds_bounded);
		ct_json_kv_u64(j, "holds_estimated", o->holds_estimated);
		ct_json_kv_u64(j, "hold_total_ns", o->hold_total_ns);
		ct_json_kv_u64(j, "hold_p50_ns", o->hold_p50_ns);
		ct_json_kv_u64(j, "hold_p99_ns", o->hold_p99_ns);
		ct_json_kv_u64(j, "hold_max_ns", o->hold_max_ns);
		ct_json_kv_u64(j, "hold_mean_ns", o->hold_mean_ns);
		ct_json_kv_u64(j, "held_ns", o->held_ns);
		ct_json_kv_double(j, "held_share", o->held_share);
		ct_json_kv_u64(j, "owner_changes", o->owner_changes);
		json_hist(j, &o->hist);
		ct_json_kv_bool(j, "convoy", o->convoy);
		ct_json_key(j, "convoy_evidence");
		if (o->convoy)
			json_convoy(c, j, &o->convoy_ev);
		else
			ct_json_null(j);
		ct_frames_json_stack(c->fr, j, "frames", o->first_stack);
		ct_frames_json_stack(c->fr, j, "first_seen", o->first_stack);
		ct_json_key(j, "under_lock");
		ct_json_arr_begin(j);
		for (size_t k = 0; k < o->nunder; k++) {
			const struct ct_underlock *u = &o->under[k];

			ct_json_obj_begin(j);
			ct_json_kv_str(j, "profile", ct_aprofile_name(u->profile));
			ct_json_kv_str(j, "kind", ct_kind_name(u->kind));
			ct_json_kv_u64(j, "count", u->count);
			ct_json_kv_u64(j, "total_ns", u->total_ns);
			ct_json_kv_u64(j, "max_ns", u->max_ns);
			ct_frames_json_stack(c->fr, j, "frames", u->stack);
			ct_frames_json_stack(c->fr, j, "taken_frames", u->taken_stack);
			ct_json_obj_end(j);
		}
		ct_json_arr_end(j);
		ct_json_kv_u64(j, "pid", o->pid);
		ct_json_obj_end(j);
	}
}

void ct_out_json_blocked(struct ct_json *j, const uint64_t blocked_ns[CT_P_MAX])
{
	ct_json_key(j, "blocked_ns");
	ct_json_obj_begin(j);
	for (int p = CT_P_SYNC; p < CT_P_MAX; p++)
		ct_json_kv_u64(j, ct_aprofile_name(p), blocked_ns[p]);
	ct_json_obj_end(j);
}

/* The first max threads, as array elements. */
static void json_thread_list(struct ctx *c, struct ct_json *j, size_t max)
{
	for (size_t i = 0; i < c->a->nthreads && i < max; i++) {
		const struct ct_thread_info *t = &c->a->threads[i];

		ct_json_obj_begin(j);
		ct_json_kv_u64(j, "tid", t->tid);
		ct_json_kv_str(j, "name", t->name);
		ct_json_kv_bool(j, "untraced", t->untraced != 0);
		ct_json_kv_str(j, "start_func", ct_output_start_func(c->oc, t));
		ct_json_kv_u64(j, "lifetime_ns", t->lifetime_ns);
		ct_json_kv_u64(j, "cpu_ns", t->cpu_ns);
		ct_json_kv_u64(j, "runqueue_ns", t->runq_ns);
		ct_json_kv_u64(j, "other_ns", t->other_ns);
		ct_json_kv_u64(j, "overlap_ns", t->overlap_ns);
		ct_out_json_blocked(j, t->blocked_ns);
		ct_json_kv_u64(j, "waits", t->waits);
		ct_json_kv_u64(j, "syscalls", t->syscalls);
		ct_json_kv_u64(j, "idle_ns", t->idle_ns);
		ct_json_kv_bool(j, "idle", t->idle);
		ct_json_kv_u64(j, "pid", t->pid);
		ct_json_obj_end(j);
	}
}

/* The member key: an array of every element list writes (json_object_list's, ...). */
static void json_all(struct ctx *c, struct ct_json *j, const char *key,
		     void (*list)(struct ctx *, struct ct_json *, size_t))
{
	ct_json_key(j, key);
	ct_json_arr_begin(j);
	list(c, j, SIZE_MAX);
	ct_json_arr_end(j);
}

static void json_thread_groups(struct ctx *c, struct ct_json *j)
{
	const struct ct_thread_info **ord = ct_output_threads_by_group(c->oc);
	size_t n = c->a->nthreads;

	ct_json_key(j, "thread_groups");
	ct_json_arr_begin(j);
	for (size_t i = 0, k; i < n; i = k) {
		const char *g = ct_output_start_func(c->oc, ord[i]);
		uint64_t life = 0, cpu = 0, runq = 0, other = 0, blk[CT_P_MAX] = { 0 }, ov = 0;
		uint64_t nidle = 0;

		for (k = i; k < n && ord[k]->is_main == ord[i]->is_main &&
			    !strcmp(ct_output_group_name(c->oc, ord[k]),
				    ct_output_group_name(c->oc, ord[i])); k++) {
			life += ord[k]->lifetime_ns;
			cpu += ord[k]->cpu_ns;
			runq += ord[k]->runq_ns;
			other += ord[k]->other_ns;
			ov += ord[k]->overlap_ns;
			nidle += (uint64_t)ord[k]->idle;
			for (int p = 0; p < CT_P_MAX; p++)
				blk[p] += ord[k]->blocked_ns[p];
		}
		ct_json_obj_begin(j);
		ct_json_kv_str(j, "start_func", g);
		/* grouped by start routine, or by name when it is not known */
		ct_json_kv_str(j, "group", ct_output_group_name(c->oc, ord[i]));
		ct_json_kv_u64(j, "threads", k - i);
		ct_json_key(j, "tids");
		ct_json_arr_begin(j);
		for (size_t x = i; x < k; x++)
			ct_json_u64(j, ord[x]->tid);
		ct_json_arr_end(j);
		ct_json_kv_u64(j, "lifetime_ns", life);
		ct_json_kv_u64(j, "cpu_ns", cpu);
		ct_json_kv_u64(j, "runqueue_ns", runq);
		ct_json_kv_u64(j, "other_ns", other);
		ct_json_kv_u64(j, "overlap_ns", ov);
		ct_json_kv_u64(j, "idle_threads", nidle);
		ct_out_json_blocked(j, blk);
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
	ct_json_kv_u64(j, "tid", l->tid);
	ct_json_kv_str(j, "name", t ? t->name : "");
	ct_json_kv_str(j, "kind", ct_kind_name(w->kind));
	ct_json_kv_hex(j, "waits_on", l->obj);
	ct_json_kv_u64(j, "held_by", l->held_by);
	ct_json_kv_u64(j, "since_ns", w->begin - c->m->start_ts);
	ct_json_kv_u64(j, "pid", l->pid);
	ct_frames_json_stack(c->fr, j, "frames", w->stack);
	if (l->held_known)
		ct_frames_json_stack(c->fr, j, "held_frames", l->held_stack);
	else
		ct_frames_json_kv(j, "held_frames", NULL, 0);
	ct_json_kv_bool(j, "held_frames_recorded", l->held_known);
	ct_json_kv_str(j, "held_frames_from",
		       held_from_name(l->held_known ? l->held_from : CT_HELD_NONE));
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
		const struct ct_model *m = c->nproc > 1 ? c->oc->ms[i] : c->m;
		const char *path = c->o->paths && i < c->o->npaths ? c->o->paths[i] : c->o->path;

		ct_json_obj_begin(j);
		ct_json_kv_u64(j, "pid", m->hdr.pid);
		ct_json_kv_str(j, "exe", m->hdr.exe);
		ct_json_kv_str(j, "file", path ? path : "");
		ct_json_kv_u64(j, "duration_ns", ct_model_duration(m));
		ct_json_kv_u64(j, "events", m->nevents);
		ct_json_kv_u64(j, "lost_events", m->lost_total);
		ct_json_kv_bool(j, "truncated", m->truncated);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static struct ctx ctx_of(const struct ct_output_ctx *oc)
{
	return (struct ctx){ .o = oc->o, .m = oc->m, .a = oc->a, .fr = oc->fr, .oc = oc,
			     .nproc = oc->nproc };
}

void ct_out_json_trace_members(const struct ct_output_ctx *oc, struct ct_json *j)
{
	struct ctx c = ctx_of(oc);

	json_trace_members(&c, j);
}

void ct_out_json_objects(const struct ct_output_ctx *oc, struct ct_json *j, size_t max)
{
	struct ctx c = ctx_of(oc);

	json_object_list(&c, j, max);
}

void ct_out_json_threads(const struct ct_output_ctx *oc, struct ct_json *j, size_t max)
{
	struct ctx c = ctx_of(oc);

	json_thread_list(&c, j, max);
}

void ct_out_json_link(const struct ct_output_ctx *oc, struct ct_json *j,
		      const struct ct_chain_link *l)
{
	struct ctx c = ctx_of(oc);

	json_link(&c, j, l);
}

int ct_out_json(const struct ct_output_ctx *oc, FILE *f)
{
	struct ctx c = ctx_of(oc);
	struct ct_json j;

	ct_json_init(&j, f);
	ct_json_obj_begin(&j);
	json_trace(&c, &j);
	json_processes(&c, &j);
	json_summary(&c, &j);
	json_profiles(&c, &j);
	json_all(&c, &j, "objects", json_object_list);
	json_all(&c, &j, "threads", json_thread_list);
	json_thread_groups(&c, &j);
	json_deadlocks(&c, &j);
	ct_lo_json(oc, &j);
	ct_regions_json(oc, &j);
	ct_tasks_json(oc, &j);
	ct_json_obj_end(&j);
	ct_json_end(&j);
	return 0;
}
