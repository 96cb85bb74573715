/* SPDX-License-Identifier: MIT */
/*
 * Chunk encoders of the trace format (FORMAT.md): each ct_w_* function serialises one kind
 * of recorder data into the caller's raw scratch buffer (LEB128 varints, deltas), then
 * compresses it with an LZ4 block (or stores it raw when LZ4 does not shrink it) behind a
 * checksummed 36-byte chunk header.
 *
 * Linked into libctrace.so (the preload writer thread, fatal-signal flush) and into ctrace
 * and the unit tests. No malloc, no locks, no global state: every byte goes to the buffers
 * of struct ct_wbuf, LZ4's state included (ct_wbuf.lz4_state, given by the caller), so an
 * encoder needs well under 1 KiB of stack. Without a state LZ4_compress_default keeps its
 * ~16 KiB state on the stack (LZ4_HEAPMODE 0): fine for ctrace, not for the preload.
 */
#include <errno.h>
#include <string.h>

#include <lz4.h>

#include "writer.h"

/* Payloads shorter than this are stored raw without trying LZ4 (it cannot win). */
#define MIN_COMPRESS 32

size_t ct_w_lz4_state_size(void)
{
	return (size_t)LZ4_sizeofState();
}

/* ---- little-endian and varint primitives (bounds are checked by the callers). */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A bounded output cursor: once a write would pass end, ok drops to 0 and stays there. */
struct out {
	uint8_t *p, *end;
	int ok;
};

static void put_byte(struct out *o, uint8_t v)
{
	if (o->p >= o->end) {
		o->ok = 0;
		return;
	}
	*o->p++ = v;
}

/* Unsigned LEB128: 7 bits per byte, low group first, high bit = more bytes follow. */
static void put_var(struct out *o, uint64_t v)
{
	while (v >= 0x80) {
		put_byte(o, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put_byte(o, (uint8_t)v);
}

/* A 64-bit difference as zig-zag LEB128: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ... The subtraction
 * that produced d wraps modulo 2^64, so every pair of u64 values round-trips exactly. */
static void put_delta(struct out *o, uint64_t d)
{
	put_var(o, (d << 1) ^ (uint64_t)(-(int64_t)(d >> 63)));
}

static void put_bytes(struct out *o, const void *b, size_t n)
{
	if ((size_t)(o->end - o->p) < n) {
		o->ok = 0;
		return;
	}
	if (n)
		memcpy(o->p, b, n);
	o->p += n;
}

/* ---- chunk framing */

static int wbuf_ok(const struct ct_wbuf *w)
{
	return w && w->raw && w->out && w->out_cap >= CT_CHUNK_HDR_LEN;
}

static struct out raw_cursor(const struct ct_wbuf *w)
{
	size_t cap = w->raw_cap < CT_CHUNK_MAX_RAW ? w->raw_cap : CT_CHUNK_MAX_RAW;
	struct out o = { w->raw, w->raw + cap, 1 };
	return o;
}

/*
 * Frames the payload encoded in w->raw (up to o->p) as one chunk in w->out. LZ4 gets at
 * most raw_len - 1 bytes of output room, so it either shrinks the payload or fails and the
 * payload is stored raw. Returns the chunk length or -ENOSPC.
 */
static ssize_t finish(struct ct_wbuf *w, const struct out *o, unsigned kind, uint32_t gen,
		      uint32_t tid, uint32_t seq, uint32_t count)
{
	if (!o->ok)
		return -ENOSPC; /* raw_cap too small, or the payload would pass CT_CHUNK_MAX_RAW */
	size_t raw_len = (size_t)(o->p - w->raw);
	size_t room = w->out_cap - CT_CHUNK_HDR_LEN;
	uint8_t *hdr = w->out, *pay = w->out + CT_CHUNK_HDR_LEN;
	unsigned codec = CT_CODEC_RAW;
	size_t comp_len = raw_len;

	if (raw_len >= MIN_COMPRESS) {
		size_t lim = raw_len - 1 < room ? raw_len - 1 : room;
		int n = w->lz4_state ?
			LZ4_compress_fast_extState(w->lz4_state, (const char *)w->raw,
						   (char *)pay, (int)raw_len, (int)lim, 1) :
			LZ4_compress_default((const char *)w->raw, (char *)pay, (int)raw_len,
					     (int)lim);
		if (n > 0 && (size_t)n < raw_len) {
			codec = CT_CODEC_LZ4;
			comp_len = (size_t)n;
		}
	}
	if (codec == CT_CODEC_RAW) {
		if (room < raw_len)
			return -ENOSPC;
		memcpy(pay, w->raw, raw_len);
	}

	put_u32(hdr + 0, CT_CHUNK_MAGIC);
	hdr[4] = (uint8_t)kind;
	hdr[5] = (uint8_t)codec;
	put_u16(hdr + 6, 0); /* flags: reserved */
	put_u32(hdr + 8, gen);
	put_u32(hdr + 12, tid);
	put_u32(hdr + 16, seq);
	put_u32(hdr + 20, count);
	put_u32(hdr + 24, (uint32_t)raw_len);
	put_u32(hdr + 28, (uint32_t)comp_len);
	/* The checksum covers the header's first 32 bytes and the stored payload, so a
	 * damaged length, kind or generation is caught as surely as a damaged payload. */
	uint32_t crc = ct_crc32(0, hdr, 32);
	crc = ct_crc32(crc, pay, comp_len);
	put_u32(hdr + 32, crc);
	return (ssize_t)(CT_CHUNK_HDR_LEN + comp_len);
}

/* Contract in writer.h: n events need at most n * CT_W_EVENT_MAX raw bytes, and the
 * gap left for the field stream's length while it is encoded. */
size_t ct_w_raw_bound(size_t n_events)
{
	return n_events * CT_W_EVENT_MAX + CT_W_LEN_GAP;
}

/* Contract in writer.h: header plus the stored payload, which is never longer than raw. */
size_t ct_w_out_bound(size_t raw_len)
{
	return CT_CHUNK_HDR_LEN + raw_len;
}

/* Contract in writer.h. The version written is always this build's CT_VERSION_*;
 * h->version_* are ignored. exe is cut to 63 bytes and NUL-padded. */
ssize_t ct_w_header(uint8_t *out, size_t cap, const struct ct_file_header *h)
{
	if (!out || !h)
		return -EINVAL;
	if (cap < CT_HEADER_LEN)
		return -ENOSPC;
	memset(out, 0, CT_HEADER_LEN);
	memcpy(out, CT_MAGIC, CT_MAGIC_LEN);
	put_u16(out + 8, CT_VERSION_MAJOR);
	put_u16(out + 10, CT_VERSION_MINOR);
	put_u32(out + 12, CT_HEADER_LEN);
	put_u32(out + 16, h->pid);
	put_u32(out + 20, h->ppid);
	put_u64(out + 24, h->start_mono_ns);
	put_u64(out + 32, h->start_real_ns);
	put_u32(out + 40, h->flags);
	/* 44..47 reserved, zero */
	memcpy(out + 48, h->exe, strnlen(h->exe, sizeof(h->exe) - 1));
	/* 112..123 reserved, zero; the checksum covers everything before it */
	put_u32(out + CT_HEADER_LEN - 4, ct_crc32(0, out, CT_HEADER_LEN - 4));
	return CT_HEADER_LEN;
}

/* Contract in writer.h. Payload: mono_ns, real_ns as varints. */
ssize_t ct_w_gen_begin(struct ct_wbuf *w, uint32_t gen, uint64_t mono_ns, uint64_t real_ns)
{
	if (!wbuf_ok(w))
		return -EINVAL;
	struct out o = raw_cursor(w);
	put_var(&o, mono_ns);
	put_var(&o, real_ns);
	return finish(w, &o, CT_CH_GEN_BEGIN, gen, 0, 0, 1);
}

/* Contract in writer.h. -EINVAL for an event whose type or kind a reader would refuse
 * (type 0 or >= CT_EV_MAX, kind >= CT_K_MAX). Payload layout in FORMAT.md section 5.2:
 * the length of the field stream, the field stream (type, mask, the fields that differ
 * from the previous event of the same type class), then the timestamp stream. The two
 * passes write into w->raw only; the field stream is moved once, behind its length. */
ssize_t ct_w_events(struct ct_wbuf *w, uint32_t gen, uint32_t tid, uint32_t seq,
		    const struct ct_event *ev, size_t n)
{
	if (!wbuf_ok(w) || (n && !ev) || n > UINT32_MAX)
		return -EINVAL;
	struct out o = raw_cursor(w);
	if (n == 0)
		return finish(w, &o, CT_CH_EVENTS, gen, tid, seq, 0);
	struct ct_ev_pred pred[CT_EV_PRED_SLOTS];
	memset(pred, 0, sizeof(pred));

	/* the field stream, CT_W_LEN_GAP bytes in: room for its own length before it */
	o.p += CT_W_LEN_GAP;
	if (o.p > o.end)
		return -ENOSPC;
	for (size_t i = 0; i < n && o.ok; i++) {
		const struct ct_event *e = &ev[i];
		if (e->type == CT_EV_NONE || e->type >= CT_EV_MAX || e->kind >= CT_K_MAX)
			return -EINVAL;
		struct ct_ev_pred *q = &pred[e->type % CT_EV_PRED_SLOTS];
		unsigned mask = (e->kind != q->kind ? CT_EVM_KIND : 0) |
				(e->flags != q->flags ? CT_EVM_FLAGS : 0) |
				(e->stack != q->stack ? CT_EVM_STACK : 0) |
				(e->obj != q->obj ? CT_EVM_OBJ : 0) |
				(e->a != q->a ? CT_EVM_A : 0) | (e->b != q->b ? CT_EVM_B : 0) |
				(e->c != q->c ? CT_EVM_C : 0);
		put_byte(&o, e->type);
		put_byte(&o, (uint8_t)mask);
		if (mask & CT_EVM_KIND)
			put_byte(&o, e->kind);
		if (mask & CT_EVM_FLAGS)
			put_var(&o, e->flags);
		if (mask & CT_EVM_STACK)
			put_var(&o, e->stack);
		if (mask & CT_EVM_OBJ)
			put_delta(&o, e->obj - q->obj);
		if (mask & CT_EVM_A)
			put_delta(&o, e->a - q->a);
		if (mask & CT_EVM_B)
			put_delta(&o, e->b - q->b);
		if (mask & CT_EVM_C)
			put_delta(&o, e->c - q->c);
		q->kind = e->kind;
		q->flags = e->flags;
		q->stack = e->stack;
		q->obj = e->obj;
		q->a = e->a;
		q->b = e->b;
		q->c = e->c;
	}
	if (!o.ok)
		return -ENOSPC;
	/* its length, right before it */
	size_t flen = (size_t)(o.p - w->raw) - CT_W_LEN_GAP;
	uint8_t len[CT_W_LEN_GAP];
	struct out lo = { len, len + sizeof(len), 1 };
	put_var(&lo, flen);
	size_t llen = (size_t)(lo.p - len);
	memmove(w->raw + llen, w->raw + CT_W_LEN_GAP, flen);
	memcpy(w->raw, len, llen);
	o.p = w->raw + llen + flen;

	/* the timestamp stream */
	uint64_t prev_ts = 0;
	for (size_t i = 0; i < n && o.ok; i++) {
		put_delta(&o, ev[i].ts - prev_ts);
		prev_ts = ev[i].ts;
	}
	return finish(w, &o, CT_CH_EVENTS, gen, tid, seq, (uint32_t)n);
}

/* Contract in writer.h. -EINVAL for id 0 (means "no stack"), nframes > CT_MAX_FRAMES or
 * missing pcs. Entry: id, nframes, flags, pcs[0], then zig-zag deltas pcs[i] - pcs[i-1]. */
ssize_t ct_w_stacks(struct ct_wbuf *w, uint32_t gen, const struct ct_stack *st, size_t n)
{
	if (!wbuf_ok(w) || (n && !st) || n > UINT32_MAX)
		return -EINVAL;
	struct out o = raw_cursor(w);

	for (size_t i = 0; i < n && o.ok; i++) {
		const struct ct_stack *s = &st[i];
		if (s->id == 0 || s->nframes > CT_MAX_FRAMES || (s->nframes && !s->pcs))
			return -EINVAL;
		put_var(&o, s->id);
		put_var(&o, s->nframes);
		put_var(&o, s->flags);
		uint64_t prev = 0;
		for (unsigned f = 0; f < s->nframes; f++) {
			put_delta(&o, s->pcs[f] - prev);
			prev = s->pcs[f];
		}
	}
	return finish(w, &o, CT_CH_STACKS, gen, 0, 0, (uint32_t)n);
}

/* Contract in writer.h. -EINVAL for hi < lo, build_id_len > CT_BUILD_ID_MAX, is_main > 1
 * or a path longer than CT_PATH_MAX bytes; a NULL path is written as "". */
ssize_t ct_w_modules(struct ct_wbuf *w, uint32_t gen, const struct ct_module *m, size_t n)
{
	if (!wbuf_ok(w) || (n && !m) || n > UINT32_MAX)
		return -EINVAL;
	struct out o = raw_cursor(w);

	for (size_t i = 0; i < n && o.ok; i++) {
		const struct ct_module *md = &m[i];
		size_t plen = md->path ? strnlen(md->path, CT_PATH_MAX + 1) : 0;
		if (md->hi < md->lo || md->build_id_len > CT_BUILD_ID_MAX || md->is_main > 1 ||
		    plen > CT_PATH_MAX)
			return -EINVAL;
		put_var(&o, md->bias);
		put_var(&o, md->lo);
		put_var(&o, md->hi - md->lo);
		put_byte(&o, md->build_id_len);
		put_bytes(&o, md->build_id, md->build_id_len);
		put_byte(&o, md->is_main);
		put_var(&o, plen);
		put_bytes(&o, md->path, plen);
	}
	return finish(w, &o, CT_CH_MODULES, gen, 0, 0, (uint32_t)n);
}

/* Contract in writer.h. -EINVAL for kind >= CT_K_MAX; blocked is written as 0 or 1; the
 * name is taken up to its first NUL or CT_NAME_LEN bytes. */
ssize_t ct_w_threads(struct ct_wbuf *w, uint32_t gen, const struct ct_thread_state *t,
		     size_t n)
{
	if (!wbuf_ok(w) || (n && !t) || n > UINT32_MAX)
		return -EINVAL;
	struct out o = raw_cursor(w);

	for (size_t i = 0; i < n && o.ok; i++) {
		const struct ct_thread_state *th = &t[i];
		size_t nlen = strnlen(th->name, CT_NAME_LEN);
		if (th->kind >= CT_K_MAX)
			return -EINVAL;
		put_var(&o, th->tid);
		put_var(&o, th->parent_tid);
		put_var(&o, th->start_func);
		put_byte(&o, (uint8_t)nlen);
		put_bytes(&o, th->name, nlen);
		put_byte(&o, th->blocked ? 1 : 0);
		put_byte(&o, th->kind);
		put_var(&o, th->obj);
		put_var(&o, th->since);
		put_var(&o, th->cpu_ns);
		put_var(&o, th->runq_ns);
	}
	return finish(w, &o, CT_CH_THREADS, gen, 0, 0, (uint32_t)n);
}

/* Contract in writer.h. lost may be NULL (all zero). Payload: end_ns, CT_L_MAX + 1,
 * lost[], untraced. */
ssize_t ct_w_gen_end_untraced(struct ct_wbuf *w, uint32_t gen, uint64_t end_ns,
			      const uint64_t lost[CT_L_MAX], uint64_t untraced)
{
	if (!wbuf_ok(w))
		return -EINVAL;
	struct out o = raw_cursor(w);
	put_var(&o, end_ns);
	put_var(&o, CT_L_MAX + 1);
	for (unsigned i = 0; i < CT_L_MAX; i++)
		put_var(&o, lost ? lost[i] : 0);
	put_var(&o, untraced);
	return finish(w, &o, CT_CH_GEN_END, gen, 0, 0, 1);
}

ssize_t ct_w_gen_end(struct ct_wbuf *w, uint32_t gen, uint64_t end_ns,
		     const uint64_t lost[CT_L_MAX])
{
	return ct_w_gen_end_untraced(w, gen, end_ns, lost, 0);
}
