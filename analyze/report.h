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
};

/* Writes the report of a (computed over m) to f. Symbolizes with m's module map. */
void ct_report_write(FILE *f, const struct ct_report_opts *o, const struct ct_model *m,
		     const struct ct_analysis *a);

#endif
