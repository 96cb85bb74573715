/* SPDX-License-Identifier: MIT */
/*
 * Implementation of pb.h: appends protobuf wire-format fields to a growable buffer.
 */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void ct_pb_free(struct ct_pb *b)
{
	free(b->p);
	*b = (struct ct_pb){ 0 };
}

static void need(struct ct_pb *b, size_t more)
{
	if (b->n + more > b->cap)
		ct_grow(&b->p, &b->cap, b->n + more, 1);
}

void ct_pb_varint(struct ct_pb *b, uint64_t v)
{
	need(b, 10);
	while (v >= 0x80) {
		b->p[b->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->n++] = (uint8_t)v;
}

static void tag(struct ct_pb *b, unsigned field, unsigned wire)
{
	ct_pb_varint(b, ((uint64_t)field << 3) | wire);
}

void ct_pb_uint(struct ct_pb *b, unsigned field, uint64_t v)
{
	tag(b, field, CT_PB_VARINT);
	ct_pb_varint(b, v);
}

void ct_pb_int(struct ct_pb *b, unsigned field, int64_t v)
{
	ct_pb_uint(b, field, (uint64_t)v);
}

void ct_pb_fixed64(struct ct_pb *b, unsigned field, uint64_t v)
{
	tag(b, field, CT_PB_I64);
	need(b, 8);
	for (int i = 0; i < 8; i++)
		b->p[b->n++] = (uint8_t)(v >> (8 * i));
}

void ct_pb_bytes(struct ct_pb *b, unsigned field, const void *p, size_t n)
{
	tag(b, field, CT_PB_LEN);
	ct_pb_varint(b, n);
	need(b, n);
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

void ct_pb_str(struct ct_pb *b, unsigned field, const char *s)
{
	ct_pb_bytes(b, field, s ? s : "", s ? strlen(s) : 0);
}

size_t ct_pb_begin(struct ct_pb *b, unsigned field)
{
	size_t mark;

	tag(b, field, CT_PB_LEN);
	need(b, 4);
	mark = b->n;
	b->n += 4;
	return mark;
}

void ct_pb_end(struct ct_pb *b, size_t mark)
{
	size_t len = b->n - mark - 4;

	if (len > CT_PB_NESTED_MAX)
		abort();
	for (int i = 0; i < 4; i++)
		b->p[mark + (size_t)i] = (uint8_t)(((len >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0));
}
