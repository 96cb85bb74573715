/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: condition-variable ping-pong. Two threads pinned to the SAME CPU hand a turn
 * variable back and forth through one mutex and one condition variable; reports ns per round
 * trip (two hand-offs). Pinning both to one CPU makes each hand-off a plain context switch:
 * unpinned on the 2-core VM the result varies ~10x with placement. Under libctrace every
 * pthread_cond_wait blocks, so each round trip records two cond waits with stacks and two
 * signals that released a waiter.
 *
 * usage: pingpong_cond [ROUND_TRIPS [CPU]]   defaults: 100000 0
 */
#include "bench.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t start;
static int turn;              /* whose move it is: 0 = main, 1 = partner; protected by lock */
static unsigned long rounds;  /* round trips in the measured phase */
static unsigned long warmup;  /* round trips before it */
static int cpu;

/* Waits for `me`'s turn, then hands it to the other side, n times. */
static void play(int me, unsigned long n)
{
	unsigned long i;

	BENCH_CHECK(pthread_mutex_lock(&lock));
	for (i = 0; i < n; i++) {
		while (turn != me)
			BENCH_CHECK(pthread_cond_wait(&cond, &lock));
		turn = !me;
		BENCH_CHECK(pthread_cond_signal(&cond));
	}
	BENCH_CHECK(pthread_mutex_unlock(&lock));
}

static void *partner_main(void *arg)
{
	(void)arg;
	bench_pin_self(cpu);
	pthread_barrier_wait(&start);
	play(1, warmup + rounds);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t partner;
	uint64_t t0, t1;

	rounds = bench_arg(argc, argv, 1, 100000);
	cpu = argc > 2 ? atoi(argv[2]) : 0;
	warmup = rounds / 20 + 1;
	bench_pin_self(cpu);
	BENCH_CHECK(pthread_barrier_init(&start, NULL, 2));
	BENCH_CHECK(pthread_create(&partner, NULL, partner_main, NULL));
	pthread_barrier_wait(&start);
	play(0, warmup);
	t0 = bench_now_ns();
	play(0, rounds);
	/* The partner's last move: wait until the ball is back before stopping the clock. */
	BENCH_CHECK(pthread_mutex_lock(&lock));
	while (turn != 0)
		BENCH_CHECK(pthread_cond_wait(&cond, &lock));
	BENCH_CHECK(pthread_mutex_unlock(&lock));
	t1 = bench_now_ns();
	BENCH_CHECK(pthread_join(partner, NULL));
	bench_report(rounds, t1 - t0, "cpus=same");
	return 0;
}
