/* SPDX-License-Identifier: MIT */
/*
 * The writer: the trace file and the background thread that drains the per-thread
 * buffers into it, about every CTRACE_FLUSH_MS (100 ms), and closes a generation about
 * every CTRACE_GENERATION_MS (1 s). Each generation is written as
 *   GEN_BEGIN, MODULES, THREADS, then per buffer drained: STACKS (stacks first used in
 *   this generation) and EVENTS, and finally GEN_END with the lost-event counts,
 * so it decodes alone (format/FORMAT.md). One write(2) per chunk.
 *
 * The writer thread is libctrace's own: created with the real pthread_create, all signals
 * blocked, its guard set so nothing it calls is traced, its stack of its own size. It
 * starts when the program creates its first thread; until then the program's thread
 * writes (ct_writer_tick). Every flush made on a thread libctrace does not own runs on
 * the flush stack (ownstack.c), which the flush lock makes its own. The writer sleeps on
 * a futex word for CTRACE_FLUSH_MS, or less when a thread finds the buffer pools running
 * low (buffer.c).
 * Only this file touches the file descriptor. flush_mu (a libctrace-private mutex, taken
 * through the real functions) serializes the writer thread with the flushes made by
 * other threads: at exit, before exec, on a fatal signal and around fork. Those take it
 * with a bounded wait and never when the calling thread holds it already (a signal
 * handler that interrupted a flush): they give up rather than hang the program.
 *
 * The file is created 0600 and never overwrites: written unnamed (O_TMPFILE) with its
 * header and then linked under its name (linkat fails on any existing name, a symlink
 * included), so that a process killed at any moment leaves no empty file; where the file
 * system has no O_TMPFILE, O_EXCL|O_NOFOLLOW|O_CLOEXEC. If the name exists, ".1", ".2",
 * ... is inserted before the extension (so a new image after exec, whose pid is the same,
 * writes a new file). The descriptor is moved above the low numbers
 * programs use and protected from programs that close every fd (fdguard.c).
 *
 * Processes: a fork child discards the parent's unwritten events (the parent writes them)
 * and creates its own file, with CTRACE_OUT's %p expanded to its pid, in its atfork
 * handler (while it still has the parent's credentials); a child that exits or execs
 * before it recorded anything removes that empty file (the new image then takes its
 * name). exec
 * flushes and closes the generation first and reopens one if exec fails; a fatal signal flushes
 * what is buffered (signal.c). A vfork child (getpid() != ct_pid, the parent's memory)
 * never touches any of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctrace.h"
#include "../format/events.h"
#include "../format/writer.h"
#include "../unwind/capture.h"

#define MAX_MODULES 1024
#define STACKS_PER_CHUNK 256
#define STACK_IDS (1u << 16) /* bitmap of ids already written in this generation */
#define RAW_CAP (8u << 20)
#define WRITER_STACK (512u << 10)

/* Bounded waits for flush_mu outside the writer thread, in ms. */
#define WAIT_FINISH_MS 5000
#define WAIT_EXEC_MS 2000
#define WAIT_FORK_MS 2000
#define WAIT_FATAL_MS 2000
#define WAIT_SPAWN_MS 1000

pid_t ct_pid;
static int fd = -1;
static int need_open;          /* the file is created when first needed (see exec_begin) */
static char cur_path[4096 + 64]; /* the open trace file's name */
static int fork_file;          /* the file was created by the fork child handler */
static int wrote_events;       /* an EVENTS chunk has gone into the open file */
static pthread_t writer;
static atomic_int writer_stop, finished, finishing, spawned;
static atomic_int finish_done; /* ct_writer_finish has flushed (or given up): futex word */
static int writer_started;
atomic_int ct_writer_on; /* writer_started, for the record path */
static pthread_mutex_t flush_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int flush_owner;      /* tid holding flush_mu, 0 if none */
static CT_TLS int fork_locked;      /* this thread took flush_mu in the fork prepare handler */
static uint32_t gen;
static uint64_t gen_start;
static struct ct_wbuf wb;
static uint8_t *stack_written;       /* bitmap, STACK_IDS bits */
/* Large tables are mapped at start, not static: a large .bss in the preloaded object was
 * measured to slow every wrapped call of the program by about 1.5 ns (a memory-layout
 * effect: the same code with a 320 KiB .bss ran an uncontended lock/unlock pair at 8 ns
 * instead of 3.3 ns). */
#define MOD_STR_CAP (256u << 10)
static struct ct_module *mods;
static char *mod_str;
static size_t nmods;
static struct ct_stack *pending;
static size_t npending;
static uint32_t site_seq = 1u << 31; /* SITE chunks: their own seq range */
static struct ct_thread_state *tstates; /* max_threads entries */

static void close_trace(void)
{
	if (fd < 0)
		return;
	ct_fd_close(fd);
	fd = -1;
}

/* Takes flush_mu, waiting at most timeout_ms (< 0: without limit). -1 if it is not had
 * in time or this thread holds it already (a signal handler that interrupted a flush). */
static int flush_lock(int timeout_ms)
{
	pid_t me = gettid();
	if (atomic_load(&flush_owner) == me)
		return -1;
	if (timeout_ms < 0 || !REAL(pthread_mutex_clocklock)) {
		REAL(pthread_mutex_lock)(&flush_mu);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (ct_real.pthread_mutex_clocklock(&flush_mu, CLOCK_MONOTONIC, &ts) != 0)
			return -1;
	}
	atomic_store(&flush_owner, me);
	return 0;
}

static void flush_unlock(void)
{
	atomic_store(&flush_owner, 0);
	REAL(pthread_mutex_unlock)(&flush_mu);
}

/* Writes p[0..len) to f, all of it; 0, or -1 with errno. */
static int write_raw(int f, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = ct_fd_write(f, p, len); /* wherever fdguard.c moved f */
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Writes wb.out[0..len) to f; 0, or -1 with errno. Under a file-size limit (RLIMIT_FSIZE,
 * `ulimit -f`) a write that would pass it is not made (EFBIG): the kernel would cut it
 * short and send SIGXFSZ, whose default action kills the program. The limit can change
 * between the check and the write (setrlimit in another thread): SIGXFSZ is then blocked
 * around the write and taken back with sigtimedwait if the write raised it.
 */
static int write_all(int f, size_t len)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return write_raw(f, wb.out, len);
	off_t off = lseek(f, 0, SEEK_CUR);
	if (off < 0 || (uint64_t)off + len > (uint64_t)rl.rlim_cur) {
		errno = EFBIG;
		return -1;
	}
	sigset_t xfsz, old, pend;
	sigemptyset(&xfsz);
	sigaddset(&xfsz, SIGXFSZ);
	pthread_sigmask(SIG_BLOCK, &xfsz, &old);
	int was_pending = sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ);
	int r = write_raw(f, wb.out, len);
	int e = errno;
	if (r != 0 && !was_pending && sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ)) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&xfsz, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

static struct ct_file_header cur_hdr; /* the open file's header, as written */

/* The open file's header again, with flags added (in place: the file does not grow). */
static void rewrite_header(uint32_t flags)
{
	uint8_t h[CT_HEADER_LEN];
	cur_hdr.flags |= flags;
	ssize_t n = ct_w_header(h, sizeof(h), &cur_hdr);
	if (n > 0 && fd >= 0)
		(void)!pwrite(fd, h, (size_t)n, 0);
}

/*
 * The file reached the file-size limit: tracing stops, quietly (the program's stderr is
 * its own), and the header is written again with CT_HF_FSIZE, in place (a write inside
 * the file, which the limit allows), so that readers say why the trace ends there.
 */
static void fsize_stop(void)
{
	atomic_store(&ct_active, 0);
	rewrite_header(CT_HF_FSIZE);
	close_trace();
}

static void put(ssize_t len)
{
	if (len <= 0 || fd < 0)
		return;
	if (write_all(fd, (size_t)len) != 0) {
		if (errno == EFBIG) {
			fsize_stop();
			return;
		}
		ct_warn("cannot write the trace file: ", strerror(errno), "; tracing stops");
		atomic_store(&ct_active, 0);
		close_trace();
	}
}

/*
 * A spare file for a process that loses the right to create its own. A daemon that drops
 * root before it forks (memcached -d -u nobody) has children that can no longer create a
 * file in a directory only root may write. When a process switches from root to another
 * user (ct_writer_user_switch, from the setuid wrappers) and that user may not create
 * files in the trace's directory, one spare file is created while it still can, under the
 * next free name; the first descendant that cannot create its own file takes it (a shared
 * page, inherited by fork, says whether it is taken). Its header then carries that
 * descendant's pid. An untaken spare stays empty; it is removed at exit when the process
 * still may.
 */
struct spare {
	atomic_int taken;
	int fd;                    /* -1: none */
	pid_t creator;
	char path[4096 + 64];
};
static struct spare *spare;

static int open_trace(uint32_t header_flags);
static int tracing_here(void);
static int flush_lock(int timeout_ms);
static void flush_unlock(void);

static int take_spare(void)
{
	int expect = 0;
	if (!spare || spare->fd < 0 || !atomic_compare_exchange_strong(&spare->taken, &expect, 1))
		return -1;
	memcpy(cur_path, spare->path, sizeof(cur_path));
	wrote_events = 0;
	ct_fd_lseek(spare->fd, 0, SEEK_SET); /* open_trace writes the taker's header over it */
	return spare->fd;
}

/* The directory part of path into dir ("/" for "/x", "." for a bare name). */
static void dir_of(char *dir, size_t cap, const char *path)
{
	snprintf(dir, cap, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		snprintf(dir, cap, ".");
}

/* May uid create files in dir? (write and search permission, by owner or others; group
 * membership is not resolved here: a group-writable directory gets a spare too). */
static int may_create(const char *dir, uid_t uid)
{
	struct statx st; /* not the timestamps: see fd_type in fdclass.c */
	if (statx(AT_FDCWD, dir, 0, STATX_TYPE | STATX_MODE | STATX_UID, &st) != 0)
		return 1;
	if (st.stx_uid == uid)
		return (st.stx_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
	return (st.stx_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/* On the flush stack (flush_mu held): makes the spare unless new_euid may create files. */
static void make_spare(void *arg)
{
	uid_t new_euid = *(uid_t *)arg;
	char dir[sizeof(cur_path)];
	dir_of(dir, sizeof(dir), cur_path[0] ? cur_path : ct_cfg.out);
	if (may_create(dir, new_euid))
		return;
	char keep[sizeof(cur_path)];
	int keep_events = wrote_events;
	memcpy(keep, cur_path, sizeof(keep));
	/* a valid trace of nothing until taken: tools that read every *.ctr file do not trip
	 * over an empty one the process could not remove */
	int f = open_trace(CT_HF_SPARE);
	if (f >= 0) {
		memcpy(spare->path, cur_path, sizeof(spare->path));
		spare->creator = getpid();
		spare->fd = f;
	}
	memcpy(cur_path, keep, sizeof(cur_path));
	wrote_events = keep_events;
}

void ct_writer_user_switch(uid_t new_euid)
{
	if (ct_in_sandbox() || !spare || spare->fd >= 0 || geteuid() != 0 || new_euid == 0 || !tracing_here() ||
	    flush_lock(WAIT_EXEC_MS) != 0)
		return;
	ct_ownstack_run(make_spare, &new_euid);
	flush_unlock();
}

static void drop_spare_at_exit(void)
{
	if (spare && spare->fd >= 0 && spare->creator == getpid() &&
	    atomic_load(&spare->taken) == 0)
		unlink(spare->path); /* fails quietly when this user may not */
}

/* The file header into wb.out; its length. */
static ssize_t header_bytes(uint32_t flags)
{
	struct ct_file_header h;
	memset(&h, 0, sizeof(h));
	h.flags = flags | ct_attach_hflags;
	h.version_major = CT_VERSION_MAJOR;
	h.version_minor = CT_VERSION_MINOR;
	h.pid = (uint32_t)ct_pid;
	h.ppid = (uint32_t)getppid();
	struct timespec mono, real;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	h.start_mono_ns = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
	h.start_real_ns = (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec;
	char exe[4096];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = 0;
	size_t el = strlen(exe);
	const char *tail = el >= sizeof(h.exe) ? exe + el - (sizeof(h.exe) - 1) : exe;
	memcpy(h.exe, tail, strlen(tail) + 1);
	cur_hdr = h;
	return ct_w_header(wb.out, wb.out_cap, &h);
}

/* The i'th candidate name for base ("x.ctr", "x.1.ctr", "x.2.ctr", ...). */
static void candidate(char *path, size_t cap, const char *base, int i)
{
	const char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
	if (dot && slash && dot < slash)
		dot = NULL;
	if (i == 0)
		snprintf(path, cap, "%s", base);
	else if (dot)
		snprintf(path, cap, "%.*s.%d%s", (int)(dot - base), base, i, dot);
	else
		snprintf(path, cap, "%s.%d", base, i);
}

/* The file is ours: a high fd, protected from the program's closes, its name kept. */
static int adopt(int f, const char *path)
{
	f = ct_fd_move_high(f);
	ct_fd_protect(f);
	memcpy(cur_path, path, sizeof(cur_path));
	wrote_events = 0;
	return f;
}

/* The linked O_TMPFILE t opened again by its name, so that /proc/PID/fd and lsof show
 * the trace's path rather than "/dir/#inode (deleted)"; t itself when the name is no
 * longer that file (or cannot be opened). */
static int by_name(int t, const char *path)
{
	struct stat a, b;
	int f = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return t;
	if (fstat(t, &a) != 0 || fstat(f, &b) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino || lseek(f, 0, SEEK_END) < 0) {
		close(f);
		return t;
	}
	close(t);
	return f;
}

/*
 * Expands %p and creates the file with its header (flags header_flags) written, never
 * following a symlink nor replacing a file. Where the file system has O_TMPFILE the file
 * is written unnamed and then linked under the first free name, so that no process killed
 * at any moment (a fork child killed at birth) leaves an empty file behind: the name
 * appears with the header in it. Elsewhere, O_CREAT|O_EXCL|O_NOFOLLOW and the header
 * written at once.
 */
static int open_trace(uint32_t header_flags)
{
	char base[4096 + 32], path[4096 + 64], dir[4096 + 32];
	size_t n = 0;
	for (const char *s = ct_cfg.out; *s && n < sizeof(base) - 24; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			n += (size_t)snprintf(base + n, sizeof(base) - n, "%d", (int)ct_pid);
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			base[n++] = '%';
			s++;
		} else {
			base[n++] = *s;
		}
	}
	base[n] = 0;
	ssize_t hlen = header_bytes(header_flags);
	if (hlen <= 0)
		return -1;
	dir_of(dir, sizeof(dir), base);
	int e = 0;
	int t = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (t >= 0) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", t);
		if (write_all(t, (size_t)hlen) == 0) {
			for (int i = 0; i < 1000; i++) {
				candidate(path, sizeof(path), base, i);
				if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
					return adopt(by_name(t, path), path);
				if (errno != EEXIST)
					break;
			}
		}
		e = errno;
		close(t);
		if (e == EFBIG)
			return -1; /* not even the header fits under the file-size limit */
		if (e == EEXIST) {
			ct_warn("cannot find a free name for ", base, "; not tracing");
			return -1;
		}
	}
	/* no O_TMPFILE here (or no /proc to link it through): create the name, then write */
	for (int i = 0; i < 1000; i++) {
		candidate(path, sizeof(path), base, i);
		int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f >= 0) {
			if (write_all(f, (size_t)hlen) != 0) {
				e = errno;
				close(f);
				unlink(path);
				if (e == EFBIG)
					return -1;
				ct_warn("cannot write ", path, "; not tracing");
				return -1;
			}
			return adopt(f, path);
		}
		if (errno != EEXIST) {
			e = errno;
			if ((e == EACCES || e == EPERM) && (f = take_spare()) >= 0) {
				/* at offset 0: the taker's header replaces the spare's */
				if (write_all(f, (size_t)hlen) == 0)
					return f;
				ct_warn("cannot write ", cur_path, "; not tracing");
				return -1;
			}
			ct_warn("cannot create ", path, e == EACCES || e == EPERM ?
				": permission denied (the process may have switched user: give "
				"CTRACE_OUT a directory that user can write); not tracing" :
				"; not tracing");
			return -1;
		}
	}
	ct_warn("cannot find a free name for ", base, "; not tracing");
	return -1;
}

/* Parses the first two numbers of a schedstat file (on-CPU ns, run-queue ns). */
int ct_schedstat_read(const char *path, uint64_t *cpu_ns, uint64_t *runq_ns)
{
	char buf[128];
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	uint64_t v[2] = { 0, 0 };
	const char *p = buf;
	for (int i = 0; i < 2; i++) {
		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			v[i] = v[i] * 10 + (uint64_t)(*p++ - '0');
	}
	*cpu_ns = v[0];
	*runq_ns = v[1];
	return 0;
}

/* /proc/self/task/TID/{schedstat,comm}; best effort. */
static void read_task(pid_t tid, struct ct_thread_state *ts)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	uint64_t cpu, rq;
	if (ct_schedstat_read(path, &cpu, &rq) == 0) {
		ts->cpu_ns = cpu;
		ts->runq_ns = rq;
	}
	if (ts->name[0])
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f >= 0) {
		ssize_t n = read(f, buf, CT_NAME_LEN);
		close(f);
		if (n > 0) {
			if (buf[n - 1] == '\n')
				n--;
			memcpy(ts->name, buf, (size_t)n);
			ts->name[n] = 0;
		}
	}
}

static void write_threads(void)
{
	size_t n = 0;
	for (unsigned i = 0, hi_ = ct_threads_hi(); i < hi_; i++) {
		struct ct_thread *t = &ct_threads[i];
		if (atomic_load_explicit(&t->state, memory_order_acquire) != CT_TH_LIVE)
			continue;
		struct ct_thread_state *ts = &tstates[n];
		memset(ts, 0, sizeof(*ts));
		ts->tid = (uint32_t)t->tid;
		ts->parent_tid = (uint32_t)t->parent;
		ts->start_func = t->start_func;
		memcpy(ts->name, t->name, CT_NAME_LEN);
		ts->name[CT_NAME_LEN] = 0;
		unsigned kind = atomic_load_explicit(&t->wait_kind, memory_order_acquire);
		if (kind) {
			ts->blocked = 1;
			ts->kind = (uint8_t)kind;
			ts->obj = atomic_load_explicit(&t->wait_obj, memory_order_relaxed);
			ts->since = atomic_load_explicit(&t->wait_since, memory_order_relaxed);
		}
		if (ts->tid == 0)
			continue;
		read_task(t->tid, ts);
		n++;
	}
	for (size_t i = 0; i < n; i += 4096)
		put(ct_w_threads(&wb, gen, tstates + i, n - i < 4096 ? n - i : 4096));
}

/* in_signal: from a fatal signal's handler, where the loader lock (dl_iterate_phdr) may
 * be held by the interrupted thread: the last module map is written again. */
static void gen_open(int in_signal)
{
	gen++;
	struct timespec real;
	clock_gettime(CLOCK_REALTIME, &real);
	gen_start = ct_now();
	put(ct_w_gen_begin(&wb, gen, gen_start,
			   (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec));
	if (!in_signal && (nmods == 0 || ct_modules_changed()))
		nmods = ct_modules_snapshot(mods, MAX_MODULES, mod_str, MOD_STR_CAP);
	put(ct_w_modules(&wb, gen, mods, nmods));
	write_threads();
	memset(stack_written, 0, STACK_IDS / 8);
}

/* Every live thread's cumulative call-site counters, as SITE records in chunks of their
 * own (the threads' buffers belong to the threads), and those of exited threads whose
 * buffer had no room for them, whose slots are freed then. */
static void write_sites(void)
{
	struct ct_event ev[CT_SITES + 1];
	uint64_t now = ct_now();
	for (unsigned i = 0, hi_ = ct_threads_hi(); i < hi_; i++) {
		struct ct_thread *t = &ct_threads[i];
		int st = atomic_load_explicit(&t->state, memory_order_acquire);
		if ((st != CT_TH_LIVE && st != CT_TH_EXITED) || !t->tid)
			continue;
		unsigned pos = 0;
		size_t n;
		while ((n = ct_sites_next(t, &pos, ev, CT_SITES + 1,
					  st == CT_TH_EXITED ? t->exit_ts : now))) {
			put(ct_w_events(&wb, gen, (uint32_t)t->tid, site_seq++, ev, n));
			wrote_events = 1;
		}
		if (st == CT_TH_EXITED)
			ct_thread_reap(t);
	}
}

static void gen_close(void)
{
	write_sites();
	uint64_t lost[CT_L_MAX];
	for (int i = 0; i < CT_L_MAX; i++)
		lost[i] = atomic_load(&ct_lost[i]);
	put(ct_w_gen_end(&wb, gen, ct_now(), lost));
}

static void flush_pending(void)
{
	if (npending)
		put(ct_w_stacks(&wb, gen, pending, npending));
	npending = 0;
}

/* Queues stack id for this generation's STACKS unless already written. */
static void want_stack(uint32_t id)
{
	if (id == 0)
		return;
	if (id < STACK_IDS) {
		if (stack_written[id / 8] & (1u << (id % 8)))
			return;
		stack_written[id / 8] |= (uint8_t)(1u << (id % 8));
	}
	if (ct_stack_get(id, &pending[npending]) < 0)
		return;
	if (++npending == STACKS_PER_CHUNK)
		flush_pending();
}

static void drain(struct ct_buf *b)
{
	unsigned st = atomic_load_explicit(&b->state, memory_order_acquire);
	if (st == CT_BUF_FREE)
		return;
	unsigned c = atomic_load_explicit(&b->committed, memory_order_acquire);
	if (c > b->flushed) {
		const struct ct_event *ev = &b->ev[b->flushed];
		size_t n = c - b->flushed;
		for (size_t i = 0; i < n; i++)
			want_stack(ev[i].stack);
		flush_pending();
		if (b->gen != gen) {
			b->gen = gen;
			b->seq = 0;
		}
		put(ct_w_events(&wb, gen, b->tid, b->seq++, ev, n));
		b->flushed = c;
		wrote_events = 1;
	}
	if (st == CT_BUF_FULL) {
		b->flushed = 0;
		b->seq = 0;
		atomic_store_explicit(&b->state, CT_BUF_FREE, memory_order_release);
		ct_buf_freed(b);
	}
}

static void drain_one(struct ct_buf *b, void *arg)
{
	(void)arg;
	drain(b);
}

static void drain_all(void)
{
	ct_bufs_each(drain_one, NULL);
}

/*
 * Is the writer the only live thread of the process? The last program thread normally
 * stops the writer on its way out (thread.c), so that glibc, counting threads, ends the
 * process with exit(0) as it would untraced. A thread libctrace never saw can still be
 * the last (one made by clone(), or a thread the count missed): the writer, blocking all
 * signals, would then keep a process alive that has nothing left to run. Checked only while
 * no known program thread is alive; reads /proc/self/task without allocating.
 */
static int only_writer_left(void)
{
	int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	pid_t me = gettid();
	int others = 0;
	char buf[4096];
	long n;
	while (!others && (n = REAL(syscall)(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && !others;) {
			const struct { uint64_t ino; int64_t off; unsigned short reclen;
				       unsigned char type; char name[]; } *d = (const void *)(buf + off);
			off += d->reclen;
			long tid = strtol(d->name, NULL, 10);
			if (tid <= 0 || tid == me)
				continue;
			/* a zombie (an exited main thread waits so, for the group) runs nothing */
			char path[64], st[512];
			snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
			int f = open(path, O_RDONLY | O_CLOEXEC);
			if (f < 0)
				continue; /* gone meanwhile */
			ssize_t l = read(f, st, sizeof(st) - 1);
			close(f);
			st[l > 0 ? l : 0] = 0;
			const char *rp = strrchr(st, ')');
			if (!rp || (rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X'))
				others = 1;
		}
	}
	close(dir);
	return !others;
}

/* After dlopen/dlclose: the new module map now, in the open generation, for the stacks
 * through the objects it adds. Takes the loader lock: not from a signal handler. */
static void refresh_modules(void)
{
	if (fd >= 0 && ct_modules_changed()) {
		nmods = ct_modules_snapshot(mods, MAX_MODULES, mod_str, MOD_STR_CAP);
		put(ct_w_modules(&wb, gen, mods, nmods));
	}
}

/* The CPUs the process could run on when libctrace was loaded. */
static cpu_set_t start_cpus;
static int have_start_cpus;

static void *writer_main(void *arg)
{
	(void)arg;
	ct_nest_off(); /* nothing this thread does is traced, for good */
	ct_fd_writer_thread();  /* created with every signal blocked */
	/* The writer is started by whichever program thread first needs it and inherits that
	 * thread's CPU affinity: a program that pins its threads (one per core, or a
	 * ping-pong on one CPU) would then have the tracer's compression run on the CPU it
	 * reserved. The writer takes the affinity the process had at load instead
	 * (measured: cond ping-pong pinned to one CPU, 1.35x -> see tests/bench/README.md). */
	if (have_start_cpus)
		sched_setaffinity(0, sizeof(start_cpus), &start_cpus);
	while (!atomic_load(&writer_stop)) {
		struct timespec period = { ct_cfg.flush_ms / 1000,
					   (long)(ct_cfg.flush_ms % 1000) * 1000000L };
		if (!atomic_load(&ct_writer_kick))
			REAL(syscall)(SYS_futex, &ct_writer_kick, FUTEX_WAIT_PRIVATE, 0, &period, 0, 0);
		atomic_store(&ct_writer_kick, 0);
		if (atomic_load(&writer_stop))
			break;
		flush_lock(-1);
		if (!atomic_load(&finished)) {
			drain_all();
			if (ct_now() - gen_start >= (uint64_t)ct_cfg.gen_ms * 1000000u) {
				gen_close();
				gen_open(0);
			} else {
				refresh_modules();
			}
		}
		flush_unlock();
		ct_attach_poll();
		if (ct_app_threads() <= 0 && only_writer_left()) {
			/* What glibc does when the last thread exits: exit(0), whose handlers
			 * and libctrace's destructor (the final flush) run here. */
			writer_started = 0;
			atomic_store(&ct_writer_on, 0);
			exit(0);
		}
	}
	return NULL;
}

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void start_file(void *arg)
{
	(void)arg;
	fd = open_trace(0);
	if (fd >= 0)
		gen_open(0);
}

int ct_writer_start(void)
{
	ct_pid = getpid();
	have_start_cpus = sched_getaffinity(0, sizeof(start_cpus), &start_cpus) == 0;
	size_t raw = ct_w_raw_bound(ct_buf_cap);
	if (raw < RAW_CAP)
		raw = RAW_CAP;
	wb.raw_cap = raw;
	wb.out_cap = ct_w_out_bound(raw);
	wb.raw = map(wb.raw_cap);
	wb.out = map(wb.out_cap);
	stack_written = map(STACK_IDS / 8);
	tstates = map(sizeof(*tstates) * ct_cfg.max_threads);
	mods = map(sizeof(*mods) * MAX_MODULES);
	mod_str = map(MOD_STR_CAP);
	pending = map(sizeof(*pending) * STACKS_PER_CHUNK);
	wb.lz4_state = map(ct_w_lz4_state_size());
	if (!wb.lz4_state ||
	    !wb.raw || !wb.out || !stack_written || !tstates || !mods || !mod_str || !pending) {
		ct_warn("cannot map the writer's buffers; not tracing", "", "");
		return -ENOMEM;
	}
	spare = mmap(NULL, sizeof(*spare), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (spare == MAP_FAILED)
		spare = NULL;
	else
		spare->fd = -1;
	ct_ownstack_run(start_file, NULL); /* the constructor may run on a small stack */
	return fd < 0 ? -EIO : 0;
}

/* Creates the file when it is still to be made (need_open; flush_mu held), on the flush
 * stack (open_trace's names take 12 KiB). */
static int lazy_open_now(int in_signal);
struct lazy_arg { int in_signal, ret; };
static void lazy_open_here(void *p)
{
	struct lazy_arg *a = p;
	a->ret = lazy_open_now(a->in_signal);
}

int ct_writer_restart(void)
{
	atomic_store(&writer_stop, 0);
	atomic_store(&spawned, 0);
	atomic_store(&finished, 0);
	atomic_store(&finishing, 0);
	writer_started = 0;
	atomic_store(&ct_writer_on, 0);
	gen = 0;
	site_seq = 1u << 31;
	need_open = 0;
	fork_file = 0;
	ct_pid = getpid();
	ct_ownstack_run(start_file, NULL);
	return fd < 0 ? -EIO : 0;
}

static int lazy_open(int in_signal)
{
	if (fd >= 0)
		return 0;
	struct lazy_arg a = { in_signal, -1 };
	ct_ownstack_run(lazy_open_here, &a);
	return a.ret;
}

static int lazy_open_now(int in_signal)
{
	if (fd >= 0)
		return 0;
	if (!need_open)
		return -1;
	need_open = 0;
	fd = open_trace(0);
	if (fd < 0) {
		atomic_store(&ct_active, 0);
		return -1;
	}
	gen_open(in_signal);
	return 0;
}

/* Something to write: buffered events, or call-site counts of a live thread. */
static int has_data(void)
{
	if (ct_buffers_pending())
		return 1;
	for (unsigned i = 0, hi_ = ct_threads_hi(); ct_threads && i < hi_; i++) {
		struct ct_thread *t = &ct_threads[i];
		int st = atomic_load(&t->state);
		if (st == CT_TH_EXITED)
			return 1;
		/* the table's header counts once the thread counted a call */
		if (st == CT_TH_LIVE && __atomic_load_n(&t->sites[0].count, __ATOMIC_RELAXED))
			return 1;
	}
	return 0;
}

/* The last flush (flush_mu held): everything buffered, the generation closed, the file
 * closed. Nothing is written after it. */
static uint32_t final_flags; /* header flags the final flush adds (CT_HF_SECCOMP) */

static void final_flush(int in_signal)
{
	if (atomic_load(&finished))
		return;
	if (fd >= 0 || (need_open && has_data() && lazy_open(in_signal) == 0)) {
		if (!in_signal)
			refresh_modules();
		drain_all();
		gen_close();
		if (final_flags)
			rewrite_header(final_flags);
	}
	atomic_store(&finished, 1);
	need_open = 0;
	int empty = fd >= 0 && fork_file && !wrote_events;
	close_trace();
	if (empty)
		unlink(cur_path); /* a fork child that recorded nothing leaves no file */
	drop_spare_at_exit();
}

static void final_flush_here(void *in_signal)
{
	final_flush(*(int *)in_signal);
}

/* This process traces and owns its trace state (not a vfork child, nor a child created
 * without fork's handlers). */
static int tracing_here(void)
{
	return (fd >= 0 || need_open) && getpid() == ct_pid;
}

/*
 * The writer thread starts when the program creates its first thread (pthread_create,
 * thrd_create), never before: a single-threaded program stays single-threaded, as the
 * kernel and the program see it (unshare(CLONE_NEWUSER) and setns need it, /proc says
 * "Threads: 1", Python warns at fork() in a multi-threaded process, glibc (>= 2.34) runs
 * private mutexes, stdio and malloc without atomic instructions while a process has a
 * single thread: an uncontended lock/unlock pair goes from 2.8 ns to 17 ns with a second
 * thread). Until then the program's thread writes the trace itself (ct_writer_tick).
 * Not from a signal handler: pthread_create allocates.
 */
void ct_writer_spawn(void)
{
	int expect = 0;
	/* The flag first: this runs after every recorded wait. */
	if (likely(atomic_load_explicit(&spawned, memory_order_relaxed)) || ct_in_sandbox() ||
	    !tracing_here() ||
	    atomic_load(&finished) || !atomic_compare_exchange_strong(&spawned, &expect, 1))
		return;
	if (fd < 0) {
		if (flush_lock(WAIT_SPAWN_MS) != 0)
			return;
		int ok = lazy_open(0) == 0;
		flush_unlock();
		if (!ok)
			return;
	}
	sigset_t all, old;
	sigfillset(&all);
	/* its own stack size: the program's default (pthread_setattr_default_np, RLIMIT_STACK)
	 * may be anything */
	pthread_attr_t attr;
	int have_attr = pthread_attr_init(&attr) == 0 &&
			pthread_attr_setstacksize(&attr, WRITER_STACK) == 0;
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = REAL(pthread_create)(&writer, have_attr ? &attr : NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (have_attr)
		pthread_attr_destroy(&attr);
	if (r != 0) {
		ct_warn("cannot start the writer thread; events are written at exit only", "", "");
		return;
	}
	writer_started = 1;
	atomic_store(&ct_writer_on, 1);
}

static void wake_writer(void)
{
	atomic_store(&ct_writer_kick, 1);
	REAL(syscall)(SYS_futex, &ct_writer_kick, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/* Waits until ct_writer_finish's flush is over, at most timeout_ms. */
static void wait_finish_done(int timeout_ms)
{
	uint64_t end = ct_now() + (uint64_t)timeout_ms * 1000000u;
	while (!atomic_load(&finish_done)) {
		uint64_t now = ct_now();
		if (now >= end)
			return;
		struct timespec ts = { 0, 10000000L }; /* 10 ms: a lost wake costs no more */
		REAL(syscall)(SYS_futex, &finish_done, FUTEX_WAIT_PRIVATE, 0, &ts, 0, 0);
	}
}

void ct_writer_finish(void)
{
	if (ct_in_sandbox() || !tracing_here() || atomic_load(&flush_owner) == gettid())
		return; /* not the tracing process, or exit from a handler inside a flush */
	int expect = 0;
	pid_t me = gettid();
	if (!atomic_compare_exchange_strong(&finishing, &expect, me)) {
		/* Another thread is flushing (a second exit, or _exit, while the first exit
		 * runs): wait until its flush is complete, or the process would end with the
		 * trace cut short. Bounded; not when this thread is the one finishing. */
		if (expect != me)
			wait_finish_done(WAIT_FINISH_MS);
		return;
	}
	atomic_store(&ct_active, 0);
	int self_nest = ct_nest_off();
	if (writer_started) {
		atomic_store(&writer_stop, 1);
		wake_writer();
		REAL(pthread_join)(writer, NULL);
		writer_started = 0;
		atomic_store(&ct_writer_on, 0);
	}
	if (flush_lock(WAIT_FINISH_MS) == 0) {
		ct_ownstack_run(final_flush_here, &(int){ 0 });
		flush_unlock();
	}
	ct_nest_restore(self_nest);
	atomic_store(&finish_done, 1);
	REAL(syscall)(SYS_futex, &finish_done, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
}

/* ---- no writer thread: the program's own thread writes ---- */

static _Atomic uint64_t next_inline; /* CLOCK_MONOTONIC ns of the next periodic flush */

/* On the flush stack, flush_mu held: what the writer thread's cycle does. */
static void inline_here(void *arg)
{
	(void)arg;
	if (atomic_load(&finished) || lazy_open(0) != 0)
		return;
	drain_all();
	if (ct_now() - gen_start >= (uint64_t)ct_cfg.gen_ms * 1000000u) {
		gen_close();
		gen_open(0);
	} else {
		refresh_modules();
	}
}

/*
 * A flush from a program thread while the process has no writer thread (a single-threaded
 * program): bounded by what is buffered (a writer period's events; the buffer-full case
 * one buffer), made on the flush stack. Never inside a program signal handler (the
 * interrupted code may hold the loader lock the module map needs: the events wait for the
 * next flush), never waiting for another flush.
 */
static void inline_flush(uint64_t now)
{
	if (ct_in_signal || !atomic_load_explicit(&ct_active, memory_order_relaxed) ||
	    atomic_load(&finished) || ct_in_sandbox())
		return;
	atomic_store_explicit(&next_inline, now + (uint64_t)ct_cfg.flush_ms * 1000000u,
			      memory_order_relaxed);
	int e = errno;
	if (ct_app_threads() > 1) {
		ct_writer_spawn(); /* threads the writer missed (it could not start, or paused) */
	} else if (tracing_here()) {
		/* Signals wait until the flush is over (100 us or so): a program handler that
		 * left with siglongjmp would leave the flush lock held for good. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (flush_lock(0) == 0) {
			int self_nest = ct_nest_off();
			ct_ownstack_run(inline_here, NULL);
			ct_nest_restore(self_nest);
			flush_unlock();
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	errno = e;
}

void ct_writer_tick(uint64_t now)
{
	if (likely(atomic_load_explicit(&ct_writer_on, memory_order_relaxed)) ||
	    now < atomic_load_explicit(&next_inline, memory_order_relaxed))
		return;
	inline_flush(now);
}

void ct_writer_buffer_full(void)
{
	inline_flush(ct_now());
}

static void drain_here(void *arg)
{
	(void)arg;
	drain_all();
}

int ct_writer_sandbox(int all)
{
	if (!tracing_here() || atomic_load(&finished))
		return 1; /* nothing traces here any more */
	if (!all && (writer_started || ct_app_threads() > 1)) {
		/* this thread only: the end of its recording (counted by the analyzer), its
		 * events so far go out, its buffer to the writer */
		if (ct_tls.th) {
			uint64_t cpu_ns = 0, runq_ns = 0;
			ct_schedstat_read("/proc/thread-self/schedstat", &cpu_ns, &runq_ns);
			struct ct_event ev = ct_ev_thread_end(ct_now(), cpu_ns, runq_ns);
			ev.flags = CT_EVF_SECCOMP;
			ct_emit(ct_tls.th, &ev);
			ct_buf_retire(ct_tls.th);
		}
		if (flush_lock(WAIT_EXEC_MS) == 0) {
			ct_ownstack_run(drain_here, NULL);
			flush_unlock();
		}
		return 0;
	}
	int expect = 0;
	if (!atomic_compare_exchange_strong(&finishing, &expect, gettid()))
		return 1;
	atomic_store(&ct_active, 0);
	if (writer_started) {
		atomic_store(&writer_stop, 1);
		wake_writer();
		REAL(pthread_join)(writer, NULL);
		writer_started = 0;
		atomic_store(&ct_writer_on, 0);
	}
	if (flush_lock(WAIT_FINISH_MS) == 0) {
		final_flags |= CT_HF_SECCOMP;
		ct_ownstack_run(final_flush_here, &(int){ 0 });
		flush_unlock();
	}
	atomic_store(&finish_done, 1);
	return 1;
}

void ct_writer_pause_single(void)
{
	if (ct_app_threads() <= 1)
		ct_writer_quiesce();
}

void ct_writer_quiesce(void)
{
	if (!writer_started || ct_in_sandbox() || getpid() != ct_pid || pthread_equal(pthread_self(), writer) ||
	    atomic_load(&flush_owner) == gettid())
		return;
	int self_nest = ct_nest_off();
	atomic_store(&writer_stop, 1);
	wake_writer();
	REAL(pthread_join)(writer, NULL);
	writer_started = 0;
	atomic_store(&ct_writer_on, 0);
	atomic_store(&writer_stop, 0);
	atomic_store(&spawned, 0);
	ct_nest_restore(self_nest);
}

void ct_writer_fatal(void)
{
	if (ct_in_sandbox() || !tracing_here())
		return;
	int self_nest = ct_nest_off();
	if (flush_lock(WAIT_FATAL_MS) == 0) {
		ct_ownstack_run(final_flush_here, &(int){ 1 });
		flush_unlock();
	}
	ct_nest_restore(self_nest);
}

/* exec_begin's flush, on the flush stack (flush_mu held); *held = 1 if it keeps it. */
static void exec_flush(void *p)
{
	int *held = p;
	{
		if (!atomic_load(&finished) && fd >= 0 && fork_file && !wrote_events &&
		    !has_data()) {
			/* A fork child that only execs: its file holds no event. Removed, so the
			 * new image (same pid) writes under the name the child had. */
			close_trace();
			unlink(cur_path);
			need_open = 1;
			*held = 1;
		} else if (!atomic_load(&finished) &&
			   (fd >= 0 || (has_data() && lazy_open(0) == 0))) {
			refresh_modules();
			drain_all();
			gen_close();
			*held = 1;
		}
	}
}

int ct_writer_exec_begin(void)
{
	if (ct_in_sandbox() || !tracing_here() || atomic_load(&finished))
		return 0;
	int self_nest = ct_nest_off(), held = 0;
	if (flush_lock(WAIT_EXEC_MS) == 0) {
		ct_ownstack_run(exec_flush, &held);
		if (!held)
			flush_unlock();
	}
	ct_nest_restore(self_nest);
	return held;
}

static void gen_open_here(void *arg)
{
	(void)arg;
	gen_open(0);
}

void ct_writer_exec_failed(int held)
{
	if (!held)
		return;
	int self_nest = ct_nest_off();
	if (fd >= 0)
		ct_ownstack_run(gen_open_here, NULL);
	flush_unlock();
	ct_nest_restore(self_nest);
}

void ct_writer_fork_prepare(void)
{
	fork_locked = 0;
	if (ct_in_sandbox() || !tracing_here() || atomic_load(&finished))
		return;
	/* The writer thread must not be inside a flush (the loader lock, the file) when the
	 * fork copies the process. */
	if (flush_lock(WAIT_FORK_MS) == 0)
		fork_locked = 1;
}

void ct_writer_fork_parent(void)
{
	if (fork_locked) {
		fork_locked = 0;
		flush_unlock();
	}
}

int ct_writer_fork_child(void)
{
	if (ct_in_sandbox())
		return 0; /* the child inherits the filter: it traces nothing */
	int traced = fork_locked && (fd >= 0 || need_open) && !atomic_load(&finished) &&
		     atomic_load(&ct_active);
	fork_locked = 0;
	close_trace(); /* the parent's file */
	pthread_mutex_init(&flush_mu, NULL);
	atomic_store(&flush_owner, 0);
	writer_started = 0;
	atomic_store(&ct_writer_on, 0);
	atomic_store(&writer_stop, 0);
	atomic_store(&spawned, 0);
	atomic_store(&finished, !traced);
	atomic_store(&finishing, 0);
	atomic_store(&finish_done, 0);
	gen = 0;
	site_seq = 1u << 31;
	ct_pid = getpid();
	need_open = traced;
	fork_file = 0;
	return traced;
}

void ct_writer_fork_child_open(void)
{
	/* Created now, while the child has the parent's credentials: a daemon's child that
	 * switches user (memcached -u, nginx workers) could not create it later. gen_open
	 * reuses the parent's last module map (the loader lock may be held by a parent
	 * thread that does not exist here). */
	if (flush_lock(0) != 0)
		return;
	if (lazy_open(1) == 0)
		fork_file = 1;
	flush_unlock();
}
