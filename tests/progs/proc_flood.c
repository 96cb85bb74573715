/* SPDX-License-Identifier: MIT */
/*
 * Test program for the tracer's loss accounting: more events than its buffers, thread
 * slots or stack table hold. Run with CTRACE_SYSCALL_THRESHOLD=0ns every write(2) is an
 * event with a full stack. Prints the program's own results, which do not depend on the
 * tracer: "calls=N bytes=N" (write calls made and bytes they returned).
 *
 * usage: proc_flood calls THREADS N     THREADS threads, started together, each making N
 *                                       writes of 1 byte to /dev/null
 *        proc_flood threads THREADS     THREADS threads alive at once (they wait on a
 *                                       barrier), each making 1 write
 *        proc_flood stacks LEVELS       one write from each of 2^LEVELS distinct call
 *                                       stacks (a binary tree of two recursive functions)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int devnull;
static long per_thread;
static atomic_long calls, bytes;
static pthread_barrier_t start;

static void one_write(void)
{
	ssize_t r = write(devnull, "x", 1);
	atomic_fetch_add(&calls, 1);
	if (r > 0)
		atomic_fetch_add(&bytes, r);
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (long i = 0; i < per_thread; i++)
		one_write();
	return NULL;
}

/* Two functions, two call sites each: the path down to the write spells the bits. */
static void left(unsigned bits, int level);
static void right(unsigned bits, int level);

static void step(unsigned bits, int level)
{
	if (level == 0) {
		one_write();
		return;
	}
	if (bits & 1)
		right(bits >> 1, level - 1);
	else
		left(bits >> 1, level - 1);
}

__attribute__((noinline)) static void left(unsigned bits, int level)
{
	step(bits, level);
	__asm__ volatile("" ::: "memory"); /* not a tail call: the frame stays */
}

__attribute__((noinline)) static void right(unsigned bits, int level)
{
	step(bits, level);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "calls";
	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0)
		return 1;
	if (!strcmp(mode, "calls") || !strcmp(mode, "threads")) {
		int nt = argc > 2 ? atoi(argv[2]) : 16;
		per_thread = !strcmp(mode, "threads") ? 1 : argc > 3 ? atol(argv[3]) : 10000;
		pthread_t *t = calloc((size_t)nt, sizeof(*t));
		pthread_barrier_init(&start, NULL, (unsigned)nt);
		int made = 0;
		for (; made < nt; made++)
			if (pthread_create(&t[made], NULL, writer, NULL) != 0)
				return 1;
		for (int i = 0; i < made; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "stacks")) {
		int levels = argc > 2 ? atoi(argv[2]) : 17;
		for (unsigned b = 0; b < (1u << levels); b++)
			step(b, levels);
	} else {
		fprintf(stderr, "usage: proc_flood calls THREADS N | threads THREADS | stacks LEVELS\n");
		return 2;
	}
	printf("calls=%ld bytes=%ld\n", atomic_load(&calls), atomic_load(&bytes));
	return 0;
}
