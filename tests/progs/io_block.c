/* SPDX-License-Identifier: MIT */
/*
 * A workload whose system calls block for 10-100 us, around the stack threshold
 * (CTRACE_SYSCALL_THRESHOLD): a client thread writes a request byte into a pipe and
 * blocks in read for the reply; a server thread reads the request, sleeps for a time
 * drawn uniformly from [MIN_US, MAX_US] (timer slack 1 us instead of 50) and writes the
 * reply. Sleeping rather than spinning keeps the round trip independent of what else
 * runs on the machine's CPUs.
 * Prints ns_per_op=X (per round trip), blocked_calls=N (the client's reads that lasted at
 * least MIN_US by the program's own clock), and read_calls=N read_total_ns=T: the
 * client's reads (in client_read) and their total duration, measured around each call.
 *
 * usage: io_block [ROUNDS [MIN_US MAX_US]]   defaults: 20000 10 100
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static int req[2], rep[2];
static unsigned long rounds;
static unsigned min_us, max_us;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void xfer(int fd, int writing)
{
	char c = 'b';
	if ((writing ? write(fd, &c, 1) : read(fd, &c, 1)) != 1) {
		perror("io_block");
		exit(2);
	}
}

static void *server(void *arg)
{
	uint32_t x = 12345;
	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1000UL);
	for (unsigned long i = 0; i < rounds; i++) {
		xfer(req[0], 0);
		x = x * 1103515245u + 12345u;
		struct timespec d = { 0, (long)(min_us + (x >> 8) % (max_us - min_us + 1)) * 1000 };
		clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
		xfer(rep[1], 1);
	}
	return NULL;
}

/* The client's read of the reply: its own call site. */
static uint64_t client_read(void)
{
	char c;
	uint64_t b = now_ns();
	if (read(rep[0], &c, 1) != 1) {
		perror("io_block");
		exit(2);
	}
	return now_ns() - b;
}

int main(int argc, char **argv)
{
	pthread_t t;
	unsigned long blocked = 0;
	uint64_t total = 0;

	rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	min_us = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
	max_us = argc > 3 ? (unsigned)atoi(argv[3]) : 100;
	if (max_us < min_us)
		max_us = min_us;
	if (pipe(req) || pipe(rep) || pthread_create(&t, NULL, server, NULL)) {
		perror("io_block");
		return 2;
	}
	uint64_t t0 = now_ns();
	for (unsigned long i = 0; i < rounds; i++) {
		xfer(req[1], 1);
		uint64_t d = client_read();
		total += d;
		if (d >= min_us * 1000ull)
			blocked++;
	}
	uint64_t t1 = now_ns();
	pthread_join(t, NULL);
	printf("ns_per_op=%.1f rounds=%lu blocked_calls=%lu read_calls=%lu read_total_ns=%llu\n",
	       (double)(t1 - t0) / (double)rounds, rounds, blocked, rounds,
	       (unsigned long long)total);
	return 0;
}
