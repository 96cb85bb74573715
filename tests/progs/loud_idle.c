/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for filters by kind and thread: an idle thread
 * ("idler") sleeps in pthread_cond_wait for the whole run (the line marked IDLE-SITE) while
 * two workers ("mc-a", "mc-b") contend for one mutex in contend (the line marked
 * LOCK-SITE): each round one worker takes the mutex, says so, and holds it HOLD_US
 * microseconds; the other, told it is taken, locks it and waits. The main thread joins
 * them. Every thread measures its own waits with CLOCK_MONOTONIC and the program prints
 *
 *     mutex_wait_ns=N   the workers' time inside pthread_mutex_lock (every call)
 *     mutex_max_ns=N    the longest of those calls
 *     mutex_rq_ns=N     the time they waited for a CPU in the lock calls they were
 *                       preempted in (blk_util.h's rq_now)
 *     cond_wait_ns=N    the idler's time inside pthread_cond_wait
 *
 * tests/bats/loud.bats compares them with `report --kind`, and checks rules by kind.
 * A watchdog alarm ends a hung run.
 *
 * usage: loud_idle [ROUNDS [HOLD_US]]   defaults: 10 3000
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "blk_util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;
static int stop;
static _Atomic int turn;      /* round r: worker r % 2 holds */
static _Atomic int taken = -1; /* the round whose holder has the mutex */
static _Atomic uint64_t mutex_wait_ns, mutex_rq_ns, mutex_max_ns;
static uint64_t cond_wait_ns;
static int rounds = 10;
static long hold_us = 3000;

static void *idler(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_mu);
	while (!stop) {
		uint64_t t0 = now_ns();

		pthread_cond_wait(&idle_cv, &idle_mu); /* IDLE-SITE */
		cond_wait_ns += now_ns() - t0;
	}
	pthread_mutex_unlock(&idle_mu);
	return NULL;
}

static void contend(void)
{
	long c0, c1;
	uint64_t rq0 = rq_now(&c0), t0 = now_ns();

	pthread_mutex_lock(&mu); /* LOCK-SITE */
	uint64_t d = now_ns() - t0, rq1 = rq_now(&c1);

	mutex_wait_ns += d;
	for (uint64_t m = mutex_max_ns; d > m && !atomic_compare_exchange_weak(&mutex_max_ns, &m, d);)
		;
	if (c1 != c0)
		mutex_rq_ns += rq1 - rq0;
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;

	for (int r = 0; r < rounds; r++) {
		while (atomic_load(&turn) != r)
			usleep(100);
		if (r % 2 == me) {
			contend(); /* free: the other waits for taken */
			atomic_store(&taken, r);
			usleep((useconds_t)hold_us);
			pthread_mutex_unlock(&mu);
		} else {
			while (atomic_load(&taken) != r)
				usleep(50);
			contend();
			pthread_mutex_unlock(&mu);
			atomic_store(&turn, r + 1);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[3];

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		hold_us = atol(argv[2]);
	alarm(60);
	pthread_create(&th[0], NULL, idler, NULL);
	pthread_setname_np(th[0], "idler");
	pthread_create(&th[1], NULL, worker, (void *)(intptr_t)0);
	pthread_setname_np(th[1], "mc-a");
	pthread_create(&th[2], NULL, worker, (void *)(intptr_t)1);
	pthread_setname_np(th[2], "mc-b");
	pthread_join(th[1], NULL);
	pthread_join(th[2], NULL);
	pthread_mutex_lock(&idle_mu);
	stop = 1;
	pthread_cond_signal(&idle_cv);
	pthread_mutex_unlock(&idle_mu);
	pthread_join(th[0], NULL);
	printf("mutex_wait_ns=%llu\nmutex_max_ns=%llu\nmutex_rq_ns=%llu\ncond_wait_ns=%llu\n",
	       (unsigned long long)mutex_wait_ns, (unsigned long long)mutex_max_ns,
	       (unsigned long long)mutex_rq_ns, (unsigned long long)cond_wait_ns);
	return 0;
}
