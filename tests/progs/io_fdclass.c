/* SPDX-License-Identifier: MIT */
/*
 * fd numbers reused through every path: the class a traced read is filed under must be
 * what the fd is now, not what the number was. Each case puts a regular file at number N,
 * reads it once (libctrace caches "file" for N), then
 *
 *  - close paths: closes N through the path under test (close, syscall(SYS_close),
 *    syscall(SYS_close_range), close_range, closefrom, fclose, closedir, freopen, a dup2 or
 *    dup3 onto N) and makes a socket at N with a raw socketpair system call (inline
 *    `syscall` instruction: no wrapper sees it), unless the path itself puts the new fd
 *    there (dup2, dup3, freopen);
 *  - create paths: closes N with a raw close system call (unseen) and makes the new fd
 *    through the path under test (socket, socketpair, accept, accept4, pipe, pipe2,
 *    eventfd, timerfd_create, signalfd, epoll_create, epoll_create1, inotify_init1,
 *    memfd_create, dup, fcntl F_DUPFD, open, fopen, opendir, creat, recvmsg SCM_RIGHTS);
 *  - fork: N reused with raw close and raw socketpair in the parent (both unseen), then
 *    the fork child reads it (the child's trace: its cache starts empty).
 *
 * then reads N in read_after_CASE (one function per case: the report's frames[0]) and
 * prints `case=CASE class=CLASS` (the class expected). Every read returns at once (data
 * ready, O_NONBLOCK or an error): run it with a large CTRACE_SYSCALL_THRESHOLD, so that
 * the class comes from the cache, not from the slow path's fresh check. The fork case
 * prints `child=PID` (its trace file is the child's).
 *
 * x86_64 only (raw system calls); elsewhere it prints `skip` and exits 0.
 *
 * usage: io_fdclass
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raw_syscall.h"

static char dir[64], file[96];

static void die(const char *what)
{
	fprintf(stderr, "io_fdclass: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A regular file at the lowest free number, read once: libctrace now says "file". */
static int file_at_lowest(void)
{
	int fd = open(file, O_RDONLY);
	char b[4];
	if (fd < 0)
		die("open file");
	if (read(fd, b, 1) != 1)
		die("read file");
	return fd;
}

/* Unseen socket at the lowest free number (the socketpair's other end stays open). */
static int raw_socket_at_lowest(void)
{
	int sv[2];
	if (raw(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, (long)sv) != 0)
		die("raw socketpair");
	return sv[0];
}

static void same(int got, int want, const char *c)
{
	if (got != want) {
		fprintf(stderr, "io_fdclass: %s: new fd %d, not the reused %d\n", c, got, want);
		exit(1);
	}
}

#define READ_AFTER(name) \
	static ssize_t read_after_##name(int fd) \
	{ \
		char b[16]; \
		return read(fd, b, sizeof(b)); \
	}
READ_AFTER(close)
READ_AFTER(syscall_close)
READ_AFTER(syscall_close_range)
READ_AFTER(close_range)
READ_AFTER(closefrom)
READ_AFTER(fclose)
READ_AFTER(closedir)
READ_AFTER(freopen)
READ_AFTER(dup2)
READ_AFTER(dup3)
READ_AFTER(socket)
READ_AFTER(socketpair)
READ_AFTER(accept)
READ_AFTER(accept4)
READ_AFTER(pipe)
READ_AFTER(pipe2)
READ_AFTER(eventfd)
READ_AFTER(timerfd_create)
READ_AFTER(signalfd)
READ_AFTER(epoll_create)
READ_AFTER(epoll_create1)
READ_AFTER(inotify_init1)
READ_AFTER(memfd_create)
READ_AFTER(dup)
READ_AFTER(fcntl_dupfd)
READ_AFTER(open)
READ_AFTER(fopen)
READ_AFTER(opendir)
READ_AFTER(creat)
READ_AFTER(recvmsg)
READ_AFTER(fork_child)

/* Reads n in read_after_<name> and says what class it must be filed under. */
#define CHECK(name, fd, cls) \
	do { \
		read_after_##name(fd); \
		printf("case=%s class=%s\n", #name, cls); \
	} while (0)

/* ---- close paths: N closed by the path, a socket made there unseen ---- */
static void close_paths(void)
{
	int n, s;

	n = file_at_lowest();
	close(n);
	same(s = raw_socket_at_lowest(), n, "close");
	CHECK(close, s, "socket");
	close(s);

	n = file_at_lowest();
	syscall(SYS_close, n);
	same(s = raw_socket_at_lowest(), n, "syscall_close");
	CHECK(syscall_close, s, "socket");
	close(s);

	n = file_at_lowest();
	syscall(SYS_close_range, n, n, 0);
	same(s = raw_socket_at_lowest(), n, "syscall_close_range");
	CHECK(syscall_close_range, s, "socket");
	close(s);

	n = file_at_lowest();
	if (close_range((unsigned)n, (unsigned)n, 0))
		die("close_range");
	same(s = raw_socket_at_lowest(), n, "close_range");
	CHECK(close_range, s, "socket");
	close(s);

	FILE *f = fopen(file, "r");
	if (!f)
		die("fopen");
	n = fileno(f);
	char b[4];
	if (read(n, b, 1) != 1)
		die("read stream fd");
	fclose(f);
	same(s = raw_socket_at_lowest(), n, "fclose");
	CHECK(fclose, s, "socket");
	close(s);

	DIR *d = opendir(dir);
	if (!d)
		die("opendir");
	n = dirfd(d);
	read(n, b, 1); /* EISDIR: learns "dir" */
	closedir(d);
	same(s = raw_socket_at_lowest(), n, "closedir");
	CHECK(closedir, s, "socket");
	close(s);

	/* freopen closes the stream's fd and opens the new file at the same number */
	f = fopen(file, "r");
	if (!f)
		die("fopen");
	n = fileno(f);
	if (read(n, b, 1) != 1)
		die("read stream fd");
	if (!freopen("/dev/zero", "r", f))
		die("freopen");
	same(fileno(f), n, "freopen");
	CHECK(freopen, n, "char");
	fclose(f);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		die("socketpair");
	n = file_at_lowest();
	if (dup2(sv[0], n) != n)
		die("dup2");
	CHECK(dup2, n, "socket");
	close(n);
	n = file_at_lowest();
	if (dup3(sv[0], n, O_CLOEXEC) != n)
		die("dup3");
	CHECK(dup3, n, "socket");
	close(n);
	close(sv[0]);
	close(sv[1]);
}

/* ---- create paths: N closed unseen, the new fd made by the path ---- */
static int reuse(void)
{
	int n = file_at_lowest();
	if (raw(SYS_close, n, 0, 0, 0) != 0)
		die("raw close");
	return n;
}

static void create_paths(void)
{
	int n, fd, sv[2];
	char b[4];

	/* the listener and the client first, so that accept's fd is the reused number */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	int lst = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lst < 0 || bind(lst, (struct sockaddr *)&sa, sizeof(sa)) || listen(lst, 4))
		die("listen");
	int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c1 < 0 || c2 < 0 || connect(c1, (struct sockaddr *)&sa, sizeof(sa)) ||
	    connect(c2, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");

	n = reuse();
	same(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0), n, "socket");
	CHECK(socket, fd, "socket");
	close(fd);

	n = reuse();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		die("socketpair");
	same(sv[0], n, "socketpair");
	CHECK(socketpair, sv[0], "socket");
	close(sv[0]);
	close(sv[1]);

	n = reuse();
	same(fd = accept(lst, NULL, NULL), n, "accept");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	CHECK(accept, fd, "socket");
	close(fd);

	n = reuse();
	same(fd = accept4(lst, NULL, NULL, SOCK_NONBLOCK), n, "accept4");
	CHECK(accept4, fd, "socket");
	close(fd);

	n = reuse();
	if (pipe(sv))
		die("pipe");
	same(sv[0], n, "pipe");
	if (write(sv[1], "x", 1) != 1)
		die("write pipe");
	CHECK(pipe, sv[0], "pipe");
	close(sv[0]);
	close(sv[1]);

	n = reuse();
	if (pipe2(sv, O_NONBLOCK))
		die("pipe2");
	same(sv[0], n, "pipe2");
	CHECK(pipe2, sv[0], "pipe");
	close(sv[0]);
	close(sv[1]);

	n = reuse();
	same(fd = eventfd(0, EFD_NONBLOCK), n, "eventfd");
	CHECK(eventfd, fd, "event");
	close(fd);

	n = reuse();
	same(fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), n, "timerfd_create");
	CHECK(timerfd_create, fd, "event");
	close(fd);

	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	n = reuse();
	same(fd = signalfd(-1, &m, SFD_NONBLOCK), n, "signalfd");
	CHECK(signalfd, fd, "event");
	close(fd);

	n = reuse();
	same(fd = epoll_create(1), n, "epoll_create");
	CHECK(epoll_create, fd, "event"); /* read on an epoll fd: EINVAL */
	close(fd);

	n = reuse();
	same(fd = epoll_create1(EPOLL_CLOEXEC), n, "epoll_create1");
	CHECK(epoll_create1, fd, "event");
	close(fd);

	n = reuse();
	same(fd = inotify_init1(IN_NONBLOCK), n, "inotify_init1");
	CHECK(inotify_init1, fd, "event");
	close(fd);

	n = reuse();
	same(fd = memfd_create("io_fdclass", 0), n, "memfd_create");
	CHECK(memfd_create, fd, "file");
	close(fd);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		die("socketpair");
	n = reuse();
	same(fd = dup(sv[0]), n, "dup");
	CHECK(dup, fd, "socket");
	close(fd);
	n = reuse();
	same(fd = fcntl(sv[0], F_DUPFD, 0), n, "fcntl_dupfd");
	CHECK(fcntl_dupfd, fd, "socket");
	close(fd);

	n = reuse();
	same(fd = open("/dev/zero", O_RDONLY), n, "open");
	CHECK(open, fd, "char");
	close(fd);

	n = reuse();
	FILE *f = fopen("/dev/zero", "r");
	if (!f)
		die("fopen");
	same(fileno(f), n, "fopen");
	CHECK(fopen, fileno(f), "char");
	fclose(f);

	n = reuse();
	DIR *d = opendir(dir);
	if (!d)
		die("opendir");
	same(dirfd(d), n, "opendir");
	CHECK(opendir, dirfd(d), "dir");
	closedir(d);

	n = reuse();
	same(fd = creat("/dev/null", 0600), n, "creat");
	CHECK(creat, fd, "char");
	close(fd);

	/* a pipe's read end passed over the socketpair arrives at the reused number */
	int p[2];
	if (pipe2(p, O_NONBLOCK))
		die("pipe2");
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	if (sendmsg(sv[1], &mh, 0) != 1)
		die("sendmsg");
	close(p[0]);
	n = reuse();
	iov.iov_base = b;
	mh.msg_controllen = sizeof(ctl.buf);
	if (recvmsg(sv[0], &mh, 0) != 1)
		die("recvmsg");
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		die("no SCM_RIGHTS");
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	same(fd, n, "recvmsg");
	CHECK(recvmsg, fd, "pipe");
	close(fd);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(c1);
	close(c2);
	close(lst);
}

/* ---- fork: the parent's cache is wrong about N (both changes unseen); the child's
 * starts empty ---- */
static void fork_child(void)
{
	int n = file_at_lowest();
	if (raw(SYS_close, n, 0, 0, 0) != 0)
		die("raw close");
	int s = raw_socket_at_lowest();
	same(s, n, "fork");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		CHECK(fork_child, s, "socket");
		fflush(stdout);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("child");
	printf("child=%d\n", (int)pid);
	close(s);
}

/* Every case in a thread of its own, which exits when done: the thread's call sites are
 * all written into the trace at its exit, however many (a thread alive at the end of the
 * process has a bounded part of a big table in the last snapshot; see preload/README.md). */
static void *cases(void *arg)
{
	(void)arg;
	close_paths();
	create_paths();
	fork_child();
	/* closefrom last: it closes every fd above N */
	int n = file_at_lowest();
	closefrom(n);
	int s = raw_socket_at_lowest();
	same(s, n, "closefrom");
	CHECK(closefrom, s, "socket");
	close(s);
	return NULL;
}

int main(void)
{
#if !defined(__x86_64__)
	puts("skip");
	return 0;
#else
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid=%d\n", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/io_fdclass.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(file, sizeof(file), "%s/f", dir);
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		die("create file");
	close(fd);
	if (pthread_create(&t, NULL, cases, NULL) || pthread_join(t, NULL))
		die("thread");
	char sock[96];
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	unlink(sock);
	unlink(file);
	rmdir(dir);
	return 0;
#endif
}
