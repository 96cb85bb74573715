/* SPDX-License-Identifier: MIT */
/*
 * A program bound to the old condition-variable ABI, pthread_cond_*@GLIBC_2.2.5, as binaries
 * built against glibc < 2.3.2 are. The old functions keep a pointer to a separately allocated
 * new-ABI condvar in the object's first word; a tracer that forwarded these calls to the new
 * ABI would corrupt it and hang. A producer hands ITEMS items to a consumer through a
 * one-slot mailbox (the first item taken only once the producer waits for the slot, so that
 * both wait); the consumer also exercises timedwait (timing out, then signalled) and
 * broadcast. Prints `received=N sum=S timedout=T` and exits 0 when everything matches.
 *
 * usage: oldcond [ITEMS]    default 200
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int old_cond_init(pthread_cond_t *, const pthread_condattr_t *);
int old_cond_destroy(pthread_cond_t *);
int old_cond_wait(pthread_cond_t *, pthread_mutex_t *);
int old_cond_timedwait(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
int old_cond_signal(pthread_cond_t *);
int old_cond_broadcast(pthread_cond_t *);
__asm__(".symver old_cond_init, pthread_cond_init@GLIBC_2.2.5");
__asm__(".symver old_cond_destroy, pthread_cond_destroy@GLIBC_2.2.5");
__asm__(".symver old_cond_wait, pthread_cond_wait@GLIBC_2.2.5");
__asm__(".symver old_cond_timedwait, pthread_cond_timedwait@GLIBC_2.2.5");
__asm__(".symver old_cond_signal, pthread_cond_signal@GLIBC_2.2.5");
__asm__(".symver old_cond_broadcast, pthread_cond_broadcast@GLIBC_2.2.5");

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t filled, emptied;
static int slot, full, items = 200;
static int waited; /* the producer has found the slot full (and waits for it) */

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= items; i++) {
		pthread_mutex_lock(&lock);
		while (full) {
			if (!waited) { /* the consumer takes the first item once it is so */
				waited = 1;
				old_cond_signal(&filled);
			}
			old_cond_wait(&emptied, &lock);
		}
		slot = i;
		full = 1;
		if (i % 2)
			old_cond_signal(&filled);
		else
			old_cond_broadcast(&filled);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		items = atoi(argv[1]);
	if (old_cond_init(&filled, NULL) || old_cond_init(&emptied, NULL))
		return 1;

	/* Nobody signals: the timed wait must time out, with the mutex held again. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lock);
	int timedout = old_cond_timedwait(&filled, &lock, &ts) == ETIMEDOUT;
	int relock = pthread_mutex_trylock(&lock); /* EBUSY: still held (normal mutex) */
	pthread_mutex_unlock(&lock);

	pthread_t t;
	pthread_create(&t, NULL, producer, NULL);
	long sum = 0;
	int received = 0;
	while (received < items) {
		pthread_mutex_lock(&lock);
		/* the first item stays until the producer waits for the slot: both threads
		 * wait on a condition variable, however they are scheduled */
		while (!full || (received == 0 && items > 1 && !waited))
			old_cond_wait(&filled, &lock);
		sum += slot;
		received++;
		full = 0;
		old_cond_signal(&emptied);
		pthread_mutex_unlock(&lock);
	}
	pthread_join(t, NULL);
	old_cond_destroy(&filled);
	old_cond_destroy(&emptied);
	long want = (long)items * (items + 1) / 2;
	printf("received=%d sum=%ld timedout=%d relock=%s\n", received, sum, timedout,
	       relock == EBUSY ? "EBUSY" : "unexpected");
	return received == items && sum == want && timedout && relock == EBUSY ? 0 : 1;
}
