/* SPDX-License-Identifier: MIT */
/*
 * A minimal protocol-buffers encoder for the exporters (pprof's profile.proto, Perfetto's
 * Trace): varint, zigzag-free signed varint, fixed64, length-delimited fields and nested
 * messages, appended to a growable byte buffer. A nested message reserves a 4-byte
 * length (a non-minimal varint, valid protobuf, as Perfetto's own writer does) that
 * ct_pb_end patches, so a message is written in one pass. Used by analyze/ only; exits on
 * out-of-memory.
 */
#ifndef CTRACE_PB_H
#define CTRACE_PB_H

#include <stddef.h>
#include <stdint.h>

struct ct_pb {
	uint8_t *p;
	size_t n, cap;
};

/* Wire types. */
enum { CT_PB_VARINT = 0, CT_PB_I64 = 1, CT_PB_LEN = 2 };

/* Largest nested message ct_pb_begin/end can frame (4 bytes of 7 bits). */
#define CT_PB_NESTED_MAX ((1u << 28) - 1)

void ct_pb_free(struct ct_pb *b);
/* Empties the buffer (keeps its memory). */
static inline void ct_pb_reset(struct ct_pb *b) { b->n = 0; }

/* A bare varint (for packed repeated fields). */
void ct_pb_varint(struct ct_pb *b, uint64_t v);
/* Field number `field` as a varint: uint32/uint64/bool/enum; int64 as its two's
 * complement (negative values take 10 bytes, as protobuf encodes them). */
void ct_pb_uint(struct ct_pb *b, unsigned field, uint64_t v);
void ct_pb_int(struct ct_pb *b, unsigned field, int64_t v);
void ct_pb_fixed64(struct ct_pb *b, unsigned field, uint64_t v);
/* Length-delimited: bytes, and a NUL-terminated string (NULL writes ""). */
void ct_pb_bytes(struct ct_pb *b, unsigned field, const void *p, size_t n);
void ct_pb_str(struct ct_pb *b, unsigned field, const char *s);
/* A nested message (or packed repeated field): returns a mark for ct_pb_end, which
 * writes its length. Marks nest. A message longer than CT_PB_NESTED_MAX aborts. */
size_t ct_pb_begin(struct ct_pb *b, unsigned field);
void ct_pb_end(struct ct_pb *b, size_t mark);

#endif
