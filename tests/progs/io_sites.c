/* SPDX-License-Identifier: MIT */
/*
 * Call-site counting beyond a small table: many distinct call sites of fast system calls
 * of six kinds and four fd classes, each called a known number of times, in two threads.
 *
 *  - thread "few" calls sites 0..FEW-1 (200: fewer than the 224 the per-thread table holds) and one
 *    site (mixed_read) with a pipe, a socket and a file: every (site, kind, class) must
 *    be its own SITE record with exactly REPS calls (3 * REPS for none of them: mixed_read
 *    is REPS per class), and no overflow record (site 0).
 *  - thread "many" calls every site (more than the table holds): the calls beyond it are
 *    in overflow records (site 0), one per kind and class, and the totals per kind and
 *    class over all the thread's records are exact.
 *
 * Prints, for the test to compare with `ctrace dump` (after pid=N):
 *   thread=few tid=N        thread=many tid=N
 *   expect thread=T kind=K class=C calls=N   (totals per kind and class)
 *   sites thread=few distinct=N              (distinct (site, kind, class) of "few")
 * Every call here returns at once (EAGAIN at worst): run it with a large
 * CTRACE_SYSCALL_THRESHOLD so that no call takes a stack.
 *
 * usage: io_sites
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REPS 3
#define NSITES 900 /* f1000 .. f1899 */
#define FEW 200

static int zero_fd, null_fd, file_fd, sock_fd, pipe_fd[2], sp[2];

/* kinds by n % 6: read/char, write/char, read/file (pread), recv/socket, poll/none,
 * open/none */
#define BODY(n)                                                                            \
	{                                                                                  \
		char b[4] = { 0 };                                                         \
		switch ((n) % 6) {                                                         \
		case 0: r = read(zero_fd, b, 1); break;                                    \
		case 1: r = write(null_fd, b, 1); break;                                   \
		case 2: r = pread(file_fd, b, 1, 0); break;                                \
		case 3: r = recv(sock_fd, b, 1, MSG_DONTWAIT); break;                      \
		case 4: r = poll(NULL, 0, 0); break;                                       \
		default: r = open("/dev/null", O_RDONLY); if (r >= 0) close((int)r); break; \
		}                                                                          \
	}
#define FN(n) \
	static void f##n(void) \
	{ \
		long r; \
		BODY(n) \
		(void)r; \
	}
#define PTR(n) f##n,
#define D10(m, p) m(p##0) m(p##1) m(p##2) m(p##3) m(p##4) m(p##5) m(p##6) m(p##7) m(p##8) m(p##9)
#define D100(m, p) \
	D10(m, p##0) D10(m, p##1) D10(m, p##2) D10(m, p##3) D10(m, p##4) D10(m, p##5) \
	D10(m, p##6) D10(m, p##7) D10(m, p##8) D10(m, p##9)
#define ALL(m) \
	D100(m, 10) D100(m, 11) D100(m, 12) D100(m, 13) D100(m, 14) D100(m, 15) D100(m, 16) \
	D100(m, 17) D100(m, 18)

ALL(FN)
static void (*const fns[NSITES])(void) = { ALL(PTR) };

static const char *const kind_of[6] = { "read", "write", "read", "recv", "poll", "open" };
static const char *const class_of[6] = { "char", "char", "file", "socket", "none", "none" };

/* One call site, three fd classes. */
static void mixed_read(int fd)
{
	char b[4];
	if (read(fd, b, 1) < 0 && errno != EAGAIN) {
		perror("io_sites: mixed_read");
		exit(1);
	}
}

static void expect(const char *thread, int nsites, int mixed)
{
	/* site k (function f(1000 + k)) has kind (1000 + k) % 6 */
	long calls[6] = { 0 };
	for (int k = 0; k < nsites; k++)
		calls[(1000 + k) % 6] += REPS;
	/* read/char and read/file are separate keys; both kinds 0 and 2 are "read" */
	for (int i = 0; i < 6; i++)
		printf("expect thread=%s kind=%s class=%s calls=%ld\n", thread, kind_of[i],
		       class_of[i], calls[i] + (mixed && i == 2 ? REPS : 0));
	if (mixed) {
		printf("expect thread=%s kind=read class=pipe calls=%d\n", thread, REPS);
		printf("expect thread=%s kind=read class=socket calls=%d\n", thread, REPS);
	}
}

static void *run(void *arg)
{
	long n = (long)arg;
	printf("thread=%s tid=%d\n", n == FEW ? "few" : "many", gettid());
	for (int rep = 0; rep < REPS; rep++) {
		for (long k = 0; k < n; k++)
			fns[k]();
		if (n == FEW) {
			mixed_read(pipe_fd[0]);
			mixed_read(sp[0]);
			mixed_read(file_fd);
		}
	}
	return NULL;
}

int main(void)
{
	char path[] = "/tmp/io_sites.XXXXXX";
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid=%d\n", (int)getpid());
	zero_fd = open("/dev/zero", O_RDONLY);
	null_fd = open("/dev/null", O_WRONLY);
	file_fd = mkstemp(path);
	if (zero_fd < 0 || null_fd < 0 || file_fd < 0 || write(file_fd, "x", 1) != 1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || pipe2(pipe_fd, O_NONBLOCK)) {
		perror("io_sites: setup");
		return 2;
	}
	unlink(path);
	if (fcntl(sp[0], F_SETFL, O_NONBLOCK)) {
		perror("io_sites: fcntl");
		return 2;
	}
	sock_fd = sp[1];
	/* sequentially, so that the output is in order */
	if (pthread_create(&t, NULL, run, (void *)(long)FEW) || pthread_join(t, NULL) ||
	    pthread_create(&t, NULL, run, (void *)(long)NSITES) || pthread_join(t, NULL)) {
		perror("io_sites: threads");
		return 2;
	}
	expect("few", FEW, 1);
	expect("many", NSITES, 0);
	printf("sites thread=few distinct=%d\n", FEW + 3);
	return 0;
}
