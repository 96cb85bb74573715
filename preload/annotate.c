/* SPDX-License-Identifier: MIT */
/*
 * The annotation entry points behind preload/include/ctrace_annotate.h: tasks, regions,
 * logs and labels, each call one event (with up to CT_TEXT_PARTS TEXT events for a long
 * text, format/events.h). The program reaches them through weak references, so it needs
 * no link dependency and runs unchanged without libctrace.
 *
 * Record path: no malloc, no lock, async-signal-safe; the texts are copied into the
 * events at the call (at most CT_TEXT_MAX bytes, through words on the stack). Task ids
 * come from one process-wide atomic counter. The calls record nothing, and
 * ctrace_task_begin returns 0, when tracing is off or the call is re-entered.
 */
#include <errno.h>
#include <string.h>

#include "../format/events.h"
#include "ctrace.h"
#include "include/ctrace_annotate.h"
#include "io.h"

static atomic_uint_least64_t next_task;

/* The clock: ct_tick_now_ns (tick.c), CLOCK_MONOTONIC ns converted from the TSC. */

/*
 * Texts. An annotation's text (a name; a log's category, NUL, message; a label's key, NUL,
 * value) is gathered a byte at a time into 8-byte words, each stored once, whole, in a
 * small array on the stack; the events take their text fields from those words: the
 * layout of ct_ev_annotation (format/events.h), the first CT_TEXT_INLINE bytes in the
 * event's b and c, then CT_TEXT_PART bytes in each TEXT event's a, b and c. The strings
 * are never read beyond their NUL or CT_TEXT_MAX bytes. (A bounded copy into a byte
 * buffer, then 8-byte loads of it, was a third of a traced call: rep stos/movs and stalled
 * store forwarding.)
 */
_Static_assert(CT_TEXT_INLINE == 16 && CT_TEXT_PART == 24 && CT_TEXT_MAX % 8 == 0,
	       "the text words below follow ct_ev_annotation's layout");

struct text {
	uint64_t w[CT_TEXT_MAX / 8];
	size_t len;   /* bytes gathered */
	uint64_t cur; /* the word being gathered: bytes len & ~7 .. len */
};

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TEXT_SHIFT(pos) (8 * ((pos) & 7))
#else
#define TEXT_SHIFT(pos) (56 - 8 * ((pos) & 7))
#endif

/* Appends s (NULL: nothing) to t, up to t->len == cap. Inlined, so that len and cur stay
 * in registers. */
static inline __attribute__((always_inline)) void text_put(struct text *t, const char *s,
							   size_t cap)
{
	size_t pos = t->len;
	uint64_t cur = t->cur;
	for (; s && pos < cap; s++) {
		uint64_t ch = (unsigned char)*s;
		if (!ch)
			break;
		cur |= ch << TEXT_SHIFT(pos);
		if ((++pos & 7) == 0) {
			t->w[pos / 8 - 1] = cur;
			cur = 0;
		}
	}
	t->len = pos;
	t->cur = cur;
}

/* Appends a NUL (the separator of two texts). */
static inline __attribute__((always_inline)) void text_nul(struct text *t)
{
	if ((++t->len & 7) == 0) {
		t->w[t->len / 8 - 1] = t->cur;
		t->cur = 0;
	}
}

/* pc: the call site (the return address into the program), kept as a one-frame stack.
 * One annotation event, and the TEXT events its text needs. */
static void record(unsigned type, uint64_t obj, uint64_t a, struct text *t, const void *pc)
{
	struct ct_event ev[1 + CT_TEXT_PARTS];
	int saved = errno;
	ct_enter();
	struct ct_thread *th = ct_self();
	if (likely(th != NULL)) {
		size_t len = t->len;
		unsigned parts = len <= CT_TEXT_INLINE
					 ? 0
					 : (unsigned)((len - CT_TEXT_INLINE + CT_TEXT_PART - 1) /
						      CT_TEXT_PART);
		/* the partial word, then zeros up to the last TEXT event's end */
		size_t words = (len + 7) / 8;
		if (len & 7)
			t->w[len / 8] = t->cur;
		for (size_t k = words; k < 2 + 3 * (size_t)parts; k++)
			t->w[k] = 0;
		uint64_t ts = ct_tick_now_ns();
		ev[0] = (struct ct_event)CT_EV_HEAD_(type, ts, 0, parts, 0, obj);
		ev[0].a = a;
		ev[0].b = t->w[0];
		ev[0].c = t->w[1];
		for (unsigned i = 0; i < parts; i++) {
			ev[1 + i] = (struct ct_event)CT_EV_HEAD_(CT_EV_TEXT, ts, 0, 0, 0, obj);
			ev[1 + i].a = t->w[2 + 3 * i];
			ev[1 + i].b = t->w[3 + 3 * i];
			ev[1 + i].c = t->w[4 + 3 * i];
		}
		ev[0].stack = ct_stack_site((uint64_t)(uintptr_t)pc);
		for (unsigned i = 0; i <= parts; i++)
			ct_emit(th, &ev[i]);
	}
	ct_leave();
	errno = saved;
}

/* A name (NULL: empty), up to CT_TEXT_MAX bytes. */
static void record_name(unsigned type, uint64_t obj, uint64_t a, const char *name,
			const void *pc)
{
	struct text t;
	t.len = 0;
	t.cur = 0;
	t.w[0] = t.w[1] = 0;
	text_put(&t, name, CT_TEXT_MAX);
	record(type, obj, a, &t, pc);
}

/* Two texts (NULL: empty) and a NUL between them (a log's category and message, a label's
 * key and value): up to CT_TEXT_MAX - 1 bytes of the first, CT_TEXT_MAX in all. */
static void record_pair(unsigned type, uint64_t obj, uint64_t a, const char *s1,
			const char *s2, const void *pc)
{
	struct text t;
	t.len = 0;
	t.cur = 0;
	t.w[0] = t.w[1] = 0;
	text_put(&t, s1, CT_TEXT_MAX - 1);
	text_nul(&t);
	text_put(&t, s2, CT_TEXT_MAX);
	record(type, obj, a, &t, pc);
}

CT_EXPORT ctrace_task ctrace_annotate_task_begin(ctrace_task parent, const char *name)
{
	if (!ct_on())
		return 0;
	uint64_t id = atomic_fetch_add_explicit(&next_task, 1, memory_order_relaxed) + 1;
	record_name(CT_EV_TASK_BEGIN, id, parent, name, __builtin_return_address(0));
	return id;
}

CT_EXPORT void ctrace_annotate_task_end(ctrace_task task)
{
	if (ct_on() && task)
		record_name(CT_EV_TASK_END, task, 0, NULL, __builtin_return_address(0));
}

CT_EXPORT void ctrace_annotate_region(int end, ctrace_task task, const char *name)
{
	if (!ct_on())
		return;
	record_name(end ? CT_EV_REGION_END : CT_EV_REGION_BEGIN, task, 0, name,
		    __builtin_return_address(0));
}

CT_EXPORT void ctrace_annotate_log(ctrace_task task, const char *category, const char *message)
{
	if (ct_on())
		record_pair(CT_EV_LOG, task, 0, category, message, __builtin_return_address(0));
}

CT_EXPORT void ctrace_annotate_label(const char *key, const char *value)
{
	if (ct_on() && key)
		record_pair(CT_EV_LABEL, 0, value == NULL, key, value,
			    __builtin_return_address(0));
}
