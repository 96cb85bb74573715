/* SPDX-License-Identifier: MIT */
/*
 * `ctrace report [--json] [--top N] [--profile NAME[,NAME]] FILE`: loads a trace (model.h),
 * runs the analyses (analysis.h) and writes them through the "text" or "json" row of the
 * output table (output.h): a pprof -top / mutrace-like text report, or the stable JSON
 * document described in analyze/README.md ("report --json").
 * Called from ctrace.c; ct_report_write (report.h) also from the unit tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "frames.h"
#include "model.h"
#include "options.h"
#include "output.h"
#include "report.h"
#include "util.h"

static void usage(FILE *f)
{
	fputs("usage: ctrace report [--json] [--top N] [--profile NAME[,NAME...]] [--sort KEY]\n"
	      "                     [--from D] [--to D] [--thread NAME|TID] [--convoy-windows]\n"
	      "                     [--convoy-* VALUE] FILE\n\n"
	      "Where the threads of a traced program waited.\n\n"
	      "  --json          the stable JSON document (see the README, \"report --json\")\n"
	      "  --top N         at most N entries per profile (text default 10, JSON all)\n"
	      "  --profile NAME  only these profiles (repeatable, or comma-separated):\n"
	      "                  sync net syscall sleep holder wakeup\n"
	      "  --sort KEY      order of the text objects table: wait (default), count, max,\n"
	      "                  p99, hold, waiters\n"
	      "  --convoy-windows  text: each lock's convoy measurements, window by window\n", f);
	fputs(ct_filter_help, f);
	fputc('\n', f);
	fputs(ct_convoy_help, f);
}

void ct_report_write(FILE *f, const struct ct_report_opts *o, const struct ct_model *m,
		     const struct ct_analysis *a)
{
	struct ct_output_ctx c = { .m = m, .a = a, .fr = ct_frames_new(m), .o = o };

	ct_output_find(o->json ? "json" : "text")->write(&c, f);
	ct_frames_free(c.fr);
}

/* ---- command --------------------------------------------------------------------- */

static void parse_profiles(const char *val, struct ct_report_opts *o)
{
	const char *bad;

	if (ct_aprofile_parse_list(val, &o->profiles, &bad) < 0)
		ct_die(CT_EXIT_USAGE, "report: unknown profile '%.*s' (sync net syscall sleep "
		       "holder wakeup)", (int)strcspn(bad, ","), bad);
}

static void parse_sort(const char *val, struct ct_report_opts *o)
{
	for (int k = 0; k < CT_SORT_NKEYS; k++)
		if (!strcmp(val, ct_sort_names[k])) {
			o->sort = k;
			return;
		}
	ct_die(CT_EXIT_USAGE, "report: unknown sort key '%s' (wait count max p99 hold waiters)",
	       val);
}

static void parse(int argc, char **argv, struct ct_report_opts *o, struct ct_filter_args *fa,
		  struct ct_convoy_params *cp)
{
	static const char *const valued[] = { "--top", "--profile", "--sort" };
	int i, rest = 0;
	char err[512];

	o->json = 0;
	o->top = -1;
	o->profiles = 0;
	o->path = NULL;
	o->sort = CT_SORT_WAIT;
	o->convoy_windows = 0;
	ct_filter_args_init(fa);
	ct_convoy_params_default(cp);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		char opt[32] = "";
		int known = 0;

		if (!rest && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage(stdout);
			exit(CT_EXIT_OK);
		}
		if (!rest && !strcmp(a, "--")) {
			rest = 1;
			continue;
		}
		if (!rest && !strcmp(a, "--json")) {
			o->json = 1;
			continue;
		}
		if (!rest && !strcmp(a, "--convoy-windows")) {
			o->convoy_windows = 1;
			continue;
		}
		if (!rest && a[0] == '-' && a[1] == '-') {
			eq = strchr(a, '=');
			snprintf(opt, sizeof(opt), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
			for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
				known |= !strcmp(opt, valued[k]);
			known |= ct_shared_option(opt);
			if (known) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					ct_die(CT_EXIT_USAGE, "report: %s needs a value", opt);
			}
		}
		if (val && !strcmp(opt, "--top")) {
			if (ct_parse_count(val, &o->top) < 0)
				ct_die(CT_EXIT_USAGE, "report: --top wants a count, not '%s'", val);
			continue;
		}
		if (val && !strcmp(opt, "--profile")) {
			parse_profiles(val, o);
			continue;
		}
		if (val && !strcmp(opt, "--sort")) {
			parse_sort(val, o);
			continue;
		}
		if (val) {
			if (ct_filter_parse(fa, opt, val, err, sizeof(err)) < 0 ||
			    ct_convoy_parse(cp, opt, val, err, sizeof(err)) < 0)
				ct_die(CT_EXIT_USAGE, "report: %s", err);
			continue;
		}
		if (!rest && a[0] == '-' && a[1])
			ct_die(CT_EXIT_USAGE, "report: unknown option '%s' (see 'ctrace report --help')",
			       a);
		if (o->path)
			ct_die(CT_EXIT_USAGE, "report: one FILE only (see 'ctrace report --help')");
		o->path = a;
	}
	if (!o->path)
		ct_die(CT_EXIT_USAGE, "report: no FILE given (see 'ctrace report --help')");
}

int ct_cmd_report(int argc, char **argv)
{
	struct ct_report_opts o;
	struct ct_filter_args fa;
	struct ct_convoy_params cp;
	struct ct_model *m;
	struct ct_analysis *a;
	char err[512];

	parse(argc, argv, &o, &fa, &cp);
	if (ct_model_load(o.path, &m, err, sizeof(err)) < 0)
		ct_die(CT_EXIT_USAGE, "%s: %s", o.path, err);
	if (m->truncated) {
		char t[256];

		/* also in the text header; on stderr for the JSON reader's eyes */
		fflush(stdout);
		fprintf(stderr, "warning: %s: %s\n", o.path, ct_model_truncation(m, t, sizeof(t)));
	}
	a = ct_analyze_with(m, &fa.f, &cp);
	ct_report_write(stdout, &o, m, a);
	ct_analysis_free(a);
	ct_filter_args_free(&fa);
	ct_model_free(m);
	if (fflush(stdout) != 0 || ferror(stdout))
		ct_die(CT_EXIT_USAGE, "report: write error: %s", strerror(errno));
	return CT_EXIT_OK;
}
