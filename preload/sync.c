/* SPDX-License-Identifier: MIT */
/*
 * Semaphores, rwlocks, barriers and spinlocks (profile sync).
 *
 * Policies:
 *  - rwlocks and spinlocks: try first (tryrdlock/trywrlock/spin_trylock); only EBUSY takes
 *    the traced path, as for mutexes.
 *  - semaphores: sem_wait is a cancellation point even when the semaphore is available, so
 *    a sem_trywait probe would take the semaphore where glibc would act on a pending
 *    cancel. Instead the value glibc keeps in the low 32 bits of the semaphore is read: a
 *    positive value goes straight to the real call; zero takes the traced path. A value
 *    changing in between makes at most one short wait recorded or not: the semantics are
 *    the real call's either way.
 *  - barriers: every pthread_barrier_wait may block, so every one is recorded; the thread
 *    that completes the round (PTHREAD_BARRIER_SERIAL_THREAD in glibc) records the release
 *    at its arrival time.
 *  - releases (sem_post, rwlock unlock, spin unlock) are recorded while someone waits.
 */
#include <errno.h>

#include "lockorder.h"
#include "wait.h"

/* ---- semaphores ---- */

/* glibc (64-bit atomics): value in the low 32 bits of the first word, waiters above. */
static inline unsigned sem_value(const sem_t *s)
{
	return (unsigned)__atomic_load_n((const uint64_t *)(const void *)s, __ATOMIC_RELAXED);
}

enum { SEM_WAIT, SEM_TIMED, SEM_CLOCK };

static __attribute__((noinline)) int traced_sem(sem_t *s, int op, clockid_t clk,
						 const struct timespec *abst)
{
	struct ct_wait w;
	uint16_t flags = op == SEM_WAIT ? 0 : CT_EVF_TIMED;
	if (op != SEM_WAIT && clk == CLOCK_REALTIME)
		flags |= CT_EVF_CLOCK_RT;
	ct_wait_begin(&w, CT_K_SEM, s, 0, ct_deadline_ns(abst), flags);
	int r = 0;
	if (op == SEM_WAIT)
		CT_CANCELLABLE(&w, r = REAL(sem_wait)(s));
	else if (op == SEM_TIMED)
		CT_CANCELLABLE(&w, r = REAL(sem_timedwait)(s, abst));
	else
		CT_CANCELLABLE(&w, r = REAL(sem_clockwait)(s, clk, abst));
	/* sem_* return -1 and set errno: the wait's result is the errno value. */
	ct_wait_end(&w, r == 0 ? 0 : errno);
	return r;
}

CT_EXPORT int sem_wait(sem_t *s)
{
	if (sem_value(s) == 0 && ct_on())
		return traced_sem(s, SEM_WAIT, CLOCK_REALTIME, NULL);
	return REAL(sem_wait)(s);
}

CT_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abst)
{
	if (sem_value(s) == 0 && ct_on())
		return traced_sem(s, SEM_TIMED, CLOCK_REALTIME, abst);
	return REAL(sem_timedwait)(s, abst);
}

CT_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abst)
{
	if (unlikely(!REAL(sem_clockwait))) {
		errno = ENOSYS;
		return -1;
	}
	if (sem_value(s) == 0 && ct_on() && (clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC))
		return traced_sem(s, SEM_CLOCK, clk, abst);
	return ct_real.sem_clockwait(s, clk, abst);
}

CT_EXPORT int sem_trywait(sem_t *s)
{
	return REAL(sem_trywait)(s);
}

CT_EXPORT int sem_post(sem_t *s)
{
	struct ct_release rel;
	if (likely(!ct_release_begin(&rel, CT_K_SEM, s)))
		return REAL(sem_post)(s);
	int r = REAL(sem_post)(s);
	if (r == 0)
		ct_release_end(&rel, 0);
	return r;
}

/* ---- rwlocks ---- */

enum { RW_PLAIN, RW_TIMED, RW_CLOCK };

/* The probe: 1 when it settled the call (*r: taken, or an error), 0 when it would block.
 * rwlocks taken for writing go into the thread's held set (wait.h), as mutexes do. */
static inline int rw_probe(pthread_rwlock_t *l, int wr, const void *pc, int *r)
{
	*r = wr ? REAL(pthread_rwlock_trywrlock)(l) : REAL(pthread_rwlock_tryrdlock)(l);
	if (*r == EBUSY)
		return 0;
	ct_lock_taken_r(*r, l, pc, wr ? CT_K_RWLOCK_WR : CT_K_RWLOCK_RD, 0);
	return 1;
}

static __attribute__((noinline)) int traced_rw(pthread_rwlock_t *l, int wr, int op, clockid_t clk,
						const struct timespec *abst, const void *pc)
{
	int r;
	/* glibc checks a timed call's timeout before the lock: a bad one fails even when the
	 * lock is free, where the probe would take it */
	if (op != RW_PLAIN && abst && (abst->tv_nsec < 0 || abst->tv_nsec >= 1000000000L))
		return EINVAL;
	if (likely(rw_probe(l, wr, pc, &r)))
		return r;
	struct ct_wait w;
	ct_wait_register(&w, wr ? CT_K_RWLOCK_WR : CT_K_RWLOCK_RD, l);
	if (rw_probe(l, wr, pc, &r)) { /* released between the probes (see wait.c) */
		ct_wait_withdraw(&w);
		return r;
	}
	uint16_t flags = op == RW_PLAIN ? 0 : CT_EVF_TIMED;
	if (op != RW_PLAIN && clk == CLOCK_REALTIME)
		flags |= CT_EVF_CLOCK_RT;
	/* glibc keeps the writer's tid in __cur_writer. */
	uint64_t owner = (uint64_t)(uint32_t)l->__data.__cur_writer;
	ct_wait_record(&w, owner, ct_deadline_ns(abst), flags);
	if (op == RW_PLAIN)
		r = wr ? REAL(pthread_rwlock_wrlock)(l) : REAL(pthread_rwlock_rdlock)(l);
	else if (op == RW_TIMED)
		r = wr ? REAL(pthread_rwlock_timedwrlock)(l, abst)
		       : REAL(pthread_rwlock_timedrdlock)(l, abst);
	else
		r = wr ? REAL(pthread_rwlock_clockwrlock)(l, clk, abst)
		       : REAL(pthread_rwlock_clockrdlock)(l, clk, abst);
	ct_wait_end(&w, r);
	return ct_lock_taken_r(r, l, pc, wr ? CT_K_RWLOCK_WR : CT_K_RWLOCK_RD, 1);
}

CT_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	if (ct_on())
		return traced_rw(l, 0, RW_PLAIN, CLOCK_REALTIME, NULL, __builtin_return_address(0));
	return REAL(pthread_rwlock_rdlock)(l);
}

CT_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	if (ct_on())
		return traced_rw(l, 1, RW_PLAIN, CLOCK_REALTIME, NULL, __builtin_return_address(0));
	return REAL(pthread_rwlock_wrlock)(l);
}

CT_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abst)
{
	if (ct_on())
		return traced_rw(l, 0, RW_TIMED, CLOCK_REALTIME, abst, __builtin_return_address(0));
	return REAL(pthread_rwlock_timedrdlock)(l, abst);
}

CT_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abst)
{
	if (ct_on())
		return traced_rw(l, 1, RW_TIMED, CLOCK_REALTIME, abst, __builtin_return_address(0));
	return REAL(pthread_rwlock_timedwrlock)(l, abst);
}

CT_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk,
					 const struct timespec *abst)
{
	if (unlikely(!REAL(pthread_rwlock_clockrdlock)))
		return ENOSYS;
	if (ct_on() && (clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC))
		return traced_rw(l, 0, RW_CLOCK, clk, abst, __builtin_return_address(0));
	return ct_real.pthread_rwlock_clockrdlock(l, clk, abst);
}

CT_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk,
					 const struct timespec *abst)
{
	if (unlikely(!REAL(pthread_rwlock_clockwrlock)))
		return ENOSYS;
	if (ct_on() && (clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC))
		return traced_rw(l, 1, RW_CLOCK, clk, abst, __builtin_return_address(0));
	return ct_real.pthread_rwlock_clockwrlock(l, clk, abst);
}

CT_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	return REAL(pthread_rwlock_tryrdlock)(l);
}

CT_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	int r = REAL(pthread_rwlock_trywrlock)(l);
	if (r == 0)
		ct_held_push(l, __builtin_return_address(0), CT_K_RWLOCK_WR, 0);
	return r;
}

CT_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	struct ct_release rel;
	ct_held_pop(l);
	unsigned kind = l->__data.__cur_writer ? CT_K_RWLOCK_WR : CT_K_RWLOCK_RD;
	if (likely(!ct_release_begin(&rel, kind, l)))
		return REAL(pthread_rwlock_unlock)(l);
	int r = REAL(pthread_rwlock_unlock)(l);
	if (r == 0)
		ct_release_end(&rel, 0);
	return r;
}

/* ---- barriers ---- */

CT_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
	if (!ct_on())
		return REAL(pthread_barrier_wait)(b);
	struct ct_wait w;
	struct ct_release rel = { 0 };
	ct_wait_begin(&w, CT_K_BARRIER, b, 0, 0, 0);
	int r = REAL(pthread_barrier_wait)(b);
	if (r == PTHREAD_BARRIER_SERIAL_THREAD && w.sh) {
		/* This thread completed the round: the release happened at its arrival. The
		 * others may already have read the sequence number; the analyzer matches
		 * barrier waits to the release by time. */
		rel.sh = w.sh;
		rel.obj = w.obj;
		rel.kind = CT_K_BARRIER;
		rel.waiters = atomic_load(&w.sh->waiters) - 1;
		rel.seq = atomic_fetch_add(&w.sh->seq, 1) + 1;
		ct_release_emit(&rel, w.stack, w.t0, 0);
	}
	/* The last arrival did not wait: its pair says so (CT_R_RELEASED), so the analyzer
	 * counts it as the release, not as a wait. Whether an arrival is the last one is
	 * known only when the real call returns. */
	if (r == PTHREAD_BARRIER_SERIAL_THREAD)
		ct_wait_end_result(&w, 0, CT_R_RELEASED);
	else
		ct_wait_end(&w, r);
	return r;
}

/* ---- spinlocks ---- */

CT_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
	if (!ct_on())
		return REAL(pthread_spin_lock)(l);
	int r = REAL(pthread_spin_trylock)(l);
	if (likely(r != EBUSY))
		return ct_lock_taken_r(r, (void *)l, __builtin_return_address(0), CT_K_SPIN, 0);
	struct ct_wait w;
	ct_wait_register(&w, CT_K_SPIN, (const void *)l);
	if ((r = REAL(pthread_spin_trylock)(l)) != EBUSY) { /* released between the probes */
		ct_wait_withdraw(&w);
		return ct_lock_taken_r(r, (void *)l, __builtin_return_address(0), CT_K_SPIN, 0);
	}
	ct_wait_record(&w, 0, 0, 0);
	r = REAL(pthread_spin_lock)(l);
	ct_wait_end(&w, r);
	return ct_lock_taken_r(r, (void *)l, __builtin_return_address(0), CT_K_SPIN, 1);
}

CT_EXPORT int pthread_spin_trylock(pthread_spinlock_t *l)
{
	return REAL(pthread_spin_trylock)(l);
}

CT_EXPORT int pthread_spin_unlock(pthread_spinlock_t *l)
{
	struct ct_release rel;
	ct_held_pop((void *)l);
	if (likely(!ct_release_begin(&rel, CT_K_SPIN, (const void *)l)))
		return REAL(pthread_spin_unlock)(l);
	int r = REAL(pthread_spin_unlock)(l);
	ct_release_end(&rel, 0);
	return r;
}
