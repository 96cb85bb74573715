/* SPDX-License-Identifier: MIT */
/*
 * Shared by the proc_*.c test programs: deterministic contention. Instead of holding a
 * lock "long enough" (a sleep that a loaded machine can outlast), the holder waits until
 * the waiter is asleep in the kernel on the very object: /proc/self/task/TID/syscall
 * shows the system call number and its arguments of a thread blocked in a system call.
 *
 *   proc_blocked_in(tid, nr, obj, size)  1 if thread tid sleeps in system call nr with
 *                                        its first argument inside [obj, obj + size)
 *                                        (obj NULL: any first argument)
 *   proc_wait_blocked(tidp, nr, obj, size)  waits (up to 30 s, then exits 99 with a line
 *                                        on stderr) until *tidp is set and that thread
 *                                        sleeps so; polls every 50 us
 */
#ifndef PROC_UTIL_H
#define PROC_UTIL_H

#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline int proc_blocked_in(pid_t tid, long nr, const void *obj, size_t size)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *end;
	long got = strtol(buf, &end, 10);
	if (end == buf || got != nr)
		return 0;
	if (!obj)
		return 1;
	uintptr_t a = (uintptr_t)strtoull(end, NULL, 16);
	return a >= (uintptr_t)obj && a < (uintptr_t)obj + size;
}

static inline void proc_wait_blocked(_Atomic pid_t *tidp, long nr, const void *obj,
				     size_t size)
{
	struct timespec poll = { 0, 50000 };
	for (long i = 0; i < 600000; i++) {
		pid_t tid = atomic_load(tidp);
		if (tid && proc_blocked_in(tid, nr, obj, size))
			return;
		nanosleep(&poll, NULL);
	}
	fprintf(stderr, "proc_wait_blocked: thread %d never slept in system call %ld\n",
		(int)atomic_load(tidp), nr);
	_exit(99);
}

#endif
