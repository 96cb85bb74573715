/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 (the zlib/PNG/Ethernet one) for the trace format's header and chunk checksums:
 * zlib's crc32_z, which is several times faster than a byte-at-a-time table (it works on
 * words), behind the format's own name so the reader and writer do not depend on zlib's
 * types. libz is on every Debian system (Priority: required). The unit tests check it
 * against the standard check value.
 */
#include <zlib.h>

#include "ctrace_format.h"

/* Contract in ctrace_format.h: zlib-compatible, chainable, no state, cannot fail. */
uint32_t ct_crc32(uint32_t crc, const void *buf, size_t len)
{
	return (uint32_t)crc32_z(crc, buf, len);
}
