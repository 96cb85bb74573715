/* SPDX-License-Identifier: MIT */
/*
 * Seccomp sandboxes: a program that installs a seccomp filter (prctl(PR_SET_SECCOMP),
 * syscall(SYS_seccomp)) allows the system calls it makes itself and no others; a call of
 * libctrace's own (getpid, clone3 for the writer, openat, write to the trace) would get
 * the program killed with SIGSYS. So before the filter goes in, what is buffered is
 * written; after it, the threads the filter covers make no system call of libctrace's:
 *
 * - a filter for every thread (SECCOMP_FILTER_FLAG_TSYNC), or one put in while the process
 *   has no writer thread and a single program thread (sshd's pre-auth child): the final
 *   flush is made before the filter, the writer thread stopped, tracing ends there; the
 *   file's header gets the SECCOMP flag (format 1.2) and the trace ends complete;
 * - a filter for the calling thread only, with other threads still running: that thread's
 *   events so far are written, then it stops recording (its later calls pass through);
 *   threads it creates afterwards inherit the filter and record nothing either. The
 *   writer thread and the other threads go on.
 *
 * libctrace's fatal-signal handlers are taken out (SIG_DFL, which the program sees anyway)
 * before any filter: a handler's flush, in a covered thread, would turn a SIGSEGV into a
 * SIGSYS. If the filter call fails, a thread-only stop is undone (the fatal-signal handlers
 * stay off); a process-wide one is not (the trace has ended), but the call is checked first
 * as the kernel does (no_new_privs or root) so that a call bound to fail changes nothing.
 * The threads that stopped recording are not counted in the file.
 *
 * A thread may be inside a wrapper while another puts in a filter for every thread (a
 * wrapper around a blocking call, which ends after the filter). Every system call
 * libctrace makes on a program thread is therefore bracketed by ct_sys_begin/ct_sys_end
 * (ctrace.h): before the final flush for such a filter, no new one begins and those in
 * progress are waited for.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"

CT_TLS int ct_sandboxed;
atomic_int ct_sandbox_all;
atomic_int ct_sys_inflight;
atomic_int ct_sys_closing;

/* How long a filter for every thread waits for the system calls of libctrace's in
 * progress on other threads (each one short: a mapping, a futex wake, a statx, a /proc
 * read), at most. */
#define QUIESCE_MS 1000

/* ct_sys_closing is set: waits until no thread is between ct_sys_begin and ct_sys_end.
 * With both sides' operations sequentially consistent, a thread either added itself to
 * the count before the flag was set (and is waited for here) or sees the flag. */
static void quiesce(void)
{
	struct timespec ts = { 0, 100000 };

	for (int i = 0; i < QUIESCE_MS * 10 && atomic_load(&ct_sys_inflight) > 0; i++)
		REAL(nanosleep)(&ts, NULL);
}

/* Would the kernel accept a filter from this thread (no_new_privs, or CAP_SYS_ADMIN: root
 * is taken as having it)? A strict-mode request needs neither. */
static int may_filter(int strict)
{
	return strict || REAL(prctl)(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 || geteuid() == 0;
}

/* Before a filter (strict: SECCOMP_MODE_STRICT) that covers every thread (all) or the
 * caller. Returns the caller's previous nest, to undo a thread-only stop. */
static int before(int strict, int all)
{
	if (ct_in_sandbox() || !atomic_load(&ct_active) || ct_tls.nest != 0 || !may_filter(strict))
		return -1;
	int e = errno;
	int nest = ct_nest_off();
	ct_signals_release();
	if (all) {
		/* no system call of libctrace's begins on another thread from here on, and
		 * those begun end first: the final flush then finds the writer thread started
		 * or not (not starting), and nothing of libctrace's meets the filter */
		atomic_store(&ct_sys_closing, 1);
		quiesce();
	}
	if (ct_writer_sandbox(all)) {
		atomic_store(&ct_sys_closing, 1);
		atomic_store(&ct_sandbox_all, 1);
	} else {
		ct_sandboxed = 1;
	}
	/* the thread's nest stays set: nothing it calls from now on is traced */
	errno = e;
	return nest;
}

static void after(int prev_nest, int failed)
{
	if (prev_nest < 0 || !failed || atomic_load(&ct_sandbox_all))
		return;
	ct_sandboxed = 0;
	ct_nest_restore(prev_nest);
}

CT_EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
	unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
	va_end(ap);
	if (option != PR_SET_SECCOMP ||
	    (a2 != SECCOMP_MODE_STRICT && a2 != SECCOMP_MODE_FILTER))
		return REAL(prctl)(option, a2, a3, a4, a5);
	int prev = before(a2 == SECCOMP_MODE_STRICT, 0);
	int r = REAL(prctl)(option, a2, a3, a4, a5);
	int e = errno;
	after(prev, r != 0);
	errno = e;
	return r;
}

long ct_sandbox_seccomp(long (*real)(long, ...), long nr, long op, long flags, long args)
{
	if (op != SECCOMP_SET_MODE_STRICT && op != SECCOMP_SET_MODE_FILTER)
		return real(nr, op, flags, args);
	int prev = before(op == SECCOMP_SET_MODE_STRICT,
			  op == SECCOMP_SET_MODE_FILTER && (flags & SECCOMP_FILTER_FLAG_TSYNC));
	long r = real(nr, op, flags, args);
	int e = errno;
	/* TSYNC: a positive result is the id of a thread that could not be synchronised */
	after(prev, r != 0);
	errno = e;
	return r;
}
