/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer: an AB/BA deadlock. Thread "ab" takes lock_a in
 * take_a_then_b and then waits for lock_b; thread "ba" takes lock_b in take_b_then_a and
 * then waits for lock_a. Both first take their own lock, meet at a barrier, and then block
 * forever; main prints "deadlocked" once both are blocked in the kernel (each thread's
 * /proc/self/task/TID/syscall names futex) and waits. The test stops the process with SIGTERM (default action) and expects the
 * trace to name the cycle: ab waits on lock_a's partner lock_b held by ba, and so on.
 *
 * usage: deadlock
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static volatile pid_t tid_ab, tid_ba; /* set once past the barrier */

/* Is thread tid blocked in futex(2) right now? */
static int in_futex(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	long nr = -1;
	if (f) {
		if (fscanf(f, "%ld", &nr) != 1)
			nr = -1;
		fclose(f);
	}
	return nr == SYS_futex;
}

static void *take_a_then_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a); /* HOLD-A */
	pthread_barrier_wait(&both_hold);
	tid_ab = gettid();
	pthread_mutex_lock(&lock_b); /* WAIT-B */
	return NULL;
}

static void *take_b_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_b); /* HOLD-B */
	pthread_barrier_wait(&both_hold);
	tid_ba = gettid();
	pthread_mutex_lock(&lock_a); /* WAIT-A */
	return NULL;
}

int main(void)
{
	pthread_t ab, ba;
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&ab, NULL, take_a_then_b, NULL);
	pthread_setname_np(ab, "ab");
	pthread_create(&ba, NULL, take_b_then_a, NULL);
	pthread_setname_np(ba, "ba");
	printf("lock_a=%p lock_b=%p\n", (void *)&lock_a, (void *)&lock_b);
	/* Both threads past the barrier (so each holds its first lock), then both asleep in
	 * the kernel on the other's lock, seen 20 times in a row. main takes no lock itself. */
	for (int stable = 0; stable < 20; usleep(5000)) {
		if (tid_ab && tid_ba && in_futex(tid_ab) && in_futex(tid_ba))
			stable++;
		else
			stable = 0;
	}
	printf("deadlocked\n");
	fflush(stdout);
	pthread_join(ab, NULL); /* forever */
	return 0;
}
