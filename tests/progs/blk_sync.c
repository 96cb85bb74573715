/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for the sync profile beyond mutexes and condition
 * variables: semaphores (sem_wait, sem_timedwait, sem_clockwait, a named semaphore from
 * sem_open), rwlocks (rdlock, timedrdlock, clockrdlock behind a writer; wrlock,
 * timedwrlock, clockwrlock behind a reader), barriers, joins (pthread_join,
 * pthread_timedjoin_np, pthread_clockjoin_np; pthread_tryjoin_np, which never waits),
 * spinlocks and raw futexes (syscall(SYS_futex)). For each family the main thread makes
 * REPS calls that block, measures each call with CLOCK_MONOTONIC, and prints
 *
 *     FAMILY_calls=N         calls measured (the futex loop may call more than once a rep)
 *     FAMILY_total_ns=N      the sum of their durations
 *     FAMILY_rq_ns=N         the time it waited for a CPU in those calls it was preempted in
 *
 * plus one line per family without numbers that depend on timing. tests/bats/blocking.bats
 * compares the totals with the sync profile entries at the lines marked FAMILY-SITE, and
 * with the holder profile at the lines of the releases (marked ...-POST-SITE, ...-UNLOCK-
 * SITE, BARRIER-ARRIVE-SITE, CREATE-SITE for the thread exits that end joins,
 * FUTEX-WAKE-SITE).
 *
 * Contention never depends on sleep timing: a helper thread takes the object first (or is
 * the one who will post, arrive, exit or wake), waits until it has seen the main thread
 * blocked in the kernel on that very object (/proc/self/task/TID/syscall: futex on an
 * address inside the object), and only then waits HOLD_MS and releases. A spinlock waiter
 * never enters the kernel: the holder waits until the main thread, having said it is about
 * to lock, has burnt SPIN_CPU_MS of CPU time (its schedstat), i.e. is spinning. Every wait
 * has a deadline or a helper that ends it; a watchdog alarm ends a hung run.
 *
 * usage: blk_sync [REPS [HOLD_MS]]   defaults: 5 20
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blk_util.h"

#define SPIN_CPU_MS 5 /* CPU time the spinning main thread burns before the holder counts */

static int reps = 5;
static long hold_ms = 20;
static pid_t main_tid;

static sem_t sem;
static sem_t *named_sem;
static char named_sem_name[64];
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_spinlock_t spin;
static _Atomic uint32_t futex_word;
static atomic_int held;    /* the helper holds the object now */
static atomic_int calling; /* main is about to make the measured call (spinlock) */

static void die(const char *what, int err)
{
	fprintf(stderr, "blk_sync: %s: error %d\n", what, err);
	if (named_sem_name[0])
		sem_unlink(named_sem_name);
	exit(1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void hold(void)
{
	sleep_ms(hold_ms);
}

/* ---- seeing the main thread blocked ---- */

/* 1: the main thread is in system call nr with its first argument in [lo, hi); 0: it is
 * not; -1: /proc/self/task/TID/syscall is unreadable. */
static int main_in_syscall(long nr, uintptr_t lo, uintptr_t hi)
{
	long got;
	unsigned long long a1;
	int r = task_syscall(main_tid, &got, &a1);
	if (r <= 0)
		return r;
	return got == nr && (uintptr_t)a1 >= lo && (uintptr_t)a1 < hi;
}

/* Returns once the main thread has been seen blocked in FUTEX_WAIT on a word inside
 * [obj, obj + size); dies after 10 s. */
static void until_main_waits_on(const void *obj, size_t size)
{
	uintptr_t lo = (uintptr_t)obj;
	for (int i = 0; i < 10000; i++) {
		int r = main_in_syscall(SYS_futex, lo, lo + size);
		if (r < 0)
			die("cannot read /proc/self/task/TID/syscall", errno);
		if (r)
			return;
		sleep_ms(1);
	}
	die("the main thread never blocked on the object", 0);
}

/* The main thread's on-CPU time in ns (schedstat), or -1. */
static long long main_cpu_ns(void)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)main_tid);
	if (proc_read(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/* Returns once the main thread, having set `calling`, has burnt SPIN_CPU_MS of CPU: it is
 * spinning on the lock (the call is all it does after setting the flag). */
static void until_main_spins(void)
{
	while (!atomic_load(&calling))
		sleep_ms(1);
	long long c0 = main_cpu_ns();
	if (c0 < 0)
		die("cannot read /proc/self/task/TID/schedstat", errno);
	for (int i = 0; i < 10000; i++) {
		if (main_cpu_ns() - c0 >= SPIN_CPU_MS * 1000000LL)
			return;
		sleep_ms(1);
	}
	die("the main thread never spun on the lock", 0);
}

/* ---- threads ---- */

/* Starts fn on a helper thread; reap() joins it (those joins are not the measured ones). */
static pthread_t helper(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	atomic_store(&held, 0);
	atomic_store(&calling, 0);
	int r = pthread_create(&t, NULL, fn, arg); /* CREATE-SITE */
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

/* ---- results, deadlines ---- */

static void result(const char *family, int calls, uint64_t total)
{
	printf("%s: %d waits done\n", family, reps);
	print_totals(family, calls, total);
}

static struct timespec deadline(clockid_t clk, int secs)
{
	struct timespec dl;
	clock_gettime(clk, &dl);
	dl.tv_sec += secs;
	return dl;
}

/* ---- semaphores ---- */

static void *sem_poster(void *arg)
{
	sem_t *s = arg;
	until_main_waits_on(s, sizeof(*s));
	hold();
	sem_post(s); /* SEM-POST-SITE */
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
	struct timespec dl = deadline(CLOCK_REALTIME, 5);
	uint64_t t0 = now_ns();
	int r = sem_timedwait(&sem, &dl); /* SEM-TIMEDWAIT-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("sem_timedwait", errno);
	return d;
}

static uint64_t sem_clockwait_once(void)
{
	struct timespec dl = deadline(CLOCK_MONOTONIC, 5);
	uint64_t t0 = now_ns();
	int r = sem_clockwait(&sem, CLOCK_MONOTONIC, &dl); /* SEM-CLOCKWAIT-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("sem_clockwait", errno);
	return d;
}

static uint64_t named_sem_once(void)
{
	uint64_t t0 = now_ns();
	int r = sem_wait(named_sem); /* NAMED-SEM-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("sem_wait (named)", errno);
	return d;
}

static void test_sem(void)
{
	uint64_t total = 0, timed = 0, clocked = 0, named = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(sem_poster, &sem);
		total += MEASURED(sem_wait_once());
		reap(t);
	}
	result("sem_wait", reps, total);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(sem_poster, &sem);
		timed += MEASURED(sem_timedwait_once());
		reap(t);
	}
	result("sem_timedwait", reps, timed);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(sem_poster, &sem);
		clocked += MEASURED(sem_clockwait_once());
		reap(t);
	}
	result("sem_clockwait", reps, clocked);

	/* A named semaphore: shared memory under /dev/shm, unlinked at once. */
	snprintf(named_sem_name, sizeof(named_sem_name), "/ctrace-blk_sync-%d", (int)getpid());
	named_sem = sem_open(named_sem_name, O_CREAT | O_EXCL, 0600, 0);
	if (named_sem == SEM_FAILED)
		die("sem_open", errno);
	sem_unlink(named_sem_name);
	named_sem_name[0] = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(sem_poster, named_sem);
		named += MEASURED(named_sem_once());
		reap(t);
	}
	sem_close(named_sem);
	result("sem_named", reps, named);
}

/* ---- rwlocks: the helper holds the lock until main is blocked on it, then HOLD_MS ---- */

static void *rw_writer(void *arg)
{
	(void)arg;
	pthread_rwlock_wrlock(&rwlock);
	atomic_store(&held, 1);
	until_main_waits_on(&rwlock, sizeof(rwlock));
	hold();
	pthread_rwlock_unlock(&rwlock); /* WR-UNLOCK-SITE */
	return NULL;
}

static void *rw_reader(void *arg)
{
	(void)arg;
	pthread_rwlock_rdlock(&rwlock);
	atomic_store(&held, 1);
	until_main_waits_on(&rwlock, sizeof(rwlock));
	hold();
	pthread_rwlock_unlock(&rwlock); /* RD-UNLOCK-SITE */
	return NULL;
}

static uint64_t rw_done(int r, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r)
		die(what, r);
	pthread_rwlock_unlock(&rwlock);
	return d;
}

static uint64_t rdlock_once(void)
{
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_rdlock(&rwlock); /* RWLOCK-RD-SITE */
	return rw_done(r, "pthread_rwlock_rdlock", t0);
}

static uint64_t timedrdlock_once(void)
{
	struct timespec dl = deadline(CLOCK_REALTIME, 5);
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_timedrdlock(&rwlock, &dl); /* RWLOCK-TIMEDRD-SITE */
	return rw_done(r, "pthread_rwlock_timedrdlock", t0);
}

static uint64_t clockrdlock_once(void)
{
	struct timespec dl = deadline(CLOCK_MONOTONIC, 5);
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_clockrdlock(&rwlock, CLOCK_MONOTONIC, &dl); /* RWLOCK-CLOCKRD-SITE */
	return rw_done(r, "pthread_rwlock_clockrdlock", t0);
}

static uint64_t wrlock_once(void)
{
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_wrlock(&rwlock); /* RWLOCK-WR-SITE */
	return rw_done(r, "pthread_rwlock_wrlock", t0);
}

static uint64_t timedwrlock_once(void)
{
	struct timespec dl = deadline(CLOCK_REALTIME, 5);
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_timedwrlock(&rwlock, &dl); /* RWLOCK-TIMEDWR-SITE */
	return rw_done(r, "pthread_rwlock_timedwrlock", t0);
}

static uint64_t clockwrlock_once(void)
{
	struct timespec dl = deadline(CLOCK_MONOTONIC, 5);
	uint64_t t0 = now_ns();
	int r = pthread_rwlock_clockwrlock(&rwlock, CLOCK_MONOTONIC, &dl); /* RWLOCK-CLOCKWR-SITE */
	return rw_done(r, "pthread_rwlock_clockwrlock", t0);
}

/* REPS calls of once() while the helper fn holds the lock. */
static void rw_family(const char *family, void *(*fn)(void *), uint64_t (*once)(void))
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(fn, NULL);
		until_held();
		total += MEASURED(once());
		reap(t);
	}
	result(family, reps, total);
}

static void test_rwlock(void)
{
	rw_family("rwlock_rd", rw_writer, rdlock_once);
	rw_family("rwlock_timedrd", rw_writer, timedrdlock_once);
	rw_family("rwlock_clockrd", rw_writer, clockrdlock_once);
	rw_family("rwlock_wr", rw_reader, wrlock_once);
	rw_family("rwlock_timedwr", rw_reader, timedwrlock_once);
	rw_family("rwlock_clockwr", rw_reader, clockwrlock_once);
}

/* ---- barriers ---- */

static void *late_arrival(void *arg)
{
	(void)arg;
	until_main_waits_on(&barrier, sizeof(barrier));
	hold();
	pthread_barrier_wait(&barrier); /* BARRIER-ARRIVE-SITE */
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
		pthread_t t = helper(late_arrival, NULL);
		total += MEASURED(barrier_once());
		reap(t);
	}
	result("barrier", reps, total);
}

/* ---- joins: the thread exits once main waits for it (on its tid word) ---- */

static void *slow_exit(void *arg)
{
	(void)arg;
	/* glibc's join waits on the tid field of struct pthread, which pthread_self points to */
	until_main_waits_on((const void *)pthread_self(), 4096);
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

static uint64_t timedjoin_once(pthread_t t)
{
	struct timespec dl = deadline(CLOCK_REALTIME, 5);
	uint64_t t0 = now_ns();
	int r = pthread_timedjoin_np(t, NULL, &dl); /* TIMEDJOIN-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("pthread_timedjoin_np", r);
	return d;
}

static uint64_t clockjoin_once(pthread_t t)
{
	struct timespec dl = deadline(CLOCK_MONOTONIC, 5);
	uint64_t t0 = now_ns();
	int r = pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &dl); /* CLOCKJOIN-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("pthread_clockjoin_np", r);
	return d;
}

static void test_join(void)
{
	uint64_t total = 0, timed = 0, clocked = 0;
	for (int i = 0; i < reps; i++)
		total += MEASURED(join_once(helper(slow_exit, NULL)));
	result("join", reps, total);
	for (int i = 0; i < reps; i++)
		timed += MEASURED(timedjoin_once(helper(slow_exit, NULL)));
	result("timedjoin", reps, timed);
	for (int i = 0; i < reps; i++)
		clocked += MEASURED(clockjoin_once(helper(slow_exit, NULL)));
	result("clockjoin", reps, clocked);
}

/* ---- pthread_tryjoin_np never waits: EBUSY while the thread runs, 0 once it is gone ---- */

static void *short_life(void *arg)
{
	(void)arg;
	while (!atomic_load(&calling))
		sleep_ms(1);
	return NULL;
}

static int tryjoin_once(pthread_t t)
{
	return pthread_tryjoin_np(t, NULL); /* TRYJOIN-SITE */
}

static void test_tryjoin(void)
{
	int busy = 0, calls = 0;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(short_life, NULL);
		int r = tryjoin_once(t);
		calls++;
		if (r != EBUSY)
			die("pthread_tryjoin_np on a running thread", r);
		busy++;
		atomic_store(&calling, 1);
		while ((r = tryjoin_once(t)) == EBUSY) {
			calls++;
			sleep_ms(1);
		}
		calls++;
		if (r)
			die("pthread_tryjoin_np", r);
	}
	printf("tryjoin: %d threads, %d EBUSY first\n", reps, busy);
	printf("tryjoin_calls=%d\n", calls);
}

/* ---- spinlocks ---- */

static void *spin_holder(void *arg)
{
	(void)arg;
	pthread_spin_lock(&spin);
	atomic_store(&held, 1);
	until_main_spins();
	hold();
	pthread_spin_unlock(&spin); /* SPIN-UNLOCK-SITE */
	return NULL;
}

static uint64_t spin_once(void)
{
	atomic_store(&calling, 1);
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
		pthread_t t = helper(spin_holder, NULL);
		until_held();
		total += MEASURED(spin_once());
		reap(t);
	}
	result("spin", reps, total);
}

/* ---- raw futex ---- */

static void *futex_waker(void *arg)
{
	(void)arg;
	until_main_waits_on(&futex_word, sizeof(futex_word));
	hold();
	atomic_store(&futex_word, 1);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); /* FUTEX-WAKE-SITE */
	return NULL;
}

/* One FUTEX_WAIT while the word is 0 (5 s timeout); returns its duration. */
static uint64_t futex_wait_once(void)
{
	struct timespec to = { 5, 0 };
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
		pthread_t t = helper(futex_waker, NULL);
		while (atomic_load(&futex_word) == 0) {
			total += MEASURED(futex_wait_once());
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
	alarm(50); /* watchdog: a hung wait kills the run instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	main_tid = gettid();
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
	test_tryjoin();
	test_spin();
	test_futex();
	return 0;
}
