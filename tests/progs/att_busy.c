/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace attach` at a safe point: two threads allocate and free without
 * pause (nearly always inside malloc or free) and a third loads and unloads a library
 * without pause (nearly always inside the dynamic loader, holding its lock), until
 * DIR/end exists; DIR/ready once they run. An attach that made a thread caught in one of
 * them call dlopen would deadlock or corrupt the heap; ctrace must wait for a thread at a
 * safe point (here: main, sleeping). Prints the same line whatever the tracer did and
 * exits 6.
 *
 * usage: att_busy DIR LIBRARY
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static const char *lib;

static void *allocator(void *arg)
{
	(void)arg;
	long n = 0, bad = 0;
	while (!atomic_load(&stop)) {
		char *p = malloc(64 + (size_t)(n % 4096));
		if (!p)
			bad++;
		else
			p[0] = 1;
		free(p);
		n++;
	}
	return (void *)bad;
}

static void *loader(void *arg)
{
	(void)arg;
	long bad = 0;
	while (!atomic_load(&stop)) {
		void *h = dlopen(lib, RTLD_NOW);
		if (!h || dlclose(h) != 0)
			bad++;
	}
	return (void *)bad;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: att_busy DIR LIBRARY\n");
		return 2;
	}
	lib = argv[2];
	pthread_t t[3];
	pthread_create(&t[0], NULL, allocator, NULL);
	pthread_create(&t[1], NULL, allocator, NULL);
	pthread_create(&t[2], NULL, loader, NULL);
	char p[4096];
	snprintf(p, sizeof(p), "%s/ready", argv[1]);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	snprintf(p, sizeof(p), "%s/end", argv[1]);
	struct timespec ms = { 0, 5000000L };
	while (access(p, F_OK) != 0)
		nanosleep(&ms, NULL);
	atomic_store(&stop, 1);
	long bad = 0;
	for (int i = 0; i < 3; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("bad=%ld\n", bad);
	return 6;
}
