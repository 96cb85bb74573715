/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the streaming analysis (analyze/engine.h, lhist.h, hashtab.h):
 *   - the log-linear histogram: exact nearest-rank percentiles up to CT_LH_EXACT distinct
 *     values, and within its stated relative error (CT_LH_REL_ERR, 1/128) of the exact ones on
 *     adversarial distributions (bucket edges, wide ranges, heavy tails, one huge
 *     outlier, weighted samples, merged histograms), and the log2 histogram made from it
 *     exactly that of its samples;
 *   - the hash table against a plain array;
 *   - streaming a file (ct_analyze_file, generations merged in time order, a thread's
 *     chunk written out of order, an event of one generation written in the next) gives
 *     what the loaded model gives (ct_analyze_with), on one and two reading threads;
 *   - several traces analysed as one (ct_analysis_merge, ct_report_write_procs): results
 *     keep their process, the same address in two processes is two objects, JSON lists
 *     the processes;
 *   - a corrupt file: one message naming the byte offset, no result.
 * Run by `make unit` (tests/run-unit.sh).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../analyze/analysis.h"
#include "../../analyze/hashtab.h"
#include "../../analyze/lhist.h"
#include "../../analyze/model.h"
#include "../../analyze/report.h"
#include "../../format/events.h"
#include "../../format/writer.h"
#include "tracegen.h"


/* ---- histogram ---------------------------------------------------------------------- */

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Checks p1..p100 of h against the exact nearest-rank values of v[0..n) (sorted here):
 * returns how many exceed the relative error bound (exact: any difference). Also checks
 * the log2 histogram made from h (ct_lhist_log2) against v's own: any difference counts. */
static int check_pcts(const struct ct_lhist *h, uint64_t *v, size_t n, int exact)
{
	static const unsigned pcts[] = { 1, 10, 25, 50, 75, 90, 99, 100 };
	uint64_t want[CT_HIST_BUCKETS] = { 0 }, got[CT_HIST_BUCKETS] = { 0 };
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		want[ct_hist_bucket(v[i])]++;
	ct_lhist_log2(h, got);
	for (unsigned i = 0; i < CT_HIST_BUCKETS; i++)
		if (got[i] != want[i]) {
			printf("#   log2 bucket %u: got %llu, exact %llu\n", i,
			       (unsigned long long)got[i], (unsigned long long)want[i]);
			bad++;
		}

	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
		uint64_t truth = ct_percentile(v, n, pcts[k]), got = ct_lhist_pct(h, pcts[k]);
		double err = truth ? (double)(got > truth ? got - truth : truth - got) /
				     (double)truth : (double)got;

		if (exact ? got != truth : err > CT_LH_REL_ERR) {
			printf("#   p%u: got %llu, exact %llu (error %.5f)\n", pcts[k],
			       (unsigned long long)got, (unsigned long long)truth, err);
			bad++;
		}
	}
	return bad;
}

static void test_lhist(void)
{
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));
	struct ct_lhist h = { 0 }, a = { 0 }, b = { 0 };
	size_t n;

	/* a few distinct values: exact */
	for (n = 0; n < 1000; n++) {
		v[n] = 1000 + (n % CT_LH_EXACT) * 977;
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_EQ(check_pcts(&h, v, n, 1), 0);
	TEST_EQ(h.n, 1000);
	ct_lhist_reset(&h);
	/* values on both sides of every power of two: the buckets' edges */
	for (n = 0; n < N; n++) {
		unsigned o = 7 + (unsigned)(rnd() % 50);

		v[n] = (1ull << o) + (rnd() % 3) - 1;
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_EQ(check_pcts(&h, v, n, 0), 0);
	ct_lhist_reset(&h);
	/* uniform over 1 ns .. 2^60 ns */
	for (n = 0; n < N; n++) {
		v[n] = rnd() >> 4;
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_EQ(check_pcts(&h, v, n, 0), 0);
	ct_lhist_reset(&h);
	/* heavy tail: log-uniform, and one huge outlier among small values */
	for (n = 0; n < N; n++) {
		v[n] = n == N / 2 ? 1ull << 62 : (1ull << (rnd() % 40)) + rnd() % 1024;
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_EQ(check_pcts(&h, v, n, 0), 0);
	TEST_EQ(ct_lhist_pct(&h, 100), 1ull << 62); /* the maximum is exact */
	ct_lhist_reset(&h);
	/* small values, 0 and 1 among them (level 0 holds each value below 64 alone) */
	for (n = 0; n < N; n++) {
		v[n] = rnd() % 300;
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_EQ(check_pcts(&h, v, n, 0), 0);
	ct_lhist_reset(&h);
	/* values just under 128 and just over (the exact and the first log-linear level) */
	for (n = 0; n < N; n++) {
		v[n] = 120 + rnd() % 20;
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_EQ(check_pcts(&h, v, n, 0), 0);
	ct_lhist_reset(&h);
	/* weighted samples (holder charges of several waits) and merged histograms */
	n = 0;
	for (size_t i = 0; i < 5000; i++) {
		uint64_t x = 1000 + rnd() % 1000000, w = 1 + rnd() % 20;

		ct_lhist_add(i % 2 ? &a : &b, x, w);
		for (uint64_t k = 0; k < w && n < N; k++)
			v[n++] = x;
	}
	ct_lhist_merge(&h, &a);
	ct_lhist_merge(&h, &b);
	TEST_EQ(h.n, a.n + b.n);
	TEST_EQ(h.n, n);
	TEST_EQ(check_pcts(&h, v, n, 0), 0);
	ct_lhist_reset(&h);
	ct_lhist_reset(&a);
	ct_lhist_reset(&b);
	TEST_EQ(ct_lhist_pct(&h, 50), 0); /* empty */
	/* the exact pairs' array grows with the values kept (none while empty): 4, 8, 16,
	 * 32; percentiles exact all along; a repeated value takes no pair once they are full
	 * (the pairs compacted); the 33rd distinct value buckets them and frees the array */
	TEST_TRUE(h.ex == NULL && h.cex == 0);
	for (n = 0; n < 32; n++) {
		v[n] = 5000 - n * 100;
		ct_lhist_add(&h, v[n], 1);
		TEST_EQ(h.cex, n < 4 ? 4u : n < 8 ? 8u : n < 16 ? 16u : 32u);
	}
	TEST_EQ(check_pcts(&h, v, n, 1), 0);
	for (; n < 100; n++) {
		v[n] = v[n % 32];
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_TRUE(h.nex <= 32 && h.cex == 32);
	TEST_EQ(check_pcts(&h, v, n, 1), 0);
	ct_lhist_clear(&h); /* emptied, the pairs' memory kept for the next samples */
	TEST_TRUE(h.n == 0 && h.nex == 0 && h.cex == 32 && ct_lhist_pct(&h, 99) == 0);
	for (n = 0; n < 33; n++) {
		v[n] = 100000 + n * 1000;
		ct_lhist_add(&h, v[n], 1);
	}
	TEST_TRUE(h.nex == UINT32_MAX && h.ex == NULL && h.cex == 0);
	TEST_EQ(check_pcts(&h, v, n, 0), 0);
	ct_lhist_reset(&h);
	free(v);
}

static void test_htab(void)
{
	struct ct_htab t = { 0 };
	int bad = 0;

	for (uint32_t i = 0; i < 10000; i++)
		ct_htab_put(&t, ct_htab_key(i, 7, 0), i);
	for (uint32_t i = 0; i < 10000; i++)
		bad += ct_htab_get(&t, ct_htab_key(i, 7, 0)) != i;
	bad += ct_htab_get(&t, ct_htab_key(10001, 7, 0)) != UINT32_MAX;
	TEST_EQ(bad, 0);
	TEST_EQ(t.n, 10000);
	ct_htab_free(&t);
}

/* ---- traces -------------------------------------------------------------------------- */



static uint64_t pc1[] = { 0x1000 }, pc2[] = { 0x2000 };

/*
 * Process pid: threads pid and pid+1 hand mutex 0x5000 to each other, 200 rounds over
 * two generations. Thread pid+1's first EVENTS chunk of generation 1 is written after
 * its second one, and its last events of generation 1 are written in generation 2
 * (late): the streaming reader must put them back in time order.
 */
static void build(uint32_t pid, const char *path)
{
	struct ct_file_header h = { .version_major = CT_VERSION_MAJOR,
				    .version_minor = CT_VERSION_MINOR, .pid = pid, .ppid = 1,
				    .start_mono_ns = T0, .start_real_ns = 1 };
	struct ct_stack st[2] = { { 1, 1, 0, pc1 }, { 2, 1, 0, pc2 } };
	static struct ct_event a[1000], b[1000];
	size_t na = 0, nb = 0, half, late;
	uint64_t seq = 0, t = T0 + MS, lost[CT_L_MAX] = { 0 };
	FILE *f;

	snprintf(h.exe, sizeof(h.exe), "prog%u", pid);
	tg_begin(&h);
	for (int r = 0; r < 200; r++) {
		/* pid+1 waits for pid's release, then pid waits for pid+1's */
		b[nb++] = WB(t, CT_K_MUTEX, 1, 0x5000, pid, seq);
		a[na++] = REL(t + 10 * US + (uint64_t)r, CT_K_MUTEX, 2, 0x5000, ++seq, 0);
		b[nb++] = WE(t + 15 * US + (uint64_t)r, CT_K_MUTEX, 0x5000, seq);
		a[na++] = WB(t + 20 * US, CT_K_MUTEX, 1, 0x5000, pid + 1, seq);
		b[nb++] = REL(t + 40 * US + (uint64_t)r * 3, CT_K_MUTEX, 2, 0x5000, ++seq, 0);
		a[na++] = WE(t + 41 * US + (uint64_t)r * 3, CT_K_MUTEX, 0x5000, seq);
		t += 100 * US;
	}
	half = nb / 2;
	late = nb - 6; /* the last two rounds of pid+1 come in generation 2 */
	put(ct_w_gen_begin(&wb, 1, T0, 1));
	put(ct_w_stacks(&wb, 1, st, 2));
	put(ct_w_events(&wb, 1, pid, 0, a, na / 2));
	put(ct_w_events(&wb, 1, pid + 1, 1, b + 20, half - 20)); /* out of order */
	put(ct_w_events(&wb, 1, pid + 1, 0, b, 20));
	put(ct_w_events(&wb, 1, pid, 1, a + na / 2, na - na / 2 - 6));
	put(ct_w_events(&wb, 1, pid + 1, 2, b + half, late - half));
	put(ct_w_gen_end(&wb, 1, t - 300 * US, lost));
	put(ct_w_gen_begin(&wb, 2, t - 300 * US, 2));
	put(ct_w_stacks(&wb, 2, st, 2));
	put(ct_w_events(&wb, 2, pid, 0, a + na - 6, 6));
	put(ct_w_events(&wb, 2, pid + 1, 0, b + late, nb - late));
	put(ct_w_gen_end(&wb, 2, t + MS, lost));
	f = fopen(path, "w");
	if (!f || fwrite(file, 1, flen, f) != flen || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

static const struct ct_pentry *find(const struct ct_analysis *a, int profile, uint32_t stack,
				    uint32_t pid)
{
	for (size_t i = 0; i < a->nentries; i++)
		if (a->entries[i].profile == profile && a->entries[i].stack == stack &&
		    a->entries[i].pid == pid)
			return &a->entries[i];
	return NULL;
}

static int same_entries(const struct ct_analysis *x, const struct ct_analysis *y)
{
	if (x->nentries != y->nentries || x->nobjs != y->nobjs || x->nthreads != y->nthreads)
		return 0;
	for (size_t i = 0; i < x->nentries; i++) {
		const struct ct_pentry *e = &x->entries[i], *g = &y->entries[i];

		if (e->profile != g->profile || e->count != g->count ||
		    e->total_ns != g->total_ns || e->max_ns != g->max_ns ||
		    e->p50_ns != g->p50_ns || e->p99_ns != g->p99_ns || e->stack != g->stack)
			return 0;
	}
	for (size_t i = 0; i < x->nobjs; i++) {
		const struct ct_object *o = &x->objs[i], *p = &y->objs[i];

		if (o->contended != p->contended || o->wait_total_ns != p->wait_total_ns ||
		    o->wakeups != p->wakeups || o->releases != p->releases ||
		    o->holds != p->holds || o->hold_total_ns != p->hold_total_ns ||
		    o->owner_changes != p->owner_changes || o->max_waiters != p->max_waiters)
			return 0;
	}
	for (size_t i = 0; i < x->nthreads; i++)
		if (memcmp(x->threads[i].blocked_ns, y->threads[i].blocked_ns,
			   sizeof(x->threads[i].blocked_ns)))
			return 0;
	return 1;
}

static void test_stream(const char *p1)
{
	struct ct_model *m, *sm;
	struct ct_analysis *a, *s;
	const struct ct_pentry *e;
	char err[256];

	build(100, p1);
	if (ct_model_load(p1, &m, err, sizeof(err)) < 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	a = ct_analyze(m);
	/* 200 waits of each thread, every one matched to the other's release */
	e = find(a, CT_AP_SYNC, 1, 100);
	TEST_TRUE(e && e->count == 400);
	e = find(a, CT_AP_WAKEUP, 1, 100);
	TEST_TRUE(e && e->count == 400);
	TEST_EQ(a->unfinished, 0);
	TEST_EQ(a->unmatched_ends, 0);
	for (int threads = 1; threads <= 2; threads++) {
		TEST_EQ(ct_analyze_file(p1, NULL, NULL, threads, &sm, &s, err, sizeof(err)), 0);
		TEST_TRUE(s && same_entries(a, s));
		TEST_EQ(sm ? sm->nevents : 0, m->nevents);
		TEST_EQ(sm ? sm->nthreads : 0, 2);
		TEST_EQ(s ? s->unfinished : 1, 0);
		ct_analysis_free(s);
		ct_model_free(sm);
	}
	ct_analysis_free(a);
	ct_model_free(m);
}

static void test_merge(const char *p1, const char *p2)
{
	struct ct_model *m[2];
	struct ct_analysis *a[2], *all;
	struct ct_report_opts o = { .json = 1, .top = -1 };
	const char *paths[2] = { p1, p2 };
	char err[256], *out = NULL;
	size_t outlen = 0;
	FILE *f;
	const struct ct_pentry *e1, *e2;

	build(100, p1);
	build(200, p2);
	for (int i = 0; i < 2; i++)
		if (ct_analyze_file(paths[i], NULL, NULL, 2, &m[i], &a[i], err, sizeof(err)) < 0) {
			printf("Bail out! %s\n", err);
			exit(1);
		}
	all = ct_analysis_merge(a, 2);
	/* the same stack id in two processes: two entries, each with its pid */
	e1 = find(all, CT_AP_SYNC, 1, 100);
	e2 = find(all, CT_AP_SYNC, 1, 200);
	TEST_TRUE(e1 && e2 && e1->count == 400 && e2->count == 400);
	TEST_TRUE(e1 && e2 && e1->proc == 0 && e2->proc == 1);
	/* the same address in two processes: two objects */
	TEST_EQ(all->nobjs, 2);
	TEST_TRUE(all->nobjs == 2 && all->objs[0].addr == all->objs[1].addr &&
		  all->objs[0].pid != all->objs[1].pid);
	TEST_EQ(all->nthreads, 4);
	TEST_TRUE(all->nthreads == 4 && all->threads[0].pid == 100 && all->threads[3].pid == 200);
	o.path = p1;
	o.paths = paths;
	o.npaths = 2;
	f = open_memstream(&out, &outlen);
	ct_report_write_procs(f, &o, (const struct ct_model *const *)m, 2, all);
	fclose(f);
	TEST_TRUE(out && strstr(out, "\"processes\":[{\"pid\":100,\"exe\":\"prog100\","));
	TEST_TRUE(out && strstr(out, "{\"pid\":200,\"exe\":\"prog200\",\"file\":"));
	TEST_TRUE(out && strstr(out, "\"events\":2400,")); /* the totals: 2 x 1200 */
	TEST_TRUE(out && strstr(out, "\"threads\":4,"));
	free(out);
	ct_analysis_free(all);
	ct_model_free(m[0]);
	ct_model_free(m[1]);
}

static void test_corrupt(const char *p1)
{
	struct ct_model *m;
	struct ct_analysis *a;
	char err[256];
	FILE *f;

	build(100, p1);
	file[CT_HEADER_LEN + 40] ^= 0xff; /* inside the first chunk */
	f = fopen(p1, "w");
	if (!f || fwrite(file, 1, flen, f) != flen || fclose(f) != 0)
		exit(1);
	/* skipped, counted; strict: an error naming the offset */
	TEST_EQ(ct_analyze_file(p1, NULL, NULL, 2, &m, &a, err, sizeof(err)), 0);
	TEST_TRUE(m != NULL && a != NULL);
	if (m) {
		TEST_EQ(m->damaged, 1);
		TEST_EQ(m->damage_off, CT_HEADER_LEN);
		ct_analysis_free(a);
		ct_model_free(m);
	}
	ct_model_set_strict(1);
	TEST_EQ(ct_analyze_file(p1, NULL, NULL, 2, &m, &a, err, sizeof(err)), -1);
	ct_model_set_strict(0);
	TEST_TRUE(m == NULL && a == NULL);
	TEST_TRUE(strstr(err, "offset") != NULL);
	TEST_EQ(ct_analyze_file("/nonexistent/x.ctr", NULL, NULL, 2, &m, &a, err, sizeof(err)),
		-1);
}

int main(void)
{
	char d[] = "/tmp/ct_stream.XXXXXX", p1[64], p2[64];

	if (!mkdtemp(d))
		return 1;
	snprintf(p1, sizeof(p1), "%s/a.ctr", d);
	snprintf(p2, sizeof(p2), "%s/b.ctr", d);
	test_lhist();
	test_htab();
	test_stream(p1);
	test_merge(p1, p2);
	test_corrupt(p1);
	unlink(p1);
	unlink(p2);
	rmdir(d);
	return tap_done();
}
