/* SPDX-License-Identifier: MIT */
/*
 * Lock-order edges (lockdep's "A before B"): a thread that acquires lock B while it holds
 * lock A records the edge A -> B once, as a LOCK_ORDER event naming both locks, their
 * kinds and the call sites that took them (format/events.h). The held set (wait.h) gives
 * A; each thread keeps a small hash of the edges it has recorded, so a repeated edge costs
 * one lookup and no event. Trylocks add no edges (a trylock cannot deadlock), as in
 * lockdep. The analyzer finds the cycles (analyze/lockorder.c).
 *
 * The wrappers call ct_lock_taken where they used to push a blocking acquisition into the
 * held set. Record path: a load and a test when nothing else is held; otherwise one
 * out-of-line call that probes the hash per held lock. No malloc, signal-safe.
 */
#ifndef CTRACE_LOCKORDER_H
#define CTRACE_LOCKORDER_H

#include "wait.h"

/* CTRACE_LOCK_ORDER (default 1): 0 turns edge recording off. Set by ct_lockorder_init. */
extern int ct_lockorder_on;
/* Reads CTRACE_LOCK_ORDER and maps the per-thread edge tables. Constructor; returns 0 (the
 * feature turns itself off when the tables cannot be mapped). */
int ct_lockorder_init(void);
/* Records the edges held -> obj not yet recorded by this thread. Record path. */
void ct_lockorder_edges(const void *obj, const void *pc, unsigned kind);

/* The calling thread's latest edge with one lock held, as ct_lo_quick keys it: the
 * common nested pair repeats it, and then costs two multiplications and no call. */
extern CT_TLS uint64_t ct_lo_last;
static inline uint64_t ct_lo_quick(uint64_t held, unsigned hkind, const void *obj,
				   unsigned kind, pid_t tid)
{
	return (held * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uintptr_t)obj * 0xbf58476d1ce4e5b9ull) ^
	       ((uint64_t)(hkind << 8 | kind) << 48) ^ (uint64_t)(uint32_t)tid;
}

/* A blocking acquisition of obj (kind CT_K_MUTEX, CT_K_RWLOCK_RD/WR, CT_K_SPIN) from call
 * site pc succeeded: its edges, then the held set. */
static inline void ct_lock_taken(const void *obj, const void *pc, unsigned kind, int waited)
{
	if (unlikely(ct_held.n != 0) && ct_lockorder_on &&
	    (ct_held.n != 1 || ct_lo_last != ct_lo_quick(ct_held.e[0].obj, ct_held.e[0].kind, obj,
							  kind, ct_tls.tid)))
		ct_lockorder_edges(obj, pc, kind);
	ct_held_push(obj, pc, kind, waited);
}

/* The same for a call returning r (0: taken); returns r. */
static inline int ct_lock_taken_r(int r, const void *obj, const void *pc, unsigned kind,
				  int waited)
{
	if (r == 0)
		ct_lock_taken(obj, pc, kind, waited);
	return r;
}

#endif
