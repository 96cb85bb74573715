/* SPDX-License-Identifier: MIT */
/*
 * pthread_cond_* wrappers, for both x86_64 ABIs.
 *
 * glibc exports pthread_cond_{wait,timedwait,signal,broadcast} twice: @GLIBC_2.2.5 (the
 * old layout, a pointer to a lazily allocated condvar) and @@GLIBC_2.3.2 (current).
 * libctrace exports both versions (.symver below, nodes in ctrace.map) and forwards each
 * to its own real version: calling the wrong one corrupts memory or hangs. The
 * explicit-clock pthread_cond_clockwait has only the new ABI.
 *
 * A wait always blocks, so it is always recorded. pthread_cond_wait releases the mutex
 * internally (glibc calls its own unlock, which no wrapper sees): when that mutex has
 * waiters, the release is recorded here, from the waiter's stack. The re-acquisition
 * inside glibc is invisible and counts as part of the condition wait.
 */
#include <errno.h>

#include "wait.h"

enum { WAIT, TIMEDWAIT, CLOCKWAIT };

static int cond_wait(int old_abi, int op, pthread_cond_t *c, pthread_mutex_t *m,
		     clockid_t clk, const struct timespec *abst)
{
	struct ct_wait w;
	struct ct_release mrel;
	uint16_t flags = old_abi ? CT_EVF_OLD_ABI : 0;
	if (op != WAIT)
		flags |= CT_EVF_TIMED | (clk == CLOCK_REALTIME ? CT_EVF_CLOCK_RT : 0);
	int mrec = ct_mutex_owner(m) == (uint32_t)(ct_tls.tid ? ct_tls.tid : gettid()) &&
		   ct_release_begin(&mrel, CT_K_MUTEX, m);
	ct_wait_begin(&w, CT_K_COND, c, (uint64_t)(uintptr_t)m, ct_deadline_ns(abst), flags);
	/* The mutex release inside the real wait comes after this point: record it with the
	 * waiter's stack and begin time, in order after WAIT_BEGIN. */
	if (mrec)
		ct_release_emit(&mrel, w.stack, w.t0, 0);
	int r = 0;
	if (op == WAIT)
		CT_CANCELLABLE(&w, r = old_abi ? REAL(cond_wait_225)(c, m)
					       : REAL(cond_wait_232)(c, m));
	else if (op == TIMEDWAIT)
		CT_CANCELLABLE(&w, r = old_abi ? REAL(cond_timedwait_225)(c, m, abst)
					       : REAL(cond_timedwait_232)(c, m, abst));
	else
		CT_CANCELLABLE(&w, r = REAL(pthread_cond_clockwait)(c, m, clk, abst));
	ct_wait_end(&w, r);
	return r;
}

static int cond_release(int old_abi, int all, pthread_cond_t *c)
{
	struct ct_release rel;
	int (*sig)(pthread_cond_t *) = all ? (old_abi ? REAL(cond_broadcast_225)
						      : REAL(cond_broadcast_232))
					   : (old_abi ? REAL(cond_signal_225)
						      : REAL(cond_signal_232));
	if (likely(!ct_release_begin(&rel, CT_K_COND, c)))
		return sig(c);
	int r = sig(c);
	if (r == 0)
		ct_release_end(&rel, all ? CT_EVF_BROADCAST : 0);
	return r;
}

/* ---- GLIBC_2.3.2 (current) ---- */
CT_EXPORT int ct_cond_wait_232(pthread_cond_t *c, pthread_mutex_t *m);
CT_EXPORT int ct_cond_timedwait_232(pthread_cond_t *c, pthread_mutex_t *m,
				    const struct timespec *abst);
CT_EXPORT int ct_cond_signal_232(pthread_cond_t *c);
CT_EXPORT int ct_cond_broadcast_232(pthread_cond_t *c);
__asm__(".symver ct_cond_wait_232, pthread_cond_wait@@GLIBC_2.3.2");
__asm__(".symver ct_cond_timedwait_232, pthread_cond_timedwait@@GLIBC_2.3.2");
__asm__(".symver ct_cond_signal_232, pthread_cond_signal@@GLIBC_2.3.2");
__asm__(".symver ct_cond_broadcast_232, pthread_cond_broadcast@@GLIBC_2.3.2");

int ct_cond_wait_232(pthread_cond_t *c, pthread_mutex_t *m)
{
	if (unlikely(!ct_on()))
		return REAL(cond_wait_232)(c, m);
	return cond_wait(0, WAIT, c, m, CLOCK_REALTIME, NULL);
}

int ct_cond_timedwait_232(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abst)
{
	if (unlikely(!ct_on()))
		return REAL(cond_timedwait_232)(c, m, abst);
	return cond_wait(0, TIMEDWAIT, c, m, CLOCK_REALTIME, abst);
}

int ct_cond_signal_232(pthread_cond_t *c) { return cond_release(0, 0, c); }
int ct_cond_broadcast_232(pthread_cond_t *c) { return cond_release(0, 1, c); }

/* ---- GLIBC_2.2.5 (old ABI) ---- */
CT_EXPORT int ct_cond_wait_225(pthread_cond_t *c, pthread_mutex_t *m);
CT_EXPORT int ct_cond_timedwait_225(pthread_cond_t *c, pthread_mutex_t *m,
				    const struct timespec *abst);
CT_EXPORT int ct_cond_signal_225(pthread_cond_t *c);
CT_EXPORT int ct_cond_broadcast_225(pthread_cond_t *c);
__asm__(".symver ct_cond_wait_225, pthread_cond_wait@GLIBC_2.2.5");
__asm__(".symver ct_cond_timedwait_225, pthread_cond_timedwait@GLIBC_2.2.5");
__asm__(".symver ct_cond_signal_225, pthread_cond_signal@GLIBC_2.2.5");
__asm__(".symver ct_cond_broadcast_225, pthread_cond_broadcast@GLIBC_2.2.5");

int ct_cond_wait_225(pthread_cond_t *c, pthread_mutex_t *m)
{
	if (unlikely(!REAL(cond_wait_225)))
		return ENOSYS;
	if (unlikely(!ct_on()))
		return ct_real.cond_wait_225(c, m);
	return cond_wait(1, WAIT, c, m, CLOCK_REALTIME, NULL);
}

int ct_cond_timedwait_225(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abst)
{
	if (unlikely(!REAL(cond_timedwait_225)))
		return ENOSYS;
	if (unlikely(!ct_on()))
		return ct_real.cond_timedwait_225(c, m, abst);
	return cond_wait(1, TIMEDWAIT, c, m, CLOCK_REALTIME, abst);
}

int ct_cond_signal_225(pthread_cond_t *c)
{
	if (unlikely(!REAL(cond_signal_225)))
		return ENOSYS;
	return cond_release(1, 0, c);
}

int ct_cond_broadcast_225(pthread_cond_t *c)
{
	if (unlikely(!REAL(cond_broadcast_225)))
		return ENOSYS;
	return cond_release(1, 1, c);
}

CT_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				     const struct timespec *abst)
{
	if (unlikely(!REAL(pthread_cond_clockwait)))
		return ENOSYS;
	if (unlikely(!ct_on()) || (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC))
		return ct_real.pthread_cond_clockwait(c, m, clk, abst);
	return cond_wait(0, CLOCKWAIT, c, m, clk, abst);
}
