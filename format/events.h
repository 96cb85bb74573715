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
	/* The thread holds lock obj (kind CT_K_MUTEX or CT_K_RWLOCK_WR) it took earlier,  \
	 * recorded just before the WAIT_BEGIN it is about to make (same ts); stack: the    \
	 * call site that took it (a one-frame CT_STACKF_SITE stack). after_wait: 1 if it   \
	 * was taken after a recorded wait (whose WAIT_BEGIN has the full stack). */         \
	X(hold, after_wait, a, uint64_t, 0, 64)

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
