/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format chrome`: the waits as Trace Event Format JSON (the JSON Object
 * Format: {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}), read by
 * chrome://tracing, ui.perfetto.dev and speedscope. Per traced process a process_name and
 * per thread a thread_name metadata event (ph "M"); every wait and recorded system call a
 * complete event (ph "X") named by its kind, category its profile, args site, object,
 * unfinished; in a wait whose release is known, a nested "runnable" slice from the release
 * to the end of the wait (the wake-up latency), and on the releasing thread a zero-length
 * "release" slice linked to it by a flow (bind_id, flow_out on the release, flow_in on the
 * runnable slice). Slices are strictly nested per thread: a wait that starts inside an
 * earlier one and outlasts it (a signal handler's) is cut at its end. Timestamps are
 * microseconds from the earliest trace start, with ns precision. otherData carries each
 * input's lost events and warnings.
 *
 * --split SIZE writes consecutive time ranges in separate files (FILE, then FILE with .1,
 * .2 ... before its extension), each with all the metadata events and at most about SIZE
 * bytes: a first pass measures the bytes each of 4096 time bins holds, and each part takes
 * whole bins; the events of a wait go to the part where the wait begins.
 */
#include "export.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "timeline.h"
#include "util.h"

#define BINS 4096
#define NEST_MAX 64

struct buf {
	char *p;
	size_t n, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) CT_PRINTF(2, 3);
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (n >= 0 && b->p && b->n + (size_t)n < b->cap)
			break;
		ct_grow(&b->p, &b->cap, b->n + (size_t)(n > 0 ? n : 0) + 256, 1);
	}
	b->n += (size_t)n;
}

/* A JSON string into b: plain printable ASCII directly, anything else escaped by
 * json.c (control characters, quotes, invalid UTF-8). */
static void bstr(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	while (u[n] >= 0x20 && u[n] < 0x7f && u[n] != '"' && u[n] != '\\')
		n++;
	if (!u[n]) {
		bprintf(b, "\"%s\"", s);
		return;
	}
	char *m = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&m, &len);

	if (!f)
		ct_die(CT_EXIT_USAGE, "export: out of memory");
	ct_json_write_string(f, s);
	fclose(f);
	bprintf(b, "%s", m);
	free(m);
}

struct chrome {
	const struct ct_output_ctx *c;
	const struct ct_export_input *x;
	uint64_t base;          /* the earliest trace start: ts 0 */
	struct buf ev;          /* events of the current wait */
	FILE *f;                /* NULL: measuring */
	uint64_t lo, hi;        /* the part being written: waits beginning in [lo, hi) */
	uint64_t *bin_bytes;    /* measuring: bytes per bin */
	uint64_t t0, binw;      /* bins: start and width */
	int first;              /* no event written yet in this file */
	uint64_t flow;          /* flow ids */
	uint64_t nwaits, nflows;
	uint32_t cur_thr;       /* nesting state of one thread */
	int have_thr;
	uint64_t ends[NEST_MAX];
	size_t nends;
	struct ct_site_cache *sites;
};

static void ts(struct buf *b, const char *key, uint64_t ns)
{
	bprintf(b, ",\"%s\":%" PRIu64 ".%03u", key, ns / 1000, (unsigned)(ns % 1000));
}

static void on_wait(void *arg, const struct ct_tl_wait *w)
{
	struct chrome *h = arg;
	uint64_t b = w->begin_ns, e = w->end_ns, r;
	if (!h->have_thr || h->cur_thr != w->thr) {
		h->have_thr = 1;
		h->cur_thr = w->thr;
		h->nends = 0;
	}
	/* strict nesting: close what ended, cut what would straddle the enclosing slice */
	while (h->nends && h->ends[h->nends - 1] <= b)
		h->nends--;
	if (h->nends && e > h->ends[h->nends - 1])
		e = h->ends[h->nends - 1];
	if (e < b)
		e = b;
	if (h->nends < NEST_MAX)
		h->ends[h->nends++] = e;
	h->flow++; /* one id per wait, whether or not written: the same in every part */
	if (!ct_export_wants(h->c, w->profile))
		return;
	if (h->f && (b < h->lo || b >= h->hi))
		return;
	h->ev.n = 0;
	bprintf(&h->ev, "{\"ph\":\"X\",\"name\":");
	bstr(&h->ev, ct_kind_name(w->kind));
	bprintf(&h->ev, ",\"cat\":\"%s\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32,
		ct_profile_name(w->profile), w->pid, w->tid);
	ts(&h->ev, "ts", b - h->base);
	ts(&h->ev, "dur", e - b);
	bprintf(&h->ev, ",\"args\":{\"site\":");
	bstr(&h->ev, ct_export_site_cached(&h->sites, h->x, w->stack));
	if (w->syscall) {
		if (w->fd_class != CT_FD_UNKNOWN && w->fd_class != CT_FD_NONE)
			bprintf(&h->ev, ",\"fd_class\":\"%s\"", ct_fd_class_name(w->fd_class));
	} else {
		bprintf(&h->ev, ",\"object\":\"0x%" PRIx64 "\"", w->obj);
	}
	if (w->unfinished)
		bprintf(&h->ev, ",\"unfinished\":true");
	bprintf(&h->ev, "}}");
	if (w->has_waker) {
		r = w->waker_ts < b ? b : w->waker_ts > e ? e : w->waker_ts;
		bprintf(&h->ev, ",\n{\"ph\":\"X\",\"name\":\"runnable\",\"cat\":\"wakeup\",\"pid\":%"
			PRIu32 ",\"tid\":%" PRIu32, w->pid, w->tid);
		ts(&h->ev, "ts", r - h->base);
		ts(&h->ev, "dur", e - r);
		bprintf(&h->ev, ",\"bind_id\":\"0x%" PRIx64 "\",\"flow_in\":true}", h->flow);
		bprintf(&h->ev, ",\n{\"ph\":\"X\",\"name\":");
		{
			char nm[64];

			snprintf(nm, sizeof(nm), "release %s", ct_kind_name(w->kind));
			bstr(&h->ev, nm);
		}
		bprintf(&h->ev, ",\"cat\":\"wakeup\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32, w->pid,
			w->waker_tid);
		ts(&h->ev, "ts", w->waker_ts - h->base);
		bprintf(&h->ev, ",\"dur\":0,\"bind_id\":\"0x%" PRIx64 "\",\"flow_out\":true,"
			"\"args\":{\"site\":", h->flow);
		bstr(&h->ev, ct_export_site_cached(&h->sites, h->x, w->waker_stack));
		bprintf(&h->ev, ",\"object\":\"0x%" PRIx64 "\"}}", w->obj);
	}
	if (!h->f) {
		uint64_t bin = h->binw ? (b - h->t0) / h->binw : 0;

		h->bin_bytes[bin < BINS ? bin : BINS - 1] += h->ev.n + 2;
		return;
	}
	fputs(h->first ? "\n" : ",\n", h->f);
	h->first = 0;
	fwrite(h->ev.p, 1, h->ev.n, h->f);
	h->nwaits++;
	h->nflows += w->has_waker;
}

/* Annotations (ctrace_annotate.h): a region is a complete event of category "region" on
 * its thread (it holds the waits made in it), a log an instant event of category "log". */
static void emit_ann(struct chrome *h)
{
	fputs(h->first ? "\n" : ",\n", h->f);
	h->first = 0;
	fwrite(h->ev.p, 1, h->ev.n, h->f);
}

static void on_region(void *arg, uint32_t thr, uint64_t b, uint64_t e, const char *name,
		      const char *task)
{
	struct chrome *h = arg;
	const struct ct_model *m = h->x->m;

	if (!h->f || b < h->lo || b >= h->hi)
		return;
	h->ev.n = 0;
	bprintf(&h->ev, "{\"ph\":\"X\",\"name\":");
	bstr(&h->ev, name);
	bprintf(&h->ev, ",\"cat\":\"region\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32,
		m->hdr.pid, m->threads[thr].tid);
	ts(&h->ev, "ts", b - h->base);
	ts(&h->ev, "dur", e - b);
	bprintf(&h->ev, ",\"args\":{\"task\":");
	bstr(&h->ev, task);
	bprintf(&h->ev, "}}");
	emit_ann(h);
}

static void on_log(void *arg, uint32_t thr, uint64_t t, const char *category,
		   const char *message)
{
	struct chrome *h = arg;
	const struct ct_model *m = h->x->m;

	if (!h->f || t < h->lo || t >= h->hi)
		return;
	h->ev.n = 0;
	bprintf(&h->ev, "{\"ph\":\"i\",\"s\":\"t\",\"name\":");
	bstr(&h->ev, category);
	bprintf(&h->ev, ",\"cat\":\"log\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32,
		m->hdr.pid, m->threads[thr].tid);
	ts(&h->ev, "ts", t - h->base);
	bprintf(&h->ev, ",\"args\":{\"message\":");
	bstr(&h->ev, message);
	bprintf(&h->ev, "}}");
	emit_ann(h);
}

static void meta(struct chrome *h, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	fprintf(h->f, "%s\n{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32
		",\"args\":{\"name\":", h->first ? "" : ",", what, pid, tid);
	ct_json_write_string(h->f, name);
	fputs("}}", h->f);
	h->first = 0;
}

/* One file: metadata, then the waits beginning in [lo, hi). */
static void write_part(struct chrome *h, FILE *f, uint64_t lo, uint64_t hi, int part,
		       int nparts)
{
	struct ct_json j;
	char warn[1024];

	h->f = f;
	h->lo = lo;
	h->hi = hi;
	h->first = 1;
	fputs("{\"traceEvents\":[", f);
	for (size_t k = 0; k < h->c->nin; k++) {
		const struct ct_export_input *x = &h->c->in[k];
		const struct ct_model *m = x->m;
		char pname[128];

		h->x = x;
		snprintf(pname, sizeof(pname), "%s (pid %" PRIu32 ")", m->hdr.exe[0] ?
			 ct_basename(m->hdr.exe) : "?", m->hdr.pid);
		meta(h, "process_name", m->hdr.pid, m->hdr.pid, pname);
		for (size_t t = 0; t < x->a->nthreads; t++) {
			const struct ct_thread_info *ti = &x->a->threads[t];
			char tname[64];

			snprintf(tname, sizeof(tname), "%s", ti->name && ti->name[0] ? ti->name : "?");
			meta(h, "thread_name", m->hdr.pid, ti->tid, tname);
		}
		h->have_thr = 0;
		h->flow = (uint64_t)k << 40;
		ct_timeline_foreach(x->path, m, x->a, on_wait, h);
		ct_ann_walk(m, h, on_region, on_log);
	}
	fputs("\n],\"displayTimeUnit\":\"ns\",\"otherData\":", f);
	ct_json_init(&j, f);
	ct_json_obj_begin(&j);
	ct_json_key(&j, "generator");
	ct_json_str(&j, "ctrace export");
	if (nparts > 1) {
		ct_json_key(&j, "part");
		ct_json_u64(&j, (uint64_t)part + 1);
		ct_json_key(&j, "parts");
		ct_json_u64(&j, (uint64_t)nparts);
		ct_json_key(&j, "from_us");
		ct_json_u64(&j, lo > h->base ? (lo - h->base) / 1000 : 0);
		ct_json_key(&j, "to_us");
		ct_json_u64(&j, hi == UINT64_MAX ? 0 : (hi - h->base) / 1000);
	}
	ct_json_key(&j, "traces");
	ct_json_arr_begin(&j);
	for (size_t k = 0; k < h->c->nin; k++) {
		const struct ct_export_input *x = &h->c->in[k];

		ct_json_obj_begin(&j);
		ct_json_key(&j, "path");
		ct_json_str(&j, x->path);
		ct_json_key(&j, "pid");
		ct_json_u64(&j, x->m->hdr.pid);
		ct_json_key(&j, "lost_events");
		ct_json_u64(&j, x->m->lost_total);
		ct_json_key(&j, "truncated");
		ct_json_bool(&j, x->m->truncated);
		ct_json_key(&j, "warning");
		ct_json_str(&j, *ct_export_warnings(x, warn, sizeof(warn)) ? warn : NULL);
		ct_json_obj_end(&j);
	}
	ct_json_arr_end(&j);
	ct_json_obj_end(&j);
	fputs("}\n", f);
}

/* FILE.json -> FILE.N.json (or FILE.N without an extension). */
static char *part_name(const char *out, int part)
{
	const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
	size_t n = strlen(out) + 24;
	char *s = ct_xmalloc(n);

	if (!dot || (slash && dot < slash))
		snprintf(s, n, "%s.%d", out, part);
	else
		snprintf(s, n, "%.*s.%d%s", (int)(dot - out), out, part, dot);
	return s;
}

int ct_export_chrome(const struct ct_output_ctx *c, FILE *f)
{
	struct chrome h = { .c = c };
	uint64_t t1 = 0;
	int ret = 0;

	h.base = UINT64_MAX;
	for (size_t k = 0; k < c->nin; k++) {
		const struct ct_analysis *a = c->in[k].a;

		h.base = c->in[k].m->start_ts < h.base ? c->in[k].m->start_ts : h.base;
		t1 = a->to_ts > t1 ? a->to_ts : t1;
	}
	if (!c->xo->split_bytes) {
		write_part(&h, f, 0, UINT64_MAX, 0, 1);
		free(h.ev.p);
		ct_export_site_cache_free(h.sites);
		return ferror(f) ? -1 : 0;
	}
	/* measure: bytes of the waits beginning in each bin */
	h.bin_bytes = ct_xcalloc(BINS, sizeof(*h.bin_bytes));
	h.t0 = h.base;
	h.binw = t1 > h.t0 ? (t1 - h.t0) / BINS + 1 : 1;
	for (size_t k = 0; k < c->nin; k++) {
		h.x = &c->in[k];
		h.have_thr = 0;
		ct_timeline_foreach(c->in[k].path, c->in[k].m, c->in[k].a, on_wait, &h);
	}
	/* cut points: whole bins, each part up to split_bytes (a bin larger than that is a
	 * part of its own) */
	uint64_t cuts[BINS + 1];
	int nparts = 0;
	uint64_t acc = 0;

	cuts[nparts++] = 0;
	for (int b = 0; b < BINS; b++) {
		if (acc && acc + h.bin_bytes[b] > c->xo->split_bytes) {
			cuts[nparts++] = (uint64_t)b;
			acc = 0;
		}
		acc += h.bin_bytes[b];
	}
	for (int p = 0; p < nparts && !ret; p++) {
		uint64_t lo = p == 0 ? 0 : h.t0 + cuts[p] * h.binw;
		uint64_t hi = p + 1 < nparts ? h.t0 + cuts[p + 1] * h.binw : UINT64_MAX;
		char *name = p ? part_name(c->xo->out, p) : NULL;
		FILE *pf = p ? ct_export_open(name, c->xo->force) : f;

		if (!pf) {
			ret = -1;
		} else {
			write_part(&h, pf, lo, hi, p, nparts);
			if (p && ct_export_close(pf, name) < 0)
				ret = -1;
			else if (p)
				fprintf(stderr, "ctrace: wrote %s\n", name);
		}
		free(name);
	}
	free(h.bin_bytes);
	free(h.ev.p);
	ct_export_site_cache_free(h.sites);
	return ret || ferror(f) ? -1 : 0;
}
