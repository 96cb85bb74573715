/* SPDX-License-Identifier: MIT */
/*
 * gentrace: writes a synthetic trace for `make bench-analyze`, the analyzer's benchmark.
 * Usage: gentrace OUT EVENTS [THREADS [SHAPE]]
 * SHAPE mixed (the default): a program of THREADS threads (default 8) that takes turns on
 * four contended mutexes (each acquisition after a wait ended by the holder's release,
 * with HOLD records now and then), a condition variable and a semaphore (each wait ended
 * by a signal or post), and reads a pipe (slow reads recorded with a stack, every read
 * counted in SITE records at each generation end).
 * SHAPE sites: the same, the mutexes released from SITES different call sites (stacks).
 * SHAPE objects: the same, the contended mutexes OBJECTS different ones (a server's
 * per-connection or per-item locks), each contended a few times.
 * SHAPE queue: all threads but the holder queue on one mutex at once, and take it in turn
 * (FIFO, each released 0.5-1.5 us after its acquisition), round after round.
 * SHAPE condqueue: the same on a condition variable, each waiter woken by its own signal.
 * Generations of one simulated second. Times advance by a few microseconds per step from
 * a fixed seed, so the file is the same on every run and cheap to write (format/writer.h,
 * no tracing involved). Exits 0, or 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../format/ctrace_format.h"
#include "../../../format/writer.h"

#define MAXT 1024
#define NMUTEX 4
#define CHUNK 2048            /* events per EVENTS chunk */
#define GEN_NS 1000000000ull  /* one generation per simulated second */
#define T0 1000000000000ull
#define PID 4000
#define NSTACKS 16
#define SITES 2000            /* the sites shape's release stacks, after the NSTACKS */
#define OBJECTS 100000        /* the objects shape's mutexes */
#define FD 7

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct thr {
	uint32_t tid;
	struct ct_event *ev;
	size_t n;
	uint32_t seq;
	uint64_t t;                 /* its clock: its events never go back in time */
	uint64_t calls, total, max; /* SITE counters of its read call site */
};

static struct thr th[MAXT];
static int nthr;
static FILE *out;
static uint8_t *raw, *obuf;
static size_t raw_cap, out_cap;
static uint32_t gen = 1;
static uint64_t written;

static void put(ssize_t n)
{
	if (n < 0) {
		fprintf(stderr, "gentrace: writer: %s\n", strerror((int)-n));
		exit(1);
	}
	if (fwrite(obuf, 1, (size_t)n, out) != (size_t)n) {
		perror("gentrace: write");
		exit(1);
	}
}

static struct ct_wbuf wb(void)
{
	return (struct ct_wbuf){ raw, raw_cap, obuf, out_cap, NULL };
}

static void flush_thread(struct thr *t)
{
	struct ct_wbuf w = wb();

	if (t->n)
		put(ct_w_events(&w, gen, t->tid, t->seq++, t->ev, t->n));
	t->n = 0;
}

static void add(struct thr *t, struct ct_event e)
{
	if (e.ts < t->t)
		e.ts = t->t;
	t->t = e.ts;
	t->ev[t->n++] = e;
	written++;
	if (t->n == CHUNK)
		flush_thread(t);
}

static struct ct_event mk(uint64_t ts, int type, int kind, uint32_t stack, uint64_t obj,
			  uint64_t a, uint64_t b, uint64_t c)
{
	return (struct ct_event){ .ts = ts, .type = (uint8_t)type, .kind = (uint8_t)kind,
				  .stack = stack, .obj = obj, .a = a, .b = b, .c = c };
}

static uint64_t pcs[NSTACKS + SITES][4];
static int nstacks = NSTACKS;

static void gen_begin(uint64_t ts)
{
	struct ct_wbuf w = wb();
	static struct ct_stack st[NSTACKS + SITES];
	static struct ct_thread_state ts_[MAXT];

	put(ct_w_gen_begin(&w, gen, ts, ts + 17));
	for (int i = 0; i < nstacks; i++)
		st[i] = (struct ct_stack){ .id = (uint32_t)i + 1, .nframes = 4, .pcs = pcs[i] };
	for (int i = 0; i < nstacks; i += 256)
		put(ct_w_stacks(&w, gen, st + i, (size_t)(nstacks - i < 256 ? nstacks - i : 256)));
	memset(ts_, 0, sizeof(ts_));
	for (int i = 0; i < nthr; i++) {
		ts_[i].tid = th[i].tid;
		ts_[i].parent_tid = i ? PID : 0;
		ts_[i].start_func = i ? 0x401000 : 0;
		snprintf(ts_[i].name, sizeof(ts_[i].name), i ? "worker-%d" : "gentrace", i);
		ts_[i].cpu_ns = (ts - T0) / 4 / (uint64_t)nthr * (uint64_t)(i + 1);
		ts_[i].runq_ns = (ts - T0) / 16;
	}
	put(ct_w_threads(&w, gen, ts_, (size_t)nthr));
	for (int i = 0; i < nthr; i++)
		th[i].seq = 0;
}

static void gen_end(uint64_t ts)
{
	struct ct_wbuf w = wb();
	uint64_t lost[CT_L_MAX] = { 0 };

	for (int i = 0; i < nthr; i++) {
		struct ct_event e = mk(ts, CT_EV_SITE, CT_K_READ, 0, pcs[12][0], th[i].calls,
				       th[i].total, th[i].max);

		e.flags = CT_FD_PIPE;
		flush_thread(&th[i]);
		put(ct_w_events(&w, gen, th[i].tid, (1u << 31) + th[i].seq++, &e, 1));
		written++;
	}
	put(ct_w_gen_end(&w, gen, ts, lost));
	gen++;
}

static int done(const char *path)
{
	if (fclose(out) != 0) {
		perror("gentrace: close");
		return 1;
	}
	printf("gentrace: %s: %llu events, %u generations, %d threads\n", path,
	       (unsigned long long)written, gen - 1, nthr);
	return 0;
}

/* The queue shapes, from now (the first generation begun): each round, every thread but
 * the holder waits on one object (kind: a mutex, or a condition variable of mutex
 * 0x10040) 50 ns apart, and each release wakes the next in line. */
static int queue(const char *path, uint64_t want, uint64_t now, int kind)
{
	const uint64_t addr = 0x10000;
	uint64_t seq = 0, gen_start = now;
	int holder = 0;

	while (written < want) {
		uint64_t t = now + (uint64_t)nthr * 50 + 1000;
		int h = holder;

		for (int k = 0; k < nthr; k++)
			if (k != holder)
				add(&th[k], mk(now + (uint64_t)k * 50, CT_EV_WAIT_BEGIN, kind, 1,
					       addr, kind == CT_K_COND ? addr + 0x40 :
					       th[holder].tid, seq, 0));
		for (int k = 1; k < nthr; k++) {
			int next = (holder + k) % nthr;

			add(&th[h], mk(t, CT_EV_RELEASE, kind, 5, addr, ++seq,
				       (uint64_t)(nthr - k), 0));
			add(&th[next], mk(t + 200, CT_EV_WAIT_END, kind, 0, addr, seq,
					  CT_R_ACQUIRED, 0));
			t += 200 + 500 + rnd() % 1000;
			h = next;
		}
		holder = h;
		now = t + 1000;
		for (int k = 0; k < nthr; k++)
			if (th[k].t > now)
				now = th[k].t;
		if (now - gen_start >= GEN_NS) {
			gen_end(now);
			gen_start = now = now + 1000;
			gen_begin(now);
		}
	}
	gen_end(now + 1000);
	return done(path);
}

int main(int argc, char **argv)
{
	struct ct_file_header h = { .version_major = CT_VERSION_MAJOR,
				    .version_minor = CT_VERSION_MINOR, .pid = PID, .ppid = 1,
				    .start_mono_ns = T0, .start_real_ns = T0 + 17 };
	uint8_t hb[CT_HEADER_LEN];
	uint64_t want, now = T0, gen_start = T0, *mseq, cseq = 0, sseq = 0;
	uint32_t *owner;
	const char *shape;
	int sites, nmutex = NMUTEX;
	uint64_t mbase = 0x10000;   /* the mutexes' addresses, 64 bytes apart */

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: gentrace OUT EVENTS "
			"[THREADS [mixed|sites|objects|queue|condqueue]]\n");
		return 1;
	}
	want = strtoull(argv[2], NULL, 10);
	nthr = argc > 3 ? atoi(argv[3]) : 8;
	if (nthr < 2 || nthr > MAXT || !want) {
		fprintf(stderr, "gentrace: EVENTS > 0 and 2 <= THREADS <= %d\n", MAXT);
		return 1;
	}
	shape = argc > 4 ? argv[4] : "mixed";
	if (strcmp(shape, "mixed") && strcmp(shape, "sites") && strcmp(shape, "objects") &&
	    strcmp(shape, "queue") && strcmp(shape, "condqueue")) {
		fprintf(stderr, "gentrace: SHAPE is mixed, sites, objects, queue or condqueue, "
			"not %s\n", shape);
		return 1;
	}
	sites = !strcmp(shape, "sites");
	if (sites)
		nstacks = NSTACKS + SITES;
	if (!strcmp(shape, "objects"))
		nmutex = OBJECTS, mbase = 0x100000000ull; /* past the cond and semaphore */
	mseq = calloc((size_t)nmutex, sizeof(*mseq));
	owner = calloc((size_t)nmutex, sizeof(*owner));
	if (!mseq || !owner)
		return 1;
	out = fopen(argv[1], "wx");
	if (!out) {
		fprintf(stderr, "gentrace: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	raw_cap = ct_w_raw_bound(CHUNK) + 4096;
	out_cap = ct_w_out_bound(raw_cap);
	raw = malloc(raw_cap);
	obuf = malloc(out_cap);
	snprintf(h.exe, sizeof(h.exe), "gentrace");
	if (!raw || !obuf || ct_w_header(hb, sizeof(hb), &h) != CT_HEADER_LEN ||
	    fwrite(hb, 1, sizeof(hb), out) != sizeof(hb)) {
		fprintf(stderr, "gentrace: cannot write the header\n");
		return 1;
	}
	for (int i = 0; i < nstacks; i++)
		for (int k = 0; k < 4; k++)
			pcs[i][k] = 0x401000 + (uint64_t)i * 0x100 + (uint64_t)k * 0x1000 + 5;
	for (int i = 0; i < nthr; i++) {
		th[i].tid = PID + (uint32_t)i;
		th[i].ev = malloc(CHUNK * sizeof(*th[i].ev));
		th[i].t = T0;
		if (!th[i].ev)
			return 1;
	}
	for (int m = 0; m < nmutex; m++)
		owner[m] = th[m % nthr].tid;
	gen_begin(now);
	if (!strcmp(shape, "queue") || !strcmp(shape, "condqueue"))
		return queue(argv[1], want, now, !strcmp(shape, "queue") ? CT_K_MUTEX : CT_K_COND);
	while (written < want) {
		int i = (int)(rnd() % (uint64_t)nthr), j = (int)(rnd() % (uint64_t)(nthr - 1));
		struct thr *w = &th[i], *r = &th[j >= i ? j + 1 : j];
		uint64_t step = 500 + rnd() % 4000, d1 = 300 + rnd() % 3000, d2 = 200 + rnd() % 800;
		uint64_t b = now > w->t ? now : w->t, rel;
		int what = (int)(rnd() % 10);

		if (what < 5) { /* a contended mutex: r holds it, w waits, r hands it over */
			int m = (int)(rnd() % (uint64_t)nmutex);
			uint64_t addr = mbase + (uint64_t)m * 64;

			if (rnd() % 16 == 0)
				add(w, mk(b, CT_EV_HOLD, CT_K_MUTEX, 15, mbase + 3 * 64, 0, 0, 0));
			add(w, mk(b, CT_EV_WAIT_BEGIN, CT_K_MUTEX, 1 + (uint32_t)(m % NMUTEX), addr, owner[m],
				  mseq[m], 0));
			rel = (b > r->t ? b : r->t) + d1;
			add(r, mk(rel, CT_EV_RELEASE, CT_K_MUTEX,
				  sites ? NSTACKS + 1 + (uint32_t)(rnd() % SITES) : 5 + (uint32_t)(m % NMUTEX),
				  addr, ++mseq[m], 1, 0));
			add(w, mk(r->t + d2, CT_EV_WAIT_END, CT_K_MUTEX, 0, addr, mseq[m],
				  CT_R_ACQUIRED, 0));
			owner[m] = w->tid;
		} else if (what < 7) { /* a cond wait ended by a signal */
			add(w, mk(b, CT_EV_WAIT_BEGIN, CT_K_COND, 9, 0x20000, 0x20040, cseq, 0));
			rel = (b > r->t ? b : r->t) + d1;
			add(r, mk(rel, CT_EV_RELEASE, CT_K_COND, 10, 0x20000, ++cseq, 1, 0));
			add(w, mk(r->t + d2, CT_EV_WAIT_END, CT_K_COND, 0, 0x20000, cseq,
				  CT_R_ACQUIRED, 0));
		} else if (what < 8) { /* a semaphore wait ended by a post */
			add(w, mk(b, CT_EV_WAIT_BEGIN, CT_K_SEM, 11, 0x30000, 0, sseq, 0));
			rel = (b > r->t ? b : r->t) + d1;
			add(r, mk(rel, CT_EV_RELEASE, CT_K_SEM, 12, 0x30000, ++sseq, 1, 0));
			add(w, mk(r->t + d2, CT_EV_WAIT_END, CT_K_SEM, 0, 0x30000, sseq,
				  CT_R_ACQUIRED, 0));
		} else { /* reads of a pipe: a slow one recorded, the fast ones counted */
			uint64_t dur = 20000 + rnd() % 200000, fast = 3 + rnd() % 5;

			add(w, mk(b, CT_EV_SYSCALL, CT_K_READ, 13, FD, b + dur, 64,
				  (uint64_t)CT_FD_PIPE << 16));
			w->calls += 1 + fast;
			w->total += dur + fast * 2000;
			if (dur > w->max)
				w->max = dur;
			w->t = b + dur + fast * 2000;
		}
		now += step / (uint64_t)nthr;
		if (w->t > now + 50000 || r->t > now + 50000)
			now = (w->t > r->t ? w->t : r->t) - 50000; /* keep the threads together */
		if (now - gen_start >= GEN_NS) {
			uint64_t end = now;

			for (int k = 0; k < nthr; k++)
				if (th[k].t > end)
					end = th[k].t;
			gen_end(end);
			gen_start = now = end + 1000;
			gen_begin(now);
		}
	}
	{
		uint64_t end = now;

		for (int k = 0; k < nthr; k++)
			if (th[k].t > end)
				end = th[k].t;
		gen_end(end + 1000);
	}
	return done(argv[1]);
}
