/* SPDX-License-Identifier: MIT */
/*
 * A small request server annotated with ctrace_annotate.h. A client thread sends REQUESTS
 * requests over a queue to WORKERS worker threads; every request is a task "request"
 * (begun by the client, ended by the worker that answers it: a task crosses threads),
 * labelled with its route, and handled in three regions: "parse" (CPU work), "lookup"
 * (reads the shared cache under its mutex) and "respond" (a short sleep standing for the
 * reply's I/O). Every SLOW_EVERY-th request is a /report request whose lookup refreshes
 * the cache while holding the mutex for REFRESH_US: the fast requests that arrive then
 * wait on the lock inside their "lookup" region. The regions table of `ctrace report`
 * shows where the requests' time went; `--label route=/report` keeps the slow ones.
 *
 * Runs the same without libctrace (the annotations do nothing then).
 *
 * usage: reqserver [WORKERS [REQUESTS [SLOW_EVERY [REFRESH_US]]]]   defaults 4 400 10 3000
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ctrace_annotate.h>

#define QCAP 64

struct request {
	ctrace_task task;
	int id, slow;
};

static struct request queue[QCAP];
static int qhead, qtail, qlen, done;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qnonempty = PTHREAD_COND_INITIALIZER, qnonfull = PTHREAD_COND_INITIALIZER;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static long cache[256];
static int workers = 4, requests = 400, slow_every = 10, refresh_us = 3000;
static long answered;

static void sleep_us(long us)
{
	struct timespec d = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&d, NULL);
}

static long parse(int id)
{
	long h = id;
	for (int i = 0; i < 20000; i++)
		h = h * 6364136223846793005L + 1442695040888963407L;
	return h;
}

static long lookup(const struct request *r, long key)
{
	long v;
	pthread_mutex_lock(&cache_lock); /* LOOKUP-LOCK */
	if (r->slow) {
		/* a /report request rebuilds the cache while holding the lock */
		for (int i = 0; i < 256; i++)
			cache[i] = key + i;
		sleep_us(refresh_us);
	}
	v = cache[(unsigned long)key % 256];
	pthread_mutex_unlock(&cache_lock);
	return v;
}

static void handle(const struct request *r)
{
	ctrace_label("route", r->slow ? "/report" : "/item");
	ctrace_region_begin(r->task, "parse");
	long key = parse(r->id);
	ctrace_region_end(r->task, "parse");
	ctrace_region_begin(r->task, "lookup");
	long v = lookup(r, key);
	ctrace_region_end(r->task, "lookup");
	ctrace_region_begin(r->task, "respond");
	sleep_us(200);
	ctrace_region_end(r->task, "respond");
	if (v == 42)
		ctrace_log(r->task, "cache", "the answer");
	ctrace_label("route", NULL);
	ctrace_task_end(r->task);
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker");
	for (;;) {
		pthread_mutex_lock(&qlock);
		while (qlen == 0 && !done)
			pthread_cond_wait(&qnonempty, &qlock);
		if (qlen == 0) {
			pthread_mutex_unlock(&qlock);
			return NULL;
		}
		struct request r = queue[qhead];
		qhead = (qhead + 1) % QCAP;
		qlen--;
		pthread_cond_signal(&qnonfull);
		pthread_mutex_unlock(&qlock);
		handle(&r);
		__atomic_add_fetch(&answered, 1, __ATOMIC_RELAXED);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1)
		workers = atoi(argv[1]);
	if (argc > 2)
		requests = atoi(argv[2]);
	if (argc > 3)
		slow_every = atoi(argv[3]);
	if (argc > 4)
		refresh_us = atoi(argv[4]);
	if (workers < 1 || workers > 64 || requests < 1 || slow_every < 1 || refresh_us < 0) {
		fprintf(stderr, "usage: reqserver [WORKERS [REQUESTS [SLOW_EVERY [REFRESH_US]]]]\n");
		return 2;
	}
	pthread_t tids[64];
	for (int i = 0; i < workers; i++)
		pthread_create(&tids[i], NULL, worker, NULL);
	/* the client: one request every 300 us */
	for (int i = 0; i < requests; i++) {
		struct request r = { ctrace_task_begin(0, "request"), i, i % slow_every == 0 };
		pthread_mutex_lock(&qlock);
		while (qlen == QCAP)
			pthread_cond_wait(&qnonfull, &qlock);
		queue[qtail] = r;
		qtail = (qtail + 1) % QCAP;
		qlen++;
		pthread_cond_signal(&qnonempty);
		pthread_mutex_unlock(&qlock);
		sleep_us(300);
	}
	pthread_mutex_lock(&qlock);
	done = 1;
	pthread_cond_broadcast(&qnonempty);
	pthread_mutex_unlock(&qlock);
	for (int i = 0; i < workers; i++)
		pthread_join(tids[i], NULL);
	printf("answered=%ld slow=%d\n", answered, (requests + slow_every - 1) / slow_every);
	return 0;
}
