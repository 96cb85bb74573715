/* SPDX-License-Identifier: MIT */
/*
 * The price of close() on a pipe fd: N closes, each of a fresh dup of a pipe's read end
 * (the dups are made in batches of 256, untimed), with an idle second thread so that the
 * untraced run is multi-threaded too (close is a cancellation point: glibc's bookkeeping
 * differs in a single-threaded process; libctrace's writer thread makes a traced process
 * multi-threaded, which is not the wrapper's cost). Prints ns_per_close=X (wall clock of
 * the closes only) cpu_ns_per_close=Y (the thread's CPU time of the closes) closes=N. Run
 * it untraced and traced: the difference is what libctrace adds per close.
 *
 * usage: fdn_closecost [CLOSES]   default 2000000
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

static void *idle(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	if (n < BATCH)
		n = BATCH;
	int p[2];
	if (pipe(p) != 0) {
		perror("pipe");
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, idle, NULL);
	int fds[BATCH];
	uint64_t wall = 0, cpu = 0;
	long done_n = 0;
	while (done_n < n) {
		for (int i = 0; i < BATCH; i++)
			fds[i] = dup(p[0]);
		uint64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		for (int i = 0; i < BATCH; i++)
			close(fds[i]);
		cpu += clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		wall += clock_ns(CLOCK_MONOTONIC) - w0;
		done_n += BATCH;
	}
	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	printf("ns_per_close=%.1f cpu_ns_per_close=%.1f closes=%ld\n", (double)wall / done_n,
	       (double)cpu / done_n, done_n);
	return 0;
}
