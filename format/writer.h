/* SPDX-License-Identifier: MIT */
/*
 * Chunk encoders: turn recorder data (events, stacks, modules, thread states, generation
 * markers) into self-delimiting, checksummed, lz4-compressed chunks (FORMAT.md).
 *
 * Called by the preload library's writer thread and by unit tests. Never allocates: the
 * caller provides the scratch (raw) and output buffers in struct ct_wbuf. Not for the
 * record path (it compresses), but async-signal-safe otherwise.
 */
#ifndef CTRACE_WRITER_H
#define CTRACE_WRITER_H

#include <sys/types.h>
#include "ctrace_format.h"

struct ct_wbuf {
	uint8_t *raw;   /* scratch for the uncompressed payload */
	size_t raw_cap;
	uint8_t *out;   /* receives one whole chunk: header + compressed payload */
	size_t out_cap;
	/* LZ4's compression state, LZ4_sizeofState() bytes (8-byte aligned) the caller owns,
	 * or NULL: then LZ4 keeps its ~16 KiB state on the calling thread's stack. The
	 * preload always gives one, so that no flush needs a large stack. */
	void *lz4_state;
};

/* Bytes of LZ4 state for ct_wbuf.lz4_state. */
size_t ct_w_lz4_state_size(void);

/* Bytes of raw and out space that always suffice for a payload of at most n_events events
 * (or n_bytes of table data). Used to size struct ct_wbuf. */
size_t ct_w_raw_bound(size_t n_events);
size_t ct_w_out_bound(size_t raw_len);

/* Encodes the CT_HEADER_LEN-byte file header into out. Returns CT_HEADER_LEN, or -ENOSPC. */
ssize_t ct_w_header(uint8_t *out, size_t cap, const struct ct_file_header *h);

/*
 * Each encoder writes one chunk into w->out and returns its total length, or a negative
 * errno (-ENOSPC when a buffer is too small, -EINVAL on bad arguments).
 */
/* Opens generation gen: clocks at its start. Must precede the generation's other chunks. */
ssize_t ct_w_gen_begin(struct ct_wbuf *w, uint32_t gen, uint64_t mono_ns, uint64_t real_ns);
/* n events of thread tid, in time order; seq numbers the thread's EVENTS chunks in gen. */
ssize_t ct_w_events(struct ct_wbuf *w, uint32_t gen, uint32_t tid, uint32_t seq,
		    const struct ct_event *ev, size_t n);
/* Stack table entries referenced by this generation's events (written before them). */
ssize_t ct_w_stacks(struct ct_wbuf *w, uint32_t gen, const struct ct_stack *st, size_t n);
/* The module map in force during the generation. */
ssize_t ct_w_modules(struct ct_wbuf *w, uint32_t gen, const struct ct_module *m, size_t n);
/* Every known thread's state at the generation start. */
ssize_t ct_w_threads(struct ct_wbuf *w, uint32_t gen, const struct ct_thread_state *t,
		     size_t n);
/* Closes generation gen. lost: cumulative lost-event counts by enum ct_lost_cause;
 * untraced: the threads that ran untraced so far (CT_GEN_UNTRACED); ct_w_gen_end writes
 * 0 there. */
ssize_t ct_w_gen_end_untraced(struct ct_wbuf *w, uint32_t gen, uint64_t end_ns,
			      const uint64_t lost[CT_L_MAX], uint64_t untraced);
ssize_t ct_w_gen_end(struct ct_wbuf *w, uint32_t gen, uint64_t end_ns,
		     const uint64_t lost[CT_L_MAX]);

/* ---- Added by format/: worst-case encoded sizes of one payload entry (FORMAT.md), for
 * sizing ct_wbuf.raw before encoding tables; ct_w_raw_bound(n) == n * CT_W_EVENT_MAX + CT_W_LEN_GAP. An
 * encoder returns -ENOSPC rather than overrun, so a caller may also halve n and retry. */
#define CT_W_EVENT_MAX 64                               /* one EVENTS entry */
#define CT_W_LEN_GAP 4     /* an EVENTS payload's field-stream length (a varint < 2^28) */
#define CT_W_STACK_MAX(nframes) (16 + 10 * (size_t)(nframes)) /* one STACKS entry */
#define CT_W_MODULE_MAX(path_len) (64 + (size_t)(path_len))   /* one MODULES entry */
#define CT_W_THREAD_MAX 96                              /* one THREADS entry */
#define CT_W_GEN_MAX 128                                /* GEN_BEGIN or GEN_END payload */

#endif
