/* SPDX-License-Identifier: MIT */
/*
 * Lock-order inversions (README.md, "Lock order"): every LOCK_ORDER event is an edge
 * held -> lock of the lock graph, kept once per (held, lock, read or not on each side)
 * over the whole analysed trace, whichever thread recorded it and whether or not that
 * thread has exited. At the end the cycles of the graph are found: the strongly connected
 * components first (Tarjan), then, for each edge of a component not yet on a reported
 * cycle, the shortest path back from its lock to its held lock (breadth-first), which
 * closes a cycle. As in lockdep, a cycle does not pass through an rwlock that one edge
 * acquires for reading while the next holds it for reading (readers do not wait for each
 * other). The outputs' views of the cycles are in lockorder_out.c (lockorder.h).
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "util.h"

#define LO_MAX_CYCLES 64

struct lo_state {
	struct ct_lo_edge *ed;
	size_t n, cap;
	struct ct_lo_edge *full;     /* the edges flagged CT_EVF_LO_FULL, one per thread */
	size_t nfull, capfull;
	struct ct_htab by_key;
};

static int is_rd(unsigned kind)
{
	return kind == CT_K_RWLOCK_RD;
}

void ct_lo_event(struct ct_eng *e, struct eng_thread *t, const struct ct_event *ev)
{
	struct lo_state *s = e->lo;
	const struct ct_lo_edge ed = {
		.lock = ev->obj, .held = ct_ev_lock_order_held(ev), .ts = ev->ts, .kind = ev->kind,
		.held_kind = (uint8_t)ct_ev_lock_order_held_kind(ev), .acquired_stack = ev->stack,
		.held_stack = ct_ev_lock_order_held_stack(ev), .tid = t->tid, .thr = t->key
	};
	uint64_t key;

	if (!s)
		s = e->lo = ct_xcalloc(1, sizeof(*s));
	if (ev->flags & CT_EVF_LO_FULL) {
		ct_grow(&s->full, &s->capfull, s->nfull + 1, sizeof(*s->full));
		s->full[s->nfull++] = ed;
	}
	if (ed.held == ed.lock)
		return;
	key = ct_htab_key(ed.held, ed.lock,
			  (uint64_t)is_rd(ed.held_kind) << 1 | (uint64_t)is_rd(ed.kind));
	if (ct_htab_get(&s->by_key, key) != UINT32_MAX)
		return;
	ct_grow(&s->ed, &s->cap, s->n + 1, sizeof(*s->ed));
	s->ed[s->n] = ed;
	ct_htab_put(&s->by_key, key, (uint32_t)s->n);
	s->n++;
}

/* The graph: nodes are locks; out[off[u] .. off[u + 1]) the edges leaving node u. */
struct graph {
	size_t nn, ne;
	uint64_t *node;          /* address of node i */
	uint32_t *from, *to;     /* per edge: its held lock's node, its lock's node */
	uint32_t *off, *out;     /* edges by source node */
	uint32_t *comp;          /* component of each node */
};

static uint32_t node_of(struct ct_htab *h, struct graph *g, size_t *cap, uint64_t addr)
{
	uint32_t v = ct_htab_get(h, addr ? addr : 1);

	if (v != UINT32_MAX)
		return v;
	ct_grow(&g->node, cap, g->nn + 1, sizeof(*g->node));
	g->node[g->nn] = addr;
	ct_htab_put(h, addr ? addr : 1, (uint32_t)g->nn);
	return (uint32_t)g->nn++;
}

static void build(struct graph *g, const struct lo_state *s)
{
	struct ct_htab h = { 0 };
	size_t cap = 0;

	g->ne = s->n;
	g->from = ct_xmalloc((s->n + 1) * sizeof(*g->from));
	g->to = ct_xmalloc((s->n + 1) * sizeof(*g->to));
	for (size_t i = 0; i < s->n; i++) {
		g->from[i] = node_of(&h, g, &cap, s->ed[i].held);
		g->to[i] = node_of(&h, g, &cap, s->ed[i].lock);
	}
	ct_htab_free(&h);
	g->off = ct_xcalloc(g->nn + 2, sizeof(*g->off));
	g->out = ct_xmalloc((s->n + 1) * sizeof(*g->out));
	for (size_t i = 0; i < s->n; i++)
		g->off[g->from[i] + 1]++;
	for (size_t u = 0; u < g->nn; u++)
		g->off[u + 1] += g->off[u];
	{
		uint32_t *fill = ct_xmalloc((g->nn + 1) * sizeof(*fill));

		memcpy(fill, g->off, g->nn * sizeof(*fill));
		for (size_t i = 0; i < s->n; i++)
			g->out[fill[g->from[i]]++] = (uint32_t)i;
		free(fill);
	}
}

/* Tarjan's strongly connected components, iteratively: g->comp[u] for every node. */
static void components(struct graph *g)
{
	size_t nn = g->nn, sp = 0, cs = 0;
	uint32_t *idx = ct_xmalloc((nn + 1) * sizeof(*idx)), *low = ct_xmalloc((nn + 1) * sizeof(*low));
	uint32_t *stk = ct_xmalloc((nn + 1) * sizeof(*stk)), *it = ct_xmalloc((nn + 1) * sizeof(*it));
	uint32_t *call = ct_xmalloc((nn + 1) * sizeof(*call));
	unsigned char *on = ct_xcalloc(nn + 1, 1);
	uint32_t next = 0, ncomp = 0;

	g->comp = ct_xmalloc((nn + 1) * sizeof(*g->comp));
	for (size_t u = 0; u < nn; u++)
		idx[u] = UINT32_MAX;
	for (size_t r = 0; r < nn; r++) {
		if (idx[r] != UINT32_MAX)
			continue;
		call[cs++] = (uint32_t)r;
		idx[r] = low[r] = next++;
		it[r] = g->off[r];
		stk[sp++] = (uint32_t)r;
		on[r] = 1;
		while (cs) {
			uint32_t u = call[cs - 1];

			if (it[u] < g->off[u + 1]) {
				uint32_t v = g->to[g->out[it[u]++]];

				if (idx[v] == UINT32_MAX) {
					idx[v] = low[v] = next++;
					it[v] = g->off[v];
					stk[sp++] = v;
					on[v] = 1;
					call[cs++] = v;
				} else if (on[v] && idx[v] < low[u]) {
					low[u] = idx[v];
				}
				continue;
			}
			cs--;
			if (cs && low[u] < low[call[cs - 1]])
				low[call[cs - 1]] = low[u];
			if (low[u] == idx[u]) {
				uint32_t w;

				do {
					w = stk[--sp];
					on[w] = 0;
					g->comp[w] = ncomp;
				} while (w != u);
				ncomp++;
			}
		}
	}
	free(idx);
	free(low);
	free(stk);
	free(it);
	free(call);
	free(on);
}

/*
 * The shortest cycle through edge e0 (held u -> lock v): a breadth-first search from v
 * back to u over the edges of their component. States are (node, entered for reading):
 * an edge that holds its node for reading may not follow one that acquired it for
 * reading. Fills path with the edges in order (e0 first); returns their number, 0 when
 * there is no such cycle.
 */
static size_t shortest_cycle(const struct graph *g, const struct lo_state *s, uint32_t e0,
			     uint32_t *path)
{
	size_t ns = g->nn * 2, head = 0, tail = 0, len = 0;
	uint32_t *pe = ct_xmalloc((ns + 1) * sizeof(*pe)); /* the edge into a state */
	uint32_t *ps = ct_xmalloc((ns + 1) * sizeof(*ps)); /* the state it came from */
	uint32_t *queue = ct_xmalloc((ns + 1) * sizeof(*queue));
	uint32_t u = g->from[e0], c = g->comp[u], hit = UINT32_MAX;
	uint32_t st0 = g->to[e0] * 2 + (uint32_t)is_rd(s->ed[e0].kind);
	int first_rd = is_rd(s->ed[e0].held_kind);

	for (size_t i = 0; i < ns; i++)
		pe[i] = UINT32_MAX;
	pe[st0] = e0;
	ps[st0] = UINT32_MAX;
	queue[tail++] = st0;
	while (head < tail && hit == UINT32_MAX) {
		uint32_t st = queue[head++], x = st / 2;
		int rin = (int)(st & 1);

		if (x == u) {
			if (!(rin && first_rd))
				hit = st;
			continue;
		}
		for (uint32_t k = g->off[x]; k < g->off[x + 1]; k++) {
			uint32_t ed = g->out[k], y = g->to[ed], ny;

			if (g->comp[y] != c || (rin && is_rd(s->ed[ed].held_kind)))
				continue;
			ny = y * 2 + (uint32_t)is_rd(s->ed[ed].kind);
			if (pe[ny] != UINT32_MAX)
				continue;
			pe[ny] = ed;
			ps[ny] = st;
			queue[tail++] = ny;
		}
	}
	/* walk back from the state that closed the cycle to the start, then reverse */
	for (uint32_t st = hit; st != UINT32_MAX && len <= g->ne; st = ps[st])
		path[len++] = pe[st];
	for (size_t i = 0; i < len / 2; i++) {
		uint32_t tmp = path[i];

		path[i] = path[len - 1 - i];
		path[len - 1 - i] = tmp;
	}
	free(pe);
	free(ps);
	free(queue);
	return len;
}

/* The edges' thread keys as indexes in the model's threads (key_to_thr NULL: they are). */
static void thr_of_keys(struct ct_lo_edge *ed, size_t n, const uint32_t *key_to_thr,
			size_t nkeys)
{
	for (size_t i = 0; key_to_thr && i < n; i++)
		if (ed[i].thr < nkeys)
			ed[i].thr = key_to_thr[ed[i].thr];
}

void ct_lo_finish(struct ct_eng *e, const uint32_t *key_to_thr, size_t nkeys)
{
	struct lo_state *s = e->lo;
	struct ct_analysis *a = e->a;
	struct graph g = { 0 };
	unsigned char *covered;
	uint32_t *path;
	size_t cap = 0;

	if (!s)
		return;
	a->lo_edges = s->n;
	thr_of_keys(s->ed, s->n, key_to_thr, nkeys);
	thr_of_keys(s->full, s->nfull, key_to_thr, nkeys);
	a->lo_full = s->full;
	a->nlo_full = s->nfull;
	build(&g, s);
	components(&g);
	covered = ct_xcalloc(s->n + 1, 1);
	path = ct_xmalloc((s->n + 1) * sizeof(*path));
	for (size_t i = 0; i < s->n && a->nlock_order < LO_MAX_CYCLES; i++) {
		size_t len;

		if (covered[i] || g.comp[g.from[i]] != g.comp[g.to[i]])
			continue;
		len = shortest_cycle(&g, s, (uint32_t)i, path);
		if (!len)
			continue;
		{
			struct ct_lo_cycle cy = { ct_xmalloc(len * sizeof(*cy.edges)), len };
			int fresh = 0;

			for (size_t k = 0; k < len; k++) {
				cy.edges[k] = s->ed[path[k]];
				fresh |= !covered[path[k]];
				covered[path[k]] = 1;
			}
			if (!fresh) {
				free(cy.edges);
				continue;
			}
			ct_grow(&a->lock_order, &cap, a->nlock_order + 1, sizeof(*a->lock_order));
			a->lock_order[a->nlock_order++] = cy;
		}
	}
	free(covered);
	free(path);
	free(g.node);
	free(g.from);
	free(g.to);
	free(g.off);
	free(g.out);
	free(g.comp);
	free(s->ed);
	ct_htab_free(&s->by_key);
	free(s);
	e->lo = NULL;
}
