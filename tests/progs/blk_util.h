/* SPDX-License-Identifier: MIT */
/*
 * Shared by the blk_*.c test programs (semantics.c takes err_name, lockwait.c and
 * ann_regions.c now_ns and rq_now): the harness around the measured calls. Nothing here
 * waits (clock and /proc reads only) or is a site a test looks for: whatever waits
 * (sleep_ms, hold, reap, until_blocked, ...) stays in each program, where the traces
 * attribute its waits, and so does each program's own die().
 *
 *   now_ns()                       CLOCK_MONOTONIC in ns
 *   proc_read(path, buf, size)     a /proc file into buf (NUL-terminated): its length; -1
 *                                  when it cannot be opened or reads nothing
 *   task_syscall(tid, &nr, &arg1)  what /proc/self/task/TID/syscall says of thread tid:
 *                                  1 and the system call's number and first argument
 *                                  while it is in one; 0 when it is not ("running", or
 *                                  blocked outside a system call); -1 if unreadable
 *   task_in_syscall(tid, nrs, fd)  1 if tid is in one of the system calls nrs (ends with
 *                                  -1) and, unless fd is -1, its first argument is fd;
 *                                  else 0, or -1 if unreadable
 *   rq_now(&preempted), rq_total, MEASURED(once), print_totals(family, calls, total)
 *                                  the run-queue time of the measured calls, and the
 *                                  FAMILY_calls=, FAMILY_total_ns=, FAMILY_rq_ns= lines
 *   err_name(e)                    an errno value's name ("0", "EINTR", else the number)
 */
#ifndef BLK_UTIL_H
#define BLK_UTIL_H

#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- /proc ---- */

static inline ssize_t proc_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

static inline int task_syscall(pid_t tid, long *nr, unsigned long long *arg1)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (proc_read(path, buf, sizeof(buf)) < 0)
		return -1;
	if (!isdigit((unsigned char)buf[0]))
		return 0; /* "running", or -1: not in a system call */
	char *end;
	*nr = strtol(buf, &end, 10);
	*arg1 = strtoull(end, NULL, 0);
	return 1;
}

static inline int task_in_syscall(pid_t tid, const long *nrs, long fd)
{
	long nr;
	unsigned long long a1;
	int r = task_syscall(tid, &nr, &a1);
	if (r <= 0)
		return r;
	for (; *nrs != -1; nrs++)
		if (nr == *nrs)
			return fd == -1 || (long)a1 == fd;
	return 0;
}

/* ---- run-queue time around the measured calls ---- */

/* This thread's time spent waiting for a CPU so far (schedstat, 0 when unknown); *preempted
 * is how often it was switched out while it could run (involuntary context switches). */
static inline uint64_t rq_now(long *preempted)
{
	struct rusage ru;
	*preempted = getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
	char buf[128];
	if (proc_read("/proc/thread-self/schedstat", buf, sizeof(buf)) < 0)
		return 0;
	unsigned long long run = 0, wait = 0;
	if (sscanf(buf, "%llu %llu", &run, &wait) != 2)
		return 0;
	return wait;
}

/* The run-queue time of this family's measured calls during which the thread was
 * preempted, printed as FAMILY_rq_ns. A thread preempted just after a call returned waits
 * for a CPU between the tracer's clock and the program's: the test allows that much more
 * difference. Waiting for a CPU after a wake-up is no preemption and inside both clocks. */
static uint64_t rq_total __attribute__((unused));

/* The duration that ONCE (an *_once() call) returns, with its run-queue time added to
 * rq_total if the thread was preempted during it. */
#define MEASURED(once) \
	({ \
		long c0_, c1_; \
		uint64_t r0_ = rq_now(&c0_); \
		uint64_t d_ = (once); \
		uint64_t r1_ = rq_now(&c1_); \
		if (c1_ != c0_) \
			rq_total += r1_ - r0_; \
		d_; \
	})

/* The numbers of a family, after the program's own "FAMILY: N ... done" line; the next
 * family's rq_total starts at 0. */
static inline void print_totals(const char *family, int calls, uint64_t total)
{
	printf("%s_calls=%d\n", family, calls);
	printf("%s_total_ns=%llu\n", family, (unsigned long long)total);
	printf("%s_rq_ns=%llu\n", family, (unsigned long long)rq_total);
	rq_total = 0;
}

/* ---- errno ---- */

static inline const char *err_name(int e)
{
	static char buf[32];
	if (e == 0)
		return "0";
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

#endif
