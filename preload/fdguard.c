/* SPDX-License-Identifier: MIT */
/*
 * libctrace's own file descriptors, kept out of the program's way: the trace file and
 * libunwind's memory-validation pipe. Both are moved to numbers >= 900 (so the program's
 * opens get the numbers they would get untraced) and are protected from programs that
 * close every descriptor they do not know (daemons, closefrom(3)):
 *
 *  - close(fd) of a protected fd by the program returns -1/EBADF without closing it,
 *    exactly what the program would see untraced, where nothing is open at that number;
 *  - close_range(first, last, 0) and closefrom(low) close everything else in the range
 *    and return what the real call returns;
 *  - close_range(..., CLOSE_RANGE_CLOEXEC) passes through (ours are close-on-exec).
 *
 * libunwind opens its pipe with pipe2 (through the PLT) inside a capture, i.e. with the
 * guard held and no program signal handler running: such a pipe2 is libunwind's. If the
 * pipe stayed at a low number, a program that closed it and reused the number would have
 * libunwind read from and write into its socket. Calls made inside libctrace (the guard
 * held) close protected fds for real.
 *
 * Every close path here also forgets the class io.c cached for the numbers it closes.
 *
 * Not covered: dup2/dup3 onto a protected number (the program would replace it: the
 * tracer then writes into the program's file only if it chose a number >= 900), and raw
 * close system calls other than through syscall().
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ctrace.h"

#define PROT_MAX 8
#define HIGH_FD 900

static atomic_int prot[PROT_MAX];
static atomic_int nprot; /* slots ever used: a bound for the scans */

void ct_fd_protect(int fd)
{
	if (fd < 0)
		return;
	for (int i = 0; i < PROT_MAX; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&prot[i], &expect, fd + 1)) {
			int n = atomic_load(&nprot);
			while (n < i + 1 && !atomic_compare_exchange_weak(&nprot, &n, i + 1))
				;
			return;
		}
	}
}

void ct_fd_unprotect(int fd)
{
	for (int i = 0; i < PROT_MAX; i++) {
		int expect = fd + 1;
		if (atomic_compare_exchange_strong(&prot[i], &expect, 0))
			return;
	}
}

int ct_fd_is_protected(int fd)
{
	int n = atomic_load_explicit(&nprot, memory_order_relaxed);
	for (int i = 0; i < n; i++)
		if (atomic_load_explicit(&prot[i], memory_order_relaxed) == fd + 1)
			return 1;
	return 0;
}

/* The call comes from libctrace itself or a library it runs (libunwind), not from the
 * program or a program signal handler. */
static int from_inside(void)
{
	return ct_tls.nest > 0 && !ct_in_signal;
}

int ct_fd_close_refused(int fd)
{
	if (likely(atomic_load_explicit(&nprot, memory_order_relaxed) == 0) || fd < 0 ||
	    !ct_fd_is_protected(fd))
		return 0;
	if (from_inside()) {
		ct_fd_unprotect(fd);
		return 0;
	}
	return 1;
}

/* Moves fd to a number >= HIGH_FD, close-on-exec; returns the new number (or fd). */
int ct_fd_move_high(int fd)
{
	int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, HIGH_FD);
	if (hi < 0) {
		/* A descriptor limit at or below HIGH_FD (ulimit -n 256): the top of what the
		 * limit allows, out of the way of the low numbers programs get. */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > HIGH_FD ||
		    rl.rlim_cur < 16)
			return fd;
		for (int at = (int)rl.rlim_cur - 1; at >= (int)rl.rlim_cur - 8 && hi < 0; at--)
			if (REAL(fcntl)(at, F_GETFD) < 0 && errno == EBADF)
				hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, at);
		if (hi < 0)
			return fd;
	}
	REAL(close)(fd);
	ct_fdclass_forget(fd);
	ct_fdclass_forget(hi);
	return hi;
}

CT_EXPORT int pipe2(int fds[2], int flags)
{
	if (unlikely(!REAL(pipe2))) {
		errno = ENOSYS;
		return -1;
	}
	int r = ct_real.pipe2(fds, flags);
	if (r != 0)
		return r;
	if (!from_inside()) {
		ct_fdclass_set(fds[0], CT_FD_PIPE);
		ct_fdclass_set(fds[1], CT_FD_PIPE);
		return r;
	}
	int e = errno;
	for (int i = 0; i < 2; i++) {
		fds[i] = ct_fd_move_high(fds[i]);
		ct_fd_protect(fds[i]);
	}
	errno = e;
	return r;
}

/* The smallest protected fd in [lo, hi], or -1. */
static int next_protected(unsigned lo, unsigned hi)
{
	int best = -1, n = atomic_load(&nprot);
	for (int i = 0; i < n; i++) {
		int f = atomic_load(&prot[i]) - 1;
		if (f >= 0 && (unsigned)f >= lo && (unsigned)f <= hi && (best < 0 || f < best))
			best = f;
	}
	return best;
}

static int close_range_around(unsigned first, unsigned last, int flags)
{
	if (likely(atomic_load_explicit(&nprot, memory_order_relaxed) == 0) ||
	    (flags & CLOSE_RANGE_CLOEXEC) || first > last || from_inside())
		return REAL(close_range)(first, last, flags);
	int p = next_protected(first, last);
	if (p < 0)
		return REAL(close_range)(first, last, flags);
	/* Close around each protected fd; the first failure is the call's result. */
	unsigned lo = first;
	while (p >= 0) {
		if ((unsigned)p > lo) {
			int r = REAL(close_range)(lo, (unsigned)p - 1, flags);
			if (r != 0)
				return r;
		}
		if ((unsigned)p == last)
			return 0;
		lo = (unsigned)p + 1;
		p = next_protected(lo, last);
	}
	return REAL(close_range)(lo, last, flags);
}

int ct_close_range_guarded(unsigned first, unsigned last, int flags)
{
	int r = close_range_around(first, last, flags);
	/* Forgotten even when it failed part way: forgetting is always right. */
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		ct_fdclass_forget_range(first, last);
	return r;
}

CT_EXPORT void closefrom(int low)
{
	if (unlikely(!REAL(closefrom)))
		return;
	if (likely(atomic_load_explicit(&nprot, memory_order_relaxed) == 0) || low < 0 ||
	    from_inside() || next_protected((unsigned)low, ~0u) < 0) {
		ct_real.closefrom(low);
		/* glibc closes from 0 when low is negative */
		ct_fdclass_forget_range((unsigned)(low < 0 ? 0 : low), ~0u);
		return;
	}
	int e = errno;
	/* glibc's closefrom is close_range(low, ~0U, 0) with a /proc/self/fd fallback. */
	unsigned lo = (unsigned)low;
	int p;
	while ((p = next_protected(lo, ~0u)) >= 0) {
		if ((unsigned)p > lo && REAL(close_range)(lo, (unsigned)p - 1, 0) != 0)
			for (unsigned f = lo; f < (unsigned)p; f++)
				REAL(close)((int)f);
		lo = (unsigned)p + 1;
	}
	ct_real.closefrom((int)lo);
	ct_fdclass_forget_range((unsigned)low, ~0u);
	errno = e;
}
