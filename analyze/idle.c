/* SPDX-License-Identifier: MIT */
/*
 * Idle threads (engine.h, README.md "Idle threads"): each thread's idle waits, the ones a
 * thread makes when it has nothing to do (condition waits, readiness waits in epoll, poll
 * or select, sleeps), aggregated per thread by (profile, kind, fd class, stack), so that
 * the reports can fold those of the threads idle most of their life into one line per
 * thread group. Entries without a stack (call-site remainders of fast calls) are not idle
 * waits.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "util.h"

void ct_idle_keep(struct eng_thread *t, unsigned profile, unsigned kind, unsigned fd_class,
		  uint32_t stack, uint64_t d)
{
	struct ct_idle_entry *x = NULL;

	t->idle_ns += d;
	for (size_t i = t->nidle; i-- > 0;)
		if (t->idle[i].stack == stack && t->idle[i].kind == kind &&
		    t->idle[i].fd_class == fd_class && t->idle[i].profile == (int)profile) {
			x = &t->idle[i];
			break;
		}
	if (!x) {
		ct_grow(&t->idle, &t->cidle, t->nidle + 1, sizeof(*t->idle));
		x = &t->idle[t->nidle++];
		memset(x, 0, sizeof(*x));
		x->profile = (int)profile;
		x->kind = (uint8_t)kind;
		x->fd_class = (uint8_t)fd_class;
		x->stack = stack;
	}
	x->count++;
	x->total_ns += d;
}
