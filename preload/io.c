/* SPDX-License-Identifier: MIT */
/*
 * The wrappers of the system calls that can block: file, pipe and socket I/O,
 * accept/connect, epoll/poll/select, fsync, wait*, flock/lockf/fcntl(F_SETLKW), sigwait*,
 * pause, open, and the sleeps; with their LFS (…64), _FORTIFY_SOURCE (__…_chk) and
 * exported-alias (__read, __poll, ...) entry points, which programs call instead of the
 * plain names. Also every call that creates, closes or replaces an fd number, for the
 * class cache (fdclass.c).
 *
 * Policy (preload/README.md, record path rule 3): every call is timed (tick.c) and counted
 * in its thread's table of call sites (sites.c: exact per call site, kind and fd class; an
 * overflow entry per kind and class beyond 224 sites), so totals are exact; only a call
 * that took at least CTRACE_SYSCALL_THRESHOLD captures a stack and emits an event, after
 * the call (the stack is the same as before it). A fast call costs two clock reads, one
 * byte load for its fd's class, a hash probe and three stores into the thread's own
 * table: no system call, no errno access, nothing shared between threads (README.md has
 * the measurements).
 *
 * fd classes are set by the calls below that create fds of a known class (socket,
 * socketpair, accept*, pipe*, eventfd, timerfd, signalfd, epoll_create*, inotify*,
 * fanotify, memfd, dup, F_DUPFD) and forgotten when a number is closed or replaced through
 * any path libctrace sees: close, close_range, closefrom, dup2/dup3 targets, fclose,
 * pclose, freopen, closedir, fds received with SCM_RIGHTS (and syscall(): futex.c).
 * Results and errno are the real call's.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "io.h"

/* glibc's fortified entry points and exported aliases have no public prototypes. */
ssize_t __read_chk(int fd, void *b, size_t n, size_t bl);
ssize_t __pread_chk(int fd, void *b, size_t n, off_t o, size_t bl);
ssize_t __pread64_chk(int fd, void *b, size_t n, off64_t o, size_t bl);
ssize_t __recv_chk(int fd, void *b, size_t n, size_t bl, int f);
ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t bl, int f, struct sockaddr *a,
		       socklen_t *l);
int __poll_chk(struct pollfd *p, nfds_t n, int t, size_t l);
int __ppoll_chk(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s,
		size_t l);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read(int fd, void *b, size_t n);
ssize_t __write(int fd, const void *b, size_t n);
ssize_t __pread64(int fd, void *b, size_t n, off64_t o);
ssize_t __pwrite64(int fd, const void *b, size_t n, off64_t o);
ssize_t __send(int fd, const void *b, size_t n, int f);
int __connect(int fd, const struct sockaddr *a, socklen_t l);
int __poll(struct pollfd *p, nfds_t n, int t);
int __select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t);
pid_t __wait(int *s);
pid_t __waitpid(pid_t p, int *s, int o);
int __sigsuspend(const sigset_t *s);
int __nanosleep(const struct timespec *t, struct timespec *rem);
int __fcntl(int fd, int cmd, ...);
int __open(const char *path, int flags, ...);
int __open64(const char *path, int flags, ...);
int __pipe(int fds[2]);
int __dup2(int old, int new);
int __close(int fd);

/* Calls that return -1 and set errno, or a pthread-style error (clock_nanosleep). */
#define SC_BEGIN() \
	if (unlikely(!ct_on())) \
		goto passthrough; \
	uint64_t t0_ = ct_ticks()
#define SC_END(kind, fd, r) ct_sites_end(t0_, (kind), (fd), (int64_t)(r), __builtin_return_address(0))

/* One wrapper: NAME(PARAMS) { time REAL(NAME)(ARGS), count it as KIND on fd FD }. */
#define WRAP(type, name, kind, fd, params, args) \
	CT_EXPORT type name params \
	{ \
		SC_BEGIN(); \
		type r_ = REAL(name) args; \
		SC_END(kind, fd, r_); \
		return r_; \
	passthrough: \
		return REAL(name) args; \
	}

/* ---- reads and writes ---- */
/* read and write also stand in for libunwind's validation pipe (CT_FD_FAKE_*, fdguard.c):
 * libunwind calls them inside libctrace, i.e. on the pass-through path. */
#define RW_WRAP(name, kind, cv) \
	CT_EXPORT ssize_t name(int fd, cv void *b, size_t n) \
	{ \
		SC_BEGIN(); \
		ssize_t r_ = REAL(name)(fd, b, n); \
		SC_END(kind, fd, r_); \
		return r_; \
	passthrough: \
		if (unlikely(fd >= CT_FD_FAKE_RD) && ct_tls.nest > 0) \
			return ct_fd_fake_io(fd, (uintptr_t)b, n); \
		return REAL(name)(fd, b, n); \
	}
#define READ_WRAP(name) RW_WRAP(name, CT_K_READ, )
#define WRITE_WRAP(name) RW_WRAP(name, CT_K_WRITE, const)
#define PREAD64_WRAP(name) \
	WRAP(ssize_t, name, CT_K_READ, fd, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o))
#define PWRITE64_WRAP(name) \
	WRAP(ssize_t, name, CT_K_WRITE, fd, (int fd, const void *b, size_t n, off64_t o), \
	     (fd, b, n, o))
READ_WRAP(read)
READ_WRAP(__read)
WRITE_WRAP(write)
WRITE_WRAP(__write)
WRAP(ssize_t, readv, CT_K_READ, fd, (int fd, const struct iovec *v, int n), (fd, v, n))
WRAP(ssize_t, writev, CT_K_WRITE, fd, (int fd, const struct iovec *v, int n), (fd, v, n))
WRAP(ssize_t, pread, CT_K_READ, fd, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
PREAD64_WRAP(pread64)
PREAD64_WRAP(__pread64)
WRAP(ssize_t, pwrite, CT_K_WRITE, fd, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
PWRITE64_WRAP(pwrite64)
PWRITE64_WRAP(__pwrite64)
WRAP(ssize_t, preadv, CT_K_READ, fd, (int fd, const struct iovec *v, int n, off_t o),
     (fd, v, n, o))
WRAP(ssize_t, preadv64, CT_K_READ, fd, (int fd, const struct iovec *v, int n, off64_t o),
     (fd, v, n, o))
WRAP(ssize_t, pwritev, CT_K_WRITE, fd, (int fd, const struct iovec *v, int n, off_t o),
     (fd, v, n, o))
WRAP(ssize_t, pwritev64, CT_K_WRITE, fd, (int fd, const struct iovec *v, int n, off64_t o),
     (fd, v, n, o))
WRAP(ssize_t, preadv2, CT_K_READ, fd, (int fd, const struct iovec *v, int n, off_t o, int f),
     (fd, v, n, o, f))
WRAP(ssize_t, preadv64v2, CT_K_READ, fd,
     (int fd, const struct iovec *v, int n, off64_t o, int f), (fd, v, n, o, f))
WRAP(ssize_t, pwritev2, CT_K_WRITE, fd, (int fd, const struct iovec *v, int n, off_t o, int f),
     (fd, v, n, o, f))
WRAP(ssize_t, pwritev64v2, CT_K_WRITE, fd,
     (int fd, const struct iovec *v, int n, off64_t o, int f), (fd, v, n, o, f))
WRAP(ssize_t, __read_chk, CT_K_READ, fd, (int fd, void *b, size_t n, size_t bl), (fd, b, n, bl))
WRAP(ssize_t, __pread_chk, CT_K_READ, fd, (int fd, void *b, size_t n, off_t o, size_t bl),
     (fd, b, n, o, bl))
WRAP(ssize_t, __pread64_chk, CT_K_READ, fd, (int fd, void *b, size_t n, off64_t o, size_t bl),
     (fd, b, n, o, bl))

/* ---- sockets ---- */
WRAP(ssize_t, recv, CT_K_RECV, fd, (int fd, void *b, size_t n, int f), (fd, b, n, f))
WRAP(ssize_t, recvfrom, CT_K_RECV, fd,
     (int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l), (fd, b, n, f, a, l))
WRAP(ssize_t, send, CT_K_SEND, fd, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
WRAP(ssize_t, __send, CT_K_SEND, fd, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
WRAP(ssize_t, sendto, CT_K_SEND, fd,
     (int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l),
     (fd, b, n, f, a, l))
WRAP(ssize_t, sendmsg, CT_K_SEND, fd, (int fd, const struct msghdr *m, int f), (fd, m, f))
WRAP(int, sendmmsg, CT_K_SEND, fd, (int fd, struct mmsghdr *m, unsigned int n, int f),
     (fd, m, n, f))
WRAP(ssize_t, __recv_chk, CT_K_RECV, fd, (int fd, void *b, size_t n, size_t bl, int f),
     (fd, b, n, bl, f))
WRAP(ssize_t, __recvfrom_chk, CT_K_RECV, fd,
     (int fd, void *b, size_t n, size_t bl, int f, struct sockaddr *a, socklen_t *l),
     (fd, b, n, bl, f, a, l))
WRAP(int, connect, CT_K_CONNECT, fd, (int fd, const struct sockaddr *a, socklen_t l),
     (fd, a, l))
WRAP(int, __connect, CT_K_CONNECT, fd, (int fd, const struct sockaddr *a, socklen_t l),
     (fd, a, l))

/* recvmsg and recvmmsg may bring new fds (SCM_RIGHTS): their numbers are forgotten. */
CT_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int f)
{
	SC_BEGIN();
	ssize_t r = REAL(recvmsg)(fd, m, f);
	SC_END(CT_K_RECV, fd, r);
	if (r >= 0)
		ct_fdclass_forget_passed(m);
	return r;
passthrough:
	r = REAL(recvmsg)(fd, m, f);
	if (r >= 0)
		ct_fdclass_forget_passed(m);
	return r;
}

CT_EXPORT int recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int f, struct timespec *t)
{
	SC_BEGIN();
	int r = REAL(recvmmsg)(fd, m, n, f, t);
	SC_END(CT_K_RECV, fd, r);
	for (int i = 0; i < r; i++)
		ct_fdclass_forget_passed(&m[i].msg_hdr);
	return r;
passthrough:
	r = REAL(recvmmsg)(fd, m, n, f, t);
	for (int i = 0; i < r; i++)
		ct_fdclass_forget_passed(&m[i].msg_hdr);
	return r;
}

/* accept's new fd is a socket. */
CT_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *l)
{
	SC_BEGIN();
	int r = REAL(accept)(fd, a, l);
	ct_fdclass_set(r, CT_FD_SOCKET);
	SC_END(CT_K_ACCEPT, fd, r);
	return r;
passthrough:
	r = REAL(accept)(fd, a, l);
	ct_fdclass_set(r, CT_FD_SOCKET);
	return r;
}

CT_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *l, int f)
{
	SC_BEGIN();
	int r = REAL(accept4)(fd, a, l, f);
	ct_fdclass_set(r, CT_FD_SOCKET);
	SC_END(CT_K_ACCEPT, fd, r);
	return r;
passthrough:
	r = REAL(accept4)(fd, a, l, f);
	ct_fdclass_set(r, CT_FD_SOCKET);
	return r;
}

/* ---- readiness ---- */
WRAP(int, epoll_wait, CT_K_EPOLL, fd, (int fd, struct epoll_event *e, int n, int t),
     (fd, e, n, t))
WRAP(int, epoll_pwait, CT_K_EPOLL, fd,
     (int fd, struct epoll_event *e, int n, int t, const sigset_t *s), (fd, e, n, t, s))
WRAP(int, epoll_pwait2, CT_K_EPOLL, fd,
     (int fd, struct epoll_event *e, int n, const struct timespec *t, const sigset_t *s),
     (fd, e, n, t, s))
WRAP(int, poll, CT_K_POLL, -1, (struct pollfd *p, nfds_t n, int t), (p, n, t))
WRAP(int, __poll, CT_K_POLL, -1, (struct pollfd *p, nfds_t n, int t), (p, n, t))
WRAP(int, ppoll, CT_K_POLL, -1,
     (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s), (p, n, t, s))
WRAP(int, __poll_chk, CT_K_POLL, -1, (struct pollfd *p, nfds_t n, int t, size_t l),
     (p, n, t, l))
WRAP(int, __ppoll_chk, CT_K_POLL, -1,
     (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s, size_t l),
     (p, n, t, s, l))
WRAP(int, select, CT_K_SELECT, -1,
     (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t), (n, r, w, e, t))
WRAP(int, __select, CT_K_SELECT, -1,
     (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t), (n, r, w, e, t))
WRAP(int, pselect, CT_K_SELECT, -1,
     (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s),
     (n, r, w, e, t, s))

/* ---- durability, children, locks, signals ---- */
WRAP(int, fsync, CT_K_FSYNC, fd, (int fd), (fd))
WRAP(int, fdatasync, CT_K_FSYNC, fd, (int fd), (fd))
WRAP(int, sync_file_range, CT_K_FSYNC, fd, (int fd, off64_t o, off64_t n, unsigned int f),
     (fd, o, n, f))
WRAP(pid_t, wait, CT_K_WAIT, -1, (int *s), (s))
WRAP(pid_t, __wait, CT_K_WAIT, -1, (int *s), (s))
WRAP(pid_t, waitpid, CT_K_WAIT, -1, (pid_t p, int *s, int o), (p, s, o))
WRAP(pid_t, __waitpid, CT_K_WAIT, -1, (pid_t p, int *s, int o), (p, s, o))
WRAP(pid_t, wait3, CT_K_WAIT, -1, (int *s, int o, struct rusage *u), (s, o, u))
WRAP(pid_t, wait4, CT_K_WAIT, -1, (pid_t p, int *s, int o, struct rusage *u), (p, s, o, u))
WRAP(int, waitid, CT_K_WAIT, -1, (idtype_t t, id_t i, siginfo_t *s, int o), (t, i, s, o))
WRAP(int, flock, CT_K_FLOCK, fd, (int fd, int op), (fd, op))
WRAP(int, lockf, CT_K_FLOCK, fd, (int fd, int c, off_t n), (fd, c, n))
WRAP(int, lockf64, CT_K_FLOCK, fd, (int fd, int c, off64_t n), (fd, c, n))
WRAP(int, sigwait, CT_K_SIGWAIT, -1, (const sigset_t *s, int *sig), (s, sig))
WRAP(int, sigwaitinfo, CT_K_SIGWAIT, -1, (const sigset_t *s, siginfo_t *i), (s, i))
WRAP(int, sigtimedwait, CT_K_SIGWAIT, -1,
     (const sigset_t *s, siginfo_t *i, const struct timespec *t), (s, i, t))
WRAP(int, sigsuspend, CT_K_SIGWAIT, -1, (const sigset_t *s), (s))
WRAP(int, __sigsuspend, CT_K_SIGWAIT, -1, (const sigset_t *s), (s))
WRAP(int, pause, CT_K_SIGWAIT, -1, (void), ())

/* fcntl is variadic; like glibc, the third argument is forwarded as a pointer-sized
 * value. Only the blocking lock commands are timed; F_DUPFD* make a new number of the
 * same class. */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg, void *site)
{
	if (unlikely(ct_fd_refused(fd))) {
		errno = EBADF; /* libctrace's: not open, as far as the program knows */
		return -1;
	}
	int blocking = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
	if (!blocking || !ct_on()) {
		int e0 = errno;
		int r = real(fd, cmd, arg);
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
			r = ct_fd_dup_lowest(fd, (int)(intptr_t)arg, cmd == F_DUPFD_CLOEXEC, r, e0);
			if (r >= 0)
				ct_fdclass_copy(r, fd);
		}
		return r;
	}
	uint64_t t0 = ct_ticks();
	int r = real(fd, cmd, arg);
	ct_sites_end(t0, CT_K_FLOCK, fd, r, site);
	return r;
}

#define FCNTL_WRAP(name) \
	CT_EXPORT int name(int fd, int cmd, ...) \
	{ \
		va_list ap; \
		va_start(ap, cmd); \
		void *arg = va_arg(ap, void *); \
		va_end(ap); \
		return fcntl_common(REAL(name), fd, cmd, arg, __builtin_return_address(0)); \
	}
FCNTL_WRAP(fcntl)
FCNTL_WRAP(fcntl64)
FCNTL_WRAP(__fcntl)

/* ---- open: slow filesystems; the mode argument exists only with O_CREAT/O_TMPFILE ---- */
#define OPEN_WRAP(name, atparams, atargs) \
	CT_EXPORT int name(atparams const char *path, int flags, ...) \
	{ \
		mode_t mode = 0; \
		if (flags & (O_CREAT | __O_TMPFILE)) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = va_arg(ap, mode_t); \
			va_end(ap); \
		} \
		SC_BEGIN(); \
		int r = REAL(name)(atargs path, flags, mode); \
		ct_fdclass_forget(r); \
		SC_END(CT_K_OPEN, -1, r); \
		return r; \
	passthrough: \
		r = REAL(name)(atargs path, flags, mode); \
		ct_fdclass_forget(r); \
		return r; \
	}
#define NOTHING
#define COMMA ,
OPEN_WRAP(open, NOTHING, NOTHING)
OPEN_WRAP(__open, NOTHING, NOTHING)
OPEN_WRAP(open64, NOTHING, NOTHING)
OPEN_WRAP(__open64, NOTHING, NOTHING)
OPEN_WRAP(openat, int dirfd COMMA, dirfd COMMA)
OPEN_WRAP(openat64, int dirfd COMMA, dirfd COMMA)

#define OPEN2_WRAP(name, atparams, atargs) \
	CT_EXPORT int name(atparams const char *path, int flags) \
	{ \
		SC_BEGIN(); \
		int r = REAL(name)(atargs path, flags); \
		ct_fdclass_forget(r); \
		SC_END(CT_K_OPEN, -1, r); \
		return r; \
	passthrough: \
		r = REAL(name)(atargs path, flags); \
		ct_fdclass_forget(r); \
		return r; \
	}
OPEN2_WRAP(__open_2, NOTHING, NOTHING)
OPEN2_WRAP(__open64_2, NOTHING, NOTHING)
OPEN2_WRAP(__openat_2, int dirfd COMMA, dirfd COMMA)
OPEN2_WRAP(__openat64_2, int dirfd COMMA, dirfd COMMA)

/* ---- sleeps (profile sleep); glibc's sleep and usleep do not call nanosleep ---- */
WRAP(int, nanosleep, CT_K_NANOSLEEP, -1, (const struct timespec *t, struct timespec *rem),
     (t, rem))
WRAP(int, __nanosleep, CT_K_NANOSLEEP, -1, (const struct timespec *t, struct timespec *rem),
     (t, rem))
WRAP(int, usleep, CT_K_NANOSLEEP, -1, (useconds_t us), (us))
WRAP(unsigned int, sleep, CT_K_NANOSLEEP, -1, (unsigned int s), (s))

/* clock_nanosleep returns an error number instead of setting errno. */
CT_EXPORT int clock_nanosleep(clockid_t c, int f, const struct timespec *t, struct timespec *rem)
{
	SC_BEGIN();
	int r = REAL(clock_nanosleep)(c, f, t, rem);
	SC_END(CT_K_NANOSLEEP, -1, r == 0 ? 0 : -(int64_t)r);
	return r;
passthrough:
	return REAL(clock_nanosleep)(c, f, t, rem);
}

/*
 * ---- fd numbers: created, closed, replaced ----
 *
 * Not timed (they do not block, but for creat, which is open's). The class cache follows
 * them whether tracing is on or not: a new number gets its class when the call says what
 * it is (sockets, pipes, the anonymous-inode fds, memfds) and is forgotten otherwise (the
 * next traced call on it runs one statx); a closed or replaced number is forgotten after
 * the real call, so a thread racing with the close cannot cache the old class again.
 */
#define CREATE_WRAP(name, cls, params, args) \
	CT_EXPORT int name params \
	{ \
		int r = REAL(name) args; \
		if (r >= 0) \
			ct_fdclass_set(r, (cls)); \
		return r; \
	}
CREATE_WRAP(socket, CT_FD_SOCKET, (int d, int t, int p), (d, t, p))
CREATE_WRAP(eventfd, CT_FD_EVENT, (unsigned int v, int f), (v, f))
CREATE_WRAP(timerfd_create, CT_FD_EVENT, (int c, int f), (c, f))
CREATE_WRAP(signalfd, CT_FD_EVENT, (int fd, const sigset_t *m, int f), (fd, m, f))
CREATE_WRAP(epoll_create, CT_FD_EVENT, (int n), (n))
CREATE_WRAP(epoll_create1, CT_FD_EVENT, (int f), (f))
CREATE_WRAP(inotify_init, CT_FD_EVENT, (void), ())
CREATE_WRAP(inotify_init1, CT_FD_EVENT, (int f), (f))
CREATE_WRAP(fanotify_init, CT_FD_EVENT, (unsigned int f, unsigned int ef), (f, ef))
CREATE_WRAP(memfd_create, CT_FD_FILE, (const char *n, unsigned int f), (n, f))

CT_EXPORT int socketpair(int d, int t, int p, int sv[2])
{
	int r = REAL(socketpair)(d, t, p, sv);
	if (r == 0) {
		ct_fdclass_set(sv[0], CT_FD_SOCKET);
		ct_fdclass_set(sv[1], CT_FD_SOCKET);
	}
	return r;
}

#define PIPE_WRAP(name) \
	CT_EXPORT int name(int fds[2]) \
	{ \
		int r = REAL(name)(fds); \
		if (r == 0) { \
			ct_fdclass_set(fds[0], CT_FD_PIPE); \
			ct_fdclass_set(fds[1], CT_FD_PIPE); \
		} \
		return r; \
	}
PIPE_WRAP(pipe)
PIPE_WRAP(__pipe)

/* creat opens whatever is at the path (a FIFO, a device): timed like open. */
#define CREAT_WRAP(name) \
	CT_EXPORT int name(const char *path, mode_t mode) \
	{ \
		SC_BEGIN(); \
		int r = REAL(name)(path, mode); \
		ct_fdclass_forget(r); \
		SC_END(CT_K_OPEN, -1, r); \
		return r; \
	passthrough: \
		r = REAL(name)(path, mode); \
		ct_fdclass_forget(r); \
		return r; \
	}
CREAT_WRAP(creat)
CREAT_WRAP(creat64)

CT_EXPORT int dup(int old)
{
	if (unlikely(ct_fd_refused(old))) {
		errno = EBADF;
		return -1;
	}
	int e0 = errno;
	int r = ct_fd_dup_lowest(old, 0, 0, REAL(dup)(old), e0);
	if (r >= 0)
		ct_fdclass_copy(r, old);
	return r;
}

/* The target of dup2/dup3 is forgotten rather than given the source's class: a vfork
 * child's dup2(pipe, 1) before exec runs on the parent's memory, whose fd 1 stays what it
 * was. */
/* A dup2/dup3 onto one of libctrace's numbers moves its file away first (fdguard.c). */
#define DUP2_WRAP(name) \
	CT_EXPORT int name(int old, int new) \
	{ \
		int r = ct_fd_dup_onto(old, new, -1, REAL(name), NULL); \
		ct_fdclass_forget(new); \
		return r; \
	}
DUP2_WRAP(dup2)
DUP2_WRAP(__dup2)

CT_EXPORT int dup3(int old, int new, int flags)
{
	int r = ct_fd_dup_onto(old, new, flags, NULL, REAL(dup3));
	ct_fdclass_forget(new);
	return r;
}

#define CLOSE_WRAP(name) \
	CT_EXPORT int name(int fd) \
	{ \
		/* libctrace's own fds (the trace file) look closed to the program; libunwind's \
		 * pipe has no fd: see fdguard.c. */ \
		if (unlikely(ct_fd_close_refused(fd))) { \
			if (fd >= CT_FD_FAKE_RD && ct_tls.nest > 0) \
				return 0; \
			errno = EBADF; \
			return -1; \
		} \
		int r = REAL(name)(fd); \
		ct_fdclass_forget(fd); \
		return r; \
	}
CLOSE_WRAP(close)
CLOSE_WRAP(__close)

CT_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	return ct_close_range_guarded(first, last, flags); /* forgets them */
}

/*
 * stdio streams and directory streams open and close their fds inside glibc, where no
 * wrapper sees it: the fd behind the stream is forgotten when the stream is opened and
 * when it is closed. glibc's FILE and DIR are opaque here (void *): ctrace.h includes
 * neither stdio.h nor dirent.h. fileno_unlocked takes no lock and sets errno (EBADF) for
 * streams without an fd, so errno is put back.
 */
static int stream_fd(FILE *f)
{
	if (!f)
		return -1;
	int e = errno;
	int fd = fileno_unlocked(f);
	errno = e;
	return fd;
}

#define FOPEN_WRAP(name) \
	CT_EXPORT FILE *name(const char *path, const char *mode) \
	{ \
		FILE *f = REAL(name)(path, mode); \
		ct_fdclass_forget(stream_fd(f)); \
		return f; \
	}
FOPEN_WRAP(fopen)
FOPEN_WRAP(fopen64)
FOPEN_WRAP(popen)

#define FREOPEN_WRAP(name) \
	CT_EXPORT FILE *name(const char *path, const char *mode, FILE *old) \
	{ \
		int ofd = stream_fd(old); \
		FILE *f = REAL(name)(path, mode, old); \
		ct_fdclass_forget(ofd); \
		ct_fdclass_forget(stream_fd(f)); \
		return f; \
	}
FREOPEN_WRAP(freopen)
FREOPEN_WRAP(freopen64)

#define TMPFILE_WRAP(name) \
	CT_EXPORT FILE *name(void) \
	{ \
		FILE *f = REAL(name)(); \
		ct_fdclass_forget(stream_fd(f)); \
		return f; \
	}
TMPFILE_WRAP(tmpfile)
TMPFILE_WRAP(tmpfile64)

#define FCLOSE_WRAP(name) \
	CT_EXPORT int name(FILE *f) \
	{ \
		int fd = stream_fd(f); \
		int r = REAL(name)(f); \
		ct_fdclass_forget(fd); \
		return r; \
	}
FCLOSE_WRAP(fclose)
FCLOSE_WRAP(pclose)

CT_EXPORT DIR *opendir(const char *path)
{
	DIR *d = REAL(opendir)(path);
	if (d)
		ct_fdclass_forget(dirfd(d));
	return d;
}

CT_EXPORT int closedir(DIR *d)
{
	/* glibc declares d nonnull but returns EINVAL for NULL: hide the attribute from the
	 * optimizer, which would otherwise drop the test. */
	DIR *p = d;
	__asm__("" : "+r"(p));
	int fd = p ? dirfd(p) : -1;
	int r = REAL(closedir)(d);
	ct_fdclass_forget(fd);
	return r;
}
