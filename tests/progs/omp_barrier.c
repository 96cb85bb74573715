/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for OpenMP (built with -fopenmp): a team of THREADS
 * threads with deliberate load imbalance (thread i sleeps i * STEP_US before each
 * barrier) meets at `#pragma omp barrier` ROUNDS times, then takes an unnamed critical
 * section, a named one (`critical(stats)`) and an omp_lock_t, each held HOLD_US, ROUNDS
 * times per thread. Every thread measures its own time in each construct (from before the
 * construct to inside it); the program prints the sums:
 *
 *   barrier_total_ns=   time in `#pragma omp barrier` (line marked BARRIER-SITE), all
 *                       threads, the last arrival of each round included (it waits a few
 *                       microseconds at most, the tracer counts it as the release)
 *   critical_total_ns=  time entering `#pragma omp critical` (CRITICAL-SITE)
 *   named_total_ns=     time entering `#pragma omp critical(stats)` (NAMED-SITE)
 *   lock_total_ns=      time in omp_set_lock (LOCK-SITE)
 *   *_rq_ns=            the run-queue time of the measured calls a thread was preempted in
 *
 * usage: omp_barrier [THREADS [ROUNDS [STEP_US [HOLD_US]]]]   defaults: 3 10 2000 1000
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "blk_util.h"

static omp_lock_t lock;
static uint64_t stats_hits;

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

enum { BARRIER, CRITICAL, NAMED, LOCK, NFAM };
static const char *const fam_name[NFAM] = { "barrier", "critical", "named", "lock" };

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 3;
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	long step_us = argc > 3 ? atol(argv[3]) : 2000;
	long hold_us = argc > 4 ? atol(argv[4]) : 1000;
	uint64_t total[NFAM] = { 0 }, rq[NFAM] = { 0 };
	int team = 0;

	omp_init_lock(&lock);
#pragma omp parallel num_threads(nthreads) reduction(+ : total[:NFAM], rq[:NFAM])
	{
		int me = omp_get_thread_num();
		long c0, c1;
		uint64_t r0, r1, t0, t1;

#pragma omp single nowait
		team = omp_get_num_threads();
		for (int i = 0; i < rounds; i++) {
			sleep_us(step_us * me);
			r0 = rq_now(&c0);
			t0 = now_ns();
#pragma omp barrier /* BARRIER-SITE */
			t1 = now_ns();
			r1 = rq_now(&c1);
			total[BARRIER] += t1 - t0;
			if (c1 != c0)
				rq[BARRIER] += r1 - r0;
		}
		for (int i = 0; i < rounds; i++) {
			r0 = rq_now(&c0);
			t0 = now_ns();
#pragma omp critical /* CRITICAL-SITE */
			{
				t1 = now_ns();
				r1 = rq_now(&c1);
				sleep_us(hold_us);
			}
			total[CRITICAL] += t1 - t0;
			if (c1 != c0)
				rq[CRITICAL] += r1 - r0;
			sleep_us(100);
		}
		for (int i = 0; i < rounds; i++) {
			r0 = rq_now(&c0);
			t0 = now_ns();
#pragma omp critical(stats) /* NAMED-SITE */
			{
				t1 = now_ns();
				r1 = rq_now(&c1);
				stats_hits++;
				sleep_us(hold_us);
			}
			total[NAMED] += t1 - t0;
			if (c1 != c0)
				rq[NAMED] += r1 - r0;
			sleep_us(100);
		}
		for (int i = 0; i < rounds; i++) {
			r0 = rq_now(&c0);
			t0 = now_ns();
			omp_set_lock(&lock); /* LOCK-SITE */
			t1 = now_ns();
			r1 = rq_now(&c1);
			sleep_us(hold_us);
			omp_unset_lock(&lock);
			total[LOCK] += t1 - t0;
			if (c1 != c0)
				rq[LOCK] += r1 - r0;
			sleep_us(100);
		}
	}
	omp_destroy_lock(&lock);
	printf("threads=%d\nrounds=%d\nstats_hits=%llu\n", team, rounds,
	       (unsigned long long)stats_hits);
	for (int f = 0; f < NFAM; f++)
		printf("%s_total_ns=%llu\n%s_rq_ns=%llu\n", fam_name[f],
		       (unsigned long long)total[f], fam_name[f], (unsigned long long)rq[f]);
	return 0;
}
