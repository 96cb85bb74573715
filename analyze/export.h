/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export`: the analysed traces written for other tools. Each format is a row of
 * the output table (output.h, input CT_OUT_EXPORT) and one file (exp_pprof.c,
 * exp_folded.c, exp_chrome.c, exp_perfetto.c, exp_html.c) whose write function reads the
 * output context's in[0..nin) (the loaded and analysed inputs, several for a
 * multi-process program, with their frame caches) and xo (the options below). export.c
 * holds the command (option parsing, output files) and the helpers the exporters share. pprof and folded read only the aggregated results (profile entries, objects,
 * threads); the timelines read the waits through timeline.h. None of these functions runs
 * on the record path.
 */
#ifndef CTRACE_EXPORT_H
#define CTRACE_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "frames.h"
#include "model.h"
#include "output.h"

/* One input trace, loaded and analysed (with the command's filter and convoy options). */
struct ct_export_input {
	const char *path;
	struct ct_model *m;
	struct ct_analysis *a;
	struct ct_frames *fr;
};

/* The pseudo-profile of folded's --profile wakechain (beyond enum ct_aprofile). */
#define CT_EXPORT_WAKECHAIN CT_AP_MAX

struct ct_export_opts {
	unsigned profiles;    /* bits 1u << enum ct_aprofile (and CT_EXPORT_WAKECHAIN); 0: the
			       * format's default */
	int value_count;      /* folded: --value count (waits), else wait ns */
	int folded_roots;     /* folded: thread name and kind as root frames */
	int labels_all;       /* pprof: also the numeric tid and object labels */
	uint64_t split_bytes; /* chrome: start a new file beyond this many bytes (0: one) */
	const char *out;      /* the output path (chrome --split numbers the next files) */
	int force;            /* overwrite existing files */
};

/* The annotations of a loaded model m (analyze/regions.c): every region instance, when it
 * ends (nested ones before the region holding them; one still open ends with its thread),
 * and every log, on thread m->threads[thr]. Unbalanced ends are skipped. */
void ct_ann_walk(const struct ct_model *m, void *ctx,
		 void (*region)(void *ctx, uint32_t thr, uint64_t begin, uint64_t end,
				const char *name, const char *task),
		 void (*log)(void *ctx, uint32_t thr, uint64_t ts, const char *category,
			     const char *message));
/* `ctrace export`: see usage in export.c. */
int ct_cmd_export(int argc, char **argv);

/* ---- helpers shared by the exporters (export.c) ------------------------------------- */

/* Opens path for writing ("-": stdout); an existing file only with force (else a message
 * and NULL). */
FILE *ct_export_open(const char *path, int force);
/* Closes f (flushes stdout); -1 after a message when anything failed to be written. */
int ct_export_close(FILE *f, const char *path);

/* The profiles asked for, o->profiles. */
static inline int ct_export_wants(const struct ct_output_ctx *c, int profile)
{
	return (c->xo->profiles & (1u << profile)) != 0;
}

/* The frames of a profile entry: its stack, or for a remainder entry its call site. */
size_t ct_export_entry_frames(const struct ct_export_input *in, const struct ct_pentry *e,
			      const struct ct_frame **f);

/* The name of thread index thr of in's model ("" when unnamed). */
const char *ct_export_thread_name(const struct ct_export_input *in, uint32_t thr);

/* One sentence per problem of the input (truncated, lost events, unfinished waits) into
 * buf[cap], "" when none; returns buf. */
const char *ct_export_warnings(const struct ct_export_input *in, char *buf, size_t cap);

/* "func (file:line)" of the first frame of stack (the waiting site), "-" for none. */
const char *ct_export_site(const struct ct_export_input *in, uint32_t stack, char *buf,
			   size_t cap);

/* The same from a small cache of recent stacks (direct-mapped by id; the string lives
 * until the next call that maps to its slot, or ct_export_site_cache_free). */
struct ct_site_cache;
const char *ct_export_site_cached(struct ct_site_cache **cache,
				  const struct ct_export_input *in, uint32_t stack);
void ct_export_site_cache_free(struct ct_site_cache *cache);

#endif
