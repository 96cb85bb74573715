/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for the sync profile beyond mutexes and condition
 * variables: semaphores (sem_wait, sem_timedwait), rwlocks (read side and write side),
 * barriers, joins, spinlocks and raw futexes (syscall(SYS_futex)). For each family the main
 * thread makes REPS calls that block about HOLD_MS each (a helper thread holds the object,
 * or posts / arrives / exits / wakes, after HOLD_MS), measures each call with
 * CLOCK_MONOTONIC, and prints
 *
 *     FAMILY_calls=N         calls measured (the futex loop may call more than once a rep)
 *     FAMILY_total_ns=N      the sum of their durations
 *
 * plus one line per family without numbers that depend on timing. tests/bats/blocking.bats
 * compares the totals with the sync profile entries at the lines marked FAMILY-SITE.
 * Every wait has a deadline or a helper that ends it; a watchdog alarm ends a hung run.
 *
 * usage: blk_sync [REPS [HOLD_MS]]   defaults: 5 20
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int reps = 5;
static long hold_ms = 20;

static sem_t sem;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_spinlock_t spin;
static _Atomic uint32_t futex_word;
static atomic_int held; /* the helper holds the object now */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "blk_sync: %s: error %d\n", what, err);
	exit(1);
}

static void hold(void)
{
	struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Starts fn on a helper thread; reap() joins it (those joins are not the measured ones). */
static pthread_t helper(void *(*fn)(void *))
{
	pthread_t t;
	atomic_store(&held, 0);
	int r = pthread_create(&t, NULL, fn, NULL);
	if (r)
		die("pthread_create", r);
	return t;
}

static void reap(pthread_t t)
{
	int r = pthread_join(t, NULL);
	if (r)
		die("pthread_join", r);
}

/* Spins until the helper says it holds the object (no blocking call: nothing recorded). */
static void until_held(void)
{
	while (!atomic_load(&held))
		sched_yield();
}

static void result(const char *family, int calls, uint64_t total)
{
	printf("%s: %d waits done\n", family, reps);
	printf("%s_calls=%d\n", family, calls);
	printf("%s_total_ns=%llu\n", family, (unsigned long long)total);
}

/* ---- semaphores ---- */

static void *sem_poster(void *arg)
{
	(void)arg;
	hold();
	sem_post(&sem);
	return NULL;
}

static uint64_t sem_wait_once(void)
{
	uint64_t t0 = now_ns();
	int r = sem_wait(&sem); /* SEM-WAIT-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("sem_wait", errno);
	return d;
}

static uint64_t sem_timedwait_once(void)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	uint64_t t0 = now_ns();
	int r = sem_timedwait(&sem, &dl); /* SEM-TIMEDWAIT-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("sem_timedwait", errno);
	return d;
}

static void test_sem(void)
{
	uint64_t total = 0, timed = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(sem_poster);
		total += sem_wait_once();
		reap(t);
	}
	result("sem_wait", reps, total);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(sem_poster);
		timed += sem_timedwait_once();
		reap(t);
	}
	result("sem_timedwait", reps, timed);
}

/* ---- rwlocks ---- */

static void *rw_writer(void *arg)
{
	(void)arg;
	pthread_rwlock_wrlock(&rwlock);
	atomic_store(&held, 1);
	hold();
	pthread_rwlock_unlock(&rwlock);
	return NULL;
}

static void *rw_reader(void *arg)
{
	(void)arg;
	pthread_rwlock_rdlock(&rwlock);
	atomic_store(&held, 1);
	hold();
	pthread_rwlock_unlock(&rwlock);
	return NULL;
}

static uint64_t rdlock_once(void)
{
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_rdlock(&rwlock); /* RWLOCK-RD-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("pthread_rwlock_rdlock", r);
	pthread_rwlock_unlock(&rwlock);
	return d;
}

static uint64_t wrlock_once(void)
{
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_wrlock(&rwlock); /* RWLOCK-WR-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("pthread_rwlock_wrlock", r);
	pthread_rwlock_unlock(&rwlock);
	return d;
}

static void test_rwlock(void)
{
	uint64_t rd = 0, wr = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(rw_writer);
		until_held();
		rd += rdlock_once();
		reap(t);
	}
	result("rwlock_rd", reps, rd);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(rw_reader);
		until_held();
		wr += wrlock_once();
		reap(t);
	}
	result("rwlock_wr", reps, wr);
}

/* ---- barriers ---- */

static void *late_arrival(void *arg)
{
	(void)arg;
	hold();
	pthread_barrier_wait(&barrier);
	return NULL;
}

static uint64_t barrier_once(void)
{
	uint64_t t0 = now_ns();
	int r = pthread_barrier_wait(&barrier); /* BARRIER-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait", r);
	return d;
}

static void test_barrier(void)
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_arrival);
		total += barrier_once();
		reap(t);
	}
	result("barrier", reps, total);
}

/* ---- joins ---- */

static void *slow_exit(void *arg)
{
	(void)arg;
	hold();
	return NULL;
}

static uint64_t join_once(pthread_t t)
{
	uint64_t t0 = now_ns();
	int r = pthread_join(t, NULL); /* JOIN-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("pthread_join", r);
	return d;
}

static void test_join(void)
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++)
		total += join_once(helper(slow_exit));
	result("join", reps, total);
}

/* ---- spinlocks ---- */

static void *spin_holder(void *arg)
{
	(void)arg;
	pthread_spin_lock(&spin);
	atomic_store(&held, 1);
	hold();
	pthread_spin_unlock(&spin);
	return NULL;
}

static uint64_t spin_once(void)
{
	uint64_t t0 = now_ns();
	int r = pthread_spin_lock(&spin); /* SPIN-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("pthread_spin_lock", r);
	pthread_spin_unlock(&spin);
	return d;
}

static void test_spin(void)
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(spin_holder);
		until_held();
		total += spin_once();
		reap(t);
	}
	result("spin", reps, total);
}

/* ---- raw futex ---- */

static void *futex_waker(void *arg)
{
	(void)arg;
	hold();
	atomic_store(&futex_word, 1);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

/* One FUTEX_WAIT while the word is 0 (2 s timeout); returns its duration. */
static uint64_t futex_wait_once(void)
{
	struct timespec to = { 2, 0 };
	uint64_t t0 = now_ns();
	long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0); /* FUTEX-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 0 && errno != EAGAIN && errno != EINTR)
		die("futex wait", errno);
	return d;
}

static void test_futex(void)
{
	uint64_t total = 0;
	int calls = 0;
	for (int i = 0; i < reps; i++) {
		atomic_store(&futex_word, 0);
		pthread_t t = helper(futex_waker);
		while (atomic_load(&futex_word) == 0) {
			total += futex_wait_once();
			calls++;
		}
		reap(t);
	}
	result("futex", calls, total);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		reps = atoi(argv[1]);
	if (argc > 2)
		hold_ms = atol(argv[2]);
	if (reps < 1 || reps > 1000 || hold_ms < 1 || hold_ms > 1000) {
		fprintf(stderr, "usage: blk_sync [REPS [HOLD_MS]]\n");
		return 2;
	}
	alarm(30); /* watchdog: a hung wait kills the run instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sem_init(&sem, 0, 0))
		die("sem_init", errno);
	int r = pthread_barrier_init(&barrier, NULL, 2);
	if (r)
		die("pthread_barrier_init", r);
	r = pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	if (r)
		die("pthread_spin_init", r);

	printf("reps=%d hold_ms=%ld\n", reps, hold_ms);
	test_sem();
	test_rwlock();
	test_barrier();
	test_join();
	test_spin();
	test_futex();
	return 0;
}
