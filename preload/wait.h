/* SPDX-License-Identifier: MIT */
/*
 * The two halves every blocking wrapper shares: ct_wait_begin/ct_wait_end around the real
 * blocking call, and ct_release_begin/ct_release_end around a release that may end
 * someone's wait. See wait.c for the protocol.
 */
#ifndef CTRACE_WAIT_H
#define CTRACE_WAIT_H

#include "ctrace.h"

/* CLOCK_MONOTONIC ns now (tick.c): converted from the TSC where the record path's ticks
 * are the TSC (io.h), within ~100 ns of ct_now() and never below the calling thread's
 * previous value; else ct_now(). The timestamp of annotation events only: a wait's,
 * release's or call's events read ct_now(), so that the events of one thread, which the
 * analyzer orders by time, are all on one clock. Record path: no lock, no system call,
 * async-signal-safe. */
uint64_t ct_tick_now_ns(void);

struct ct_wait {
	struct ct_thread *th;
	struct ct_shadow *sh;
	uint64_t obj;
	unsigned kind;
	int saved_errno;
	uint32_t stack;  /* the waiter's stack id */
	uint64_t t0;     /* WAIT_BEGIN timestamp */
	uint32_t seq0;   /* the object's release sequence number at registration */
};

/* Call when ct_on() and the call is about to block. Captures the waiter's stack, registers
 * it as a waiter of obj, records WAIT_BEGIN (format/events.h: owner is the mutex's owner
 * tid, a condition variable's mutex or the joined tid; deadline a timed call's, else 0).
 * errno is restored on return; the guard is not held during the real call. */
void ct_wait_begin(struct ct_wait *w, unsigned kind, const void *obj, uint64_t owner,
		   uint64_t deadline, uint16_t flags);
/* ct_wait_begin in two steps, for the callers that probe again once registered:
 * ct_wait_register takes the timestamp and registers the waiter (the guard stays held);
 * then either ct_wait_record (stack, HOLD events, WAIT_BEGIN; the guard dropped) before
 * the real call, or ct_wait_withdraw when the second probe took the object (no events). */
void ct_wait_register(struct ct_wait *w, unsigned kind, const void *obj);
void ct_wait_record(struct ct_wait *w, uint64_t owner, uint64_t deadline, uint16_t flags);
void ct_wait_withdraw(struct ct_wait *w);
/* After the real call returned ret (a pthread-style error number, 0 on success): records
 * WAIT_END with the release sequence number seen now. Preserves errno. */
void ct_wait_end(struct ct_wait *w, int ret);
/* The same with the result given (enum ct_result) instead of derived from ret. */
void ct_wait_end_result(struct ct_wait *w, int ret, unsigned result);

/* For waits in cancellation points (cond waits, sem_wait, joins): if the thread is
 * cancelled inside the real call, the wait is closed (result error, ECANCELED) so the
 * waiter counts stay exact. Use as
 *	CT_CANCELLABLE(&w, r = real(...));  */
void ct_wait_cancelled(void *w);
#define CT_CANCELLABLE(w, call) do { \
	pthread_cleanup_push(ct_wait_cancelled, (w)); \
	call; \
	pthread_cleanup_pop(0); \
} while (0)

struct ct_release {
	struct ct_shadow *sh;
	uint64_t obj, ts;
	uint64_t c;      /* RELEASE's c: 0, or the owner's tid for a hand-off */
	uint32_t seq;
	int waiters;
	unsigned kind;
};
/*
 * The waiters of each bucket of object addresses (wait.c): a registered waiter of obj
 * counts in ct_wait_bucket(obj) (raised just before the shadow entry's waiters, lowered
 * with it), so a release whose bucket is 0 has no waiter and skips the shadow table's
 * lookup, a probe into a table of a MiB that mostly misses the cache. In a program with a
 * thread always blocked somewhere (a pool's idle workers, a maintenance thread on its
 * condition variable) ct_waiting is never 0, and without this every mutex unlock paid
 * that lookup (perf on memcached: a tenth of libctrace's samples). 2 KiB, in cache while
 * used. Counts are exact for the waits of this process; a fork child keeps its parent's
 * (more lookups, never a missed release).
 */
#define CT_WAIT_BUCKETS 512u
extern atomic_int ct_wait_buckets[CT_WAIT_BUCKETS];
static inline atomic_int *ct_wait_bucket(const void *obj)
{
	return &ct_wait_buckets[((uint64_t)(uintptr_t)obj * 0x9e3779b97f4a7c15ull) >> 55];
}
/* Might obj have a waiter? 0 when surely not (as of a relaxed read). Record path. */
static inline int ct_wait_maybe(const void *obj)
{
	return atomic_load_explicit(&ct_waiting, memory_order_relaxed) != 0 &&
	       atomic_load_explicit(ct_wait_bucket(obj), memory_order_relaxed) != 0;
}

/* Before a release of obj: if someone waits on it, takes the timestamp and the next
 * sequence number and returns 1 (then call ct_release_end after the real release);
 * otherwise 0. Cheap when nobody in the process waits, or nobody on obj's bucket. */
static inline int ct_release_begin(struct ct_release *r, unsigned kind, const void *obj)
{
	if (likely(!ct_wait_maybe(obj)) || !ct_on())
		return 0;
	struct ct_shadow *sh = ct_shadow_find(obj);
	if (!sh)
		return 0;
	int w = atomic_load_explicit(&sh->waiters, memory_order_acquire);
	if (w <= 0)
		return 0;
	r->sh = sh;
	r->obj = (uint64_t)(uintptr_t)obj;
	r->kind = kind;
	r->c = 0;
	r->waiters = w;
	r->ts = ct_now();
	r->seq = atomic_fetch_add_explicit(&sh->seq, 1, memory_order_acq_rel) + 1;
	return 1;
}
/* After the real release: captures the releaser's stack (outside the critical section)
 * and records RELEASE. Preserves errno. */
void ct_release_end(struct ct_release *r, uint16_t flags);
/* The same with a stack already captured and a timestamp (no capture). Record path;
 * between ct_enter and ct_leave or not, errno preserved. */
void ct_release_emit(struct ct_release *r, uint32_t stack, uint64_t ts, uint16_t flags);

/*
 * The locks this thread holds (mutexes, rwlocks taken for writing), with the call site that
 * took each: an uncontended acquisition records no event, yet a deadlock report has to say
 * where each holder took the lock the others wait for. A thread about to block writes them
 * as HOLD events (ct_wait_begin). Kept per thread in initial-exec TLS, innermost last; when
 * more than CT_HELD_MAX are held the oldest is forgotten. Record path: a few stores, no
 * atomics. Signal-safe: a handler's lock/unlock pairs leave the set as they found it (n is
 * raised before the entry is written).
 */
#define CT_HELD_MAX 8
struct ct_held {
	uint64_t obj, pc;
	uint32_t kind, waited;
};
struct ct_heldset {
	unsigned n;
	struct ct_held e[CT_HELD_MAX];
};
extern CT_TLS struct ct_heldset ct_held;
/* Set once the first entry is pushed (only multi-threaded processes push: a process with
 * one thread cannot deadlock with another): until then the mutex unlock fast path needs
 * no TLS access at all (measured: the TLS test alone took an uncontended single-threaded
 * lock/unlock pair from 3.4 to 5.1 ns). */
extern int ct_held_on;
void ct_held_forget_oldest(void);
void ct_held_remove(uint64_t obj);
/* Writes a HOLD event at ts for each lock in the set, but except (0: none), to th's
 * buffer: before a WAIT_BEGIN (ct_wait_record) and before a slow call's SYSCALL (io.c),
 * so that the analyzer knows what the call or wait was made under. Record path: no
 * malloc, no lock, signal-safe (one-frame stacks of the call sites). */
void ct_held_emit(struct ct_thread *th, uint64_t ts, uint64_t except);

static inline void ct_held_push(const void *obj, const void *pc, unsigned kind, int waited)
{
	if (unlikely(!ct_held_on))
		ct_held_on = 1;
	if (unlikely(ct_held.n == CT_HELD_MAX))
		ct_held_forget_oldest();
	unsigned n = ct_held.n++;
	atomic_signal_fence(memory_order_seq_cst);
	ct_held.e[n] = (struct ct_held){ (uint64_t)(uintptr_t)obj, (uint64_t)(uintptr_t)pc,
					 kind, (uint32_t)waited };
}

static inline void ct_held_pop(const void *obj)
{
	unsigned n = ct_held.n;
	if (likely(n == 0))
		return;
	if (likely(ct_held.e[n - 1].obj == (uint64_t)(uintptr_t)obj))
		ct_held.n = n - 1;
	else
		ct_held_remove((uint64_t)(uintptr_t)obj);
}

/* glibc keeps the owner's tid in the mutex (robust/PI flag bits masked off). */
static inline uint32_t ct_mutex_owner(const pthread_mutex_t *m)
{
	return (uint32_t)m->__data.__owner & 0x3fffffffu;
}

/* Deadline to ns for the event record; 0 when absent. */
static inline uint64_t ct_deadline_ns(const struct timespec *ts)
{
	if (!ts || ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return 0;
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

#endif
