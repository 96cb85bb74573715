/* SPDX-License-Identifier: MIT */
/*
 * Load, exit and process lifecycle of libctrace.so: the constructor (configuration, real
 * symbols, tables, unwinder warm-up, writer thread), the destructor and _exit/_Exit (final
 * flush; exit_group through syscall() in futex.c, fatal signals in signal.c), fork (the
 * child traces into a file of its own: see flush.c), exec (process.c), dlclose (the
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
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include "ctrace.h"
#include "../unwind/capture.h"

atomic_int ct_active;

static void before_fork(void)
{
	ct_tls.nest++;
	ct_writer_fork_prepare();
	ct_tls.nest--;
}

static void after_fork_parent(void)
{
	ct_tls.nest++;
	ct_writer_fork_parent();
	ct_tls.nest--;
}

/* Runs first among the child's atfork handlers (registered first), before any of the
 * program's can record. Only the forking thread exists here: the other threads' slots,
 * waits and half-done stack inserts are dropped, every buffer is freed (the parent writes
 * those events into its own file) and the lost counts restart at 0. */
static void after_fork_child(void)
{
	ct_tls.nest++;
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
	ct_tls.nest--;
}

void ct_fork_handlers_install(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

__attribute__((constructor(101))) static void ct_init(void)
{
	ct_tls.nest++;
	ct_resolve();
	ct_config_read();
	if (getauxval(AT_SECURE)) {
		ct_warn("not tracing a setuid, setgid or capability-raising program", "", "");
		goto out;
	}
	if (ct_cfg.disabled || ct_attach_deferred())
		goto out; /* loaded by `ctrace attach`: it starts later (attach.c) */
	if (ct_threads_init() || ct_buffers_init() || ct_stacks_init() || ct_shadow_init() ||
	    ct_fdclass_init()) {
		ct_warn("cannot map its tables (out of memory); not tracing", "", "");
		goto out;
	}
	ct_process_init();
	if (ct_capture_init(ct_cfg.depth) < 0)
		ct_warn("neither libunwind.so.8 nor libgcc_s.so.1 could be loaded; ",
			"recording waits without stacks", "");
	struct ct_thread *main_th = ct_self();
	if (main_th)
		prctl(PR_GET_NAME, main_th->name);
	if (ct_writer_start() < 0)
		goto out; /* it said why */
	ct_fork_handlers_install();
	ct_signals_init();
	atomic_store(&ct_active, 1);
	if (!__libc_single_threaded)
		ct_writer_spawn();
out:
	ct_tls.nest--;
}

__attribute__((destructor)) static void ct_fini(void)
{
	ct_writer_finish();
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
