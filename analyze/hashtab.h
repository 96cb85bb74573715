/* SPDX-License-Identifier: MIT */
/*
 * An open-addressing hash map from a nonzero 64-bit key to a 32-bit value (an index into
 * the caller's array), linear probing, grown at half full. Used by the model (stack
 * ids), the analyses (objects, profile entries, call sites, thread keys) and the
 * symbolized frames (frames.c: stack ids, call-site PCs). Not for the record path.
 */
#ifndef CTRACE_HASHTAB_H
#define CTRACE_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

struct ct_htab {
	uint64_t *keys; /* 0: empty slot */
	uint32_t *vals;
	size_t slots, n;
};

/* A 64-bit mix of several words, never 0 (usable as a key). */
uint64_t ct_htab_key(uint64_t a, uint64_t b, uint64_t c);
/* The value of key (nonzero), or UINT32_MAX. */
uint32_t ct_htab_get(const struct ct_htab *h, uint64_t key);
/* Sets key (nonzero) to val. Exits on out-of-memory. */
void ct_htab_put(struct ct_htab *h, uint64_t key, uint32_t val);
void ct_htab_free(struct ct_htab *h);

#endif
