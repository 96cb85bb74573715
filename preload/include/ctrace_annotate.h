/* SPDX-License-Identifier: MIT */
/*
 * ctrace_annotate.h: tasks, regions, logs and labels for libctrace (Go's runtime/trace
 * tasks, regions and logs, and pprof labels, for C and C++ programs).
 *
 * Include it and call the functions below; nothing to link. Each function calls into
 * libctrace.so through a weak reference: under `ctrace record` (or LD_PRELOAD=libctrace.so)
 * each call records one event (no allocation, async-signal-safe); without libctrace the
 * references are null and each call is a load and a test (ctrace_task_begin returns 0).
 * The weak references bind at start-up, so the program must be position-independent
 * (PIE, the default of current compilers, or -fPIC), and libctrace preloaded, not
 * attached later.
 *
 *   ctrace_task_begin(parent, name)  a new task (a request, a job), child of parent (0:
 *                                    none); returns its id, 0 without libctrace. A task
 *                                    may cross threads.
 *   ctrace_task_end(task)            any thread may end it.
 *   ctrace_region_begin(task, name)  a region of the calling thread's time, in task (0:
 *   ctrace_region_end(task, name)    none); regions nest per thread, an end names the
 *                                    innermost open region (an end that does not match is
 *                                    ignored and counted).
 *   ctrace_log(task, category, msg)  a message at this point of the task.
 *   ctrace_label(key, value)         a label of the calling thread (value NULL removes it):
 *                                    waits while it is set carry it (pprof labels).
 *
 * Names are copied when the call is made: up to 88 bytes of a name, 111 of a log's
 * category and message together, 111 of a label's key and value together; the rest is cut.
 */
#ifndef CTRACE_ANNOTATE_H
#define CTRACE_ANNOTATE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t ctrace_task; /* 0: none */

/* Inlined into the caller, so that libctrace records the caller's call site. */
#if defined(__GNUC__)
#define CTRACE_ANNOTATE_INLINE static inline __attribute__((always_inline))
#else
#define CTRACE_ANNOTATE_INLINE static inline
#endif

/* libctrace.so's entry points; null when it is not loaded. */
extern ctrace_task ctrace_annotate_task_begin(ctrace_task parent, const char *name)
	__attribute__((weak));
extern void ctrace_annotate_task_end(ctrace_task task) __attribute__((weak));
extern void ctrace_annotate_region(int end, ctrace_task task, const char *name)
	__attribute__((weak));
extern void ctrace_annotate_log(ctrace_task task, const char *category, const char *message)
	__attribute__((weak));
extern void ctrace_annotate_label(const char *key, const char *value) __attribute__((weak));

CTRACE_ANNOTATE_INLINE ctrace_task ctrace_task_begin(ctrace_task parent, const char *name)
{
	return ctrace_annotate_task_begin ? ctrace_annotate_task_begin(parent, name) : 0;
}

CTRACE_ANNOTATE_INLINE void ctrace_task_end(ctrace_task task)
{
	if (ctrace_annotate_task_end)
		ctrace_annotate_task_end(task);
}

CTRACE_ANNOTATE_INLINE void ctrace_region_begin(ctrace_task task, const char *name)
{
	if (ctrace_annotate_region)
		ctrace_annotate_region(0, task, name);
}

CTRACE_ANNOTATE_INLINE void ctrace_region_end(ctrace_task task, const char *name)
{
	if (ctrace_annotate_region)
		ctrace_annotate_region(1, task, name);
}

CTRACE_ANNOTATE_INLINE void ctrace_log(ctrace_task task, const char *category, const char *message)
{
	if (ctrace_annotate_log)
		ctrace_annotate_log(task, category, message);
}

CTRACE_ANNOTATE_INLINE void ctrace_label(const char *key, const char *value)
{
	if (ctrace_annotate_label)
		ctrace_annotate_label(key, value);
}

#ifdef __cplusplus
}
#endif

#endif
