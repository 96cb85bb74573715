/* SPDX-License-Identifier: MIT */
/*
 * Flight mode (CTRACE_MODE=flight): the recent past kept in memory, written only on a
 * trigger (trigger.c). The writer works as in streaming mode (the same drains, the same
 * generations, the same encoded and compressed chunks: the record path does not know the
 * difference), but its chunks go into a ring of CTRACE_FLIGHT_SIZE bytes instead of the
 * file. The ring holds whole generations: each is self-contained (GEN_BEGIN, MODULES,
 * THREADS, STACKS, EVENTS, GEN_END; format/FORMAT.md section 6), so any run of them is a
 * trace. The oldest generation is recycled first: when a chunk does not fit, and when the
 * generations after it cover CTRACE_FLIGHT_AGE on their own. A generation grows to a
 * quarter of the ring at most before it is closed (so that at least three fit); a chunk
 * that fits in no way (the open generation alone fills the ring) is dropped and counted.
 *
 * A snapshot closes the open generation after the trigger's own record (a TRIGGER
 * event), writes a file header whose start is that of the oldest generation kept, then
 * the generations as they are, and opens a new generation. The file is named from
 * CTRACE_OUT (or `ctrace snapshot -o`) by the rule of every trace file: never over an
 * existing name. Snapshots are written by the writer thread (or, with no writer thread
 * yet, by the program's periodic flush), with the flush lock held; a crash's by the
 * fatal-signal handler on the flush stack, with async-signal-safe calls only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrace.h"
#include "flush.h"
#include "trigger.h"
#include "../format/events.h"

#define MAX_GENS (1u << 16) /* generations kept at most (a ring of records) */

struct fgen {
	uint64_t pos0, pos1;  /* [pos0, pos1) in ring positions (bytes written so far) */
	uint64_t t0, real0, t1;
	uint32_t gen;
	int open;
};

static uint8_t *ring;
static uint64_t cap, head, tail; /* positions: ring[pos % cap] */
static struct fgen *gens;
static unsigned first, ngens;
static uint64_t in_snapshot;     /* the trigger time of the snapshot being made */
static uint64_t dropped;         /* chunks that fitted nowhere (not in the file yet) */

int ct_flight_init(void)
{
	cap = ct_cfg.flight_size;
	ring = ct_map(1, cap, 0);
	gens = ct_map(MAX_GENS, sizeof(*gens), 0);
	if (!ring || !gens) {
		ring = NULL;
		gens = NULL;
		return -1;
	}
	return 0;
}

static struct fgen *g_at(unsigned i)
{
	return &gens[(first + i) % MAX_GENS];
}

static void evict_oldest(void)
{
	first = (first + 1) % MAX_GENS;
	ngens--;
	tail = ngens ? g_at(0)->pos0 : head;
}

void ct_flight_reset(void)
{
	first = ngens = 0;
	head = tail = 0;
}

void ct_flight_gen_begin(uint32_t gen, uint64_t mono, uint64_t real)
{
	if (!ring)
		return;
	if (ngens == MAX_GENS)
		evict_oldest();
	struct fgen *g = g_at(ngens++);
	*g = (struct fgen){ .pos0 = head, .pos1 = head, .t0 = mono, .real0 = real, .gen = gen,
			    .open = 1 };
}

void ct_flight_put(const uint8_t *p, size_t len)
{
	if (!ring || !ngens || !g_at(ngens - 1)->open)
		return;
	while (head + len - tail > cap) {
		if (ngens <= 1) {
			dropped++; /* the open generation alone fills the ring */
			return;
		}
		evict_oldest();
	}
	size_t at = (size_t)(head % cap), n1 = len < cap - at ? len : cap - at;
	memcpy(ring + at, p, n1);
	memcpy(ring, p + n1, len - n1);
	head += len;
	g_at(ngens - 1)->pos1 = head;
}

void ct_flight_gen_end(uint64_t end)
{
	if (!ring || !ngens)
		return;
	struct fgen *g = g_at(ngens - 1);
	g->open = 0;
	g->t1 = end;
	/* the generations after the oldest cover the age on their own: it goes; the age
	 * counts back from a trigger that waits for CTRACE_TRIGGER_AFTER, the earlier of the
	 * two when a snapshot (a request) is made while one waits */
	uint64_t ref = in_snapshot, pend = ct_trigger_pending_ts();
	if (pend && (!ref || pend < ref))
		ref = pend;
	if (!ref || ref > end)
		ref = end;
	while (ngens >= 2 && ref > g_at(1)->t0 && ref - g_at(1)->t0 >= ct_cfg.flight_age_ns)
		evict_oldest();
}

/* The open generation passed a quarter of the ring: time to close it. */
static int gen_full(void)
{
	return ngens && g_at(ngens - 1)->open && head - g_at(ngens - 1)->pos0 > cap / 4;
}

/* The closed generations (those after after_gen) into a new file named from pattern; 0
 * and its name in path, or -1. Async-signal-safe (the file's name is built with
 * snprintf, as every trace file's). */
static int write_file(const char *pattern, char *path, uint32_t after_gen)
{
	unsigned n = ngens, i0 = 0;
	while (n && g_at(n - 1)->open)
		n--;
	while (i0 < n && after_gen && g_at(i0)->gen <= after_gen)
		i0++; /* `ctrace top` has read them */
	if (i0 == n)
		return -1;
	int f = ct_trace_create(pattern, g_at(i0)->t0, g_at(i0)->real0, path);
	if (f < 0)
		return -1;
	int r = 0;
	for (unsigned i = i0; i < n && r == 0; i++) {
		const struct fgen *g = g_at(i);
		uint64_t pos = g->pos0;
		while (pos < g->pos1 && r == 0) {
			size_t at = (size_t)(pos % cap);
			size_t len = (size_t)(g->pos1 - pos);
			if (len > cap - at)
				len = cap - at;
			r = ct_trace_write(f, ring + at, len);
			pos += len;
		}
	}
	if (r != 0)
		ct_warn("cannot write the snapshot ", path, errno == EFBIG ?
			": file-size limit" : ": write failed");
	ct_fd_close(f);
	if (r != 0) {
		/* part of the generations, without the trigger's: it would read as a complete
		 * trace of less time, under the name the next snapshot is not given */
		unlink(path);
		path[0] = 0;
	}
	return r;
}

/*
 * A snapshot for trigger t (flush lock held): everything buffered, the trigger's record,
 * the generation closed, the file written; then a new generation unless final. Returns 0
 * with the file's name in path, or -1.
 */
static int snapshot(const struct ct_trig *t, const char *pattern, char *path, int final,
		    int in_signal)
{
	ct_gen_drain_all();
	if (!t->live) { /* `ctrace top`'s snapshots are no triggers */
		struct ct_event ev = ct_ev_trigger(t->ts, t->reason, t->tid, t->kind, t->stack,
						   t->obj, t->profile, t->wait_ns, t->signo,
						   t->suppressed);
		ct_gen_put_event(t->tid ? t->tid : (uint32_t)ct_pid, &ev);
	}
	in_snapshot = t->ts ? t->ts : 1;
	ct_gen_close();
	in_snapshot = 0;
	path[0] = 0;
	int r = write_file(pattern ? pattern : ct_cfg.out, path, t->live ? t->after_gen : 0);
	if (!final)
		ct_gen_open(in_signal);
	return r;
}

void ct_flight_cycle(uint64_t now)
{
	struct ct_trig t;
	char pattern[4096 + 64], path[4096 + 64];
	int have_pattern = 0;
	ct_ctl_poll(now);
	if (ct_fl.fd == CT_FLIGHT_FD && ct_trigger_due(now, &t, pattern, sizeof(pattern),
						       &have_pattern)) {
		int r = snapshot(&t, have_pattern ? pattern : NULL, path, 0, 0);
		ct_trigger_written(&t, r == 0 ? path : NULL);
	} else if (gen_full()) {
		ct_gen_close();
		ct_gen_open(0);
	}
}

void ct_flight_final(int in_signal)
{
	struct ct_trig t;
	char pattern[4096 + 64], path[4096 + 64];
	int have_pattern = 0;
	if (ct_trigger_final(in_signal, ct_now(), &t, pattern, sizeof(pattern), &have_pattern)) {
		int r = snapshot(&t, have_pattern ? pattern : NULL, path, 1, in_signal);
		ct_trigger_written(&t, r == 0 ? path : NULL);
	} else {
		ct_gen_drain_all(); /* the buffers' records, now of no use, are freed */
	}
}
