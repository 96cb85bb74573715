/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: a lock whose holds are bimodal. THREADS threads take
 * one mutex in turn; 99 holds in 100 spin SHORT_US, one in 100 sleeps LONG_US under the
 * lock (a slow call inside the critical section). The median hold is the short one, yet
 * the long ones take most of the held time, so the most acquisitions a second the lock
 * allows is 1 / mean hold, not 1 / median hold. The program measures every hold itself
 * (from the lock's return to the unlock) and prints:
 *   acquisitions=N held_ns=N mean_hold_ns=N max_hold_ns=N elapsed_ns=N rate=N (per s)
 *   outer_held_ns=N outer_max_ns=N
 * The outer holds run on to the unlock's return: a tracer's hold, from its acquisition
 * record to its release record inside the unlock, lies within it (and so does any
 * preemption inside the unlock). Then the medians (nearest rank) of both, and the holds
 * at whose end another thread was in its lock call (a tracer records a release only
 * while someone waits): their number and their sum:
 *   p50_hold_ns=N outer_p50_ns=N waited_releases=N waited_held_ns=N
 * tests/bats/noise.bats compares the report's hold median, hold mean, held time and
 * throughput cap with them.
 *
 * usage: hold_bimodal [THREADS [ITERATIONS [SHORT_US [LONG_US [WORK_US]]]]]
 *        defaults: 4 1500 2 2000 20 (WORK_US: spun outside the lock after each hold)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int iterations = 1500;
static long short_us = 2, long_us = 2000, work_us = 20;
static uint64_t acquisitions, held_ns, max_hold_ns; /* under the lock */
static volatile uint64_t spun;
static uint64_t outer_held_ns, outer_max_ns; /* atomics: added after the unlock */
static uint64_t *hold_of, *outer_of;          /* each acquisition's, by its number */
static int in_lock;                           /* atomic: threads in their lock call */
static uint64_t waited_releases, waited_held_ns; /* under the lock */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		spun++;
}

static void critical_section(void)
{
	__atomic_fetch_add(&in_lock, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&lock); /* TAKE-SITE */
	__atomic_fetch_sub(&in_lock, 1, __ATOMIC_SEQ_CST);
	uint64_t t0 = now_ns();
	if (acquisitions % 100 == 99) {
		struct timespec d = { long_us / 1000000, (long_us % 1000000) * 1000 };
		nanosleep(&d, NULL); /* LONG-SITE */
	} else {
		spin_ns((uint64_t)short_us * 1000u);
	}
	uint64_t k = acquisitions++;
	uint64_t h = now_ns() - t0;
	held_ns += h;
	if (h > max_hold_ns)
		max_hold_ns = h;
	hold_of[k] = h;
	if (__atomic_load_n(&in_lock, __ATOMIC_SEQ_CST) > 0) {
		waited_releases++;
		waited_held_ns += h;
	}
	pthread_mutex_unlock(&lock);
	uint64_t o = now_ns() - t0, m = __atomic_load_n(&outer_max_ns, __ATOMIC_RELAXED);
	outer_of[k] = o;
	__atomic_fetch_add(&outer_held_ns, o, __ATOMIC_RELAXED);
	while (o > m && !__atomic_compare_exchange_n(&outer_max_ns, &m, o, 0, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < iterations; i++) {
		critical_section();
		spin_ns((uint64_t)work_us * 1000u); /* work outside the lock */
	}
	return NULL;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The nearest-rank median of v[0..n). Sorts v. */
static uint64_t median(uint64_t *v, uint64_t n)
{
	qsort(v, n, sizeof(*v), by_value);
	return v[(n + 1) / 2 - 1];
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		short_us = atol(argv[3]);
	if (argc > 4)
		long_us = atol(argv[4]);
	if (argc > 5)
		work_us = atol(argv[5]);
	if (n < 1 || n > 64 || iterations < 1 || short_us < 0 || long_us < 0 || work_us < 0) {
		fprintf(stderr, "usage: hold_bimodal [THREADS [ITERATIONS [SHORT_US [LONG_US "
			"[WORK_US]]]]]\n");
		return 2;
	}
	pthread_t t[64];
	hold_of = calloc((size_t)n * (size_t)iterations, sizeof(*hold_of));
	outer_of = calloc((size_t)n * (size_t)iterations, sizeof(*outer_of));
	if (!hold_of || !outer_of)
		return 1;
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	uint64_t el = now_ns() - t0;
	printf("hold_bimodal: acquisitions=%llu held_ns=%llu mean_hold_ns=%llu max_hold_ns=%llu "
	       "elapsed_ns=%llu rate=%llu outer_held_ns=%llu outer_max_ns=%llu "
	       "p50_hold_ns=%llu outer_p50_ns=%llu waited_releases=%llu waited_held_ns=%llu\n",
	       (unsigned long long)acquisitions,
	       (unsigned long long)held_ns, (unsigned long long)(held_ns / acquisitions),
	       (unsigned long long)max_hold_ns, (unsigned long long)el,
	       (unsigned long long)(acquisitions * 1000000000ull / el),
	       (unsigned long long)outer_held_ns, (unsigned long long)outer_max_ns,
	       (unsigned long long)median(hold_of, acquisitions),
	       (unsigned long long)median(outer_of, acquisitions),
	       (unsigned long long)waited_releases, (unsigned long long)waited_held_ns);
	return 0;
}
