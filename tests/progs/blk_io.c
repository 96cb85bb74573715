/* SPDX-License-Identifier: MIT */
/*
 * Test program that knows the answer, for the syscall and sleep profiles:
 *
 *   pipes    read, readv, preadv2(offset -1) on an empty pipe; write, writev,
 *            pwritev2(offset -1) on a full one
 *   files    pread, pread64, preadv, pwrite, pwrite64, pwritev of 16 MiB with O_DIRECT
 *            and O_DSYNC in SYNC_DIR: each waits milliseconds for the disk
 *   syncs    fsync, fdatasync, sync_file_range of 32 MiB of new data, in SYNC_DIR
 *   children waitpid, wait, wait3, wait4, waitid on a child that exits on cue
 *   locks    flock, fcntl(F_SETLKW), fcntl(F_OFD_SETLKW), lockf(F_LOCK) held by a child
 *   signals  sigwait, sigtimedwait, sigwaitinfo, sigsuspend, pause
 *   open     open and openat of a FIFO that has no writer yet
 *   sleeps   nanosleep, clock_nanosleep, usleep, sleep
 *
 * For each call the main thread makes REPS calls (sleep(1) once), measures each with
 * CLOCK_MONOTONIC and prints
 *
 *     FAMILY_calls=N         calls measured
 *     FAMILY_total_ns=N      the sum of their durations
 *     FAMILY_rq_ns=N         the time it waited for a CPU in those calls it was preempted in
 *
 * plus one line per family without numbers that depend on timing (the bats test compares
 * the rest of the output traced and untraced). tests/bats/blocking.bats compares the totals
 * with the profile entries at the lines marked FAMILY-SITE.
 *
 * Contention never depends on sleep timing: the thread or child that ends a wait (writes,
 * drains, exits, unlocks, signals, opens the FIFO's other end) does so only after a helper
 * thread has seen the main thread blocked in the expected system call on the expected fd
 * (/proc/self/task/TID/syscall), and then HOLD_MS later. The file reads, writes and syncs
 * wait for the disk long enough (milliseconds) that the tracer's microseconds per call stay
 * far below the 5% the test allows. They sleep in the kernel rather than copy: a call that
 * burns its time slice inside the kernel is often preempted on its way out, between the
 * tracer's clock and the program's, which a loaded machine turns into whole milliseconds.
 * A throwaway slow call (a 2 ms sleep, its time printed as warmup_total_ns: main's only
 * sleep besides the measured ones) first warms the main thread's stack capture. tmpfs has
 * no disk to wait for (fsync returns at once), so SYNC_DIR should be on a disk filesystem.
 *
 * Built twice: plain (-O1) and build/progs/blk_io.fortify (-O2 -D_FORTIFY_SOURCE=2), where
 * read, pread, pread64, open and openat become __read_chk, __pread_chk, __pread64_chk,
 * __open_2 and __openat_2 (buffers of known size, lengths and flags the compiler cannot
 * see). Files: blk_io.*.tmp in the working directory and in SYNC_DIR, removed at exit. A
 * watchdog alarm ends a hung run.
 *
 * usage: blk_io [REPS [HOLD_MS [SYNC_DIR]]]   defaults: 5 20 .
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blk_util.h"

#define BIG (32u << 20)    /* bytes of new data per sync */
#define DIRECT (16u << 20) /* bytes per O_DIRECT read or write */

static int reps = 5;
static long hold_ms = 20;
static const char *sync_dir = ".";

/* Not const, not static: _FORTIFY_SOURCE must check these calls at run time (__read_chk,
 * __pread_chk, __pread64_chk, __open_2, __openat_2). */
size_t io_len = 16;
size_t direct_len = DIRECT;
int open_flags = O_RDONLY | O_CLOEXEC;

static pthread_t main_thread; /* where the helpers send signals */
static pid_t main_tid;
static char data_path[4200], sync_path[4200], lock_path[64], fifo_path[64];
static char big[BIG] __attribute__((aligned(4096))); /* O_DIRECT wants aligned buffers */

static void cleanup(void)
{
	unlink(data_path);
	unlink(sync_path);
	unlink(lock_path);
	unlink(fifo_path);
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

#ifndef SYS_pause
#define SYS_pause (-2L)
#endif
#ifndef SYS_open
#define SYS_open (-2L)
#endif
static const long NR_READ[] = { SYS_read, SYS_readv, SYS_preadv2, -1 };
static const long NR_WRITE[] = { SYS_write, SYS_writev, SYS_pwritev2, -1 };
static const long NR_WAIT[] = { SYS_wait4, SYS_waitid, -1 };
static const long NR_LOCK[] = { SYS_flock, SYS_fcntl, -1 };
static const long NR_SIGWAIT[] = { SYS_rt_sigtimedwait, -1 };
static const long NR_SIGSUSPEND[] = { SYS_rt_sigsuspend, SYS_pause, -1 };
static const long NR_OPEN[] = { SYS_openat, SYS_open, -1 };

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

/* ---- threads, children, results ---- */

/* What a helper thread waits for before it acts, and what it acts on. */
struct cue {
	const long *nrs; /* main blocked in one of these ... */
	long fd;         /* ... on this fd (-1: any) */
	int peer;        /* the fd the helper acts on */
	int sig;         /* the signal it sends */
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
	print_totals(family, calls, total);
}

/* Helper: once main blocks, HOLD_MS later, writes a byte to c->peer. */
static void *late_write(void *arg)
{
	struct cue *c = arg;
	until_blocked(c->nrs, c->fd);
	hold();
	if (write(c->peer, "x", 1) != 1)
		die("write (cue)");
	return NULL;
}

/* ---- reads on an empty pipe ---- */

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

static uint64_t pipe_readv_once(int fd)
{
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	uint64_t t0 = now_ns();
	ssize_t r = readv(fd, &iov, 1); /* PIPE-READV-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("readv (pipe)");
	return d;
}

static uint64_t pipe_preadv2_once(int fd)
{
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	uint64_t t0 = now_ns();
	ssize_t r = preadv2(fd, &iov, 1, -1, 0); /* PIPE-PREADV2-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("preadv2 (pipe)");
	return d;
}

static void pipe_read_family(const char *family, uint64_t (*once)(int))
{
	int p[2];
	uint64_t total = 0;
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	struct cue c = { NR_READ, p[0], p[1], 0 };
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_write, &c);
		total += MEASURED(once(p[0]));
		reap(t);
	}
	close(p[0]);
	close(p[1]);
	result(family, reps, total);
}

/* ---- writes on a full pipe: the helper empties it once main blocks ---- */

#define PIPE_SZ 65536

static void *late_drain(void *arg)
{
	static char buf[PIPE_SZ];
	struct cue *c = arg;
	until_blocked(c->nrs, c->fd);
	hold();
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t r = read(c->peer, buf, sizeof(buf) - got);
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

static uint64_t pipe_writev_once(int fd)
{
	struct iovec iov = { "w", 1 };
	uint64_t t0 = now_ns();
	ssize_t r = writev(fd, &iov, 1); /* PIPE-WRITEV-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("writev (full pipe)");
	return d;
}

static uint64_t pipe_pwritev2_once(int fd)
{
	struct iovec iov = { "w", 1 };
	uint64_t t0 = now_ns();
	ssize_t r = pwritev2(fd, &iov, 1, -1, 0); /* PIPE-PWRITEV2-SITE */
	uint64_t d = now_ns() - t0;
	if (r != 1)
		die("pwritev2 (full pipe)");
	return d;
}

static void pipe_write_family(const char *family, uint64_t (*once)(int))
{
	static char fill[PIPE_SZ];
	int p[2];
	char ch;
	uint64_t total = 0;
	if (pipe2(p, O_CLOEXEC) || fcntl(p[1], F_SETPIPE_SZ, PIPE_SZ) < 0)
		die("pipe");
	struct cue c = { NR_WRITE, p[1], p[0], 0 };
	for (int i = 0; i < reps; i++) {
		if (write(p[1], fill, sizeof(fill)) != (ssize_t)sizeof(fill)) /* full now */
			die("write (fill)");
		pthread_t t = helper(late_drain, &c);
		total += MEASURED(once(p[1]));
		reap(t);
		if (read(p[0], &ch, 1) != 1)
			die("read (pipe)");
	}
	close(p[0]);
	close(p[1]);
	result(family, reps, total);
}

/* ---- file reads and writes that wait for the disk (O_DIRECT, O_DSYNC) ---- */

static uint64_t file_done(ssize_t r, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r != (ssize_t)DIRECT)
		die(what);
	return d;
}

static uint64_t pread_once(int fd)
{
	uint64_t t0 = now_ns();
	ssize_t r = pread(fd, big, direct_len, 0); /* PREAD-SITE */
	return file_done(r, "pread", t0);
}

static uint64_t pread64_once(int fd)
{
	uint64_t t0 = now_ns();
	ssize_t r = pread64(fd, big, direct_len, 0); /* PREAD64-SITE */
	return file_done(r, "pread64", t0);
}

static uint64_t preadv_once(int fd)
{
	struct iovec iov = { big, DIRECT };
	uint64_t t0 = now_ns();
	ssize_t r = preadv(fd, &iov, 1, 0); /* PREADV-SITE */
	return file_done(r, "preadv", t0);
}

static uint64_t pwrite_once(int fd)
{
	uint64_t t0 = now_ns();
	ssize_t r = pwrite(fd, big, direct_len, 0); /* PWRITE-SITE */
	return file_done(r, "pwrite", t0);
}

static uint64_t pwrite64_once(int fd)
{
	uint64_t t0 = now_ns();
	ssize_t r = pwrite64(fd, big, direct_len, 0); /* PWRITE64-SITE */
	return file_done(r, "pwrite64", t0);
}

static uint64_t pwritev_once(int fd)
{
	struct iovec iov = { big, DIRECT };
	uint64_t t0 = now_ns();
	ssize_t r = pwritev(fd, &iov, 1, 0); /* PWRITEV-SITE */
	return file_done(r, "pwritev", t0);
}

static void file_family(int fd, const char *family, uint64_t (*once)(int))
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++)
		total += MEASURED(once(fd));
	result(family, reps, total);
}

static void test_files(void)
{
	int fl = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_DSYNC;
	int fd = open(data_path, fl | O_DIRECT, 0600);
	if (fd < 0 && errno == EINVAL) /* a filesystem without O_DIRECT (the test skips then) */
		fd = open(data_path, fl, 0600);
	if (fd < 0)
		die("open (data file)");
	memset(big, 'd', DIRECT);
	file_family(fd, "pwrite", pwrite_once);
	file_family(fd, "pwrite64", pwrite64_once);
	file_family(fd, "pwritev", pwritev_once);
	file_family(fd, "pread", pread_once);
	file_family(fd, "pread64", pread64_once);
	file_family(fd, "preadv", preadv_once);
	close(fd);
	unlink(data_path);
}

/* ---- syncs: 32 MiB of new data before each ---- */

static uint64_t sync_done(int r, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r)
		die(what);
	return d;
}

static uint64_t fsync_once(int fd)
{
	uint64_t t0 = now_ns();
	int r = fsync(fd); /* FSYNC-SITE */
	return sync_done(r, "fsync", t0);
}

static uint64_t fdatasync_once(int fd)
{
	uint64_t t0 = now_ns();
	int r = fdatasync(fd); /* FDATASYNC-SITE */
	return sync_done(r, "fdatasync", t0);
}

static uint64_t sync_file_range_once(int fd)
{
	unsigned fl = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
	uint64_t t0 = now_ns();
	int r = sync_file_range(fd, 0, 0, fl); /* SYNC-FILE-RANGE-SITE */
	return sync_done(r, "sync_file_range", t0);
}

static void sync_family(int fd, const char *family, uint64_t (*once)(int))
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		memset(big, 'a' + i, 4096); /* new data, all of it dirty again */
		if (pwrite(fd, big, sizeof(big), 0) != (ssize_t)sizeof(big))
			die("pwrite (sync file)");
		total += MEASURED(once(fd));
	}
	result(family, reps, total);
}

static void test_syncs(void)
{
	int fd = open(sync_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open (sync file)");
	sync_family(fd, "fsync", fsync_once);
	sync_family(fd, "fdatasync", fdatasync_once);
	sync_family(fd, "sync_file_range", sync_file_range_once);
	close(fd);
	unlink(sync_path);
}

/* ---- children: each exits when a byte arrives on its cue pipe ---- */

/* Forks a child that exits with status 0 once a byte arrives on *cue; returns its pid. */
static pid_t child_on_cue(int *cue)
{
	int p[2];
	char ch;
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[1]);
		_exit(read(p[0], &ch, 1) == 1 ? 0 : 6);
	}
	close(p[0]);
	*cue = p[1];
	return pid;
}

static uint64_t wait_done(pid_t r, pid_t pid, int st, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die(what);
	return d;
}

static uint64_t waitpid_once(pid_t pid)
{
	int st = -1;
	uint64_t t0 = now_ns();
	pid_t r = waitpid(pid, &st, 0); /* WAITPID-SITE */
	return wait_done(r, pid, st, "waitpid", t0);
}

static uint64_t wait_once(pid_t pid)
{
	int st = -1;
	uint64_t t0 = now_ns();
	pid_t r = wait(&st); /* WAIT-SITE */
	return wait_done(r, pid, st, "wait", t0);
}

static uint64_t wait3_once(pid_t pid)
{
	int st = -1;
	struct rusage ru;
	uint64_t t0 = now_ns();
	pid_t r = wait3(&st, 0, &ru); /* WAIT3-SITE */
	return wait_done(r, pid, st, "wait3", t0);
}

static uint64_t wait4_once(pid_t pid)
{
	int st = -1;
	struct rusage ru;
	uint64_t t0 = now_ns();
	pid_t r = wait4(pid, &st, 0, &ru); /* WAIT4-SITE */
	return wait_done(r, pid, st, "wait4", t0);
}

static uint64_t waitid_once(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	uint64_t t0 = now_ns();
	int r = waitid(P_PID, (id_t)pid, &si, WEXITED); /* WAITID-SITE */
	int st = si.si_code == CLD_EXITED ? si.si_status << 8 : -1;
	return wait_done(r == 0 ? si.si_pid : -1, pid, st, "waitid", t0);
}

static void wait_family(const char *family, uint64_t (*once)(pid_t))
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		struct cue c = { NR_WAIT, -1, -1, 0 };
		pid_t pid = child_on_cue(&c.peer);
		pthread_t t = helper(late_write, &c);
		total += MEASURED(once(pid));
		reap(t);
		close(c.peer);
	}
	result(family, reps, total);
}

static void test_waits(void)
{
	wait_family("waitpid", waitpid_once);
	wait_family("wait", wait_once);
	wait_family("wait3", wait3_once);
	wait_family("wait4", wait4_once);
	wait_family("waitid", waitid_once);
}

/* ---- locks: a child holds the lock on its own open file description until cued ---- */

enum lock_type { L_FLOCK, L_POSIX, L_OFD, L_LOCKF };

static int take_lock(int fd, enum lock_type type, int unlock)
{
	struct flock fl = { .l_type = unlock ? F_UNLCK : F_WRLCK, .l_whence = SEEK_SET };
	switch (type) {
	case L_FLOCK: return flock(fd, unlock ? LOCK_UN : LOCK_EX | LOCK_NB);
	case L_POSIX: return fcntl(fd, F_SETLK, &fl);
	case L_OFD: return fcntl(fd, F_OFD_SETLK, &fl);
	case L_LOCKF: return lockf(fd, unlock ? F_ULOCK : F_TLOCK, 0);
	}
	return -1;
}

/* Child: takes the lock, says so on `ready`, holds it until a byte arrives on `cue`. */
static void lock_holder(int ready, int cue, enum lock_type type)
{
	char ch;
	int fd = open(lock_path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || take_lock(fd, type, 0))
		_exit(3);
	if (write(ready, "r", 1) != 1)
		_exit(4);
	if (read(cue, &ch, 1) != 1)
		_exit(5);
	if (take_lock(fd, type, 1))
		_exit(6);
	_exit(0);
}

/* Forks the lock holder and waits until it holds the lock; *cue releases it. */
static pid_t locked_by_child(enum lock_type type, int *cue)
{
	int rp[2], cp[2];
	char ch;
	if (pipe2(rp, O_CLOEXEC) || pipe2(cp, O_CLOEXEC))
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(rp[0]);
		close(cp[1]);
		lock_holder(rp[1], cp[0], type);
	}
	close(rp[1]);
	close(cp[0]);
	if (read(rp[0], &ch, 1) != 1)
		die("lock holder did not start");
	close(rp[0]);
	*cue = cp[1];
	return pid;
}

static uint64_t lock_done(int r, int fd, enum lock_type type, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (r)
		die(what);
	take_lock(fd, type, 1);
	return d;
}

static uint64_t flock_once(int fd)
{
	uint64_t t0 = now_ns();
	int r = flock(fd, LOCK_EX); /* FLOCK-SITE */
	return lock_done(r, fd, L_FLOCK, "flock", t0);
}

static uint64_t fcntl_once(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	uint64_t t0 = now_ns();
	int r = fcntl(fd, F_SETLKW, &fl); /* FCNTL-SETLKW-SITE */
	return lock_done(r, fd, L_POSIX, "fcntl(F_SETLKW)", t0);
}

static uint64_t ofd_once(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	uint64_t t0 = now_ns();
	int r = fcntl(fd, F_OFD_SETLKW, &fl); /* FCNTL-OFD-SETLKW-SITE */
	return lock_done(r, fd, L_OFD, "fcntl(F_OFD_SETLKW)", t0);
}

static uint64_t lockf_once(int fd)
{
	uint64_t t0 = now_ns();
	int r = lockf(fd, F_LOCK, 0); /* LOCKF-SITE */
	return lock_done(r, fd, L_LOCKF, "lockf", t0);
}

static void lock_family(int fd, enum lock_type type, const char *family, uint64_t (*once)(int))
{
	uint64_t total = 0;
	for (int i = 0; i < reps; i++) {
		struct cue c = { NR_LOCK, fd, -1, 0 };
		pid_t pid = locked_by_child(type, &c.peer);
		pthread_t t = helper(late_write, &c);
		total += MEASURED(once(fd));
		reap(t);
		reap_child(pid);
		close(c.peer);
	}
	result(family, reps, total);
}

static void test_locks(void)
{
	int fd = open(lock_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open (lock file)");
	lock_family(fd, L_FLOCK, "flock", flock_once);
	lock_family(fd, L_POSIX, "fcntl_setlkw", fcntl_once);
	lock_family(fd, L_OFD, "fcntl_ofd_setlkw", ofd_once);
	lock_family(fd, L_LOCKF, "lockf", lockf_once);
	close(fd);
	unlink(lock_path);
}

/* ---- signals: SIGUSR1 is blocked in every thread and waited for; SIGUSR2 has a handler
 * and is blocked except in sigsuspend and around pause ---- */

static void *late_signal(void *arg)
{
	struct cue *c = arg;
	until_blocked(c->nrs, -1);
	hold();
	pthread_kill(main_thread, c->sig);
	return NULL;
}

static void on_usr2(int sig)
{
	(void)sig;
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

static uint64_t sigwaitinfo_once(const sigset_t *set)
{
	siginfo_t si;
	uint64_t t0 = now_ns();
	int r = sigwaitinfo(set, &si); /* SIGWAITINFO-SITE */
	uint64_t d = now_ns() - t0;
	if (r != SIGUSR1 || si.si_signo != SIGUSR1)
		die("sigwaitinfo");
	return d;
}

static uint64_t sigsuspend_once(const sigset_t *set)
{
	uint64_t t0 = now_ns();
	int r = sigsuspend(set); /* SIGSUSPEND-SITE */
	uint64_t d = now_ns() - t0;
	if (r != -1 || errno != EINTR)
		die("sigsuspend");
	return d;
}

static uint64_t pause_once(const sigset_t *set)
{
	pthread_sigmask(SIG_UNBLOCK, set, NULL);
	uint64_t t0 = now_ns();
	int r = pause(); /* PAUSE-SITE */
	uint64_t d = now_ns() - t0;
	int e = errno;
	pthread_sigmask(SIG_BLOCK, set, NULL);
	if (r != -1 || e != EINTR)
		die("pause");
	return d;
}

static void sig_family(const char *family, const long *nrs, int sig, const sigset_t *set,
		       uint64_t (*once)(const sigset_t *))
{
	uint64_t total = 0;
	struct cue c = { nrs, -1, -1, sig };
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_signal, &c);
		total += MEASURED(once(set));
		reap(t);
	}
	result(family, reps, total);
}

static void test_signals(void)
{
	sigset_t usr1, usr2, all_but_usr2;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		die("sigaction");
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &all_but_usr2);
	sigdelset(&all_but_usr2, SIGUSR2);

	sig_family("sigwait", NR_SIGWAIT, SIGUSR1, &usr1, sigwait_once);
	sig_family("sigtimedwait", NR_SIGWAIT, SIGUSR1, &usr1, sigtimedwait_once);
	sig_family("sigwaitinfo", NR_SIGWAIT, SIGUSR1, &usr1, sigwaitinfo_once);
	sig_family("sigsuspend", NR_SIGSUSPEND, SIGUSR2, &all_but_usr2, sigsuspend_once);
	sig_family("pause", NR_SIGSUSPEND, SIGUSR2, &usr2, pause_once);
}

/* ---- open and openat of a FIFO: they block until a writer opens the other end ---- */

static void *late_open(void *arg)
{
	struct cue *c = arg;
	until_blocked(c->nrs, -1);
	hold();
	int fd = open(fifo_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open (FIFO writer)");
	close(fd);
	return NULL;
}

static uint64_t open_done(int fd, const char *what, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (fd < 0)
		die(what);
	close(fd);
	return d;
}

static uint64_t open_once(void)
{
	uint64_t t0 = now_ns();
	int fd = open(fifo_path, open_flags); /* OPEN-SITE */
	return open_done(fd, "open (FIFO)", t0);
}

static uint64_t openat_once(void)
{
	uint64_t t0 = now_ns();
	int fd = openat(AT_FDCWD, fifo_path, open_flags); /* OPENAT-SITE */
	return open_done(fd, "openat (FIFO)", t0);
}

static void open_family(const char *family, uint64_t (*once)(void))
{
	uint64_t total = 0;
	struct cue c = { NR_OPEN, -1, -1, 0 };
	for (int i = 0; i < reps; i++) {
		pthread_t t = helper(late_open, &c);
		total += MEASURED(once());
		reap(t);
	}
	result(family, reps, total);
}

static void test_open(void)
{
	if (mkfifo(fifo_path, 0600))
		die("mkfifo");
	open_family("open", open_once);
	open_family("openat", openat_once);
	unlink(fifo_path);
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
		ns += MEASURED(nanosleep_once());
	result("nanosleep", reps, ns);
	for (int i = 0; i < reps; i++)
		cns += MEASURED(clock_nanosleep_once());
	result("clock_nanosleep", reps, cns);
	for (int i = 0; i < reps; i++)
		us += MEASURED(usleep_once());
	result("usleep", reps, us);
	result("sleep", 1, MEASURED(sleep_once()));
}

/* A slow call of no interest: the thread's first stack capture (libunwind's cold start)
 * happens here, not inside a measured call. */
static void warm_up(void)
{
	sleep_ms(2);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		reps = atoi(argv[1]);
	if (argc > 2)
		hold_ms = atol(argv[2]);
	if (argc > 3)
		sync_dir = argv[3];
	if (reps < 1 || reps > 1000 || hold_ms < 1 || hold_ms > 1000 || argc > 4) {
		fprintf(stderr, "usage: blk_io [REPS [HOLD_MS [SYNC_DIR]]]\n");
		return 2;
	}
	alarm(50); /* watchdog: a hung call kills the run instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	main_thread = pthread_self();
	main_tid = gettid();
	int pid = (int)getpid();
	snprintf(data_path, sizeof(data_path), "%s/blk_io.data.%d.tmp", sync_dir, pid);
	snprintf(sync_path, sizeof(sync_path), "%s/blk_io.sync.%d.tmp", sync_dir, pid);
	snprintf(lock_path, sizeof(lock_path), "blk_io.lock.%d.tmp", pid);
	snprintf(fifo_path, sizeof(fifo_path), "blk_io.fifo.%d.tmp", pid);
	printf("reps=%d hold_ms=%ld\n", reps, hold_ms);
	uint64_t w0 = now_ns();
	warm_up();
	printf("warmup_total_ns=%llu\n", (unsigned long long)(now_ns() - w0));
	pipe_read_family("pipe_read", pipe_read_once);
	pipe_read_family("pipe_readv", pipe_readv_once);
	pipe_read_family("pipe_preadv2", pipe_preadv2_once);
	pipe_write_family("pipe_write", pipe_write_once);
	pipe_write_family("pipe_writev", pipe_writev_once);
	pipe_write_family("pipe_pwritev2", pipe_pwritev2_once);
	test_files();
	test_syncs();
	test_waits();
	test_locks();
	test_signals();
	test_open();
	test_sleeps();
	cleanup();
	return 0;
}
