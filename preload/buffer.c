/* SPDX-License-Identifier: MIT */
/*
 * Per-thread event buffers: a pool of fixed-size buffers in one anonymous mapping. A
 * thread owns one ACTIVE buffer and appends fixed-size records to it; the writer thread
 * reads the committed prefix in place (single producer, single consumer per buffer, no
 * lock) and frees FULL buffers once written. When no buffer is free the event is dropped
 * and counted (CT_L_NOBUF): the application never waits for the tracer's I/O.
 *
 * Memory ordering: the owner writes a record, then publishes it with a release store of
 * `committed`; it marks the buffer FULL (release) only after its last record. The writer
 * loads `state` then `committed` with acquire, so a FULL buffer's count is final.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ctrace.h"

atomic_uint_least64_t ct_lost[CT_L_MAX];
unsigned ct_buf_cap;
static char *pool;
static size_t buf_bytes;
static atomic_uint hint; /* where the next free-buffer scan starts */

int ct_buffers_init(void)
{
	buf_bytes = ct_cfg.buf_size & ~(size_t)63;
	ct_buf_cap = (unsigned)((buf_bytes - sizeof(struct ct_buf)) / sizeof(struct ct_event));
	pool = mmap(NULL, buf_bytes * ct_cfg.nbufs, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool == MAP_FAILED) {
		pool = NULL;
		return -ENOMEM;
	}
	return 0;
}

struct ct_buf *ct_buf_at(unsigned i)
{
	return (struct ct_buf *)(pool + (size_t)i * buf_bytes);
}

/* Claims a FREE buffer for the calling thread, or NULL. Record path: a bounded scan. */
static struct ct_buf *claim(uint32_t tid)
{
	unsigned n = ct_cfg.nbufs, start = atomic_fetch_add_explicit(&hint, 1, memory_order_relaxed);
	for (unsigned k = 0; k < n; k++) {
		struct ct_buf *b = ct_buf_at((start + k) % n);
		unsigned expect = CT_BUF_FREE;
		if (atomic_load_explicit(&b->state, memory_order_relaxed) != CT_BUF_FREE)
			continue;
		if (atomic_compare_exchange_strong_explicit(&b->state, &expect, CT_BUF_ACTIVE,
							    memory_order_acquire,
							    memory_order_relaxed)) {
			b->tid = tid;
			atomic_store_explicit(&b->committed, 0, memory_order_relaxed);
			return b;
		}
	}
	return NULL;
}

void ct_buf_retire(struct ct_thread *th)
{
	struct ct_buf *b = th->buf;
	th->buf = NULL;
	if (b)
		atomic_store_explicit(&b->state, CT_BUF_FULL, memory_order_release);
}

void ct_emit(struct ct_thread *th, const struct ct_event *ev)
{
	if (unlikely(!th))
		return; /* counted by ct_self() */
	struct ct_buf *b = th->buf;
	unsigned c = b ? atomic_load_explicit(&b->committed, memory_order_relaxed) : 0;
	if (unlikely(!b || c >= ct_buf_cap)) {
		ct_buf_retire(th);
		b = th->buf = claim((uint32_t)th->tid);
		if (!b) {
			ct_count_lost(CT_L_NOBUF);
			return;
		}
		c = 0;
	}
	b->ev[c] = *ev;
	atomic_store_explicit(&b->committed, c + 1, memory_order_release);
}
