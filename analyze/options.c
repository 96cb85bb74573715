/* SPDX-License-Identifier: MIT */
/*
 * Implementation of options.h.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char ct_filter_help[] =
	"  --from D, --to D  only the time window [D, D] from the trace start (e.g. 150ms;\n"
	"                  units ns us ms s); waits overlapping it are clipped to it\n"
	"  --thread T      only the threads named T or with tid T (repeatable)\n";

const char ct_convoy_help[] =
	"convoy thresholds (see the README, \"Convoys\"):\n"
	"  --convoy-window D       window width (default 100ms; a trace shorter than ten\n"
	"                          windows gets ten windows of a tenth of its duration)\n"
	"  --convoy-waiters Q      a queued window has on average at least Q waiters\n"
	"                          (default 1) ...\n"
	"  --convoy-empty F        ... and nobody waiting at most F of it (default 0.5)\n"
	"  --convoy-run N          a convoy needs N queued windows in a row (default 3) ...\n"
	"  --convoy-releases R     ... with on average R releases seen per window (made\n"
	"                          while someone waited; default 2) ...\n"
	"  --convoy-wait-hold X    ... and a median wait of X times the median hold\n"
	"                          (default 2)\n";

void ct_filter_args_init(struct ct_filter_args *fa)
{
	memset(fa, 0, sizeof(*fa));
	fa->f.to_ns = UINT64_MAX;
}

void ct_filter_args_free(struct ct_filter_args *fa)
{
	for (size_t i = 0; i < fa->f.nnames; i++)
		free(fa->names[i]);
	free(fa->names);
	free(fa->tids);
	ct_filter_args_init(fa);
}

static void add_thread(struct ct_filter_args *fa, const char *val)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (!*end && val[0] >= '0' && val[0] <= '9' && !errno && v <= UINT32_MAX) {
		ct_grow(&fa->tids, &fa->cap_tids, fa->f.ntids + 1, sizeof(*fa->tids));
		fa->tids[fa->f.ntids++] = (uint32_t)v;
		fa->f.tids = fa->tids;
	}
	/* a name may be all digits too: match either */
	ct_grow(&fa->names, &fa->cap_names, fa->f.nnames + 1, sizeof(*fa->names));
	fa->names[fa->f.nnames++] = ct_xstrdup(val);
	fa->f.names = (const char *const *)fa->names;
}

int ct_filter_parse(struct ct_filter_args *fa, const char *opt, const char *val, char *err,
		    size_t errlen)
{
	uint64_t ns;

	if (!strcmp(opt, "--thread")) {
		if (!val[0]) {
			snprintf(err, errlen, "--thread wants a thread name or tid");
			return -1;
		}
		add_thread(fa, val);
		return 0;
	}
	if (strcmp(opt, "--from") && strcmp(opt, "--to"))
		return 1;
	if (ct_parse_duration(val, &ns) < 0) {
		snprintf(err, errlen, "%s wants a duration from the trace start (e.g. 150ms; "
			 "units ns us ms s), not '%s'", opt, val);
		return -1;
	}
	if (!strcmp(opt, "--from"))
		fa->f.from_ns = ns;
	else
		fa->f.to_ns = ns;
	if (fa->f.to_ns != UINT64_MAX && fa->f.to_ns < fa->f.from_ns) {
		snprintf(err, errlen, "--to is before --from");
		return -1;
	}
	return 0;
}

/* A non-negative finite number (at most max); 0 or -1. */
static int parse_number(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!s[0] || *end || errno || !isfinite(v) || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int ct_convoy_parse(struct ct_convoy_params *p, const char *opt, const char *val, char *err,
		    size_t errlen)
{
	static const struct { const char *opt; int what; double max; } num[] = {
		{ "--convoy-waiters", 0, 1e9 }, { "--convoy-empty", 1, 1 },
		{ "--convoy-releases", 2, 1e12 }, { "--convoy-wait-hold", 3, 1e9 },
	};
	double v;
	long n;

	if (!strcmp(opt, "--convoy-window")) {
		uint64_t ns;

		if (ct_parse_duration(val, &ns) < 0 || !ns) {
			snprintf(err, errlen, "--convoy-window wants a duration above 0 (e.g. "
				 "100ms), not '%s'", val);
			return -1;
		}
		p->window_ns = ns;
		return 0;
	}
	if (!strcmp(opt, "--convoy-run")) {
		if (ct_parse_count(val, &n) < 0 || n < 1) {
			snprintf(err, errlen, "--convoy-run wants a count of at least 1, not '%s'",
				 val);
			return -1;
		}
		p->min_run = (uint64_t)n;
		return 0;
	}
	for (size_t i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		if (strcmp(opt, num[i].opt))
			continue;
		if (parse_number(val, num[i].max, &v) < 0) {
			snprintf(err, errlen, "%s wants a number%s, not '%s'", opt,
				 num[i].max == 1 ? " from 0 to 1" : " of at least 0", val);
			return -1;
		}
		switch (num[i].what) {
		case 0: p->min_waiters = v; break;
		case 1: p->max_empty = v; break;
		case 2: p->min_releases = v; break;
		default: p->wait_hold = v; break;
		}
		return 0;
	}
	return 1;
}

int ct_shared_option(const char *opt)
{
	static const char *const names[] = {
		"--from", "--to", "--thread", "--convoy-window", "--convoy-waiters",
		"--convoy-empty", "--convoy-run", "--convoy-releases", "--convoy-wait-hold",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(opt, names[i]))
			return 1;
	return 0;
}
