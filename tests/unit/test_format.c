/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of format/: names, CRC-32, the chunk encoders (sizes, codec choice, bounds)
 * and the reader, by round-tripping synthetic traces writer -> memory/file -> reader with
 * exact field equality, cutting a small trace at every byte offset, damaging it at every
 * byte offset, feeding hand-made chunks with valid checksums but invalid contents, and
 * mutating traces at random. No preload involved. TAP output (tap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <lz4.h>
#include <zlib.h>

#include "tap.h"
#include "../../format/ctrace_format.h"
#include "../../format/events.h"
#include "../../format/reader.h"
#include "../../format/writer.h"

/* ---- a trace under construction, with the records a reader must return */

struct exp {
	enum ct_rec_type type;
	uint32_t gen, tid;
	struct ct_event ev;
	const struct ct_stack *st;
	const struct ct_module *mod;
	const struct ct_thread_state *th;
	uint64_t t1, t2;
	uint64_t lost[CT_L_MAX];
	uint64_t untraced; /* GEN_END: the untraced threads' counter written */
	uint64_t offset;
};

struct trace {
	uint8_t *buf;
	size_t len, cap;
	struct ct_wbuf w;
	struct exp *exp;
	size_t nexp, exp_cap;
	/* after each chunk: its end offset, records so far, whether a generation is open */
	size_t *bound, *nrec;
	int *open;
	size_t nbound, bound_cap;
	int gen_open;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("realloc");
		exit(2);
	}
	return p;
}

static void append(struct trace *t, const void *b, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2;
		t->buf = xrealloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, b, n);
	t->len += n;
}

static void trace_init(struct trace *t, size_t raw_cap)
{
	memset(t, 0, sizeof(*t));
	t->w.raw_cap = raw_cap;
	t->w.raw = xrealloc(NULL, raw_cap);
	t->w.out_cap = ct_w_out_bound(raw_cap);
	t->w.out = xrealloc(NULL, t->w.out_cap);
	struct ct_file_header h = { .pid = 4242, .ppid = 1, .start_mono_ns = 123456789,
				    .start_real_ns = 1700000000123456789ull, .flags = 5 };
	strcpy(h.exe, "test_format");
	uint8_t hb[CT_HEADER_LEN];
	ssize_t n = ct_w_header(hb, sizeof(hb), &h);
	if (n != CT_HEADER_LEN)
		exit(2);
	append(t, hb, (size_t)n);
}

static void trace_free(struct trace *t)
{
	free(t->buf);
	free(t->w.raw);
	free(t->w.out);
	free(t->exp);
	free(t->bound);
	free(t->nrec);
	free(t->open);
}

static struct exp *push(struct trace *t, enum ct_rec_type type, uint32_t gen)
{
	if (t->nexp == t->exp_cap) {
		t->exp_cap = t->exp_cap ? 2 * t->exp_cap : 256;
		t->exp = xrealloc(t->exp, t->exp_cap * sizeof(*t->exp));
	}
	struct exp *e = &t->exp[t->nexp++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->gen = gen;
	e->offset = t->len;
	return e;
}

/* Appends the chunk the last encoder produced (n: its return value). */
static int commit(struct trace *t, ssize_t n)
{
	if (n <= 0) {
		printf("# encoder failed: %zd\n", n);
		return -1;
	}
	append(t, t->w.out, (size_t)n);
	if (t->nbound == t->bound_cap) {
		t->bound_cap = t->bound_cap ? 2 * t->bound_cap : 64;
		t->bound = xrealloc(t->bound, t->bound_cap * sizeof(size_t));
		t->nrec = xrealloc(t->nrec, t->bound_cap * sizeof(size_t));
		t->open = xrealloc(t->open, t->bound_cap * sizeof(int));
	}
	t->bound[t->nbound] = t->len;
	t->nrec[t->nbound] = t->nexp;
	t->open[t->nbound] = t->gen_open;
	t->nbound++;
	return 0;
}

static int gen_begin(struct trace *t, uint32_t gen, uint64_t mono, uint64_t real)
{
	struct exp *e = push(t, CT_REC_GEN_BEGIN, gen);
	e->t1 = mono;
	e->t2 = real;
	t->gen_open = 1;
	return commit(t, ct_w_gen_begin(&t->w, gen, mono, real));
}

static int gen_end(struct trace *t, uint32_t gen, uint64_t end, const uint64_t *lost)
{
	struct exp *e = push(t, CT_REC_GEN_END, gen);
	e->t1 = end;
	memcpy(e->lost, lost, sizeof(e->lost));
	e->untraced = 10 * (uint64_t)gen + 1; /* any number the reader must give back */
	t->gen_open = 0;
	return commit(t, ct_w_gen_end_untraced(&t->w, gen, end, lost, e->untraced));
}

static int events(struct trace *t, uint32_t gen, uint32_t tid, uint32_t seq,
		  const struct ct_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct exp *e = push(t, CT_REC_EVENT, gen);
		e->tid = tid;
		e->ev = ev[i];
	}
	size_t off = t->len;
	for (size_t i = 0; i < n; i++)
		t->exp[t->nexp - n + i].offset = off;
	return commit(t, ct_w_events(&t->w, gen, tid, seq, ev, n));
}

static int stacks(struct trace *t, uint32_t gen, const struct ct_stack *st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		push(t, CT_REC_STACK, gen)->st = &st[i];
	return commit(t, ct_w_stacks(&t->w, gen, st, n));
}

static int modules(struct trace *t, uint32_t gen, const struct ct_module *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		push(t, CT_REC_MODULE, gen)->mod = &m[i];
	return commit(t, ct_w_modules(&t->w, gen, m, n));
}

static int threads(struct trace *t, uint32_t gen, const struct ct_thread_state *th, size_t n)
{
	for (size_t i = 0; i < n; i++)
		push(t, CT_REC_THREAD, gen)->th = &th[i];
	return commit(t, ct_w_threads(&t->w, gen, th, n));
}

/* ---- exact comparison of a record with its expectation; NULL or the first field off */

#define CHK(cond, what) do { if (!(cond)) return (what); } while (0)

static const char *mismatch(const struct ct_record *r, const struct exp *e)
{
	CHK(r->type == e->type, "type");
	CHK(r->gen == e->gen, "gen");
	CHK(r->offset == e->offset, "offset");
	switch (e->type) {
	case CT_REC_GEN_BEGIN:
		CHK(r->ts_mono == e->t1 && r->ts_real == e->t2, "gen clocks");
		break;
	case CT_REC_GEN_END:
		CHK(r->end_ts == e->t1, "end_ts");
		CHK(memcmp(r->lost, e->lost, sizeof(e->lost)) == 0, "lost");
		CHK(r->has_untraced && r->untraced == e->untraced, "untraced threads");
		break;
	case CT_REC_EVENT:
		CHK(r->tid == e->tid, "tid");
		CHK(r->ev.ts == e->ev.ts, "ts");
		CHK(r->ev.type == e->ev.type, "ev.type");
		CHK(r->ev.kind == e->ev.kind, "kind");
		CHK(r->ev.flags == e->ev.flags, "flags");
		CHK(r->ev.stack == e->ev.stack, "stack");
		CHK(r->ev.obj == e->ev.obj, "obj");
		CHK(r->ev.a == e->ev.a && r->ev.b == e->ev.b && r->ev.c == e->ev.c, "a/b/c");
		break;
	case CT_REC_STACK:
		CHK(r->stack.id == e->st->id, "stack id");
		CHK(r->stack.nframes == e->st->nframes, "nframes");
		CHK(r->stack.flags == e->st->flags, "stack flags");
		CHK(r->stack.pcs != NULL, "pcs NULL");
		for (unsigned i = 0; i < e->st->nframes; i++)
			CHK(r->stack.pcs[i] == e->st->pcs[i], "pc");
		break;
	case CT_REC_MODULE:
		CHK(r->module.bias == e->mod->bias, "bias");
		CHK(r->module.lo == e->mod->lo && r->module.hi == e->mod->hi, "lo/hi");
		CHK(r->module.build_id_len == e->mod->build_id_len, "build_id_len");
		CHK(memcmp(r->module.build_id, e->mod->build_id, e->mod->build_id_len) == 0,
		    "build_id");
		CHK(r->module.is_main == e->mod->is_main, "is_main");
		CHK(r->module.path != NULL, "path NULL");
		CHK(strcmp(r->module.path, e->mod->path ? e->mod->path : "") == 0, "path");
		break;
	case CT_REC_THREAD:
		CHK(r->thread.tid == e->th->tid, "tid");
		CHK(r->thread.parent_tid == e->th->parent_tid, "parent");
		CHK(r->thread.start_func == e->th->start_func, "start_func");
		CHK(strncmp(r->thread.name, e->th->name, CT_NAME_LEN) == 0, "name");
		CHK(r->thread.name[CT_NAME_LEN] == 0, "name NUL");
		CHK(r->thread.blocked == e->th->blocked, "blocked");
		CHK(r->thread.kind == e->th->kind, "thread kind");
		CHK(r->thread.obj == e->th->obj && r->thread.since == e->th->since, "obj/since");
		CHK(r->thread.cpu_ns == e->th->cpu_ns && r->thread.runq_ns == e->th->runq_ns,
		    "cpu/runq");
		break;
	}
	return NULL;
}

/* Reads everything; returns the last ct_reader_next result, counts records into *nrec
 * and mismatches against t (the first nexp expectations) into *bad. */
static int drain(struct ct_reader *r, const struct trace *t, size_t *nrec, size_t *bad)
{
	struct ct_record rec;
	int rc;

	*nrec = *bad = 0;
	while ((rc = ct_reader_next(r, &rec)) == 1) {
		const char *why = *nrec < t->nexp ? mismatch(&rec, &t->exp[*nrec]) : "extra";
		if (why && (*bad)++ == 0)
			printf("# record %zu: %s differs\n", *nrec, why);
		(*nrec)++;
	}
	return rc;
}

/* The same through ct_reader_next_batch: each batch's events checked one by one as
 * records; *nbig counts the batches of more than one event. */
static int drain_batch(struct ct_reader *r, const struct trace *t, size_t *nrec, size_t *bad,
		       size_t *nbig)
{
	struct ct_record rec;
	const struct ct_event *evs;
	size_t n;
	int rc;

	*nrec = *bad = *nbig = 0;
	while ((rc = ct_reader_next_batch(r, &rec, &evs, &n)) == 1) {
		size_t k = n ? n : 1;

		*nbig += n > 1;
		if ((rec.type == CT_REC_EVENT) != (n > 0) && (*bad)++ == 0)
			printf("# record %zu: batch of %zu for type %d\n", *nrec, n, rec.type);
		for (size_t i = 0; i < k; i++) {
			if (n)
				rec.ev = evs[i];
			const char *why = *nrec < t->nexp ? mismatch(&rec, &t->exp[*nrec]) : "extra";
			if (why && (*bad)++ == 0)
				printf("# record %zu: %s differs\n", *nrec, why);
			(*nrec)++;
		}
	}
	return rc;
}

/* ---- the data */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define NBIG 5000
static struct ct_event big[NBIG];
static uint64_t pcs_deep[CT_MAX_FRAMES], pcs_small[3] = { 0x401000, 0x400ff0, 0x7fff12345678 };
static uint64_t pcs_extreme[4] = { UINT64_MAX, 0, UINT64_MAX, 1 };
static const struct ct_stack stk[] = {
	{ .id = 1, .nframes = 3, .flags = 0, .pcs = pcs_small },
	{ .id = 2, .nframes = CT_MAX_FRAMES, .flags = CT_STACKF_TRUNCATED, .pcs = pcs_deep },
	{ .id = 3, .nframes = 0, .flags = 0, .pcs = NULL },
	{ .id = UINT32_MAX, .nframes = 4, .flags = 0xffff, .pcs = pcs_extreme },
};
static char long_path[CT_PATH_MAX + 1];
static struct ct_module mods[] = {
	{ .bias = 0, .lo = 0x400000, .hi = 0x4a0000, .build_id_len = 20, .is_main = 1,
	  .path = "/usr/bin/server" },
	{ .bias = 0x7f0000000000, .lo = 0x7f0000001000, .hi = 0x7f0000200000,
	  .build_id_len = 0, .path = NULL },
	{ .bias = UINT64_MAX, .lo = 0, .hi = UINT64_MAX, .build_id_len = 7, .path = long_path },
};
static const struct ct_thread_state ths[] = {
	{ .tid = 100, .name = "main" },
	{ .tid = 101, .parent_tid = 100, .start_func = 0x401234, .name = "worker-0123456789",
	  .blocked = 1, .kind = CT_K_MUTEX, .obj = 0x7ffdeadbeef0, .since = 99, .cpu_ns = 5,
	  .runq_ns = 6 },
	{ .tid = UINT32_MAX, .parent_tid = UINT32_MAX, .start_func = UINT64_MAX,
	  .name = "exactly16chars!!", .blocked = 1, .kind = CT_K_NANOSLEEP, .obj = UINT64_MAX,
	  .since = UINT64_MAX, .cpu_ns = UINT64_MAX, .runq_ns = UINT64_MAX },
};
static const struct ct_event extreme[] = {
	{ .ts = UINT64_MAX, .type = CT_EV_WAIT_BEGIN, .kind = CT_K_NANOSLEEP, .flags = 0xffff,
	  .stack = UINT32_MAX, .obj = UINT64_MAX, .a = UINT64_MAX, .b = UINT64_MAX,
	  .c = UINT64_MAX },
	{ .ts = 0, .type = CT_EV_WAIT_END, .kind = CT_K_NONE, .obj = 0 },
	{ .ts = 1ull << 63, .type = CT_EV_THREAD_END, .obj = 1ull << 63, .a = 1 },
	{ .ts = (1ull << 63) - 1, .type = CT_EV_THREAD_NAME, .a = 7,
	  .b = 0x3031323334353637ull, .c = 0x3839616263646566ull },
	{ .ts = 5, .type = CT_EV_RELEASE, .kind = CT_K_COND, .flags = CT_EVF_BROADCAST,
	  .stack = 1, .obj = 0x7f00000010, .a = 3, .b = 2 },
	{ .ts = 4, .type = CT_EV_THREAD_START, .a = 100, .b = 0x401234, .stack = 2 },
};

static void make_data(void)
{
	for (unsigned i = 0; i < CT_MAX_FRAMES; i++)
		pcs_deep[i] = 0x7f1234560000ull + rnd() % 0x100000;
	memset(long_path, 'p', CT_PATH_MAX);
	long_path[0] = '/';
	for (unsigned i = 0; i < 20; i++)
		mods[0].build_id[i] = (uint8_t)(0xa0 + i);
	for (unsigned i = 0; i < 7; i++)
		mods[2].build_id[i] = (uint8_t)i;
	uint64_t ts = 1000000000;
	static const uint64_t objs[] = { 0x55550000a0, 0x55550000e8, 0x7ffc0000f00 };
	for (unsigned i = 0; i < NBIG; i++) {
		struct ct_event *e = &big[i];
		ts += rnd() % (i % 100 == 0 ? 5000000000ull : 20000);
		e->ts = ts;
		e->type = (uint8_t)(1 + i % (CT_EV_MAX - 1));
		e->kind = (uint8_t)(i % CT_K_MAX);
		e->flags = (uint16_t)(i % 7 == 0 ? CT_EVF_TIMED | CT_EVF_CLOCK_RT : 0);
		e->stack = (uint32_t)(i % 5);
		e->obj = objs[rnd() % 3];
		e->a = i % 3 ? rnd() % 70000 : 0;
		e->b = i;
		e->c = i % 11 == 0 ? rnd() : 0;
	}
}

/* The big trace: two generations, every chunk kind, extreme values, many EVENTS chunks. */
static int build_big(struct trace *t)
{
	static const uint64_t lost1[CT_L_MAX] = { 0, 1, 2 };
	static const uint64_t lost2[CT_L_MAX] = { UINT64_MAX, 300, 1ull << 40 };
	int e = 0;

	trace_init(t, ct_w_raw_bound(512) + CT_W_MODULE_MAX(CT_PATH_MAX));
	e |= gen_begin(t, 1, 1000, 1700000000000000000ull);
	e |= modules(t, 1, mods, 3);
	e |= stacks(t, 1, stk, 4);
	e |= threads(t, 1, ths, 3);
	for (uint32_t seq = 0, i = 0; i < NBIG; seq++, i += 500)
		e |= events(t, 1, 100, seq, big + i, NBIG - i < 500 ? NBIG - i : 500);
	e |= events(t, 1, UINT32_MAX, 0, extreme, sizeof(extreme) / sizeof(extreme[0]));
	e |= events(t, 1, 7, 0, NULL, 0);
	e |= gen_end(t, 1, 2000, lost1);
	e |= gen_begin(t, UINT32_MAX, UINT64_MAX, 0);
	e |= threads(t, UINT32_MAX, ths, 1);
	e |= events(t, UINT32_MAX, 101, 0, big, 17);
	e |= gen_end(t, UINT32_MAX, UINT64_MAX, lost2);
	return e;
}

/* A small trace for the every-offset tests: ~1 KiB, a dozen chunks, both codecs. */
static int build_small(struct trace *t)
{
	static const uint64_t lost[CT_L_MAX] = { 3, 0, 1 };
	int e = 0;

	trace_init(t, 64 * 1024);
	e |= gen_begin(t, 1, 1000, 2000);
	e |= stacks(t, 1, stk, 1);
	e |= threads(t, 1, ths, 2);
	e |= events(t, 1, 100, 0, big, 3);
	e |= events(t, 1, 100, 1, big + 3, 40);
	e |= events(t, 1, 101, 0, extreme, 2);
	e |= gen_end(t, 1, 3000, lost);
	e |= gen_begin(t, 2, 3000, 4000);
	e |= events(t, 2, 100, 0, big + 50, 2);
	e |= gen_end(t, 2, 4000, lost);
	return e;
}

/* ---- tests */

/* format/events.h puts every field in the slot FORMAT.md's table names (so records made
 * by the constructors encode as before), and its accessors read back what was put. */
static void test_events_h(void)
{
	struct ct_event e;
	char name[CT_NAME_LEN] = "worker-012345678";

	e = ct_ev_wait_begin(10, CT_K_COND, CT_EVF_TIMED, 7, 0x1000, 0x2000, 5, 99);
	TAP_OK(e.ts == 10 && e.type == CT_EV_WAIT_BEGIN && e.kind == CT_K_COND &&
	       e.flags == CT_EVF_TIMED && e.stack == 7 && e.obj == 0x1000 && e.a == 0x2000 &&
	       e.b == 5 && e.c == 99, "WAIT_BEGIN: owner in a, seq in b, deadline in c");
	TAP_OK(ct_ev_wait_begin_owner(&e) == 0x2000 && ct_ev_wait_begin_seq(&e) == 5 &&
	       ct_ev_wait_begin_deadline(&e) == 99, "WAIT_BEGIN accessors");
	e = ct_ev_wait_end(11, CT_K_MUTEX, 0x1000, 6, CT_R_ERROR, -22);
	TAP_OK(e.type == CT_EV_WAIT_END && e.stack == 0 && e.flags == 0 && e.a == 6 &&
	       e.b == CT_R_ERROR && e.c == (uint64_t)-22, "WAIT_END: seq, result, ret in a, b, c");
	TAP_OK(ct_ev_wait_end_seq(&e) == 6 && ct_ev_wait_end_result(&e) == CT_R_ERROR &&
	       ct_ev_wait_end_ret(&e) == -22, "WAIT_END accessors");
	e = ct_ev_release(12, CT_K_COND, CT_EVF_BROADCAST, 3, 0x1000, 8, 4);
	TAP_OK(e.type == CT_EV_RELEASE && e.flags == CT_EVF_BROADCAST && e.a == 8 && e.b == 4 &&
	       e.c == 0, "RELEASE: seq in a, waiters in b");
	TAP_OK(ct_ev_release_seq(&e) == 8 && ct_ev_release_waiters(&e) == 4, "RELEASE accessors");
	e = ct_ev_thread_start(13, 2, 100, 0x401234);
	TAP_OK(e.type == CT_EV_THREAD_START && e.stack == 2 && e.a == 100 && e.b == 0x401234 &&
	       ct_ev_thread_start_parent(&e) == 100 &&
	       ct_ev_thread_start_start_func(&e) == 0x401234, "THREAD_START: parent, start_func");
	e = ct_ev_thread_name(14, 7, name);
	{
		char got[CT_NAME_LEN];

		ct_ev_thread_name_get(&e, got);
		TAP_OK(e.type == CT_EV_THREAD_NAME && e.a == 7 && !memcmp(&e.b, name, 8) &&
		       !memcmp(&e.c, name + 8, 8) && !memcmp(got, name, CT_NAME_LEN) &&
		       ct_ev_thread_name_tid(&e) == 7, "THREAD_NAME: tid in a, name in b then c");
	}
	e = ct_ev_thread_end(15, 4000, 500);
	TAP_OK(e.type == CT_EV_THREAD_END && e.a == 4000 && e.b == 500 &&
	       ct_ev_thread_end_cpu_ns(&e) == 4000 && ct_ev_thread_end_runq_ns(&e) == 500,
	       "THREAD_END: cpu_ns, runq_ns");
	e = ct_ev_syscall(16, CT_K_READ, 9, 5, 1016, -1, 11, CT_FD_PIPE);
	TAP_OK(e.type == CT_EV_SYSCALL && e.obj == 5 && e.a == 1016 && e.b == (uint64_t)-1 &&
	       e.c == (11 | (uint64_t)CT_FD_PIPE << 16), "SYSCALL: end, ret, errno | class << 16");
	TAP_OK(ct_ev_syscall_fd(&e) == 5 && ct_ev_syscall_end(&e) == 1016 &&
	       ct_ev_syscall_ret(&e) == -1 && ct_ev_syscall_err(&e) == 11 &&
	       ct_ev_syscall_fd_class(&e) == CT_FD_PIPE && ct_ev_syscall_duration(&e) == 1000,
	       "SYSCALL accessors");
	ct_ev_syscall_set_err(&e, 0x12345); /* a packed field keeps to its bits */
	TAP_OK(ct_ev_syscall_err(&e) == 0x2345 && ct_ev_syscall_fd_class(&e) == CT_FD_PIPE,
	       "SYSCALL errno is 16 bits");
	e = ct_ev_site(17, CT_K_WRITE, CT_FD_FILE, 0x4005, 1002, 3000000, 1000000);
	TAP_OK(e.type == CT_EV_SITE && e.flags == CT_FD_FILE && e.obj == 0x4005 && e.a == 1002 &&
	       e.b == 3000000 && e.c == 1000000 && ct_ev_site_fd_class(&e) == CT_FD_FILE &&
	       ct_ev_site_pc(&e) == 0x4005 && ct_ev_site_calls(&e) == 1002 &&
	       ct_ev_site_total_ns(&e) == 3000000 && ct_ev_site_max_ns(&e) == 1000000,
	       "SITE: class in flags, pc in obj, calls, total, max in a, b, c");
	e = ct_ev_hold(18, CT_K_RWLOCK_WR, 4, 0x3000, 1);
	TAP_OK(e.type == CT_EV_HOLD && e.kind == CT_K_RWLOCK_WR && e.stack == 4 &&
	       e.obj == 0x3000 && e.a == 1 && e.b == 0 && e.c == 0 &&
	       ct_ev_hold_after_wait(&e) == 1, "HOLD: after_wait in a");
}

static void test_names(void)
{
	static const char *const kinds[] = { "mutex", "cond", "rwlock_rd", "rwlock_wr", "sem",
		"barrier", "join", "spin", "futex", "epoll", "poll", "select", "accept",
		"connect", "recv", "send", "read", "write", "fsync", "wait", "flock", "sigwait",
		"open", "nanosleep", "omp_barrier", "omp_critical", "omp_lock" };
	int ok = 1;
	for (unsigned k = CT_K_MUTEX; k < CT_K_MAX; k++)
		if (strcmp(ct_kind_name(k), kinds[k - 1]) != 0)
			ok = 0;
	TEST_TRUE(ok);
	TEST_EQ(sizeof(kinds) / sizeof(kinds[0]), CT_K_MAX - 1);
	TEST_STREQ(ct_kind_name(CT_K_MAX), "?");
	TEST_STREQ(ct_kind_name(~0u), "?");
	TEST_EQ(ct_kind_profile(CT_K_MUTEX), CT_P_SYNC);
	TEST_EQ(ct_kind_profile(CT_K_FUTEX), CT_P_SYNC);
	TEST_EQ(ct_kind_profile(CT_K_EPOLL), CT_P_NET);
	TEST_EQ(ct_kind_profile(CT_K_SEND), CT_P_NET);
	TEST_EQ(ct_kind_profile(CT_K_READ), CT_P_SYSCALL);
	TEST_EQ(ct_kind_profile(CT_K_OPEN), CT_P_SYSCALL);
	TEST_EQ(ct_kind_profile(CT_K_NANOSLEEP), CT_P_SLEEP);
	TEST_EQ(ct_kind_profile(CT_K_OMP_BARRIER), CT_P_SYNC);
	TEST_EQ(ct_kind_profile(CT_K_OMP_LOCK), CT_P_SYNC);
	TEST_EQ(ct_kind_profile(CT_K_NONE), CT_P_NONE);
	TEST_EQ(ct_kind_profile(CT_K_MAX), CT_P_NONE);
	TEST_STREQ(ct_profile_name(CT_P_SYNC), "sync");
	TEST_STREQ(ct_profile_name(CT_P_NET), "net");
	TEST_STREQ(ct_profile_name(CT_P_SYSCALL), "syscall");
	TEST_STREQ(ct_profile_name(CT_P_SLEEP), "sleep");
	TEST_STREQ(ct_profile_name(CT_P_MAX), "?");
	TEST_STREQ(ct_result_name(CT_R_ACQUIRED), "acquired");
	TEST_STREQ(ct_result_name(CT_R_TIMEDOUT), "timedout");
	TEST_STREQ(ct_result_name(CT_R_ERROR), "error");
	TEST_STREQ(ct_result_name(CT_R_OWNERDEAD), "ownerdead");
	TEST_STREQ(ct_result_name(CT_R_MAX), "?");
	TEST_STREQ(ct_event_name(CT_EV_WAIT_BEGIN), "wait_begin");
	TEST_STREQ(ct_event_name(CT_EV_THREAD_END), "thread_end");
	TEST_STREQ(ct_event_name(CT_EV_MAX), "?");
	TEST_STREQ(ct_lost_name(CT_L_NOBUF), "no_buffer");
	TEST_STREQ(ct_lost_name(CT_L_NOSLOT), "no_thread_slot");
	TEST_STREQ(ct_lost_name(CT_L_NOSTACK), "no_stack_slot");
	TEST_STREQ(ct_lost_name(CT_L_MAX), "?");
}

static void test_crc(void)
{
	uint8_t b[1000];
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)rnd();
	TEST_EQ(ct_crc32(0, "123456789", 9), 0xcbf43926u);
	TEST_EQ(ct_crc32(0, b, sizeof(b)), crc32(0, b, sizeof(b)));
	TEST_EQ(ct_crc32(ct_crc32(0, b, 300), b + 300, 700), ct_crc32(0, b, sizeof(b)));
	TEST_EQ(ct_crc32(0, b, 0), 0);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void test_encoders(void)
{
	uint8_t raw[64 * 1024], out[64 * 1024 + 64];
	struct ct_wbuf w = { raw, sizeof(raw), out, sizeof(out), NULL };
	struct ct_file_header h = { .pid = 1 };
	uint8_t hb[CT_HEADER_LEN];

	TEST_EQ(ct_w_header(hb, sizeof(hb), &h), CT_HEADER_LEN);
	TEST_EQ(ct_w_header(hb, sizeof(hb) - 1, &h), -ENOSPC);
	TEST_EQ(memcmp(hb, CT_MAGIC, CT_MAGIC_LEN), 0);

	/* One small event: the field stream's length 3, then type, mask (the kind only: the
	 * other fields are 0 as predicted), kind; the timestamp stream: zz(5) = 10. */
	struct ct_event e1 = { .ts = 5, .type = CT_EV_WAIT_BEGIN, .kind = CT_K_MUTEX };
	ssize_t n = ct_w_events(&w, 0, 1, 0, &e1, 1);
	TEST_EQ(n, CT_CHUNK_HDR_LEN + 5);
	TEST_EQ(le32(out), CT_CHUNK_MAGIC);
	TEST_EQ(out[4], CT_CH_EVENTS);
	TEST_EQ(out[5], CT_CODEC_RAW);
	TEST_EQ(le32(out + 24), 5);
	static const uint8_t e1_bytes[] = { 3, CT_EV_WAIT_BEGIN, CT_EVM_KIND, CT_K_MUTEX, 10 };
	TEST_EQ(memcmp(out + CT_CHUNK_HDR_LEN, e1_bytes, 5), 0);

	/* Realistic events: small raw size per event, then LZ4 shrinks it further. */
	n = ct_w_events(&w, 0, 1, 0, big, 1000);
	uint32_t raw_len = le32(out + 24), comp_len = le32(out + 28);
	printf("# 1000 events: raw %u bytes (%.1f/event), stored %u bytes, codec %u\n", raw_len,
	       raw_len / 1000.0, comp_len, out[5]);
	TEST_TRUE(raw_len < 1000 * 24);
	TEST_EQ(out[5], CT_CODEC_LZ4);
	TEST_TRUE(comp_len < raw_len);
	TEST_EQ(n, CT_CHUNK_HDR_LEN + comp_len);

	/* With LZ4's state in the caller's memory (as the preload does): the same chunk. */
	static uint8_t out2[64 * 1024 + 64];
	void *state = malloc(ct_w_lz4_state_size());
	TEST_TRUE(state != NULL && ct_w_lz4_state_size() >= 1024);
	struct ct_wbuf ws = { raw, sizeof(raw), out2, sizeof(out2), state };
	TEST_EQ(ct_w_events(&ws, 0, 1, 0, big, 1000), n);
	TEST_EQ(memcmp(out, out2, (size_t)n), 0);
	free(state);

	/* Identical events: delta coding makes them tiny, LZ4 tinier. */
	static struct ct_event same[1000];
	for (unsigned i = 0; i < 1000; i++)
		same[i] = (struct ct_event){ .ts = 1000000 + i * 100, .type = CT_EV_WAIT_BEGIN,
					     .kind = CT_K_MUTEX, .obj = 0x7f1234567890, .stack = 3 };
	n = ct_w_events(&w, 0, 1, 0, same, 1000);
	TEST_TRUE(le32(out + 24) <= 1000 * 10 + 8);
	TEST_TRUE(n < 1000);

	/* Incompressible payload: stored raw, chunk = header + raw. */
	static uint64_t noise[CT_MAX_FRAMES];
	for (unsigned i = 0; i < CT_MAX_FRAMES; i++)
		noise[i] = rnd();
	struct ct_stack ns = { .id = 9, .nframes = CT_MAX_FRAMES, .pcs = noise };
	n = ct_w_stacks(&w, 0, &ns, 1);
	TEST_EQ(out[5], CT_CODEC_RAW);
	TEST_EQ(n, CT_CHUNK_HDR_LEN + le32(out + 24));
	TEST_TRUE(le32(out + 24) <= CT_W_STACK_MAX(CT_MAX_FRAMES));

	/* Worst-case events fit exactly in the advertised bounds. */
	static struct ct_event worst[100];
	for (unsigned i = 0; i < 100; i++)
		worst[i] = (struct ct_event){ .ts = i & 1 ? 0 : 1ull << 63, .type = CT_EV_RELEASE,
			.kind = CT_K_MAX - 1, .flags = 0xffff, .stack = UINT32_MAX,
			.obj = i & 1 ? 0 : 1ull << 63, .a = UINT64_MAX, .b = UINT64_MAX,
			.c = UINT64_MAX };
	uint8_t *r2 = malloc(ct_w_raw_bound(100)), *o2 = malloc(ct_w_out_bound(ct_w_raw_bound(100)));
	struct ct_wbuf w2 = { r2, ct_w_raw_bound(100), o2, ct_w_out_bound(ct_w_raw_bound(100)), NULL };
	n = ct_w_events(&w2, 0, 1, 0, worst, 100);
	TEST_TRUE(n > 0);
	TEST_TRUE(le32(o2 + 24) <= ct_w_raw_bound(100));
	w2.raw_cap = le32(o2 + 24) - 1;
	TEST_EQ(ct_w_events(&w2, 0, 1, 0, worst, 100), -ENOSPC);
	w2.raw_cap = ct_w_raw_bound(100);
	/* out too small for a raw fallback of incompressible data */
	struct ct_wbuf w3 = { raw, sizeof(raw), out, CT_CHUNK_HDR_LEN + 10, NULL };
	TEST_EQ(ct_w_stacks(&w3, 0, &ns, 1), -ENOSPC);
	free(r2);
	free(o2);

	/* Invalid arguments. */
	struct ct_event bad = e1;
	bad.type = CT_EV_NONE;
	TEST_EQ(ct_w_events(&w, 0, 1, 0, &bad, 1), -EINVAL);
	bad.type = CT_EV_MAX;
	TEST_EQ(ct_w_events(&w, 0, 1, 0, &bad, 1), -EINVAL);
	bad = e1;
	bad.kind = CT_K_MAX;
	TEST_EQ(ct_w_events(&w, 0, 1, 0, &bad, 1), -EINVAL);
	TEST_EQ(ct_w_events(&w, 0, 1, 0, NULL, 1), -EINVAL);
	TEST_EQ(ct_w_events(NULL, 0, 1, 0, &e1, 1), -EINVAL);
	struct ct_stack bs = { .id = 0, .nframes = 1, .pcs = noise };
	TEST_EQ(ct_w_stacks(&w, 0, &bs, 1), -EINVAL);
	bs.id = 1;
	bs.nframes = CT_MAX_FRAMES + 1;
	TEST_EQ(ct_w_stacks(&w, 0, &bs, 1), -EINVAL);
	struct ct_module bm = { .lo = 2, .hi = 1 };
	TEST_EQ(ct_w_modules(&w, 0, &bm, 1), -EINVAL);
	bm.hi = 3;
	bm.build_id_len = CT_BUILD_ID_MAX + 1;
	TEST_EQ(ct_w_modules(&w, 0, &bm, 1), -EINVAL);
	struct ct_thread_state bt = { .tid = 1, .kind = CT_K_MAX };
	TEST_EQ(ct_w_threads(&w, 0, &bt, 1), -EINVAL);
	/* end_ns, 4 counters, the three lost-event causes and the untraced threads */
	TEST_EQ(ct_w_gen_end(&w, 0, 1, NULL), CT_CHUNK_HDR_LEN + 6);
}

static void test_roundtrip(void)
{
	struct trace t;
	size_t nrec, bad;
	struct ct_reader *r;

	TEST_EQ(build_big(&t), 0);
	printf("# big trace: %zu bytes, %zu chunks, %zu records\n", t.len, t.nbound, t.nexp);
	TEST_TRUE(t.nbound > 12);

	TEST_EQ(ct_reader_open_mem(t.buf, t.len, &r), 0);
	const struct ct_file_header *h = ct_reader_header(r);
	TEST_EQ(h->version_major, CT_VERSION_MAJOR);
	TEST_EQ(h->version_minor, CT_VERSION_MINOR);
	TEST_EQ(h->pid, 4242);
	TEST_EQ(h->ppid, 1);
	TEST_EQ(h->start_mono_ns, 123456789);
	TEST_TRUE(h->start_real_ns == 1700000000123456789ull);
	TEST_EQ(h->flags, 5);
	TEST_STREQ(h->exe, "test_format");
	TEST_EQ(drain(r, &t, &nrec, &bad), 0);
	TEST_EQ(nrec, t.nexp);
	TEST_EQ(bad, 0);
	TEST_EQ(ct_reader_truncated(r), 0);
	TEST_EQ(ct_reader_trailing_bytes(r), 0);
	struct ct_record rec;
	TEST_EQ(ct_reader_next(r, &rec), 0); /* stays at the end */
	ct_reader_close(r);

	/* The same through a file, with the streaming pread path. */
	char path[] = "/tmp/ct_test_format_XXXXXX";
	int fd = mkstemp(path);
	TEST_TRUE(fd >= 0);
	TEST_EQ(write(fd, t.buf, t.len), (ssize_t)t.len);
	TEST_EQ(ct_reader_open(path, &r), 0);
	if (r) {
		TEST_EQ(drain(r, &t, &nrec, &bad), 0);
		TEST_EQ(nrec, t.nexp);
		TEST_EQ(bad, 0);
		TEST_EQ(ct_reader_truncated(r), 0);
		ct_reader_close(r);
	}
	/* Cut in the middle of the last chunk's payload: truncated, trailing bytes known. */
	size_t cut = t.len - 3;
	TEST_EQ(ftruncate(fd, (off_t)cut), 0);
	TEST_EQ(ct_reader_open(path, &r), 0);
	if (r) {
		TEST_EQ(drain(r, &t, &nrec, &bad), 0);
		TEST_EQ(nrec, t.nexp - 1);
		TEST_EQ(bad, 0);
		TEST_EQ(ct_reader_truncated(r), 1);
		TEST_EQ(ct_reader_trailing_bytes(r), cut - t.bound[t.nbound - 2]);
		ct_reader_close(r);
	}
	close(fd);
	unlink(path);
	TEST_EQ(ct_reader_open(path, &r), -ENOENT);
	TEST_TRUE(r == NULL);
	TEST_TRUE(strstr(ct_reader_open_error(), path) != NULL);
	trace_free(&t);
}

/* A chunk's events at once: the same records as one at a time, for chunks decoded once
 * (the big trace's) and for one too large for that (decoded twice, handed out singly). */
static void test_batch(void)
{
	struct trace t;
	size_t nrec, bad, nbig;
	struct ct_reader *r;

	TEST_EQ(build_big(&t), 0);
	TEST_EQ(ct_reader_open_mem(t.buf, t.len, &r), 0);
	TEST_EQ(drain_batch(r, &t, &nrec, &bad, &nbig), 0);
	TEST_EQ(nrec, t.nexp);
	TEST_EQ(bad, 0);
	TEST_TRUE(nbig >= NBIG / 500);
	ct_reader_close(r);
	trace_free(&t);

	/* 70000 events in one chunk: more than the reader decodes at once */
	enum { NHUGE = 70000 };
	static struct ct_event huge[NHUGE];
	static const uint64_t lost[CT_L_MAX];
	for (unsigned i = 0; i < NHUGE; i++)
		huge[i] = big[i % NBIG];
	for (unsigned i = 0; i < NHUGE; i++)
		huge[i].ts = 1000 + i; /* any order is legal; ascending keeps it simple */
	trace_init(&t, ct_w_raw_bound(NHUGE));
	int e = gen_begin(&t, 1, 1000, 1);
	e |= events(&t, 1, 100, 0, huge, NHUGE);
	e |= gen_end(&t, 1, 2000, lost);
	TEST_EQ(e, 0);
	TEST_EQ(ct_reader_open_mem(t.buf, t.len, &r), 0);
	TEST_EQ(drain_batch(r, &t, &nrec, &bad, &nbig), 0);
	TEST_EQ(nrec, t.nexp);
	TEST_EQ(bad, 0);
	TEST_EQ(nbig, 0);
	ct_reader_close(r);
	TEST_EQ(ct_reader_open_mem(t.buf, t.len, &r), 0);
	TEST_EQ(drain(r, &t, &nrec, &bad), 0);
	TEST_EQ(nrec, NHUGE + 2);
	TEST_EQ(bad, 0);
	ct_reader_close(r);
	trace_free(&t);
}

/* Index of the last chunk boundary <= cut, or -1 when none (only the header). */
static long last_bound(const struct trace *t, size_t cut)
{
	long k = -1;
	for (size_t i = 0; i < t->nbound; i++)
		if (t->bound[i] <= cut)
			k = (long)i;
	return k;
}

static void test_truncation(void)
{
	struct trace t;
	size_t nrec, bad, fails = 0, file_fails = 0;
	struct ct_reader *r;
	char path[] = "/tmp/ct_test_trunc_XXXXXX";
	int fd = mkstemp(path);

	TEST_EQ(build_small(&t), 0);
	printf("# small trace: %zu bytes, %zu chunks, %zu records\n", t.len, t.nbound, t.nexp);
	TEST_TRUE(fd >= 0 && write(fd, t.buf, t.len) == (ssize_t)t.len);
	for (size_t cut = 0; cut <= t.len; cut++) {
		/* Exact-size copy so ASan catches any read past the cut. */
		uint8_t *b = malloc(cut ? cut : 1);
		memcpy(b, t.buf, cut);
		int rc = ct_reader_open_mem(b, cut, &r);
		if (cut < CT_HEADER_LEN) {
			if (rc != -EINVAL || r != NULL) {
				if (fails++ == 0)
					printf("# cut %zu: open gave %d\n", cut, rc);
			}
			free(b);
			continue;
		}
		long k = last_bound(&t, cut);
		size_t want_rec = k < 0 ? 0 : t.nrec[k];
		size_t at = k < 0 ? CT_HEADER_LEN : t.bound[k];
		int want_trunc = cut != at || (k >= 0 && t.open[k]);
		int last = rc == 0 ? drain(r, &t, &nrec, &bad) : -2;
		if (rc != 0 || last != 0 || nrec != want_rec || bad ||
		    ct_reader_truncated(r) != want_trunc ||
		    ct_reader_trailing_bytes(r) != cut - at) {
			if (fails++ < 3)
				printf("# cut %zu: rc %d last %d records %zu/%zu truncated %d/%d "
				       "(%s)\n", cut, rc, last, nrec, want_rec,
				       r ? ct_reader_truncated(r) : -1, want_trunc,
				       r ? ct_reader_error(r) : ct_reader_open_error());
		}
		ct_reader_close(r);
		free(b);

		/* And through the file reader, every 7th cut (and every boundary). */
		if (cut % 7 && cut != at)
			continue;
		if (ftruncate(fd, (off_t)cut) || ct_reader_open(path, &r)) {
			file_fails++;
			continue;
		}
		if (drain(r, &t, &nrec, &bad) != 0 || nrec != want_rec || bad ||
		    ct_reader_truncated(r) != want_trunc)
			file_fails++;
		ct_reader_close(r);
		if (pwrite(fd, t.buf, t.len, 0) != (ssize_t)t.len)
			file_fails++;
	}
	TEST_EQ(fails, 0);
	TEST_EQ(file_fails, 0);
	close(fd);
	unlink(path);
	trace_free(&t);
}

static void test_corruption(void)
{
	struct trace t;
	size_t nrec, bad, fails = 0, errors = 0, open_fail = 0, trunc = 0;

	TEST_EQ(build_small(&t), 0);
	uint8_t *b = malloc(t.len);
	static const uint8_t masks[] = { 0x01, 0x80, 0xff, 0x10 };
	for (size_t off = 0; off < t.len; off++) {
		for (unsigned m = 0; m < sizeof(masks); m++) {
			struct ct_reader *r;
			memcpy(b, t.buf, t.len);
			b[off] ^= masks[m];
			int rc = ct_reader_open_mem(b, t.len, &r);
			if (rc) {
				/* only header damage may fail the open */
				if (off >= CT_HEADER_LEN || (rc != -EINVAL && rc != -EPROTO))
					fails++;
				open_fail++;
				continue;
			}
			if (off < CT_HEADER_LEN) {
				fails++; /* the header checksum must catch it */
				ct_reader_close(r);
				continue;
			}
			int last = drain(r, &t, &nrec, &bad);
			/* Records handed out before the damage are exactly the originals. */
			if (bad)
				fails++;
			if (last == -1) {
				const char *msg = ct_reader_error(r);
				errors++;
				if (!strstr(msg, "offset") || strchr(msg, '\n'))
					fails++;
				if (off == 1000 && m == 0)
					printf("# example: %s\n", msg);
			} else if (last == 0 && ct_reader_truncated(r)) {
				trunc++; /* a length grown past the end of the file */
			} else {
				if (fails++ == 0)
					printf("# flip %zu^%02x: read %d, %zu records\n", off,
					       masks[m], last, nrec);
			}
			ct_reader_close(r);
		}
	}
	printf("# %zu damaged copies: %zu open failures, %zu errors, %zu truncations\n",
	       t.len * sizeof(masks), open_fail, errors, trunc);
	TEST_EQ(fails, 0);
	TEST_EQ(open_fail + errors + trunc, t.len * sizeof(masks));
	free(b);
	trace_free(&t);
}

/* The chunk index of record j of t (chunk i holds records [nrec[i-1], nrec[i])). */
static size_t chunk_of(const struct trace *t, size_t j)
{
	size_t i = 0;

	while (i < t->nbound && t->nrec[i] <= j)
		i++;
	return i;
}

/* Bytes inserted into a copy of a trace (at ins_at): offsets past them are shifted back. */
static uint64_t ins_at = UINT64_MAX, ins_len;

/* Reads b[0, len) skipping damage; counts records into *nrec and those that are not the
 * originals of the chunks kept (keep[chunk]) into *bad. Returns the last next() result. */
static int drain_kept(const uint8_t *b, size_t len, const struct trace *t, const int *keep,
		      size_t *nrec, size_t *bad, uint64_t *ndamaged, uint64_t *dmg_off,
		      int *trunc)
{
	struct ct_reader *r;
	struct ct_record rec;
	size_t j = 0;
	int rc;

	*nrec = *bad = 0;
	if (ct_reader_open_mem(b, len, &r))
		return -2;
	ct_reader_skip_damaged(r, 1);
	while ((rc = ct_reader_next(r, &rec)) == 1) {
		while (j < t->nexp && !keep[chunk_of(t, j)])
			j++;
		if (rec.offset >= ins_at)
			rec.offset -= ins_len;
		const char *why = j < t->nexp ? mismatch(&rec, &t->exp[j]) : "extra";
		if (why && (*bad)++ == 0)
			printf("# record %zu: %s differs\n", *nrec, why);
		j++;
		(*nrec)++;
	}
	*ndamaged = ct_reader_damaged(r);
	(void)ct_reader_damage(r, dmg_off);
	*trunc = ct_reader_truncated(r);
	if (*ndamaged && !strstr(ct_reader_damage(r, NULL), "byte offset"))
		(*bad)++;
	ct_reader_close(r);
	return rc;
}

/* Skipping damage: every byte of every chunk flipped in turn costs exactly that chunk (its
 * generation for a GEN_BEGIN), counted once with the chunk's offset; the records of the
 * other chunks come out unchanged; two damaged chunks count twice. */
static void test_skip_damaged(void)
{
	struct trace t;
	size_t fails = 0, tried = 0;

	TEST_EQ(build_small(&t), 0);
	uint8_t *b = malloc(t.len);
	int keep[64];
	TEST_TRUE(t.nbound <= 64);
	for (size_t k = 0; k < t.nbound; k++) {
		size_t from = k ? t.bound[k - 1] : CT_HEADER_LEN;
		int want_trunc = k == t.nbound - 1; /* the last GEN_END */

		for (size_t i = 0; i < t.nbound; i++)
			keep[i] = i != k;
		if (t.buf[from + 4] == CT_CH_GEN_BEGIN)
			for (size_t i = k + 1; i < t.nbound && t.buf[(i ? t.bound[i - 1] :
				     CT_HEADER_LEN) + 4] != CT_CH_GEN_BEGIN; i++)
				keep[i] = 0;
		for (size_t off = from; off < t.bound[k]; off++) {
			size_t nrec, bad, want = 0;
			uint64_t nd, doff;
			int trunc;

			memcpy(b, t.buf, t.len);
			b[off] ^= 0x01;
			for (size_t j = 0; j < t.nexp; j++)
				want += keep[chunk_of(&t, j)];
			int rc = drain_kept(b, t.len, &t, keep, &nrec, &bad, &nd, &doff, &trunc);
			tried++;
			/* a length grown past the end of the last chunk is truncation */
			if (want_trunc && nd == 0 && trunc && rc == 0 && !bad && nrec == want)
				continue;
			if (rc != 0 || bad || nrec != want || nd != 1 || doff != from ||
			    trunc != want_trunc) {
				if (fails++ < 3)
					printf("# chunk %zu byte %zu: rc %d records %zu/%zu bad %zu "
					       "damaged %llu at %llu (want %zu) truncated %d\n", k,
					       off, rc, nrec, want, bad, (unsigned long long)nd,
					       (unsigned long long)doff, from, trunc);
			}
		}
	}
	printf("# %zu single flips read past\n", tried);
	TEST_EQ(fails, 0);

	/* two events chunks damaged: two stretches, the first one's offset */
	{
		size_t nrec, bad, want = 0;
		uint64_t nd, doff;
		int trunc;

		memcpy(b, t.buf, t.len);
		for (size_t i = 0; i < t.nbound; i++)
			keep[i] = i != 3 && i != 8;
		b[t.bound[2] + 40] ^= 0x80;
		b[t.bound[7] + 40] ^= 0x80;
		for (size_t j = 0; j < t.nexp; j++)
			want += keep[chunk_of(&t, j)];
		TEST_EQ(t.buf[t.bound[2] + 4], CT_CH_EVENTS);
		TEST_EQ(t.buf[t.bound[7] + 4], CT_CH_EVENTS);
		TEST_EQ(drain_kept(b, t.len, &t, keep, &nrec, &bad, &nd, &doff, &trunc), 0);
		TEST_EQ(nrec, want);
		TEST_EQ(bad, 0);
		TEST_EQ(nd, 2);
		TEST_EQ(doff, t.bound[2]);
		TEST_EQ(trunc, 0);
	}
	/* garbage between two chunks: one stretch, nothing lost */
	{
		size_t nrec, bad, want = 0;
		uint64_t nd, doff;
		int trunc;
		size_t at = t.bound[4], len = t.len + 100;
		uint8_t *g = malloc(len);

		memcpy(g, t.buf, at);
		memset(g + at, 0x43, 100); /* 'C': near the magic, never it */
		memcpy(g + at + 100, t.buf + at, t.len - at);
		for (size_t i = 0; i < t.nbound; i++)
			keep[i] = 1;
		for (size_t j = 0; j < t.nexp; j++)
			want += keep[chunk_of(&t, j)];
		ins_at = at + 100;
		ins_len = 100;
		TEST_EQ(drain_kept(g, len, &t, keep, &nrec, &bad, &nd, &doff, &trunc), 0);
		ins_at = UINT64_MAX;
		TEST_EQ(nrec, want);
		TEST_EQ(bad, 0);
		TEST_EQ(nd, 1);
		TEST_EQ(doff, at);
		free(g);
	}
	free(b);
	trace_free(&t);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned j = 0; j < 4; j++)
		p[j] = (uint8_t)(v >> (8 * j));
}

/* Recomputes the header and chunk checksums of a damaged trace, so that the damage gets
 * past them into the length checks, LZ4 and the payload decoders. */
static void fix_checksums(uint8_t *b, size_t len)
{
	if (len < CT_HEADER_LEN)
		return;
	put32(b + CT_HEADER_LEN - 4, ct_crc32(0, b, CT_HEADER_LEN - 4));
	for (size_t off = CT_HEADER_LEN; off + CT_CHUNK_HDR_LEN <= len;) {
		uint32_t comp = le32(b + off + 28);
		if (comp > len - off - CT_CHUNK_HDR_LEN)
			break;
		uint32_t crc = ct_crc32(ct_crc32(0, b + off, 32), b + off + CT_CHUNK_HDR_LEN, comp);
		put32(b + off + 32, crc);
		off += CT_CHUNK_HDR_LEN + comp;
	}
}

/* Random multi-byte damage and cuts of the big trace, half of them with checksums fixed
 * up: no crash, no leak (ASan), no hang, and only -1 with an offset or 0. */
static void test_random_damage(void)
{
	struct trace t;
	size_t fails = 0, deep = 0, clean = 0;

	TEST_EQ(build_big(&t), 0);
	for (unsigned it = 0; it < 2000; it++) {
		size_t len = t.len;
		uint8_t *b = malloc(len);
		memcpy(b, t.buf, len);
		unsigned nflip = 1 + (unsigned)(rnd() % 8);
		for (unsigned i = 0; i < nflip; i++) {
			size_t off = CT_HEADER_LEN + rnd() % (len - CT_HEADER_LEN);
			b[off] = (uint8_t)rnd();
		}
		if (it % 3 == 0)
			len = CT_HEADER_LEN + rnd() % (len - CT_HEADER_LEN);
		if (it & 1)
			fix_checksums(b, len);
		struct ct_reader *r;
		if (ct_reader_open_mem(b, len, &r) == 0) {
			struct ct_record rec;
			int rc;
			size_t n = 0;
			while ((rc = ct_reader_next(r, &rec)) == 1)
				n++;
			if (rc == -1 && !strstr(ct_reader_error(r), "offset"))
				fails++;
			if (rc == -1 && !strstr(ct_reader_error(r), "checksum"))
				deep++;
			else if (rc == 0)
				clean++;
			if (rc != -1 && rc != 0)
				fails++;
			ct_reader_close(r);
		} else {
			fails++;
		}
		free(b);
	}
	printf("# random damage: %zu errors past the checksums, %zu reads ended cleanly\n",
	       deep, clean);
	TEST_EQ(fails, 0);
	TEST_TRUE(deep > 0);
	trace_free(&t);
}

/* ---- hand-made chunks: valid checksums around invalid contents */

static size_t mk_chunk(uint8_t *out, unsigned kind, unsigned codec, uint32_t gen, uint32_t tid,
		       uint32_t count, const void *payload, uint32_t len, uint32_t raw_len)
{
	memset(out, 0, CT_CHUNK_HDR_LEN);
	uint32_t v[] = { CT_CHUNK_MAGIC, 0, gen, tid, 0, count, raw_len, len };
	for (unsigned i = 0; i < 8; i++)
		for (unsigned j = 0; j < 4; j++)
			out[4 * i + j] = (uint8_t)(v[i] >> (8 * j));
	out[4] = (uint8_t)kind;
	out[5] = (uint8_t)codec;
	memcpy(out + CT_CHUNK_HDR_LEN, payload, len);
	uint32_t crc = ct_crc32(ct_crc32(0, out, 32), out + CT_CHUNK_HDR_LEN, len);
	for (unsigned j = 0; j < 4; j++)
		out[32 + j] = (uint8_t)(crc >> (8 * j));
	return CT_CHUNK_HDR_LEN + len;
}

/* Reads header + [GEN_BEGIN 1] + the given chunk; returns the final next() result and
 * copies the error message. minor: the header's minor version. */
/* A file of version major.minor with one chunk (after a GEN_BEGIN if with_gen), read
 * whole: the reader's result, the records read and its message ("T": truncated). */
static int try_chunk_v(unsigned major, unsigned minor, int with_gen, unsigned kind,
		       unsigned codec, uint32_t gen, uint32_t count, const void *payload,
		       uint32_t len, uint32_t raw_len, size_t *nrec, char *msg, size_t msglen)
{
	static uint8_t buf[1 << 16];
	struct ct_file_header h = { .pid = 1 };
	size_t n = (size_t)ct_w_header(buf, sizeof(buf), &h);
	buf[8] = (uint8_t)major;
	buf[10] = (uint8_t)minor;
	uint32_t crc = ct_crc32(0, buf, CT_HEADER_LEN - 4);
	for (unsigned j = 0; j < 4; j++)
		buf[CT_HEADER_LEN - 4 + j] = (uint8_t)(crc >> (8 * j));
	if (with_gen) {
		static const uint8_t gb[] = { 1, 2 };
		n += mk_chunk(buf + n, CT_CH_GEN_BEGIN, CT_CODEC_RAW, 1, 0, 1, gb, 2, 2);
	}
	n += mk_chunk(buf + n, kind, codec, gen, 5, count, payload, len, raw_len);
	struct ct_reader *r;
	struct ct_record rec;
	int rc = ct_reader_open_mem(buf, n, &r);
	*nrec = 0;
	msg[0] = 0;
	if (rc)
		return -100 + rc;
	while ((rc = ct_reader_next(r, &rec)) == 1)
		(*nrec)++;
	snprintf(msg, msglen, "%s", rc ? ct_reader_error(r) : (ct_reader_truncated(r) ? "T" : ""));
	ct_reader_close(r);
	return rc;
}

/* The hand-made EVENTS payloads below have the layout of format 1: a 1.minor file. */
static int try_chunk(unsigned minor, int with_gen, unsigned kind, unsigned codec, uint32_t gen,
		     uint32_t count, const void *payload, uint32_t len, uint32_t raw_len,
		     size_t *nrec, char *msg, size_t msglen)
{
	return try_chunk_v(1, minor, with_gen, kind, codec, gen, count, payload, len, raw_len,
			   nrec, msg, msglen);
}

/* A damaged last chunk, skipped, is not handed out after ct_reader_resume either (a file
 * being followed): its entries decoded before the damage showed are not records. */
static void test_resume_after_damage(void)
{
	static uint8_t buf[4096];
	static const uint8_t gb[] = { 1, 2 };
	/* one good format-1 event, then two bytes too many */
	static const uint8_t ev[] = { 1, 1, 0, 2, 0, 0, 0, 0, 0, 5, 5 };
	struct ct_file_header h = { .pid = 1 };
	size_t n = (size_t)ct_w_header(buf, sizeof(buf), &h);
	buf[8] = 1;
	buf[10] = 2;
	uint32_t crc = ct_crc32(0, buf, CT_HEADER_LEN - 4);
	for (unsigned j = 0; j < 4; j++)
		buf[CT_HEADER_LEN - 4 + j] = (uint8_t)(crc >> (8 * j));
	n += mk_chunk(buf + n, CT_CH_GEN_BEGIN, CT_CODEC_RAW, 1, 0, 1, gb, 2, 2);
	n += mk_chunk(buf + n, CT_CH_EVENTS, CT_CODEC_RAW, 1, 5, 1, ev, sizeof(ev), sizeof(ev));

	char path[] = "/tmp/ct_test_format_XXXXXX";
	int fd = mkstemp(path);
	TEST_TRUE(fd >= 0);
	TEST_EQ(write(fd, buf, n), (ssize_t)n);
	struct ct_reader *r;
	struct ct_record rec;
	TEST_EQ(ct_reader_open(path, &r), 0);
	if (r) {
		ct_reader_skip_damaged(r, 1);
		TEST_EQ(ct_reader_next(r, &rec), 1);
		TEST_EQ(rec.type, CT_REC_GEN_BEGIN);
		TEST_EQ(ct_reader_next(r, &rec), 0);
		TEST_EQ(ct_reader_damaged(r), 1);
		TEST_EQ(ct_reader_resume(r), 0);
		TEST_EQ(ct_reader_next(r, &rec), 0);
		ct_reader_close(r);
	}
	close(fd);
	unlink(path);
}

static void test_invalid_contents(void)
{
	char msg[256];
	size_t nrec;
	int rc;
#define BAD(minor, gen_, kind, codec, gen, count, pl, len, raw, frag) do { \
	rc = try_chunk(minor, gen_, kind, codec, gen, count, pl, len, raw, &nrec, msg, sizeof(msg)); \
	TEST_EQ(rc, -1); \
	TAP_OK(strstr(msg, frag) && strstr(msg, (gen_) ? "offset 166:" : "offset 128:"), \
	       "message \"%s\" names \"%s\"", msg, frag); \
} while (0)

	/* event: type 1, kind 1, flags 0, ts 1, stack 0, obj 0, a, b, c */
	static const uint8_t ev[] = { 1, 1, 0, 2, 0, 0, 0, 0, 0 };
	rc = try_chunk(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev, 9, 9, &nrec, msg, sizeof(msg));
	TEST_EQ(rc, 0);
	TEST_EQ(nrec, 2);
	TEST_STREQ(msg, "T"); /* generation 1 never ended */

	static const uint8_t ev_run[] = { 1, 1, 0, 2, 0, 0, 0, 0, 0x80 };
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev_run, 9, 9, "varint runs past");
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev, 8, 8, "cannot fit");
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 2, ev, 9, 9, "entries cannot fit");
	uint8_t ev2[18];
	memcpy(ev2, ev, 9);
	memcpy(ev2 + 9, ev, 9);
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev2, 18, 18, "bytes after the last entry");
	uint8_t evt[9];
	memcpy(evt, ev, 9);
	evt[0] = CT_EV_MAX;
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, evt, 9, 9, "unknown event type");
	/* ... but in a file of a newer minor version, such an event is skipped. */
	rc = try_chunk(CT_VERSION_1_MINOR + 1, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, evt, 9, 9,
		       &nrec, msg, sizeof(msg));
	TEST_EQ(rc, 0);
	TEST_EQ(nrec, 1);
	evt[0] = 1;
	evt[1] = CT_K_MAX;
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, evt, 9, 9, "unknown wait kind");
	/* the OpenMP kinds came with 1.2: corrupt in a 1.1 file, read from 1.2 on */
	evt[1] = CT_K_OMP_BARRIER;
	BAD(1, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, evt, 9, 9, "unknown wait kind");
	rc = try_chunk(2, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, evt, 9, 9, &nrec, msg,
		       sizeof(msg));
	TEST_EQ(rc, 0);
	TEST_EQ(nrec, 2);
	static const uint8_t ev_long[] = { 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0x7f, 0, 0, 0, 0, 0 };
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev_long, 18, 18, "longer than 64 bits");
	static const uint8_t ev_flags[] = { 1, 1, 0x80, 0x80, 0x04, 0, 0, 0, 0, 0, 0 };
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev_flags, 11, 11, "flags out of range");
	static const uint8_t ev_stk[] = { 1, 1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 0 };
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev_stk, 13, 13, "out of range");

	/* chunk outside its generation, generation rules */
	BAD(0, 0, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev, 9, 9, "outside");
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 2, 1, ev, 9, 9, "outside");
	static const uint8_t gb[] = { 1, 2 };
	BAD(0, 1, CT_CH_GEN_BEGIN, CT_CODEC_RAW, 2, 1, gb, 2, 2, "begins inside");
	BAD(0, 0, CT_CH_GEN_BEGIN, CT_CODEC_RAW, 1, 2, gb, 2, 2, "2 entries");

	/* stacks: too deep, id 0 */
	static const uint8_t st_deep[] = { 1, 0x81, 0x01, 0 };
	BAD(0, 1, CT_CH_STACKS, CT_CODEC_RAW, 1, 1, st_deep, 4, 4, "deeper");
	static const uint8_t st0[] = { 0, 0, 0 };
	BAD(0, 1, CT_CH_STACKS, CT_CODEC_RAW, 1, 1, st0, 3, 3, "stack id 0");
	/* modules: build id too long, path too long, NUL in path */
	static const uint8_t md_bid[] = { 0, 0, 0, 21, 0, 0 };
	BAD(0, 1, CT_CH_MODULES, CT_CODEC_RAW, 1, 1, md_bid, 6, 6, "build-id");
	static const uint8_t md_path[] = { 0, 0, 0, 0, 0, 0x81, 0x20 };
	BAD(0, 1, CT_CH_MODULES, CT_CODEC_RAW, 1, 1, md_path, 7, 7, "path longer");
	static const uint8_t md_nul[] = { 0, 0, 0, 0, 0, 2, 'a', 0 };
	BAD(0, 1, CT_CH_MODULES, CT_CODEC_RAW, 1, 1, md_nul, 8, 8, "NUL");
	static const uint8_t md_wrap[] = { 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0x01, 0, 0, 0 };
	BAD(0, 1, CT_CH_MODULES, CT_CODEC_RAW, 1, 1, md_wrap, 15, 15, "wraps");
	/* threads: name too long, bad kind */
	static const uint8_t th_name[] = { 1, 0, 0, 17, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
		'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 0, 0, 0, 0, 0, 0 };
	BAD(0, 1, CT_CH_THREADS, CT_CODEC_RAW, 1, 1, th_name, sizeof(th_name), sizeof(th_name),
	    "name longer");
	static const uint8_t th_kind[] = { 1, 0, 0, 0, 1, CT_K_MAX, 0, 0, 0, 0 };
	BAD(0, 1, CT_CH_THREADS, CT_CODEC_RAW, 1, 1, th_kind, 10, 10, "kind");
	/* gen_end: absurd cause count */
	static const uint8_t ge[] = { 1, 65, 0 };
	BAD(0, 1, CT_CH_GEN_END, CT_CODEC_RAW, 1, 1, ge, 3, 3, "causes");

	/* lengths and codecs */
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev, 9, 10, "stored length");
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_MAX, 1, 1, ev, 9, 9, "codec");
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, ev, 9, CT_CHUNK_MAX_RAW + 1, "raw length");
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_LZ4, 1, 1, ev, 9, 9, "lz4");   /* not lz4 data */
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_LZ4, 1, 1, ev, 9, 0, "lz4");
	BAD(0, 1, 0, CT_CODEC_RAW, 1, 1, ev, 9, 9, "kind 0");
	/* valid lz4 that decodes to fewer bytes than raw_len claims */
	char lz[64];
	int lzn = LZ4_compress_default((const char *)ev, lz, 9, sizeof(lz));
	BAD(0, 1, CT_CH_EVENTS, CT_CODEC_LZ4, 1, 1, lz, (uint32_t)lzn, 10, "decode to 10");
	rc = try_chunk(0, 1, CT_CH_EVENTS, CT_CODEC_LZ4, 1, 1, lz, (uint32_t)lzn, 9, &nrec, msg,
		       sizeof(msg));
	TEST_EQ(rc, 0);
	TEST_EQ(nrec, 2);

	/* an unknown chunk kind with a good checksum is skipped */
	rc = try_chunk(0, 1, 200, CT_CODEC_RAW, 1, 1, "whatever", 8, 8, &nrec, msg, sizeof(msg));
	TEST_EQ(rc, 0);
	TEST_EQ(nrec, 1);
#undef BAD
}

/* Format 2's EVENTS payload (FORMAT.md section 5.2): the field stream's length, the field
 * stream (type, mask, the fields the mask names), the timestamp stream. */
static void test_invalid_events2(void)
{
	char msg[256];
	size_t nrec;
	int rc;
#define BAD2(count, pl, frag) do { \
	rc = try_chunk_v(CT_VERSION_MAJOR, CT_VERSION_MINOR, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, \
			 (count), (pl), sizeof(pl), sizeof(pl), &nrec, msg, sizeof(msg)); \
	TEST_EQ(rc, -1); \
	TAP_OK(strstr(msg, frag) && strstr(msg, "offset 166:"), "message \"%s\" names \"%s\"", \
	       msg, frag); \
} while (0)
	/* two WAIT_BEGINs of a cond: the first gives kind, stack, obj (zz 128: 64) and b
	 * (zz 8: 4), the second only b (zz 4: +2), the rest predicted; timestamps zz 2000
	 * (1000) then zz 1000 (+500) */
	static const uint8_t ok[] = { 10,
		CT_EV_WAIT_BEGIN, CT_EVM_KIND | CT_EVM_STACK | CT_EVM_OBJ | CT_EVM_B, CT_K_COND, 3,
		0x80, 0x01, 8,
		CT_EV_WAIT_BEGIN, CT_EVM_B, 4,
		0xd0, 0x0f, 0xe8, 0x07 };
	struct ct_reader *r;
	struct ct_record rec;
	uint8_t buf[512];
	struct ct_file_header h = { .pid = 1 };
	size_t n = (size_t)ct_w_header(buf, sizeof(buf), &h);
	static const uint8_t gb[] = { 1, 2 };
	n += mk_chunk(buf + n, CT_CH_GEN_BEGIN, CT_CODEC_RAW, 1, 0, 1, gb, 2, 2);
	n += mk_chunk(buf + n, CT_CH_EVENTS, CT_CODEC_RAW, 1, 5, 2, ok, sizeof(ok), sizeof(ok));
	TEST_EQ(ct_reader_open_mem(buf, n, &r), 0);
	TEST_EQ(ct_reader_next(r, &rec), 1); /* GEN_BEGIN */
	TEST_EQ(ct_reader_next(r, &rec), 1);
	TEST_EQ(rec.ev.type, CT_EV_WAIT_BEGIN);
	TEST_EQ(rec.ev.kind, CT_K_COND);
	TEST_EQ(rec.ev.stack, 3);
	TEST_EQ(rec.ev.obj, 64);
	TEST_EQ(rec.ev.b, 4);
	TEST_EQ(rec.ev.ts, 1000);
	TEST_EQ(ct_reader_next(r, &rec), 1);
	TEST_EQ(rec.ev.kind, CT_K_COND); /* predicted */
	TEST_EQ(rec.ev.stack, 3);
	TEST_EQ(rec.ev.obj, 64);
	TEST_EQ(rec.ev.b, 6);            /* 4 + zz(4) = 4 + 2 */
	TEST_EQ(rec.ev.ts, 1500);
	TEST_EQ(ct_reader_next(r, &rec), 0);
	ct_reader_close(r);

	static const uint8_t mask7[] = { 3, CT_EV_WAIT_END, 0x80, 0, 0 };
	BAD2(1, mask7, "reserved event mask bit");
	static const uint8_t flen[] = { 9, CT_EV_WAIT_END, 0, 0 };
	BAD2(1, flen, "field stream longer than the payload");
	static const uint8_t ts_short[] = { 2, CT_EV_WAIT_END, 0, 0x80 };
	BAD2(1, ts_short, "runs past");
	static const uint8_t ts_extra[] = { 2, CT_EV_WAIT_END, 0, 0, 0 };
	BAD2(1, ts_extra, "bytes after the last entry");
	static const uint8_t f_extra[] = { 3, CT_EV_WAIT_END, 0, 0, 0 };
	BAD2(1, f_extra, "bytes after the last entry");
	static const uint8_t fld_short[] = { 2, CT_EV_WAIT_END, CT_EVM_A, 0 };
	BAD2(1, fld_short, "EVENTS entry 0");
	static const uint8_t type0[] = { 2, 0, 0, 0 };
	BAD2(1, type0, "unknown event type");
	static const uint8_t kind_bad[] = { 3, CT_EV_WAIT_END, CT_EVM_KIND, CT_K_MAX, 0 };
	BAD2(1, kind_bad, "unknown wait kind");
	static const uint8_t few[] = { 2, CT_EV_WAIT_END, 0, 0 };
	BAD2(2, few, "cannot fit");
	/* in a file of a later 2.x, an unknown type is skipped */
	static const uint8_t newer[] = { 2, CT_EV_MAX, 0, 0 };
	rc = try_chunk_v(CT_VERSION_MAJOR, CT_VERSION_MINOR + 1, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1,
			 1, newer, sizeof(newer), sizeof(newer), &nrec, msg, sizeof(msg));
	TEST_EQ(rc, 0);
	TEST_EQ(nrec, 1);
	/* a major version this reader does not know */
	rc = try_chunk_v(CT_VERSION_MAJOR + 1, 0, 1, CT_CH_EVENTS, CT_CODEC_RAW, 1, 1, newer,
			 sizeof(newer), sizeof(newer), &nrec, msg, sizeof(msg));
	TEST_TRUE(rc < -100);
#undef BAD2
}

static void test_open_errors(void)
{
	struct ct_reader *r = (struct ct_reader *)1;
	struct trace t;

	TEST_EQ(build_small(&t), 0);
	uint8_t *b = malloc(t.len);

	memcpy(b, t.buf, t.len);
	b[1] = 'X';
	TEST_EQ(ct_reader_open_mem(b, t.len, &r), -EINVAL);
	TEST_TRUE(r == NULL);
	TEST_TRUE(strstr(ct_reader_open_error(), "bad magic") != NULL);
	TEST_TRUE(strstr(ct_reader_open_error(), "offset 0") != NULL);

	TEST_EQ(ct_reader_open_mem("hello world, this is text", 25, &r), -EINVAL);
	TEST_EQ(ct_reader_open_mem(NULL, 0, &r), -EINVAL);
	TEST_TRUE(strstr(ct_reader_open_error(), "empty") != NULL);

	memcpy(b, t.buf, t.len);
	b[8] = CT_VERSION_MAJOR + 1; /* a major version after this reader's */
	TEST_EQ(ct_reader_open_mem(b, t.len, &r), -EPROTO);
	char want[32];
	snprintf(want, sizeof(want), "version %d.%d", CT_VERSION_MAJOR + 1, CT_VERSION_MINOR);
	TEST_TRUE(strstr(ct_reader_open_error(), want) != NULL);

	memcpy(b, t.buf, t.len);
	b[50] ^= 1; /* inside exe: header checksum */
	TEST_EQ(ct_reader_open_mem(b, t.len, &r), -EINVAL);
	TEST_TRUE(strstr(ct_reader_open_error(), "checksum") != NULL);

	memcpy(b, t.buf, t.len);
	b[12] = 7; /* header_len 7 */
	TEST_EQ(ct_reader_open_mem(b, t.len, &r), -EINVAL);
	TEST_TRUE(strstr(ct_reader_open_error(), "header length") != NULL);

	TEST_EQ(ct_reader_open_mem(t.buf, 100, &r), -EINVAL);
	TEST_TRUE(strstr(ct_reader_open_error(), "truncated") != NULL);

	/* A longer header (a future minor version's) is accepted and skipped. */
	size_t hl = 200;
	uint8_t *big_hdr = calloc(1, t.len + hl);
	memcpy(big_hdr, t.buf, CT_HEADER_LEN - 4);
	big_hdr[12] = (uint8_t)hl;
	uint32_t crc = ct_crc32(0, big_hdr, hl - 4);
	for (unsigned j = 0; j < 4; j++)
		big_hdr[hl - 4 + j] = (uint8_t)(crc >> (8 * j));
	memcpy(big_hdr + hl, t.buf + CT_HEADER_LEN, t.len - CT_HEADER_LEN);
	size_t nrec = 0;
	TEST_EQ(ct_reader_open_mem(big_hdr, t.len - CT_HEADER_LEN + hl, &r), 0);
	if (r) {
		struct ct_record rec;
		int rc;
		while ((rc = ct_reader_next(r, &rec)) == 1)
			nrec++;
		TEST_EQ(rc, 0);
		TEST_EQ(nrec, t.nexp);
		ct_reader_close(r);
	}
	free(big_hdr);
	free(b);
	trace_free(&t);
}

int main(void)
{
	make_data();
	test_events_h();
	test_names();
	test_crc();
	test_encoders();
	test_roundtrip();
	test_batch();
	test_truncation();
	test_corruption();
	test_skip_damaged();
	test_random_damage();
	test_invalid_contents();
	test_resume_after_damage();
	test_invalid_events2();
	test_open_errors();
	return tap_done();
}
