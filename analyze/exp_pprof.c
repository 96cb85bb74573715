/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format pprof`: the selected profiles as one gzipped profile.proto
 * (pprof's format), from the aggregated profile entries only.
 * Waiter profiles are written as Go's block profile and the holder profile as Go's mutex
 * profile: period_type contentions/count, sample types contentions/count and
 * delay/nanoseconds, one sample per entry (values exact: count and total ns). Locations
 * are one per (input, PC) with every inlined frame (innermost first), functions one per
 * (name, system name, file, start line), mappings one per (input, module) with its path
 * and build id; ids count 1..N in the order written. Labels (labels()): profile, kind
 * and thread (its name) on every sample, fd class on system calls, pid with several
 * inputs; with --labels all also the numeric tid, object and pid. The entries are split by
 * thread (and with --labels all by object) for this: samples with the same stack and
 * different labels are separate samples. The waits made inside regions or under thread
 * labels (ctrace_annotate.h) are samples of their own with the labels region, task and
 * each thread label by its key.
 */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "output.h"
#include "pb.h"
#include "util.h"

/* profile.proto field numbers */
enum {
	P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4, P_FUNCTION = 5,
	P_STRING_TABLE = 6, P_TIME_NANOS = 9, P_DURATION_NANOS = 10, P_PERIOD_TYPE = 11,
	P_PERIOD = 12, P_COMMENT = 13, P_DEFAULT_SAMPLE_TYPE = 14,
	VT_TYPE = 1, VT_UNIT = 2,
	S_LOCATION_ID = 1, S_VALUE = 2, S_LABEL = 3,
	L_KEY = 1, L_STR = 2, L_NUM = 3, L_NUM_UNIT = 4,
	M_ID = 1, M_START = 2, M_LIMIT = 3, M_OFFSET = 4, M_FILENAME = 5, M_BUILD_ID = 6,
	M_HAS_FUNCTIONS = 7, M_HAS_FILENAMES = 8, M_HAS_LINES = 9, M_HAS_INLINE = 10,
	LOC_ID = 1, LOC_MAPPING_ID = 2, LOC_ADDRESS = 3, LOC_LINE = 4,
	LN_FUNCTION_ID = 1, LN_LINE = 2,
	F_ID = 1, F_NAME = 2, F_SYSTEM_NAME = 3, F_FILENAME = 4, F_START_LINE = 5,
};

/* An open-addressing map from a byte key to an id (1..N in insertion order). */
struct keymap {
	struct kslot { char *key; size_t len; uint64_t id; } *s;
	size_t nslots, n;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* The id of key (0 when absent and !add; else added with the next id, *added set). */
static uint64_t keymap_get(struct keymap *m, const void *key, size_t len, int add, int *added)
{
	size_t j;

	if (added)
		*added = 0;
	if (add && (m->n + 1) * 2 > m->nslots) {
		size_t n = m->nslots ? m->nslots * 2 : 256;
		struct kslot *t = ct_xcalloc(n, sizeof(*t));

		for (size_t i = 0; i < m->nslots; i++) {
			if (!m->s[i].key)
				continue;
			for (j = hash_bytes(m->s[i].key, m->s[i].len) & (n - 1); t[j].key; j = (j + 1) & (n - 1))
				;
			t[j] = m->s[i];
		}
		free(m->s);
		m->s = t;
		m->nslots = n;
	}
	if (!m->nslots)
		return 0;
	for (j = hash_bytes(key, len) & (m->nslots - 1); m->s[j].key; j = (j + 1) & (m->nslots - 1))
		if (m->s[j].len == len && !memcmp(m->s[j].key, key, len))
			return m->s[j].id;
	if (!add)
		return 0;
	m->s[j].key = ct_xmalloc(len ? len : 1);
	memcpy(m->s[j].key, key, len);
	m->s[j].len = len;
	m->s[j].id = ++m->n;
	if (added)
		*added = 1;
	return m->s[j].id;
}

static void keymap_free(struct keymap *m)
{
	for (size_t i = 0; i < m->nslots; i++)
		free(m->s[i].key);
	free(m->s);
}

struct pp {
	const struct ct_output_ctx *c;
	struct ct_pb out;       /* the Profile message */
	struct ct_pb tmp;       /* a function or location being built */
	struct keymap strs;     /* string -> index + 1 */
	struct ct_pb strtab;    /* the string_table fields, in index order */
	struct keymap funcs;    /* (name, sysname, file, start line) -> id */
	struct keymap locs;     /* (input, pc) -> id */
	uint64_t **mapping_ids; /* [input][module] -> mapping id (0 none yet) */
	uint64_t nmappings;
	uint64_t *locids;       /* scratch: a sample's location ids */
	size_t cap_locids;
};

/* Index of s in the string table (added when new; "" is index 0). */
static int64_t str(struct pp *p, const char *s)
{
	int added;
	uint64_t id;

	if (!s)
		s = "";
	id = keymap_get(&p->strs, s, strlen(s), 1, &added);
	if (added)
		ct_pb_str(&p->strtab, P_STRING_TABLE, s);
	return (int64_t)id - 1;
}

static uint64_t mapping_of(struct pp *p, size_t in, uint64_t pc)
{
	const struct ct_model *m = p->c->in[in].m;

	for (size_t k = 0; k < m->nmods; k++) {
		const struct ct_module *mod = &m->mods[k];
		char bid[2 * CT_BUILD_ID_MAX + 1];
		size_t mk;

		if (pc < mod->lo || pc >= mod->hi)
			continue;
		if (p->mapping_ids[in][k])
			return p->mapping_ids[in][k];
		p->mapping_ids[in][k] = ++p->nmappings;
		for (unsigned b = 0; b < mod->build_id_len && b < CT_BUILD_ID_MAX; b++)
			snprintf(bid + 2 * b, 3, "%02x", mod->build_id[b]);
		bid[2 * (mod->build_id_len < CT_BUILD_ID_MAX ? mod->build_id_len : CT_BUILD_ID_MAX)] = 0;
		mk = ct_pb_begin(&p->out, P_MAPPING);
		ct_pb_uint(&p->out, M_ID, p->nmappings);
		ct_pb_uint(&p->out, M_START, mod->lo);
		ct_pb_uint(&p->out, M_LIMIT, mod->hi);
		/* the file offset of lo: the first PT_LOAD segment, at offset 0 in ELF files
		 * linked the usual way, holds lo - bias */
		ct_pb_uint(&p->out, M_OFFSET, 0);
		ct_pb_int(&p->out, M_FILENAME, str(p, mod->path));
		ct_pb_int(&p->out, M_BUILD_ID, str(p, bid));
		ct_pb_uint(&p->out, M_HAS_FUNCTIONS, 1);
		ct_pb_uint(&p->out, M_HAS_FILENAMES, 1);
		ct_pb_uint(&p->out, M_HAS_LINES, 1);
		ct_pb_uint(&p->out, M_HAS_INLINE, 1);
		ct_pb_end(&p->out, mk);
		return p->nmappings;
	}
	return 0;
}

static uint64_t function_of(struct pp *p, size_t in, const struct ct_frame *f)
{
	char key[1024];
	const char *sysname = f->func;
	int n, added, start = 0;
	uint64_t id;
	size_t mk;

	if (in != SIZE_MAX)
		ct_frames_fn(p->c->in[in].fr, f, &sysname, &start);
	n = snprintf(key, sizeof(key), "%s%c%s%c%s%c%d", f->func, 0, sysname, 0,
		     f->file ? f->file : "", 0, start);
	if (n < 0 || (size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	id = keymap_get(&p->funcs, key, (size_t)n, 1, &added);
	if (!added)
		return id;
	mk = ct_pb_begin(&p->out, P_FUNCTION);
	ct_pb_uint(&p->out, F_ID, id);
	ct_pb_int(&p->out, F_NAME, str(p, f->func));
	ct_pb_int(&p->out, F_SYSTEM_NAME, str(p, sysname));
	ct_pb_int(&p->out, F_FILENAME, str(p, f->file));
	ct_pb_int(&p->out, F_START_LINE, start);
	ct_pb_end(&p->out, mk);
	return id;
}

/* The location of frames f[0..n) (one PC: inlined frames, then the real function), or of
 * a stand-in function name when n == 0. */
static uint64_t location_of(struct pp *p, size_t in, uint64_t pc, const struct ct_frame *f,
			    size_t n, const char *standin)
{
	uint64_t key[2] = { in, pc }, id, fids[16], mid;
	int added;
	size_t mk;

	if (!n)
		key[1] = UINT64_MAX - (uint64_t)(standin[0]);
	id = keymap_get(&p->locs, key, sizeof(key), 1, &added);
	if (!added)
		return id;
	/* functions first: they are written to out too */
	if (n > 16)
		n = 16;
	for (size_t i = 0; i < n; i++)
		fids[i] = function_of(p, in, &f[i]);
	if (!n) {
		struct ct_frame s = { standin, NULL, 0, "?", 0, 0, 0 };

		fids[0] = function_of(p, SIZE_MAX, &s);
	}
	mid = n ? mapping_of(p, in, pc) : 0;
	mk = ct_pb_begin(&p->out, P_LOCATION);
	ct_pb_uint(&p->out, LOC_ID, id);
	if (mid)
		ct_pb_uint(&p->out, LOC_MAPPING_ID, mid);
	if (n)
		ct_pb_uint(&p->out, LOC_ADDRESS, pc);
	for (size_t i = 0; i < (n ? n : 1); i++) {
		size_t lm = ct_pb_begin(&p->out, LOC_LINE);

		ct_pb_uint(&p->out, LN_FUNCTION_ID, fids[i]);
		if (n && f[i].line > 0)
			ct_pb_int(&p->out, LN_LINE, f[i].line);
		ct_pb_end(&p->out, lm);
	}
	ct_pb_end(&p->out, mk);
	return id;
}

static void label_str(struct pp *p, const char *k, const char *v)
{
	size_t mk = ct_pb_begin(&p->out, S_LABEL);

	ct_pb_int(&p->out, L_KEY, str(p, k));
	ct_pb_int(&p->out, L_STR, str(p, v));
	ct_pb_end(&p->out, mk);
}

static void label_num(struct pp *p, const char *k, int64_t v)
{
	size_t mk = ct_pb_begin(&p->out, S_LABEL);

	ct_pb_int(&p->out, L_KEY, str(p, k));
	ct_pb_int(&p->out, L_NUM, v);
	ct_pb_end(&p->out, mk);
}

/* The labels of the sample of entry e (of profile prof, from input x): a label is one line
 * here. A label whose values differ within one entry needs the entries split by it: a
 * CT_EKEY_* key (analysis.h, entries.c), asked for in the pprof row of ct_outputs[]
 * (output.c) or by export.c for an option, as thread and object are. */
static void labels(struct pp *p, const struct ct_export_input *x, int prof,
		   const struct ct_pentry *e, const char *ann)
{
	const struct ct_mthread *t = e->thr < x->m->nthreads ? &x->m->threads[e->thr] : NULL;
	char tname[32];

	label_str(p, "profile", ct_aprofile_name(prof));
	label_str(p, "kind", ct_kind_name(e->kind));
	if (t && !t->name[0])
		snprintf(tname, sizeof(tname), "tid %" PRIu32, t->tid);
	label_str(p, "thread", !t ? "?" : t->name[0] ? t->name : tname);
	if (ct_aprofile_is_call(prof) && e->fd_class != CT_FD_UNKNOWN && e->fd_class != CT_FD_NONE)
		label_str(p, "fd_class", ct_fd_class_name(e->fd_class));
	if (e->remainder)
		label_str(p, "stack", "call site only (calls below the stack threshold)");
	if (p->c->nin > 1 || p->c->xo->labels_all)
		label_num(p, "pid", x->m->hdr.pid);
	for (const char *l = ann; l && *l; l += strlen(l) + 1) { /* region, task, labels */
		const char *v = l + strlen(l) + 1;

		label_str(p, l, v);
		l = v;
	}
	if (p->c->xo->labels_all) {
		if (t)
			label_num(p, "tid", t->tid);
		if (e->obj)
			label_num(p, "object", (int64_t)e->obj);
	}
}

/* One sample of entry e: count and total given (the entry's, or a labelled part's:
 * ann "key\0value\0...\0", NULL for none, as ct_lsample). */
static void sample(struct pp *p, size_t in, int prof, const struct ct_pentry *e,
		   uint64_t count, uint64_t total, const char *ann)
{
	const struct ct_export_input *x = &p->c->in[in];
	const struct ct_frame *f;
	size_t n = ct_export_entry_frames(x, e, &f), nl = 0, mk;

	if (p->cap_locids < n + 1)
		ct_grow(&p->locids, &p->cap_locids, n + 1, sizeof(*p->locids));
	/* frames are grouped by PC: inlined ones (inlined = 1) end with the real function */
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && f[j].inlined && f[j + 1].pc == f[i].pc)
			j++;
		p->locids[nl++] = location_of(p, in, f[i].pc, &f[i], j - i + 1, NULL);
		i = j + 1;
	}
	if (!nl)
		p->locids[nl++] = location_of(p, in, 0, NULL, 0, "(no stack)");
	mk = ct_pb_begin(&p->out, P_SAMPLE);
	{
		size_t pk = ct_pb_begin(&p->out, S_LOCATION_ID);

		for (size_t i = 0; i < nl; i++)
			ct_pb_varint(&p->out, p->locids[i]);
		ct_pb_end(&p->out, pk);
		pk = ct_pb_begin(&p->out, S_VALUE);
		ct_pb_varint(&p->out, count);
		ct_pb_varint(&p->out, total);
		ct_pb_end(&p->out, pk);
	}
	labels(p, x, prof, e, ann);
	ct_pb_end(&p->out, mk);
}

static void value_type(struct pp *p, unsigned field, const char *type, const char *unit)
{
	size_t mk = ct_pb_begin(&p->out, field);

	ct_pb_int(&p->out, VT_TYPE, str(p, type));
	ct_pb_int(&p->out, VT_UNIT, str(p, unit));
	ct_pb_end(&p->out, mk);
}

static int gzip_write(const struct ct_pb *a, const struct ct_pb *b, FILE *f)
{
	z_stream z = { 0 };
	unsigned char buf[1 << 16];
	const struct ct_pb *parts[2] = { a, b };
	int ret = 0;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	for (int k = 0; k < 2 && !ret; k++) {
		const uint8_t *src = parts[k]->p;
		size_t left = parts[k]->n;
		int flush;

		do {
			unsigned chunk = left > (1u << 30) ? (1u << 30) : (unsigned)left;

			z.next_in = (unsigned char *)(uintptr_t)src;
			z.avail_in = chunk;
			src += chunk;
			left -= chunk;
			flush = (k == 1 && !left) ? Z_FINISH : Z_NO_FLUSH;
			do {
				z.next_out = buf;
				z.avail_out = sizeof(buf);
				if (deflate(&z, flush) == Z_STREAM_ERROR) {
					ret = -1;
					break;
				}
				if (fwrite(buf, 1, sizeof(buf) - z.avail_out, f) != sizeof(buf) - z.avail_out)
					ret = -1;
			} while (z.avail_out == 0 && !ret);
		} while (left && !ret);
	}
	deflateEnd(&z);
	return ret;
}

int ct_export_pprof(const struct ct_output_ctx *c, FILE *f)
{
	struct pp p = { .c = c };
	uint64_t t0 = UINT64_MAX, t1 = 0;
	char warn[1024], line[1200];
	int ret;

	p.mapping_ids = ct_xcalloc(c->nin, sizeof(*p.mapping_ids));
	str(&p, "");
	value_type(&p, P_SAMPLE_TYPE, "contentions", "count");
	value_type(&p, P_SAMPLE_TYPE, "delay", "nanoseconds");
	for (size_t k = 0; k < c->nin; k++) {
		const struct ct_export_input *x = &c->in[k];

		p.mapping_ids[k] = ct_xcalloc(x->m->nmods + 1, sizeof(**p.mapping_ids));
		for (int prof = 1; prof < CT_AP_MAX; prof++) {
			const struct ct_pentry *e;
			size_t n;

			if (!ct_export_wants(c, prof))
				continue;
			e = ct_analysis_profile(x->a, prof, &n);
			for (size_t i = 0; i < n; i++) {
				/* the parts made inside regions or under labels carry them */
				const struct ct_lsample *ls;
				size_t nls = ct_analysis_entry_labels(x->a, &e[i], &ls);
				uint64_t cnt = e[i].count, tot = e[i].total_ns;

				for (size_t j = 0; j < nls && ls[j].count <= cnt; j++) {
					sample(&p, k, prof, &e[i], ls[j].count, ls[j].total_ns,
					       ls[j].labels);
					cnt -= ls[j].count;
					tot -= ls[j].total_ns <= tot ? ls[j].total_ns : tot;
				}
				if (cnt || !nls)
					sample(&p, k, prof, &e[i], cnt, tot, NULL);
			}
		}
		/* the analysed window in wall-clock time */
		{
			uint64_t real0 = x->m->hdr.start_real_ns + (x->a->from_ts - x->m->start_ts);
			uint64_t real1 = real0 + (x->a->to_ts - x->a->from_ts);

			t0 = real0 < t0 ? real0 : t0;
			t1 = real1 > t1 ? real1 : t1;
		}
	}
	ct_pb_int(&p.out, P_TIME_NANOS, (int64_t)t0);
	ct_pb_int(&p.out, P_DURATION_NANOS, (int64_t)(t1 > t0 ? t1 - t0 : 0));
	value_type(&p, P_PERIOD_TYPE, "contentions", "count");
	ct_pb_int(&p.out, P_PERIOD, 1);
	{
		char profs[128] = "";

		for (int prof = 1; prof < CT_AP_MAX; prof++)
			if (ct_export_wants(c, prof))
				snprintf(profs + strlen(profs), sizeof(profs) - strlen(profs), "%s%s",
					 profs[0] ? "," : "", ct_aprofile_name(prof));
		snprintf(line, sizeof(line), "libctrace %s profile%s (label profile), exact: every "
			 "wait counted", profs, strchr(profs, ',') ? "s" : "");
		ct_pb_int(&p.out, P_COMMENT, str(&p, line));
	}
	for (size_t k = 0; k < c->nin; k++) {
		const struct ct_model *m = c->in[k].m;

		snprintf(line, sizeof(line), "trace %s: pid %" PRIu32 " (%s), %" PRIu64 " events, %"
			 PRIu64 " lost", c->in[k].path, m->hdr.pid, m->hdr.exe[0] ? m->hdr.exe : "?",
			 m->nevents, m->lost_total);
		ct_pb_int(&p.out, P_COMMENT, str(&p, line));
		if (*ct_export_warnings(&c->in[k], warn, sizeof(warn))) {
			snprintf(line, sizeof(line), "warning: %s", warn);
			ct_pb_int(&p.out, P_COMMENT, str(&p, line));
		}
	}
	ct_pb_int(&p.out, P_DEFAULT_SAMPLE_TYPE, str(&p, "delay"));
	/* the string table goes last: protobuf fields may come in any order */
	ret = gzip_write(&p.out, &p.strtab, f);
	for (size_t k = 0; k < c->nin; k++)
		free(p.mapping_ids[k]);
	free(p.mapping_ids);
	free(p.locids);
	keymap_free(&p.strs);
	keymap_free(&p.funcs);
	keymap_free(&p.locs);
	ct_pb_free(&p.out);
	ct_pb_free(&p.tmp);
	ct_pb_free(&p.strtab);
	if (ret < 0)
		ct_err("export: pprof: compression or write error");
	return ret;
}
