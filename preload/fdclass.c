/* SPDX-License-Identifier: MIT */
/*
 * The fd-class cache: what each fd number is (socket, pipe, file, event, tty, ...), so that
 * a system call is counted under its fd's class without a system call of its own. Set by
 * the wrappers of the calls that create fds of a known class (io.c, futex.c), learnt with
 * one statx (the type only: see fd_type) on first use otherwise, forgotten when a number is
 * closed or replaced through any path libctrace sees, and wholly in a fork child. A slow
 * call re-checks its fd at most once a second per number (ct_fdclass_checked), so a number
 * reused through a path no wrapper sees is corrected where it matters. Contracts in io.h
 * and ctrace.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "io.h"

/*
 * One byte per fd number for numbers below CT_FDCLASS_CACHE: the class + 1 in the low four bits
 * (0 unknown), in the high four the period of the last slow-call check (0: never; see
 * fd_class_checked). CT_FDCLASS_CACHE is Linux's default ceiling on open files (fs.nr_open): 1 MiB
 * of zero pages in .bss, a page becomes resident only when a number in it is used. Shared by all threads (the fd table
 * is); entries are single bytes, so racing writers cannot tear them. fd_hi bounds the
 * range clears.
 */
uint8_t ct_fdclass_cache[CT_FDCLASS_CACHE];
static unsigned fd_hi; /* one past the highest number ever cached */

/* fd's byte: class cls, checked in period (0: not checked). */
static inline void fd_store(unsigned fd, unsigned cls, unsigned period)
{
	unsigned hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED);
	while (fd >= hi && !__atomic_compare_exchange_n(&fd_hi, &hi, fd + 1, 1,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	__atomic_store_n(&ct_fdclass_cache[fd], (uint8_t)((cls + 1) | period << 4), __ATOMIC_RELAXED);
}

void ct_fdclass_set(int fd, unsigned cls)
{
	if ((unsigned)fd < CT_FDCLASS_CACHE)
		fd_store((unsigned)fd, cls, 0);
}

void ct_fdclass_forget(int fd)
{
	if ((unsigned)fd < CT_FDCLASS_CACHE)
		__atomic_store_n(&ct_fdclass_cache[fd], 0, __ATOMIC_RELAXED);
}

void ct_fdclass_forget_range(unsigned first, unsigned last)
{
	unsigned hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED);
	if (last >= hi)
		last = hi - 1; /* hi == 0: last wraps, first > last below */
	if (hi && first <= last)
		memset(&ct_fdclass_cache[first], 0, last - first + 1);
}

/* The fork child starts with no classes: whatever the parent got wrong (a number reused
 * through a path no wrapper sees) or left half-updated (a thread between a close and its
 * forget) is not inherited. */
static void fdclass_after_fork(void)
{
	ct_fdclass_forget_range(0, CT_FDCLASS_CACHE - 1);
}

int ct_fdclass_init(void)
{
	ct_tick_init();
	pthread_atfork(NULL, NULL, fdclass_after_fork);
	return 0;
}

/*
 * What fd is now (errno untouched); NOT_OPEN when it is not open. statx asks for the type
 * only: an fstat asks for the timestamps too, and on kernels with multigrain timestamps
 * (ext4, xfs, btrfs, tmpfs since Linux 6.13) a query of a file's ctime/mtime makes its next
 * write take a fine-grained timestamp, which dirties the inode on every write: a program
 * that writes and fdatasyncs a file (a database's log) then writes the inode to disk on
 * every sync. Measured here (ext4, pwrite 8 KiB + fdatasync): 138 us per pair, 206 us with
 * an fstat in between, 139 us with this statx; PostgreSQL under pgbench lost 20% of its
 * throughput to it. fstat is the fallback where statx does not exist (and neither do
 * multigrain timestamps).
 */
#define NOT_OPEN CT_FD_MAX
static int fd_type_now(int fd, unsigned *mode, unsigned *rdev_major)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &sx) == 0) {
		*mode = sx.stx_mode;
		*rdev_major = sx.stx_rdev_major;
		return 0;
	}
	if (errno != ENOSYS)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	*mode = st.st_mode;
	*rdev_major = major(st.st_rdev);
	return 0;
}

static int fd_type(int fd, unsigned *mode, unsigned *rdev_major)
{
	if (ct_sys_begin() != 0) /* no system call of ours under a seccomp filter */
		return -1;
	int r = fd_type_now(fd, mode, rdev_major);
	ct_sys_end();
	return r;
}

static unsigned classify(int fd)
{
	unsigned mode, maj;
	int e = errno;
	int r = fd_type(fd, &mode, &maj);
	errno = e;
	if (r != 0)
		return NOT_OPEN;
	switch (mode & S_IFMT) {
	case S_IFSOCK: return CT_FD_SOCKET;
	case S_IFIFO: return CT_FD_PIPE;
	case S_IFREG: return CT_FD_FILE;
	case S_IFDIR: return CT_FD_DIR;
	case S_IFCHR:
		/* 4: /dev/tty*, 5: /dev/tty, /dev/ptmx, 136-143: /dev/pts/N */
		return (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143)) ? CT_FD_TTY
									    : CT_FD_CHAR;
	case 0: return CT_FD_EVENT; /* anonymous inodes: eventfd, timerfd, signalfd, epoll */
	default: return CT_FD_UNKNOWN; /* block devices, O_PATH symlinks */
	}
}

/* First use of a number since it was (re)created or forgotten: one statx. A number that
 * is not open is not cached (a later open through a path no wrapper sees must not find a
 * stale "unknown"). */
unsigned ct_fdclass_learn(int fd)
{
	unsigned c = classify(fd);
	if (c == NOT_OPEN)
		return CT_FD_UNKNOWN;
	fd_store((unsigned)fd, c, 0);
	return c;
}

/*
 * The class of fd for a slow call, about to be recorded with its stack: checked again with
 * statx, at most once per period of 2^30 ns (about a second) per number, so that a number
 * reused through a path no wrapper sees is filed right within a second while a server whose
 * every epoll_wait blocks does not pay a system call for each (the periods are numbered
 * 1..15 and wrap: a number checked exactly 16 periods before is trusted once more). now:
 * CLOCK_MONOTONIC ns.
 */
unsigned ct_fdclass_checked(int fd, uint64_t now)
{
	if (fd < 0)
		return CT_FD_NONE;
	unsigned period = 1 + (unsigned)((now >> 30) % 15);
	if ((unsigned)fd < CT_FDCLASS_CACHE) {
		unsigned b = __atomic_load_n(&ct_fdclass_cache[fd], __ATOMIC_RELAXED);
		if (CT_FDCLASS_OF(b) && CT_FDCLASS_PERIOD(b) == period)
			return CT_FDCLASS_OF(b) - 1;
	}
	unsigned c = classify(fd);
	if (c == NOT_OPEN) {
		ct_fdclass_forget(fd);
		return CT_FD_UNKNOWN;
	}
	if ((unsigned)fd < CT_FDCLASS_CACHE)
		fd_store((unsigned)fd, c, period);
	return c;
}

void ct_fdclass_copy(int to, int from)
{
	if ((unsigned)to >= CT_FDCLASS_CACHE)
		return;
	unsigned c = (unsigned)from < CT_FDCLASS_CACHE
			     ? CT_FDCLASS_OF(__atomic_load_n(&ct_fdclass_cache[from], __ATOMIC_RELAXED))
			     : 0;
	if (c)
		fd_store((unsigned)to, c - 1, 0);
	else
		ct_fdclass_forget(to);
}

void ct_fdclass_forget_passed(struct msghdr *m)
{
	if (!m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			ct_fdclass_forget(fd);
		}
	}
}
