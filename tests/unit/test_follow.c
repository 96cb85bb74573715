/* SPDX-License-Identifier: MIT */
/*
 * Following a trace while it is written (model.h ct_model_follow_*, reader.h
 * ct_reader_resume), what `ctrace top` reads: a synthetic trace of five generations is
 * written to a file a few bytes at a time (1, 13, 200 bytes, and whole), with a read after
 * each write. Every read succeeds whatever the cut (inside a chunk header, a payload, a
 * generation), the events handed on are exactly those ct_model_stream hands on for the
 * whole file, in the same order, and a generation without events lets the held ones up
 * to its start through (a program whose threads all block still advances). And a
 * process's successive snapshots, overlapping, read with ct_model_follow_next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../analyze/model.h"
#include "../../format/events.h"
#include "../../format/writer.h"

#define T0 1000000000ull
#define MS 1000000ull

#define M1 0x5000ull
#define M2 0x6000ull

static uint8_t raw[1 << 16], out[1 << 17];
static struct ct_wbuf wb = { raw, sizeof(raw), out, sizeof(out), NULL };
static uint8_t file[1 << 18];
static size_t flen, gen3_end, gen_off[7];

static void put(ssize_t n)
{
	if (n < 0 || flen + (size_t)n > sizeof(file)) {
		printf("Bail out! writer failed: %zd\n", n);
		exit(1);
	}
	memcpy(file + flen, wb.out, (size_t)n);
	flen += (size_t)n;
}

static struct ct_event ev(uint64_t ts, int type, uint32_t stack, uint64_t obj, uint64_t a,
			  uint64_t b)
{
	struct ct_event e = { .ts = ts, .type = (uint8_t)type, .kind = CT_K_MUTEX,
			      .stack = stack, .obj = obj, .a = a, .b = b };
	return e;
}

#define WB(ts, obj) ev(T0 + (ts) * MS, CT_EV_WAIT_BEGIN, 1, obj, 0, 0)
#define WE(ts, obj) ev(T0 + (ts) * MS, CT_EV_WAIT_END, 0, obj, 1, CT_R_ACQUIRED)
#define REL(ts, obj) ev(T0 + (ts) * MS, CT_EV_RELEASE, 2, obj, 1, 1)

static uint64_t pcs1[] = { 0x1000 }, pcs2[] = { 0x2000 };

/*
 * Generations of 100 ms: 1 has waits of both threads; 2 has thread 102's chunk with an
 * event of generation 1's time (a buffer flushed late) before its own; 3 has no event;
 * 4 and 5 have some.
 */
static void build(void)
{
	struct ct_file_header h = { .version_major = CT_VERSION_MAJOR,
				    .version_minor = CT_VERSION_MINOR, .pid = 100, .ppid = 1,
				    .start_mono_ns = T0, .start_real_ns = 42 };
	struct ct_stack st[] = { { 1, 1, 0, pcs1 }, { 2, 1, 0, pcs2 } };
	struct ct_thread_state ts[2] = {
		{ .tid = 101, .parent_tid = 100, .name = "a" },
		{ .tid = 102, .parent_tid = 100, .name = "b" },
	};
	struct ct_event g1a[] = { WB(10, M1) }, g1b[] = { WB(20, M2), WE(30, M2) };
	struct ct_event g2a[] = { WE(150, M1) }, g2b[] = { REL(95, M2), WB(160, M1) };
	struct ct_event g4a[] = { WB(310, M2), WE(320, M2) }, g4b[] = { WE(350, M1) };
	struct ct_event g5a[] = { REL(450, M1) };
	uint64_t lost[CT_L_MAX] = { 0 };

	if (ct_w_header(file, sizeof(file), &h) != CT_HEADER_LEN) {
		printf("Bail out! header\n");
		exit(1);
	}
	flen = CT_HEADER_LEN;
	for (uint32_t g = 1; g <= 5; g++) {
		uint64_t b = T0 + (g - 1) * 100 * MS;

		gen_off[g] = flen;
		put(ct_w_gen_begin(&wb, g, b, 42));
		put(ct_w_stacks(&wb, g, st, 2));
		put(ct_w_threads(&wb, g, ts, 2));
		if (g == 1) {
			put(ct_w_events(&wb, g, 101, 0, g1a, 1));
			put(ct_w_events(&wb, g, 102, 0, g1b, 2));
		} else if (g == 2) {
			put(ct_w_events(&wb, g, 101, 1, g2a, 1));
			put(ct_w_events(&wb, g, 102, 1, g2b, 2));
		} else if (g == 4) {
			put(ct_w_events(&wb, g, 101, 2, g4a, 2));
			put(ct_w_events(&wb, g, 102, 2, g4b, 1));
		} else if (g == 5) {
			put(ct_w_events(&wb, g, 101, 3, g5a, 1));
		}
		put(ct_w_gen_end(&wb, g, b + 100 * MS, lost));
		if (g == 3)
			gen3_end = flen;
	}
	gen_off[6] = flen;
}

/* path: the header and generations [g0, g1]. */
static void part(const char *path, uint32_t g0, uint32_t g1)
{
	FILE *w = fopen(path, "w");

	if (!w || fwrite(file, 1, CT_HEADER_LEN, w) != CT_HEADER_LEN ||
	    fwrite(file + gen_off[g0], 1, gen_off[g1 + 1] - gen_off[g0], w) !=
		    gen_off[g1 + 1] - gen_off[g0] || fclose(w)) {
		printf("Bail out! %s\n", path);
		exit(1);
	}
}

/* The events handed on, in order. */
struct seen {
	struct ct_sevent v[64];
	size_t n;
};

static void collect(void *ctx, const struct ct_sevent *v, size_t n)
{
	struct seen *s = ctx;

	for (size_t i = 0; i < n && s->n < 64; i++)
		s->v[s->n++] = v[i];
}

static int same(const struct ct_sevent *a, const struct ct_sevent *b)
{
	return a->ev.ts == b->ev.ts && a->ev.type == b->ev.type && a->tid == b->tid &&
	       a->key == b->key && a->ev.obj == b->ev.obj;
}

static void follow(const char *path, size_t step, const struct seen *ref)
{
	struct seen got = { .n = 0 };
	struct ct_model_follow *f;
	struct ct_model *m;
	uint32_t *k2t;
	size_t nk, len = CT_HEADER_LEN, errors = 0, before_end = 0;
	uint64_t last_now = 0, dec = 0;
	char err[256] = "";
	FILE *w = fopen(path, "w");

	if (!w || fwrite(file, 1, len, w) != len || fflush(w)) {
		printf("Bail out! %s\n", path);
		exit(1);
	}
	TEST_EQ(ct_model_follow_open(path, collect, &got, &f, err, sizeof(err)), 0);
	TEST_EQ(ct_model_follow_model(f)->hdr.pid, 100);
	while (len < flen) {
		size_t n = flen - len < step ? flen - len : step;
		uint64_t now;

		if (fwrite(file + len, 1, n, w) != n || fflush(w)) {
			printf("Bail out! write\n");
			exit(1);
		}
		len += n;
		errors += ct_model_follow_read(f, err, sizeof(err)) < 0;
		now = ct_model_follow_now(f);
		dec += now < last_now;
		last_now = now;
		if (len >= gen3_end && !before_end) {
			/* generation 3 ended without events: everything up to its start is out */
			size_t want = 0;

			for (size_t i = 0; i < ref->n; i++)
				want += ref->v[i].ev.ts <= T0 + 200 * MS;
			before_end = 1;
			TAP_OK(got.n >= want && now >= T0 + 200 * MS,
			       "step %zu: after the empty generation %zu events out (want %zu), now "
			       "+%" PRIu64 "ms", step, got.n, want, (uint64_t)((now - T0) / MS));
		}
	}
	fclose(w);
	TAP_OK(!errors, "step %zu: every read of the growing file succeeded (%s)", step, err);
	TEST_EQ(dec, 0);
	ct_model_follow_end(f, &m, &k2t, &nk);
	TEST_EQ(got.n, ref->n);
	{
		size_t diff = got.n == ref->n ? 0 : 1;

		for (size_t i = 0; i < got.n && i < ref->n; i++)
			diff += !same(&got.v[i], &ref->v[i]);
		TAP_OK(!diff, "step %zu: the events and their order are ct_model_stream's", step);
	}
	TEST_EQ(m->ngens, 5);
	TEST_EQ(m->truncated, 0);
	TEST_EQ(m->end_ts, T0 + 500 * MS);
	TEST_EQ(nk, 2);
	free(k2t);
	ct_model_free(m);
}

static void collect(void *ctx, const struct ct_sevent *v, size_t n);
static int same(const struct ct_sevent *a, const struct ct_sevent *b);

/*
 * Successive snapshots of one process (a flight-mode process asked by `ctrace top`): files
 * of generations 1-3, 2-5 (two read already) and 5 (nothing new), followed with
 * ct_model_follow_next: each event is handed on once, as ct_model_stream hands on the
 * whole trace.
 */
static void snapshots(const char *dir, const struct seen *ref)
{
	char p1[256], p2[256], p3[256], err[256] = "";
	struct seen got = { .n = 0 };
	struct ct_model_follow *f;
	struct ct_model *m;
	uint32_t *k2t;
	size_t nk, diff;

	snprintf(p1, sizeof(p1), "%s.s1", dir);
	snprintf(p2, sizeof(p2), "%s.s2", dir);
	snprintf(p3, sizeof(p3), "%s.s3", dir);
	part(p1, 1, 3);
	part(p2, 2, 5);
	part(p3, 5, 5);
	TEST_EQ(ct_model_follow_open(p1, collect, &got, &f, err, sizeof(err)), 0);
	TEST_EQ(ct_model_follow_last_gen(f), 0);
	TEST_EQ(ct_model_follow_read(f, err, sizeof(err)), 1);
	TEST_EQ(ct_model_follow_last_gen(f), 3);
	TEST_EQ(ct_model_follow_next(f, p2, err, sizeof(err)), 1);
	TEST_EQ(ct_model_follow_last_gen(f), 5);
	TEST_EQ(ct_model_follow_next(f, p3, err, sizeof(err)), 0);
	TEST_EQ(ct_model_follow_next(f, "/nonexistent/ctrace-snapshot", err, sizeof(err)), -1);
	ct_model_follow_end(f, &m, &k2t, &nk);
	TEST_EQ(got.n, ref->n);
	diff = got.n == ref->n ? 0 : 1;
	for (size_t i = 0; i < got.n && i < ref->n; i++)
		diff += !same(&got.v[i], &ref->v[i]);
	TAP_OK(!diff, "snapshots: each event once, in ct_model_stream's order");
	TEST_EQ(m->ngens, 5);
	TEST_EQ(m->last_gen, 5);
	TEST_EQ(nk, 2);
	free(k2t);
	ct_model_free(m);
	unlink(p1);
	unlink(p2);
	unlink(p3);
}

int main(void)
{
	char path[] = "/tmp/ctrace-follow-XXXXXX", err[256] = "";
	struct seen ref = { .n = 0 };
	struct ct_model *m;
	uint32_t *k2t;
	size_t nk;
	int fd;

	build();
	fd = mkstemp(path);
	if (fd < 0 || write(fd, file, flen) != (ssize_t)flen) {
		printf("Bail out! temporary file\n");
		return 1;
	}
	close(fd);
	TEST_EQ(ct_model_stream(path, NULL, collect, &ref, &m, &k2t, &nk, err, sizeof(err)), 0);
	TEST_EQ(ref.n, 10);
	free(k2t);
	ct_model_free(m);
	{
		size_t steps[] = { 1, 13, 200, sizeof(file) };

		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			follow(path, steps[i], &ref);
	}
	{
		struct ct_reader *r;
		struct ct_record rec;

		TEST_EQ(ct_reader_open_mem(file, flen, &r), 0);
		TEST_EQ(ct_reader_resume(r), -1); /* not at its end */
		while (ct_reader_next(r, &rec) == 1)
			;
		TEST_EQ(ct_reader_resume(r), -1); /* memory: nothing can be appended */
		ct_reader_close(r);
	}
	snapshots(path, &ref);
	unlink(path);
	return tap_done();
}
