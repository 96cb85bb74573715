/* SPDX-License-Identifier: MIT */
/*
 * libctrace's own file descriptors (the trace file, and a spare file after a user switch:
 * flush.c), kept out of the program's way. A program must see exactly what it would see
 * untraced, where nothing is open at those numbers:
 *
 *  - they sit at numbers >= 900 (below a lower RLIMIT_NOFILE, at its top), close-on-exec,
 *    so the program's opens get the numbers they would get untraced;
 *  - close(fd) of one returns -1/EBADF without closing it; close_range(first, last, 0)
 *    and closefrom(low) close everything else and return what the real call returns;
 *  - fcntl(fd, ...) on one (F_GETFD, F_SETFD, F_GETFL, ...), dup(fd), dup2(fd, x),
 *    dup3(fd, x, f) and the fstat family (fstat, fstatat and statx with AT_EMPTY_PATH,
 *    __fxstat) return -1/EBADF;
 *  - dup2(x, fd) and dup3(x, fd, f) first move libctrace's file to another free number,
 *    then replace the number for the program: it gets what it asked for;
 *  - dup(x), fcntl(x, F_DUPFD[_CLOEXEC], min) return the lowest number >= min that is
 *    free for the program, counting libctrace's numbers as free: when the kernel skipped
 *    one, the file there is moved away and the program gets that number.
 *
 * The writer must never write trace bytes into a number the program took over. Each
 * protected file is a slot: the number it was given when protected (`orig`: the number
 * flush.c keeps, and always passes here) and the number it is at now (`num`). flush.c
 * writes, seeks and closes only through ct_fd_write, ct_fd_lseek and ct_fd_close, which
 * look `num` up while they hold the slots (`busy`, signals blocked: a program handler that
 * moved the file while its own thread held the old number would wait for itself; the
 * writer thread has every signal blocked anyway and skips that). A move publishes the
 * new number, then waits until no holder remains before the program's dup2 replaces the
 * old number: a write that loaded the old number has entered the kernel on libctrace's
 * file by then, and every later one loads the new number. Moves are serialised by a
 * private spin lock, taken with signals blocked. The wait is at most one trace write, on
 * a call (dup2 onto one of these numbers) that no program makes on a hot path.
 *
 * libunwind (1.6) validates addresses by writing a byte from them into a pipe it opens
 * with pipe2 through the PLT inside a capture. That pipe2 gets two numbers no fd can have
 * (above fs.nr_open's ceiling); read and write on them (io.c, and syscall() in futex.c,
 * which Debian's libunwind writes through) do what the pipe did without an fd: the read
 * finds nothing (EAGAIN), the write checks that the byte is readable (1, or -1/EFAULT)
 * with an rt_sigprocmask that reads it and changes nothing, close succeeds. No fd, and
 * one system call per validation instead of two: 0.4 us instead of 1.8-2.2 us measured
 * (process_vm_readv, the other fd-less way, took 3.2-3.5 us).
 *
 * Calls made inside libctrace (the guard held, no program signal handler running) are
 * not changed. In a vfork child (getpid() != ct_pid, the parent's memory) nothing is
 * moved: the child's copies are close-on-exec. Every close path here also forgets the
 * class fdclass.c cached for the numbers it closes.
 *
 * Not covered: read, write, lseek, ioctl, mmap, ... on one of these numbers (what
 * only a program with a bug does: untraced they fail with EBADF; traced they reach
 * libctrace's file); raw close/dup system calls other than through syscall(); opens that
 * get the lowest free number when every number below one of libctrace's is taken (they
 * skip it); a listing of /proc/self/fd shows them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctrace.h"

#define PROT_MAX 8
#define HIGH_FD 900
#define DEAD (-2) /* a slot whose file could not be moved: it was given up */

struct slot {
	atomic_int orig; /* number + 1; 0: free slot */
	atomic_int num;  /* number + 1; DEAD + 1: gone */
};
static struct slot slots[PROT_MAX];
static atomic_int nprot;  /* slots ever used: a bound for the scans */
static atomic_int busy;   /* threads between hold() and unhold() */
static atomic_int moving; /* the move lock */
static CT_TLS int sigs_blocked; /* the writer thread: every signal blocked for good */

void ct_fd_writer_thread(void)
{
	sigs_blocked = 1;
}

void ct_fd_after_fork(void)
{
	atomic_store(&busy, 0);
	atomic_store(&moving, 0);
}

void ct_fd_protect(int fd)
{
	if (fd < 0)
		return;
	for (int i = 0; i < PROT_MAX; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&slots[i].orig, &expect, fd + 1)) {
			atomic_store(&slots[i].num, fd + 1);
			int n = atomic_load(&nprot);
			while (n < i + 1 && !atomic_compare_exchange_weak(&nprot, &n, i + 1))
				;
			return;
		}
	}
}

/* The slot now at number fd, or -1. */
static int slot_at(int fd)
{
	int n = atomic_load_explicit(&nprot, memory_order_relaxed);
	for (int i = 0; i < n; i++)
		if (atomic_load_explicit(&slots[i].num, memory_order_relaxed) == fd + 1 &&
		    atomic_load_explicit(&slots[i].orig, memory_order_relaxed) != 0)
			return i;
	return -1;
}

/* The slot given number orig when protected, or -1. */
static int slot_of(int orig)
{
	int n = atomic_load(&nprot);
	for (int i = 0; i < n; i++)
		if (atomic_load(&slots[i].orig) == orig + 1)
			return i;
	return -1;
}

/* The call comes from libctrace itself or a library it runs (libunwind), not from the
 * program or a program signal handler. */
static int from_inside(void)
{
	return ct_tls.nest > 0 && !ct_in_signal;
}

/* ---- the writer's side ---- */

/* The current number of orig's slot, with the slots held and signals blocked; orig itself
 * when it is no slot's (a file not protected yet); -1/EBADF when its slot was given up. */
static int hold(int orig, sigset_t *old)
{
	if (!sigs_blocked) {
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, old);
	}
	atomic_fetch_add(&busy, 1);
	int i = slot_of(orig);
	if (i < 0)
		return orig;
	int f = atomic_load(&slots[i].num) - 1;
	if (f < 0)
		errno = EBADF;
	return f < 0 ? -1 : f;
}

static void unhold(const sigset_t *old)
{
	atomic_fetch_sub(&busy, 1);
	if (!sigs_blocked)
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

ssize_t ct_fd_write(int orig, const void *p, size_t n)
{
	sigset_t old;
	int f = hold(orig, &old);
	ssize_t w = f < 0 ? -1 : REAL(write)(f, p, n);
	int e = errno;
	unhold(&old);
	errno = e;
	return w;
}

off_t ct_fd_lseek(int orig, off_t off, int whence)
{
	sigset_t old;
	int f = hold(orig, &old);
	off_t r = f < 0 ? -1 : lseek(f, off, whence);
	int e = errno;
	unhold(&old);
	errno = e;
	return r;
}

static void move_lock(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	int expect = 0;
	while (!atomic_compare_exchange_weak(&moving, &expect, 1)) {
		expect = 0;
		sched_yield();
	}
}

static void move_unlock(const sigset_t *old)
{
	atomic_store(&moving, 0);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void ct_fd_close(int orig)
{
	if (orig < 0)
		return;
	sigset_t old;
	move_lock(&old);
	int i = slot_of(orig), f = orig;
	if (i >= 0) {
		f = atomic_load(&slots[i].num) - 1;
		atomic_store(&slots[i].orig, 0);
		atomic_store(&slots[i].num, 0);
	}
	if (f >= 0) {
		REAL(close)(f);
		ct_fdclass_forget(f);
	}
	move_unlock(&old);
}

/* ---- moving a file out of the program's way ---- */

/* A free number for a copy of fd, close-on-exec: >= HIGH_FD, or under a descriptor limit
 * at or below it (ulimit -n 256) the top of what the limit allows; with `deep`, when those
 * are all taken, the highest free number below them (the one the program's opens reach
 * last). -1 if none. */
static int dup_high(int fd, int deep)
{
	int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, HIGH_FD);
	if (hi >= 0)
		return hi;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 16)
		return -1;
	int top = rl.rlim_cur > HIGH_FD ? HIGH_FD : (int)rl.rlim_cur;
	int bottom = deep ? 3 : (rl.rlim_cur > HIGH_FD ? top : top - 8);
	for (int at = top - 1; at >= bottom && hi < 0; at--)
		if (REAL(fcntl)(at, F_GETFD) < 0 && errno == EBADF)
			hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, at);
	return hi;
}

/* Moves fd to a number >= 900, close-on-exec; returns the new number (or fd). Never a
 * number another slot was protected as and moved away from (then the program's): flush.c
 * names files by that number. */
int ct_fd_move_high(int fd)
{
	int hi = dup_high(fd, 0);
	if (hi < 0)
		return fd;
	while (slot_of(hi) >= 0) {
		int next = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, hi + 1);
		REAL(close)(hi);
		if (next < 0)
			return fd;
		hi = next;
	}
	REAL(close)(fd);
	ct_fdclass_forget(fd);
	ct_fdclass_forget(hi);
	return hi;
}

/*
 * Slot i's file (at number p) is copied to another number, the new number published, and
 * no write holds the old one any more: the caller may replace p (the copy at p is still
 * there; the caller's dup2 closes it, or the caller closes it). Move lock held. When no
 * number is free, the slot is given up (the writer's next write fails: tracing stops).
 */
static void move_away(int i, int p)
{
	int n = dup_high(p, 1);
	atomic_store(&slots[i].num, n >= 0 ? n + 1 : DEAD + 1);
	while (atomic_load(&busy) != 0)
		sched_yield();
	if (n >= 0)
		ct_fdclass_forget(n);
}

/* May the program's call be changed here? (tracing set up, a program call, this process's
 * own fd table). */
static int guarding(void)
{
	return atomic_load_explicit(&nprot, memory_order_relaxed) != 0 && !from_inside();
}

int ct_fd_refused(int fd)
{
	return unlikely(guarding()) && fd >= 0 && slot_at(fd) >= 0;
}

/* The program's dup2/dup3 onto `new`, which may be one of libctrace's numbers: dup3
 * (real3, with flags, whatever their value) or dup2 (real3 NULL, flags unused). */
int ct_fd_dup_onto(int old, int new, int flags, int (*real2)(int, int),
		   int (*real3)(int, int, int))
{
#define CALL() (real3 ? real3(old, new, flags) : real2(old, new))
	if (likely(!guarding()))
		return CALL();
	if (real3 && (old == new || (flags & ~O_CLOEXEC)))
		return CALL(); /* EINVAL, as untraced */
	if (old >= 0 && slot_at(old) >= 0) {
		errno = EBADF; /* not open, untraced */
		return -1;
	}
	if (new < 0 || slot_at(new) < 0 || getpid() != ct_pid)
		return CALL();
	sigset_t mask;
	int e = errno; /* the program's, after a call that succeeds (moving may fail on the way) */
	move_lock(&mask);
	int i = slot_at(new), r;
	if (i < 0) {
		r = CALL();
		if (r < 0)
			e = errno;
	} else if (REAL(fcntl)(old, F_GETFD) < 0) {
		r = -1; /* EBADF (old is not open): new stays as it was, libctrace's */
		e = errno;
	} else {
		move_away(i, new);
		r = CALL();
		if (r < 0) {
			e = errno;
			REAL(close)(new); /* untraced, nothing was open there */
		}
	}
	move_unlock(&mask);
	errno = e;
	return r;
#undef CALL
}

/* The smallest protected number in [lo, hi], or -1. */
static int next_protected(unsigned lo, unsigned hi)
{
	int best = -1, n = atomic_load(&nprot);
	for (int i = 0; i < n; i++) {
		if (!atomic_load(&slots[i].orig))
			continue;
		int f = atomic_load(&slots[i].num) - 1;
		if (f >= 0 && (unsigned)f >= lo && (unsigned)f <= hi && (best < 0 || f < best))
			best = f;
	}
	return best;
}

/*
 * The program's dup(old) (min 0, cloexec 0) or fcntl(old, F_DUPFD[_CLOEXEC], min) has
 * returned r: untraced it would have returned the smallest of libctrace's numbers in
 * [min, r), the kernel having found every other number there taken (or in [min, limit)
 * when r is -1/EMFILE). That number is then made the program's and r closed. e0: errno
 * before the call, what a call that succeeds leaves.
 */
int ct_fd_dup_lowest(int old, int min, int cloexec, int r, int e0)
{
	if ((r < 0 && errno != EMFILE) || min < 0 || likely(!guarding()))
		return r;
	int p = next_protected((unsigned)min, r < 0 ? ~0u : (unsigned)r);
	if (p < 0 || (r >= 0 && p >= r) || getpid() != ct_pid)
		return r;
	int e = errno;
	sigset_t mask;
	move_lock(&mask);
	int i = slot_at(p);
	if (i >= 0) {
		move_away(i, p);
		if (REAL(dup3)(old, p, cloexec ? O_CLOEXEC : 0) == p) {
			if (r >= 0) {
				REAL(close)(r);
				ct_fdclass_forget(r);
			}
			r = p;
			e = e0;
		} else {
			REAL(close)(p);
		}
	}
	move_unlock(&mask);
	errno = e;
	return r;
}

/* ---- closes ---- */

int ct_fd_close_refused(int fd)
{
	if (unlikely(fd >= CT_FD_FAKE_RD))
		return 1; /* libunwind's pipe (see the top) */
	if (likely(atomic_load_explicit(&nprot, memory_order_relaxed) == 0) || fd < 0 ||
	    slot_at(fd) < 0 || from_inside())
		return 0;
	return 1;
}

static int close_range_around(unsigned first, unsigned last, int flags)
{
	if (likely(atomic_load_explicit(&nprot, memory_order_relaxed) == 0) ||
	    (flags & CLOSE_RANGE_CLOEXEC) || first > last || from_inside())
		return REAL(close_range)(first, last, flags);
	int p = next_protected(first, last);
	if (p < 0)
		return REAL(close_range)(first, last, flags);
	/* Close around each protected fd; the first failure is the call's result. */
	unsigned lo = first;
	while (p >= 0) {
		if ((unsigned)p > lo) {
			int r = REAL(close_range)(lo, (unsigned)p - 1, flags);
			if (r != 0)
				return r;
		}
		if ((unsigned)p == last)
			return 0;
		lo = (unsigned)p + 1;
		p = next_protected(lo, last);
	}
	return REAL(close_range)(lo, last, flags);
}

int ct_close_range_guarded(unsigned first, unsigned last, int flags)
{
	int r = close_range_around(first, last, flags);
	/* Forgotten even when it failed part way: forgetting is always right. */
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		ct_fdclass_forget_range(first, last);
	return r;
}

CT_EXPORT void closefrom(int low)
{
	if (unlikely(!REAL(closefrom)))
		return;
	if (likely(atomic_load_explicit(&nprot, memory_order_relaxed) == 0) || low < 0 ||
	    from_inside() || next_protected((unsigned)low, ~0u) < 0) {
		ct_real.closefrom(low);
		/* glibc closes from 0 when low is negative */
		ct_fdclass_forget_range((unsigned)(low < 0 ? 0 : low), ~0u);
		return;
	}
	int e = errno;
	/* glibc's closefrom is close_range(low, ~0U, 0) with a /proc/self/fd fallback. */
	unsigned lo = (unsigned)low;
	int p;
	while ((p = next_protected(lo, ~0u)) >= 0) {
		if ((unsigned)p > lo && REAL(close_range)(lo, (unsigned)p - 1, 0) != 0)
			for (unsigned f = lo; f < (unsigned)p; f++)
				REAL(close)((int)f);
		lo = (unsigned)p + 1;
	}
	ct_real.closefrom((int)lo);
	ct_fdclass_forget_range((unsigned)low, ~0u);
	errno = e;
}

/* ---- libunwind's validation pipe, without an fd ---- */

CT_EXPORT int pipe2(int fds[2], int flags)
{
	if (unlikely(!REAL(pipe2))) {
		errno = ENOSYS;
		return -1;
	}
	if (from_inside()) {
		fds[0] = CT_FD_FAKE_RD;
		fds[1] = CT_FD_FAKE_WR;
		return 0;
	}
	int r = ct_real.pipe2(fds, flags);
	if (r == 0) {
		ct_fdclass_set(fds[0], CT_FD_PIPE);
		ct_fdclass_set(fds[1], CT_FD_PIPE);
	}
	return r;
}

int ct_readable(uintptr_t addr)
{
	/* The kernel reads a signal set from the aligned 8 bytes around addr (one page) and
	 * then refuses the invalid `how`: EFAULT when they are not readable, else EINVAL, the
	 * mask untouched. A raw system call: glibc's sigprocmask would read the set itself. */
	uintptr_t at = addr & ~(uintptr_t)7;
	if (!at) { /* a null set is no question: the first page is never mapped */
		errno = EFAULT;
		return 0;
	}
	int e = errno;
	long r = REAL(syscall)(SYS_rt_sigprocmask, -1L, at, 0L, 8L);
	int ok = !(r == -1 && errno == EFAULT);
	errno = ok ? e : EFAULT;
	return ok;
}

ssize_t ct_fd_fake_io(int fd, uintptr_t addr, size_t n)
{
	if (fd == CT_FD_FAKE_RD) {
		errno = EAGAIN; /* an empty non-blocking pipe */
		return -1;
	}
	if (n == 0)
		return 0;
	return ct_readable(addr) ? 1 : -1; /* what the write into the pipe found out */
}

/* ---- "is this fd open?" probes ---- */

/*
 * fstat and its relatives on one of libctrace's numbers say EBADF, as untraced: after
 * fcntl(F_GETFD), the way programs ask whether a number is open (CPython's subprocess
 * tests list a child's fds with fstat over 0..SC_OPEN_MAX). The *at forms only with an
 * empty path and AT_EMPTY_PATH, where they are an fstat.
 */
#define REFUSE(fd) \
	do { \
		if (unlikely(ct_fd_refused(fd))) { \
			errno = EBADF; \
			return -1; \
		} \
	} while (0)
/* An *at call on dirfd itself (AT_EMPTY_PATH and an empty path) refused for libctrace's
 * numbers; path is looked at only then (a bad pointer is the kernel's to refuse). */
#define REFUSE_AT(dirfd, path, flags) \
	do { \
		if (unlikely(ct_fd_refused(dirfd)) && ((flags) & AT_EMPTY_PATH) && \
		    empty_path(path)) { \
			errno = EBADF; \
			return -1; \
		} \
	} while (0)

/* path is NULL or "" (NULL with AT_EMPTY_PATH is accepted since Linux 6.11, whatever the
 * prototype's nonnull says: the pointer is laundered so the test is kept). */
static inline int empty_path(const char *path)
{
	__asm__("" : "+r"(path));
	return !path || !*path;
}

int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);

CT_EXPORT int fstat(int fd, struct stat *st)
{
	REFUSE(fd);
	return REAL(fstat)(fd, st);
}

CT_EXPORT int fstat64(int fd, struct stat64 *st)
{
	REFUSE(fd);
	return REAL(fstat64)(fd, st);
}

CT_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	REFUSE_AT(dirfd, path, flags);
	return REAL(fstatat)(dirfd, path, st, flags);
}

CT_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	REFUSE_AT(dirfd, path, flags);
	return REAL(fstatat64)(dirfd, path, st, flags);
}

CT_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		    struct statx *stx)
{
	REFUSE_AT(dirfd, path, flags);
	if (unlikely(!REAL(statx))) {
		errno = ENOSYS;
		return -1;
	}
	return ct_real.statx(dirfd, path, flags, mask, stx);
}

CT_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	REFUSE(fd);
	if (unlikely(!REAL(__fxstat))) {
		errno = ENOSYS;
		return -1;
	}
	return ct_real.__fxstat(ver, fd, st);
}

CT_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	REFUSE(fd);
	if (unlikely(!REAL(__fxstat64))) {
		errno = ENOSYS;
		return -1;
	}
	return ct_real.__fxstat64(ver, fd, st);
}
