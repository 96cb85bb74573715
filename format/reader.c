/* SPDX-License-Identifier: MIT */
/*
 * Streaming reader of trace files (FORMAT.md): validates the file header, then walks the
 * chunks one at a time, verifies each chunk's checksum, decompresses it into a bounded
 * buffer and hands out its entries as struct ct_record, in file order.
 *
 * Used by analyze/ (every ctrace subcommand), the unit tests and the fuzz harness. It is
 * also linked into libctrace.so (format/ is compiled whole) but never called there.
 *
 * Everything read from the file is hostile until proven otherwise: this file is fuzzed
 * under ASan/UBSan. The rules it lives by:
 *  - memory is bounded by the largest legal chunk (CT_CHUNK_MAX_RAW plus its LZ4 bound),
 *    never by the file size; a file is read with pread, one chunk at a time;
 *  - every length is checked against its bound before it sizes a copy or a loop, and all
 *    offset arithmetic is done in uint64_t so that it cannot wrap;
 *  - a chunk is accepted whole or not at all: every entry is decoded (every varint, count,
 *    string and frame count, and exact consumption of the payload) before the first is
 *    handed out. An EVENTS chunk of up to BATCH_MAX events is decoded once, into an array
 *    of events that its records then come from (ct_reader_next) or that is handed out
 *    whole (ct_reader_next_batch); other chunks, and larger EVENTS chunks (so that the
 *    array stays bounded), are decoded twice, a validation pass and then the records;
 *  - an incomplete trailing chunk is truncation (return 0, truncated == 1), anything
 *    inconsistent in complete bytes is corruption (return -1, a one-line message with the
 *    byte offset), and both are sticky;
 *  - unless damaged chunks are to be skipped: then reading resumes at the next chunk (found
 *    by its magic) that passes every check, and a stretch of bad bytes only costs the
 *    chunks in it (a generation, when its GEN_BEGIN was in it). Skipped chunks are counted,
 *    never half handed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4.h>

#include "reader.h"

/* The largest stored payload any chunk may have: LZ4's worst case for the largest raw. */
#define MAX_COMP_LEN ((uint64_t)LZ4_COMPRESSBOUND(CT_CHUNK_MAX_RAW))
/* Smallest encoded size of one entry of each kind (all varints 1 byte, strings empty):
 * count * min must fit in raw_len before any decoding is tried. */
#define MIN_EVENT 9
#define MIN_EVENT2 3 /* format 2: type, mask, a one-byte timestamp delta */
#define MIN_STACK 3
#define MIN_MODULE 6
#define MIN_THREAD 10
/* The most events an EVENTS chunk may have to be decoded once, into r->evs (48 bytes
 * each): the writer's chunks hold far fewer; a larger one is decoded twice. */
#define BATCH_MAX 65536

enum { RUNNING = 0, AT_END = 1, FAILED = -1 };

struct ct_reader {
	/* source: a file descriptor (fd >= 0) or a caller's memory buffer */
	int fd;
	const uint8_t *mem;
	uint64_t mem_len;

	struct ct_file_header hdr;
	uint64_t pos;           /* offset of the next chunk */

	uint8_t *cbuf;          /* file mode: the current chunk as read (header + payload) */
	size_t cbuf_cap;
	uint8_t *dbuf;          /* decompressed LZ4 payload */
	size_t dbuf_cap;

	/* the chunk being handed out */
	unsigned kind;
	uint32_t gen, tid, left;
	uint64_t chunk_off;
	const uint8_t *p, *end; /* decode cursor over the raw payload */
	uint64_t prev_ts, prev_obj;
	/* format 2 EVENTS: [p, end) is the field stream, [tp, tend) the timestamp stream */
	const uint8_t *tp, *tend;
	struct ct_ev_pred pred[CT_EV_PRED_SLOTS];
	int v2;                 /* the file is format 2 */
	/* an EVENTS chunk decoded once: its known events (the skipped ones left out), handed
	 * out from evs[ev_i] on (ev_i < ev_n only while such a chunk is current) */
	struct ct_event *evs;
	size_t ev_i, ev_n, ev_cap;

	/* generation bookkeeping (FORMAT.md section 6) */
	int gen_open, any_gen;
	uint32_t open_gen, last_gen;

	int state;
	int truncated;
	uint64_t trailing;

	/* damaged chunks (ct_reader_skip_damaged) */
	int skip_damaged, since_damage;
	uint64_t damaged, damage_off;
	char damage[256];

	uint64_t pcs[CT_MAX_FRAMES];
	char path[CT_PATH_MAX + 1];
	char err[256];
};

static __thread char open_err[192] = "no error";

static void set_open_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_open_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(open_err, sizeof(open_err), fmt, ap);
	va_end(ap);
}

/* Marks the reader failed with "corrupt chunk at byte offset N: why" (or "read error at
 * byte offset N: why" for I/O errors). Returns -1. */
static int fail(struct ct_reader *r, const char *what, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct ct_reader *r, const char *what, uint64_t off, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof(r->err), "%s at byte offset %llu: %s", what,
		 (unsigned long long)off, why);
	r->state = FAILED;
	return -1;
}

#define corrupt(r, off, ...) fail((r), "corrupt chunk", (off), __VA_ARGS__)
#define io_error(r, off, e) fail((r), "read error", (off), "%s", strerror(e))

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* ---- input */

/* Grows *buf to at least need bytes (need is already bounded by the caller). */
static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap && *buf)
		return 0;
	size_t n = *cap ? *cap : 65536;
	while (n < need)
		n *= 2;
	uint8_t *nb = realloc(*buf, n);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = n;
	return 0;
}

/*
 * Makes the bytes [off, off + len) available at *out. Returns how many are (fewer than len
 * only at the end of the input), or a negative errno. len is bounded by the callers
 * (header_len <= CT_HEADER_MAX_LEN, chunks <= CT_CHUNK_HDR_LEN + MAX_COMP_LEN).
 */
static ssize_t fetch(struct ct_reader *r, uint64_t off, size_t len, const uint8_t **out)
{
	if (r->fd < 0) { /* memory mode: no copy */
		if (off >= r->mem_len)
			return 0;
		uint64_t avail = r->mem_len - off;
		*out = r->mem + off;
		return (ssize_t)(avail < len ? avail : len);
	}
	int e = reserve(&r->cbuf, &r->cbuf_cap, len);
	if (e)
		return e;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(r->fd, r->cbuf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*out = r->cbuf;
	return (ssize_t)got;
}

/* ---- payload primitives: each fails instead of reading past r->end */

/* Unsigned LEB128, at most 10 bytes, the 10th carrying only bit 63. */
static const char *var(struct ct_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	if (r->p < r->end && !(*r->p & 0x80)) { /* the common one-byte value */
		*v = *r->p++;
		return NULL;
	}
	if (r->end - r->p >= 10) { /* room for any varint: no bound check per byte */
		const uint8_t *p = r->p;

		for (unsigned i = 0; i < 10; i++) {
			uint8_t b = p[i];

			if (i == 9 && b > 1)
				return "varint longer than 64 bits";
			x |= (uint64_t)(b & 0x7f) << (7 * i);
			if (!(b & 0x80)) {
				r->p = p + i + 1;
				*v = x;
				return NULL;
			}
		}
		return "varint longer than 64 bits";
	}
	for (unsigned i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return "varint runs past the payload";
		uint8_t b = *r->p++;
		if (i == 9 && b > 1)
			return "varint longer than 64 bits";
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return NULL;
		}
	}
	return "varint longer than 64 bits";
}

static const char *var32(struct ct_reader *r, uint32_t *v)
{
	uint64_t x;
	const char *e = var(r, &x);
	if (e)
		return e;
	if (x > UINT32_MAX)
		return "32-bit field out of range";
	*v = (uint32_t)x;
	return NULL;
}

/* Zig-zag varint added (mod 2^64) to *acc: the inverse of the writer's put_delta. */
static const char *delta(struct ct_reader *r, uint64_t *acc)
{
	uint64_t z;
	const char *e = var(r, &z);
	if (e)
		return e;
	*acc += (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1));
	return NULL;
}

static const char *byte(struct ct_reader *r, uint8_t *v)
{
	if (r->p >= r->end)
		return "entry runs past the payload";
	*v = *r->p++;
	return NULL;
}

/* n bytes at the cursor; n must already be bounded by the caller's limit. */
static const char *bytes(struct ct_reader *r, void *dst, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return "string runs past the payload";
	memcpy(dst, r->p, n);
	r->p += n;
	return NULL;
}

#define TRY(x) do { const char *e_ = (x); if (e_) return e_; } while (0)

/* ---- entry decoders: one entry at the cursor into rec; NULL or why the entry is bad */

/* The end of the wait kinds a file of this version may use: the OpenMP kinds came with
 * 1.2, so an older file holding one is corrupt. */
static unsigned kind_end(const struct ct_reader *r)
{
	return r->v2 || r->hdr.version_minor >= 2 ? CT_K_MAX : CT_K_OMP_BARRIER;
}

/* Is the file of a later minor version than this reader knows of its major version? Its
 * unknown event types and kinds are skipped then (FORMAT.md section 9), else corrupt. */
static int newer_minor(const struct ct_reader *r)
{
	return r->hdr.version_minor > (r->v2 ? CT_VERSION_MINOR : CT_VERSION_1_MINOR);
}

/* One EVENTS entry. *skip is set for events of types or kinds this reader does not know,
 * which are legal only in files of a newer minor version (FORMAT.md section 9). */
/* A varint at *pp that is known to have 10 bytes of room: 0, or -1 when longer than 64
 * bits. */
static inline int uvar(const uint8_t **pp, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t x = 0;

	if (!(p[0] & 0x80)) { /* most fields fit in one byte */
		*pp = p + 1;
		*v = p[0];
		return 0;
	}
	/* and most others in two or three (the timestamps' deltas) */
	x = p[0] & 0x7f;
	if (!(p[1] & 0x80)) {
		*pp = p + 2;
		*v = x | (uint64_t)p[1] << 7;
		return 0;
	}
	x |= (uint64_t)(p[1] & 0x7f) << 7;
	if (!(p[2] & 0x80)) {
		*pp = p + 3;
		*v = x | (uint64_t)p[2] << 14;
		return 0;
	}
	x |= (uint64_t)(p[2] & 0x7f) << 14;
	for (unsigned i = 3; i < 10; i++) {
		uint8_t b = p[i];

		if (i == 9 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*pp = p + i + 1;
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* The type and kind of a decoded event: known, skipped (a newer minor version's), or
 * corrupt. */
static inline const char *check_event(const struct ct_reader *r, const struct ct_event *ev,
				      int *skip)
{
	*skip = 0;
	if (__builtin_expect(ev->type == CT_EV_NONE || ev->type >= CT_EV_MAX ||
			     ev->kind >= kind_end(r), 0)) {
		if (!newer_minor(r) || ev->type == CT_EV_NONE)
			return ev->type == CT_EV_NONE || ev->type >= CT_EV_MAX ?
				"unknown event type" : "unknown wait kind";
		*skip = 1;
	}
	return NULL;
}

static const char *dec_event(struct ct_reader *r, struct ct_event *ev, int *skip)
{
	uint64_t flags;

	if (r->end - r->p >= 2 + 7 * 10) {
		/* room for the longest event: one bound check for all its fields */
		const uint8_t *p = r->p;
		uint64_t z, st;

		ev->type = *p++;
		ev->kind = *p++;
		if (uvar(&p, &flags) < 0)
			return "varint longer than 64 bits";
		if (flags > UINT16_MAX)
			return "event flags out of range";
		ev->flags = (uint16_t)flags;
		if (uvar(&p, &z) < 0)
			return "varint longer than 64 bits";
		r->prev_ts += (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1));
		ev->ts = r->prev_ts;
		if (uvar(&p, &st) < 0)
			return "varint longer than 64 bits";
		if (st > UINT32_MAX)
			return "32-bit field out of range";
		ev->stack = (uint32_t)st;
		if (uvar(&p, &z) < 0)
			return "varint longer than 64 bits";
		r->prev_obj += (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1));
		ev->obj = r->prev_obj;
		if (uvar(&p, &ev->a) < 0 || uvar(&p, &ev->b) < 0 || uvar(&p, &ev->c) < 0)
			return "varint longer than 64 bits";
		r->p = p;
		goto check;
	}
	TRY(byte(r, &ev->type));
	TRY(byte(r, &ev->kind));
	TRY(var(r, &flags));
	if (flags > UINT16_MAX)
		return "event flags out of range";
	ev->flags = (uint16_t)flags;
	TRY(delta(r, &r->prev_ts));
	ev->ts = r->prev_ts;
	TRY(var32(r, &ev->stack));
	TRY(delta(r, &r->prev_obj));
	ev->obj = r->prev_obj;
	TRY(var(r, &ev->a));
	TRY(var(r, &ev->b));
	TRY(var(r, &ev->c));
check:
	return check_event(r, ev, skip);
}

/* The fields of a format-2 event: its type class's prediction, updated by the entry. */
static inline void pred_fields(struct ct_event *ev, const struct ct_ev_pred *q)
{
	ev->kind = q->kind;
	ev->flags = q->flags;
	ev->stack = q->stack;
	ev->obj = q->obj;
	ev->a = q->a;
	ev->b = q->b;
	ev->c = q->c;
}

/* The room dec_event2_fast needs: the longest event in both streams. */
#define EV2_ROOM (3 + 6 * 10)
#define TS2_ROOM 10

/*
 * A format-2 event from *pp (its fields) and *tpp (its time, a delta from *ts), with the
 * predictions of its type class in pred, when both streams have room for the longest
 * (EV2_ROOM and TS2_ROOM bytes: one bound check for all). The cursors are passed by
 * address so that a loop over a chunk keeps them in registers (dec_run2).
 */
static inline __attribute__((always_inline)) const char *
dec_event2_fast(struct ct_ev_pred *pred, const uint8_t **pp, const uint8_t **tpp, uint64_t *ts,
		struct ct_event *ev)
{
	const uint8_t *p = *pp;
	struct ct_ev_pred *q;
	uint64_t v, z;
	uint8_t type = p[0], mask = p[1];

	p += 2;
	if (mask & ~CT_EVM_ALL)
		return "reserved event mask bit set";
	q = &pred[type % CT_EV_PRED_SLOTS];
	/* the fields in registers, stored once to the prediction and to the event: copying
	 * the prediction after updating it field by field would load what was just stored,
	 * in wider loads than the stores (a stall per event) */
	uint64_t obj = q->obj, a = q->a, b = q->b, c = q->c;
	uint32_t stack = q->stack;
	uint16_t flags = q->flags;
	uint8_t kind = q->kind;

	if (mask & CT_EVM_KIND)
		kind = *p++;
	if (mask & CT_EVM_FLAGS) {
		if (uvar(&p, &v) < 0)
			return "varint longer than 64 bits";
		if (v > UINT16_MAX)
			return "event flags out of range";
		flags = (uint16_t)v;
	}
	if (mask & CT_EVM_STACK) {
		if (uvar(&p, &v) < 0)
			return "varint longer than 64 bits";
		if (v > UINT32_MAX)
			return "32-bit field out of range";
		stack = (uint32_t)v;
	}
#define DELTA(field)                                                                   \
	do {                                                                           \
		if (uvar(&p, &z) < 0)                                                  \
			return "varint longer than 64 bits";                           \
		(field) += (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1));                   \
	} while (0)
	if (mask & CT_EVM_OBJ)
		DELTA(obj);
	if (mask & CT_EVM_A)
		DELTA(a);
	if (mask & CT_EVM_B)
		DELTA(b);
	if (mask & CT_EVM_C)
		DELTA(c);
	*pp = p;
	p = *tpp;
	DELTA(*ts);
	*tpp = p;
#undef DELTA
	ev->type = type;
	q->kind = ev->kind = kind;
	q->flags = ev->flags = flags;
	q->stack = ev->stack = stack;
	q->obj = ev->obj = obj;
	q->a = ev->a = a;
	q->b = ev->b = b;
	q->c = ev->c = c;
	ev->ts = *ts;
	return NULL;
}

/* One format-2 EVENTS entry (FORMAT.md section 5.2): type and mask from the field stream,
 * the fields the mask names (the others as predicted by the previous event of the same
 * type class), the timestamp from the timestamp stream. */
static inline __attribute__((always_inline)) const char *dec_event2(struct ct_reader *r,
								  struct ct_event *ev, int *skip)
{
	uint8_t mask;
	uint64_t v;

	if (r->end - r->p >= EV2_ROOM && r->tend - r->tp >= TS2_ROOM) {
		const char *e = dec_event2_fast(r->pred, &r->p, &r->tp, &r->prev_ts, ev);

		return e ? e : check_event(r, ev, skip);
	}
	TRY(byte(r, &ev->type));
	TRY(byte(r, &mask));
	if (mask & ~CT_EVM_ALL)
		return "reserved event mask bit set";
	struct ct_ev_pred *q = &r->pred[ev->type % CT_EV_PRED_SLOTS];
	if (mask & CT_EVM_KIND)
		TRY(byte(r, &q->kind));
	if (mask & CT_EVM_FLAGS) {
		TRY(var(r, &v));
		if (v > UINT16_MAX)
			return "event flags out of range";
		q->flags = (uint16_t)v;
	}
	if (mask & CT_EVM_STACK)
		TRY(var32(r, &q->stack));
	if (mask & CT_EVM_OBJ)
		TRY(delta(r, &q->obj));
	if (mask & CT_EVM_A)
		TRY(delta(r, &q->a));
	if (mask & CT_EVM_B)
		TRY(delta(r, &q->b));
	if (mask & CT_EVM_C)
		TRY(delta(r, &q->c));
	pred_fields(ev, q);
	/* the timestamp, from its own stream */
	const uint8_t *p = r->p, *end = r->end;
	r->p = r->tp;
	r->end = r->tend;
	const char *e = delta(r, &r->prev_ts);
	r->tp = r->p;
	r->p = p;
	r->end = end;
	if (e)
		return e;
	ev->ts = r->prev_ts;
	return check_event(r, ev, skip);
}

/*
 * The events of a format-2 chunk into evs, as dec_event2 would one by one, while both
 * streams have room for the longest event, with the cursors in registers (stores to the
 * events, of bytes among them, would otherwise make the compiler reload them from r
 * after each). Returns how many entries it read, and adds to *n the events kept of them
 * (an event of a newer minor version's type is read and skipped); on an error, *why, the
 * last entry read being the bad one. The rest, near the streams' ends, are dec_event2's.
 */
static uint32_t dec_run2(struct ct_reader *r, struct ct_event *evs, uint32_t count, size_t *n,
			 const char **why)
{
	const uint8_t *p = r->p, *end = r->end, *tp = r->tp, *tend = r->tend;
	uint64_t ts = r->prev_ts;
	size_t k = *n;
	uint32_t i = 0;

	while (i < count && end - p >= EV2_ROOM && tend - tp >= TS2_ROOM) {
		int skip;
		struct ct_event *ev = &evs[k];

		i++;
		*why = dec_event2_fast(r->pred, &p, &tp, &ts, ev);
		if (!*why)
			*why = check_event(r, ev, &skip);
		if (*why)
			break;
		k += !skip;
	}
	r->p = p;
	r->tp = tp;
	r->prev_ts = ts;
	*n = k;
	return i;
}

static const char *dec_stack(struct ct_reader *r, struct ct_record *rec)
{
	struct ct_stack *st = &rec->stack;
	uint32_t n, flags;

	TRY(var32(r, &st->id));
	if (st->id == 0)
		return "stack id 0";
	TRY(var32(r, &n));
	if (n > CT_MAX_FRAMES)
		return "stack deeper than CT_MAX_FRAMES";
	TRY(var32(r, &flags));
	if (flags > UINT16_MAX)
		return "stack flags out of range";
	st->nframes = (uint16_t)n;
	st->flags = (uint16_t)flags;
	uint64_t pc = 0;
	for (uint32_t i = 0; i < n; i++) {
		TRY(delta(r, &pc));
		r->pcs[i] = pc;
	}
	st->pcs = r->pcs;
	return NULL;
}

static const char *dec_module(struct ct_reader *r, struct ct_record *rec)
{
	struct ct_module *m = &rec->module;
	uint64_t size, plen;

	TRY(var(r, &m->bias));
	TRY(var(r, &m->lo));
	TRY(var(r, &size));
	if (size > UINT64_MAX - m->lo)
		return "module range wraps";
	m->hi = m->lo + size;
	TRY(byte(r, &m->build_id_len));
	if (m->build_id_len > CT_BUILD_ID_MAX)
		return "build-id longer than 20 bytes";
	TRY(bytes(r, m->build_id, m->build_id_len));
	TRY(byte(r, &m->is_main));
	if (m->is_main > 1)
		return "bad is_main";
	TRY(var(r, &plen));
	if (plen > CT_PATH_MAX)
		return "module path longer than CT_PATH_MAX";
	TRY(bytes(r, r->path, (size_t)plen));
	if (memchr(r->path, 0, (size_t)plen))
		return "NUL inside module path";
	r->path[plen] = 0;
	m->path = r->path;
	return NULL;
}

static const char *dec_thread(struct ct_reader *r, struct ct_record *rec)
{
	struct ct_thread_state *t = &rec->thread;
	uint8_t nlen;

	TRY(var32(r, &t->tid));
	TRY(var32(r, &t->parent_tid));
	TRY(var(r, &t->start_func));
	TRY(byte(r, &nlen));
	if (nlen > CT_NAME_LEN)
		return "thread name longer than 16 bytes";
	TRY(bytes(r, t->name, nlen));
	if (memchr(t->name, 0, nlen))
		return "NUL inside thread name";
	t->name[nlen] = 0;
	TRY(byte(r, &t->blocked));
	if (t->blocked > 1)
		return "bad blocked flag";
	TRY(byte(r, &t->kind));
	if (t->kind >= kind_end(r)) {
		/* a newer minor version's kind: reported as CT_K_NONE (FORMAT.md section 9) */
		if (!newer_minor(r))
			return "unknown wait kind";
		t->kind = CT_K_NONE;
	}
	TRY(var(r, &t->obj));
	TRY(var(r, &t->since));
	TRY(var(r, &t->cpu_ns));
	TRY(var(r, &t->runq_ns));
	return NULL;
}

static const char *dec_gen_begin(struct ct_reader *r, struct ct_record *rec)
{
	TRY(var(r, &rec->ts_mono));
	TRY(var(r, &rec->ts_real));
	return NULL;
}

/* GEN_END carries its own count of counters: a newer writer may count more causes (the
 * extra ones are read and dropped), an older one fewer (the rest stay 0; without the
 * untraced threads' counter, has_untraced stays 0). */
static const char *dec_gen_end(struct ct_reader *r, struct ct_record *rec)
{
	uint64_t n, v;

	TRY(var(r, &rec->end_ts));
	TRY(var(r, &n));
	if (n > 64)
		return "more than 64 lost-event causes";
	for (uint64_t i = 0; i < n; i++) {
		TRY(var(r, &v));
		if (i < CT_L_MAX)
			rec->lost[i] = v;
		else if (i == CT_GEN_UNTRACED)
			rec->untraced = v;
	}
	rec->has_untraced = n > CT_GEN_UNTRACED;
	return NULL;
}

/* Decodes the entry at the cursor into rec (zeroed first); *skip as for dec_event. */
static const char *dec_entry(struct ct_reader *r, struct ct_record *rec, int *skip)
{
	if (r->kind == CT_CH_EVENTS) {
		/* the hot path: an event record sets every field of ev; the rest of rec is
		 * not cleared for it */
		*skip = 0;
		rec->type = CT_REC_EVENT;
		rec->gen = r->gen;
		rec->offset = r->chunk_off;
		rec->tid = r->tid;
		return r->v2 ? dec_event2(r, &rec->ev, skip) : dec_event(r, &rec->ev, skip);
	}
	memset(rec, 0, sizeof(*rec));
	*skip = 0;
	rec->gen = r->gen;
	rec->offset = r->chunk_off;
	switch (r->kind) {
	case CT_CH_GEN_BEGIN:
		rec->type = CT_REC_GEN_BEGIN;
		return dec_gen_begin(r, rec);
	case CT_CH_EVENTS:
		rec->type = CT_REC_EVENT;
		rec->tid = r->tid;
		return r->v2 ? dec_event2(r, &rec->ev, skip) : dec_event(r, &rec->ev, skip);
	case CT_CH_STACKS:
		rec->type = CT_REC_STACK;
		return dec_stack(r, rec);
	case CT_CH_MODULES:
		rec->type = CT_REC_MODULE;
		return dec_module(r, rec);
	case CT_CH_THREADS:
		rec->type = CT_REC_THREAD;
		return dec_thread(r, rec);
	case CT_CH_GEN_END:
		rec->type = CT_REC_GEN_END;
		return dec_gen_end(r, rec);
	}
	return "unknown chunk kind";
}

static const char *const chunk_names[CT_CH_MAX] = {
	"?", "GEN_BEGIN", "EVENTS", "STACKS", "MODULES", "THREADS", "GEN_END",
};

/* Puts the decode cursor at the start of the chunk payload [p, p + len); for a format-2
 * EVENTS chunk, the field stream after its length and the timestamp stream after it.
 * NULL, or why the payload is bad. */
static const char *rewind_payload(struct ct_reader *r, const uint8_t *p, size_t len,
				  uint32_t count)
{
	r->p = p;
	r->end = p + len;
	r->left = count;
	r->prev_ts = 0;
	r->prev_obj = 0;
	r->tp = r->tend = r->end;
	if (r->v2 && r->kind == CT_CH_EVENTS && count > 0) {
		memset(r->pred, 0, sizeof(r->pred));
		uint64_t flen;
		TRY(var(r, &flen));
		if (flen > (uint64_t)(r->end - r->p))
			return "field stream longer than the payload";
		r->tp = r->p + flen;
		r->end = r->tp;
	}
	return NULL;
}

/* What check_chunk found at an offset. */
enum { CH_OK = 1, CH_END = 0, CH_BAD = -1, CH_PART = -2, CH_IO = -3 };

/* A chunk that passed check_chunk. */
struct chunk {
	uint64_t off, total;
	unsigned kind;
	uint32_t gen, tid;
};

/* Records why the chunk at off is bad in r->err, without failing the reader. */
static int bad(struct ct_reader *r, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct ct_reader *r, uint64_t off, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof(r->err), "corrupt chunk at byte offset %llu: %s",
		 (unsigned long long)off, why);
	return CH_BAD;
}

/*
 * Checks the chunk at off on its own (header, checksum, codec, entries; not the generation
 * rules) and, when it passes, makes it the current chunk (cursor at its first entry).
 * Returns CH_OK with *c filled; CH_END when the input ends at off; CH_PART when it ends
 * inside the chunk (*avail bytes of it exist); CH_BAD (why in r->err) or CH_IO (r->err
 * set, reader failed).
 */
static int check_chunk(struct ct_reader *r, uint64_t off, struct chunk *c, uint64_t *avail)
{
	const uint8_t *h;
	ssize_t n = fetch(r, off, CT_CHUNK_HDR_LEN, &h);

	r->ev_i = r->ev_n = 0; /* nothing is handed out of a chunk until it passed */
	if (n < 0)
		return io_error(r, off, (int)-n), CH_IO;
	if (n == 0)
		return CH_END; /* ended on a chunk boundary */
	if (n < CT_CHUNK_HDR_LEN) {
		/* EOF inside a chunk header: a writer was cut off mid-write */
		*avail = (uint64_t)n;
		return CH_PART;
	}

	/* Header fields are checked for sanity before the checksum can be computed:
	 * comp_len decides how much is read, so it is bounded first. */
	uint32_t magic = get_u32(h);
	unsigned kind = h[4], codec = h[5];
	uint32_t gen = get_u32(h + 8), tid = get_u32(h + 12);
	uint32_t count = get_u32(h + 20);
	uint32_t raw_len = get_u32(h + 24), comp_len = get_u32(h + 28);
	uint32_t crc = get_u32(h + 32);

	if (magic != CT_CHUNK_MAGIC)
		return bad(r, off, "bad chunk magic 0x%08x", magic);
	if (kind == 0)
		return bad(r, off, "bad chunk kind 0");
	if (codec >= CT_CODEC_MAX)
		return bad(r, off, "unknown codec %u", codec);
	if (raw_len > CT_CHUNK_MAX_RAW)
		return bad(r, off, "raw length %u exceeds %u", raw_len, CT_CHUNK_MAX_RAW);
	if (codec == CT_CODEC_RAW && comp_len != raw_len)
		return bad(r, off, "raw chunk with stored length %u != raw length %u",
			   comp_len, raw_len);
	if (codec == CT_CODEC_LZ4 &&
	    (raw_len == 0 || comp_len == 0 ||
	     comp_len > (uint64_t)LZ4_COMPRESSBOUND(raw_len)))
		return bad(r, off, "bad lz4 lengths (stored %u, raw %u)", comp_len, raw_len);

	size_t total = CT_CHUNK_HDR_LEN + (size_t)comp_len; /* <= 36 + MAX_COMP_LEN */
	n = fetch(r, off, total, &h);
	if (n < 0)
		return io_error(r, off, (int)-n), CH_IO;
	if ((size_t)n < total) {
		/* EOF inside the payload. (A damaged comp_len in the last chunk looks the
		 * same: without the bytes it claims, nothing can tell them apart.) */
		*avail = (uint64_t)n;
		snprintf(r->err, sizeof(r->err), "corrupt chunk at byte offset %llu: stored "
			 "length %u runs past the end of the input", (unsigned long long)off,
			 comp_len);
		return CH_PART;
	}
	const uint8_t *stored = h + CT_CHUNK_HDR_LEN;
	uint32_t want = ct_crc32(ct_crc32(0, h, 32), stored, comp_len);
	if (want != crc)
		return bad(r, off, "checksum mismatch");

	*c = (struct chunk){ off, total, kind, gen, tid };
	if (kind >= CT_CH_MAX)
		return CH_OK; /* a newer minor version's chunk kind: checked, skipped */

	/* Count against payload size before looping over count entries. */
	uint64_t min = 0;
	switch (kind) {
	case CT_CH_GEN_BEGIN:
	case CT_CH_GEN_END:
		if (count != 1)
			return bad(r, off, "%s chunk with %u entries", chunk_names[kind], count);
		min = 2;
		break;
	case CT_CH_EVENTS: min = r->v2 ? MIN_EVENT2 : MIN_EVENT; break;
	case CT_CH_STACKS: min = MIN_STACK; break;
	case CT_CH_MODULES: min = MIN_MODULE; break;
	case CT_CH_THREADS: min = MIN_THREAD; break;
	}
	if ((uint64_t)count * min > raw_len)
		return bad(r, off, "%u entries cannot fit in %u bytes", count, raw_len);

	const uint8_t *payload = stored;
	if (codec == CT_CODEC_LZ4) {
		if (reserve(&r->dbuf, &r->dbuf_cap, raw_len))
			return fail(r, "out of memory", off, "%u-byte payload", raw_len), CH_IO;
		int got = LZ4_decompress_safe((const char *)stored, (char *)r->dbuf,
					      (int)comp_len, (int)raw_len);
		if (got != (int)raw_len)
			return bad(r, off, "lz4 payload does not decode to %u bytes", raw_len);
		payload = r->dbuf;
	}

	r->kind = kind;
	r->gen = gen;
	r->tid = tid;
	r->chunk_off = off;

	/* Validation pass: decode every entry, require the payload to be consumed exactly.
	 * Records are only handed out once the whole chunk is known good. The events of an
	 * EVENTS chunk of up to BATCH_MAX are kept as they are decoded: handed out from
	 * r->evs, they are not decoded again. */
	struct ct_record scratch;
	const char *unfit = rewind_payload(r, payload, raw_len, count);
	if (unfit)
		return bad(r, off, "%s: %s", chunk_names[kind], unfit);
	if (kind == CT_CH_EVENTS && count <= BATCH_MAX) {
		const char *why = NULL;
		size_t n = 0;
		uint32_t i;

		if (count > r->ev_cap) {
			size_t cap = r->ev_cap ? r->ev_cap : 1024;
			struct ct_event *nv;

			while (cap < count)
				cap *= 2;
			nv = realloc(r->evs, cap * sizeof(*nv));
			if (!nv)
				return fail(r, "out of memory", off, "%u events", count), CH_IO;
			r->evs = nv;
			r->ev_cap = cap;
		}
		i = r->v2 ? dec_run2(r, r->evs, count, &n, &why) : 0;
		for (; i < count && !why; i++) {
			int skip;

			why = r->v2 ? dec_event2(r, &r->evs[n], &skip) :
				      dec_event(r, &r->evs[n], &skip);
			n += !skip;
		}
		if (why)
			return bad(r, off, "%s entry %u: %s", chunk_names[kind], i - 1, why);
		if (r->p != r->end || r->tp != r->tend)
			return bad(r, off, "%zu bytes after the last entry",
				   (size_t)(r->end - r->p) + (size_t)(r->tend - r->tp));
		r->ev_i = 0;
		r->ev_n = n;
		r->left = 0;
		return CH_OK;
	}
	for (uint32_t i = 0; i < count; i++) {
		int skip;
		const char *why = dec_entry(r, &scratch, &skip);
		if (why)
			return bad(r, off, "%s entry %u: %s", chunk_names[kind], i, why);
	}
	if (r->p != r->end || r->tp != r->tend)
		return bad(r, off, "%zu bytes after the last entry",
			   (size_t)(r->end - r->p) + (size_t)(r->tend - r->tp));
	rewind_payload(r, payload, raw_len, count);
	return CH_OK;
}

/* The magic's bytes in file order. */
static const uint8_t chunk_magic[4] = {
	CT_CHUNK_MAGIC & 0xff, (CT_CHUNK_MAGIC >> 8) & 0xff, (CT_CHUNK_MAGIC >> 16) & 0xff,
	(uint8_t)(CT_CHUNK_MAGIC >> 24),
};

/*
 * After damage: the first chunk at or after from that passes check_chunk (found by its
 * magic, read in windows of 64 KiB), made current. Returns CH_OK with *c, CH_END when there
 * is none, CH_IO on a read error.
 */
static int resync(struct ct_reader *r, uint64_t from, struct chunk *c)
{
	for (;;) {
		const uint8_t *w;
		ssize_t n = fetch(r, from, 65536, &w);
		uint64_t avail;

		if (n < 0)
			return io_error(r, from, (int)-n), CH_IO;
		if (n < (ssize_t)sizeof(chunk_magic))
			return CH_END;
		const uint8_t *m = memmem(w, (size_t)n, chunk_magic, sizeof(chunk_magic));
		if (!m) {
			from += (uint64_t)n - (sizeof(chunk_magic) - 1);
			continue;
		}
		uint64_t at = from + (uint64_t)(m - w);
		int k = check_chunk(r, at, c, &avail);
		if (k == CH_OK || k == CH_IO)
			return k;
		from = at + 1;
	}
}

/* Counts a damaged stretch that starts at off (its message kept when it is the first). */
static void damaged(struct ct_reader *r, uint64_t off)
{
	if (r->damaged++ == 0) {
		snprintf(r->damage, sizeof(r->damage), "%s", r->err);
		r->damage_off = off;
	}
	r->err[0] = 0;
	r->since_damage = 1;
}

/*
 * Reads, checks and decodes the chunk at r->pos and makes it current. Returns 1 when a
 * chunk is ready, 0 at the end of the input (clean or truncated: r->truncated says), -1
 * on corruption or I/O error (r->err set). With skip_damaged, corruption is skipped up to
 * the next good chunk (counted in r->damaged), and a chunk the generation rules reject is
 * dropped: after damage, it belongs to a generation whose beginning was lost.
 */
static int load_chunk(struct ct_reader *r)
{
	for (;;) {
		uint64_t off = r->pos, avail = 0;
		struct chunk c;
		int k = check_chunk(r, off, &c, &avail);

		if (k == CH_END)
			return 0;
		if (k == CH_IO)
			return -1;
		if (k == CH_BAD && !r->skip_damaged) {
			r->state = FAILED;
			return -1;
		}
		if (k == CH_BAD || k == CH_PART) {
			/* nothing of the bad chunk is handed out, even after ct_reader_resume
			 * (its cursor may point into a buffer the search below reallocates) */
			r->left = 0;
			int s = r->skip_damaged ? resync(r, off + 1, &c) : CH_END;

			if (s == CH_IO)
				return -1;
			if (s == CH_END && k == CH_PART) {
				/* nothing good follows: the file was cut there */
				r->err[0] = 0;
				r->truncated = 1;
				r->trailing = avail;
				return 0;
			}
			damaged(r, off);
			if (s == CH_END)
				return 0;
		}
		r->pos = c.off + c.total;
		if (c.kind >= CT_CH_MAX)
			continue;

		/* Generation rules: chunks of generation g lie between GEN_BEGIN g and
		 * GEN_END g, and generation numbers increase through the file. */
		const char *why = NULL;
		char msg[96];
		if (c.kind == CT_CH_GEN_BEGIN) {
			if (r->any_gen && c.gen <= r->last_gen) {
				snprintf(msg, sizeof(msg), "generation %u after generation %u", c.gen,
					 r->last_gen);
				why = msg;
			} else if (r->gen_open && !r->skip_damaged) {
				snprintf(msg, sizeof(msg), "generation %u begins inside generation %u",
					 c.gen, r->open_gen);
				why = msg;
			} else if (r->gen_open && !r->since_damage) {
				/* its GEN_END is missing: counted, and the generation closed */
				bad(r, c.off, "generation %u begins inside generation %u", c.gen,
				    r->open_gen);
				damaged(r, c.off);
			}
		} else if (!r->gen_open || c.gen != r->open_gen) {
			snprintf(msg, sizeof(msg), "%s chunk of generation %u outside it",
				 chunk_names[c.kind], c.gen);
			why = msg;
		}
		if (why) {
			bad(r, c.off, "%s", why);
			if (!r->skip_damaged) {
				r->state = FAILED;
				return -1;
			}
			if (r->since_damage)
				r->err[0] = 0; /* part of a generation already lost */
			else
				damaged(r, c.off);
			r->left = 0;
			r->ev_i = r->ev_n = 0;
			continue;
		}

		if (c.kind == CT_CH_GEN_BEGIN) {
			r->gen_open = 1;
			r->any_gen = 1;
			r->open_gen = c.gen;
			r->last_gen = c.gen;
			r->since_damage = 0;
		} else if (c.kind == CT_CH_GEN_END) {
			r->gen_open = 0;
		}
		return 1;
	}
}

/* Makes the next chunk current: 1, or 0 at the end of the input (the reader is AT_END
 * then), or -1 (failed). */
static int advance(struct ct_reader *r)
{
	int c = load_chunk(r);

	if (c < 0)
		return -1;
	if (c == 0) {
		r->state = AT_END;
		if (r->gen_open)
			r->truncated = 1; /* the last generation never ended */
		return 0;
	}
	return 1;
}

/* Contract in reader.h. */
int ct_reader_next(struct ct_reader *r, struct ct_record *rec)
{
	if (!r || !rec)
		return -1;
	for (;;) {
		if (r->state == FAILED)
			return -1;
		if (r->state == AT_END)
			return 0;
		if (r->ev_i < r->ev_n) { /* a chunk decoded once */
			rec->type = CT_REC_EVENT;
			rec->gen = r->gen;
			rec->offset = r->chunk_off;
			rec->tid = r->tid;
			rec->ev = r->evs[r->ev_i++];
			return 1;
		}
		while (r->left > 0) {
			int skip;
			r->left--;
			/* Validated already; an error here would be a reader bug. */
			const char *why = dec_entry(r, rec, &skip);
			if (why)
				return corrupt(r, r->chunk_off, "%s", why);
			if (!skip)
				return 1;
		}
		int c = advance(r);
		if (c <= 0)
			return c;
	}
}

/* Contract in reader.h. */
int ct_reader_next_batch(struct ct_reader *r, struct ct_record *rec,
			 const struct ct_event **evs, size_t *nev)
{
	if (evs)
		*evs = NULL;
	if (nev)
		*nev = 0;
	if (!r || !rec || !evs || !nev)
		return -1;
	for (;;) {
		if (r->state == FAILED)
			return -1;
		if (r->state == AT_END)
			return 0;
		if (r->ev_i < r->ev_n) {
			rec->type = CT_REC_EVENT;
			rec->gen = r->gen;
			rec->offset = r->chunk_off;
			rec->tid = r->tid;
			*evs = r->evs + r->ev_i;
			*nev = r->ev_n - r->ev_i;
			r->ev_i = r->ev_n;
			return 1;
		}
		if (r->left > 0) { /* a chunk decoded twice: one record at a time */
			int rc = ct_reader_next(r, rec);

			if (rc == 1 && rec->type == CT_REC_EVENT) {
				*evs = &rec->ev;
				*nev = 1;
			}
			return rc;
		}
		int c = advance(r);
		if (c <= 0)
			return c;
	}
}

/* Checks and decodes the file header. Returns 0 or a negative errno, with open_err set. */
static int read_header(struct ct_reader *r)
{
	const uint8_t *h;
	ssize_t n = fetch(r, 0, 16, &h);

	if (n < 0) {
		set_open_err("cannot read the ctrace header: %s", strerror((int)-n));
		return (int)n;
	}
	if (n == 0) {
		set_open_err("not a ctrace file (empty)");
		return -EINVAL;
	}
	/* A prefix of the magic is a header cut short, anything else is not ours. */
	size_t m = (size_t)n < CT_MAGIC_LEN ? (size_t)n : CT_MAGIC_LEN;
	if (memcmp(h, CT_MAGIC, m) != 0) {
		set_open_err("not a ctrace file (bad magic at offset 0)");
		return -EINVAL;
	}
	if (n >= 12 && get_u16(h + 8) != CT_VERSION_MAJOR && get_u16(h + 8) != 1) {
		set_open_err("unsupported ctrace format version %u.%u at offset 8 "
			     "(this reader reads 1.x and %u.x)", get_u16(h + 8), get_u16(h + 10),
			     CT_VERSION_MAJOR);
		return -EPROTO;
	}
	if (n < 16) {
		set_open_err("truncated ctrace header (%zd of %d bytes)", n, CT_HEADER_LEN);
		return -EINVAL;
	}
	uint32_t hlen = get_u32(h + 12);
	if (hlen < CT_HEADER_LEN || hlen > CT_HEADER_MAX_LEN) {
		set_open_err("corrupt ctrace header: bad header length %u at offset 12", hlen);
		return -EINVAL;
	}
	n = fetch(r, 0, hlen, &h);
	if (n < 0) {
		set_open_err("cannot read the ctrace header: %s", strerror((int)-n));
		return (int)n;
	}
	if ((size_t)n < hlen) {
		set_open_err("truncated ctrace header (%zd of %u bytes)", n, hlen);
		return -EINVAL;
	}
	if (ct_crc32(0, h, hlen - 4) != get_u32(h + hlen - 4)) {
		set_open_err("corrupt ctrace header: checksum mismatch at offset %u", hlen - 4);
		return -EINVAL;
	}
	struct ct_file_header *fh = &r->hdr;
	fh->version_major = get_u16(h + 8);
	fh->version_minor = get_u16(h + 10);
	r->v2 = fh->version_major == CT_VERSION_MAJOR;
	fh->pid = get_u32(h + 16);
	fh->ppid = get_u32(h + 20);
	fh->start_mono_ns = get_u64(h + 24);
	fh->start_real_ns = get_u64(h + 32);
	fh->flags = get_u32(h + 40);
	memcpy(fh->exe, h + 48, sizeof(fh->exe));
	fh->exe[sizeof(fh->exe) - 1] = 0;
	r->pos = hlen;
	return 0;
}

static int open_common(struct ct_reader *r, struct ct_reader **out)
{
	int e = read_header(r);
	if (e) {
		ct_reader_close(r);
		return e;
	}
	*out = r;
	return 0;
}

/* Contract in reader.h. The file stays open (O_CLOEXEC) until ct_reader_close. */
int ct_reader_open(const char *path, struct ct_reader **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path) {
		set_open_err("no trace file given");
		return -EINVAL;
	}
	struct ct_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		set_open_err("out of memory");
		return -ENOMEM;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = errno;
		set_open_err("cannot open %s: %s", path, strerror(e));
		free(r);
		return -e;
	}
	return open_common(r, out);
}

/* Contract in reader.h. */
int ct_reader_open_mem(const void *buf, size_t len, struct ct_reader **out)
{
	static const uint8_t empty[1];

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!buf && len) {
		set_open_err("no trace buffer given");
		return -EINVAL;
	}
	struct ct_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		set_open_err("out of memory");
		return -ENOMEM;
	}
	r->fd = -1;
	r->mem = buf ? buf : empty;
	r->mem_len = buf ? len : 0;
	return open_common(r, out);
}

/* Contract in reader.h: this thread's last open failure, never NULL. */
const char *ct_reader_open_error(void)
{
	return open_err;
}

/* The decoded file header; valid until ct_reader_close. */
const struct ct_file_header *ct_reader_header(const struct ct_reader *r)
{
	return &r->hdr;
}

/* The one-line message of the last failure, or "" when there was none. */
const char *ct_reader_error(const struct ct_reader *r)
{
	return r ? r->err : "no reader";
}

/* Contract in reader.h. Meaningful once ct_reader_next returned 0. */
int ct_reader_truncated(const struct ct_reader *r)
{
	return r ? r->truncated : 0;
}

/* Contract in reader.h: bytes of the incomplete trailing chunk, 0 when there is none. */
uint64_t ct_reader_trailing_bytes(const struct ct_reader *r)
{
	return r ? r->trailing : 0;
}

/* Contract in reader.h: a file being written is read on from the end of its last complete
 * chunk (pos stays there while a chunk is incomplete). */
int ct_reader_resume(struct ct_reader *r)
{
	if (!r || r->fd < 0 || r->state != AT_END)
		return -1;
	r->state = RUNNING;
	r->truncated = 0;
	r->trailing = 0;
	return 0;
}

/* Contract in reader.h. */
void ct_reader_skip_damaged(struct ct_reader *r, int on)
{
	if (r)
		r->skip_damaged = !!on;
}

/* Contract in reader.h. */
uint64_t ct_reader_damaged(const struct ct_reader *r)
{
	return r ? r->damaged : 0;
}

/* Contract in reader.h. */
const char *ct_reader_damage(const struct ct_reader *r, uint64_t *off)
{
	if (off)
		*off = r ? r->damage_off : 0;
	return r ? r->damage : "";
}

/* Frees the reader and closes its file. NULL is ignored. */
void ct_reader_close(struct ct_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->cbuf);
	free(r->dbuf);
	free(r->evs);
	free(r);
}
