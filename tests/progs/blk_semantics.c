/* SPDX-License-Identifier: MIT */
/*
 * Semantics test program for the blocking system calls and semaphores: what a program sees
 * must not change under libctrace (DESIGN.md 4.6: results and errno are the real call's;
 * 4.5: signal handlers run normally while a wrapper waits). One line per check:
 *
 *     ok NAME: OBSERVED
 *     FAIL NAME: got OBSERVED, want EXPECTED
 *
 * OBSERVED is the return value, errno ("unchanged" when it still holds the sentinel set
 * before the call), how often the signal handler ran and whatever else the check looks at;
 * it contains no timings, so tests/bats/blocking.bats requires identical output traced and
 * untraced, and that no line says FAIL. Exit status 1 if a check failed.
 *
 * Checks: EINTR with and without SA_RESTART (read on a pipe, sem_wait, nanosleep,
 * clock_nanosleep, usleep, sleep, poll, epoll_wait, write partly done), the remaining time of
 * an interrupted nanosleep, EAGAIN/EWOULDBLOCK on nonblocking fds and try calls, short reads
 * and writes on a pipe, timeouts (sem_timedwait, sigtimedwait), and signal handlers that call
 * sem_post or write on the very object the interrupted thread waits on. The signal is sent
 * (pthread_kill) only once /proc/self/task/TID/syscall shows the main thread blocked in the
 * expected system call. Timeouts everywhere: every blocking call is ended by a helper, and
 * a watchdog alarm kills a hung run.
 *
 * Built twice: plain and build/progs/blk_semantics.fortify (reads through __read_chk).
 *
 * usage: blk_semantics
 */
#include <ctype.h>
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL 12345

/* Not const, not static: _FORTIFY_SOURCE must check reads at run time (__read_chk). */
size_t io_len = 100;

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

static const char *err_name(int e)
{
	static char buf[32];
	if (e == SENTINEL)
		return "unchanged";
	if (e == 0)
		return "0";
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
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
	snprintf(buf, n, "ret=%ld errno=%s%s%s", ret, err_name(err), extra ? " " : "",
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
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* 1: tid is blocked in one of the system calls nrs (ends with -1); 0: it is not; -1: the
 * proc file is unreadable. */
static int in_syscall(pid_t tid, const long *nrs)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!isdigit((unsigned char)buf[0]))
		return 0; /* "running", or -1: blocked outside a system call */
	long nr = strtol(buf, NULL, 10);
	for (; *nrs >= 0; nrs++)
		if (nr == *nrs)
			return 1;
	return 0;
}

/* Waits (at most 3 s) until the main thread has been seen blocked in nrs twice in a row. */
static void until_blocked(const long *nrs)
{
	int seen = 0;
	for (int i = 0; i < 3000; i++) {
		int r = in_syscall(main_tid, nrs);
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

/* Helper thread: once main blocks in one of nrs, send it SIGUSR1; 30 ms later, post
 * after_sem / write to after_fd (which ends a restarted call). */
static void *signaller(void *arg)
{
	until_blocked(arg);
	pthread_kill(main_thread, SIGUSR1);
	if (after_sem || after_fd >= 0) {
		sleep_ms(30);
		if (after_sem)
			sem_post(after_sem);
		if (after_fd >= 0 && write(after_fd, "a", 1) != 1)
			abort();
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

static void check_read_pipe(int restart)
{
	char buf[100], got[128], extra[64];
	int p[2];
	make_pipe(p, 0);
	install(restart);
	if (restart)
		after_fd = p[1];
	pthread_t t = start_signaller(NR_READ);
	errno = SENTINEL;
	long r = read(p[0], buf, io_len);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d data=%c", (int)hits, r == 1 ? buf[0] : '-');
	if (restart)
		check("read_pipe_sa_restart", obs(got, sizeof(got), r, e, extra),
		      "ret=1 errno=unchanged hits=1 data=a");
	else
		check("read_pipe_eintr", obs(got, sizeof(got), r, e, extra),
		      "ret=-1 errno=EINTR hits=1 data=-");
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

/* nanosleep is never restarted (signal(7)); the remaining time is what was left. */
static void check_nanosleep(int restart)
{
	char got[128], extra[64];
	struct timespec req = { 0, 500000000L }, rem = { 9, 0 };
	install(restart);
	pthread_t t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	long r = nanosleep(&req, &rem);
	int e = errno;
	finish(t);
	long rem_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
	snprintf(extra, sizeof(extra), "hits=%d rem_in_200_500ms=%s", (int)hits,
		 rem_ms > 200 && rem_ms < 500 ? "yes" : "no");
	check(restart ? "nanosleep_eintr_sa_restart" : "nanosleep_eintr",
	      obs(got, sizeof(got), r, e, extra),
	      "ret=-1 errno=EINTR hits=1 rem_in_200_500ms=yes");
}

/* clock_nanosleep returns the error and leaves errno alone. */
static void check_clock_nanosleep(void)
{
	char got[128], extra[64];
	struct timespec req = { 0, 500000000L }, rem = { 9, 0 };
	install(1);
	pthread_t t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	long r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	int e = errno;
	finish(t);
	long rem_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
	snprintf(extra, sizeof(extra), "hits=%d rem_in_200_500ms=%s", (int)hits,
		 rem_ms > 200 && rem_ms < 500 ? "yes" : "no");
	check("clock_nanosleep_eintr", obs(got, sizeof(got), r, e, extra),
	      "ret=4 errno=unchanged hits=1 rem_in_200_500ms=yes");
}

static void check_usleep_sleep(void)
{
	char got[128], extra[64];
	install(1);
	pthread_t t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	long r = usleep(500000);
	int e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("usleep_eintr", obs(got, sizeof(got), r, e, extra), "ret=-1 errno=EINTR hits=1");

	install(1);
	t = start_signaller(NR_SLEEP);
	errno = SENTINEL;
	r = sleep(2); /* returns the whole seconds left */
	e = errno;
	finish(t);
	snprintf(extra, sizeof(extra), "hits=%d", (int)hits);
	check("sleep_interrupted", obs(got, sizeof(got), r, e, extra),
	      "ret=1 errno=EINTR hits=1");
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
	snprintf(extra, sizeof(extra), "hits=%d trywait=%d/%s", (int)hits, tr, err_name(te));
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
	pthread_t t = start_signaller(NR_READ);
	errno = SENTINEL;
	long r = read(p[0], buf, io_len);
	int e = errno;
	finish(t);
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
	alarm(30); /* watchdog: a call that never returns kills the run instead of hanging it */
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
	check_clock_nanosleep();
	check_usleep_sleep();
	check_poll_epoll();
	check_nonblocking();

	printf("PASS: %d failed\n", failures);
	return failures ? 1 : 0;
}
