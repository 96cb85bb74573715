/* SPDX-License-Identifier: MIT */
/*
 * The output layer of analyze/: one table of output formats (ct_outputs), one file per
 * format (out_text.c, out_json.c, out_junit.c for report and check; exp_pprof.c,
 * exp_folded.c, exp_chrome.c, exp_perfetto.c, exp_html.c for `ctrace export`), and the
 * context every format is given. A command picks a row by name among the rows of its
 * input kind and calls its write function; a new format is one file and one row. The
 * options that shape a report (struct ct_report_opts) and the helpers that several
 * formats share (which profiles to show, an entry's kind cell, threads by start routine,
 * the JSON document's records) are here too. Nothing here runs on the record path.
 */
#ifndef CTRACE_OUTPUT_H
#define CTRACE_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "analysis.h"
#include "frames.h"
#include "model.h"

/* What a report shows: the options of `ctrace report` that the formats read. */
struct ct_report_opts {
	int json;          /* ct_report_write: the JSON document instead of text */
	long top;          /* at most this many entries per profile; -1: text 10, JSON all */
	unsigned profiles; /* (1u << enum ct_aprofile) bits of the profiles to show; 0: all */
	const char *path;  /* the trace's name in the text header */
	int sort;          /* enum ct_sort: the text objects table's order (0: wait total) */
	int convoy_windows;/* text: every lock's per-window convoy measurements */
	int all;           /* text: idle threads' waits unfolded (README.md "Idle threads") */
	const char *const *paths; /* several traces of one program: their names (npaths);
				   * NULL: path alone */
	size_t npaths;
	size_t max_series; /* JSON: at most this many windows of a convoy's series (0: all) */
};

/* Sort keys of the text objects table (--sort); ct_sort_names[k] is the option value. */
enum ct_sort { CT_SORT_WAIT = 0, CT_SORT_COUNT, CT_SORT_MAX, CT_SORT_P99, CT_SORT_HOLD,
	       CT_SORT_WAITERS, CT_SORT_NKEYS };
extern const char *const ct_sort_names[CT_SORT_NKEYS];

/* One rule on one trace, as `ctrace check` evaluated it (check.c). */
struct ct_verdict {
	const char *trace; /* the trace's path */
	const char *rule;  /* the rule as written: "max-wait sync:100us" */
	size_t nviol;      /* violations; 0: the rule holds */
	const char *first; /* the first violation's line, without "FAIL rule: " */
	const char *text;  /* every violation line with its frames, as printed */
};

/* export.h: one trace as `ctrace export` loads it, and its options. */
struct ct_export_input;
struct ct_export_opts;

/*
 * What a format is given. A format whose input is CT_OUT_TRACE reads m, a, fr and o (one
 * analysed trace, what `report --json` has); one whose input is CT_OUT_VERDICTS reads
 * verdicts (check's, over every trace it was given) and may find m and a NULL; one whose
 * input is CT_OUT_EXPORT reads in[0..nin) (every trace loaded and analysed on its own,
 * in command-line order) and xo, and finds the rest NULL.
 */
struct ct_output_ctx {
	const struct ct_model *m;
	const struct ct_analysis *a;  /* computed over m */
	struct ct_frames *fr;         /* m's symbolized stacks (a cache, hence not const) */
	const struct ct_report_opts *o;
	const struct ct_verdict *verdicts;
	size_t nverdicts, nfailed;    /* nfailed: verdicts with violations */
	/* several traces of one program analysed as one (ct_analysis_merge, nproc > 1): m
	 * holds their totals, ms[i] and frs[i] trace i's model and stacks, which a result
	 * whose proc is i is symbolized with; nproc 0 or 1: m and fr alone */
	const struct ct_model *const *ms;
	struct ct_frames **frs;
	size_t nproc;
	/* CT_OUT_EXPORT */
	const struct ct_export_input *in;
	size_t nin;
	const struct ct_export_opts *xo;
};

enum ct_output_input { CT_OUT_TRACE, CT_OUT_VERDICTS, CT_OUT_EXPORT };

struct ct_output {
	const char *name;    /* the format's name: "text", "json"; export's --format value */
	const char *ext;     /* default file extension, without the dot */
	int binary;          /* 1: bytes for a program, never for a terminal */
	enum ct_output_input input;
	const char *summary; /* one line for --help */
	/* Writes the output of c to f. Returns 0, or -1 when the format cannot describe
	 * this input (a message on stderr). Write errors are the caller's to find (ferror,
	 * fclose). */
	int (*write)(const struct ct_output_ctx *c, FILE *f);
	/* CT_OUT_EXPORT: the profiles (bits 1u << enum ct_aprofile, and export.h's
	 * CT_EXPORT_WAKECHAIN) written by default and those accepted, and the CT_EKEY_* keys
	 * its profile entries are split by (--labels all adds CT_EKEY_OBJECT to a format
	 * with keys); 0 for the others */
	unsigned def_profiles, ok_profiles, entry_keys;
	/* CT_OUT_EXPORT: 1 when the writer walks the trace's waits and annotations
	 * (timelines): export's model then keeps the annotations, and the writer streams
	 * the file again for the waits (timeline.h); 0 when the analysis is all it reads */
	int events;
};

/* The formats, in --help order, and how many there are. */
extern const struct ct_output ct_outputs[];
extern const size_t ct_noutputs;
/* The row named name, or NULL. */
const struct ct_output *ct_output_find(const char *name);

/* The formats' write functions (one file each). */
int ct_out_text(const struct ct_output_ctx *c, FILE *f);  /* out_text.c */
int ct_out_json(const struct ct_output_ctx *c, FILE *f);  /* out_json.c */
int ct_out_junit(const struct ct_output_ctx *c, FILE *f); /* out_junit.c */
int ct_export_pprof(const struct ct_output_ctx *c, FILE *f);    /* exp_pprof.c */
int ct_export_folded(const struct ct_output_ctx *c, FILE *f);   /* exp_folded.c */
int ct_export_chrome(const struct ct_output_ctx *c, FILE *f);   /* exp_chrome.c */
int ct_export_perfetto(const struct ct_output_ctx *c, FILE *f); /* exp_perfetto.c */
int ct_export_html(const struct ct_output_ctx *c, FILE *f);     /* exp_html.c */

/* out_json.c: the records of the JSON document as `report --json` writes them, for the
 * formats that embed them (analyze/README.md describes every field): a trace's members
 * (inside an object the caller opens and may add to), the first max objects and threads
 * (as elements of an array the caller opens), a wait-chain link. c holds one trace (or
 * several analysed as one) as for ct_out_json. */
struct ct_json;
void ct_out_json_trace_members(const struct ct_output_ctx *c, struct ct_json *j);
void ct_out_json_objects(const struct ct_output_ctx *c, struct ct_json *j, size_t max);
void ct_out_json_threads(const struct ct_output_ctx *c, struct ct_json *j, size_t max);
void ct_out_json_link(const struct ct_output_ctx *c, struct ct_json *j,
		      const struct ct_chain_link *l);
/* The member "blocked_ns" of a thread, group, region or task: an object of the time blocked
 * in each waiter profile, {"sync", "net", "syscall", "sleep"}. */
void ct_out_json_blocked(struct ct_json *j, const uint64_t blocked_ns[CT_P_MAX]);
/* A flight-mode snapshot's trigger (snapshot.c): JSON trace.trigger (nothing when m has
 * none); in text, the lines after the report's first. */
void ct_trigger_json(struct ct_json *j, const struct ct_model *m, struct ct_frames *fr);
void ct_trigger_text(FILE *f, const struct ct_model *m, struct ct_frames *fr);

/* out_junit.c: writes s XML-escaped: & < > " ' as entities, carriage return as &#13;, tab
 * and newline as &#9; and &#10; in an attribute value (attr != 0; kept as is in text),
 * other control characters and invalid UTF-8 as U+FFFD (XML 1.0 cannot hold them). */
void ct_xml_escape(FILE *f, const char *s, int attr);

/* ---- helpers the formats share ---- */

/* 1 if o shows profile p (enum ct_aprofile). */
int ct_output_wants(const struct ct_report_opts *o, int p);
/* 1 for the profiles of system calls (net, syscall, sleep), whose entries have an fd class
 * and may be remainders. */
int ct_aprofile_is_call(int p);
/* The kind cell of an entry: "mutex"; for a system call on a known fd class "recv socket". */
void ct_pentry_kind(const struct ct_pentry *e, char *buf, size_t cap);
/* The stacks and the model a result from trace proc (its proc field) is read with: those
 * of trace proc when c holds several traces, else c->fr and c->m. */
struct ct_frames *ct_output_frames(const struct ct_output_ctx *c, uint32_t proc);
const struct ct_model *ct_output_model(const struct ct_output_ctx *c, uint32_t proc);
/* With several traces (nproc > 1), points *m and *fr at trace proc's model and frames, for
 * the results that come from it; with one, leaves them as they are. */
void ct_output_at(const struct ct_output_ctx *c, size_t nproc, uint32_t proc,
		  const struct ct_model **m, struct ct_frames **fr);
/* A thread's start routine by name: "main" for the main thread, NULL when unknown (or
 * without a symbol). */
const char *ct_output_start_func(const struct ct_output_ctx *c, const struct ct_thread_info *t);
/* The name threads are grouped under: the start routine, or when it is not known the
 * thread's name ("?" when it has none); "(untraced)" for the untraced threads (sorted
 * last). */
const char *ct_output_group_name(const struct ct_output_ctx *c, const struct ct_thread_info *t);
/* c's threads ordered by group (main first, then start routine name, tid, and time for a
 * reused tid): a malloc'ed array of nthreads pointers. */
const struct ct_thread_info **ct_output_threads_by_group(const struct ct_output_ctx *c);

#endif
