/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: a lock that is contended now and then but is NOT a
 * convoy. THREADS threads take one mutex for HOLD_US and then sleep SLEEP_US outside it, so
 * the lock is free most of the time and its queue of waiters is empty most of the time.
 * tests/bats/analyses.bats expects `ctrace check --fail-on convoy` to pass on its trace. It
 * prints queued=N calls=M: of its lock calls, those that took at least two holds.
 *
 * usage: noconvoy [THREADS [ITERATIONS [HOLD_US [SLEEP_US]]]]   defaults: 4 400 5 500
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int iterations = 400;
static long hold_us = 5, sleep_us = 500;
static uint64_t counter;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Lock calls that took at least two holds: the caller queued behind others (or behind a
 * holder the scheduler preempted), counted to tell a run the machine's load turned into a
 * queue from one that stayed as meant. */
static uint64_t queued, calls;

static void short_critical_section(void)
{
	uint64_t t0 = now_ns();

	pthread_mutex_lock(&lock); /* WAIT-SITE */
	uint64_t t1 = now_ns(), end = t1 + (uint64_t)hold_us * 1000u;

	calls++;
	queued += t1 - t0 >= 2 * (uint64_t)(hold_us > 0 ? hold_us : 1) * 1000u;
	while (now_ns() < end)
		counter++;
	pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
	(void)arg;
	struct timespec pause = { sleep_us / 1000000, (sleep_us % 1000000) * 1000 };
	for (int i = 0; i < iterations; i++) {
		short_critical_section();
		nanosleep(&pause, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		hold_us = atol(argv[3]);
	if (argc > 4)
		sleep_us = atol(argv[4]);
	if (n < 1 || n > 64 || iterations < 1 || hold_us < 0 || sleep_us < 0) {
		fprintf(stderr, "usage: noconvoy [THREADS [ITERATIONS [HOLD_US [SLEEP_US]]]]\n");
		return 2;
	}
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("noconvoy: %d threads x %d sections queued=%llu calls=%llu\n", n, iterations,
	       (unsigned long long)queued, (unsigned long long)calls);
	return 0;
}
