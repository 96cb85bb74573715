/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: semaphore ping-pong. Two threads pinned to the SAME CPU hand a turn back and
 * forth through two semaphores (post the other's, wait on one's own); reports ns per round
 * trip (two posts, two waits, two context switches). Under libctrace each sem_wait finds
 * the semaphore at zero and takes the traced path (a wait with its stack), and each
 * sem_post that releases a waiter is recorded with its stack: the same work per hand-off
 * as pingpong_cond.
 *
 * usage: sem_pingpong [ROUND_TRIPS [CPU]]   defaults: 100000 0
 */
#include <semaphore.h>

#include "bench.h"

static sem_t to_partner, to_main;
static pthread_barrier_t start;
static unsigned long rounds, warmup;
static int cpu;

static void post(sem_t *s)
{
	if (sem_post(s)) {
		fprintf(stderr, "sem_pingpong: sem_post: %s\n", strerror(errno));
		exit(2);
	}
}

static void wait_for(sem_t *s)
{
	while (sem_wait(s)) {
		if (errno != EINTR) {
			fprintf(stderr, "sem_pingpong: sem_wait: %s\n", strerror(errno));
			exit(2);
		}
	}
}

static void *partner_main(void *arg)
{
	(void)arg;
	bench_pin_self(cpu);
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < warmup + rounds; i++) {
		wait_for(&to_partner);
		post(&to_main);
	}
	return NULL;
}

static void play(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		post(&to_partner);
		wait_for(&to_main);
	}
}

int main(int argc, char **argv)
{
	pthread_t partner;
	uint64_t t0, t1;

	rounds = bench_arg(argc, argv, 1, 100000);
	cpu = argc > 2 ? atoi(argv[2]) : 0;
	warmup = rounds / 20 + 1;
	if (sem_init(&to_partner, 0, 0) || sem_init(&to_main, 0, 0)) {
		perror("sem_pingpong: sem_init");
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
