/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format folded`: collapsed stacks for flamegraph.pl, speedscope and
 * Perfetto, one line per stack: frames root first separated by ';', a space, the value
 * (wait ns, or waits with --value count). Lines come from the profile entries, one per
 * entry; with --folded-roots the thread name (the releasing thread's in the holder
 * profile) and the wait kind are the two root frames, from entries split by thread (export.c
 * asks the analysis for them): one line per (thread, kind, stack). --profile wakechain
 * writes, per wait whose release is known (timeline.h), the waiter's thread and stack
 * root first, a "--" frame, the releaser's stack leaf first and its thread: the layout of
 * bcc's offwaketime.
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
};

/* --profile wakechain: one line per woken wait. */
static void on_wait(void *arg, const struct ct_tl_wait *w)
{
	struct walk *k = arg;
	const struct ct_frame *fr;
	size_t n;

	if (w->syscall || !w->has_waker)
		return;
	put_thread(k->f, k->x, w->thr, w->tid);
	n = ct_frames_stack(k->x->fr, w->stack, &fr, NULL);
	put_frames(k->f, fr, n, 1, 1);
	fputs(";--", k->f);
	n = ct_frames_stack(k->x->fr, w->waker_stack, &fr, NULL);
	put_frames(k->f, fr, n, 0, 1);
	fputc(';', k->f);
	put_thread(k->f, k->x, w->waker_thr, w->waker_tid);
	fprintf(k->f, " %" PRIu64 "\n", k->c->xo->value_count ? 1 : w->end_ns - w->begin_ns);
}

int ct_export_folded(const struct ct_output_ctx *c, FILE *f)
{
	const struct ct_export_opts *o = c->xo;

	for (size_t k = 0; k < c->nin; k++) {
		const struct ct_export_input *x = &c->in[k];
		struct walk wk = { c, x, f };

		if (ct_export_wants(c, CT_EXPORT_WAKECHAIN)) {
			ct_timeline_foreach(x->path, x->m, x->a, on_wait, &wk);
			continue;
		}
		for (int p = 1; p < CT_AP_MAX; p++) {
			const struct ct_pentry *e;
			size_t n;

			if (!ct_export_wants(c, p))
				continue;
			e = ct_analysis_profile(x->a, p, &n);
			for (size_t i = 0; i < n; i++) {
				const struct ct_frame *fr;
				size_t nf;

				nf = ct_export_entry_frames(x, &e[i], &fr);
				if (o->folded_roots) {
					put_thread(f, x, e[i].thr, e[i].thr < x->m->nthreads ?
						   x->m->threads[e[i].thr].tid : 0);
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
