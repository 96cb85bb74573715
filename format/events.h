/* SPDX-License-Identifier: MIT */
/*
 * The event record, declared once: what each field of struct ct_event (ctrace_format.h)
 * means for each event type, with typed constructors for the recorder and typed accessors
 * for the readers. The header fields (ts, kind, flags, stack, obj) keep their names; the
 * three payload slots a, b, c (and, for a few types, obj or flags) are named per type in
 * CT_EVENT_FIELDS below and nowhere else: only the codec (writer.c, reader.c, which
 * encode the slots whatever they mean) and its test touch a slot by name. FORMAT.md
 * section 5.2 gives the encoding; its table follows this one.
 *
 * Everything here is static inline, allocation-free and async-signal-safe: the
 * constructors run on the record path (preload/wait.c, thread.c, sites.c).
 */
#ifndef CTRACE_EVENTS_H
#define CTRACE_EVENTS_H

#include <stdint.h>
#include <string.h>

#include "ctrace_format.h"

/*
 * X(type, field, slot, ctype, shift, width): event type `type` (enum ct_event_type
 * without CT_EV_, lower case) keeps `field`, a value of C type ctype, in bits
 * [shift, shift + width) of struct ct_event member `slot`. This generates, per row,
 *
 *	ctype ct_ev_<type>_<field>(const struct ct_event *e);          the accessor
 *	void ct_ev_<type>_set_<field>(struct ct_event *e, ctype v);    used by constructors
 *
 * Fields not listed are 0. Timestamps and durations are ns (CLOCK_MONOTONIC). A field
 * that fills its slot has the slot's full 64-bit type, so that an accessor returns what
 * the file holds, whatever a damaged or newer file put there; narrower C types are for
 * the fields packed into part of a slot.
 */
#define CT_EVENT_FIELDS(X)                                                                  \
	/* A thread is about to block on obj (kind: enum ct_kind; stack: the waiter's,     \
	 * captured before blocking; flags: CT_EVF_TIMED, CT_EVF_CLOCK_RT, CT_EVF_OLD_ABI). \
	 * owner: the owner tid glibc keeps for a mutex (0 unknown), the mutex's address    \
	 * for a condition variable, the joined tid for a join, else 0. seq: the object's  \
	 * release sequence number at the begin. deadline: the absolute deadline of a timed \
	 * call on its clock (CT_EVF_TIMED), else 0. */                                      \
	X(wait_begin, owner, a, uint64_t, 0, 64)                                            \
	X(wait_begin, seq, b, uint64_t, 0, 64)                                              \
	X(wait_begin, deadline, c, uint64_t, 0, 64)                                         \
	/* The wait ended (same thread, pairs with its last WAIT_BEGIN; obj, kind as the    \
	 * begin). seq: the object's release sequence number when the call returned: for a  \
	 * mutex exactly the release that ended the wait (0 or equal to the begin's seq: no \
	 * recorded release). result: enum ct_result. ret: the call's return value (an     \
	 * error number for pthread calls). */                                               \
	X(wait_end, seq, a, uint64_t, 0, 64)                                                \
	X(wait_end, result, b, uint64_t, 0, 64)                                             \
	X(wait_end, ret, c, int64_t, 0, 64)                                                 \
	/* A release made while someone waited on obj (unlock, signal, broadcast, post, the \
	 * unlock inside a condition wait, ...); ts just before the real release; stack: the \
	 * releaser's; flags: CT_EVF_BROADCAST, CT_EVF_HANDOFF. seq: the object's new       \
	 * sequence number; waiters: the waiters counted at the release; owner: for a       \
	 * CT_EVF_HANDOFF release (1.2) the tid of the thread that owned the mutex, else 0. */\
	X(release, seq, a, uint64_t, 0, 64)                                                 \
	X(release, waiters, b, uint64_t, 0, 64)                                             \
	X(release, owner, c, uint64_t, 0, 64)                                               \
	/* First event of a thread made by pthread_create; stack: the creator's stack at    \
	 * pthread_create. parent: the creator's tid; start_func: the start routine. */      \
	X(thread_start, parent, a, uint64_t, 0, 64)                                         \
	X(thread_start, start_func, b, uint64_t, 0, 64)                                     \
	/* pthread_setname_np. tid: the named thread (0: the recording thread); the 16-byte \
	 * name, NUL-padded and not necessarily NUL-terminated, fills b then c in memory    \
	 * order (ct_ev_thread_name_get). */                                                 \
	X(thread_name, tid, a, uint64_t, 0, 64)                                             \
	/* The thread exits (flags CT_EVF_SECCOMP: its recording ends, a seccomp filter on  \
	 * it allows no system call of the recorder's). cpu_ns, runq_ns: its on-CPU time and \
	 * run-queue wait so far (kernel schedstat; both 0: not sampled). */                 \
	X(thread_end, cpu_ns, a, uint64_t, 0, 64)                                           \
	X(thread_end, runq_ns, b, uint64_t, 0, 64)                                          \
	/* A system call of at least the stack threshold; ts: its begin; kind; stack:        \
	 * captured after the call (the same as before it). fd: obj, UINT64_MAX when the     \
	 * call has none. end: the end ts. ret: the return value. err: errno (0 on          \
	 * success). fd_class: enum ct_fd_class of the fd. */                                \
	X(syscall, fd, obj, uint64_t, 0, 64)                                                \
	X(syscall, end, a, uint64_t, 0, 64)                                                 \
	X(syscall, ret, b, int64_t, 0, 64)                                                  \
	X(syscall, err, c, unsigned, 0, 16)                                                 \
	X(syscall, fd_class, c, unsigned, 16, 16)                                           \
	/* Cumulative counters of one thread's system calls at one call site, every call    \
	 * counted (fast and slow); the last record of a (thread, site, kind, class) holds  \
	 * its totals. pc: the call site (the return address into the caller, pcs[0] of    \
	 * that site's SYSCALL stacks; 0: the calls of the sites beyond the thread's table, \
	 * one record per kind and class). fd_class: of the (site, kind, class) key.        \
	 * calls, total_ns, max_ns: the count, the sum and the longest call. */              \
	X(site, pc, obj, uint64_t, 0, 64)                                                   \
	X(site, fd_class, flags, unsigned, 0, 16)                                           \
	X(site, calls, a, uint64_t, 0, 64)                                                  \
	X(site, total_ns, b, uint64_t, 0, 64)                                               \
	X(site, max_ns, c, uint64_t, 0, 64)                                                 \
	/* The thread holds lock obj (kind CT_K_MUTEX or CT_K_RWLOCK_WR; since 2.0 also    \
	 * CT_K_RWLOCK_RD and CT_K_SPIN) it took earlier,                                   \
	 * recorded just before the WAIT_BEGIN it is about to make (same ts); stack: the    \
	 * call site that took it (a one-frame CT_STACKF_SITE stack). after_wait: 1 if it   \
	 * was taken after a recorded wait (whose WAIT_BEGIN has the full stack). */         \
	X(hold, after_wait, a, uint64_t, 0, 64)                                             \
	/* The thread acquired lock obj (kind: mutex, rwlock_rd, rwlock_wr, spin; not by a  \
	 * trylock) while holding lock `held` (held_kind), for the first time this thread   \
	 * did so (2.0); ts: after the acquisition; stack: the call site that took obj, and \
	 * held_stack the one that took held (one-frame CT_STACKF_SITE stacks). Flag        \
	 * CT_EVF_LO_FULL (2.1): the thread's table of edges is full, it records no more.   \
	 */                                                                                 \
	X(lock_order, held, a, uint64_t, 0, 64)                                             \
	X(lock_order, held_stack, b, uint32_t, 0, 32)                                       \
	X(lock_order, held_kind, b, unsigned, 32, 8)                                        \
	/* Annotations (2.0, ctrace_annotate.h). Each carries a text: its first 16 bytes in \
	 * b then c (memory order, NUL-padded, like THREAD_NAME), the rest in the `flags`   \
	 * TEXT events (24 bytes each, in a, b, c) that follow it at once in its thread's   \
	 * events (ct_ev_text_put, ct_ev_text_get). Texts: a task's or region's name; a    \
	 * log's category, a NUL, its message; a label's key, a NUL, its value. task: the   \
	 * task id (0: none); parent: a new task's parent (0: none); removed: 1 when the    \
	 * label was removed (value NULL). */                                                \
	X(task_begin, task, obj, uint64_t, 0, 64)                                           \
	X(task_begin, parent, a, uint64_t, 0, 64)                                           \
	X(task_end, task, obj, uint64_t, 0, 64)                                             \
	X(region_begin, task, obj, uint64_t, 0, 64)                                         \
	X(region_end, task, obj, uint64_t, 0, 64)                                           \
	X(log, task, obj, uint64_t, 0, 64)                                                  \
	X(label, removed, a, uint64_t, 0, 64) \
	/* What made a flight-mode snapshot (2.0), in its last generation, in an EVENTS     \
	 * chunk of the thread concerned (the process's pid when none is); ts: the trigger; \
	 * for a slow wait: kind, obj and stack of the wait. wait_ns: its length (so far,   \
	 * for a wait still in progress). suppressed: triggers the rate limit suppressed    \
	 * before this one. reason: enum ct_trigger_reason; profile: the threshold's        \
	 * (enum ct_profile, 0 any); signo: the signal; tid: the thread concerned (0 none). */\
	X(trigger, wait_ns, a, uint64_t, 0, 64)                                             \
	X(trigger, suppressed, b, uint64_t, 0, 64)                                          \
	X(trigger, reason, c, unsigned, 0, 8)                                               \
	X(trigger, profile, c, unsigned, 8, 8)                                              \
	X(trigger, signo, c, unsigned, 16, 8)                                               \
	X(trigger, tid, c, uint32_t, 32, 32)

#define CT_EV_MASK_(width) ((width) >= 64 ? ~0ull : (1ull << ((width) & 63)) - 1)

#define CT_EV_ACCESSORS_(type, field, slot, ctype, shift, width)                          \
	static inline ctype ct_ev_##type##_##field(const struct ct_event *e)                \
	{                                                                                   \
		return (ctype)(((uint64_t)e->slot >> (shift)) & CT_EV_MASK_(width));        \
	}                                                                                   \
	static inline void ct_ev_##type##_set_##field(struct ct_event *e, ctype v)          \
	{                                                                                   \
		uint64_t m = CT_EV_MASK_(width) << (shift);                                 \
		e->slot = (__typeof__(e->slot))(((uint64_t)e->slot & ~m) |                   \
						(((uint64_t)v << (shift)) & m));            \
	}
CT_EVENT_FIELDS(CT_EV_ACCESSORS_)
#undef CT_EV_ACCESSORS_

/* ---- constructors: one per event type, every field named --------------------------- */

/* The header fields of a constructor's record; the payload slots start at 0. */
#define CT_EV_HEAD_(type_, ts_, kind_, flags_, stack_, obj_)                               \
	{ .ts = (ts_), .type = (uint8_t)(type_), .kind = (uint8_t)(kind_),                   \
	  .flags = (uint16_t)(flags_), .stack = (stack_), .obj = (obj_) }

static inline struct ct_event ct_ev_wait_begin(uint64_t ts, unsigned kind, unsigned flags,
					       uint32_t stack, uint64_t obj, uint64_t owner,
					       uint64_t seq, uint64_t deadline)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_WAIT_BEGIN, ts, kind, flags, stack, obj);

	ct_ev_wait_begin_set_owner(&e, owner);
	ct_ev_wait_begin_set_seq(&e, seq);
	ct_ev_wait_begin_set_deadline(&e, deadline);
	return e;
}

static inline struct ct_event ct_ev_wait_end(uint64_t ts, unsigned kind, uint64_t obj,
					     uint64_t seq, unsigned result, int64_t ret)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_WAIT_END, ts, kind, 0, 0, obj);

	ct_ev_wait_end_set_seq(&e, seq);
	ct_ev_wait_end_set_result(&e, result);
	ct_ev_wait_end_set_ret(&e, ret);
	return e;
}

static inline struct ct_event ct_ev_release(uint64_t ts, unsigned kind, unsigned flags,
					    uint32_t stack, uint64_t obj, uint64_t seq,
					    uint64_t waiters)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_RELEASE, ts, kind, flags, stack, obj);

	ct_ev_release_set_seq(&e, seq);
	ct_ev_release_set_waiters(&e, waiters);
	return e;
}

static inline struct ct_event ct_ev_thread_start(uint64_t ts, uint32_t stack, uint32_t parent,
						 uint64_t start_func)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_THREAD_START, ts, 0, 0, stack, 0);

	ct_ev_thread_start_set_parent(&e, parent);
	ct_ev_thread_start_set_start_func(&e, start_func);
	return e;
}

/* name: CT_NAME_LEN bytes (NUL-padded), copied as they are. */
static inline struct ct_event ct_ev_thread_name(uint64_t ts, uint32_t tid, const char *name)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_THREAD_NAME, ts, 0, 0, 0, 0);

	ct_ev_thread_name_set_tid(&e, tid);
	memcpy(&e.b, name, 8);
	memcpy(&e.c, name + 8, 8);
	return e;
}

/* The name of a THREAD_NAME event into out (CT_NAME_LEN bytes, not NUL-terminated). */
static inline void ct_ev_thread_name_get(const struct ct_event *e, char out[CT_NAME_LEN])
{
	memcpy(out, &e->b, 8);
	memcpy(out + 8, &e->c, 8);
}

static inline struct ct_event ct_ev_thread_end(uint64_t ts, uint64_t cpu_ns, uint64_t runq_ns)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_THREAD_END, ts, 0, 0, 0, 0);

	ct_ev_thread_end_set_cpu_ns(&e, cpu_ns);
	ct_ev_thread_end_set_runq_ns(&e, runq_ns);
	return e;
}

static inline struct ct_event ct_ev_syscall(uint64_t ts, unsigned kind, uint32_t stack,
					    uint64_t fd, uint64_t end, int64_t ret, unsigned err,
					    unsigned fd_class)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_SYSCALL, ts, kind, 0, stack, 0);

	ct_ev_syscall_set_fd(&e, fd);
	ct_ev_syscall_set_end(&e, end);
	ct_ev_syscall_set_ret(&e, ret);
	ct_ev_syscall_set_err(&e, err);
	ct_ev_syscall_set_fd_class(&e, fd_class);
	return e;
}

static inline struct ct_event ct_ev_site(uint64_t ts, unsigned kind, unsigned fd_class,
					 uint64_t pc, uint64_t calls, uint64_t total_ns,
					 uint64_t max_ns)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_SITE, ts, kind, 0, 0, 0);

	ct_ev_site_set_fd_class(&e, fd_class);
	ct_ev_site_set_pc(&e, pc);
	ct_ev_site_set_calls(&e, calls);
	ct_ev_site_set_total_ns(&e, total_ns);
	ct_ev_site_set_max_ns(&e, max_ns);
	return e;
}

static inline struct ct_event ct_ev_hold(uint64_t ts, unsigned kind, uint32_t stack,
					 uint64_t obj, unsigned after_wait)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_HOLD, ts, kind, 0, stack, obj);

	ct_ev_hold_set_after_wait(&e, after_wait);
	return e;
}

static inline struct ct_event ct_ev_lock_order(uint64_t ts, unsigned kind, uint32_t stack,
					       uint64_t obj, uint64_t held, unsigned held_kind,
					       uint32_t held_stack)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_LOCK_ORDER, ts, kind, 0, stack, obj);

	ct_ev_lock_order_set_held(&e, held);
	ct_ev_lock_order_set_held_kind(&e, held_kind);
	ct_ev_lock_order_set_held_stack(&e, held_stack);
	return e;
}

/* ---- annotation texts ----------------------------------------------------------------- */

#define CT_TEXT_INLINE 16u  /* bytes in the annotation event itself (b, c) */
#define CT_TEXT_PART 24u    /* bytes per TEXT event (a, b, c) */
#define CT_TEXT_PARTS 4u    /* TEXT events at most after one annotation */
#define CT_TEXT_MAX (CT_TEXT_INLINE + CT_TEXT_PART * CT_TEXT_PARTS) /* 112 bytes */

/* An annotation of type `type` (TASK_BEGIN ... LABEL) with text[0 .. len) (len at most
 * CT_TEXT_MAX): the event into out[0] and its TEXT events after it; returns how many
 * events (1 + the TEXT count, which the first one's flags hold). */
static inline unsigned ct_ev_annotation(struct ct_event *out, unsigned type, uint64_t ts,
					uint64_t obj, uint64_t a, const char *text, size_t len)
{
	char buf[CT_TEXT_MAX];
	unsigned parts;

	if (len > CT_TEXT_MAX)
		len = CT_TEXT_MAX;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, text, len);
	parts = len <= CT_TEXT_INLINE ? 0
				      : (unsigned)((len - CT_TEXT_INLINE + CT_TEXT_PART - 1) / CT_TEXT_PART);
	out[0] = (struct ct_event)CT_EV_HEAD_(type, ts, 0, parts, 0, obj);
	out[0].a = a;
	memcpy(&out[0].b, buf, 8);
	memcpy(&out[0].c, buf + 8, 8);
	for (unsigned i = 0; i < parts; i++) {
		const char *p = buf + CT_TEXT_INLINE + i * CT_TEXT_PART;

		out[1 + i] = (struct ct_event)CT_EV_HEAD_(CT_EV_TEXT, ts, 0, 0, 0, obj);
		memcpy(&out[1 + i].a, p, 8);
		memcpy(&out[1 + i].b, p + 8, 8);
		memcpy(&out[1 + i].c, p + 16, 8);
	}
	return 1 + parts;
}

/* The text bytes of an annotation event (its first CT_TEXT_INLINE) or of a TEXT event
 * (CT_TEXT_PART) into out; returns how many were copied (NULs included). */
static inline size_t ct_ev_text_get(const struct ct_event *e, char *out)
{
	if (e->type == CT_EV_TEXT) {
		memcpy(out, &e->a, 8);
		memcpy(out + 8, &e->b, 8);
		memcpy(out + 16, &e->c, 8);
		return CT_TEXT_PART;
	}
	memcpy(out, &e->b, 8);
	memcpy(out + 8, &e->c, 8);
	return CT_TEXT_INLINE;
}

static inline struct ct_event ct_ev_trigger(uint64_t ts, unsigned reason, uint32_t tid,
					    unsigned kind, uint32_t stack, uint64_t obj,
					    unsigned profile, uint64_t wait_ns, unsigned signo,
					    uint64_t suppressed)
{
	struct ct_event e = CT_EV_HEAD_(CT_EV_TRIGGER, ts, kind, 0, stack, obj);

	ct_ev_trigger_set_reason(&e, reason);
	ct_ev_trigger_set_tid(&e, tid);
	ct_ev_trigger_set_profile(&e, profile);
	ct_ev_trigger_set_wait_ns(&e, wait_ns);
	ct_ev_trigger_set_signo(&e, signo);
	ct_ev_trigger_set_suppressed(&e, suppressed);
	return e;
}

/* Payload slot i (0: a, 1: b, 2: c) as stored, for what has no field here: a record of a
 * type a newer format added, or a slot its type leaves 0. Only a raw listing (dump) wants
 * it. */
static inline uint64_t ct_ev_slot(const struct ct_event *e, unsigned i)
{
	return i == 0 ? e->a : i == 1 ? e->b : e->c;
}

/* A SYSCALL's duration: end - ts, 0 when the end is not after the begin. */
static inline uint64_t ct_ev_syscall_duration(const struct ct_event *e)
{
	uint64_t end = ct_ev_syscall_end(e);

	return end > e->ts ? end - e->ts : 0;
}

#endif
