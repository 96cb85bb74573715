/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: pipe ping-pong. Two threads pinned to the SAME CPU pass one byte back and
 * forth through two pipes; reports ns per round trip (two writes, two reads, two context
 * switches). Under libctrace every read and write goes through the system-call wrappers
 * (timed and counted at its call site); each read blocks until the other thread runs, but
 * on one CPU that is a few microseconds, under the default 20 us stack threshold, so the
 * traced cost is the per-call bookkeeping, not stack capture.
 *
 * usage: pipe_pingpong [ROUND_TRIPS [CPU]]   defaults: 100000 0
 */
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"

static int to_partner[2], to_main[2]; /* pipes: [0] read end, [1] write end */
static pthread_barrier_t start;
static unsigned long rounds, warmup;
static int cpu;

static void xfer(int fd, int writing)
{
	char c = 'p';
	ssize_t r = writing ? write(fd, &c, 1) : read(fd, &c, 1);
	if (r != 1) {
		fprintf(stderr, "pipe_pingpong: %s: %s\n", writing ? "write" : "read",
			r < 0 ? strerror(errno) : "short");
		exit(2);
	}
}

static void *partner_main(void *arg)
{
	(void)arg;
	bench_pin_self(cpu);
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < warmup + rounds; i++) {
		xfer(to_partner[0], 0);
		xfer(to_main[1], 1);
	}
	return NULL;
}

static void play(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		xfer(to_partner[1], 1);
		xfer(to_main[0], 0);
	}
}

int main(int argc, char **argv)
{
	pthread_t partner;
	uint64_t t0, t1;

	rounds = bench_arg(argc, argv, 1, 100000);
	cpu = argc > 2 ? atoi(argv[2]) : 0;
	warmup = rounds / 20 + 1;
	if (pipe2(to_partner, O_CLOEXEC) || pipe2(to_main, O_CLOEXEC)) {
		perror("pipe_pingpong: pipe2");
		return 2;
	}
	bench_pin_self(cpu);
	BENCH_CHECK(pthread_barrier_init(&start, NULL, 2));
	BENCH_CHECK(pthread_create(&partner, NULL, partner_main, NULL));
	pthread_barrier_wait(&start);
	play(warmup);
	t0 = bench_now_ns();
	play(rounds);
	t1 = bench_now_ns();
	BENCH_CHECK(pthread_join(partner, NULL));
	bench_report(rounds, t1 - t0, "cpus=same");
	return 0;
}
