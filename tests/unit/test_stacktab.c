/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the record path's stack table (preload/stacktab.c): deduplication into
 * dense ids, the lookup the writer makes, one-frame site stacks, flags kept apart, inserts
 * racing from several threads, a full table (id 0, counted), and the fork-child cleanup of
 * half-done inserts. The file is compiled in here with the unwinder replaced by a stub
 * that returns the PCs the test sets, so no preload is involved. TAP output (tap.h).
 */
#include <pthread.h>

#include "tap.h"
#include "../../preload/stacktab.c"

/* ---- what stacktab.c needs from the rest of the preload */

atomic_uint_least64_t ct_lost[CT_L_MAX];

static __thread const uint64_t *stub_pcs;
static __thread int stub_n;
static __thread unsigned stub_trunc;

int ct_capture(uint64_t *pcs, unsigned *truncated)
{
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
	pthread_barrier_init(&race_go, NULL, RACE_THREADS);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_create(&t[i], NULL, race, (void *)(intptr_t)i);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	int agree = 1, nonzero = 1, right = 1;
	for (int i = 0; i < RACE_STACKS; i++) {
		uint64_t pcs[4] = { 0x500000, 0x600000 + (uint64_t)i, 0x700000, (uint64_t)i };
		for (int k = 0; k < RACE_THREADS; k++) {
			agree &= race_ids[k][i] == race_ids[0][i];
			nonzero &= race_ids[k][i] != 0;
		}
		right &= same_stack(race_ids[0][i], pcs, 4, 0);
	}
	TEST_TRUE(agree);
	TEST_TRUE(nonzero);
	TEST_TRUE(right);
	TEST_EQ(ct_stacks_count() - before, RACE_STACKS);
	TEST_EQ(atomic_load(&ct_lost[CT_L_NOSTACK]), 0);
}

/* ---- a full table drops stacks (id 0) and counts them; known stacks still resolve */

static void test_full(void)
{
	const uint64_t known[] = { 0x401000, 0x402000, 0x403000 };
	uint32_t id_known = capture(known, 3, 0);
	uint32_t first_zero = 0, zeros = 0;
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
	TEST_EQ(atomic_load(&ct_lost[CT_L_NOSTACK]), zeros);
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

int main(void)
{
	TEST_EQ(ct_stacks_init(), 0);
	test_dedup();
	test_race();
	test_after_fork();
	test_full();
	return tap_done();
}
