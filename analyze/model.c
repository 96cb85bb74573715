/* SPDX-License-Identifier: MIT */
/*
 * Implementation of model.h: one pass over the reader's records collects the events of
 * each tid; then each tid's events are put in time order (they normally already are: a
 * thread's chunks are written in order), split into its thread instances, and the thread
 * states and names are given to the instance they describe.
 */
#include "model.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../format/events.h"
#include "util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * Threads and reused tids. The kernel reuses the tid of a thread that has exited, so a
 * tid names several threads over a long trace. Loading collects every event of a tid in
 * one bucket (a thread's events come in EVENTS chunks of its tid, in order); finish()
 * sorts a bucket by time and splits it at every THREAD_START after its first event (one
 * per thread created through pthread_create/thrd_create), so each thread instance gets
 * its own struct ct_mthread. Thread states (THREADS chunks) and THREAD_NAME events name a
 * tid at a time: they are kept aside and given to the instance of that tid live then
 * (thread_pick) once the instances exist.
 */
struct bucket {
	uint32_t tid;
	struct ct_mevent *ev;
	size_t nev, cap;
	size_t first, n; /* its instances: m->threads[first .. first + n) */
	uint32_t *keys;  /* streaming: the key of each instance seen so far */
	size_t nkeys, cap_keys;
	uint64_t last_ts;/* streaming: the latest event time of the tid so far */
};

/* A THREADS entry, with the start of its generation. */
struct pstate {
	struct ct_thread_state s;
	uint32_t gen;
	uint64_t ts;
};

/* A THREAD_NAME event: tid named at ts. */
struct pname {
	uint32_t tid;
	uint64_t ts;
	char name[CT_NAME_LEN];
};

/* Streaming: one thread instance's events of the generation being read, in file order. */
struct srun {
	struct ct_sevent *v;
	size_t n, cap;
	size_t *brk;  /* where it goes back in time: v[brk[i]] is earlier than the event
		       * before it (chunks written out of order), so the run is several
		       * ascending pieces, each a source of the merge */
	size_t nbrk, cap_brk;
};

/* Streaming: a generation's runs. */
struct rset {
	struct srun *runs;       /* by key: the generation's events of each thread */
	size_t cap_runs;
	uint32_t *touched;       /* the keys with events in it, by first event */
	size_t ntouched, cap_touched;
};

struct msrc;

/* Load-time state: a tid -> bucket index hash (buckets move while the array grows). */
struct loader {
	struct ct_model *m;
	struct bucket *b;
	size_t nb, cap_b;
	struct ct_htab tids;  /* tid + 1 -> index in b */
	struct pstate *states;
	size_t nstates, cap_states;
	struct pname *names;
	size_t nnames, cap_names;
	uint64_t cur_gen_ts; /* start of the generation being read */
	int seen_gen;
	size_t last_b;       /* index of the bucket of the latest event */
	/* streaming (ct_model_stream): events are not kept but batched per generation, in
	 * one of three sets of runs in turn (flush) */
	int stream;
	int annotations;         /* the threads keep their annotation events too */
	struct rset set[3];
	unsigned cur;            /* the set being filled */
	struct msrc *pieces;     /* flush: the runs' pieces handed over */
	size_t cap_pieces;
	uint32_t *key_b, *key_i; /* key -> bucket index, instance in it */
	size_t nkeys, cap_kb, cap_ki;
	/* following a file being written (ct_model_follow_*): no final flush at its end,
	 * and an empty generation lets the held events up to its start through */
	int follow;
	uint64_t safe_ts;        /* the events handed on reach this time */
	/* following a process's successive snapshots (ct_model_follow_next): the records of
	 * generations up to done_gen (the last one read to its end) are skipped */
	int skip_done, has_done;
	uint32_t done_gen;
};

static struct bucket *get_bucket(struct loader *l, uint32_t tid)
{
	uint32_t ix = ct_htab_get(&l->tids, (uint64_t)tid + 1);
	struct bucket *b;

	if (ix != UINT32_MAX)
		return &l->b[ix];
	ct_grow(&l->b, &l->cap_b, l->nb + 1, sizeof(*l->b));
	ct_htab_put(&l->tids, (uint64_t)tid + 1, (uint32_t)l->nb);
	b = &l->b[l->nb++];
	memset(b, 0, sizeof(*b));
	b->tid = tid;
	return b;
}

/* The bucket of tid, or NULL (after loading: no bucket is created any more). */
static const struct bucket *find_bucket(const struct loader *l, uint32_t tid)
{
	uint32_t ix = ct_htab_get(&l->tids, (uint64_t)tid + 1);

	return ix == UINT32_MAX ? NULL : &l->b[ix];
}

static void add_stack(struct ct_model *m, const struct ct_record *rec)
{
	const struct ct_stack *s = &rec->stack;
	struct ct_mstack *slot;

	if (s->id == 0 || ct_htab_get(&m->stack_by_id, s->id) != UINT32_MAX)
		return; /* repeated in a later generation: keep the first definition */
	ct_grow(&m->stacks, &m->stack_slots, m->nstacks + 1, sizeof(*m->stacks));
	slot = &m->stacks[m->nstacks];
	slot->id = s->id;
	slot->nframes = s->nframes;
	slot->flags = s->flags;
	slot->gen = rec->gen;
	slot->pcs = ct_xmalloc((s->nframes ? s->nframes : 1) * sizeof(uint64_t));
	if (s->nframes)
		memcpy(slot->pcs, s->pcs, s->nframes * sizeof(uint64_t));
	ct_htab_put(&m->stack_by_id, s->id, (uint32_t)m->nstacks);
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

/* A thread state of a THREADS chunk, applied to the instance it describes. */
static void apply_thread_state(struct ct_model *m, struct ct_mthread *t, const struct pstate *p)
{
	const struct ct_thread_state *s = &p->s;

	if (!t->first_seen_ts || p->ts < t->first_seen_ts)
		t->first_seen_ts = p->ts;
	if (s->parent_tid)
		t->parent_tid = s->parent_tid;
	if (s->start_func)
		t->start_func = s->start_func;
	if (s->name[0])
		set_name(t, s->name, strnlen(s->name, CT_NAME_LEN), p->ts);
	if (s->cpu_ns || s->runq_ns)
		add_sample(t, p->ts, s->cpu_ns, s->runq_ns);
	/* schedstat values are cumulative: the latest sample is the total */
	if (s->cpu_ns > t->cpu_ns)
		t->cpu_ns = s->cpu_ns;
	if (s->runq_ns > t->runq_ns)
		t->runq_ns = s->runq_ns;
	if (p->gen == m->first_gen) {
		t->in_first_gen = 1;
		/* Only a wait that began before the file's first generation is missing its
		 * WAIT_BEGIN; later generations repeat waits whose begin we have. */
		if (s->blocked && !t->init_blocked && s->since < p->ts) {
			t->init_blocked = 1;
			t->init_kind = s->kind;
			t->init_obj = s->obj;
			t->init_since = s->since;
		}
	}
}

/* Streaming: the key of the tid's current instance, a new one at its first event or at a
 * THREAD_START later than every event of the tid so far (a thread's chunks may come out
 * of time order: a THREAD_START older than what was seen opens no new thread). */
static uint32_t inst_key(struct loader *l, struct bucket *b, int start, uint64_t ts)
{
	int fresh = !b->nkeys || (start && b->nev && ts > b->last_ts);

	if (ts > b->last_ts)
		b->last_ts = ts;
	if (fresh) {
		ct_grow(&b->keys, &b->cap_keys, b->nkeys + 1, sizeof(*b->keys));
		ct_grow(&l->key_b, &l->cap_kb, l->nkeys + 1, sizeof(*l->key_b));
		ct_grow(&l->key_i, &l->cap_ki, l->nkeys + 1, sizeof(*l->key_i));
		l->key_b[l->nkeys] = (uint32_t)(b - l->b);
		l->key_i[l->nkeys] = (uint32_t)b->nkeys;
		b->keys[b->nkeys++] = (uint32_t)l->nkeys++;
	}
	return b->keys[b->nkeys - 1];
}

/* *dst = { *ev, site, tid, key }, written past the cache where it can be: the runs are
 * read once, by the merge a generation later, when a generation's worth of runs has long
 * left the cache. */
#ifdef __SSE2__
/* A streamed event's four 16-byte streaming stores: the event's 48 bytes at s, then last. */
static inline void stream_sevent(struct ct_sevent *dst, const void *s, __m128i last)
{
	_Static_assert(sizeof(struct ct_sevent) == 64 && sizeof(struct ct_event) == 48,
		       "a streamed event is four 16-byte stores");
	__m128i *d = (__m128i *)(void *)dst;
	const __m128i *v = s;

	_mm_stream_si128(d, _mm_loadu_si128(v));
	_mm_stream_si128(d + 1, _mm_loadu_si128(v + 1));
	_mm_stream_si128(d + 2, _mm_loadu_si128(v + 2));
	_mm_stream_si128(d + 3, last);
}
#endif

static inline void put_sevent(struct ct_sevent *dst, const struct ct_event *ev, uint64_t site,
			      uint32_t tid, uint32_t key)
{
#ifdef __SSE2__
	stream_sevent(dst, ev, _mm_set_epi32((int)key, (int)tid, (int)(site >> 32), (int)site));
#else
	*dst = (struct ct_sevent){ *ev, site, tid, key };
#endif
}

static void batch_push(struct loader *l, const struct ct_event *ev, uint32_t tid, uint32_t key,
		       uint64_t site)
{
	struct rset *s = &l->set[l->cur];
	struct srun *r;

	if (l->stream == 2)
		return; /* nobody takes them */
	if (key >= s->cap_runs) {
		size_t old = s->cap_runs;

		ct_grow(&s->runs, &s->cap_runs, (size_t)key + 1, sizeof(*s->runs));
		memset(s->runs + old, 0, (s->cap_runs - old) * sizeof(*s->runs));
	}
	r = &s->runs[key];
	if (!r->n) {
		ct_grow(&s->touched, &s->cap_touched, s->ntouched + 1, sizeof(*s->touched));
		s->touched[s->ntouched++] = key;
	}
	if (r->n == r->cap)
		ct_grow(&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	if (r->n && ev->ts < r->v[r->n - 1].ev.ts) {
		ct_grow(&r->brk, &r->cap_brk, r->nbrk + 1, sizeof(*r->brk));
		r->brk[r->nbrk++] = r->n;
	}
	put_sevent(&r->v[r->n++], ev, site, tid, key);
}

/* An annotation event, or a TEXT event of one. */
static int annotation_event(const struct ct_event *ev)
{
	return ev->type == CT_EV_TASK_BEGIN || ev->type == CT_EV_TASK_END ||
	       ev->type == CT_EV_REGION_BEGIN || ev->type == CT_EV_REGION_END ||
	       ev->type == CT_EV_LOG || ev->type == CT_EV_LABEL || ev->type == CT_EV_TEXT;
}

/* Does a streamed model keep ev beside handing it on: what splits and names threads,
 * and with l->annotations the annotations with their texts (ct_ann_walk reads them)? */
static int stream_keeps(const struct loader *l, const struct ct_event *ev)
{
	return ev->type == CT_EV_THREAD_START || ev->type == CT_EV_THREAD_END ||
	       ev->type == CT_EV_THREAD_NAME || (l->annotations && annotation_event(ev));
}

/* Does the model keep ev (add_event's slow path), or is it only counted and batched? */
static int kept_event(const struct loader *l, const struct ct_event *ev)
{
	return ev->type == CT_EV_TRIGGER || stream_keeps(l, ev);
}

/* One event of thread tid from generation gen. */
static void add_event(struct loader *l, uint32_t tid, uint32_t gen, const struct ct_event *ev)
{
	struct ct_model *m = l->m;
	struct bucket *b;

	/* a chunk holds one thread's events: the bucket of the previous event, mostly */
	if (l->last_b < l->nb && l->b[l->last_b].tid == tid) {
		b = &l->b[l->last_b];
	} else {
		b = get_bucket(l, tid);
		l->last_b = (size_t)(b - l->b);
	}
	struct ct_mevent *me;

	if (l->stream) {
		uint32_t key = inst_key(l, b, ev->type == CT_EV_THREAD_START, ev->ts);
		uint64_t site = 0;

		if (ev->type == CT_EV_SYSCALL) {
			const struct ct_mstack *st = ct_model_stack(m, ev->stack);

			site = st && st->nframes ? st->pcs[0] : 0;
		}
		batch_push(l, ev, tid, key, site);
		/* the model keeps what splits and names threads (and the annotations, when
		 * asked), and each tid's first event */
		if (b->nev && !stream_keeps(l, ev)) {
			m->nevents++;
			if (ev->ts > m->end_ts)
				m->end_ts = ev->ts;
			return;
		}
	}
	ct_grow(&b->ev, &b->cap, b->nev + 1, sizeof(*b->ev));
	me = &b->ev[b->nev];
	me->ev = *ev;
	me->gen = gen;
	me->ord = (uint32_t)b->nev;
	b->nev++;
	m->nevents++;
	if (ev->ts > m->end_ts)
		m->end_ts = ev->ts;
	if (ev->type == CT_EV_THREAD_NAME) {
		struct pname *p;
		uint32_t ntid = ct_ev_thread_name_tid(ev) ? (uint32_t)ct_ev_thread_name_tid(ev) :
							    tid;

		get_bucket(l, ntid); /* a thread named before any event of its own */
		ct_grow(&l->names, &l->cap_names, l->nnames + 1, sizeof(*l->names));
		p = &l->names[l->nnames++];
		p->tid = ntid;
		p->ts = ev->ts;
		ct_ev_thread_name_get(ev, p->name);
	}
}

/* The site of a SYSCALL event: its stack's one frame (0 none). */
static uint64_t syscall_site(const struct ct_model *m, uint32_t stack)
{
	const struct ct_mstack *st = ct_model_stack(m, stack);

	return st && st->nframes ? st->pcs[0] : 0;
}

/*
 * One EVENTS chunk of thread tid: the snapshot's trigger kept aside, every other event
 * through add_event. When streaming, the events between the ones the model keeps (most
 * of them) are batched in one go: add_event's work for each, with the bucket, the
 * thread instance and its run looked up once and room made once.
 */
static void add_events(struct loader *l, uint32_t tid, uint32_t gen, const struct ct_event *evs,
		       size_t n)
{
	struct ct_model *m = l->m;
	size_t i = 0;

	while (i < n) {
		const struct ct_event *ev = &evs[i];
		struct bucket *b = l->last_b < l->nb && l->b[l->last_b].tid == tid ?
					   &l->b[l->last_b] : NULL;

		if (ev->type == CT_EV_TRIGGER) { /* the snapshot's */
			m->trigger = *ev;
			m->has_trigger = 1;
			i++;
			continue;
		}
		if (!l->stream || !b || !b->nev || !b->nkeys || kept_event(l, ev)) {
			add_event(l, tid, gen, ev);
			i++;
			continue;
		}
		/* a span of events the model only counts: same bucket, same instance */
		size_t j = i;
		uint64_t hi = 0;

		while (j < n && !kept_event(l, &evs[j])) {
			if (evs[j].ts > hi)
				hi = evs[j].ts;
			j++;
		}
		if (l->stream == 1) {
			uint32_t key = b->keys[b->nkeys - 1], site_stack = 0;
			uint64_t site = 0, prev;
			struct srun *r;

			batch_push(l, ev, tid, key, ev->type == CT_EV_SYSCALL ?
				   syscall_site(m, ev->stack) : 0);
			r = &l->set[l->cur].runs[key];
			ct_grow(&r->v, &r->cap, r->n + (j - i - 1), sizeof(*r->v));
			prev = ev->ts;
			for (size_t k = i + 1; k < j; k++) {
				const struct ct_event *x = &evs[k];
				uint64_t s = 0;

				if (x->type == CT_EV_SYSCALL) {
					if (x->stack != site_stack || !site_stack) {
						site_stack = x->stack;
						site = syscall_site(m, x->stack);
					}
					s = site;
				}
				if (x->ts < prev) {
					ct_grow(&r->brk, &r->cap_brk, r->nbrk + 1, sizeof(*r->brk));
					r->brk[r->nbrk++] = r->n;
				}
				prev = x->ts;
				put_sevent(&r->v[r->n++], x, s, tid, key);
			}
		}
		if (hi > b->last_ts)
			b->last_ts = hi;
		if (hi > m->end_ts)
			m->end_ts = hi;
		m->nevents += j - i;
		i = j;
	}
}

static void add_thread_state(struct loader *l, const struct ct_record *rec)
{
	struct pstate *p;

	struct bucket *b = get_bucket(l, rec->thread.tid);

	ct_grow(&l->states, &l->cap_states, l->nstates + 1, sizeof(*l->states));
	p = &l->states[l->nstates++];
	p->s = rec->thread;
	p->gen = rec->gen;
	p->ts = l->cur_gen_ts;
	if (l->stream && rec->gen == l->m->first_gen && p->s.blocked && p->s.since < p->ts) {
		struct ct_event ev = { .ts = p->ts, .type = CT_SEV_INIT_BLOCKED,
				       .kind = p->s.kind, .obj = p->s.obj };

		ct_sev_set_init_since(&ev, p->s.since);

		batch_push(l, &ev, rec->thread.tid, inst_key(l, b, 0, 0), 0);
	}
}

/* The fields of an instance that its own events give. */
static void scan_instance(struct ct_mthread *t)
{
	for (size_t k = 0; k < t->nev; k++) {
		const struct ct_event *ev = &t->ev[k].ev;

		if (k == 0 || ev->ts < t->first_seen_ts)
			t->first_seen_ts = ev->ts;
		if (ev->ts > t->last_seen_ts)
			t->last_seen_ts = ev->ts;
		switch (ev->type) {
		case CT_EV_THREAD_START:
			t->has_start = 1;
			t->start_ts = ev->ts;
			if (ct_ev_thread_start_parent(ev))
				t->parent_tid = (uint32_t)ct_ev_thread_start_parent(ev);
			if (ct_ev_thread_start_start_func(ev))
				t->start_func = ct_ev_thread_start_start_func(ev);
			break;
		case CT_EV_THREAD_END:
			t->has_end = 1;
			t->end_ts = ev->ts;
			/* the sample at exit (both 0: not sampled) */
			if (ct_ev_thread_end_cpu_ns(ev) || ct_ev_thread_end_runq_ns(ev)) {
				uint64_t cpu = ct_ev_thread_end_cpu_ns(ev);
				uint64_t runq = ct_ev_thread_end_runq_ns(ev);

				add_sample(t, ev->ts, cpu, runq);
				if (cpu > t->cpu_ns)
					t->cpu_ns = cpu;
				if (runq > t->runq_ns)
					t->runq_ns = runq;
			}
			break;
		default:
			break;
		}
	}
}

/* When an instance began, for placing a state or name at a time: its THREAD_START, else
 * (a thread already running when tracing began) 0 for a tid's first instance. */
static uint64_t inst_start(const struct ct_mthread *v, size_t k)
{
	if (v[k].has_start)
		return v[k].start_ts;
	if (k == 0)
		return 0;
	return v[k].nev ? v[k].ev[0].ev.ts : v[k].first_seen_ts;
}

/*
 * Which of the n instances v[0..n) of one tid (in time order) ts refers to: the latest
 * that began at or before ts (the first when none did). When that one had ended by ts and
 * a later one exists, ts is in the gap between two threads of the tid: the recorder
 * lists a thread in its table from just before its THREAD_START to just after its
 * THREAD_END, so the nearer of the two in time.
 */
static size_t thread_pick(const struct ct_mthread *v, size_t n, uint64_t ts)
{
	size_t lo = 0, hi = n;

	CT_PARTITION(lo, hi, mid, inst_start(v, mid) <= ts); /* the first beginning after ts */
	if (lo == 0)
		return 0;
	lo--;
	if (lo + 1 < n && v[lo].has_end && v[lo].end_ts < ts &&
	    inst_start(v, lo + 1) - ts < ts - v[lo].end_ts)
		lo++;
	return lo;
}

static int cmp_bucket(const void *pa, const void *pb)
{
	const struct bucket *a = *(const struct bucket *const *)pa;
	const struct bucket *b = *(const struct bucket *const *)pb;

	return a->tid < b->tid ? -1 : a->tid > b->tid;
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

/* Splits the buckets into thread instances, in (tid, time) order, and gives them their
 * states and names. Frees what the loader owns. */
static void build_threads(struct loader *l)
{
	struct ct_model *m = l->m;
	struct bucket **ord = ct_xmalloc((l->nb ? l->nb : 1) * sizeof(*ord));
	size_t total = 0, ti = 0;

	for (size_t i = 0; i < l->nb; i++) {
		struct bucket *b = &l->b[i];
		int sorted = 1;

		ord[i] = b;
		for (size_t k = 1; k < b->nev && sorted; k++)
			if (b->ev[k].ev.ts < b->ev[k - 1].ev.ts)
				sorted = 0;
		if (!sorted)
			qsort(b->ev, b->nev, sizeof(*b->ev), cmp_mevent);
		/* a new instance at every THREAD_START but one opening the bucket */
		b->n = 1;
		for (size_t k = 1; k < b->nev; k++)
			b->n += b->ev[k].ev.type == CT_EV_THREAD_START;
		total += b->n;
	}
	if (l->nb > 1)
		qsort(ord, l->nb, sizeof(*ord), cmp_bucket);
	m->threads = ct_xcalloc(total ? total : 1, sizeof(*m->threads));
	m->nthreads = m->cap_threads = total;
	for (size_t i = 0; i < l->nb; i++) {
		struct bucket *b = ord[i];
		size_t k = 0;

		b->first = ti;
		for (size_t inst = 0; inst < b->n; inst++) {
			struct ct_mthread *t = &m->threads[ti++];
			size_t e = k + 1;

			while (e < b->nev && b->ev[e].ev.type != CT_EV_THREAD_START)
				e++;
			if (e > b->nev)
				e = b->nev;
			t->tid = b->tid;
			if (b->n == 1) { /* the usual case: the bucket's array is the thread's */
				t->ev = b->ev;
				t->nev = t->cap = b->nev;
				b->ev = NULL;
			} else {
				t->nev = t->cap = e - k;
				t->ev = ct_xmalloc((t->nev ? t->nev : 1) * sizeof(*t->ev));
				memcpy(t->ev, b->ev + k, t->nev * sizeof(*t->ev));
				for (size_t x = 0; x < t->nev; x++)
					t->ev[x].ord = (uint32_t)x;
			}
			scan_instance(t);
			k = e;
		}
		free(b->ev);
		b->ev = NULL;
	}
	free(ord);
	/* states and names, in file order, to the instance live at their time */
	for (size_t i = 0; i < l->nstates; i++) {
		const struct bucket *b = find_bucket(l, l->states[i].s.tid);
		struct ct_mthread *v = &m->threads[b->first];

		apply_thread_state(m, &v[thread_pick(v, b->n, l->states[i].ts)], &l->states[i]);
	}
	for (size_t i = 0; i < l->nnames; i++) {
		const struct pname *p = &l->names[i];
		const struct bucket *b = find_bucket(l, p->tid);
		struct ct_mthread *v = &m->threads[b->first];
		struct ct_mthread *t = &v[thread_pick(v, b->n, p->ts)];

		if (!t->first_seen_ts)
			t->first_seen_ts = p->ts;
		set_name(t, p->name, strnlen(p->name, CT_NAME_LEN), p->ts);
	}
}

static void loader_free(struct loader *l)
{
	for (int k = 0; k < 3; k++) {
		struct rset *s = &l->set[k];

		for (size_t i = 0; i < s->cap_runs; i++) {
			free(s->runs[i].v);
			free(s->runs[i].brk);
		}
		free(s->runs);
		free(s->touched);
	}
	free(l->pieces);
	free(l->key_b);
	free(l->key_i);
	for (size_t i = 0; i < l->nb; i++)
		free(l->b[i].keys);
	for (size_t i = 0; i < l->nb; i++)
		free(l->b[i].ev);
	free(l->b);
	ct_htab_free(&l->tids);
	free(l->states);
	free(l->names);
}

static void finish(struct loader *l)
{
	struct ct_model *m = l->m;

	build_threads(l);
	for (size_t i = 0; i < m->nthreads; i++) {
		struct ct_mthread *t = &m->threads[i];

		if (t->nsamples > 1)
			qsort(t->samples, t->nsamples, sizeof(*t->samples), cmp_sample);
	}
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

/* A source of the k-way merge: a sorted run. */
struct msrc {
	const struct ct_sevent *v;
	size_t i, n;
};

/*
 * Events of equal times from different threads are merged in the order of their threads'
 * tids (then instances), the order the loaded model's threads have (build_threads), so
 * that a streamed analysis and one of the loaded model see ties alike (which release a
 * wait ending at the same nanosecond is matched with can depend on it); pieces of one
 * thread keep their file order. rank() is that order's key for a run's next event.
 */
static inline uint64_t rank(const struct ct_sevent *v)
{
	return (uint64_t)v->tid << 32 | v->key;
}

/* *d = *s; with nt, in streaming stores as put_sevent's (d is read next by the other
 * thread: its lines are not taken back from that thread's cache one by one). */
static inline void copy_sevent(struct ct_sevent *d, const struct ct_sevent *s, int nt)
{
#ifdef __SSE2__
	if (nt) {
		stream_sevent(d, s, _mm_loadu_si128((const __m128i *)(const void *)s + 3));
		return;
	}
#endif
	(void)nt;
	*d = *s;
}

/* A heap node of the merge: the time of a run's next event, and the run (the runs are in
 * rank order: its index decides on equal times). */
struct mnode {
	uint64_t ts;
	size_t s;
};

static int node_less(const struct mnode *x, const struct mnode *y)
{
	return x->ts < y->ts || (x->ts == y->ts && x->s < y->s);
}

/* Sifts node x down from slot i of the n-node heap h (a hole moved down). */
static void sift(struct mnode *h, size_t n, size_t i, struct mnode x)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && node_less(&h[c + 1], &h[c]))
			c++;
		if (!node_less(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/* Sources merged by a scan for the earliest rather than a heap: for a few runs that take
 * turns (a generation's threads), a scan without branches to mispredict is cheaper than
 * a sift per event. */
#define KWAY_SCAN 16

/* A source's place in kway_scan's keys: KWAY_SCAN (16) sources fit in 4 bits. */
#define KWAY_IX_BITS 4
#define KWAY_IX_MASK ((1u << KWAY_IX_BITS) - 1)
/* The latest time a key holds above its index (UINT64_MAX is no key): later times go to
 * the heap (not CLOCK_MONOTONIC since boot, which stays below this for 36 years). */
#define KWAY_TS_MAX ((UINT64_MAX >> KWAY_IX_BITS) - 1)
#define KWAY_NONE UINT64_MAX

/* A key for a time that does not fit (ahead of its turn: the scan stops when it is due). */
#define KWAY_UNFIT (KWAY_TS_MAX + 1)

/* The key of source i's event at p. */
static inline uint64_t kway_key(const struct ct_sevent *p, size_t i)
{
	return p->ev.ts > KWAY_TS_MAX ? KWAY_UNFIT : p->ev.ts << KWAY_IX_BITS | i;
}

static inline uint64_t min2(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The least of key[0..w), w 4, 8 or 16: a tree of comparisons without branches. */
static inline uint64_t least(const uint64_t *key, size_t w)
{
	uint64_t m = min2(min2(key[0], key[1]), min2(key[2], key[3]));

	if (w > 4)
		m = min2(m, min2(min2(key[4], key[5]), min2(key[6], key[7])));
	if (w > 8)
		m = min2(m, min2(min2(min2(key[8], key[9]), min2(key[10], key[11])),
				 min2(min2(key[12], key[13]), min2(key[14], key[15]))));
	return m;
}

/* kway for ns <= KWAY_SCAN and times up to KWAY_TS_MAX: each source's next time, above its
 * index, is its key (KWAY_NONE once drained), so that the least key is the earliest run,
 * the first on equal times (the sources are in rank order: sort_sources). The key of the
 * event after each source's next is read ahead (ahead[i]): the source taken gets its new
 * key without waiting for a load from its run, which would otherwise stand on the chain
 * from one least key to the next. Stops at a time that does not fit, with *unfit set, for
 * the heap to go on. */
static size_t kway_scan(struct msrc *src, size_t ns, uint64_t cut, struct ct_sevent *out,
			size_t max, int nt, int *unfit)
{
	uint64_t key[KWAY_SCAN], ahead[KWAY_SCAN];
	const struct ct_sevent *at[KWAY_SCAN], *end[KWAY_SCAN];
	size_t w = ns <= 4 ? 4 : ns <= 8 ? 8 : 16, n = 0;

	for (size_t i = 0; i < KWAY_SCAN; i++) {
		key[i] = ahead[i] = KWAY_NONE;
		at[i] = end[i] = NULL;
		if (i < ns && src[i].i < src[i].n) {
			at[i] = src[i].v + src[i].i;
			end[i] = src[i].v + src[i].n;
			key[i] = kway_key(at[i], i);
			if (key[i] == KWAY_UNFIT)
				return *unfit = 1, 0;
			if (at[i] + 1 < end[i])
				ahead[i] = kway_key(at[i] + 1, i);
		}
	}
	while (n < max) {
		uint64_t min = least(key, w);

		if (min == KWAY_NONE || min >> KWAY_IX_BITS > cut)
			break;
		unsigned i = (unsigned)(min & KWAY_IX_MASK);
		const struct ct_sevent *p = at[i]++;

		copy_sevent(&out[n++], p, nt);
		key[i] = ahead[i];
		ahead[i] = end[i] - p > 2 ? kway_key(p + 2, i) : KWAY_NONE;
		if (__builtin_expect(key[i] == KWAY_UNFIT, 0)) {
			*unfit = 1;
			break;
		}
	}
	for (size_t i = 0; i < ns; i++)
		if (at[i])
			src[i].i = (size_t)(at[i] - src[i].v);
	return n;
}

/* Merges the sorted runs src[0..ns) (each of one thread instance, in rank order:
 * sort_sources; on equal times, earlier runs first) into out, at most max events and
 * those not later than cut; the runs advance past what was taken, so that a later call
 * goes on. Beyond the scan, a heap whose top run goes on without a sift while its next
 * event still comes first. */
static size_t kway(struct msrc *src, size_t ns, uint64_t cut, struct ct_sevent *out,
		   size_t max, int nt)
{
	size_t n = 0, k = 0;
	int unfit = 0;

	if (ns <= KWAY_SCAN) {
		n = kway_scan(src, ns, cut, out, max, nt, &unfit);
		if (!unfit)
			return n;
	}

	struct mnode *h = ct_xmalloc((ns ? ns : 1) * sizeof(*h));

	for (size_t i = 0; i < ns; i++)
		if (src[i].i < src[i].n)
			h[k++] = (struct mnode){ src[i].v[src[i].i].ev.ts, i };
	ns = k;
	for (size_t i = ns / 2; i-- > 0;)
		sift(h, ns, i, h[i]);
	while (ns && n < max && h[0].ts <= cut) {
		struct msrc *r = &src[h[0].s];
		struct mnode top = h[0];

		copy_sevent(&out[n++], &r->v[r->i++], nt);
		if (r->i == r->n) {
			ns--;
			if (ns)
				sift(h, ns, 0, h[ns]);
			continue;
		}
		top.ts = r->v[r->i].ev.ts;
		/* the same run may go on: sift only when a child comes first */
		if ((ns > 1 && node_less(&h[1], &top)) || (ns > 2 && node_less(&h[2], &top)))
			sift(h, ns, 0, top);
		else
			h[0] = top;
	}
	free(h);
	return n;
}

/*
 * The merging side of ct_model_stream. A generation's events are merged in time order
 * (each thread's run is already in order, but for chunks written out of order) and held
 * back one generation: events near a generation's end may be written in the next one (a
 * thread's buffer flushed late). So when generation g is read, its runs (its pieces: the
 * ascending stretches of each thread's events, in file order) are handed over, and what
 * was handed before is merged: the events kept back (held) and generation g-1's pieces
 * (equal times by rank, a thread's held ones first). Those not later than g's first event
 * go to fn as they come, in blocks (no copy of the generation is made), the rest is kept
 * back, copied, a piece per thread instance for the next step; g's pieces wait for it.
 * That is one step. A piece is of one thread instance: the pieces are put in rank order
 * once per step (sort_sources), and the merge compares times only.
 *
 * With a second thread (threaded), fn runs there, the analysing thread: mostly the busier
 * one, as the analyses tend to cost more than reading, decoding and merging. The reading
 * thread merges into a ring of RING_N blocks of RING_BLOCK events that the analysing
 * thread empties, and it merges while it reads: a step begun at the end of generation g
 * fills the ring's free blocks after each record of generation g+1 that is read, and is
 * finished (waiting for free blocks) only at the end of g+1. So the analysing thread has
 * work while generation g+1 is read, and neither thread waits while a block is free and
 * one full.
 *
 * A generation's runs stay untouched while their step runs: the reading side fills one of
 * three sets of runs in turn (one being filled, one pending, one being merged).
 */
#define MERGE_BLOCK 256
#define RING_BLOCK 1024
#define RING_N 16

struct pipe {
	void (*fn)(void *ctx, const struct ct_sevent *v, size_t n);
	void *ctx;
	int threaded;
	/* the events kept back (held: the pieces hp into it), the previous generation's
	 * pieces (pend) */
	struct ct_sevent *held, *tmp;
	size_t cap_held, cap_tmp;
	struct msrc *hp;
	size_t nhp, cap_hp;
	struct msrc *pend;
	size_t npend, cap_pend;
	/* the sources of the step (threaded: the one in progress, if stepping) */
	struct msrc *src;
	size_t nsrc, cap_src;
	uint64_t cut;
	int stepping;
	struct ct_sevent blk[MERGE_BLOCK];
	/* threaded: the ring; blocks [tail, head) are full, the others free */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ct_sevent *ring;
	size_t ring_n[RING_N];
	uint64_t head, tail;
	int merger_waits, analyser_waits, done;
	const int *stop;         /* set by fn's side: read no further */
};

/* The ring's next free block; NULL, when none is free, unless wait (then it waits). Only
 * the reading side moves head, and tail only grows: a free block seen stays free. */
static struct ct_sevent *ring_free(struct pipe *p, int wait)
{
	if (p->head - __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE) == RING_N) {
		if (!wait)
			return NULL;
		pthread_mutex_lock(&p->mu);
		while (p->head - __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE) == RING_N) {
			p->merger_waits = 1;
			pthread_cond_wait(&p->cv, &p->mu);
		}
		pthread_mutex_unlock(&p->mu);
	}
	return p->ring + (p->head % RING_N) * RING_BLOCK;
}

/* Wakes the analysing thread if it waits for blocks and should go on: with half the ring
 * full, or when no more are coming for a while (wake: a step ended, or the input). */
static void ring_wake(struct pipe *p, int wake)
{
	pthread_mutex_lock(&p->mu);
	if (p->analyser_waits && (wake || p->head - p->tail >= RING_N / 2)) {
		p->analyser_waits = 0;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

/* The block ring_free gave, with n (> 0) events, handed to the analysing thread. */
static void ring_push(struct pipe *p, size_t n)
{
#ifdef __SSE2__
	_mm_sfence(); /* the block's streamed stores, before head says it is full */
#endif
	p->ring_n[p->head % RING_N] = n;
	__atomic_store_n(&p->head, p->head + 1, __ATOMIC_RELEASE);
	ring_wake(p, 0);
}

/* No block comes after those pushed: the analysing thread ends once they are analysed. */
static void ring_done(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_mutex_unlock(&p->mu);
	ring_wake(p, 1);
}

/* The analysing thread: fn over the ring's blocks in order, until the reading side is
 * done and the ring empty. */
static void *analyser(void *arg)
{
	struct pipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (__atomic_load_n(&p->head, __ATOMIC_ACQUIRE) == p->tail && !p->done) {
			p->analyser_waits = 1;
			pthread_cond_wait(&p->cv, &p->mu);
		}
		if (__atomic_load_n(&p->head, __ATOMIC_ACQUIRE) == p->tail)
			break;
		size_t i = p->tail % RING_N;

		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, p->ring + i * RING_BLOCK, p->ring_n[i]);
		pthread_mutex_lock(&p->mu);
		__atomic_store_n(&p->tail, p->tail + 1, __ATOMIC_RELEASE);
		if (p->merger_waits &&
		    __atomic_load_n(&p->head, __ATOMIC_ACQUIRE) - p->tail <= RING_N / 2) {
			/* the reading side goes on once half the ring is free, not at every
			 * block: fewer sleeps and wake-ups */
			p->merger_waits = 0;
			pthread_cond_broadcast(&p->cv);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The merge of the step's sources up to its cut, handed on: unthreaded, to fn, all of it;
 * threaded, into the ring, as far as it has free blocks (all of it with wait). Returns 1
 * when the merge up to the cut is done. */
static int merge_out(struct pipe *p, int wait)
{
	size_t n;

	if (!p->threaded) {
		do {
			n = kway(p->src, p->nsrc, p->cut, p->blk, MERGE_BLOCK, 0);
			if (n)
				p->fn(p->ctx, p->blk, n);
		} while (n == MERGE_BLOCK);
		return 1;
	}
	for (;;) {
		struct ct_sevent *b = ring_free(p, wait);

		if (!b)
			return 0;
		n = kway(p->src, p->nsrc, p->cut, b, RING_BLOCK, 1);
		if (n)
			ring_push(p, n);
		if (n < RING_BLOCK)
			return 1;
	}
}

/* Puts the pieces src[0..ns) (none empty) in rank order, keeping the order of those of
 * one thread instance (an insertion sort: a few dozen pieces, mostly in order). */
static void sort_sources(struct msrc *src, size_t ns)
{
	for (size_t i = 1; i < ns; i++) {
		struct msrc x = src[i];
		uint64_t rk = rank(&x.v[x.i]);
		size_t j = i;

		for (; j > 0 && rank(&src[j - 1].v[src[j - 1].i]) > rk; j--)
			src[j] = src[j - 1];
		src[j] = x;
	}
}

/* Makes the held pieces and the pending ones the step's sources, with its cut. */
static void step_begin(struct pipe *p, uint64_t cut)
{
	size_t ns = 0;

	ct_grow(&p->src, &p->cap_src, p->nhp + p->npend + 1, sizeof(*p->src));
	for (size_t i = 0; i < p->nhp; i++)
		p->src[ns++] = p->hp[i];
	for (size_t i = 0; i < p->npend; i++)
		if (p->pend[i].i < p->pend[i].n)
			p->src[ns++] = p->pend[i];
	sort_sources(p->src, ns);
	p->nsrc = ns;
	p->cut = cut;
	p->stepping = 1;
}

/* The step's end, once its merge up to the cut is handed on: the rest of its sources kept
 * back, a held piece per thread instance, in the sources' order. */
static void step_end(struct pipe *p)
{
	size_t rest = 0, nh = 0;

	for (size_t i = 0; i < p->nsrc; i++)
		rest += p->src[i].n - p->src[i].i;
	if (rest) {
		struct ct_sevent *t;
		size_t c, at = 0;

		ct_grow(&p->tmp, &p->cap_tmp, rest, sizeof(*p->tmp));
		ct_grow(&p->hp, &p->cap_hp, p->nsrc, sizeof(*p->hp));
		for (size_t i = 0, j; i < p->nsrc; i = j) {
			const struct msrc *x = &p->src[i];
			size_t m = x->n - x->i;
			uint64_t rk;

			j = i + 1;
			if (!m)
				continue;
			/* a thread instance's pieces (next to each other) kept as one: pieces
			 * never pile up, however late its events are */
			rk = rank(&x->v[x->i]);
			for (; j < p->nsrc && (p->src[j].i == p->src[j].n ||
					       rank(&p->src[j].v[p->src[j].i]) == rk); j++)
				m += p->src[j].n - p->src[j].i;
			if (j - i == 1)
				memcpy(p->tmp + at, x->v + x->i, m * sizeof(*p->tmp));
			else
				kway(p->src + i, j - i, UINT64_MAX, p->tmp + at, m, 0);
			p->hp[nh++] = (struct msrc){ p->tmp, at, at + m };
			at += m;
		}
		t = p->held;
		c = p->cap_held;
		p->held = p->tmp;
		p->cap_held = p->cap_tmp;
		p->tmp = t;
		p->cap_tmp = c;
	}
	p->nhp = nh;
	p->stepping = 0;
	if (p->threaded)
		ring_wake(p, 1); /* reading comes next: what is in the ring, analysed meanwhile */
}

/* Goes on with the step in progress, as far as the ring has room; with wait, to its end. */
static void step_more(struct pipe *p, int wait)
{
	if (p->stepping && merge_out(p, wait))
		step_end(p);
}

/* Hands over a generation's pieces (nnew of them at newp), with its first event as the
 * cut for what came before: the step in progress finished, the next one begun (and, when
 * unthreaded, done); with final, everything handed on. */
static void hand_over(struct pipe *p, const struct msrc *newp, size_t nnew, uint64_t cut,
		      int final)
{
	step_more(p, 1);
	step_begin(p, cut);
	ct_grow(&p->pend, &p->cap_pend, nnew, sizeof(*p->pend));
	if (nnew)
		memcpy(p->pend, newp, nnew * sizeof(*p->pend));
	p->npend = nnew;
	step_more(p, !p->threaded || final);
	if (final) {
		step_begin(p, UINT64_MAX);
		step_more(p, 1);
		p->npend = 0;
	}
}

static void pipe_free(struct pipe *p)
{
	free(p->ring);
	free(p->held);
	free(p->tmp);
	free(p->hp);
	free(p->pend);
	free(p->src);
}

/* Makes the next set of runs the one being filled (the merging side is done with it). */
static void next_set(struct loader *l)
{
	struct rset *s;

	l->cur = (l->cur + 1) % 3;
	s = &l->set[l->cur];
	for (size_t i = 0; i < s->ntouched; i++) {
		s->runs[s->touched[i]].n = 0;
		s->runs[s->touched[i]].nbrk = 0;
	}
	s->ntouched = 0;
}

/* The end of a generation (or of the input, final): its runs handed to the merging side
 * with its first event as the cut for what was handed before. */
static void flush(struct loader *l, struct pipe *p, int final)
{
	struct rset *s = &l->set[l->cur];
	size_t total = 0, ns = 0;
	uint64_t first = UINT64_MAX;

	if (!p || !p->fn)
		return;
	for (size_t i = 0; i < s->ntouched; i++) {
		struct srun *r = &s->runs[s->touched[i]];
		size_t from = 0;

		total += r->n;
		if (r->v[0].ev.ts < first)
			first = r->v[0].ev.ts;
		/* a thread's pieces in file order, next to each other: the merge's rank on
		 * equal times (the source index) keeps file order within the thread */
		ct_grow(&l->pieces, &l->cap_pieces, ns + r->nbrk + 1, sizeof(*l->pieces));
		for (size_t b = 0; b < r->nbrk; b++) {
			if (r->v[r->brk[b]].ev.ts < first)
				first = r->v[r->brk[b]].ev.ts;
			l->pieces[ns++] = (struct msrc){ r->v, from, r->brk[b] };
			from = r->brk[b];
		}
		l->pieces[ns++] = (struct msrc){ r->v, from, r->n };
	}
	if (total) {
#ifdef __SSE2__
		_mm_sfence(); /* the runs' streamed stores, before they are read */
#endif
		hand_over(p, l->pieces, ns, first, final);
		next_set(l);
		if (first > l->safe_ts)
			l->safe_ts = first;
		return;
	}
	if (final) {
		hand_over(p, l->pieces, 0, UINT64_MAX, 1);
		return;
	}
	if (l->follow && !p->threaded) {
		/* nothing new in a generation that ended: what was held up to its start */
		hand_over(p, NULL, 0, l->cur_gen_ts, 0);
		if (l->cur_gen_ts > l->safe_ts)
			l->safe_ts = l->cur_gen_ts;
	}
}

static int read_all(struct loader *l, struct ct_reader *r, struct pipe *p, char *err,
		    size_t errlen)
{
	struct ct_model *m = l->m;
	struct ct_record rec;
	const struct ct_event *evs;
	size_t nev;
	int rc;

	m->hdr = *ct_reader_header(r);
	m->hdr.exe[sizeof(m->hdr.exe) - 1] = 0;
	m->start_ts = m->hdr.start_mono_ns;
	while ((rc = ct_reader_next_batch(r, &rec, &evs, &nev)) == 1) {
		if (l->skip_done && l->has_done && rec.gen <= l->done_gen)
			continue; /* read from an earlier snapshot already */
		switch (rec.type) {
		case CT_REC_GEN_BEGIN:
			flush(l, p, 0);
			if (!l->seen_gen) {
				m->first_gen = rec.gen;
				m->first_gen_ts = rec.ts_mono;
				l->seen_gen = 1;
			}
			if (rec.gen > m->last_gen || m->ngens == 0)
				m->last_gen = rec.gen;
			m->ngens++;
			m->last_gen_open = 1;
			l->cur_gen_ts = rec.ts_mono;
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
			add_thread_state(l, &rec);
			break;
		case CT_REC_EVENT: /* a chunk's events: nev of them at evs */
			add_events(l, rec.tid, rec.gen, evs, nev);
			break;
		case CT_REC_GEN_END:
			for (int c = 0; c < CT_L_MAX; c++)
				if (rec.lost[c] > m->lost[c])
					m->lost[c] = rec.lost[c];
			if (rec.untraced > m->untraced)
				m->untraced = rec.untraced;
			if (rec.end_ts > m->end_ts)
				m->end_ts = rec.end_ts;
			m->last_gen_open = 0;
			if (!l->has_done || rec.gen > l->done_gen)
				l->done_gen = rec.gen;
			l->has_done = 1;
			flush(l, p, 0);
			break;
		}
		if (p && p->stepping)
			step_more(p, 0); /* the previous generation's merge, as the ring allows */
		if (p && p->stop && __atomic_load_n(p->stop, __ATOMIC_RELAXED))
			break; /* fn needs no more */
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", ct_reader_error(r));
		return -1;
	}
	if (!l->follow)
		flush(l, p, 1);
	m->truncated = ct_reader_truncated(r);
	m->trailing_bytes = ct_reader_trailing_bytes(r);
	m->damaged = ct_reader_damaged(r);
	if (m->damaged)
		snprintf(m->damage, sizeof(m->damage), "%s", ct_reader_damage(r, &m->damage_off));
	return 0;
}

static int strict_reading;

void ct_model_set_strict(int strict)
{
	strict_reading = strict;
}

void ct_model_warn_damaged(const struct ct_model *m, const char *path)
{
	const char *why;

	if (!m || !m->damaged)
		return;
	/* the reader's "corrupt chunk at byte offset N: why": the why */
	why = strstr(m->damage, "offset ");
	why = why && strchr(why, ':') ? strchr(why, ':') + 2 : m->damage;
	if (m->damaged == 1)
		fprintf(stderr, "ctrace: warning: %s: damaged chunk at byte offset %" PRIu64
			" skipped (%s); the rest is reported (--strict fails instead)\n", path,
			m->damage_off, why);
	else
		fprintf(stderr, "ctrace: warning: %s: %" PRIu64 " damaged stretches skipped, the "
			"first at byte offset %" PRIu64 " (%s); the rest is reported (--strict "
			"fails instead)\n", path, m->damaged, m->damage_off, why);
}

int ct_model_load_reader(struct ct_reader *r, struct ct_model **out, char *err,
			 size_t errlen)
{
	struct loader l = { 0 };
	struct ct_model *m = ct_xcalloc(1, sizeof(*m));

	*out = NULL;
	l.m = m;
	ct_reader_skip_damaged(r, !strict_reading);
	if (read_all(&l, r, NULL, err, errlen) < 0) {
		loader_free(&l);
		ct_model_free(m);
		return -1;
	}
	finish(&l);
	loader_free(&l);
	*out = m;
	return 0;
}

int ct_model_stream(const char *path, const struct ct_stream_opts *o,
		    void (*fn)(void *ctx, const struct ct_sevent *v, size_t n), void *ctx,
		    struct ct_model **out, uint32_t **key_to_thr, size_t *nkeys, char *err,
		    size_t errlen)
{
	static const struct ct_stream_opts none = { .threads = 1 };
	const struct ct_stream_opts *so = o ? o : &none;
	struct loader l = { 0 };
	struct ct_model *m;
	struct ct_reader *r;
	struct pipe p = { .fn = fn, .ctx = ctx, .threaded = so->threads > 1, .stop = so->stop };
	pthread_t th;
	struct stat st;
	int rc;

	*out = NULL;
	*key_to_thr = NULL;
	*nkeys = 0;
	rc = ct_reader_open(path, &r);
	if (rc < 0) {
		snprintf(err, errlen, "%s", rc == -ENOENT || rc == -EACCES || rc == -EISDIR ?
			 strerror(-rc) : ct_reader_open_error());
		return -1;
	}
	ct_reader_skip_damaged(r, !strict_reading);
	m = ct_xcalloc(1, sizeof(*m));
	l.m = m;
	l.stream = fn ? 1 : 2;
	l.annotations = so->annotations;
	p.threaded = p.threaded && fn;
	if (p.threaded) {
		pthread_mutex_init(&p.mu, NULL);
		pthread_cond_init(&p.cv, NULL);
		p.ring = ct_xmalloc(RING_N * RING_BLOCK * sizeof(*p.ring));
		if (pthread_create(&th, NULL, analyser, &p) != 0)
			p.threaded = 0;
	}
	rc = read_all(&l, r, &p, err, errlen);
	if (p.threaded) {
		ring_done(&p); /* also when reading failed before the end */
		pthread_join(th, NULL);
		pthread_mutex_destroy(&p.mu);
		pthread_cond_destroy(&p.cv);
	}
	pipe_free(&p);
	ct_reader_close(r);
	if (rc < 0) {
		loader_free(&l);
		ct_model_free(m);
		return -1;
	}
	if (stat(path, &st) == 0)
		m->file_bytes = (uint64_t)st.st_size;
	finish(&l);
	*key_to_thr = ct_xmalloc((l.nkeys ? l.nkeys : 1) * sizeof(**key_to_thr));
	for (size_t k = 0; k < l.nkeys; k++) {
		const struct bucket *b = &l.b[l.key_b[k]];
		size_t inst = l.key_i[k] < b->n ? l.key_i[k] : b->n - 1;

		(*key_to_thr)[k] = (uint32_t)(b->first + inst);
	}
	*nkeys = l.nkeys;
	loader_free(&l);
	*out = m;
	return 0;
}

struct ct_model_follow {
	struct loader l;
	struct pipe p;
	struct ct_reader *r;
	char path[CT_PATH_MAX + 1];
};

int ct_model_follow_open(const char *path,
			 void (*fn)(void *ctx, const struct ct_sevent *v, size_t n), void *ctx,
			 struct ct_model_follow **out, char *err, size_t errlen)
{
	struct ct_model_follow *f;
	struct ct_reader *r;
	int rc = ct_reader_open(path, &r);

	*out = NULL;
	if (rc < 0) {
		snprintf(err, errlen, "%s", rc == -ENOENT || rc == -EACCES || rc == -EISDIR ?
			 strerror(-rc) : ct_reader_open_error());
		return -1;
	}
	f = ct_xcalloc(1, sizeof(*f));
	f->r = r;
	f->l.m = ct_xcalloc(1, sizeof(*f->l.m));
	f->l.stream = 1;
	f->l.follow = 1;
	f->l.m->hdr = *ct_reader_header(r);
	f->l.m->hdr.exe[sizeof(f->l.m->hdr.exe) - 1] = 0;
	f->l.m->start_ts = f->l.m->hdr.start_mono_ns;
	f->p.fn = fn;
	f->p.ctx = ctx;
	snprintf(f->path, sizeof(f->path), "%s", path);
	*out = f;
	return 0;
}

int ct_model_follow_read(struct ct_model_follow *f, char *err, size_t errlen)
{
	struct ct_model *m = f->l.m;
	uint64_t before = m->nevents + m->ngens + m->nstacks + m->nmods;

	if (read_all(&f->l, f->r, &f->p, err, errlen) < 0)
		return -1;
	ct_reader_resume(f->r);
	return m->nevents + m->ngens + m->nstacks + m->nmods != before;
}

int ct_model_follow_next(struct ct_model_follow *f, const char *path, char *err,
			 size_t errlen)
{
	struct ct_reader *r;
	int rc = ct_reader_open(path, &r);

	if (rc < 0) {
		snprintf(err, errlen, "%s", rc == -ENOENT || rc == -EACCES || rc == -EISDIR ?
			 strerror(-rc) : ct_reader_open_error());
		return -1;
	}
	ct_reader_close(f->r);
	f->r = r;
	f->l.skip_done = 1;
	snprintf(f->path, sizeof(f->path), "%s", path);
	return ct_model_follow_read(f, err, errlen);
}

uint32_t ct_model_follow_last_gen(const struct ct_model_follow *f)
{
	return f->l.has_done ? f->l.done_gen : 0;
}

const struct ct_model *ct_model_follow_model(const struct ct_model_follow *f)
{
	return f->l.m;
}

uint64_t ct_model_follow_now(const struct ct_model_follow *f)
{
	return f->l.safe_ts;
}

void ct_model_follow_end(struct ct_model_follow *f, struct ct_model **out,
			 uint32_t **key_to_thr, size_t *nkeys)
{
	struct loader *l = &f->l;
	struct ct_model *m = l->m;
	struct stat st;

	flush(l, &f->p, 1);
	pipe_free(&f->p);
	m->truncated = ct_reader_truncated(f->r);
	m->trailing_bytes = ct_reader_trailing_bytes(f->r);
	ct_reader_close(f->r);
	if (stat(f->path, &st) == 0)
		m->file_bytes = (uint64_t)st.st_size;
	finish(l);
	*key_to_thr = ct_xmalloc((l->nkeys ? l->nkeys : 1) * sizeof(**key_to_thr));
	for (size_t k = 0; k < l->nkeys; k++) {
		const struct bucket *b = &l->b[l->key_b[k]];
		size_t inst = l->key_i[k] < b->n ? l->key_i[k] : b->n - 1;

		(*key_to_thr)[k] = (uint32_t)(b->first + inst);
	}
	*nkeys = l->nkeys;
	loader_free(l);
	free(f);
	*out = m;
}

int ct_model_load(const char *path, struct ct_model **out, char *err, size_t errlen)
{
	struct ct_reader *r = NULL;
	struct stat st;
	int rc = ct_reader_open(path, &r);

	*out = NULL;
	if (rc < 0 || !r) {
		snprintf(err, errlen, "%s", rc == -ENOENT || rc == -EACCES || rc == -EISDIR ?
			 strerror(-rc) : ct_reader_open_error());
		return -1;
	}
	rc = ct_model_load_reader(r, out, err, errlen);
	ct_reader_close(r);
	/* the size after reading: a file still being written may have grown meanwhile */
	if (rc == 0 && stat(path, &st) == 0 && st.st_size > 0)
		(*out)->file_bytes = (uint64_t)st.st_size;
	if (rc == 0)
		ct_model_warn_damaged(*out, path);
	return rc;
}

void ct_model_free(struct ct_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nmods; i++)
		free((char *)m->mods[i].path);
	free(m->mods);
	ct_htab_free(&m->stack_by_id);
	for (size_t i = 0; i < m->nstacks; i++)
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
	uint32_t ix = id ? ct_htab_get(&m->stack_by_id, id) : UINT32_MAX;

	return ix == UINT32_MAX ? NULL : &m->stacks[ix];
}

/* The index of the first instance of tid in m->threads (nthreads when none). */
static size_t first_of(const struct ct_model *m, uint32_t tid, size_t *n)
{
	size_t lo = 0, hi = m->nthreads, e;

	CT_PARTITION(lo, hi, mid, m->threads[mid].tid < tid);
	for (e = lo; e < m->nthreads && m->threads[e].tid == tid; e++)
		;
	*n = e - lo;
	return lo;
}

const struct ct_mthread *ct_model_thread(const struct ct_model *m, uint32_t tid)
{
	size_t n, i = first_of(m, tid, &n);

	return n ? &m->threads[i + n - 1] : NULL;
}

const struct ct_mthread *ct_model_thread_at(const struct ct_model *m, uint32_t tid,
					    uint64_t ts)
{
	size_t n, i = first_of(m, tid, &n);

	return n ? &m->threads[i + thread_pick(&m->threads[i], n, ts)] : NULL;
}

size_t ct_model_thread_of_part(const struct ct_model *m, const struct ct_model *part, size_t t)
{
	size_t np, ip = first_of(part, part->threads[t].tid, &np);
	size_t n, i = first_of(m, part->threads[t].tid, &n);

	if (!n)
		return m->nthreads;
	return i + (t - ip < n ? t - ip : n - 1);
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

uint64_t ct_model_truncated_at(const struct ct_model *m)
{
	if (!m->truncated || !m->file_bytes || m->trailing_bytes > m->file_bytes)
		return 0;
	return m->file_bytes - m->trailing_bytes;
}

const char *ct_model_truncation(const struct ct_model *m, char *buf, size_t cap)
{
	uint64_t at = ct_model_truncated_at(m);
	char where[64] = "", part[96] = "";

	if (!m->truncated)
		return NULL;
	if (at)
		snprintf(where, sizeof(where), " at byte %" PRIu64, at);
	if (m->trailing_bytes)
		snprintf(part, sizeof(part), " (%" PRIu64 " bytes of an incomplete chunk ignored)",
			 m->trailing_bytes);
	else
		snprintf(part, sizeof(part), " (the last generation has no end)");
	if (m->hdr.flags & CT_HF_FSIZE)
		snprintf(buf, cap, "truncated%s: the trace stopped at the process's file-size limit "
			 "(ulimit -f); events after the last complete chunk are missing%s",
			 where, part);
	else
		snprintf(buf, cap, "truncated%s: the process ended without its final flush (killed, "
			 "or still running); events after the last complete chunk are missing%s",
			 where, part);
	return buf;
}

uint64_t ct_model_duration(const struct ct_model *m)
{
	return m->end_ts > m->start_ts ? m->end_ts - m->start_ts : 0;
}
