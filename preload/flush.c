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
 * blocked, its guard set so nothing it calls is traced. It sleeps on a futex word for
 * CTRACE_FLUSH_MS, or less when a thread finds the buffer pools running low (buffer.c).
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
#include "../format/writer.h"
#include "../unwind/capture.h"

#define MAX_MODULES 1024
#define STACKS_PER_CHUNK 256
#define STACK_IDS (1u << 16) /* bitmap of ids already written in this generation */
#define RAW_CAP (8u << 20)

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
static int writer_started;
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
	ct_fd_unprotect(fd);
	REAL(close)(fd);
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

/* Writes wb.out[0..len) to f; 0, or -1 with errno. */
static int write_all(int f, size_t len)
{
	const uint8_t *p = wb.out;
	while (len > 0) {
		ssize_t w = REAL(write)(f, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void put(ssize_t len)
{
	if (len <= 0 || fd < 0)
		return;
	if (write_all(fd, (size_t)len) != 0) {
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
	lseek(spare->fd, 0, SEEK_SET); /* open_trace writes the taker's header over it */
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
	struct statx st; /* not the timestamps: see classify in io.c */
	if (statx(AT_FDCWD, dir, 0, STATX_TYPE | STATX_MODE | STATX_UID, &st) != 0)
		return 1;
	if (st.stx_uid == uid)
		return (st.stx_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
	return (st.stx_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

void ct_writer_user_switch(uid_t new_euid)
{
	if (!spare || spare->fd >= 0 || geteuid() != 0 || new_euid == 0 || !tracing_here())
		return;
	char dir[sizeof(cur_path)];
	dir_of(dir, sizeof(dir), cur_path[0] ? cur_path : ct_cfg.out);
	if (may_create(dir, new_euid) || flush_lock(WAIT_EXEC_MS) != 0)
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
				close(f);
				unlink(path);
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
	ct_tls.nest = 1 << 20; /* nothing this thread does is traced */
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
	if (!wb.raw || !wb.out || !stack_written || !tstates || !mods || !mod_str || !pending) {
		ct_warn("cannot map the writer's buffers; not tracing", "", "");
		return -ENOMEM;
	}
	spare = mmap(NULL, sizeof(*spare), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (spare == MAP_FAILED)
		spare = NULL;
	else
		spare->fd = -1;
	fd = open_trace(0);
	if (fd < 0)
		return -EIO;
	gen_open(0);
	return 0;
}

int ct_writer_restart(void)
{
	atomic_store(&writer_stop, 0);
	atomic_store(&spawned, 0);
	atomic_store(&finished, 0);
	atomic_store(&finishing, 0);
	writer_started = 0;
	gen = 0;
	site_seq = 1u << 31;
	need_open = 0;
	fork_file = 0;
	ct_pid = getpid();
	fd = open_trace(0);
	if (fd < 0)
		return -EIO;
	gen_open(0);
	return 0;
}

/* Creates the file when it is still to be made (need_open; flush_mu held). */
static int lazy_open(int in_signal)
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
static void final_flush(int in_signal)
{
	if (atomic_load(&finished))
		return;
	if (fd >= 0 || (need_open && has_data() && lazy_open(in_signal) == 0)) {
		if (!in_signal)
			refresh_modules();
		drain_all();
		gen_close();
	}
	atomic_store(&finished, 1);
	need_open = 0;
	int empty = fd >= 0 && fork_file && !wrote_events;
	close_trace();
	if (empty)
		unlink(cur_path); /* a fork child that recorded nothing leaves no file */
	drop_spare_at_exit();
}

/* This process traces and owns its trace state (not a vfork child, nor a child created
 * without fork's handlers). */
static int tracing_here(void)
{
	return (fd >= 0 || need_open) && getpid() == ct_pid;
}

/*
 * The writer thread starts lazily, when the process gets a second thread anyway or first
 * records an event: glibc (>= 2.34) runs private mutexes, stdio and malloc without atomic
 * instructions while a process has a single thread, and a tracer thread started at load
 * would take that away from every single-threaded program (measured: an uncontended
 * lock/unlock pair goes from 2.8 ns to 17 ns). Not from a signal handler: pthread_create
 * allocates. In a fork child this is also where its trace file is created.
 */
void ct_writer_spawn(void)
{
	int expect = 0;
	/* The flag first: this runs after every recorded wait. */
	if (likely(atomic_load_explicit(&spawned, memory_order_relaxed)) || !tracing_here() ||
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
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = REAL(pthread_create)(&writer, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		ct_warn("cannot start the writer thread; events are written at exit only", "", "");
		return;
	}
	writer_started = 1;
}

static void wake_writer(void)
{
	atomic_store(&ct_writer_kick, 1);
	REAL(syscall)(SYS_futex, &ct_writer_kick, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

void ct_writer_finish(void)
{
	if (!tracing_here() || atomic_load(&flush_owner) == gettid())
		return; /* not the tracing process, or exit from a handler inside a flush */
	int expect = 0;
	if (!atomic_compare_exchange_strong(&finishing, &expect, 1))
		return;
	atomic_store(&ct_active, 0);
	int self_nest = ct_tls.nest;
	ct_tls.nest = 1 << 20;
	if (writer_started) {
		atomic_store(&writer_stop, 1);
		wake_writer();
		REAL(pthread_join)(writer, NULL);
		writer_started = 0;
	}
	if (flush_lock(WAIT_FINISH_MS) == 0) {
		final_flush(0);
		flush_unlock();
	}
	ct_tls.nest = self_nest;
}

void ct_writer_quiesce(void)
{
	if (!writer_started || getpid() != ct_pid || pthread_equal(pthread_self(), writer) ||
	    atomic_load(&flush_owner) == gettid())
		return;
	int self_nest = ct_tls.nest;
	ct_tls.nest = 1 << 20;
	atomic_store(&writer_stop, 1);
	wake_writer();
	REAL(pthread_join)(writer, NULL);
	writer_started = 0;
	atomic_store(&writer_stop, 0);
	atomic_store(&spawned, 0);
	ct_tls.nest = self_nest;
}

void ct_writer_fatal(void)
{
	if (!tracing_here())
		return;
	int self_nest = ct_tls.nest;
	ct_tls.nest = 1 << 20;
	if (flush_lock(WAIT_FATAL_MS) == 0) {
		final_flush(1);
		flush_unlock();
	}
	ct_tls.nest = self_nest;
}

int ct_writer_exec_begin(void)
{
	if (!tracing_here() || atomic_load(&finished))
		return 0;
	int self_nest = ct_tls.nest, held = 0;
	ct_tls.nest = 1 << 20;
	if (flush_lock(WAIT_EXEC_MS) == 0) {
		if (!atomic_load(&finished) && fd >= 0 && fork_file && !wrote_events &&
		    !has_data()) {
			/* A fork child that only execs: its file holds no event. Removed, so the
			 * new image (same pid) writes under the name the child had. */
			close_trace();
			unlink(cur_path);
			need_open = 1;
			held = 1;
		} else if (!atomic_load(&finished) &&
			   (fd >= 0 || (has_data() && lazy_open(0) == 0))) {
			refresh_modules();
			drain_all();
			gen_close();
			held = 1;
		} else {
			flush_unlock();
		}
	}
	ct_tls.nest = self_nest;
	return held;
}

void ct_writer_exec_failed(int held)
{
	if (!held)
		return;
	int self_nest = ct_tls.nest;
	ct_tls.nest = 1 << 20;
	if (fd >= 0)
		gen_open(0);
	flush_unlock();
	ct_tls.nest = self_nest;
}

void ct_writer_fork_prepare(void)
{
	fork_locked = 0;
	if (!tracing_here() || atomic_load(&finished))
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
	int traced = fork_locked && (fd >= 0 || need_open) && !atomic_load(&finished) &&
		     atomic_load(&ct_active);
	fork_locked = 0;
	close_trace(); /* the parent's file */
	pthread_mutex_init(&flush_mu, NULL);
	atomic_store(&flush_owner, 0);
	writer_started = 0;
	atomic_store(&writer_stop, 0);
	atomic_store(&spawned, 0);
	atomic_store(&finished, !traced);
	atomic_store(&finishing, 0);
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
	if (lazy_open(1) == 0)
		fork_file = 1;
}
