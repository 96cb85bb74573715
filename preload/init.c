/* SPDX-License-Identifier: MIT */
/*
 * Load, exit and process lifecycle of libctrace.so: the constructor (configuration, real
 * symbols, tables, unwinder warm-up, writer thread), the destructor and _exit/_Exit (final
 * flush; exit_group through syscall() in futex.c, fatal signals in signal.c), fork (the
 * child traces into a file of its own: see hooks.c), exec (process.c), dlclose (the
 * unwinder must not use stale rules).
 *
 * Exit paths: exit() and return from main run the destructor; the last thread's exit and
 * pthread_exit from main end in exit(0) inside glibc; _exit, _Exit and
 * syscall(SYS_exit_group) are wrapped. The destructor runs after the program's own
 * destructors and atexit handlers (it belongs to a library loaded before the program's),
 * so their events are in the trace.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctrace.h"
#include "lockorder.h"
#include "../unwind/capture.h"

atomic_int ct_active;
static atomic_int exit_owner; /* see exit() below */
#define EXIT_WAIT_S 10

/* The fork handlers, the constructor and the destructor keep the program's errno: fork()
 * returns with the errno it had before the call (in the child too, where a trace file
 * named like the parent's takes a second try at another name), and main starts with the
 * errno the loader left. */
static void before_fork(void)
{
	int e = errno;

	ct_enter();
	ct_writer_fork_prepare();
	ct_leave();
	errno = e;
}

static void after_fork_parent(void)
{
	int e = errno;

	ct_enter();
	ct_writer_fork_parent();
	ct_leave();
	errno = e;
}

/* Runs first among the child's atfork handlers (registered first), before any of the
 * program's can record. Only the forking thread exists here: the other threads' slots,
 * waits and half-done stack inserts are dropped, every buffer is freed (the parent writes
 * those events into its own file) and the lost counts restart at 0. */
static void after_fork_child(void)
{
	int e = errno;

	ct_enter();
	ct_capture_fork_child(); /* the loader lock may be held for good here */
	ct_fd_after_fork();
	ct_attach_after_fork();
	atomic_store(&exit_owner, 0);
	if (ct_in_sandbox()) {
		/* the child inherits the filter: it traces nothing, makes no call of ours */
		atomic_store(&ct_active, 0);
		ct_leave();
		errno = e;
		return;
	}
	ct_signals_pid1(); /* the first child after unshare(CLONE_NEWPID) */
	if (!ct_process_fork_child())
		atomic_store(&ct_active, 0); /* CTRACE_FOLLOW=none: the child makes no file */
	int traced = ct_writer_fork_child();
	ct_threads_after_fork();
	ct_threads_after_fork_count();
	if (traced) {
		ct_buffers_after_fork();
		ct_shadow_after_fork();
		ct_stacks_after_fork();
		ct_writer_fork_child_open();
	} else {
		atomic_store(&ct_active, 0);
	}
	ct_leave();
	errno = e;
}

void ct_fork_handlers_install(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* The tables of ct_init (ct_tables_map). */
static int map_tables(void)
{
	return ct_threads_init() || ct_buffers_init() || ct_stacks_init() || ct_shadow_init() ||
	       ct_ownstack_init() || ct_lockorder_init() || ct_writer_tables();
}

__attribute__((constructor(101))) static void ct_init(void)
{
	int e = errno;

	ct_enter();
	ct_resolve();
	ct_config_read();
	if (getauxval(AT_SECURE)) {
		ct_warn("not tracing a setuid, setgid or capability-raising program", "", "");
		goto out;
	}
	if (ct_cfg.disabled || ct_attach_deferred())
		goto out; /* loaded by `ctrace attach`: it starts later (attach.c) */
	if (ct_tables_map(map_tables, 1) != 0)
		goto out; /* it said why; nothing is left mapped */
	ct_fdclass_init();
	ct_process_init();
	if (ct_capture_init(ct_cfg.depth) < 0)
		ct_warn("neither libunwind.so.8 nor libgcc_s.so.1 could be loaded; ",
			"recording waits without stacks", "");
	struct ct_thread *main_th = ct_self();
	if (main_th)
		prctl(PR_GET_NAME, main_th->name);
	ct_altstack_install(main_th, 1);
	if (ct_writer_start() < 0) {
		/* it said why (no trace file): nothing is traced, nothing of libctrace's stays */
		ct_altstack_remove();
		ct_tls.th = NULL;
		ct_threads = NULL;
		ct_unmap_all();
		goto out;
	}
	ct_fork_handlers_install();
	ct_signals_init();
	atomic_store(&ct_active, !ct_cfg.start_paused); /* CTRACE_START=paused: ctrace resume */
	if (!__libc_single_threaded)
		ct_writer_spawn();
out:
	ct_leave();
	errno = e;
}

/* Set when the destructor ran in a vfork child (getpid() != ct_pid): that child's exit()
 * ran the parent's exit handlers and destructors in the parent's memory, which marks them
 * done, so the parent's own exit() will not run them again (nor this destructor). */
static int fini_in_child;

__attribute__((destructor)) static void ct_fini(void)
{
	int e = errno;

	if (ct_pid && !ct_in_sandbox() && getpid() != ct_pid)
		fini_in_child = 1;
	ct_writer_finish();
	errno = e;
}

/*
 * exit() from several threads at once: the first goes on, the others wait for the process
 * to end (as glibc 2.41's exit does; here for EXIT_WAIT_S seconds at most). Otherwise a
 * second exit reaches _exit while the first still runs the program's atexit handlers and
 * libctrace's final flush, and the process ends with the trace cut short and whichever
 * status came last. A nested exit (from an atexit handler of the same thread) goes on as
 * glibc lets it.
 */
/* exit_owner (above): tid of the thread inside exit(), futex word */

CT_EXPORT void exit(int status)
{
	/* Not under a seccomp filter (no system call of libctrace's), nor in a vfork child
	 * (whose exit_owner would be its parent's) nor an untraced process. */
	if (ct_in_sandbox() || getpid() != ct_pid)
		REAL(exit)(status);
	int e = errno; /* for the atexit handlers: the futex wait ends in ETIMEDOUT */
	int me = (int)gettid(), expect = 0;
	if (!atomic_compare_exchange_strong(&exit_owner, &expect, me) && expect != me) {
		/* Not a cancellation point; signals are handled meanwhile. Bounded: an exit
		 * handler of the first thread may wait for this one (joins it), which glibc
		 * before 2.41 lets end by going on: so does this after EXIT_WAIT_S. */
		uint64_t end = ct_now() + EXIT_WAIT_S * 1000000000ull;
		for (uint64_t now = ct_now(); now < end; now = ct_now()) {
			struct timespec ts = { (time_t)((end - now) / 1000000000u),
					       (long)((end - now) % 1000000000u) };
			REAL(syscall)(SYS_futex, &exit_owner, FUTEX_WAIT_PRIVATE, expect, &ts, 0, 0);
		}
	}
	if (fini_in_child)
		ct_writer_finish(); /* the handlers and destructors already ran (in the child) */
	errno = e;
	REAL(exit)(status);
	__builtin_unreachable();
}

/* unshare(CLONE_NEWUSER) and setns() into a user namespace fail with EINVAL in a
 * multi-threaded process: the writer thread is stopped first when the program has one
 * thread (ct_writer_pause_single); it comes back with the program's next thread. */
void ct_before_namespace_change(void)
{
	if (atomic_load_explicit(&ct_writer_on, memory_order_relaxed) && ct_tls.nest == 0) {
		ct_enter();
		ct_writer_pause_single();
		ct_leave();
	}
}

CT_EXPORT int unshare(int flags)
{
	ct_before_namespace_change();
	return REAL(unshare)(flags);
}

CT_EXPORT int setns(int fd, int nstype)
{
	ct_before_namespace_change();
	return REAL(setns)(fd, nstype);
}

CT_EXPORT void _exit(int status)
{
	ct_writer_finish();
	REAL(_exit)(status);
	__builtin_unreachable();
}

CT_EXPORT void _Exit(int status)
{
	ct_writer_finish();
	REAL(_Exit)(status);
	__builtin_unreachable();
}

CT_EXPORT int dlclose(void *handle)
{
	int r = REAL(dlclose)(handle);
	int e = errno;
	ct_capture_on_dlclose();
	errno = e;
	return r;
}
