/* SPDX-License-Identifier: MIT */
/*
 * Test program for flight mode (tests/bats/flight.bats). It measures its own waits with
 * CLOCK_MONOTONIC and prints them as KEY=N lines.
 *
 *   flight slow SHORT_MS SLOW_MS   short timed condition waits (2 ms each, in short_wait)
 *                                  for SHORT_MS, then one mutex wait of about SLOW_MS in
 *                                  slow_wait (a second thread holds it); prints
 *                                  slow_ns=N (that wait), short_waits=N and
 *                                  short_max_ns=N (the longest short one)
 *   flight rate N WAIT_MS OVER_MS  N timed condition waits of WAIT_MS in rate_wait, 50 ms
 *                                  apart; prints slow_waits=N (those that took OVER_MS or
 *                                  more, by its own clock: the trigger's threshold, so the
 *                                  count is the tracer's whatever the waits' lateness)
 *   flight crash                   a few waits in short_wait, then abort()
 *   flight busy SECS               four threads contend for one mutex for SECS seconds;
 *                                  prints rss_early_kb (half-way) and rss_late_kb (at
 *                                  the end), run_ns; main sleeps meanwhile in 100 ms
 *                                  steps (a recorded sleep's time is its start: one
 *                                  long sleep would date a snapshot's first events
 *                                  seconds before the generations that hold them)
 *   flight serve STOPFILE          short waits until STOPFILE exists; prints ready=1 first
 *   flight phases DIR              20 waits of 2 ms in phase_one, then (after DIR/go2
 *                                  exists) 20 in phase_two, then (after DIR/go3) 20 in
 *                                  phase_three, writing DIR/p1, DIR/p2 when each phase is
 *                                  done and sleeping meanwhile; prints phase_two_waits=N
 *   flight forkwait                a thread waits 1.5 s for a mutex; 250 ms into that
 *                                  wait the process forks, and the child (one thread, no
 *                                  slow wait) makes 50 sleeps of 20 ms; prints child=PID
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A timed condition wait of ms (nobody signals it); its length by our clock. */
static uint64_t timed_wait(long ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&mu);
	uint64_t t0 = now_ns();
	while (pthread_cond_timedwait(&cv, &mu, &dl) == 0)
		;
	uint64_t d = now_ns() - t0;
	pthread_mutex_unlock(&mu);
	return d;
}

__attribute__((noinline)) static uint64_t short_wait(void)
{
	return timed_wait(2);
}

static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int holding;
static long slow_ms;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&slow_mu);
	holding = 1;
	usleep((useconds_t)slow_ms * 1000);
	pthread_mutex_unlock(&slow_mu);
	return NULL;
}

__attribute__((noinline)) static uint64_t slow_wait(void)
{
	uint64_t t0 = now_ns();
	pthread_mutex_lock(&slow_mu); /* WAIT-SITE slow */
	uint64_t d = now_ns() - t0;
	pthread_mutex_unlock(&slow_mu);
	return d;
}

static int cmd_slow(long short_ms, long slow)
{
	uint64_t end = now_ns() + (uint64_t)short_ms * 1000000u, longest = 0;
	long n = 0;
	while (now_ns() < end) {
		uint64_t d = short_wait();
		if (d > longest)
			longest = d;
		n++;
	}
	slow_ms = slow;
	pthread_t t;
	pthread_create(&t, NULL, holder, NULL);
	while (!holding)
		usleep(1000);
	uint64_t d = slow_wait();
	pthread_join(t, NULL);
	printf("short_waits=%ld\nshort_max_ns=%llu\nslow_ns=%llu\n", n,
	       (unsigned long long)longest, (unsigned long long)d);
	return 0;
}

__attribute__((noinline)) static uint64_t rate_wait(long ms)
{
	return timed_wait(ms);
}

static void *idle_thread(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static int cmd_rate(long n, long ms, long over_ms)
{
	pthread_t t; /* a second thread: the writer thread runs */
	pthread_create(&t, NULL, idle_thread, NULL);
	long slow = 0;
	for (long i = 0; i < n; i++) {
		if (rate_wait(ms) >= (uint64_t)over_ms * 1000000u)
			slow++;
		usleep(50000);
	}
	printf("slow_waits=%ld\n", slow);
	fflush(stdout);
	exit(0);
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static volatile int stop;
static void *contend(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_mutex_lock(&slow_mu);
		for (volatile int i = 0; i < 200; i++)
			;
		pthread_mutex_unlock(&slow_mu);
	}
	return NULL;
}

/* ms of sleep in steps of 100 ms. */
static void sleep_steps(long ms)
{
	struct timespec step = { 0, 100000000L };
	for (long i = 0; i < ms / 100; i++)
		nanosleep(&step, NULL);
}

static int cmd_busy(long secs)
{
	pthread_t t[4];
	uint64_t t0 = now_ns();
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, contend, NULL);
	sleep_steps(secs * 1000 / 2);
	long early = rss_kb();
	sleep_steps(secs * 1000 - secs * 1000 / 2);
	long late = rss_kb();
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("rss_early_kb=%ld\nrss_late_kb=%ld\nrun_ns=%llu\n", early, late,
	       (unsigned long long)(now_ns() - t0));
	return 0;
}

static int exists(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s%s%s", dir, name ? "/" : "", name ? name : "");
	return stat(p, &st) == 0;
}

static void touch(const char *dir, const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
}

static int cmd_serve(const char *stopfile)
{
	pthread_t t;
	pthread_create(&t, NULL, idle_thread, NULL);
	printf("ready=1\n");
	fflush(stdout);
	while (!exists(stopfile, NULL))
		short_wait();
	return 0;
}

__attribute__((noinline)) static void phase_one(void) { short_wait(); }
__attribute__((noinline)) static void phase_two(void) { short_wait(); }
__attribute__((noinline)) static void phase_three(void) { short_wait(); }

static int cmd_phases(const char *dir)
{
	long n2 = 0;
	for (int i = 0; i < 20; i++)
		phase_one();
	touch(dir, "p1");
	while (!exists(dir, "go2"))
		usleep(1000);
	for (int i = 0; i < 20; i++, n2++)
		phase_two();
	touch(dir, "p2");
	while (!exists(dir, "go3"))
		usleep(1000);
	for (int i = 0; i < 20; i++)
		phase_three();
	printf("phase_two_waits=%ld\n", n2);
	return 0;
}

static void *fw_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&slow_mu);
	pthread_mutex_unlock(&slow_mu);
	return NULL;
}

static int cmd_forkwait(void)
{
	pthread_t h, w;
	slow_ms = 1500;
	pthread_create(&h, NULL, holder, NULL);
	while (!holding)
		usleep(1000);
	pthread_create(&w, NULL, fw_waiter, NULL);
	usleep(250000); /* the writer has drained the waiter's WAIT_BEGIN */
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 50; i++)
			usleep(20000);
		_exit(0);
	}
	printf("child=%d\n", (int)c);
	waitpid(c, NULL, 0);
	pthread_join(w, NULL);
	pthread_join(h, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "slow") && argc == 4)
		return cmd_slow(atol(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "rate") && argc == 5)
		return cmd_rate(atol(argv[2]), atol(argv[3]), atol(argv[4]));
	if (!strcmp(cmd, "crash")) {
		for (int i = 0; i < 50; i++)
			short_wait();
		abort();
	}
	if (!strcmp(cmd, "busy") && argc == 3)
		return cmd_busy(atol(argv[2]));
	if (!strcmp(cmd, "serve") && argc == 3)
		return cmd_serve(argv[2]);
	if (!strcmp(cmd, "phases") && argc == 3)
		return cmd_phases(argv[2]);
	if (!strcmp(cmd, "forkwait"))
		return cmd_forkwait();
	fprintf(stderr, "usage: flight slow SHORT_MS SLOW_MS | rate N WAIT_MS OVER_MS | crash | busy SECS "
			"| serve STOPFILE | phases DIR | forkwait\n");
	return 2;
}
