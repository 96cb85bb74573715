/* SPDX-License-Identifier: MIT */
/*
 * Objects (engine.h), fed in time order: the sync waits in progress on each object (for
 * the most waiters at once, the holder charges and the convoy windows), the ring of its
 * recent releases (a wait is matched to the release that ended it by sequence number,
 * and a barrier wait by time), the hold each recorded release ends (exact from an
 * acquisition that ended a wait when waits covered it, else the median exact hold
 * clamped to what the events prove and allow: README.md "Holds"), owner changes, and
 * the state the wait chains read at the end: the owner, each thread's latest
 * acquisition and HOLD record.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "util.h"

struct eng_obj *ct_obj_find_slow(struct ct_eng *e, uint64_t addr)
{
	unsigned slot = ct_obj_slot(addr);
	uint32_t ix = ct_htab_get(&e->obj_by_addr, ct_htab_key(addr, 0x33, 0));

	/* an address that is no object is cached too (a condition variable's mutex
	 * that is never waited for), until get makes it one */
	e->obj_cache[slot].addr = addr;
	e->obj_cache[slot].ix = ix == UINT32_MAX ? UINT32_MAX : ix + 1;
	return ix == UINT32_MAX ? NULL : &e->obj[ix];
}

/* get for an object that is new, or not seen with a kind yet. */
static struct eng_obj *get_slow(struct ct_eng *e, struct eng_obj *o, uint64_t addr,
				unsigned kind, uint32_t stack, uint64_t ts)
{
	if (!o) {
		unsigned slot = ct_obj_slot(addr);

		ct_grow(&e->obj, &e->cobj, e->nobj + 1, sizeof(*e->obj));
		o = &e->obj[e->nobj];
		memset(o, 0, sizeof(*o));
		o->o.addr = addr;
		ct_htab_put(&e->obj_by_addr, ct_htab_key(addr, 0x33, 0), (uint32_t)e->nobj);
		e->obj_cache[slot].addr = addr;
		e->obj_cache[slot].ix = (uint32_t)++e->nobj;
	}
	if (!o->seen && kind) {
		o->seen = 1;
		o->o.kind = (uint8_t)kind;
		o->o.first_stack = stack;
		o->o.first_ts = ts;
		o->o.mutex_like = ct_eng_mutex_like(kind);
		if (o->o.mutex_like && e->dw) {
			o->cv = ct_xcalloc(1, sizeof(*o->cv));
			e->convoy_used = 1;
		}
	}
	return o;
}

/* The object at addr, made when new; its kind, first stack and time are those of its
 * first event with a kind (kind 0: none, a HOLD's). */
static inline struct eng_obj *get(struct ct_eng *e, uint64_t addr, unsigned kind,
				  uint32_t stack, uint64_t ts)
{
	struct eng_obj *o = ct_obj_find(e, addr);

	if (o && (o->seen || !kind))
		return o;
	return get_slow(e, o, addr, kind, stack, ts);
}

struct eng_othr *ct_obj_thr_slow(struct eng_obj *o, uint32_t tid)
{
	uint32_t *c = &o->th_cache[tid & 15];

	if (o->th_ix.slots) {
		uint32_t i = ct_htab_get(&o->th_ix, (uint64_t)tid + 1);

		if (i != UINT32_MAX) {
			*c = i + 1;
			return &o->th[i];
		}
	} else {
		for (size_t i = 0; i < o->nth; i++)
			if (o->th[i].tid == tid) {
				*c = (uint32_t)i + 1;
				return &o->th[i];
			}
	}
	ct_grow(&o->th, &o->cth, o->nth + 1, sizeof(*o->th));
	memset(&o->th[o->nth], 0, sizeof(*o->th));
	o->th[o->nth].tid = tid;
	*c = (uint32_t)o->nth + 1;
	if (o->th_ix.slots)
		ct_htab_put(&o->th_ix, (uint64_t)tid + 1, (uint32_t)o->nth);
	else if (o->nth + 1 > ENG_OTHR_SCAN)
		for (size_t i = 0; i <= o->nth; i++)
			ct_htab_put(&o->th_ix, (uint64_t)o->th[i].tid + 1, (uint32_t)i);
	return &o->th[o->nth++];
}

/* The ring's i-th release from the oldest. */
static struct eng_rel *ring_at(struct eng_obj *o, unsigned i)
{
	return &o->ring[(o->rhead + o->rcap - o->rn + i) & (o->rcap - 1)];
}

/* The ring's limit: room for at least four releases per wait in progress (ENG_RING at
 * least). */
static void ring_fit(struct eng_obj *o)
{
	unsigned cap = o->rlim ? o->rlim : ENG_RING;

	while (cap < 4 * o->cur)
		cap *= 2;
	o->rlim = cap;
}

/* The ring made cap entries long, its releases kept. */
static void ring_grow(struct eng_obj *o, unsigned cap)
{
	struct eng_rel *r = ct_xcalloc(cap, sizeof(*r));

	for (unsigned i = 0; i < o->rn; i++)
		r[i] = *ring_at(o, i);
	free(o->ring);
	o->ring = r;
	o->rcap = cap;
	o->rhead = o->rn & (cap - 1);
}

/* Whether release r may still end a cond wait: a broadcast, or a signal no wait took. */
static inline int cand(const struct eng_rel *r)
{
	return (r->flags & CT_EVF_BROADCAST) || r->woken == 0;
}

/* The ring's first release from i on that may still end a cond wait (rn: none). Taken
 * ones stay taken, so each keeps how far on the next possible one is, and a search
 * shortens those it passed (path compression): waits that many signals ended, in turn,
 * cost about one step each, not one per signal taken before. */
static unsigned next_cand_slow(struct eng_obj *o, unsigned i)
{
	unsigned j = i;

	while (j < o->rn && !cand(ring_at(o, j)))
		j += ring_at(o, j)->skip;
	while (i < j && i < o->rn) {
		struct eng_rel *r = ring_at(o, i);
		unsigned next = i + r->skip;

		r->skip = j - i;
		i = next;
	}
	return j;
}

static inline unsigned next_cand(struct eng_obj *o, unsigned i)
{
	return i >= o->rn || cand(ring_at(o, i)) ? i : next_cand_slow(o, i);
}

/* A release (at ts, sequence seq, by tid from stack, flags) goes into the ring, the oldest
 * out when it holds its limit (its memory grows up to that as releases come: an object
 * released a few times takes a few entries, not ENG_RING). Returns its entry, its fields
 * stored one by one (ip_add says why). */
static struct eng_rel *ring_put(struct eng_obj *o, uint64_t ts, uint64_t seq, uint32_t tid,
				uint32_t stack, uint16_t flags)
{
	struct eng_rel *d;

	if (o->rn == o->rcap) {
		if (!o->rlim)
			ring_fit(o);
		if (o->rcap < o->rlim)
			ring_grow(o, o->rcap ? 2 * o->rcap : 4);
	}
	unsigned mask = o->rcap - 1;

	/* full: the oldest (at rhead) goes, and the inversion after it */
	if (o->rn == o->rcap && o->ring[(o->rhead + 1) & mask].seq < o->ring[o->rhead].seq)
		o->rinv--;
	if (o->rn && seq < o->ring[(o->rhead - 1) & mask].seq)
		o->rinv++;
	d = &o->ring[o->rhead];
	d->ts = ts;
	d->seq = seq;
	d->woken = 0;
	d->tid = tid;
	d->stack = stack;
	d->flags = flags;
	d->skip = 1;
	o->rhead = (o->rhead + 1) & mask;
	if (o->rn < o->rcap)
		o->rn++;
	return d;
}

static void owner_obs(struct eng_obj *o, uint32_t tid)
{
	if (o->last_owner_obs && tid != o->last_owner_obs)
		o->o.owner_changes++;
	o->last_owner_obs = tid;
}

/* Evidence that tid holds o at ts (a HOLD, or another thread's wait naming it the owner):
 * the start of its current hold as far as it is proven, unless an earlier one stands. */
static void evidence(struct eng_obj *o, uint32_t tid, uint64_t ts, uint32_t taken)
{
	struct eng_othr *h = ct_obj_thr(o, tid);

	if (!h->ev_valid || h->ev_epoch != o->epoch || h->ev_ts > ts) {
		h->ev_valid = 1;
		h->ev_acq = 0;
		h->ev_ts = ts;
		h->ev_epoch = o->epoch;
		h->ev_stack = 0;
	}
	if (taken && (!h->ev_stack || !h->ev_acq))
		h->ev_stack = taken;
	if (!h->ev_stack && h->any_acq)
		h->ev_stack = h->any_acq_stack; /* where it last took it after a wait */
}

/* A moment with no wait in progress breaks a hold's cover, unless a wait begins at the
 * same ns (closed intervals): the break counts once time moves on. */
static void settle(struct eng_obj *o, uint64_t ts)
{
	if (o->zero_armed && ts > o->zero_at) {
		o->epoch++;
		o->zero_armed = 0;
	}
}

/* Slot s is free again. */
static inline void slot_free(struct eng_obj *o, uint32_t s)
{
	o->ip[s].id = 0;
	ct_grow(&o->ipfree, &o->cfree, o->nfree + 1, sizeof(*o->ipfree));
	o->ipfree[o->nfree++] = s;
}

/* The ended waits that time has passed (they ended before ts) give their slots back. */
static inline void purge(struct eng_obj *o, uint64_t ts)
{
	size_t k = 0;

	if (!o->nended)
		return;
	for (size_t i = 0; i < o->nended; i++)
		if (o->ip[o->endl[i]].end >= ts)
			o->endl[k++] = o->endl[i];
		else
			slot_free(o, o->endl[i]);
	o->nended = k;
}

/* Slot s goes on the list of waits not charged yet. */
static void new_add(struct eng_obj *o, uint32_t s)
{
	ct_grow(&o->newl, &o->cnew, o->nnew + 1, sizeof(*o->newl));
	o->ip[s].nix = (uint32_t)o->nnew;
	o->newl[o->nnew++] = s;
}

/* Slot s leaves that list (its place taken by the last). */
static void new_drop(struct eng_obj *o, uint32_t s)
{
	uint32_t i = o->ip[s].nix, last = o->newl[--o->nnew];

	o->newl[i] = last;
	o->ip[last].nix = i;
}

/* The wait id of thread tid, begun at begin, registered in progress in a slot of its own,
 * which is returned. Its fields are stored one by one: a struct built on the stack and
 * copied whole was read back wider than it was written (a store-forwarding stall per
 * wait). */
static uint32_t ip_add(struct eng_obj *o, uint64_t id, uint64_t begin, uint32_t tid,
		       uint8_t kind)
{
	struct eng_inprog *p;
	uint32_t s;

	if (o->nfree) {
		s = o->ipfree[--o->nfree];
	} else {
		ct_grow(&o->ip, &o->cip, o->nip + 1, sizeof(*o->ip));
		s = (uint32_t)o->nip++;
	}
	p = &o->ip[s];
	p->id = id;
	p->begin = begin;
	p->end = UINT64_MAX;
	p->tid = tid;
	p->kind = kind;
	p->old = 0;
	new_add(o, s);
	return s;
}

void ct_obj_begin(struct ct_eng *e, struct eng_thread *t, struct eng_wait *w, uint64_t begin)
{
	struct eng_obj *o = get(e, w->obj, w->kind, w->stack, begin);

	w->oix = (uint32_t)(o - e->obj) + 1;
	purge(o, begin);
	w->ipslot = ip_add(o, w->id, begin, t->tid, w->kind);
	if (o->cv)
		ct_conv_advance(e, o, begin);
	if (!o->cur && o->zero_armed) {
		if (begin == o->zero_at)
			o->zero_armed = 0;
		else
			settle(o, begin);
	}
	o->cur++;
	if (4 * o->cur > o->rlim)
		ring_fit(o);
	if (o->cur > o->o.max_waiters) {
		o->max_by = w->id;
		o->max_prev = o->o.max_waiters;
		o->o.max_waiters = o->cur;
	}
	ct_obj_thr(o, t->tid)->has_pend = 0;
	if (w->kind == CT_K_MUTEX && w->arg && !w->synthetic) {
		owner_obs(o, (uint32_t)w->arg);
		if ((uint32_t)w->arg != t->tid) {
			o->owner = (uint32_t)w->arg;
			o->owner_ts = begin;
			o->owner_acq = 0;
			evidence(o, (uint32_t)w->arg, begin, 0);
		}
	}
	if (w->kind == CT_K_COND && w->arg) {
		/* the wait releases its mutex: the thread's hold of it ends here */
		struct eng_obj *m = ct_obj_find(e, w->arg);
		struct eng_othr *h = m ? ct_obj_thr(m, t->tid) : NULL;

		if (h && h->ev_valid && h->ev_epoch == m->epoch)
			ct_ul_held(e, t, m, h->ev_ts, begin, h->ev_stack);
		if (h)
			h->ev_valid = 0;
	}
}

/* Wait w ends in its slot, kept among the ended ones (endl) until purged; removed, it
 * gives the slot back now. */
static inline void drop_inprog(struct eng_obj *o, const struct eng_wait *w, uint64_t end,
			       int remove)
{
	struct eng_inprog *p = &o->ip[w->ipslot]; /* registered: ct_obj_begin */

	if (p->id != w->id)
		return;
	if (p->old)
		o->nold--;
	else
		new_drop(o, w->ipslot);
	if (remove) {
		slot_free(o, w->ipslot);
		return;
	}
	p->end = end;
	ct_grow(&o->endl, &o->cended, o->nended + 1, sizeof(*o->endl));
	o->endl[o->nended++] = w->ipslot;
}

static void one_less(struct ct_eng *e, struct eng_obj *o, uint64_t ts)
{
	if (o->cv)
		ct_conv_advance(e, o, ts);
	if (o->cur)
		o->cur--;
	if (!o->cur) {
		settle(o, ts);
		o->zero_armed = 1;
		o->zero_at = ts;
	}
}

void ct_obj_unregister(struct ct_eng *e, struct eng_wait *w)
{
	struct eng_obj *o = ct_obj_of(e, w);

	drop_inprog(o, w, 0, 1);
	if (o->cur)
		o->cur--;
	if (o->max_by == w->id)
		o->o.max_waiters = o->max_prev;
}

/* The release that ended a wait, from the object's ring, or NULL: a barrier wait's is
 * the first release by another thread while it waited; a cond wait's the earliest
 * unassigned signal (or a broadcast) with seq in (begin seq, end seq]; any other's the one
 * whose seq is the end seq. */
static struct eng_rel *waker(struct eng_obj *o, const struct eng_wait *w, uint32_t tid,
			     uint64_t b, uint64_t en, uint64_t end_seq, unsigned result)
{
	unsigned i;

	if (w->kind == CT_K_BARRIER) {
		/* the ring is in time order: from the first release at or after b */
		unsigned lo = 0, hi = o->rn;

		CT_PARTITION(lo, hi, mid, ring_at(o, mid)->ts < b);
		for (i = lo; i < o->rn && ring_at(o, i)->ts <= en; i++)
			if (ring_at(o, i)->tid != tid)
				return ring_at(o, i);
		return NULL;
	}
	if (end_seq == 0 || end_seq == w->begin_seq)
		return NULL;
	if (w->kind != CT_K_COND) {
		/* sequence numbers mostly count the releases one by one: try its slot */
		if (o->rn && ring_at(o, o->rn - 1)->seq >= end_seq &&
		    ring_at(o, o->rn - 1)->seq - end_seq < o->rn &&
		    ring_at(o, o->rn - 1 - (unsigned)(ring_at(o, o->rn - 1)->seq - end_seq))->seq ==
		    end_seq)
			return ring_at(o, o->rn - 1 - (unsigned)(ring_at(o, o->rn - 1)->seq - end_seq));
		for (i = o->rn; i-- > 0;)
			if (ring_at(o, i)->seq == end_seq)
				return ring_at(o, i);
		return NULL;
	}
	if (result != CT_R_ACQUIRED || end_seq <= w->begin_seq)
		return NULL;
	/* back to the first release after the begin seq (past the last one at or before
	 * it), then forward over those that may still be taken */
	if (!o->rinv) {
		/* seqs in order: the first above the begin seq (mostly where counting the
		 * releases one by one puts it) */
		unsigned lo = 0, hi = o->rn;
		uint64_t last = o->rn ? ring_at(o, o->rn - 1)->seq : 0, back;

		if (last <= w->begin_seq) {
			lo = o->rn;
		} else if ((back = last - w->begin_seq) <= o->rn &&
			   ring_at(o, o->rn - (unsigned)back)->seq == w->begin_seq + 1 &&
			   (back == o->rn ||
			    ring_at(o, o->rn - (unsigned)back - 1)->seq <= w->begin_seq)) {
			lo = hi = o->rn - (unsigned)back;
		}
		CT_PARTITION(lo, hi, mid, ring_at(o, mid)->seq <= w->begin_seq);
		i = lo;
	} else {
		for (i = o->rn; i > 0 && ring_at(o, i - 1)->seq > w->begin_seq; i--)
			;
	}
	for (i = next_cand(o, i); i < o->rn; i = next_cand(o, i + 1)) {
		struct eng_rel *r = ring_at(o, i);

		if (r->seq > w->begin_seq && r->seq <= end_seq)
			return r;
	}
	return NULL;
}

/* Returns the release that ended the wait, NULL when none is identified. */
const struct eng_rel *ct_obj_end(struct ct_eng *e, struct eng_thread *t, struct eng_wait *w,
				 uint64_t b, uint64_t en, int unfinished, uint64_t end_seq,
				 unsigned result)
{
	struct eng_obj *o = ct_obj_of(e, w);
	struct eng_rel *r = NULL;
	uint64_t d = en - b;
	int acq = !unfinished && (result == CT_R_ACQUIRED || result == CT_R_OWNERDEAD);

	drop_inprog(o, w, en, 0);
	one_less(e, o, en);
	o->o.contended++;
	o->o.wait_total_ns += d;
	if (d > o->o.wait_max_ns)
		o->o.wait_max_ns = d;
	ct_lhist_add(&o->wait_h, d, 1); /* and o->o.hist from it at the end */
	o->o.unfinished += (uint64_t)unfinished;
	if (!unfinished && (r = waker(o, w, t->tid, b, en, end_seq, result))) {
		uint64_t wake = en > r->ts ? en - r->ts : 0;

		r->woken++;
		o->o.wakeups++;
		ct_lhist_add(&o->wake_h, wake, 1);
		ct_ent_add(e, CT_AP_WAKEUP, w->kind, CT_FD_UNKNOWN, w->stack, wake, 1,
			   o->o.addr, t->key);
	} else if (!unfinished && w->kind != CT_K_BARRIER && end_seq && end_seq != w->begin_seq &&
		   (!o->rn || ring_at(o, o->rn - 1)->seq < end_seq) &&
		   (w->kind != CT_K_COND || (result == CT_R_ACQUIRED && end_seq > w->begin_seq))) {
		/* its release is not seen yet: it comes next, at a later time */
		if (o->nearly == ENG_EARLY)
			memmove(o->early, o->early + 1, (ENG_EARLY - 1) * sizeof(*o->early));
		else if (++o->nearly > o->cearly) /* made as needed: most objects have none */
			o->early = ct_xrealloc(o->early, (o->cearly = ENG_EARLY) * sizeof(*o->early));
		o->early[o->nearly - 1] = (struct eng_early){ w->begin_seq, end_seq, w->stack,
							      w->kind, t->key };
	}
	if (!acq)
		return r;
	if (w->kind == CT_K_COND && w->arg) {
		/* the wait took its mutex again */
		struct eng_obj *m = ct_obj_find(e, w->arg);

		if (m) {
			evidence(m, t->tid, en, 0);
			ct_obj_thr(m, t->tid)->ev_ts = en;
		}
	}
	{
		struct eng_othr *h = ct_obj_thr(o, t->tid);

		if (o->o.mutex_like) {
			h->ev_valid = 1;
			h->ev_acq = 1;
			h->ev_ts = en;
			h->ev_epoch = o->epoch;
			h->ev_stack = w->stack;
		}

		h->has_pend = 1;
		h->pend_acq = en;
		h->pend_epoch = o->epoch;
		h->acq_valid = 1;
		h->acq_stack = w->stack;
		h->acq_end = en;
		h->any_acq = 1;
		h->any_acq_stack = w->stack;
		h->any_acq_end = en;
	}
	owner_obs(o, t->tid);
	o->owner = t->tid;
	o->owner_ts = en;
	o->owner_acq = 1;
	o->owner_acq_stack = w->stack;
	o->owner_acq_end = en;
	if (o->cv)
		ct_conv_acquire(e, o, en, d, r && r->tid != t->tid && b <= r->ts,
				r && en > r->ts ? en - r->ts : 0, w->stack);
	return r;
}

/* A wait not charged yet, charged to the release ev of o: the time since the previous
 * release on the object, or since its begin if later. Returns 0 when it is not charged
 * (a barrier round's last arrival released it, did not wait: it stays not old). */
static inline int charge_one(struct ct_eng *e, struct eng_obj *o, const struct ct_event *ev,
		      uint32_t tid, uint32_t key, const struct eng_inprog *p)
{
	uint64_t from = p->begin;

	if (p->kind == CT_K_BARRIER && p->tid == tid)
		return 0;
	if (o->have_prev && o->prev_rel > from)
		from = o->prev_rel;
	ct_ent_add(e, CT_AP_HOLDER, ev->kind, CT_FD_UNKNOWN, ev->stack,
		   ev->ts > from ? ev->ts - from : 0, 1, o->o.addr, key);
	if (e->obs) {
		e->obs->charged++;
		e->obs->self_charged += p->tid == tid;
	}
	return 1;
}

/* The unit tests' count of old waits of tid (the releaser) charged again. */
static uint64_t old_of(const struct eng_obj *o, uint32_t tid)
{
	uint64_t n = 0;

	for (size_t i = 0; i < o->nip; i++) /* in progress, or ended and kept */
		n += o->ip[i].id && o->ip[i].old && o->ip[i].tid == tid;
	return n;
}

/* Holder profile: each wait in progress at the release is charged the time since the
 * previous release on the object (or its begin, if later): the old ones (charged by an
 * earlier release, so begun before it) as one sample of their count, the others one by
 * one as they become old. After purge(o, ev->ts). Returns the earliest begin of a wait
 * by another thread that began after the previous release (prev) and by ev, when it is
 * (UINT64_MAX: none): the lock was taken then and not released since. Such a wait was
 * not old. */
static uint64_t charge(struct ct_eng *e, struct eng_obj *o, const struct ct_event *ev,
		       uint32_t tid, uint32_t key, uint64_t prev)
{
	uint64_t nold = o->nold, since = UINT64_MAX;

	for (size_t i = 0; i < o->nended; i++) {
		const struct eng_inprog *p = &o->ip[o->endl[i]];

		nold += p->old;
		if (p->begin > prev && p->begin <= ev->ts && p->end >= ev->ts && p->tid != tid &&
		    p->begin < since)
			since = p->begin;
	}
	if (nold && e->obs) {
		e->obs->charged += nold;
		e->obs->self_charged += old_of(o, tid);
	}
	if (nold)
		ct_ent_add(e, CT_AP_HOLDER, ev->kind, CT_FD_UNKNOWN, ev->stack,
			   ev->ts - o->prev_rel, nold, o->o.addr, key);
	for (size_t i = 0; i < o->nnew;) {
		uint32_t sl = o->newl[i];
		struct eng_inprog *p = &o->ip[sl];

		if (p->begin > prev && p->begin <= ev->ts && p->tid != tid && p->begin < since)
			since = p->begin;
		if (p->begin >= ev->ts || !charge_one(e, o, ev, tid, key, p)) {
			i++;
			continue;
		}
		new_drop(o, sl); /* the last comes to i */
		p->old = 1;
		o->nold++;
	}
	for (size_t i = 0; i < o->nended; i++) {
		struct eng_inprog *p = &o->ip[o->endl[i]];

		if (!p->old && p->begin < ev->ts && charge_one(e, o, ev, tid, key, p))
			p->old = 1;
	}
	return since;
}

/* taken_ix's key of (kind, stack): exact, never 0. */
static uint64_t taken_key(unsigned kind, uint32_t stack)
{
	return ((uint64_t)stack << 8 | (kind & 0xffu)) + 1;
}

/* The releasers of (kind, stack) and where they took the lock, NULL if none yet. */
static struct eng_taken *taken_find(struct ct_eng *e, unsigned kind, uint32_t stack)
{
	uint32_t *c = &e->taken_cache[(stack ^ kind) & (ENG_TAKEN_CACHE - 1)], ix;

	if (*c && e->taken[*c - 1].stack == stack && e->taken[*c - 1].kind == kind)
		return &e->taken[*c - 1];
	ix = ct_htab_get(&e->taken_ix, taken_key(kind, stack));
	if (ix == UINT32_MAX)
		return NULL;
	*c = ix + 1;
	return &e->taken[ix];
}

/* Where the releaser of (kind, stack) took the lock. */
static void taken_add(struct ct_eng *e, unsigned kind, uint32_t stack, uint32_t at)
{
	struct eng_taken *k;

	if (!at)
		return;
	k = taken_find(e, kind, stack);
	if (!k) {
		ct_grow(&e->taken, &e->ctaken, e->ntaken + 1, sizeof(*e->taken));
		ct_htab_put(&e->taken_ix, taken_key(kind, stack), (uint32_t)e->ntaken);
		k = &e->taken[e->ntaken++];
		memset(k, 0, sizeof(*k));
		k->kind = (uint8_t)kind;
		k->stack = stack;
	}
	ct_stks_add(&k->at, at, 1);
}

/* How a recorded release's hold is known (README.md "Holds"). */
enum { HOLD_NONE, HOLD_EXACT, HOLD_BOUNDED, HOLD_ESTIMATED };

/* The typical hold an estimate takes, in *m: the median of the object's exact holds
 * (recomputed when their number changed); without any, once the object stopped waiting
 * for one (unk_fallback), the median of its holds so far (proven ones: biased toward
 * long holds). 0 when there is none. */
static int typical_hold(struct eng_obj *o, uint64_t *m)
{
	if (o->acq_h.n) {
		if (o->acq_med_n != o->acq_h.n) {
			o->acq_med = ct_lhist_pct(&o->acq_h, 50);
			o->acq_med_n = o->acq_h.n;
		}
		*m = o->acq_med;
		return 1;
	}
	if (!o->unk_fallback || !o->hold_h.n)
		return 0;
	*m = ct_lhist_pct(&o->hold_h, 50);
	return 1;
}

/* The hold a release ends whose start is not known from the releaser's acquisition:
 * it began after floor (the previous release, or the releaser's own acquisition that
 * waiters did not cover) and, when proven != UINT64_MAX, by proven (the lock was held
 * from there on). Estimated as the typical hold clamped to what is proven and to the
 * time since floor; proven alone without a typical hold. Returns the estimated start,
 * UINT64_MAX when there is nothing to go on, and the class in *cls. */
static uint64_t estimate_start(struct eng_obj *o, uint64_t ts, uint64_t floor, uint64_t proven,
			       int *cls)
{
	uint64_t lo = proven < ts ? ts - proven : 0, hi = ts > floor ? ts - floor : 0, d;

	*cls = proven != UINT64_MAX ? HOLD_BOUNDED : HOLD_ESTIMATED;
	if (!typical_hold(o, &d)) {
		if (proven == UINT64_MAX)
			*cls = HOLD_NONE;
		return proven;
	}
	if (d > hi)
		d = hi;
	if (d < lo)
		d = lo;
	return ts - d;
}

static void hold_add(struct eng_obj *o, uint64_t d, int cls)
{
	o->o.holds++;
	o->o.hold_total_ns += d;
	ct_lhist_add(&o->hold_h, d, 1);
	if (cls == HOLD_EXACT)
		o->o.holds_exact++;
	else if (cls == HOLD_BOUNDED)
		o->o.holds_bounded++;
	else
		o->o.holds_estimated++;
}

/* The releases kept while there was nothing to go on, estimated now (left out if there
 * still is nothing). */
static void unknown_flush(struct ct_eng *e, struct eng_obj *o)
{
	for (size_t i = 0; i < o->nunk; i++) {
		uint64_t ts = o->unk[2 * i], from;
		int cls;

		from = estimate_start(o, ts, o->unk[2 * i + 1], UINT64_MAX, &cls);
		if (cls == HOLD_NONE)
			continue;
		hold_add(o, ts - from, cls);
		if (o->cv)
			ct_conv_held(e, o, from, ts);
	}
	free(o->unk);
	o->unk = NULL;
	o->nunk = o->cunk = 0;
}

void ct_obj_release(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev)
{
	struct eng_obj *o = get(e, ev->obj, ev->kind, ev->stack, ev->ts);
	struct eng_othr *h = ct_obj_thr(o, t->tid);
	uint64_t held_from = UINT64_MAX, prev = o->have_prev ? o->prev_rel : 0;
	uint64_t floor = o->have_prev ? o->prev_rel : e->from, proven = UINT64_MAX;
	uint64_t seq = ct_ev_release_seq(ev), since;
	int cls = HOLD_NONE;
	struct eng_rel *r;

	settle(o, ev->ts);
	if (o->cv)
		ct_conv_advance(e, o, ev->ts);
	o->o.releases++;
	purge(o, ev->ts);
	r = ring_put(o, ev->ts, seq, t->tid, ev->stack, ev->flags);
	since = charge(e, o, ev, t->tid, t->key, prev);
	/* waits that ended before this release was seen and that it ended (wake-up 0) */
	for (unsigned i = 0; i < o->nearly;) {
		const struct eng_early *x = &o->early[i];
		int match = x->kind == CT_K_COND ?
			    seq > x->begin_seq && seq <= x->end_seq &&
			    ((ev->flags & CT_EVF_BROADCAST) || r->woken == 0) :
			    seq == x->end_seq;

		if (match) {
			r->woken++;
			o->o.wakeups++;
			ct_lhist_add(&o->wake_h, 0, 1);
			ct_ent_add(e, CT_AP_WAKEUP, x->kind, CT_FD_UNKNOWN, x->stack, 0, 1,
				   o->o.addr, x->key);
		}
		if (match || seq >= x->end_seq)
			o->early[i] = o->early[--o->nearly];
		else
			i++;
	}
	/* the hold this release ends: the releaser's own since its acquisition, exact when
	 * waiters covered it (else it began at or after that acquisition), unless it
	 * unlocked a mutex another thread took (a hand-off: that hold's start is found
	 * below, and the releaser's own acquisition, if any, stays pending) */
	if (h->has_pend && !(ev->flags & CT_EVF_HANDOFF)) {
		if (h->pend_epoch == o->epoch) {
			held_from = h->pend_acq;
			cls = HOLD_EXACT;
		} else if (h->pend_acq > floor && h->pend_acq <= ev->ts) {
			floor = h->pend_acq;
		}
	}
	if (!(ev->flags & CT_EVF_HANDOFF) && (h->ev_valid || h->acq_valid))
		taken_add(e, ev->kind, ev->stack,
			  h->ev_valid && h->ev_stack ? h->ev_stack : h->acq_stack);
	if (!(ev->flags & CT_EVF_HANDOFF) && h->ev_valid && h->ev_epoch == o->epoch &&
	    h->ev_ts <= ev->ts && o->o.mutex_like) {
		/* held at least from its first evidence: the calls in it were made under the
		 * lock; a hold not measured from its acquisition is proven from there */
		ct_ul_held(e, t, o, h->ev_ts, ev->ts, h->ev_stack);
		proven = h->ev_ts;
	}
	if (!(ev->flags & CT_EVF_HANDOFF))
		h->ev_valid = 0;
	if (cls == HOLD_NONE) {
		/* and held since the begin of any wait in progress that began after the
		 * previous release (the lock was taken then, and not released since) */
		if (since < proven)
			proven = since;
		held_from = estimate_start(o, ev->ts, floor, proven, &cls);
	}
	if (cls == HOLD_NONE && o->o.mutex_like && !o->unk_fallback) {
		if (o->nunk < ENG_UNK) {
			/* nothing to go on yet: estimated when the first exact hold comes */
			ct_grow(&o->unk, &o->cunk, 2 * (o->nunk + 1), sizeof(*o->unk));
			o->unk[2 * o->nunk] = ev->ts;
			o->unk[2 * o->nunk++ + 1] = floor;
		} else {
			/* too long without one: from the holds there are */
			o->unk_fallback = 1;
			unknown_flush(e, o);
			held_from = estimate_start(o, ev->ts, floor, proven, &cls);
		}
	}
	if (cls != HOLD_NONE && o->o.mutex_like) {
		uint64_t d = ev->ts > held_from ? ev->ts - held_from : 0;

		hold_add(o, d, cls);
		if (cls == HOLD_EXACT) {
			ct_lhist_add(&o->acq_h, d, 1);
			if (o->acq_h.n == 1 && o->nunk)
				unknown_flush(e, o);
		}
	}
	if (!(ev->flags & CT_EVF_HANDOFF))
		h->has_pend = 0;
	h->acq_valid = 0;
	if (h->hold_valid && ev->ts > h->hold_ts)
		h->hold_stale = 1;
	owner_obs(o, t->tid);
	if (ev->kind != CT_K_COND && o->owner == t->tid) {
		o->owner = 0;
		o->owner_acq = 0;
	}
	o->prev_rel = ev->ts;
	o->have_prev = 1;
	if (o->cv)
		ct_conv_release(e, o, ev->ts, held_from, ev->stack);
}

void ct_obj_hold(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev)
{
	struct eng_obj *o = get(e, ev->obj, 0, 0, ev->ts);
	struct eng_othr *h = ct_obj_thr(o, t->tid);

	e->a->nholds++;
	if (!o->seen)
		o->o.kind = ev->kind; /* an object known from HOLDs only */
	evidence(o, t->tid, ev->ts, ev->stack);
	ct_ul_hold(e, t, ev->ts, ev->obj, ev->stack);
	h->hold_valid = 1;
	h->hold_stale = 0;
	h->hold_ts = ev->ts;
	h->hold_stack = ev->stack;
	h->hold_after = ct_ev_hold_after_wait(ev) != 0;
	h->hold_has_acq = h->any_acq;
	h->hold_acq_stack = h->any_acq_stack;
	h->hold_acq_end = h->any_acq_end;
}

int ct_obj_cmp(const void *pa, const void *pb)
{
	const struct ct_object *x = pa, *y = pb;

	if (x->wait_total_ns != y->wait_total_ns)
		return x->wait_total_ns > y->wait_total_ns ? -1 : 1;
	if (x->contended != y->contended)
		return x->contended > y->contended ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

void ct_obj_finish(struct ct_eng *e)
{
	struct ct_analysis *a = e->a;

	a->objs = ct_xcalloc(e->nobj ? e->nobj : 1, sizeof(*a->objs));
	for (size_t i = 0; i < e->nobj; i++) {
		struct eng_obj *o = &e->obj[i];
		struct ct_object *ob = &o->o;

		if (o->nunk) {
			/* no exact hold came: from the holds there are */
			o->unk_fallback = 1;
			unknown_flush(e, o);
		}
		if (o->seen && (ob->contended || ob->releases)) {
			ob->wait_p50_ns = ct_lhist_pct(&o->wait_h, 50);
			ob->wait_p99_ns = ct_lhist_pct(&o->wait_h, 99);
			ct_lhist_log2(&o->wait_h, ob->hist.count);
			ob->wakeup_p50_ns = ct_lhist_pct(&o->wake_h, 50);
			ob->wakeup_p99_ns = ct_lhist_pct(&o->wake_h, 99);
			ob->wakeup_max_ns = o->wake_h.max;
			ob->hold_p50_ns = ct_lhist_pct(&o->hold_h, 50);
			ob->hold_p99_ns = ct_lhist_pct(&o->hold_h, 99);
			ob->hold_max_ns = o->hold_h.n ? o->hold_h.max : 0;
			if (o->cv && ob->contended)
				ct_conv_finish(e, o);
			if (ob->holds)
				ob->hold_mean_ns = ob->hold_total_ns / ob->holds;
			ct_ul_finish(o, 1);
			a->objs[a->nobjs++] = *ob;
		} else if (o->nul) {
			/* held across calls but never contended: its own entry */
			ct_ul_finish(o, 1);
			a->objs[a->nobjs++] = *ob;
		} else {
			ct_ul_finish(o, 0);
		}
		if (o->cv) {
			ct_conv_free(o->cv);
			free(o->cv);
		}
		ct_lhist_reset(&o->wait_h);
		ct_lhist_reset(&o->wake_h);
		ct_lhist_reset(&o->hold_h);
		ct_lhist_reset(&o->acq_h);
		free(o->unk);
		free(o->early);
		free(o->ip);
		free(o->ipfree);
		free(o->newl);
		free(o->endl);
		free(o->th);
		ct_htab_free(&o->th_ix);
		free(o->ring);
	}
	if (a->nobjs > 1)
		qsort(a->objs, a->nobjs, sizeof(*a->objs), ct_obj_cmp);
	free(e->obj);
	for (size_t i = 0; i < a->nentries; i++) {
		const struct eng_taken *k = a->entries[i].profile == CT_AP_HOLDER ?
			taken_find(e, a->entries[i].kind, a->entries[i].stack) : NULL;

		if (k)
			a->entries[i].taken_stack = ct_stks_top(&k->at);
	}
	for (size_t k = 0; k < e->ntaken; k++)
		ct_stks_free(&e->taken[k].at);
	free(e->taken);
	ct_htab_free(&e->taken_ix);
	ct_htab_free(&e->obj_by_addr);
}
