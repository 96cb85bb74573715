/* SPDX-License-Identifier: MIT */
/*
 * The shadow object table: for each synchronization object that has ever been waited on,
 * the number of traced waiters and a release sequence number. Releases (unlock, signal,
 * broadcast) look it up only while some thread in the process waits (ct_waiting != 0), so
 * the uncontended path never touches it.
 *
 * Lock-free, insert-only open addressing keyed by address (a reused address reuses its
 * entry, which is harmless: waiters are counted exactly, sequence numbers only grow).
 * When full, new objects are not tracked: their waits are still recorded, their releases
 * are not.
 */
#include <errno.h>
#include <sys/mman.h>

#include "ctrace.h"

#define SHADOW_SLOTS (1u << 16)

/* Both read by every mutex unlock: kept in one cache line. */
_Alignas(64) atomic_int ct_waiting;
int ct_held_on;
static struct ct_shadow *tab;

int ct_shadow_init(void)
{
	tab = ct_map(SHADOW_SLOTS, sizeof(struct ct_shadow), 0);
	return tab ? 0 : -ENOMEM;
}

static unsigned slot_of(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (unsigned)key & (SHADOW_SLOTS - 1);
}

static struct ct_shadow *lookup(const void *obj, int insert)
{
	uint64_t key = (uint64_t)(uintptr_t)obj;
	if (!tab || !key)
		return NULL;
	unsigned i = slot_of(key);
	for (unsigned probe = 0; probe < 64; probe++, i = (i + 1) & (SHADOW_SLOTS - 1)) {
		uint64_t cur = atomic_load_explicit(&tab[i].key, memory_order_acquire);
		if (cur == key)
			return &tab[i];
		if (cur == 0) {
			if (!insert)
				return NULL;
			if (atomic_compare_exchange_strong(&tab[i].key, &cur, key) || cur == key)
				return &tab[i];
		}
	}
	return NULL;
}

struct ct_shadow *ct_shadow_get(const void *obj) { return lookup(obj, 1); }
struct ct_shadow *ct_shadow_find(const void *obj) { return lookup(obj, 0); }

void ct_shadow_after_fork(void)
{
	/* The waiters counted here were threads of the parent. Only written when non-zero,
	 * so the child copies no page of an idle table. */
	if (!tab || atomic_load(&ct_waiting) == 0)
		return;
	for (unsigned i = 0; i < SHADOW_SLOTS; i++)
		if (atomic_load_explicit(&tab[i].key, memory_order_relaxed) &&
		    atomic_load_explicit(&tab[i].waiters, memory_order_relaxed))
			atomic_store(&tab[i].waiters, 0);
	atomic_store(&ct_waiting, 0);
}
