/* SPDX-License-Identifier: MIT */
/*
 * The one interface through which the timeline exporters (Perfetto, Chrome, the HTML
 * timeline) and folded's per-thread forms see individual waits: each recorded wait and
 * system call of an analysed trace, with the release that ended it, delivered thread by
 * thread (the model's thread order) and in begin order within a thread. The analysis keeps
 * no per-event arrays: this function streams the trace file through the engine again
 * (ct_analyze_file_with) under the analysis' window and threads, up to the window's end,
 * and keeps the waits and calls of that window until they are delivered (their memory, about 100 bytes each, is
 * the timeline's; the trace's events are never held). Not on the record path.
 */
#ifndef CTRACE_TIMELINE_H
#define CTRACE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"
#include "model.h"

struct ct_tl_wait {
	uint32_t pid, tid;
	uint32_t thr;         /* index in the model's threads */
	uint8_t profile;      /* enum ct_profile: sync, net, syscall, sleep */
	uint8_t kind;         /* enum ct_kind */
	uint8_t fd_class;     /* enum ct_fd_class; CT_FD_UNKNOWN for waits */
	uint8_t syscall;      /* a recorded system call (no object, no waker) */
	uint64_t obj;         /* the object waited on (0 for system calls) */
	uint64_t begin_ns, end_ns; /* absolute (model) ns, clipped to the analysed window */
	uint32_t stack;       /* the waiting stack id */
	int unfinished;       /* no end recorded: lasts to the thread's or trace's end */
	int has_waker;        /* the release that ended it is known: */
	uint32_t waker_tid;
	uint32_t waker_thr;   /* index in the model's threads */
	uint64_t waker_ts;    /* absolute ns */
	uint32_t waker_stack;
};

/*
 * Calls fn(arg, w) for each wait and recorded system call of a (computed over m, the
 * model of the trace file at path, streamed or loaded), thread by thread in the model's
 * order, by begin within a thread (a wait nested in another, a signal handler's, comes
 * after the one it is nested in). Returns how many were delivered. w is valid during the
 * call only. Exits 2 with the reader's message when path cannot be read again.
 */
size_t ct_timeline_foreach(const char *path, const struct ct_model *m,
			   const struct ct_analysis *a,
			   void (*fn)(void *arg, const struct ct_tl_wait *w), void *arg);

/* The same in steps, for a writer that walks the waits more than once (html): open
 * streams the file and sorts its waits (on_disk: all of them written to the temporary
 * file, none held in memory, so that several timelines can be open at once); walk
 * delivers them as ct_timeline_foreach does, each time it is called; close frees it. */
struct ct_timeline;
struct ct_timeline *ct_timeline_open(const char *path, const struct ct_model *m,
				     const struct ct_analysis *a, int on_disk);
size_t ct_timeline_walk(struct ct_timeline *t,
			void (*fn)(void *arg, const struct ct_tl_wait *w), void *arg);
void ct_timeline_close(struct ct_timeline *t);

/* How many waits ct_timeline_foreach holds in memory (about 100 bytes each) before it
 * writes them, sorted, to a temporary file; the environment's CTRACE_EXPORT_TIMELINE_RUN
 * sets another number (the tests'). */
#define CT_TL_RUN_MAX ((size_t)1 << 19)

#endif
