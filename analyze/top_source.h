/* SPDX-License-Identifier: MIT */
/*
 * Where `ctrace top` gets its events: one small interface (struct ct_top_source) that a
 * source of a traced process implements. top_file.c implements it over a trace file being
 * written (streaming or attached processes), read as it grows through
 * ct_model_follow_* (model.h); top_flight.c implements it by asking a flight-mode process
 * for a snapshot of its recent generations every interval. Not for the record path.
 */
#ifndef CTRACE_TOP_SOURCE_H
#define CTRACE_TOP_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"

/* Where a source hands the events on: in time order, each once. */
typedef void (*ct_top_feed)(void *ctx, const struct ct_sevent *v, size_t n);

struct ct_top_source {
	/* Takes what the process wrote since the last call and hands the events it can
	 * order to the feed. Returns 1 when something was new, 0 when nothing was, -1 with
	 * a one-line message in err when the data is unusable (damaged, not incomplete). */
	int (*poll)(struct ct_top_source *s, char *err, size_t errlen);
	/* What was read so far: header, modules, stacks (valid until the next poll). */
	const struct ct_model *(*model)(const struct ct_top_source *s);
	/* The time (CLOCK_MONOTONIC ns) up to which every event has been handed on. */
	uint64_t (*now)(const struct ct_top_source *s);
	/* 1 when the writer is done (the process is gone, or no longer writes the trace):
	 * one more poll then reads the rest. */
	int (*finished)(struct ct_top_source *s);
	/* Hands on what is held, gives the finished model and the thread keys' map (as
	 * ct_model_stream does: free both) and frees s. */
	void (*close)(struct ct_top_source *s, struct ct_model **m, uint32_t **key_to_thr,
		      size_t *nkeys);
	char name[256];   /* what it follows, for the title line */
};

/* A source following the trace file at path (open: the file may still be written).
 * Returns NULL with a one-line message in err when it is no trace. */
struct ct_top_source *ct_top_file_source(const char *path, ct_top_feed feed, void *ctx,
					 char *err, size_t errlen);

/* A source asking process pid, in flight mode (CTRACE_MODE=flight), for a snapshot every
 * poll (top_flight.c): each read for its generations newer than the last one read, then
 * deleted. The first snapshot is taken now. Returns NULL with a one-line message in err
 * when the process gives none. */
struct ct_top_source *ct_top_flight_source(pid_t pid, ct_top_feed feed, void *ctx, char *err,
					   size_t errlen);

/* The trace process pid writes: the first of its open files (/proc/PID/fd) that is a
 * ctrace trace whose header names pid. Sets path (a /proc/PID/fd/N link, readable while
 * the process runs and, once opened, after) and shown (where the link points). Returns 0,
 * or -1 with a one-line message in err: no such process, its files not readable (another
 * user), or none of them is its trace (not traced). */
int ct_top_find_trace(pid_t pid, char *path, size_t cap, char *shown, size_t scap, char *err,
		      size_t errlen);

#endif
