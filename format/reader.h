/* SPDX-License-Identifier: MIT */
/*
 * Streaming trace reader: yields the records of a .ctr file in file order, chunk by chunk,
 * without loading the file. Used by analyze/ and by the unit tests and fuzz harness.
 *
 * A truncated file is not an error: every complete chunk is returned and
 * ct_reader_truncated() says so. Corrupt input (bad magic, bad checksum, impossible
 * lengths, undecodable payload) ends iteration with an error whose message names the byte
 * offset, or, after ct_reader_skip_damaged(), costs only the damaged chunks. Never crashes,
 * whatever the input.
 */
#ifndef CTRACE_READER_H
#define CTRACE_READER_H

#include "ctrace_format.h"

struct ct_reader;

enum ct_rec_type {
	CT_REC_GEN_BEGIN = 1, /* gen, ts_mono, ts_real */
	CT_REC_MODULE,        /* gen, module */
	CT_REC_STACK,         /* gen, stack */
	CT_REC_THREAD,        /* gen, thread: state at the generation start */
	CT_REC_EVENT,         /* gen, tid, ev */
	CT_REC_GEN_END,       /* gen, end_ts, lost[], untraced (cumulative since the process
			       * start) */
};

/* One record. Pointers inside (stack.pcs, module.path) stay valid until the next call.
 * Only the fields of its type are set: an event record sets type, gen, tid, ev and
 * offset (the others keep what an earlier record left). */
struct ct_record {
	enum ct_rec_type type;
	uint32_t gen;
	uint32_t tid;
	struct ct_event ev;
	struct ct_stack stack;
	struct ct_module module;
	struct ct_thread_state thread;
	uint64_t ts_mono, ts_real;
	uint64_t end_ts;
	uint64_t lost[CT_L_MAX];
	uint64_t untraced;  /* GEN_END: threads that ran untraced so far (CT_GEN_UNTRACED), */
	int has_untraced;   /* when the writer counted them */
	uint64_t offset; /* file offset of the chunk this record came from */
};

/* Opens a trace. Returns 0, or a negative errno (-EINVAL: not a ctrace file, -EPROTO:
 * unsupported version); *out is NULL on error. For a bad header, ct_reader_open_error()
 * gives the message. */
int ct_reader_open(const char *path, struct ct_reader **out);
/* The same over a memory buffer (not copied: it must outlive the reader). */
int ct_reader_open_mem(const void *buf, size_t len, struct ct_reader **out);
/* Message for the last failed open in this thread, e.g. "not a ctrace file (bad magic at
 * offset 0)". Never NULL. */
const char *ct_reader_open_error(void);

const struct ct_file_header *ct_reader_header(const struct ct_reader *r);

/* Next record: returns 1 and fills *rec, 0 at the end (check ct_reader_truncated), or -1
 * on corrupt input (ct_reader_error gives one line naming the byte offset). */
int ct_reader_next(struct ct_reader *r, struct ct_record *rec);
const char *ct_reader_error(const struct ct_reader *r);
/* ct_reader_next with the events of a chunk at once: returns 1 with *nev >= 1 events at
 * *evs (valid until the next call on r) for an event record (rec has its type, gen, tid
 * and offset; rec->ev is not set), or with *nev 0 for any other record, which rec holds
 * as ct_reader_next gives it; 0 and -1 as ct_reader_next. The events are those
 * ct_reader_next would return one by one, in the same order, and calls of the two may
 * be mixed. */
int ct_reader_next_batch(struct ct_reader *r, struct ct_record *rec,
			 const struct ct_event **evs, size_t *nev);
/* After 0 from next: 1 if the file ended inside a chunk or the last generation has no
 * GEN_END (the process was killed or is still running), else 0. */
int ct_reader_truncated(const struct ct_reader *r);
/* Bytes of an incomplete trailing chunk that were not returned. */
uint64_t ct_reader_trailing_bytes(const struct ct_reader *r);
/* Following a file still being written (ctrace top): after 0 from next, lets next return
 * the records of the chunks appended since, from the end of the last complete chunk (an
 * incomplete one is read again whole). Returns 0, or -1 for a memory reader, after an
 * error, or before next returned 0. */
int ct_reader_resume(struct ct_reader *r);
/*
 * on = 1: a damaged chunk in the middle of the file does not end iteration. It is skipped
 * up to the next chunk that passes every check (found by its magic); chunks of a
 * generation whose GEN_BEGIN was lost are skipped with it; a lost GEN_END closes its
 * generation at the next GEN_BEGIN. Each stretch skipped counts once. A chunk is still
 * handed out whole or not at all. A stored length running past the end of the file is
 * truncation unless a good chunk follows. Call before the first ct_reader_next.
 */
void ct_reader_skip_damaged(struct ct_reader *r, int on);
/* Damaged stretches skipped so far (0 unless skipping). */
uint64_t ct_reader_damaged(const struct ct_reader *r);
/* The first skipped stretch: its one-line message ("corrupt chunk at byte offset N:
 * checksum mismatch"), and its offset in *off (when off is not NULL); "" when none. */
const char *ct_reader_damage(const struct ct_reader *r, uint64_t *off);
void ct_reader_close(struct ct_reader *r);

#endif
