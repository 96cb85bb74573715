/* SPDX-License-Identifier: MIT */
/*
 * Implementation of timeline.h on the streaming engine: the analysis keeps no per-event
 * arrays, so the trace file is streamed through the engine once more
 * (ct_analyze_file_with), under the window and the thread selection the analysis was
 * computed with, up to the window's end, and an observer collects each finished wait with
 * the release that ended it (as the wake-up and holder analyses see it) and each recorded
 * system call. They arrive in end order, named by the stream's thread keys (which thread
 * each key is, is known at the end); they are delivered sorted by thread and begin.
 *
 * Sorted as sort(1) sorts what does not fit: the records are held in runs of at most
 * CT_TL_RUN_MAX (CTRACE_EXPORT_TIMELINE_RUN sets another: the tests'); a full run is
 * sorted by key, begin and arrival and written to a temporary file (in $TMPDIR, else
 * /tmp; unlinked at once, so that it goes when the process does), the last one stays in
 * memory (unless the caller asks for it on disk too). At each walk, thread by thread in
 * the model's order, the parts of every run that hold its keys are merged (a heap when
 * there are several). Memory is then bounded by a run (about 100 bytes a record) and a
 * buffer per run, whatever the number of waits; the file takes the rest.
 */
#include "timeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* A slice kept until it is delivered: w.thr holds the stream's thread key until then. */
struct rec {
	struct ct_tl_wait w;
	uint64_t seq; /* its arrival: the last tie-break */
};

/* A sorted run: at off in the file, or at mem; its records of key k are key_at[k] ..
 * key_at[k + 1] (nkeys keys). */
struct run {
	const struct rec *mem;
	uint64_t off;
	size_t *key_at, nkeys;
};

struct ct_timeline {
	const struct ct_model *m;
	struct rec *v;           /* the run being filled */
	size_t n, cap, run_max;
	int on_disk;             /* the last run written too */
	uint32_t *k2t;           /* the stream's thread keys -> the model's threads */
	size_t nk;
	uint64_t seq;
	struct run *runs;        /* the runs written, then the last */
	size_t nruns, cap_runs;
	int fd;                  /* the temporary file (-1: none yet) */
	uint64_t off;            /* its length */
};

/* At the same thread: by begin; at the same begin the longer first (a nested wait, a
 * signal handler's, ends before the one it is nested in, so the arrival order is
 * reversed), a wait before a call; then by arrival. */
static int cmp_in_thread(const struct rec *x, const struct rec *y)
{
	if (x->w.begin_ns != y->w.begin_ns)
		return x->w.begin_ns < y->w.begin_ns ? -1 : 1;
	if (x->w.end_ns != y->w.end_ns)
		return x->w.end_ns > y->w.end_ns ? -1 : 1;
	if (x->w.syscall != y->w.syscall)
		return x->w.syscall ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A run's order: by key, then as in a thread. */
static int cmp_run(const void *pa, const void *pb)
{
	const struct rec *x = pa, *y = pb;

	if (x->w.thr != y->w.thr)
		return x->w.thr < y->w.thr ? -1 : 1;
	return cmp_in_thread(x, y);
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n) {
		ssize_t k = write(fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			ct_die(CT_EXIT_USAGE, "export: cannot write a temporary file (to sort the "
			       "waits by thread; TMPDIR names another directory): %s",
			       k < 0 ? strerror(errno) : "short write");
		b += k;
		n -= (size_t)k;
	}
}

/* Sorts the run being filled and closes it: written to the file (the last one kept in
 * memory, unless on_disk). An empty run is no run. */
static void close_run(struct ct_timeline *c, int last)
{
	struct run *r;
	size_t nkeys;

	if (!c->n)
		return;
	qsort(c->v, c->n, sizeof(*c->v), cmp_run);
	nkeys = (size_t)c->v[c->n - 1].w.thr + 1;
	ct_grow(&c->runs, &c->cap_runs, c->nruns + 1, sizeof(*c->runs));
	r = &c->runs[c->nruns++];
	r->nkeys = nkeys;
	r->key_at = ct_xcalloc(nkeys + 1, sizeof(*r->key_at));
	for (size_t i = 0; i < c->n; i++)
		r->key_at[c->v[i].w.thr + 1]++;
	for (size_t k = 0; k < nkeys; k++)
		r->key_at[k + 1] += r->key_at[k];
	r->mem = NULL;
	r->off = c->off;
	if (last && !c->on_disk) {
		r->mem = c->v;
		return;
	}
	if (c->fd < 0) {
		const char *dir = getenv("TMPDIR");
		char path[4096];

		dir = dir && *dir ? dir : "/tmp";
		snprintf(path, sizeof(path), "%s/ctrace-timeline-XXXXXX", dir);
		c->fd = mkostemp(path, O_CLOEXEC);
		if (c->fd < 0)
			ct_die(CT_EXIT_USAGE, "export: cannot create a temporary file in %s (to sort "
			       "the waits by thread; TMPDIR names another directory): %s", dir,
			       strerror(errno));
		unlink(path);
	}
	write_all(c->fd, c->v, c->n * sizeof(*c->v));
	c->off += c->n * sizeof(*c->v);
	c->n = 0;
}

static struct ct_tl_wait *push(struct ct_timeline *c)
{
	struct rec *r;

	if (c->n == c->run_max)
		close_run(c, 0);
	ct_grow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	r = &c->v[c->n++];
	memset(r, 0, sizeof(*r));
	r->seq = c->seq++;
	r->w.pid = c->m->hdr.pid;
	return &r->w;
}

/* A slice for what the engine saw (a wait or a recorded call), or NULL when it belongs
 * to no profile. */
static struct ct_tl_wait *push_seen(struct ct_timeline *c, const struct ct_wait_seen *s,
				    unsigned fd_class)
{
	struct ct_tl_wait *t;

	if (s->profile <= CT_P_NONE || s->profile >= CT_P_MAX)
		return NULL;
	t = push(c);
	t->tid = s->tid;
	t->thr = s->key; /* the stream's key until the end */
	t->profile = s->profile;
	t->kind = s->kind;
	t->fd_class = (uint8_t)fd_class;
	t->begin_ns = s->begin;
	t->end_ns = s->end;
	t->stack = s->stack;
	return t;
}

static void on_wait(void *arg, const struct ct_wait_seen *s)
{
	struct ct_timeline *c = arg;
	struct ct_tl_wait *t = push_seen(c, s, CT_FD_UNKNOWN);

	if (!t)
		return;
	t->obj = s->obj;
	t->unfinished = s->unfinished;
	if (s->waker_ts) {
		const struct ct_mthread *h = ct_model_thread_at(c->m, s->waker_tid, s->waker_ts);

		/* the waker's thread from the model the caller has: the file's, as is the one
		 * streamed again */
		t->has_waker = 1;
		t->waker_tid = s->waker_tid;
		t->waker_thr = h ? (uint32_t)(h - c->m->threads) : 0;
		t->waker_ts = s->waker_ts;
		t->waker_stack = s->waker_stack;
	}
}

/* Forgets the runs closed. */
static void drop_runs(struct ct_timeline *c)
{
	for (size_t i = 0; i < c->nruns; i++)
		free(c->runs[i].key_at);
	c->nruns = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->off = 0;
}

/* The analysis starts over: what it told so far is told again. */
static void on_restart(void *arg)
{
	struct ct_timeline *c = arg;

	drop_runs(c);
	c->n = 0;
	c->seq = 0;
}

static void on_syscall(void *arg, const struct ct_wait_seen *s)
{
	struct ct_tl_wait *t = push_seen(arg, s, s->fd_class);

	if (t)
		t->syscall = 1;
}

/* Where the merge of a thread reads one run's records of one key. */
#define CUR_BUF 256
struct cursor {
	const struct run *r;
	size_t at, end;           /* the next record, the end, in the run */
	struct rec *buf;          /* a written run's records read back, nbuf of them, the */
	size_t bi, nbuf;          /* next (at) at buf[bi] */
};

static const struct rec *cur_peek(struct ct_timeline *c, struct cursor *k)
{
	if (k->r->mem)
		return &k->r->mem[k->at];
	if (k->bi == k->nbuf) {
		size_t n = k->end - k->at < CUR_BUF ? k->end - k->at : CUR_BUF;
		size_t bytes = n * sizeof(struct rec), got = 0;
		off_t pos = (off_t)(k->r->off + k->at * sizeof(struct rec));

		while (got < bytes) {
			ssize_t g = pread(c->fd, (char *)k->buf + got, bytes - got,
					  pos + (off_t)got);

			if (g < 0 && errno == EINTR)
				continue;
			if (g <= 0)
				ct_die(CT_EXIT_USAGE, "export: cannot read back a temporary file: %s",
				       g < 0 ? strerror(errno) : "short read");
			got += (size_t)g;
		}
		k->bi = 0;
		k->nbuf = n;
	}
	return &k->buf[k->bi];
}

static void cur_next(struct cursor *k)
{
	k->at++;
	k->bi++;
}

/* Sifts cursor slot i down the heap h of n cursors, ordered by their next records. */
static void cur_sift(struct ct_timeline *c, struct cursor **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < n && cmp_in_thread(cur_peek(c, h[l]), cur_peek(c, h[m])) < 0)
			m = l;
		if (l + 1 < n && cmp_in_thread(cur_peek(c, h[l + 1]), cur_peek(c, h[m])) < 0)
			m = l + 1;
		if (m == i)
			return;
		struct cursor *t = h[i];

		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Every record, thread by thread (thread thr's keys: those k2t maps to it; a key beyond
 * it, to thread 0), each thread's merged from the runs' parts that hold its keys. */
size_t ct_timeline_walk(struct ct_timeline *c, void (*fn)(void *arg, const struct ct_tl_wait *w),
			void *arg)
{
	const uint32_t *k2t = c->k2t;
	size_t nk = c->nk;
	size_t nkeys = 0, total = 0, ncur = 0, most = 1;
	size_t nthr = c->m->nthreads ? c->m->nthreads : 1;
	size_t *first, *next, *nof; /* each thread's keys, as lists, and how many */
	struct cursor *cur, **heap;

	for (size_t i = 0; i < c->nruns; i++)
		if (c->runs[i].nkeys > nkeys)
			nkeys = c->runs[i].nkeys;
	first = ct_xmalloc(nthr * sizeof(*first));
	nof = ct_xcalloc(nthr, sizeof(*nof));
	next = ct_xmalloc((nkeys + 1) * sizeof(*next));
	for (size_t t = 0; t < nthr; t++)
		first[t] = SIZE_MAX;
	for (size_t k = nkeys; k-- > 0;) {
		size_t t = k < nk && k2t[k] < nthr ? k2t[k] : 0;

		next[k] = first[t];
		first[t] = k;
		if (++nof[t] > most)
			most = nof[t];
	}
	/* a thread's parts: one per run and key of it, at most */
	cur = ct_xcalloc(c->nruns * most + 1, sizeof(*cur));
	heap = ct_xmalloc((c->nruns * most + 1) * sizeof(*heap));
	for (size_t t = 0; t < nthr; t++) {
		size_t n = 0;

		for (size_t k = first[t]; k != SIZE_MAX; k = next[k])
			for (size_t i = 0; i < c->nruns; i++) {
				const struct run *r = &c->runs[i];
				struct cursor *x;

				if (k >= r->nkeys || r->key_at[k] == r->key_at[k + 1])
					continue;
				x = &cur[n];
				x->r = r;
				x->at = r->key_at[k];
				x->end = r->key_at[k + 1];
				x->bi = x->nbuf = 0;
				if (!r->mem && !x->buf)
					x->buf = ct_xmalloc(CUR_BUF * sizeof(*x->buf));
				heap[n++] = x;
			}
		if (n > ncur)
			ncur = n;
		for (size_t i = n / 2; i-- > 0;)
			cur_sift(c, heap, n, i);
		while (n) {
			struct cursor *x = heap[0];
			struct ct_tl_wait w = cur_peek(c, x)->w;

			w.thr = (uint32_t)t;
			fn(arg, &w);
			total++;
			cur_next(x);
			if (x->at == x->end)
				heap[0] = heap[--n];
			cur_sift(c, heap, n, 0);
		}
	}
	for (size_t i = 0; i < ncur; i++)
		free(cur[i].buf);
	free(cur);
	free(heap);
	free(first);
	free(nof);
	free(next);
	return total;
}

struct ct_timeline *ct_timeline_open(const char *path, const struct ct_model *m,
				     const struct ct_analysis *a, int on_disk)
{
	struct ct_timeline *c = ct_xcalloc(1, sizeof(*c));
	const char *knob = getenv("CTRACE_EXPORT_TIMELINE_RUN"); /* tests: smaller runs */
	struct ct_observer ob = { .wait = on_wait, .syscall = on_syscall, .restart = on_restart,
				  .ctx = c };
	struct ct_filter f = { .to_ns = UINT64_MAX };
	struct ct_model *m2;
	struct ct_analysis *a2;
	uint32_t *tids = NULL;
	size_t ntids = 0;
	char err[512];

	c->m = m;
	c->fd = -1;
	c->on_disk = on_disk;
	c->run_max = CT_TL_RUN_MAX;
	if (knob && strtoull(knob, NULL, 10) > 0)
		c->run_max = (size_t)strtoull(knob, NULL, 10);
	/* the window and threads a was computed with */
	if (a->filtered) {
		f.from_ns = a->from_ts > m->start_ts ? a->from_ts - m->start_ts : 0;
		if (a->to_ts < m->end_ts)
			f.to_ns = a->to_ts > m->start_ts ? a->to_ts - m->start_ts : 0;
	}
	if (a->filtered && a->nthreads < m->nthreads) {
		/* by tid: a tid left out names no selected instance (tids are reused, but a
		 * thread selected by name or tid selects every instance of that name or tid,
		 * and an instance outside the window has no wait in it) */
		tids = ct_xmalloc((a->nthreads + 1) * sizeof(*tids));
		for (size_t i = 0; i < a->nthreads; i++)
			tids[ntids++] = a->threads[i].tid;
		f.tids = tids;
		f.ntids = ntids;
	}
	if (!tids || ntids) { /* (no thread selected: nothing to deliver) */
		struct ct_file_opts o = { .threads = 2, .ob = &ob, .k2t = &c->k2t, .nk = &c->nk,
					  .quiet = 1, .stop_at_cut = 1 };

		if (ct_analyze_file_with(path, a->filtered ? &f : NULL, &a->convoy, &o, &m2, &a2,
					 err, sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "%s: %s", path, err);
		/* m2 covers the file up to the window's end: its threads named by m's */
		for (size_t k = 0; k < c->nk; k++) {
			size_t t = ct_model_thread_of_part(m, m2, c->k2t[k]);

			c->k2t[k] = t < m->nthreads ? (uint32_t)t : 0;
		}
		ct_analysis_free(a2);
		ct_model_free(m2);
	}
	free(tids);
	close_run(c, 1);
	if (c->on_disk) {
		free(c->v);
		c->v = NULL;
		c->cap = 0;
	}
	return c;
}

void ct_timeline_close(struct ct_timeline *c)
{
	if (!c)
		return;
	drop_runs(c);
	free(c->runs);
	free(c->v);
	free(c->k2t);
	free(c);
}

size_t ct_timeline_foreach(const char *path, const struct ct_model *m,
			   const struct ct_analysis *a,
			   void (*fn)(void *arg, const struct ct_tl_wait *w), void *arg)
{
	struct ct_timeline *c = ct_timeline_open(path, m, a, 0);
	size_t n = ct_timeline_walk(c, fn, arg);

	ct_timeline_close(c);
	return n;
}
