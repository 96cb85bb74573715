/* SPDX-License-Identifier: MIT */
/*
 * Test program: a process ends from a thread with the smallest stack the system allows
 * (PTHREAD_STACK_MIN), or from a stack overflow, or from four threads calling exit() at
 * once. Each mode first makes WAITS deterministic mutex waits on work_mu from the thread
 * that then ends the process (a helper blocks while that thread holds it; it lets go once
 * the helper sleeps in the kernel on work_mu, proc_util.h), prints "ready", then:
 *
 * usage: law_stack MODE [WAITS]     (default 3 waits)
 *   exit       a PTHREAD_STACK_MIN thread calls exit(3) while main waits to join it
 *   fork       a PTHREAD_STACK_MIN thread forks; the child (that thread alone) makes one
 *              wait and calls pthread_exit as its last thread (status 0); the parent
 *              prints "child exit=N" and main returns 0
 *   segv       a PTHREAD_STACK_MIN thread writes through a null pointer (SIGSEGV)
 *   overflow   main recurses until its stack overflows (SIGSEGV)
 *   exit4      four threads, released together by a barrier, call exit(10 + i); two
 *              atexit handlers and a destructor print their line ("atexit 2", "atexit 1",
 *              "destructor") as they run
 *   exit_join  main calls exit(3); its atexit handler lets a second thread go and joins
 *              it; that thread calls exit(7), which ends the process (glibc before 2.41:
 *              status 7, the join never returns)
 *   vfork_exit a vfork child calls exit(4) (not _exit: undefined, but seen in programs);
 *              the parent prints "child exit=4" and calls exit(5)
 *   depth      a thread on a 256 KiB stack of its own, filled with a pattern, makes the
 *              waits, a 2 ms sleep and a 2 ms timed condition wait, and returns; main
 *              prints "stack_used=N", the bytes of that stack the thread touched
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_util.h"

static pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t blocker_tid;
static int waits = 3;
static const char *mode;

static void *blocker(void *arg)
{
	(void)arg;
	atomic_store(&blocker_tid, gettid());
	pthread_mutex_lock(&work_mu); /* blocks: the caller of make_waits holds it */
	pthread_mutex_unlock(&work_mu);
	return NULL;
}

static void make_waits(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		atomic_store(&blocker_tid, 0);
		pthread_mutex_lock(&work_mu);
		pthread_create(&t, NULL, blocker, NULL);
		proc_wait_blocked(&blocker_tid, SYS_futex, &work_mu, sizeof(work_mu));
		pthread_mutex_unlock(&work_mu);
		pthread_join(t, NULL);
	}
}

static void say(const char *line)
{
	write(1, line, strlen(line));
}

static volatile int zero;

static void *small_thread(void *arg)
{
	(void)arg;
	make_waits(waits);
	say("ready\n");
	if (!strcmp(mode, "exit"))
		exit(3);
	if (!strcmp(mode, "segv"))
		*(volatile int *)(uintptr_t)zero = 1;
	if (!strcmp(mode, "fork")) {
		pid_t c = fork();
		if (c == 0) {
			make_waits(1);
			pthread_exit(NULL); /* the child's last thread: status 0 */
		}
		int st = 0;
		waitpid(c, &st, 0);
		char line[64];
		if (WIFEXITED(st))
			snprintf(line, sizeof(line), "child exit=%d\n", WEXITSTATUS(st));
		else
			snprintf(line, sizeof(line), "child sig=%d\n", WTERMSIG(st));
		say(line);
	}
	return NULL;
}

static volatile int forever = 1;

static int recurse(volatile char *prev)
{
	volatile char frame[1024];
	frame[0] = prev ? prev[0] + 1 : 0;
	if (!forever)
		return frame[0];
	return recurse(frame) + frame[1]; /* not a tail call */
}

static pthread_barrier_t go;

static void *exiter(void *arg)
{
	pthread_barrier_wait(&go);
	exit(10 + (int)(intptr_t)arg);
}

static _Atomic int let_go;
static pthread_t second;

static void *second_exit(void *arg)
{
	(void)arg;
	while (!atomic_load(&let_go))
		usleep(1000);
	exit(7);
}

static void join_second(void)
{
	atomic_store(&let_go, 1);
	pthread_join(second, NULL);
	say("joined\n"); /* not reached: the second exit ends the process */
}

static void atexit1(void) { say("atexit 1\n"); }
static void atexit2(void) { say("atexit 2\n"); }
__attribute__((destructor)) static void dtor(void)
{
	if (mode && !strcmp(mode, "exit4"))
		say("destructor\n");
}

#define DEPTH_STACK (256u << 10)

static void *depth_thread(void *arg)
{
	(void)arg;
	make_waits(waits);
	struct timespec ms2 = { 0, 2000000L };
	nanosleep(&ms2, NULL);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 2000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m);
	pthread_cond_timedwait(&c, &m, &until);
	pthread_mutex_unlock(&m);
	return NULL;
}

static int depth(void)
{
	static unsigned char stack[DEPTH_STACK] __attribute__((aligned(4096)));
	memset(stack, 0xa5, sizeof(stack));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, sizeof(stack));
	pthread_t t;
	if (pthread_create(&t, &attr, depth_thread, NULL) != 0)
		return 98;
	pthread_join(t, NULL);
	size_t i = 0;
	while (i < sizeof(stack) && stack[i] == 0xa5)
		i++;
	printf("stack_used=%zu\n", sizeof(stack) - i);
	return 0;
}

int main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "exit";
	waits = argc > 2 ? atoi(argv[2]) : 3;
	if (!strcmp(mode, "depth"))
		return depth();
	if (!strcmp(mode, "exit_join")) {
		make_waits(waits);
		say("ready\n");
		pthread_create(&second, NULL, second_exit, NULL);
		atexit(join_second);
		exit(3);
	}
	if (!strcmp(mode, "vfork_exit")) {
		make_waits(waits);
		say("ready\n");
		pid_t c = vfork();
		if (c == 0)
			exit(4);
		int st = 0;
		waitpid(c, &st, 0);
		printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		exit(5);
	}
	if (!strcmp(mode, "overflow")) {
		make_waits(waits);
		say("ready\n");
		return recurse(NULL);
	}
	if (!strcmp(mode, "exit4")) {
		atexit(atexit1);
		atexit(atexit2);
		make_waits(waits);
		say("ready\n");
		pthread_t t[4];
		pthread_barrier_init(&go, NULL, 5);
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, exiter, (void *)(intptr_t)i);
		pthread_barrier_wait(&go);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		return 1; /* not reached: an exit() ends the process first */
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
	pthread_t t;
	if (pthread_create(&t, &attr, small_thread, NULL) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 98;
	}
	pthread_join(t, NULL);
	return 0;
}
