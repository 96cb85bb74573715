/* SPDX-License-Identifier: MIT */
/* Implementation of hashtab.h. */
#include "hashtab.h"

#include <stdlib.h>

#include "util.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

uint64_t ct_htab_key(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t k = mix(a ^ mix(b + 0x9e3779b97f4a7c15ull) ^ mix(c + 0x632be59bd9b4e019ull));

	return k ? k : 1;
}

uint32_t ct_htab_get(const struct ct_htab *h, uint64_t key)
{
	size_t i;

	if (!h->slots)
		return UINT32_MAX;
	for (i = mix(key) & (h->slots - 1); h->keys[i]; i = (i + 1) & (h->slots - 1))
		if (h->keys[i] == key)
			return h->vals[i];
	return UINT32_MAX;
}

static void put_raw(struct ct_htab *h, uint64_t key, uint32_t val)
{
	size_t i;

	for (i = mix(key) & (h->slots - 1); h->keys[i]; i = (i + 1) & (h->slots - 1))
		if (h->keys[i] == key) {
			h->vals[i] = val;
			return;
		}
	h->keys[i] = key;
	h->vals[i] = val;
	h->n++;
}

void ct_htab_put(struct ct_htab *h, uint64_t key, uint32_t val)
{
	if (2 * (h->n + 1) > h->slots) {
		struct ct_htab old = *h;

		h->slots = old.slots ? old.slots * 2 : 64;
		h->keys = ct_xcalloc(h->slots, sizeof(*h->keys));
		h->vals = ct_xcalloc(h->slots, sizeof(*h->vals));
		h->n = 0;
		for (size_t i = 0; i < old.slots; i++)
			if (old.keys[i])
				put_raw(h, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	put_raw(h, key, val);
}

void ct_htab_free(struct ct_htab *h)
{
	free(h->keys);
	free(h->vals);
	h->keys = NULL;
	h->vals = NULL;
	h->slots = h->n = 0;
}
