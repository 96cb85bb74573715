/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: epoll ping-pong. Two threads pinned to the SAME CPU, each with an eventfd as
 * its inbox and an epoll instance watching it, hand a token back and forth: epoll_wait on
 * its own epoll fd, read its eventfd, write the other's. Reports ns per round trip (two
 * epoll_wait, two reads, two writes, two context switches): the loop of an event-driven
 * server. Under libctrace all six calls go through the system-call wrappers; the blocking
 * epoll_wait lasts a few microseconds on one CPU, under the default stack threshold.
 *
 * usage: epoll_pingpong [ROUND_TRIPS [CPU]]   defaults: 100000 0
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"

struct side {
	int inbox; /* eventfd */
	int ep;    /* epoll fd watching inbox */
};

static struct side main_side, partner_side;
static pthread_barrier_t start;
static unsigned long rounds, warmup;
static int cpu;

static void fail(const char *what)
{
	fprintf(stderr, "epoll_pingpong: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void setup(struct side *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	s->inbox = eventfd(0, EFD_CLOEXEC);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->inbox < 0 || s->ep < 0)
		fail("eventfd/epoll_create1");
	ev.data.fd = s->inbox;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->inbox, &ev))
		fail("epoll_ctl");
}

static void send_to(const struct side *s)
{
	uint64_t one = 1;
	if (write(s->inbox, &one, sizeof(one)) != (ssize_t)sizeof(one))
		fail("write");
}

static void receive(const struct side *s)
{
	struct epoll_event ev;
	uint64_t v;
	int n;

	do
		n = epoll_wait(s->ep, &ev, 1, -1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		fail("epoll_wait");
	if (read(s->inbox, &v, sizeof(v)) != (ssize_t)sizeof(v))
		fail("read");
}

static void *partner_main(void *arg)
{
	(void)arg;
	bench_pin_self(cpu);
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < warmup + rounds; i++) {
		receive(&partner_side);
		send_to(&main_side);
	}
	return NULL;
}

static void play(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		send_to(&partner_side);
		receive(&main_side);
	}
}

int main(int argc, char **argv)
{
	pthread_t partner;
	uint64_t t0, t1;

	rounds = bench_arg(argc, argv, 1, 100000);
	cpu = argc > 2 ? atoi(argv[2]) : 0;
	warmup = rounds / 20 + 1;
	setup(&main_side);
	setup(&partner_side);
	bench_pin_self(cpu);
	BENCH_CHECK(pthread_barrier_init(&start, NULL, 2));
	BENCH_CHECK(pthread_create(&partner, NULL, partner_main, NULL));
	pthread_barrier_wait(&start);
	play(warmup);
	t0 = bench_now_ns();
	play(rounds);
	t1 = bench_now_ns();
	BENCH_CHECK(pthread_join(partner, NULL));
	bench_report(rounds, t1 - t0, "cpus=same");
	return 0;
}
