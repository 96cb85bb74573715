/* SPDX-License-Identifier: MIT */
/* Implementation of lhist.h. */
#include "lhist.h"

#include <stdlib.h>
#include <string.h>

#include "analysis.h" /* ct_hist_bucket */
#include "util.h"

/* The midpoint of a bucket. */
static uint64_t bucket_mid(unsigned lvl, unsigned ix)
{
	unsigned o;
	uint64_t lo, w;

	if (lvl == 0)
		return ix;
	o = lvl + CT_LH_SUBBITS - 1;
	w = 1ull << (o - CT_LH_SUBBITS);
	lo = (1ull << o) + (uint64_t)ix * w;
	return lo + w / 2;
}

/* h's table of octaves, allocated on first use. */
static struct ct_lh_level *levels(struct ct_lhist *h)
{
	if (!h->lv)
		h->lv = ct_xcalloc(CT_LH_LEVELS, sizeof(*h->lv));
	return h->lv;
}

static void add_bucket(struct ct_lhist *h, uint64_t v, uint64_t n)
{
	unsigned lvl, ix;

	ct_lhist_bucket(v, &lvl, &ix);
	levels(h);
	if (!h->lv[lvl].b)
		h->lv[lvl].b = ct_xcalloc(CT_LH_BUCKETS, sizeof(uint64_t));
	h->lv[lvl].b[ix] += n;
	h->lv[lvl].n += n;
}

static void to_buckets(struct ct_lhist *h)
{
	uint32_t k = h->nex;

	h->nex = UINT32_MAX;
	for (uint32_t i = 0; i < k; i++)
		add_bucket(h, h->ex[i].v, h->ex[i].n);
	free(h->ex);
	h->ex = NULL;
	h->cex = 0;
}

/* Sorts the exact pairs by value and merges equal ones. */
static void compact(struct ct_lhist *h)
{
	uint32_t k = 0;

	for (uint32_t i = 1; i < h->nex; i++) { /* insertion sort: at most CT_LH_EXACT */
		struct ct_lh_pair p = h->ex[i];
		uint32_t j = i;

		for (; j > 0 && h->ex[j - 1].v > p.v; j--)
			h->ex[j] = h->ex[j - 1];
		h->ex[j] = p;
	}
	for (uint32_t i = 0; i < h->nex; i++) {
		if (k && h->ex[k - 1].v == h->ex[i].v) {
			h->ex[k - 1].n += h->ex[i].n;
			continue;
		}
		h->ex[k++] = h->ex[i];
	}
	h->nex = k;
}

void ct_lhist_add_slow(struct ct_lhist *h, uint64_t v, uint64_t n)
{
	if (!n)
		return;
	if (!h->n || v < h->min)
		h->min = v;
	if (!h->n || v > h->max)
		h->max = v;
	h->n += n;
	if (h->nex != UINT32_MAX) {
		/* pairs are appended; equal values merged only when the array is full */
		if (h->nex == CT_LH_EXACT) {
			for (uint32_t i = 0; i < h->nex; i++)
				if (h->ex[i].v == v) {
					h->ex[i].n += n;
					return;
				}
			compact(h);
		}
		if (h->nex < CT_LH_EXACT) {
			if (h->nex == h->cex) {
				h->cex = h->cex ? 2 * h->cex : 4;
				h->ex = ct_xrealloc(h->ex, h->cex * sizeof(*h->ex));
			}
			h->ex[h->nex++] = (struct ct_lh_pair){ v, n };
			return;
		}
		to_buckets(h);
	}
	add_bucket(h, v, n);
}

void ct_lhist_merge(struct ct_lhist *h, const struct ct_lhist *src)
{
	if (!src->n)
		return;
	if (src->nex != UINT32_MAX) {
		for (uint32_t i = 0; i < src->nex; i++)
			ct_lhist_add(h, src->ex[i].v, src->ex[i].n);
		return;
	}
	if (!h->n || src->min < h->min)
		h->min = src->min;
	if (!h->n || src->max > h->max)
		h->max = src->max;
	h->n += src->n;
	if (h->nex != UINT32_MAX)
		to_buckets(h);
	levels(h);
	for (unsigned l = 0; l < CT_LH_LEVELS; l++) {
		if (!src->lv[l].n)
			continue;
		if (!h->lv[l].b)
			h->lv[l].b = ct_xcalloc(CT_LH_BUCKETS, sizeof(uint64_t));
		for (unsigned i = 0; i < CT_LH_BUCKETS; i++)
			h->lv[l].b[i] += src->lv[l].b[i];
		h->lv[l].n += src->lv[l].n;
	}
}

static uint64_t rank_of(uint64_t n, unsigned pct)
{
	uint64_t r = (pct * n + 99) / 100; /* ceil(pct * n / 100) */

	return r < 1 ? 1 : r > n ? n : r;
}

uint64_t ct_lhist_pct(const struct ct_lhist *h, unsigned pct)
{
	uint64_t rank, seen = 0;

	if (!h->n)
		return 0;
	rank = rank_of(h->n, pct);
	if (h->nex != UINT32_MAX) {
		/* exact: walk the pairs in value order (at most CT_LH_EXACT of them) */
		uint64_t last = 0;
		int first = 1;

		for (;;) {
			uint64_t best = UINT64_MAX, cnt = 0;

			for (uint32_t i = 0; i < h->nex; i++)
				if ((first || h->ex[i].v > last) && h->ex[i].v <= best) {
					if (h->ex[i].v < best)
						cnt = 0;
					best = h->ex[i].v;
					cnt += h->ex[i].n;
				}
			if (!cnt)
				return h->max;
			seen += cnt;
			if (seen >= rank)
				return best;
			last = best;
			first = 0;
		}
	}
	for (unsigned l = 0; l < CT_LH_LEVELS; l++) {
		uint64_t sum = h->lv[l].n;

		if (!sum)
			continue;
		if (seen + sum < rank) {
			seen += sum;
			continue;
		}
		for (unsigned i = 0; i < CT_LH_BUCKETS; i++) {
			seen += h->lv[l].b[i];
			if (seen >= rank) {
				uint64_t v = bucket_mid(l, i);

				return v < h->min ? h->min : v > h->max ? h->max : v;
			}
		}
	}
	return h->max;
}

void ct_lhist_log2(const struct ct_lhist *h, uint64_t count[64])
{
	if (h->nex != UINT32_MAX) {
		for (uint32_t i = 0; i < h->nex; i++)
			count[ct_hist_bucket(h->ex[i].v)] += h->ex[i].n;
		return;
	}
	for (unsigned v = 0; v < CT_LH_BUCKETS && h->lv[0].n; v++)
		count[ct_hist_bucket(v)] += h->lv[0].b[v];
	for (unsigned l = 1; l < CT_LH_LEVELS; l++)
		count[l + CT_LH_SUBBITS - 1] += h->lv[l].n;
}

void ct_lhist_clear(struct ct_lhist *h)
{
	struct ct_lh_level *lv = h->lv;

	if (h->nex != UINT32_MAX) {
		/* exact (its levels, if any, already empty): the pairs past nex are never
		 * read, so the counts alone go, the pairs' memory kept (a convoy window of a
		 * lock with a few waits clears three of these; a trace of 100,000 locks,
		 * millions) */
		h->n = h->min = h->max = 0;
		h->nex = 0;
		return;
	}
	for (unsigned l = 0; lv && l < CT_LH_LEVELS; l++)
		if (lv[l].n) {
			memset(lv[l].b, 0, CT_LH_BUCKETS * sizeof(uint64_t));
			lv[l].n = 0;
		}
	memset(h, 0, sizeof(*h));
	h->lv = lv;
}

void ct_lhist_reset(struct ct_lhist *h)
{
	for (unsigned l = 0; h->lv && l < CT_LH_LEVELS; l++)
		free(h->lv[l].b);
	free(h->lv);
	free(h->ex);
	memset(h, 0, sizeof(*h));
}
