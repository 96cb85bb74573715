/* SPDX-License-Identifier: MIT */
/*
 * Lock-order cycles (analysis.h ct_analysis.lock_order) as the outputs show them: the text
 * report's section, the JSON `lock_order` array, and one edge as a sentence for check's
 * FAIL line and JUnit. Not for the record path.
 */
#ifndef CTRACE_LOCKORDER_H
#define CTRACE_LOCKORDER_H

#include <stdio.h>

#include "analysis.h"
#include "frames.h"
#include "output.h"

struct ct_json;
/* The text section "lock order" (nothing when no cycle was found). */
void ct_lo_text(const struct ct_output_ctx *oc, FILE *f);
/* "lock_order": [{"cycle": [edge...]}...] (README.md, "report --json"). */
void ct_lo_json(const struct ct_output_ctx *oc, struct ct_json *j);
/* One edge into buf: "thread T (NAME) took KIND LOCK at SITE while holding KIND LOCK taken
 * at SITE"; fr symbolizes the edge's trace, m names its threads. Returns buf. */
char *ct_lo_edge_str(struct ct_frames *fr, const struct ct_model *m,
		     const struct ct_lo_edge *ed, char *buf, size_t cap);

#endif
