/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format folded`: collapsed stacks for flamegraph.pl, speedscope and
 * Perfetto, one line per stack: frames root first separated by ';', a space, the value
 * (wait ns, or waits with --value count). Lines come from the profile entries; with
 * --folded-roots the thread name and the wait kind are the two root frames, which needs the
 * waits one by one (timeline.h): the waiter profiles' recorded waits and calls and the
 * wakeup profile are per thread, the calls a call site's counters hold beyond the recorded
 * ones and the holder profile are not, and take the process ("exe[pid]") as their root.
 * --profile wakechain writes, per wait whose release is known, the waiter's thread and
 * stack root first, a "--" frame, the releaser's stack leaf first and its thread: the
 * layout of bcc's offwaketime.
 */
#include "export.h"

#include <inttypes.h>
#include <string.h>

#include "timeline.h"
#include "util.h"

/* A frame's text: the function name, ';' and line breaks replaced (they separate). */
static void put_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : (*s == '\n' || *s == '\r') ? ' ' : *s, f);
}

static void put_frames(FILE *f, const struct ct_frame *fr, size_t n, int root_first, int sep)
{
	for (size_t i = 0; i < n; i++) {
		if (sep || i)
			fputc(';', f);
		put_name(f, fr[root_first ? n - 1 - i : i].func);
	}
}

static void put_process(FILE *f, const struct ct_export_input *x)
{
	fprintf(f, "%s[%" PRIu32 "]", x->m->hdr.exe[0] ? x->m->hdr.exe : "?", x->m->hdr.pid);
}

static void put_thread(FILE *f, const struct ct_export_input *x, uint32_t thr, uint32_t tid)
{
	const char *name = ct_export_thread_name(x, thr);

	if (name[0])
		put_name(f, name);
	else
		fprintf(f, "tid %" PRIu32, tid);
}

struct walk {
	const struct ct_output_ctx *c;
	const struct ct_export_input *x;
	FILE *f;
	int mode;  /* 0: roots for a waiter profile, 1: wakeup, 2: wakechain */
};

static void on_wait(void *arg, const struct ct_tl_wait *w)
{
	struct walk *k = arg;
	const struct ct_frame *fr;
	size_t n;
	uint64_t v;

	if (k->mode == 0) {
		if (!ct_export_wants(k->c, w->profile))
			return;
		v = w->end_ns - w->begin_ns;
	} else {
		if (w->syscall || !w->has_waker)
			return;
		v = k->mode == 1 ? (w->end_ns > w->waker_ts ? w->end_ns - w->waker_ts : 0)
				 : w->end_ns - w->begin_ns;
	}
	if (k->c->xo->value_count)
		v = 1;
	put_thread(k->f, k->x, w->thr, w->tid);
	if (k->mode != 2) {
		fputc(';', k->f);
		put_name(k->f, ct_kind_name(w->kind));
	}
	n = ct_frames_stack(k->x->fr, w->stack, &fr, NULL);
	put_frames(k->f, fr, n, 1, 1);
	if (k->mode == 2) {
		fputs(";--", k->f);
		n = ct_frames_stack(k->x->fr, w->waker_stack, &fr, NULL);
		put_frames(k->f, fr, n, 0, 1);
		fputc(';', k->f);
		put_thread(k->f, k->x, w->waker_thr, w->waker_tid);
	}
	fprintf(k->f, " %" PRIu64 "\n", v);
}

int ct_export_folded(const struct ct_output_ctx *c, FILE *f)
{
	const struct ct_export_opts *o = c->xo;

	for (size_t k = 0; k < c->nin; k++) {
		const struct ct_export_input *x = &c->in[k];
		struct walk wk = { c, x, f, 0 };

		if (ct_export_wants(c, CT_EXPORT_WAKECHAIN)) {
			wk.mode = 2;
			ct_timeline_foreach(x->m, x->a, on_wait, &wk);
			continue;
		}
		if (o->folded_roots) {
			int any = 0;

			for (int p = CT_AP_SYNC; p <= CT_AP_SLEEP; p++)
				any |= ct_export_wants(c, p);
			if (any)
				ct_timeline_foreach(x->m, x->a, on_wait, &wk);
			if (ct_export_wants(c, CT_AP_WAKEUP)) {
				wk.mode = 1;
				ct_timeline_foreach(x->m, x->a, on_wait, &wk);
			}
		}
		for (int p = 1; p < CT_AP_MAX; p++) {
			const struct ct_pentry *e;
			size_t n;

			if (!ct_export_wants(c, p))
				continue;
			/* with roots, only what the waits one by one did not cover */
			if (o->folded_roots && p != CT_AP_HOLDER && p > CT_AP_SLEEP)
				continue;
			e = ct_analysis_profile(x->a, p, &n);
			for (size_t i = 0; i < n; i++) {
				const struct ct_frame *fr;
				size_t nf;

				if (o->folded_roots && p != CT_AP_HOLDER && !e[i].remainder)
					continue;
				nf = ct_export_entry_frames(x, &e[i], &fr);
				if (o->folded_roots) {
					put_process(f, x);
					fputc(';', f);
					put_name(f, ct_kind_name(e[i].kind));
					put_frames(f, fr, nf, 1, 1);
				} else if (nf) {
					put_frames(f, fr, nf, 1, 0);
				} else {
					fputs("(no stack)", f);
				}
				fprintf(f, " %" PRIu64 "\n", o->value_count ? e[i].count : e[i].total_ns);
			}
		}
	}
	return 0;
}
