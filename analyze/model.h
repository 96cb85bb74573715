/* SPDX-License-Identifier: MIT */
/*
 * The in-memory event model of one trace: the file header, the module map (union over
 * generations), the stack table (ids are global per process and repeated in every
 * generation: the first definition is kept), the threads with their events in time order
 * (one struct ct_mthread per thread instance: the kernel reuses tids, and every
 * THREAD_START begins a new thread even when its tid was seen before), lost-event counts
 * and the truncation state. Built from format/reader.h either with the events
 * (ct_model_load, for the unit tests and small traces) or without them
 * (ct_model_stream, which hands them on generation by generation: the threads then have
 * no events, only what splits and names them, and the annotations when asked); read by
 * the analyses (analysis.h) and the report and export commands.
 */
#ifndef CTRACE_MODEL_H
#define CTRACE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "../format/ctrace_format.h"
#include "../format/reader.h"
#include "hashtab.h"

/* An event of one thread, with the generation it came from. */
struct ct_mevent {
	struct ct_event ev;
	uint32_t gen;
	uint32_t ord; /* position in file order within the thread (stable sort key) */
};

struct ct_mstack {
	uint32_t id;
	uint16_t nframes;
	uint16_t flags;  /* CT_STACKF_* */
	uint32_t gen;    /* generation of the first definition */
	uint64_t *pcs;   /* owned; pcs[0] is the caller of the interposed function */
};

/* One schedstat sample of a thread: cumulative on-CPU and run-queue ns at ts. */
struct ct_sched_sample {
	uint64_t ts, cpu_ns, runq_ns;
};

struct ct_mthread {
	uint32_t tid;
	uint32_t parent_tid;
	uint64_t start_func;          /* start routine address, 0 if unknown / main */
	char name[CT_NAME_LEN + 1];   /* latest name (THREAD_NAME event or thread state) */
	uint64_t name_ts;             /* when that name was recorded */
	int has_start, has_end;       /* THREAD_START / THREAD_END events seen */
	uint64_t start_ts, end_ts;    /* their timestamps */
	uint64_t first_seen_ts;       /* first event, or start of the first generation listing it */
	uint64_t last_seen_ts;        /* last event ts (0 if none) */
	int in_first_gen;             /* listed in the thread states of the file's first gen */
	uint64_t cpu_ns, runq_ns;     /* latest schedstat sample (0 = not sampled) */
	struct ct_sched_sample *samples; /* owned; every nonzero sample, by ts (generation
					  * starts; THREAD_END when it carries one: a, b) */
	size_t nsamples, cap_samples;
	/* State at the file's first generation, when the wait began before the file does
	 * (flight recordings): lets a WAIT_END without its WAIT_BEGIN still be measured. */
	int init_blocked;
	uint8_t init_kind;
	uint64_t init_obj, init_since;
	struct ct_mevent *ev;         /* owned; sorted by ts (file order on ties) */
	size_t nev, cap;
};

struct ct_model {
	struct ct_file_header hdr;
	struct ct_module *mods;       /* owned (paths too); deduplicated across generations */
	size_t nmods, cap_mods;
	struct ct_mstack *stacks;     /* in order of definition (nstacks; stack_slots allocated) */
	size_t stack_slots, nstacks;
	struct ct_htab stack_by_id;   /* id -> index in stacks */
	struct ct_mthread *threads;   /* thread instances, by tid, then in time order (a
				       * reused tid has several) */
	size_t nthreads, cap_threads;
	uint32_t first_gen, last_gen, ngens;
	uint64_t first_gen_ts;        /* mono ts of the first GEN_BEGIN (0 if none) */
	uint64_t nevents;
	uint64_t lost[CT_L_MAX];      /* max over GEN_END records (they are cumulative) */
	uint64_t lost_total;
	uint64_t untraced;            /* threads that ran untraced (the thread table full):
				       * the recorder's count (GEN_END), 0 when it did not count */
	uint64_t start_ts;            /* header start_mono_ns (or earliest timestamp seen) */
	uint64_t end_ts;              /* max(last GEN_END end_ts, last event ts) */
	int truncated;                /* ct_reader_truncated() */
	int last_gen_open;            /* the last generation has no GEN_END */
	uint64_t trailing_bytes;      /* of an incomplete chunk at the end, not read */
	uint64_t file_bytes;          /* size of the file read (0: unknown, a reader given) */
	uint64_t damaged;             /* damaged stretches skipped (ct_reader_damaged) */
	uint64_t damage_off;          /* ... the first one's byte offset, and its message */
	char damage[256];
	struct ct_event trigger;      /* a flight-mode snapshot's TRIGGER event (has_trigger) */
	int has_trigger;
};

/*
 * Loads the trace at path. Returns 0 and sets *out (free with ct_model_free), or -1 with
 * *out NULL and a one-line reader message (naming the byte offset when the file is
 * corrupt) copied into err[errlen]. A truncated file is not an error: see m->truncated.
 */
int ct_model_load(const char *path, struct ct_model **out, char *err, size_t errlen);
/* The same over a reader the caller opened and still owns (it is read to its end). */
int ct_model_load_reader(struct ct_reader *r, struct ct_model **out, char *err,
			 size_t errlen);
void ct_model_free(struct ct_model *m);
/* How the loaders treat a damaged chunk in the middle of a file: skipped, counted in
 * m->damaged (strict 0, the default), or an error as for any corrupt input (strict 1:
 * ctrace's --strict). Process-wide; set before loading. */
void ct_model_set_strict(int strict);
/* When m has damaged chunks skipped: one warning line on stderr naming path, the number
 * of stretches and the first one's byte offset. ct_model_load and ct_analyze_file call it
 * once per trace. */
void ct_model_warn_damaged(const struct ct_model *m, const char *path);

/* Streamed event type beyond the file's: a thread blocked since before the file (thread
 * state of the first generation): kind, obj, and since (its accessors below). */
#define CT_SEV_INIT_BLOCKED 200
static inline uint64_t ct_sev_init_since(const struct ct_event *e)
{
	return e->a;
}
static inline void ct_sev_set_init_since(struct ct_event *e, uint64_t since)
{
	e->a = since;
}

/* One event as ct_model_stream delivers it: the record, its thread (tid, and a key
 * naming its thread instance: key_to_thr maps it to the model's threads at the end) and,
 * for a system call, the PC of its call site (pcs[0] of its stack, 0 unknown). */
struct ct_sevent {
	struct ct_event ev;
	uint64_t site;
	uint32_t tid, key;
};

/*
 * Reads the trace at path once without keeping its events: the model gets everything
 * but them (header, modules, stacks, threads and their states, lost counts, truncation),
 * and each generation's events are handed to fn in time order (ties: by tid, then the
 * thread's instances, then file order), in batches of at most 1,024 events, a
 * generation's once the next one is read (fn NULL: the events are only counted). With a
 * second thread (threads > 1), fn is called on it, and reading, decoding and merging run
 * beside it on the calling thread, which merges a generation while it reads the next.
 * o (NULL: one thread, nothing more) may ask for more: see struct ct_stream_opts.
 * On success returns 0 with *out and *key_to_thr (nkeys entries, malloc'ed: thread key
 * -> index in m->threads); on bad input -1 with the reader's
 * one-line message in err.
 */
struct ct_stream_opts {
	int threads;        /* > 1: fn on a second thread, as above */
	int annotations;    /* the threads keep their annotation events (tasks, regions,
			     * logs, labels and their TEXT events) as a loaded model does, for
			     * ct_ann_walk (regions.c) */
	const int *stop;    /* non-NULL: once fn sets *stop (atomically), reading ends there,
			     * the events read go to fn and the model holds what was read */
};
int ct_model_stream(const char *path, const struct ct_stream_opts *o,
		    void (*fn)(void *ctx, const struct ct_sevent *v, size_t n), void *ctx,
		    struct ct_model **out, uint32_t **key_to_thr, size_t *nkeys, char *err,
		    size_t errlen);

/*
 * Following a trace while it is written (ctrace top): ct_model_stream in steps. open
 * reads the header; each read takes the records of the complete chunks appended since
 * the last one and hands every event whose generation has ended to fn, in time order,
 * one generation behind as ct_model_stream does (a generation that ended with no event
 * lets the held ones up to its start through: a program whose threads all block still
 * advances). An incomplete chunk at the end is waited for, never an error. read returns
 * 1 when something new was read, 0 when nothing, -1 on corrupt input (err gets the
 * reader's line). The model is what was read so far (header, modules, stacks, lost
 * counts; no threads until the end); now is the time the events handed on reach. end
 * hands on what is held, gives the finished model as ct_model_stream does and frees f.
 */
struct ct_model_follow;
int ct_model_follow_open(const char *path,
			 void (*fn)(void *ctx, const struct ct_sevent *v, size_t n), void *ctx,
			 struct ct_model_follow **out, char *err, size_t errlen);
int ct_model_follow_read(struct ct_model_follow *f, char *err, size_t errlen);
/* The same process's next trace file (a flight-mode process's snapshots, each a run of
 * its most recent generations): f reads path instead of its file, skipping the records of
 * every generation up to the last one it read to its end (generation numbers only
 * increase within a process), then reads it as ct_model_follow_read does (same return).
 * The header stays the first file's. On an unreadable path: -1 with err, f unchanged. */
int ct_model_follow_next(struct ct_model_follow *f, const char *path, char *err,
			 size_t errlen);
/* The last generation read to its end (its GEN_END), 0 when none was. */
uint32_t ct_model_follow_last_gen(const struct ct_model_follow *f);
const struct ct_model *ct_model_follow_model(const struct ct_model_follow *f);
uint64_t ct_model_follow_now(const struct ct_model_follow *f);
void ct_model_follow_end(struct ct_model_follow *f, struct ct_model **out,
			 uint32_t **key_to_thr, size_t *nkeys);

/* The stack with this id, or NULL (id 0, or never defined). */
const struct ct_mstack *ct_model_stack(const struct ct_model *m, uint32_t id);
/* The thread with this tid, or NULL; of several (a reused tid), the latest. Pointers stay
 * valid for the model's life. */
const struct ct_mthread *ct_model_thread(const struct ct_model *m, uint32_t tid);
/* The thread that tid named at ts, or NULL: of the tid's threads, the latest that began at
 * or before ts (the first when none did), or, when ts falls between the end of one and the
 * start of the next, the nearer of the two. */
const struct ct_mthread *ct_model_thread_at(const struct ct_model *m, uint32_t tid,
					    uint64_t ts);
/* The index in m (a whole file's model) of thread t of part, a model of the same file
 * read up to a point (ct_stream_opts.stop): the same tid's instance of the same rank (a
 * tid's instances are in time order, and part has the first ones); m->nthreads when m
 * has no thread of that tid. */
size_t ct_model_thread_of_part(const struct ct_model *m, const struct ct_model *part, size_t t);
/* Cumulative cpu and run-queue ns of t at ts, linearly interpolated between its samples
 * (0 at THREAD_START; constant before the first and after the last sample). */
void ct_model_sched_at(const struct ct_mthread *t, uint64_t ts, uint64_t *cpu, uint64_t *runq);
/* For a truncated trace, one sentence for the user into buf[cap] (returned): "truncated at
 * byte N: the process ended without its final flush (...); events after the last
 * complete chunk are missing", N the end of the last complete chunk (when the file size
 * is known). NULL when the trace is not truncated. */
const char *ct_model_truncation(const struct ct_model *m, char *buf, size_t cap);
/* Where the complete part of a truncated trace ends (file size less the incomplete
 * chunk), 0 when not truncated or the size is unknown. */
uint64_t ct_model_truncated_at(const struct ct_model *m);
/* The trace duration in ns (end_ts - start_ts, 0 if negative). */
uint64_t ct_model_duration(const struct ct_model *m);

#endif
