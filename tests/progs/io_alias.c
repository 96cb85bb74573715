/* SPDX-License-Identifier: MIT */
/*
 * glibc's exported aliases of its system-call wrappers (__read, __write, __pread64,
 * __pwrite64, __send, __connect, __poll, __select, __nanosleep, __wait, __waitpid,
 * __sigsuspend, __open, __open64, __fcntl, __pipe, __dup2, __close), called through their
 * own prototypes as some programs and libraries import them, each CALLS times in its own
 * function alias_NAME, next to the plain name in plain_NAME: libctrace must count both
 * alike (same kind, same count, same fd class).
 *
 * Prints `call=NAME kind=KIND class=CLASS calls=N` per name (the test compares it with the
 * report's entries whose frames[0] is alias_NAME and plain_NAME), and
 * `fd=NAME after=FUNC class=CLASS` for the untimed fd aliases (the read in FUNC after the
 * number was replaced through the alias). On other architectures than x86_64 the __close
 * case makes its socket through socketpair, which is seen, and proves less.
 *
 * usage: io_alias
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* glibc exports these (GLIBC_2.2.5; __nanosleep GLIBC_2.2.6) without declaring them. */
ssize_t __read(int fd, void *b, size_t n);
ssize_t __write(int fd, const void *b, size_t n);
ssize_t __pread64(int fd, void *b, size_t n, off64_t o);
ssize_t __pwrite64(int fd, const void *b, size_t n, off64_t o);
ssize_t __send(int fd, const void *b, size_t n, int f);
int __connect(int fd, const struct sockaddr *a, socklen_t l);
int __poll(struct pollfd *p, nfds_t n, int t);
int __select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t);
int __nanosleep(const struct timespec *t, struct timespec *rem);
pid_t __wait(int *s);
pid_t __waitpid(pid_t p, int *s, int o);
int __sigsuspend(const sigset_t *s);
int __open(const char *path, int flags, ...);
int __open64(const char *path, int flags, ...);
int __fcntl(int fd, int cmd, ...);
int __pipe(int fds[2]);
int __dup2(int old, int new);
int __close(int fd);

#define CALLS 5

static int pfd[2], sv[2], file_fd;
static char file[64], sock[64];
static volatile sig_atomic_t got;

static void die(const char *what)
{
	fprintf(stderr, "io_alias: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void on_usr1(int s)
{
	(void)s;
	got++;
}

/* One function per name and variant: NAME(ARGS) made CALLS times. */
#define PAIR(name, plain, alias, body) \
	static void plain_##name(void) \
	{ \
		for (int i = 0; i < CALLS; i++) { \
			body(plain); \
		} \
	} \
	static void alias_##name(void) \
	{ \
		for (int i = 0; i < CALLS; i++) { \
			body(alias); \
		} \
	}

static char buf[8];
#define B_WRITE(f) \
	if (f(pfd[1], "x", 1) != 1) \
		die(#f)
#define B_READ(f) \
	if (write(pfd[1], "x", 1) != 1 || f(pfd[0], buf, 1) != 1) \
		die(#f)
#define B_PWRITE(f) \
	if (f(file_fd, "y", 1, 3) != 1) \
		die(#f)
#define B_PREAD(f) \
	if (f(file_fd, buf, 1, 3) != 1) \
		die(#f)
#define B_SEND(f) \
	if (f(sv[0], "z", 1, 0) != 1 || read(sv[1], buf, 1) != 1) \
		die(#f)
#define B_POLL(f) \
	if (f(NULL, 0, 0) != 0) \
		die(#f)
#define B_SELECT(f) \
	do { \
		struct timeval tv = { 0, 0 }; \
		if (f(0, NULL, NULL, NULL, &tv) != 0) \
			die(#f); \
	} while (0)
#define B_NANOSLEEP(f) \
	do { \
		struct timespec ts = { 0, 1000 }; \
		if (f(&ts, NULL) != 0) \
			die(#f); \
	} while (0)
#define B_WAIT(f) \
	do { \
		pid_t c = fork(); \
		if (c == 0) \
			_exit(0); \
		if (c < 0 || f(NULL) != c) \
			die(#f); \
	} while (0)
#define B_WAITPID(f) \
	do { \
		pid_t c = fork(); \
		if (c == 0) \
			_exit(0); \
		if (c < 0 || f(c, NULL, 0) != c) \
			die(#f); \
	} while (0)
#define B_SIGSUSPEND(f) \
	do { \
		sigset_t m; \
		sigemptyset(&m); \
		raise(SIGUSR1); /* blocked: pending, delivered inside sigsuspend */ \
		if (f(&m) != -1 || errno != EINTR) \
			die(#f); \
	} while (0)
#define B_OPEN(f) \
	do { \
		int fd = f("/dev/null", O_RDONLY); \
		if (fd < 0) \
			die(#f); \
		close(fd); \
	} while (0)
#define B_FCNTL(f) \
	do { \
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET }; \
		if (f(file_fd, F_SETLKW, &fl) != 0) \
			die(#f); \
	} while (0)
#define B_CONNECT(f) \
	do { \
		struct sockaddr_un sa = { .sun_family = AF_UNIX }; \
		strcpy(sa.sun_path, sock); \
		int c = socket(AF_UNIX, SOCK_STREAM, 0); \
		if (c < 0 || f(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) \
			die(#f); \
		close(c); \
	} while (0)

PAIR(write, write, __write, B_WRITE)
PAIR(read, read, __read, B_READ)
PAIR(pwrite64, pwrite64, __pwrite64, B_PWRITE)
PAIR(pread64, pread64, __pread64, B_PREAD)
PAIR(send, send, __send, B_SEND)
PAIR(poll, poll, __poll, B_POLL)
PAIR(select, select, __select, B_SELECT)
PAIR(nanosleep, nanosleep, __nanosleep, B_NANOSLEEP)
PAIR(wait, wait, __wait, B_WAIT)
PAIR(waitpid, waitpid, __waitpid, B_WAITPID)
PAIR(sigsuspend, sigsuspend, __sigsuspend, B_SIGSUSPEND)
PAIR(open, open, __open, B_OPEN)
PAIR(open64, open64, __open64, B_OPEN)
PAIR(fcntl, fcntl, __fcntl, B_FCNTL)
PAIR(connect, connect, __connect, B_CONNECT)

/* __pipe, __dup2 and __close are not timed: what they do to fd numbers must be seen. A
 * regular file is read at N (cached "file"), then N is replaced through the alias; the
 * next read at N in after_NAME must be filed under the new fd's class. */
static ssize_t after_pipe(int fd) { return read(fd, buf, 1); }
static ssize_t after_dup2(int fd) { return read(fd, buf, 1); }
static ssize_t after_close(int fd) { return read(fd, buf, 1); }

static int raw_socketpair(int sv2[2])
{
	long r = -1;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = (long)sv2;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"((long)SYS_socketpair), "D"((long)AF_UNIX),
			   "S"((long)(SOCK_STREAM | SOCK_NONBLOCK)), "d"(0L), "r"(r10)
			 : "rcx", "r11", "memory");
#else
	r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv2);
#endif
	return r == 0 ? 0 : -1;
}

static int file_at_lowest(void)
{
	int fd = open(file, O_RDONLY);
	if (fd < 0 || read(fd, buf, 1) != 1)
		die("file");
	return fd;
}

static void fd_aliases(void);

static void *calls_thread(void *arg)
{
	(void)arg;
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &usr1, NULL))
		die("pthread_sigmask");
	static const struct {
		const char *name, *kind, *cls;
		void (*plain)(void), (*alias)(void);
	} calls[] = {
		{ "write", "write", "pipe", plain_write, alias_write },
		{ "read", "read", "pipe", plain_read, alias_read },
		{ "pwrite64", "write", "file", plain_pwrite64, alias_pwrite64 },
		{ "pread64", "read", "file", plain_pread64, alias_pread64 },
		{ "send", "send", "socket", plain_send, alias_send },
		{ "poll", "poll", "none", plain_poll, alias_poll },
		{ "select", "select", "none", plain_select, alias_select },
		{ "nanosleep", "nanosleep", "none", plain_nanosleep, alias_nanosleep },
		{ "wait", "wait", "none", plain_wait, alias_wait },
		{ "waitpid", "wait", "none", plain_waitpid, alias_waitpid },
		{ "sigsuspend", "sigwait", "none", plain_sigsuspend, alias_sigsuspend },
		{ "open", "open", "none", plain_open, alias_open },
		{ "open64", "open", "none", plain_open64, alias_open64 },
		{ "fcntl", "flock", "file", plain_fcntl, alias_fcntl },
		{ "connect", "connect", "socket", plain_connect, alias_connect },
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		calls[i].plain();
		calls[i].alias();
		printf("call=%s kind=%s class=%s calls=%d\n", calls[i].name, calls[i].kind,
		       calls[i].cls, CALLS);
	}
	if (got != 2 * CALLS)
		die("SIGUSR1 not delivered in sigsuspend");
	fd_aliases();
	return NULL;
}

static void fd_aliases(void)
{
	int n = file_at_lowest(), p[2];
	close(n);
	if (__pipe(p) || p[0] != n)
		die("__pipe at the reused number");
	if (write(p[1], "x", 1) != 1)
		die("write");
	after_pipe(p[0]);
	close(p[0]);
	close(p[1]);
	printf("fd=pipe after=after_pipe class=pipe\n");

	n = file_at_lowest();
	if (__dup2(sv[0], n) != n)
		die("__dup2");
	after_dup2(n); /* nonblocking socket: EAGAIN */
	close(n);
	printf("fd=dup2 after=after_dup2 class=socket\n");

	/* __close, then a socket made at N by a raw socketpair system call, which no wrapper
	 * sees: only __close's forget tells libctrace that N is no longer the file */
	n = file_at_lowest();
	__close(n);
	int s2[2];
	if (raw_socketpair(s2) || s2[0] != n)
		die("raw socketpair at the reused number");
	after_close(n); /* nonblocking: EAGAIN */
	close(s2[0]);
	close(s2[1]);
	printf("fd=close after=after_close class=socket\n");
}

static void *calls_thread(void *arg);

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid=%d\n", (int)getpid());
	snprintf(file, sizeof(file), "/tmp/io_alias.%d", (int)getpid());
	snprintf(sock, sizeof(sock), "/tmp/io_alias.%d.sock", (int)getpid());
	file_fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file_fd < 0 || write(file_fd, "0123456789", 10) != 10)
		die("file");
	if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK))
		die("pipe/socketpair");
	int lst = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, sock);
	if (lst < 0 || bind(lst, (struct sockaddr *)&sa, sizeof(sa)) || listen(lst, 64))
		die("listen");
	struct sigaction act = { .sa_handler = on_usr1 };
	sigemptyset(&act.sa_mask);
	if (sigaction(SIGUSR1, &act, NULL))
		die("sigaction");
	/* the calls in a thread of its own, which exits when done: its call sites are all
	 * written into the trace at its exit, however many */
	pthread_t t;
	if (pthread_create(&t, NULL, calls_thread, NULL) || pthread_join(t, NULL))
		die("thread");
	close(lst);
	unlink(sock);
	unlink(file);
	return 0;
}
