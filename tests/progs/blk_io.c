/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for the syscall and sleep profiles: read on an empty
 * pipe, write on a full one, fsync of a file in the working directory, waitpid on a child, flock and fcntl(F_SETLKW)
 * contention with a child process, sigwait and sigtimedwait, and the sleeps (nanosleep,
 * clock_nanosleep, usleep, sleep). For each call the main thread makes REPS calls that
 * block about HOLD_MS each (a helper thread or child process writes, exits, unlocks or
 * signals after HOLD_MS; fsync takes what the disk takes; sleep(1) is called once),
 * measures each call with CLOCK_MONOTONIC and prints
 *
 *     FAMILY_calls=N         calls measured
 *     FAMILY_total_ns=N      the sum of their durations
 *
 * plus one line per family without numbers that depend on timing (the bats test compares
 * the rest of the output traced and untraced). tests/bats/blocking.bats compares the totals
 * with the profile entries at the lines marked FAMILY-SITE.
 *
 * Built twice: plain (-O1) and build/progs/blk_io.fortify (-O2 -D_FORTIFY_SOURCE=2), where
 * the reads become __read_chk (a buffer of known size, a length the compiler cannot see).
 * Files: blk_io.*.tmp in the working directory, removed at exit. A watchdog alarm ends a
 * hung run.
 *
 * usage: blk_io [REPS [HOLD_MS]]   defaults: 5 20
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int reps = 5;
static long hold_ms = 20;

/* Not const, not static: _FORTIFY_SOURCE must check reads at run time (__read_chk). */
size_t io_len = 16;

static int pipe_w;            /* the pipe end the helper writes */
static pthread_t main_thread; /* where the helper sends signals */
static char fsync_path[64], lock_path[64];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cleanup(void)
{
	unlink(fsync_path);
	unlink(lock_path);
}

static void die(const char *what)
{
	fprintf(stderr, "blk_io: %s: %s\n", what, strerror(errno));
	cleanup();
	exit(1);
}

static struct timespec hold_ts(void)
{
	struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
	return ts;
}

static void hold(void)
{
	struct timespec ts = hold_ts();
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

/* Waits for a child that is not the measured one; it must have exited with status 0. */
static void reap_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("child");
}

static void result(const char *family, int calls, uint64_t total)
{
	printf("%s: %d calls done\n", family, calls);
	printf("%s_calls=%d\n", family, calls);
	printf("%s_total_ns=%llu\n", family, (unsigned long long)total);
}

/* ---- read on a pipe ---- */

static void *late_write(void *arg)
{
	(void)arg;
	hold();
	if (write(pipe_w, "x", 1) != 1)
		die("write (pipe)");
	return NULL;
}

static uint64_t pipe_read_once(int fd)
{
	char buf[64];
	uint64_t t0 = now_ns();
	ssize_t r = read(fd, buf, io_len); /* PIPE-READ-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("read (pipe)");
	return d;
}

static void test_pipe(void)
{
	int p[2];
	uint64_t total = 0;
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	pipe_w = p[1];
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_write);
		total += pipe_read_once(p[0]);
		reap(t);
	}
	close(p[0]);
	close(p[1]);
	result("pipe_read", reps, total);
}

/* ---- write on a full pipe: the helper empties it after HOLD_MS ---- */

static int pipe_r; /* the pipe end the helper reads */

static void *late_read(void *arg)
{
	(void)arg;
	static char buf[65536];
	hold();
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t r = read(pipe_r, buf, sizeof(buf) - got);
		if (r <= 0)
			die("read (full pipe)");
		got += (size_t)r;
	}
	return NULL;
}

static uint64_t pipe_write_once(int fd)
{
	uint64_t t0 = now_ns();
	ssize_t r = write(fd, "w", 1); /* PIPE-WRITE-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("write (full pipe)");
	return d;
}

static void test_pipe_write(void)
{
	static char fill[65536];
	int p[2];
	char c;
	uint64_t total = 0;
	if (pipe2(p, O_CLOEXEC) || fcntl(p[1], F_SETPIPE_SZ, (int)sizeof(fill)) < 0)
		die("pipe");
	pipe_r = p[0];
	for (int i = 0; i < reps; i++) {
		if (write(p[1], fill, sizeof(fill)) != (ssize_t)sizeof(fill)) /* full now */
			die("write (fill)");
		pthread_t t = helper(late_read);
		total += pipe_write_once(p[1]);
		reap(t);
		if (read(p[0], &c, 1) != 1)
			die("read (pipe)");
	}
	close(p[0]);
	close(p[1]);
	result("pipe_write", reps, total);
}

/* ---- fsync: 256 KiB of new data before each ---- */

static uint64_t fsync_once(int fd)
{
	uint64_t t0 = now_ns();
	int r = fsync(fd); /* FSYNC-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("fsync");
	return d;
}

static void test_fsync(void)
{
	static char block[256 * 1024];
	uint64_t total = 0;
	int fd = open(fsync_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open (fsync file)");
	for (int i = 0; i < reps; i++) {
		memset(block, 'a' + i, sizeof(block));
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			die("write (fsync file)");
		total += fsync_once(fd);
	}
	close(fd);
	result("fsync", reps, total);
}

/* ---- waitpid on a child that exits after HOLD_MS ---- */

static uint64_t waitpid_once(pid_t pid)
{
	int st;
	uint64_t t0 = now_ns();
	pid_t r = waitpid(pid, &st, 0); /* WAITPID-SITE */
	uint64_t d = now_ns() - t0;
	if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("waitpid");
	return d;
}

static void test_waitpid(void)
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			hold();
			_exit(0);
		}
		total += waitpid_once(pid);
	}
	result("waitpid", reps, total);
}

/* ---- flock and fcntl(F_SETLKW): a child holds the lock for HOLD_MS ---- */

/* Child: takes the lock on its own open file description, says so on `ready`, holds it. */
static void lock_holder(int ready, int posix)
{
	int fd = open(lock_path, O_RDWR | O_CLOEXEC);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fd < 0 || (posix ? fcntl(fd, F_SETLK, &fl) : flock(fd, LOCK_EX | LOCK_NB)))
		_exit(3);
	if (write(ready, "r", 1) != 1)
		_exit(4);
	hold();
	fl.l_type = F_UNLCK;
	if (posix ? fcntl(fd, F_SETLK, &fl) : flock(fd, LOCK_UN))
		_exit(5);
	_exit(0);
}

/* Forks the lock holder and waits until it holds the lock. */
static pid_t locked_by_child(int posix)
{
	int p[2];
	char c;
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[0]);
		lock_holder(p[1], posix);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("lock holder did not start");
	close(p[0]);
	return pid;
}

static uint64_t flock_once(int fd)
{
	uint64_t t0 = now_ns();
	int r = flock(fd, LOCK_EX); /* FLOCK-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("flock");
	flock(fd, LOCK_UN);
	return d;
}

static uint64_t fcntl_once(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	uint64_t t0 = now_ns();
	int r = fcntl(fd, F_SETLKW, &fl); /* FCNTL-SETLKW-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("fcntl(F_SETLKW)");
	fl.l_type = F_UNLCK;
	fcntl(fd, F_SETLK, &fl);
	return d;
}

static void test_locks(void)
{
	uint64_t fl_total = 0, fc_total = 0;
	int fd = open(lock_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open (lock file)");
	for (int i = 0; i < reps; i++) {
		pid_t pid = locked_by_child(0);
		fl_total += flock_once(fd);
		reap_child(pid);
	}
	result("flock", reps, fl_total);
	for (int i = 0; i < reps; i++) {
		pid_t pid = locked_by_child(1);
		fc_total += fcntl_once(fd);
		reap_child(pid);
	}
	result("fcntl_setlkw", reps, fc_total);
	close(fd);
}

/* ---- sigwait, sigtimedwait: SIGUSR1 is blocked in every thread ---- */

static void *late_signal(void *arg)
{
	(void)arg;
	hold();
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

static uint64_t sigwait_once(const sigset_t *set)
{
	int sig = 0;
	uint64_t t0 = now_ns();
	int r = sigwait(set, &sig); /* SIGWAIT-SITE */
	uint64_t d = now_ns() - t0;
	if (r || sig != SIGUSR1)
		die("sigwait");
	return d;
}

static uint64_t sigtimedwait_once(const sigset_t *set)
{
	struct timespec to = { 5, 0 };
	uint64_t t0 = now_ns();
	int r = sigtimedwait(set, NULL, &to); /* SIGTIMEDWAIT-SITE */
	uint64_t d = now_ns() - t0;
	if (r != SIGUSR1)
		die("sigtimedwait");
	return d;
}

static void test_sigwait(void)
{
	sigset_t set;
	uint64_t sw = 0, stw = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_signal);
		sw += sigwait_once(&set);
		reap(t);
	}
	result("sigwait", reps, sw);
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_signal);
		stw += sigtimedwait_once(&set);
		reap(t);
	}
	result("sigtimedwait", reps, stw);
}

/* ---- sleeps ---- */

static uint64_t nanosleep_once(void)
{
	struct timespec ts = hold_ts();
	uint64_t t0 = now_ns();
	int r = nanosleep(&ts, NULL); /* NANOSLEEP-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("nanosleep");
	return d;
}

static uint64_t clock_nanosleep_once(void)
{
	struct timespec ts = hold_ts();
	uint64_t t0 = now_ns();
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL); /* CLOCK-NANOSLEEP-SITE */
	uint64_t d = now_ns() - t0;
	if (r) {
		errno = r;
		die("clock_nanosleep");
	}
	return d;
}

static uint64_t usleep_once(void)
{
	uint64_t t0 = now_ns();
	int r = usleep((useconds_t)hold_ms * 1000); /* USLEEP-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("usleep");
	return d;
}

static uint64_t sleep_once(void)
{
	uint64_t t0 = now_ns();
	unsigned r = sleep(1); /* SLEEP-SITE */
	uint64_t d = now_ns() - t0;
	if (r)
		die("sleep");
	return d;
}

static void test_sleeps(void)
{
	uint64_t ns = 0, cns = 0, us = 0;
	for (int i = 0; i < reps; i++)
		ns += nanosleep_once();
	result("nanosleep", reps, ns);
	for (int i = 0; i < reps; i++)
		cns += clock_nanosleep_once();
	result("clock_nanosleep", reps, cns);
	for (int i = 0; i < reps; i++)
		us += usleep_once();
	result("usleep", reps, us);
	result("sleep", 1, sleep_once());
}

int main(int argc, char **argv)
{
	if (argc > 1)
		reps = atoi(argv[1]);
	if (argc > 2)
		hold_ms = atol(argv[2]);
	if (reps < 1 || reps > 1000 || hold_ms < 1 || hold_ms > 1000) {
		fprintf(stderr, "usage: blk_io [REPS [HOLD_MS]]\n");
		return 2;
	}
	alarm(30); /* watchdog: a hung call kills the run instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	main_thread = pthread_self();
	snprintf(fsync_path, sizeof(fsync_path), "blk_io.fsync.%d.tmp", (int)getpid());
	snprintf(lock_path, sizeof(lock_path), "blk_io.lock.%d.tmp", (int)getpid());
	printf("reps=%d hold_ms=%ld\n", reps, hold_ms);
	test_pipe();
	test_pipe_write();
	test_fsync();
	test_waitpid();
	test_locks();
	test_sigwait();
	test_sleeps();
	cleanup();
	return 0;
}
