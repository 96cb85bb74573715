/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: THREADS threads wait on one mutex at one stack while
 * main holds it. Main takes gate (the line marked GATE-LOCK), starts the threads (each
 * locks gate in enter, the line marked ENTER-LOCK), sleeps HOLD_MS with the lock held,
 * then releases it. A report whose window ends inside the sleep has THREADS wait chains
 * that differ only by thread: tests/bats/noise.bats expects them shown as one. The threads
 * start first and wait on a semaphore until main holds gate (the recorder keeps the locks
 * a thread holds once the process has several threads).
 *
 * usage: chain_same [THREADS [HOLD_MS]]   defaults: 3 300
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static sem_t go;

static void enter(void)
{
	pthread_mutex_lock(&gate); /* ENTER-LOCK */
	pthread_mutex_unlock(&gate);
}

static void *worker(void *arg)
{
	(void)arg;
	sem_wait(&go);
	enter();
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	long hold_ms = argc > 2 ? atol(argv[2]) : 300;
	if (n < 1 || n > 64 || hold_ms < 1) {
		fprintf(stderr, "usage: chain_same [THREADS [HOLD_MS]]\n");
		return 2;
	}
	pthread_t t[64];
	sem_init(&go, 0, 0);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	pthread_mutex_lock(&gate); /* GATE-LOCK */
	for (int i = 0; i < n; i++)
		sem_post(&go);
	struct timespec d = { hold_ms / 1000, (hold_ms % 1000) * 1000000 };
	nanosleep(&d, NULL);
	pthread_mutex_unlock(&gate);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("chain_same: %d threads waited %ld ms\n", n, hold_ms);
	return 0;
}
