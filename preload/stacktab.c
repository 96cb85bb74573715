/* SPDX-License-Identifier: MIT */
/*
 * The process-wide stack table: captured stacks deduplicated into dense 32-bit ids on the
 * record path, so events carry 4 bytes instead of up to 128 PCs.
 *
 * Lock-free, insert-only open addressing in anonymous mappings:
 *  - slots[]: {hash, id}; a thread claims an empty slot with a CAS of the hash, copies the
 *    PCs into the bump-allocated arena, then publishes the id with a release store;
 *  - a thread finding the same hash waits a bounded number of spins for the id, then
 *    compares the PCs (hash collisions are resolved by probing on);
 *  - ids index entries[] (arena offset, frame count, flags) for the writer.
 * A full table or arena drops the stack (id 0) and counts CT_L_NOSTACK. The table never
 * shrinks: at 32 frames, 10k distinct stacks are about 2.6 MB.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ctrace.h"
#include "../unwind/capture.h"

#define SLOTS (1u << 17)           /* hash slots; half of them usable */
#define MAX_STACKS (SLOTS / 2)
#define ARENA_PCS (MAX_STACKS * 24u) /* 64k stacks of 24 frames on average: 24 MiB virtual */

struct slot {
	atomic_uint_least64_t hash;
	atomic_uint id;
};
struct entry {
	uint32_t off;
	uint16_t n, flags;
};

static struct slot *slots;
static struct entry *entries;  /* by id; id 0 unused */
static uint64_t *arena;
static atomic_uint next_id = 1;
static atomic_uint arena_used;
static atomic_int inflight; /* inserts between claiming a slot and publishing its id */

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int ct_stacks_init(void)
{
	slots = map(sizeof(struct slot) * SLOTS);
	entries = map(sizeof(struct entry) * (MAX_STACKS + 1));
	arena = map(sizeof(uint64_t) * ARENA_PCS);
	return slots && entries && arena ? 0 : -ENOMEM;
}

static uint64_t hash_pcs(const uint64_t *pcs, int n, unsigned flags)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n << 8) ^ flags;
	for (int i = 0; i < n; i++) {
		h ^= pcs[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h ? h : 1;
}

static uint32_t intern(const uint64_t *pcs, int n, unsigned flags)
{
	uint64_t h = hash_pcs(pcs, n, flags);
	for (unsigned probe = 0, i = (unsigned)h & (SLOTS - 1); probe < SLOTS;
	     probe++, i = (i + 1) & (SLOTS - 1)) {
		struct slot *s = &slots[i];
		uint64_t cur = atomic_load_explicit(&s->hash, memory_order_acquire);
		if (cur == 0) {
			atomic_fetch_add(&inflight, 1);
			if (!atomic_compare_exchange_strong(&s->hash, &cur, h)) {
				atomic_fetch_sub(&inflight, 1);
				if (cur != h)
					continue; /* another stack took it: probe on */
				goto compare;
			}
			/* Ours: allocate and publish. */
			uint32_t id = atomic_fetch_add(&next_id, 1);
			uint32_t off = atomic_fetch_add(&arena_used, (unsigned)n);
			if (id > MAX_STACKS || off + (unsigned)n > ARENA_PCS) {
				atomic_store_explicit(&s->id, UINT32_MAX, memory_order_release);
				atomic_fetch_sub(&inflight, 1);
				ct_count_lost(CT_L_NOSTACK);
				return 0;
			}
			memcpy(arena + off, pcs, sizeof(uint64_t) * (size_t)n);
			entries[id].off = off;
			entries[id].n = (uint16_t)n;
			entries[id].flags = (uint16_t)flags;
			atomic_store_explicit(&s->id, id, memory_order_release);
			atomic_fetch_sub(&inflight, 1);
			return id;
		}
		if (cur != h)
			continue;
compare:;
		uint32_t id;
		int spins = 0;
		while ((id = atomic_load_explicit(&s->id, memory_order_acquire)) == 0) {
			if (++spins > 100000) {
				ct_count_lost(CT_L_NOSTACK);
				return 0;
			}
			__builtin_ia32_pause();
		}
		if (id == UINT32_MAX)
			return 0;
		const struct entry *e = &entries[id];
		if (e->n == n && e->flags == flags &&
		    memcmp(arena + e->off, pcs, sizeof(uint64_t) * (size_t)n) == 0)
			return id;
	}
	ct_count_lost(CT_L_NOSTACK);
	return 0;
}

uint32_t ct_stack_here(void)
{
	uint64_t pcs[CT_MAX_FRAMES];
	unsigned trunc = 0;
	if (!slots)
		return 0;
	int n = ct_capture(pcs, &trunc);
	if (n <= 0)
		return 0;
	return intern(pcs, n, trunc ? CT_STACKF_TRUNCATED : 0);
}

uint32_t ct_stack_site(uint64_t pc)
{
	if (!slots || !pc)
		return 0;
	return intern(&pc, 1, CT_STACKF_SITE);
}

uint32_t ct_stacks_count(void)
{
	uint32_t n = atomic_load(&next_id);
	return n > MAX_STACKS + 1 ? MAX_STACKS + 1 : n;
}

int ct_stack_get(uint32_t id, struct ct_stack *out)
{
	if (id == 0 || id >= ct_stacks_count())
		return -1;
	const struct entry *e = &entries[id];
	if (e->n == 0)
		return -1; /* claimed but not yet published */
	out->id = id;
	out->nframes = e->n;
	out->flags = e->flags;
	out->pcs = arena + e->off;
	return 0;
}

void ct_stacks_after_fork(void)
{
	/* A thread of the parent that was inserting a stack at the fork never publishes its
	 * id here: mark such slots dead, or every capture of that stack would spin. */
	if (!slots || atomic_load(&inflight) == 0)
		return;
	for (unsigned i = 0; i < SLOTS; i++)
		if (atomic_load_explicit(&slots[i].hash, memory_order_relaxed) &&
		    atomic_load_explicit(&slots[i].id, memory_order_relaxed) == 0)
			atomic_store(&slots[i].id, UINT32_MAX);
	atomic_store(&inflight, 0);
}
