/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for the net profile: accept and read on loopback TCP,
 * connect on a full AF_UNIX listen queue, recv/recvfrom on a socketpair, send on a full
 * one, epoll_wait, poll and select on a socket. For each call the main thread makes REPS
 * calls that block about HOLD_MS each (a helper thread connects, accepts, sends or drains
 * after HOLD_MS), measures each call with CLOCK_MONOTONIC and prints
 *
 *     FAMILY_calls=N         calls measured
 *     FAMILY_total_ns=N      the sum of their durations
 *
 * plus one line per family without numbers that depend on timing (the bats test compares
 * the rest of the output traced and untraced). tests/bats/blocking.bats compares the totals
 * with the net profile entries at the lines marked FAMILY-SITE.
 *
 * Built twice: plain (-O1) and build/progs/blk_net.fortify (-O2 -D_FORTIFY_SOURCE=2), where
 * read, recv, recvfrom and poll become __read_chk, __recv_chk, __recvfrom_chk and
 * __poll_chk: buffers of known size and lengths the compiler cannot see (io_len, npoll are
 * plain globals) make glibc's headers pick the checking entry points.
 * Network: 127.0.0.1 and an abstract AF_UNIX name only. A watchdog alarm ends a hung run.
 *
 * usage: blk_net [REPS [HOLD_MS]]   defaults: 5 20
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int reps = 5;
static long hold_ms = 20;

/* Not const, not static: the compiler cannot know them, so _FORTIFY_SOURCE checks at run
 * time (__read_chk, __recv_chk, __poll_chk) instead of proving the calls safe. */
size_t io_len = 16;
nfds_t npoll = 1;

static int peer;                    /* the fd the helper acts on */
static struct sockaddr_in tcp_addr; /* the loopback listener */
static struct sockaddr_un unix_addr;
static socklen_t unix_len;
static int unix_listener;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "blk_net: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void hold(void)
{
	struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static pthread_t helper(void *(*fn)(void *))
{
	pthread_t t;
	int r = pthread_create(&t, NULL, fn, NULL);
	if (r) {
		errno = r;
		die("pthread_create");
	}
	return t;
}

static void reap(pthread_t t)
{
	int r = pthread_join(t, NULL);
	if (r) {
		errno = r;
		die("pthread_join");
	}
}

static void result(const char *family, int calls, uint64_t total)
{
	printf("%s: %d calls done\n", family, calls);
	printf("%s_calls=%d\n", family, calls);
	printf("%s_total_ns=%llu\n", family, (unsigned long long)total);
}

static int tcp_listener(void)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		die("socket");
	memset(&tcp_addr, 0, sizeof(tcp_addr));
	tcp_addr.sin_family = AF_INET;
	tcp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(tcp_addr);
	if (bind(l, (struct sockaddr *)&tcp_addr, len) || listen(l, 16) ||
	    getsockname(l, (struct sockaddr *)&tcp_addr, &len))
		die("bind/listen on 127.0.0.1");
	return l;
}

static int tcp_client(void)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&tcp_addr, sizeof(tcp_addr)))
		die("connect to 127.0.0.1");
	return c;
}

/* Drains the one byte a helper sent (a fast read, at its own line). */
static void drain(int fd)
{
	char b[16];
	if (read(fd, b, 1) != 1)
		die("drain");
}

/* ---- accept ---- */

static void *late_connect(void *arg)
{
	(void)arg;
	hold();
	peer = tcp_client();
	return NULL;
}

static uint64_t accept_once(int l, int *fd)
{
	uint64_t t0 = now_ns();
	*fd = accept(l, NULL, NULL); /* ACCEPT-SITE */
	uint64_t d = now_ns() - t0;
	if (*fd < 0)
		die("accept");
	return d;
}

static void test_accept(int l)
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		int fd;
		pthread_t t = helper(late_connect);
		total += accept_once(l, &fd);
		reap(t);
		close(fd);
		close(peer);
	}
	result("accept", reps, total);
}

/* ---- connect: a blocking AF_UNIX connect waits while the listen queue is full ---- */

static void *late_accept(void *arg)
{
	(void)arg;
	hold();
	int a = accept(unix_listener, NULL, NULL); /* the filler, which frees the queue */
	int b = accept(unix_listener, NULL, NULL); /* the measured connection */
	if (a < 0 || b < 0)
		die("accept (unix)");
	close(a);
	close(b);
	return NULL;
}

static uint64_t connect_once(int c)
{
	uint64_t t0 = now_ns();
	int r = connect(c, (struct sockaddr *)&unix_addr, unix_len); /* CONNECT-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("connect (unix)");
	return d;
}

static void test_connect(void)
{
	uint64_t total = 0;
	unix_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&unix_addr, 0, sizeof(unix_addr));
	unix_addr.sun_family = AF_UNIX;
	/* abstract name: sun_path[0] == 0 */
	int n = snprintf(unix_addr.sun_path + 1, sizeof(unix_addr.sun_path) - 1,
			 "ctrace-blk_net-%d", (int)getpid());
	unix_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	if (unix_listener < 0 || bind(unix_listener, (struct sockaddr *)&unix_addr, unix_len) ||
	    listen(unix_listener, 0))
		die("bind/listen (unix)");
	for (int i = 0; i < reps; i++) {
		int filler = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (filler < 0 || c < 0 ||
		    connect(filler, (struct sockaddr *)&unix_addr, unix_len))
			die("connect (unix filler)");
		pthread_t t = helper(late_accept);
		total += connect_once(c);
		reap(t);
		close(filler);
		close(c);
	}
	close(unix_listener);
	result("connect", reps, total);
}

/* ---- recv, recvfrom and read on sockets ---- */

static void *late_send(void *arg)
{
	(void)arg;
	hold();
	if (send(peer, "x", 1, MSG_NOSIGNAL) != 1)
		die("send");
	return NULL;
}

static uint64_t recv_once(int fd)
{
	char buf[64];
	uint64_t t0 = now_ns();
	ssize_t r = recv(fd, buf, io_len, 0); /* RECV-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("recv");
	return d;
}

static uint64_t recvfrom_once(int fd)
{
	char buf[64];
	uint64_t t0 = now_ns();
	ssize_t r = recvfrom(fd, buf, io_len, 0, NULL, NULL); /* RECVFROM-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("recvfrom");
	return d;
}

static uint64_t sock_read_once(int fd)
{
	char buf[64];
	uint64_t t0 = now_ns();
	ssize_t r = read(fd, buf, io_len); /* SOCK-READ-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("read (socket)");
	return d;
}

static void test_recv(void)
{
	int sv[2];
	uint64_t total = 0, from = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	peer = sv[1];
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send);
		total += recv_once(sv[0]);
		reap(t);
	}
	result("recv", reps, total);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send);
		from += recvfrom_once(sv[0]);
		reap(t);
	}
	result("recvfrom", reps, from);
	close(sv[0]);
	close(sv[1]);
}

static void test_sock_read(int l)
{
	uint64_t total = 0;
	int c = tcp_client();
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	peer = c;
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send);
		total += sock_read_once(s);
		reap(t);
	}
	result("sock_read", reps, total);
	close(s);
	close(c);
}

/* ---- send on a full socket: the helper drains it after HOLD_MS ---- */

static void *late_drain(void *arg)
{
	(void)arg;
	char buf[4096];
	hold();
	while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	return NULL;
}

static uint64_t send_once(int fd)
{
	static const char msg[64];
	uint64_t t0 = now_ns();
	ssize_t r = send(fd, msg, sizeof(msg), MSG_NOSIGNAL); /* SEND-SITE */
	uint64_t d = now_ns() - t0;
	if (r != (ssize_t)sizeof(msg))
		die("send");
	return d;
}

static void test_send(void)
{
	int sv[2], small = 4096;
	uint64_t total = 0;
	static char fill[4096];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)))
		die("socketpair");
	peer = sv[1];
	for (int i = 0; i < reps; i++) {
		while (send(sv[0], fill, sizeof(fill), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			; /* full: the next blocking send waits for the reader */
		pthread_t t = helper(late_drain);
		total += send_once(sv[0]);
		reap(t);
		while (recv(sv[1], fill, sizeof(fill), MSG_DONTWAIT) > 0)
			;
	}
	result("send", reps, total);
	close(sv[0]);
	close(sv[1]);
}

/* ---- readiness: epoll_wait, poll, select on a socketpair ---- */

static uint64_t epoll_once(int ep)
{
	struct epoll_event ev[4];
	uint64_t t0 = now_ns();
	int r = epoll_wait(ep, ev, 4, 5000); /* EPOLL-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("epoll_wait");
	return d;
}

static uint64_t poll_once(int fd)
{
	struct pollfd p[4] = { { .fd = fd, .events = POLLIN } };
	uint64_t t0 = now_ns();
	int r = poll(p, npoll, 5000); /* POLL-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("poll");
	return d;
}

static uint64_t select_once(int fd)
{
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	struct timeval tv = { 5, 0 };
	uint64_t t0 = now_ns();
	int r = select(fd + 1, &rd, NULL, NULL, &tv); /* SELECT-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("select");
	return d;
}

static void test_readiness(void)
{
	int sv[2];
	uint64_t ep_total = 0, poll_total = 0, sel_total = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	peer = sv[1];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = sv[0] };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev))
		die("epoll");
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send);
		ep_total += epoll_once(ep);
		reap(t);
		drain(sv[0]);
	}
	result("epoll", reps, ep_total);
	close(ep);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send);
		poll_total += poll_once(sv[0]);
		reap(t);
		drain(sv[0]);
	}
	result("poll", reps, poll_total);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send);
		sel_total += select_once(sv[0]);
		reap(t);
		drain(sv[0]);
	}
	result("select", reps, sel_total);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		reps = atoi(argv[1]);
	if (argc > 2)
		hold_ms = atol(argv[2]);
	if (reps < 1 || reps > 1000 || hold_ms < 1 || hold_ms > 1000) {
		fprintf(stderr, "usage: blk_net [REPS [HOLD_MS]]\n");
		return 2;
	}
	alarm(30); /* watchdog: a hung call kills the run instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("reps=%d hold_ms=%ld\n", reps, hold_ms);
	int l = tcp_listener();
	test_accept(l);
	test_connect();
	test_recv();
	test_sock_read(l);
	test_send();
	test_readiness();
	close(l);
	return 0;
}
