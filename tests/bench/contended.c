/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: a contended mutex. T threads (unpinned) each loop: lock; a short critical section
 * (~250 ns of read-modify-write on shared data); unlock; about as much work on private data.
 * Reports total wall time of the measured phase divided by total lock+unlock pairs of all
 * threads. Under libctrace every acquisition that would block takes the record path (timestamp,
 * stack, record), and unlocks that release a waiter are recorded as wake edges.
 *
 * usage: contended [THREADS [OPS_PER_THREAD [CS_WORDS [OUT_WORDS]]]]   defaults: 2 250000 256 256
 */
#include "bench.h"

#define MAX_WORDS 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start;
static uint64_t shared_data[MAX_WORDS]; /* protected by lock */
static unsigned long ops_per_thread;
static unsigned cs_words, out_words;

struct worker {
	pthread_t tid;
	uint64_t priv[MAX_WORDS]; /* private work area */
	uint64_t sink;
} __attribute__((aligned(64)));

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long i;
	uint64_t acc = 0;

	pthread_barrier_wait(&start);
	for (i = 0; i < ops_per_thread; i++) {
		BENCH_CHECK(pthread_mutex_lock(&lock));
		acc += bench_work(shared_data, cs_words);
		BENCH_CHECK(pthread_mutex_unlock(&lock));
		acc += bench_work(w->priv, out_words);
	}
	w->sink = acc;
	pthread_barrier_wait(&start);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long nthreads = bench_arg(argc, argv, 1, 2);
	struct worker *w;
	uint64_t t0, t1;
	unsigned long i;
	char extra[64];

	ops_per_thread = bench_arg(argc, argv, 2, 250000);
	cs_words = (unsigned)bench_arg(argc, argv, 3, 256);
	out_words = (unsigned)bench_arg(argc, argv, 4, 256);
	if (nthreads > 256 || cs_words > MAX_WORDS || out_words > MAX_WORDS) {
		fprintf(stderr, "contended: THREADS <= 256, WORDS <= %d\n", MAX_WORDS);
		return 2;
	}
	w = calloc(nthreads, sizeof *w);
	if (!w)
		return 2;
	bench_wait_file();
	BENCH_CHECK(pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1));
	for (i = 0; i < nthreads; i++)
		BENCH_CHECK(pthread_create(&w[i].tid, NULL, worker_main, &w[i]));
	pthread_barrier_wait(&start); /* all created: go */
	t0 = bench_now_ns();
	pthread_barrier_wait(&start); /* all done */
	t1 = bench_now_ns();
	for (i = 0; i < nthreads; i++)
		BENCH_CHECK(pthread_join(w[i].tid, NULL));
	snprintf(extra, sizeof extra, "threads=%lu", nthreads);
	bench_report(nthreads * ops_per_thread, t1 - t0, extra);
	free(w);
	return 0;
}
