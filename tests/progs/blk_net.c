/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for the net profile:
 *
 *   accept, accept4      on a loopback TCP listener
 *   connect              to a full AF_UNIX listen queue
 *   recv, recvfrom, recvmsg, recvmmsg, read, readv     on an empty socket
 *   send, sendmsg, sendmmsg, writev                    on a full socketpair
 *   epoll_wait, epoll_pwait, epoll_pwait2, poll, ppoll, select, pselect   on a socket
 *
 * For each call the main thread makes REPS calls that block, measures each with
 * CLOCK_MONOTONIC and prints
 *
 *     FAMILY_calls=N         calls measured
 *     FAMILY_total_ns=N      the sum of their durations
 *     FAMILY_rq_ns=N         the time it waited for a CPU in those calls it was preempted in
 *
 * plus one line per family without numbers that depend on timing (the bats test compares
 * the rest of the output traced and untraced). tests/bats/blocking.bats compares the totals
 * with the net profile entries at the lines marked FAMILY-SITE.
 *
 * Contention never depends on sleep timing: the helper thread that ends a wait (connects,
 * accepts, sends, drains) does so only once it has seen the main thread blocked in the
 * expected system call on the expected fd (/proc/self/task/TID/syscall), and HOLD_MS
 * after that.
 *
 * Built twice: plain (-O1) and build/progs/blk_net.fortify (-O2 -D_FORTIFY_SOURCE=2), where
 * read, recv, recvfrom, poll and ppoll become __read_chk, __recv_chk, __recvfrom_chk,
 * __poll_chk and __ppoll_chk: buffers of known size and lengths the compiler cannot see
 * (io_len, npoll are plain globals) make glibc's headers pick the checking entry points.
 * Network: 127.0.0.1 and an abstract AF_UNIX name only. A watchdog alarm ends a hung run.
 *
 * usage: blk_net [REPS [HOLD_MS]]   defaults: 5 20
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "blk_util.h"

static int reps = 5;
static long hold_ms = 20;
static pid_t main_tid;

/* Not const, not static: the compiler cannot know them, so _FORTIFY_SOURCE checks at run
 * time (__read_chk, __recv_chk, __poll_chk, __ppoll_chk) instead of proving the calls safe. */
size_t io_len = 16;
nfds_t npoll = 1;

static struct sockaddr_in tcp_addr; /* the loopback listener */
static struct sockaddr_un unix_addr;
static socklen_t unix_len;

static void die(const char *what)
{
	fprintf(stderr, "blk_net: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void hold(void)
{
	sleep_ms(hold_ms);
}

/* ---- seeing the main thread blocked ---- */

#ifndef SYS_select
#define SYS_select (-2L)
#endif
#ifndef SYS_poll
#define SYS_poll (-2L)
#endif
#ifndef SYS_epoll_wait
#define SYS_epoll_wait (-2L)
#endif
#ifndef SYS_accept
#define SYS_accept (-2L)
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
static const long NR_ACCEPT[] = { SYS_accept, SYS_accept4, -1 };
static const long NR_CONNECT[] = { SYS_connect, -1 };
static const long NR_RECV[] = { SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg, SYS_read, SYS_readv,
				-1 };
static const long NR_SEND[] = { SYS_sendto, SYS_sendmsg, SYS_sendmmsg, SYS_write, SYS_writev,
				-1 };
static const long NR_EPOLL[] = { SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2, -1 };
static const long NR_POLL[] = { SYS_poll, SYS_ppoll, -1 };
static const long NR_SELECT[] = { SYS_select, SYS_pselect6, -1 };

/* Returns once the main thread has been seen blocked in one of nrs (on fd); dies after
 * 10 s. */
static void until_blocked(const long *nrs, long fd)
{
	for (int i = 0; i < 10000; i++) {
		int r = task_in_syscall(main_tid, nrs, fd);
		if (r < 0)
			die("cannot read /proc/self/task/TID/syscall");
		if (r)
			return;
		sleep_ms(1);
	}
	errno = ETIMEDOUT;
	die("the main thread never blocked in the expected call");
}

/* ---- helpers ---- */

/* What a helper thread waits for before it acts, and what it acts on. */
struct cue {
	const long *nrs; /* main blocked in one of these ... */
	long fd;         /* ... on this fd (-1: any) */
	int peer;        /* the fd the helper acts on (or its result) */
	int listener;    /* late_accept: the AF_UNIX listener */
};

static pthread_t helper(void *(*fn)(void *), struct cue *c)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, fn, c);
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
	print_totals(family, calls, total);
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

/* Helper: once main blocks, HOLD_MS later, sends a byte on c->peer. */
static void *late_send(void *arg)
{
	struct cue *c = arg;
	until_blocked(c->nrs, c->fd);
	hold();
	if (send(c->peer, "x", 1, MSG_NOSIGNAL) != 1)
		die("send");
	return NULL;
}

/* ---- accept, accept4 ---- */

static void *late_connect(void *arg)
{
	struct cue *c = arg;
	until_blocked(c->nrs, c->fd);
	hold();
	c->peer = tcp_client();
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

static uint64_t accept4_once(int l, int *fd)
{
	uint64_t t0 = now_ns();
	*fd = accept4(l, NULL, NULL, SOCK_CLOEXEC); /* ACCEPT4-SITE */
	uint64_t d = now_ns() - t0;
	if (*fd < 0)
		die("accept4");
	return d;
}

static void accept_family(int l, const char *family, uint64_t (*once)(int, int *))
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		int fd;
		struct cue c = { NR_ACCEPT, l, -1, -1 };
		pthread_t t = helper(late_connect, &c);
		total += MEASURED(once(l, &fd));
		reap(t);
		close(fd);
		close(c.peer);
	}
	result(family, reps, total);
}

/* ---- connect: a blocking AF_UNIX connect waits while the listen queue is full ---- */

static void *late_accept(void *arg)
{
	struct cue *c = arg;
	until_blocked(c->nrs, c->fd);
	hold();
	int a = accept(c->listener, NULL, NULL); /* the filler, which frees the queue */
	int b = accept(c->listener, NULL, NULL); /* the measured connection */
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
	int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&unix_addr, 0, sizeof(unix_addr));
	unix_addr.sun_family = AF_UNIX;
	/* abstract name: sun_path[0] == 0 */
	int n = snprintf(unix_addr.sun_path + 1, sizeof(unix_addr.sun_path) - 1,
			 "ctrace-blk_net-%d", (int)getpid());
	unix_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	if (listener < 0 || bind(listener, (struct sockaddr *)&unix_addr, unix_len) ||
	    listen(listener, 0))
		die("bind/listen (unix)");
	for (int i = 0; i < reps; i++) {
		int filler = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (filler < 0 || c < 0 ||
		    connect(filler, (struct sockaddr *)&unix_addr, unix_len))
			die("connect (unix filler)");
		struct cue cu = { NR_CONNECT, c, -1, listener };
		pthread_t t = helper(late_accept, &cu);
		total += MEASURED(connect_once(c));
		reap(t);
		close(filler);
		close(c);
	}
	close(listener);
	result("connect", reps, total);
}

/* ---- receiving on an empty socket ---- */

static uint64_t recv_done(ssize_t r, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die(what);
	return d;
}

static uint64_t recv_once(int fd)
{
	char buf[64];
	uint64_t t0 = now_ns();
	ssize_t r = recv(fd, buf, io_len, 0); /* RECV-SITE */
	return recv_done(r, "recv", t0);
}

static uint64_t recvfrom_once(int fd)
{
	char buf[64];
	uint64_t t0 = now_ns();
	ssize_t r = recvfrom(fd, buf, io_len, 0, NULL, NULL); /* RECVFROM-SITE */
	return recv_done(r, "recvfrom", t0);
}

static uint64_t recvmsg_once(int fd)
{
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint64_t t0 = now_ns();
	ssize_t r = recvmsg(fd, &m, 0); /* RECVMSG-SITE */
	return recv_done(r, "recvmsg", t0);
}

static uint64_t recvmmsg_once(int fd)
{
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	uint64_t t0 = now_ns();
	int r = recvmmsg(fd, &mm, 1, 0, NULL); /* RECVMMSG-SITE */
	return recv_done(r == 1 ? (ssize_t)mm.msg_len : -1, "recvmmsg", t0);
}

static uint64_t sock_read_once(int fd)
{
	char buf[64];
	uint64_t t0 = now_ns();
	ssize_t r = read(fd, buf, io_len); /* SOCK-READ-SITE */
	return recv_done(r, "read (socket)", t0);
}

static uint64_t sock_readv_once(int fd)
{
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	uint64_t t0 = now_ns();
	ssize_t r = readv(fd, &iov, 1); /* SOCK-READV-SITE */
	return recv_done(r, "readv (socket)", t0);
}

/* REPS calls of once(fd), each ended by a byte the helper sends on peer. */
static void recv_family(int fd, int peer, const char *family, uint64_t (*once)(int))
{
	uint64_t total = 0;
	struct cue c = { NR_RECV, fd, peer, -1 };
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send, &c);
		total += MEASURED(once(fd));
		reap(t);
	}
	result(family, reps, total);
}

static void test_recv(int l)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	recv_family(sv[0], sv[1], "recv", recv_once);
	recv_family(sv[0], sv[1], "recvfrom", recvfrom_once);
	recv_family(sv[0], sv[1], "recvmsg", recvmsg_once);
	recv_family(sv[0], sv[1], "recvmmsg", recvmmsg_once);
	close(sv[0]);
	close(sv[1]);

	int c = tcp_client();
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	recv_family(s, c, "sock_read", sock_read_once);
	recv_family(s, c, "sock_readv", sock_readv_once);
	close(s);
	close(c);
}

/* ---- sending on a full socket: the helper drains it once main blocks ---- */

static void *late_drain(void *arg)
{
	struct cue *c = arg;
	char buf[4096];
	until_blocked(c->nrs, c->fd);
	hold();
	while (recv(c->peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	return NULL;
}

static const char msg[64];

static uint64_t send_done(ssize_t r, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r != (ssize_t)sizeof(msg))
		die(what);
	return d;
}

static uint64_t send_once(int fd)
{
	uint64_t t0 = now_ns();
	ssize_t r = send(fd, msg, sizeof(msg), MSG_NOSIGNAL); /* SEND-SITE */
	return send_done(r, "send", t0);
}

static uint64_t sendmsg_once(int fd)
{
	struct iovec iov = { (void *)msg, sizeof(msg) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint64_t t0 = now_ns();
	ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL); /* SENDMSG-SITE */
	return send_done(r, "sendmsg", t0);
}

static uint64_t sendmmsg_once(int fd)
{
	struct iovec iov = { (void *)msg, sizeof(msg) };
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	uint64_t t0 = now_ns();
	int r = sendmmsg(fd, &mm, 1, MSG_NOSIGNAL); /* SENDMMSG-SITE */
	return send_done(r == 1 ? (ssize_t)mm.msg_len : -1, "sendmmsg", t0);
}

static uint64_t sock_writev_once(int fd)
{
	struct iovec iov = { (void *)msg, sizeof(msg) };
	uint64_t t0 = now_ns();
	ssize_t r = writev(fd, &iov, 1); /* SOCK-WRITEV-SITE */
	return send_done(r, "writev (socket)", t0);
}

static void send_family(const char *family, uint64_t (*once)(int))
{
	int sv[2], small = 4096;
	uint64_t total = 0;
	static char fill[4096];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)))
		die("socketpair");
	struct cue c = { NR_SEND, sv[0], sv[1], -1 };
	for (int i = 0; i < reps; i++) {
		while (send(sv[0], fill, sizeof(fill), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			; /* full: the next blocking send waits for the reader */
		pthread_t t = helper(late_drain, &c);
		total += MEASURED(once(sv[0]));
		reap(t);
		while (recv(sv[1], fill, sizeof(fill), MSG_DONTWAIT) > 0)
			;
	}
	result(family, reps, total);
	close(sv[0]);
	close(sv[1]);
}

/* ---- readiness on a socketpair ---- */

static uint64_t ready_done(int r, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die(what);
	return d;
}

static uint64_t epoll_once(int ep)
{
	struct epoll_event ev[4];
	uint64_t t0 = now_ns();
	int r = epoll_wait(ep, ev, 4, 5000); /* EPOLL-SITE */
	return ready_done(r, "epoll_wait", t0);
}

static uint64_t epoll_pwait_once(int ep)
{
	struct epoll_event ev[4];
	sigset_t none;
	sigemptyset(&none);
	uint64_t t0 = now_ns();
	int r = epoll_pwait(ep, ev, 4, 5000, &none); /* EPOLL-PWAIT-SITE */
	return ready_done(r, "epoll_pwait", t0);
}

static uint64_t epoll_pwait2_once(int ep)
{
	struct epoll_event ev[4];
	struct timespec to = { 5, 0 };
	uint64_t t0 = now_ns();
	int r = epoll_pwait2(ep, ev, 4, &to, NULL); /* EPOLL-PWAIT2-SITE */
	return ready_done(r, "epoll_pwait2", t0);
}

static uint64_t poll_once(int fd)
{
	struct pollfd p[4] = { { .fd = fd, .events = POLLIN } };
	uint64_t t0 = now_ns();
	int r = poll(p, npoll, 5000); /* POLL-SITE */
	return ready_done(r, "poll", t0);
}

static uint64_t ppoll_once(int fd)
{
	struct pollfd p[4] = { { .fd = fd, .events = POLLIN } };
	struct timespec to = { 5, 0 };
	uint64_t t0 = now_ns();
	int r = ppoll(p, npoll, &to, NULL); /* PPOLL-SITE */
	return ready_done(r, "ppoll", t0);
}

static uint64_t select_once(int fd)
{
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	struct timeval tv = { 5, 0 };
	uint64_t t0 = now_ns();
	int r = select(fd + 1, &rd, NULL, NULL, &tv); /* SELECT-SITE */
	return ready_done(r, "select", t0);
}

static uint64_t pselect_once(int fd)
{
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	struct timespec to = { 5, 0 };
	uint64_t t0 = now_ns();
	int r = pselect(fd + 1, &rd, NULL, NULL, &to, NULL); /* PSELECT-SITE */
	return ready_done(r, "pselect", t0);
}

/* REPS calls of once(arg) that wait for sv[0] to become readable; the helper sends a byte
 * once main is blocked in one of nrs (on fd), and it is drained after each call. */
static void ready_family(const int sv[2], const long *nrs, long fd, int arg, const char *family,
			 uint64_t (*once)(int))
{
	uint64_t total = 0;
	struct cue c = { nrs, fd, sv[1], -1 };
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_send, &c);
		total += MEASURED(once(arg));
		reap(t);
		drain(sv[0]);
	}
	result(family, reps, total);
}

static void test_readiness(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = sv[0] };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev))
		die("epoll");
	ready_family(sv, NR_EPOLL, ep, ep, "epoll", epoll_once);
	ready_family(sv, NR_EPOLL, ep, ep, "epoll_pwait", epoll_pwait_once);
	ready_family(sv, NR_EPOLL, ep, ep, "epoll_pwait2", epoll_pwait2_once);
	close(ep);
	ready_family(sv, NR_POLL, -1, sv[0], "poll", poll_once);
	ready_family(sv, NR_POLL, -1, sv[0], "ppoll", ppoll_once);
	ready_family(sv, NR_SELECT, sv[0] + 1, sv[0], "select", select_once);
	ready_family(sv, NR_SELECT, sv[0] + 1, sv[0], "pselect", pselect_once);
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
	alarm(50); /* watchdog: a hung call kills the run instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	main_tid = gettid();
	printf("reps=%d hold_ms=%ld\n", reps, hold_ms);
	sleep_ms(2); /* warms the main thread's first stack capture, outside any measured call */
	int l = tcp_listener();
	accept_family(l, "accept", accept_once);
	accept_family(l, "accept4", accept4_once);
	test_connect();
	test_recv(l);
	send_family("send", send_once);
	send_family("sendmsg", sendmsg_once);
	send_family("sendmmsg", sendmmsg_once);
	send_family("sock_writev", sock_writev_once);
	test_readiness();
	close(l);
	return 0;
}
