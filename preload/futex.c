/* SPDX-License-Identifier: MIT */
/*
 * syscall(): futex-based locks of other runtimes (Rust's std, Abseil, C++20 atomic waits,
 * GLib) call syscall(SYS_futex, ...) through libc rather than any pthread function. Waits
 * (FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_WAIT_REQUEUE_PI) are
 * recorded with kind futex on the futex word's address; wakes (FUTEX_WAKE,
 * FUTEX_WAKE_BITSET, FUTEX_UNLOCK_PI) made while someone waits there are releases.
 * syscall(SYS_exit_group) flushes the trace first, as _exit does; syscall(SYS_close) and
 * syscall(SYS_close_range) leave libctrace's own fds open (fdguard.c); the calls that
 * close, replace or create fd numbers update the fd-class cache (fdclass.c) after the real call.
 * Every other system call passes through untouched. Inline syscall instructions (Go's
 * runtime, some allocators) cannot be seen from here.
 *
 * syscall() is variadic; like glibc's own implementation, the wrapper forwards six
 * register-sized arguments, which is what the kernel ABI takes.
 */
#include <errno.h>
#include <fcntl.h>
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

/* System calls that return a new fd number (the fd-class cache forgets it). */
static int returns_fd(long nr)
{
	switch (nr) {
	case SYS_openat: case SYS_dup: case SYS_socket: case SYS_accept: case SYS_accept4:
	case SYS_eventfd2: case SYS_epoll_create1: case SYS_timerfd_create: case SYS_signalfd4:
	case SYS_inotify_init1: case SYS_fanotify_init: case SYS_memfd_create:
	case SYS_userfaultfd: case SYS_perf_event_open: case SYS_open_by_handle_at:
	case SYS_io_uring_setup: case SYS_pidfd_open: case SYS_pidfd_getfd: case SYS_openat2:
	case SYS_fsopen: case SYS_fsmount: case SYS_open_tree: case SYS_fspick:
#ifdef SYS_open /* the older calls exist on x86_64, not on the newer architectures */
	case SYS_open: case SYS_creat: case SYS_eventfd: case SYS_epoll_create:
	case SYS_signalfd: case SYS_inotify_init:
#endif
		return 1;
	default:
		return 0;
	}
}

/* dup2 and dup3 through syscall(), for ct_fd_dup_onto. */
static int sys_dup3(int old, int new, int flags)
{
	return (int)REAL(syscall)(SYS_dup3, old, new, flags);
}
#ifdef SYS_dup2
static int sys_dup2(int old, int new)
{
	return (int)REAL(syscall)(SYS_dup2, old, new);
}
#endif

/* Every other system call than futex: libctrace's fds and the fd-class cache. */
static long other(long (*real)(long, ...), long nr, long a1, long a2, long a3, long a4,
		  long a5, long a6)
{
	long r;
	int e0;
	switch (nr) {
	case SYS_exit_group:
		ct_writer_finish();
		return real(nr, a1, a2, a3, a4, a5, a6);
	case SYS_read:
	case SYS_write:
		/* libunwind's validation pipe: Debian's libunwind writes through syscall() */
		if (unlikely(a1 >= CT_FD_FAKE_RD && a1 <= INT_MAX) && ct_tls.nest > 0)
			return ct_fd_fake_io((int)a1, (uintptr_t)a2, (size_t)a3);
		return real(nr, a1, a2, a3, a4, a5, a6);
	case SYS_seccomp:
		return ct_sandbox_seccomp(real, nr, a1, a2, a3);
	case SYS_rt_sigaction:
		r = real(nr, a1, a2, a3, a4, a5, a6);
		if (r == 0 && a3)
			ct_signal_raw_view(a1, (void *)a3);
		return r;
	case SYS_mlockall:
		return ct_mlockall((int)a1); /* errno and the result as the kernel's (tables.c) */
	case SYS_unshare:
	case SYS_setns:
		ct_before_namespace_change(); /* as the wrappers do (init.c) */
		return real(nr, a1, a2, a3, a4, a5, a6);
	case SYS_close:
		if (a1 >= CT_FD_FAKE_RD && a1 <= INT_MAX && ct_tls.nest > 0)
			return 0;
		if (a1 >= 0 && a1 <= INT_MAX && ct_fd_close_refused((int)a1)) {
			errno = EBADF;
			return -1;
		}
		r = real(nr, a1, a2, a3, a4, a5, a6);
		ct_fdclass_forget((int)a1);
		return r;
	case SYS_close_range:
		return ct_close_range_guarded((unsigned)a1, (unsigned)a2, (int)a3);
#ifdef SYS_dup2
	case SYS_dup2:
		r = ct_fd_dup_onto((int)a1, (int)a2, -1, sys_dup2, NULL);
		ct_fdclass_forget((int)a2);
		return r;
#endif
	case SYS_dup3:
		r = ct_fd_dup_onto((int)a1, (int)a2, (int)a3, NULL, sys_dup3);
		ct_fdclass_forget((int)a2);
		return r;
	case SYS_dup:
		if (ct_fd_refused((int)a1)) {
			errno = EBADF;
			return -1;
		}
		e0 = errno;
		r = ct_fd_dup_lowest((int)a1, 0, 0, (int)real(nr, a1, a2, a3, a4, a5, a6), e0);
		ct_fdclass_forget((int)r);
		return r;
#ifdef SYS_pipe
	case SYS_pipe:
#endif
	case SYS_pipe2: case SYS_socketpair: {
		r = real(nr, a1, a2, a3, a4, a5, a6);
		const int *fds = (const int *)(nr == SYS_socketpair ? a4 : a1);
		if (r == 0) {
			ct_fdclass_forget(fds[0]);
			ct_fdclass_forget(fds[1]);
		}
		return r;
	}
	case SYS_fcntl:
		if (ct_fd_refused((int)a1)) {
			errno = EBADF;
			return -1;
		}
		e0 = errno;
		r = real(nr, a1, a2, a3, a4, a5, a6);
		if (a2 == F_DUPFD || a2 == F_DUPFD_CLOEXEC) {
			r = ct_fd_dup_lowest((int)a1, (int)a3, a2 == F_DUPFD_CLOEXEC, (int)r, e0);
			ct_fdclass_forget((int)r);
		}
		return r;
	default:
		r = real(nr, a1, a2, a3, a4, a5, a6);
		if (r >= 0 && returns_fd(nr))
			ct_fdclass_forget((int)r);
		return r;
	}
}

CT_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	long (*real)(long, ...) = REAL(syscall);
	if (nr != SYS_futex)
		return other(real, nr, a1, a2, a3, a4, a5, a6);
	if (!ct_on())
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
