/* SPDX-License-Identifier: MIT */
/*
 * The ctrace subcommands, one file each, dispatched from the table in ctrace.c. Each takes
 * argv with argv[0] the subcommand name, handles its own --help (usage on stdout, exit
 * status 0), and returns the process exit status (util.h CT_EXIT_*).
 * Also the parts of check.c and diff.c that record.c and tests/unit/test_check.c share:
 * rule parsing and evaluation, and diff keys and matching (JUnit escaping: output.h).
 */
#ifndef CTRACE_COMMANDS_H
#define CTRACE_COMMANDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "options.h"
#include "output.h"

struct ct_frame;
struct ct_model;
struct ct_analysis;

/* record.c: run a program with libctrace.so preloaded. */
int ct_cmd_record(int argc, char **argv);
/* report.c: profiles, objects and threads of a trace, as text or JSON. */
int ct_cmd_report(int argc, char **argv);
/* dump.c: every record of a trace, one per line. */
int ct_cmd_dump(int argc, char **argv);
/* check.c: CI gate over one or more traces (exit 1 on a violated rule). */
int ct_cmd_check(int argc, char **argv);
/* diff.c: what grew and shrank between two traces, per wait site and per object. */
int ct_cmd_diff(int argc, char **argv);
/* attach.c: load libctrace.so into a running process and trace it for a while. */
int ct_cmd_attach(int argc, char **argv);
/* attach.c: stop the tracing of an attached process. */
int ct_cmd_detach(int argc, char **argv);
/* top.c: a live view of a traced process (its trace followed as it is written). */
int ct_cmd_top(int argc, char **argv);
/* snapshot.c: a flight-mode snapshot of a running process now; pause and resume its
 * recording. */
int ct_cmd_snapshot(int argc, char **argv);
int ct_cmd_pause(int argc, char **argv);
int ct_cmd_resume(int argc, char **argv);
/* snapshot.c: asks process pid over the control channel for req ("pause\n", ...); 0 and
 * the reply's text after "ok " in reply, or -1 with one line on stderr. */
int ct_ctl_request(int pid, const char *req, char *reply, size_t cap, int quiet);
/* snapshot.c: how process pid registered on the control channel: 1 flight mode, 0
 * controllable in streaming mode (CTRACE_START), -1 not at all (or not traced, not
 * ours, gone). Reads /proc and the channel's directory only: the process is not asked. */
int ct_ctl_mode(int pid);

/* ---- check.c ----------------------------------------------------------------------- */

enum ct_rule_type {
	CT_RULE_CONVOY,    /* --fail-on convoy */
	CT_RULE_DEADLOCK,  /* --fail-on deadlock */
	CT_RULE_MAX_WAIT,  /* --max-wait PROFILE:DURATION: longest single wait */
	CT_RULE_MAX_P99,   /* --max-p99 PROFILE:DURATION: any entry's p99 */
	CT_RULE_MAX_TOTAL, /* --max-total PROFILE:DURATION: sum over the profile */
	CT_RULE_MAX_LOST,  /* --max-lost N: trace.lost_events */
	CT_RULE_TRUNCATED, /* --fail-on truncated: trace.truncated */
	CT_RULE_LOCK_ORDER,/* --fail-on lock-order: a cycle of the lock-order graph */
};

#define CT_RULE_ANY (-1) /* profile "any": the waiter profiles sync, net, syscall, sleep */

struct ct_rule {
	int type;          /* enum ct_rule_type */
	int profile;       /* enum ct_aprofile or CT_RULE_ANY (duration rules) */
	int kind;          /* duration rules by kind ("mutex:1ms"): enum ct_kind; 0 any kind */
	uint64_t limit;    /* ns, or a count for max-lost */
	char text[96];     /* as written, canonical: "max-wait sync:100us", "fail-on convoy" */
};

struct ct_check_opts {
	struct ct_rule *rules;
	size_t nrules, cap;
	const char *junit; /* JUnit XML output path, or NULL */
	char *junit_owned; /* junit when the options own it (freed with them) */
	/* what the rules look at: --from/--to/--thread and the convoy thresholds; a
	 * zero-initialised ct_check_opts means the whole trace and the default thresholds
	 * (ct_check_run fills them in) */
	struct ct_filter_args filter;
	struct ct_convoy_params convoy;
	int have_filter, have_convoy;
};

/*
 * Parses one rule option opt ("--max-wait", "--fail-on", ...; without "=VALUE") with its
 * value val into o (--fail-on takes a comma-separated list, so it may add several rules).
 * Returns 1 when opt is not a rule option, 0 when parsed, -1 with a one-line message in
 * err when val is malformed.
 */
int ct_check_parse_rule(struct ct_check_opts *o, const char *opt, const char *val,
			char *err, size_t errlen);
/*
 * Parses the check options in argv[0..argc) (rules, --junit FILE, the filters and convoy
 * thresholds of options.h; "--opt VALUE" or "--opt=VALUE"). Positional arguments are stored in files[] (when files is NULL they are
 * an error). Returns 0, or -1 with a one-line message in err. "--help" is not handled.
 */
int ct_check_parse_args(struct ct_check_opts *o, int argc, char **argv, const char **files,
			size_t *nfiles, char *err, size_t errlen);
/*
 * Splits a string of options into words like a shell without expansions: blanks
 * separate, '...' and "..." quote, backslash escapes one character. Returns the number of
 * words (the array, NULL-terminated, is malloc'ed in *out: free with ct_check_free_words)
 * or -1 on an unterminated quote.
 */
int ct_check_split(const char *s, char ***out);
void ct_check_free_words(char **w);
/* Adds the default rules (--fail-on deadlock --max-lost 0) when o has none. */
void ct_check_defaults(struct ct_check_opts *o);
void ct_check_opts_free(struct ct_check_opts *o);
/*
 * Evaluates the rules on each trace: prints violations (one line each plus indented
 * frames) or one "ok" line on stdout, writes the JUnit file when asked. Returns
 * CT_EXIT_OK or CT_EXIT_VIOLATION; exits CT_EXIT_USAGE on unreadable input (before any
 * output) or when the JUnit file cannot be written.
 */
int ct_check_run(const struct ct_check_opts *o, const char *const *files, size_t nfiles);
/* Evaluates rule r on one analysed trace (a computed over m; path names it): writes its
 * violations to out as ct_check_run prints them and returns how many there are. */
size_t ct_check_eval(const struct ct_rule *r, const char *path, const struct ct_model *m,
		     const struct ct_analysis *a, FILE *out);

/* ---- diff.c ------------------------------------------------------------------------ */

/*
 * The key of a stack across builds: the (func, file basename, line) sequence of the
 * frames (addresses move between builds, names and lines do not); a frame without a
 * file contributes func and its module's basename. Malloc'ed string.
 */
char *ct_diff_frames_key(const struct ct_frame *f, size_t n);

/* One row of a diff: a site or an object class, with its totals on both sides. */
struct ct_diff_row {
	char *key;                    /* owned */
	int profile;                  /* enum ct_aprofile (sites), -1 (objects) */
	unsigned kind;
	const struct ct_frame *frames;/* from whichever side saw it first (not owned) */
	size_t nframes;
	uint64_t count[2], total[2];  /* [0] base, [1] new; objects: contended, wait total */
	uint64_t objects[2];          /* objects: how many objects share the key */
	int64_t delta;                /* total[1] - total[0] (saturated) */
};

struct ct_diff_table {
	struct ct_diff_row *rows;
	size_t n, cap;
	size_t *slots;                /* open addressing over rows by key: index + 1, 0 empty */
	size_t nslots;
};

/* Adds count and total to side (0 base, 1 new) of the row (profile, kind, key of the
 * first nkey of the n frames: n for sites, 1 for objects), creating it with these frames
 * when new; objects[side] counts the calls. */
void ct_diff_add(struct ct_diff_table *t, int side, int profile, unsigned kind,
		 const struct ct_frame *f, size_t n, size_t nkey, uint64_t count,
		 uint64_t total);
/* Computes the deltas and sorts by |delta| descending (then profile, kind, key). */
void ct_diff_finish(struct ct_diff_table *t);
void ct_diff_table_free(struct ct_diff_table *t);

#endif
