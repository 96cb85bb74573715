/* SPDX-License-Identifier: MIT */
/*
 * Thread registry and thread lifecycle wrappers: pthread_create and thrd_create (start
 * routine, parent,
 * creator's stack; thread start and exit events; buffer handed to the writer at exit),
 * pthread_setname_np (thread names).
 *
 * Slots live in one anonymous mapping and are recycled, so thread churn uses bounded
 * memory. pthread_create claims a slot for the child and passes it as the trampoline's
 * argument: no malloc. Threads not created through our wrapper (the main thread, threads
 * glibc creates internally) claim a slot on their first event.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <threads.h>
#include <unistd.h>

#include "../format/events.h"
#include "wait.h"

struct ct_thread *ct_threads;
CT_TLS struct ct_tls ct_tls;

/*
 * The program's threads alive that libctrace knows of: main, and those started through
 * the pthread_create wrapper. libctrace's writer thread is an ordinary thread to glibc,
 * which ends the process (exit(0)) when its LAST thread exits: with the writer still
 * there, a program whose main calls pthread_exit would never end. So the last program
 * thread stops the writer (and joins it) just before it exits itself; glibc then sees it
 * as the last thread, as it would untraced. If a thread libctrace does not know of is
 * still running, its next event starts a new writer.
 */
static atomic_int app_threads = 1;
static atomic_uint app_made; /* program threads made so far (ct_app_threads_made) */

/* A program thread ends. The last one stops the writer (above); one that leaves a single
 * thread stops it too, unless it is new (ct_writer_single), so that the process is
 * single-threaded again as it would be untraced. */
static void app_thread_gone(void)
{
	int was = atomic_fetch_sub(&app_threads, 1);
	if (was == 1)
		ct_writer_quiesce();
	else if (was == 2)
		ct_writer_single();
}

/* The slots taken (claimed, live or exited), a bit each: set after the claim, cleared
 * just before the release, so that a slot LIVE or EXITED has its bit (but while it is
 * being freed). The scans of the slots (every join, the writer's each period, a fork
 * child) visit those only (ct_threads_next): slots are claimed in turn over the whole
 * table, and after 4096 threads in its life a program's every join scanned the 4096
 * slots, a cache and TLB miss each (about 1 ms), however few threads were alive. */
static _Atomic uint64_t *slot_bits;

int ct_threads_init(void)
{
	ct_threads = ct_map(ct_cfg.max_threads, sizeof(struct ct_thread), CT_MAP_PER_THREAD);
	slot_bits = ct_map((ct_cfg.max_threads + 63) / 64, sizeof(uint64_t), 0);
	return ct_threads && slot_bits ? 0 : -ENOMEM;
}

/* One past the highest slot ever claimed: the scan of slot_bits stops there (a table of
 * up to a million slots, most of them never used). */
static atomic_uint slots_hi;

struct ct_thread *ct_threads_next(unsigned *i)
{
	unsigned hi = ct_threads && slot_bits ?
		      atomic_load_explicit(&slots_hi, memory_order_acquire) : 0;
	for (unsigned k = *i; k < hi;) {
		uint64_t w = atomic_load_explicit(&slot_bits[k / 64], memory_order_acquire) >> (k % 64);
		if (!w) {
			k = (k / 64 + 1) * 64;
			continue;
		}
		k += (unsigned)__builtin_ctzll(w);
		if (k >= hi)
			break;
		*i = k + 1;
		return &ct_threads[k];
	}
	*i = hi;
	return NULL;
}

/* Claims a FREE slot. Record path: lock-free bounded scan. */
static struct ct_thread *slot_claim(void)
{
	static atomic_uint next;
	unsigned n = ct_cfg.max_threads;
	unsigned start = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (start + k) % n;
		struct ct_thread *t = &ct_threads[i];
		int expect = CT_TH_FREE;
		if (atomic_load_explicit(&t->state, memory_order_relaxed) == CT_TH_FREE &&
		    atomic_compare_exchange_strong(&t->state, &expect, CT_TH_CLAIMED)) {
			atomic_fetch_or_explicit(&slot_bits[i / 64], 1ull << (i % 64),
						 memory_order_release);
			ct_atomic_raise(&slots_hi, i + 1);
			/* the serial first, then the fields: the writer reads a slot's fields
			 * between two reads of its serial, and drops what it read when the
			 * serial moved (write_sites) */
			__atomic_store_n(&t->serial, t->serial + 1, __ATOMIC_RELAXED);
			atomic_thread_fence(memory_order_release);
			t->tid = t->parent = 0;
			t->start_func = 0;
			t->creator_stack = 0;
			t->claims = 0;
			t->captures = 0;
			t->sandboxed = 0;
			t->adopted = 0;
			t->buf = NULL;
			memset(t->name, 0, sizeof(t->name));
			/* all zero already when its last thread counted nothing, or its table
			 * was dropped (ct_sites_release): its pages are left untouched */
			if (t->sites_dirty)
				memset(t->sites, 0, sizeof(t->sites));
			t->sites_dirty = 1;
			atomic_store(&t->wait_kind, 0);
			return t;
		}
	}
	ct_count_lost(CT_L_NOSLOT);
	return NULL;
}

static void slot_release(struct ct_thread *t)
{
	unsigned i = (unsigned)(t - ct_threads);
	/* the bit first, then FREE: once FREE, the slot may be claimed and its bit set by
	 * its next owner, which a clear made after the store would undo (the slot then LIVE
	 * and hidden from every scan: no THREADS entry, no SITE records, join owner 0, an
	 * EXITED or adopted slot never reaped) */
	atomic_fetch_and_explicit(&slot_bits[i / 64], ~(1ull << (i % 64)), memory_order_release);
	atomic_store_explicit(&t->state, CT_TH_FREE, memory_order_release);
}

static void adopt(struct ct_thread *t)
{
	ct_tls.tid = gettid();
	t->tid = ct_tls.tid;
	t->self = pthread_self();
	ct_tls.th = t;
	atomic_store_explicit(&t->state, CT_TH_LIVE, memory_order_release);
}

static void emit_own_name(struct ct_thread *t);

struct ct_thread *ct_self(void)
{
	if (likely(ct_tls.th != NULL))
		return ct_tls.th;
	if (!ct_threads)
		return NULL;
	struct ct_thread *t = slot_claim();
	if (t) {
		adopt(t);
		t->adopted = 1;
		/* a thread libctrace did not see begin (one running before an attach, or made
		 * while detached, or by a raw clone): its name as pthread_setname_np or the
		 * kernel left it, once, as thread_begin records a new thread's */
		if (atomic_load_explicit(&ct_active, memory_order_relaxed) && ct_sys_begin() == 0) {
			int e = errno;
			emit_own_name(t);
			errno = e;
			ct_sys_end();
		}
	} else if (ct_tls.untraced != ct_sites_epoch + 1) {
		/* a thread that runs untraced, counted once in each attach session's trace (a
		 * later event may still find a slot free: it is traced from there) */
		ct_tls.untraced = ct_sites_epoch + 1;
		atomic_fetch_add_explicit(&ct_untraced, 1, memory_order_relaxed);
	}
	return t;
}

void ct_threads_after_fork(void)
{
	/* Only the forking thread exists in the child: every other slot is free again, and
	 * the caller's own slot starts afresh (new tid, no buffer, no call-site counts: the
	 * parent's trace has those). */
	struct ct_thread *me = ct_tls.th, *t;
	for (unsigned i = 0; (t = ct_threads_next(&i));)
		if (t != me)
			slot_release(t);
	pid_t old = ct_tls.tid;
	ct_tls.tid = gettid();
	ct_tls.untraced = 0; /* the child's count starts at 0 (ct_buffers_after_fork) */
	if (me) {
		me->parent = old;
		me->tid = ct_tls.tid;
		me->self = pthread_self();
		me->buf = NULL;
		me->claims = 0;
		memset(me->sites, 0, sizeof(me->sites));
		atomic_store(&me->wait_kind, 0);
	}
}

/* Runs when the thread returns from its start routine, calls pthread_exit or is
 * cancelled: last event, buffer to the writer, slot back to the pool. From then on the
 * thread's remaining calls (TLS destructors) pass through untraced, and see the errno
 * the thread left (kept here: reading /proc may fail). */
static void thread_exit(void *p)
{
	/* its I/O (the schedstat read, a flush) runs with cancellation disabled: a
	 * cancellation pending when the start routine returned must not act here (the
	 * joiner would get PTHREAD_CANCELED instead of the routine's value) */
	int e = errno;
	struct ct_thread *t = p;
	struct ct_release rel;
	/* A joiner waiting for this thread is released by its exit, charged to the stack
	 * that created the thread. */
	if (ct_release_begin(&rel, CT_K_JOIN, (const void *)pthread_self()))
		ct_release_emit(&rel, t->creator_stack, rel.ts, 0);
	int sites_kept = 0;
	if (ct_sys_begin() != 0) {
		/* under a seccomp filter: no system call of libctrace's; its events so far
		 * were written when the filter went in. The slot is left claimed (the writer
		 * may still read its call-site table). */
		ct_tls.th = NULL;
		ct_nest_off();
		atomic_fetch_sub(&app_threads, 1);
		errno = e;
		return;
	}
	if (ct_tls.th == t && atomic_load_explicit(&ct_active, memory_order_relaxed)) {
		ct_enter();
		/* The thread's system-call totals per call site (exact even when its events
		 * are dropped: then the writer writes them from the slot), then its end. */
		uint64_t now = ct_now();
		if (ct_sites_exit(t, now) != 0) {
			t->exit_ts = now;
			sites_kept = 1;
		}
		/* with the kernel's on-CPU and run-queue totals, so that a thread shorter than
		 * a generation still has them */
		uint64_t cpu_ns = 0, runq_ns = 0;
		ct_schedstat_read("/proc/thread-self/schedstat", &cpu_ns, &runq_ns);
		struct ct_event ev = ct_ev_thread_end(now, cpu_ns, runq_ns);
		ct_emit(t, &ev);
		ct_leave();
	}
	ct_buf_retire(t);
	ct_exec_room_free(t);
	ct_altstack_remove(); /* the slot's stack may go to the next thread */
	ct_tls.th = NULL;
	ct_nest_off();
	if (sites_kept)
		atomic_store_explicit(&t->state, CT_TH_EXITED, memory_order_release);
	else
		slot_release(t);
	app_thread_gone();
	ct_sys_end();
	errno = e;
}

void ct_thread_reap(struct ct_thread *t)
{
	ct_sites_release(t);
	slot_release(t);
}

/* A thread adopted at its first event (ct_self) has no exit hook: in attach mode, every
 * thread that existed at the attach, or was made while detached (pthread_create not
 * redirected then). Its slot stays LIVE after it ends; a program that makes threads all
 * the time filled the table within a few sessions, and later ones lost most events
 * (no_thread_slot), and its buffer stayed taken (no_buffer). A thread found gone has no
 * TLS left to point at its slot. */
static int gone(const struct ct_thread *t, pid_t pid)
{
	return atomic_load_explicit(&t->state, memory_order_acquire) == CT_TH_LIVE && t->tid &&
	       REAL(syscall)(SYS_tgkill, (long)pid, (long)t->tid, 0L) != 0 && errno == ESRCH;
}

/* Only adopted slots: the others' exit hook frees them (even while detached, tracing
 * off). During a session a long attach, or a program whose threads libctrace did not see
 * begin (made by a raw clone), would otherwise keep every such slot until the table is
 * full; between sessions they would pile up across attaches. */
void ct_threads_gone(uint64_t now, int free_now)
{
	int e = errno;
	pid_t pid = getpid();
	struct ct_thread *t;
	for (unsigned i = 0; (t = ct_threads_next(&i));) {
		if (!t->adopted || !gone(t, pid))
			continue;
		ct_buf_retire(t); /* its last events: written (if of this session) and freed */
		if (free_now) {
			ct_thread_reap(t);
		} else {
			t->exit_ts = now;
			atomic_store_explicit(&t->state, CT_TH_EXITED, memory_order_release);
		}
	}
	errno = e;
}

/* Records th's current name as a THREAD_NAME event in me's buffer. Record path. */
static void emit_name(struct ct_thread *me, const struct ct_thread *th)
{
	struct ct_event ev = ct_ev_thread_name(ct_now(), (uint32_t)th->tid, th->name);
	ct_emit(me, &ev);
}

/* The calling thread's name as the kernel has it, into its slot and as a THREAD_NAME
 * event. Record path (one system call). */
static void emit_own_name(struct ct_thread *t)
{
	prctl(PR_GET_NAME, t->name);
	emit_name(t, t);
}

/* The new thread's first steps: its slot, THREAD_START and its name; its start routine
 * then begins with the errno a new thread has (0), whatever these calls did. */
static void thread_begin(struct ct_thread *t)
{
	int e = errno;

	if (t->sandboxed || ct_sys_begin() != 0) {
		/* made by a thread under a seccomp filter, which it inherits (or one for every
		 * thread went in since) */
		ct_sandboxed = 1;
		ct_nest_off();
		errno = e;
		return;
	}
	adopt(t);
	if (atomic_load_explicit(&ct_active, memory_order_relaxed)) {
		ct_enter();
		struct ct_event ev = ct_ev_thread_start(ct_now(), t->creator_stack,
							(uint32_t)t->parent, t->start_func);
		ct_emit(t, &ev);
		/* The kernel gave the thread its creator's name; record it so the thread has a
		 * name even if it never calls pthread_setname_np. */
		emit_own_name(t);
		ct_leave();
	}
	/* After THREAD_START: its time starts the thread's lifetime, which the kernel's
	 * on-CPU and run-queue totals must fit in. A new thread has no sigaltstack. */
	ct_altstack_install(t, 0);
	ct_sys_end();
	errno = e;
}

static void *trampoline(void *p)
{
	struct ct_thread *t = p;
	void *(*fn)(void *) = t->fn;
	void *arg = t->arg;
	void *ret;

	thread_begin(t);
	pthread_cleanup_push(thread_exit, t);
	ret = fn(arg);
	pthread_cleanup_pop(1);
	return ret;
}

/* The same for C11 threads, whose start routine returns int (thrd_exit and cancellation
 * run the cleanup handler as pthread_exit does). */
static int trampoline_c11(void *p)
{
	struct ct_thread *t = p;
	int (*fn)(void *) = t->fn_c11;
	void *arg = t->arg;
	int ret;

	thread_begin(t);
	pthread_cleanup_push(thread_exit, t);
	ret = fn(arg);
	pthread_cleanup_pop(1);
	return ret;
}

/* A slot for a thread about to be created, with its start routine, parent and the
 * creator's stack; NULL when not tracing or the table is full (the thread then runs
 * untraced). Starts the writer thread: the process is about to have a second thread. */
static struct ct_thread *child_slot(uint64_t start_func, void *arg)
{
	if (ct_sandboxed && ct_threads && atomic_load(&ct_active)) {
		/* the caller is under a seccomp filter: so is the new thread, which records
		 * nothing (thread_begin); a slot carries the mark there (no system call) */
		struct ct_thread *t = slot_claim();
		if (t) {
			t->arg = arg;
			t->sandboxed = 1;
		}
		return t;
	}
	if (!ct_on() || !ct_threads)
		return NULL;
	int saved = errno;
	ct_enter();
	ct_writer_spawn();
	struct ct_thread *t = slot_claim();
	if (t) {
		t->arg = arg;
		t->start_func = start_func;
		t->parent = ct_tls.tid ? ct_tls.tid : gettid();
		t->creator_stack = ct_stack_here();
	}
	ct_leave();
	errno = saved;
	return t;
}

CT_EXPORT int pthread_create(pthread_t *thr, const pthread_attr_t *attr,
			     void *(*fn)(void *), void *arg)
{
	struct ct_thread *t = child_slot((uint64_t)(uintptr_t)fn, arg);
	if (!t)
		return REAL(pthread_create)(thr, attr, fn, arg);
	t->fn = fn;
	atomic_fetch_add(&app_threads, 1);
	atomic_fetch_add(&app_made, 1);
	int r = REAL(pthread_create)(thr, attr, trampoline, t);
	if (r != 0) {
		slot_release(t);
		atomic_fetch_sub(&app_threads, 1);
	}
	return r;
}

/* C11 threads: glibc's thrd_create calls its internal pthread_create, which no wrapper
 * sees; without this wrapper such threads would be missing from the count of program
 * threads that decides when the writer thread must stop (app_threads above). */
CT_EXPORT int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
	if (unlikely(!REAL(thrd_create)))
		return thrd_error;
	struct ct_thread *t = child_slot((uint64_t)(uintptr_t)fn, arg);
	if (!t)
		return ct_real.thrd_create(thr, fn, arg);
	t->fn_c11 = fn;
	atomic_fetch_add(&app_threads, 1);
	atomic_fetch_add(&app_made, 1);
	int r = ct_real.thrd_create(thr, trampoline_c11, t);
	if (r != thrd_success) {
		slot_release(t);
		atomic_fetch_sub(&app_threads, 1);
	}
	return r;
}

int ct_app_threads(void)
{
	return atomic_load(&app_threads);
}

unsigned ct_app_threads_made(void)
{
	return atomic_load(&app_made);
}

/* pthread_exit from main: the process lives on while other threads run (see above). */
CT_EXPORT void pthread_exit(void *ret)
{
	if (ct_threads && atomic_load(&ct_active) && !ct_in_sandbox() && gettid() == getpid()) {
		ct_enter();
		app_thread_gone();
		ct_leave();
	}
	REAL(pthread_exit)(ret);
	__builtin_unreachable();
}

void ct_threads_after_fork_count(void)
{
	atomic_store(&app_threads, 1);
}

CT_EXPORT int pthread_setname_np(pthread_t thr, const char *name)
{
	int r = REAL(pthread_setname_np)(thr, name);
	if (r != 0 || !ct_on() || !ct_threads)
		return r;
	int saved = errno;
	ct_enter();
	struct ct_thread *me = ct_self(), *target = NULL;
	if (pthread_equal(thr, pthread_self())) {
		target = me;
	} else {
		struct ct_thread *t;
		for (unsigned i = 0; (t = ct_threads_next(&i));) {
			if (atomic_load(&t->state) == CT_TH_LIVE && pthread_equal(t->self, thr)) {
				target = t;
				break;
			}
		}
	}
	if (target) {
		char nm[CT_NAME_LEN] = { 0 };
		memcpy(nm, name, strnlen(name, CT_NAME_LEN));
		memcpy(target->name, nm, CT_NAME_LEN);
		emit_name(me, target);
	}
	ct_leave();
	errno = saved;
	return r;
}

/* ---- joins ---- */

/* The tid of a thread created through our wrapper, 0 if unknown. */
static uint32_t tid_of(pthread_t thr)
{
	struct ct_thread *t;
	for (unsigned i = 0; (t = ct_threads_next(&i));) {
		if (atomic_load(&t->state) == CT_TH_LIVE && pthread_equal(t->self, thr))
			return (uint32_t)t->tid;
	}
	return 0;
}

enum { JOIN, TIMEDJOIN, CLOCKJOIN };

/* pthread_join is a cancellation point even when the thread has already exited, so it is
 * never probed with pthread_tryjoin_np: every join is recorded (joins are rare). */
static int traced_join(pthread_t thr, void **ret, int op, clockid_t clk,
		       const struct timespec *abst)
{
	struct ct_wait w;
	uint16_t flags = op == JOIN ? 0 : CT_EVF_TIMED;
	if (op != JOIN && clk == CLOCK_REALTIME)
		flags |= CT_EVF_CLOCK_RT;
	ct_wait_begin(&w, CT_K_JOIN, (const void *)thr, tid_of(thr), ct_deadline_ns(abst), flags);
	int r = 0;
	if (op == JOIN)
		CT_CANCELLABLE(&w, r = REAL(pthread_join)(thr, ret));
	else if (op == TIMEDJOIN)
		CT_CANCELLABLE(&w, r = REAL(pthread_timedjoin_np)(thr, ret, abst));
	else
		CT_CANCELLABLE(&w, r = REAL(pthread_clockjoin_np)(thr, ret, clk, abst));
	ct_wait_end(&w, r);
	return r;
}

CT_EXPORT int pthread_join(pthread_t thr, void **ret)
{
	if (!ct_on())
		return REAL(pthread_join)(thr, ret);
	return traced_join(thr, ret, JOIN, CLOCK_REALTIME, NULL);
}

CT_EXPORT int pthread_timedjoin_np(pthread_t thr, void **ret, const struct timespec *abst)
{
	if (!ct_on())
		return REAL(pthread_timedjoin_np)(thr, ret, abst);
	return traced_join(thr, ret, TIMEDJOIN, CLOCK_REALTIME, abst);
}

CT_EXPORT int pthread_clockjoin_np(pthread_t thr, void **ret, clockid_t clk,
				   const struct timespec *abst)
{
	if (unlikely(!REAL(pthread_clockjoin_np)))
		return ENOSYS;
	if (!ct_on() || (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC))
		return ct_real.pthread_clockjoin_np(thr, ret, clk, abst);
	return traced_join(thr, ret, CLOCKJOIN, clk, abst);
}

CT_EXPORT int pthread_tryjoin_np(pthread_t thr, void **ret)
{
	return REAL(pthread_tryjoin_np)(thr, ret);
}
