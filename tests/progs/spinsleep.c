/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: a thread named "spinner" burns CPU for SPIN_MS
 * (measured with its own CLOCK_THREAD_CPUTIME_ID), then sleeps SLEEP_MS in nanosleep
 * (measured with CLOCK_MONOTONIC). It prints `spinner_tid=`, `spinner_cpu_ns=` and
 * `spinner_sleep_ns=`; the thread analysis must find the same cpu and sleep time. main
 * joins the spinner: `join_late_ns=` is how long after the spinner started main called
 * pthread_join (0 if before), the part of the spinner's life main was not waiting for it.
 * `spinner_rq_ns=` is the time the spinner waited for a CPU (schedstat) before it first
 * ran and while waking up from its sleep: the kernel counts it, but it is outside the
 * thread's traced lifetime or inside its sleep, so cpu + blocked + run-queue time may
 * exceed the lifetime by that much.
 *
 * usage: spinsleep [SPIN_MS [SLEEP_MS]]    defaults: 200 300
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long spin_ms = 200, sleep_ms = 300;
static uint64_t cpu_ns, slept_ns;
static _Atomic uint64_t spinner_start_ns;
static uint64_t spinner_rq_ns;

/* This thread's run-queue wait so far (the second field of its schedstat), 0 if unknown. */
static uint64_t rq_ns(void)
{
	unsigned long long run = 0, wait = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &run, &wait) != 2)
			wait = 0;
		fclose(f);
	}
	return wait;
}
static pid_t spinner_tid;

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *spinner(void *arg)
{
	(void)arg;
	atomic_store(&spinner_start_ns, clock_ns(CLOCK_MONOTONIC));
	spinner_tid = gettid();
	uint64_t rq_first = rq_ns();
	volatile uint64_t x = 0;
	while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < (uint64_t)spin_ms * 1000000u)
		x++;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), rq0 = rq_ns();
	struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000 };
	nanosleep(&ts, NULL); /* SLEEP-SITE */
	slept_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	spinner_rq_ns = rq_first + (rq_ns() - rq0);
	cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		spin_ms = atol(argv[1]);
	if (argc > 2)
		sleep_ms = atol(argv[2]);
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	pthread_setname_np(t, "spinner");
	uint64_t join_at = clock_ns(CLOCK_MONOTONIC), started = atomic_load(&spinner_start_ns);
	pthread_join(t, NULL);
	printf("spinner_tid=%d\nspinner_cpu_ns=%llu\nspinner_sleep_ns=%llu\n", (int)spinner_tid,
	       (unsigned long long)cpu_ns, (unsigned long long)slept_ns);
	printf("spinner_rq_ns=%llu\n", (unsigned long long)spinner_rq_ns);
	printf("join_late_ns=%llu\n",
	       (unsigned long long)(started && join_at > started ? join_at - started : 0));
	return 0;
}
