/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: a mutex used as a hand-off signal, as rt-tests'
 * ptsematest does. The receiver locks handoff_mu again and again; the sender, which never
 * owns it, unlocks it (legal for a default glibc mutex) once the receiver is blocked in
 * the kernel, after holding it back hold_us. The receiver measures its lock waits and
 * prints their sum as `wait_total_ns=...` (and `wait_rq_ns=...`, the run-queue time of
 * its preempted lock calls). tests/bats/names.bats expects every wait charged to the
 * sender's unlock (the line marked HANDOFF-SITE) in the holder and wake-up profiles, and
 * the mutex object named by its variable.
 *
 * Then the other two cases a non-owner unlock can be: an error-checking mutex (ec_mu)
 * unlocked by a thread that does not own it fails with EPERM and releases nothing
 * (`eperm=1`), and the waiter is let in by main's own unlock (marked EC-UNLOCK-SITE); a
 * recursive mutex (rec_mu) taken twice by main releases only at its outer unlock (marked
 * REC-OUTER-SITE), not at the inner one.
 *
 * usage: nown_handoff [ROUNDS [HOLD_US]]   defaults: 20 2000
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blk_util.h"

pthread_mutex_t handoff_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ec_mu;
static pthread_mutex_t rec_mu;
static int rounds = 20;
static long hold_us = 2000;
static _Atomic pid_t receiver_tid, waiter_tid;
static atomic_int waiter_phase;
static uint64_t wait_total_ns, wait_rq_ns;

static void die(const char *what)
{
	fprintf(stderr, "nown_handoff: %s\n", what);
	exit(1);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* Until thread tid sleeps in futex (blocked in its lock call). */
static void until_blocked(_Atomic pid_t *tid)
{
	static const long futex_nr[] = { SYS_futex, -1 };
	while (atomic_load(tid) == 0 || task_in_syscall(atomic_load(tid), futex_nr, -1) != 1)
		sleep_us(200);
}

static uint64_t receive(void)
{
	uint64_t t0 = now_ns();
	pthread_mutex_lock(&handoff_mu); /* RECEIVE-SITE */
	return now_ns() - t0;
}

static void *receiver(void *arg)
{
	(void)arg;
	atomic_store(&receiver_tid, gettid());
	for (int i = 0; i < rounds; i++) {
		long c0, c1;
		uint64_t r0 = rq_now(&c0);
		uint64_t d = receive();
		uint64_t r1 = rq_now(&c1);
		if (c1 != c0)
			wait_rq_ns += r1 - r0;
		wait_total_ns += d;
	}
	return NULL;
}

/* The sender: lets the blocked receiver in by unlocking a mutex it does not own. */
static void hand_over(void)
{
	pthread_mutex_unlock(&handoff_mu); /* HANDOFF-SITE */
}

static void *sender(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		until_blocked(&receiver_tid);
		sleep_us(hold_us);
		hand_over();
		/* the receiver holds it again now; wait until it is back in its lock call */
		while (atomic_load((_Atomic int *)&handoff_mu.__data.__owner) == 0)
			sleep_us(100);
	}
	return NULL;
}

static void *ec_waiter(void *arg)
{
	(void)arg;
	atomic_store(&waiter_tid, gettid());
	pthread_mutex_lock(&ec_mu); /* EC-WAIT-SITE */
	pthread_mutex_unlock(&ec_mu);
	atomic_store(&waiter_phase, 1);
	pthread_mutex_lock(&rec_mu); /* REC-WAIT-SITE */
	pthread_mutex_unlock(&rec_mu);
	return NULL;
}

static void *ec_intruder(void *arg)
{
	(void)arg;
	int r = pthread_mutex_unlock(&ec_mu);
	printf("eperm=%d\n", r == EPERM);
	return NULL;
}

static void ec_release(void)
{
	pthread_mutex_unlock(&ec_mu); /* EC-UNLOCK-SITE */
}

static void rec_inner_release(void)
{
	pthread_mutex_unlock(&rec_mu); /* REC-INNER-SITE */
}

static void rec_outer_release(void)
{
	pthread_mutex_unlock(&rec_mu); /* REC-OUTER-SITE */
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		hold_us = atol(argv[2]);
	pthread_t r, s, w, x;

	/* main takes it first: the first hand-off releases a lock main owns */
	pthread_mutex_lock(&handoff_mu);
	if (pthread_create(&r, NULL, receiver, NULL) || pthread_create(&s, NULL, sender, NULL))
		die("pthread_create");
	pthread_join(s, NULL);
	pthread_join(r, NULL);
	printf("rounds=%d\nwait_total_ns=%llu\nwait_rq_ns=%llu\n", rounds,
	       (unsigned long long)wait_total_ns, (unsigned long long)wait_rq_ns);

	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&ec_mu, &at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&rec_mu, &at);
	pthread_mutex_lock(&ec_mu);
	pthread_mutex_lock(&rec_mu);
	pthread_mutex_lock(&rec_mu);
	if (pthread_create(&w, NULL, ec_waiter, NULL))
		die("pthread_create");
	until_blocked(&waiter_tid);
	if (pthread_create(&x, NULL, ec_intruder, NULL))
		die("pthread_create");
	pthread_join(x, NULL);
	sleep_us(hold_us);
	ec_release();
	while (atomic_load(&waiter_phase) == 0)
		sleep_us(100);
	until_blocked(&waiter_tid);
	rec_inner_release();
	sleep_us(hold_us);
	rec_outer_release();
	pthread_join(w, NULL);
	return 0;
}
