/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of analyze/pb.c, the protobuf encoder of the pprof and Perfetto exports:
 * the bytes of varints (edges of every length), signed values, fixed64, strings, and
 * nested messages framed by a 4-byte non-minimal length that decodes to the payload's.
 */
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "../../analyze/pb.h"

static int same(const struct ct_pb *b, const uint8_t *want, size_t n)
{
	return b->n == n && memcmp(b->p, want, n) == 0;
}

/* Decodes the varint at p (at most 10 bytes), setting *len to its size. */
static uint64_t decode(const uint8_t *p, size_t *len)
{
	uint64_t v = 0;
	size_t i = 0;

	do {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
	} while (p[i++] & 0x80 && i < 10);
	*len = i;
	return v;
}

int main(void)
{
	struct ct_pb b = { 0 };
	static const uint64_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384, (1ull << 28) - 1,
					 1ull << 35, UINT64_MAX };
	static const size_t lens[] = { 1, 1, 1, 2, 2, 2, 3, 4, 6, 10 };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n;

		ct_pb_reset(&b);
		ct_pb_varint(&b, vals[i]);
		TEST_EQ(b.n, lens[i]);
		TAP_OK(decode(b.p, &n) == vals[i] && n == b.n, "varint %" PRIu64 " round-trips", vals[i]);
	}
	ct_pb_reset(&b);
	ct_pb_varint(&b, 300);
	TAP_OK(same(&b, (const uint8_t[]){ 0xac, 0x02 }, 2), "300 is ac 02");

	/* field 1 varint 150: 08 96 01 (the protobuf documentation's example) */
	ct_pb_reset(&b);
	ct_pb_uint(&b, 1, 150);
	TAP_OK(same(&b, (const uint8_t[]){ 0x08, 0x96, 0x01 }, 3), "field 1 = 150");

	/* int64 -1: ten bytes, two's complement */
	ct_pb_reset(&b);
	ct_pb_int(&b, 2, -1);
	TEST_EQ(b.n, 11);
	TEST_EQ(b.p[0], 0x10);
	TEST_EQ(b.p[10], 0x01);

	/* fixed64 field 47 (a Perfetto flow id): tag 47 << 3 | 1 = 0x179 -> f9 02 */
	ct_pb_reset(&b);
	ct_pb_fixed64(&b, 47, 0x0102030405060708ull);
	TAP_OK(same(&b, (const uint8_t[]){ 0xf9, 0x02, 8, 7, 6, 5, 4, 3, 2, 1 }, 10),
	       "fixed64 little-endian");

	/* string field 2 "testing": 12 07 74 65 73 74 69 6e 67 */
	ct_pb_reset(&b);
	ct_pb_str(&b, 2, "testing");
	TAP_OK(same(&b, (const uint8_t[]){ 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g' }, 9),
	       "string field");
	ct_pb_reset(&b);
	ct_pb_str(&b, 6, NULL);
	TAP_OK(same(&b, (const uint8_t[]){ 0x32, 0x00 }, 2), "NULL string is empty");

	/* nested: field 3 { field 1 = 150 } with a 4-byte length 3 */
	ct_pb_reset(&b);
	size_t mk = ct_pb_begin(&b, 3);
	ct_pb_uint(&b, 1, 150);
	ct_pb_end(&b, mk);
	TAP_OK(same(&b, (const uint8_t[]){ 0x1a, 0x83, 0x80, 0x80, 0x00, 0x08, 0x96, 0x01 }, 8),
	       "nested message with a padded length");

	/* nesting two deep, with a payload longer than one length byte holds */
	ct_pb_reset(&b);
	size_t outer = ct_pb_begin(&b, 1);
	size_t inner = ct_pb_begin(&b, 2);
	char big[1000];

	memset(big, 'x', sizeof(big));
	ct_pb_bytes(&b, 3, big, sizeof(big));
	ct_pb_end(&b, inner);
	ct_pb_end(&b, outer);
	{
		size_t n, n2;
		uint64_t len_outer = decode(b.p + 1, &n);
		uint64_t len_inner = decode(b.p + 1 + n + 1, &n2);

		TEST_EQ(n, 4);
		TEST_EQ(n2, 4);
		TEST_EQ(len_outer, b.n - 5);
		TEST_EQ(len_inner, b.n - 10);
		TEST_EQ(len_inner, 1 + 2 + 1000);
	}
	ct_pb_free(&b);
	TEST_TRUE(b.p == NULL && b.n == 0);
	return tap_done();
}
