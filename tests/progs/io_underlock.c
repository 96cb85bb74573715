/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: a log mutex held across I/O. THREADS threads each
 * call access_log ITERATIONS times: it takes log_mu, writes a line to FILE and fdatasyncs
 * it, and every 10th time also waits WAIT_US on a condition variable nobody signals
 * (with a mutex of its own) before unlocking: a slow call and a wait made under the lock.
 * The program times every fdatasync and condition wait it makes under the lock and prints
 *   syncs=N sync_ns=N cond_waits=N cond_ns=N
 * tests/bats/noise.bats compares the report's under_lock entries of log_mu with them, and
 * their lines (the marked ones below) with the source.
 *
 * usage: io_underlock FILE [THREADS [ITERATIONS [WAIT_US]]]   defaults: 4 200 500
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int fd = -1, iterations = 200;
static long wait_us = 500;
static pthread_mutex_t aux_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static uint64_t syncs, sync_ns, cond_waits, cond_ns; /* under log_mu */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void access_log(int i)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "request %d\n", i);

	pthread_mutex_lock(&log_mu); /* TAKE-SITE */
	if (write(fd, line, (size_t)n) != n)
		abort();
	uint64_t t0 = now_ns();
	fdatasync(fd); /* SYNC-SITE */
	uint64_t t1 = now_ns();
	syncs++;
	sync_ns += t1 - t0;
	if (i % 10 == 9) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += wait_us * 1000;
		dl.tv_sec += dl.tv_nsec / 1000000000;
		dl.tv_nsec %= 1000000000;
		pthread_mutex_lock(&aux_mu);
		uint64_t t2 = now_ns();
		while (pthread_cond_timedwait(&never, &aux_mu, &dl) == 0) /* WAIT-SITE */
			;
		cond_ns += now_ns() - t2;
		cond_waits++;
		pthread_mutex_unlock(&aux_mu);
	}
	pthread_mutex_unlock(&log_mu);
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < iterations; i++)
		access_log(i);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 4;
	if (argc > 3)
		iterations = atoi(argv[3]);
	if (argc > 4)
		wait_us = atol(argv[4]);
	if (argc < 2 || n < 1 || n > 64 || iterations < 1 || wait_us < 1 || wait_us > 999999) {
		fprintf(stderr, "usage: io_underlock FILE [THREADS [ITERATIONS [WAIT_US]]]\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	close(fd);
	printf("io_underlock: syncs=%llu sync_ns=%llu cond_waits=%llu cond_ns=%llu\n",
	       (unsigned long long)syncs, (unsigned long long)sync_ns,
	       (unsigned long long)cond_waits, (unsigned long long)cond_ns);
	return 0;
}
