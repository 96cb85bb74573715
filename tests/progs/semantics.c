/* SPDX-License-Identifier: MIT */
/*
 * Semantics test program: the return values and errno of the interposed pthread mutex and
 * condition-variable functions must be exactly those of glibc, traced or not
 * (preload/README.md, record path rule 6).
 * Each check prints one line, "ok NAME" or "FAIL NAME: got X (errno E), want Y"; the program
 * exits 1 if any check failed. Every call is made with errno set to a sentinel, and errno
 * must still hold the sentinel afterwards: pthread functions report through their return
 * value and never touch errno. The output contains no timings or addresses, so
 * tests/bats/semantics.bats can require identical output traced and untraced.
 *
 * The interesting cases for a tracer whose lock wrapper tries trylock first: a robust mutex
 * whose owner died (trylock already acquires it, with EOWNERDEAD), a clocklock with an
 * unsupported clock on a free mutex (glibc refuses with EINVAL without locking), timed
 * calls on both clocks, and errno across blocking calls (the tracer captures a stack there).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blk_util.h"

#define SENTINEL 12345
#define TIMEOUT_MS 50

static int failures;

/* Reports one check: rc is what the call returned, err the errno seen right after it. */
static void report(const char *name, int rc, int want, int err)
{
	if (rc == want && err == SENTINEL) {
		printf("ok %s\n", name);
		return;
	}
	failures++;
	printf("FAIL %s: got %s", name, err_name(rc));
	printf(" (errno %s), want %s (errno unchanged)\n", err == SENTINEL ? "unchanged" : err_name(err),
	       err_name(want));
}

/* Runs CALL with errno set to the sentinel and checks its return value and errno. */
#define CHECK(name, call, want)                             \
	do {                                                \
		errno = SENTINEL;                           \
		int rc_ = (call);                           \
		int err_ = errno;                           \
		report((name), rc_, (want), err_);          \
	} while (0)

/* A plain condition that is not a return-value check (timing, state). */
static void expect(const char *name, int cond, const char *what)
{
	if (cond) {
		printf("ok %s\n", name);
	} else {
		failures++;
		printf("FAIL %s: %s\n", name, what);
	}
}

static long long now_ms(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static struct timespec deadline(clockid_t clk, long ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- helper threads ---- */

/* A thread that locks a mutex and holds it: until release_holder() (hold_ms == 0) or for
 * hold_ms milliseconds. Synchronised with atomics only, so the helper itself adds no
 * traced waits. */
struct holder {
	pthread_mutex_t *m;
	long hold_ms;
	_Atomic int state; /* 0 starting, 1 holding, 2 asked to release, 3 released */
	int rc;
	pthread_t thread;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	h->rc = pthread_mutex_lock(h->m);
	atomic_store(&h->state, 1);
	if (h->hold_ms > 0)
		sleep_ms(h->hold_ms);
	else
		while (atomic_load(&h->state) != 2)
			sleep_ms(1);
	pthread_mutex_unlock(h->m);
	atomic_store(&h->state, 3);
	return NULL;
}

static void start_holder(struct holder *h, pthread_mutex_t *m, long hold_ms)
{
	h->m = m;
	h->hold_ms = hold_ms;
	atomic_store(&h->state, 0);
	if (pthread_create(&h->thread, NULL, holder_main, h) != 0) {
		perror("pthread_create");
		exit(2);
	}
	while (atomic_load(&h->state) != 1)
		sleep_ms(1);
}

static void stop_holder(struct holder *h)
{
	if (h->hold_ms == 0)
		atomic_store(&h->state, 2);
	pthread_join(h->thread, NULL);
}

/* Runs fn(arg) in a new thread and returns its int result. */
struct call {
	int (*fn)(void *);
	void *arg;
	int rc;
};

static void *call_main(void *arg)
{
	struct call *c = arg;
	c->rc = c->fn(c->arg);
	return NULL;
}

static int in_thread(int (*fn)(void *), void *arg)
{
	struct call c = { fn, arg, -1 };
	pthread_t t;
	if (pthread_create(&t, NULL, call_main, &c) != 0) {
		perror("pthread_create");
		exit(2);
	}
	pthread_join(t, NULL);
	return c.rc;
}

static int do_unlock(void *m)
{
	errno = SENTINEL;
	int rc = pthread_mutex_unlock(m);
	return errno == SENTINEL ? rc : -1;
}

static int do_trylock(void *m)
{
	errno = SENTINEL;
	int rc = pthread_mutex_trylock(m);
	if (rc == 0)
		pthread_mutex_unlock(m);
	return errno == SENTINEL ? rc : -1;
}

/* Locks and exits without unlocking: the owner of a robust mutex dies. */
static int lock_and_die(void *m)
{
	return pthread_mutex_lock(m);
}

/* Takes the mutex, says so through owner_holds, and dies holding it TIMEOUT_MS later. */
static atomic_int owner_holds;

static void *lock_and_die_later(void *m)
{
	pthread_mutex_lock(m);
	atomic_store(&owner_holds, 1);
	sleep_ms(TIMEOUT_MS);
	return NULL;
}

/* ---- the checks ---- */

static void check_plain_mutex(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct holder h;

	start_holder(&h, &m, 0);
	CHECK("trylock_held_by_other_ebusy", pthread_mutex_trylock(&m), EBUSY);

	struct timespec ts = deadline(CLOCK_REALTIME, TIMEOUT_MS);
	long long t0 = now_ms(CLOCK_MONOTONIC);
	CHECK("timedlock_realtime_etimedout", pthread_mutex_timedlock(&m, &ts), ETIMEDOUT);
	expect("timedlock_realtime_waited", now_ms(CLOCK_MONOTONIC) - t0 >= TIMEOUT_MS - 5,
	       "returned before the deadline");

	ts = deadline(CLOCK_MONOTONIC, TIMEOUT_MS);
	t0 = now_ms(CLOCK_MONOTONIC);
	CHECK("clocklock_monotonic_etimedout", pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
	expect("clocklock_monotonic_waited", now_ms(CLOCK_MONOTONIC) - t0 >= TIMEOUT_MS - 5,
	       "returned before the deadline");

	ts = deadline(CLOCK_REALTIME, TIMEOUT_MS);
	t0 = now_ms(CLOCK_MONOTONIC);
	CHECK("clocklock_realtime_etimedout", pthread_mutex_clocklock(&m, CLOCK_REALTIME, &ts), ETIMEDOUT);
	expect("clocklock_realtime_waited", now_ms(CLOCK_MONOTONIC) - t0 >= TIMEOUT_MS - 5,
	       "returned before the deadline");

	ts = deadline(CLOCK_REALTIME, -1000); /* already past */
	CHECK("timedlock_past_deadline_held_etimedout", pthread_mutex_timedlock(&m, &ts), ETIMEDOUT);
	stop_holder(&h);

	/* glibc refuses an unsupported clock before looking at the mutex: the free mutex
	 * must stay free (a wrapper that trylocks first would take it). */
	ts = deadline(CLOCK_MONOTONIC, TIMEOUT_MS);
	CHECK("clocklock_bad_clock_einval", pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
	CHECK("clocklock_bad_clock_left_unlocked", in_thread(do_trylock, &m), 0);

	ts = deadline(CLOCK_REALTIME, -1000);
	CHECK("timedlock_past_deadline_free_acquires", pthread_mutex_timedlock(&m, &ts), 0);
	CHECK("timedlock_past_deadline_unlock", pthread_mutex_unlock(&m), 0);

	/* errno across successful calls, uncontended and contended. */
	CHECK("errno_lock", pthread_mutex_lock(&m), 0);
	CHECK("errno_unlock", pthread_mutex_unlock(&m), 0);
	CHECK("errno_trylock_success", pthread_mutex_trylock(&m), 0);
	CHECK("errno_trylock_unlock", pthread_mutex_unlock(&m), 0);
	start_holder(&h, &m, 30);
	CHECK("errno_lock_contended", pthread_mutex_lock(&m), 0);
	CHECK("errno_unlock_after_contended", pthread_mutex_unlock(&m), 0);
	stop_holder(&h);
	start_holder(&h, &m, 30);
	ts = deadline(CLOCK_REALTIME, 5000);
	CHECK("errno_timedlock_contended", pthread_mutex_timedlock(&m, &ts), 0);
	CHECK("errno_unlock_after_timedlock", pthread_mutex_unlock(&m), 0);
	stop_holder(&h);
	pthread_mutex_destroy(&m);
}

static void init_mutex(pthread_mutex_t *m, int type, int robust)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, type);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

static void check_errorcheck_mutex(void)
{
	pthread_mutex_t m;
	init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, 0);

	CHECK("errorcheck_unlock_unlocked_eperm", pthread_mutex_unlock(&m), EPERM);
	CHECK("errorcheck_lock", pthread_mutex_lock(&m), 0);
	CHECK("errorcheck_relock_edeadlk", pthread_mutex_lock(&m), EDEADLK);
	CHECK("errorcheck_trylock_own_ebusy", pthread_mutex_trylock(&m), EBUSY);
	struct timespec ts = deadline(CLOCK_REALTIME, TIMEOUT_MS);
	CHECK("errorcheck_timedlock_own_edeadlk", pthread_mutex_timedlock(&m, &ts), EDEADLK);
	CHECK("errorcheck_unlock_by_non_owner_eperm", in_thread(do_unlock, &m), EPERM);
	CHECK("errorcheck_unlock", pthread_mutex_unlock(&m), 0);
	pthread_mutex_destroy(&m);
}

static void check_recursive_mutex(void)
{
	pthread_mutex_t m;
	init_mutex(&m, PTHREAD_MUTEX_RECURSIVE, 0);

	CHECK("recursive_lock_1", pthread_mutex_lock(&m), 0);
	CHECK("recursive_lock_2", pthread_mutex_lock(&m), 0);
	CHECK("recursive_lock_3", pthread_mutex_lock(&m), 0);
	CHECK("recursive_trylock_by_other_ebusy", in_thread(do_trylock, &m), EBUSY);
	CHECK("recursive_unlock_by_non_owner_eperm", in_thread(do_unlock, &m), EPERM);
	CHECK("recursive_unlock_1", pthread_mutex_unlock(&m), 0);
	CHECK("recursive_unlock_2", pthread_mutex_unlock(&m), 0);
	CHECK("recursive_unlock_3", pthread_mutex_unlock(&m), 0);
	CHECK("recursive_extra_unlock_eperm", pthread_mutex_unlock(&m), EPERM);
	CHECK("recursive_free_after_unlocks", in_thread(do_trylock, &m), 0);
	pthread_mutex_destroy(&m);
}

static void check_robust_mutex(void)
{
	pthread_mutex_t m;

	/* The owner died before we ask: lock returns EOWNERDEAD with the mutex held. */
	init_mutex(&m, PTHREAD_MUTEX_NORMAL, 1);
	CHECK("robust_owner_lock", in_thread(lock_and_die, &m), 0);
	CHECK("robust_dead_owner_lock_eownerdead", pthread_mutex_lock(&m), EOWNERDEAD);
	CHECK("robust_consistent", pthread_mutex_consistent(&m), 0);
	CHECK("robust_unlock_after_consistent", pthread_mutex_unlock(&m), 0);
	CHECK("robust_lock_again", pthread_mutex_lock(&m), 0);
	CHECK("robust_unlock_again", pthread_mutex_unlock(&m), 0);
	pthread_mutex_destroy(&m);

	/* Same through trylock. */
	init_mutex(&m, PTHREAD_MUTEX_NORMAL, 1);
	CHECK("robust_owner_lock_2", in_thread(lock_and_die, &m), 0);
	CHECK("robust_dead_owner_trylock_eownerdead", pthread_mutex_trylock(&m), EOWNERDEAD);
	CHECK("robust_consistent_2", pthread_mutex_consistent(&m), 0);
	CHECK("robust_unlock_2", pthread_mutex_unlock(&m), 0);
	pthread_mutex_destroy(&m);

	/* Same through timedlock. */
	init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, 1);
	CHECK("robust_owner_lock_3", in_thread(lock_and_die, &m), 0);
	struct timespec ts = deadline(CLOCK_REALTIME, 5000);
	CHECK("robust_dead_owner_timedlock_eownerdead", pthread_mutex_timedlock(&m, &ts), EOWNERDEAD);
	CHECK("robust_consistent_3", pthread_mutex_consistent(&m), 0);
	CHECK("robust_unlock_3", pthread_mutex_unlock(&m), 0);
	pthread_mutex_destroy(&m);

	/* The owner dies while we are blocked in lock. */
	init_mutex(&m, PTHREAD_MUTEX_NORMAL, 1);
	pthread_t t;
	atomic_store(&owner_holds, 0);
	pthread_create(&t, NULL, lock_and_die_later, &m);
	while (!atomic_load(&owner_holds)) /* a trylock probe could take the mutex first */
		sleep_ms(1);
	CHECK("robust_owner_dies_while_waiting_eownerdead", pthread_mutex_lock(&m), EOWNERDEAD);
	pthread_join(t, NULL);
	CHECK("robust_consistent_4", pthread_mutex_consistent(&m), 0);
	CHECK("robust_unlock_4", pthread_mutex_unlock(&m), 0);
	pthread_mutex_destroy(&m);

	/* Unlocked without pthread_mutex_consistent: the mutex is unusable for good. */
	init_mutex(&m, PTHREAD_MUTEX_NORMAL, 1);
	CHECK("robust_owner_lock_5", in_thread(lock_and_die, &m), 0);
	CHECK("robust_dead_owner_lock_eownerdead_5", pthread_mutex_lock(&m), EOWNERDEAD);
	CHECK("robust_unlock_without_consistent", pthread_mutex_unlock(&m), 0);
	CHECK("robust_lock_enotrecoverable", pthread_mutex_lock(&m), ENOTRECOVERABLE);
	CHECK("robust_trylock_enotrecoverable", pthread_mutex_trylock(&m), ENOTRECOVERABLE);
	pthread_mutex_destroy(&m);
}

/* Signals cond under its mutex once the main thread is waiting (it holds the mutex until
 * pthread_cond_wait releases it, so taking the mutex here means it is waiting). */
struct signaller {
	pthread_mutex_t *m;
	pthread_cond_t *c;
	int *flag;
	int broadcast;
	int release_rc; /* signal/broadcast result, -1 if it changed errno */
};

static void *signaller_main(void *arg)
{
	struct signaller *s = arg;
	sleep_ms(20);
	pthread_mutex_lock(s->m);
	*s->flag = 1;
	/* The main thread waits: this is the release path a tracer records. */
	errno = SENTINEL;
	s->release_rc = s->broadcast ? pthread_cond_broadcast(s->c) : pthread_cond_signal(s->c);
	if (errno != SENTINEL)
		s->release_rc = -1;
	pthread_mutex_unlock(s->m);
	return NULL;
}

/* Waits on c for the signaller; returns the first non-zero pthread_cond_wait result (-1 if
 * errno changed); *release_rc gets the signaller's signal/broadcast result. */
static int wait_for_signal(pthread_mutex_t *m, pthread_cond_t *c, int broadcast, int *release_rc)
{
	int flag = 0, rc = 0;
	struct signaller s = { m, c, &flag, broadcast, 0 };
	pthread_t t;
	pthread_mutex_lock(m);
	pthread_create(&t, NULL, signaller_main, &s);
	errno = SENTINEL;
	while (!flag && rc == 0)
		rc = pthread_cond_wait(c, m);
	if (errno != SENTINEL)
		rc = -1;
	pthread_mutex_unlock(m);
	pthread_join(t, NULL);
	*release_rc = s.release_rc;
	return rc;
}

static void check_cond(void)
{
	pthread_mutex_t m;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec ts;
	long long t0;

	/* An errorcheck mutex: unlock after the wait returns 0 only if the wait re-acquired it. */
	init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, 0);

	CHECK("cond_lock", pthread_mutex_lock(&m), 0);
	ts = deadline(CLOCK_REALTIME, TIMEOUT_MS);
	t0 = now_ms(CLOCK_MONOTONIC);
	CHECK("cond_timedwait_realtime_etimedout", pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
	expect("cond_timedwait_realtime_waited", now_ms(CLOCK_MONOTONIC) - t0 >= TIMEOUT_MS - 5,
	       "returned before the deadline");
	CHECK("cond_timedwait_reacquired", pthread_mutex_lock(&m), EDEADLK);

	ts = deadline(CLOCK_MONOTONIC, TIMEOUT_MS);
	t0 = now_ms(CLOCK_MONOTONIC);
	CHECK("cond_clockwait_monotonic_etimedout", pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &ts),
	      ETIMEDOUT);
	expect("cond_clockwait_monotonic_waited", now_ms(CLOCK_MONOTONIC) - t0 >= TIMEOUT_MS - 5,
	       "returned before the deadline");

	ts = deadline(CLOCK_REALTIME, TIMEOUT_MS);
	t0 = now_ms(CLOCK_MONOTONIC);
	CHECK("cond_clockwait_realtime_etimedout", pthread_cond_clockwait(&c, &m, CLOCK_REALTIME, &ts),
	      ETIMEDOUT);
	expect("cond_clockwait_realtime_waited", now_ms(CLOCK_MONOTONIC) - t0 >= TIMEOUT_MS - 5,
	       "returned before the deadline");

	ts = deadline(CLOCK_MONOTONIC, TIMEOUT_MS);
	CHECK("cond_clockwait_bad_clock_einval",
	      pthread_cond_clockwait(&c, &m, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);

	ts = deadline(CLOCK_REALTIME, -1000);
	CHECK("cond_timedwait_past_deadline_etimedout", pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
	CHECK("cond_unlock", pthread_mutex_unlock(&m), 0);
	pthread_cond_destroy(&c);

	/* A condition variable on CLOCK_MONOTONIC: timedwait's deadline is on that clock. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&m);
	ts = deadline(CLOCK_MONOTONIC, TIMEOUT_MS);
	t0 = now_ms(CLOCK_MONOTONIC);
	CHECK("cond_monotonic_attr_timedwait_etimedout", pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
	long long waited = now_ms(CLOCK_MONOTONIC) - t0;
	expect("cond_monotonic_attr_timedwait_waited", waited >= TIMEOUT_MS - 5 && waited < 2000,
	       "did not wait about the timeout");
	CHECK("cond_monotonic_attr_unlock", pthread_mutex_unlock(&m), 0);

	/* errno across successful calls. */
	CHECK("errno_cond_signal_no_waiter", pthread_cond_signal(&c), 0);
	CHECK("errno_cond_broadcast_no_waiter", pthread_cond_broadcast(&c), 0);
	int release_rc;
	CHECK("errno_cond_wait_signalled", wait_for_signal(&m, &c, 0, &release_rc), 0);
	CHECK("errno_cond_signal_with_waiter", release_rc, 0);
	CHECK("errno_cond_wait_broadcast", wait_for_signal(&m, &c, 1, &release_rc), 0);
	CHECK("errno_cond_broadcast_with_waiter", release_rc, 0);
	pthread_cond_destroy(&c);
	pthread_mutex_destroy(&m);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_plain_mutex();
	check_errorcheck_mutex();
	check_recursive_mutex();
	check_robust_mutex();
	check_cond();
	printf("%s: %d failed\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
