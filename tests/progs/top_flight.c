/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace top` on a flight-mode process (tests/bats/top.bats): it waits
 * for DIR/go, then THREADS threads each make WAITS timed condition waits of MS
 * milliseconds (nobody signals) in timed_site (the line marked WAIT-SITE), each measured
 * with CLOCK_MONOTONIC around the call; it prints wait_total_ns=N (their sum) and
 * waits=N, creates DIR/done, and lingers until DIR/stop exists, so that a live view can
 * still ask it. It exits with status 7, its own.
 *
 * usage: top_flight DIR [THREADS [WAITS [MS]]]   defaults: 2 20 10
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long nwaits = 20, ms = 10;
static uint64_t total;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static uint64_t timed_site(void)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&mu);
	uint64_t t0 = now_ns();
	pthread_cond_timedwait(&cv, &mu, &dl); /* WAIT-SITE */
	uint64_t d = now_ns() - t0;
	pthread_mutex_unlock(&mu);
	return d;
}

static void *worker(void *arg)
{
	(void)arg;
	uint64_t sum = 0;
	for (long i = 0; i < nwaits; i++)
		sum += timed_site();
	pthread_mutex_lock(&mu);
	total += sum;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int exists(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: top_flight DIR [THREADS [WAITS [MS]]]\n");
		return 2;
	}
	const char *dir = argv[1];
	long n = argc > 2 ? atol(argv[2]) : 2;
	if (argc > 3)
		nwaits = atol(argv[3]);
	if (argc > 4)
		ms = atol(argv[4]);
	if (n < 1 || n > 64)
		n = 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready=1\n");
	while (!exists(dir, "go"))
		usleep(5000);
	pthread_t t[64];
	for (long i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("wait_total_ns=%llu\nwaits=%ld\n", (unsigned long long)total, n * nwaits);
	char p[4096];
	snprintf(p, sizeof(p), "%s/done", dir);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
	while (!exists(dir, "stop"))
		usleep(5000);
	return 7;
}
