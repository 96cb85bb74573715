/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer for condition variables: a producer thread posts one
 * item every HOLD_US microseconds; the main thread (the consumer) waits for each item in
 * wait_for_item (pthread_cond_wait on the line marked COND-WAIT-SITE). The consumer measures
 * its own time inside pthread_cond_wait with CLOCK_MONOTONIC and prints the sum as
 * `cond_wait_total_ns=...`. The producer signals in post_item on the line marked
 * SIGNAL-SITE, after unlocking, so the wait is ended by that signal and nothing else.
 * tests/bats/sync.bats compares the sync (cond) and holder profiles with the printed total.
 *
 * usage: condwait [ITEMS [INTERVAL_US]]   defaults: 150 2000
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t item_ready = PTHREAD_COND_INITIALIZER;
static int pending;          /* items posted and not consumed yet; under queue_lock */
static int items = 150;
static long interval_us = 2000;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Producer side: publish one item, then wake the consumer. */
static void post_item(void)
{
	pthread_mutex_lock(&queue_lock);
	pending++;
	pthread_mutex_unlock(&queue_lock);
	pthread_cond_signal(&item_ready); /* SIGNAL-SITE */
}

static void *producer_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < items; i++) {
		struct timespec gap = { interval_us / 1000000, (interval_us % 1000000) * 1000 };
		nanosleep(&gap, NULL);
		post_item();
	}
	return NULL;
}

/* Consumer side: take one item, waiting for it if none is pending. Adds the time spent
 * inside pthread_cond_wait to *waited_ns. */
static void wait_for_item(uint64_t *waited_ns)
{
	pthread_mutex_lock(&queue_lock);
	while (pending == 0) {
		uint64_t t0 = now_ns();
		pthread_cond_wait(&item_ready, &queue_lock); /* COND-WAIT-SITE */
		*waited_ns += now_ns() - t0;
	}
	pending--;
	pthread_mutex_unlock(&queue_lock);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		items = atoi(argv[1]);
	if (argc > 2)
		interval_us = atol(argv[2]);
	if (items < 1 || interval_us < 0) {
		fprintf(stderr, "usage: condwait [ITEMS [INTERVAL_US]]\n");
		return 2;
	}

	pthread_t producer;
	if (pthread_create(&producer, NULL, producer_main, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	uint64_t waited = 0;
	for (int i = 0; i < items; i++)
		wait_for_item(&waited);
	pthread_join(producer, NULL);

	printf("items=%d interval_us=%ld\n", items, interval_us);
	printf("cond_wait_total_ns=%llu\n", (unsigned long long)waited);
	return 0;
}
