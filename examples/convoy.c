/* SPDX-License-Identifier: MIT */
/*
 * A lock convoy, the way servers grow one: every request handler updates shared statistics
 * under one global mutex, and does a little of its real work while holding it. With several
 * worker threads the lock is never free for long, each unlock hands it to the next waiter,
 * and the threads spend most of their lives queued on it: adding threads adds no throughput.
 *
 *   make demo                      traces this program and prints the report
 *   convoy [THREADS [REQUESTS [HOLD_US [WORK_US]]]]    defaults: 8 400 200 50
 *
 * What the report shows: the sync profile's top entry is record_request (the lock call),
 * the holder profile charges the waits to the unlock in record_request, the stats lock
 * is the object with nearly all the wait time, and its convoy verdict is yes: its queue
 * of waiters never drains (8 threads keep about 5 waiting on average, on a loaded 2-core
 * machine too), waits are many times the 200 us hold, and the lock allows at most 1 /
 * 200 us = 5000 requests/s however many threads are added. The program measures its holds
 * itself (from the lock's return to the unlock) and prints their median and that limit,
 * 1 / median hold: a preempted holder makes them longer on a loaded machine.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct stats {
	pthread_mutex_t lock;
	uint64_t requests;
	uint64_t bytes;
	uint64_t latency_hist[16];
};

static struct stats stats = { .lock = PTHREAD_MUTEX_INITIALIZER };
static long hold_us = 200, work_us = 50;
static int requests = 400;
static uint64_t *holds; /* every hold in ns, written under the lock */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burns CPU for about us microseconds (the request's own work). */
static uint64_t spin_us(long us)
{
	uint64_t end = now_ns() + (uint64_t)us * 1000u, x = 0;
	while (now_ns() < end)
		x++;
	return x;
}

/* The problem: formatting the log line (spin_us) happens with the lock held. */
static void record_request(uint64_t bytes, uint64_t latency_ns)
{
	pthread_mutex_lock(&stats.lock);
	stats.requests++;
	stats.bytes += bytes;
	int bucket = 0;
	while (bucket < 15 && (latency_ns >> (bucket + 10)) != 0)
		bucket++;
	stats.latency_hist[bucket]++;
	uint64_t t0 = now_ns();
	spin_us(hold_us);
	holds[stats.requests - 1] = now_ns() - t0;
	pthread_mutex_unlock(&stats.lock);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void handle_request(int i)
{
	uint64_t t0 = now_ns();
	spin_us(work_us);
	record_request(512u + (uint64_t)(i % 7) * 64u, now_ns() - t0);
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < requests; i++)
		handle_request(i);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 8;
	if (argc > 2)
		requests = atoi(argv[2]);
	if (argc > 3)
		hold_us = atol(argv[3]);
	if (argc > 4)
		work_us = atol(argv[4]);
	if (nthreads < 1 || nthreads > 256 || requests < 1 || hold_us < 0 || work_us < 0) {
		fprintf(stderr, "usage: convoy [THREADS [REQUESTS [HOLD_US [WORK_US]]]]\n");
		return 2;
	}
	holds = calloc((size_t)nthreads * (size_t)requests, sizeof(*holds));
	if (!holds) {
		perror("calloc");
		return 1;
	}
	pthread_t t[256];
	uint64_t t0 = now_ns();
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	double s = (double)(now_ns() - t0) / 1e9;
	size_t n = (size_t)stats.requests;
	qsort(holds, n, sizeof(*holds), cmp_u64);
	double median_us = (double)holds[(n + 1) / 2 - 1] / 1e3;
	printf("convoy: %d threads, %llu requests in %.3f s (%.0f requests/s; the lock allows "
	       "at most %.0f, one per median hold of %.1f us)\n", nthreads,
	       (unsigned long long)stats.requests, s, (double)stats.requests / s,
	       median_us > 0 ? 1e6 / median_us : 0.0, median_us);
	return 0;
}
