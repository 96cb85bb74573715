/* SPDX-License-Identifier: MIT */
/*
 * Lock-order edges (lockorder.h): acquiring lock B while holding lock A records A -> B
 * once per thread. Each thread slot has an edge table of its own (32 KiB, mapped for
 * every slot at start with MAP_NORESERVE: a slot's pages are touched only when its thread
 * first takes a lock while holding another), an open-addressing set of 64-bit edge keys.
 * The table belongs to the tid that filled it: a slot reused by another thread, or the
 * forked child's thread, starts with it empty, so every trace gets the edges of its own
 * threads. In front of the table, each thread remembers its latest edge taken with one
 * lock held (ct_lo_last, keyed with its tid, so a fork child's copy does not match):
 * a repeated nested pair is then checked inline, without a call.
 *
 * The table is bounded (LO_CAP edges), and so is what a thread records: a program that
 * nests locks of a lock array (memcached's item locks under its LRU and slab locks: some
 * 15,000 distinct pairs per worker in five seconds) would otherwise record an event at
 * nearly every nested acquisition, most of its trace. The edge that finds the table full
 * is recorded flagged CT_EVF_LO_FULL, and from then on the thread records no edge; the
 * analyzer says which threads' graphs stop where (analyze/README.md, "Lock order").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../format/events.h"
#include "lockorder.h"

#define LO_SLOTS 4096u              /* keys per thread: 32 KiB */
#define LO_CAP (LO_SLOTS / 4 * 3)   /* used at most: probes stay short */

struct lo_tab {
	pid_t tid;                   /* the thread the keys are of (0: none yet) */
	uint32_t serial;             /* and its slot's claim (ct_thread.serial): a tid reused
				      * by the slot's next thread is another thread */
	uint32_t used;
	uint64_t key[LO_SLOTS];      /* 0: free */
};

int ct_lockorder_on;
CT_TLS uint64_t ct_lo_last;
/* The tid of the thread when its table is full (0: not full): it records no more edges. */
static CT_TLS pid_t lo_full;
static struct lo_tab *tabs;

int ct_lockorder_init(void)
{
	const char *s = getenv("CTRACE_LOCK_ORDER");
	if (s && strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		ct_warn("CTRACE_LOCK_ORDER='", s, "' is not 0 or 1; using 1");
	if (s && strcmp(s, "0") == 0)
		return 0;
	void *p = ct_map(ct_cfg.max_threads, sizeof(struct lo_tab), CT_MAP_PER_THREAD);
	if (!p)
		return 0;
	tabs = p;
	ct_lockorder_on = 1;
	return 0;
}

/* The key of edge held -> obj with their kinds, never 0 (a 64-bit mix: a collision, which
 * would lose an edge, is as likely as 2^-64 per pair). */
static uint64_t edge_key(uint64_t held, unsigned hkind, uint64_t obj, unsigned kind)
{
	uint64_t x = held * 0x9e3779b97f4a7c15ull ^ (obj + ((uint64_t)hkind << 56 | kind));
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= obj * 0x94d049bb133111ebull;
	x ^= x >> 29;
	return x ? x : 1;
}

/* 1 when the edge is new to the thread and now in its table, 2 when it is new and the
 * table is full, 0 when the table has it. */
static int edge_new(struct lo_tab *t, uint64_t k)
{
	unsigned i = (unsigned)(k ^ k >> 32) & (LO_SLOTS - 1);
	for (;;) {
		if (t->key[i] == k)
			return 0;
		if (t->key[i] == 0)
			break;
		i = (i + 1) & (LO_SLOTS - 1);
	}
	if (t->used >= LO_CAP)
		return 2;
	t->key[i] = k;
	t->used++;
	return 1;
}

void ct_lockorder_edges(const void *obj, const void *pc, unsigned kind)
{
	if (!tabs || (lo_full && lo_full == ct_tls.tid) || !ct_on())
		return;
	int saved = errno;
	ct_enter();
	struct ct_thread *th = ct_self();
	if (th) {
		struct lo_tab *t = &tabs[th - ct_threads];
		if (t->tid != th->tid || t->serial != th->serial) {
			if (t->used) /* a fresh slot's pages are still untouched zeros */
				memset(t->key, 0, sizeof(t->key));
			t->used = 0;
			t->tid = th->tid;
			t->serial = th->serial;
		}
		uint64_t o = (uint64_t)(uintptr_t)obj, ts = 0;
		uint32_t stk = 0;
		for (unsigned i = 0; i < ct_held.n && i < CT_HELD_MAX; i++) {
			const struct ct_held *h = &ct_held.e[i];
			int fresh;
			if (h->obj == o || !(fresh = edge_new(t, edge_key(h->obj, h->kind, o, kind))))
				continue;
			if (!ts) {
				ts = ct_now();
				stk = ct_stack_site((uint64_t)(uintptr_t)pc);
			}
			struct ct_event ev = ct_ev_lock_order(ts, kind, stk, o, h->obj, h->kind,
							      ct_stack_site(h->pc));
			if (fresh == 2) { /* the last edge this thread records: the table is full */
				ev.flags |= CT_EVF_LO_FULL;
				lo_full = th->tid;
			}
			ct_emit(th, &ev);
			if (fresh == 2)
				break;
		}
		if (ct_held.n == 1)
			ct_lo_last = ct_lo_quick(ct_held.e[0].obj, ct_held.e[0].kind, obj, kind,
						 ct_tls.tid);
	}
	ct_leave();
	errno = saved;
}
