/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: idle threads next to a contended lock. Two
 * maintenance threads wait on a condition variable with a timeout (nobody signals it until
 * the end), a poller waits in epoll_wait on an empty set, a ticker sleeps: all idle most
 * of their life. WORKERS threads take one mutex ITERATIONS times each, spinning HOLD_US
 * under it: the one real contention. Each worker times its pthread_mutex_lock calls; the
 * program prints
 *   lock_wait_ns=N (all workers' time in pthread_mutex_lock)
 * tests/bats/noise.bats expects the reports to lead with the mutex and to fold the idle
 * threads' waits, one line per thread group.
 *
 * usage: idle_mix [WORKERS [ITERATIONS [HOLD_US]]]   defaults: 3 300 100
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done, iterations = 300;
static long hold_us = 100;
static uint64_t lock_wait_ns; /* under mm */
static volatile uint64_t spun;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_us(long us)
{
	uint64_t end = now_ns() + (uint64_t)us * 1000u;
	while (now_ns() < end)
		spun++;
}

static int finished(void)
{
	pthread_mutex_lock(&mm);
	int d = done;
	pthread_mutex_unlock(&mm);
	return d;
}

static void *maint(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mm);
	while (!done) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 50000000;
		dl.tv_sec += dl.tv_nsec / 1000000000;
		dl.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&cv, &mm, &dl); /* IDLE-COND */
	}
	pthread_mutex_unlock(&mm);
	return NULL;
}

static void *poller(void *arg)
{
	(void)arg;
	int ep = epoll_create1(0);
	struct epoll_event ev;
	while (!finished())
		epoll_wait(ep, &ev, 1, 50);
	close(ep);
	return NULL;
}

static void *ticker(void *arg)
{
	(void)arg;
	struct timespec d = { 0, 20000000 };
	while (!finished())
		nanosleep(&d, NULL);
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	uint64_t waited = 0;
	for (int i = 0; i < iterations; i++) {
		uint64_t t0 = now_ns();
		pthread_mutex_lock(&hot); /* HOT-LOCK */
		waited += now_ns() - t0;
		spin_us(hold_us);
		pthread_mutex_unlock(&hot);
		spin_us(hold_us / 5);
	}
	pthread_mutex_lock(&mm);
	lock_wait_ns += waited;
	pthread_mutex_unlock(&mm);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		hold_us = atol(argv[3]);
	if (n < 1 || n > 64 || iterations < 1 || hold_us < 1) {
		fprintf(stderr, "usage: idle_mix [WORKERS [ITERATIONS [HOLD_US]]]\n");
		return 2;
	}
	pthread_t m[2], p, t, w[64];
	for (int i = 0; i < 2; i++)
		pthread_create(&m[i], NULL, maint, NULL);
	pthread_create(&p, NULL, poller, NULL);
	pthread_create(&t, NULL, ticker, NULL);
	for (int i = 0; i < n; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(w[i], NULL);
	pthread_mutex_lock(&mm);
	done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mm);
	for (int i = 0; i < 2; i++)
		pthread_join(m[i], NULL);
	pthread_join(p, NULL);
	pthread_join(t, NULL);
	printf("idle_mix: lock_wait_ns=%llu\n", (unsigned long long)lock_wait_ns);
	return 0;
}
