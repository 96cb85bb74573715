/* SPDX-License-Identifier: MIT */
/*
 * The writer's hooks into the life of the process: the final flush at exit (serialised
 * with a second exit or _exit), the flush before exec (and the new generation if exec
 * fails), the flush from a fatal signal's handler, the flush before a seccomp filter, and
 * fork's handlers.
 *
 * Processes: a fork child discards the parent's unwritten events (the parent writes them)
 * and creates its own file, with CTRACE_OUT's %p expanded to its pid, in its atfork
 * handler (while it still has the parent's credentials); a child that exits or execs
 * before it recorded anything removes that empty file (the new image then takes its
 * name). exec flushes and closes the generation first and reopens one if exec fails; a
 * fatal signal flushes what is buffered (signal.c). A vfork child (getpid() != ct_pid,
 * the parent's memory) never touches any of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctrace.h"
#include "flush.h"
#include "../format/events.h"
#include "../format/writer.h"
#include "../unwind/capture.h"

static CT_TLS int fork_locked;      /* this thread took flush_mu in the fork prepare handler */

/* Waits until ct_writer_finish's flush is over, at most timeout_ms. */
static void wait_finish_done(int timeout_ms)
{
	uint64_t end = ct_now() + (uint64_t)timeout_ms * 1000000u;
	while (!atomic_load(&ct_fl.finish_done)) {
		uint64_t now = ct_now();
		if (now >= end)
			return;
		struct timespec ts = { 0, 10000000L }; /* 10 ms: a lost wake costs no more */
		REAL(syscall)(SYS_futex, &ct_fl.finish_done, FUTEX_WAIT_PRIVATE, 0, &ts, 0, 0);
	}
}

/* The final flush from this thread, flush_mu taken within wait_ms: the header flags gain
 * flags, then what is buffered and the end of the trace go out on the flush stack. From a
 * fatal signal's handler (in_signal 1) or an exit. This and finish_here are inlined: a
 * flush entry takes one frame of the program's stack until the switch (README.md, "Stack
 * budget"). */
static inline __attribute__((always_inline)) void final_flush(int wait_ms, uint32_t flags,
							      int in_signal)
{
	if (ct_flush_lock(wait_ms) == 0) {
		ct_fl.final_flags |= flags;
		ct_ownstack_run(ct_flush_final_here, &in_signal);
		ct_flush_unlock();
	}
}

/* The end of the trace, by the thread that won ct_fl.finishing: recording stops in every
 * thread, the writer thread is joined (its last flush done), this thread writes the rest
 * (header flags | flags), and ct_fl.finish_done is set and its waiters woken. */
static inline __attribute__((always_inline)) void finish_here(uint32_t flags)
{
	atomic_store(&ct_active, 0);
	ct_writer_stop(0);
	final_flush(WAIT_FINISH_MS, flags, 0);
	atomic_store(&ct_fl.finish_done, 1);
	REAL(syscall)(SYS_futex, &ct_fl.finish_done, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
}

void ct_writer_finish(void)
{
	if (ct_in_sandbox() || !ct_flush_tracing_here() || ct_flush_held_here())
		return; /* not the tracing process, or exit from a handler inside a flush */
	int expect = 0;
	pid_t me = gettid();
	if (!atomic_compare_exchange_strong(&ct_fl.finishing, &expect, me)) {
		/* Another thread is flushing (a second exit, or _exit, while the first exit
		 * runs): wait until its flush is complete, or the process would end with the
		 * trace cut short. Bounded; not when this thread is the one finishing. */
		if (expect != me)
			wait_finish_done(WAIT_FINISH_MS);
		return;
	}
	int self_nest = ct_nest_off();
	finish_here(0);
	ct_nest_restore(self_nest);
}

static void drain_here(void *arg)
{
	(void)arg;
	ct_gen_drain_all();
}

int ct_writer_sandbox(int all)
{
	if (!ct_flush_tracing_here() || atomic_load(&ct_fl.finished))
		return 1; /* nothing traces here any more */
	if (!all && (atomic_load(&ct_fl.wstate) == W_RUNS || ct_app_threads() > 1)) {
		/* this thread only: the end of its recording (counted by the analyzer), its
		 * events so far go out, its buffer to the writer */
		if (ct_tls.th) {
			uint64_t cpu_ns = 0, runq_ns = 0;
			ct_schedstat_read("/proc/thread-self/schedstat", &cpu_ns, &runq_ns);
			struct ct_event ev = ct_ev_thread_end(ct_now(), cpu_ns, runq_ns);
			ev.flags = CT_EVF_SECCOMP;
			ct_emit(ct_tls.th, &ev);
			ct_buf_retire(ct_tls.th);
		}
		if (ct_flush_lock(WAIT_EXEC_MS) == 0) {
			ct_ownstack_run(drain_here, NULL);
			ct_flush_unlock();
		}
		return 0;
	}
	int expect = 0;
	pid_t me = gettid();
	if (!atomic_compare_exchange_strong(&ct_fl.finishing, &expect, me)) {
		/* another thread makes the final flush (an exit): the filter goes in once it
		 * is over, or it would meet the filter halfway. Bounded. */
		if (expect != me)
			wait_finish_done(WAIT_FINISH_MS);
		return 1;
	}
	finish_here(CT_HF_SECCOMP);
	return 1;
}

void ct_writer_fatal(void)
{
	if (ct_in_sandbox() || !ct_flush_tracing_here())
		return;
	int self_nest = ct_nest_off();
	final_flush(WAIT_FATAL_MS, 0, 1);
	ct_nest_restore(self_nest);
}

/* exec_begin's flush, on the flush stack (flush_mu held); *held = 1 if it keeps it. */
static void exec_flush(void *p)
{
	int *held = p;
	{
		if (!atomic_load(&ct_fl.finished) && ct_fl.fd >= 0 && ct_fl.fork_file && !ct_fl.wrote_events &&
		    !ct_gen_has_data()) {
			/* A fork child that only execs: its file holds no event. Removed, so the
			 * new image (same pid) writes under the name the child had. */
			ct_trace_close();
			unlink(ct_fl.cur_path);
			ct_fl.need_open = 1;
			*held = 1;
		} else if (!atomic_load(&ct_fl.finished) &&
			   (ct_fl.fd >= 0 || (ct_gen_has_data() && ct_flush_lazy_open(0) == 0))) {
			ct_gen_refresh_modules();
			ct_gen_drain_all();
			ct_gen_close();
			*held = 1;
		}
	}
}

int ct_writer_exec_begin(void)
{
	if (ct_in_sandbox() || !ct_flush_tracing_here() || atomic_load(&ct_fl.finished))
		return 0;
	int self_nest = ct_nest_off(), held = 0;
	if (ct_flush_lock(WAIT_EXEC_MS) == 0) {
		ct_ownstack_run(exec_flush, &held);
		if (!held)
			ct_flush_unlock();
	}
	ct_nest_restore(self_nest);
	return held;
}

static void gen_open_here(void *arg)
{
	(void)arg;
	ct_gen_open(0);
}

void ct_writer_exec_failed(int held)
{
	if (!held)
		return;
	int self_nest = ct_nest_off();
	if (ct_fl.fd >= 0)
		ct_ownstack_run(gen_open_here, NULL);
	ct_flush_unlock();
	ct_nest_restore(self_nest);
}

void ct_writer_fork_prepare(void)
{
	fork_locked = 0;
	if (ct_in_sandbox() || !ct_flush_tracing_here() || atomic_load(&ct_fl.finished))
		return;
	/* The writer thread must not be inside a flush (the loader lock, the file) when the
	 * fork copies the process. */
	if (ct_flush_lock(WAIT_FORK_MS) == 0)
		fork_locked = 1;
}

void ct_writer_fork_parent(void)
{
	if (fork_locked) {
		fork_locked = 0;
		ct_flush_unlock();
	}
}

int ct_writer_fork_child(void)
{
	if (ct_in_sandbox())
		return 0; /* the child inherits the filter: it traces nothing */
	int traced = fork_locked && (ct_fl.fd >= 0 || ct_fl.need_open) && !atomic_load(&ct_fl.finished) &&
		     atomic_load(&ct_active);
	ct_ctl_on = 0; /* the parent's control channel is not the child's */
	ct_trigger_fork_child();
	int fork_locked_was = fork_locked;
	fork_locked = 0;
	atomic_store(&ct_sys_inflight, 0); /* the calls of the parent's other threads */
	ct_trace_close(); /* the parent's file */
	if (fork_locked_was)
		pthread_setcancelstate(ct_fl.flush_cancel, NULL); /* flush_mu is re-made, not unlocked */
	pthread_mutex_init(&ct_fl.flush_mu, NULL);
	atomic_store(&ct_fl.flush_owner, 0);
	atomic_store(&ct_fl.wstate, W_NONE); /* the parent's writer is not the child's */
	atomic_store(&ct_fl.wclaimer, 0);
	atomic_store(&ct_writer_on, 0);
	atomic_store(&ct_fl.writer_stop, 0);
	atomic_store(&ct_fl.spawned, 0);
	atomic_store(&ct_fl.finished, !traced);
	atomic_store(&ct_fl.finishing, 0);
	atomic_store(&ct_fl.finish_done, 0);
	ct_fl.gen = 0;
	ct_fl.site_seq = 1u << 31;
	ct_pid = getpid();
	ct_fl.need_open = traced;
	ct_fl.fork_file = 0;
	return traced;
}

void ct_writer_fork_child_open(void)
{
	/* Created now, while the child has the parent's credentials: a daemon's child that
	 * switches user (memcached -u, nginx workers) could not create it later. gen_open
	 * reuses the parent's last module map (the loader lock may be held by a parent
	 * thread that does not exist here). */
	if (ct_flush_lock(0) != 0)
		return;
	if (ct_flush_lazy_open(1) == 0)
		ct_fl.fork_file = ct_fl.fd != CT_FLIGHT_FD;
	ct_ctl_init(); /* the child answers under its own pid */
	ct_flush_unlock();
}

