/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format html`: one self-contained page, opened from a file or a CI
 * artifact, that loads nothing: the style sheet and script of analyze/html/ (embedded by
 * the build, see the Makefile rule of html_assets.c) and the data as one JSON document in a
 * <script type="application/json"> element, drawn by the script: the summary line and
 * warnings, a flame graph per profile, per-thread timelines with release->wait arrows, the
 * objects table with each convoy's windows, the threads table, deadlocks and wait chains.
 * The traces, objects, threads and chain links are `report --json`'s records, written by
 * out_json.c (analyze/README.md describes them); the flame graphs and the timeline have
 * their own compact shapes (interned strings, arrays).
 *
 * The file stays under about 10 MB whatever the trace (sizes in the README):
 *   - profiles: the CT_HTML_STACKS entries of most wait time per profile, the rest summed
 *     into one "(other stacks)" entry;
 *   - timeline: the CT_HTML_THREADS threads with the most blocked time; every wait when
 *     there are at most CT_HTML_WAITS, else only the longest waits (those at least as long
 *     as a threshold chosen so that at most CT_HTML_WAITS remain, stated on the page) and,
 *     for every thread, its wait time per profile in CT_HTML_BINS time bins;
 *   - objects and threads tables: the first CT_HTML_ROWS of each (by wait time); each
 *     convoy's series: its first CT_HTML_SERIES windows;
 *   - and when the data still exceeds CT_HTML_MAX_BYTES (deep, distinct stacks), every
 *     limit above is halved until it fits (the page states the limits).
 * The time-range selection of the page filters the tables with the timeline's waits.
 */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "timeline.h"
#include "util.h"

#define CT_HTML_STACKS 1500
#define CT_HTML_WAITS 60000
#define CT_HTML_THREADS 200
#define CT_HTML_BINS 400
#define CT_HTML_ROWS 1000
#define CT_HTML_SERIES 2000
#define CT_HTML_MAX_BYTES (9500u * 1000u) /* the data, escaped; the page adds ~40 kB.
						   * CTRACE_EXPORT_HTML_MAX sets another (tests) */

/* analyze/html/ files, embedded by the build (html_assets.c, generated) */
extern const unsigned char analyze_html_report_js[], analyze_html_report_css[];
extern const unsigned int analyze_html_report_js_len, analyze_html_report_css_len;

/* Interned strings (frame labels, sites) -> index in the "strings" array. */
struct strtab {
	struct sslot { char *s; uint32_t ix; } *slot;
	size_t nslots, n;
	char **list;
	size_t cap;
};

static uint64_t shash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint32_t intern(struct strtab *t, const char *s)
{
	size_t j;

	if ((t->n + 1) * 2 > t->nslots) {
		size_t n = t->nslots ? t->nslots * 2 : 1024;
		struct sslot *ns = ct_xcalloc(n, sizeof(*ns));

		for (size_t i = 0; i < t->nslots; i++) {
			if (!t->slot[i].s)
				continue;
			for (j = shash(t->slot[i].s) & (n - 1); ns[j].s; j = (j + 1) & (n - 1))
				;
			ns[j] = t->slot[i];
		}
		free(t->slot);
		t->slot = ns;
		t->nslots = n;
	}
	for (j = shash(s) & (t->nslots - 1); t->slot[j].s; j = (j + 1) & (t->nslots - 1))
		if (!strcmp(t->slot[j].s, s))
			return t->slot[j].ix;
	ct_grow(&t->list, &t->cap, t->n + 1, sizeof(*t->list));
	t->list[t->n] = ct_xstrdup(s);
	t->slot[j].s = t->list[t->n];
	t->slot[j].ix = (uint32_t)t->n;
	return (uint32_t)t->n++;
}

static void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->list[i]);
	free(t->list);
	free(t->slot);
}

static const char *frame_label(const struct ct_frame *f, char *buf, size_t cap)
{
	if (f->file)
		snprintf(buf, cap, "%s (%s:%d)", f->func, ct_basename(f->file), f->line);
	else if (f->module && strcmp(f->module, "?"))
		snprintf(buf, cap, "%s (%s)", f->func, ct_basename(f->module));
	else
		snprintf(buf, cap, "%s", f->func);
	return buf;
}

/* A histogram of wait durations with 8 buckets per power of two (3 bits of mantissa), so
 * that the decimation threshold keeps close to CT_HTML_WAITS waits. */
#define HBUCKETS (64 * 8)

static unsigned hbucket(uint64_t d)
{
	unsigned e = ct_hist_bucket(d);

	return e < 3 ? e * 8 : e * 8 + (unsigned)((d >> (e - 3)) & 7);
}

/* The smallest duration in bucket b. */
static uint64_t hbucket_min(unsigned b)
{
	unsigned e = b / 8, m = b % 8;

	return e < 3 ? (e ? 1ull << e : 0) : (8ull + m) << (e - 3);
}

/* A thread of the timeline: (input, thread index) -> row, or -1 when left out. */
struct h {
	const struct ct_output_ctx *c;
	struct ct_json *j;
	struct strtab st;
	uint64_t t0;            /* the earliest analysed window start */
	uint64_t t1;
	int **row;              /* [input][thr] -> timeline row, -1 */
	size_t nrows;
	/* pass 1 */
	uint64_t nwaits;        /* waits of the rows */
	uint64_t hist[HBUCKETS];/* their durations, 8 buckets per power of two */
	/* pass 2 */
	uint64_t min_ns;        /* waits kept individually: at least this long */
	int decimated;
	uint64_t kept;
	uint64_t (*bins)[CT_AP_SLEEP + 1]; /* [row * BINS + bin][profile] ns, when decimated */
	size_t k;               /* input index being walked */
	struct ct_timeline **tl;/* each input's waits, sorted once for every walk */
	int pass;
	/* the limits of this attempt: the CT_HTML_* values, halved per attempt that came out
	 * over CT_HTML_MAX_BYTES */
	size_t lim_stacks, lim_waits, lim_rows, lim_threads, lim_series;
};

static uint64_t rel(const struct h *h, uint64_t t)
{
	return t > h->t0 ? t - h->t0 : 0;
}

static void on_wait(void *arg, const struct ct_tl_wait *w)
{
	struct h *h = arg;
	const struct ct_export_input *x = &h->c->in[h->k];
	int row = w->thr < x->m->nthreads ? h->row[h->k][w->thr] : -1;
	uint64_t d = w->end_ns - w->begin_ns;
	char site[512];

	if (row < 0)
		return;
	if (h->pass == 1) {
		h->nwaits++;
		h->hist[hbucket(d)]++;
		return;
	}
	if (h->decimated) {
		/* spread its time over the bins it covers */
		uint64_t span = h->t1 > h->t0 ? h->t1 - h->t0 : 1;
		uint64_t b = rel(h, w->begin_ns), e = rel(h, w->end_ns);
		uint64_t bw = span / CT_HTML_BINS + 1;

		for (uint64_t bin = b / bw; bin < CT_HTML_BINS && bin * bw < e; bin++) {
			uint64_t lo = bin * bw > b ? bin * bw : b, hi = (bin + 1) * bw < e ? (bin + 1) * bw : e;

			if (w->profile <= CT_AP_SLEEP)
				h->bins[(size_t)row * CT_HTML_BINS + bin][w->profile] += hi - lo;
		}
		if (d < h->min_ns)
			return;
	}
	h->kept++;
	ct_json_arr_begin(h->j);
	ct_json_u64(h->j, (uint64_t)row);
	ct_json_u64(h->j, intern(&h->st, ct_kind_name(w->kind)));
	ct_json_u64(h->j, w->profile);
	ct_json_u64(h->j, rel(h, w->begin_ns));
	ct_json_u64(h->j, d);
	ct_json_u64(h->j, intern(&h->st, ct_export_site(x, w->stack, site, sizeof(site))));
	ct_json_u64(h->j, w->syscall ? 0 : w->obj);
	if (w->has_waker && w->waker_thr < x->m->nthreads && h->row[h->k][w->waker_thr] >= 0) {
		ct_json_i64(h->j, h->row[h->k][w->waker_thr]);
		ct_json_u64(h->j, rel(h, w->waker_ts));
	} else {
		ct_json_i64(h->j, -1);
		ct_json_u64(h->j, 0);
	}
	ct_json_u64(h->j, (uint64_t)w->unfinished);
	ct_json_arr_end(h->j);
}

/* The output context of input k, for the JSON document's records (out_json.c), with the
 * convoy series cut at lim_series windows. */
static struct ct_output_ctx json_ctx(const struct h *h, size_t k, struct ct_report_opts *ro)
{
	const struct ct_export_input *x = &h->c->in[k];

	*ro = (struct ct_report_opts){ .top = -1, .path = x->path, .max_series = h->lim_series };
	return (struct ct_output_ctx){ .m = x->m, .a = x->a, .fr = x->fr, .o = ro };
}

/* Each input's "trace" record of report --json, with its file name and warnings. */
static void write_summary(struct h *h)
{
	struct ct_json *j = h->j;
	char warn[1024];

	ct_json_key(j, "traces");
	ct_json_arr_begin(j);
	for (size_t k = 0; k < h->c->nin; k++) {
		struct ct_report_opts ro;
		struct ct_output_ctx oc = json_ctx(h, k, &ro);

		ct_json_obj_begin(j);
		ct_out_json_trace_members(&oc, j);
		ct_json_kv_str(j, "path", ct_basename(h->c->in[k].path));
		ct_json_kv_str(j, "warning", *ct_export_warnings(&h->c->in[k], warn, sizeof(warn)) ?
			       warn : NULL);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

static void write_profiles(struct h *h)
{
	struct ct_json *j = h->j;
	char lab[640];

	ct_json_key(j, "profiles");
	ct_json_arr_begin(j);
	for (int p = 1; p < CT_AP_MAX; p++) {
		uint64_t total = 0, count = 0, other_t = 0, other_c = 0, kept = 0;

		if (!ct_export_wants(h->c, p))
			continue;
		ct_json_obj_begin(j);
		ct_json_kv_str(j, "name", ct_aprofile_name(p));
		ct_json_key(j, "stacks");
		ct_json_arr_begin(j);
		for (size_t k = 0; k < h->c->nin; k++) {
			const struct ct_export_input *x = &h->c->in[k];
			size_t n;
			const struct ct_pentry *e = ct_analysis_profile(x->a, p, &n);

			for (size_t i = 0; i < n; i++) {
				const struct ct_frame *f;
				size_t nf;

				total += e[i].total_ns;
				count += e[i].count;
				if (kept >= h->lim_stacks) {
					other_t += e[i].total_ns;
					other_c += e[i].count;
					continue;
				}
				kept++;
				nf = ct_export_entry_frames(x, &e[i], &f);
				ct_json_obj_begin(j);
				ct_json_kv_u64(j, "v", e[i].total_ns);
				ct_json_kv_u64(j, "c", e[i].count);
				ct_json_kv_u64(j, "max", e[i].max_ns);
				ct_json_kv_u64(j, "kind", intern(&h->st, ct_kind_name(e[i].kind)));
				ct_json_key(j, "f"); /* root first */
				ct_json_arr_begin(j);
				if (h->c->nin > 1) {
					snprintf(lab, sizeof(lab), "%s[%" PRIu32 "]", x->m->hdr.exe[0] ?
						 ct_basename(x->m->hdr.exe) : "?", x->m->hdr.pid);
					ct_json_u64(j, intern(&h->st, lab));
				}
				for (size_t q = nf; q-- > 0;)
					ct_json_u64(j, intern(&h->st, frame_label(&f[q], lab, sizeof(lab))));
				if (!nf)
					ct_json_u64(j, intern(&h->st, "(no stack)"));
				ct_json_arr_end(j);
				ct_json_obj_end(j);
			}
		}
		if (other_c) {
			ct_json_obj_begin(j);
			ct_json_kv_u64(j, "v", other_t);
			ct_json_kv_u64(j, "c", other_c);
			ct_json_kv_u64(j, "max", 0);
			ct_json_kv_u64(j, "kind", intern(&h->st, "?"));
			ct_json_key(j, "f");
			ct_json_arr_begin(j);
			ct_json_u64(j, intern(&h->st, "(other stacks)"));
			ct_json_arr_end(j);
			ct_json_obj_end(j);
		}
		ct_json_arr_end(j);
		ct_json_kv_u64(j, "total_ns", total);
		ct_json_kv_u64(j, "count", count);
		ct_json_kv_u64(j, "dropped_stacks", other_c ? 1 : 0);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

/* The objects, threads, deadlocks and wait chains: report --json's records, the first
 * lim_rows of each per input. */
static void write_tables(struct h *h)
{
	struct ct_json *j = h->j;

	ct_json_key(j, "objects");
	ct_json_arr_begin(j);
	for (size_t k = 0; k < h->c->nin; k++) {
		struct ct_report_opts ro;
		struct ct_output_ctx oc = json_ctx(h, k, &ro);

		ct_out_json_objects(&oc, j, h->lim_rows);
	}
	ct_json_arr_end(j);
	ct_json_key(j, "threads");
	ct_json_arr_begin(j);
	for (size_t k = 0; k < h->c->nin; k++) {
		struct ct_report_opts ro;
		struct ct_output_ctx oc = json_ctx(h, k, &ro);

		ct_out_json_threads(&oc, j, h->lim_rows);
	}
	ct_json_arr_end(j);
	ct_json_key(j, "deadlocks");
	ct_json_arr_begin(j);
	for (size_t k = 0; k < h->c->nin; k++) {
		const struct ct_analysis *a = h->c->in[k].a;
		struct ct_report_opts ro;
		struct ct_output_ctx oc = json_ctx(h, k, &ro);

		for (size_t d = 0; d < a->ndeadlocks && d < h->lim_rows; d++) {
			ct_json_arr_begin(j);
			for (size_t i = 0; i < a->deadlocks[d].n; i++)
				ct_out_json_link(&oc, j, &a->deadlocks[d].links[i]);
			ct_json_arr_end(j);
		}
	}
	ct_json_arr_end(j);
	ct_json_key(j, "chains");
	ct_json_arr_begin(j);
	for (size_t k = 0; k < h->c->nin; k++) {
		const struct ct_analysis *a = h->c->in[k].a;
		struct ct_report_opts ro;
		struct ct_output_ctx oc = json_ctx(h, k, &ro);

		for (size_t i = 0; i < a->nchains && i < h->lim_rows; i++)
			ct_out_json_link(&oc, j, &a->chains[i]);
	}
	ct_json_arr_end(j);
}

/* Blocked time of a thread over the waiter profiles, for choosing the timeline's rows. */
static uint64_t blocked(const struct ct_thread_info *t)
{
	uint64_t s = 0;

	for (int p = 1; p < CT_P_MAX; p++)
		s += t->blocked_ns[p];
	return s;
}

static int cmp_desc(const void *pa, const void *pb)
{
	const uint64_t *a = pa, *b = pb;

	return a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : (a[1] > b[1]) - (a[1] < b[1]);
}

/* Chooses the timeline's threads: all, or the CT_HTML_THREADS most blocked ones. */
static void choose_rows(struct h *h)
{
	size_t n = 0, total = 0;
	uint64_t (*v)[2];

	h->row = ct_xcalloc(h->c->nin, sizeof(*h->row));
	for (size_t k = 0; k < h->c->nin; k++) {
		h->row[k] = ct_xmalloc((h->c->in[k].m->nthreads + 1) * sizeof(int));
		for (size_t t = 0; t <= h->c->in[k].m->nthreads; t++)
			h->row[k][t] = -1;
		total += h->c->in[k].a->nthreads;
	}
	v = ct_xcalloc(total + 1, sizeof(*v));
	for (size_t k = 0; k < h->c->nin; k++) {
		const struct ct_analysis *a = h->c->in[k].a;

		for (size_t i = 0; i < a->nthreads; i++) {
			v[n][0] = blocked(&a->threads[i]);
			v[n][1] = ((uint64_t)k << 32) | a->threads[i].thr;
			n++;
		}
	}
	if (n > h->lim_threads) {
		qsort(v, n, sizeof(*v), cmp_desc);
		n = h->lim_threads;
	}
	/* rows in input and thread order */
	for (size_t i = 0; i < n; i++)
		h->row[v[i][1] >> 32][(uint32_t)v[i][1]] = 0;
	for (size_t k = 0; k < h->c->nin; k++)
		for (size_t t = 0; t < h->c->in[k].m->nthreads; t++)
			if (h->row[k][t] == 0)
				h->row[k][t] = (int)h->nrows++ + 1;
	for (size_t k = 0; k < h->c->nin; k++)
		for (size_t t = 0; t < h->c->in[k].m->nthreads; t++)
			if (h->row[k][t] > 0)
				h->row[k][t]--;
	free(v);
}

static void write_timeline(struct h *h)
{
	struct ct_json *j = h->j;
	size_t nthr_total = 0;

	for (size_t k = 0; k < h->c->nin; k++)
		nthr_total += h->c->in[k].m->nthreads;
	/* pass 1: how many waits, how long */
	h->pass = 1;
	for (h->k = 0; h->k < h->c->nin; h->k++)
		ct_timeline_walk(h->tl[h->k], on_wait, h);
	if (h->nwaits > h->lim_waits) {
		uint64_t above = 0;
		int b = HBUCKETS - 1;

		/* the shortest bucket bound that keeps at most CT_HTML_WAITS waits */
		while (b > 0 && above + h->hist[b] <= h->lim_waits)
			above += h->hist[b--];
		h->min_ns = b + 1 < HBUCKETS ? hbucket_min((unsigned)b + 1) : UINT64_MAX;
		h->decimated = 1;
		h->bins = ct_xcalloc(h->nrows * CT_HTML_BINS + 1, sizeof(*h->bins));
	}
	ct_json_key(j, "timeline");
	ct_json_obj_begin(j);
	ct_json_kv_u64(j, "span_ns", h->t1 - h->t0);
	ct_json_key(j, "rows");
	ct_json_arr_begin(j);
	for (size_t r = 0; r < h->nrows; r++)
		for (size_t k = 0; k < h->c->nin; k++)
			for (size_t t = 0; t < h->c->in[k].m->nthreads; t++) {
				const struct ct_mthread *th = &h->c->in[k].m->threads[t];

				if (h->row[k][t] != (int)r)
					continue;
				ct_json_arr_begin(j);
				ct_json_u64(j, h->c->in[k].m->hdr.pid);
				ct_json_u64(j, th->tid);
				ct_json_str(j, th->name);
				ct_json_arr_end(j);
			}
	ct_json_arr_end(j);
	ct_json_kv_u64(j, "threads_total", nthr_total);
	ct_json_kv_u64(j, "waits_total", h->nwaits);
	ct_json_key(j, "waits");
	ct_json_arr_begin(j);
	h->pass = 2;
	for (h->k = 0; h->k < h->c->nin; h->k++)
		ct_timeline_walk(h->tl[h->k], on_wait, h);
	ct_json_arr_end(j);
	ct_json_kv_u64(j, "waits_kept", h->kept);
	ct_json_kv_u64(j, "min_ns", h->decimated ? h->min_ns : 0);
	ct_json_key(j, "bins");
	if (!h->decimated) {
		ct_json_null(j);
	} else {
		ct_json_obj_begin(j);
		ct_json_kv_u64(j, "n", CT_HTML_BINS);
		ct_json_key(j, "ns");  /* [row][bin] -> [sync, net, syscall, sleep] ns */
		ct_json_arr_begin(j);
		for (size_t r = 0; r < h->nrows; r++) {
			ct_json_arr_begin(j);
			for (size_t b = 0; b < CT_HTML_BINS; b++) {
				const uint64_t *v = h->bins[r * CT_HTML_BINS + b];

				if (!v[1] && !v[2] && !v[3] && !v[4]) {
					ct_json_u64(j, 0);
					continue;
				}
				ct_json_arr_begin(j);
				for (int p = CT_AP_SYNC; p <= CT_AP_SLEEP; p++)
					ct_json_u64(j, v[p]);
				ct_json_arr_end(j);
			}
			ct_json_arr_end(j);
		}
		ct_json_arr_end(j);
		ct_json_obj_end(j);
	}
	ct_json_obj_end(j);
}

/* Writes buf to f with every '<' as \u003c (only inside JSON strings, where it is the same
 * character), so that no "</script>" can end the data element early. */
static void put_data(FILE *f, const char *buf, size_t n)
{
	size_t s = 0;

	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '<')
			continue;
		fwrite(buf + s, 1, i - s, f);
		fputs("\\u003c", f);
		s = i + 1;
	}
	fwrite(buf + s, 1, n - s, f);
}

/* Frees what one attempt built. */
static void attempt_free(struct h *h)
{
	if (h->row)
		for (size_t k = 0; k < h->c->nin; k++)
			free(h->row[k]);
	free(h->row);
	free(h->bins);
	strtab_free(&h->st);
}

/* One attempt at the data document with the limits of shift (each halved shift times):
 * the JSON into *buf (malloc'ed), its length returned. */
static size_t build_data(const struct ct_output_ctx *c, struct h *h, unsigned shift,
			 struct ct_timeline **tl, char **buf)
{
	struct ct_json j;
	size_t len = 0;
	FILE *mf;

	*h = (struct h){ .c = c, .j = &j, .tl = tl };
	h->lim_stacks = (CT_HTML_STACKS >> shift) + 1;
	h->lim_waits = (CT_HTML_WAITS >> shift) + 1;
	h->lim_rows = (CT_HTML_ROWS >> shift) + 1;
	h->lim_threads = (CT_HTML_THREADS >> shift) + 1;
	h->lim_series = (CT_HTML_SERIES >> shift) + 1;
	h->t0 = UINT64_MAX;
	for (size_t k = 0; k < c->nin; k++) {
		h->t0 = c->in[k].a->from_ts < h->t0 ? c->in[k].a->from_ts : h->t0;
		h->t1 = c->in[k].a->to_ts > h->t1 ? c->in[k].a->to_ts : h->t1;
	}
	if (h->t1 < h->t0)
		h->t1 = h->t0;
	*buf = NULL;
	if (!(mf = open_memstream(buf, &len)))
		ct_die(CT_EXIT_USAGE, "export: out of memory");
	choose_rows(h);
	ct_json_init(&j, mf);
	ct_json_obj_begin(&j);
	ct_json_kv_u64(&j, "version", 1);
	write_summary(h);
	write_profiles(h);
	write_tables(h);
	write_timeline(h);
	ct_json_key(&j, "limits");
	ct_json_obj_begin(&j);
	ct_json_kv_u64(&j, "stacks", h->lim_stacks);
	ct_json_kv_u64(&j, "waits", h->lim_waits);
	ct_json_kv_u64(&j, "threads", h->lim_threads);
	ct_json_kv_u64(&j, "rows", h->lim_rows);
	ct_json_kv_u64(&j, "series", h->lim_series);
	ct_json_obj_end(&j);
	ct_json_key(&j, "strings");
	ct_json_arr_begin(&j);
	for (size_t i = 0; i < h->st.n; i++)
		ct_json_str(&j, h->st.list[i]);
	ct_json_arr_end(&j);
	ct_json_obj_end(&j);
	ct_json_end(&j);
	if (fclose(mf) != 0)
		ct_die(CT_EXIT_USAGE, "export: out of memory");
	return len;
}

/* The bytes put_data writes for buf. */
static size_t data_bytes(const char *buf, size_t n)
{
	size_t out = n;

	for (size_t i = 0; i < n; i++)
		out += buf[i] == '<' ? 5 : 0;
	return out;
}

int ct_export_html(const struct ct_output_ctx *c, FILE *f)
{
	struct h h;
	char *buf;
	size_t len;
	char title[160];
	unsigned shift = 0;
	size_t max = CT_HTML_MAX_BYTES;
	const char *knob = getenv("CTRACE_EXPORT_HTML_MAX"); /* tests: a smaller budget */
	struct ct_timeline **tl = ct_xcalloc(c->nin, sizeof(*tl));

	if (knob && *knob)
		max = (size_t)strtoull(knob, NULL, 10);
	/* each input's waits read and sorted once, for both passes of every attempt (with
	 * several inputs, held in the temporary file rather than in memory) */
	for (size_t k = 0; k < c->nin; k++)
		tl[k] = ct_timeline_open(c->in[k].path, c->in[k].m, c->in[k].a, c->nin > 1);

	/* within the size budget: halve the limits until the data fits (stacks, waits and
	 * rows shrink; a trace needs at most a few halvings) */
	for (;;) {
		len = build_data(c, &h, shift, tl, &buf);
		if (data_bytes(buf, len) <= max || shift >= 10)
			break;
		free(buf);
		attempt_free(&h);
		shift++;
	}

	snprintf(title, sizeof(title), "ctrace: %s", c->in[0].m->hdr.exe[0] ?
		 ct_basename(c->in[0].m->hdr.exe) : ct_basename(c->in[0].path));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n<title>", f);
	for (const char *s = title; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
	fputs("</title>\n<style>\n", f);
	fwrite(analyze_html_report_css, 1, analyze_html_report_css_len, f);
	fputs("</style>\n</head>\n<body>\n<div id=\"app\"></div>\n"
	      "<script type=\"application/json\" id=\"ctrace-data\">", f);
	put_data(f, buf, len);
	fputs("</script>\n<script>\n", f);
	fwrite(analyze_html_report_js, 1, analyze_html_report_js_len, f);
	fputs("</script>\n</body>\n</html>\n", f);
	free(buf);
	attempt_free(&h);
	for (size_t k = 0; k < c->nin; k++)
		ct_timeline_close(tl[k]);
	free(tl);
	return ferror(f) ? -1 : 0;
}
