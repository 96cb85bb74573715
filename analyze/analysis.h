/* SPDX-License-Identifier: MIT */
/*
 * The analyses of a trace and their aggregated results, shared by report, check, diff,
 * the exporters and the unit tests. The events stream through the engine (engine.h) once,
 * in time order; the results hold what the trace contains (entries, objects, threads,
 * call sites, wait chains), never its events:
 *   - waits: WAIT_BEGIN/WAIT_END pairs, matched per thread as a stack (a signal handler
 *     may nest a wait); a wait without its END lasts to the thread's or trace's end and is
 *     flagged unfinished;
 *   - which release ended which wait (mutex: exact sequence number; cond: earliest
 *     unassigned SIGNAL, or a BROADCAST, with seq in (begin seq, end seq]; barrier: the
 *     round's release by another thread), from each object's ring of recent releases;
 *   - system calls: SYSCALL events (slow calls, with a stack) and the SITE counters (every
 *     call, per thread and call site), reconciled so that the net/syscall/sleep profiles
 *     and the threads' blocked time hold exact totals: what SITE counts beyond the
 *     recorded calls becomes a remainder entry at the call site (one frame);
 *   - profile entries: the waiter profiles sync/net/syscall/sleep, the holder profile
 *     (Go mutex-profile semantics, exact form) and the wake-up latency profile, with
 *     percentiles from log-linear histograms (lhist.h: within 1/128);
 *   - the per-object table (waits, log2 histogram, hold times, wake-ups, owner changes,
 *     convoy verdict with evidence and a per-window series) and the per-thread table
 *     (non-overlapping blocked time per profile, schedstat cpu and run-queue time, the
 *     rest);
 *   - wait chains at the end of the trace and their cycles (deadlocks), with where each
 *     holder took the lock (HOLD events, else the wait that acquired it);
 *   - filters: a time window (waits clipped to it) and a set of threads;
 *   - several traces of one program analysed as one (ct_analysis_merge).
 */
#ifndef CTRACE_ANALYSIS_H
#define CTRACE_ANALYSIS_H

#include <fnmatch.h>
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

/* The totals of one (thread instance, call site, kind, fd class) from its last CT_EV_SITE record,
 * and how they split into recorded calls and the remainder. pc 0 is the thread's overflow
 * entry (calls at sites beyond the recorder's per-thread table; kind and class of its
 * latest call). */
struct ct_callsite {
	uint32_t tid;
	uint32_t thr;                     /* index in the model's threads */
	uint8_t kind, fd_class, profile;
	uint64_t pc;
	uint64_t ts;                      /* the snapshot's time */
	uint64_t calls, total_ns, max_ns; /* SITE a, b, c */
	uint64_t ev_calls, ev_ns;         /* recorded SYSCALL events matched to it */
	uint64_t ev_max_ns;               /* the longest of them */
	uint64_t rem_calls, rem_ns;       /* calls without a stack: the totals minus the events
					   * that ended by the snapshot (never negative) */
};

/* Log2 histogram of durations: bucket i holds [2^i, 2^(i+1)) ns; bucket 0 also holds
 * 0 ns. Counts add up to the samples' count. */
#define CT_HIST_BUCKETS 64
struct ct_hist {
	uint64_t count[CT_HIST_BUCKETS];
};
/* The bucket of v: floor(log2(v)), 0 for v <= 1. */
static inline unsigned ct_hist_bucket(uint64_t v)
{
	return v <= 1 ? 0 : 63u - (unsigned)__builtin_clzll(v);
}

static inline void ct_hist_add(struct ct_hist *h, uint64_t v)
{
	h->count[ct_hist_bucket(v)]++;
}

/* One entry of a profile: samples aggregated by (profile, kind, fd class, stack, and the
 * keys of the filter's entry_keys), or a remainder entry: the calls a call site's SITE
 * totals hold beyond its recorded calls (count and total; max_ns the site's longest call
 * when that one had no stack, else 0; no samples, no percentiles). */
struct ct_pentry {
	int profile;         /* enum ct_aprofile */
	uint8_t kind;
	uint8_t fd_class;    /* enum ct_fd_class; CT_FD_UNKNOWN for waits */
	uint8_t remainder;   /* a remainder entry: stack 0, p50/p99 0, max_ns from SITE c */
	uint32_t stack;
	uint64_t site;       /* remainder entry: the call site's PC (0: the overflow entry) */
	uint64_t count, total_ns, max_ns, p50_ns, p99_ns;
	uint64_t stack_calls;/* how many of count have a recorded stack (0 for a remainder) */
	uint64_t max_obj;    /* sync entries: the object of its longest wait (the first of
			      * equal ones), else 0 */
	uint32_t pid;        /* the process (file header pid) */
	uint32_t proc;       /* index of its trace among those analysed together */
	struct ct_hist hist; /* of its samples (a remainder entry: empty) */
	/* keys asked for by the filter's entry_keys (else 0): */
	uint32_t thr;        /* CT_EKEY_THREAD: the thread instance whose samples these are
			      * (waiter, wake-up, system call: the waiting thread; holder: the
			      * releasing one), index in the model's threads */
	uint64_t obj;        /* CT_EKEY_OBJECT: the object waited on or released (0: none,
			      * system calls) */
	uint32_t taken_stack;/* holder entries: where the releasing threads took the lock
			      * most often (a HOLD's call site or the wait that acquired it;
			      * 0: not recorded) */
};

/*
 * The convoy detector (README.md, "Convoys"). A lock is a convoy when its queue of waiters
 * does not drain while the lock keeps changing hands, over a sustained run of windows.
 * Per window of width window_ns: Q, the time-average number of waiters, and E, the share
 * of the window with nobody waiting. A *queued window* has Q >= min_waiters and
 * E <= max_empty. A run of at least min_run consecutive queued windows is a *convoy* when
 * the lock was handed on through it (recorded releases, i.e. releases made while someone
 * waited: at least min_releases per window on average) and its waiters queued behind
 * others (the median wait of the acquisitions in it at least wait_hold times the median
 * hold). Its windows are convoy windows. Defaults: CT_CONVOY_*; every value is a
 * command-line flag of report and check.
 */
#define CT_CONVOY_WINDOW_NS 100000000ull /* window width, shorter for short traces */
#define CT_CONVOY_MIN_WINDOWS 10         /* traces shorter than this many windows use
					  * duration / CT_CONVOY_MIN_WINDOWS */
#define CT_CONVOY_MAX_WINDOWS 65536      /* traces longer than this many windows use
					  * wider ones: duration / CT_CONVOY_MAX_WINDOWS
					  * (memory per contended lock stays bounded) */
#define CT_CONVOY_WAITERS 1.0            /* Q >= */
#define CT_CONVOY_EMPTY 0.5              /* E <= */
#define CT_CONVOY_RUN 3                  /* consecutive queued windows */
#define CT_CONVOY_RELEASES 2.0           /* recorded releases per window in the run >= */
#define CT_CONVOY_WAIT_HOLD 2.0          /* median wait >= this x median hold */

struct ct_convoy_params {
	uint64_t window_ns;      /* 0: CT_CONVOY_WINDOW_NS */
	double min_waiters;      /* Q */
	double max_empty;        /* E */
	uint64_t min_run;        /* consecutive queued windows */
	double min_releases;     /* per window of the run, on average */
	double wait_hold;        /* median wait / median hold */
};

/* The defaults above. */
void ct_convoy_params_default(struct ct_convoy_params *p);

/* The measurements of one window of one object. */
struct ct_convoy_window {
	uint64_t index;           /* its number from the analysed time's start */
	uint64_t start_ns;        /* relative to the trace start */
	double mean_waiters;      /* Q: integral of waiters over the window / width */
	double empty_fraction;    /* E: share of the window with no waiter */
	double held_fraction;     /* H: share of the window the lock was held, capped at 1:
				   * the holds ending at its recorded releases (exact from
				   * the releaser's acquisition, else estimated) */
	uint64_t acquisitions;    /* acquisitions that ended a wait in it */
	uint64_t releases;        /* recorded releases in it (made while someone waited) */
	uint64_t median_wait_ns;  /* of the waits that acquired in it */
	uint64_t median_hold_ns;  /* of the measured holds ending in it (0: none) */
	uint64_t median_handoff_ns; /* release -> the woken waiter acquiring, in it */
	int queued;               /* Q and E pass */
	int convoy;               /* in a convoy run */
};

/* The evidence of a convoy verdict. */
struct ct_convoy {
	uint64_t start_ns, end_ns;   /* first convoy window's start, last one's end, relative
				      * to the trace start */
	uint64_t window_ns;          /* the window width used */
	uint64_t windows;            /* convoy windows */
	uint64_t total_windows;      /* windows the analysed time was split into */
	uint64_t longest_run;        /* the longest convoy run, in windows */
	uint64_t releases;           /* recorded releases in the convoy windows */
	double mean_waiters;         /* mean Q over the convoy windows */
	double empty_fraction;       /* mean E over the convoy windows */
	double hold_fraction;        /* mean H over the convoy windows */
	uint64_t acquisitions;       /* acquisitions that ended a wait, in them */
	uint64_t median_hold_ns;     /* median measured hold ending in the convoy windows
				      * (the object's when none ends there) */
	uint64_t held_ns;            /* the lock's held time in the convoy windows: the sum of
				      * H x window */
	uint64_t mean_hold_ns;       /* held_ns / releases: the mean hold of the holds the
				      * convoy windows' recorded releases ended */
	uint64_t p99_hold_ns, max_hold_ns; /* of the measured holds in the convoy windows
				      * (the object's when none ends there) */
	uint64_t median_wait_ns;     /* median wait ending in the convoy windows */
	uint64_t median_handoff_ns;  /* median release -> next owner running, same windows */
	uint64_t p99_handoff_ns;     /* ... and its p99 */
	double throughput_cap_per_s; /* 1 / mean hold (releases / held time): the most
				      * acquisitions a second the lock allows while it is held
				      * that long on average (0: no held time) */
	uint64_t lost_ns;            /* thread-time lost waiting: sum of Q x window */
	uint32_t waiter_stack;       /* stack of the most waits in the run (0: none) */
	uint32_t holder_stack;       /* stack of the most releases in the run (0: none) */
	struct ct_convoy_window *series; /* owned: every window from the first convoy window
					  * to the last (with the analysis: convoyed objects
					  * only); NULL when none */
	size_t nseries;
};

/* Frees what ev owns (its series); ev itself is the caller's. */
void ct_convoy_release(struct ct_convoy *ev);

/* A slow call or a wait made while a lock was held, aggregated by (profile, kind, the
 * call's stack) (README.md "Under locks"). */
struct ct_underlock {
	int profile;         /* enum ct_aprofile: sync, net, syscall or sleep */
	uint8_t kind;
	uint32_t stack;      /* the call's or wait's stack */
	uint64_t count, total_ns, max_ns;
	uint32_t taken_stack;/* where the lock was taken (a HOLD's call site or the stack of
			      * the wait that acquired it; 0: not recorded) */
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
	/* added with issue 4 */
	struct ct_hist hist; /* of its waits' durations (counts add up to contended) */
	uint64_t wakeup_p50_ns, wakeup_p99_ns, wakeup_max_ns; /* over its identified wakes */
	uint64_t holds;      /* recorded releases whose hold is known or estimated
			      * (README.md "Holds"): holds_exact + holds_bounded +
			      * holds_estimated; the p50, p99, max and mean are over them */
	uint64_t hold_total_ns, hold_p50_ns, hold_p99_ns, hold_max_ns;
	uint64_t holds_exact;     /* from an acquisition that ended a wait, waiters all along */
	uint64_t holds_bounded;   /* part of it proven (evidence, a wait begun in it) */
	uint64_t holds_estimated; /* nothing proven: the median exact hold, capped */
	uint64_t held_ns;    /* time held over the analysed time: the sum of the convoy
			      * windows' H (holds ending at recorded releases, exact or
			      * estimated); 0 when the detector does not apply */
	double held_share;   /* held_ns / the analysed time */
	uint64_t hold_mean_ns; /* hold_total_ns / holds (0: none) */
	uint64_t owner_changes; /* acquisitions (ended waits) by a thread other than the
				 * previous owner */
	int convoy;          /* convoy verdict */
	struct ct_convoy convoy_ev; /* valid when convoy */
	int mutex_like;      /* mutex, rwlock or spin: the convoy detector applies */
	struct ct_underlock *under; /* owned: slow calls and waits made while it was held,
				     * by total_ns desc */
	size_t nunder;
	uint32_t pid, proc;  /* the process, and its trace's index (as in ct_pentry) */
	struct ct_convoy_window *windows; /* owned: the windows of the analysed time with
					   * something in them (the detector's measurements),
					   * by index; the others are empty (no waiter, no
					   * event) and not stored; NULL when none. All of
					   * them: ct_convoy_detect (or ct_convoy_series) */
	size_t nwindows;
	uint64_t windows_t0_ns; /* window 0's start, relative to the trace start (the
				 * detector applies when convoy_ev.total_windows) */
};

/* Where a wait chain's holder took the object (ct_chain_link.held_from). */
enum ct_held_from {
	CT_HELD_NONE = 0,    /* not recorded */
	CT_HELD_HOLD,        /* a HOLD event's call site (one frame) */
	CT_HELD_WAIT,        /* the stack of the holder's wait that acquired it */
};

/* One link of a wait chain at the end of the trace: tid waits (an unfinished wait) on
 * obj, whose owner is held_by (from WAIT_BEGIN owner; 0 unknown). */
struct ct_chain_link {
	uint32_t tid;
	uint32_t held_by;
	uint64_t obj;
	uint32_t thr;        /* the waiting thread: index in the model's threads */
	uint8_t kind;        /* kind of the wait */
	uint32_t stack;      /* the waiting stack */
	uint64_t begin;      /* the wait's begin (absolute ns, clipped to the window) */
	uint32_t pid, proc;  /* the process, and its trace's index (as in ct_pentry) */
	uint32_t held_stack; /* where held_by took obj (README.md "Wait chains"): the call
			      * site of its latest HOLD of obj at or before its own current
			      * wait began (the full stack of the wait that acquired it when the
			      * HOLD says it was taken after a recorded wait), else the stack of
			      * its last recorded wait that acquired obj; 0 when not recorded */
	int held_known;      /* held_stack is set */
	int held_from;       /* enum ct_held_from */
	uint64_t held_ts;    /* the HOLD's, or the acquiring wait's end (0: unknown) */
};

/* A wait cycle (deadlock): links[i] is held_by links[i+1] (cyclically). */
struct ct_deadlock {
	struct ct_chain_link *links; /* owned */
	size_t n;
};

/* A lock-order edge (README.md "Lock order"): thread tid acquired lock (kind) at
 * acquired_stack while it held `held` (held_kind), taken at held_stack (one-frame call-site
 * stacks); ts: the first such acquisition of the trace. */
struct ct_lo_edge {
	uint64_t lock, held, ts;
	uint8_t kind, held_kind;
	uint32_t acquired_stack, held_stack;
	uint32_t tid;
	uint32_t thr;        /* the acquiring thread: index in the model's threads */
	uint32_t pid, proc;  /* the process, and its trace's index (as in ct_pentry) */
};

/* A cycle of the lock-order graph: edges[i].lock is edges[i + 1].held (cyclically). */
struct ct_lo_cycle {
	struct ct_lo_edge *edges; /* owned */
	size_t n;
};

/* Regions of one name in one task name (README.md "Regions and tasks"): the time inside
 * them and how much of it the thread spent waiting, by profile (waits and recorded
 * system calls; nested regions each count their waits). */
struct ct_region {
	char *name;          /* owned */
	char *task;          /* owned: the task's name, "" for none */
	uint64_t count, total_ns, p50_ns, p99_ns, max_ns;
	uint64_t blocked_ns[CT_P_MAX];
	uint32_t stack;      /* the call site of its first begin (one frame) */
	uint32_t pid, proc;
};

/* Tasks of one name: from begin to end (an unended task to the end of the trace). */
struct ct_task_stat {
	char *name;          /* owned */
	uint64_t count, total_ns, p50_ns, p99_ns, max_ns;
	uint64_t blocked_ns[CT_P_MAX]; /* waits inside its regions, each counted once */
	uint64_t threads;    /* distinct threads that began, ended, logged to or had a region
			      * of a task of this name */
	uint64_t logs;
	uint64_t unended;    /* tasks without ctrace_task_end */
	uint32_t pid, proc;
};

/* The part of a profile entry's samples made inside regions or under labels: the waits
 * of (profile, kind, fd class, stack) whose thread had these labels when they ended
 * (labels: "key\0value\0...\0": region (the innermost), task (its task's name) and the
 * thread's labels). pprof samples carry them. */
struct ct_lsample {
	int profile;
	uint8_t kind, fd_class;
	uint32_t stack;
	char *labels;        /* owned */
	uint64_t count, total_ns;
	uint32_t pid, proc;
	uint32_t thr;        /* as the entry's thr and obj when the filter's entry_keys split */
	uint64_t obj;        /* the entries by them (the exports' labels), else 0 */
};

/* What the analyses look at: a time window (relative to the trace start) and threads. */
struct ct_filter {
	uint64_t from_ns;    /* 0: from the start */
	uint64_t to_ns;      /* UINT64_MAX: to the end */
	const uint32_t *tids;/* keep these tids ... */
	size_t ntids;
	const char *const *names; /* ... and the threads with these names; none: all */
	size_t nnames;
	unsigned entry_keys; /* CT_EKEY_* bits: profile entries also split by these keys
			      * (the exports' labels; memory grows by that factor, never with
			      * the trace's length); 0: by (profile, kind, fd class, stack) */
	uint64_t kinds;      /* bit k: keep waits, calls and releases of enum ct_kind k;
			      * 0: every kind (thread events are always kept) */
	const char *region;  /* only the waits and recorded calls inside a region of this
			      * name (README.md "Regions and tasks"); NULL: all */
	const char *label_key, *label_value; /* ... made while this label had this value */
	uint64_t origin_ts;  /* several traces of one program: from_ns and to_ns count from
			      * this start (the first trace's header start_mono_ns, as
			      * ct_traces_order returns it); 0: from each trace's own start */
};
#define CT_EKEY_THREAD 1u /* by thread instance (ct_pentry.thr) */
#define CT_EKEY_OBJECT 2u /* by object (ct_pentry.obj) */

/* Whether a --thread pattern (a name, or a glob: fnmatch) names the thread called name. */
static inline int ct_filter_name(const char *pattern, const char *name)
{
	return !fnmatch(pattern, name, 0);
}

/* Whether f keeps events of kind (an enum ct_kind). */
static inline int ct_filter_kind(const struct ct_filter *f, unsigned kind)
{
	return !f || !f->kinds || kind == 0 || kind >= 64 || ((f->kinds >> kind) & 1);
}

/* A thread's idle waits of one (profile, kind, fd class, stack) (README.md "Idle threads"). */
struct ct_idle_entry {
	int profile;         /* enum ct_aprofile: sync, net or sleep */
	uint8_t kind, fd_class;
	uint32_t stack;
	uint64_t count, total_ns;
};

struct ct_thread_info {
	uint32_t tid;
	uint32_t pid, proc;  /* the process, and its trace's index (as in ct_pentry) */
	uint32_t thr;        /* index in the model's threads */
	const char *name;    /* points into the model */
	uint64_t start_func; /* address; 0 for the main thread or unknown */
	int is_main;         /* tid == header pid */
	int untraced;        /* began while the recorder had no slot for it (CTRACE_MAX_THREADS
			      * alive at once): no THREAD_START, not in the first generation's
			      * thread states, no name; only its later calls, if any, recorded */
	uint64_t lifetime_ns;
	uint64_t cpu_ns, runq_ns;
	uint64_t other_ns;   /* lifetime - blocked - cpu - runq, never negative */
	/* indexed by enum ct_profile: waits of that profile, plus for net/syscall/sleep the
	 * thread's system calls (SITE totals, or the recorded calls where they exceed them) */
	uint64_t blocked_ns[CT_P_MAX];
	uint64_t waits;
	uint64_t syscalls;   /* system calls counted the same way */
	uint64_t overlap_ns; /* cpu and run-queue time inside its blocked time (the kernel
			      * counts a blocking call's own running in cpu): lifetime = cpu +
			      * runq + blocked + other - overlap */
	uint64_t idle_ns;    /* blocked in idle waits: condition waits, readiness waits
			      * (epoll, poll, select) and sleeps */
	int idle;            /* idle_ns is more than half its lifetime */
	struct ct_idle_entry *idle_ents; /* owned: its idle waits (those with a stack) */
	size_t nidle_ents;
};

struct ct_analysis {
	struct ct_callsite *sites;     /* SITE totals per (thread, pc, kind, fd class) */
	size_t nsites;
	uint64_t sys_nosite;           /* recorded calls no SITE record accounts for */
	struct ct_pentry *entries;     /* grouped by profile (enum order), each by total desc */
	size_t nentries;
	struct ct_object *objs;        /* by wait_total_ns desc */
	size_t nobjs;
	struct ct_thread_info *threads;/* one per thread instance, by tid then time */
	size_t nthreads;
	uint64_t unmatched_ends;       /* WAIT_END with no open wait (lost events) */
	uint64_t unfinished;           /* waits without END */
	uint64_t seccomp_threads;      /* threads that stopped recording under a seccomp
					* filter of their own (THREAD_END flagged CT_EVF_SECCOMP) */
	struct ct_deadlock *deadlocks; /* wait cycles at the end of the trace (or window) */
	size_t ndeadlocks;
	struct ct_chain_link *chains;  /* every unfinished mutex-like wait at the end, by tid */
	size_t nchains;
	uint64_t nholds;               /* HOLD events of the selected threads up to the end */
	struct ct_lo_cycle *lock_order;/* lock-order cycles (potential deadlocks) */
	size_t nlock_order;
	uint64_t lo_edges;             /* distinct lock-order edges (LOCK_ORDER events) seen */
	struct ct_lo_edge *lo_full;    /* per thread whose edge table filled: its last edge */
	size_t nlo_full;
	struct ct_region *regions;     /* by total_ns desc */
	size_t nregions;
	struct ct_task_stat *tasks;    /* by total_ns desc */
	size_t ntasks;
	uint64_t region_unbalanced;    /* region ends that matched no open region (ignored) */
	uint64_t region_unfinished;    /* regions still open at their thread's or trace's end */
	uint64_t annotations;          /* annotation events (tasks, regions, logs, labels) */
	struct ct_lsample *lsamples;   /* by (proc, profile, kind, fd class, stack) */
	size_t nlsamples;
	uint64_t from_ts, to_ts;       /* the analysed window, absolute (model) ns */
	uint64_t start_ts;             /* the trace start (model start_ts) */
	int filtered;                  /* a filter applied */
	struct ct_convoy_params convoy;/* the convoy detector's parameters used */
	uint64_t convoy_dw;            /* the convoy window width used (0: none) */
};

/* The labelled parts of entry e (ct_lsample), *out the first; returns how many. */
size_t ct_analysis_entry_labels(const struct ct_analysis *a, const struct ct_pentry *e,
				const struct ct_lsample **out);

/* Runs every analysis over a loaded model m (which must outlive the result), its events
 * merged in time order through the same engine as ct_analyze_file. Never fails (exits
 * on out-of-memory). Free with ct_analysis_free. */
struct ct_analysis *ct_analyze(const struct ct_model *m);
void ct_analysis_free(struct ct_analysis *a);
/* The same restricted by f (NULL: everything): waits and calls overlapping the window
 * are clipped to it, threads not selected are left out of every analysis. */
struct ct_analysis *ct_analyze_filtered(const struct ct_model *m, const struct ct_filter *f);
/* The same with the convoy detector's parameters (NULL: the defaults). */
struct ct_analysis *ct_analyze_with(const struct ct_model *m, const struct ct_filter *f,
				    const struct ct_convoy_params *cp);

/* What the engine saw, event by event, for the unit tests and the timeline (timeline.h)
 * (never kept in the result). */
struct ct_wait_seen {
	uint32_t tid, stack;
	uint8_t kind, unfinished;
	uint64_t begin, end;  /* clipped to the window */
	uint64_t waker_ts;    /* the release that ended it (0: none identified) */
	uint32_t key;         /* the thread instance: its index in the model's threads
			       * under ct_analyze_observed; ct_analyze_file_with's key
			       * map (ct_file_opts.k2t) gives that index */
	uint8_t profile;      /* enum ct_profile */
	uint8_t fd_class;     /* a system call's (CT_FD_UNKNOWN for a wait) */
	uint64_t obj;         /* the object waited on (a wait) */
	uint32_t waker_tid, waker_stack; /* the release's thread and stack (waker_ts != 0) */
};
struct ct_observer {
	void (*wait)(void *ctx, const struct ct_wait_seen *w); /* every wait analysed */
	/* every recorded system call analysed (selected threads, clipped to the window):
	 * tid, key, stack, kind, profile, fd_class, begin, end; NULL: not wanted */
	void (*syscall)(void *ctx, const struct ct_wait_seen *s);
	/* ct_analyze_file_with only: the analysis starts over (its convoy windows' width
	 * changed once the trace's length was known), the counts below are back to 0, and
	 * what was told is told again; NULL: not wanted */
	void (*restart)(void *ctx);
	void *ctx;
	uint64_t waits, releases, syscalls; /* analysed (selected threads, window) */
	uint64_t charged;     /* holder charges, one per waiter per release */
	uint64_t self_charged;/* ... of them to the waiter's own release */
	uint64_t sys_err;     /* recorded calls that failed; the last one: */
	uint32_t err_tid;
	uint16_t err;
	int64_t err_ret;
	uint64_t err_fd;
};
/* ct_analyze_with, telling ob (NULL: nobody) what it analyses. */
struct ct_analysis *ct_analyze_observed(const struct ct_model *m, const struct ct_filter *f,
					const struct ct_convoy_params *cp,
					struct ct_observer *ob);
/*
 * Streams the trace at path through every analysis without keeping its events (memory
 * bounded by threads, objects, stacks, call sites and convoy windows): *mout gets the
 * model without events (header, stacks, threads, lost counts, truncation), *aout the
 * analysis. threads > 1 reads and decodes on a second thread. Returns 0, or -1 with the
 * reader's one-line message (naming the byte offset when the file is corrupt) in err.
 */
int ct_analyze_file(const char *path, const struct ct_filter *f,
		    const struct ct_convoy_params *cp, int threads, struct ct_model **mout,
		    struct ct_analysis **aout, char *err, size_t errlen);
/* What ct_analyze_file_with does beside the analysis. */
struct ct_file_opts {
	int threads;             /* > 1: reading and decoding on a second thread */
	int annotations;         /* the model keeps the annotation events (ct_ann_walk) */
	struct ct_observer *ob;  /* NULL, or told what is analysed, as ct_analyze_observed
				  * tells it, a wait's key being the stream's thread key */
	uint32_t **k2t;          /* NULL, or *k2t gets the key map (nk entries, malloc'ed):
				  * thread key -> index in the model's threads */
	size_t *nk;
	int quiet;               /* no warning on stderr for damaged chunks skipped (a file
				  * read again, its warning given the first time) */
	int stop_at_cut;         /* reading ends soon after the window's end (--to) has
				  * passed: what the observer is told is complete, but the model
				  * and the analysis cover only what was read (a second pass's) */
};
/* ct_analyze_file with those. */
int ct_analyze_file_with(const char *path, const struct ct_filter *f,
			 const struct ct_convoy_params *cp, const struct ct_file_opts *o,
			 struct ct_model **mout, struct ct_analysis **aout, char *err,
			 size_t errlen);
/*
 * The convoy detector's measurements of one object over the analysed time (t0, t1 are
 * the analysis' from_ts and to_ts): returns the verdict and fills *ev, whose series then
 * holds every window (free with ct_convoy_release). Exits on out-of-memory.
 */
int ct_convoy_detect(const struct ct_analysis *a, uint64_t obj, uint64_t t0, uint64_t t1,
		     struct ct_convoy *ev);
/* Windows k0 .. k1 - 1 of object o (*n of them, allocated; NULL when none), the ones not
 * stored made empty. Exits on out-of-memory. */
struct ct_convoy_window *ct_convoy_series(const struct ct_object *o, uint64_t k0, uint64_t k1,
					  size_t *n);

/*
 * The analyses of several traces of one program (its processes) as one: parts[i] (each
 * from ct_analyze_file, with proc 0) gets proc i; entries, objects, threads and wait
 * chains of different processes stay apart (ordered as in one analysis, the trace index
 * breaking ties), counters are summed and the window spans them all. Takes the parts
 * (freed); never fails (exits on out-of-memory).
 */
struct ct_analysis *ct_analysis_merge(struct ct_analysis **parts, size_t n);
/*
 * Puts several traces of one program in the order their processes began to be traced
 * (each header's start_mono_ns, then pid, then the order given), so that what is made of
 * them does not depend on the order they were named in: the program's first process (the
 * one `record` or LD_PRELOAD started) comes first. A file that cannot be read as a trace
 * goes last, where its load reports it; when one of them is not a regular file (a pipe
 * would lose the header this reads) the order given is kept. Reads each header only.
 * Returns the first trace's start (header start_mono_ns; ct_filter.origin_ts), 0 for
 * one trace or when a header could not be read.
 */
uint64_t ct_traces_order(const char **paths, size_t n);

/* "sync", "net", "syscall", "sleep", "holder", "wakeup"; "?" when out of range. */
const char *ct_aprofile_name(int profile);
/* The enum ct_aprofile for a name, or -1. */
int ct_aprofile_from_name(const char *name);
/* Parses a comma-separated list of profile names ("net,sleep") into a mask of
 * (1u << enum ct_aprofile) bits, or'ed into *mask. Returns 0, or -1 with *bad pointing at
 * the first unknown (or empty) name in list. */
int ct_aprofile_parse_list(const char *list, unsigned *mask, const char **bad);

/* Nearest-rank percentile of sorted[0..n): sorted[ceil(pct/100 * n) - 1]; 0 if n == 0. */
uint64_t ct_percentile(const uint64_t *sorted, size_t n, unsigned pct);

/* The entries of one profile: *n of them from the returned pointer (NULL if none). */
const struct ct_pentry *ct_analysis_profile(const struct ct_analysis *a, int profile,
					    size_t *n);
/* The SITE counters of (tid, pc, kind, fd_class), or NULL; of a reused tid, its first
 * thread's. */
const struct ct_callsite *ct_analysis_site(const struct ct_analysis *a, uint32_t tid,
					   uint64_t pc, unsigned kind, unsigned fd_class);
/* The object at addr, or NULL. */
const struct ct_object *ct_analysis_object(const struct ct_analysis *a, uint64_t addr);

#endif
