/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: the uncontended mutex path. One thread, pinned to one CPU, locks and unlocks one
 * default mutex N times; reports ns per lock+unlock pair. Under libctrace this is the price of
 * the trylock-first wrapper pair (preload/README.md, record path rule 1: "one extra call").
 * run.sh runs it untraced and traced and compares.
 *
 * With IDLE > 0, that many extra threads sit blocked in read(2) on a pipe for the whole run.
 * They never touch the mutex, but they make the process multi-threaded: glibc (>= 2.34) locks
 * and unlocks without atomic instructions while __libc_single_threaded is set, so a truly
 * single-threaded run measures that fast path (~3 ns a pair), and any tracer that starts a
 * thread of its own turns it off. IDLE=1 measures the wrapper alone, as in the programs a
 * lock tracer is for.
 *
 * usage: uncontended [N [IDLE]]   defaults: 100000000 (~0.3 s untraced on the 2-core VM) 0
 */
#include <unistd.h>

#include "bench.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t counter; /* protected by lock; volatile so each pair stays a pair */

static void run(unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		BENCH_CHECK(pthread_mutex_lock(&lock));
		counter++;
		BENCH_CHECK(pthread_mutex_unlock(&lock));
	}
}

static int idle_pipe[2];

int main(int argc, char **argv)
{
	unsigned long n = bench_arg(argc, argv, 1, 100000000);
	unsigned long idle = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
	pthread_t *tids = calloc(idle + 1, sizeof *tids);
	uint64_t t0, t1;
	unsigned long i;
	char extra[32];

	if (!tids || pipe(idle_pipe) != 0)
		return 2;
	for (i = 0; i < idle; i++)
		BENCH_CHECK(pthread_create(&tids[i], NULL, bench_idle_main,
					   (void *)(intptr_t)idle_pipe[0]));
	bench_wait_file();
	bench_pin_self(0);
	run(n / 20 + 1); /* warm-up: lazy binding, tracer thread-state setup, caches */
	t0 = bench_now_ns();
	run(n);
	t1 = bench_now_ns();
	close(idle_pipe[1]);
	for (i = 0; i < idle; i++)
		BENCH_CHECK(pthread_join(tids[i], NULL));
	snprintf(extra, sizeof extra, "idle_threads=%lu", idle);
	bench_report(n, t1 - t0, extra);
	free(tids);
	return 0;
}
