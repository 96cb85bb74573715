/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace attach` not choosing a thread that is ending: thread A returns
 * with a thread-specific value whose destructor blocks reading the FIFO DIR/a, so A sits
 * in its exit path (start_thread calling libc's code, not A's routine); then thread B
 * blocks reading the FIFO DIR/b, inside its own routine; main joins A. Main is in a join
 * and A is ending, so only B is at a safe point, though A comes before it in the task
 * list. DIR/ready holds "A B" (their tids) once both block. A line written to each FIFO
 * ends them. Prints its books (the same whatever the tracer did) and exits 8.
 *
 * usage: att_ending DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;
static pthread_key_t key;
static sem_t blocked;
static pid_t tid_a, tid_b;
static int got_a, got_b;

/* Reads one line from the FIFO DIR/name (opened read-write: the open does not wait for a
 * writer); 1 when it came. */
static int await_line(const char *name)
{
	char p[4096], c = 0;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	sem_post(&blocked); /* about to block (the read below) */
	while (read(fd, &c, 1) == 1 && c != '\n')
		;
	close(fd);
	return c == '\n';
}

static void destructor(void *v)
{
	(void)v;
	got_a = await_line("a");
}

static void *thread_a(void *arg)
{
	(void)arg;
	tid_a = gettid();
	pthread_setspecific(key, &key);
	return NULL; /* the destructor runs in the exit path */
}

static void *thread_b(void *arg)
{
	(void)arg;
	tid_b = gettid();
	got_b = await_line("b");
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: att_ending DIR\n");
		return 2;
	}
	dir = argv[1];
	char p[4096];
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, i ? "b" : "a");
		if (mkfifo(p, 0600) != 0)
			return 3;
	}
	pthread_t a, b;
	if (sem_init(&blocked, 0, 0) != 0 || pthread_key_create(&key, destructor) != 0 ||
	    pthread_create(&a, NULL, thread_a, NULL) != 0)
		return 3;
	sem_wait(&blocked);
	if (pthread_create(&b, NULL, thread_b, NULL) != 0)
		return 3;
	sem_wait(&blocked);
	snprintf(p, sizeof(p), "%s/ready.tmp", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		return 3;
	fprintf(f, "%d %d\n", (int)tid_a, (int)tid_b);
	fclose(f);
	char q[4096];
	snprintf(q, sizeof(q), "%s/ready", dir);
	rename(p, q);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("a=%d b=%d\n", got_a, got_b);
	return 8;
}
