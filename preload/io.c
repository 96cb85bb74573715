/* SPDX-License-Identifier: MIT */
/*
 * System calls that can block: file, pipe and socket I/O, accept/connect, epoll/poll/
 * select, fsync, wait*, flock/lockf/fcntl(F_SETLKW), sigwait*, pause, open, and the sleeps;
 * with their LFS (…64), _FORTIFY_SOURCE (__…_chk) and exported-alias (__read, __poll, ...)
 * entry points, which programs call instead of the plain names. Also every call that
 * creates, closes or replaces an fd number, for the class cache.
 *
 * Policy (preload/README.md, record path rule 3): every call is timed and counted in its
 * thread's table of call sites (ctrace.h: exact per call site, kind and fd class; an
 * overflow entry per kind and class beyond 224 sites), so totals are exact; only a call
 * that took at least CTRACE_SYSCALL_THRESHOLD captures a stack and emits an event, after
 * the call (the stack is the same as before it). A fast call costs two clock reads, one
 * byte load for its fd's class, a hash probe and three stores into the thread's own
 * table: no system call, no errno access, nothing shared between threads (README.md has
 * the measurements).
 *
 * fd classes (socket, pipe, file, event, tty, ...) are cached per fd number: set by the
 * calls that create fds of a known class (socket, socketpair, accept*, pipe*, eventfd,
 * timerfd, signalfd, epoll_create*, inotify*, fanotify, memfd, dup, F_DUPFD), learnt with
 * one statx (the type only: see classify) on first use otherwise, and forgotten when a
 * number is closed or replaced through any path libctrace sees: close, close_range,
 * closefrom, dup2/dup3 targets, syscall(SYS_close, SYS_close_range, SYS_dup2/3, and the
 * fd-creating ones), fclose, pclose, freopen, closedir, fds received with SCM_RIGHTS; the
 * fork child forgets them all. A slow call re-checks its fd (once a second per number at most), so a number
 * reused through a path no wrapper sees (raw syscall instructions, io_uring) is corrected
 * where it matters. Results and errno are the real call's.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "../format/events.h"
#include "wait.h"

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

/* ---- fd classes ---- */

/*
 * One byte per fd number for numbers below FD_CACHE: the class + 1 in the low four bits
 * (0 unknown), in the high four the period of the last slow-call check (0: never; see
 * fd_class_checked). FD_CACHE is Linux's default ceiling on open files (fs.nr_open): 1 MiB
 * of zero pages in .bss, a page becomes resident only when a number in it is used. Shared by all threads (the fd table
 * is); entries are single bytes, so racing writers cannot tear them. fd_hi bounds the
 * range clears.
 */
#define FD_CACHE (1u << 20)
static uint8_t fd_cache[FD_CACHE];
static unsigned fd_hi; /* one past the highest number ever cached */

#define FD_CLASS(byte) ((byte) & 15u)
#define FD_PERIOD(byte) ((byte) >> 4)

/* fd's byte: class cls, checked in period (0: not checked). */
static inline void fd_store(unsigned fd, unsigned cls, unsigned period)
{
	unsigned hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED);
	while (fd >= hi && !__atomic_compare_exchange_n(&fd_hi, &hi, fd + 1, 1,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	__atomic_store_n(&fd_cache[fd], (uint8_t)((cls + 1) | period << 4), __ATOMIC_RELAXED);
}

void ct_fdclass_set(int fd, unsigned cls)
{
	if ((unsigned)fd < FD_CACHE)
		fd_store((unsigned)fd, cls, 0);
}

void ct_fdclass_forget(int fd)
{
	if ((unsigned)fd < FD_CACHE)
		__atomic_store_n(&fd_cache[fd], 0, __ATOMIC_RELAXED);
}

void ct_fdclass_forget_range(unsigned first, unsigned last)
{
	unsigned hi = __atomic_load_n(&fd_hi, __ATOMIC_RELAXED);
	if (last >= hi)
		last = hi - 1; /* hi == 0: last wraps, first > last below */
	if (hi && first <= last)
		memset(&fd_cache[first], 0, last - first + 1);
}

/* The fork child starts with no classes: whatever the parent got wrong (a number reused
 * through a path no wrapper sees) or left half-updated (a thread between a close and its
 * forget) is not inherited. */
static void fdclass_after_fork(void)
{
	ct_fdclass_forget_range(0, FD_CACHE - 1);
}

static void ticks_init(void);
static uintptr_t page_size = 4096;

int ct_fdclass_init(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	if (ps > 0)
		page_size = (uintptr_t)ps;
	ticks_init();
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
static int fd_type(int fd, unsigned *mode, unsigned *rdev_major)
{
	struct statx sx;
	if (ct_in_sandbox()) /* no system call of ours under a seccomp filter */
		return -1;
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
static __attribute__((noinline)) unsigned fd_learn(int fd)
{
	unsigned c = classify(fd);
	if (c == NOT_OPEN)
		return CT_FD_UNKNOWN;
	fd_store((unsigned)fd, c, 0);
	return c;
}

/* The class of fd for a fast call: one load when cached; no system call for numbers
 * beyond the cache (unknown). Record path. */
static inline unsigned fd_class(int fd)
{
	if (likely((unsigned)fd < FD_CACHE)) {
		unsigned c = FD_CLASS(fd_cache[fd]);
		if (likely(c))
			return c - 1;
		return fd_learn(fd);
	}
	return fd < 0 ? CT_FD_NONE : CT_FD_UNKNOWN;
}

/*
 * The class of fd for a slow call, about to be recorded with its stack: checked again with
 * statx, at most once per period of 2^30 ns (about a second) per number, so that a number
 * reused through a path no wrapper sees is filed right within a second while a server whose
 * every epoll_wait blocks does not pay a system call for each (the periods are numbered
 * 1..15 and wrap: a number checked exactly 16 periods before is trusted once more). now:
 * CLOCK_MONOTONIC ns.
 */
static unsigned fd_class_checked(int fd, uint64_t now)
{
	if (fd < 0)
		return CT_FD_NONE;
	unsigned period = 1 + (unsigned)((now >> 30) % 15);
	if ((unsigned)fd < FD_CACHE) {
		unsigned b = __atomic_load_n(&fd_cache[fd], __ATOMIC_RELAXED);
		if (FD_CLASS(b) && FD_PERIOD(b) == period)
			return FD_CLASS(b) - 1;
	}
	unsigned c = classify(fd);
	if (c == NOT_OPEN) {
		ct_fdclass_forget(fd);
		return CT_FD_UNKNOWN;
	}
	if ((unsigned)fd < FD_CACHE)
		fd_store((unsigned)fd, c, period);
	return c;
}

/* to gets from's class if that is known. */
static void fd_copy(int to, int from)
{
	if ((unsigned)to >= FD_CACHE)
		return;
	unsigned c = (unsigned)from < FD_CACHE
			     ? FD_CLASS(__atomic_load_n(&fd_cache[from], __ATOMIC_RELAXED))
			     : 0;
	if (c)
		fd_store((unsigned)to, c - 1, 0);
	else
		ct_fdclass_forget(to);
}

/* fds received with SCM_RIGHTS are new numbers of any class. */
static void forget_passed_fds(struct msghdr *m)
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

/* ---- the clock of the fast path ---- */

/*
 * A call reads its clock twice. Where the kernel itself keeps time with the TSC
 * (clocksource "tsc": invariant, synchronized across CPUs and watched by the kernel),
 * durations are taken with rdtsc, 7 ns against 16 ns for the vDSO's clock_gettime on the
 * 2-core VM; elsewhere "ticks" are CLOCK_MONOTONIC ns and nothing below converts. The
 * site counters hold ticks; they become ns with tick_mult (ns per tick, 32.32 fixed
 * point) when they are written out. tick_mult is estimated at load over ~20 us (within
 * 0.2%) and refined against CLOCK_MONOTONIC from the same base at every slow call and
 * every snapshot (after one second, within 1e-7). A slow call's begin is its end
 * (CLOCK_MONOTONIC, read then) minus its duration.
 */
static int use_tsc;
static uint64_t tick_mult = UINT64_C(1) << 32; /* atomic: ns per tick << 32 */
static uint64_t thr_ticks;                      /* atomic: the threshold in ticks */
static uint64_t base_tick, base_ns;             /* the calibration base (load time) */

static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
	if (likely(use_tsc))
		return __rdtsc();
#endif
	return ct_now();
}

static inline uint64_t ticks_to_ns(uint64_t t)
{
	if (!use_tsc)
		return t;
	return (uint64_t)(((unsigned __int128)t *
			   __atomic_load_n(&tick_mult, __ATOMIC_RELAXED)) >> 32);
}

static void set_mult(uint64_t mult)
{
	__atomic_store_n(&tick_mult, mult, __ATOMIC_RELAXED);
	unsigned __int128 thr = ((unsigned __int128)ct_cfg.sc_threshold_ns << 32) / mult;
	__atomic_store_n(&thr_ticks, thr > UINT64_MAX ? UINT64_MAX : (uint64_t)thr,
			 __ATOMIC_RELAXED);
}

#if defined(__x86_64__)
/* A (tick, ns) pair read together: rdtsc, clock_gettime, rdtsc; the ticks' midpoint.
 * Returns the spread in ticks (large when the thread was preempted in between). */
static uint64_t tick_pair(uint64_t *tick, uint64_t *ns)
{
	uint64_t a = __rdtsc();
	*ns = ct_now();
	uint64_t b = __rdtsc();
	*tick = a + (b - a) / 2;
	return b - a;
}

/* Is the kernel's clocksource the TSC? Constructor only (open, read, close). */
static int tsc_is_clocksource(void)
{
	char buf[16] = { 0 };
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n == 4 && !memcmp(buf, "tsc\n", 4);
}
#endif

/* Refines tick_mult with a pair read now, when the base is at least 1 ms old. An
 * estimate more than 1% away from the current one is not taken: the two clocks came
 * apart (a suspend stops CLOCK_MONOTONIC, not necessarily the TSC). Record path (no
 * system call: the vDSO). */
static void tick_refine(uint64_t tick, uint64_t ns)
{
	if (!use_tsc || tick <= base_tick || ns < base_ns + 1000000)
		return;
	uint64_t m = (uint64_t)(((unsigned __int128)(ns - base_ns) << 32) / (tick - base_tick));
	uint64_t cur = __atomic_load_n(&tick_mult, __ATOMIC_RELAXED);
	if (m > cur + cur / 100 || m < cur - cur / 100)
		return;
	set_mult(m);
}

static void ticks_init(void)
{
	set_mult(UINT64_C(1) << 32);
#if defined(__x86_64__)
	if (!tsc_is_clocksource())
		return;
	/* Pairs whose reads are more than ~1 us apart (preempted) are not used. */
	uint64_t t0, n0, t, n;
	for (int i = 0; i < 8 && tick_pair(&t0, &n0) > 2000; i++)
		;
	uint64_t t1 = t0, n1 = n0;
	do {
		if (tick_pair(&t, &n) <= 2000)
			t1 = t, n1 = n;
	} while (n1 < n0 + 20000 && n < n0 + 1000000);
	if (t1 <= t0 || n1 < n0 + 10000)
		return;
	base_tick = t0;
	base_ns = n0;
	set_mult((uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0)));
	use_tsc = 1;
#endif
}

/* ---- call sites ---- */

_Static_assert(CT_FD_MAX <= 256 && CT_K_MAX <= 256, "kind and class fit a byte each");
#define KCM_MAX ((UINT64_C(1) << 48) - 1)

static inline unsigned site_hash(uint64_t pc, unsigned kc)
{
	return (unsigned)(((pc ^ ((uint64_t)kc << 47)) * UINT64_C(0x9e3779b97f4a7c15)) >>
			  (64 - CT_SITE_BITS));
}

#define HDR 0                               /* sites[0]: the header */
#define HASHED(i) (1 + (i))                 /* hashed entry i, 0 <= i < CT_SITE_SLOTS */
#define OVERFLOW (1 + CT_SITE_SLOTS)        /* the first overflow entry */

/* The entry of (pc, kind | class << 8) after the first probe missed: the next slots up
 * to the first free one (there is always one: at most CT_SITE_CAP are used), which it
 * takes unless the table holds CT_SITE_CAP sites already; then the overflow entry of
 * the kind and class. */
static __attribute__((noinline)) struct ct_site *site_probe(struct ct_thread *th, unsigned h,
							     uint64_t pc, unsigned kc)
{
	struct ct_site *hdr = &th->sites[HDR];
	for (unsigned i = 0; i < CT_SITE_SLOTS; i++) {
		struct ct_site *s = &th->sites[HASHED((h + i) & (CT_SITE_SLOTS - 1))];
		if (s->pc == pc && (uint16_t)s->kcm == kc)
			return s;
		if (s->pc == 0) {
			if (hdr->pc >= CT_SITE_CAP)
				break;
			hdr->pc++;
			__atomic_store_n(&hdr->count, hdr->pc, __ATOMIC_RELAXED);
			/* kind and class first, then the pc that publishes them to the writer */
			__atomic_store_n(&s->kcm, (uint64_t)kc, __ATOMIC_RELAXED);
			__atomic_store_n(&s->pc, pc, __ATOMIC_RELEASE);
			return s;
		}
	}
	unsigned kind = kc & 0xff, cls = kc >> 8;
	return &th->sites[OVERFLOW + (kind - CT_K_EPOLL) * CT_FD_MAX + cls];
}

static inline struct ct_site *site_get(struct ct_thread *th, uint64_t pc, unsigned kc)
{
	unsigned h = site_hash(pc, kc);
	struct ct_site *s = &th->sites[HASHED(h)];
	if (likely(s->pc == pc && (uint16_t)s->kcm == kc))
		return s;
	return site_probe(th, h, pc, kc);
}

/* The owner's update (d in ticks); the writer may read the fields one by one at any
 * time. */
static inline void site_add(struct ct_site *s, uint64_t d)
{
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->total, s->total + d, __ATOMIC_RELAXED);
	uint64_t kcm = s->kcm;
	if (unlikely(d > kcm >> 16))
		__atomic_store_n(&s->kcm, (kcm & 0xffff) | ((d < KCM_MAX ? d : KCM_MAX) << 16),
				 __ATOMIC_RELAXED);
}

/* Refines the tick multiplier now (a snapshot is a good moment: once per generation). */
static void refine_now(void)
{
#if defined(__x86_64__)
	uint64_t tick, ns;
	if (use_tsc && tick_pair(&tick, &ns) <= 2000)
		tick_refine(tick, ns);
#endif
}

/* The records of entries [*pos, end) into out, at most cap; *pos: where it stopped. */
static size_t sites_range(const struct ct_thread *th, unsigned *pos, unsigned end,
			  struct ct_event *out, size_t cap, uint64_t ts)
{
	size_t n = 0;
	unsigned i = *pos;
	for (; i < end && n < cap; i++) {
		const struct ct_site *s = &th->sites[i];
		uint64_t pc = __atomic_load_n(&s->pc, __ATOMIC_ACQUIRE);
		if (i < OVERFLOW && !pc)
			continue;
		uint64_t count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
		if (!count)
			continue;
		uint64_t kcm = __atomic_load_n(&s->kcm, __ATOMIC_RELAXED);
		unsigned kind = kcm & 0xff, cls = (kcm >> 8) & 0xff;
		if (i < OVERFLOW && kind < CT_K_EPOLL)
			continue; /* torn by ct_sites_release */
		if (i >= OVERFLOW) { /* site 0, kind and class by position */
			pc = 0;
			kind = CT_K_EPOLL + (i - OVERFLOW) / CT_FD_MAX;
			cls = (i - OVERFLOW) % CT_FD_MAX;
		}
		out[n++] = ct_ev_site(ts, kind, cls, pc, count,
				      ticks_to_ns(__atomic_load_n(&s->total, __ATOMIC_RELAXED)),
				      ticks_to_ns(kcm >> 16));
	}
	*pos = i;
	return n;
}

size_t ct_sites_next(const struct ct_thread *th, unsigned *pos, struct ct_event *out,
		     size_t cap, uint64_t ts)
{
	if (*pos == 0) {
		refine_now();
		*pos = 1;
	}
	return sites_range(th, pos, CT_SITE_ENTRIES, out, cap, ts);
}

/* The exiting owner's table, counted out: its whole pages are dropped (they read as
 * zeros again, which is what the slot's next claim writes into them). A writer reading
 * the table meanwhile may see a mix of old values and zeros: sites_range skips an entry
 * whose kind reads as 0, and a record whose total reads as 0 loses to the owner's final
 * one, which has the same count and its real total (the analyzer keeps the largest). */
void ct_sites_release(struct ct_thread *th)
{
	uintptr_t lo = (uintptr_t)&th->sites[0], hi = (uintptr_t)&th->sites[CT_SITE_ENTRIES];
	lo = (lo + page_size - 1) & ~(uintptr_t)(page_size - 1);
	hi &= ~(uintptr_t)(page_size - 1);
	if (hi <= lo)
		return;
	int e = errno;
	madvise((void *)lo, hi - lo, MADV_DONTNEED);
	errno = e;
}

int ct_sites_exit(struct ct_thread *th, uint64_t ts)
{
	struct ct_event out[8]; /* on the exiting thread's stack: a few records at a time */
	unsigned pos = 0;
	size_t n;
	int all = 1;
	while ((n = ct_sites_next(th, &pos, out, sizeof(out) / sizeof(out[0]), ts)))
		for (size_t i = 0; i < n; i++)
			all &= ct_emit(th, &out[i]) == 0;
	if (all)
		ct_sites_release(th);
	return all ? 0 : -1;
}

/*
 * After the real call. The fast path (a call shorter than the threshold, the thread
 * known) leaves errno alone and calls nothing that could change it: a clock read, the
 * fd's class (one load) and the site's counters. Everything else is sc_slow's.
 */
static __attribute__((noinline, cold)) void sc_slow(uint64_t t0, uint64_t t1, unsigned kind,
						      int fd, int64_t ret, void *site)
{
	uint64_t end = use_tsc ? ct_now() : t1; /* CLOCK_MONOTONIC, close to t1 */
	int e = errno;
	ct_enter();
	uint64_t d = (int64_t)(t1 - t0) > 0 ? t1 - t0 : 0; /* ticks */
	struct ct_thread *th = ct_self();
	if (th) {
		int slow = d >= __atomic_load_n(&thr_ticks, __ATOMIC_RELAXED);
		unsigned cls = slow ? fd_class_checked(fd, end) : fd_class(fd);
		site_add(site_get(th, (uint64_t)(uintptr_t)site, kind | cls << 8), d);
		if (slow) {
			tick_refine(t1, end);
			struct ct_event ev = ct_ev_syscall(end - ticks_to_ns(d), kind, ct_stack_here(),
							   fd >= 0 ? (uint64_t)fd : UINT64_MAX, end,
							   ret, ret < 0 ? (unsigned)e : 0, cls);
			if (ct_held.n) /* the locks the call was made under */
				ct_held_emit(th, ev.ts, 0);
			ct_emit(th, &ev);
			ct_writer_tick(end);
		}
	}
	ct_leave();
	errno = e;
}

static __attribute__((noinline)) void sc_end(uint64_t t0, unsigned kind, int fd, int64_t ret,
					      void *site)
{
	uint64_t t1 = ticks();
	struct ct_thread *th = ct_tls.th;
	if (unlikely(t1 - t0 >= __atomic_load_n(&thr_ticks, __ATOMIC_RELAXED) || !th)) {
		sc_slow(t0, t1, kind, fd, ret, site);
		return;
	}
	ct_enter();
	unsigned cls = fd_class(fd);
	site_add(site_get(th, (uint64_t)(uintptr_t)site, kind | cls << 8), t1 - t0);
	ct_leave();
}

/* Calls that return -1 and set errno, or a pthread-style error (clock_nanosleep). */
#define SC_BEGIN() \
	if (unlikely(!ct_on())) \
		goto passthrough; \
	uint64_t t0_ = ticks()
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
		forget_passed_fds(m);
	return r;
passthrough:
	r = REAL(recvmsg)(fd, m, f);
	if (r >= 0)
		forget_passed_fds(m);
	return r;
}

CT_EXPORT int recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int f, struct timespec *t)
{
	SC_BEGIN();
	int r = REAL(recvmmsg)(fd, m, n, f, t);
	SC_END(CT_K_RECV, fd, r);
	for (int i = 0; i < r; i++)
		forget_passed_fds(&m[i].msg_hdr);
	return r;
passthrough:
	r = REAL(recvmmsg)(fd, m, n, f, t);
	for (int i = 0; i < r; i++)
		forget_passed_fds(&m[i].msg_hdr);
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
				fd_copy(r, fd);
		}
		return r;
	}
	uint64_t t0 = ticks();
	int r = real(fd, cmd, arg);
	sc_end(t0, CT_K_FLOCK, fd, r, site);
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
		fd_copy(r, old);
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
