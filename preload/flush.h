/* SPDX-License-Identifier: MIT */
/*
 * Private interface of the writer's four files: the trace file and the spare file
 * (tracefile.c), generation building (generation.c), the writer thread and the flush
 * lock (flush.c), and the flushes at exit, fork, exec, fatal signals and seccomp
 * (hooks.c). Only these files include it; the rest of libctrace calls the ct_writer_*
 * functions of ctrace.h.
 *
 * Nothing here runs on the record path: every function below runs with the flush lock
 * held (on the flush stack, or on the writer thread), unless it says otherwise.
 */
#ifndef CTRACE_FLUSH_H
#define CTRACE_FLUSH_H

#include "ctrace.h"
#include "../format/writer.h"

/* Bounded waits for flush_mu outside the writer thread, in ms. */
#define WAIT_FINISH_MS 5000
#define WAIT_EXEC_MS 2000
#define WAIT_FORK_MS 2000
#define WAIT_FATAL_MS 2000
#define WAIT_SPAWN_MS 1000

/* The writer's state, shared by its four files. */
struct ct_flush {
	int fd;                    /* the open trace file, -1 if none */
	int need_open;             /* the file is created when first needed (see exec_begin) */
	char cur_path[4096 + 64];  /* the open trace file's name */
	int fork_file;             /* the file was created by the fork child handler */
	int wrote_events;          /* an EVENTS chunk has gone into the open file */
	pthread_t writer;          /* the writer thread, while wstate is W_RUNS or W_RETIRED */
	atomic_int wstate;         /* its life: enum ct_wstate, flush.c */
	atomic_int wclaimer;       /* the tid holding W_CLAIMED, 0 none */
	_Atomic uint64_t wstarted; /* when the running one was made (CLOCK_MONOTONIC ns) */
	atomic_int writer_stop, finished, finishing, spawned;
	atomic_int finish_done;    /* ct_writer_finish has flushed (or given up): futex word */
	pthread_mutex_t flush_mu;
	atomic_int flush_owner;    /* tid holding flush_mu, 0 if none */
	int flush_cancel;          /* the holder's cancel state before ct_flush_lock */
	uint32_t gen;              /* the open generation */
	uint64_t gen_start;
	uint64_t gen_events;       /* drained into the open generation */
	uint32_t site_seq;         /* SITE chunks: their own seq range */
	struct ct_wbuf wb;         /* the encoders' buffers */
	uint32_t final_flags;      /* header flags the final flush adds (CT_HF_SECCOMP) */
};
extern struct ct_flush ct_fl;

/* ---- flush.c ---- */
/* The writer thread's life (ct_fl.wstate), so that each writer thread is joined once, by
 * one thread, whoever stops it or finds it ended. */
enum ct_wstate {
	W_NONE = 0,  /* no writer thread to join */
	W_RUNS,      /* it runs (ct_fl.writer) */
	W_RETIRED,   /* it ended by itself (the program was back to one thread for a writer
		      * period, writer_main): whoever comes next joins it */
	W_CLAIMED,   /* ct_fl.wclaimer has the right to stop and join it, or to make one */
};
/* The writer thread stopped and joined, or the one that ended by itself joined, and none
 * left (W_NONE): the next ct_writer_spawn makes one. gone: also waits until it has left
 * the thread group (unshare and setns count threads). Waits, boundedly, while another
 * thread stops, joins or makes one; nothing when this thread is doing so (a signal
 * handler that interrupted it). Any thread but the writer, without the flush lock. */
void ct_writer_stop(int gone);
/* Takes flush_mu, waiting at most timeout_ms (< 0: without limit). -1 if it is not had
 * in time or this thread holds it already (a signal handler that interrupted a flush).
 * Any thread; signal-safe in the sense that it never waits for itself. */
int ct_flush_lock(int timeout_ms);
void ct_flush_unlock(void);
/* Creates the file when it is still to be made (need_open), on the flush stack. 0 when
 * the file is open. */
int ct_flush_lazy_open(int in_signal);
/* The last flush: everything buffered, the generation closed, the file closed. Nothing is
 * written after it. ct_flush_final_here is its ct_ownstack_run form (arg: int in_signal). */
void ct_flush_final(int in_signal);
void ct_flush_final_here(void *in_signal);
/* This process traces and owns its trace state (not a vfork child, nor a child created
 * without fork's handlers). Any thread, without the lock. */
int ct_flush_tracing_here(void);
/* The calling thread holds flush_mu: what runs now interrupted a flush of its own (a
 * signal handler, or a call ctrace attach made on top of a single-threaded program's
 * inline flush). Any thread, without the lock. */
int ct_flush_held_here(void);
/* Wakes the writer thread now (a futex wake). Any thread, without the lock. */
void ct_flush_wake_writer(void);

/* ---- tracefile.c ---- */
/* Maps the spare file's shared page (constructor). */
void ct_trace_init(void);
/* Expands %p and creates the file with its header (flags header_flags) written, never
 * following a symlink nor replacing a file; its fd, or -1. On the flush stack (12 KiB of
 * names). Sets cur_path and wrote_events = 0. */
int ct_trace_open(uint32_t header_flags);
void ct_trace_close(void);
/* Writes wb.out[0 .. len) to the open file (nothing when len <= 0 or no file). A write
 * error stops tracing (one line on stderr); the file-size limit stops it quietly. */
void ct_trace_put(ssize_t len);
/* The open file's header again, with flags added (in place). */
void ct_trace_rewrite_header(uint32_t flags);
/* At exit: the spare this process made and nobody took is removed. */
void ct_trace_drop_spare(void);

/* A snapshot file for flight mode (flight.c): pattern (%p expanded) under the
 * never-overwrite rule, its header's start times mono and real, its name into path
 * (sizeof cur_path). Its fd (protected, high), or -1 (one line on stderr). */
int ct_trace_create(const char *pattern, uint64_t mono, uint64_t real, char *path);
/* Writes p[0 .. len) to f under the file-size limit rule; 0, or -1 with errno. */
int ct_trace_write(int f, const void *p, size_t len);

/* ---- generation.c ---- */
/* Maps the writer's buffers and tables (constructor). 0, or -1 (no memory). */
int ct_gen_init(void);
/* Opens generation gen + 1: GEN_BEGIN, MODULES, THREADS. in_signal: from a fatal signal's
 * handler, where the loader lock may be held: the last module map is written again. */
void ct_gen_open(int in_signal);
/* Closes it: SITE records, GEN_END with the lost-event counts. */
void ct_gen_close(void);
/* Every buffer's committed events into the open generation (STACKS first). */
void ct_gen_drain_all(void);
/* After dlopen/dlclose: the new module map in the open generation. Takes the loader
 * lock: not from a signal handler. */
void ct_gen_refresh_modules(void);
/* Something to write: buffered events, or call-site counts of a live thread. */
int ct_gen_has_data(void);

/* Queues ev for thread tid as an EVENTS chunk of its own in the open generation, its
 * stack first. */
void ct_gen_put_event(uint32_t tid, const struct ct_event *ev);

/* ---- flight.c: flight mode (CTRACE_MODE=flight) ---- */
/* ct_fl.fd in flight mode: chunks go to memory, not to a file. */
#define CT_FLIGHT_FD (INT_MAX - 2)
/* Maps the memory of the recent past (CTRACE_FLIGHT_SIZE, pages touched as used). 0 or -1. */
int ct_flight_init(void);
/* Generation boundaries and the chunks in between (ct_trace_put in flight mode). */
void ct_flight_gen_begin(uint32_t gen, uint64_t mono, uint64_t real);
void ct_flight_put(const uint8_t *p, size_t len);
void ct_flight_gen_end(uint64_t end);
/* Everything kept dropped (fork child, the file closed). */
void ct_flight_reset(void);
/* The writer's cycle after a drain: due triggers and requests, written as snapshots. */
void ct_flight_cycle(uint64_t now);
/* The final flush in flight mode (in_signal: a fatal signal's handler). */
void ct_flight_final(int in_signal);

/* ---- trigger.c ---- */
/* A drained event of thread tid, seen by the slow-wait trigger (CT_TRIG_WAIT). */
void ct_trigger_see(uint32_t tid, const struct ct_event *ev);
/* A fork child (its atfork handler): no trigger of the parent's carries over. */
void ct_trigger_fork_child(void);

#endif
