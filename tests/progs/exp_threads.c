/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, per thread: three threads name themselves
 * "napper-1", "napper-2" and "napper-3" and sleep ROUNDS times in nanosleep, thread i for
 * i * STEP_MS each time, measuring every sleep with CLOCK_MONOTONIC. For each it prints
 * `napper-I tid=T sleeps=N sleep_ns=NS`: the pprof export's per-thread labels must give
 * the same counts and totals for the thread of that name (tests/bats/export.bats).
 *
 * usage: exp_threads [ROUNDS [STEP_MS]]    defaults: 5 4
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 3

static long rounds = 5, step_ms = 4;

struct napper {
	int i;
	pid_t tid;
	long sleeps;
	uint64_t sleep_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *nap(void *arg)
{
	struct napper *n = arg;
	char name[16];
	long ms = n->i * step_ms;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	snprintf(name, sizeof(name), "napper-%d", n->i);
	pthread_setname_np(pthread_self(), name);
	n->tid = gettid();
	for (long r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();

		nanosleep(&ts, NULL); /* SLEEP-SITE */
		n->sleep_ns += now_ns() - t0;
		n->sleeps++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];
	struct napper n[NTHREADS] = { { 0 } };

	if (argc > 1)
		rounds = atol(argv[1]);
	if (argc > 2)
		step_ms = atol(argv[2]);
	for (int i = 0; i < NTHREADS; i++) {
		n[i].i = i + 1;
		pthread_create(&t[i], NULL, nap, &n[i]);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++)
		printf("napper-%d tid=%d sleeps=%ld sleep_ns=%llu\n", n[i].i, (int)n[i].tid,
		       n[i].sleeps, (unsigned long long)n[i].sleep_ns);
	return 0;
}
