/* SPDX-License-Identifier: MIT */
/*
 * Semantics test program for the blocking system calls and semaphores: what a program sees
 * must not change under libctrace (preload/README.md, record path rule 6: results and
 * errno are the real call's; rule 5: signal handlers run normally while a wrapper
 * waits). One line per check:
 *
 *     ok NAME: OBSERVED
 *     FAIL NAME: got OBSERVED, want EXPECTED
 *
 * OBSERVED is the return value, errno ("unchanged" when it still holds the sentinel set
 * before the call), how often the signal handler ran and whatever else the check looks at;
 * it contains no timings, so tests/bats/blocking.bats requires identical output traced and
 * untraced, and that no line says FAIL. Exit status 1 if a check failed.
 *
 * Checks: EINTR with and without SA_RESTART (read on a pipe, recv, accept, waitpid, flock,
 * fcntl(F_OFD_SETLKW), open of a FIFO, sem_wait; and the calls never restarted: sem_timedwait,
 * sem_clockwait, nanosleep, clock_nanosleep, usleep, sleep, poll, ppoll, select, pselect,
 * epoll_wait, epoll_pwait2, sigwaitinfo, pause, sigsuspend, recv with SO_RCVTIMEO; a write
 * partly done), the remaining time of an interrupted nanosleep (and of an absolute
 * clock_nanosleep: untouched), EAGAIN/EWOULDBLOCK/ENXIO/ESPIPE on nonblocking fds, try calls
 * and RWF_NOWAIT, short reads and writes (read, readv, pread, preadv, writev, a truncated
 * datagram), timeouts and bad clocks (sem_timedwait, sem_clockwait, rwlock timed and clock
 * locks, and their bad timeouts on a free lock, timed and clock joins, sigtimedwait,
 * SO_RCVTIMEO), the mode of O_CREAT, a read interrupted under a handler signal() installed
 * after siginterrupt(), and signal handlers that call sem_post or write on the very object
 * the interrupted thread waits on (sem_wait, sem_timedwait, read on a pipe, recv on a
 * socket). The signal is sent (pthread_kill) only once /proc/self/task/TID/syscall shows
 * the main thread blocked in the expected system call. Timeouts everywhere: every blocking
 * call is ended by a helper, and a watchdog alarm kills a hung run.
 *
 * Built twice: plain and build/progs/blk_semantics.fortify (through __read_chk, __recv_chk,
 * __pread_chk, __pread64_chk, __ppoll_chk, __open_2, __openat_2).
 *
 * usage: blk_semantics
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blk_util.h"

#define SENTINEL 12345

/* Not const, not static: _FORTIFY_SOURCE must check these calls at run time (__read_chk,
 * __recv_chk, __pread_chk, __ppoll_chk, __open_2). */
size_t io_len = 100;
nfds_t npoll = 1;
int open_flags = O_RDONLY | O_CLOEXEC;

static int failures;
static volatile sig_atomic_t hits;      /* handler invocations */
static pthread_t main_thread;
static pid_t main_tid;

/* What the handler does besides counting (set per check). */
static sem_t *handler_sem;
static int handler_fd = -1;

/* The object a helper acts on after the signal, when the call was restarted. */
static sem_t *after_sem;
static int after_fd = -1;
static void (*after_fn)(void);

/* errno as the checks show it: "unchanged" while it still holds the sentinel. */
static const char *err_seen(int e)
{
	return e == SENTINEL ? "unchanged" : err_name(e);
}

static void check(const char *name, const char *got, const char *want)
{
	if (strcmp(got, want) == 0) {
		printf("ok %s: %s\n", name, got);
		return;
	}
	failures++;
	printf("FAIL %s: got %s, want %s\n", name, got, want);
}

/* "ret=R errno=E" plus extra, into buf. */
static const char *obs(char *buf, size_t n, long ret, int err, const char *extra)
{
	snprintf(buf, n, "ret=%ld errno=%s%s%s", ret, err_seen(err), extra ? " " : "",
		 extra ? extra : "");
	return buf;
}

static void on_signal(int sig)
{
	int e = errno;
	(void)sig;
	hits++;
	if (handler_sem)
		sem_post(handler_sem);
	if (handler_fd >= 0 && write(handler_fd, "h", 1) != 1)
		abort();
	errno = e;
}

static void install(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	if (sigaction(SIGUSR1, &sa, NULL))
		abort();
	hits = 0;
	handler_sem = NULL;
	handler_fd = -1;
	after_sem = NULL;
	after_fd = -1;
	after_fn = NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Waits (20,000 polls 1 ms apart at most: more than the watchdog allows) until the main
 * thread has been seen blocked in nrs twice in a row. */
static void until_blocked(const long *nrs)
{
	int seen = 0;
	for (int i = 0; i < 20000; i++) {
		int r = task_in_syscall(main_tid, nrs, -1);
		if (r < 0) {
			sleep_ms(100);
			return;
		}
		seen = r ? seen + 1 : 0;
		if (seen >= 2)
			break;
		sleep_ms(1);
	}
	sleep_ms(5);
}

static const long NR_READ[] = { SYS_read, SYS_readv, -1 };
static const long NR_WRITE[] = { SYS_write, SYS_writev, -1 };
static const long NR_FUTEX[] = { SYS_futex, -1 };
static const long NR_SLEEP[] = { SYS_nanosleep, SYS_clock_nanosleep, -1 };
static const long NR_POLL[] = { SYS_poll, SYS_ppoll, -1 };
static const long NR_EPOLL[] = { SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2, -1 };
static const long NR_RECV[] = { SYS_recvfrom, SYS_recvmsg, SYS_read, -1 };
static const long NR_ACCEPT[] = { SYS_accept, SYS_accept4, -1 };
static const long NR_WAIT[] = { SYS_wait4, SYS_waitid, -1 };
static const long NR_FLOCK[] = { SYS_flock, SYS_fcntl, -1 };
static const long NR_OPEN[] = { SYS_openat, -1 };
static const long NR_SIGWAIT[] = { SYS_rt_sigtimedwait, -1 };
static const long NR_SUSPEND[] = { SYS_rt_sigsuspend, SYS_pause, -1 };
static const long NR_SELECT[] = { SYS_select, SYS_pselect6, -1 };

/* Helper thread: once main blocks in one of nrs, send it SIGUSR1; once the handler has run
 * (main's call was interrupted: a post or write now cannot end it instead of the signal,
 * however late a loaded machine runs main) and 30 ms later, post after_sem / write to
 * after_fd / call after_fn (which ends a restarted call). */
static void *signaller(void *arg)
{
	until_blocked(arg);
	pthread_kill(main_thread, SIGUSR1);
	if (after_sem || after_fd >= 0 || after_fn) {
		for (int i = 0; i < 20000 && !hits; i++)
			sleep_ms(1);
		sleep_ms(30);
		if (after_sem)
			sem_post(after_sem);
		if (after_fd >= 0 && write(after_fd, "a", 1) != 1)
			abort();
		if (after_fn)
			after_fn();
	}
	return NULL;
}

static pthread_t start_signaller(const long *nrs)
{
	pthread_t t;
	if (pthread_create(&t, NULL, signaller, (void *)nrs))
		abort();
	return t;
}

static void finish(pthread_t t)
{
	if (pthread_join(t, NULL))
		abort();
}

static void make_pipe(int p[2], int flags)
{
	if (pipe2(p, O_CLOEXEC | flags))
		abort();
}

static void close_pair(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* ---- EINTR, with and without SA_RESTART ---- */

/* A read of fd into buf (io_len bytes) that the signaller interrupts once it blocks: its
 * result, and in *e its errno (SENTINEL before the call). */
static long read_signalled(int fd, char *buf, int *e)
{
	pthread_t t = start_signaller(NR_READ);
	errno = SENTINEL;
	long r = read(fd, buf, io_len);
	*e = errno;
	finish(t);
	return r;
}

static void check_read_pipe(int restart)
{
	char buf[100], got[128], extra[64];
	int p[2];
	make_pipe(p, 0);
	install(restart);
	if (restart)
		after_fd = p[1];
	int e;
	long r = read_signalled(p[0], buf, &e);
	snprintf(extra, sizeof(extra), "hits=%d data=%c", (int)hits, r == 1 ? buf[0] : '-');
	if (restart)
		check("read_pipe_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=1 errno=unchanged hits=1 data=a");
	else
		check("read_pipe_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 data=-");
	close_pair(p);
}

/* siginterrupt(sig, 1) makes the handler signal() then installs interrupt the read
 * (glibc's signal gives SA_RESTART otherwise), and sigaction reports its flags as set;
 * siginterrupt(sig, 0) gives SA_RESTART back. A read restarted wrongly ends with the
 * write made after the handler ran, not in a hang. */
static void check_siginterrupt(void)
{
	char buf[100], got[128], extra[64];
	struct sigaction now;
	int p[2];
	make_pipe(p, 0);
	install(1);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	if (siginterrupt(SIGUSR1, 1) != 0 || signal(SIGUSR1, on_signal) == SIG_ERR)
		abort();
	after_fd = p[1];
	int e;
	long r = read_signalled(p[0], buf, &e);
	sigaction(SIGUSR1, NULL, &now);
	snprintf(extra, sizeof(extra), "hits=%d restart=%d", (int)hits,
		 (now.sa_flags & SA_RESTART) != 0);
	check("read_pipe_siginterrupt", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1 restart=0");
	errno = SENTINEL;
	r = siginterrupt(SIGUSR1, 0);
	e = errno;
#pragma GCC diagnostic pop
	sigaction(SIGUSR1, NULL, &now);
	snprintf(extra, sizeof(extra), "restart=%d", (now.sa_flags & SA_RESTART) != 0);
	check("siginterrupt_off", obs(got, sizeof(got), r, e, extra),
	      "ret=0 errno=unchanged restart=1");
	close_pair(p);
}

static void check_sem_wait(int restart)
{
	char got[128], extra[64];
	sem_t s;
	sem_init(&s, 0, 0);
	install(restart);
	if (restart)
		after_sem = &s;
	pthread_t t = start_signaller(NR_FUTEX);
	errno = SENTINEL;
	long r = sem_wait(&s);
	int e = errno;
	finish(t);
	int v = -1;
	sem_getvalue(&s, &v);
	snprintf(extra, sizeof(extra), "hits=%d value=%d", (int)hits, v);
	if (restart)
		check("sem_wait_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=0 errno=unchanged hits=1 value=0");
	else
		check("sem_wait_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 value=0");
	sem_destroy(&s);
}

/* The remaining time *rem of a relative sleep of 5 s interrupted after it started (at t0)
 * and before it returned (at t1): less than the 5 s, at least 5 s less the time it took
 * (CLOCK_MONOTONIC, ns; the 5 s leave a loaded machine time to deliver the signal). */
static const char *rem_as_measured(const struct timespec *rem, uint64_t t0, uint64_t t1)
{
	uint64_t left = (uint64_t)rem->tv_sec * 1000000000u + (uint64_t)rem->tv_nsec;
	return left < 5000000000u && left + (t1 - t0) >= 5000000000u ? "yes" : "no";
}

/* nanosleep is never restarted (signal(7)); the remaining time is what was left. */
static void check_nanosleep(int restart)
{
	char got[128], extra[64];
	struct timespec req = { 5, 0 }, rem = { 9, 0 };
	install(restart);
	pthread_t t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	uint64_t t0 = now_ns();
	long r = nanosleep(&req, &rem);
	uint64_t t1 = now_ns();
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d rem_as_measured=%s", (int)hits,
		 rem_as_measured(&rem, t0, t1));
	check(restart ? "nanosleep_eintr_sa_restart" : "nanosleep_eintr",
	      obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1 rem_as_measured=yes");
}

/* clock_nanosleep returns the error and leaves errno alone. */
static void check_clock_nanosleep(void)
{
	char got[128], extra[64];
	struct timespec req = { 5, 0 }, rem = { 9, 0 };
	install(1);
	pthread_t t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	uint64_t t0 = now_ns();
	long r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	uint64_t t1 = now_ns();
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d rem_as_measured=%s", (int)hits,
		 rem_as_measured(&rem, t0, t1));
	check("clock_nanosleep_eintr", obs(got, sizeof(got), r, e, extra),
	      "ret=4 errno=unchanged hits=1 rem_as_measured=yes");
}

static void check_usleep_sleep(void)
{
	char got[128], extra[64];
	install(1);
	pthread_t t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	long r = usleep(5000000);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("usleep_eintr", obs(got, sizeof(got), r, e, extra), "ret=-1 errno=EINTR hits=1");

	install(1);
	t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	uint64_t t0 = now_ns();
	r = sleep(10); /* returns the whole seconds left: 9 unless the signal came late */
	uint64_t t1 = now_ns();
	e = errno;
	finish(t);
	long least = 10 - (long)((t1 - t0 + 999999999u) / 1000000000u);
	snprintf(extra, sizeof(extra), "hits=%d left_as_measured=%s", (int)hits,
		 r <= 9 && r >= least ? "yes" : "no");
	/* ret=1: some seconds left (how many is the measured part) */
	check("sleep_interrupted", obs(got, sizeof(got), r > 0, e, extra),
	      "ret=1 errno=EINTR hits=1 left_as_measured=yes");
}

/* poll and epoll_wait are never restarted, SA_RESTART or not. */
static void check_poll_epoll(void)
{
	char got[128], extra[64];
	int p[2];
	make_pipe(p, 0);
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	install(1);
	pthread_t t = start_signaller(NR_POLL);
	errno = SENTINEL;
	long r = poll(&pfd, 1, 5000);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("poll_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] }, out[2];
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev))
		abort();
	install(1);
	t = start_signaller(NR_EPOLL);
	errno = SENTINEL;
	r = epoll_wait(ep, out, 2, 5000);
	e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("epoll_wait_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");
	close(ep);
	close_pair(p);
}

/* A blocking write that was partly done when the signal came returns what it wrote. */
static void check_partial_write(int restart)
{
	static char big[256 * 1024];
	char got[128], extra[64];
	int p[2];
	make_pipe(p, 0);
	long sz = fcntl(p[1], F_SETPIPE_SZ, 65536);
	install(restart);
	pthread_t t = start_signaller(NR_WRITE);
	errno = SENTINEL;
	long r = write(p[1], big, sizeof(big));
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d pipe_size=%ld", (int)hits, sz);
	check(restart ? "write_partial_sa_restart" : "write_partial_eintr",
	      obs(got, sizeof(got), r, e, extra),
	      "ret=65536 errno=unchanged hits=1 pipe_size=65536");
	close_pair(p);
}

/* ---- a handler that releases the very object the thread waits on ---- */

static void check_handler_sem_post(int restart)
{
	char got[128], extra[64];
	sem_t s;
	sem_init(&s, 0, 0);
	install(restart);
	handler_sem = &s;
	pthread_t t = start_signaller(NR_FUTEX);
	errno = SENTINEL;
	long r = sem_wait(&s);
	int e = errno;
	finish(t);
	errno = SENTINEL;
	int tr = sem_trywait(&s); /* without SA_RESTART, the post is still there */
	int te = errno;
	snprintf(extra, sizeof(extra), "hits=%d trywait=%d/%s", (int)hits, tr, err_seen(te));
	if (restart)
		check("handler_sem_post_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=0 errno=unchanged hits=1 trywait=-1/EAGAIN");
	else
		check("handler_sem_post_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 trywait=0/unchanged");
	sem_destroy(&s);
}

static void check_handler_write(int restart)
{
	char buf[100], got[128], extra[64];
	int p[2];
	make_pipe(p, 0);
	install(restart);
	handler_fd = p[1];
	int e;
	long r = read_signalled(p[0], buf, &e);
	char data = r == 1 ? buf[0] : '-';
	if (r < 0) { /* interrupted: the handler's byte waits in the pipe */
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		if (read(p[0], buf, io_len) == 1)
			data = (char)toupper((unsigned char)buf[0]);
	}
	snprintf(extra, sizeof(extra), "hits=%d data=%c", (int)hits, data);
	if (restart)
		check("handler_write_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=1 errno=unchanged hits=1 data=h");
	else
		check("handler_write_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 data=H");
	close_pair(p);
}

/* ---- nonblocking fds and try calls: EAGAIN / EWOULDBLOCK, nothing blocks ---- */

#define CALL(name, expr, want) \
	do { \
		char got_[128]; \
		errno = SENTINEL; \
		long r_ = (long)(expr); \
		int e_ = errno; \
		check(name, obs(got_, sizeof(got_), r_, e_, NULL), want); \
	} while (0)

static void check_nonblocking(void)
{
	char buf[100];
	int p[2], sv[2];
	make_pipe(p, O_NONBLOCK);
	CALL("read_nonblock_empty", read(p[0], buf, io_len), "ret=-1 errno=EAGAIN");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv))
		abort();
	CALL("recv_nonblock_empty", recv(sv[0], buf, io_len, 0), "ret=-1 errno=EAGAIN");
	CALL("read_nonblock_socket", read(sv[0], buf, io_len), "ret=-1 errno=EAGAIN");
	close_pair(sv);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	CALL("recv_dontwait", recv(sv[0], buf, io_len, MSG_DONTWAIT), "ret=-1 errno=EAGAIN");
	close_pair(sv);

	/* A nonblocking listener with nobody connecting. */
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "ctrace-blk_sem-%d",
			 (int)getpid());
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, alen) || listen(l, 4))
		abort();
	CALL("accept_nonblock", accept(l, NULL, NULL), "ret=-1 errno=EAGAIN");
	close(l);
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CALL("connect_refused", connect(c, (struct sockaddr *)&a, alen),
	     "ret=-1 errno=ECONNREFUSED");
	close(c);

	/* The nonblocking pipe: short write, then EAGAIN, then a short read. */
	static char big[1024 * 1024];
	long sz = fcntl(p[1], F_SETPIPE_SZ, 65536);
	CALL("pipe_size", sz, "ret=65536 errno=unchanged");
	CALL("write_nonblock_short", write(p[1], big, sizeof(big)), "ret=65536 errno=unchanged");
	CALL("write_nonblock_full", write(p[1], big, 1), "ret=-1 errno=EAGAIN");
	close_pair(p);
	make_pipe(p, 0);
	CALL("write_small", write(p[1], "0123456789", 10), "ret=10 errno=unchanged");
	CALL("read_short", read(p[0], buf, io_len), "ret=10 errno=unchanged");
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	CALL("poll_timeout", poll(&pfd, 1, 10), "ret=0 errno=unchanged");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] }, out[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	CALL("epoll_wait_timeout", epoll_wait(ep, out, 2, 10), "ret=0 errno=unchanged");
	close(ep);
	close_pair(p);
	CALL("read_bad_fd", read(-1, buf, io_len), "ret=-1 errno=EBADF");

	sem_t s;
	sem_init(&s, 0, 0);
	CALL("sem_trywait_empty", sem_trywait(&s), "ret=-1 errno=EAGAIN");
	struct timespec soon;
	clock_gettime(CLOCK_REALTIME, &soon);
	soon.tv_nsec += 20000000L;
	if (soon.tv_nsec >= 1000000000L) {
		soon.tv_sec++;
		soon.tv_nsec -= 1000000000L;
	}
	CALL("sem_timedwait_timeout", sem_timedwait(&s, &soon), "ret=-1 errno=ETIMEDOUT");
	soon.tv_sec -= 10;
	CALL("sem_timedwait_past", sem_timedwait(&s, &soon), "ret=-1 errno=ETIMEDOUT");
	soon.tv_nsec = 2000000000L;
	CALL("sem_timedwait_einval", sem_timedwait(&s, &soon), "ret=-1 errno=EINVAL");
	sem_post(&s);
	CALL("sem_wait_available", sem_wait(&s), "ret=0 errno=unchanged");
	sem_destroy(&s);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct timespec to = { 0, 20000000L };
	CALL("sigtimedwait_timeout", sigtimedwait(&set, NULL, &to), "ret=-1 errno=EAGAIN");
	pthread_kill(main_thread, SIGUSR2);
	CALL("sigtimedwait_pending", sigtimedwait(&set, NULL, &to), "ret=12 errno=unchanged");
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	CALL("waitpid_no_child", waitpid(-1, NULL, 0), "ret=-1 errno=ECHILD");
	CALL("waitpid_wnohang_no_child", waitpid(-1, NULL, WNOHANG), "ret=-1 errno=ECHILD");

	/* flock: another open file description of the same file holds it. */
	char path[64];
	snprintf(path, sizeof(path), "blk_semantics.%d.tmp", (int)getpid());
	int f1 = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int f2 = open(path, O_RDWR | O_CLOEXEC);
	unlink(path);
	CALL("flock_first", flock(f1, LOCK_EX | LOCK_NB), "ret=0 errno=unchanged");
	CALL("flock_nb_held", flock(f2, LOCK_EX | LOCK_NB), "ret=-1 errno=EAGAIN");
	close(f1);
	close(f2);
	CALL("fsync_bad_fd", fsync(-1), "ret=-1 errno=EBADF");
	struct timespec bad = { 0, 1000000000L };
	CALL("nanosleep_einval", nanosleep(&bad, NULL), "ret=-1 errno=EINVAL");
	CALL("clock_nanosleep_einval", clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL),
	     "ret=22 errno=unchanged");
}

/* ---- more primitives under a signal, with and without SA_RESTART ---- */

/* "ret=..." of a call that returns a new fd: its number differs traced and untraced. */
static long fd_ret(long r)
{
	return r >= 0 ? 1000 : r;
}

static void check_recv_socket(int restart)
{
	char buf[100], got[128], extra[64];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	install(restart);
	if (restart)
		after_fd = sv[1];
	pthread_t t = start_signaller(NR_RECV);
	errno = SENTINEL;
	long r = recv(sv[0], buf, io_len, 0);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d data=%c", (int)hits, r == 1 ? buf[0] : '-');
	if (restart)
		check("recv_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=1 errno=unchanged hits=1 data=a");
	else
		check("recv_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 data=-");
	close_pair(sv);
}

/* A receive timeout (SO_RCVTIMEO) makes a socket call EINTR even with SA_RESTART
 * (signal(7)), and EAGAIN when it expires. */
static void check_recv_timeout(void)
{
	char buf[100], got[128], extra[64];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	struct timeval tv = { 5, 0 };
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		abort();
	install(1);
	pthread_t t = start_signaller(NR_RECV);
	errno = SENTINEL;
	long r = recv(sv[0], buf, io_len, 0);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("recv_rcvtimeo_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");
	tv.tv_sec = 0;
	tv.tv_usec = 20000;
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		abort();
	CALL("recv_rcvtimeo_expires", recv(sv[0], buf, io_len, 0), "ret=-1 errno=EAGAIN");
	close_pair(sv);
}

/* accept: restarted under SA_RESTART (then a client connects), EINTR without. */
static struct sockaddr_un sem_addr;
static socklen_t sem_alen;
static int late_client = -1;

static void set_addr(const char *what)
{
	memset(&sem_addr, 0, sizeof(sem_addr));
	sem_addr.sun_family = AF_UNIX;
	int n = snprintf(sem_addr.sun_path + 1, sizeof(sem_addr.sun_path) - 1,
			 "ctrace-blk_sem-%s-%d", what, (int)getpid());
	sem_alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void connect_client(void)
{
	late_client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (late_client < 0 || connect(late_client, (struct sockaddr *)&sem_addr, sem_alen))
		abort();
}

static void check_accept(int restart)
{
	char got[128], extra[64];
	set_addr(restart ? "acc1" : "acc0");
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sem_addr, sem_alen) || listen(l, 4))
		abort();
	install(restart);
	if (restart)
		after_fn = connect_client;
	pthread_t t = start_signaller(NR_ACCEPT);
	errno = SENTINEL;
	long r = accept(l, NULL, NULL);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	if (restart)
		check("accept_sa_restart", obs(got, sizeof(got), fd_ret(r), e, extra),
		      "ret=1000 errno=unchanged hits=1");
	else
		check("accept_eintr", obs(got, sizeof(got), fd_ret(r), e, extra),
		      "ret=-1 errno=EINTR hits=1");
	if (r >= 0)
		close((int)r);
	if (late_client >= 0)
		close(late_client);
	late_client = -1;
	close(l);
}

/* waitpid: restarted under SA_RESTART (then the child exits), EINTR without. */
static int child_cue = -1;

static void cue_child(void)
{
	if (write(child_cue, "x", 1) != 1)
		abort();
}

static void check_waitpid(int restart)
{
	char got[128], extra[64], ch;
	int p[2];
	make_pipe(p, 0);
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(p[1]);
		_exit(read(p[0], &ch, 1) == 1 ? 7 : 8);
	}
	close(p[0]);
	child_cue = p[1];
	install(restart);
	if (restart)
		after_fn = cue_child;
	pthread_t t = start_signaller(NR_WAIT);
	int st = 0;
	errno = SENTINEL;
	long r = waitpid(pid, &st, 0);
	int e = errno;
	finish(t);
	if (r < 0) { /* interrupted: let the child go and reap it */
		cue_child();
		if (waitpid(pid, &st, 0) != pid)
			abort();
	}
	snprintf(extra, sizeof(extra), "hits=%d status=%d", (int)hits,
		 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (restart)
		check("waitpid_sa_restart", obs(got, sizeof(got), r == pid ? 1 : r, e, extra),
		      "ret=1 errno=unchanged hits=1 status=7");
	else
		check("waitpid_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 status=7");
	close(p[1]);
}

/* flock: another open file description of the file holds it; restarted under SA_RESTART
 * (then the holder unlocks), EINTR without. */
static int flock_holder = -1;

static void unlock_holder(void)
{
	if (flock(flock_holder, LOCK_UN))
		abort();
}

static void check_flock(int restart)
{
	char got[128], extra[64], path[64];
	snprintf(path, sizeof(path), "blk_semantics.flock.%d.tmp", (int)getpid());
	flock_holder = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unlink(path);
	if (flock_holder < 0 || fd < 0 || flock(flock_holder, LOCK_EX))
		abort();
	install(restart);
	if (restart)
		after_fn = unlock_holder;
	pthread_t t = start_signaller(NR_FLOCK);
	errno = SENTINEL;
	long r = flock(fd, LOCK_EX);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	if (restart)
		check("flock_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=0 errno=unchanged hits=1");
	else
		check("flock_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1");
	close(fd);
	close(flock_holder);
}

/* fcntl(F_OFD_SETLKW): another open file description holds the record lock; restarted
 * under SA_RESTART (then the holder unlocks), EINTR without. */
static int ofd_holder = -1;

static void unlock_ofd_holder(void)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	if (fcntl(ofd_holder, F_OFD_SETLK, &fl))
		abort();
}

static void check_ofd_setlkw(int restart)
{
	char got[128], extra[64], path[64];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	snprintf(path, sizeof(path), "blk_semantics.ofd.%d.tmp", (int)getpid());
	ofd_holder = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unlink(path);
	if (ofd_holder < 0 || fd < 0 || fcntl(ofd_holder, F_OFD_SETLK, &fl))
		abort();
	install(restart);
	if (restart)
		after_fn = unlock_ofd_holder;
	pthread_t t = start_signaller(NR_FLOCK);
	errno = SENTINEL;
	long r = fcntl(fd, F_OFD_SETLKW, &fl);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	if (restart)
		check("ofd_setlkw_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=0 errno=unchanged hits=1");
	else
		check("ofd_setlkw_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1");
	close(fd);
	close(ofd_holder);
}

/* open of a FIFO without a writer: restarted under SA_RESTART (then a writer comes), EINTR
 * without. */
static char fifo_path[64];
static int fifo_writer = -1;

static void open_writer(void)
{
	fifo_writer = open(fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo_writer < 0)
		abort();
}

static void check_open_fifo(int restart)
{
	char got[128], extra[64];
	snprintf(fifo_path, sizeof(fifo_path), "blk_semantics.fifo.%d.tmp", (int)getpid());
	if (mkfifo(fifo_path, 0600))
		abort();
	install(restart);
	if (restart)
		after_fn = open_writer;
	pthread_t t = start_signaller(NR_OPEN);
	errno = SENTINEL;
	long r = open(fifo_path, open_flags);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	if (restart)
		check("open_fifo_sa_restart", obs(got, sizeof(got), fd_ret(r), e, extra),
		      "ret=1000 errno=unchanged hits=1");
	else
		check("open_fifo_eintr", obs(got, sizeof(got), fd_ret(r), e, extra),
		      "ret=-1 errno=EINTR hits=1");
	if (r >= 0)
		close((int)r);
	if (fifo_writer >= 0)
		close(fifo_writer);
	fifo_writer = -1;
	unlink(fifo_path);
}

/* sem_timedwait and sem_clockwait are never restarted: a handler makes them fail with
 * EINTR even under SA_RESTART (the timed futex wait). The post that follows stays. */
static void check_sem_timed(int clock, int restart)
{
	char got[128], extra[64], name[64];
	sem_t s;
	sem_init(&s, 0, 0);
	install(restart);
	if (restart)
		after_sem = &s;
	pthread_t t = start_signaller(NR_FUTEX);
	struct timespec dl;
	clock_gettime(clock ? CLOCK_MONOTONIC : CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	errno = SENTINEL;
	long r = clock ? sem_clockwait(&s, CLOCK_MONOTONIC, &dl) : sem_timedwait(&s, &dl);
	int e = errno;
	finish(t);
	int v = -1;
	sem_getvalue(&s, &v);
	snprintf(extra, sizeof(extra), "hits=%d value=%d", (int)hits, v);
	snprintf(name, sizeof(name), "%s_eintr%s", clock ? "sem_clockwait" : "sem_timedwait",
		 restart ? "_sa_restart" : "");
	check(name, obs(got, sizeof(got), r, e, extra),
	      restart ? "ret=-1 errno=EINTR hits=1 value=1" : "ret=-1 errno=EINTR hits=1 value=0");
	sem_destroy(&s);
}

/* The handler posts the semaphore sem_timedwait waits on: the wait still fails with EINTR,
 * and the post is there afterwards. */
static void check_handler_sem_post_timed(int restart)
{
	char got[128], extra[64];
	sem_t s;
	sem_init(&s, 0, 0);
	install(restart);
	handler_sem = &s;
	pthread_t t = start_signaller(NR_FUTEX);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	errno = SENTINEL;
	long r = sem_timedwait(&s, &dl);
	int e = errno;
	finish(t);
	errno = SENTINEL;
	int tr = sem_trywait(&s);
	int te = errno;
	snprintf(extra, sizeof(extra), "hits=%d trywait=%d/%s", (int)hits, tr, err_seen(te));
	check(restart ? "handler_sem_post_timedwait_sa_restart" : "handler_sem_post_timedwait",
	      obs(got, sizeof(got), r, e, extra), "ret=-1 errno=EINTR hits=1 trywait=0/unchanged");
	sem_destroy(&s);
}

/* The handler writes on the socket recv waits on: restarted, recv gets the handler's byte;
 * without SA_RESTART, EINTR and the byte waits in the socket. */
static void check_handler_send(int restart)
{
	char buf[100], got[128], extra[64];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	install(restart);
	handler_fd = sv[1];
	pthread_t t = start_signaller(NR_RECV);
	errno = SENTINEL;
	long r = recv(sv[0], buf, io_len, 0);
	int e = errno;
	finish(t);
	char data = r == 1 ? buf[0] : '-';
	if (r < 0 && recv(sv[0], buf, io_len, MSG_DONTWAIT) == 1)
		data = (char)toupper((unsigned char)buf[0]);
	snprintf(extra, sizeof(extra), "hits=%d data=%c", (int)hits, data);
	if (restart)
		check("handler_send_recv_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=1 errno=unchanged hits=1 data=h");
	else
		check("handler_send_recv_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 data=H");
	close_pair(sv);
}

/* pause and sigsuspend return -1/EINTR once a handler ran; sigsuspend restores the mask. */
static void check_pause_sigsuspend(void)
{
	char got[128], extra[64];
	install(1);
	pthread_t t = start_signaller(NR_SUSPEND);
	errno = SENTINEL;
	long r = pause();
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("pause_eintr", obs(got, sizeof(got), r, e, extra), "ret=-1 errno=EINTR hits=1");

	sigset_t usr1, old, during, after;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	pthread_sigmask(SIG_BLOCK, NULL, &during);
	sigdelset(&during, SIGUSR1);
	install(1);
	t = start_signaller(NR_SUSPEND);
	errno = SENTINEL;
	r = sigsuspend(&during);
	e = errno;
	finish(t);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	snprintf(extra, sizeof(extra), "hits=%d usr1_blocked_after=%d", (int)hits,
		 sigismember(&after, SIGUSR1));
	check("sigsuspend_eintr", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1 usr1_blocked_after=1");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* sigwaitinfo for SIGUSR2 (blocked), interrupted by the handled SIGUSR1: EINTR even under
 * SA_RESTART. */
static void check_sigwaitinfo_eintr(void)
{
	char got[128], extra[64];
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	install(1);
	pthread_t t = start_signaller(NR_SIGWAIT);
	siginfo_t si;
	errno = SENTINEL;
	long r = sigwaitinfo(&usr2, &si);
	int e = errno;
	finish(t);
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("sigwaitinfo_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");
}

/* select, pselect, ppoll and epoll_pwait2 are never restarted, SA_RESTART or not. */
static void check_select_family(void)
{
	char got[128], extra[64];
	int p[2];
	make_pipe(p, 0);
	fd_set rd;
	struct timeval tv = { 5, 0 };
	struct timespec ts = { 5, 0 };

	install(1);
	pthread_t t = start_signaller(NR_SELECT);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	errno = SENTINEL;
	long r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("select_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");

	install(1);
	t = start_signaller(NR_SELECT);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	errno = SENTINEL;
	r = pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL);
	e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("pselect_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");

	struct pollfd pfd[4] = { { .fd = p[0], .events = POLLIN } };
	install(1);
	t = start_signaller(NR_POLL);
	errno = SENTINEL;
	r = ppoll(pfd, npoll, &ts, NULL);
	e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("ppoll_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] }, out[2];
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev))
		abort();
	install(1);
	t = start_signaller(NR_EPOLL);
	errno = SENTINEL;
	r = epoll_pwait2(ep, out, 2, &ts, NULL);
	e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("epoll_pwait2_eintr_sa_restart", obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1");
	close(ep);
	close_pair(p);
}

/* An absolute clock_nanosleep that is interrupted leaves the remaining time alone. */
static void check_clock_nanosleep_abs(void)
{
	char got[128], extra[64];
	struct timespec dl, rem = { 9, 0 };
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 5;
	install(1);
	pthread_t t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	long r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, &rem);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d rem=%ld.%09ld", (int)hits, (long)rem.tv_sec,
		 rem.tv_nsec);
	check("clock_nanosleep_abstime_eintr", obs(got, sizeof(got), r, e, extra),
	      "ret=4 errno=unchanged hits=1 rem=9.000000000");
}

/* ---- more calls that must not block: try calls, timeouts, bad arguments, short I/O ---- */

/* The threads the timeout checks wait for run until main has made its checks (a sleep,
 * however long, can be outlasted by a loaded machine's main thread). */
static sem_t checks_done;

static void *sleeper(void *arg)
{
	(void)arg;
	while (sem_wait(&checks_done) != 0)
		;
	return NULL;
}

static void *read_locker(void *arg)
{
	pthread_rwlock_t *l = arg;
	if (pthread_rwlock_rdlock(l))
		abort();
	while (sem_wait(&checks_done) != 0)
		;
	pthread_rwlock_unlock(l);
	return NULL;
}

static struct timespec in_ms(clockid_t clk, long ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_nsec += ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void check_try_and_timeouts(void)
{
	char buf[100];
	struct iovec iov[2] = { { buf, 4 }, { buf + 4, 96 } };

	/* sockets: nothing to receive, no room to send, nobody connecting */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	struct mmsghdr mm = { .msg_hdr = m };
	CALL("recvmsg_dontwait", recvmsg(sv[0], &m, MSG_DONTWAIT), "ret=-1 errno=EAGAIN");
	CALL("recvmmsg_dontwait", recvmmsg(sv[0], &mm, 1, MSG_DONTWAIT, NULL),
	     "ret=-1 errno=EAGAIN");
	CALL("readv_socket_nonblock", (fcntl(sv[0], F_SETFL, O_NONBLOCK), readv(sv[0], iov, 2)),
	     "ret=-1 errno=EAGAIN");
	static char fill[4096];
	while (send(sv[1], fill, sizeof(fill), MSG_DONTWAIT) > 0)
		;
	struct iovec fiov = { fill, sizeof(fill) };
	struct msghdr fm = { .msg_iov = &fiov, .msg_iovlen = 1 };
	CALL("sendmsg_full_dontwait", sendmsg(sv[1], &fm, MSG_DONTWAIT), "ret=-1 errno=EAGAIN");
	struct mmsghdr fmm = { .msg_hdr = fm };
	CALL("sendmmsg_full_dontwait", sendmmsg(sv[1], &fmm, 1, MSG_DONTWAIT),
	     "ret=-1 errno=EAGAIN");
	close_pair(sv);

	/* a datagram longer than the buffer: truncated, and recvmsg says so */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (send(sv[1], "0123456789", 10, 0) != 10)
		abort();
	struct iovec small = { buf, 4 };
	struct msghdr tm = { .msg_iov = &small, .msg_iovlen = 1 };
	CALL("recvmsg_truncated", recvmsg(sv[0], &tm, 0), "ret=4 errno=unchanged");
	CALL("recvmsg_msg_trunc", !!(tm.msg_flags & MSG_TRUNC), "ret=1 errno=unchanged");
	close_pair(sv);

	set_addr("nb");
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sem_addr, sem_alen) || listen(l, 4))
		abort();
	CALL("accept4_nonblock", accept4(l, NULL, NULL, SOCK_CLOEXEC), "ret=-1 errno=EAGAIN");
	close(l);
	int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CALL("recv_not_a_socket", recv(dn, buf, io_len, MSG_DONTWAIT), "ret=-1 errno=ENOTSOCK");
	close(dn);

	/* pipes: short vectored reads, RWF_NOWAIT, no positioned I/O */
	int p[2];
	make_pipe(p, 0);
	CALL("write_small", write(p[1], "0123456789", 10), "ret=10 errno=unchanged");
	CALL("readv_short", readv(p[0], iov, 2), "ret=10 errno=unchanged");
	CALL("preadv2_nowait_empty", preadv2(p[0], iov, 2, -1, RWF_NOWAIT), "ret=-1 errno=EAGAIN");
	CALL("pread_pipe", pread(p[0], buf, io_len, 0), "ret=-1 errno=ESPIPE");
	CALL("pwrite_pipe", pwrite(p[1], buf, 1, 0), "ret=-1 errno=ESPIPE");
	close_pair(p);
	make_pipe(p, O_NONBLOCK);
	fcntl(p[1], F_SETPIPE_SZ, 65536);
	static char big[128 * 1024];
	struct iovec biov[2] = { { big, 60000 }, { big + 60000, 60000 } };
	CALL("writev_nonblock_short", writev(p[1], biov, 2), "ret=65536 errno=unchanged");
	CALL("pwritev2_nonblock_full", pwritev2(p[1], biov, 2, -1, 0), "ret=-1 errno=EAGAIN");
	close_pair(p);

	/* files: a read past the end is short, then 0 */
	char path[64];
	snprintf(path, sizeof(path), "blk_semantics.file.%d.tmp", (int)getpid());
	int f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int f2 = open(path, O_RDWR | O_CLOEXEC);
	unlink(path);
	CALL("pwrite_file", pwrite(f, "0123456789", 10, 0), "ret=10 errno=unchanged");
	CALL("pread_short", pread(f, buf, io_len, 4), "ret=6 errno=unchanged");
	CALL("pread64_eof", pread64(f, buf, io_len, 10), "ret=0 errno=unchanged");
	CALL("preadv_short", preadv(f, iov, 2, 8), "ret=2 errno=unchanged");
	CALL("pread_negative_offset", pread(f, buf, io_len, -1), "ret=-1 errno=EINVAL");
	CALL("fdatasync_file", fdatasync(f), "ret=0 errno=unchanged");
	CALL("sync_file_range_bad_flags", sync_file_range(f, 0, 0, 0x100), "ret=-1 errno=EINVAL");
	CALL("fdatasync_bad_fd", fdatasync(-1), "ret=-1 errno=EBADF");
	/* record locks: an OFD lock held through another open file description */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CALL("ofd_setlk_first", fcntl(f, F_OFD_SETLK, &fl), "ret=0 errno=unchanged");
	fl.l_pid = 0;
	CALL("ofd_setlk_held", fcntl(f2, F_OFD_SETLK, &fl), "ret=-1 errno=EAGAIN");
	CALL("lockf_tlock_held_by_ofd", lockf(f2, F_TLOCK, 0), "ret=-1 errno=EAGAIN");
	CALL("lockf_test_held_by_ofd", lockf(f2, F_TEST, 0), "ret=-1 errno=EACCES");
	fl.l_type = F_UNLCK;
	CALL("ofd_unlock", fcntl(f, F_OFD_SETLK, &fl), "ret=0 errno=unchanged");
	CALL("lockf_tlock_free", lockf(f2, F_TLOCK, 0), "ret=0 errno=unchanged");
	close(f);
	close(f2);

	/* FIFOs: a nonblocking writer without a reader, a nonblocking reader */
	snprintf(fifo_path, sizeof(fifo_path), "blk_semantics.fifo.%d.tmp", (int)getpid());
	if (mkfifo(fifo_path, 0600))
		abort();
	CALL("open_fifo_wronly_nonblock", open(fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC),
	     "ret=-1 errno=ENXIO");
	int fr = open(fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	CALL("open_fifo_rdonly_nonblock", fd_ret(fr), "ret=1000 errno=unchanged");
	CALL("read_fifo_no_writer", read(fr, buf, io_len), "ret=0 errno=unchanged");
	close(fr);
	unlink(fifo_path);
	/* the mode of O_CREAT reaches the kernel (umask 022) */
	mode_t um = umask(022);
	snprintf(path, sizeof(path), "blk_semantics.mode.%d.tmp", (int)getpid());
	int mf = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	struct stat mst;
	CALL("open_creat_mode", mf >= 0 && fstat(mf, &mst) == 0 ? (long)(mst.st_mode & 0777) : -1,
	     "ret=416 errno=unchanged");
	close(mf);
	CALL("open_creat_excl_exists", open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
	     "ret=-1 errno=EEXIST");
	unlink(path);
	mf = openat(AT_FDCWD, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, 0604);
	if (mf < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) /* not on this filesystem */
		check("openat_tmpfile_mode", "no O_TMPFILE here", "no O_TMPFILE here");
	else
		CALL("openat_tmpfile_mode",
		     mf >= 0 && fstat(mf, &mst) == 0 ? (long)(mst.st_mode & 0777) : -1,
		     "ret=388 errno=unchanged");
	if (mf >= 0)
		close(mf);
	umask(um);
	CALL("open_missing", open("blk_semantics.missing", open_flags), "ret=-1 errno=ENOENT");
	CALL("openat_bad_dirfd", openat(-5, "x", open_flags), "ret=-1 errno=EBADF");

	/* readiness with timeouts */
	make_pipe(p, 0);
	struct pollfd pfd[4] = { { .fd = p[0], .events = POLLIN } };
	struct timespec ten_ms = { 0, 10000000L };
	CALL("ppoll_timeout", ppoll(pfd, npoll, &ten_ms, NULL), "ret=0 errno=unchanged");
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	CALL("pselect_timeout", pselect(p[0] + 1, &rd, NULL, NULL, &ten_ms, NULL),
	     "ret=0 errno=unchanged");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] }, out[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	struct timespec zero = { 0, 0 };
	CALL("epoll_pwait2_zero", epoll_pwait2(ep, out, 2, &zero, NULL), "ret=0 errno=unchanged");
	CALL("epoll_pwait_timeout", epoll_pwait(ep, out, 2, 10, NULL), "ret=0 errno=unchanged");
	close(ep);
	close_pair(p);

	/* semaphores with explicit clocks */
	sem_t s;
	sem_init(&s, 0, 0);
	struct timespec soon = in_ms(CLOCK_MONOTONIC, 20);
	CALL("sem_clockwait_timeout", sem_clockwait(&s, CLOCK_MONOTONIC, &soon),
	     "ret=-1 errno=ETIMEDOUT");
	CALL("sem_clockwait_bad_clock", sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &soon),
	     "ret=-1 errno=EINVAL");
	sem_post(&s);
	CALL("sem_clockwait_available", sem_clockwait(&s, CLOCK_MONOTONIC, &soon),
	     "ret=0 errno=unchanged");
	sem_destroy(&s);

	/* rwlocks: a reader holds it; writers time out, try calls fail, other readers enter */
	pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
	pthread_t t;
	sem_init(&checks_done, 0, 0);
	if (pthread_create(&t, NULL, read_locker, &rw))
		abort();
	while (pthread_rwlock_trywrlock(&rw) == 0) /* until the reader has it */
		pthread_rwlock_unlock(&rw);
	soon = in_ms(CLOCK_REALTIME, 20);
	CALL("rwlock_timedwrlock_timeout", pthread_rwlock_timedwrlock(&rw, &soon),
	     "ret=110 errno=unchanged");
	soon = in_ms(CLOCK_MONOTONIC, 20);
	CALL("rwlock_clockwrlock_timeout", pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &soon),
	     "ret=110 errno=unchanged");
	CALL("rwlock_clockwrlock_bad_clock",
	     pthread_rwlock_clockwrlock(&rw, CLOCK_PROCESS_CPUTIME_ID, &soon),
	     "ret=22 errno=unchanged");
	CALL("rwlock_trywrlock_busy", pthread_rwlock_trywrlock(&rw), "ret=16 errno=unchanged");
	CALL("rwlock_timedrdlock_shared", pthread_rwlock_timedrdlock(&rw, &soon),
	     "ret=0 errno=unchanged");
	pthread_rwlock_unlock(&rw);
	/* a bad timeout fails before the lock is looked at: shared, then free */
	struct timespec bad = { soon.tv_sec, 1000000000L };
	CALL("rwlock_timedrdlock_bad_nsec_shared", pthread_rwlock_timedrdlock(&rw, &bad),
	     "ret=22 errno=unchanged");
	sem_post(&checks_done);
	if (pthread_join(t, NULL))
		abort();
	CALL("rwlock_timedwrlock_bad_nsec_free", pthread_rwlock_timedwrlock(&rw, &bad),
	     "ret=22 errno=unchanged");
	CALL("rwlock_clockrdlock_bad_nsec_free",
	     pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &bad), "ret=22 errno=unchanged");
	CALL("rwlock_trywrlock_still_free", pthread_rwlock_trywrlock(&rw),
	     "ret=0 errno=unchanged");
	pthread_rwlock_unlock(&rw);

	/* joins: a thread that runs until the timeouts are checked */
	if (pthread_create(&t, NULL, sleeper, NULL))
		abort();
	CALL("tryjoin_running", pthread_tryjoin_np(t, NULL), "ret=16 errno=unchanged");
	soon = in_ms(CLOCK_REALTIME, 20);
	CALL("timedjoin_timeout", pthread_timedjoin_np(t, NULL, &soon), "ret=110 errno=unchanged");
	soon = in_ms(CLOCK_MONOTONIC, 20);
	CALL("clockjoin_timeout", pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &soon),
	     "ret=110 errno=unchanged");
	CALL("clockjoin_bad_clock", pthread_clockjoin_np(t, NULL, CLOCK_PROCESS_CPUTIME_ID, &soon),
	     "ret=22 errno=unchanged");
	sem_post(&checks_done);
	soon = in_ms(CLOCK_MONOTONIC, 5000);
	CALL("clockjoin_done", pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &soon),
	     "ret=0 errno=unchanged");

	/* children: WNOHANG while the child runs, then the status */
	int cp[2];
	char ch;
	make_pipe(cp, 0);
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(cp[1]);
		_exit(read(cp[0], &ch, 1) == 1 ? 3 : 4);
	}
	close(cp[0]);
	int st = 0;
	CALL("waitpid_wnohang_running", waitpid(pid, &st, WNOHANG), "ret=0 errno=unchanged");
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CALL("waitid_wnohang_running", waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG),
	     "ret=0 errno=unchanged");
	CALL("waitid_wnohang_pid", si.si_pid, "ret=0 errno=unchanged");
	if (write(cp[1], "x", 1) != 1)
		abort();
	CALL("wait4_status", wait4(pid, &st, 0, NULL) == pid ? WEXITSTATUS(st) : -1,
	     "ret=3 errno=unchanged");
	close(cp[1]);
	CALL("wait_no_child", wait(NULL), "ret=-1 errno=ECHILD");
	CALL("wait3_no_child", wait3(NULL, WNOHANG, NULL), "ret=-1 errno=ECHILD");
}

/* The program's handler and flags come back from sigaction, not a tracer's trampoline. */
static void check_sigaction_roundtrip(void)
{
	struct sigaction old;
	char got[128];
	install(1);
	memset(&old, 0, sizeof(old));
	sigaction(SIGUSR1, NULL, &old);
	snprintf(got, sizeof(got), "handler=%s restart=%d siginfo=%d",
		 old.sa_handler == on_signal ? "ours" : "other", !!(old.sa_flags & SA_RESTART),
		 !!(old.sa_flags & SA_SIGINFO));
	check("sigaction_oldact", got, "handler=ours restart=1 siginfo=0");
}

int main(void)
{
	alarm(50); /* watchdog: a call that never returns kills the run instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	main_thread = pthread_self();
	main_tid = gettid();

	check_sigaction_roundtrip();
	for (int restart = 0; restart <= 1; restart++) {
		check_read_pipe(restart);
		check_sem_wait(restart);
		check_nanosleep(restart);
		check_partial_write(restart);
		check_handler_sem_post(restart);
		check_handler_write(restart);
	}
	for (int restart = 0; restart <= 1; restart++) {
		check_recv_socket(restart);
		check_accept(restart);
		check_waitpid(restart);
		check_flock(restart);
		check_ofd_setlkw(restart);
		check_open_fifo(restart);
		check_sem_timed(0, restart);
		check_sem_timed(1, restart);
		check_handler_sem_post_timed(restart);
		check_handler_send(restart);
	}
	check_clock_nanosleep();
	check_clock_nanosleep_abs();
	check_usleep_sleep();
	check_poll_epoll();
	check_select_family();
	check_recv_timeout();
	check_pause_sigsuspend();
	check_sigwaitinfo_eintr();
	check_nonblocking();
	check_try_and_timeouts();
	check_siginterrupt();

	printf("PASS: %d failed\n", failures);
	return failures ? 1 : 0;
}
