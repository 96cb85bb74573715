/* SPDX-License-Identifier: MIT */
/*
 * The report of `ctrace report` (report.c) as a function of an analysed trace, so that
 * the command and the unit tests write the same text and JSON. The options that shape it
 * (struct ct_report_opts) are output.h's.
 */
#ifndef CTRACE_REPORT_H
#define CTRACE_REPORT_H

#include <stdio.h>
#include "analysis.h"
#include "model.h"
#include "output.h"

/* Writes the report of a (computed over m) to f, through the output table's "json" row
 * when o->json is set, else "text". Symbolizes with m's module map. */
void ct_report_write(FILE *f, const struct ct_report_opts *o, const struct ct_model *m,
		     const struct ct_analysis *a);
/* The same for the n traces ms[0..n) of one program analysed as one (ct_analysis_merge):
 * each result is symbolized with its own trace's model; the header gives the totals and
 * the JSON lists the processes. */
void ct_report_write_procs(FILE *f, const struct ct_report_opts *o,
			   const struct ct_model *const *ms, size_t n, const struct ct_analysis *a);

#endif
