/* SPDX-License-Identifier: MIT */
/*
 * Test program for annotations (ctrace_annotate.h) that measures its own waits. Thread
 * "worker" handles ROUNDS requests; each is a task "request" that main begins and the
 * worker ends (a task across two threads), with a region "handle" on the worker holding
 * two nested regions: "lock", where it waits for a mutex main holds for HOLD_MS, and
 * "nap", where it sleeps NAP_MS. The worker measures the time of each lock call and each
 * sleep and prints the sums; the analyzer's blocked times of the regions must agree. Then
 * three region ends that match no open region (ignored, counted), a log per request, and
 * a label "user" set around the lock wait. lock_rq_ns is the time the worker waited for
 * a CPU in the lock calls it was preempted in (blk_util.h's rq_now): preempted between
 * the tracer's clock and its own, it measures that much more than the trace (zero on an
 * idle machine); the tests allow it beyond their percentage. (The naps are checked
 * against what nanosleep guarantees instead: annotate.bats, naps.)
 *
 * usage: ann_regions [ROUNDS [HOLD_MS [NAP_MS]]]   defaults 20 3 2
 * prints: lock_ns=N nap_ns=N rounds=N unbalanced=3 lock_rq_ns=N
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../preload/include/ctrace_annotate.h"
#include "blk_util.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t go;
static int rounds = 20, hold_ms = 3, nap_ms = 2;
static ctrace_task current;      /* the round's task, begun by main before the barrier */
static unsigned long long lock_ns, nap_ns, lock_rq_ns;

/* The run-queue time since rq_now gave r0 (and c0 preemptions), when the thread was
 * preempted since; else 0. */
static uint64_t rq_since(uint64_t r0, long c0)
{
	long c1;
	uint64_t r1 = rq_now(&c1);

	return c1 != c0 ? r1 - r0 : 0;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker");
	for (int i = 0; i < rounds; i++) {
		pthread_barrier_wait(&go); /* main holds m now */
		ctrace_task t = current;
		ctrace_region_begin(t, "handle"); /* REGION-HANDLE */
		ctrace_region_begin(t, "lock");
		ctrace_label("user", i % 2 ? "bob" : "alice");
		long c0;
		uint64_t r0 = rq_now(&c0);
		unsigned long long t0 = now_ns();
		pthread_mutex_lock(&m); /* LOCK-WAIT */
		lock_ns += now_ns() - t0;
		lock_rq_ns += rq_since(r0, c0);
		pthread_mutex_unlock(&m);
		ctrace_label("user", NULL);
		ctrace_region_end(t, "lock");
		ctrace_log(t, "progress", "locked, now napping a while before the answer");
		ctrace_region_begin(t, "nap");
		struct timespec d = { 0, nap_ms * 1000000L };
		t0 = now_ns();
		nanosleep(&d, NULL);
		nap_ns += now_ns() - t0;
		ctrace_region_end(t, "nap");
		ctrace_region_end(t, "handle");
		ctrace_task_end(t);
		pthread_barrier_wait(&go);
	}
	/* unbalanced: ends of regions never begun, and an end of the outer region while an
	 * inner one is open (ignored: the inner one then ends as usual, the outer at the
	 * thread's end) */
	ctrace_region_end(0, "never-begun");
	ctrace_region_begin(0, "outer-with-a-very-long-name-that-needs-more-than-one-event");
	ctrace_region_begin(0, "inner");
	ctrace_region_end(0, "outer-with-a-very-long-name-that-needs-more-than-one-event");
	ctrace_region_end(0, "inner");
	ctrace_region_end(0, "outer-with-a-very-long-name-that-needs-more-than-one-event");
	ctrace_region_end(0, "outer-with-a-very-long-name-that-needs-more-than-one-event");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t w;
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		hold_ms = atoi(argv[2]);
	if (argc > 3)
		nap_ms = atoi(argv[3]);
	pthread_barrier_init(&go, NULL, 2);
	if (pthread_create(&w, NULL, worker, NULL) != 0)
		return 1;
	for (int i = 0; i < rounds; i++) {
		current = ctrace_task_begin(0, "request");
		pthread_mutex_lock(&m);
		pthread_barrier_wait(&go);
		struct timespec d = { 0, hold_ms * 1000000L };
		nanosleep(&d, NULL); /* the worker waits on m meanwhile */
		pthread_mutex_unlock(&m);
		pthread_barrier_wait(&go);
	}
	pthread_join(w, NULL);
	printf("lock_ns=%llu nap_ns=%llu rounds=%d unbalanced=3 lock_rq_ns=%llu\n", lock_ns,
	       nap_ns, rounds, lock_rq_ns);
	return 0;
}
