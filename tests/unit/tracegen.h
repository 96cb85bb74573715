/* SPDX-License-Identifier: MIT */
/*
 * The synthetic-trace helpers the unit tests share: a trace file built in memory with
 * format/writer.h (file[0..flen), each chunk appended by put()), written to a temporary
 * file by tg_write_tmp(), and the shorthand for the events the tests write most, through
 * format/events.h's constructors. Times are in ns from T0. One copy per test program
 * (static state): include it in one .c file only.
 */
#ifndef CTRACE_TRACEGEN_H
#define CTRACE_TRACEGEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../format/events.h"
#include "../../format/writer.h"

#define T0 1000000000ull
#define MS 1000000ull
#define US 1000ull

static uint8_t tg_raw[1 << 16], tg_out[1 << 17];
static struct ct_wbuf wb = { tg_raw, sizeof(tg_raw), tg_out, sizeof(tg_out), NULL };
static uint8_t file[1 << 18];
static size_t flen;

/* Appends the chunk the writer just encoded (n bytes, or a negative errno) to file;
 * bails out of the test program when it fails or does not fit. */
static inline void put(ssize_t n)
{
	if (n < 0 || flen + (size_t)n > sizeof(file)) {
		printf("Bail out! writer failed: %zd\n", n);
		exit(1);
	}
	memcpy(file + flen, wb.out, (size_t)n);
	flen += (size_t)n;
}

/* Starts file with the header h. */
static inline void tg_begin(const struct ct_file_header *h)
{
	flen = 0;
	if (ct_w_header(file, sizeof(file), h) != CT_HEADER_LEN) {
		printf("Bail out! header\n");
		exit(1);
	}
	flen = CT_HEADER_LEN;
}

/* Writes file to a new temporary file named by path (a mkstemp template). 0 or -1. */
static inline int tg_write_tmp(char *path)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	if (write(fd, file, flen) != (ssize_t)flen) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* A wait's begin (owner: a mutex's holder, seq: the object's sequence number then), its
 * end (acquired, at sequence number seq), a release (seq after it, flags fl). */
#define WB(ts, kind, stack, obj, owner, seq) \
	ct_ev_wait_begin(ts, kind, 0, stack, obj, owner, seq, 0)
#define WE(ts, kind, obj, seq) ct_ev_wait_end(ts, kind, obj, seq, CT_R_ACQUIRED, 0)
#define REL(ts, kind, stack, obj, seq, fl) ct_ev_release(ts, kind, fl, stack, obj, seq, 1)

#endif
