/* SPDX-License-Identifier: MIT */
/*
 * System calls that can block: file, pipe and socket I/O, accept/connect, epoll/poll/
 * select, fsync, wait*, flock/lockf/fcntl(F_SETLKW), sigwait*, pause, open, and the sleeps;
 * with their LFS (…64) and _FORTIFY_SOURCE (__…_chk) entry points, which programs built by
 * Debian call instead of the plain names.
 *
 * Policy (DESIGN.md section 4.3): every call is timed and counted in its thread's table
 * of call sites (return address, kind, fd class), so totals are exact; only a call that
 * took at least CTRACE_SYSCALL_THRESHOLD (default 20 us) captures a stack and emits an
 * event, after the call (the stack is the same as before it). The cost of a fast call is
 * two clock reads and a table update; nothing is shared between threads.
 *
 * fd classes (socket, pipe, file, event, tty, ...) are cached per fd number on first use
 * (one fstat) and forgotten when the number is closed or reused through the wrappers
 * here (close, close_range, dup2, dup3, open*, accept*); a slow call re-checks its fd, so
 * a number reused through a path no wrapper sees (stdio's internal close) is corrected
 * where it matters. Results and errno are the real call's.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "wait.h"

/* glibc's fortified entry points have no public prototypes. */
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

/* ---- fd classes ---- */

#define FD_CACHE 65536
static uint8_t *fd_cache; /* enum ct_fd_class + 1, 0 unknown */

int ct_fdclass_init(void)
{
	fd_cache = mmap(NULL, FD_CACHE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fd_cache == MAP_FAILED) {
		fd_cache = NULL;
		return -ENOMEM;
	}
	return 0;
}

static unsigned classify(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return CT_FD_UNKNOWN;
	switch (st.st_mode & S_IFMT) {
	case S_IFSOCK: return CT_FD_SOCKET;
	case S_IFIFO: return CT_FD_PIPE;
	case S_IFREG: return CT_FD_FILE;
	case S_IFDIR: return CT_FD_DIR;
	case S_IFCHR: {
		unsigned maj = major(st.st_rdev);
		/* 4: /dev/tty*, 5: /dev/tty, /dev/ptmx, 136-143: /dev/pts/N */
		return (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143)) ? CT_FD_TTY
									    : CT_FD_CHAR;
	}
	case 0: return CT_FD_EVENT; /* anonymous inodes: eventfd, timerfd, signalfd, epoll */
	default: return CT_FD_UNKNOWN;
	}
}

/* The class of fd, cached; `fresh` re-checks it. Record path (one fstat per new fd). */
static unsigned fd_class(int fd, int fresh)
{
	if (fd < 0)
		return CT_FD_NONE;
	if (!fd_cache || fd >= FD_CACHE)
		return classify(fd);
	unsigned c = fd_cache[fd];
	if (c && !fresh)
		return c - 1;
	c = classify(fd);
	fd_cache[fd] = (uint8_t)(c + 1);
	return c;
}

static inline void fd_forget(int fd)
{
	if (fd_cache && fd >= 0 && fd < FD_CACHE)
		fd_cache[fd] = 0;
}

/* ---- call sites ---- */

static struct ct_site *site_slot(struct ct_thread *th, uint64_t pc, unsigned kind, unsigned cls)
{
	unsigned h = (unsigned)((pc >> 4) ^ (pc >> 12) ^ (kind * 7u) ^ (cls * 13u)) % CT_SITES;
	for (unsigned i = 0; i < CT_SITES; i++) {
		struct ct_site *s = &th->sites[(h + i) % CT_SITES];
		if (s->pc == pc && s->kind == kind && s->cls == cls)
			return s;
		if (s->pc == 0) {
			s->kind = (uint8_t)kind;
			s->cls = (uint8_t)cls;
			__atomic_store_n(&s->pc, pc, __ATOMIC_RELEASE);
			return s;
		}
	}
	struct ct_site *o = &th->sites[CT_SITES]; /* overflow: pc 0 */
	o->kind = (uint8_t)kind;
	o->cls = (uint8_t)cls;
	return o;
}

static inline void site_add(struct ct_site *s, uint64_t d)
{
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->total_ns, s->total_ns + d, __ATOMIC_RELAXED);
	if (d > s->max_ns)
		__atomic_store_n(&s->max_ns, d, __ATOMIC_RELAXED);
}

size_t ct_sites_snapshot(const struct ct_thread *th, struct ct_event *out, uint64_t ts)
{
	size_t n = 0;
	for (unsigned i = 0; i <= CT_SITES; i++) {
		const struct ct_site *s = &th->sites[i];
		uint64_t count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
		if (!count)
			continue;
		struct ct_event ev = { .ts = ts, .type = CT_EV_SITE, .kind = s->kind,
				       .flags = s->cls,
				       .obj = __atomic_load_n(&s->pc, __ATOMIC_ACQUIRE),
				       .a = count,
				       .b = __atomic_load_n(&s->total_ns, __ATOMIC_RELAXED),
				       .c = __atomic_load_n(&s->max_ns, __ATOMIC_RELAXED) };
		out[n++] = ev;
	}
	return n;
}

/*
 * After the real call: count it at its call site, and for a slow call capture the stack
 * and record the event. ret is the call's result (as int64), err the errno it left.
 */
static __attribute__((noinline)) void sc_end(uint64_t t0, unsigned kind, int fd, int64_t ret,
					      void *site)
{
	int e = errno;
	ct_enter();
	uint64_t t1 = ct_now(), d = t1 - t0;
	struct ct_thread *th = ct_self();
	if (th) {
		int slow = d >= ct_cfg.sc_threshold_ns;
		unsigned cls = fd_class(fd, slow);
		site_add(site_slot(th, (uint64_t)(uintptr_t)site, kind, cls), d);
		if (slow) {
			struct ct_event ev = {
				.ts = t0, .type = CT_EV_SYSCALL, .kind = (uint8_t)kind,
				.stack = ct_stack_here(),
				.obj = fd >= 0 ? (uint64_t)fd : UINT64_MAX, .a = t1,
				.b = (uint64_t)ret,
				.c = (uint64_t)(ret < 0 ? (e & 0xffff) : 0) | ((uint64_t)cls << 16) };
			ct_emit(th, &ev);
			if (!ct_in_signal)
				ct_writer_spawn();
		}
	}
	ct_leave();
	errno = e;
}

/* Calls that return -1 and set errno, or a pthread-style error (clock_nanosleep). */
#define SC_BEGIN() \
	if (unlikely(!ct_on())) \
		goto passthrough; \
	uint64_t t0_ = ct_now()
#define SC_END(kind, fd, r) sc_end(t0_, (kind), (fd), (int64_t)(r), __builtin_return_address(0))

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
WRAP(ssize_t, read, CT_K_READ, fd, (int fd, void *b, size_t n), (fd, b, n))
WRAP(ssize_t, write, CT_K_WRITE, fd, (int fd, const void *b, size_t n), (fd, b, n))
WRAP(ssize_t, readv, CT_K_READ, fd, (int fd, const struct iovec *v, int n), (fd, v, n))
WRAP(ssize_t, writev, CT_K_WRITE, fd, (int fd, const struct iovec *v, int n), (fd, v, n))
WRAP(ssize_t, pread, CT_K_READ, fd, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(ssize_t, pread64, CT_K_READ, fd, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o))
WRAP(ssize_t, pwrite, CT_K_WRITE, fd, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(ssize_t, pwrite64, CT_K_WRITE, fd, (int fd, const void *b, size_t n, off64_t o),
     (fd, b, n, o))
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
WRAP(ssize_t, recvmsg, CT_K_RECV, fd, (int fd, struct msghdr *m, int f), (fd, m, f))
WRAP(int, recvmmsg, CT_K_RECV, fd,
     (int fd, struct mmsghdr *m, unsigned int n, int f, struct timespec *t), (fd, m, n, f, t))
WRAP(ssize_t, send, CT_K_SEND, fd, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
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

/* accept returns a new fd whose number may have been closed behind our back. */
CT_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *l)
{
	SC_BEGIN();
	int r = REAL(accept)(fd, a, l);
	fd_forget(r);
	SC_END(CT_K_ACCEPT, fd, r);
	return r;
passthrough:
	r = REAL(accept)(fd, a, l);
	fd_forget(r);
	return r;
}

CT_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *l, int f)
{
	SC_BEGIN();
	int r = REAL(accept4)(fd, a, l, f);
	fd_forget(r);
	SC_END(CT_K_ACCEPT, fd, r);
	return r;
passthrough:
	r = REAL(accept4)(fd, a, l, f);
	fd_forget(r);
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
WRAP(int, ppoll, CT_K_POLL, -1,
     (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s), (p, n, t, s))
WRAP(int, __poll_chk, CT_K_POLL, -1, (struct pollfd *p, nfds_t n, int t, size_t l),
     (p, n, t, l))
WRAP(int, __ppoll_chk, CT_K_POLL, -1,
     (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s, size_t l),
     (p, n, t, s, l))
WRAP(int, select, CT_K_SELECT, -1,
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
WRAP(pid_t, waitpid, CT_K_WAIT, -1, (pid_t p, int *s, int o), (p, s, o))
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
WRAP(int, pause, CT_K_SIGWAIT, -1, (void), ())

/* fcntl is variadic; like glibc, the third argument is forwarded as a pointer-sized
 * value. Only the blocking lock commands are timed. */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg, void *site)
{
	int blocking = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
	if (!blocking || !ct_on()) {
		int r = real(fd, cmd, arg);
		if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
			fd_forget(r);
		return r;
	}
	uint64_t t0 = ct_now();
	int r = real(fd, cmd, arg);
	sc_end(t0, CT_K_FLOCK, fd, r, site);
	return r;
}

CT_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl), fd, cmd, arg, __builtin_return_address(0));
}

CT_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl64), fd, cmd, arg, __builtin_return_address(0));
}

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
		fd_forget(r); \
		SC_END(CT_K_OPEN, -1, r); \
		return r; \
	passthrough: \
		r = REAL(name)(atargs path, flags, mode); \
		fd_forget(r); \
		return r; \
	}
#define NOTHING
#define COMMA ,
OPEN_WRAP(open, NOTHING, NOTHING)
OPEN_WRAP(open64, NOTHING, NOTHING)
OPEN_WRAP(openat, int dirfd COMMA, dirfd COMMA)
OPEN_WRAP(openat64, int dirfd COMMA, dirfd COMMA)

#define OPEN2_WRAP(name, atparams, atargs) \
	CT_EXPORT int name(atparams const char *path, int flags) \
	{ \
		SC_BEGIN(); \
		int r = REAL(name)(atargs path, flags); \
		fd_forget(r); \
		SC_END(CT_K_OPEN, -1, r); \
		return r; \
	passthrough: \
		r = REAL(name)(atargs path, flags); \
		fd_forget(r); \
		return r; \
	}
OPEN2_WRAP(__open_2, NOTHING, NOTHING)
OPEN2_WRAP(__open64_2, NOTHING, NOTHING)
OPEN2_WRAP(__openat_2, int dirfd COMMA, dirfd COMMA)
OPEN2_WRAP(__openat64_2, int dirfd COMMA, dirfd COMMA)

/* ---- sleeps (profile sleep); glibc's sleep and usleep do not call nanosleep ---- */
WRAP(int, nanosleep, CT_K_NANOSLEEP, -1, (const struct timespec *t, struct timespec *rem),
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

/* ---- fd numbers going away or being reused ---- */
CT_EXPORT int close(int fd)
{
	/* libctrace's own fds (trace file, libunwind's pipe) look closed to the program:
	 * see fdguard.c. */
	if (unlikely(ct_fd_close_refused(fd))) {
		errno = EBADF;
		return -1;
	}
	fd_forget(fd);
	return REAL(close)(fd);
}

CT_EXPORT int dup2(int old, int new)
{
	int r = REAL(dup2)(old, new);
	if (r >= 0)
		fd_forget(r);
	return r;
}

CT_EXPORT int dup3(int old, int new, int flags)
{
	int r = REAL(dup3)(old, new, flags);
	if (r >= 0)
		fd_forget(r);
	return r;
}

CT_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int r = ct_close_range_guarded(first, last, flags);
	if (r == 0 && fd_cache && !(flags & CLOSE_RANGE_CLOEXEC))
		for (unsigned fd = first; fd <= last && fd < FD_CACHE; fd++)
			fd_cache[fd] = 0;
	return r;
}
