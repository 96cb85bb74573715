/* SPDX-License-Identifier: MIT */
/*
 * Per-thread event buffers: two pools of fixed-size buffers in anonymous mappings. A
 * thread owns one ACTIVE buffer and appends fixed-size records to it; the writer thread
 * reads the committed prefix in place (single producer, single consumer per buffer, no
 * lock) and frees FULL buffers once written. When no buffer is free the event is dropped
 * and counted (CT_L_NOBUF): the application never waits for the tracer's I/O.
 *
 * A thread's first buffer comes from the pool of small buffers (4 KiB, 84 records), its
 * later ones from the pool of big buffers (CTRACE_BUFFER_SIZE, CTRACE_BUFFERS of them): a
 * short-lived thread (start, name, a few waits, its call sites, end) then ties up 4 KiB
 * until the writer drains it, not 64 KiB, so waves of thousands of threads fit. When
 * either pool runs below a quarter free, the claiming thread wakes the writer (one futex
 * wake, at most once per writer cycle) instead of waiting for its next period.
 *
 * Memory ordering: the owner writes a record, then publishes it with a release store of
 * `committed`; it marks the buffer FULL (release) only after its last record. The writer
 * loads `state` then `committed` with acquire, so a FULL buffer's count is final. The
 * writer zeroes `committed` before it frees a buffer (release): a buffer is claimed with
 * no count of its last owner's, so a drain right after the claim finds nothing, and once
 * it finds a record the new owner's tid is visible too.
 */
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "ctrace.h"

#define SMALL_BYTES 4096u
#define SMALL_MAX 4096u

atomic_uint_least64_t ct_lost[CT_L_MAX];
atomic_uint_least64_t ct_untraced;
unsigned ct_buf_cap;
atomic_int ct_writer_kick;
static char *pool, *small;
static size_t buf_bytes;
static unsigned nsmall, small_cap;
static atomic_uint small_hint; /* where the next free-buffer scan of the small pool starts */
static atomic_uint hi_big, hi_small; /* one past the highest buffer ever claimed, per pool */
static atomic_int nfree_big, nfree_small;

int ct_buffers_init(void)
{
	buf_bytes = ct_cfg.buf_size & ~(size_t)63;
	ct_buf_cap = (unsigned)((buf_bytes - sizeof(struct ct_buf)) / sizeof(struct ct_event));
	nsmall = ct_cfg.max_threads < SMALL_MAX ? ct_cfg.max_threads : SMALL_MAX;
	small_cap = (unsigned)((SMALL_BYTES - sizeof(struct ct_buf)) / sizeof(struct ct_event));
	if (buf_bytes <= SMALL_BYTES)
		nsmall = 0; /* buffers are small already */
	pool = ct_map(ct_cfg.nbufs, buf_bytes, 0);
	if (!pool)
		return -ENOMEM;
	if (nsmall) {
		small = ct_map(nsmall, SMALL_BYTES, nsmall == ct_cfg.max_threads ? CT_MAP_PER_THREAD : 0);
		if (!small)
			nsmall = 0;
	}
	/* No buffer is touched before it is claimed: untouched pages cost no memory. */
	atomic_store(&nfree_big, (int)ct_cfg.nbufs);
	atomic_store(&nfree_small, (int)nsmall);
	return 0;
}

struct ct_buf *ct_buf_at(unsigned i)
{
	if (i < ct_cfg.nbufs)
		return (struct ct_buf *)(pool + (size_t)i * buf_bytes);
	return (struct ct_buf *)(small + (size_t)(i - ct_cfg.nbufs) * SMALL_BYTES);
}

void ct_bufs_each(void (*fn)(struct ct_buf *b, void *arg), void *arg)
{
	if (!pool)
		return;
	unsigned big = atomic_load_explicit(&hi_big, memory_order_acquire);
	unsigned sm = atomic_load_explicit(&hi_small, memory_order_acquire);
	for (unsigned i = 0; i < big; i++)
		fn(ct_buf_at(i), arg);
	for (unsigned i = 0; i < sm; i++)
		fn(ct_buf_at(ct_cfg.nbufs + i), arg);
}

/* Wakes the writer early (record path: one atomic, and a futex wake once per cycle). */
static void kick(void)
{
	if (atomic_exchange_explicit(&ct_writer_kick, 1, memory_order_acq_rel) == 0 &&
	    ct_real.syscall && ct_sys_begin() == 0) {
		ct_real.syscall(SYS_futex, &ct_writer_kick, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
		ct_sys_end();
	}
}

/* Claims a FREE buffer of one pool for the calling thread, or NULL. Record path: a
 * bounded scan, from h (the small pool: spread over the pool, so that waves of new
 * threads do not all race for the same entries) or, h NULL, from the first buffer (the big
 * pool: the buffers the writer freed last are taken again, so a busy thread cycles through
 * a few buffers that stay in the caches and mapped, not through the whole pool; measured on
 * a semaphore ping-pong of 50000 round trips: 2470 page faults before, 1125 after; no
 * CPU difference measurable on the busy 2-core VM). */
static struct ct_buf *claim_in(unsigned base, unsigned n, atomic_uint *h, atomic_int *nfree,
			       atomic_uint *hi, uint32_t tid)
{
	if (n == 0 || atomic_load_explicit(nfree, memory_order_relaxed) <= 0)
		return NULL;
	unsigned start = h ? atomic_fetch_add_explicit(h, 1, memory_order_relaxed) : 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (start + k) % n;
		struct ct_buf *b = ct_buf_at(base + i);
		unsigned expect = CT_BUF_FREE;
		if (atomic_load_explicit(&b->state, memory_order_relaxed) != CT_BUF_FREE)
			continue;
		if (atomic_compare_exchange_strong_explicit(&b->state, &expect, CT_BUF_ACTIVE,
							    memory_order_acquire,
							    memory_order_relaxed)) {
			ct_atomic_raise(hi, i + 1);
			b->tid = tid;
			b->cap = base ? small_cap : ct_buf_cap;
			/* committed is 0 already (ct_buf_free reset it before the FREE): the
			 * writer may drain the buffer from the CAS on */
			int left = atomic_fetch_sub_explicit(nfree, 1, memory_order_relaxed) - 1;
			if (left < (int)n / 4)
				kick();
			return b;
		}
	}
	kick();
	return NULL;
}

static struct ct_buf *claim(struct ct_thread *th)
{
	uint32_t tid = (uint32_t)th->tid;
	struct ct_buf *b = NULL;
	if (!th->claims++)
		b = claim_in(ct_cfg.nbufs, nsmall, &small_hint, &nfree_small, &hi_small, tid);
	if (!b)
		b = claim_in(0, ct_cfg.nbufs, NULL, &nfree_big, &hi_big, tid);
	/* the big pool exhausted: small buffers from the first, as the big pool's (spread
	 * over the pool, a busy program touched every page of it in turn: 16 MiB) */
	if (!b && th->claims > 1)
		b = claim_in(ct_cfg.nbufs, nsmall, NULL, &nfree_small, &hi_small, tid);
	return b;
}

void ct_buf_free(struct ct_buf *b)
{
	/* its pool, from cap, read while the buffer is still the writer's: a claimer may
	 * write cap from the store of FREE on */
	atomic_int *nfree = b->cap == ct_buf_cap ? &nfree_big : &nfree_small;

	/* committed reset here, before FREE, not by the next owner after its claim: a
	 * drain that saw the claim (ACTIVE) before that reset read the last owner's count,
	 * wrote its events again under the new tid and skipped the new owner's first ones */
	atomic_store_explicit(&b->committed, 0, memory_order_relaxed);
	atomic_store_explicit(&b->state, CT_BUF_FREE, memory_order_release);
	atomic_fetch_add_explicit(nfree, 1, memory_order_relaxed);
}

void ct_buf_retire(struct ct_thread *th)
{
	struct ct_buf *b = th->buf;
	th->buf = NULL;
	if (b)
		atomic_store_explicit(&b->state, CT_BUF_FULL, memory_order_release);
}

int ct_emit(struct ct_thread *th, const struct ct_event *ev)
{
	if (unlikely(!th))
		return -1; /* counted by ct_self() */
	struct ct_buf *b = th->buf;
	unsigned c = b ? atomic_load_explicit(&b->committed, memory_order_relaxed) : 0;
	if (unlikely(!b || c >= b->cap)) {
		ct_buf_retire(th);
		if (b && !atomic_load_explicit(&ct_writer_on, memory_order_relaxed))
			ct_writer_buffer_full(); /* no writer thread: written from here */
		b = th->buf = claim(th);
		if (!b) {
			ct_count_lost(CT_L_NOBUF);
			return -1;
		}
		c = 0;
	}
	b->ev[c] = *ev;
	atomic_store_explicit(&b->committed, c + 1, memory_order_release);
	return 0;
}

static void check_pending(struct ct_buf *b, void *pending)
{
	if (atomic_load(&b->state) != CT_BUF_FREE && atomic_load(&b->committed) > b->flushed)
		*(int *)pending = 1;
}

int ct_buffers_pending(void)
{
	int pending = 0;
	ct_bufs_each(check_pending, &pending);
	return pending;
}

static void reset_buf(struct ct_buf *b, void *arg)
{
	(void)arg;
	if (atomic_load(&b->state) == CT_BUF_FREE && b->flushed == 0)
		return;
	atomic_store(&b->committed, 0);
	b->flushed = b->seq = b->gen = 0;
	atomic_store(&b->state, CT_BUF_FREE);
}

void ct_buffers_after_fork(void)
{
	/* Every unwritten event belongs to the parent, whose writer still has it. Only
	 * buffers in use are written to, so the child copies few pages. */
	ct_bufs_each(reset_buf, NULL);
	atomic_store(&nfree_big, (int)ct_cfg.nbufs);
	atomic_store(&nfree_small, (int)nsmall);
	atomic_store(&ct_writer_kick, 0);
	ct_counts_reset();
}

void ct_counts_reset(void)
{
	for (int i = 0; i < CT_L_MAX; i++)
		atomic_store(&ct_lost[i], 0);
	atomic_store(&ct_untraced, 0);
}
