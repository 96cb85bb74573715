/* SPDX-License-Identifier: MIT */
/*
 * `ctrace diff [--json] [--top N] BASE NEW`: what grew and what shrank between two traces,
 * like `pprof -base`. Both traces are analysed (analysis.h); profile entries are matched
 * per wait site, keyed by (profile, kind, the func/file/line sequence of the symbolized
 * frames) since addresses move between builds and runs; objects are matched by (kind,
 * func and line of frames[0] of the stack that first named them), since their addresses
 * differ between runs (objects sharing a key are summed). Rows are sorted by |delta|
 * descending. --from/--to/--thread (options.h) restrict both analyses, as in report.
 * Called from ctrace.c; the key and table helpers (commands.h) also from
 * tests/unit/test_check.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "frames.h"
#include "json.h"
#include "model.h"
#include "options.h"
#include "util.h"

#define TEXT_TOP_DEFAULT 10
#define TEXT_FRAMES 4

enum { OPT_JSON = CT_OPT_CMD, OPT_TOP };

static const struct ct_opt diff_opts[] = {
	{ "json", OPT_JSON, 0, NULL, "one JSON object: {base: {file, duration_ns, files}, new: "
	  "{...}, "
	  "summary:\n{sync: {base_total_ns, new_total_ns, delta_ns, kinds: [{kind,\nbase_count, "
	  "new_count, base_total_ns, new_total_ns, delta_ns}]},\nnet: ..., syscall: ..., "
	  "sleep: ...}, sites: [\n{profile, kind, frames, base_count, new_count, base_total_ns,\n"
	  "new_total_ns, delta_ns}], objects: [{kind, frames,\n"
	  "base_wait_total_ns, new_wait_total_ns, delta_ns, base_contended,\n"
	  "new_contended, base_objects, new_objects}]}", NULL, NULL },
	{ "top", OPT_TOP, 1, "N", "at most N rows per list (text default 10, JSON all)", NULL,
	  NULL },
};

static const struct ct_opt_table diff_tables[] = {
	{ NULL, 8, diff_opts, CT_OPTS_N(diff_opts) },
	{ "both traces are analysed under the same filter:", 14, ct_filter_opts,
	  CT_NFILTER_OPTS },
};

static const struct ct_cmd_opts diff_cmd = {
	"diff",
	"usage: ctrace diff [--json] [--top N] [--from FROM] [--to TO] [--thread T] BASE NEW\n"
	"       ctrace diff [OPTIONS] BASE... : NEW...\n\n"
	"What grew and what shrank from trace BASE to trace NEW (like pprof -base); a\n"
	"side of several traces (the processes of one program, ':' between the sides)\n"
	"is summed over them:\n"
	"  summary  blocked time per profile and kind on each side, and its change\n"
	"  sites    profile entries matched by profile, kind and the symbolized stack\n"
	"           (function, file and line of every frame: addresses may move between\n"
	"           builds); count and total wait on each side, delta = new - base\n"
	"  objects  objects matched by kind and the function and line of the first\n"
	"           frame of the stack that first named them (addresses differ between\n"
	"           runs; objects sharing that key are summed): waits and wait total\n"
	"Both lists are sorted by |delta| descending.\n\n",
	diff_tables, CT_OPTS_N(diff_tables), NULL, 0,
};

/* ---- keys and the table ------------------------------------------------------------ */

/* The main executable of the trace whose frames are being keyed (NULL: unknown): its
 * frames are keyed as "<exe>" whatever its file is called (./server vs ./server_fixed). */
static const char *key_exe;

static void key_frame(FILE *k, const struct ct_frame *f)
{
	const char *mod = !f->module ? "?" : key_exe && !strcmp(f->module, key_exe) ? "<exe>" :
			  ct_basename(f->module);

	if (f->file)
		fprintf(k, "%s|%s:%d;", f->func ? f->func : "??", ct_basename(f->file), f->line);
	else if (f->func && strcmp(f->func, "??"))
		fprintf(k, "%s@%s;", f->func, mod);
	else /* no symbol: the module and the offset in it */
		fprintf(k, "%s+0x%" PRIx64 ";", mod, f->offset);
}

char *ct_diff_frames_key(const struct ct_frame *f, size_t n)
{
	char *s = NULL;
	size_t len = 0;
	FILE *k = open_memstream(&s, &len);

	if (!k)
		ct_die(CT_EXIT_USAGE, "out of memory");
	for (size_t i = 0; i < n; i++)
		key_frame(k, &f[i]);
	if (fclose(k) != 0 || !s)
		ct_die(CT_EXIT_USAGE, "out of memory");
	return s;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void rehash(struct ct_diff_table *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 64;

	free(t->slots);
	t->slots = ct_xcalloc(ns, sizeof(*t->slots));
	t->nslots = ns;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = (size_t)hash_str(t->rows[i].key) & (ns - 1);

		while (t->slots[j])
			j = (j + 1) & (ns - 1);
		t->slots[j] = i + 1;
	}
}

void ct_diff_add(struct ct_diff_table *t, int side, int profile, unsigned kind,
		 const struct ct_frame *f, size_t n, size_t nkey, uint64_t count,
		 uint64_t total)
{
	char *fk = ct_diff_frames_key(f, nkey < n ? nkey : n), *key;
	struct ct_diff_row *r = NULL;
	size_t j;

	key = ct_xmalloc(strlen(fk) + 48);
	sprintf(key, "%d/%u/%s", profile, kind, fk);
	free(fk);
	if ((t->n + 1) * 2 > t->nslots)
		rehash(t);
	j = (size_t)hash_str(key) & (t->nslots - 1);
	while (t->slots[j]) {
		if (!strcmp(t->rows[t->slots[j] - 1].key, key)) {
			r = &t->rows[t->slots[j] - 1];
			break;
		}
		j = (j + 1) & (t->nslots - 1);
	}
	if (!r) {
		ct_grow(&t->rows, &t->cap, t->n + 1, sizeof(*t->rows));
		r = &t->rows[t->n++];
		memset(r, 0, sizeof(*r));
		r->key = key;
		r->profile = profile;
		r->kind = kind;
		r->frames = f;
		r->nframes = n;
		t->slots[j] = t->n;
	} else {
		free(key);
	}
	side = side ? 1 : 0;
	r->count[side] += count;
	r->total[side] += total;
	r->objects[side]++;
}

static uint64_t absdelta(const struct ct_diff_row *r)
{
	return r->delta < 0 ? (uint64_t)(-(r->delta + 1)) + 1 : (uint64_t)r->delta;
}

static int cmp_row(const void *x, const void *y)
{
	const struct ct_diff_row *a = x, *b = y;
	uint64_t da = absdelta(a), db = absdelta(b);

	if (da != db)
		return da < db ? 1 : -1;
	if (a->delta != b->delta)
		return a->delta < b->delta ? 1 : -1; /* growth first */
	if (a->profile != b->profile)
		return a->profile < b->profile ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->key, b->key);
}

void ct_diff_finish(struct ct_diff_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct ct_diff_row *r = &t->rows[i];

		if (r->total[1] >= r->total[0])
			r->delta = r->total[1] - r->total[0] > (uint64_t)INT64_MAX ?
				   INT64_MAX : (int64_t)(r->total[1] - r->total[0]);
		else
			r->delta = r->total[0] - r->total[1] > (uint64_t)INT64_MAX ?
				   INT64_MIN : -(int64_t)(r->total[0] - r->total[1]);
	}
	if (t->n)
		qsort(t->rows, t->n, sizeof(*t->rows), cmp_row);
	free(t->slots); /* row indices moved: no more lookups */
	t->slots = NULL;
	t->nslots = 0;
}

void ct_diff_table_free(struct ct_diff_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->rows[i].key);
	free(t->rows);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* ---- the two traces ------------------------------------------------------------------ */

/* One side: a trace, or several traces of one program (its processes), summed by site. */
struct side {
	const char *path;         /* the first trace's name */
	size_t n;                 /* traces */
	const char **paths;
	struct ct_model **ms;
	struct ct_analysis **as;
	struct ct_frames **frs;
	uint64_t duration_ns;     /* from the first trace's start to the last one's end */
	/* the summary: count and total per waiter profile and kind, over its traces */
	uint64_t sum_count[CT_AP_HOLDER][CT_K_MAX], sum_total[CT_AP_HOLDER][CT_K_MAX];
};

/* The summary's totals of side s (every entry of its waiter profiles). */
static void summarise(struct side *s)
{
	for (size_t k = 0; k < s->n; k++)
		for (size_t i = 0; i < s->as[k]->nentries; i++) {
			const struct ct_pentry *e = &s->as[k]->entries[i];

			if (e->profile >= CT_AP_SYNC && e->profile < CT_AP_HOLDER &&
			    e->kind < CT_K_MAX) {
				s->sum_count[e->profile][e->kind] += e->count;
				s->sum_total[e->profile][e->kind] += e->total_ns;
			}
		}
}

static uint64_t profile_total(const struct side *s, int p)
{
	uint64_t t = 0;

	for (unsigned k = 0; k < CT_K_MAX; k++)
		t += s->sum_total[p][k];
	return t;
}

static void load(struct side *s, const char *const *paths, size_t n, const struct ct_filter *f0,
		 uint64_t origin)
{
	struct ct_filter sf = *f0, *f = &sf; /* the side's window from its first start */
	char err[512];
	uint64_t t0 = UINT64_MAX, t1 = 0;

	sf.origin_ts = origin;
	s->path = paths[0];
	s->n = n;
	s->paths = ct_xcalloc(n, sizeof(*s->paths));
	s->ms = ct_xcalloc(n, sizeof(*s->ms));
	s->as = ct_xcalloc(n, sizeof(*s->as));
	s->frs = ct_xcalloc(n, sizeof(*s->frs));
	for (size_t k = 0; k < n; k++) {
		s->paths[k] = paths[k];
		if (ct_analyze_file(paths[k], f, NULL, 2, &s->ms[k], &s->as[k], err,
				    sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "%s: %s", paths[k], err);
		if (s->ms[k]->start_ts < t0)
			t0 = s->ms[k]->start_ts;
		if (s->ms[k]->end_ts > t1)
			t1 = s->ms[k]->end_ts;
	}
	s->duration_ns = t1 > t0 ? t1 - t0 : 0;
	summarise(s);
}

static void collect_one(const struct ct_analysis *a, struct ct_frames *fr, int side,
			struct ct_diff_table *sites, struct ct_diff_table *objs);

static void collect(struct side *s, int side, struct ct_diff_table *sites,
		    struct ct_diff_table *objs)
{
	for (size_t k = 0; k < s->n; k++) {
		key_exe = NULL;
		for (size_t i = 0; i < s->ms[k]->nmods; i++)
			if (s->ms[k]->mods[i].is_main)
				key_exe = s->ms[k]->mods[i].path;
		collect_one(s->as[k], s->frs[k], side, sites, objs);
	}
	key_exe = NULL;
}

static void collect_one(const struct ct_analysis *a, struct ct_frames *fr, int side,
			struct ct_diff_table *sites, struct ct_diff_table *objs)
{
	for (size_t i = 0; i < a->nentries; i++) {
		const struct ct_pentry *e = &a->entries[i];
		const struct ct_frame *f;
		size_t n = ct_frames_entry(fr, e, &f, NULL);

		ct_diff_add(sites, side, e->profile, e->kind, f, n, n, e->count, e->total_ns);
	}
	for (size_t i = 0; i < a->nobjs; i++) {
		const struct ct_object *o = &a->objs[i];
		const struct ct_frame *f;
		size_t n = ct_frames_stack(fr, o->first_stack, &f, NULL);

		ct_diff_add(objs, side, -1, o->kind, f, n, 1, o->contended, o->wait_total_ns);
	}
}

/* ---- output -------------------------------------------------------------------------- */

static void json_side(struct ct_json *j, const char *key, const struct side *s)
{
	ct_json_key(j, key);
	ct_json_obj_begin(j);
	ct_json_kv_str(j, "file", s->path);
	ct_json_kv_u64(j, "duration_ns", s->duration_ns);
	ct_json_key(j, "files");
	ct_json_arr_begin(j);
	for (size_t k = 0; k < s->n; k++)
		ct_json_str(j, s->paths[k]);
	ct_json_arr_end(j);
	ct_json_obj_end(j);
}

static void json(const struct side *s, const struct ct_diff_table *sites,
		 const struct ct_diff_table *objs, long top)
{
	struct ct_json j;

	ct_json_init(&j, stdout);
	ct_json_obj_begin(&j);
	json_side(&j, "base", &s[0]);
	json_side(&j, "new", &s[1]);
	ct_json_key(&j, "summary");
	ct_json_obj_begin(&j);
	for (int p = CT_AP_SYNC; p < CT_AP_HOLDER; p++) {
		uint64_t b = profile_total(&s[0], p), n = profile_total(&s[1], p);

		ct_json_key(&j, ct_aprofile_name(p));
		ct_json_obj_begin(&j);
		ct_json_kv_u64(&j, "base_total_ns", b);
		ct_json_kv_u64(&j, "new_total_ns", n);
		ct_json_key(&j, "delta_ns");
		ct_json_i64(&j, (int64_t)(n - b));
		ct_json_key(&j, "kinds");
		ct_json_arr_begin(&j);
		for (unsigned k = 0; k < CT_K_MAX; k++) {
			if (!s[0].sum_count[p][k] && !s[1].sum_count[p][k])
				continue;
			ct_json_obj_begin(&j);
			ct_json_kv_str(&j, "kind", ct_kind_name(k));
			ct_json_kv_u64(&j, "base_count", s[0].sum_count[p][k]);
			ct_json_kv_u64(&j, "new_count", s[1].sum_count[p][k]);
			ct_json_kv_u64(&j, "base_total_ns", s[0].sum_total[p][k]);
			ct_json_kv_u64(&j, "new_total_ns", s[1].sum_total[p][k]);
			ct_json_key(&j, "delta_ns");
			ct_json_i64(&j, (int64_t)(s[1].sum_total[p][k] - s[0].sum_total[p][k]));
			ct_json_obj_end(&j);
		}
		ct_json_arr_end(&j);
		ct_json_obj_end(&j);
	}
	ct_json_obj_end(&j);
	ct_json_key(&j, "sites");
	ct_json_arr_begin(&j);
	for (size_t i = 0; i < sites->n && (top < 0 || (long)i < top); i++) {
		const struct ct_diff_row *r = &sites->rows[i];

		ct_json_obj_begin(&j);
		ct_json_kv_str(&j, "profile", ct_aprofile_name(r->profile));
		ct_json_kv_str(&j, "kind", ct_kind_name(r->kind));
		ct_frames_json_kv(&j, "frames", r->frames, r->nframes);
		ct_json_kv_u64(&j, "base_count", r->count[0]);
		ct_json_kv_u64(&j, "new_count", r->count[1]);
		ct_json_kv_u64(&j, "base_total_ns", r->total[0]);
		ct_json_kv_u64(&j, "new_total_ns", r->total[1]);
		ct_json_key(&j, "delta_ns");
		ct_json_i64(&j, r->delta);
		ct_json_obj_end(&j);
	}
	ct_json_arr_end(&j);
	ct_json_key(&j, "objects");
	ct_json_arr_begin(&j);
	for (size_t i = 0; i < objs->n && (top < 0 || (long)i < top); i++) {
		const struct ct_diff_row *r = &objs->rows[i];

		ct_json_obj_begin(&j);
		ct_json_kv_str(&j, "kind", ct_kind_name(r->kind));
		ct_frames_json_kv(&j, "frames", r->frames, r->nframes);
		ct_json_kv_u64(&j, "base_wait_total_ns", r->total[0]);
		ct_json_kv_u64(&j, "new_wait_total_ns", r->total[1]);
		ct_json_key(&j, "delta_ns");
		ct_json_i64(&j, r->delta);
		ct_json_kv_u64(&j, "base_contended", r->count[0]);
		ct_json_kv_u64(&j, "new_contended", r->count[1]);
		ct_json_kv_u64(&j, "base_objects", r->objects[0]);
		ct_json_kv_u64(&j, "new_objects", r->objects[1]);
		ct_json_obj_end(&j);
	}
	ct_json_arr_end(&j);
	ct_json_obj_end(&j);
	ct_json_end(&j);
}

/* "+1.20ms", "-850ns", "0" */
static char *fmt_delta(int64_t d, char *buf)
{
	char t[CT_DUR_BUF];

	if (!d)
		snprintf(buf, CT_DUR_BUF + 2, "0");
	else if (d > 0)
		snprintf(buf, CT_DUR_BUF + 2, "+%s", ct_fmt_duration((uint64_t)d, t));
	else
		snprintf(buf, CT_DUR_BUF + 2, "-%s",
			 ct_fmt_duration((uint64_t)(-(d + 1)) + 1, t));
	return buf;
}

static void text_frames(const struct ct_diff_row *r)
{
	if (!r->nframes)
		printf("    (no stack)\n");
	ct_frames_write(stdout, r->frames, r->nframes, "    ", TEXT_FRAMES, CT_FRAME_MODULE);
}

static void text_table(const struct ct_diff_table *t, long top, int objects)
{
	size_t shown = 0;

	if (objects)
		printf("\n== objects: total wait, matched by kind and first-seen site ==\n"
		       "%10s %10s %10s %17s  %s\n", "delta", "base", "new", "waits base->new",
		       "kind");
	else
		printf("\n== sites: total wait per profile, kind and stack ==\n"
		       "%10s %10s %10s %17s  %s\n", "delta", "base", "new", "count base->new",
		       "profile kind");
	if (!t->n)
		printf("  (none)\n");
	for (size_t i = 0; i < t->n && (long)shown < top; i++, shown++) {
		const struct ct_diff_row *r = &t->rows[i];
		char d[CT_DUR_BUF + 2], b[CT_DUR_BUF], n[CT_DUR_BUF], cnt[48];

		snprintf(cnt, sizeof(cnt), "%" PRIu64 "->%" PRIu64, r->count[0], r->count[1]);
		printf("%10s %10s %10s %17s  ", fmt_delta(r->delta, d),
		       r->objects[0] ? ct_fmt_duration(r->total[0], b) : "-",
		       r->objects[1] ? ct_fmt_duration(r->total[1], n) : "-", cnt);
		if (objects)
			printf("%s", ct_kind_name(r->kind));
		else
			printf("%s %s", ct_aprofile_name(r->profile), ct_kind_name(r->kind));
		if (!r->objects[0])
			printf(" (new)");
		else if (!r->objects[1])
			printf(" (gone)");
		if (objects && (r->objects[0] > 1 || r->objects[1] > 1))
			printf(" (%" PRIu64 "->%" PRIu64 " objects)", r->objects[0], r->objects[1]);
		printf("\n");
		text_frames(r);
	}
	if (t->n > shown)
		printf("  ... %zu more (--top)\n", t->n - shown);
}

/* Blocked time per profile and kind on each side, and its change. */
static void text_summary(const struct side *s)
{
	char d[3][CT_DUR_BUF + 2];

	printf("\n== summary: blocked time per profile and kind ==\n%10s %10s %10s  %s\n", "delta",
	       "base", "new", "profile, kind (count base->new)");
	for (int p = CT_AP_SYNC; p < CT_AP_HOLDER; p++) {
		uint64_t b = profile_total(&s[0], p), n = profile_total(&s[1], p);

		printf("%10s %10s %10s  %s\n", fmt_delta((int64_t)(n - b), d[0]),
		       b ? ct_fmt_duration(b, d[1]) : "-", n ? ct_fmt_duration(n, d[2]) : "-",
		       ct_aprofile_name(p));
		for (unsigned k = 0; k < CT_K_MAX; k++) {
			const uint64_t *c0 = s[0].sum_count[p], *c1 = s[1].sum_count[p];
			const uint64_t *t0 = s[0].sum_total[p], *t1 = s[1].sum_total[p];

			if (!c0[k] && !c1[k])
				continue;
			printf("%10s %10s %10s    %s (%" PRIu64 "->%" PRIu64 ")\n",
			       fmt_delta((int64_t)(t1[k] - t0[k]), d[0]),
			       c0[k] ? ct_fmt_duration(t0[k], d[1]) : "-",
			       c1[k] ? ct_fmt_duration(t1[k], d[2]) : "-", ct_kind_name(k), c0[k],
			       c1[k]);
		}
	}
}

static void text(const struct side *s, const struct ct_diff_table *sites,
		 const struct ct_diff_table *objs, long top)
{
	char d0[CT_DUR_BUF], d1[CT_DUR_BUF];

	printf("diff: base %s%s (%s) -> new %s%s (%s); delta = new - base\n", s[0].path,
	       s[0].n > 1 ? " and more" : "", ct_fmt_duration(s[0].duration_ns, d0), s[1].path,
	       s[1].n > 1 ? " and more" : "", ct_fmt_duration(s[1].duration_ns, d1));
	text_summary(s);
	text_table(sites, top, 0);
	text_table(objs, top, 1);
}

/* ---- command ------------------------------------------------------------------------- */

struct args {
	long top;
	int json;
	struct ct_filter_args fa;
};

static int set(void *st, const struct ct_opt *row, const char *opt, const char *val, char *err,
	       size_t errlen)
{
	struct args *x = st;

	switch (row->key) {
	case OPT_JSON:
		x->json = 1;
		return 0;
	case OPT_TOP:
		if (ct_parse_count(val, &x->top) < 0) {
			snprintf(err, errlen, "--top wants a count, not '%s'", val);
			return -1;
		}
		return 0;
	default:
		return ct_opts_set_shared(&x->fa, NULL, row, opt, val, err, errlen);
	}
}

int ct_cmd_diff(int argc, char **argv)
{
	const char **paths = ct_xcalloc((size_t)argc + 1, sizeof(*paths));
	size_t npaths = 0, nbase = 0, nargs = 0;
	struct side s[2];
	struct ct_diff_table sites = { 0 }, objs = { 0 };
	struct args x = { .top = -1 };
	char err[512];
	int rc;

	ct_filter_args_init(&x.fa);
	rc = ct_opts_parse(&diff_cmd, argc, argv, set, &x, paths, &nargs, err, sizeof(err));
	if (rc > 0) {
		ct_opts_help(&diff_cmd, stdout);
		ct_filter_args_free(&x.fa);
		free(paths);
		return CT_EXIT_OK;
	}
	if (rc < 0)
		ct_die(CT_EXIT_USAGE, "diff: %s", err);
	/* several traces a side: BASE... : NEW... */
	for (size_t i = 0; i < nargs; i++) {
		if (strcmp(paths[i], ":")) {
			paths[npaths++] = paths[i];
			continue;
		}
		if (nbase || !npaths)
			ct_die(CT_EXIT_USAGE, "diff: ':' goes once between the BASE and NEW traces "
			       "(see 'ctrace diff --help')");
		nbase = npaths;
	}
	if (!nbase && npaths == 2)
		nbase = 1;
	if (!nbase || npaths == nbase)
		ct_die(CT_EXIT_USAGE, npaths > 2 ? "diff: two traces only, BASE and NEW, or "
		       "BASE... : NEW... (see 'ctrace diff --help')" : "diff: needs two traces, "
		       "BASE and NEW (see 'ctrace diff --help')");
	memset(s, 0, sizeof(s));
	{
		uint64_t o0 = ct_traces_order(paths, nbase);
		uint64_t o1 = ct_traces_order(paths + nbase, npaths - nbase);

		load(&s[0], paths, nbase, &x.fa.f, o0);
		load(&s[1], paths + nbase, npaths - nbase, &x.fa.f, o1);
	}
	{
		/* the filter must select something in one of the traces, either side */
		struct ct_model **ms = ct_xcalloc(npaths, sizeof(*ms));
		struct ct_analysis **as = ct_xcalloc(npaths, sizeof(*as));
		int bad;

		for (int k = 0, j = 0; k < 2; k++)
			for (size_t i = 0; i < s[k].n; i++, j++) {
				ms[j] = s[k].ms[i];
				as[j] = s[k].as[i];
			}
		bad = ct_filter_verify(&x.fa, paths, ms, as, npaths, err, sizeof(err));
		free(ms);
		free(as);
		if (bad < 0)
			ct_die(CT_EXIT_USAGE, "diff: %s", err);
	}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < s[k].n; i++) {
			char tr[256];

			if (s[k].ms[i]->truncated)
				ct_err("warning: %s: %s", s[k].paths[i],
				       ct_model_truncation(s[k].ms[i], tr, sizeof(tr)));
			s[k].frs[i] = ct_frames_new(s[k].ms[i]);
		}
		collect(&s[k], k, &sites, &objs);
	}
	ct_diff_finish(&sites);
	ct_diff_finish(&objs);
	if (x.json)
		json(s, &sites, &objs, x.top);
	else
		text(s, &sites, &objs, x.top >= 0 ? x.top : TEXT_TOP_DEFAULT);
	ct_diff_table_free(&sites);
	ct_diff_table_free(&objs);
	ct_filter_args_free(&x.fa);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < s[k].n; i++) {
			ct_frames_free(s[k].frs[i]);
			ct_analysis_free(s[k].as[i]);
			ct_model_free(s[k].ms[i]);
		}
		free(s[k].paths);
		free(s[k].frs);
		free(s[k].as);
		free(s[k].ms);
	}
	free(paths);
	if (fflush(stdout) != 0 || ferror(stdout))
		ct_die(CT_EXIT_USAGE, "diff: write error: %s", strerror(errno));
	return CT_EXIT_OK;
}
