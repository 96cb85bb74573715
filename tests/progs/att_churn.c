/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace attach` on a process that makes threads all the time: until
 * DIR/end exists (DIR/ready once it runs), main starts waves of 16 threads, each sleeping
 * 1 ms ten times (nanosleep) before it returns, and joins each wave. Threads that run
 * across an attach are adopted by libctrace at their first sleep and end without its
 * exit hook. Prints its books (the same whatever the tracer did) and exits 9.
 *
 * usage: att_churn DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define WAVE 16

static void *sleeper(void *arg)
{
	struct timespec ms = { 0, 1000000L };
	long bad = 0;
	(void)arg;
	for (int i = 0; i < 10; i++)
		bad += nanosleep(&ms, NULL) != 0;
	return (void *)bad;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: att_churn DIR\n");
		return 2;
	}
	char p[4096];
	snprintf(p, sizeof(p), "%s/ready", argv[1]);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	snprintf(p, sizeof(p), "%s/end", argv[1]);
	long waves = 0, bad = 0;
	while (access(p, F_OK) != 0) {
		pthread_t t[WAVE];
		int n = 0;
		for (; n < WAVE; n++)
			if (pthread_create(&t[n], NULL, sleeper, NULL) != 0) {
				bad++;
				break;
			}
		for (int i = 0; i < n; i++) {
			void *r = NULL;
			if (pthread_join(t[i], &r) != 0 || r != NULL)
				bad++;
		}
		waves++;
	}
	fprintf(stderr, "waves=%ld\n", waves);
	printf("waves_ok=%d bad=%ld\n", waves > 0, bad);
	return 9;
}
