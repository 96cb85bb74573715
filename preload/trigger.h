/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the triggers and the control channel (trigger.c) and the
 * flight recorder (flight.c). Every function here runs with the flush lock held, on the
 * writer thread or the flush stack, unless it says otherwise; none is on the record path.
 */
#ifndef CTRACE_TRIGGER_H
#define CTRACE_TRIGGER_H

#include <stddef.h>
#include <stdint.h>

/* One trigger: what the TRIGGER event of its snapshot holds (format/events.h). */
struct ct_trig {
	uint64_t ts;
	unsigned reason;       /* enum ct_trigger_reason */
	uint32_t tid;          /* the thread concerned, 0 none */
	unsigned kind, profile, signo;
	uint32_t stack;
	uint64_t obj, wait_ns;
	uint64_t suppressed;   /* by the rate limit since the last snapshot */
	int request;           /* a `ctrace snapshot` request: it gets a reply */
	int live;              /* ... of `ctrace top`: no TRIGGER record, the count of
				* suppressed triggers left for the next real snapshot, and only
				* the generations after after_gen written */
	uint32_t after_gen;
};

/* A snapshot is due now: 1 with *t, and with *have_pattern and pattern (cap bytes) the
 * file name a request asked for; else 0. */
int ct_trigger_due(uint64_t now, struct ct_trig *t, char *pattern, size_t cap,
		   int *have_pattern);
/* The final flush: the snapshot to write, if any (a crash, a trigger still waiting for
 * CTRACE_TRIGGER_AFTER, a request, the exit trigger); 1 with *t as above, else 0.
 * in_signal: from a fatal signal's handler (async-signal-safe then). */
int ct_trigger_final(int in_signal, uint64_t now, struct ct_trig *t, char *pattern,
		     size_t cap, int *have_pattern);
/* The snapshot of t is written as path (NULL: it could not be): a request gets its
 * reply. */
void ct_trigger_written(const struct ct_trig *t, const char *path);
/* The time of the trigger that waits for CTRACE_TRIGGER_AFTER, 0 if none. */
uint64_t ct_trigger_pending_ts(void);
/* The control channel: a request of `ctrace snapshot`, `pause` or `resume` is taken. One
 * failed open(2) when there is none. */
void ct_ctl_poll(uint64_t now);

#endif
