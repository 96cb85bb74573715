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
 * usage: lockwait [THREADS [ITERATIONS [HOLD_US]]]   defaults: 4 25 2000
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "blk_util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t wait_total_ns; /* sum over threads of time spent in pthread_mutex_lock */
static _Atomic uint64_t wait_count;    /* lock calls that took longer than 50 us */
static _Atomic uint64_t wait_rq_ns;    /* run-queue time of the preempted lock calls */
static uint64_t shared_counter;        /* protected by lock */
static int iterations = 25;
static long hold_us = 2000;

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

/* The critical section: holds the lock about hold_us, then releases it. */
static void hold_lock(void)
{
	spin_for_us(hold_us);
	pthread_mutex_unlock(&lock); /* UNLOCK-SITE */
}

static void *lock_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < iterations; i++) {
		long c0, c1;
		uint64_t r0 = rq_now(&c0);
		uint64_t waited = contend_lock();
		uint64_t r1 = rq_now(&c1);
		hold_lock();
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

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		hold_us = atol(argv[3]);
	if (nthreads < 1 || nthreads > 64 || iterations < 1 || hold_us < 0) {
		fprintf(stderr, "usage: lockwait [THREADS [ITERATIONS [HOLD_US]]]\n");
		return 2;
	}

	pthread_t tids[64];
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], NULL, lock_worker, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);

	printf("threads=%d iterations=%d hold_us=%ld\n", nthreads, iterations, hold_us);
	printf("waits=%llu\n", (unsigned long long)atomic_load(&wait_count));
	printf("wait_total_ns=%llu\n", (unsigned long long)atomic_load(&wait_total_ns));
	printf("wait_rq_ns=%llu\n", (unsigned long long)atomic_load(&wait_rq_ns));
	return 0;
}
