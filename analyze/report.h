/* SPDX-License-Identifier: MIT */
/*
 * The report of `ctrace report` (report.c) as a function of an analysed trace, so that
 * the command and the unit tests write the same text and JSON: the options that shape it
 * and the writer.
 */
#ifndef CTRACE_REPORT_H
#define CTRACE_REPORT_H

#include <stdio.h>
#include "analysis.h"
#include "model.h"

struct ct_report_opts {
	int json;          /* the JSON document of analyze/README.md instead of text */
	long top;          /* at most this many entries per profile; -1: text 10, JSON all */
	unsigned profiles; /* (1u << enum ct_aprofile) bits of the profiles to show; 0: all */
	const char *path;  /* the trace's name in the text header */
	/* added with issue 4 (zero-initialised options keep the old behaviour) */
	int sort;          /* enum ct_sort: the text objects table's order (0: wait total) */
	int convoy_windows;/* text: every lock's per-window convoy measurements */
	const char *const *paths; /* several traces of one program: their names (npaths);
				   * NULL: path alone */
	size_t npaths;
};

/* Sort keys of the text objects table (--sort). */
enum ct_sort { CT_SORT_WAIT = 0, CT_SORT_COUNT, CT_SORT_MAX, CT_SORT_P99, CT_SORT_HOLD,
	       CT_SORT_WAITERS, CT_SORT_NKEYS };

/* Writes the report of a (computed over m) to f. Symbolizes with m's module map. */
void ct_report_write(FILE *f, const struct ct_report_opts *o, const struct ct_model *m,
		     const struct ct_analysis *a);
/* The same for the n traces ms[0..n) of one program analysed as one (ct_analysis_merge):
 * each result is symbolized with its own trace's model; the header gives the totals and
 * the JSON lists the processes. */
void ct_report_write_procs(FILE *f, const struct ct_report_opts *o,
			   const struct ct_model *const *ms, size_t n, const struct ct_analysis *a);

#endif
