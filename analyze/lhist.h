/* SPDX-License-Identifier: MIT */
/*
 * Log-linear histogram of durations for percentiles in bounded memory. The first
 * CT_LH_EXACT distinct values are kept exactly (so small profiles, and the unit tests'
 * synthetic traces, get exact nearest-rank percentiles), in an array that grows with them
 * (4, 8, 16, 32 pairs; none while empty); beyond that, values go to
 * buckets of 2^(o-6) ns inside each power of two 2^o (64 per octave; below 64 ns one
 * bucket per ns), allocated per octave on first use, with a count per octave (next to the
 * pointer to its buckets, in the same cache line) so that a percentile walks octaves
 * before buckets. The table of octaves is itself allocated when the histogram first
 * needs buckets: one that stays exact (an object or entry with few waits, most of them in
 * a trace of many objects) takes 48 bytes and 16 per value kept, not 1,488. A percentile from the buckets is its bucket's
 * midpoint clamped to [min, max]: the relative error is at most 1/128 (0.8%) of the true
 * nearest-rank value (CT_LH_REL_ERR). Not for the record path.
 */
#ifndef CTRACE_LHIST_H
#define CTRACE_LHIST_H

#include <stdint.h>

#define CT_LH_EXACT 32
#define CT_LH_SUBBITS 6
/* the bound on a bucketed percentile's relative error: half a bucket, 2^-(SUBBITS+1) */
#define CT_LH_REL_ERR (1.0 / (2 << CT_LH_SUBBITS))
#define CT_LH_LEVELS (64 - CT_LH_SUBBITS + 1)
#define CT_LH_BUCKETS (1u << CT_LH_SUBBITS) /* counters per level */

/* One octave of a bucketed histogram. */
struct ct_lh_level {
	uint64_t *b;            /* owned: CT_LH_BUCKETS counters, NULL until used */
	uint64_t n;             /* their total */
};

/* An exact value and its count. */
struct ct_lh_pair {
	uint64_t v, n;
};

struct ct_lhist {
	uint64_t n, min, max;   /* weighted count; min/max exact */
	uint32_t nex;           /* exact pairs in use, a value possibly in several;
				 * UINT32_MAX once bucketed */
	uint32_t cex;           /* pairs allocated in ex (at most CT_LH_EXACT) */
	struct ct_lh_level *lv; /* owned: CT_LH_LEVELS octaves, NULL until the first bucket
				 * (never NULL once bucketed) */
	struct ct_lh_pair *ex;  /* owned: the exact pairs, NULL until the first (freed
				 * when bucketed) */
};

/* The bucket of v: below 2^SUBBITS the value itself (level 0); else level o - SUBBITS + 1
 * for the power of two 2^o holding v, index the next SUBBITS bits below its top bit. */
static inline void ct_lhist_bucket(uint64_t v, unsigned *lvl, unsigned *ix)
{
	unsigned o;

	if (v < CT_LH_BUCKETS) {
		*lvl = 0;
		*ix = (unsigned)v;
		return;
	}
	o = 63u - (unsigned)__builtin_clzll(v);
	*lvl = o - CT_LH_SUBBITS + 1;
	*ix = (unsigned)(v >> (o - CT_LH_SUBBITS)) & (CT_LH_BUCKETS - 1);
}

/* ct_lhist_add but for its common case. */
void ct_lhist_add_slow(struct ct_lhist *h, uint64_t v, uint64_t n);

/* Adds n samples of value v. Exits on out-of-memory. Inline for the common case, a sample
 * of a bucketed histogram (which holds samples) whose level has its counters: the analyses
 * add several per wait. */
static inline void ct_lhist_add(struct ct_lhist *h, uint64_t v, uint64_t n)
{
	if (h->nex == UINT32_MAX && n) {
		unsigned lvl, ix;

		ct_lhist_bucket(v, &lvl, &ix);
		struct ct_lh_level *l = &h->lv[lvl];

		if (l->b) {
			if (v < h->min)
				h->min = v;
			if (v > h->max)
				h->max = v;
			h->n += n;
			l->b[ix] += n;
			l->n += n;
			return;
		}
	}
	ct_lhist_add_slow(h, v, n);
}

/* Adds every sample of src to h. */
void ct_lhist_merge(struct ct_lhist *h, const struct ct_lhist *src);
/* Nearest-rank percentile: the value of rank ceil(pct * n / 100); 0 when empty. Exact
 * while at most CT_LH_EXACT distinct values were added, else within CT_LH_REL_ERR relative. */
uint64_t ct_lhist_pct(const struct ct_lhist *h, unsigned pct);
/* Adds h's samples to a log2 histogram: count[i] gets those in [2^i, 2^(i+1)), count[0]
 * also 0 (the same as samples added to struct ct_hist, exactly: a bucketed level lies in
 * one power of two). */
void ct_lhist_log2(const struct ct_lhist *h, uint64_t count[64]);
/* Empties h, keeping its buckets' memory for the next samples. */
void ct_lhist_clear(struct ct_lhist *h);
/* Frees what h owns and empties it. */
void ct_lhist_reset(struct ct_lhist *h);

#endif
