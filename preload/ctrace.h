/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of libctrace.so: the reentrancy guard, real-symbol table, thread
 * registry, per-thread buffers, stack and shadow tables, and the writer. Included by every
 * preload/ file; nothing here is exported from the shared object except through CT_EXPORT.
 *
 * Record-path rules (preload/README.md, "The record path"): no malloc, no lock the
 * application could wait on, no blocking on tracer I/O, async-signal-safe. Every function
 * below says whether it may run on the record path.
 */
#ifndef CTRACE_PRELOAD_H
#define CTRACE_PRELOAD_H

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <stddef.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <threads.h>
#include <time.h>

#include "../format/ctrace_format.h"

#define CT_EXPORT __attribute__((visibility("default")))
#define CT_TLS __thread __attribute__((tls_model("initial-exec")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- real symbols (real.c), one table generated from symbols.h ---- */
struct ct_real {
#define CT_SYM(ret, name, params) ret(*name) params;
#define CT_VSYM(ret, var, name, version, params) ret(*var) params;
#include "symbols.h"
#undef CT_SYM
#undef CT_VSYM
};
extern struct ct_real ct_real;
/* Resolves every real symbol (dlsym/dlvsym with RTLD_NEXT). Idempotent; called by the
 * constructor, and by wrappers that run before it. Not for signal handlers. */
void ct_resolve(void);
/* Out of line so that wrappers' fast paths stay a load, a test and a tail jump. */
__attribute__((noinline, cold)) void ct_resolve_cold(void);
#define REAL(name) (likely(ct_real.name != NULL) ? ct_real.name : (ct_resolve_cold(), ct_real.name))
/*
 * The hottest real functions (uncontended lock and unlock), called without a null test:
 * the pointers start as stubs that resolve every symbol and forward, and ct_resolve()
 * replaces them. Measured: the test and branch on the fast path cost 2.4 ns per
 * lock/unlock pair, more than the rest of the wrapper.
 */
struct ct_hot {
	int (*mutex_lock)(pthread_mutex_t *);
	int (*mutex_trylock)(pthread_mutex_t *);
	int (*mutex_unlock)(pthread_mutex_t *);
};
extern struct ct_hot ct_hot;

/* ---- configuration (config.c), read once at load ---- */
struct ct_config {
	char out[4096];      /* CTRACE_OUT, %p expanded later */
	int depth;           /* CTRACE_DEPTH: stack frames, default 32 */
	size_t buf_size;     /* CTRACE_BUFFER_SIZE: bytes per buffer, default 64 KiB */
	unsigned nbufs;      /* CTRACE_BUFFERS: buffers in the pool, default 256 */
	unsigned max_threads;/* CTRACE_MAX_THREADS: live thread slots, default 4096 */
	unsigned flush_ms;   /* CTRACE_FLUSH_MS: writer period, default 100 */
	unsigned gen_ms;     /* CTRACE_GENERATION_MS: generation length, default 1000 */
	uint64_t gen_events; /* CTRACE_GENERATION_EVENTS: closed early past these, 1000000 */
	uint64_t sc_threshold_ns; /* CTRACE_SYSCALL_THRESHOLD: stack for slower calls */
	int disabled;        /* CTRACE_DISABLE=1 */
	int follow;          /* CTRACE_FOLLOW: CT_FOLLOW_ALL (default), _EXEC, _NONE */
	/* flight recorder (flight.c, trigger.c) */
	int flight;          /* CTRACE_MODE=flight */
	size_t flight_size;  /* CTRACE_FLIGHT_SIZE: bytes of the recent past, default 16 MiB */
	uint64_t flight_age_ns; /* CTRACE_FLIGHT_AGE: at least this much kept, default 10 s */
	unsigned triggers;   /* CTRACE_TRIGGER: CT_TRIG_* bits */
	unsigned trig_profile; /* PROFILE>DURATION: enum ct_profile, CT_P_NONE for any */
	uint64_t trig_wait_ns; /* its DURATION */
	int trig_signal;     /* CTRACE_TRIGGER_SIGNAL, default SIGUSR2 */
	unsigned trig_limit; /* CTRACE_TRIGGER_LIMIT: snapshots per minute, default 5 */
	uint64_t trig_after_ns; /* CTRACE_TRIGGER_AFTER */
	int start_paused;    /* CTRACE_START=paused */
};
enum { CT_TRIG_SIGNAL = 1, CT_TRIG_CRASH = 2, CT_TRIG_EXIT = 4, CT_TRIG_WAIT = 8 };
enum { CT_FOLLOW_ALL = 0, CT_FOLLOW_EXEC, CT_FOLLOW_NONE };
extern struct ct_config ct_cfg;
void ct_config_read(void);
/* Is this environment entry (NAME=value) a CTRACE_ variable the constructor warned about?
 * Images this process execs do not get those: one warning per traced run. */
int ct_config_dropped(const char *entry);
/* One "libctrace: ..." line on stderr with write(2). Signal-safe (no formatting beyond
 * concatenation). */
void ct_warn(const char *a, const char *b, const char *c);

/* ---- the guard ---- */
struct ct_thread;
struct ct_tls {
	int nest;               /* >0: inside libctrace (or the thread has exited) */
	pid_t tid;
	struct ct_thread *th;   /* registry slot, NULL until the thread's first event */
	uint32_t untraced;      /* found the thread table full: counted in ct_untraced, in
				 * the session ct_sites_epoch + 1 (0: never) */
};
extern CT_TLS struct ct_tls ct_tls;
extern CT_TLS int ct_in_signal;   /* a program signal handler runs on this thread */
extern atomic_int ct_active;      /* tracing on in this process */
extern atomic_int ct_paused;      /* off by `ctrace pause`: waits begun before still end */
/* Seccomp (sandbox.c): a filter covers this thread / every thread; libctrace then makes
 * no system call of its own there. */
extern CT_TLS int ct_sandboxed;
extern atomic_int ct_sandbox_all;
static inline int ct_in_sandbox(void)
{
	return ct_sandboxed || atomic_load_explicit(&ct_sandbox_all, memory_order_relaxed);
}
/*
 * A system call of libctrace's own on a program thread (a lazy mapping, a wake of the
 * writer, an fd's type, a thread's start and end, the writer's start) is bracketed by
 * these: ct_sys_begin() returns 0 (make it, then ct_sys_end()) or -1 when a filter covers
 * the thread or one for every thread is going in (make none). A filter for every thread
 * goes in only once the calls begun before it have ended (sandbox.c), so that a thread
 * that passed its check before the filter does not make its call after it.
 * Async-signal-safe: two atomic operations on a shared counter, so only around calls that
 * are rare (not in the fast path of a wrapper).
 */
extern atomic_int ct_sys_inflight;
extern atomic_int ct_sys_closing; /* a filter for every thread is going in, or is in */
static inline int ct_sys_begin(void)
{
	if (ct_sandboxed)
		return -1;
	atomic_fetch_add(&ct_sys_inflight, 1);
	if (atomic_load(&ct_sys_closing)) { /* after the add: see sandbox.c, quiesce */
		atomic_fetch_sub(&ct_sys_inflight, 1);
		return -1;
	}
	return 0;
}
static inline void ct_sys_end(void)
{
	atomic_fetch_sub_explicit(&ct_sys_inflight, 1, memory_order_release);
}

/* May this call record? (tracing on, not re-entered). Then ct_enter() ... ct_leave(). */
static inline int ct_on(void)
{
	return likely(atomic_load_explicit(&ct_active, memory_order_relaxed)) &&
	       ct_tls.nest == 0;
}
static inline void ct_enter(void) { ct_tls.nest++; atomic_signal_fence(memory_order_seq_cst); }
static inline void ct_leave(void) { atomic_signal_fence(memory_order_seq_cst); ct_tls.nest--; }

/* A nest no ct_enter/ct_leave pair can bring back to 0: the thread is off for good (the
 * writer thread, a thread under a seccomp filter) or until ct_nest_restore. */
#define CT_NEST_OFF (1 << 20)
/* Turns tracing off on this thread, whatever its nest (a flush on a program thread, which
 * may itself run inside a wrapper), until ct_nest_restore; returns the nest to restore.
 * Record path: yes (a TLS load and store, async-signal-safe). */
static inline int ct_nest_off(void)
{
	int saved = ct_tls.nest;
	ct_tls.nest = CT_NEST_OFF;
	atomic_signal_fence(memory_order_seq_cst);
	return saved;
}
/* Puts back the nest ct_nest_off returned. Record path: yes. */
static inline void ct_nest_restore(int saved)
{
	atomic_signal_fence(memory_order_seq_cst);
	ct_tls.nest = saved;
}

/* CLOCK_MONOTONIC in ns (vDSO). Record path. */
static inline uint64_t ct_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- per-call-site counters of system calls (sites.c) ---- */
/*
 * Each thread counts its system calls in its own table, exactly per (call site, kind, fd
 * class): CT_SITE_SLOTS entries hashed by all three (linear probing), of which at most
 * CT_SITE_CAP are used, so that a probe always ends at a free entry within a few steps;
 * then one overflow entry per (kind, class) for the calls of the sites beyond, written
 * into the trace as SITE records with site 0, so that even then no kind or class is mixed
 * with another. sites[] holds a header (sites[0]: pc = hashed entries in use, count != 0
 * once the thread counted a call), the hashed entries, then the overflow ones: CT_SITE_ENTRIES of 32 bytes,
 * 12.25 KiB per thread slot. CT_SITES + 1 records are handled at a time (on the stack).
 */
#define CT_SITE_BITS 8
#define CT_SITE_SLOTS (1u << CT_SITE_BITS)       /* 256 */
#define CT_SITE_CAP (CT_SITE_SLOTS / 8 * 7)      /* 224 sites exact per thread */
#define CT_SITE_KINDS (CT_K_MAX - CT_K_EPOLL)    /* the system-call kinds */
#define CT_SITE_OVERFLOW (CT_SITE_KINDS * CT_FD_MAX)
#define CT_SITE_ENTRIES (1 + CT_SITE_SLOTS + CT_SITE_OVERFLOW)
#define CT_SITES 63
struct ct_site {
	uint64_t pc;       /* call site; 0: free (always 0 in the overflow entries) */
	uint64_t kcm;      /* kind | fd class << 8 | longest call << 16 (saturated) */
	uint64_t count, total; /* written by the owner, read by the writer */
	/* durations in tick.c's ticks (TSC or ns), converted to ns by ct_sites_next */
};

/* ---- thread registry (thread.c) ---- */
struct ct_buf;
struct ct_thread {
	atomic_int state;          /* CT_TH_FREE / CT_TH_LIVE */
	pid_t tid, parent;
	pthread_t self;
	uint64_t start_func;
	char name[CT_NAME_LEN];
	/* the wait in progress, for the thread state written at each generation start */
	atomic_uint_least64_t wait_obj;
	atomic_uint wait_kind;     /* 0: not waiting */
	atomic_uint_least64_t wait_since;
	struct ct_buf *buf;        /* current buffer, owned by the thread */
	/* handed from pthread_create to the new thread */
	void *(*fn)(void *);
	int (*fn_c11)(void *);     /* thrd_create's start routine */
	void *arg;
	uint32_t creator_stack;
	uint32_t claims;           /* buffers claimed so far: the first comes from the small pool */
	uint32_t serial;           /* bumped at each claim (atomically, before the claim resets
				    * the other fields): per-slot state of an earlier owner with
				    * the same tid (tids are reused) is told apart, and the writer
				    * knows when a slot changed owner while it read it */
	void *scache;              /* stack cache (stacktab.c), kept with the slot across threads */
	uint32_t captures;         /* stack captures of this thread, counted until it has a cache */
	uint64_t exit_ts;          /* CT_TH_EXITED: when the thread exited */
	int alt_guarded;           /* the slot's alternate signal stack has its guard page */
	int sandboxed;             /* made by a thread under a seccomp filter (sandbox.c) */
	int adopted;               /* claimed at its first event (ct_self): no exit hook */
	uint32_t sites_epoch;      /* the ct_sites_epoch its sites[] counts for */
	int sites_dirty;           /* sites[] may hold counts (claimed since ct_sites_release
				    * left it all zero); 0 in a slot never claimed */
	char *exec_room;           /* its vfork children's environments (process.c), or NULL */
	size_t exec_room_len;
	struct ct_site sites[CT_SITE_ENTRIES];
};
/* EXITED: the thread is gone but its call-site totals could not go into its buffer (no
 * buffer free): the writer writes them, then frees the slot (ct_thread_reap). */
enum { CT_TH_FREE = 0, CT_TH_CLAIMED, CT_TH_LIVE, CT_TH_EXITED };
extern struct ct_thread *ct_threads;   /* ct_cfg.max_threads slots */
/* The next slot taken (claimed, live or exited) from *i on, *i moved past it; NULL at the
 * end. A slot LIVE or EXITED is always found; the caller checks the state. Lock-free, any
 * thread. */
struct ct_thread *ct_threads_next(unsigned *i);
/* *hi = max(*hi, v), lock-free (the high-water marks of claimed slots and buffers). */
static inline void ct_atomic_raise(atomic_uint *hi, unsigned v)
{
	unsigned cur = atomic_load_explicit(hi, memory_order_relaxed);
	while (cur < v && !atomic_compare_exchange_weak_explicit(hi, &cur, v, memory_order_release,
								  memory_order_relaxed))
		;
}
/* The calling thread's slot, claimed on first use; NULL if the table is full (counted).
 * Record path. */
struct ct_thread *ct_self(void);
int ct_threads_init(void);
/* Called from the fork child: drop every slot but the caller's. */
void ct_threads_after_fork(void);
/* The fork child has one program thread. */
void ct_threads_after_fork_count(void);
/* Frees an EXITED slot once the writer wrote its totals. Writer side. */
void ct_thread_reap(struct ct_thread *t);
/* The adopted threads (no exit hook) found gone (tgkill's signal 0: ESRCH), their buffers
 * retired. free_now (a new attach session's start, tracing off, no writer): their slots
 * freed at once; else (the writer, before a generation's end) EXITED at now, and the
 * generation's end writes their call-site totals and frees them (write_sites). Not on
 * the record path. */
void ct_threads_gone(uint64_t now, int free_now);
/* Program threads alive that libctrace knows of (main, pthread_create, thrd_create). */
int ct_app_threads(void);
/* Program threads made through the wrappers so far. */
unsigned ct_app_threads_made(void);

/* ---- per-thread buffers (buffer.c) ---- */
struct ct_buf {
	atomic_uint state;         /* CT_BUF_FREE / ACTIVE / FULL */
	uint32_t tid;
	atomic_uint committed;     /* records complete; by the owner (0 when freed) */
	uint32_t flushed;          /* records written out; writer only */
	uint32_t seq;              /* EVENTS chunks emitted in the current generation */
	uint32_t gen;              /* generation of seq */
	uint32_t cap;              /* records it holds (small or big pool) */
	uint32_t pad;
	struct ct_event ev[];
};
enum { CT_BUF_FREE = 0, CT_BUF_ACTIVE, CT_BUF_FULL };
extern unsigned ct_buf_cap;    /* records per big buffer */
int ct_buffers_init(void);
struct ct_buf *ct_buf_at(unsigned i);
/* fn on every buffer that was ever claimed (the others were never touched, and reading
 * their pages would fault each one in). Writer side and fork child. */
void ct_bufs_each(void (*fn)(struct ct_buf *b, void *arg), void *arg);
/* The writer frees b, written out (FULL -> FREE): its count reset, then FREE (release),
 * then its pool's free count raised. Writer side. */
void ct_buf_free(struct ct_buf *b);
/* Some buffer holds events not yet written. Not for the record path. */
int ct_buffers_pending(void);
/* Fork child: every buffer free again (the unwritten events are the parent's), the
 * counts restarted (ct_counts_reset). */
void ct_buffers_after_fork(void);
/* The lost-event and untraced-thread counts back to 0, for a new trace (a fork child's,
 * a new attach session's). */
void ct_counts_reset(void);
/* Set (and futex-woken) by a thread that found the buffer pools running low. */
extern atomic_int ct_writer_kick;
/* Appends ev to the calling thread's buffer (th = ct_self()). When no buffer is free the
 * event is dropped and counted. Record path; call between ct_enter and ct_leave. */
int ct_emit(struct ct_thread *th, const struct ct_event *ev);
/* Hands the thread's buffer to the writer (thread exit). */
void ct_buf_retire(struct ct_thread *th);

/* ---- lost events (buffer.c) ---- */
extern atomic_uint_least64_t ct_lost[CT_L_MAX];
/* The threads that ran untraced, the thread table full when they first needed a slot
 * (GEN_END's CT_GEN_UNTRACED); each counted once (ct_tls.untraced). */
extern atomic_uint_least64_t ct_untraced;
static inline void ct_count_lost(int cause)
{
	atomic_fetch_add_explicit(&ct_lost[cause], 1, memory_order_relaxed);
}

/* ---- stack table (stacktab.c) ---- */
int ct_stacks_init(void);
/* Captures the calling thread's stack and returns its id (0 if none). Record path. */
uint32_t ct_stack_here(void);
/* The id of a one-frame stack holding the call site pc (CT_STACKF_SITE). Record path. */
uint32_t ct_stack_site(uint64_t pc);
/* Writer side: the stack with this id, or -1 if the id is unknown / not yet published. */
int ct_stack_get(uint32_t id, struct ct_stack *out);
uint32_t ct_stacks_count(void);
/* Fork child: inserts the parent's other threads left half-done are marked dead. */
void ct_stacks_after_fork(void);

/* ---- shadow object table (shadow.c) ---- */
struct ct_shadow {
	atomic_uint_least64_t key;   /* object address */
	atomic_int waiters;          /* threads blocked in a traced wait on it */
	atomic_uint seq;             /* releases recorded while someone waited */
};
/* Every waiter in the process: a release checks the table only when this is non-zero. */
extern atomic_int ct_waiting;
int ct_shadow_init(void);
/* Finds or inserts obj; NULL if the table is full. Record path (lock-free). */
struct ct_shadow *ct_shadow_get(const void *obj);
/* Finds obj without inserting. Record path. */
struct ct_shadow *ct_shadow_find(const void *obj);
/* Fork child: the parent's waiters are gone. */
void ct_shadow_after_fork(void);

/* ---- the writer (flush.c, hooks.c; tracefile.c and generation.c behind flush.h) ---- */
/* Maps the writer's buffers and tables, and flight mode's ring (ct_map): one of the
 * start's tables (ct_tables_map). 0 or -ENOMEM. */
int ct_writer_tables(void);
/* Opens the trace file and writes its header (constructor), ct_writer_tables mapped.
 * Returns 0 or -errno. */
int ct_writer_start(void);
/* Starts the writer thread if not yet running: when the program creates its first thread
 * (see flush.c for why not before). Not from a signal handler. */
void ct_writer_spawn(void);
/* The writer thread runs. Until the program creates a thread it does not: the program's
 * own threads write the trace (ct_writer_tick, ct_writer_buffer_full). */
extern atomic_int ct_writer_on;
/* After a recorded event at time now (ns): with no writer thread, writes what is buffered
 * when a writer period (CTRACE_FLUSH_MS) has passed since the last such flush; starts
 * the writer if the program has threads. Record path (a load and a compare when the
 * writer runs); the flush itself runs on the flush stack, never in a program signal
 * handler, and gives up at once if another flush is under way. errno untouched. */
void ct_writer_tick(uint64_t now);
/* The calling thread's buffer is full and no writer thread runs: the same flush now. */
void ct_writer_buffer_full(void);
/* unshare/setns: the writer thread is stopped (joined) if the program has one thread, so
 * that the kernel sees a single-threaded process; it starts again with the program's
 * next thread. Not from a signal handler. */
void ct_writer_pause_single(void);
/* Before an unshare or setns, by wrapper or through syscall(): ct_writer_pause_single when
 * the writer runs and libctrace is not re-entered. Not from a signal handler. */
void ct_before_namespace_change(void);
/* A seccomp filter is about to cover every thread (all), or the calling thread. If all, or
 * the process has no writer thread and one program thread: the final flush now, the
 * writer stopped, tracing off; returns 1. Else the caller's buffered events are written
 * and its buffer handed over; returns 0. */
int ct_writer_sandbox(int all);
/* Reads a kernel schedstat file (/proc/.../schedstat): on-CPU and run-queue ns so far.
 * Returns 0 or -errno. Three system calls, no allocation; not for signal handlers. */
int ct_schedstat_read(const char *path, uint64_t *cpu_ns, uint64_t *runq_ns);

/* Final flush: stops the writer thread, writes every buffered event and closes the
 * generation and the file. Safe to call more than once; only the process that traces
 * does anything. Not for the record path. */
void ct_writer_finish(void);
/* The same from a fatal signal's handler: no join, bounded wait, no loader lock. */
void ct_writer_fatal(void);
/* Before exec: writes what is buffered and closes the generation; returns 1 with the
 * writer held off (then the exec must be followed by ct_writer_exec_failed if it
 * returns), 0 if there was nothing to do. */
int ct_writer_exec_begin(void);
void ct_writer_exec_failed(int held);
/* pthread_atfork handlers. The child one returns 1 if the child traces (into a file of
 * its own, created on first need), 0 if it cannot. */
/* The last program thread is exiting: stop and join the writer thread, so that glibc
 * ends the process as it would untraced. Buffers stay; the next event restarts it. */
void ct_writer_quiesce(void);
/* A program thread is ending and leaves one: ct_writer_quiesce, unless the writer thread
 * was made less than a writer period ago (a program that makes and joins threads one
 * after another keeps it; it ends by itself after a period of one thread) or the mode
 * needs it (flight mode, the control channel, attached). Not from a signal handler. */
void ct_writer_single(void);
void ct_writer_fork_prepare(void);
void ct_writer_fork_parent(void);
int ct_writer_fork_child(void);
/* A setuid-family call is about to make new_euid the effective user: from root to
 * another user, a spare trace file is made for descendants that could not create theirs
 * (tracefile.c). Not for signal handlers. */
void ct_writer_user_switch(uid_t new_euid);
/* Then, once the child's thread, buffer and table state is reset: creates its file. */
void ct_writer_fork_child_open(void);
/* Attach mode (attach.c): tracing again after ct_writer_finish, into a new file (the
 * writer state reset, generation 0). 0, or -errno when the file cannot be created. */
int ct_writer_restart(void);

/* ---- flight mode and control (flight.c, trigger.c) ---- */
/* The trigger signal arrived at libctrace's handler for it (its disposition is the
 * program's default): a flight-mode snapshot is asked for, or a pause/resume request of
 * `ctrace` is taken, or a paused tracer resumes. Returns 1 if the signal was libctrace's
 * (the default action must not follow), else 0. Async-signal-safe. */
int ct_trigger_signal(int sig);
/* A fatal signal sig: flight mode's crash trigger notes it for the final flush.
 * Async-signal-safe. */
void ct_trigger_crash(int sig);
/* The control channel of `ctrace snapshot/pause/resume` (trigger.c): registration at
 * start (flight mode or CTRACE_START set) and removal at the final flush. */
extern int ct_ctl_on;
void ct_ctl_init(void);
void ct_ctl_exit(void);

/* ---- attach mode (attach.c) ---- */
/* Header flags added to every file this process opens (CT_HF_ATTACHED once attached). */
extern uint32_t ct_attach_hflags;
/* CLOCK_MONOTONIC of the last attach (0 when preloaded): a wait that began before it
 * records no end. Record path: read only. */
extern uint64_t ct_attach_t0;
/* The same moment in tick.c's ticks, for the call-site counts (sites.c): a call that
 * began before it is not counted. Record path: read only. */
extern uint64_t ct_attach_ticks;
/* Bumped by each attach: a thread's call-site table of an earlier session
 * (ct_thread.sites_epoch behind it) is not written, and is cleared by its owner's next
 * call. Record path: read only. */
extern uint32_t ct_sites_epoch;
/* Constructor: 1 when libctrace was loaded by dlopen rather than LD_PRELOAD (its
 * wrappers are not what the program's symbols resolve to): tracing waits for
 * ctrace_attach_start. Takes the loader lock. */
int ct_attach_deferred(void);
/* Writer thread, after each flush: GOT entries of modules loaded since are redirected
 * too. Takes the loader lock; not the record path. */
void ct_attach_poll(void);
/* libctrace was loaded by `ctrace attach` and is attached now. */
int ct_attached(void);
/* init.c: the atfork handlers, registered once (constructor or first attach). */
void ct_fork_handlers_install(void);
/* Exported entry points, called by `ctrace attach` / `ctrace detach` on a thread they
 * stopped at a safe point: start tracing into out (a path, %p expanded) / stop, drain,
 * close, leave the library inert. One runs at a time: a call made while another ctrace's
 * is running (each stops only the thread it calls on) changes nothing and returns
 * CT_ATTACH_AGAIN. Not the record path. */
int ctrace_attach_start(const char *out);
int ctrace_attach_stop(void);
/* The fork child: no entry point is running in it. */
void ct_attach_after_fork(void);
/* ctrace_attach_start / ctrace_attach_stop results (the injector reads them). */
enum { CT_ATTACH_OK = 0, CT_ATTACH_BUSY = 1, CT_ATTACH_ENOMEM = 2, CT_ATTACH_EFILE = 3,
       CT_ATTACH_NOT = 4, CT_ATTACH_AGAIN = 5 };
extern pid_t ct_pid;

/* ---- system calls (sites.c, fdclass.c; the wrappers in io.c) ---- */
/* Fills out[0 .. cap) with CT_EV_SITE records (time ts) of th's used sites, from
 * position *pos on, and advances *pos; returns the number of records, 0 when there are no
 * more (start with *pos = 0). Cannot fail. Writer side, or the thread itself at exit; no
 * allocation, signal-safe. */
size_t ct_sites_next(const struct ct_thread *th, unsigned *pos, struct ct_event *out,
		     size_t cap, uint64_t ts);
/* The exiting thread's records into its own buffer (inside ct_enter), then its table is
 * given up (ct_sites_release). Returns 0, or -1 when a record was dropped (no buffer): the
 * table is kept then, and the slot is left to the writer (CT_TH_EXITED), which writes
 * the totals itself. No allocation, signal-safe. */
int ct_sites_exit(struct ct_thread *th, uint64_t ts);
/* The exiting thread's table, after its last snapshot: its whole pages go back to the
 * kernel (madvise), so that memory follows the live threads, not every slot ever
 * claimed. Cannot fail; errno untouched. */
void ct_sites_release(struct ct_thread *th);
/* Sets up the system-call files (tick.c's clock, the fd classes' fork handler).
 * Constructor. Returns 0. */
int ct_fdclass_init(void);
/* fd is no longer what the class cache says (closed, replaced, or of unknown origin);
 * [first, last] likewise. Record path, signal-safe, errno untouched. */
void ct_fdclass_forget(int fd);
void ct_fdclass_forget_range(unsigned first, unsigned last);
/* fd was just created as a socket, pipe, ... (enum ct_fd_class). Record path. */
void ct_fdclass_set(int fd, unsigned cls);

/* ---- exec and spawn (process.c) ---- */
/* Saves what a new image needs to keep tracing (libctrace's path, CTRACE_*); with
 * CTRACE_FOLLOW=none, takes libctrace out of environ's LD_PRELOAD. Constructor. */
void ct_process_init(void);
/* fork child handler: with CTRACE_FOLLOW=none the child is not the traced process (it
 * records nothing; its execs drop libctrace). Returns 1 if the child may trace. */
int ct_process_fork_child(void);
/* Unmaps the room thread t's vfork children built their environments in (t ending). */
void ct_exec_room_free(struct ct_thread *t);

/* ---- libctrace's own fds (fdguard.c) ---- */
/* fd is libctrace's (the trace file, a spare): kept at its number for the program's
 * calls; `fd` is the number flush.c passes to ct_fd_write/lseek/close from now on, even
 * after the file was moved out of the program's way. */
void ct_fd_protect(int fd);
/* Writes, seeks, closes the file protected as orig (wherever it is now; orig itself when
 * it is not protected). Return the real call's value, errno set. Not for the record path
 * (they block signals around the call). */
ssize_t ct_fd_write(int orig, const void *p, size_t n);
off_t ct_fd_lseek(int orig, off_t off, int whence);
void ct_fd_close(int orig);
/* The calling thread (the writer) has every signal blocked for good. Writer thread only. */
void ct_fd_writer_thread(void);
/* fork child handler: no thread of the parent holds the slots or the move lock here. */
void ct_fd_after_fork(void);
/* close(fd) must fail with EBADF: fd is libctrace's and the program closes it (or fd is
 * one of libunwind's fake pipe numbers, CT_FD_FAKE_*: the caller checks). Record path. */
int ct_fd_close_refused(int fd);
/* Any other call on fd by the program must fail with EBADF (fcntl, dup). Record path. */
int ct_fd_refused(int fd);
/* The program's dup2 (real2, real3 NULL) or dup3 (real3, flags whatever their value:
 * the kernel judges them) onto new: libctrace's file there
 * is moved away first. Returns the real call's result, errno set. Program threads and
 * handlers (async-signal-safe, no malloc); onto a libctrace number it takes the private
 * move lock and may wait for one trace write to end. */
int ct_fd_dup_onto(int old, int new, int flags, int (*real2)(int, int),
		   int (*real3)(int, int, int));
/* After the program's dup/F_DUPFD* returned r (errno e0 before it): the number it gets
 * untraced (see fdguard.c), errno as untraced. Like ct_fd_dup_onto. */
int ct_fd_dup_lowest(int old, int min, int cloexec, int r, int e0);
/* close_range with libctrace's fds left open. */
int ct_close_range_guarded(unsigned first, unsigned last, int flags);
/* fd moved to a number >= 900, close-on-exec (the old number closed). */
int ct_fd_move_high(int fd);
/* libunwind's validation pipe, without an fd: pipe2 called inside libctrace gets these
 * two numbers, above any fd's; read/write on them (from inside) go to ct_fd_fake_io. */
#define CT_FD_FAKE_RD (INT_MAX - 1)
#define CT_FD_FAKE_WR INT_MAX
/* read (fd CT_FD_FAKE_RD) or write of n bytes at addr (CT_FD_FAKE_WR) on the fake pipe, as
 * the pipe would answer. Inside libctrace only (the guard held); signal-safe. */
ssize_t ct_fd_fake_io(int fd, uintptr_t addr, size_t n);
/* Can the byte at addr be read? Asked of the kernel (one system call, nothing read here):
 * 1, or 0 with errno EFAULT; errno untouched when 1 (also where the kernel cannot tell).
 * Record path: yes. */
int ct_readable(uintptr_t addr);

/* ---- libctrace's own memory (tables.c) ---- */
#define CT_MAP_STACK 1u      /* a stack (MAP_STACK) */
#define CT_MAP_PER_THREAD 2u /* n is ct_cfg.max_threads: the table shrinks with the slots */
/* Maps n * size zeroed bytes (MAP_NORESERVE) for one of libctrace's tables and remembers
 * it (for ct_unmap_all, ct_tables_map and mlockall), never locked by a program's
 * mlockall(MCL_FUTURE). NULL when it cannot. Not the record path. */
void *ct_map(size_t n, size_t size, unsigned flags);
/* Unmaps every table ct_map mapped: a start that failed. */
void ct_unmap_all(void);
/* Runs map_all, which maps the start's tables (0, or nonzero when one it needs failed),
 * and fits them into the process's address-space limit (RLIMIT_AS, RLIMIT_DATA): at most
 * a sixteenth of it, with fewer thread slots (ct_cfg.max_threads lowered, map_all run
 * again) unless CTRACE_MAX_THREADS says how many. 0, or -1 with nothing mapped (and why
 * said on stderr with say). Constructor or attach's start. */
int ct_tables_map(int (*map_all)(void), int say);
/* mlockall, and syscall(SYS_mlockall): the program's mappings locked as asked, the tables
 * left unlocked (not faulted in); errno and the result as without libctrace. */
int ct_mlockall(int flags);

/* ---- libctrace's own stacks (ownstack.c) ---- */
/* Maps the flush stack and the alternate signal stacks. Constructor; 0 or -ENOMEM. */
int ct_ownstack_init(void);
/* fn(arg) on the flush stack. The caller holds flush.c's flush lock, which makes the
 * stack its own. Not for the record path, but signal-safe. */
void ct_ownstack_run(void (*fn)(void *), void *arg);
/* Gives the calling thread (slot t) libctrace's alternate signal stack; with check, only
 * when it has none. Signal-safe, errno untouched. */
void ct_altstack_install(struct ct_thread *t, int check);
/* The calling thread gives libctrace's alternate stack back (thread exit). */
void ct_altstack_remove(void);
/* The trampoline's call of a program signal handler, fn(arg): afterwards the program's
 * sigaltstack view is the one before it, as the kernel's rt_sigreturn restores the stack
 * in place at the delivery (ownstack.c). In a signal handler only; errno untouched. */
void ct_altstack_handler(void (*fn)(void *), void *arg);

/* ---- signal handler tracking (signal.c) ---- */
void ct_signals_init(void);
/* libctrace's fatal-signal handlers back to SIG_DFL, for good (a seccomp filter is about
 * to go in). */
void ct_signals_release(void);
/* A fork child that is a pid namespace's init (pid 1): libctrace's fatal handlers go, as
 * ct_signals_init leaves them out of a pid 1 (the kernel discards default-action
 * signals sent to an init; a handler would make them interrupt its calls). */
void ct_signals_pid1(void);
/* After a raw rt_sigaction (syscall()) that returned sig's old disposition into old (the
 * kernel's struct sigaction): libctrace's trampoline and fatal handler shown as the
 * program's handler or SIG_DFL, as the sigaction wrapper shows them. */
void ct_signal_raw_view(long sig, void *old);

/* ---- seccomp (sandbox.c) ---- */
/* syscall(SYS_seccomp, op, flags, args) through real, with the flush before a filter. */
long ct_sandbox_seccomp(long (*real)(long, ...), long nr, long op, long flags, long args);

#endif
