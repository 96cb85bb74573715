/* SPDX-License-Identifier: MIT */
/*
 * Implementation of model.h: one pass over the reader's records builds the model; then
 * each thread's events are put in time order (they normally already are: a thread's
 * chunks are written in order) and the threads are sorted by tid.
 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Load-time state: a tid -> thread index hash (threads move while the array grows). */
struct loader {
	struct ct_model *m;
	uint32_t *tid_keys;
	size_t *tid_idx;
	size_t tid_slots;
	uint32_t cur_gen_ts_gen;
	uint64_t cur_gen_ts; /* start of the generation being read */
	int seen_gen;
};

static uint64_t hash32(uint32_t x)
{
	uint64_t h = x * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 29);
}

static void tid_rehash(struct loader *l)
{
	size_t n = l->tid_slots ? l->tid_slots * 2 : 64;
	uint32_t *keys = ct_xcalloc(n, sizeof(*keys));
	size_t *idx = ct_xcalloc(n, sizeof(*idx));

	for (size_t i = 0; i < l->tid_slots; i++) {
		size_t j;

		if (!l->tid_keys[i])
			continue;
		for (j = hash32(l->tid_keys[i]) & (n - 1); keys[j]; j = (j + 1) & (n - 1))
			;
		keys[j] = l->tid_keys[i];
		idx[j] = l->tid_idx[i];
	}
	free(l->tid_keys);
	free(l->tid_idx);
	l->tid_keys = keys;
	l->tid_idx = idx;
	l->tid_slots = n;
}

/* The thread with this tid, created on first sight. tid 0 is mapped like any other. */
static struct ct_mthread *get_thread(struct loader *l, uint32_t tid, uint64_t ts)
{
	struct ct_model *m = l->m;
	uint32_t key = tid + 1; /* 0 marks an empty slot */
	struct ct_mthread *t;
	size_t j;

	if (l->tid_slots == 0 || (m->nthreads + 1) * 2 > l->tid_slots)
		tid_rehash(l);
	for (j = hash32(key) & (l->tid_slots - 1); l->tid_keys[j];
	     j = (j + 1) & (l->tid_slots - 1))
		if (l->tid_keys[j] == key)
			return &m->threads[l->tid_idx[j]];
	ct_grow(&m->threads, &m->cap_threads, m->nthreads + 1, sizeof(*m->threads));
	l->tid_keys[j] = key;
	l->tid_idx[j] = m->nthreads;
	t = &m->threads[m->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->first_seen_ts = ts;
	return t;
}

static void add_stack(struct ct_model *m, const struct ct_record *rec)
{
	const struct ct_stack *s = &rec->stack;
	struct ct_mstack *slot;
	size_t j;

	if (s->id == 0)
		return;
	if ((m->nstacks + 1) * 2 > m->stack_slots) {
		size_t n = m->stack_slots ? m->stack_slots * 2 : 256;
		struct ct_mstack *t = ct_xcalloc(n, sizeof(*t));

		for (size_t i = 0; i < m->stack_slots; i++) {
			if (!m->stacks[i].id)
				continue;
			for (j = hash32(m->stacks[i].id) & (n - 1); t[j].id; j = (j + 1) & (n - 1))
				;
			t[j] = m->stacks[i];
		}
		free(m->stacks);
		m->stacks = t;
		m->stack_slots = n;
	}
	for (j = hash32(s->id) & (m->stack_slots - 1); m->stacks[j].id;
	     j = (j + 1) & (m->stack_slots - 1))
		if (m->stacks[j].id == s->id)
			return; /* repeated in a later generation: keep the first definition */
	slot = &m->stacks[j];
	slot->id = s->id;
	slot->nframes = s->nframes;
	slot->flags = s->flags;
	slot->gen = rec->gen;
	slot->pcs = ct_xmalloc((s->nframes ? s->nframes : 1) * sizeof(uint64_t));
	if (s->nframes)
		memcpy(slot->pcs, s->pcs, s->nframes * sizeof(uint64_t));
	m->nstacks++;
}

static void add_module(struct ct_model *m, const struct ct_module *mod)
{
	const char *path = mod->path ? mod->path : "";
	struct ct_module *d;

	for (size_t i = 0; i < m->nmods; i++) {
		d = &m->mods[i];
		if (d->lo == mod->lo && d->hi == mod->hi && d->bias == mod->bias &&
		    strcmp(d->path, path) == 0)
			return;
	}
	ct_grow(&m->mods, &m->cap_mods, m->nmods + 1, sizeof(*m->mods));
	d = &m->mods[m->nmods++];
	*d = *mod;
	if (d->build_id_len > CT_BUILD_ID_MAX)
		d->build_id_len = CT_BUILD_ID_MAX;
	d->path = ct_xstrdup(path);
}

static void set_name(struct ct_mthread *t, const char *name, size_t len, uint64_t ts)
{
	if (ts < t->name_ts)
		return;
	if (len > CT_NAME_LEN)
		len = CT_NAME_LEN;
	memcpy(t->name, name, len);
	t->name[len] = 0;
	t->name_ts = ts;
}

static void add_sample(struct ct_mthread *t, uint64_t ts, uint64_t cpu, uint64_t runq)
{
	ct_grow(&t->samples, &t->cap_samples, t->nsamples + 1, sizeof(*t->samples));
	t->samples[t->nsamples++] = (struct ct_sched_sample){ ts, cpu, runq };
}

static void add_thread_state(struct loader *l, const struct ct_record *rec)
{
	struct ct_model *m = l->m;
	const struct ct_thread_state *s = &rec->thread;
	struct ct_mthread *t = get_thread(l, s->tid, l->cur_gen_ts);
	int first_gen = rec->gen == m->first_gen;

	if (s->parent_tid)
		t->parent_tid = s->parent_tid;
	if (s->start_func)
		t->start_func = s->start_func;
	if (s->name[0])
		set_name(t, s->name, strnlen(s->name, CT_NAME_LEN), l->cur_gen_ts);
	if (s->cpu_ns || s->runq_ns)
		add_sample(t, l->cur_gen_ts, s->cpu_ns, s->runq_ns);
	/* schedstat values are cumulative: the latest sample is the total */
	if (s->cpu_ns > t->cpu_ns)
		t->cpu_ns = s->cpu_ns;
	if (s->runq_ns > t->runq_ns)
		t->runq_ns = s->runq_ns;
	if (first_gen) {
		t->in_first_gen = 1;
		/* Only a wait that began before the file's first generation is missing its
		 * WAIT_BEGIN; later generations repeat waits whose begin we have. */
		if (s->blocked && !t->init_blocked && s->since < l->cur_gen_ts) {
			t->init_blocked = 1;
			t->init_kind = s->kind;
			t->init_obj = s->obj;
			t->init_since = s->since;
		}
	}
}

static void add_event(struct loader *l, const struct ct_record *rec)
{
	struct ct_model *m = l->m;
	struct ct_mthread *t = get_thread(l, rec->tid, rec->ev.ts);
	const struct ct_event *ev = &rec->ev;
	struct ct_mevent *me;

	ct_grow(&t->ev, &t->cap, t->nev + 1, sizeof(*t->ev));
	me = &t->ev[t->nev];
	me->ev = *ev;
	me->gen = rec->gen;
	me->ord = (uint32_t)t->nev;
	t->nev++;
	m->nevents++;
	if (t->first_seen_ts == 0 || ev->ts < t->first_seen_ts)
		t->first_seen_ts = ev->ts;
	if (ev->ts > t->last_seen_ts)
		t->last_seen_ts = ev->ts;
	if (ev->ts > m->end_ts)
		m->end_ts = ev->ts;

	switch (ev->type) {
	case CT_EV_THREAD_START:
		t->has_start = 1;
		t->start_ts = ev->ts;
		if (ev->a)
			t->parent_tid = (uint32_t)ev->a;
		if (ev->b)
			t->start_func = ev->b;
		break;
	case CT_EV_THREAD_END:
		t->has_end = 1;
		t->end_ts = ev->ts;
		/* a sample at exit, when the recorder writes one (a: cpu ns, b: run-queue ns) */
		if (ev->a || ev->b) {
			add_sample(t, ev->ts, ev->a, ev->b);
			if (ev->a > t->cpu_ns)
				t->cpu_ns = ev->a;
			if (ev->b > t->runq_ns)
				t->runq_ns = ev->b;
		}
		break;
	case CT_EV_THREAD_NAME: {
		char name[CT_NAME_LEN];
		struct ct_mthread *named;

		/* name in b then c, 16 bytes NUL-padded: the in-memory layout of the two
		 * fields, as the recorder copied it */
		memcpy(name, &ev->b, 8);
		memcpy(name + 8, &ev->c, 8);
		named = ev->a ? get_thread(l, (uint32_t)ev->a, ev->ts) : t;
		set_name(named, name, strnlen(name, CT_NAME_LEN), ev->ts);
		break;
	}
	default:
		break;
	}
}

static int cmp_mevent(const void *pa, const void *pb)
{
	const struct ct_mevent *a = pa, *b = pb;

	if (a->ev.ts != b->ev.ts)
		return a->ev.ts < b->ev.ts ? -1 : 1;
	return a->ord < b->ord ? -1 : a->ord > b->ord;
}

static int cmp_sample(const void *pa, const void *pb)
{
	const struct ct_sched_sample *a = pa, *b = pb;

	return a->ts < b->ts ? -1 : a->ts > b->ts;
}

static int cmp_thread(const void *pa, const void *pb)
{
	const struct ct_mthread *a = pa, *b = pb;

	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static void finish(struct ct_model *m)
{
	for (size_t i = 0; i < m->nthreads; i++) {
		struct ct_mthread *t = &m->threads[i];
		int sorted = 1;

		for (size_t k = 1; k < t->nev && sorted; k++)
			if (t->ev[k].ev.ts < t->ev[k - 1].ev.ts)
				sorted = 0;
		if (!sorted && t->nev > 1)
			qsort(t->ev, t->nev, sizeof(*t->ev), cmp_mevent);
		if (t->nsamples > 1)
			qsort(t->samples, t->nsamples, sizeof(*t->samples), cmp_sample);
	}
	if (m->nthreads > 1)
		qsort(m->threads, m->nthreads, sizeof(*m->threads), cmp_thread);
	if (m->start_ts == 0 || (m->first_gen_ts && m->first_gen_ts < m->start_ts))
		m->start_ts = m->first_gen_ts;
	for (size_t i = 0; i < m->nthreads; i++) {
		struct ct_mthread *t = &m->threads[i];

		if (t->nev && t->ev[0].ev.ts < m->start_ts)
			m->start_ts = t->ev[0].ev.ts;
	}
	if (m->end_ts < m->start_ts)
		m->end_ts = m->start_ts;
	m->lost_total = 0;
	for (int c = 0; c < CT_L_MAX; c++)
		m->lost_total += m->lost[c];
}

int ct_model_load_reader(struct ct_reader *r, struct ct_model **out, char *err,
			 size_t errlen)
{
	struct loader l = { 0 };
	struct ct_model *m = ct_xcalloc(1, sizeof(*m));
	struct ct_record rec;
	int rc;

	*out = NULL;
	l.m = m;
	m->hdr = *ct_reader_header(r);
	m->hdr.exe[sizeof(m->hdr.exe) - 1] = 0;
	m->start_ts = m->hdr.start_mono_ns;
	while ((rc = ct_reader_next(r, &rec)) == 1) {
		switch (rec.type) {
		case CT_REC_GEN_BEGIN:
			if (!l.seen_gen) {
				m->first_gen = rec.gen;
				m->first_gen_ts = rec.ts_mono;
				l.seen_gen = 1;
			}
			if (rec.gen > m->last_gen || m->ngens == 0)
				m->last_gen = rec.gen;
			m->ngens++;
			m->last_gen_open = 1;
			l.cur_gen_ts = rec.ts_mono;
			if (rec.ts_mono > m->end_ts)
				m->end_ts = rec.ts_mono;
			break;
		case CT_REC_MODULE:
			add_module(m, &rec.module);
			break;
		case CT_REC_STACK:
			add_stack(m, &rec);
			break;
		case CT_REC_THREAD:
			add_thread_state(&l, &rec);
			break;
		case CT_REC_EVENT:
			add_event(&l, &rec);
			break;
		case CT_REC_GEN_END:
			for (int c = 0; c < CT_L_MAX; c++)
				if (rec.lost[c] > m->lost[c])
					m->lost[c] = rec.lost[c];
			if (rec.end_ts > m->end_ts)
				m->end_ts = rec.end_ts;
			m->last_gen_open = 0;
			break;
		}
	}
	free(l.tid_keys);
	free(l.tid_idx);
	if (rc < 0) {
		snprintf(err, errlen, "%s", ct_reader_error(r));
		ct_model_free(m);
		return -1;
	}
	m->truncated = ct_reader_truncated(r);
	m->trailing_bytes = ct_reader_trailing_bytes(r);
	finish(m);
	*out = m;
	return 0;
}

int ct_model_load(const char *path, struct ct_model **out, char *err, size_t errlen)
{
	struct ct_reader *r = NULL;
	int rc = ct_reader_open(path, &r);

	*out = NULL;
	if (rc < 0 || !r) {
		snprintf(err, errlen, "%s", rc == -ENOENT || rc == -EACCES || rc == -EISDIR ?
			 strerror(-rc) : ct_reader_open_error());
		return -1;
	}
	rc = ct_model_load_reader(r, out, err, errlen);
	ct_reader_close(r);
	return rc;
}

void ct_model_free(struct ct_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nmods; i++)
		free((char *)m->mods[i].path);
	free(m->mods);
	for (size_t i = 0; i < m->stack_slots; i++)
		free(m->stacks[i].pcs);
	free(m->stacks);
	for (size_t i = 0; i < m->nthreads; i++) {
		free(m->threads[i].ev);
		free(m->threads[i].samples);
	}
	free(m->threads);
	free(m);
}

const struct ct_mstack *ct_model_stack(const struct ct_model *m, uint32_t id)
{
	if (id == 0 || m->stack_slots == 0)
		return NULL;
	for (size_t j = hash32(id) & (m->stack_slots - 1); m->stacks[j].id;
	     j = (j + 1) & (m->stack_slots - 1))
		if (m->stacks[j].id == id)
			return &m->stacks[j];
	return NULL;
}

const struct ct_mthread *ct_model_thread(const struct ct_model *m, uint32_t tid)
{
	struct ct_mthread key = { .tid = tid };

	if (!m->nthreads)
		return NULL;
	return bsearch(&key, m->threads, m->nthreads, sizeof(*m->threads), cmp_thread);
}

static uint64_t lerp(uint64_t t0, uint64_t v0, uint64_t t1, uint64_t v1, uint64_t ts)
{
	if (t1 <= t0 || v1 <= v0)
		return v1 > v0 ? v1 : v0;
	return v0 + (uint64_t)((double)(v1 - v0) * (double)(ts - t0) / (double)(t1 - t0));
}

void ct_model_sched_at(const struct ct_mthread *t, uint64_t ts, uint64_t *cpu, uint64_t *runq)
{
	struct ct_sched_sample prev = { t->has_start ? t->start_ts : 0, 0, 0 };
	int have_prev = t->has_start;

	*cpu = *runq = 0;
	for (size_t i = 0; i < t->nsamples; i++) {
		const struct ct_sched_sample *s = &t->samples[i];

		if (s->ts >= ts) {
			if (!have_prev || ts <= prev.ts) {
				*cpu = have_prev ? prev.cpu_ns : s->cpu_ns;
				*runq = have_prev ? prev.runq_ns : s->runq_ns;
			} else {
				*cpu = lerp(prev.ts, prev.cpu_ns, s->ts, s->cpu_ns, ts);
				*runq = lerp(prev.ts, prev.runq_ns, s->ts, s->runq_ns, ts);
			}
			return;
		}
		prev = *s;
		have_prev = 1;
	}
	if (have_prev) {
		*cpu = prev.cpu_ns;
		*runq = prev.runq_ns;
	}
}

uint64_t ct_model_duration(const struct ct_model *m)
{
	return m->end_ts > m->start_ts ? m->end_ts - m->start_ts : 0;
}
