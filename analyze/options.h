/* SPDX-License-Identifier: MIT */
/*
 * Command-line options: one table of rows per command (struct ct_opt), parsed with
 * getopt_long and printed as the command's --help by the same code; and the rows that
 * several commands share, the analysis filters (--from, --to, --thread) and the convoy
 * detector's thresholds (--convoy-*), parsed into the structures of analysis.h. Used by
 * every subcommand (check.c's rules also by `record --check`).
 */
#ifndef CTRACE_OPTIONS_H
#define CTRACE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "analysis.h"

/* A filter with the storage of its lists (names are copies owned here). */
struct ct_filter_args {
	struct ct_filter f;
	uint32_t *tids;
	char **names;
	size_t cap_tids, cap_names;
	uint64_t include, exclude; /* --kind, --exclude-kind masks (f.kinds is the result) */
	char kind_text[96];        /* their values as written, for messages */
	char *region, *label;  /* --region NAME, --label K=V (label: "K\0V") */
};

/*
 * Parses a comma-separated list of wait kinds ("mutex,cond") or profiles ("sync": every
 * kind of it) into a mask of (1 << enum ct_kind) bits, or'ed into *mask. Returns 0, or -1
 * with *bad pointing at the first unknown (or empty) name in list.
 */
int ct_kind_parse_list(const char *list, uint64_t *mask, const char **bad);

/* An empty filter (everything). */
void ct_filter_args_init(struct ct_filter_args *fa);
void ct_filter_args_free(struct ct_filter_args *fa);

/*
 * Parses one filter option opt ("--from", "--to", "--thread", "--kind", "--exclude-kind";
 * without "=VALUE") with its value into fa. Returns 1 when opt is not a filter option, 0
 * when parsed, -1 with a one-line message in err when val is malformed or --to ends
 * before --from.
 */
int ct_filter_parse(struct ct_filter_args *fa, const char *opt, const char *val, char *err,
		    size_t errlen);

/*
 * Parses one convoy threshold option ("--convoy-window", "--convoy-waiters",
 * "--convoy-empty", "--convoy-run", "--convoy-releases", "--convoy-wait-hold") into p. Returns 1 when opt is not one of them, 0 when parsed, -1 with a
 * one-line message in err.
 */
int ct_convoy_parse(struct ct_convoy_params *p, const char *opt, const char *val, char *err,
		    size_t errlen);

/*
 * After the traces are read: whether the filter selects anything in the n traces (paths,
 * models and analyses under the filter). Returns 0, or -1 with one line in err naming
 * what exists when --thread names no thread of any trace ("--thread 'x' matches no
 * thread; the threads are: main (tid 10), mc-a, ..."), --from lies at or past the end of
 * every trace, or --kind/--exclude-kind leave no wait or call (the kinds recorded are read
 * again without the filter, for the message).
 */
int ct_filter_verify(const struct ct_filter_args *fa, const char *const *paths,
		     struct ct_model *const *ms, struct ct_analysis *const *as, size_t n,
		     char *err, size_t errlen);

/* ---- one table of options per command ---------------------------------------------- */

/*
 * A row of a command's option table: what getopt_long needs and what --help prints.
 *  - name set, help set: an option, listed in --help as label (or "--name ARG") + help;
 *  - name set, help NULL: an option another row documents (--to with --from);
 *  - name NULL, label set: a line of the option list that documents a value of an option
 *    ("--fail-on convoy");
 *  - name NULL, label NULL: a paragraph of help text, printed as it is.
 * In help, '\n' starts a continuation line, indented to the description column.
 */
struct ct_opt {
	const char *name;   /* long name without "--" */
	int key;            /* unique in the command: a letter for a short option as well
			     * (-o), else a CT_OPT_* code above 255 */
	int has_arg;        /* 1: takes a value ("--opt VALUE" or "--opt=VALUE") */
	const char *arg;    /* the value's name in --help ("N", "FILE") */
	const char *help;
	const char *label;  /* --help's left column, when not "--name ARG" */
	const char *missing;/* what the error for a missing value says it needs ("a FILE");
			     * NULL: "a value" */
};

/* A section of --help and of the parser: rows, an optional title printed before them
 * (after a blank line), and the width of their left column. */
struct ct_opt_table {
	const char *title;
	int width;                /* the label column; the description starts at width + 4 */
	const struct ct_opt *opts;
	size_t n;
};

/* A command's options: its --help is usage, the tables in order, then epilogue. */
struct ct_cmd_opts {
	const char *cmd;          /* "report": error messages start "report: " */
	const char *usage;        /* usage lines and description, printed first */
	const struct ct_opt_table *tables;
	size_t ntables;
	const char *epilogue;     /* NULL or printed last */
	int stop_at_operand;      /* 1: options end at the first operand (record's PROGRAM) */
};

/* The shared rows: the filters (--from, --to, --thread, --kind, --exclude-kind, --region,
 * --label), --strict
 * (a damaged chunk fails the command: ct_model_set_strict), --hide REGEX (frames left out
 * of stacks: ct_frames_set_hide) and the convoy thresholds, with the title of the convoy
 * section. */
#define CT_NFILTER_OPTS 9
#define CT_NCONVOY_OPTS 6
extern const struct ct_opt ct_filter_opts[CT_NFILTER_OPTS];
extern const struct ct_opt ct_convoy_opts[CT_NCONVOY_OPTS];
#define CT_CONVOY_TITLE "convoy thresholds (see the README, \"Convoys\"):"
#define CT_OPTS_N(a) (sizeof(a) / sizeof((a)[0]))

/* Keys of the shared rows; command rows use keys from CT_OPT_CMD up. */
enum {
	CT_OPT_FROM = 256, CT_OPT_TO, CT_OPT_THREAD, CT_OPT_KIND, CT_OPT_EXCLUDE_KIND,
	CT_OPT_REGION, CT_OPT_LABEL, CT_OPT_STRICT, CT_OPT_HIDE,
	CT_OPT_CONVOY_WINDOW, CT_OPT_CONVOY_WAITERS, CT_OPT_CONVOY_EMPTY, CT_OPT_CONVOY_RUN,
	CT_OPT_CONVOY_RELEASES, CT_OPT_CONVOY_WAIT_HOLD,
	CT_OPT_CMD = 300
};

/* Called for each option in command-line order: o its row, opt "--name" (or "-o"), val
 * its value (NULL for a flag). Returns 0, or -1 with a one-line message in err. */
typedef int (*ct_opt_fn)(void *st, const struct ct_opt *o, const char *opt, const char *val,
			 char *err, size_t errlen);

/*
 * Parses argv[1..argc) with getopt_long over c's tables (options may follow operands
 * unless c->stop_at_operand; "--" ends them; option names must be written in full). set
 * is called for each option; the operands go to operands[] in order (room for argc
 * entries) and their count to *nops. Returns 0; 1 when -h or --help was met (nothing
 * after it is looked at: print the help); -1 with a one-line message in err
 * ("unknown option '--x' (see 'ctrace CMD --help')", "--top needs a value", or set's).
 * Not reentrant (getopt's state).
 */
int ct_opts_parse(const struct ct_cmd_opts *c, int argc, char **argv, ct_opt_fn set, void *st,
		  const char **operands, size_t *nops, char *err, size_t errlen);

/* Writes c's --help: usage, each table (title, then a line per listed row), epilogue. */
void ct_opts_help(const struct ct_cmd_opts *c, FILE *f);

/*
 * The shared rows' part of a ct_opt_fn: applies a filter row to fa or a convoy row to cp
 * (either may be NULL when the command has no such rows). Returns as ct_opt_fn (another
 * row is an error).
 */
int ct_opts_set_shared(struct ct_filter_args *fa, struct ct_convoy_params *cp,
		       const struct ct_opt *o, const char *opt, const char *val, char *err,
		       size_t errlen);

#endif
