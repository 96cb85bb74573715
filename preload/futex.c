/* SPDX-License-Identifier: MIT */
/*
 * syscall(): futex-based locks of other runtimes (Rust's std, Abseil, C++20 atomic waits,
 * GLib) call syscall(SYS_futex, ...) through libc rather than any pthread function. Waits
 * (FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_WAIT_REQUEUE_PI) are
 * recorded with kind futex on the futex word's address; wakes (FUTEX_WAKE,
 * FUTEX_WAKE_BITSET, FUTEX_UNLOCK_PI) made while someone waits there are releases.
 * syscall(SYS_exit_group) flushes the trace first, as _exit does; syscall(SYS_close) and
 * syscall(SYS_close_range) leave libctrace's own fds open (fdguard.c). Every other system
 * call passes through untouched. Inline syscall instructions (Go's
 * runtime, some allocators) cannot be seen from here.
 *
 * syscall() is variadic; like glibc's own implementation, the wrapper forwards six
 * register-sized arguments, which is what the kernel ABI takes.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "wait.h"

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

static int is_wait(int cmd)
{
	return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_LOCK_PI ||
	       cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_WAIT_REQUEUE_PI;
}

static int is_wake(int cmd)
{
	return cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET || cmd == FUTEX_UNLOCK_PI;
}

CT_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	long (*real)(long, ...) = REAL(syscall);
	if (unlikely(nr == SYS_exit_group)) {
		ct_writer_finish();
		return real(nr, a1, a2, a3, a4, a5, a6);
	}
	if (unlikely(nr == SYS_close) && ct_fd_close_refused((int)a1)) {
		errno = EBADF;
		return -1;
	}
	if (unlikely(nr == SYS_close_range))
		return ct_close_range_guarded((unsigned)a1, (unsigned)a2, (int)a3);
	if (nr != SYS_futex || !ct_on())
		return real(nr, a1, a2, a3, a4, a5, a6);

	const void *uaddr = (const void *)a1;
	int cmd = (int)a2 & FUTEX_CMD_MASK;
	if (is_wait(cmd)) {
		struct ct_wait w;
		ct_wait_begin(&w, CT_K_FUTEX, uaddr, 0, 0, 0);
		long r = real(nr, a1, a2, a3, a4, a5, a6);
		/* A FUTEX_WAIT whose word had already changed returns EAGAIN at once: the
		 * result says so and the analyzer keeps it as a (short) wait. */
		ct_wait_end(&w, r == 0 ? 0 : errno);
		return r;
	}
	struct ct_release rel;
	if (is_wake(cmd) && ct_release_begin(&rel, CT_K_FUTEX, uaddr)) {
		long r = real(nr, a1, a2, a3, a4, a5, a6);
		ct_release_end(&rel, 0);
		return r;
	}
	return real(nr, a1, a2, a3, a4, a5, a6);
}
