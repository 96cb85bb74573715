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
#include <sched.h>
#include <string.h>

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

static void caches_map(void);

int ct_stacks_init(void)
{
	slots = ct_map(SLOTS, sizeof(struct slot), 0);
	entries = ct_map(MAX_STACKS + 1, sizeof(struct entry), 0);
	arena = ct_map(ARENA_PCS, sizeof(uint64_t), 0);
	caches_map();
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
		/* The inserter publishes within a few hundred nanoseconds unless it was
		 * preempted: spin briefly, then yield the CPU to it (it may be waiting for
		 * this one), and give the stack up after a bounded time. */
		while ((id = atomic_load_explicit(&s->id, memory_order_acquire)) == 0) {
			if (++spins > 2000 + 2000) {
				ct_count_lost(CT_L_NOSTACK);
				return 0;
			}
			if (spins < 2000)
				__builtin_ia32_pause();
			else
				sched_yield();
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

/*
 * A per-thread cache in front of the unwinder, keyed by where the capture is made from:
 * the return address into ct_stack_here's caller and ct_stack_here's own CFA. On a hit the
 * stack is not unwound again but checked: each return address of the cached chain,
 * libctrace's own frames included, must still be in its stack slot, at the offset from the
 * CFA the unwinder found for it. That check is exact: the frames up to the first one that
 * differs have the same functions at the same PCs, so the same frame sizes and the same
 * slot positions; the first differing frame's slot then holds another return address, and
 * the check fails there (reading only slots of the current chain). The exception is a
 * frame whose size varies at the same PC (alloca, variable-length arrays) in the part the
 * two chains share; then a slot may be found holding a stale copy of the old chain.
 *
 * Slot positions come from libgcc's unwinder, which reports each frame's CFA (about a
 * microsecond), so a key is learned only the second time it misses; keys that keep
 * failing the check are not cached again. A dlclose (ct_capture_gen) or a program signal
 * handler (a signal frame in the chain) bypass the cache. Measured: a hit costs about 60
 * instructions where libunwind's warm capture of the same ten frames costs about 1,000
 * (tests/bench/README.md).
 */
#define SC_WAYS 64          /* entries per thread, direct-mapped */
#define SC_SLOTS 40         /* return addresses checked: own frames + the depth, at most */
enum { SC_EMPTY = 0, SC_SEEN, SC_TRUSTED, SC_NOCACHE };

struct sc_entry {
	uint64_t ra, cfa0;      /* the key */
	uint32_t gen, id;
	uint8_t state, fails, n;
	int32_t off[SC_SLOTS];  /* slot of return address k: cfa0 + off[k] */
	uint64_t val[SC_SLOTS];
};
static struct sc_entry *caches; /* SC_WAYS per thread slot */

/* Without them, stacks are unwound every time. */
static void caches_map(void)
{
	caches = ct_map(ct_cfg.max_threads, sizeof(struct sc_entry) * SC_WAYS, CT_MAP_PER_THREAD);
}

/* The thread's cache, its slot's part of caches, used from its SC_AFTER-th capture:
 * threads that capture once or twice (thread churn) never touch its 32 KiB. One mapping
 * for all slots: a mapping per thread counted against the program's vm.max_map_count,
 * and was made on the record path. */
#define SC_AFTER 8
static struct sc_entry *sc_of(struct ct_thread *th)
{
	if (!th)
		return NULL;
	if (unlikely(!th->scache)) {
		if (++th->captures < SC_AFTER)
			return NULL;
		th->scache = caches ? caches + (size_t)(th - ct_threads) * SC_WAYS : (void *)1;
	}
	return th->scache == (void *)1 ? NULL : th->scache;
}

static inline struct sc_entry *sc_slot(struct sc_entry *c, uint64_t ra, uint64_t cfa0)
{
	uint64_t h = (ra ^ (cfa0 * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return &c[(h >> 58) & (SC_WAYS - 1)];
}

static inline int sc_check(const struct sc_entry *e, uint64_t cfa0)
{
	for (unsigned k = 0; k < e->n; k++)
		if (*(const uint64_t *)(uintptr_t)(cfa0 + (uint64_t)(int64_t)e->off[k]) != e->val[k])
			return 0;
	return 1;
}

/*
 * Learns the slots of the chain just captured (pcs: its frames past libctrace's, n of
 * them, the same as ct_capture returned), from a libgcc walk with CFAs that starts in this
 * function. Every frame past ct_stack_here's caller is checked later, libctrace's own
 * included. The entry is kept only if libgcc's frames past libctrace's are exactly pcs.
 */
static __attribute__((noinline)) void sc_learn(struct sc_entry *e, uint64_t cfa0,
					       const uint64_t *pcs, int n, unsigned trunc)
{
	uint64_t ips[SC_SLOTS + 8], cfas[SC_SLOTS + 8];
	int m = ct_capture_frames(ips, cfas, SC_SLOTS + 8), a = -1;
	e->state = SC_NOCACHE;
	for (int i = 0; i < m && a < 0; i++)
		if (cfas[i] == cfa0)
			a = i;
	if (a < 0)
		return;
	/* libgcc hands each frame with the CFA of the frame below it (its callee): the frame
	 * that comes with cfa0 is the caller, its return address ra (the key) at cfa0 - 8,
	 * and frame i's return address is at cfas[i] - 8 */
	int k = 0, app = 0;
	if (!ct_capture_is_self(ips[a])) {
		if (n < 1 || pcs[0] != ips[a])
			return;
		app = 1;
	}
	for (int i = a + 1; i < m; i++) {
		uint64_t ip = ips[i];
		if (ip == 0)
			continue; /* libgcc's outermost frame */
		int self = ct_capture_is_self(ip);
		if (!self && app == n) {
			if (trunc)
				break; /* past the depth limit: not in pcs, not checked */
			return;    /* libgcc found more than libunwind */
		}
		int64_t off = (int64_t)(cfas[i] - 8 - cfa0);
		if (k == SC_SLOTS || off < 0 || off > INT32_MAX)
			return;
		e->off[k] = (int32_t)off;
		e->val[k] = ip;
		k++;
		if (!self) {
			if (pcs[app] != ip)
				return; /* the two unwinders disagree: not cached */
			app++;
		}
	}
	if (app != n || (!trunc && m == SC_SLOTS + 8))
		return; /* not the whole chain */
	e->n = (uint8_t)k;
	e->state = SC_TRUSTED;
}

uint32_t ct_stack_here(void)
{
	uint64_t pcs[CT_MAX_FRAMES];
	unsigned trunc = 0;
	if (!slots)
		return 0;
	uint64_t ra = (uint64_t)(uintptr_t)__builtin_return_address(0);
	uint64_t cfa0 = (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16;
	uint32_t gen = atomic_load_explicit(&ct_capture_gen, memory_order_relaxed);
	struct sc_entry *e = NULL;
	/* Under a seccomp filter no system call of ours (the cache's mapping, an unwinder's
	 * own: a wrapper that passed its checks before the filter went in ends after it) */
	if (unlikely(ct_in_sandbox()))
		return 0;
	struct sc_entry *c = ct_in_signal ? NULL : sc_of(ct_tls.th);
	if (c) {
		e = sc_slot(c, ra, cfa0);
		if (e->ra == ra && e->cfa0 == cfa0 && e->gen == gen) {
			if (likely(e->state == SC_TRUSTED)) {
				if (likely(sc_check(e, cfa0)))
					return e->id;
				e->state = ++e->fails >= 2 ? SC_NOCACHE : SC_SEEN;
			}
		} else {
			e->ra = ra;
			e->cfa0 = cfa0;
			e->gen = gen;
			e->fails = 0;
			e->state = SC_EMPTY;
		}
	}
	if (ct_sys_begin() != 0) /* the unwinder may map its caches */
		return 0;
	int n = ct_capture(pcs, &trunc);
	ct_sys_end();
	if (n <= 0)
		return 0;
	uint32_t id = intern(pcs, n, trunc ? CT_STACKF_TRUNCATED : 0);
	if (e && id) {
		if (e->state == SC_EMPTY) {
			e->state = SC_SEEN;
		} else if (e->state == SC_SEEN) {
			e->id = id;
			sc_learn(e, cfa0, pcs, n, trunc);
		}
	}
	return id;
}

/*
 * The call sites' one-frame stacks (annotations, HOLD events, lock-order edges): intern
 * hashes the pc and compares it in the process-wide table, a probe into a table of 2 MiB
 * (about a fifth of a traced annotation call). A call site's id never changes (the table
 * is insert-only and kept across fork), so a small direct-mapped cache of (pc, id) pairs
 * answers the calls of a loop with one load. An entry is one 64-bit word
 * (pc << SITE_ID_BITS | id), so racing threads and signal handlers read and write whole
 * entries, never a pc with another's id. pcs beyond 47 bits and ids beyond SITE_ID_BITS
 * are not cached (looked up every time).
 */
#define SITE_CACHE 64u
#define SITE_ID_BITS 17u
static atomic_uint_least64_t site_cache[SITE_CACHE];

uint32_t ct_stack_site(uint64_t pc)
{
	if (!slots || !pc)
		return 0;
	if (pc >> (64 - SITE_ID_BITS))
		return intern(&pc, 1, CT_STACKF_SITE);
	atomic_uint_least64_t *c = &site_cache[(pc ^ pc >> 7 ^ pc >> 14) & (SITE_CACHE - 1)];
	uint64_t v = atomic_load_explicit(c, memory_order_acquire);
	uint32_t id = (uint32_t)(v & ((1u << SITE_ID_BITS) - 1));
	if (likely(v >> SITE_ID_BITS == pc && id))
		return id;
	id = intern(&pc, 1, CT_STACKF_SITE);
	if (id && id < (1u << SITE_ID_BITS))
		atomic_store_explicit(c, pc << SITE_ID_BITS | id, memory_order_release);
	return id;
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
