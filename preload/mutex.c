/* SPDX-License-Identifier: MIT */
/*
 * pthread_mutex_* wrappers.
 *
 * Policy: a lock first tries pthread_mutex_trylock; only EBUSY (it would block) takes the
 * traced path, every other result is returned as the real lock would return it
 * (EOWNERDEAD, EDEADLK comes from the real lock after EBUSY, EAGAIN, ...). So an
 * uncontended lock costs one extra call and records nothing. An unlock records a RELEASE
 * only when it really releases the mutex (not an inner unlock of a recursive mutex, not
 * an EPERM unlock by a non-owner) and someone waits on it; an unlock of a normal mutex by
 * a thread that does not own it (legal in glibc, used to hand a lock over) is flagged as
 * a hand-off.
 *
 * Every lock the wrappers see taken (outside the single-threaded direct path) goes into
 * the thread's held set with its call site (wait.h), every unlock takes it out: that is
 * what a deadlock report names as the place a holder took its lock.
 */
#include <errno.h>
#include <sys/single_threaded.h>

#include "lockorder.h"
#include "wait.h"

#define PTHREAD_MUTEX_KIND_MASK 3      /* glibc: __kind low bits hold the mutex type */
#define PTHREAD_MUTEX_PSHARED_BIT 128  /* glibc: __kind bit of process-shared mutexes */
#define PTHREAD_MUTEX_ROBUST_BIT 16    /* glibc: __kind bit of robust mutexes */
#define PTHREAD_MUTEX_ELISION_BITS 768 /* glibc: __kind elision / no-elision bits */

/*
 * Can the real lock be called directly? glibc (>= 2.34) locks and unlocks a private
 * mutex without atomic instructions while the process has a single thread; a trylock
 * probe would always take the atomic path (measured: 2.8 ns plain vs 9.7 ns per
 * lock/unlock pair). With one thread and the mutex free, nobody can make the call block,
 * so the probe is skipped. A held mutex there (a self-deadlock) still takes the traced
 * path.
 */
static inline int direct_ok(const pthread_mutex_t *m)
{
	return __libc_single_threaded && m->__data.__lock == 0 &&
	       !(m->__data.__kind & PTHREAD_MUTEX_PSHARED_BIT);
}

/* The traced path: kept out of line so the wrappers' fast paths have no stack frame and
 * end in a tail jump to the real function. */
/* Acquired: 0, or EOWNERDEAD from a robust mutex (the caller owns it then). */
static inline int taken(int r)
{
	return r == 0 || r == EOWNERDEAD;
}

static inline int real_lock(pthread_mutex_t *m, int which, clockid_t clk,
			    const struct timespec *abst)
{
	return which == 0   ? REAL(pthread_mutex_lock)(m)
	       : which == 1 ? REAL(pthread_mutex_timedlock)(m, abst)
			    : REAL(pthread_mutex_clocklock)(m, clk, abst);
}

/* The probe: 1 when it settled the call (*r its result: the mutex taken, untraced, or an
 * error), 0 when the caller would block. */
static inline int probe(pthread_mutex_t *m, int which, clockid_t clk,
			const struct timespec *abst, const void *pc, int *r)
{
	if (unlikely(m->__data.__kind & PTHREAD_MUTEX_ROBUST_BIT)) {
		/* No trylock: glibc's trylock of a robust mutex in the ENOTRECOVERABLE state
		 * returns that error but leaves the mutex locked (lock does not), so a probe
		 * would change what the program's next call returns. A free robust mutex is
		 * taken untraced; one held at the peek is a recorded wait. */
		if (atomic_load_explicit((_Atomic int *)&m->__data.__lock,
					 memory_order_relaxed) != 0)
			return 0;
		*r = real_lock(m, which, clk, abst);
	} else if (likely((*r = ct_hot.mutex_trylock(m)) == EBUSY)) {
		return 0;
	}
	if (taken(*r) && !__libc_single_threaded)
		ct_lock_taken(m, pc, CT_K_MUTEX, 0);
	return 1;
}

/* The wait: the probe found the mutex held. Its own function, so that the probe's path
 * (lock_probe) saves no registers and makes no frame for what only a wait needs. */
static __attribute__((noinline, cold)) int wait_lock(pthread_mutex_t *m, int which,
						      clockid_t clk, const struct timespec *abst,
						      const void *pc)
{
	int r;
	struct ct_wait w;
	ct_wait_register(&w, CT_K_MUTEX, m);
	/* Probe again now that a releaser sees this waiter: a release in between was not
	 * recorded, and the caller would not block. */
	if (probe(m, which, clk, abst, pc, &r)) {
		ct_wait_withdraw(&w);
		return r;
	}
	uint16_t flags = which ? CT_EVF_TIMED : 0;
	if (which && clk == CLOCK_REALTIME)
		flags |= CT_EVF_CLOCK_RT;
	ct_wait_record(&w, ct_mutex_owner(m), ct_deadline_ns(abst), flags);
	r = real_lock(m, which, clk, abst);
	ct_wait_end(&w, r);
	if (taken(r) && !__libc_single_threaded)
		ct_lock_taken(m, pc, CT_K_MUTEX, 1);
	return r;
}

static __attribute__((noinline)) int traced_lock(pthread_mutex_t *m, int which, clockid_t clk,
						   const struct timespec *abst, const void *pc)
{
	int r;
	if (likely(probe(m, which, clk, abst, pc, &r)))
		return r;
	return wait_lock(m, which, clk, abst, pc);
}

/* pthread_mutex_lock's traced path: the probe (trylock, and the held set), then the wait
 * when the mutex is held. The uncontended lock ends here, with three registers saved
 * where traced_lock saved five and built a frame for the wait's state (perf: that
 * prologue drew a fifth of traced_lock's samples on an uncontended loop). */
static __attribute__((noinline)) int lock_probe(pthread_mutex_t *m, const void *pc)
{
	if (likely(!(m->__data.__kind & PTHREAD_MUTEX_ROBUST_BIT))) {
		int r = ct_hot.mutex_trylock(m);
		if (likely(r != EBUSY)) {
			if (taken(r) && !__libc_single_threaded)
				ct_lock_taken(m, pc, CT_K_MUTEX, 0);
			return r;
		}
		return wait_lock(m, 0, CLOCK_REALTIME, NULL, pc);
	}
	return traced_lock(m, 0, CLOCK_REALTIME, NULL, pc);
}

CT_EXPORT __attribute__((hot)) int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (likely(!direct_ok(m)) && likely(ct_on()))
		return lock_probe(m, __builtin_return_address(0));
	return ct_hot.mutex_lock(m);
}

CT_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int r = ct_hot.mutex_trylock(m);
	if (taken(r) && !__libc_single_threaded)
		ct_held_push(m, __builtin_return_address(0), CT_K_MUTEX, 0);
	return r;
}

CT_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abst)
{
	if (likely(!direct_ok(m)) && likely(ct_on()))
		return traced_lock(m, 1, CLOCK_REALTIME, abst, __builtin_return_address(0));
	return REAL(pthread_mutex_timedlock)(m, abst);
}

CT_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
				      const struct timespec *abst)
{
	if (unlikely(!REAL(pthread_mutex_clocklock)))
		return ENOSYS;
	/* An invalid clock must fail with EINVAL even when the mutex is free: only the two
	 * valid clocks take the probe. */
	if (!direct_ok(m) && ct_on() && (clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC))
		return traced_lock(m, 2, clk, abst, __builtin_return_address(0));
	return ct_real.pthread_mutex_clocklock(m, clk, abst);
}

/* What unlocking m does, judged before the real unlock. */
enum { NO_RELEASE, RELEASE_OWN, RELEASE_HANDOFF };
static int releases(const pthread_mutex_t *m, uint32_t *owner)
{
	int kind = m->__data.__kind;
	*owner = ct_mutex_owner(m);
	if (*owner != (uint32_t)(ct_tls.tid ? ct_tls.tid : gettid())) {
		/* glibc checks the owner of recursive, error-checking, robust, priority-
		 * inheritance and priority-protect mutexes (EPERM, nothing released); a normal
		 * or adaptive one (with or without its lock-elision bits) is released by
		 * whoever unlocks it. */
		int type = kind & ~(PTHREAD_MUTEX_PSHARED_BIT | PTHREAD_MUTEX_ELISION_BITS);
		return (type == PTHREAD_MUTEX_NORMAL || type == PTHREAD_MUTEX_ADAPTIVE_NP) &&
				       *owner != 0 && m->__data.__lock != 0
			       ? RELEASE_HANDOFF : NO_RELEASE;
	}
	if ((kind & PTHREAD_MUTEX_KIND_MASK) == PTHREAD_MUTEX_RECURSIVE && m->__data.__count > 1)
		return NO_RELEASE;
	return RELEASE_OWN;
}

/* Only an unlock that really releases takes a sequence number: an EPERM unlock by a
 * non-owner or an inner unlock of a recursive mutex must not look like a hand-off. An
 * unlock of a normal mutex by a thread that does not own it (hand-off code) is a release,
 * flagged CT_EVF_HANDOFF with the owner's tid. */
static __attribute__((noinline)) int traced_unlock(pthread_mutex_t *m)
{
	struct ct_release rel;
	uint32_t owner;
	int how = releases(m, &owner);
	if (how == NO_RELEASE || !ct_release_begin(&rel, CT_K_MUTEX, m))
		return REAL(pthread_mutex_unlock)(m);
	if (how == RELEASE_HANDOFF)
		rel.c = owner;
	int r = REAL(pthread_mutex_unlock)(m);
	if (r == 0)
		ct_release_end(&rel, how == RELEASE_HANDOFF ? CT_EVF_HANDOFF : 0);
	return r;
}

/* The unlock of a mutex that is not the innermost held (out of order): taken out of the
 * held set (a call, so its own function: slow_unlock keeps no frame). */
static __attribute__((noinline, cold)) int unlock_unordered(pthread_mutex_t *m)
{
	ct_held_remove((uint64_t)(uintptr_t)m);
	if (ct_wait_maybe(m))
		return traced_unlock(m);
	return ct_hot.mutex_unlock(m);
}

/* ct_held_pop, with the rare removal out of line: the common unlock (the innermost lock,
 * no waiter on its bucket) saves no register and ends in a tail jump. */
static __attribute__((noinline)) int slow_unlock(pthread_mutex_t *m)
{
	unsigned n = ct_held.n;
	if (likely(n != 0)) {
		if (unlikely(ct_held.e[n - 1].obj != (uint64_t)(uintptr_t)m))
			return unlock_unordered(m);
		ct_held.n = n - 1;
	}
	if (unlikely(ct_wait_maybe(m)))
		return traced_unlock(m);
	return ct_hot.mutex_unlock(m);
}

CT_EXPORT __attribute__((hot)) int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (unlikely((atomic_load_explicit(&ct_waiting, memory_order_relaxed) | ct_held_on) != 0))
		return slow_unlock(m);
	return ct_hot.mutex_unlock(m);
}
