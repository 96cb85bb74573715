/* SPDX-License-Identifier: MIT */
/*
 * Regions and labels (README.md, "Regions and tasks"): each thread's stack of open regions
 * and its labels, rebuilt from the annotation events as they stream by (an annotation's
 * text may continue in the TEXT events that follow it on its thread). A region ends at
 * the REGION_END of the same name and task as the innermost open one; any other end is
 * ignored and counted (ct_analysis.region_unbalanced), as Go's tracer does with
 * unbalanced regions. Every wait and recorded system call that ends while regions are
 * open on its thread adds its own time (nested waits counted once, as in the threads
 * table) to each of them, by profile, and to their tasks (tasks.c), once per task. The
 * regions are aggregated by (name, task name), with percentiles from the log-linear
 * histograms (lhist.h). Also the --region/--label filter (ct_ann_keep) and the exporters'
 * walk over a loaded model's annotations (ct_ann_walk); the outputs are in regions_out.c.
 */
#include "regions.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "export.h"
#include "util.h"

uint32_t ct_ann_intern(struct ann_state *s, const char *text, size_t len)
{
	uint64_t k = 1469598103934665603ull;
	uint32_t v;

	for (size_t i = 0; i < len; i++)
		k = (k ^ (unsigned char)text[i]) * 1099511628211ull;
	k = ct_htab_key(k, len, 0x7e57);
	v = ct_htab_get(&s->name_by_key, k);
	if (v != UINT32_MAX)
		return v;
	ct_grow(&s->names, &s->cnames, s->nnames + 1, sizeof(*s->names));
	s->names[s->nnames] = ct_xmalloc(len + 1);
	memcpy(s->names[s->nnames], text, len);
	s->names[s->nnames][len] = 0;
	ct_htab_put(&s->name_by_key, k, (uint32_t)s->nnames);
	return (uint32_t)s->nnames++;
}

static struct ann_state *state(struct ct_eng *e)
{
	if (!e->ann)
		e->ann = ct_xcalloc(1, sizeof(*e->ann));
	return e->ann;
}

static struct ann_thread *thread_of(struct ann_state *s, const struct eng_thread *t, int make)
{
	uint64_t k = (uint64_t)t->key + 1;
	uint32_t v = ct_htab_get(&s->th_by_key, k);

	if (v != UINT32_MAX)
		return &s->th[v];
	if (!make)
		return NULL;
	ct_grow(&s->th, &s->cth, s->nth + 1, sizeof(*s->th));
	memset(&s->th[s->nth], 0, sizeof(s->th[s->nth]));
	s->th[s->nth].key = t->key;
	s->th[s->nth].tid = t->tid;
	ct_htab_put(&s->th_by_key, k, (uint32_t)s->nth);
	return &s->th[s->nth++];
}

/* A region instance ends at ts: into its (name, task name) aggregate. */
static void region_done(struct ct_eng *e, struct ann_state *s, const struct ann_open *op,
			uint64_t ts)
{
	const char *tn = ct_ann_task_name(s, op->task);
	uint32_t tni = ct_ann_intern(s, tn, strlen(tn));
	uint64_t k = ct_htab_key((uint64_t)op->name + 1, (uint64_t)tni + 1, 0x5e61);
	uint32_t v = ct_htab_get(&s->reg_by_key, k);
	uint64_t d = ts > op->begin ? ts - op->begin : 0;
	struct ann_region *r;

	(void)e;
	if (v == UINT32_MAX) {
		ct_grow(&s->reg, &s->creg, s->nreg + 1, sizeof(*s->reg));
		r = &s->reg[s->nreg];
		memset(r, 0, sizeof(*r));
		r->name = op->name;
		r->task_name = tni;
		r->r.stack = op->stack;
		ct_htab_put(&s->reg_by_key, k, (uint32_t)s->nreg++);
	} else {
		r = &s->reg[v];
	}
	r->r.count++;
	r->r.total_ns += d;
	if (d > r->r.max_ns)
		r->r.max_ns = d;
	for (int p = 0; p < CT_P_MAX; p++)
		r->r.blocked_ns[p] += op->blocked[p];
	ct_lhist_add(&r->h, d, 1);
}

static void set_label(struct ann_thread *at, uint32_t key, uint32_t value, int removed)
{
	for (size_t i = 0; i < at->nlabels; i++) {
		if (at->labels[i].key != key)
			continue;
		if (removed)
			at->labels[i] = at->labels[--at->nlabels];
		else
			at->labels[i].value = value;
		return;
	}
	if (removed)
		return;
	ct_grow(&at->labels, &at->clabels, at->nlabels + 1, sizeof(*at->labels));
	at->labels[at->nlabels++] = (struct ann_label){ key, value };
}

/* An annotation with its whole text (text[0 .. len), NUL-padded). */
static void apply(struct ct_eng *e, struct ann_state *s, struct ann_thread *at,
		  const struct ct_event *ev, const char *text, size_t len)
{
	size_t n1 = strnlen(text, len);
	const char *second = n1 < len ? text + n1 + 1 : text + len;
	size_t n2 = n1 < len ? strnlen(second, len - n1 - 1) : 0;

	switch (ev->type) {
	case CT_EV_TASK_BEGIN:
		ct_ann_task_begin(s, ev->obj, ct_ann_intern(s, text, n1), ev->ts, at->tid);
		break;
	case CT_EV_TASK_END:
		ct_ann_task_end(s, ev->obj, ev->ts, at->tid);
		break;
	case CT_EV_REGION_BEGIN:
		ct_grow(&at->open, &at->copen, at->nopen + 1, sizeof(*at->open));
		at->open[at->nopen++] = (struct ann_open){ .name = ct_ann_intern(s, text, n1),
							   .task = ev->obj, .begin = ev->ts,
							   .stack = ev->stack };
		if (ev->obj)
			ct_ann_task_thread(ct_ann_task(s, ev->obj), at->tid);
		break;
	case CT_EV_REGION_END: {
		uint32_t name = ct_ann_intern(s, text, n1);

		if (at->nopen && at->open[at->nopen - 1].name == name &&
		    at->open[at->nopen - 1].task == ev->obj) {
			at->nopen--;
			region_done(e, s, &at->open[at->nopen], ev->ts);
		} else {
			e->a->region_unbalanced++;
		}
		break;
	}
	case CT_EV_LOG:
		ct_ann_task_log(s, ev->obj, at->tid);
		break;
	case CT_EV_LABEL:
		set_label(at, ct_ann_intern(s, text, n1), ct_ann_intern(s, second, n2),
			  ct_ev_label_removed(ev) != 0);
		break;
	default:
		break;
	}
}

static void flush_pending(struct ct_eng *e, struct ann_state *s, struct ann_thread *at)
{
	if (!at->pend_left)
		return;
	at->pend_left = 0;
	apply(e, s, at, &at->pend, at->text, at->text_len);
}

void ct_ann_event(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev)
{
	struct ann_state *s;
	struct ann_thread *at;

	if (!t->selected)
		return;
	s = state(e);
	at = thread_of(s, t, 1);
	if (ev->type == CT_EV_TEXT) {
		if (!at->pend_left)
			return; /* its annotation was lost */
		if (at->text_len + CT_TEXT_PART <= CT_TEXT_MAX)
			at->text_len += ct_ev_text_get(ev, at->text + at->text_len);
		if (--at->pend_left == 0)
			apply(e, s, at, &at->pend, at->text, at->text_len);
		return;
	}
	flush_pending(e, s, at);
	e->a->annotations++;
	at->text_len = ct_ev_text_get(ev, at->text);
	if (ev->flags && ev->flags <= CT_TEXT_PARTS) {
		at->pend = *ev;
		at->pend_left = ev->flags;
		return;
	}
	apply(e, s, at, ev, at->text, at->text_len);
}

void ct_ann_blocked(struct ct_eng *e, struct eng_thread *t, unsigned profile, uint64_t own)
{
	struct ann_state *s = e->ann;
	struct ann_thread *at;

	if (!s || profile <= CT_P_NONE || profile >= CT_P_MAX || !own)
		return;
	at = thread_of(s, t, 0);
	if (!at)
		return;
	for (size_t i = 0; i < at->nopen; i++) {
		struct ann_open *op = &at->open[i];
		int seen = 0;

		op->blocked[profile] += own;
		if (!op->task)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = at->open[k].task == op->task;
		if (!seen)
			ct_ann_task(s, op->task)->blocked[profile] += own;
	}
}

static void close_all(struct ct_eng *e, struct ann_state *s, struct ann_thread *at, uint64_t ts)
{
	flush_pending(e, s, at);
	while (at->nopen) {
		at->nopen--;
		e->a->region_unfinished++;
		region_done(e, s, &at->open[at->nopen], ts);
	}
}

void ct_ann_thread_end(struct ct_eng *e, struct eng_thread *t, uint64_t ts)
{
	struct ann_state *s = e->ann;
	struct ann_thread *at = s ? thread_of(s, t, 0) : NULL;

	if (at)
		close_all(e, s, at, ts);
}

/* Appends "key\0value\0" to buf (of cap, at *n); 0 when it does not fit. */
static int put_pair(char *buf, size_t cap, size_t *n, const char *k, const char *v)
{
	size_t kl = strlen(k) + 1, vl = strlen(v) + 1;

	if (*n + kl + vl + 1 > cap)
		return 0;
	memcpy(buf + *n, k, kl);
	memcpy(buf + *n + kl, v, vl);
	*n += kl + vl;
	return 1;
}

void ct_ann_sample(struct ct_eng *e, struct eng_thread *t, int profile, unsigned kind,
		   unsigned fd_class, uint32_t stack, uint64_t d, uint64_t obj)
{
	unsigned ks = e->f ? e->f->entry_keys : 0;
	uint32_t thr = ks & CT_EKEY_THREAD ? t->key : 0; /* a key until ct_ann_finish */
	struct ann_state *s = e->ann;
	struct ann_thread *at;
	char buf[1024];
	size_t n = 0;
	uint32_t blob;
	uint64_t k;
	uint32_t v;

	if (!s || !(at = thread_of(s, t, 0)) || (!at->nopen && !at->nlabels))
		return;
	if (at->nopen) {
		const struct ann_open *op = &at->open[at->nopen - 1];
		const char *tn = ct_ann_task_name(s, op->task);

		put_pair(buf, sizeof(buf), &n, "region", s->names[op->name]);
		if (tn[0])
			put_pair(buf, sizeof(buf), &n, "task", tn);
	}
	for (size_t i = 0; i < at->nlabels; i++)
		put_pair(buf, sizeof(buf), &n, s->names[at->labels[i].key],
			 s->names[at->labels[i].value]);
	buf[n++] = 0;
	blob = ct_ann_intern(s, buf, n);
	if (!(ks & CT_EKEY_OBJECT))
		obj = 0;
	k = ct_htab_key(ct_htab_key((uint64_t)profile << 16 | kind << 8 | fd_class, stack,
				    (uint64_t)blob + 1), thr, obj);
	v = ct_htab_get(&s->ls_by_key, k);
	if (v == UINT32_MAX) {
		ct_grow(&s->ls, &s->cls, s->nls + 1, sizeof(*s->ls));
		s->ls[s->nls] = (struct ann_lsample){ .l = { .profile = profile,
							      .kind = (uint8_t)kind,
							      .fd_class = (uint8_t)fd_class,
							      .stack = stack, .thr = thr,
							      .obj = obj },
						      .labels = blob, .len = (uint32_t)n };
		ct_htab_put(&s->ls_by_key, k, (uint32_t)s->nls);
		v = (uint32_t)s->nls++;
	}
	s->ls[v].l.count++;
	s->ls[v].l.total_ns += d;
}

static int cmp_ls(const void *pa, const void *pb)
{
	const struct ct_lsample *x = pa, *y = pb;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->fd_class != y->fd_class)
		return x->fd_class < y->fd_class ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->thr != y->thr)
		return x->thr < y->thr ? -1 : 1;
	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

size_t ct_analysis_entry_labels(const struct ct_analysis *a, const struct ct_pentry *e,
				const struct ct_lsample **out)
{
	struct ct_lsample key = { .profile = e->profile, .kind = e->kind, .fd_class = e->fd_class,
				  .stack = e->stack, .proc = e->proc, .thr = e->thr, .obj = e->obj,
				  .labels = (char *)"" };
	size_t lo = 0, hi = a->nlsamples, first;

	*out = NULL;
	if (e->remainder)
		return 0;
	/* the first part not before key (labels "" sorts first) */
	CT_PARTITION(lo, hi, mid, cmp_ls(&a->lsamples[mid], &key) < 0);
	first = lo;
	while (lo < a->nlsamples && a->lsamples[lo].proc == e->proc &&
	       a->lsamples[lo].profile == e->profile && a->lsamples[lo].kind == e->kind &&
	       a->lsamples[lo].fd_class == e->fd_class && a->lsamples[lo].stack == e->stack &&
	       a->lsamples[lo].thr == e->thr && a->lsamples[lo].obj == e->obj)
		lo++;
	*out = &a->lsamples[first];
	return lo - first;
}

static int cmp_region(const void *pa, const void *pb)
{
	const struct ct_region *x = pa, *y = pb;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ct_ann_finish(struct ct_eng *e, uint64_t end, const uint32_t *key_to_thr, size_t nkeys)
{
	struct ann_state *s = e->ann;
	struct ct_analysis *a = e->a;

	if (!s)
		return;
	for (size_t i = 0; i < s->nth; i++)
		close_all(e, s, &s->th[i], end);
	a->regions = ct_xcalloc(s->nreg + 1, sizeof(*a->regions));
	for (size_t i = 0; i < s->nreg; i++) {
		struct ann_region *r = &s->reg[i];

		r->r.p50_ns = ct_lhist_pct(&r->h, 50);
		r->r.p99_ns = ct_lhist_pct(&r->h, 99);
		ct_lhist_reset(&r->h);
		r->r.name = ct_xstrdup(s->names[r->name]);
		r->r.task = ct_xstrdup(s->names[r->task_name]);
		a->regions[a->nregions++] = r->r;
	}
	if (a->nregions > 1)
		qsort(a->regions, a->nregions, sizeof(*a->regions), cmp_region);
	ct_ann_tasks_finish(s, a, end);
	a->lsamples = ct_xcalloc(s->nls + 1, sizeof(*a->lsamples));
	for (size_t i = 0; i < s->nls; i++) {
		struct ct_lsample l = s->ls[i].l;

		if (key_to_thr && (e->f ? e->f->entry_keys : 0) & CT_EKEY_THREAD)
			l.thr = l.thr < nkeys ? key_to_thr[l.thr] : UINT32_MAX;

		l.labels = ct_xmalloc(s->ls[i].len);
		memcpy(l.labels, s->names[s->ls[i].labels], s->ls[i].len);
		a->lsamples[a->nlsamples++] = l;
	}
	if (a->nlsamples > 1)
		qsort(a->lsamples, a->nlsamples, sizeof(*a->lsamples), cmp_ls);
	free(s->ls);
	ct_htab_free(&s->ls_by_key);
	for (size_t i = 0; i < s->nth; i++) {
		free(s->th[i].open);
		free(s->th[i].labels);
	}
	free(s->th);
	ct_htab_free(&s->th_by_key);
	free(s->reg);
	ct_htab_free(&s->reg_by_key);
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	ct_htab_free(&s->name_by_key);
	free(s);
	e->ann = NULL;
}

int ct_ann_keep_slow(struct ct_eng *e, struct eng_thread *t)
{
	const struct ct_filter *f = e->f;
	struct ann_state *s = e->ann;
	struct ann_thread *at;
	int in_region, labelled;

	at = s ? thread_of(s, t, 0) : NULL;
	if (!at)
		return 0;
	in_region = !f->region;
	for (size_t i = 0; i < at->nopen && !in_region; i++)
		in_region = !strcmp(s->names[at->open[i].name], f->region);
	labelled = !f->label_key;
	for (size_t i = 0; i < at->nlabels && !labelled; i++)
		labelled = !strcmp(s->names[at->labels[i].key], f->label_key) &&
			   !strcmp(s->names[at->labels[i].value], f->label_value);
	return in_region && labelled;
}

/* ---- the exporters' view: region instances and logs, from a loaded model ------------ */

/* The text of th's annotation event i (its TEXT events after it) into buf (at least
 * CT_TEXT_MAX + 1 bytes, NUL-terminated); returns its length with the padding. */
static size_t text_at(const struct ct_mthread *th, size_t i, char *buf)
{
	size_t n = ct_ev_text_get(&th->ev[i].ev, buf);
	unsigned parts = th->ev[i].ev.flags;

	for (size_t k = i + 1; k < th->nev && parts && th->ev[k].ev.type == CT_EV_TEXT &&
			       n + CT_TEXT_PART <= CT_TEXT_MAX; k++, parts--)
		n += ct_ev_text_get(&th->ev[k].ev, buf + n);
	buf[n] = 0;
	return n;
}

void ct_ann_walk(const struct ct_model *m, void *ctx,
		 void (*region)(void *ctx, uint32_t thr, uint64_t begin, uint64_t end,
				const char *name, const char *task),
		 void (*log)(void *ctx, uint32_t thr, uint64_t ts, const char *category,
			     const char *message))
{
	struct ann_state s = { 0 };
	char buf[CT_TEXT_MAX + 1];
	struct { uint32_t name; uint64_t task, begin; } *open = NULL;
	size_t nopen = 0, copen = 0;

	/* the tasks' names first: a task may be begun on one thread and used on another */
	for (size_t t = 0; t < m->nthreads; t++) {
		const struct ct_mthread *th = &m->threads[t];

		for (size_t i = 0; i < th->nev; i++)
			if (th->ev[i].ev.type == CT_EV_TASK_BEGIN) {
				size_t n = text_at(th, i, buf);

				ct_ann_task_begin(&s, th->ev[i].ev.obj,
						  ct_ann_intern(&s, buf, strnlen(buf, n)),
						  th->ev[i].ev.ts, th->tid);
			}
	}
	for (size_t t = 0; t < m->nthreads; t++) {
		const struct ct_mthread *th = &m->threads[t];
		uint64_t last = th->has_end ? th->end_ts : m->end_ts;

		nopen = 0;
		for (size_t i = 0; i < th->nev; i++) {
			const struct ct_event *ev = &th->ev[i].ev;
			size_t n;

			if (ev->type != CT_EV_REGION_BEGIN && ev->type != CT_EV_REGION_END &&
			    ev->type != CT_EV_LOG)
				continue;
			n = text_at(th, i, buf);
			if (ev->type == CT_EV_LOG) {
				size_t n1 = strnlen(buf, n);

				if (log)
					log(ctx, (uint32_t)t, ev->ts, buf, n1 < n ? buf + n1 + 1 : "");
				continue;
			}
			{
				uint32_t name = ct_ann_intern(&s, buf, strnlen(buf, n));

				if (ev->type == CT_EV_REGION_BEGIN) {
					ct_grow(&open, &copen, nopen + 1, sizeof(*open));
					open[nopen].name = name;
					open[nopen].task = ev->obj;
					open[nopen++].begin = ev->ts;
				} else if (nopen && open[nopen - 1].name == name &&
					   open[nopen - 1].task == ev->obj) {
					nopen--;
					if (region)
						region(ctx, (uint32_t)t, open[nopen].begin, ev->ts,
						       s.names[name], ct_ann_task_name(&s, ev->obj));
				}
			}
		}
		while (nopen) { /* still open at the thread's end */
			nopen--;
			if (region)
				region(ctx, (uint32_t)t, open[nopen].begin,
				       last > open[nopen].begin ? last : open[nopen].begin,
				       s.names[open[nopen].name],
				       ct_ann_task_name(&s, open[nopen].task));
		}
	}
	free(open);
	ct_ann_tasks_finish_free(&s);
	for (size_t i = 0; i < s.nnames; i++)
		free(s.names[i]);
	free(s.names);
	ct_htab_free(&s.name_by_key);
}
