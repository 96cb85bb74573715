/* SPDX-License-Identifier: MIT */
/*
 * Implementation of analysis.h: the drivers that feed the streaming engine (engine.h),
 * from a trace file without keeping its events (ct_analyze_file) or from a loaded model
 * (ct_analyze_with, events merged in time order), and the helpers on the results.
 */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../format/reader.h"
#include "engine.h"
#include "util.h"

static const char *const profile_names[CT_AP_MAX] = {
	[CT_AP_SYNC] = "sync", [CT_AP_NET] = "net", [CT_AP_SYSCALL] = "syscall",
	[CT_AP_SLEEP] = "sleep", [CT_AP_HOLDER] = "holder", [CT_AP_WAKEUP] = "wakeup",
};

const char *ct_aprofile_name(int profile)
{
	if (profile <= 0 || profile >= CT_AP_MAX || !profile_names[profile])
		return "?";
	return profile_names[profile];
}

int ct_aprofile_from_name(const char *name)
{
	for (int p = 1; p < CT_AP_MAX; p++)
		if (profile_names[p] && strcmp(profile_names[p], name) == 0)
			return p;
	return -1;
}

int ct_aprofile_parse_list(const char *list, unsigned *mask, const char **bad)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");
		int found = -1;

		for (int k = 1; k < CT_AP_MAX && n; k++)
			if (strlen(profile_names[k]) == n && !strncmp(profile_names[k], p, n))
				found = k;
		if (found < 0) {
			*bad = p;
			return -1;
		}
		*mask |= 1u << found;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

uint64_t ct_percentile(const uint64_t *sorted, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(((unsigned long long)pct * n + 99) / 100); /* ceil(pct * n / 100) */
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

void ct_convoy_params_default(struct ct_convoy_params *p)
{
	p->window_ns = CT_CONVOY_WINDOW_NS;
	p->min_waiters = CT_CONVOY_WAITERS;
	p->max_empty = CT_CONVOY_EMPTY;
	p->min_run = CT_CONVOY_RUN;
	p->min_releases = CT_CONVOY_RELEASES;
	p->wait_hold = CT_CONVOY_WAIT_HOLD;
}

void ct_convoy_release(struct ct_convoy *ev)
{
	free(ev->series);
	ev->series = NULL;
	ev->nseries = 0;
}

const struct ct_pentry *ct_analysis_profile(const struct ct_analysis *a, int profile,
					    size_t *n)
{
	size_t i = 0, j;

	while (i < a->nentries && a->entries[i].profile != profile)
		i++;
	for (j = i; j < a->nentries && a->entries[j].profile == profile; j++)
		;
	*n = j - i;
	return j > i ? &a->entries[i] : NULL;
}

const struct ct_object *ct_analysis_object(const struct ct_analysis *a, uint64_t addr)
{
	for (size_t i = 0; i < a->nobjs; i++)
		if (a->objs[i].addr == addr)
			return &a->objs[i];
	return NULL;
}

const struct ct_callsite *ct_analysis_site(const struct ct_analysis *a, uint32_t tid,
					   uint64_t pc, unsigned kind, unsigned fd_class)
{
	const struct ct_callsite *best = NULL;

	for (size_t i = 0; i < a->nsites; i++) {
		const struct ct_callsite *c = &a->sites[i];

		if (c->tid == tid && c->pc == pc && c->kind == kind && c->fd_class == fd_class &&
		    (!best || c->thr < best->thr))
			best = c;
	}
	return best;
}

struct ct_convoy_window *ct_convoy_series(const struct ct_object *o, uint64_t k0, uint64_t k1,
					  size_t *n)
{
	struct ct_convoy_window *v;
	size_t i = 0;

	*n = (size_t)(k1 - k0);
	if (!*n)
		return NULL;
	v = ct_xcalloc(*n, sizeof(*v));
	for (uint64_t k = k0; k < k1; k++) {
		struct ct_convoy_window *w = &v[k - k0];

		w->index = k;
		w->start_ns = k * o->convoy_ev.window_ns + o->windows_t0_ns;
		w->empty_fraction = 1;
	}
	while (i < o->nwindows && o->windows[i].index < k0)
		i++;
	for (; i < o->nwindows && o->windows[i].index < k1; i++)
		v[o->windows[i].index - k0] = o->windows[i];
	return v;
}

int ct_convoy_detect(const struct ct_analysis *a, uint64_t obj, uint64_t t0, uint64_t t1,
		     struct ct_convoy *ev)
{
	const struct ct_object *o = ct_analysis_object(a, obj);

	(void)t0;
	(void)t1;
	memset(ev, 0, sizeof(*ev));
	if (!o || !o->convoy_ev.total_windows)
		return 0;
	*ev = o->convoy_ev;
	ev->series = ct_convoy_series(o, 0, o->convoy_ev.total_windows, &ev->nseries);
	ev->window_ns = a->convoy_dw;
	return o->convoy;
}

static void set_proc(struct ct_analysis *a, uint32_t pid, uint32_t proc);

/* The analysed window and the convoy window width for a trace [start, end]. */
static void setup(struct ct_analysis *a, uint64_t start, uint64_t end, const struct ct_filter *f,
		  const struct ct_convoy_params *cp)
{
	uint64_t dw;

	if (cp)
		a->convoy = *cp;
	else
		ct_convoy_params_default(&a->convoy);
	a->start_ts = start;
	a->from_ts = start;
	a->to_ts = end;
	if (f) {
		if (f->from_ns && f->from_ns < end - start)
			a->from_ts = start + f->from_ns;
		else if (f->from_ns)
			a->from_ts = end;
		if (f->to_ns != UINT64_MAX && f->to_ns < end - start)
			a->to_ts = start + f->to_ns;
		if (a->to_ts < a->from_ts)
			a->to_ts = a->from_ts;
		a->filtered = f->from_ns || f->to_ns != UINT64_MAX || f->ntids || f->nnames ||
			      f->region || f->label_key;
	}
	dw = a->convoy.window_ns ? a->convoy.window_ns : CT_CONVOY_WINDOW_NS;
	if ((a->to_ts - a->from_ts) / CT_CONVOY_MIN_WINDOWS < dw)
		dw = (a->to_ts - a->from_ts) / CT_CONVOY_MIN_WINDOWS;
	if (dw && (a->to_ts - a->from_ts) / dw > CT_CONVOY_MAX_WINDOWS)
		dw = (a->to_ts - a->from_ts + CT_CONVOY_MAX_WINDOWS - 1) / CT_CONVOY_MAX_WINDOWS;
	a->convoy_dw = dw;
}

/* The filter an engine runs with: the window as the analysis resolved it. */
static struct ct_filter eng_filter(const struct ct_analysis *a, const struct ct_filter *f)
{
	struct ct_filter ef = { .to_ns = UINT64_MAX };

	if (f)
		ef = *f;
	ef.from_ns = a->from_ts - a->start_ts;
	ef.to_ns = f && f->to_ns != UINT64_MAX ? a->to_ts - a->start_ts : UINT64_MAX;
	return ef;
}

struct replay {
	uint64_t ts;
	uint32_t thr;
	size_t k;
};

static int cmp_replay(const void *pa, const void *pb)
{
	const struct replay *x = pa, *y = pb;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->thr != y->thr)
		return x->thr < y->thr ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

struct ct_analysis *ct_analyze_with(const struct ct_model *m, const struct ct_filter *f,
				    const struct ct_convoy_params *cp)
{
	return ct_analyze_observed(m, f, cp, NULL);
}

struct ct_analysis *ct_analyze_observed(const struct ct_model *m, const struct ct_filter *f,
					const struct ct_convoy_params *cp,
					struct ct_observer *ob)
{
	struct ct_analysis *a = ct_xcalloc(1, sizeof(*a));
	struct ct_filter ef;
	struct ct_eng *e;
	struct replay *r;
	size_t n = 0;
	unsigned char *sel = NULL;

	setup(a, m->start_ts, m->end_ts, f, cp);
	ef = eng_filter(a, f);
	e = ct_eng_new(a, &ef, m->start_ts, a->convoy_dw);
	e->obs = ob;
	if (f && f->nnames) {
		sel = ct_xcalloc(m->nthreads + 1, 1);
		for (size_t i = 0; i < m->nthreads; i++) {
			for (size_t k = 0; k < f->ntids; k++)
				sel[i] |= f->tids[k] == m->threads[i].tid;
			for (size_t k = 0; k < f->nnames; k++)
				sel[i] |= ct_filter_name(f->names[k], m->threads[i].name);
		}
		e->sel_keys = sel;
		e->nsel_keys = m->nthreads;
	}
	for (size_t i = 0; i < m->nthreads; i++)
		n += m->threads[i].nev + 1;
	r = ct_xmalloc((n + 1) * sizeof(*r));
	n = 0;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct ct_mthread *t = &m->threads[i];

		if (t->init_blocked)
			r[n++] = (struct replay){ 0, (uint32_t)i, SIZE_MAX };
		for (size_t k = 0; k < t->nev; k++)
			r[n++] = (struct replay){ t->ev[k].ev.ts, (uint32_t)i, k };
	}
	if (n > 1)
		qsort(r, n, sizeof(*r), cmp_replay);
	for (size_t i = 0; i < n; i++) {
		const struct ct_mthread *t = &m->threads[r[i].thr];
		struct ct_sevent x = { .tid = t->tid, .key = r[i].thr };

		if (r[i].k == SIZE_MAX) {
			x.ev.ts = m->start_ts;
			x.ev.type = CT_SEV_INIT_BLOCKED;
			x.ev.kind = t->init_kind;
			x.ev.obj = t->init_obj;
			ct_sev_set_init_since(&x.ev, t->init_since);
		} else {
			x.ev = t->ev[r[i].k].ev;
			if (x.ev.type == CT_EV_SYSCALL) {
				const struct ct_mstack *st = ct_model_stack(m, x.ev.stack);

				x.site = st && st->nframes ? st->pcs[0] : 0;
			}
		}
		ct_eng_event(e, &x);
	}
	free(r);
	ct_eng_finish(e, m, m->end_ts, NULL, 0);
	set_proc(a, m->hdr.pid, 0);
	free(sel);
	return a;
}

struct ct_analysis *ct_analyze_filtered(const struct ct_model *m, const struct ct_filter *f)
{
	return ct_analyze_with(m, f, NULL);
}

struct ct_analysis *ct_analyze(const struct ct_model *m)
{
	return ct_analyze_with(m, NULL, NULL);
}

/* What the streamed events are fed to: the engine, and the reading's stop flag. */
struct feeding {
	struct ct_eng *e;
	int stop_at_cut;  /* set stop once the window's end has passed */
	int stop;
};

static void feed(void *ctx, const struct ct_sevent *v, size_t n)
{
	struct feeding *fd = ctx;
	struct ct_eng *e = fd->e;

	for (size_t i = 0; i < n; i++) {
		/* the block was written past the cache (by the other thread): its next
		 * lines asked for ahead */
		if (i + 8 < n)
			__builtin_prefetch(&v[i + 8], 0, 0);
		ct_eng_event(e, &v[i]);
	}
	if (fd->stop_at_cut && e->cut)
		__atomic_store_n(&fd->stop, 1, __ATOMIC_RELAXED);
}

/* Selection by thread name needs the names, known at the end: a first pass reads them. */
static unsigned char *select_names(const char *path, const struct ct_filter *f, size_t *nsel,
				   char *err, size_t errlen)
{
	struct ct_model *m;
	uint32_t *k2t;
	size_t nk;
	unsigned char *sel;

	if (ct_model_stream(path, NULL, NULL, NULL, &m, &k2t, &nk, err, errlen) < 0)
		return NULL;
	sel = ct_xcalloc(nk + 1, 1);
	for (size_t k = 0; k < nk; k++) {
		const struct ct_mthread *t = &m->threads[k2t[k]];

		for (size_t i = 0; i < f->ntids; i++)
			sel[k] |= f->tids[i] == t->tid;
		for (size_t i = 0; i < f->nnames; i++)
			sel[k] |= ct_filter_name(f->names[i], t->name);
	}
	*nsel = nk;
	free(k2t);
	ct_model_free(m);
	return sel;
}


int ct_analyze_file(const char *path, const struct ct_filter *f,
		    const struct ct_convoy_params *cp, int threads, struct ct_model **mout,
		    struct ct_analysis **aout, char *err, size_t errlen)
{
	struct ct_file_opts o = { .threads = threads };

	return ct_analyze_file_with(path, f, cp, &o, mout, aout, err, errlen);
}

/* The observer's counts back to zero (an analysis that starts over). */
static void observer_restart(struct ct_observer *ob)
{
	*ob = (struct ct_observer){ .wait = ob->wait, .syscall = ob->syscall,
				    .restart = ob->restart, .ctx = ob->ctx };
	if (ob->restart)
		ob->restart(ob->ctx);
}

int ct_analyze_file_with(const char *path, const struct ct_filter *f,
			 const struct ct_convoy_params *cp, const struct ct_file_opts *o,
			 struct ct_model **mout, struct ct_analysis **aout, char *err,
			 size_t errlen)
{
	unsigned char *sel = NULL;
	size_t nsel = 0;
	uint64_t dw = 0;

	struct ct_filter fs;

	*mout = NULL;
	*aout = NULL;
	if (f && f->origin_ts) {
		/* one timeline for several traces: the window from the first one's start */
		struct ct_reader *r;

		if (ct_reader_open(path, &r) == 0) {
			uint64_t off = ct_reader_header(r)->start_mono_ns > f->origin_ts ?
				       ct_reader_header(r)->start_mono_ns - f->origin_ts : 0;

			ct_reader_close(r);
			fs = *f;
			fs.origin_ts = 0;
			if (f->from_ns)
				fs.from_ns = f->from_ns > off ? f->from_ns - off : 0;
			if (f->to_ns != UINT64_MAX)
				fs.to_ns = f->to_ns > off ? f->to_ns - off : 0;
			f = &fs;
		}
	}
	if (f && f->nnames && !(sel = select_names(path, f, &nsel, err, errlen)))
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		struct ct_analysis *a = ct_xcalloc(1, sizeof(*a));
		struct ct_analysis guess = { 0 };
		struct ct_filter ef;
		struct ct_eng *e;
		struct ct_model *m;
		uint32_t *k2t;
		size_t nk;

		/* the window and the convoy width before the end is known: from the filter and
		 * the parameters; checked against the trace's length afterwards */
		setup(&guess, 0, UINT64_MAX / 2, f, cp);
		*a = guess;
		a->convoy_dw = pass ? dw : cp && cp->window_ns ? cp->window_ns :
			       CT_CONVOY_WINDOW_NS;
		if (f && f->to_ns != UINT64_MAX && f->to_ns > f->from_ns &&
		    (f->to_ns - f->from_ns) / CT_CONVOY_MIN_WINDOWS < a->convoy_dw)
			a->convoy_dw = (f->to_ns - f->from_ns) / CT_CONVOY_MIN_WINDOWS;
		ef = f ? *f : (struct ct_filter){ .to_ns = UINT64_MAX };
		e = NULL;
		{
			struct ct_reader *r;
			uint64_t start;

			if (ct_reader_open(path, &r) < 0) {
				int rc = ct_model_stream(path, NULL, NULL, NULL, &m, &k2t, &nk,
							 err, errlen);
				if (rc == 0) {
					ct_model_free(m);
					free(k2t);
				}
				free(a);
				free(sel);
				return -1;
			}
			start = ct_reader_header(r)->start_mono_ns;
			ct_reader_close(r);
			e = ct_eng_new(a, &ef, start, a->convoy_dw);
		}
		e->sel_keys = sel;
		e->nsel_keys = nsel;
		e->obs = o->ob;
		struct feeding fd = { .e = e, .stop_at_cut = o->stop_at_cut };
		struct ct_stream_opts so = { .threads = o->threads, .annotations = o->annotations,
					     .stop = &fd.stop };

		if (ct_model_stream(path, &so, feed, &fd, &m, &k2t, &nk, err, errlen) < 0) {
			struct ct_model none = { 0 };

			ct_eng_finish(e, &none, 0, NULL, 0);
			ct_analysis_free(a);
			free(sel);
			return -1;
		}
		{
			struct ct_analysis fin = { 0 };

			setup(&fin, m->start_ts, m->end_ts, f, cp);
			a->start_ts = fin.start_ts;
			a->from_ts = fin.from_ts;
			a->to_ts = fin.to_ts;
			a->filtered = fin.filtered;
			dw = fin.convoy_dw;
		}
		if (pass == 0 && dw != a->convoy_dw && (e->convoy_used || e->convoy_overflow)) {
			/* a trace shorter than CT_CONVOY_MIN_WINDOWS windows, or longer than
			 * CT_CONVOY_MAX_WINDOWS: again, with the
			 * width its length gives */
			e->obs = NULL;
			ct_eng_finish(e, m, m->end_ts, k2t, nk);
			ct_analysis_free(a);
			ct_model_free(m);
			free(k2t);
			if (o->ob)
				observer_restart(o->ob);
			continue;
		}
		a->convoy_dw = e->dw;
		ct_eng_finish(e, m, m->end_ts, k2t, nk);
		set_proc(a, m->hdr.pid, 0);
		if (o->k2t) {
			*o->k2t = k2t;
			*o->nk = nk;
		} else {
			free(k2t);
		}
		free(sel);
		*mout = m;
		*aout = a;
		if (!o->quiet)
			ct_model_warn_damaged(m, path);
		return 0;
	}
	free(sel);
	return -1;
}

/* Gives every result of a its process (pid 0: keeps theirs) and trace index. */
#define SETP(x) do { if (pid) (x).pid = pid; (x).proc = proc; } while (0)
static void set_proc(struct ct_analysis *a, uint32_t pid, uint32_t proc)
{
	for (size_t i = 0; i < a->nentries; i++)
		SETP(a->entries[i]);
	for (size_t i = 0; i < a->nobjs; i++)
		SETP(a->objs[i]);
	for (size_t i = 0; i < a->nthreads; i++)
		SETP(a->threads[i]);
	for (size_t i = 0; i < a->nchains; i++)
		SETP(a->chains[i]);
	for (size_t i = 0; i < a->ndeadlocks; i++)
		for (size_t k = 0; k < a->deadlocks[i].n; k++)
			SETP(a->deadlocks[i].links[k]);
	for (size_t i = 0; i < a->nlock_order; i++)
		for (size_t k = 0; k < a->lock_order[i].n; k++)
			SETP(a->lock_order[i].edges[k]);
	for (size_t i = 0; i < a->nlo_full; i++)
		SETP(a->lo_full[i]);
	for (size_t i = 0; i < a->nregions; i++)
		SETP(a->regions[i]);
	for (size_t i = 0; i < a->ntasks; i++)
		SETP(a->tasks[i]);
	for (size_t i = 0; i < a->nlsamples; i++)
		SETP(a->lsamples[i]);
}
#undef SETP

/* Appends n elements of size sz from src to *dst (of *dn), then frees src. */
static void append(void *dst, size_t *dn, void *src, size_t n, size_t sz)
{
	void **d = dst;

	*d = ct_xrealloc(*d, (*dn + n + 1) * sz);
	if (n)
		memcpy((char *)*d + *dn * sz, src, n * sz);
	*dn += n;
	free(src);
}

/* A trace's place among several: when its process began to be traced, its pid, its
 * place as given. */
struct trace_key {
	uint64_t start;
	uint32_t pid;
	size_t given;
	const char *path;
};

static int cmp_trace_key(const void *pa, const void *pb)
{
	const struct trace_key *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->given < b->given ? -1 : a->given > b->given;
}

/* Contract in analysis.h. */
uint64_t ct_traces_order(const char **paths, size_t n)
{
	struct trace_key *k;
	struct stat *ids;
	uint64_t origin;

	if (n < 2)
		return 0;
	k = ct_xcalloc(n, sizeof(*k));
	ids = ct_xcalloc(n, sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		struct ct_reader *r = NULL;
		struct stat st;

		k[i] = (struct trace_key){ UINT64_MAX, UINT32_MAX, i, paths[i] };
		/* one file named twice would count its process twice in every sum */
		if (stat(paths[i], &st) == 0) {
			for (size_t j = 0; j < i; j++)
				if (ids[j].st_dev == st.st_dev && ids[j].st_ino == st.st_ino)
					ct_die(CT_EXIT_USAGE, "%s and %s are the same trace: each "
					       "process's trace is given once", paths[j], paths[i]);
			ids[i] = st;
		}
		/* a pipe or a terminal would lose what its header's reading takes */
		if (stat(paths[i], &st) != 0 || !S_ISREG(st.st_mode)) {
			free(ids);
			free(k);
			return 0;
		}
		if (ct_reader_open(paths[i], &r) == 0) {
			k[i].start = ct_reader_header(r)->start_mono_ns;
			k[i].pid = ct_reader_header(r)->pid;
			ct_reader_close(r);
		}
	}
	qsort(k, n, sizeof(*k), cmp_trace_key);
	for (size_t i = 0; i < n; i++)
		paths[i] = k[i].path;
	origin = k[0].start == UINT64_MAX ? 0 : k[0].start;
	free(ids);
	free(k);
	return origin;
}

struct ct_analysis *ct_analysis_merge(struct ct_analysis **parts, size_t n)
{
	struct ct_analysis *a = ct_xcalloc(1, sizeof(*a));

	for (size_t i = 0; i < n; i++) {
		struct ct_analysis *p = parts[i];

		set_proc(p, 0, (uint32_t)i);
		if (!i) {
			a->start_ts = p->start_ts;
			a->from_ts = p->from_ts;
			a->to_ts = p->to_ts;
			a->convoy = p->convoy;
			a->convoy_dw = p->convoy_dw;
		}
		/* a part whose window is empty (its process ended before the window, or began
		 * after it) does not move the window's ends */
		if (i && p->to_ts > p->from_ts) {
			if (a->to_ts <= a->from_ts) {
				a->from_ts = p->from_ts;
				a->to_ts = p->to_ts;
			}
			if (p->from_ts < a->from_ts)
				a->from_ts = p->from_ts;
			if (p->to_ts > a->to_ts)
				a->to_ts = p->to_ts;
		}
		if (p->start_ts < a->start_ts)
			a->start_ts = p->start_ts;
		a->filtered |= p->filtered;
		a->sys_nosite += p->sys_nosite;
		a->unmatched_ends += p->unmatched_ends;
		a->unfinished += p->unfinished;
		a->seccomp_threads += p->seccomp_threads;
		a->nholds += p->nholds;
		a->lo_edges += p->lo_edges;
		a->region_unbalanced += p->region_unbalanced;
		a->region_unfinished += p->region_unfinished;
		a->annotations += p->annotations;
		append(&a->regions, &a->nregions, p->regions, p->nregions, sizeof(*a->regions));
		append(&a->tasks, &a->ntasks, p->tasks, p->ntasks, sizeof(*a->tasks));
		append(&a->lsamples, &a->nlsamples, p->lsamples, p->nlsamples,
		       sizeof(*a->lsamples));
		append(&a->lock_order, &a->nlock_order, p->lock_order, p->nlock_order,
		       sizeof(*a->lock_order));
		append(&a->lo_full, &a->nlo_full, p->lo_full, p->nlo_full, sizeof(*a->lo_full));
		append(&a->sites, &a->nsites, p->sites, p->nsites, sizeof(*a->sites));
		append(&a->entries, &a->nentries, p->entries, p->nentries, sizeof(*a->entries));
		append(&a->objs, &a->nobjs, p->objs, p->nobjs, sizeof(*a->objs));
		append(&a->threads, &a->nthreads, p->threads, p->nthreads, sizeof(*a->threads));
		append(&a->deadlocks, &a->ndeadlocks, p->deadlocks, p->ndeadlocks,
		       sizeof(*a->deadlocks));
		append(&a->chains, &a->nchains, p->chains, p->nchains, sizeof(*a->chains));
		free(p);
	}
	if (a->nentries > 1)
		qsort(a->entries, a->nentries, sizeof(*a->entries), ct_ent_cmp);
	if (a->nobjs > 1)
		qsort(a->objs, a->nobjs, sizeof(*a->objs), ct_obj_cmp);
	return a;
}

void ct_analysis_free(struct ct_analysis *a)
{
	if (!a)
		return;
	free(a->sites);
	free(a->entries);
	for (size_t i = 0; i < a->nobjs; i++) {
		ct_convoy_release(&a->objs[i].convoy_ev);
		free(a->objs[i].windows);
		free(a->objs[i].under);
	}
	free(a->objs);
	for (size_t i = 0; i < a->nthreads; i++)
		free(a->threads[i].idle_ents);
	free(a->threads);
	for (size_t i = 0; i < a->ndeadlocks; i++)
		free(a->deadlocks[i].links);
	free(a->deadlocks);
	for (size_t i = 0; i < a->nlock_order; i++)
		free(a->lock_order[i].edges);
	free(a->lock_order);
	free(a->lo_full);
	for (size_t i = 0; i < a->nregions; i++) {
		free(a->regions[i].name);
		free(a->regions[i].task);
	}
	free(a->regions);
	for (size_t i = 0; i < a->ntasks; i++)
		free(a->tasks[i].name);
	free(a->tasks);
	for (size_t i = 0; i < a->nlsamples; i++)
		free(a->lsamples[i].labels);
	free(a->lsamples);
	free(a->chains);
	free(a);
}
