/* SPDX-License-Identifier: MIT */
/*
 * readall TRACE: the reading side of `ctrace report` alone, for make bench-analyze's
 * baseline. It streams TRACE as report does (ct_model_stream with two threads: reading,
 * checking, decompressing, decoding and merging on one; each block of merged events
 * handed to the other), and the second thread only counts the events instead of
 * analysing them. What report takes beyond this is the analyses' and the output's.
 * Prints "events=N"; exits 2 (with the reader's message) on a trace it cannot read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../../analyze/model.h"

static void count(void *ctx, const struct ct_sevent *v, size_t n)
{
	(void)v;
	*(uint64_t *)ctx += n;
}

int main(int argc, char **argv)
{
	struct ct_stream_opts o = { .threads = 2 }; /* as report's ct_analyze_file */
	struct ct_model *m;
	uint32_t *key_to_thr;
	size_t nkeys;
	uint64_t n = 0;
	char err[512];

	if (argc != 2) {
		fprintf(stderr, "usage: readall TRACE\n");
		return 2;
	}
	if (ct_model_stream(argv[1], &o, count, &n, &m, &key_to_thr, &nkeys, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "readall: %s: %s\n", argv[1], err);
		return 2;
	}
	printf("events=%" PRIu64 "\n", n);
	free(key_to_thr);
	ct_model_free(m);
	return 0;
}
