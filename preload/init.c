/* SPDX-License-Identifier: MIT */
/*
 * Load, exit and process lifecycle of libctrace.so: the constructor (configuration, real
 * symbols, tables, unwinder warm-up, writer thread), the destructor and _exit/_Exit (final
 * flush), fork (the child stops tracing: the trace file is the parent's), dlclose (the
 * unwinder must not use stale rules).
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

static void after_fork_child(void)
{
	atomic_store(&ct_active, 0);
	ct_writer_after_fork();
	ct_threads_after_fork();
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
	if (ct_cfg.disabled)
		goto out;
	if (ct_threads_init() || ct_buffers_init() || ct_stacks_init() || ct_shadow_init() ||
	    ct_fdclass_init()) {
		ct_warn("cannot map its tables (out of memory); not tracing", "", "");
		goto out;
	}
	if (ct_capture_init(ct_cfg.depth) < 0)
		ct_warn("neither libunwind.so.8 nor libgcc_s.so.1 could be loaded; ",
			"recording waits without stacks", "");
	struct ct_thread *main_th = ct_self();
	if (main_th)
		prctl(PR_GET_NAME, main_th->name);
	if (ct_writer_start() < 0)
		goto out; /* it said why */
	pthread_atfork(NULL, NULL, after_fork_child);
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
