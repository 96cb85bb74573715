/* SPDX-License-Identifier: MIT */
/*
 * Command-line options that several subcommands share: the analysis filters (--from,
 * --to, --thread) and the convoy detector's thresholds (--convoy-*), parsed into the
 * structures of analysis.h, with their help text. Used by report.c, check.c (and so
 * `record --check`) and diff.c.
 */
#ifndef CTRACE_OPTIONS_H
#define CTRACE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include "analysis.h"

/* A filter with the storage of its lists (names are copies owned here). */
struct ct_filter_args {
	struct ct_filter f;
	uint32_t *tids;
	char **names;
	size_t cap_tids, cap_names;
};

/* An empty filter (everything). */
void ct_filter_args_init(struct ct_filter_args *fa);
void ct_filter_args_free(struct ct_filter_args *fa);

/*
 * Parses one filter option opt ("--from", "--to", "--thread"; without "=VALUE") with its
 * value into fa. Returns 1 when opt is not a filter option, 0 when parsed, -1 with a
 * one-line message in err when val is malformed or --to ends before --from.
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

/* 1 if opt ("--name", without "=VALUE") is a filter or convoy option (all take a value). */
int ct_shared_option(const char *opt);

/* The help text of the filter and of the convoy options, for usage(). */
extern const char ct_filter_help[];
extern const char ct_convoy_help[];

#endif
