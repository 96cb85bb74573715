/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: N threads contend for one mutex. Each thread measures,
 * with CLOCK_MONOTONIC, how long it was blocked in pthread_mutex_lock, and the program prints
 * the sum as `wait_total_ns=...`. tests/bats/sync.bats compares that number with the sync
 * profile entry of contend_lock (the line marked WAIT-SITE) and with the holder profile entry
 * of hold_lock (the line marked UNLOCK-SITE). `wait_rq_ns=...` is the time the threads
 * waited for a CPU in the lock calls they were preempted in (blk_util.h's rq_now): a thread
 * preempted between the tracer's clock and its own, or in a probe that did not block, is
 * the difference the tests allow beyond their percentage; zero on an idle machine.
 *
 * How many lock calls block depends on scheduling (glibc lets a releaser take the lock
 * again before the woken waiter runs), so the program counts the ones that certainly did:
 * before each release the holder looks for the threads asleep in the kernel on the mutex
 * inside their lock call (/proc/self/task/TID/syscall names futex with the mutex's
 * address); the first holder waits until it sees all the others so. A call that slept
 * there failed the tracer's probes: it is a recorded wait. `blocked=N` counts the distinct
 * lock calls seen asleep (at least THREADS - 1, with THREADS - 1 waits in progress at
 * once; 0 when /proc does not show another thread's system call, as in a setuid run),
 * `lock_calls=N` all of them: the tracer's count of waits lies between the two.
 * The holds, from the lock's return to the unlock call, are measured too:
 * `hold_min_ns=...`, `hold_p50_ns=...` (nearest rank), `hold_max_ns=...`; and, as the
 * analyzer picks them, the holds of the calls seen asleep during which other threads were
 * in their lock calls all along: `covered_holds=N`, `covered_hold_p50_ns=...`. `run_ns=...`
 * runs from before the first pthread_create to after the last join: no wait is longer.
 *
 * usage: lockwait [THREADS [ITERATIONS [HOLD_US]]]   defaults: 4 25 2000
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blk_util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t wait_total_ns; /* sum over threads of time spent in pthread_mutex_lock */
static _Atomic uint64_t wait_count;    /* lock calls that took longer than 50 us */
static _Atomic uint64_t wait_rq_ns;    /* run-queue time of the preempted lock calls */
static _Atomic uint64_t blocked_calls; /* lock calls a holder saw asleep in the kernel */
static uint64_t *holds;                /* every hold, in ns; nholds of them so far */
static _Atomic long nholds;
/* Every lock call, at [thread * iterations + i]: when it began, returned (the lock taken)
 * and the unlock was called, and whether a holder saw it asleep. */
static struct call {
	uint64_t begin, taken, released;
	int asleep;
} *calls;
static uint64_t shared_counter;        /* protected by lock */
static int nthreads = 4;
static int iterations = 25;
static long hold_us = 2000;

/* Per thread: its tid, whether it is inside contend_lock, and whether a holder saw it
 * asleep there (set by the holder, taken back by the thread once it has the lock). */
static struct worker {
	_Atomic pid_t tid;
	_Atomic int in_lock;
	_Atomic int seen_asleep;
} workers[64];
static _Atomic long calls_left; /* lock calls of all threads not returned yet */

/* Busy work for hold_us microseconds: keeps the lock held without another blocking call,
 * so the only waits in the sync profile are the lock itself and main's joins. */
static void spin_for_us(long us)
{
	uint64_t end = now_ns() + (uint64_t)us * 1000u;
	while (now_ns() < end)
		shared_counter++;
}

/* Takes the lock and returns the nanoseconds this call was blocked. */
static uint64_t contend_lock(void)
{
	uint64_t t0 = now_ns();
	pthread_mutex_lock(&lock); /* WAIT-SITE */
	return now_ns() - t0;
}

/* Is thread w asleep in the kernel on lock, inside its lock call? in_lock is read first:
 * while the caller holds lock, a thread inside contend_lock cannot leave it, so a futex on
 * lock seen after that is its lock call's (not the wake of its previous unlock). */
static _Atomic int unreadable; /* /proc/self/task/TID/syscall cannot be read (setuid) */

static int asleep_in_lock(struct worker *w)
{
	long nr;
	unsigned long long a1;
	if (!atomic_load(&w->in_lock))
		return 0;
	int r = task_syscall(atomic_load(&w->tid), &nr, &a1);
	if (r < 0)
		atomic_store(&unreadable, 1);
	return r == 1 && nr == SYS_futex && a1 == (unsigned long long)(uintptr_t)&lock;
}

/* With lock held by thread self, which has mine_left lock calls still to make: marks every
 * other thread asleep in its lock call. The first holder waits until all the others are
 * asleep so at once (their first calls cannot return while lock is held, so each of them
 * ends up asleep on it: THREADS - 1 waits in progress together); after that a holder only
 * looks. It does not wait when no other thread has a lock call left, or when /proc cannot
 * tell (a setuid run: blocked stays 0). */
static void note_waiters_asleep(int self, long mine_left)
{
	static _Atomic int all_seen;
	for (;;) {
		int asleep = 0;
		for (int i = 0; i < nthreads; i++)
			if (i != self && asleep_in_lock(&workers[i])) {
				atomic_store(&workers[i].seen_asleep, 1);
				asleep++;
			}
		if (asleep == nthreads - 1)
			atomic_store(&all_seen, 1);
		if (atomic_load(&all_seen) || atomic_load(&calls_left) == mine_left ||
		    atomic_load(&unreadable))
			return;
	}
}

/* The critical section: holds the lock hold_us (the first time, also until all the other
 * threads sleep on it), notes who sleeps on it, then releases it. taken: when the lock call
 * returned. */
static void hold_lock(int self, long mine_left, struct call *c)
{
	spin_for_us(hold_us);
	note_waiters_asleep(self, mine_left);
	c->released = now_ns();
	holds[atomic_fetch_add(&nholds, 1)] = c->released - c->taken;
	pthread_mutex_unlock(&lock); /* UNLOCK-SITE */
}

static void *lock_worker(void *arg)
{
	int self = (int)(intptr_t)arg;
	struct worker *me = &workers[self];
	atomic_store(&me->tid, gettid());
	for (int i = 0; i < iterations; i++) {
		long c0, c1;
		struct call *c = &calls[self * iterations + i];
		uint64_t r0 = rq_now(&c0);
		c->begin = now_ns();
		atomic_store(&me->in_lock, 1);
		uint64_t waited = contend_lock();
		c->taken = now_ns();
		uint64_t r1 = rq_now(&c1);
		atomic_store(&me->in_lock, 0);
		atomic_fetch_sub(&calls_left, 1);
		if (atomic_exchange(&me->seen_asleep, 0)) {
			atomic_fetch_add(&blocked_calls, 1);
			c->asleep = 1;
		}
		hold_lock(self, iterations - 1 - i, c);
		if (c1 != c0)
			atomic_fetch_add(&wait_rq_ns, r1 - r0);
		atomic_fetch_add(&wait_total_ns, waited);
		if (waited > 50000)
			atomic_fetch_add(&wait_count, 1);
		/* Let another thread in: without a pause, the releaser often takes the lock again
		 * before the woken waiter runs. The pause is outside the lock. */
		struct timespec pause = { 0, 100000 };
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_begin(const void *a, const void *b)
{
	return cmp_u64(&((const struct call *)a)->begin, &((const struct call *)b)->begin);
}

/* Is [from, to] (a hold) inside the union of the lock calls [begin, taken]? byb: every call,
 * sorted by begin (the holder's own calls end before from or begin after to). */
static int covered(const struct call *byb, long n, uint64_t from, uint64_t to)
{
	uint64_t reach = from;
	for (long k = 0; k < n && byb[k].begin <= reach; k++)
		if (byb[k].taken > reach)
			reach = byb[k].taken;
	return reach >= to;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		hold_us = atol(argv[3]);
	if (nthreads < 1 || nthreads > 64 || iterations < 1 || hold_us < 0) {
		fprintf(stderr, "usage: lockwait [THREADS [ITERATIONS [HOLD_US]]]\n");
		return 2;
	}
	atomic_store(&calls_left, (long)nthreads * iterations);
	holds = calloc((size_t)nthreads * (size_t)iterations, sizeof(*holds));
	calls = calloc((size_t)nthreads * (size_t)iterations, sizeof(*calls));
	if (!holds || !calls) {
		perror("calloc");
		return 1;
	}

	pthread_t tids[64];
	uint64_t start = now_ns();
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], NULL, lock_worker, (void *)(intptr_t)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	uint64_t run_ns = now_ns() - start;

	printf("threads=%d iterations=%d hold_us=%ld\n", nthreads, iterations, hold_us);
	printf("waits=%llu\n", (unsigned long long)atomic_load(&wait_count));
	printf("lock_calls=%ld\n", (long)nthreads * iterations);
	printf("blocked=%llu\n", (unsigned long long)atomic_load(&blocked_calls));
	printf("wait_total_ns=%llu\n", (unsigned long long)atomic_load(&wait_total_ns));
	printf("wait_rq_ns=%llu\n", (unsigned long long)atomic_load(&wait_rq_ns));
	long n = atomic_load(&nholds);
	qsort(holds, (size_t)n, sizeof(*holds), cmp_u64);
	printf("hold_min_ns=%llu\n", (unsigned long long)holds[0]);
	printf("hold_p50_ns=%llu\n", (unsigned long long)holds[(n + 1) / 2 - 1]);
	printf("hold_max_ns=%llu\n", (unsigned long long)holds[n - 1]);
	/* the analyzer's holds: of an acquisition that ended a wait, while waits covered it */
	long nc = (long)nthreads * iterations, m = 0;
	struct call *byb = calloc((size_t)nc, sizeof(*byb));
	if (!byb)
		return 1;
	for (long k = 0; k < nc; k++)
		byb[k] = calls[k];
	qsort(byb, (size_t)nc, sizeof(*byb), cmp_begin);
	for (long k = 0; k < nc; k++)
		if (calls[k].asleep && covered(byb, nc, calls[k].taken, calls[k].released))
			holds[m++] = calls[k].released - calls[k].taken;
	qsort(holds, (size_t)m, sizeof(*holds), cmp_u64);
	printf("covered_holds=%ld\n", m);
	printf("covered_hold_p50_ns=%llu\n", m ? (unsigned long long)holds[(m + 1) / 2 - 1] : 0ull);
	printf("run_ns=%llu\n", (unsigned long long)run_ns);
	return 0;
}
