/* SPDX-License-Identifier: MIT */
/*
 * Stack capture for the record path, and the module map. Linked into libctrace.so only.
 *
 * Backends (measured on this project's machine: unwind/README.md, Capture):
 *  - libunwind's unw_backtrace: ~86 ns at 8 frames, ~260 ns at 32 when warm; lock-free and
 *    syscall-free on the warm path. Its miss path takes the loader lock (dl_iterate_phdr)
 *    and it keeps stale unwind rules after dlclose.
 *  - libgcc's _Unwind_Backtrace: ~2-3 us at 32 frames, but lock-free on glibc >= 2.35
 *    (_dl_find_object) and correct after dlclose. Used after the first dlclose and in
 *    signal handlers (where a libunwind miss could deadlock on the loader lock), and for
 *    a thread's first UNW_AFTER captures: libunwind maps a 256 KiB trace cache for every
 *    thread that captures with it (freed at thread exit), so 1,000 short-lived threads
 *    alive at once, each capturing once or twice, cost 250 MB of resident memory and an
 *    mmap/munmap pair each; with libgcc first, only threads that keep capturing pay it.
 *
 * Both libraries are dlopen'ed with RTLD_LOCAL: linking libunwind.so.8 would put its
 * _Unwind_* exports in the global scope, where C++ code loaded later binds to them and
 * every throw goes through libunwind (measured 31-62x slower throws).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include "capture.h"

/* Own frames captured on top of the caller's (capture, stack table, wait helper, wrapper)
 * and then dropped by address range. */
#define SELF_FRAMES_MAX 6
/* Captures per thread before libunwind is used (see above). */
#define UNW_AFTER 16

static int (*p_unw_backtrace)(void **, int);
static _Unwind_Reason_Code (*p_unwind_backtrace)(_Unwind_Trace_Fn, void *);
static _Unwind_Ptr (*p_unwind_getip)(struct _Unwind_Context *);
static _Unwind_Word (*p_unwind_getcfa)(struct _Unwind_Context *);
static int cap_depth = CT_DEFAULT_DEPTH;
static uintptr_t self_lo, self_hi;  /* libctrace.so's mapped range */
static atomic_int use_libgcc;       /* set after dlclose */
atomic_uint ct_capture_gen;         /* bumped by every dlclose that unmaps an object */
static unsigned long long subs_at_init;
static int subs_cb(struct dl_phdr_info *info, size_t size, void *data);

/* Set in a fork child (ct_capture_fork_child) until its loader lock is known to be free:
 * a parent thread inside dl_iterate_phdr at the fork leaves the child that lock held for
 * good (glibc resets the loader's dl_load_lock in the child, not the dl_load_write_lock
 * that dl_iterate_phdr takes). rmap_at_fork: the objects loaded then; once the child
 * itself loaded or unloaded one (which takes that lock), the lock is free. */
static atomic_int loader_unsure;
static size_t rmap_at_fork;

/* Set by the preload's signal trampoline while a program handler runs on this thread. */
extern __thread int ct_in_signal __attribute__((tls_model("initial-exec")));
static __thread unsigned ncaptures __attribute__((tls_model("initial-exec")));

struct self_range_arg {
	uintptr_t addr;
	uintptr_t lo, hi;
};

static int self_range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct self_range_arg *a = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		if (s < lo) lo = s;
		if (e > hi) hi = e;
	}
	if (a->addr >= lo && a->addr < hi) {
		a->lo = lo;
		a->hi = hi;
		return 1;
	}
	return 0;
}

struct gcc_arg {
	void **buf;
	int n, max;
};

static _Unwind_Reason_Code gcc_cb(struct _Unwind_Context *ctx, void *data)
{
	struct gcc_arg *a = data;
	if (a->n >= a->max)
		return _URC_END_OF_STACK;
	a->buf[a->n++] = (void *)p_unwind_getip(ctx);
	return _URC_NO_REASON;
}

/* The objects on the loader's list (r_debug, read without its lock). */
static size_t rmap_count(void)
{
	size_t n = 0;
	for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next)
		n++;
	return n;
}

void ct_capture_fork_child(void)
{
	rmap_at_fork = rmap_count();
	atomic_store(&loader_unsure, 1);
}

int ct_loader_usable(void)
{
	if (!atomic_load_explicit(&loader_unsure, memory_order_relaxed))
		return 1;
	if (rmap_count() == rmap_at_fork)
		return 0;
	atomic_store(&loader_unsure, 0);
	return 1;
}

int ct_capture_init(int depth)
{
	int r = ct_capture_load(depth);

	ct_capture_warm();
	return r;
}

int ct_capture_load(int depth)
{
	if (depth < 1)
		depth = 1;
	if (depth > CT_MAX_FRAMES)
		depth = CT_MAX_FRAMES;
	cap_depth = depth;

	struct self_range_arg a = { (uintptr_t)&ct_capture_init, 0, 0 };
	dl_iterate_phdr(self_range_cb, &a);
	self_lo = a.lo;
	self_hi = a.hi;
	dl_iterate_phdr(subs_cb, &subs_at_init);

	void *gcc = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
	if (gcc) {
		p_unwind_backtrace = (_Unwind_Reason_Code (*)(_Unwind_Trace_Fn, void *))
			dlsym(gcc, "_Unwind_Backtrace");
		p_unwind_getip = (_Unwind_Ptr (*)(struct _Unwind_Context *))
			dlsym(gcc, "_Unwind_GetIP");
		p_unwind_getcfa = (_Unwind_Word (*)(struct _Unwind_Context *))
			dlsym(gcc, "_Unwind_GetCFA");
		if (!p_unwind_getip)
			p_unwind_backtrace = NULL;
	}
	void *unw = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (unw)
		p_unw_backtrace = (int (*)(void **, int))dlsym(unw, "unw_backtrace");
	return (p_unw_backtrace || p_unwind_backtrace) ? 0 : -ENOENT;
}

void *ct_capture_unwinder(void)
{
	return (void *)(uintptr_t)p_unw_backtrace;
}

void ct_capture_warm(void)
{
	/* Both warmed outside any wrapper: libunwind's first capture maps its per-thread
	 * cache, opens its validation pipe and takes its locks; libgcc's reads the FDE
	 * tables. */
	void *buf[8];
	if (p_unwind_backtrace) {
		struct gcc_arg a = { buf, 0, 8 };
		p_unwind_backtrace(gcc_cb, &a);
	}
	if (p_unw_backtrace)
		p_unw_backtrace(buf, 8);
}

int ct_capture(uint64_t *pcs, unsigned *truncated)
{
	void *buf[CT_MAX_FRAMES + SELF_FRAMES_MAX];
	int max = cap_depth + SELF_FRAMES_MAX, n = 0;

	unsigned nth = ncaptures;
	if (nth <= UNW_AFTER)
		ncaptures = nth + 1;
	if (p_unw_backtrace && !ct_in_signal &&
	    (nth >= UNW_AFTER || !p_unwind_backtrace) &&
	    !atomic_load_explicit(&use_libgcc, memory_order_relaxed) &&
	    !atomic_load_explicit(&loader_unsure, memory_order_relaxed)) {
		n = p_unw_backtrace(buf, max);
	} else if (p_unwind_backtrace) {
		struct gcc_arg a = { buf, 0, max };
		p_unwind_backtrace(gcc_cb, &a);
		n = a.n;
	}
	if (n < 0)
		n = 0;
	/* Drop libctrace's own frames: the capture and wrapper frames on top, and the thread
	 * trampoline below every thread's start routine. pcs[0] is then the return address in
	 * the caller of the interposed function. */
	int out = 0;
	for (int i = 0; i < n && out < cap_depth; i++) {
		uintptr_t pc = (uintptr_t)buf[i];
		/* libgcc ends with the outermost frame's IP 0; libunwind stops before it: the
		 * same stack must give the same PCs through either. */
		if ((pc >= self_lo && pc < self_hi) || pc == 0)
			continue;
		pcs[out++] = (uint64_t)pc;
	}
	*truncated = (n == max) || (out == cap_depth && out < n);
	return out;
}

static int subs_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		*(unsigned long long *)data = info->dlpi_subs;
	return 1; /* the counter is global: the first object is enough */
}

void ct_capture_on_dlclose(void)
{
	unsigned long long subs = 0;
	if (!ct_loader_usable()) {
		/* no walk of the objects: as if one was unmapped */
		if (p_unwind_backtrace)
			atomic_store(&use_libgcc, 1);
		atomic_fetch_add(&ct_capture_gen, 1);
		return;
	}
	dl_iterate_phdr(subs_cb, &subs);
	/* Only an object really unmapped (dlpi_subs grew) makes libunwind's cache stale. */
	if (p_unwind_backtrace && subs != subs_at_init)
		atomic_store(&use_libgcc, 1);
	/* an object may be gone: code at its addresses is not the code cached stacks saw */
	atomic_fetch_add(&ct_capture_gen, 1);
}

struct cfa_arg {
	uint64_t *ips, *cfas;
	int n, max;
};

static _Unwind_Reason_Code cfa_cb(struct _Unwind_Context *ctx, void *data)
{
	struct cfa_arg *a = data;
	if (a->n >= a->max)
		return _URC_END_OF_STACK;
	a->ips[a->n] = (uint64_t)p_unwind_getip(ctx);
	a->cfas[a->n] = (uint64_t)p_unwind_getcfa(ctx);
	a->n++;
	return _URC_NO_REASON;
}

int ct_capture_frames(uint64_t *ips, uint64_t *cfas, int max)
{
	if (!p_unwind_backtrace || !p_unwind_getcfa)
		return 0;
	struct cfa_arg a = { ips, cfas, 0, max };
	p_unwind_backtrace(cfa_cb, &a);
	return a.n;
}

int ct_capture_is_self(uint64_t pc)
{
	return (pc >= self_lo && pc < self_hi) || pc == 0;
}

/* ---- module map ---- */

struct snap_arg {
	struct ct_module *out;
	size_t max, n;
	char *str;
	size_t cap, used;
};

static unsigned long long seen_adds, seen_subs;

static const uint8_t *find_build_id(const struct dl_phdr_info *info, size_t *len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			const uint8_t *next = desc + ((nh->n_descsz + 3) & ~3u);
			if (next > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0) {
				*len = nh->n_descsz;
				return desc;
			}
			p = next;
		}
	}
	return NULL;
}

int ct_maps_walk(char *buf, size_t cap, int (*fn)(uintptr_t, uintptr_t, const char *, void *),
		 void *arg)
{
	int f = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	size_t have = 0;
	int r = 0;
	while (!r) {
		ssize_t k = read(f, buf + have, cap - 1 - have);
		if (k <= 0)
			break;
		have += (size_t)k;
		buf[have] = 0;
		char *line = buf, *nl;
		while (!r && (nl = strchr(line, '\n')) != NULL) {
			*nl = 0;
			char *p;
			uintptr_t lo = strtoull(line, &p, 16), hi;
			if (*p == '-' && (hi = strtoull(p + 1, &p, 16)) > lo)
				r = fn(lo, hi, p, arg);
			line = nl + 1;
		}
		have = strlen(line);
		memmove(buf, line, have);
		if (have == cap - 1)
			have = 0; /* an absurd line: dropped */
	}
	close(f);
	return r;
}

struct path_at {
	uintptr_t addr;
	char *out;
	size_t cap;
};

static int path_at_cb(uintptr_t lo, uintptr_t hi, const char *rest, void *arg)
{
	struct path_at *a = arg;
	const char *slash = strchr(rest, '/');
	if (a->addr < lo || a->addr >= hi || !slash || strlen(slash) >= a->cap)
		return 0;
	strcpy(a->out, slash);
	return 1;
}

/*
 * The kernel's name for the file mapped at addr (from /proc/self/maps) into out: a library
 * dlopen'ed by a relative path keeps that path in dlpi_name, which means nothing once the
 * working directory changed or to the analyzer. 0 or -1. No allocation.
 */
static int mapped_path(uintptr_t addr, char *out, size_t cap)
{
	char buf[8192];
	struct path_at a = { addr, out, cap };
	return ct_maps_walk(buf, sizeof(buf), path_at_cb, &a) == 1 ? 0 : -1;
}

static int snap_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct snap_arg *a = data;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		seen_adds = info->dlpi_adds;
		seen_subs = info->dlpi_subs;
	}
	if (a->n >= a->max)
		return 0;
	struct ct_module *m = &a->out[a->n];
	memset(m, 0, sizeof(*m));
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		if (s < lo) lo = s;
		if (e > hi) hi = e;
	}
	if (hi == 0)
		return 0;
	m->bias = info->dlpi_addr;
	m->lo = lo;
	m->hi = hi;
	size_t bl = 0;
	const uint8_t *bid = find_build_id(info, &bl);
	if (bid) {
		if (bl > CT_BUILD_ID_MAX)
			bl = CT_BUILD_ID_MAX;
		memcpy(m->build_id, bid, bl);
		m->build_id_len = (uint8_t)bl;
	}
	/* The main program has an empty dlpi_name: use /proc/self/exe. */
	char exe[4096];
	const char *path = info->dlpi_name;
	if (a->n == 0 && (!path || !*path)) {
		ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[l > 0 ? l : 0] = 0;
		path = exe;
		m->is_main = 1;
	}
	if (!path || !*path)
		return 0; /* vdso: no file to symbolize from */
	if (path[0] != '/' && mapped_path(lo, exe, sizeof(exe)) == 0)
		path = exe;
	size_t pl = strlen(path) + 1;
	if (a->used + pl > a->cap)
		return 0;
	memcpy(a->str + a->used, path, pl);
	m->path = a->str + a->used;
	a->used += pl;
	a->n++;
	return 0;
}

size_t ct_modules_snapshot(struct ct_module *out, size_t max, char *strbuf, size_t cap)
{
	struct snap_arg a = { out, max, 0, strbuf, cap, 0 };
	dl_iterate_phdr(snap_cb, &a);
	return a.n;
}

static int changed_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	int *changed = data;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		*changed = info->dlpi_adds != seen_adds || info->dlpi_subs != seen_subs;
	return 1; /* the counters are global: the first object is enough */
}

int ct_modules_changed(void)
{
	int changed = 1;
	if (!ct_loader_usable())
		return 0; /* a fork child's objects are the parent's map's */
	dl_iterate_phdr(changed_cb, &changed);
	return changed;
}
