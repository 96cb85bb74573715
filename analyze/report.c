/* SPDX-License-Identifier: MIT */
/*
 * `ctrace report [--json] [--top N] [--profile NAME[,NAME]] FILE...`: streams each trace
 * through the analyses (analysis.h; several traces of one program are merged into one
 * result, ct_analysis_merge) and writes them through the "text" or "json" row of the
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

enum { OPT_JSON = CT_OPT_CMD, OPT_TOP, OPT_PROFILE, OPT_SORT, OPT_CONVOY_WINDOWS, OPT_ALL };

static const struct ct_opt report_opts[] = {
	{ "json", OPT_JSON, 0, NULL, "the stable JSON document (see the README, \"report --json\")",
	  NULL, NULL },
	{ "top", OPT_TOP, 1, "N", "at most N entries per profile (text default 10, JSON all)",
	  NULL, NULL },
	{ "profile", OPT_PROFILE, 1, "NAME", "only these profiles (repeatable, or comma-separated):"
	  "\nsync net syscall sleep holder wakeup", NULL, NULL },
	{ "sort", OPT_SORT, 1, "KEY", "order of the text objects table: wait (default), count, "
	  "max,\np99, hold, waiters", NULL, NULL },
	{ "convoy-windows", OPT_CONVOY_WINDOWS, 0, NULL, "text: each lock's convoy measurements, "
	  "window by window", NULL, NULL },
	{ "all", OPT_ALL, 0, NULL, "text: the idle threads' waits in the profiles too (folded\n"
	  "into one line per thread group by default)", NULL, NULL },
};

static const struct ct_opt_table report_tables[] = {
	{ NULL, 14, report_opts, CT_OPTS_N(report_opts) },
	{ NULL, 14, ct_filter_opts, CT_NFILTER_OPTS },
	{ CT_CONVOY_TITLE, 22, ct_convoy_opts, CT_NCONVOY_OPTS },
};

static const struct ct_cmd_opts report_cmd = {
	"report",
	"usage: ctrace report [--json] [--top N] [--profile NAME[,NAME...]] [--sort KEY]\n"
	"                     [--from FROM] [--to TO] [--thread NAME|TID] [--convoy-windows]\n"
	"                     [--all] [--convoy-* VALUE] FILE...\n\n"
	"Where the threads of a traced program waited. Several FILEs: the traces of one\n"
	"program's processes, analysed as one (each result names its process).\n\n",
	report_tables, CT_OPTS_N(report_tables), NULL, 0,
};

void ct_report_write(FILE *f, const struct ct_report_opts *o, const struct ct_model *m,
		     const struct ct_analysis *a)
{
	struct ct_output_ctx c = { .m = m, .a = a, .fr = ct_frames_new(m), .o = o };

	ct_output_find(o->json ? "json" : "text")->write(&c, f);
	ct_frames_free(c.fr);
}

void ct_report_write_procs(FILE *f, const struct ct_report_opts *o,
			   const struct ct_model *const *ms, size_t n, const struct ct_analysis *a)
{
	struct ct_model tot;
	struct ct_output_ctx c = { .a = a, .o = o, .ms = ms, .nproc = n };

	if (n == 1) {
		ct_report_write(f, o, ms[0], a);
		return;
	}
	/* the header's totals: counts summed, the time from the first start to the last end */
	tot = *ms[0];
	for (size_t i = 1; i < n; i++) {
		const struct ct_model *m = ms[i];

		tot.nthreads += m->nthreads;
		tot.nevents += m->nevents;
		tot.lost_total += m->lost_total;
		for (int k = 0; k < CT_L_MAX; k++)
			tot.lost[k] += m->lost[k];
		tot.untraced += m->untraced;
		if (m->damaged && !tot.damaged)
			tot.damage_off = m->damage_off;
		tot.damaged += m->damaged;
		if (m->start_ts < tot.start_ts)
			tot.start_ts = m->start_ts;
		if (m->end_ts > tot.end_ts)
			tot.end_ts = m->end_ts;
		if (m->truncated && !tot.truncated) {
			tot.truncated = 1;
			tot.last_gen_open = m->last_gen_open;
			tot.trailing_bytes = m->trailing_bytes;
			tot.file_bytes = m->file_bytes;
		}
	}
	c.frs = ct_xcalloc(n, sizeof(*c.frs));
	for (size_t i = 0; i < n; i++)
		c.frs[i] = ct_frames_new(ms[i]);
	c.m = &tot;
	c.fr = c.frs[0];
	ct_output_find(o->json ? "json" : "text")->write(&c, f);
	for (size_t i = 0; i < n; i++)
		ct_frames_free(c.frs[i]);
	free(c.frs);
}

/* ---- command --------------------------------------------------------------------- */

struct args {
	struct ct_report_opts *o;
	struct ct_filter_args *fa;
	struct ct_convoy_params *cp;
};

static int set(void *st, const struct ct_opt *row, const char *opt, const char *val, char *err,
	       size_t errlen)
{
	struct args *x = st;
	const char *bad;

	switch (row->key) {
	case OPT_JSON:
		x->o->json = 1;
		return 0;
	case OPT_CONVOY_WINDOWS:
		x->o->convoy_windows = 1;
		return 0;
	case OPT_ALL:
		x->o->all = 1;
		return 0;
	case OPT_TOP:
		if (ct_parse_count(val, &x->o->top) < 0) {
			snprintf(err, errlen, "--top wants a count, not '%s'", val);
			return -1;
		}
		return 0;
	case OPT_PROFILE:
		if (ct_aprofile_parse_list(val, &x->o->profiles, &bad) < 0) {
			snprintf(err, errlen, "unknown profile '%.*s' (sync net syscall sleep holder "
				 "wakeup)", (int)strcspn(bad, ","), bad);
			return -1;
		}
		return 0;
	case OPT_SORT:
		for (int k = 0; k < CT_SORT_NKEYS; k++)
			if (!strcmp(val, ct_sort_names[k])) {
				x->o->sort = k;
				return 0;
			}
		snprintf(err, errlen, "unknown sort key '%s' (wait count max p99 hold waiters)",
			 val);
		return -1;
	default:
		return ct_opts_set_shared(x->fa, x->cp, row, opt, val, err, errlen);
	}
}

static void parse(int argc, char **argv, struct ct_report_opts *o, struct ct_filter_args *fa,
		  struct ct_convoy_params *cp)
{
	struct args x = { o, fa, cp };
	const char **files = ct_xcalloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles;
	char err[512];
	int rc;

	memset(o, 0, sizeof(*o));
	o->top = -1;
	o->sort = CT_SORT_WAIT;
	ct_filter_args_init(fa);
	ct_convoy_params_default(cp);
	rc = ct_opts_parse(&report_cmd, argc, argv, set, &x, files, &nfiles, err, sizeof(err));
	if (rc > 0) {
		ct_opts_help(&report_cmd, stdout);
		exit(CT_EXIT_OK);
	}
	if (rc < 0)
		ct_die(CT_EXIT_USAGE, "report: %s", err);
	if (!nfiles)
		ct_die(CT_EXIT_USAGE, "report: no FILE given (see 'ctrace report --help')");
	fa->f.origin_ts = ct_traces_order(files, nfiles);
	o->path = files[0];
	o->paths = files;
	o->npaths = nfiles;
}

int ct_cmd_report(int argc, char **argv)
{
	struct ct_report_opts o;
	struct ct_filter_args fa;
	struct ct_convoy_params cp;
	struct ct_model **m;
	struct ct_analysis **as, *a;
	char err[512];

	parse(argc, argv, &o, &fa, &cp);
	m = ct_xcalloc(o.npaths, sizeof(*m));
	as = ct_xcalloc(o.npaths, sizeof(*as));
	/* one trace after the other, each streamed: several traces of one program */
	for (size_t i = 0; i < o.npaths; i++) {
		if (ct_analyze_file(o.paths[i], &fa.f, &cp, 2, &m[i], &as[i], err, sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "%s: %s", o.paths[i], err);
		if (m[i]->truncated) {
			char t[256];

			/* also in the text header; on stderr for the JSON reader's eyes */
			fflush(stdout);
			fprintf(stderr, "warning: %s: %s\n", o.paths[i],
				ct_model_truncation(m[i], t, sizeof(t)));
		}
	}
	if (ct_filter_verify(&fa, o.paths, m, as, o.npaths, err, sizeof(err)) < 0)
		ct_die(CT_EXIT_USAGE, "report: %s", err);
	a = o.npaths > 1 ? ct_analysis_merge(as, o.npaths) : as[0];
	ct_report_write_procs(stdout, &o, (const struct ct_model *const *)m, o.npaths, a);
	ct_analysis_free(a);
	ct_filter_args_free(&fa);
	for (size_t i = 0; i < o.npaths; i++)
		ct_model_free(m[i]);
	free(m);
	free(as);
	free((void *)o.paths);
	if (fflush(stdout) != 0 || ferror(stdout))
		ct_die(CT_EXIT_USAGE, "report: write error: %s", strerror(errno));
	return CT_EXIT_OK;
}
