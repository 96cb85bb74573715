/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: thread churn. The main thread creates a thread that returns at once and joins
 * it, N times one after another (a thread per task, as some servers do); reports ns per
 * create+join. Under libctrace a thread costs its start and end events, its name, the
 * join's wait with its stack and its alternate signal stack (its call-site table, which
 * it never writes, costs nothing); and each join finds the joined thread among the
 * thread slots. The warm-up makes
 * WARM threads first (default 5000, more than the 4096 slots claimed in turn), so that the
 * measured phase runs with every slot used once, as in a server that has run for a while.
 *
 * usage: threads [N [WARM]]   defaults: 20000 5000
 */
#include "bench.h"

static void *nothing(void *arg)
{
	return arg;
}

static void run(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		pthread_t t;

		BENCH_CHECK(pthread_create(&t, NULL, nothing, NULL));
		BENCH_CHECK(pthread_join(t, NULL));
	}
}

int main(int argc, char **argv)
{
	unsigned long n = bench_arg(argc, argv, 1, 20000);
	unsigned long warm = bench_arg(argc, argv, 2, 5000);
	uint64_t t0, t1;

	bench_wait_file();
	run(warm);
	t0 = bench_now_ns();
	run(n);
	t1 = bench_now_ns();
	bench_report(n, t1 - t0, NULL);
	return 0;
}
