/* SPDX-License-Identifier: MIT */
/*
 * The analyses of DESIGN.md section 6 over a loaded model (model.h), as plain arrays so
 * that report, export, check and the unit tests share one computation:
 *   - waits: WAIT_BEGIN/WAIT_END pairs, matched per thread as a stack (a signal handler
 *     may nest a wait); a wait without its END lasts to the thread's or trace's end and is
 *     flagged unfinished;
 *   - releases and which release ended which wait (mutex: exact sequence number; cond:
 *     earliest unassigned SIGNAL, or a BROADCAST, with seq in (begin.b, end.a]);
 *   - profile entries: the waiter profiles sync/net/syscall/sleep, the holder profile
 *     (Go mutex-profile semantics, exact form) and the wake-up latency profile;
 *   - the per-object table and the per-thread table.
 * Called by report.c and tests/unit/test_analyze.c.
 */
#ifndef CTRACE_ANALYSIS_H
#define CTRACE_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* Profiles of the report: the four waiter profiles keep enum ct_profile's values. */
enum ct_aprofile {
	CT_AP_SYNC = CT_P_SYNC,
	CT_AP_NET = CT_P_NET,
	CT_AP_SYSCALL = CT_P_SYSCALL,
	CT_AP_SLEEP = CT_P_SLEEP,
	CT_AP_HOLDER = CT_P_MAX, /* waits charged to the releasing stack */
	CT_AP_WAKEUP,            /* release -> waiter running again, at the waiter's stack */
	CT_AP_MAX
};

#define CT_NO_RELEASE ((size_t)-1)

struct ct_wait {
	uint32_t tid;
	uint8_t kind;        /* enum ct_kind */
	uint8_t profile;     /* enum ct_profile (CT_P_NONE for an unknown kind) */
	uint8_t result;      /* enum ct_result of the END (CT_R_ACQUIRED when unfinished) */
	uint8_t unfinished;  /* no WAIT_END: ends at the thread's end or the trace end */
	uint8_t synthetic;   /* begin taken from a thread state (WAIT_BEGIN not in the file) */
	uint16_t flags;      /* WAIT_BEGIN flags */
	uint32_t stack;      /* waiter stack id */
	uint64_t obj;
	uint64_t arg;        /* WAIT_BEGIN.a: owner tid (mutex) or mutex address (cond) */
	uint64_t begin, end; /* ns */
	uint64_t begin_seq;  /* WAIT_BEGIN.b */
	uint64_t end_seq;    /* WAIT_END.a */
	size_t waker;        /* index in releases of the release that ended it, or CT_NO_RELEASE */
};

struct ct_release {
	uint32_t tid;
	uint8_t kind;        /* the object's kind */
	uint16_t flags;      /* CT_EVF_BROADCAST */
	uint32_t stack;      /* releaser stack id */
	uint64_t ts, obj;
	uint64_t seq;        /* RELEASE.a */
	uint64_t waiters;    /* RELEASE.b */
	uint64_t woken;      /* waits assigned to this release */
	uint64_t charged_ns; /* holder time charged to it */
	uint64_t ncharged;   /* waits charged */
};

/* One holder charge: release rel charged ns for wait wait. */
struct ct_charge {
	size_t rel, wait;
	uint64_t ns;
};

/* One entry of a profile: samples aggregated by (profile, kind, stack). */
struct ct_pentry {
	int profile;         /* enum ct_aprofile */
	uint8_t kind;
	uint32_t stack;
	uint64_t count, total_ns, max_ns, p50_ns, p99_ns;
};

struct ct_object {
	uint64_t addr;
	uint8_t kind;        /* kind of its first event */
	uint64_t contended;  /* waits on it */
	uint64_t wait_total_ns, wait_max_ns, wait_p50_ns, wait_p99_ns;
	uint64_t releases;   /* recorded releases */
	uint64_t max_waiters;/* most waits in progress at once */
	uint64_t wakeups;    /* waits whose ending release is identified */
	uint64_t unfinished; /* waits still in progress at the trace end */
	uint32_t first_stack;/* stack of its first event */
	uint64_t first_ts;
};

struct ct_thread_info {
	uint32_t tid;
	const char *name;    /* points into the model */
	uint64_t start_func; /* address; 0 for the main thread or unknown */
	int is_main;         /* tid == header pid */
	uint64_t lifetime_ns;
	uint64_t cpu_ns, runq_ns;
	uint64_t blocked_ns[CT_P_MAX]; /* indexed by enum ct_profile */
	uint64_t waits;
};

struct ct_analysis {
	struct ct_wait *waits;         /* by thread, then begin */
	size_t nwaits;
	struct ct_release *rels;       /* by thread, then ts */
	size_t nrels;
	struct ct_charge *charges;     /* by object, then release ts */
	size_t ncharges;
	struct ct_pentry *entries;     /* grouped by profile (enum order), each by total desc */
	size_t nentries;
	struct ct_object *objs;        /* by wait_total_ns desc */
	size_t nobjs;
	struct ct_thread_info *threads;/* by tid */
	size_t nthreads;
	uint64_t unmatched_ends;       /* WAIT_END with no open wait (lost events) */
	uint64_t unfinished;           /* waits without END */
};

/* Runs every analysis over m (which must outlive the result). Never fails (exits on
 * out-of-memory). Free with ct_analysis_free. */
struct ct_analysis *ct_analyze(const struct ct_model *m);
void ct_analysis_free(struct ct_analysis *a);

/* "sync", "net", "syscall", "sleep", "holder", "wakeup"; "?" when out of range. */
const char *ct_aprofile_name(int profile);
/* The enum ct_aprofile for a name, or -1. */
int ct_aprofile_from_name(const char *name);

/* Nearest-rank percentile of sorted[0..n): sorted[ceil(pct/100 * n) - 1]; 0 if n == 0. */
uint64_t ct_percentile(const uint64_t *sorted, size_t n, unsigned pct);

/* The entries of one profile: *n of them from the returned pointer (NULL if none). */
const struct ct_pentry *ct_analysis_profile(const struct ct_analysis *a, int profile,
					    size_t *n);
/* The object at addr, or NULL. */
const struct ct_object *ct_analysis_object(const struct ct_analysis *a, uint64_t addr);

#endif
