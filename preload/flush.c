/* SPDX-License-Identifier: MIT */
/*
 * The writer: the background thread that drains the per-thread buffers into the trace
 * file, about every CTRACE_FLUSH_MS (100 ms), and closes a generation about every
 * CTRACE_GENERATION_MS, or at the first flush after it holds CTRACE_GENERATION_EVENTS
 * (generation.c); the flush lock; the start of the trace; the final flush; a
 * single-threaded program's own flushes.
 *
 * The writer thread is libctrace's own: created with the real pthread_create, all signals
 * blocked, its guard set so nothing it calls is traced, its stack of its own size. It
 * starts when the program creates its first thread; until then the program's thread
 * writes (ct_writer_tick). Every flush made on a thread libctrace does not own runs on
 * the flush stack (ownstack.c), which the flush lock makes its own. The writer sleeps on
 * a futex word for CTRACE_FLUSH_MS, or less when a thread finds the buffer pools running
 * low (buffer.c).
 * flush_mu (a libctrace-private mutex, taken through the real functions) serializes the
 * writer thread with the flushes made by other threads: at exit, before exec, on a fatal
 * signal and around fork (hooks.c). Those take it with a bounded wait and never when the
 * calling thread holds it already (a signal handler that interrupted a flush): they give
 * up rather than hang the program.
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

#define WRITER_STACK (512u << 10)

pid_t ct_pid;
atomic_int ct_writer_on; /* a writer thread runs: wstate W_RUNS, for the record path */
struct ct_flush ct_fl = {
	.fd = -1,
	.flush_mu = PTHREAD_MUTEX_INITIALIZER,
	.site_seq = 1u << 31,
};

/* Takes flush_mu, waiting at most timeout_ms (< 0: without limit). -1 if it is not had
 * in time or this thread holds it already (a signal handler that interrupted a flush). */
int ct_flush_lock(int timeout_ms)
{
	pid_t me = gettid();
	if (atomic_load(&ct_fl.flush_owner) == me)
		return -1;
	/* A flush calls open, write, close, ...: cancellation points, where a cancellation
	 * pending on a program thread (pthread_cancel(pthread_self()) before exit, _exit,
	 * exec, fork) would act inside libctrace. Off while the lock is held. */
	int cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	if (timeout_ms < 0 || !REAL(pthread_mutex_clocklock)) {
		REAL(pthread_mutex_lock)(&ct_fl.flush_mu);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (ct_real.pthread_mutex_clocklock(&ct_fl.flush_mu, CLOCK_MONOTONIC, &ts) != 0) {
			pthread_setcancelstate(cs, NULL);
			return -1;
		}
	}
	atomic_store(&ct_fl.flush_owner, me);
	ct_fl.flush_cancel = cs;
	return 0;
}

void ct_flush_unlock(void)
{
	int cs = ct_fl.flush_cancel;
	atomic_store(&ct_fl.flush_owner, 0);
	REAL(pthread_mutex_unlock)(&ct_fl.flush_mu);
	pthread_setcancelstate(cs, NULL);
}

/* Whether the open generation is to be closed: old enough, or large enough (the
 * analyzer holds about a generation's events at a time: its memory follows this, not the
 * recording's event rate). */
static int gen_due(void)
{
	return ct_now() - ct_fl.gen_start >= (uint64_t)ct_cfg.gen_ms * 1000000u ||
	       ct_fl.gen_events >= ct_cfg.gen_events;
}

/*
 * Is the writer the only live thread of the process? The last program thread normally
 * stops the writer on its way out (thread.c), so that glibc, counting threads, ends the
 * process with exit(0) as it would untraced. A thread libctrace never saw can still be
 * the last (one made by clone(), or a thread the count missed): the writer, blocking all
 * signals, would then keep a process alive that has nothing left to run. Checked only while
 * no known program thread is alive; reads /proc/self/task without allocating.
 */
static int only_writer_left(void)
{
	int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	pid_t me = gettid();
	int others = 0;
	char buf[4096];
	long n;
	while (!others && (n = REAL(syscall)(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && !others;) {
			const struct { uint64_t ino; int64_t off; unsigned short reclen;
				       unsigned char type; char name[]; } *d = (const void *)(buf + off);
			off += d->reclen;
			long tid = strtol(d->name, NULL, 10);
			if (tid <= 0 || tid == me)
				continue;
			/* a zombie (an exited main thread waits so, for the group) runs nothing */
			char path[64], st[512];
			snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
			int f = open(path, O_RDONLY | O_CLOEXEC);
			if (f < 0)
				continue; /* gone meanwhile */
			ssize_t l = read(f, st, sizeof(st) - 1);
			close(f);
			st[l > 0 ? l : 0] = 0;
			const char *rp = strrchr(st, ')');
			if (!rp || (rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X'))
				others = 1;
		}
	}
	close(dir);
	return !others;
}

/* The CPUs the process could run on when libctrace was loaded. */
static cpu_set_t start_cpus;
static int have_start_cpus;
static atomic_int writer_tid; /* the writer thread's kernel tid, once it runs */

/* May the writer thread end while the program has one thread (ct_writer_single,
 * writer_main)? Not in flight mode, with the control channel or attached: their periodic
 * work (slow-wait triggers, requests) is the writer's while a single thread blocks. */
static int may_retire(void)
{
	return !ct_cfg.flight && !ct_ctl_on && !ct_attached();
}

/* In writer_main, after each cycle: has the program had one thread, and made none, for a
 * whole writer period? *since and *made hold what the earlier cycles saw. */
static int single_for_a_period(uint64_t now, uint64_t *since, unsigned *made)
{
	unsigned m = ct_app_threads_made();
	if (ct_app_threads() != 1 || !may_retire()) {
		*since = 0;
		return 0;
	}
	if (!*since || m != *made) {
		*since = now;
		*made = m;
		return 0;
	}
	return now - *since >= (uint64_t)ct_cfg.flush_ms * 1000000u;
}

static void *writer_main(void *arg)
{
	(void)arg;
	atomic_store(&writer_tid, (int)gettid());
	ct_nest_off(); /* nothing this thread does is traced, for good */
	ct_fd_writer_thread();  /* created with every signal blocked */
	/* The writer is started by whichever program thread first needs it and inherits that
	 * thread's CPU affinity: a program that pins its threads (one per core, or a
	 * ping-pong on one CPU) would then have the tracer's compression run on the CPU it
	 * reserved. The writer takes the affinity the process had at load instead
	 * (measured: cond ping-pong pinned to one CPU, 1.35x -> see tests/bench/README.md). */
	if (have_start_cpus)
		sched_setaffinity(0, sizeof(start_cpus), &start_cpus);
	uint64_t single_since = 0;
	unsigned made = 0;
	while (!atomic_load(&ct_fl.writer_stop)) {
		struct timespec period = { ct_cfg.flush_ms / 1000,
					   (long)(ct_cfg.flush_ms % 1000) * 1000000L };
		if (!atomic_load(&ct_writer_kick))
			REAL(syscall)(SYS_futex, &ct_writer_kick, FUTEX_WAIT_PRIVATE, 0, &period, 0, 0);
		atomic_store(&ct_writer_kick, 0);
		if (atomic_load(&ct_fl.writer_stop))
			break;
		ct_flush_lock(-1);
		if (!atomic_load(&ct_fl.finished)) {
			ct_gen_drain_all();
			if (ct_ctl_on || ct_cfg.flight)
				ct_flight_cycle(ct_now());
			if (gen_due()) {
				ct_threads_gone(ct_now(), 0);
				ct_gen_close();
				ct_gen_open(0);
			} else {
				ct_gen_refresh_modules();
			}
		}
		ct_flush_unlock();
		ct_attach_poll();
		if (ct_app_threads() <= 0 && only_writer_left()) {
			/* What glibc does when the last thread exits: exit(0), whose handlers
			 * and libctrace's destructor (the final flush) run here; the right to
			 * this thread is its own, so that nothing there joins it. */
			int s = W_RUNS;
			if (atomic_compare_exchange_strong(&ct_fl.wstate, &s, W_CLAIMED)) {
				atomic_store(&ct_fl.wclaimer, (int)gettid());
				atomic_store(&ct_writer_on, 0);
				exit(0);
			}
		}
		if (single_for_a_period(ct_now(), &single_since, &made)) {
			/* The program is back to one thread for good, it seems: the writer ends,
			 * so that the process is single-threaded again as untraced (/proc,
			 * unshare, a fork that counts threads), and the program's thread writes
			 * as before its first thread. Joined by whoever comes next
			 * (W_RETIRED); its next thread makes a new one. */
			int s = W_RUNS;
			if (atomic_compare_exchange_strong(&ct_fl.wstate, &s, W_RETIRED)) {
				atomic_store(&ct_writer_on, 0);
				atomic_store(&ct_fl.spawned, 0);
				return NULL;
			}
		}
	}
	return NULL;
}

static void start_file(void *arg)
{
	(void)arg;
	ct_fl.fd = ct_trace_open(0);
	if (ct_fl.fd >= 0)
		ct_gen_open(0);
}

int ct_writer_tables(void)
{
	return ct_gen_init() != 0 || (ct_cfg.flight && ct_flight_init() != 0) ? -ENOMEM : 0;
}

int ct_writer_start(void)
{
	ct_pid = getpid();
	have_start_cpus = sched_getaffinity(0, sizeof(start_cpus), &start_cpus) == 0;
	ct_trace_init();
	ct_ctl_init();
	ct_ownstack_run(start_file, NULL); /* the constructor may run on a small stack */
	return ct_fl.fd < 0 ? -EIO : 0;
}

/* Creates the file when it is still to be made (need_open; flush_mu held), on the flush
 * stack (open_trace's names take 12 KiB). */
static int lazy_open_now(int in_signal);
struct lazy_arg { int in_signal, ret; };
static void lazy_open_here(void *p)
{
	struct lazy_arg *a = p;
	a->ret = lazy_open_now(a->in_signal);
}

int ct_writer_restart(void)
{
	atomic_store(&ct_fl.writer_stop, 0);
	atomic_store(&ct_fl.spawned, 0);
	atomic_store(&ct_fl.finished, 0);
	atomic_store(&ct_fl.finishing, 0);
	atomic_store(&ct_fl.wstate, W_NONE); /* the finish joined the last one */
	atomic_store(&ct_writer_on, 0);
	ct_fl.gen = 0;
	ct_fl.site_seq = 1u << 31;
	ct_fl.need_open = 0;
	ct_fl.fork_file = 0;
	ct_pid = getpid();
	ct_ownstack_run(start_file, NULL);
	return ct_fl.fd < 0 ? -EIO : 0;
}

int ct_flush_lazy_open(int in_signal)
{
	if (ct_fl.fd >= 0)
		return 0;
	struct lazy_arg a = { in_signal, -1 };
	ct_ownstack_run(lazy_open_here, &a);
	return a.ret;
}

static int lazy_open_now(int in_signal)
{
	if (ct_fl.fd >= 0)
		return 0;
	if (!ct_fl.need_open)
		return -1;
	ct_fl.need_open = 0;
	ct_fl.fd = ct_trace_open(0);
	if (ct_fl.fd < 0) {
		atomic_store(&ct_active, 0);
		return -1;
	}
	ct_gen_open(in_signal);
	return 0;
}

/* The last flush (flush_mu held): everything buffered, the generation closed, the file
 * closed. Nothing is written after it. */
void ct_flush_final(int in_signal)
{
	if (atomic_load(&ct_fl.finished))
		return;
	if (ct_fl.fd >= 0 || (ct_fl.need_open && ct_gen_has_data() && ct_flush_lazy_open(in_signal) == 0)) {
		if (!in_signal)
			ct_gen_refresh_modules();
		if (ct_fl.fd == CT_FLIGHT_FD) {
			ct_flight_final(in_signal); /* a snapshot, or nothing */
		} else {
			ct_gen_drain_all();
			ct_gen_close();
			if (ct_fl.final_flags)
				ct_trace_rewrite_header(ct_fl.final_flags);
		}
	}
	ct_ctl_exit();
	atomic_store(&ct_fl.finished, 1);
	ct_fl.need_open = 0;
	int empty = ct_fl.fd >= 0 && ct_fl.fd != CT_FLIGHT_FD && ct_fl.fork_file && !ct_fl.wrote_events;
	ct_trace_close();
	if (empty)
		unlink(ct_fl.cur_path); /* a fork child that recorded nothing leaves no file */
	ct_trace_drop_spare();
}

void ct_flush_final_here(void *in_signal)
{
	ct_flush_final(*(int *)in_signal);
}

/* This process traces and owns its trace state (not a vfork child, nor a child created
 * without fork's handlers). */
int ct_flush_tracing_here(void)
{
	return (ct_fl.fd >= 0 || ct_fl.need_open) && getpid() == ct_pid;
}

int ct_flush_held_here(void)
{
	return atomic_load(&ct_fl.flush_owner) == gettid();
}

/*
 * The writer thread starts when the program creates its first thread (pthread_create,
 * thrd_create), never before: a single-threaded program stays single-threaded, as the
 * kernel and the program see it (unshare(CLONE_NEWUSER) and setns need it, /proc says
 * "Threads: 1", Python warns at fork() in a multi-threaded process, glibc (>= 2.34) runs
 * private mutexes, stdio and malloc without atomic instructions while a process has a
 * single thread: an uncontended lock/unlock pair goes from 2.8 ns to 17 ns with a second
 * thread). Until then the program's thread writes the trace itself (ct_writer_tick).
 * Not from a signal handler: pthread_create allocates.
 */
static void spawn(void);

void ct_writer_spawn(void)
{
	int expect = 0;
	/* The flag first: this runs after every recorded wait. */
	if (likely(atomic_load_explicit(&ct_fl.spawned, memory_order_relaxed)) || ct_in_sandbox() ||
	    !ct_flush_tracing_here() ||
	    atomic_load(&ct_fl.finished) || !atomic_compare_exchange_strong(&ct_fl.spawned, &expect, 1))
		return;
	if (ct_sys_begin() != 0) { /* a filter for every thread is going in */
		atomic_store(&ct_fl.spawned, 0);
		return;
	}
	spawn();
	ct_sys_end();
}

static int writer_claim(void);
static void writer_join(int s);
static void writer_release(int s);

/* ct_writer_spawn's work, once it has the right to. */
static void spawn(void)
{
	if (ct_fl.fd < 0) {
		if (ct_flush_lock(WAIT_SPAWN_MS) != 0)
			return;
		int ok = ct_flush_lazy_open(0) == 0;
		ct_flush_unlock();
		if (!ok)
			return;
	}
	int s = writer_claim();
	if (s == W_RUNS) {
		writer_release(W_RUNS); /* one runs */
		return;
	}
	if (s < 0) {
		/* another thread has the right to it: a later event tries again */
		atomic_store(&ct_fl.spawned, 0);
		return;
	}
	if (s == W_RETIRED)
		writer_join(s);
	sigset_t all, old;
	sigfillset(&all);
	/* its own stack size: the program's default (pthread_setattr_default_np, RLIMIT_STACK)
	 * may be anything */
	pthread_attr_t attr;
	int have_attr = pthread_attr_init(&attr) == 0 &&
			pthread_attr_setstacksize(&attr, WRITER_STACK) == 0;
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = REAL(pthread_create)(&ct_fl.writer, have_attr ? &attr : NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (have_attr)
		pthread_attr_destroy(&attr);
	if (r != 0) {
		writer_release(W_NONE);
		ct_warn("cannot start the writer thread; events are written at exit only", "", "");
		return;
	}
	atomic_store(&ct_fl.wstarted, ct_now());
	atomic_store(&ct_writer_on, 1);
	writer_release(W_RUNS);
}

/* The right to the writer thread: the state it had (W_NONE, W_RUNS or W_RETIRED), now
 * W_CLAIMED by the caller, who joins a thread in W_RUNS (stopped first) or W_RETIRED and
 * hands the right back with writer_release. Waits, boundedly, while another thread holds
 * it; -1 when this thread holds it already (a signal handler that interrupted it) or the
 * wait ran out. */
static int writer_claim(void)
{
	int me = (int)gettid();
	struct timespec step = { 0, 50000 };
	for (unsigned i = 0;; i++) {
		int s = atomic_load(&ct_fl.wstate);
		if (s != W_CLAIMED && atomic_compare_exchange_strong(&ct_fl.wstate, &s, W_CLAIMED)) {
			atomic_store(&ct_fl.wclaimer, me);
			return s;
		}
		if (s != W_CLAIMED)
			continue;
		/* its holder stops a writer thread (the end of a flush at most) or makes one */
		if (atomic_load(&ct_fl.wclaimer) == me || i >= WAIT_FINISH_MS * 20)
			return -1;
		REAL(syscall)(SYS_nanosleep, &step, NULL);
	}
}

/* With the right (state s, from writer_claim): the thread of W_RUNS (stopped) or
 * W_RETIRED joined, the flags of a running writer cleared. */
static void writer_join(int s)
{
	if (s == W_RUNS) {
		atomic_store(&ct_fl.writer_stop, 1);
		ct_flush_wake_writer();
	}
	if (s == W_RUNS || s == W_RETIRED) {
		/* a pending cancellation of the calling thread waits: no join acts on it here */
		int old;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		REAL(pthread_join)(ct_fl.writer, NULL);
		pthread_setcancelstate(old, NULL);
	}
	atomic_store(&ct_writer_on, 0);
	atomic_store(&ct_fl.writer_stop, 0);
}

/* The right handed back, the state now s. */
static void writer_release(int s)
{
	atomic_store(&ct_fl.wclaimer, 0);
	atomic_store(&ct_fl.wstate, s);
}

void ct_flush_wake_writer(void)
{
	atomic_store(&ct_writer_kick, 1);
	REAL(syscall)(SYS_futex, &ct_writer_kick, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/* ---- no writer thread: the program's own thread writes ---- */

static _Atomic uint64_t next_inline; /* CLOCK_MONOTONIC ns of the next periodic flush */

/* On the flush stack, flush_mu held: what the writer thread's cycle does. */
static void inline_here(void *arg)
{
	(void)arg;
	if (atomic_load(&ct_fl.finished) || ct_flush_lazy_open(0) != 0)
		return;
	ct_gen_drain_all();
	if (ct_ctl_on || ct_cfg.flight)
		ct_flight_cycle(ct_now());
	if (gen_due()) {
		ct_gen_close();
		ct_gen_open(0);
	} else {
		ct_gen_refresh_modules();
	}
	ct_attach_poll(); /* attach mode: modules loaded since, redirected (no writer to) */
}

/*
 * A flush from a program thread while the process has no writer thread (a single-threaded
 * program): bounded by what is buffered (a writer period's events; the buffer-full case
 * one buffer), made on the flush stack. Never inside a program signal handler (the
 * interrupted code may hold the loader lock the module map needs: the events wait for the
 * next flush), never waiting for another flush.
 */
static void inline_flush(uint64_t now)
{
	if (ct_in_signal || !atomic_load_explicit(&ct_active, memory_order_relaxed) ||
	    atomic_load(&ct_fl.finished) || ct_in_sandbox())
		return;
	atomic_store_explicit(&next_inline, now + (uint64_t)ct_cfg.flush_ms * 1000000u,
			      memory_order_relaxed);
	int e = errno;
	if (ct_app_threads() > 1) {
		ct_writer_spawn(); /* threads the writer missed (it could not start, or paused) */
	} else if (ct_flush_tracing_here()) {
		/* Signals wait until the flush is over (100 us or so): a program handler that
		 * left with siglongjmp would leave the flush lock held for good. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (ct_flush_lock(0) == 0) {
			int self_nest = ct_nest_off();
			ct_ownstack_run(inline_here, NULL);
			ct_nest_restore(self_nest);
			ct_flush_unlock();
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	errno = e;
}

void ct_writer_tick(uint64_t now)
{
	if (likely(atomic_load_explicit(&ct_writer_on, memory_order_relaxed)) ||
	    now < atomic_load_explicit(&next_inline, memory_order_relaxed))
		return;
	inline_flush(now);
}

void ct_writer_buffer_full(void)
{
	inline_flush(ct_now());
}

void ct_writer_pause_single(void)
{
	if (ct_app_threads() <= 1)
		ct_writer_quiesce();
}

/* pthread_join returns when the kernel clears the thread's tid, a moment before the
 * thread leaves the thread group; until then unshare(CLONE_NEWUSER) and setns still see
 * two threads and fail with EINVAL. Waits until the kernel no longer finds the writer's
 * tid (tgkill's signal 0: ESRCH), at most 5000 sleeps of 20 us (each a little longer:
 * the timer's slack). errno kept. */
static void writer_gone(void)
{
	int tid = atomic_exchange(&writer_tid, 0), e = errno;
	struct timespec step = { 0, 20000 };
	for (int i = 0; tid > 0 && i < 5000 &&
			REAL(syscall)(SYS_tgkill, (long)ct_pid, (long)tid, 0L) == 0; i++)
		REAL(syscall)(SYS_nanosleep, &step, NULL);
	errno = e;
}

void ct_writer_quiesce(void)
{
	if (atomic_load(&ct_fl.wstate) == W_NONE || ct_in_sandbox() || getpid() != ct_pid ||
	    gettid() == atomic_load(&writer_tid) || ct_flush_held_here())
		return;
	int self_nest = ct_nest_off();
	ct_writer_stop(1);
	ct_nest_restore(self_nest);
}

void ct_writer_stop(int gone)
{
	int s = writer_claim();
	if (s < 0)
		return;
	writer_join(s);
	atomic_store(&ct_fl.spawned, 0);
	writer_release(W_NONE);
	if (gone && s != W_NONE)
		writer_gone();
}

void ct_writer_single(void)
{
	if (may_retire() && atomic_load(&ct_fl.wstate) == W_RUNS &&
	    ct_now() - ct_fl.wstarted >= (uint64_t)ct_cfg.flush_ms * 1000000u)
		ct_writer_quiesce();
}

