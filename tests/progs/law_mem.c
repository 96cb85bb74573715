/* SPDX-License-Identifier: MIT */
/*
 * Test program: what a program sees of its memory under an address-space limit and when
 * it locks its memory. Its recorded waits are sleeps of 2 ms.
 *
 * usage: law_mem MODE [ARG]
 *   alloc MB    makes 5 sleeps, then allocates and touches blocks of 1 MiB until malloc
 *               fails or MB of them are held: prints "sleeps=5 got=N" (N MiB)
 *   lock FLAGS  makes 5 sleeps, then mlockall(FLAGS), FLAGS a list of current, future,
 *               onfault joined by '+' ("raw+" first: through syscall(SYS_mlockall)):
 *               prints "mlockall=R errno=E" (errno 4242 when the call left it alone),
 *               then "after: locked=L rss=R" (VmLck and VmRSS of /proc/self/status, KiB);
 *               then maps 8 MiB and prints "mapped: locked=L rss=R", touches every page
 *               of it and prints "touched: locked=L rss=R"
 *   abort N     makes 5 sleeps, then abort() (a core dump where the limit allows)
 *   threads N   starts N threads that each make 20 sleeps of 50 us (stacks captured), then
 *               wait; with all of them alive prints "threads=N vmas=V" (the lines of
 *               /proc/self/maps), then lets them end and joins them
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void sleeps(void)
{
	for (int i = 0; i < 5; i++) {
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

/* A "Name:  N kB" line of /proc/self/status, in KiB; -1 when missing. */
static long status_kb(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(name);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void show(const char *what)
{
	printf("%s: locked=%ld rss=%ld\n", what, status_kb("VmLck"), status_kb("VmRSS"));
}

static int lock(const char *spec)
{
	int raw = !strncmp(spec, "raw+", 4), flags = 0;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", raw ? spec + 4 : spec);
	for (char *save, *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
		if (!strcmp(t, "current"))
			flags |= MCL_CURRENT;
		else if (!strcmp(t, "future"))
			flags |= MCL_FUTURE;
		else if (!strcmp(t, "onfault"))
			flags |= MCL_ONFAULT;
		else
			return 2;
	}
	sleeps();
	errno = 4242;
	int r = raw ? (int)syscall(SYS_mlockall, flags) : mlockall(flags);
	printf("mlockall=%d errno=%d\n", r, errno);
	show("after");
	size_t len = 8u << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	show("mapped");
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	show("touched");
	return 0;
}

static pthread_barrier_t all;

static void *sleeper(void *arg)
{
	for (int i = 0; i < 20; i++) {
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
	pthread_barrier_wait(&all); /* all alive */
	pthread_barrier_wait(&all); /* counted */
	return arg;
}

static int threads(int n)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	if (!t || pthread_barrier_init(&all, NULL, (unsigned)n + 1) != 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, sleeper, NULL) != 0)
			return 1;
	pthread_barrier_wait(&all);
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int v = 0;
	while (f && fgets(line, sizeof(line), f))
		v++;
	if (f)
		fclose(f);
	printf("threads=%d vmas=%d\n", n, v);
	pthread_barrier_wait(&all);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "alloc")) {
		long want = atol(argv[2]), got = 0;
		sleeps();
		for (; got < want; got++) {
			char *p = malloc(1u << 20);
			if (!p)
				break;
			memset(p, 1, 1u << 20);
		}
		printf("sleeps=5 got=%ld\n", got);
		return 0;
	}
	if (!strcmp(argv[1], "lock"))
		return lock(argv[2]);
	if (!strcmp(argv[1], "threads"))
		return threads(atoi(argv[2]));
	if (!strcmp(argv[1], "abort")) {
		sleeps();
		abort();
	}
	return 2;
}
