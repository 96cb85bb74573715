/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the record-path benchmarks (one .c per benchmark in tests/bench/; header
 * only): a monotonic clock, CPU pinning, argument parsing, a fixed amount of memory-touching
 * "work" that the compiler cannot remove, and the one machine-readable result line that
 * tests/bench/run.sh parses. Each benchmark times only its measured phase (threads created, pinned and released
 * together from a barrier) and prints exactly one line on stdout:
 *
 *     ns_per_op=12.34 ops=1000000 elapsed_ns=12340000 [key=value ...]
 *
 * Anything else a benchmark wants to say goes to stderr. A failing pthread call is fatal
 * (exit 2): a benchmark whose synchronisation broke has measured nothing.
 */
#ifndef CT_BENCH_H
#define CT_BENCH_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Keeps the compiler from caching, merging or deleting memory accesses around this point. */
#define BENCH_BARRIER() __asm__ __volatile__("" ::: "memory")

/* Aborts the benchmark with a message naming the failed call; rc is a pthread-style errno. */
#define BENCH_CHECK(call)                                                                  \
	do {                                                                               \
		int bench_rc_ = (call);                                                    \
		if (bench_rc_ != 0) {                                                      \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,      \
				strerror(bench_rc_));                                      \
			exit(2);                                                           \
		}                                                                          \
	} while (0)

/* The process's CPU time (every thread's, a tracer's own threads included) at the last two
 * bench_now_ns calls: the measured phase's CPU cost, which a busy shared machine disturbs
 * far less than the wall time (time spent preempted is not in it). */
static uint64_t bench_cpu_prev, bench_cpu_last;

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts, cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	bench_cpu_prev = bench_cpu_last;
	bench_cpu_last = (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* argv[i] as a positive count, or def when absent; exits on garbage. */
static inline unsigned long bench_arg(int argc, char **argv, int i, unsigned long def)
{
	char *end;
	unsigned long v;

	if (argc <= i)
		return def;
	errno = 0;
	v = strtoul(argv[i], &end, 0);
	if (errno || *end || v == 0) {
		fprintf(stderr, "%s: bad argument '%s'\n", argv[0], argv[i]);
		exit(2);
	}
	return v;
}

/* Pins the calling thread to one CPU (taken modulo the CPUs we may run on). */
static inline void bench_pin_self(int cpu)
{
	cpu_set_t allowed, set;
	int n, i, seen = 0;

	BENCH_CHECK(pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed));
	n = CPU_COUNT(&allowed);
	if (n <= 0)
		return;
	cpu %= n;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &allowed))
			continue;
		if (seen++ == cpu)
			break;
	}
	CPU_ZERO(&set);
	CPU_SET(i, &set);
	BENCH_CHECK(pthread_setaffinity_np(pthread_self(), sizeof set, &set));
}

/*
 * A fixed amount of dependent arithmetic over `words` 64-bit words of *data (read-modify-write):
 * ~1 ns per word on the 2-core Xeon VM this was tuned on, so 256 words is ~250 ns.
 * Used for the critical section (on shared data) and for the work outside it (on private data).
 */
static inline uint64_t bench_work(uint64_t *data, unsigned words)
{
	uint64_t acc = data[0] | 1;
	unsigned i;

	for (i = 0; i < words; i++) {
		acc = acc * 6364136223846793005u + 1442695040888963407u;
		data[i] += acc >> 17;
		BENCH_BARRIER();
	}
	return acc;
}

/* An idle thread: blocks reading the pipe's read end (arg, an fd cast to a pointer) until
 * the write end is closed. A traced process with one is multi-threaded, as servers are. */
static inline void *bench_idle_main(void *arg)
{
	char c;

	while (read((int)(intptr_t)arg, &c, 1) < 0) /* returns 0 when the write end closes */
		;
	return NULL;
}

/* With BENCH_WAIT_FILE set: waits until that file exists before the measured phase (a
 * tracer attaches meanwhile: tests/bench/attach.sh). */
static inline void bench_wait_file(void)
{
	const char *f = getenv("BENCH_WAIT_FILE");
	struct timespec ms = { 0, 1000000L };

	while (f && *f && access(f, F_OK) != 0)
		nanosleep(&ms, NULL);
}

/* The one result line run.sh reads: wall and CPU ns per op of the measured phase (the
 * two bench_now_ns calls that bound it). */
static inline void bench_report(uint64_t ops, uint64_t elapsed_ns, const char *extra)
{
	printf("ns_per_op=%.2f ops=%llu elapsed_ns=%llu cpu_ns_per_op=%.2f%s%s\n",
	       ops ? (double)elapsed_ns / (double)ops : 0.0, (unsigned long long)ops,
	       (unsigned long long)elapsed_ns,
	       ops ? (double)(bench_cpu_last - bench_cpu_prev) / (double)ops : 0.0,
	       extra && *extra ? " " : "", extra ? extra : "");
	fflush(stdout);
}

#endif /* CT_BENCH_H */
