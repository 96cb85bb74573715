/* SPDX-License-Identifier: MIT */
/*
 * The wait/release protocol shared by every blocking wrapper.
 *
 * Waiter: trylock failed (or the call always blocks) -> timestamp, stack (captured before
 * blocking, so unwinding overlaps the wait instead of lengthening a critical section),
 * waiters++ on the object's shadow entry, WAIT_BEGIN{seq now} -> the real call, with the
 * guard dropped so a signal handler running meanwhile is traced -> waiters--,
 * WAIT_END{seq now, result}.
 *
 * Releaser: while the object has waiters, take ts and seq = ++shadow.seq just BEFORE the
 * real release, so that a waiter that acquires the object afterwards reads exactly the
 * sequence number of the release that let it in; capture the stack and record RELEASE
 * just AFTER the real release, outside the critical section.
 *
 * The race: a waiter that registers after a releaser checked `waiters` sees no new seq
 * (WAIT_END.a == WAIT_BEGIN.b); the analyzer treats such a wait as ended by an unrecorded
 * release. The locks probed with a trylock close most of it: they register first
 * (ct_wait_register), probe again, and withdraw without a trace when the second probe
 * takes the lock (it was released in between, the caller never blocked). What is left
 * open is a holder that checked `waiters` before the registration and releases after the
 * second probe: the few instructions between an unlock wrapper's check and the real
 * unlock.
 */
#include <errno.h>
#include <string.h>

#include "../format/events.h"
#include "wait.h"

CT_TLS struct ct_heldset ct_held;
_Alignas(64) atomic_int ct_wait_buckets[CT_WAIT_BUCKETS];

void ct_held_forget_oldest(void)
{
	memmove(&ct_held.e[0], &ct_held.e[1], sizeof(ct_held.e[0]) * (CT_HELD_MAX - 1));
	ct_held.n = CT_HELD_MAX - 1;
}

void ct_held_remove(uint64_t obj)
{
	for (unsigned i = ct_held.n; i-- > 0;) {
		if (ct_held.e[i].obj != obj)
			continue;
		memmove(&ct_held.e[i], &ct_held.e[i + 1], sizeof(ct_held.e[0]) * (ct_held.n - 1 - i));
		ct_held.n--;
		return;
	}
}

/* A mutex handed over (unlocked by another thread, mutex.c) stays in its owner's set: the
 * unlocking thread cannot reach the owner's thread-local set. A thread that takes a
 * non-recursive mutex again after a hand-off then has it twice; when it waits on that
 * mutex, only the newest entry is true. Waits only: the lock fast path stays a push. */
static void held_dedupe(uint64_t obj)
{
	const pthread_mutex_t *m = (const pthread_mutex_t *)(uintptr_t)obj;
	if ((m->__data.__kind & 3) == PTHREAD_MUTEX_RECURSIVE)
		return;
	unsigned k = 0, newest = ct_held.n;
	for (unsigned i = ct_held.n; i-- > 0;)
		if (ct_held.e[i].obj == obj) {
			newest = i;
			break;
		}
	for (unsigned i = 0; i < ct_held.n; i++)
		if (ct_held.e[i].obj != obj || i == newest)
			ct_held.e[k++] = ct_held.e[i];
	ct_held.n = k;
}

/* HOLD events for the locks this thread holds, but `except` (a condition wait's mutex,
 * which the wait releases), just before its WAIT_BEGIN or a slow call's SYSCALL. */
void ct_held_emit(struct ct_thread *th, uint64_t ts, uint64_t except)
{
	for (unsigned i = 0; i < ct_held.n && i < CT_HELD_MAX; i++) {
		const struct ct_held *h = &ct_held.e[i];
		if (h->obj == except)
			continue;
		struct ct_event ev = ct_ev_hold(ts, h->kind, ct_stack_site(h->pc), h->obj,
						h->waited);
		ct_emit(th, &ev);
	}
}

void ct_wait_register(struct ct_wait *w, unsigned kind, const void *obj)
{
	w->saved_errno = errno;
	ct_enter();
	w->t0 = ct_now();
	w->th = ct_self();
	w->obj = (uint64_t)(uintptr_t)obj;
	w->kind = kind;
	/* Register as a waiter before unwinding: a capture through new code can take tens of
	 * microseconds, and a release in that time must already see this waiter. */
	w->sh = ct_shadow_get(obj);
	w->seq0 = 0;
	atomic_fetch_add_explicit(ct_wait_bucket(obj), 1, memory_order_acq_rel);
	if (w->sh) {
		atomic_fetch_add_explicit(&w->sh->waiters, 1, memory_order_acq_rel);
		w->seq0 = atomic_load_explicit(&w->sh->seq, memory_order_acquire);
	}
	atomic_fetch_add_explicit(&ct_waiting, 1, memory_order_acq_rel);
}

void ct_wait_withdraw(struct ct_wait *w)
{
	if (w->sh)
		atomic_fetch_sub_explicit(&w->sh->waiters, 1, memory_order_acq_rel);
	atomic_fetch_sub_explicit(ct_wait_bucket((const void *)(uintptr_t)w->obj), 1,
				  memory_order_acq_rel);
	atomic_fetch_sub_explicit(&ct_waiting, 1, memory_order_acq_rel);
	ct_leave();
	errno = w->saved_errno;
}

void ct_wait_record(struct ct_wait *w, uint64_t owner, uint64_t deadline, uint16_t flags)
{
	uint32_t stk = ct_stack_here();
	w->stack = stk;
	if (ct_held.n > 1 && w->kind == CT_K_MUTEX)
		held_dedupe(w->obj);
	if (ct_held.n)
		ct_held_emit(w->th, w->t0, w->kind == CT_K_COND ? owner : 0);
	struct ct_event ev = ct_ev_wait_begin(w->t0, w->kind, flags, stk, w->obj, owner, w->seq0,
					      deadline);
	ct_emit(w->th, &ev);
	if (w->th) {
		atomic_store_explicit(&w->th->wait_obj, w->obj, memory_order_relaxed);
		atomic_store_explicit(&w->th->wait_since, w->t0, memory_order_relaxed);
		atomic_store_explicit(&w->th->wait_kind, w->kind, memory_order_release);
	}
	ct_leave();
	errno = w->saved_errno;
}

void ct_wait_begin(struct ct_wait *w, unsigned kind, const void *obj, uint64_t owner,
		   uint64_t deadline, uint16_t flags)
{
	ct_wait_register(w, kind, obj);
	ct_wait_record(w, owner, deadline, flags);
}

static unsigned result_of(unsigned kind, int ret)
{
	(void)kind;
	switch (ret) {
	case 0: return CT_R_ACQUIRED;
	case ETIMEDOUT: return CT_R_TIMEDOUT;
	case EOWNERDEAD: return CT_R_OWNERDEAD;
	default: return CT_R_ERROR;
	}
}

void ct_wait_end(struct ct_wait *w, int ret)
{
	ct_wait_end_result(w, ret, result_of(w->kind, ret));
}

void ct_wait_end_result(struct ct_wait *w, int ret, unsigned result)
{
	int e = errno;
	ct_enter();
	uint64_t t1 = ct_now();
	uint32_t seq1 = 0;
	if (w->sh) {
		seq1 = atomic_load_explicit(&w->sh->seq, memory_order_acquire);
		atomic_fetch_sub_explicit(&w->sh->waiters, 1, memory_order_acq_rel);
	}
	atomic_fetch_sub_explicit(ct_wait_bucket((const void *)(uintptr_t)w->obj), 1,
				  memory_order_acq_rel);
	atomic_fetch_sub_explicit(&ct_waiting, 1, memory_order_acq_rel);
	if (w->th)
		atomic_store_explicit(&w->th->wait_kind, 0, memory_order_release);
	struct ct_event ev = ct_ev_wait_end(t1, w->kind, w->obj, seq1, result, ret);
	/* attach mode: a wait begun before this trace (a previous attach), or ending after
	 * the detach, belongs to no open trace; a pause (`ctrace pause`) still ends the
	 * waits whose WAIT_BEGIN went in before it */
	if (likely(w->t0 >= ct_attach_t0 &&
		   (atomic_load_explicit(&ct_active, memory_order_relaxed) ||
		    atomic_load_explicit(&ct_paused, memory_order_relaxed))))
		ct_emit(w->th, &ev);
	ct_writer_tick(t1);
	ct_leave();
	errno = e;
}

void ct_wait_cancelled(void *w)
{
	ct_wait_end(w, ECANCELED);
}

void ct_release_emit(struct ct_release *r, uint32_t stack, uint64_t ts, uint16_t flags)
{
	int e = errno;
	ct_enter();
	struct ct_event ev = ct_ev_release(ts, r->kind, flags, stack, r->obj, r->seq,
					   (uint64_t)r->waiters);

	ct_ev_release_set_owner(&ev, r->c);
	/* attach mode: a release that ends after the detach belongs to no open trace */
	if (likely(atomic_load_explicit(&ct_active, memory_order_relaxed)))
		ct_emit(ct_self(), &ev);
	ct_leave();
	errno = e;
}

void ct_release_end(struct ct_release *r, uint16_t flags)
{
	int e = errno;
	ct_enter();
	uint32_t stk = ct_stack_here();
	ct_leave();
	errno = e;
	ct_release_emit(r, stk, r->ts, flags);
}
