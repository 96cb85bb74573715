/* SPDX-License-Identifier: MIT */
/*
 * The streaming analysis engine (internal to analyze/): the state that the analyses keep
 * while events go by in time order, and the entry points of each analysis file. Memory is
 * bounded by what the trace contains (threads, objects and the waits in progress on
 * them, stacks, call sites, convoy windows of contended locks), never by its length:
 *   engine.c   driver: threads, the wait stack of each thread, filters, dispatch;
 *   entries.c  profile entries (waiter, holder and wake-up profiles);
 *   syscalls.c recorded system calls and the SITE totals, remainders;
 *   objects.c  objects: waits, release matching, holder charges, holds, owners;
 *   convoy.c   convoy windows of mutex-like objects, accumulated as they pass;
 *   chains.c   wait chains and deadlocks from the state at the end;
 *   threads.c  the per-thread table.
 * Not for the record path.
 */
#ifndef CTRACE_ENGINE_H
#define CTRACE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"
#include "hashtab.h"
#include "lhist.h"

#define CT_ENG_INIT_BLOCKED CT_SEV_INIT_BLOCKED
#define ct_eng_ev ct_sevent

/* An open wait on a thread's stack. */
struct eng_wait {
	uint64_t id;
	uint64_t begin, obj, arg, begin_seq;
	uint64_t nested_ns;  /* blocked time of waits nested in it (counted there) */
	uint32_t stack;
	uint16_t flags;
	uint8_t kind, profile, synthetic;
	uint32_t oix;        /* registered on its object (ct_obj_begin): its index + 1, else 0 */
	uint32_t ipslot;     /* and its slot in the object's waits in progress */
};

struct eng_thread {
	uint32_t tid, key;
	int selected, seen, ended;
	uint64_t end_ts;
	int init_blocked;
	uint8_t init_kind;
	uint64_t init_obj, init_since;
	int saw_wait;
	struct eng_wait *open;
	size_t nopen, cap;
	uint64_t blocked[CT_P_MAX], waits, syscalls;
	struct eng_ulcall *ulc;  /* underlock.c: its latest recorded calls (a ring) */
	unsigned nulc, ulc_head;
	int ulc_unordered;       /* one of them began before the one before it ended */
	uint64_t site_pc;        /* syscalls.c: its latest call's site: pc, kind << 8 | fd */
	uint32_t site_ix, site_kc; /* class, and index + 1 in e->site (0: none yet) */
	struct ct_idle_entry *idle; /* idle.c: its idle waits */
	size_t nidle, cidle;
	uint64_t idle_ns;
	struct eng_ulhold *ulh;  /* underlock.c: the HOLDs before its next wait */
	unsigned nulh;
	size_t culh;
};

/* A recorded system call kept for the locks found held around it (underlock.c). */
struct eng_ulcall {
	uint64_t begin, end;
	uint32_t stack;
	uint8_t kind, profile;
};
#define ENG_ULCALLS 32
/* A HOLD event: the lock held across the wait that follows at the same time. */
struct eng_ulhold {
	uint64_t ts, obj;
	uint32_t stack;
};

/* A wait in progress on an object (ended ones stay until a later event passes them).
 * "Old" once a release charged it to its releaser (objects.c, charge): later releases
 * charge it as one of a count. */
struct eng_inprog {
	uint64_t id, begin, end; /* id 0: a free slot; end UINT64_MAX: in progress */
	uint32_t tid;
	uint32_t nix;            /* not old: its place in the object's newl */
	uint8_t kind, old;
};

/* A recorded release, kept in a per-object ring for matching: at least ENG_RING of the
 * latest, more while many wait (a waiter may return long after its release). */
struct eng_rel {
	uint64_t ts, seq, woken;
	uint32_t tid, stack;
	uint16_t flags;
	uint32_t skip;           /* once taken (objects.c, cand): how far on the next release
				  * that may still be one lies, at least (>= 1) */
};
#define ENG_RING 64

/* Per (object, tid) state. */
struct eng_othr {
	uint32_t tid;
	int has_pend;            /* an acquisition that ended a wait, not yet released */
	uint64_t pend_acq, pend_epoch;
	int acq_valid;           /* latest acquisition, not followed by its own release */
	uint32_t acq_stack;
	uint64_t acq_end;
	int any_acq;             /* latest acquisition */
	uint32_t any_acq_stack;
	uint64_t any_acq_end;
	int hold_valid, hold_stale, hold_after;
	uint32_t hold_stack;
	uint64_t hold_ts;
	uint32_t hold_acq_stack; /* the latest acquisition when the HOLD came */
	uint64_t hold_acq_end;
	int hold_has_acq;
	/* the current hold as far as events prove it (underlock.c, holds): the earliest
	 * moment it is known held (its acquisition ending a wait, a HOLD, or another thread's
	 * wait naming it the owner), valid up to its release while ev_epoch is the object's
	 * epoch (no moment without waiters, when a release goes unrecorded) */
	int ev_valid, ev_acq;
	uint64_t ev_ts, ev_epoch;
	uint32_t ev_stack;       /* where it was taken (0 unknown) */
};

struct eng_stk {
	uint32_t stack;
	uint64_t n;
};
/* Counts per stack id (stkcount.c). */
struct eng_stks {
	struct eng_stk *v;
	size_t n, cap;
	size_t last;        /* the one added to last: most samples repeat it */
	struct ct_htab ix;  /* past a few stacks: stack + 1 -> position in v */
};

/* One window of the convoy detector. */
struct eng_win {
	size_t k;                 /* its number from the analysed time's start */
	uint64_t q_int, busy;     /* waiter-ns, and ns with a waiter (exact sums) */
	uint64_t h_ns;            /* ns held */
	uint64_t acq, rel;
	uint64_t mwait, mhold, mhand;
	int queued, convoy;
};

/* What the convoy detector keeps of a span of windows (the open one, a run, the runs
 * judged convoys): its waits, holds and hand-offs, the waiters' and holders' stacks. */
struct eng_csamples {
	struct ct_lhist wait, hold, hand;
	struct eng_stks ws, hs;
};

/* A run of queued windows whose verdict waits for the object's median hold. */
struct eng_run {
	size_t k0, k1;
	struct eng_csamples s;
};

struct eng_conv {
	size_t k0;                /* first window */
	uint64_t lo, hi;          /* the windows allowed, k0 .. k0 + CT_CONVOY_MAX_WINDOWS,
				   * span [lo, hi) from the window start (hi_set: hi fits) */
	int hi_set;
	struct eng_win *win;      /* the windows with something in them, by k, the open one
				   * last (convoy.c) */
	size_t nwin, cap;
	size_t kcur;              /* the open window */
	uint64_t wend;            /* its end, t0 + (kcur + 1) * dw */
	uint64_t last_ts;
	struct eng_csamples cur;  /* the open window's */
	int in_run;
	size_t run_k0;
	uint64_t run_rel;
	struct eng_csamples run;  /* the run's so far */
	struct eng_run *defer;
	size_t ndefer, cdefer;
	struct eng_csamples ev;   /* the runs judged convoys: the evidence */
};

/* A wait that ended before the release that woke it was seen (the release's time is
 * taken before the real release, a waiter may return first): matched when it comes. */
struct eng_early {
	uint64_t begin_seq, end_seq;
	uint32_t stack;
	uint8_t kind;
	uint32_t key;             /* the waiting thread */
};
#define ENG_EARLY 16
#define ENG_UNK 1024
/* Threads of an object up to which a scan finds one's state (past that, th_ix). */
#define ENG_OTHR_SCAN 16
/* Slots of the direct-mapped cache in front of ct_eng's taken_ix. */
#define ENG_TAKEN_CACHE 16

struct eng_obj {
	/* what most events change, together in the first lines (the histograms and the
	 * result are large) */
	int seen;
	unsigned nearly;
	uint64_t cur;                   /* sync waits in progress */
	/* the waits in progress, each in a slot of ip (id nonzero) that stays its own while it
	 * lasts (eng_wait.ipslot), so that a release costs what is new since the last one,
	 * not the number waiting: the old ones are counted (nold), the others listed
	 * (newl, slots); the ended ones keep their slots, listed apart (endl), until time
	 * passes their end */
	struct eng_inprog *ip;
	size_t nip, cip;                /* slots made */
	uint32_t *ipfree;               /* the free slots */
	size_t nfree, cfree;
	uint32_t *newl;
	size_t nnew, cnew;
	size_t nold;
	uint32_t *endl;
	size_t nended, cended;
	struct eng_rel *ring;           /* rcap (a power of two) entries */
	unsigned rhead, rn, rcap;
	unsigned rlim;                  /* what rcap may grow to (ring_fit; 0: not set) */
	unsigned rinv;                  /* releases in the ring whose seq is below the one's
					 * before (two threads' releases crossing) */
	int have_prev;
	uint64_t prev_rel;
	uint64_t epoch, zero_at;
	int zero_armed;
	uint32_t last_owner_obs;
	uint32_t owner;                 /* owner at the end (0 unknown) */
	int owner_acq;
	uint64_t owner_ts;
	uint64_t owner_acq_end;
	uint32_t owner_acq_stack;
	int unk_fallback;               /* estimates may use the median of all holds */
	struct eng_othr *th;
	size_t nth, cth;
	uint32_t th_cache[16];         /* by tid % 16: index in th + 1 (0 none) */
	struct ct_htab th_ix;          /* past ENG_OTHR_SCAN threads: tid + 1 -> index in th */
	struct eng_conv *cv;
	uint64_t max_by, max_prev;      /* the wait that last raised max_waiters, and the
					 * maximum before it (a released barrier call is no
					 * wait: its raise is undone) */
	uint64_t acq_med, acq_med_n;    /* the median of acq_h, when it had acq_med_n holds */
	uint64_t *unk;                  /* releases with nothing proven before the first exact
					 * hold: (ts, earliest start) pairs, estimated when it
					 * comes (at most ENG_UNK, then unk_fallback) */
	size_t nunk, cunk;
	struct ct_underlock *ul;        /* underlock.c: calls and waits made under it */
	size_t nul, cul;
	struct ct_object o;
	struct eng_early *early;        /* ENG_EARLY of them, NULL until the first */
	unsigned cearly;
	struct ct_lhist wait_h, wake_h, hold_h;
	struct ct_lhist acq_h;          /* the exact holds (from an acquisition that ended a
					 * wait): the sample an estimated hold is drawn from */
};

struct eng_entry {
	/* what a sample changes, together: its total and the object of the longest next to
	 * the histogram's head (n and max: the entry's count and maximum); in e at the end */
	uint64_t total_ns, max_obj;
	struct ct_lhist h;
	struct ct_pentry e;
};

struct eng_site {
	struct ct_callsite c;
	int has_snap;
	uint64_t done_calls, done_ns; /* matched calls that ended by the latest snapshot */
	uint64_t (*pend)[2];          /* matched calls ending after it: end, duration */
	size_t npend, cpend;
};

/* A recorded call no call site of its thread's table names (yet). */
struct eng_unplaced {
	uint32_t key, tid;
	uint8_t kind, fd_class, nosite;
	uint64_t end, d;
};

struct ct_eng {
	struct ct_analysis *a;
	const struct ct_filter *f;
	const unsigned char *sel_keys; /* by key: selected (NULL: by tid only) */
	size_t nsel_keys;
	uint64_t from, to;             /* window, absolute; to UINT64_MAX: the end */
	int window;                    /* --from/--to given */
	int crossed, cut;              /* the window's start passed; its end reached */
	uint64_t dw;                   /* convoy window width used */
	uint64_t start_ts;             /* the trace start */
	uint64_t cut_ts;               /* where the analysed time ended */
	uint64_t next_id;
	int convoy_used;               /* some object has convoy windows */
	int convoy_overflow;           /* an object reached CT_CONVOY_MAX_WINDOWS windows: the
					* width was too small for the trace's length */
	struct eng_thread *th;
	size_t nth, cth;
	struct ct_htab th_by_key;
	uint32_t *keyix;               /* key -> index in th (UINT32_MAX: none) */
	size_t nkeyix, ckeyix;
	struct eng_obj *obj;
	size_t nobj, cobj;
	struct { uint64_t addr; uint32_t ix; } obj_cache[64]; /* direct-mapped by address,
							       * ix + 1 (0 empty, UINT32_MAX
							       * no object) */
	struct ct_htab obj_by_addr;
	struct eng_entry *ent;
	size_t nent, cent;
	struct { uint64_t key; uint32_t ix; } ent_cache[256]; /* direct-mapped, key 0 empty */
	struct {                       /* the same for entries split by thread or object */
		uint64_t word, obj;    /* word 0: empty */
		uint32_t key, ix;
	} kent_cache[1024];
	struct ct_htab ent_by_key;
	struct eng_site *site;
	size_t nsite, csite;
	struct ct_htab site_by_key;
	struct eng_unplaced *unpl;
	size_t nunpl, cunpl;
	struct ct_observer *obs;       /* NULL, or the unit tests' */
	struct ct_chain_link *links;   /* at the cut */
	size_t nlinks, clinks;
	struct eng_taken *taken;       /* objects.c: where the releasers took the lock, per
					* (kind, releasing stack), for the holder entries */
	size_t ntaken, ctaken;
	struct ct_htab taken_ix;       /* (kind, stack) -> index in taken */
	uint32_t taken_cache[ENG_TAKEN_CACHE]; /* (stack ^ kind) % size -> index + 1 */
	struct lo_state *lo;           /* lock-order edges (lockorder.c) */
	struct ann_state *ann;         /* tasks, regions, logs, labels (regions.c) */
};

struct eng_taken {
	uint8_t kind;
	uint32_t stack;
	struct eng_stks at;
};

/* engine.c */
struct ct_eng *ct_eng_new(struct ct_analysis *a, const struct ct_filter *f,
			  uint64_t start_ts, uint64_t dw);
void ct_eng_event(struct ct_eng *e, const struct ct_eng_ev *x);
/* Ends the pass at end_ts (the trace end); keys map to model thread indexes with
 * key_to_thr (NULL: the same). Fills e->a; frees the engine. */
void ct_eng_finish(struct ct_eng *e, const struct ct_model *m, uint64_t end_ts,
		   const uint32_t *key_to_thr, size_t nkeys);
/* ct_eng_thread past the direct index: by the table, or a thread not seen before. */
struct eng_thread *ct_eng_thread_slow(struct ct_eng *e, uint32_t key, uint32_t tid);
/* The thread of key (tid: its tid, for one not seen before). Inline for the direct index
 * (a thread's events come together). */
static inline struct eng_thread *ct_eng_thread(struct ct_eng *e, uint32_t key, uint32_t tid)
{
	if (key < e->nkeyix && e->keyix[key] != UINT32_MAX)
		return &e->th[e->keyix[key]];
	return ct_eng_thread_slow(e, key, tid);
}
int ct_eng_mutex_like(unsigned kind);

/* entries.c */
/* A sample of v (n >= 1 times) of thread key; obj: the object waited on or released (0
 * none), a sync entry's max_obj. key and obj split entries only when the filter's
 * entry_keys asks for them. */
void ct_ent_add_slow(struct ct_eng *e, int profile, unsigned kind, unsigned fd_class,
		     uint32_t stack, uint64_t v, uint64_t n, uint64_t obj, uint32_t key);
/* The word a stack entry of no split keys is cached under (its fields fit one word), and
 * its slot in the cache in front of the table. */
static inline uint64_t ct_ent_word(int profile, unsigned kind, unsigned cls, uint64_t stack)
{
	return stack | (uint64_t)kind << 32 | (uint64_t)cls << 40 | (uint64_t)profile << 48 |
	       1ull << 63;
}

static inline unsigned ct_ent_slot(int profile, unsigned kind, uint64_t id)
{
	return (unsigned)((id * 0x9e3779b1u) >> 24 ^ kind ^ (unsigned)profile << 4) & 255;
}

/* The sample's part of ct_ent_add once its entry is found. */
static inline void ct_ent_sample(struct eng_entry *x, int profile, uint64_t v, uint64_t n,
				 uint64_t obj)
{
	if (profile == CT_AP_SYNC && (!x->h.n || v > x->h.max))
		x->max_obj = obj;
	x->total_ns += v * n;
	ct_lhist_add(&x->h, v, n); /* count, max and the log2 histogram from it at the end */
}

/* Inline for the common case, an entry of no split keys in the cache: several per wait. */
static inline void ct_ent_add(struct ct_eng *e, int profile, unsigned kind, unsigned fd_class,
			      uint32_t stack, uint64_t v, uint64_t n, uint64_t obj, uint32_t key)
{
	unsigned slot = ct_ent_slot(profile, kind, stack);

	if ((!e->f || !e->f->entry_keys) &&
	    e->ent_cache[slot].key == ct_ent_word(profile, kind, fd_class, stack))
		ct_ent_sample(&e->ent[e->ent_cache[slot].ix], profile, v, n, obj);
	else
		ct_ent_add_slow(e, profile, kind, fd_class, stack, v, n, obj, key);
}
/* A remainder entry's part: calls of one call site of thread key beyond its recorded
 * ones. */
void ct_ent_remainder(struct ct_eng *e, int profile, unsigned kind, unsigned fd_class,
		      uint64_t pc, uint64_t calls, uint64_t ns, uint64_t max_ns, uint32_t key);
/* The entries into the result; thread keys map to model threads with key_to_thr (NULL:
 * the same). */
void ct_ent_finish(struct ct_eng *e, const uint32_t *key_to_thr, size_t nkeys);
/* The order of entries in a result (qsort comparator over struct ct_pentry). */
int ct_ent_cmp(const void *pa, const void *pb);
/* The order of objects in a result (qsort comparator over struct ct_object). */
int ct_obj_cmp(const void *pa, const void *pb);

/* syscalls.c */
void ct_sys_event(struct ct_eng *e, struct eng_thread *t, const struct ct_eng_ev *x);
void ct_sys_site(struct ct_eng *e, struct eng_thread *t, const struct ct_eng_ev *x);
void ct_sys_finish(struct ct_eng *e);

/* objects.c */
/* An address's slot in e->obj_cache. */
static inline unsigned ct_obj_slot(uint64_t addr)
{
	return (unsigned)((addr * 0x9e3779b97f4a7c15ull) >> 58);
}

/* ct_obj_find past its cache. */
struct eng_obj *ct_obj_find_slow(struct ct_eng *e, uint64_t addr);
/* The object at addr, NULL when there is none. Inline for the cache's hit: most events
 * name an object seen just before. */
static inline struct eng_obj *ct_obj_find(struct ct_eng *e, uint64_t addr)
{
	unsigned slot = ct_obj_slot(addr);

	if (e->obj_cache[slot].ix && e->obj_cache[slot].addr == addr)
		return e->obj_cache[slot].ix == UINT32_MAX ? NULL :
		       &e->obj[e->obj_cache[slot].ix - 1];
	return ct_obj_find_slow(e, addr);
}

/* ct_obj_thr past its cache: found in o->th, or added. */
struct eng_othr *ct_obj_thr_slow(struct eng_obj *o, uint32_t tid);
/* Thread tid's state on o (made when new). Inline for the cache's hit. */
static inline struct eng_othr *ct_obj_thr(struct eng_obj *o, uint32_t tid)
{
	uint32_t c = o->th_cache[tid & 15];

	if (c && o->th[c - 1].tid == tid)
		return &o->th[c - 1];
	return ct_obj_thr_slow(o, tid);
}
void ct_obj_begin(struct ct_eng *e, struct eng_thread *t, struct eng_wait *w, uint64_t begin);
/* Ends a registered wait (oix) on its object; returns the release that ended it (valid
 * until the next event), NULL when none is identified. */
const struct eng_rel *ct_obj_end(struct ct_eng *e, struct eng_thread *t, struct eng_wait *w,
				 uint64_t begin, uint64_t end, int unfinished, uint64_t end_seq,
				 unsigned result);
/* A registered wait's object (w->oix != 0). */
static inline struct eng_obj *ct_obj_of(struct ct_eng *e, const struct eng_wait *w)
{
	return &e->obj[w->oix - 1];
}
/* A registered wait's registration undone (a pair that was no wait). */
void ct_obj_unregister(struct ct_eng *e, struct eng_wait *w);
void ct_obj_release(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev);
void ct_obj_hold(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev);
void ct_obj_finish(struct ct_eng *e);

/* convoy.c */
/* The time from c->last_ts to `to` (later), with o's waiters, into window w. */
static inline void ct_conv_queue_time(struct eng_conv *c, const struct eng_obj *o,
				      struct eng_win *w, uint64_t to)
{
	w->q_int += o->cur * (to - c->last_ts);
	if (o->cur)
		w->busy += to - c->last_ts;
	c->last_ts = to;
}

/* The open window (c->kcur), once there are windows: the last stored. */
static inline struct eng_win *ct_conv_open(struct eng_conv *c)
{
	return &c->win[c->nwin - 1];
}

/* ct_conv_advance past the open window, or the first time. */
void ct_conv_advance_slow(struct ct_eng *e, struct eng_obj *o, uint64_t ts);
/* Time moves on to ts on o: the waiters since the last call counted into the open window
 * (windows that ended closed and judged). Inline for the common case, a time in the open
 * window: several per wait. */
static inline void ct_conv_advance(struct ct_eng *e, struct eng_obj *o, uint64_t ts)
{
	struct eng_conv *c = o->cv;

	if (ts < e->from)
		ts = e->from;
	if (c->nwin && !e->convoy_overflow && ts >= c->last_ts && ts < c->wend) {
		if (ts > c->last_ts)
			ct_conv_queue_time(c, o, ct_conv_open(c), ts);
		return;
	}
	ct_conv_advance_slow(e, o, ts);
}
void ct_conv_acquire(struct ct_eng *e, struct eng_obj *o, uint64_t ts, uint64_t wait,
		     int handoff, uint64_t hand, uint32_t stack);
void ct_conv_release(struct ct_eng *e, struct eng_obj *o, uint64_t ts, uint64_t held_from,
		     uint32_t stack);
/* Adds a hold [from, ts] estimated late (its release is past) to the windows' held time. */
void ct_conv_held(struct ct_eng *e, struct eng_obj *o, uint64_t from, uint64_t ts);
void ct_conv_finish(struct ct_eng *e, struct eng_obj *o);
/* The detector's verdict on the object now (ctrace top): 1 when its run of queued windows
 * in progress would be a convoy if it ended now (*run: its length in windows), or, with
 * no run in progress (*run 0), when a window ending after since is a convoy window. */
int ct_conv_now(const struct ct_eng *e, const struct eng_obj *o, uint64_t since, size_t *run);
void ct_conv_free(struct eng_conv *c);
/* stkcount.c. ct_stks_add past the stack added to last. */
void ct_stks_add_slow(struct eng_stks *s, uint32_t stack, uint64_t n);
/* Adds n to stack's count in s. Inline for the common case, the stack added to last. */
static inline void ct_stks_add(struct eng_stks *s, uint32_t stack, uint64_t n)
{
	if (s->last < s->n && s->v[s->last].stack == stack)
		s->v[s->last].n += n;
	else
		ct_stks_add_slow(s, stack, n);
}
/* Adds s's counts to d's. */
void ct_stks_merge(struct eng_stks *d, const struct eng_stks *s);
/* The stack with the most counts, the smallest id on a tie (0 if none). */
uint32_t ct_stks_top(const struct eng_stks *s);
/* Empties s: its array kept, its index (if any) freed. */
void ct_stks_clear(struct eng_stks *s);
/* Frees what s holds and empties it (it may be freed again). */
void ct_stks_free(struct eng_stks *s);

/* chains.c */
void ct_chain_cut(struct ct_eng *e, uint64_t to);
void ct_chain_finish(struct ct_eng *e, const uint32_t *key_to_thr, size_t nkeys);

/* underlock.c */
/* A recorded system call of t at ts (clipped to the window: b, en). */
void ct_ul_call(struct ct_eng *e, struct eng_thread *t, uint64_t ts, uint64_t b, uint64_t en,
		uint32_t stack, unsigned kind, unsigned profile);
/* A HOLD of t: obj held across its next wait, taken at stack. */
void ct_ul_hold(struct ct_eng *e, struct eng_thread *t, uint64_t ts, uint64_t obj,
		uint32_t stack);
/* ct_ul_wait for a thread with HOLDs. */
void ct_ul_wait_held(struct ct_eng *e, struct eng_thread *t, uint64_t b, uint64_t en,
		     uint32_t stack, unsigned kind, unsigned profile);
/* A wait of t that ended (clipped): charged to the locks its HOLDs named. Inline for the
 * common case, none. */
static inline void ct_ul_wait(struct ct_eng *e, struct eng_thread *t, uint64_t b, uint64_t en,
			      uint32_t stack, unsigned kind, unsigned profile)
{
	if (t->nulh)
		ct_ul_wait_held(e, t, b, en, stack, kind, profile);
}
/* t held o from h0 to t1 (proven): its recorded calls in it are charged to o. */
void ct_ul_held(struct ct_eng *e, struct eng_thread *t, struct eng_obj *o, uint64_t h0,
		uint64_t t1, uint32_t taken);
/* Moves o's entries into its result (sorted by total), or frees them. */
void ct_ul_finish(struct eng_obj *o, int keep);

/* idle.c */
/* Is a wait or call of (profile, kind) an idle one (a cond, epoll, poll or select wait,
 * a sleep)? */
static inline int ct_idle_kind(unsigned profile, unsigned kind)
{
	return kind == CT_K_COND || kind == CT_K_EPOLL || kind == CT_K_POLL ||
	       kind == CT_K_SELECT || profile == CT_P_SLEEP;
}

/* ct_idle_add for an idle one. */
void ct_idle_keep(struct eng_thread *t, unsigned profile, unsigned kind, unsigned fd_class,
		  uint32_t stack, uint64_t d);
/* A wait or recorded call of t (clipped duration d): kept when idle (the check inline, as
 * it is made at every wait). */
static inline void ct_idle_add(struct eng_thread *t, unsigned profile, unsigned kind,
			       unsigned fd_class, uint32_t stack, uint64_t d)
{
	if (ct_idle_kind(profile, kind))
		ct_idle_keep(t, profile, kind, fd_class, stack, d);
}
/* lockorder.c */
void ct_lo_event(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev);
void ct_lo_finish(struct ct_eng *e, const uint32_t *key_to_thr, size_t nkeys);

/* regions.c, tasks.c: annotations (ctrace_annotate.h) */
void ct_ann_event(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev);
/* A wait or recorded call of t's ended: own ns of profile, for its open regions. */
void ct_ann_blocked(struct ct_eng *e, struct eng_thread *t, unsigned profile, uint64_t own);
/* t ended at ts: its open regions end there (unfinished). */
void ct_ann_thread_end(struct ct_eng *e, struct eng_thread *t, uint64_t ts);
void ct_ann_finish(struct ct_eng *e, uint64_t end_ts, const uint32_t *key_to_thr,
		   size_t nkeys);
/* A sample of a waiter profile entry made by t now (on obj, 0 none): its labelled part
 * (ct_lsample), split by thread and object as the entries are. */
void ct_ann_sample(struct ct_eng *e, struct eng_thread *t, int profile, unsigned kind,
		   unsigned fd_class, uint32_t stack, uint64_t d, uint64_t obj);
/* ct_ann_keep with a --region or --label filter. */
int ct_ann_keep_slow(struct ct_eng *e, struct eng_thread *t);
/* Does the filter's --region / --label keep what t does now? (1 without them: inline, as
 * it is asked at every wait.) */
static inline int ct_ann_keep(struct ct_eng *e, struct eng_thread *t)
{
	return !e->f || (!e->f->region && !e->f->label_key) || ct_ann_keep_slow(e, t);
}

/* threads.c */
void ct_threads_finish(struct ct_eng *e, const struct ct_model *m, const uint32_t *key_to_thr,
		       size_t nkeys);

#endif
