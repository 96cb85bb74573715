/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of analyze/timeline.h, the one interface through which the timeline exports
 * see single waits: over a synthetic trace (format/writer.h), ct_timeline_foreach must
 * deliver every wait thread by thread (the model's order) and by begin within a thread,
 * with its profile, kind, object, times, stack and unfinished flag, and for a wait whose
 * ending release is known that release's thread, time and stack (a mutex hand-off, two
 * cond signals, a broadcast ending two waits), and keep to the analysed window and
 * threads (a release by a thread left out is not known).
 * Any analyzer that re-implements ct_timeline_foreach must pass it unchanged.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../analyze/analysis.h"
#include "../../analyze/model.h"
#include "../../analyze/timeline.h"
#include "../../format/writer.h"
#include "tracegen.h"


#define M1 0x5000ull /* mutex */
#define C1 0x6000ull /* condition variable */
#define M2 0x7000ull /* its mutex */
#define M3 0x8000ull /* mutex with an unfinished wait */



/* Both traces' header: process 100. */
static const struct ct_file_header hdr = { .version_major = CT_VERSION_MAJOR,
					   .version_minor = CT_VERSION_MINOR, .pid = 100,
					   .ppid = 1, .start_mono_ns = T0, .start_real_ns = 42 };

static uint64_t pcs1[] = { 0x1000 }, pcs2[] = { 0x2000 }, pcs3[] = { 0x3000 },
		pcs4[] = { 0x4000 }, pcs5[] = { 0x5000 }, pcs6[] = { 0x6000 };

/*
 * Times from T0. Threads 100 (releases only), 101, 102, 103:
 *  - M1: 101 waits 2..12.05 ms (stack 1), released by 100 at 12 ms (seq 1, stack 2);
 *        102 waits 4..15.02 ms (stack 1), released by 101 at 15 ms (seq 2, stack 6);
 *  - C1: 101 waits 20..31.2 ms and 102 21..31.5 ms (stack 3), 100 signals at 30 and 31 ms
 *        (stack 4); both wait again (40, 41 ms), one broadcast at 45 ms (stack 4) ends
 *        both (45.1, 45.2 ms);
 *  - 102 sleeps 46..48 ms (stack 5, no waker);
 *  - 103 waits on M3 from 50 ms to the end of the trace (70 ms): unfinished.
 */
static void build(void)
{
	struct ct_stack st[] = {
		{ 1, 1, 0, pcs1 }, { 2, 1, 0, pcs2 }, { 3, 1, 0, pcs3 },
		{ 4, 1, 0, pcs4 }, { 5, 1, 0, pcs5 }, { 6, 1, 0, pcs6 },
	};
	struct ct_thread_state ts[4] = {
		{ .tid = 100, .name = "app" },
		{ .tid = 101, .parent_tid = 100, .name = "worker-a" },
		{ .tid = 102, .parent_tid = 100, .name = "worker-b" },
		{ .tid = 103, .parent_tid = 100, .name = "worker-c" },
	};
	struct ct_event e100[] = {
		REL(T0 + 12 * MS, CT_K_MUTEX, 2, M1, 1, 0),
		REL(T0 + 30 * MS, CT_K_COND, 4, C1, 1, 0),
		REL(T0 + 31 * MS, CT_K_COND, 4, C1, 2, 0),
		REL(T0 + 45 * MS, CT_K_COND, 4, C1, 3, CT_EVF_BROADCAST),
	};
	struct ct_event e101[] = {
		WB(T0 + 2 * MS, CT_K_MUTEX, 1, M1, 100, 0),
		WE(T0 + 12 * MS + 50 * US, CT_K_MUTEX, M1, 1),
		REL(T0 + 15 * MS, CT_K_MUTEX, 6, M1, 2, 0),
		WB(T0 + 20 * MS, CT_K_COND, 3, C1, M2, 0),
		WE(T0 + 31 * MS + 200 * US, CT_K_COND, C1, 2),
		WB(T0 + 40 * MS, CT_K_COND, 3, C1, M2, 2),
		WE(T0 + 45 * MS + 100 * US, CT_K_COND, C1, 3),
	};
	struct ct_event e102[] = {
		WB(T0 + 4 * MS, CT_K_MUTEX, 1, M1, 100, 0),
		WE(T0 + 15 * MS + 20 * US, CT_K_MUTEX, M1, 2),
		WB(T0 + 21 * MS, CT_K_COND, 3, C1, M2, 0),
		WE(T0 + 31 * MS + 500 * US, CT_K_COND, C1, 2),
		WB(T0 + 41 * MS, CT_K_COND, 3, C1, M2, 2),
		WE(T0 + 45 * MS + 200 * US, CT_K_COND, C1, 3),
		WB(T0 + 46 * MS, CT_K_NANOSLEEP, 5, 0, 0, 0),
		WE(T0 + 48 * MS, CT_K_NANOSLEEP, 0, 0),
	};
	struct ct_event e103[] = { WB(T0 + 50 * MS, CT_K_MUTEX, 5, M3, 100, 0) };
	uint64_t lost[CT_L_MAX] = { 0 };

	tg_begin(&hdr);
	put(ct_w_gen_begin(&wb, 1, T0, 42));
	put(ct_w_stacks(&wb, 1, st, 6));
	put(ct_w_threads(&wb, 1, ts, 4));
	put(ct_w_events(&wb, 1, 100, 0, e100, sizeof(e100) / sizeof(e100[0])));
	put(ct_w_events(&wb, 1, 101, 0, e101, sizeof(e101) / sizeof(e101[0])));
	put(ct_w_events(&wb, 1, 102, 0, e102, sizeof(e102) / sizeof(e102[0])));
	put(ct_w_events(&wb, 1, 103, 0, e103, 1));
	put(ct_w_gen_end(&wb, 1, T0 + 70 * MS, lost));
}

/* The trace written to path, loaded. */
static struct ct_model *load(char *path)
{
	char err[256] = "";
	struct ct_model *m = NULL;

	if (tg_write_tmp(path) < 0) {
		printf("Bail out! temporary file\n");
		exit(1);
	}
	if (ct_model_load(path, &m, err, sizeof(err)) < 0)
		printf("# load error: %s\n", err);
	return m;
}

/*
 * Three generations of 10 ms, for a window that ends in the first: thread 200 twice (tid
 * reused: an instance 1..8 ms waiting on M1 2..5 ms, and one from 22 ms waiting 23..25
 * ms), 201 sleeping 3..12 and 13..27 ms, and 150 (a lower tid) only in the third
 * generation, waiting 24..26 ms. The second pass stops reading soon after the window's end, before 150 and
 * 200's second instance are seen: its threads must still be named by the whole file's.
 */
static void build_reused(void)
{
	struct ct_stack st[] = { { 1, 1, 0, pcs1 }, { 5, 1, 0, pcs5 } };
	struct ct_thread_state ts[] = {
		{ .tid = 200, .parent_tid = 100, .name = "first" },
		{ .tid = 201, .parent_tid = 100, .name = "sleeper" },
	};
	struct ct_thread_state ts3[] = { { .tid = 150, .parent_tid = 100, .name = "late" } };
	struct ct_event a1[] = {
		ct_ev_thread_start(T0 + 1 * MS, 0, 100, 0x1234),
		WB(T0 + 2 * MS, CT_K_MUTEX, 1, M1, 0, 0),
		WE(T0 + 5 * MS, CT_K_MUTEX, M1, 0),
		ct_ev_thread_end(T0 + 8 * MS, 0, 0),
	};
	struct ct_event s1[] = { WB(T0 + 3 * MS, CT_K_NANOSLEEP, 5, 0, 0, 0) };
	struct ct_event s2[] = {
		WE(T0 + 12 * MS, CT_K_NANOSLEEP, 0, 0),
		WB(T0 + 13 * MS, CT_K_NANOSLEEP, 5, 0, 0, 0),
	};
	struct ct_event a3[] = {
		ct_ev_thread_start(T0 + 22 * MS, 0, 100, 0x5678),
		WB(T0 + 23 * MS, CT_K_MUTEX, 1, M1, 0, 0),
		WE(T0 + 25 * MS, CT_K_MUTEX, M1, 0),
	};
	struct ct_event s3[] = { WE(T0 + 27 * MS, CT_K_NANOSLEEP, 0, 0) };
	struct ct_event l3[] = {
		WB(T0 + 24 * MS, CT_K_MUTEX, 1, M2, 0, 0),
		WE(T0 + 26 * MS, CT_K_MUTEX, M2, 0),
	};
	uint64_t lost[CT_L_MAX] = { 0 };

	tg_begin(&hdr);
	put(ct_w_gen_begin(&wb, 1, T0, 42));
	put(ct_w_stacks(&wb, 1, st, 2));
	put(ct_w_threads(&wb, 1, ts, 2));
	put(ct_w_events(&wb, 1, 200, 0, a1, sizeof(a1) / sizeof(a1[0])));
	put(ct_w_events(&wb, 1, 201, 0, s1, 1));
	put(ct_w_gen_end(&wb, 1, T0 + 10 * MS, lost));
	put(ct_w_gen_begin(&wb, 2, T0 + 10 * MS, 42));
	put(ct_w_events(&wb, 2, 201, 0, s2, 2));
	put(ct_w_gen_end(&wb, 2, T0 + 20 * MS, lost));
	put(ct_w_gen_begin(&wb, 3, T0 + 20 * MS, 42));
	put(ct_w_threads(&wb, 3, ts3, 1));
	put(ct_w_events(&wb, 3, 200, 0, a3, sizeof(a3) / sizeof(a3[0])));
	put(ct_w_events(&wb, 3, 201, 0, s3, 1));
	put(ct_w_events(&wb, 3, 150, 0, l3, sizeof(l3) / sizeof(l3[0])));
	put(ct_w_gen_end(&wb, 3, T0 + 30 * MS, lost));
}

#define MAXW 32
struct got {
	struct ct_tl_wait w[MAXW];
	size_t n;
};

static void collect(void *arg, const struct ct_tl_wait *w)
{
	struct got *g = arg;

	if (g->n < MAXW)
		g->w[g->n] = *w;
	g->n++;
}

/* What one delivered wait must be. */
struct want {
	uint32_t tid;
	uint8_t profile, kind;
	uint64_t obj, begin, end;
	uint32_t stack;
	int unfinished, has_waker;
	uint32_t waker_tid;
	uint64_t waker_ts;
	uint32_t waker_stack;
};

static void check(const struct got *g, const struct want *w, size_t n, const char *what)
{
	TAP_OK(g->n == n, "%s: %zu waits delivered (want %zu)", what, g->n, n);
	for (size_t i = 0; i < n && i < g->n; i++) {
		const struct ct_tl_wait *x = &g->w[i];
		int ok = x->pid == 100 && x->tid == w[i].tid && x->profile == w[i].profile &&
			 x->kind == w[i].kind && x->obj == w[i].obj && x->begin_ns == w[i].begin &&
			 x->end_ns == w[i].end && x->stack == w[i].stack &&
			 !!x->unfinished == w[i].unfinished && !!x->has_waker == w[i].has_waker &&
			 !x->syscall;

		if (ok && w[i].has_waker)
			ok = x->waker_tid == w[i].waker_tid && x->waker_ts == w[i].waker_ts &&
			     x->waker_stack == w[i].waker_stack;
		TAP_OK(ok, "%s: wait %zu: tid %u %s obj %#llx %llu..%llu ns stack %u%s%s", what, i,
		       w[i].tid, ct_kind_name(w[i].kind), (unsigned long long)w[i].obj,
		       (unsigned long long)(w[i].begin - T0), (unsigned long long)(w[i].end - T0),
		       w[i].stack, w[i].unfinished ? " unfinished" : "",
		       w[i].has_waker ? ", woken" : "");
		if (!ok)
			printf("#   got tid %u kind %u profile %u obj %#llx %llu..%llu stack %u unf %d "
			       "waker %d tid %u ts %llu stack %u\n", x->tid, x->kind, x->profile,
			       (unsigned long long)x->obj, (unsigned long long)(x->begin_ns - T0),
			       (unsigned long long)(x->end_ns - T0), x->stack, x->unfinished,
			       x->has_waker, x->waker_tid,
			       (unsigned long long)(x->waker_ts ? x->waker_ts - T0 : 0), x->waker_stack);
	}
}

int main(void)
{
	char path[] = "/tmp/ctrace-test-XXXXXX";
	struct ct_model *m;
	struct ct_analysis *a;
	struct got g = { .n = 0 };
	const uint8_t S = CT_P_SYNC;

	build();
	m = load(path);
	if (!m) {
		printf("Bail out! model\n");
		return 1;
	}
	a = ct_analyze(m);
	{
		const struct want w[] = {
			{ 101, S, CT_K_MUTEX, M1, T0 + 2 * MS, T0 + 12 * MS + 50 * US, 1, 0, 1,
			  100, T0 + 12 * MS, 2 },
			{ 101, S, CT_K_COND, C1, T0 + 20 * MS, T0 + 31 * MS + 200 * US, 3, 0, 1,
			  100, T0 + 30 * MS, 4 },
			{ 101, S, CT_K_COND, C1, T0 + 40 * MS, T0 + 45 * MS + 100 * US, 3, 0, 1,
			  100, T0 + 45 * MS, 4 },
			{ 102, S, CT_K_MUTEX, M1, T0 + 4 * MS, T0 + 15 * MS + 20 * US, 1, 0, 1,
			  101, T0 + 15 * MS, 6 },
			{ 102, S, CT_K_COND, C1, T0 + 21 * MS, T0 + 31 * MS + 500 * US, 3, 0, 1,
			  100, T0 + 31 * MS, 4 },
			{ 102, S, CT_K_COND, C1, T0 + 41 * MS, T0 + 45 * MS + 200 * US, 3, 0, 1,
			  100, T0 + 45 * MS, 4 },
			{ 102, CT_P_SLEEP, CT_K_NANOSLEEP, 0, T0 + 46 * MS, T0 + 48 * MS, 5, 0, 0,
			  0, 0, 0 },
			{ 103, S, CT_K_MUTEX, M3, T0 + 50 * MS, T0 + 70 * MS, 5, 1, 0, 0, 0, 0 },
		};
		size_t n = ct_timeline_foreach(path, m, a, collect, &g);

		TEST_EQ(n, g.n);
		check(&g, w, sizeof(w) / sizeof(w[0]), "whole trace");
		/* the same thread index as the model's, and the waker's too */
		TEST_EQ(m->threads[g.w[0].thr].tid, 101);
		TEST_EQ(m->threads[g.w[3].waker_thr].tid, 101);

		/* the same from a streamed model and analysis, as export has them (this trace,
		 * 70 ms long, has its convoy windows narrowed once its length is known: the
		 * analysis that streams the file again starts over, and what it told before is
		 * not delivered twice) */
		struct ct_file_opts o = { .threads = 2, .annotations = 1 };
		struct ct_model *ms;
		struct ct_analysis *as;
		char err[256] = "";

		TEST_EQ(ct_analyze_file_with(path, NULL, NULL, &o, &ms, &as, err, sizeof(err)), 0);
		g.n = 0;
		n = ct_timeline_foreach(path, ms, as, collect, &g);
		TEST_EQ(n, g.n);
		check(&g, w, sizeof(w) / sizeof(w[0]), "whole trace, streamed");
		TEST_EQ(ms->threads[g.w[0].thr].tid, 101);
		TEST_EQ(ms->threads[g.w[3].waker_thr].tid, 101);

		/* held in runs of 1, 2 and 3 waits, the runs but the last written to a
		 * temporary file and merged back: the same, in the same order */
		for (size_t run = 1; run <= 3; run++) {
			char what[64], knob[32];

			snprintf(what, sizeof(what), "whole trace, in runs of %zu", run);
			snprintf(knob, sizeof(knob), "%zu", run);
			setenv("CTRACE_EXPORT_TIMELINE_RUN", knob, 1);
			g.n = 0;
			n = ct_timeline_foreach(path, ms, as, collect, &g);
			TEST_EQ(n, g.n);
			check(&g, w, sizeof(w) / sizeof(w[0]), what);
			TEST_EQ(ms->threads[g.w[0].thr].tid, 101);
			TEST_EQ(ms->threads[g.w[3].waker_thr].tid, 101);
		}
		unsetenv("CTRACE_EXPORT_TIMELINE_RUN");

		/* opened once, every wait in the temporary file, walked twice: the same both
		 * times */
		struct ct_timeline *tl = ct_timeline_open(path, ms, as, 1);

		for (int walk = 1; walk <= 2; walk++) {
			char what[64];

			snprintf(what, sizeof(what), "whole trace, on disk, walk %d", walk);
			g.n = 0;
			n = ct_timeline_walk(tl, collect, &g);
			TEST_EQ(n, g.n);
			check(&g, w, sizeof(w) / sizeof(w[0]), what);
		}
		ct_timeline_close(tl);
		ct_analysis_free(as);
		ct_model_free(ms);
	}
	ct_analysis_free(a);

	/* a window, 10..32 ms, and threads 101 and 102: waits clipped to the window, the
	 * releases of thread 100 (left out) unknown, 101's hand-off to 102 kept */
	{
		uint32_t tids[] = { 101, 102 };
		struct ct_filter f = { .from_ns = 10 * MS, .to_ns = 32 * MS, .tids = tids, .ntids = 2 };
		const struct want w[] = {
			{ 101, S, CT_K_MUTEX, M1, T0 + 10 * MS, T0 + 12 * MS + 50 * US, 1, 0, 0,
			  0, 0, 0 },
			{ 101, S, CT_K_COND, C1, T0 + 20 * MS, T0 + 31 * MS + 200 * US, 3, 0, 0,
			  0, 0, 0 },
			{ 102, S, CT_K_MUTEX, M1, T0 + 10 * MS, T0 + 15 * MS + 20 * US, 1, 0, 1,
			  101, T0 + 15 * MS, 6 },
			{ 102, S, CT_K_COND, C1, T0 + 21 * MS, T0 + 31 * MS + 500 * US, 3, 0, 0,
			  0, 0, 0 },
		};

		a = ct_analyze_filtered(m, &f);
		g.n = 0;
		ct_timeline_foreach(path, m, a, collect, &g);
		check(&g, w, sizeof(w) / sizeof(w[0]), "window 10..32 ms, threads 101 and 102");
		ct_analysis_free(a);
	}
	ct_model_free(m);
	unlink(path);

	/* a window that ends in the first of three generations: the second pass stops there */
	{
		char rpath[] = "/tmp/ctrace-test-XXXXXX", err[256] = "";
		struct ct_filter f = { .to_ns = 6 * MS };
		struct ct_file_opts o = { .threads = 2, .annotations = 1 };
		struct ct_model *mr;
		struct ct_analysis *ar;
		const struct want w[] = {
			{ 200, S, CT_K_MUTEX, M1, T0 + 2 * MS, T0 + 5 * MS, 1, 0, 0, 0, 0, 0 },
			{ 201, CT_P_SLEEP, CT_K_NANOSLEEP, 0, T0 + 3 * MS, T0 + 6 * MS, 5, 1, 0,
			  0, 0, 0 },
		};

		build_reused();
		if (tg_write_tmp(rpath) < 0) {
			printf("Bail out! temporary file\n");
			return 1;
		}
		TEST_EQ(ct_analyze_file_with(rpath, &f, NULL, &o, &mr, &ar, err, sizeof(err)), 0);
		/* the whole file's threads: 150, 200 twice, 201 */
		TEST_EQ(mr->nthreads, 4);
		g.n = 0;
		TEST_EQ(ct_timeline_foreach(rpath, mr, ar, collect, &g), 2);
		check(&g, w, sizeof(w) / sizeof(w[0]), "window to 6 ms of three generations");
		TEST_EQ(g.w[0].thr, 1); /* 200's first instance, after 150 */
		TEST_EQ(mr->threads[g.w[0].thr].start_ts, T0 + 1 * MS);
		TEST_EQ(g.w[1].thr, 3); /* 201 */
		TEST_EQ(mr->threads[g.w[1].thr].tid, 201);

		/* on one thread the reading stops at once past 6 ms (on two, as soon as the
		 * analysing thread says so): a model of the first generations only, whose
		 * threads are the whole file's of the same tid and rank */
		struct ct_file_opts o1 = { .threads = 1, .stop_at_cut = 1 };
		struct ct_model *mp;
		struct ct_analysis *ap;

		TEST_EQ(ct_analyze_file_with(rpath, &f, NULL, &o1, &mp, &ap, err, sizeof(err)), 0);
		TEST_EQ(mp->nthreads, 2); /* 200's first instance, 201 */
		for (size_t t = 0; t < mp->nthreads; t++) {
			size_t i = ct_model_thread_of_part(mr, mp, t);

			TAP_OK(i < mr->nthreads && mr->threads[i].tid == mp->threads[t].tid &&
				mr->threads[i].start_ts == mp->threads[t].start_ts,
				"partial model's thread %zu (tid %u) is the whole one's %zu", t,
				mp->threads[t].tid, i);
		}
		TEST_EQ(ct_model_thread_of_part(mr, mp, 0), 1);
		ct_analysis_free(ap);
		ct_model_free(mp);
		ct_analysis_free(ar);
		ct_model_free(mr);
		unlink(rpath);
	}
	return tap_done();
}
