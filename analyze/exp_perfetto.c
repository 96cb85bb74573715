/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format perfetto`: a Perfetto protobuf Trace (a stream of TracePacket
 * fields) of TrackEvents, for ui.perfetto.dev and trace_processor. One process track per
 * traced process and one thread track per thread, named (TrackDescriptor with a
 * ProcessDescriptor or ThreadDescriptor). Every wait and recorded system call is a slice
 * (TYPE_SLICE_BEGIN/END) on its thread's track, named by its kind, category its profile,
 * with debug annotations site ("func (file:line)"), object and unfinished. When the release
 * that ended a wait is known, the part of the wait from that release to the end is a
 * nested "runnable" slice (the wake-up latency, drawn) and an instant "release <kind>"
 * event on the releasing thread's track starts a flow (flow_ids) that the runnable slice
 * terminates (terminating_flow_ids): the arrow goes from the release to the wake-up.
 * Slices are strictly nested per thread (a wait that outlasts the one it began in is cut
 * at its end) and written in time order per track, ends before begins at equal times.
 * A truncated trace or one with lost events gets an instant "warning" event on its
 * process track saying so. Names, categories, annotation names and sites are interned
 * (InternedData on the packet that first uses one; the first packet clears the
 * sequence's incremental state, every later one needs it), as Perfetto's own writer does:
 * a wait then costs about half the bytes. The field numbers used are declared in
 * tests/perfetto.proto.
 */
#include "export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "timeline.h"
#include "util.h"

enum {
	TRACE_PACKET = 1,
	PKT_TIMESTAMP = 8, PKT_SEQ_ID = 10, PKT_TRACK_EVENT = 11, PKT_INTERNED_DATA = 12,
	PKT_SEQUENCE_FLAGS = 13, PKT_TRACK_DESCRIPTOR = 60,
	SEQ_INCREMENTAL_STATE_CLEARED = 1, SEQ_NEEDS_INCREMENTAL_STATE = 2,
	ID_EVENT_CATEGORIES = 1, ID_EVENT_NAMES = 2, ID_DEBUG_ANNOTATION_NAMES = 3,
	ID_DEBUG_ANNOTATION_STRING_VALUES = 29,
	IID = 1, IID_NAME = 2, /* EventCategory, EventName, DebugAnnotationName: iid, name;
				* InternedString: iid, str */
	TD_UUID = 1, TD_NAME = 2, TD_PROCESS = 3, TD_THREAD = 4, TD_PARENT_UUID = 5,
	PD_PID = 1, PD_PROCESS_NAME = 6,
	THD_PID = 1, THD_TID = 2, THD_THREAD_NAME = 5,
	TE_CATEGORY_IIDS = 3, TE_DEBUG_ANNOTATIONS = 4, TE_TYPE = 9, TE_NAME_IID = 10,
	TE_TRACK_UUID = 11, TE_CATEGORIES = 22, TE_NAME = 23, TE_FLOW_IDS = 47,
	TE_TERMINATING_FLOW_IDS = 48,
	DA_NAME_IID = 1, DA_BOOL = 2, DA_STRING = 6, DA_POINTER = 7, DA_NAME = 10,
	DA_STRING_IID = 17,
	TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2, TYPE_INSTANT = 3,
};

#define NEST_MAX 64
#define INTERN_TABLES 4 /* categories, event names, annotation names, annotation strings */
#define FLUSH_BYTES (1u << 20)
#define SEQ_ID 1

struct pf {
	const struct ct_output_ctx *c;
	const struct ct_export_input *x;
	size_t k;               /* input index */
	FILE *f;
	struct ct_pb b;
	uint64_t flow;
	uint32_t cur_thr;
	int have_thr;
	struct { uint64_t end; int runnable; } open[NEST_MAX]; /* pending ENDs */
	size_t nopen;
	uint64_t ends[NEST_MAX]; /* ends of the enclosing waits (nesting) */
	size_t nends;
	int err;
	struct ct_site_cache *sites;
	int first_packet;       /* the next packet is the sequence's first */
	struct intern {         /* string -> iid, per table */
		struct islot { char *s; uint64_t iid; } *slot;
		size_t nslots, n;
	} in_tab[INTERN_TABLES];
	struct ct_pb pending;   /* InternedData entries for the next packet */
	unsigned char *ann_seen; /* per thread of the input: its regions track described */
};

static const unsigned intern_field[INTERN_TABLES] = {
	ID_EVENT_CATEGORIES, ID_EVENT_NAMES, ID_DEBUG_ANNOTATION_NAMES,
	ID_DEBUG_ANNOTATION_STRING_VALUES,
};
enum { T_CAT, T_NAME, T_ANAME, T_ASTR };

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The iid of s in table t (1..N); a new one is queued for the next packet's
 * InternedData. */
static uint64_t iid(struct pf *p, int t, const char *s)
{
	struct intern *m = &p->in_tab[t];
	size_t j, mk;

	if ((m->n + 1) * 2 > m->nslots) {
		size_t n = m->nslots ? m->nslots * 2 : 64;
		struct islot *ns = ct_xcalloc(n, sizeof(*ns));

		for (size_t i = 0; i < m->nslots; i++) {
			if (!m->slot[i].s)
				continue;
			for (j = str_hash(m->slot[i].s) & (n - 1); ns[j].s; j = (j + 1) & (n - 1))
				;
			ns[j] = m->slot[i];
		}
		free(m->slot);
		m->slot = ns;
		m->nslots = n;
	}
	for (j = str_hash(s) & (m->nslots - 1); m->slot[j].s; j = (j + 1) & (m->nslots - 1))
		if (!strcmp(m->slot[j].s, s))
			return m->slot[j].iid;
	m->slot[j].s = ct_xstrdup(s);
	m->slot[j].iid = ++m->n;
	mk = ct_pb_begin(&p->pending, intern_field[t]);
	ct_pb_uint(&p->pending, IID, m->n);
	ct_pb_str(&p->pending, IID_NAME, s);
	ct_pb_end(&p->pending, mk);
	return m->n;
}

static void intern_free(struct pf *p)
{
	for (int t = 0; t < INTERN_TABLES; t++) {
		for (size_t i = 0; i < p->in_tab[t].nslots; i++)
			free(p->in_tab[t].slot[i].s);
		free(p->in_tab[t].slot);
	}
	ct_pb_free(&p->pending);
}

static uint64_t proc_uuid(size_t k)
{
	return ((uint64_t)(k + 1) << 48) | 1;
}

static uint64_t thread_uuid(size_t k, uint32_t thr)
{
	return ((uint64_t)(k + 1) << 48) | (1ull << 40) | ((uint64_t)thr + 2);
}

static void flush(struct pf *p, int force)
{
	if (p->b.n && (force || p->b.n >= FLUSH_BYTES)) {
		if (fwrite(p->b.p, 1, p->b.n, p->f) != p->b.n)
			p->err = 1;
		ct_pb_reset(&p->b);
	}
}

/* A packet: its timestamp (0: none), sequence, flags and the interned data queued by
 * iid() since the last packet (so: call iid() for everything the packet uses first). */
static size_t packet_begin(struct pf *p, uint64_t ts)
{
	size_t mk = ct_pb_begin(&p->b, TRACE_PACKET);

	if (ts)
		ct_pb_uint(&p->b, PKT_TIMESTAMP, ts);
	ct_pb_uint(&p->b, PKT_SEQ_ID, SEQ_ID);
	ct_pb_uint(&p->b, PKT_SEQUENCE_FLAGS, p->first_packet ? SEQ_INCREMENTAL_STATE_CLEARED
							    : SEQ_NEEDS_INCREMENTAL_STATE);
	p->first_packet = 0;
	if (p->pending.n) {
		ct_pb_bytes(&p->b, PKT_INTERNED_DATA, p->pending.p, p->pending.n);
		ct_pb_reset(&p->pending);
	}
	return mk;
}

static void packet_end(struct pf *p, size_t mk)
{
	ct_pb_end(&p->b, mk);
	flush(p, 0);
}

/* Debug annotations by interned name (n: iid(p, T_ANAME, ...)); string values interned
 * too (v: iid(p, T_ASTR, ...)), except annot_str's (the one-off warning text). */
static void annot_str(struct pf *p, const char *name, const char *v)
{
	size_t mk = ct_pb_begin(&p->b, TE_DEBUG_ANNOTATIONS);

	ct_pb_str(&p->b, DA_NAME, name);
	ct_pb_str(&p->b, DA_STRING, v);
	ct_pb_end(&p->b, mk);
}

static void annot_istr(struct pf *p, uint64_t n, uint64_t v)
{
	size_t mk = ct_pb_begin(&p->b, TE_DEBUG_ANNOTATIONS);

	ct_pb_uint(&p->b, DA_NAME_IID, n);
	ct_pb_uint(&p->b, DA_STRING_IID, v);
	ct_pb_end(&p->b, mk);
}

static void annot_ptr(struct pf *p, uint64_t n, uint64_t v)
{
	size_t mk = ct_pb_begin(&p->b, TE_DEBUG_ANNOTATIONS);

	ct_pb_uint(&p->b, DA_NAME_IID, n);
	ct_pb_uint(&p->b, DA_POINTER, v);
	ct_pb_end(&p->b, mk);
}

static void annot_bool(struct pf *p, uint64_t n, int v)
{
	size_t mk = ct_pb_begin(&p->b, TE_DEBUG_ANNOTATIONS);

	ct_pb_uint(&p->b, DA_NAME_IID, n);
	ct_pb_uint(&p->b, DA_BOOL, v != 0);
	ct_pb_end(&p->b, mk);
}

static void slice_end(struct pf *p, uint64_t ts)
{
	size_t mk = packet_begin(p, ts), te = ct_pb_begin(&p->b, PKT_TRACK_EVENT);

	ct_pb_uint(&p->b, TE_TYPE, TYPE_SLICE_END);
	ct_pb_uint(&p->b, TE_TRACK_UUID, thread_uuid(p->k, p->cur_thr));
	ct_pb_end(&p->b, te);
	packet_end(p, mk);
}

/* Writes the ENDs of the pending slices that end at or before t (all: t UINT64_MAX). */
static void close_until(struct pf *p, uint64_t t)
{
	while (p->nopen && p->open[p->nopen - 1].end <= t)
		slice_end(p, p->open[--p->nopen].end);
}

static void on_wait(void *arg, const struct ct_tl_wait *w)
{
	struct pf *p = arg;
	uint64_t b = w->begin_ns, e = w->end_ns, r, id;
	size_t mk, te;
	char site[512];

	if (!p->have_thr || p->cur_thr != w->thr) {
		if (p->have_thr)
			close_until(p, UINT64_MAX);
		p->have_thr = 1;
		p->cur_thr = w->thr;
		p->nends = 0;
	}
	while (p->nends && p->ends[p->nends - 1] <= b)
		p->nends--;
	if (p->nends && e > p->ends[p->nends - 1])
		e = p->ends[p->nends - 1];
	if (e < b)
		e = b;
	if (p->nends < NEST_MAX)
		p->ends[p->nends++] = e;
	if (!ct_export_wants(p->c, w->profile))
		return;
	close_until(p, b);
	if (p->nopen + 2 > NEST_MAX)
		return; /* deeper than any real nesting of waits */
	{
		uint64_t cat = iid(p, T_CAT, ct_profile_name(w->profile));
		uint64_t name = iid(p, T_NAME, ct_kind_name(w->kind));
		uint64_t a_site = iid(p, T_ANAME, "site");
		uint64_t v_site = iid(p, T_ASTR, ct_export_site_cached(&p->sites, p->x, w->stack));
		uint64_t a_obj = iid(p, T_ANAME, "object");
		uint64_t a_fd = iid(p, T_ANAME, "fd_class");
		uint64_t a_unf = iid(p, T_ANAME, "unfinished");
		uint64_t v_fd = 0;

		if (w->syscall && w->fd_class != CT_FD_UNKNOWN && w->fd_class != CT_FD_NONE)
			v_fd = iid(p, T_ASTR, ct_fd_class_name(w->fd_class));
		mk = packet_begin(p, b);
		te = ct_pb_begin(&p->b, PKT_TRACK_EVENT);
		ct_pb_uint(&p->b, TE_TYPE, TYPE_SLICE_BEGIN);
		ct_pb_uint(&p->b, TE_TRACK_UUID, thread_uuid(p->k, w->thr));
		ct_pb_uint(&p->b, TE_CATEGORY_IIDS, cat);
		ct_pb_uint(&p->b, TE_NAME_IID, name);
		annot_istr(p, a_site, v_site);
		if (!w->syscall)
			annot_ptr(p, a_obj, w->obj);
		else if (v_fd)
			annot_istr(p, a_fd, v_fd);
		if (w->unfinished)
			annot_bool(p, a_unf, 1);
		ct_pb_end(&p->b, te);
		packet_end(p, mk);
	}
	p->open[p->nopen].end = e;
	p->open[p->nopen++].runnable = 0;
	if (!w->has_waker)
		return;
	id = ++p->flow;
	r = w->waker_ts < b ? b : w->waker_ts > e ? e : w->waker_ts;
	/* the release: an instant on the releasing thread's track, the flow's source */
	{
		uint64_t cat = iid(p, T_CAT, "wakeup"), name, a_site, v_site, a_obj;

		snprintf(site, sizeof(site), "release %s", ct_kind_name(w->kind));
		name = iid(p, T_NAME, site);
		a_site = iid(p, T_ANAME, "site");
		v_site = iid(p, T_ASTR, ct_export_site_cached(&p->sites, p->x, w->waker_stack));
		a_obj = iid(p, T_ANAME, "object");
		mk = packet_begin(p, w->waker_ts);
		te = ct_pb_begin(&p->b, PKT_TRACK_EVENT);
		ct_pb_uint(&p->b, TE_TYPE, TYPE_INSTANT);
		ct_pb_uint(&p->b, TE_TRACK_UUID, thread_uuid(p->k, w->waker_thr));
		ct_pb_uint(&p->b, TE_CATEGORY_IIDS, cat);
		ct_pb_uint(&p->b, TE_NAME_IID, name);
		annot_istr(p, a_site, v_site);
		annot_ptr(p, a_obj, w->obj);
		ct_pb_fixed64(&p->b, TE_FLOW_IDS, id);
		ct_pb_end(&p->b, te);
		packet_end(p, mk);
	}
	/* release -> running again, nested in the wait */
	{
		uint64_t cat = iid(p, T_CAT, "wakeup"), name = iid(p, T_NAME, "runnable");

		mk = packet_begin(p, r);
		te = ct_pb_begin(&p->b, PKT_TRACK_EVENT);
		ct_pb_uint(&p->b, TE_TYPE, TYPE_SLICE_BEGIN);
		ct_pb_uint(&p->b, TE_TRACK_UUID, thread_uuid(p->k, w->thr));
		ct_pb_uint(&p->b, TE_CATEGORY_IIDS, cat);
		ct_pb_uint(&p->b, TE_NAME_IID, name);
		ct_pb_fixed64(&p->b, TE_TERMINATING_FLOW_IDS, id);
		ct_pb_end(&p->b, te);
		packet_end(p, mk);
	}
	p->open[p->nopen].end = e;
	p->open[p->nopen++].runnable = 1;
}

static void descriptor(struct pf *p, uint64_t uuid, uint64_t parent, const char *name,
		       int is_thread, uint32_t pid, uint32_t tid)
{
	size_t mk = packet_begin(p, 0), td = ct_pb_begin(&p->b, PKT_TRACK_DESCRIPTOR), d;

	ct_pb_uint(&p->b, TD_UUID, uuid);
	if (parent)
		ct_pb_uint(&p->b, TD_PARENT_UUID, parent);
	ct_pb_str(&p->b, TD_NAME, name);
	if (is_thread) {
		d = ct_pb_begin(&p->b, TD_THREAD);
		ct_pb_uint(&p->b, THD_PID, pid);
		ct_pb_uint(&p->b, THD_TID, tid);
		ct_pb_str(&p->b, THD_THREAD_NAME, name);
	} else {
		d = ct_pb_begin(&p->b, TD_PROCESS);
		ct_pb_uint(&p->b, PD_PID, pid);
		ct_pb_str(&p->b, PD_PROCESS_NAME, name);
	}
	ct_pb_end(&p->b, d);
	ct_pb_end(&p->b, td);
	packet_end(p, mk);
}

/* Annotations (ctrace_annotate.h): each thread's regions are slices on a child track of
 * its own ("regions", so that they never interleave with the waits' nesting), category
 * "region", annotated with the task; logs are instant events there, category "log". */
static uint64_t region_uuid(size_t k, uint32_t thr)
{
	return thread_uuid(k, thr) | (1ull << 39);
}

static void ann_track(struct pf *p, uint32_t thr)
{
	size_t mk, td;

	if (p->ann_seen[thr])
		return;
	p->ann_seen[thr] = 1;
	mk = packet_begin(p, 0);
	td = ct_pb_begin(&p->b, PKT_TRACK_DESCRIPTOR);
	ct_pb_uint(&p->b, TD_UUID, region_uuid(p->k, thr));
	ct_pb_uint(&p->b, TD_PARENT_UUID, thread_uuid(p->k, thr));
	ct_pb_str(&p->b, TD_NAME, "regions");
	ct_pb_end(&p->b, td);
	packet_end(p, mk);
}

static void ann_event(struct pf *p, uint32_t thr, uint64_t ts, unsigned type, const char *cat,
		      const char *name, const char *key, const char *value)
{
	size_t mk = packet_begin(p, ts), te = ct_pb_begin(&p->b, PKT_TRACK_EVENT);

	ct_pb_uint(&p->b, TE_TYPE, type);
	ct_pb_uint(&p->b, TE_TRACK_UUID, region_uuid(p->k, thr));
	if (cat) {
		ct_pb_str(&p->b, TE_CATEGORIES, cat);
		ct_pb_str(&p->b, TE_NAME, name);
		annot_str(p, key, value);
	}
	ct_pb_end(&p->b, te);
	packet_end(p, mk);
}

static void on_region(void *arg, uint32_t thr, uint64_t b, uint64_t e, const char *name,
		      const char *task)
{
	struct pf *p = arg;

	ann_track(p, thr);
	ann_event(p, thr, b, TYPE_SLICE_BEGIN, "region", name, "task", task);
	ann_event(p, thr, e, TYPE_SLICE_END, NULL, NULL, NULL, NULL);
}

static void on_log(void *arg, uint32_t thr, uint64_t ts, const char *category,
		   const char *message)
{
	struct pf *p = arg;

	ann_track(p, thr);
	ann_event(p, thr, ts, TYPE_INSTANT, "log", category, "message", message);
}

int ct_export_perfetto(const struct ct_output_ctx *c, FILE *f)
{
	struct pf p = { .c = c, .f = f, .first_packet = 1 };

	for (size_t k = 0; k < c->nin; k++) {
		const struct ct_export_input *x = &c->in[k];
		const struct ct_model *m = x->m;
		char name[128], warn[1024];

		p.x = x;
		p.k = k;
		snprintf(name, sizeof(name), "%s", m->hdr.exe[0] ? ct_basename(m->hdr.exe) : "?");
		descriptor(&p, proc_uuid(k), 0, name, 0, m->hdr.pid, 0);
		for (size_t t = 0; t < m->nthreads; t++) {
			const struct ct_mthread *th = &m->threads[t];

			snprintf(name, sizeof(name), "%s", th->name[0] ? th->name : "?");
			descriptor(&p, thread_uuid(k, (uint32_t)t), proc_uuid(k), name, 1, m->hdr.pid,
				   th->tid);
		}
		if (*ct_export_warnings(x, warn, sizeof(warn))) {
			size_t mk = packet_begin(&p, x->a->from_ts ? x->a->from_ts : 1);
			size_t te = ct_pb_begin(&p.b, PKT_TRACK_EVENT);

			ct_pb_uint(&p.b, TE_TYPE, TYPE_INSTANT);
			ct_pb_uint(&p.b, TE_TRACK_UUID, proc_uuid(k));
			ct_pb_str(&p.b, TE_CATEGORIES, "ctrace");
			ct_pb_str(&p.b, TE_NAME, "warning");
			annot_str(&p, "message", warn);
			ct_pb_end(&p.b, te);
			packet_end(&p, mk);
		}
		p.have_thr = 0;
		p.nopen = 0;
		ct_timeline_foreach(x->path, m, x->a, on_wait, &p);
		if (p.have_thr)
			close_until(&p, UINT64_MAX);
		p.ann_seen = ct_xcalloc(m->nthreads + 1, 1);
		ct_ann_walk(m, &p, on_region, on_log);
		free(p.ann_seen);
		p.ann_seen = NULL;
	}
	flush(&p, 1);
	ct_pb_free(&p.b);
	ct_export_site_cache_free(p.sites);
	intern_free(&p);
	return p.err || ferror(f) ? -1 : 0;
}
