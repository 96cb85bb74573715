/* SPDX-License-Identifier: MIT */
/*
 * Lock-order cycles as the outputs show them (lockorder.h): the text report's section,
 * the JSON `lock_order` array and one edge as a sentence for check's FAIL line and JUnit.
 * Kept apart from lockorder.c, the analysis, which needs no symbolization.
 */
#include "lockorder.h"

#include <inttypes.h>
#include <stdio.h>

#include "json.h"
#include "util.h"

/* "mutex lock_a (0x...)" or "mutex 0x..." when the address names no variable. */
static char *lock_str(struct ct_frames *fr, unsigned kind, uint64_t addr, char *buf,
		      size_t cap)
{
	char name[128];

	if (ct_frames_data_name(fr, addr, name, sizeof(name)))
		snprintf(buf, cap, "%s %s (0x%" PRIx64 ")", ct_kind_name(kind), name, addr);
	else
		snprintf(buf, cap, "%s 0x%" PRIx64, ct_kind_name(kind), addr);
	return buf;
}

static char *site_str(struct ct_frames *fr, uint32_t stack, char *buf, size_t cap)
{
	const struct ct_frame *f;

	if (!ct_frames_stack(fr, stack, &f, NULL))
		snprintf(buf, cap, "an unrecorded site");
	else
		ct_frame_str(&f[0], CT_FRAME_MODULE | CT_FRAME_PC, buf, cap);
	return buf;
}

/* The model and frames of ed's process (*m, *fr), and the thread that recorded ed (NULL
 * when unknown). */
static const struct ct_mthread *edge_thread(const struct ct_output_ctx *oc,
					    const struct ct_lo_edge *ed, const struct ct_model **m,
					    struct ct_frames **fr)
{
	*m = oc->m;
	*fr = oc->fr;
	ct_output_at(oc, oc->nproc, ed->proc, m, fr);
	return ed->thr < (*m)->nthreads ? &(*m)->threads[ed->thr] : NULL;
}

/* The members naming the thread that recorded ed: tid, thread (its name), pid. */
static void json_thread(struct ct_json *j, const struct ct_lo_edge *ed,
			const struct ct_mthread *t)
{
	ct_json_kv_u64(j, "tid", ed->tid);
	ct_json_kv_str(j, "thread", t ? t->name : "");
	ct_json_kv_u64(j, "pid", ed->pid);
}

char *ct_lo_edge_str(struct ct_frames *fr, const struct ct_model *m,
		     const struct ct_lo_edge *ed, char *buf, size_t cap)
{
	const struct ct_mthread *t = ed->thr < m->nthreads ? &m->threads[ed->thr] : NULL;
	char l[200], h[200], ls[256], hs[256];

	snprintf(buf, cap, "thread %" PRIu32 " (%s) took %s at %s while holding %s taken at %s",
		 ed->tid, t && t->name[0] ? t->name : "-", lock_str(fr, ed->kind, ed->lock, l, sizeof(l)),
		 site_str(fr, ed->acquired_stack, ls, sizeof(ls)),
		 lock_str(fr, ed->held_kind, ed->held, h, sizeof(h)),
		 site_str(fr, ed->held_stack, hs, sizeof(hs)));
	return buf;
}

/* The threads whose edge table filled (CT_EVF_LO_FULL): their graph stops there. */
static void full_text(const struct ct_output_ctx *oc, FILE *f)
{
	const struct ct_analysis *a = oc->a;

	if (!a->nlo_full)
		return;
	fprintf(f, "\nlock order: %zu thread%s took more distinct nested lock pairs than the "
		"recorder keeps per thread;\nthe pairs each took first after the time shown are "
		"not in the lock graph:\n", a->nlo_full, a->nlo_full == 1 ? "" : "s");
	for (size_t i = 0; i < a->nlo_full; i++) {
		const struct ct_lo_edge *ed = &a->lo_full[i];
		const struct ct_model *m;
		struct ct_frames *fr;
		const struct ct_mthread *t = edge_thread(oc, ed, &m, &fr);
		char d[CT_DUR_BUF];

		if (oc->nproc > 1)
			fprintf(f, "  [pid %" PRIu32 "]", ed->pid);
		fprintf(f, "  thread %" PRIu32 " (%s) from +%s\n", ed->tid,
			t && t->name[0] ? t->name : "-", ct_fmt_duration(ed->ts - m->start_ts, d));
	}
}

void ct_lo_text(const struct ct_output_ctx *oc, FILE *f)
{
	const struct ct_analysis *a = oc->a;

	full_text(oc, f);
	if (!a->nlock_order)
		return;
	fprintf(f, "\n== lock order: cycles of the lock graph (locks taken in opposite orders: "
		"a deadlock waiting to happen) ==\n");
	for (size_t i = 0; i < a->nlock_order; i++) {
		const struct ct_lo_cycle *cy = &a->lock_order[i];

		fprintf(f, "cycle %zu: %zu locks\n", i + 1, cy->n);
		for (size_t k = 0; k < cy->n; k++) {
			const struct ct_model *m;
			struct ct_frames *fr;
			char line[1024];

			edge_thread(oc, &cy->edges[k], &m, &fr);
			if (oc->nproc > 1)
				fprintf(f, "  [pid %" PRIu32 "]", cy->edges[k].pid);
			fprintf(f, "  %s\n", ct_lo_edge_str(fr, m, &cy->edges[k], line, sizeof(line)));
		}
	}
}

/* The keys of an edge's two locks in JSON: address, name, kind, the stack it was taken at. */
static const char *const took_keys[4] = { "lock", "lock_name", "kind", "acquired_at" };
static const char *const held_keys[4] = { "while_holding", "while_holding_name",
					  "while_holding_kind", "held_since" };

/* One of an edge's locks as the members keys[0..4): its address, its variable's name ("" for
 * none), its kind and the stack it was taken at. */
static void json_lock(struct ct_json *j, struct ct_frames *fr, const char *const keys[4],
		      uint64_t addr, unsigned kind, uint32_t stack)
{
	char name[128];

	ct_json_kv_hex(j, keys[0], addr);
	ct_json_kv_str(j, keys[1], ct_frames_data_name(fr, addr, name, sizeof(name)) ? name : "");
	ct_json_kv_str(j, keys[2], ct_kind_name(kind));
	ct_frames_json_stack(fr, j, keys[3], stack);
}

void ct_lo_json(const struct ct_output_ctx *oc, struct ct_json *j)
{
	const struct ct_analysis *a = oc->a;

	ct_json_key(j, "lock_order");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < a->nlock_order; i++) {
		const struct ct_lo_cycle *cy = &a->lock_order[i];

		ct_json_obj_begin(j);
		ct_json_key(j, "cycle");
		ct_json_arr_begin(j);
		for (size_t k = 0; k < cy->n; k++) {
			const struct ct_lo_edge *ed = &cy->edges[k];
			const struct ct_model *m;
			struct ct_frames *fr;
			const struct ct_mthread *t = edge_thread(oc, ed, &m, &fr);

			ct_json_obj_begin(j);
			json_lock(j, fr, took_keys, ed->lock, ed->kind, ed->acquired_stack);
			json_lock(j, fr, held_keys, ed->held, ed->held_kind, ed->held_stack);
			json_thread(j, ed, t);
			ct_json_obj_end(j);
		}
		ct_json_arr_end(j);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
	ct_json_kv_u64(j, "lock_order_edges", a->lo_edges);
	ct_json_key(j, "lock_order_full");
	ct_json_arr_begin(j);
	for (size_t i = 0; i < a->nlo_full; i++) {
		const struct ct_lo_edge *ed = &a->lo_full[i];
		const struct ct_model *m;
		struct ct_frames *fr;
		const struct ct_mthread *t = edge_thread(oc, ed, &m, &fr);

		ct_json_obj_begin(j);
		json_thread(j, ed, t);
		ct_json_kv_u64(j, "since_ns", ed->ts - m->start_ts);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}
