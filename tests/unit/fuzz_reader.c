/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the trace reader (format/reader.c): opens the input with
 * ct_reader_open_mem and reads every record; then, when the input opens, streams it
 * through every analysis (analyze/analysis.h ct_analyze_file, from a memfd), with the
 * reading thread when bit 2 of the first byte is set. Not built by default (the
 * unit-test wildcard is test_*.c). `make fuzz` builds and runs it; by hand:
 *
 *   make build/fuzz/fuzz_reader   (the analyses' files: FUZZ_ANALYZE in the Makefile)
 *   build/fuzz/fuzz_reader -max_total_time=60 [corpus-dir]
 *
 * The first input byte selects helpers that get the fuzzer past the checksums, which it
 * would almost never satisfy by mutation alone: bit 0 puts a valid file header in front
 * of the rest of the input, bit 1 recomputes the header and every chunk checksum. The
 * records are read twice, failing at the first damage and skipping damage
 * (ct_reader_skip_damaged), each time also a chunk's events at once (ct_reader_next_batch,
 * which must give as many events and end the same way); the analysis skips it too, or fails at it when bit 3 is set
 * (--strict). Any crash, leak, hang, sanitizer report, a -1 without a byte offset or a -1
 * while skipping damage is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include "../../analyze/analysis.h"
#include "../../analyze/model.h"
#include "../../format/reader.h"
#include "../../format/writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned j = 0; j < 4; j++)
		p[j] = (uint8_t)(v >> (8 * j));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Recomputes the file header's and each chunk's checksum, as FORMAT.md defines them. */
static void fix_checksums(uint8_t *b, size_t len)
{
	if (len < CT_HEADER_LEN)
		return;
	uint32_t hlen = get32(b + 12);
	if (hlen < CT_HEADER_LEN || hlen > CT_HEADER_MAX_LEN || hlen > len)
		hlen = CT_HEADER_LEN;
	put32(b + hlen - 4, ct_crc32(0, b, hlen - 4));
	for (size_t off = hlen; off + CT_CHUNK_HDR_LEN <= len;) {
		uint32_t comp = get32(b + off + 28);
		if (comp > len - off - CT_CHUNK_HDR_LEN)
			break;
		put32(b + off + 32,
		      ct_crc32(ct_crc32(0, b + off, 32), b + off + CT_CHUNK_HDR_LEN, comp));
		off += CT_CHUNK_HDR_LEN + comp;
	}
}

/* The streaming analysis of the same bytes: it fails exactly when the reader does, with
 * a message naming the byte offset, and never crashes. */
static void analyze(const uint8_t *b, size_t len, int threads, int bad)
{
	char path[64], err[512];
	struct ct_model *m;
	struct ct_analysis *a;
	int fd = memfd_create("fuzz.ctr", 0), rc;

	if (fd < 0)
		return;
	if (write(fd, b, len) != (ssize_t)len) {
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = ct_analyze_file(path, NULL, NULL, threads, &m, &a, err, sizeof(err));
	if (rc == 0) {
		if (bad)
			abort();
		ct_analysis_free(a);
		ct_model_free(m);
	} else if (!bad || !strstr(err, "offset")) {
		abort();
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0];
	data++;
	size--;

	size_t pre = mode & 1 ? CT_HEADER_LEN : 0;
	size_t len = pre + size;
	uint8_t *b = malloc(len ? len : 1); /* exact size: ASan sees any overread */
	if (!b)
		return 0;
	if (pre) {
		struct ct_file_header h = { .pid = 1, .exe = "fuzz" };
		ct_w_header(b, pre, &h);
	}
	memcpy(b + pre, data, size);
	if (mode & 2)
		fix_checksums(b, len);

	struct ct_reader *r;
	if (ct_reader_open_mem(b, len, &r) == 0) {
		int rc[2];
		for (int skip = 0; skip < 2; skip++) {
			struct ct_record rec;
			if (skip && ct_reader_open_mem(b, len, &r) != 0)
				abort(); /* it opened the first time */
			ct_reader_skip_damaged(r, skip);
			(void)ct_reader_header(r);
			uint64_t nev = 0;
			while ((rc[skip] = ct_reader_next(r, &rec)) == 1) {
				nev += rec.type == CT_REC_EVENT;
				/* touch what the pointers promise */
				if (rec.type == CT_REC_STACK && rec.stack.nframes)
					(void)*(volatile const uint64_t *)
						&rec.stack.pcs[rec.stack.nframes - 1];
				if (rec.type == CT_REC_MODULE)
					(void)strlen(rec.module.path);
			}
			if (rc[skip] == -1 && !strstr(ct_reader_error(r), "offset"))
				abort();
			if (rc[skip] != -1 && rc[skip] != 0)
				abort();
			/* skipping damage, only a failed allocation ends the read early; a
			 * damaged stretch is counted with its offset */
			if (skip && (rc[1] == -1 ||
				     (ct_reader_damaged(r) &&
				      !strstr(ct_reader_damage(r, NULL), "offset"))))
				abort();
			(void)ct_reader_truncated(r);
			(void)ct_reader_trailing_bytes(r);
			ct_reader_close(r);
			/* a chunk's events at once: the same events, the same end */
			if (ct_reader_open_mem(b, len, &r) != 0)
				abort();
			ct_reader_skip_damaged(r, skip);
			const struct ct_event *evs;
			size_t n;
			uint64_t nb = 0;
			int rcb;
			while ((rcb = ct_reader_next_batch(r, &rec, &evs, &n)) == 1) {
				if ((rec.type == CT_REC_EVENT) != (n > 0))
					abort();
				if (n)
					(void)*(volatile const uint8_t *)&evs[n - 1].type;
				nb += n;
			}
			if (rcb != rc[skip] || nb != nev)
				abort();
			ct_reader_close(r);
		}
		/* the analyzer skips damage unless strict (bit 3) */
		int strict = (mode & 8) != 0;
		ct_model_set_strict(strict);
		analyze(b, len, (mode & 4) ? 2 : 1, rc[!strict] == -1);
	} else if (!ct_reader_open_error()[0]) {
		abort();
	}
	free(b);
	return 0;
}
