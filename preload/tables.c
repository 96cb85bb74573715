/* SPDX-License-Identifier: MIT */
/*
 * libctrace's own memory: every table it maps (thread slots, buffers, stacks, the shadow
 * table, alternate signal stacks, lock-order tables, the writer's buffers, flight mode's
 * ring, attach's tables) goes through ct_map, which remembers it, so that the program
 * does not see them (preload/README.md, "libctrace's own memory"):
 * - under an address-space limit (RLIMIT_AS, RLIMIT_DATA), which counts the tables'
 *   reserved space (about 145 KiB per thread slot and 49 MiB besides, MAP_NORESERVE), the
 *   start's tables take at most a sixteenth of it (ct_tables_map);
 * - a start that fails leaves nothing mapped (ct_unmap_all);
 * - mlockall locks the program's mappings, not the tables (ct_mlockall);
 * - a core dump has the program's mappings, not the tables (MADV_DONTDUMP).
 *
 * Nothing here runs on the record path: the tables are mapped at the start (ct_init,
 * attach's start) or at a table's first use by the writer.
 */
#include "ctrace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../unwind/capture.h"

#define MAX_TABLES 64
#define MIN_THREADS 16u /* the fewest thread slots worth tracing with */
#define SHARE 16        /* the tables' share of an address-space limit: 1/SHARE */

static struct {
	_Atomic uintptr_t lo, hi;
} tabs[MAX_TABLES];
static atomic_uint ntabs;

/* The tables remembered (a mapping past MAX_TABLES is counted, not remembered). */
static unsigned tables_n(void)
{
	unsigned n = atomic_load(&ntabs);
	return n < MAX_TABLES ? n : MAX_TABLES;
}
/* What ct_map was asked for since the last ct_unmap_all, mapped or not: per thread slot
 * (CT_MAP_PER_THREAD) and besides; and whether a mapping failed. */
static size_t want_fixed, want_per_thread;
static int map_failed;

void *ct_map(size_t n, size_t size, unsigned flags)
{
	size_t bytes = n * size;
	if (flags & CT_MAP_PER_THREAD)
		want_per_thread += ct_cfg.max_threads ? bytes / ct_cfg.max_threads : 0;
	else
		want_fixed += bytes;
	int mf = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (flags & CT_MAP_STACK ? MAP_STACK : 0);
	/* No access first: under mlockall(MCL_FUTURE) the mapping is locked but not faulted
	 * in (the kernel populates accessible mappings only); unlocked, then opened. */
	char *p = mmap(NULL, bytes, PROT_NONE, mf, -1, 0);
	if (p == MAP_FAILED) {
		map_failed = 1;
		return NULL;
	}
	munlock(p, bytes);
	if (mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
		munmap(p, bytes);
		map_failed = 1;
		return NULL;
	}
	/* not in the program's core dumps either (its size: 528 MB against 315 KB untraced) */
	madvise(p, bytes, MADV_DONTDUMP);
	unsigned i = atomic_fetch_add(&ntabs, 1);
	if (i < MAX_TABLES) {
		atomic_store(&tabs[i].lo, (uintptr_t)p);
		atomic_store(&tabs[i].hi, (uintptr_t)p + bytes);
	}
	return p;
}

void ct_unmap_all(void)
{
	for (unsigned i = 0, n = tables_n(); i < n; i++) {
		uintptr_t lo = atomic_load(&tabs[i].lo), hi = atomic_load(&tabs[i].hi);
		if (hi > lo)
			munmap((void *)lo, hi - lo);
		atomic_store(&tabs[i].lo, 0);
		atomic_store(&tabs[i].hi, 0);
	}
	atomic_store(&ntabs, 0);
	want_fixed = want_per_thread = 0;
	map_failed = 0;
}

/* The address-space limit's share the tables may take; SIZE_MAX when there is none. */
static size_t budget(void)
{
	rlim_t lim = RLIM_INFINITY;
	struct rlimit r;
	if (getrlimit(RLIMIT_AS, &r) == 0)
		lim = r.rlim_cur;
	/* private writable mappings, which all tables are, count against RLIMIT_DATA */
	if (getrlimit(RLIMIT_DATA, &r) == 0 && r.rlim_cur < lim)
		lim = r.rlim_cur;
	return lim == RLIM_INFINITY ? SIZE_MAX : (size_t)(lim / SHARE);
}

/* Says why there is no tracing: the tables did not fit (in the share of the limit, share
 * != SIZE_MAX, needing need bytes), or could not be mapped. */
static void say_not_tracing(size_t need, size_t share)
{
	char line[200];
	if (share == SIZE_MAX) {
		ct_warn("cannot map its tables (out of memory); not tracing", "", "");
		return;
	}
	snprintf(line, sizeof(line),
		 "%zu MiB of address space at least, more than a sixteenth of the limit "
		 "(ulimit -v or -d: %zu MiB)", (need + (1u << 20) - 1) >> 20, share * SHARE >> 20);
	ct_warn("not tracing: its tables need ", line, "");
}

int ct_tables_map(int (*map_all)(void), int say)
{
	size_t cap = budget();
	int r = map_all();
	if (cap == SIZE_MAX || getenv("CTRACE_MAX_THREADS")) {
		if (r != 0) {
			ct_unmap_all();
			if (say)
				say_not_tracing(0, SIZE_MAX);
		}
		return r ? -1 : 0;
	}
	size_t fixed = want_fixed, per = want_per_thread;
	if (r == 0 && !map_failed && fixed + per * ct_cfg.max_threads <= cap)
		return 0;
	/* too large for the limit, or a table did not fit in what the program left: again
	 * with as many thread slots as the share holds */
	ct_unmap_all();
	size_t slots = cap > fixed && per ? (cap - fixed) / per : 0;
	if (slots > ct_cfg.max_threads)
		slots = ct_cfg.max_threads;
	if (slots >= MIN_THREADS) {
		ct_cfg.max_threads = (unsigned)slots;
		if (map_all() == 0 && !map_failed)
			return 0;
		ct_unmap_all();
	}
	if (say)
		say_not_tracing(fixed + per * MIN_THREADS, cap);
	return -1;
}

/* ---- mlockall ---- */

/* Calls fn on each part of [lo, hi) outside every table. */
static void outside_tables(uintptr_t lo, uintptr_t hi, void (*fn)(uintptr_t, size_t, int),
			   int arg)
{
	unsigned n = tables_n();
	while (lo < hi) {
		uintptr_t next = hi;
		int inside = 0;
		for (unsigned i = 0; i < n; i++) {
			uintptr_t tl = atomic_load(&tabs[i].lo), th = atomic_load(&tabs[i].hi);
			if (th <= tl)
				continue;
			if (tl <= lo && lo < th) {
				lo = th;
				inside = 1;
				break;
			}
			if (tl > lo && tl < next)
				next = tl;
		}
		if (inside)
			continue;
		fn(lo, next - lo, arg);
		lo = next;
	}
}

static void lock_part(uintptr_t lo, size_t len, int onfault)
{
	/* errors ignored, as mlockall ignores them: a mapping without access is marked
	 * locked but not faulted in */
	REAL(syscall)(SYS_mlock2, (void *)lo, len, onfault ? MLOCK_ONFAULT : 0);
}

/* Reading /proc: a page mapped for the call, not the program's stack (its budget). */
#define PAGE_BUF 4096

/* ct_maps_walk's fn: the mapping locked but for the tables' parts; arg, MLOCK_ONFAULT or
 * not (as an int). */
static int lock_mapping(uintptr_t lo, uintptr_t hi, const char *rest, void *arg)
{
	(void)rest;
	outside_tables(lo, hi, lock_part, (int)(intptr_t)arg);
	return 0;
}

static size_t tables_bytes(void)
{
	size_t sum = 0;
	for (unsigned i = 0, n = tables_n(); i < n; i++)
		sum += atomic_load(&tabs[i].hi) - atomic_load(&tabs[i].lo);
	return sum;
}

/* The process's mappings but the tables, in bytes (VmSize of /proc/self/status, buf
 * PAGE_BUF bytes); SIZE_MAX when unknown. */
static size_t program_bytes(char *buf)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SIZE_MAX;
	ssize_t k = read(fd, buf, PAGE_BUF - 1);
	close(fd);
	buf[k > 0 ? k : 0] = 0;
	char *p = strstr(buf, "\nVmSize:");
	size_t all = p ? (size_t)strtoull(p + 8, NULL, 10) << 10 : 0, t = tables_bytes();
	return all > t ? all - t : SIZE_MAX;
}

/* ct_mlockall's work, buf PAGE_BUF bytes: 0, or -1 and *e. */
static int lock_all(int flags, char *buf, int *e)
{
	int onfault = (flags & MCL_ONFAULT) != 0;
	/* Everything locked on fault, nothing faulted in (and MCL_FUTURE set or cleared as
	 * asked); then the tables unlocked and the program's mappings faulted in. */
	if (REAL(mlockall)(flags | MCL_ONFAULT) == 0) {
		if ((flags & MCL_FUTURE) && !onfault)
			REAL(mlockall)(MCL_FUTURE); /* future mappings faulted in when made */
		for (unsigned i = 0, n = tables_n(); i < n; i++) {
			uintptr_t lo = atomic_load(&tabs[i].lo), hi = atomic_load(&tabs[i].hi);
			if (hi > lo)
				munlock((void *)lo, hi - lo);
		}
		if (!onfault)
			ct_maps_walk(buf, PAGE_BUF, lock_mapping, (void *)0);
		return 0;
	}
	if (errno == EINVAL && !onfault) /* no MCL_ONFAULT (Linux 4.4): as without libctrace */
		return REAL(mlockall)(flags) == 0 ? 0 : (*e = errno, -1);
	if (errno != ENOMEM) {
		*e = errno;
		return -1;
	}
	/* RLIMIT_MEMLOCK without CAP_IPC_LOCK: the kernel compares the whole address space
	 * with it, the tables included. The program's own mappings may fit. */
	struct rlimit lim;
	if (getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY ||
	    program_bytes(buf) > lim.rlim_cur ||
	    ct_maps_walk(buf, PAGE_BUF, lock_mapping, (void *)(intptr_t)onfault) != 0) {
		*e = ENOMEM;
		return -1;
	}
	if (flags & MCL_FUTURE)
		REAL(mlockall)(flags & (MCL_FUTURE | MCL_ONFAULT));
	return 0;
}

int ct_mlockall(int flags)
{
	const int known = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
	if (!atomic_load(&ntabs) || !(flags & MCL_CURRENT) || (flags & ~known))
		return REAL(mlockall)(flags);
	char *buf = mmap(NULL, PAGE_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return REAL(mlockall)(flags);
	int e = errno;
	ct_enter();
	int r = lock_all(flags, buf, &e);
	ct_leave();
	munmap(buf, PAGE_BUF);
	errno = e;
	return r;
}

CT_EXPORT int mlockall(int flags)
{
	return ct_mlockall(flags);
}
