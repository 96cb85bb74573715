/* SPDX-License-Identifier: MIT */
/*
 * What the system-call files share (preload/README.md, "System calls"): the fd-class cache
 * (fdclass.c), the fast path's clock (tick.c) and the per-thread call-site tables
 * (sites.c), used by the wrappers (io.c). Internal to preload/; the functions the rest of
 * libctrace calls are declared in ctrace.h. Every function here may run on the record
 * path unless its comment says otherwise.
 */
#ifndef CTRACE_PRELOAD_IO_H
#define CTRACE_PRELOAD_IO_H

#include <stdint.h>
#include <sys/socket.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "wait.h"

/* ---- fd classes (fdclass.c) ---- */

/*
 * One byte per fd number for numbers below CT_FDCLASS_CACHE: the class + 1 in the low four
 * bits (0 unknown), in the high four the period of the last slow-call check (0: never; see
 * ct_fdclass_checked). CT_FDCLASS_CACHE is Linux's default ceiling on open files
 * (fs.nr_open): 1 MiB of zero pages in .bss, a page becomes resident only when a number in
 * it is used. Shared by all threads (the fd table is); entries are single bytes, so racing
 * writers cannot tear them.
 */
#define CT_FDCLASS_CACHE (1u << 20)
extern uint8_t ct_fdclass_cache[CT_FDCLASS_CACHE];
#define CT_FDCLASS_OF(byte) ((byte) & 15u)
#define CT_FDCLASS_PERIOD(byte) ((byte) >> 4)

/* First use of a number since it was (re)created or forgotten: one statx (errno
 * untouched); a number that is not open is not cached. Returns its enum ct_fd_class. */
__attribute__((noinline)) unsigned ct_fdclass_learn(int fd);

/* The class of fd for a fast call: one load when cached; no system call for numbers
 * beyond the cache (unknown). */
static inline unsigned ct_fdclass_get(int fd)
{
	if (likely((unsigned)fd < CT_FDCLASS_CACHE)) {
		unsigned c = CT_FDCLASS_OF(ct_fdclass_cache[fd]);
		if (likely(c))
			return c - 1;
		return ct_fdclass_learn(fd);
	}
	return fd < 0 ? CT_FD_NONE : CT_FD_UNKNOWN;
}

/* The class of fd for a slow call about to be recorded with its stack: checked again
 * with statx at most once per period of 2^30 ns per number. now: CLOCK_MONOTONIC ns. */
unsigned ct_fdclass_checked(int fd, uint64_t now);
/* to gets from's class if that is known, else is forgotten (dup, F_DUPFD). */
void ct_fdclass_copy(int to, int from);
/* fds received with SCM_RIGHTS in m are new numbers of any class: forgotten. */
void ct_fdclass_forget_passed(struct msghdr *m);

/* ---- the fast path's clock (tick.c) ---- */

/* 1: ticks are the TSC; 0: ticks are CLOCK_MONOTONIC ns. Set by ct_tick_init. */
extern int ct_tick_tsc;
/* The slow-call threshold (CTRACE_SYSCALL_THRESHOLD) in ticks; atomic. */
extern uint64_t ct_tick_threshold;

/* A tick count now. */
static inline uint64_t ct_ticks(void)
{
#if defined(__x86_64__)
	if (likely(ct_tick_tsc))
		return __rdtsc();
#endif
	return ct_now();
}

/* Calibrates ticks against CLOCK_MONOTONIC (~20 us). Constructor only (reads the
 * clocksource from /sys). */
void ct_tick_init(void);
/* A duration in ticks, in ns. */
uint64_t ct_tick_to_ns(uint64_t t);
/* Refines the tick rate with a (tick, CLOCK_MONOTONIC ns) pair read together; an estimate
 * more than 1% away from the current one is not taken. No system call (the vDSO). */
void ct_tick_refine(uint64_t tick, uint64_t ns);
/* The same with a pair read now. */
void ct_tick_refine_now(void);

/* ---- call sites (sites.c) ---- */

/* After the real call that began at tick t0: counts it at call site `site` (the return
 * address into the program) with kind and fd's class in the thread's table; a call of at
 * least the threshold (or by a thread not yet known) also records a SYSCALL event with its
 * stack. ret: the call's return value (negative: failed, errno is its error). errno is
 * left as it is. */
__attribute__((noinline)) void ct_sites_end(uint64_t t0, unsigned kind, int fd, int64_t ret,
					    void *site);

#endif
