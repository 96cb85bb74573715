/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: the annotation calls of preload/include/ctrace_annotate.h. One thread, pinned
 * to one CPU, makes N calls of one kind and reports ns per call:
 *
 *   region  ctrace_region_begin + ctrace_region_end pairs with a short name (N/2 pairs)
 *   long    the same with a 55-byte name (each call one event and 2 TEXT events)
 *   log     ctrace_log, category and message 17 bytes together (one event and one TEXT)
 *   label   ctrace_label set and removed (N/2 pairs)
 *
 * run.sh runs it untraced (the header's weak references are null: a load and a test),
 * under libctrace with CTRACE_DISABLE=1 (the call reaches libctrace, which records nothing)
 * and traced, and prints the three.
 *
 * One idle extra thread, as in `uncontended N 1`: a traced process is multi-threaded (the
 * writer), so the untraced one is too. Besides the usual result keys it prints
 * thread_cpu_ns_per_op, the calling thread's own CPU time per call (CLOCK_THREAD_CPUTIME_ID:
 * neither the writer's work nor the time the thread spent preempted on a busy machine).
 *
 * usage: annotate [N [KIND]]   defaults: 4000000 region
 */
#include <unistd.h>

#include "bench.h"
#include "ctrace_annotate.h"

static const char long_name[] = "a region name of 55 bytes, long enough for two TEXTs...";

static void run(unsigned long n, int kind)
{
	unsigned long i;

	switch (kind) {
	case 0:
		for (i = 0; i < n; i += 2) {
			ctrace_region_begin(0, "bench.region");
			BENCH_BARRIER();
			ctrace_region_end(0, "bench.region");
			BENCH_BARRIER();
		}
		break;
	case 1:
		for (i = 0; i < n; i += 2) {
			ctrace_region_begin(0, long_name);
			BENCH_BARRIER();
			ctrace_region_end(0, long_name);
			BENCH_BARRIER();
		}
		break;
	case 2:
		for (i = 0; i < n; i++) {
			ctrace_log(0, "bench", "one message");
			BENCH_BARRIER();
		}
		break;
	default:
		for (i = 0; i < n; i += 2) {
			ctrace_label("bench", "label");
			BENCH_BARRIER();
			ctrace_label("bench", NULL);
			BENCH_BARRIER();
		}
		break;
	}
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int idle_pipe[2];

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "region", "long", "log", "label" };
	unsigned long n = bench_arg(argc, argv, 1, 4000000) & ~1ul;
	const char *k = argc > 2 ? argv[2] : "region";
	int kind = -1;
	pthread_t idle;
	uint64_t t0, t1, c0, c1;
	char extra[128];

	for (int i = 0; i < 4; i++)
		if (!strcmp(k, kinds[i]))
			kind = i;
	if (kind < 0 || n == 0) {
		fprintf(stderr, "usage: %s [N [region|long|log|label]]\n", argv[0]);
		return 2;
	}
	if (pipe(idle_pipe) != 0)
		return 2;
	BENCH_CHECK(pthread_create(&idle, NULL, bench_idle_main, (void *)(intptr_t)idle_pipe[0]));
	bench_wait_file();
	bench_pin_self(0);
	run(n / 20 + 2, kind); /* warm-up: lazy binding, the thread's buffer, the call sites */
	c0 = thread_cpu_ns();
	t0 = bench_now_ns();
	run(n, kind);
	t1 = bench_now_ns();
	c1 = thread_cpu_ns();
	close(idle_pipe[1]);
	BENCH_CHECK(pthread_join(idle, NULL));
	snprintf(extra, sizeof extra, "thread_cpu_ns_per_op=%.2f kind=%s libctrace=%s",
		 (double)(c1 - c0) / (double)n, kinds[kind], ctrace_annotate_region ? "yes" : "no");
	bench_report(n, t1 - t0, extra);
	return 0;
}
