/* SPDX-License-Identifier: MIT */
/*
 * Per-thread call-site tables of the system calls (ctrace.h, struct ct_site): each call
 * after its real function (ct_sites_end) is counted exactly per (call site, kind, fd class),
 * and one that took at least the threshold is recorded as a SYSCALL event with its stack;
 * the tables' snapshots as SITE records (ct_sites_next) at each generation end and at the
 * thread's exit. Contracts in io.h and ctrace.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../format/events.h"
#include "io.h"

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
				      ct_tick_to_ns(__atomic_load_n(&s->total, __ATOMIC_RELAXED)),
				      ct_tick_to_ns(kcm >> 16));
	}
	*pos = i;
	return n;
}

size_t ct_sites_next(const struct ct_thread *th, unsigned *pos, struct ct_event *out,
		     size_t cap, uint64_t ts)
{
	if (__atomic_load_n(&th->sites_epoch, __ATOMIC_RELAXED) != ct_sites_epoch)
		return 0; /* an earlier attach's counts: no call since this one began */
	if (!__atomic_load_n(&th->sites[HDR].count, __ATOMIC_RELAXED))
		return 0; /* no call counted: no entry written (a thread that makes none) */
	if (*pos == 0) {
		ct_tick_refine_now();
		*pos = 1;
	}
	return sites_range(th, pos, CT_SITE_ENTRIES, out, cap, ts);
}

/* The exiting owner's table, counted out, made all zero again for the slot's next claim
 * (which then leaves it alone): nothing to do when the thread counted no call (no entry
 * is written before the header counts it); else the whole pages are dropped (they read
 * as zeros again, and take no memory until written) and the partial ones at the ends
 * cleared. A writer reading the table meanwhile may see a mix of old values and zeros:
 * sites_range skips an entry whose kind reads as 0, and a record whose total reads as 0
 * loses to the owner's final one, which has the same count and its real total (the
 * analyzer keeps the largest). */
void ct_sites_release(struct ct_thread *th)
{
	if (th->sites[HDR].pc == 0) {
		th->sites_dirty = 0;
		return;
	}
	uintptr_t page_size = (uintptr_t)getpagesize();
	uintptr_t b = (uintptr_t)&th->sites[0], e = (uintptr_t)&th->sites[CT_SITE_ENTRIES];
	uintptr_t lo = (b + page_size - 1) & ~(uintptr_t)(page_size - 1);
	uintptr_t hi = e & ~(uintptr_t)(page_size - 1);
	int saved = errno;
	if (hi > lo && madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0) {
		memset((void *)b, 0, lo - b);
		memset((void *)hi, 0, e - hi);
	} else {
		memset(th->sites, 0, sizeof(th->sites));
	}
	errno = saved;
	th->sites_dirty = 0;
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
	/* attach mode: a call that began before this attach, or ends after the detach, is
	 * not this session's */
	if (t0 < ct_attach_ticks || !atomic_load_explicit(&ct_active, memory_order_relaxed))
		return;
	uint64_t end = ct_tick_tsc ? ct_now() : t1; /* CLOCK_MONOTONIC, close to t1 */
	int e = errno;
	ct_enter();
	uint64_t d = (int64_t)(t1 - t0) > 0 ? t1 - t0 : 0; /* ticks */
	struct ct_thread *th = ct_self();
	if (th && th->sites_epoch != ct_sites_epoch) {
		/* the first call of this attach: the table of the earlier one goes (a writer
		 * reading it meanwhile skips what reads as zeros: ct_sites_release) */
		if (th->sites[HDR].pc)
			memset(th->sites, 0, sizeof(th->sites));
		__atomic_store_n(&th->sites_epoch, ct_sites_epoch, __ATOMIC_RELEASE);
	}
	if (th) {
		int slow = d >= __atomic_load_n(&ct_tick_threshold, __ATOMIC_RELAXED);
		unsigned cls = slow ? ct_fdclass_checked(fd, end) : ct_fdclass_get(fd);
		site_add(site_get(th, (uint64_t)(uintptr_t)site, kind | cls << 8), d);
		if (slow) {
			ct_tick_refine(t1, end);
			struct ct_event ev = ct_ev_syscall(end - ct_tick_to_ns(d), kind, ct_stack_here(),
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

void ct_sites_end(uint64_t t0, unsigned kind, int fd, int64_t ret, void *site)
{
	uint64_t t1 = ct_ticks();
	struct ct_thread *th = ct_tls.th;
	if (unlikely(t1 - t0 >= __atomic_load_n(&ct_tick_threshold, __ATOMIC_RELAXED) || !th ||
		     th->sites_epoch != ct_sites_epoch || t0 < ct_attach_ticks ||
		     !atomic_load_explicit(&ct_active, memory_order_relaxed))) {
		sc_slow(t0, t1, kind, fd, ret, site);
		return;
	}
	ct_enter();
	unsigned cls = ct_fdclass_get(fd);
	site_add(site_get(th, (uint64_t)(uintptr_t)site, kind | cls << 8), t1 - t0);
	ct_leave();
}
