/* SPDX-License-Identifier: MIT */
/*
 * The price of one traced system call below the stack threshold: N writes of one byte to
 * /dev/null (about the cheapest real system call with an fd) from one call site, with an
 * idle second thread so that the untraced run is multi-threaded too (glibc skips the
 * cancellation-point bookkeeping of write in a single-threaded process; libctrace's writer
 * thread makes a traced process multi-threaded, which is not the wrapper's cost). Prints
 * ns_per_call=X (wall clock) cpu_ns_per_call=Y (the thread's CPU time: what a busy
 * machine's preemptions do not inflate) calls=N. Run it untraced and traced: the
 * difference is what libctrace adds per call.
 *
 * usage: io_callcost [CALLS [SITES]]   defaults: 5000000 1
 *   SITES > 1 spreads the calls over that many call sites (round robin; at most 64), to
 *   see the site lookup with a fuller table.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

static int fd;
static char byte;

/* Eight call sites per line, eight lines: 64 distinct return addresses. */
#define W write(fd, &byte, 1)
static long many(long n, int sites)
{
	long s = 0;
	for (long i = 0; i < n;) {
		for (int k = 0; k < sites && i < n; k += 8, i += 8) {
			switch (k / 8) {
			case 0: s += W + W + W + W + W + W + W + W; break;
			case 1: s += W + W + W + W + W + W + W + W; break;
			case 2: s += W + W + W + W + W + W + W + W; break;
			case 3: s += W + W + W + W + W + W + W + W; break;
			case 4: s += W + W + W + W + W + W + W + W; break;
			case 5: s += W + W + W + W + W + W + W + W; break;
			case 6: s += W + W + W + W + W + W + W + W; break;
			default: s += W + W + W + W + W + W + W + W; break;
			}
		}
	}
	return s;
}

static long one(long n)
{
	long s = 0;
	for (long i = 0; i < n; i++)
		s += write(fd, &byte, 1);
	return s;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000000;
	int sites = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t t;

	if (sites > 64)
		sites = 64;
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || pthread_create(&t, NULL, idle, NULL)) {
		perror("io_callcost");
		return 2;
	}
	sites > 1 ? many(n / 10, sites) : one(n / 10); /* warm-up */
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	long s = sites > 1 ? many(n, sites) : one(n);
	uint64_t t1 = clock_ns(CLOCK_MONOTONIC), c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	printf("ns_per_call=%.2f cpu_ns_per_call=%.2f calls=%ld\n", (double)(t1 - t0) / (double)s,
	       (double)(c1 - c0) / (double)s, s);
	return 0;
}
