/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: an AB/BA deadlock. Thread "ab" takes lock_a in
 * take_a_then_b and then waits for lock_b; thread "ba" takes lock_b in take_b_then_a and
 * then waits for lock_a. Both first take their own lock, meet at a barrier, and then block
 * forever; main prints "deadlocked" once both are blocked (it polls the locks with trylock)
 * and waits. The test stops the process with SIGTERM (default action) and expects the
 * trace to name the cycle: ab waits on lock_a's partner lock_b held by ba, and so on.
 *
 * usage: deadlock
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static void *take_a_then_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a); /* HOLD-A */
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_b); /* WAIT-B */
	return NULL;
}

static void *take_b_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_b); /* HOLD-B */
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_a); /* WAIT-A */
	return NULL;
}

int main(void)
{
	pthread_t ab, ba;
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&ab, NULL, take_a_then_b, NULL);
	pthread_setname_np(ab, "ab");
	pthread_create(&ba, NULL, take_b_then_a, NULL);
	pthread_setname_np(ba, "ba");
	printf("lock_a=%p lock_b=%p\n", (void *)&lock_a, (void *)&lock_b);
	/* Both locks held and both threads past the barrier: give them time to block. */
	while (pthread_mutex_trylock(&lock_a) != EBUSY || pthread_mutex_trylock(&lock_b) != EBUSY)
		usleep(1000);
	usleep(100000);
	printf("deadlocked\n");
	fflush(stdout);
	pthread_join(ab, NULL); /* forever */
	return 0;
}
