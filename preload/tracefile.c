/* SPDX-License-Identifier: MIT */
/*
 * The trace file: created, written chunk by chunk, its header rewritten in place, closed;
 * and the spare file for descendants that lose the right to create their own. Only this
 * file and the writer's other three (flush.h) touch the file descriptor, always with the
 * flush lock held.
 *
 * The file is created 0600 and never overwrites: written unnamed (O_TMPFILE) with its
 * header and then linked under its name (linkat fails on any existing name, a symlink
 * included), so that a process killed at any moment leaves no empty file; where the file
 * system has no O_TMPFILE, O_EXCL|O_NOFOLLOW|O_CLOEXEC. If the name exists, ".1", ".2",
 * ... is inserted before the extension (so a new image after exec, whose pid is the same,
 * writes a new file). The descriptor is moved above the low numbers
 * programs use and protected from programs that close every fd (fdguard.c).
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
#include "flush.h"
#include "../format/events.h"
#include "../format/writer.h"
#include "../unwind/capture.h"

void ct_trace_close(void)
{
	if (ct_fl.fd < 0)
		return;
	if (ct_fl.fd == CT_FLIGHT_FD)
		ct_flight_reset(); /* flight mode: the recent past is dropped with it */
	else
		ct_fd_close(ct_fl.fd);
	ct_fl.fd = -1;
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
static int write_bytes(int f, const uint8_t *p, size_t len)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return write_raw(f, p, len);
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
	int r = write_raw(f, p, len);
	int e = errno;
	if (r != 0 && !was_pending && sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ)) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&xfsz, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

static int write_all(int f, size_t len)
{
	return write_bytes(f, ct_fl.wb.out, len);
}

int ct_trace_write(int f, const void *p, size_t len)
{
	return write_bytes(f, p, len);
}

static struct ct_file_header cur_hdr; /* the open file's header, as written */

/* The open file's header again, with flags added (in place: the file does not grow). */
void ct_trace_rewrite_header(uint32_t flags)
{
	uint8_t h[CT_HEADER_LEN];
	cur_hdr.flags |= flags;
	ssize_t n = ct_w_header(h, sizeof(h), &cur_hdr);
	if (n > 0 && ct_fl.fd >= 0 && ct_fl.fd != CT_FLIGHT_FD)
		(void)!pwrite(ct_fl.fd, h, (size_t)n, 0);
}

/*
 * The file reached the file-size limit: tracing stops, quietly (the program's stderr is
 * its own), and the header is written again with CT_HF_FSIZE, in place (a write inside
 * the file, which the limit allows), so that readers say why the trace ends there.
 */
static void fsize_stop(void)
{
	atomic_store(&ct_active, 0);
	ct_trace_rewrite_header(CT_HF_FSIZE);
	ct_trace_close();
}

void ct_trace_put(ssize_t len)
{
	if (len <= 0 || ct_fl.fd < 0)
		return;
	if (ct_fl.fd == CT_FLIGHT_FD) {
		ct_flight_put(ct_fl.wb.out, (size_t)len);
		return;
	}
	if (write_all(ct_fl.fd, (size_t)len) != 0) {
		if (errno == EFBIG) {
			fsize_stop();
			return;
		}
		ct_warn("cannot write the trace file: ", strerror(errno), "; tracing stops");
		atomic_store(&ct_active, 0);
		ct_trace_close();
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
	int fd;                          /* -1: none */
	pid_t creator;
	char path[4096 + 64];
};
static struct spare *spare;

void ct_trace_init(void)
{
	spare = mmap(NULL, sizeof(*spare), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (spare == MAP_FAILED)
		spare = NULL;
	else
		spare->fd = -1;
}

static int take_spare(void)
{
	int expect = 0;
	if (!spare || spare->fd < 0 || !atomic_compare_exchange_strong(&spare->taken, &expect, 1))
		return -1;
	memcpy(ct_fl.cur_path, spare->path, sizeof(ct_fl.cur_path));
	ct_fl.wrote_events = 0;
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
	char dir[sizeof(ct_fl.cur_path)];
	dir_of(dir, sizeof(dir), ct_fl.cur_path[0] ? ct_fl.cur_path : ct_cfg.out);
	if (may_create(dir, new_euid))
		return;
	char keep[sizeof(ct_fl.cur_path)];
	int keep_events = ct_fl.wrote_events;
	memcpy(keep, ct_fl.cur_path, sizeof(keep));
	/* a valid trace of nothing until taken: tools that read every *.ctr file do not trip
	 * over an empty one the process could not remove */
	int f = ct_trace_open(CT_HF_SPARE);
	if (f >= 0) {
		memcpy(spare->path, ct_fl.cur_path, sizeof(spare->path));
		spare->creator = getpid();
		spare->fd = f;
	}
	memcpy(ct_fl.cur_path, keep, sizeof(ct_fl.cur_path));
	ct_fl.wrote_events = keep_events;
}

void ct_writer_user_switch(uid_t new_euid)
{
	if (ct_in_sandbox() || !spare || spare->fd >= 0 || geteuid() != 0 || new_euid == 0 || !ct_flush_tracing_here() ||
	    ct_flush_lock(WAIT_EXEC_MS) != 0)
		return;
	ct_ownstack_run(make_spare, &new_euid);
	ct_flush_unlock();
}

void ct_trace_drop_spare(void)
{
	if (spare && spare->fd >= 0 && spare->creator == getpid() &&
	    atomic_load(&spare->taken) == 0)
		unlink(spare->path); /* fails quietly when this user may not */
}

/* The file header into wb.out; its length. */
static uint64_t start_mono, start_real; /* non-zero: the header's start times */

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
	if (start_mono) { /* a snapshot: it starts with its oldest generation */
		h.start_mono_ns = start_mono;
		h.start_real_ns = start_real;
	}
	char exe[4096];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = 0;
	size_t el = strlen(exe);
	const char *tail = el >= sizeof(h.exe) ? exe + el - (sizeof(h.exe) - 1) : exe;
	memcpy(h.exe, tail, strlen(tail) + 1);
	cur_hdr = h;
	return ct_w_header(ct_fl.wb.out, ct_fl.wb.out_cap, &h);
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

static char *snap_path; /* creating a snapshot: its name goes here, not into cur_path */

/* The file is ours: a high fd, protected from the program's closes, its name kept. */
static int adopt(int f, const char *path)
{
	f = ct_fd_move_high(f);
	ct_fd_protect(f);
	if (!snap_path) {
		memcpy(ct_fl.cur_path, path, sizeof(ct_fl.cur_path));
		ct_fl.wrote_events = 0;
	} else {
		memcpy(snap_path, path, sizeof(ct_fl.cur_path));
	}
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
static int create_trace(const char *pattern, uint32_t header_flags);

int ct_trace_open(uint32_t header_flags)
{
	if (ct_cfg.flight) {
		/* flight mode: the generations go to memory (flight.c), files are snapshots */
		ct_fl.cur_path[0] = 0;
		ct_fl.wrote_events = 0;
		return CT_FLIGHT_FD;
	}
	return create_trace(ct_cfg.out, header_flags);
}

int ct_trace_create(const char *pattern, uint64_t mono, uint64_t real, char *path)
{
	snap_path = path;
	start_mono = mono;
	start_real = real;
	int f = create_trace(pattern, 0);
	snap_path = NULL;
	start_mono = start_real = 0;
	return f;
}

static int create_trace(const char *pattern, uint32_t header_flags)
{
	char base[4096 + 32], path[4096 + 64], dir[4096 + 32];
	size_t n = 0;
	for (const char *s = pattern; *s && n < sizeof(base) - 24; s++) {
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
			if ((e == EACCES || e == EPERM) && !snap_path && (f = take_spare()) >= 0) {
				/* at offset 0: the taker's header replaces the spare's */
				if (write_all(f, (size_t)hlen) == 0)
					return f;
				ct_warn("cannot write ", ct_fl.cur_path, "; not tracing");
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

