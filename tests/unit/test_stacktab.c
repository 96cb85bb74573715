/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the record path's stack table (preload/stacktab.c): deduplication into
 * dense ids, the lookup the writer makes, one-frame site stacks, flags kept apart, inserts
 * racing from several threads, a full table (id 0, counted), the fork-child cleanup of
 * half-done inserts, and the per-thread stack cache in front of the unwinder on real
 * stacks: hits, two different chains with the same key, a dlclose. The file is compiled
 * in here with the unwinder replaced by stubs (set PCs, or libgcc's real walk), so no
 * preload is involved. TAP output (tap.h).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unwind.h>

#include "tap.h"
#include "../../preload/stacktab.c"

/* ---- what stacktab.c needs from the rest of the preload */

atomic_uint_least64_t ct_lost[CT_L_MAX];
CT_TLS struct ct_tls ct_tls;
CT_TLS int ct_in_signal;
CT_TLS int ct_sandboxed;
atomic_int ct_sandbox_all;
atomic_int ct_sys_inflight;
atomic_int ct_sys_closing;
atomic_uint ct_capture_gen;
struct ct_config ct_cfg = { .max_threads = 2 };
static struct ct_thread slots_tab[2];
struct ct_thread *ct_threads = slots_tab;

/* tables.c's, without the bookkeeping */
void *ct_map(size_t n, size_t size, unsigned flags)
{
	(void)flags;
	void *p = mmap(NULL, n * size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static __thread const uint64_t *stub_pcs;
static __thread int stub_n;
static __thread unsigned stub_trunc;
static int real_walk;          /* ct_capture walks the real stack (the cache tests) */
static unsigned real_captures; /* how often it did */

struct walk {
	uint64_t *ips, *cfas;
	int n, max;
};

static _Unwind_Reason_Code walk_cb(struct _Unwind_Context *ctx, void *data)
{
	struct walk *w = data;
	if (w->n >= w->max)
		return _URC_END_OF_STACK;
	w->ips[w->n] = _Unwind_GetIP(ctx);
	if (w->cfas)
		w->cfas[w->n] = _Unwind_GetCFA(ctx);
	w->n++;
	return _URC_NO_REASON;
}

int ct_capture_frames(uint64_t *ips, uint64_t *cfas, int max)
{
	struct walk w = { ips, cfas, 0, max };
	_Unwind_Backtrace(walk_cb, &w);
	return w.n;
}

int ct_capture_is_self(uint64_t pc)
{
	return pc == 0;
}

static int in_stack_here(uint64_t pc)
{
	return pc >= (uint64_t)(uintptr_t)ct_stack_here &&
	       pc < (uint64_t)(uintptr_t)ct_stack_here + 2048;
}

int ct_capture(uint64_t *pcs, unsigned *truncated)
{
	if (real_walk) {
		/* what the real capture gives: the frames past ct_stack_here's */
		uint64_t ips[64];
		int m = ct_capture_frames(ips, NULL, 64), out = 0, start = m;
		real_captures++;
		for (int i = 0; i < m && start == m; i++)
			if (in_stack_here(ips[i]))
				start = i + 1;
		for (int i = start; i < m; i++)
			if (ips[i])
				pcs[out++] = ips[i];
		*truncated = 0;
		return out;
	}
	memcpy(pcs, stub_pcs, sizeof(uint64_t) * (size_t)stub_n);
	*truncated = stub_trunc;
	return stub_n;
}

static uint32_t capture(const uint64_t *pcs, int n, unsigned trunc)
{
	stub_pcs = pcs;
	stub_n = n;
	stub_trunc = trunc;
	return ct_stack_here();
}

static int same_stack(uint32_t id, const uint64_t *pcs, int n, unsigned flags)
{
	struct ct_stack st;
	return ct_stack_get(id, &st) == 0 && st.id == id && st.nframes == n &&
	       st.flags == flags && memcmp(st.pcs, pcs, sizeof(uint64_t) * (size_t)n) == 0;
}

static void test_dedup(void)
{
	const uint64_t a[] = { 0x401000, 0x402000, 0x403000 };
	const uint64_t b[] = { 0x401000, 0x402000, 0x403001 };
	const uint64_t a2[] = { 0x401000, 0x402000 };

	uint32_t ia = capture(a, 3, 0), ib = capture(b, 3, 0), ia2 = capture(a2, 2, 0);
	TEST_EQ(ia, 1); /* ids are dense, from 1 */
	TEST_EQ(ib, 2);
	TEST_EQ(ia2, 3);
	TEST_EQ(capture(a, 3, 0), ia);
	TEST_EQ(capture(b, 3, 0), ib);
	TEST_EQ(capture(a2, 2, 0), ia2);
	/* the same PCs cut at the depth limit are another stack */
	uint32_t it = capture(a, 3, 1);
	TEST_TRUE(it != ia && it != 0);
	TEST_TRUE(same_stack(ia, a, 3, 0));
	TEST_TRUE(same_stack(it, a, 3, CT_STACKF_TRUNCATED));
	TEST_TRUE(same_stack(ib, b, 3, 0));
	TEST_EQ(ct_stacks_count(), it + 1);

	/* a one-frame site stack is not the unwound stack of the same single PC */
	const uint64_t one[] = { 0x401000 };
	uint32_t is = ct_stack_site(0x401000), iu = capture(one, 1, 0);
	TEST_TRUE(is != 0 && iu != 0 && is != iu);
	TEST_EQ(ct_stack_site(0x401000), is);
	TEST_TRUE(same_stack(is, one, 1, CT_STACKF_SITE));
	TEST_EQ(ct_stack_site(0), 0);

	/* no frames, unknown ids */
	TEST_EQ(capture(a, 0, 0), 0);
	struct ct_stack st;
	TEST_EQ(ct_stack_get(0, &st), -1);
	TEST_EQ(ct_stack_get(ct_stacks_count(), &st), -1);
	TEST_EQ(ct_stack_get(UINT32_MAX, &st), -1);
}

/* ---- inserts racing: every thread must get one id per distinct stack */

#define RACE_THREADS 4
#define RACE_STACKS 2000

static uint32_t race_ids[RACE_THREADS][RACE_STACKS];
static pthread_barrier_t race_go;

static void *race(void *arg)
{
	static const int step[RACE_THREADS] = { 1, 3, 7, 11 }; /* coprime to RACE_STACKS */
	int me = (int)(intptr_t)arg;
	pthread_barrier_wait(&race_go);
	for (int k = 0; k < RACE_STACKS; k++) {
		/* each thread walks all the stacks, in its own order */
		int i = (k * step[me]) % RACE_STACKS;
		uint64_t pcs[4] = { 0x500000, 0x600000 + (uint64_t)i, 0x700000, (uint64_t)i };
		race_ids[me][i] = capture(pcs, 4, 0);
	}
	return NULL;
}

static void test_race(void)
{
	pthread_t t[RACE_THREADS];
	uint32_t before = ct_stacks_count();
	uint64_t lost0 = atomic_load(&ct_lost[CT_L_NOSTACK]);
	pthread_barrier_init(&race_go, NULL, RACE_THREADS);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_create(&t[i], NULL, race, (void *)(intptr_t)i);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	/* A thread that finds another inserting the same stack waits for its id a bounded
	 * time (the record path never blocks): on a loaded machine, with the inserter
	 * preempted that long, it gives the stack up (id 0, counted). The inserter itself
	 * always gets the id, so each stack has one, and every other thread has it or 0. */
	int agree = 1, nonzero = 1, right = 1;
	uint64_t zeros = 0;
	for (int i = 0; i < RACE_STACKS; i++) {
		uint64_t pcs[4] = { 0x500000, 0x600000 + (uint64_t)i, 0x700000, (uint64_t)i };
		uint32_t id = 0;
		for (int k = 0; k < RACE_THREADS; k++)
			if (race_ids[k][i])
				id = race_ids[k][i];
		for (int k = 0; k < RACE_THREADS; k++) {
			agree &= race_ids[k][i] == id || race_ids[k][i] == 0;
			zeros += race_ids[k][i] == 0;
		}
		nonzero &= id != 0;
		right &= same_stack(id, pcs, 4, 0);
	}
	TEST_TRUE(agree);
	TEST_TRUE(nonzero);
	TEST_TRUE(right);
	TEST_EQ(ct_stacks_count() - before, RACE_STACKS);
	TEST_EQ(atomic_load(&ct_lost[CT_L_NOSTACK]) - lost0, zeros);
	if (zeros)
		printf("# %llu of %d lookups gave up waiting for a preempted inserter\n",
		       (unsigned long long)zeros, RACE_THREADS * RACE_STACKS);
}

/* ---- a full table drops stacks (id 0) and counts them; known stacks still resolve */

static void test_full(void)
{
	const uint64_t known[] = { 0x401000, 0x402000, 0x403000 };
	uint32_t id_known = capture(known, 3, 0);
	uint32_t first_zero = 0, zeros = 0;
	uint64_t lost0 = atomic_load(&ct_lost[CT_L_NOSTACK]); /* test_race's, if any */
	for (uint32_t i = 0; i < MAX_STACKS + 100; i++) {
		uint64_t pcs[2] = { 0x800000, 0x900000 + (uint64_t)i };
		uint32_t id = capture(pcs, 2, 0);
		if (id == 0) {
			zeros++;
			if (!first_zero)
				first_zero = i + 1;
		}
	}
	TEST_TRUE(zeros > 0);
	TEST_EQ(atomic_load(&ct_lost[CT_L_NOSTACK]) - lost0, zeros);
	TEST_TRUE(ct_stacks_count() == MAX_STACKS + 1);
	TEST_EQ(capture(known, 3, 0), id_known);
}

/* ---- a fork that happened in the middle of an insert: the slot is marked dead */

static void test_after_fork(void)
{
	/* an insert claimed a slot and never published its id, as in a fork child whose
	 * parent thread was copied halfway */
	const uint64_t pcs[] = { 0xa00000, 0xb00000 };
	uint64_t h = hash_pcs(pcs, 2, 0);
	unsigned i = (unsigned)h & (SLOTS - 1);
	while (atomic_load(&slots[i].hash) != 0)
		i = (i + 1) & (SLOTS - 1);
	atomic_store(&slots[i].hash, h);
	atomic_fetch_add(&inflight, 1);
	ct_stacks_after_fork();
	TEST_EQ(atomic_load(&slots[i].id), UINT32_MAX);
	TEST_EQ(atomic_load(&inflight), 0);
	/* the same stack then comes back as "no stack" at once, without spinning */
	TEST_EQ(capture(pcs, 2, 0), 0);
}

/* ---- the stack cache on real stacks */

#define cache_thread slots_tab[1] /* a slot of ct_threads: its cache is the slot's */

static volatile char sink;

/* The same site reached through two callers with the same frame size: the same key
 * (return address into site, site's stack depth), two different chains. */
__attribute__((noinline)) static uint32_t site(void)
{
	uint32_t id = ct_stack_here();
	sink = 0; /* no tail call: site's frame stays in the chain */
	return id;
}

__attribute__((noinline)) static uint32_t via_a(int x)
{
	volatile char pad[48];
	pad[x & 31] = 1;
	uint32_t id = site();
	sink = pad[0];
	return id;
}

__attribute__((noinline)) static uint32_t via_b(int x)
{
	volatile char pad[48]; /* the frame of via_a; other code (not folded into via_a) */
	pad[x & 31] = 2;
	uint32_t id = site();
	sink = pad[1];
	return id;
}

__attribute__((noinline)) static uint32_t via_c(int x)
{
	volatile char pad[80];
	pad[x & 31] = 1;
	uint32_t id = site();
	sink = pad[0];
	return id;
}

__attribute__((noinline)) static uint32_t call(int which)
{
	return which == 2 ? via_c(0) : which ? via_b(0) : via_a(0);
}

/*
 * Every capture of the cache test goes through one call site in one invocation of drive(),
 * so that the chains differ only where the test makes them differ (via_a, via_b, via_c).
 * Each step is a chain number plus what to do first: bump the dlclose generation, or mark
 * the thread as running a signal handler.
 */
enum { A = 0, B = 1, C = 2, DLCLOSE = 4, SIGNAL = 8 };
#define STEPS 48
static uint32_t step_id[STEPS];
static unsigned step_unwound[STEPS]; /* 1: that capture unwound the stack */

__attribute__((noinline)) static void before_step(int step)
{
	if (step & DLCLOSE)
		atomic_fetch_add(&ct_capture_gen, 1);
	ct_in_signal = (step & SIGNAL) != 0;
}

__attribute__((noipa)) static void drive(const int *steps, int n)
{
	for (int i = 0; i < n; i++) {
		unsigned c0 = real_captures;
		before_step(steps[i]);
		step_id[i] = call(steps[i] & 3);
		step_unwound[i] = real_captures - c0;
	}
	ct_in_signal = 0;
}

static void test_cache(void)
{
	static const int steps[] = {
		A, A, A, A, A, A,              /* 0-5: miss, miss that learns, hits */
		B,                             /* 6: same key, other chain */
		A, B, A, B, A, B, A, B,        /* 7-14: alternating */
		C, C, C, C | DLCLOSE, C,       /* 15-19: learned, then a dlclose */
		C | SIGNAL, C | SIGNAL,        /* 20-21: in a signal handler */
	};
	int n = (int)(sizeof(steps) / sizeof(steps[0]));
	/* a thread gets its cache at its SC_AFTER-th capture */
	for (int i = 1; i < SC_AFTER; i++)
		TEST_TRUE(sc_of(&cache_thread) == NULL);
	TEST_TRUE(sc_of(&cache_thread) != NULL);
	ct_tls.th = &cache_thread;
	real_walk = 1;
	drive(steps, n);
	real_walk = 0;
	ct_tls.th = NULL;

	uint32_t a = step_id[0], b = step_id[6], c = step_id[15];
	TEST_TRUE(a != 0 && b != 0 && c != 0 && a != b && b != c && a != c);
	int same_a = 1;
	for (int i = 1; i < 6; i++)
		same_a &= step_id[i] == a;
	TEST_TRUE(same_a);
	TEST_EQ(step_unwound[0] + step_unwound[1], 2); /* the two misses */
	TEST_EQ(step_unwound[2] + step_unwound[3] + step_unwound[4] + step_unwound[5], 0);
	/* the other chain with the same key is unwound, not given the cached id */
	TEST_EQ(step_unwound[6], 1);
	struct ct_stack sa, sb;
	TEST_TRUE(ct_stack_get(a, &sa) == 0 && ct_stack_get(b, &sb) == 0);
	TEST_TRUE(sa.nframes == sb.nframes && sa.pcs[0] == sb.pcs[0] && sa.pcs[1] != sb.pcs[1]);

	int right = 1;
	unsigned unwound = 0;
	for (int i = 7; i <= 14; i++) {
		right &= step_id[i] == ((i & 1) ? a : b);
		unwound += step_unwound[i];
	}
	TEST_TRUE(right);
	/* every one unwound: the two chains share one key (a key of its own would be learned
	 * and hit), and a key whose check keeps failing is not cached any more */
	TEST_EQ(unwound, 8);
	/* a dlclose: what was learned is not trusted any more */
	TEST_EQ(step_unwound[17], 0);
	TEST_EQ(step_unwound[18], 1);
	TEST_TRUE(step_id[16] == c && step_id[17] == c && step_id[18] == c && step_id[19] == c);
	/* inside a program signal handler: never cached */
	TEST_EQ(step_unwound[20] + step_unwound[21], 2);
	TEST_TRUE(step_id[20] == c && step_id[21] == c);
}

int main(void)
{
	TEST_EQ(ct_stacks_init(), 0);
	test_dedup();
	test_race();
	test_cache();
	test_after_fork();
	test_full();
	return tap_done();
}
