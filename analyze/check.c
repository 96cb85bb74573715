/* SPDX-License-Identifier: MIT */
/*
 * `ctrace check [RULES] [--junit FILE] FILE...`: the CI gate (analyze/README.md). Loads
 * every trace (model.h), runs the analyses (analysis.h; several traces of one program
 * analysed as one, ct_analysis_merge) and evaluates each rule once over them all:
 * --fail-on convoy|deadlock|lock-order|truncated, --max-wait / --max-p99 / --max-total
 * PROFILE:DURATION, --max-lost N. Violations go to stdout, one line each ("FAIL RULE:
 * [TRACE: ]measured ... at func (file:line)") followed by a few indented frames; when
 * every rule holds, one "ok" line. --junit writes one <testsuite name="ctrace check">
 * with a <testcase> per rule, through the output table's "junit" row (out_junit.c).
 * --from/--to/--thread restrict every analysis the rules look at, as in report;
 * --convoy-* set the convoy detector's thresholds. Exit 0 all rules hold, 1 a rule is
 * broken, 2 usage error or unreadable input.
 * The rule parser and runner are shared with `ctrace record --check` (record.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "frames.h"
#include "lockorder.h"
#include "model.h"
#include "options.h"
#include "output.h"
#include "util.h"

#define MAX_SHOWN 5   /* violations shown per rule and trace; the rest are counted */
#define STACK_LINES 6 /* frames printed under a violation */

enum { OPT_FAIL_ON = CT_OPT_CMD, OPT_MAX_WAIT, OPT_MAX_P99, OPT_MAX_TOTAL, OPT_MAX_LOST,
       OPT_JUNIT };

static const struct ct_opt check_opts[] = {
	{ "fail-on", OPT_FAIL_ON, 1, "WHAT", NULL, NULL, NULL },
	{ NULL, 0, 0, NULL, "a lock convoy was detected on some object", "--fail-on convoy", NULL },
	{ NULL, 0, 0, NULL, "the trace holds a wait cycle (deadlock)", "--fail-on deadlock", NULL },
	{ NULL, 0, 0, NULL, "locks were taken in orders that form a cycle\n(a deadlock that did "
	  "not happen this time)", "--fail-on lock-order", NULL },
	{ NULL, 0, 0, NULL, "the trace is truncated: the process ended\nwithout its final flush "
	  "(crashed, killed)\n(--fail-on convoy,deadlock sets both)", "--fail-on truncated",
	  NULL },
	{ "max-wait", OPT_MAX_WAIT, 1, "PROFILE:DURATION",
	  "longest single wait (entry max) in PROFILE", NULL, NULL },
	{ "max-p99", OPT_MAX_P99, 1, "PROFILE:DURATION",
	  "p99 of any one entry (wait site) of PROFILE", NULL, NULL },
	{ "max-total", OPT_MAX_TOTAL, 1, "PROFILE:DURATION", "sum of all waits of PROFILE", NULL,
	  NULL },
	{ NULL, 0, 0, NULL, "the same rules for one wait kind (mutex, cond,\nepoll, read, ...: "
	  "the kinds of --kind)", "--max-wait KIND:DURATION", NULL },
	{ "max-lost", OPT_MAX_LOST, 1, "N", "events lost by the recorder (trace.lost_events)",
	  NULL, NULL },
};

static const struct ct_opt check_output_opts[] = {
	{ NULL, 0, 0, NULL,
	  "\nPROFILE is sync, net, syscall, sleep, holder, wakeup, or any (the waiter\n"
	  "profiles sync, net, syscall and sleep together); in place of a PROFILE, a\n"
	  "KIND (mutex, cond, epoll, ...) limits that kind's waits and calls.\n"
	  "A value equal to its limit holds. With no rule, the defaults are:\n"
	  "  --fail-on deadlock --max-lost 0\n\n", NULL, NULL },
	{ "junit", OPT_JUNIT, 1, "FILE", "also write JUnit XML: one <testsuite name=\"ctrace "
	  "check\">, one\n<testcase> per rule (over all the FILEs), <failure> with the details", NULL, NULL },
	{ NULL, 0, 0, NULL,
	  "\noutput: one line per violation, e.g.\n"
	  "  FAIL max-wait sync:100us: 2.31ms mutex wait on 0x55d0c0a2e040 at contend_lock "
	  "(lockwait.c:45)\n"
	  "      contend_lock (lockwait.c:45)\n"
	  "      worker (lockwait.c:80)\n"
	  "(with several FILEs the trace's name follows the rule); at most 5 violations\n"
	  "per rule and trace are shown. When every rule holds: one line starting 'ok:'.\n"
	  "Entries of net/syscall/sleep calls made without a stack (below the recorder's\n"
	  "threshold) count in --max-total only.\n", NULL, NULL },
};

static const struct ct_opt_table check_tables[] = {
	{ "rules (repeatable; DURATION takes a unit: ns us ms s, e.g. 250us, 1.5ms):", 28,
	  check_opts, CT_OPTS_N(check_opts) },
	{ NULL, 12, check_output_opts, CT_OPTS_N(check_output_opts) },
	{ "what the rules look at (as in 'ctrace report'):", 14, ct_filter_opts,
	  CT_NFILTER_OPTS },
	{ CT_CONVOY_TITLE, 22, ct_convoy_opts, CT_NCONVOY_OPTS },
};

static const struct ct_cmd_opts check_cmd = {
	"check",
	"usage: ctrace check [RULES...] [--junit FILE] [--from FROM] [--to TO] [--thread T]\n"
	"                    [--kind K] [--exclude-kind K] [--hide REGEX] [--strict]\n"
	"                    [--convoy-* VALUE] FILE...\n\n"
	"Gates a CI job on traces: exit 0 when every rule holds on every FILE, 1 when\n"
	"one is broken, 2 on a usage error or an unreadable trace.\n",
	check_tables, CT_OPTS_N(check_tables), NULL, 0,
};

/* ---- rules ------------------------------------------------------------------------- */

static struct ct_rule *new_rule(struct ct_check_opts *o)
{
	struct ct_rule *r;

	ct_grow(&o->rules, &o->cap, o->nrules + 1, sizeof(*o->rules));
	r = &o->rules[o->nrules++];
	memset(r, 0, sizeof(*r));
	return r;
}

static int fail_on(struct ct_check_opts *o, const char *val, char *err, size_t errlen)
{
	const char *p = val;

	do {
		size_t n = strcspn(p, ",");
		struct ct_rule *r;

		if (n == 6 && !strncmp(p, "convoy", 6)) {
			r = new_rule(o);
			r->type = CT_RULE_CONVOY;
			snprintf(r->text, sizeof(r->text), "fail-on convoy");
		} else if (n == 8 && !strncmp(p, "deadlock", 8)) {
			r = new_rule(o);
			r->type = CT_RULE_DEADLOCK;
			snprintf(r->text, sizeof(r->text), "fail-on deadlock");
		} else if (n == 10 && !strncmp(p, "lock-order", 10)) {
			r = new_rule(o);
			r->type = CT_RULE_LOCK_ORDER;
			snprintf(r->text, sizeof(r->text), "fail-on lock-order");
		} else if (n == 9 && !strncmp(p, "truncated", 9)) {
			r = new_rule(o);
			r->type = CT_RULE_TRUNCATED;
			snprintf(r->text, sizeof(r->text), "fail-on truncated");
		} else {
			snprintf(err, errlen, "--fail-on wants convoy, deadlock, lock-order or "
				 "truncated, not "
				 "'%.*s'", (int)n, p);
			return -1;
		}
		p += n;
	} while (*p++ == ',');
	return 0;
}

int ct_check_parse_rule(struct ct_check_opts *o, const char *opt, const char *val,
			char *err, size_t errlen)
{
	static const struct { const char *opt; int type; } dur[] = {
		{ "--max-wait", CT_RULE_MAX_WAIT },
		{ "--max-p99", CT_RULE_MAX_P99 },
		{ "--max-total", CT_RULE_MAX_TOTAL },
	};
	const char *colon;
	char prof[32];
	uint64_t ns;
	long n;
	int p, kind;

	if (!strcmp(opt, "--fail-on"))
		return fail_on(o, val, err, errlen);
	if (!strcmp(opt, "--max-lost")) {
		struct ct_rule *r;

		if (ct_parse_count(val, &n) < 0) {
			snprintf(err, errlen, "--max-lost wants a count, not '%s'", val);
			return -1;
		}
		r = new_rule(o);
		r->type = CT_RULE_MAX_LOST;
		r->limit = (uint64_t)n;
		snprintf(r->text, sizeof(r->text), "max-lost %ld", n);
		return 0;
	}
	for (size_t i = 0; i < sizeof(dur) / sizeof(dur[0]); i++) {
		struct ct_rule *r;

		if (strcmp(opt, dur[i].opt))
			continue;
		colon = strchr(val, ':');
		if (!colon || (size_t)(colon - val) >= sizeof(prof)) {
			snprintf(err, errlen, "%s wants PROFILE:DURATION (e.g. sync:100us), "
				 "not '%s'", opt, val);
			return -1;
		}
		memcpy(prof, val, (size_t)(colon - val));
		prof[colon - val] = 0;
		kind = 0;
		if (!strcmp(prof, "any"))
			p = CT_RULE_ANY;
		else if ((p = ct_aprofile_from_name(prof)) < 0) {
			/* a wait kind: its waits in whichever waiter profile they are */
			for (unsigned k = 1; k < CT_K_MAX; k++)
				if (!strcmp(prof, ct_kind_name(k)))
					kind = (int)k;
			if (!kind) {
				snprintf(err, errlen, "%s: unknown profile or kind '%s' (profiles: "
					 "sync net syscall sleep holder wakeup any; kinds: mutex "
					 "cond epoll ..., see 'ctrace report --help')", opt, prof);
				return -1;
			}
			p = CT_RULE_ANY;
		}
		if (ct_parse_duration(colon + 1, &ns) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a duration (a number with a "
				 "unit: ns us ms s)", opt, colon + 1);
			return -1;
		}
		r = new_rule(o);
		r->type = dur[i].type;
		r->profile = p;
		r->kind = kind;
		r->limit = ns;
		snprintf(r->text, sizeof(r->text), "%s %.40s:%.40s", opt + 2, prof, colon + 1);
		return 0;
	}
	return 1;
}

static int set(void *st, const struct ct_opt *row, const char *opt, const char *val, char *err,
	       size_t errlen)
{
	struct ct_check_opts *o = st;

	switch (row->key) {
	case OPT_JUNIT:
		if (!*val) {
			snprintf(err, errlen, "--junit needs a FILE");
			return -1;
		}
		o->junit = val;
		return 0;
	case OPT_FAIL_ON: case OPT_MAX_WAIT: case OPT_MAX_P99: case OPT_MAX_TOTAL:
	case OPT_MAX_LOST:
		return ct_check_parse_rule(o, opt, val, err, errlen) < 0 ? -1 : 0;
	default:
		return ct_opts_set_shared(&o->filter, &o->convoy, row, opt, val, err, errlen);
	}
}

int ct_check_parse_args(struct ct_check_opts *o, int argc, char **argv, const char **files,
			size_t *nfiles, char *err, size_t errlen)
{
	/* getopt_long wants an argv[0]: a copy of the words, led by the command name */
	char **args = ct_xcalloc((size_t)argc + 2, sizeof(*args));
	const char **ops = ct_xcalloc((size_t)argc + 1, sizeof(*ops));
	size_t nops = 0;
	int rc;

	if (!o->have_filter) {
		ct_filter_args_init(&o->filter);
		o->have_filter = 1;
	}
	if (!o->have_convoy) {
		ct_convoy_params_default(&o->convoy);
		o->have_convoy = 1;
	}
	args[0] = (char *)"check";
	memcpy(args + 1, argv, (size_t)argc * sizeof(*argv));
	rc = ct_opts_parse(&check_cmd, argc + 1, args, set, o, ops, &nops, err, errlen);
	if (rc > 0) {
		snprintf(err, errlen, "--help is not a rule (see 'ctrace check --help')");
		rc = -1;
	}
	if (rc == 0 && nops && !files) {
		snprintf(err, errlen, "unexpected argument '%s' among the rules", ops[0]);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < nops; i++)
		files[(*nfiles)++] = ops[i];
	free(ops);
	free(args);
	return rc;
}

void ct_check_defaults(struct ct_check_opts *o)
{
	char err[8];

	if (o->nrules)
		return;
	ct_check_parse_rule(o, "--fail-on", "deadlock", err, sizeof(err));
	ct_check_parse_rule(o, "--max-lost", "0", err, sizeof(err));
}

void ct_check_opts_free(struct ct_check_opts *o)
{
	if (o->have_filter)
		ct_filter_args_free(&o->filter);
	o->have_filter = o->have_convoy = 0;
	free(o->rules);
	free(o->junit_owned);
	o->junit_owned = NULL;
	o->rules = NULL;
	o->nrules = o->cap = 0;
}

int ct_check_split(const char *s, char ***out)
{
	size_t n = 0, cap = 0, len = strlen(s);
	char **w = NULL;
	const char *p = s;

	for (;;) {
		char *word, *q;
		int quote = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		word = q = ct_xmalloc(len + 1);
		for (; *p; p++) {
			if (quote) {
				if (*p == quote)
					quote = 0;
				else if (*p == '\\' && quote == '"' && (p[1] == '"' || p[1] == '\\'))
					*q++ = *++p;
				else
					*q++ = *p;
			} else if (*p == '\'' || *p == '"') {
				quote = *p;
			} else if (*p == '\\' && p[1]) {
				*q++ = *++p;
			} else if (*p == ' ' || *p == '\t' || *p == '\n') {
				break;
			} else {
				*q++ = *p;
			}
		}
		*q = 0;
		ct_grow(&w, &cap, n + 2, sizeof(*w));
		w[n++] = word;
		w[n] = NULL;
		if (quote) {
			ct_check_free_words(w);
			*out = NULL;
			return -1;
		}
	}
	if (!w)
		w = ct_xcalloc(1, sizeof(*w));
	*out = w;
	return (int)n;
}

void ct_check_free_words(char **w)
{
	if (!w)
		return;
	for (char **p = w; *p; p++)
		free(*p);
	free(w);
}

/* ---- evaluation ---------------------------------------------------------------------- */

/* What the rules look at: the traces (n of them, by the proc index of the analysis's
 * entries, objects and links) and their one analysis. */
struct trace {
	const char *name;               /* the file, or the files joined (JUnit) */
	const char *const *paths;       /* each trace's file */
	const struct ct_model *const *ms;
	struct ct_frames **frs;
	size_t n;
	const struct ct_analysis *a;
};

/* The frames of trace proc (an index from the analysis). */
static struct ct_frames *fr_at(const struct trace *t, uint32_t proc)
{
	return t->frs[proc < t->n ? proc : 0];
}

/* The output of one rule on one trace. */
struct result {
	const struct ct_rule *r;
	const struct trace *t;
	char *text;        /* the violation lines with their frames (malloc'ed) */
	size_t len;
	char first[1024];  /* the first violation's line, without "FAIL rule: " */
	size_t nviol;
	FILE *f;           /* open while evaluating */
	uint32_t proc;     /* the trace the next violation is in (several traces: named in
			    * its line), UINT32_MAX when it is in none alone */
};

#define FRAME_HOW (CT_FRAME_MODULE | CT_FRAME_PC)

/* "func (file:line)" of frames[0], or "an unrecorded stack". */
static void site_str(const struct ct_frame *f, size_t n, char *buf, size_t cap)
{
	if (!n)
		snprintf(buf, cap, "an unrecorded stack");
	else
		ct_frame_str(&f[0], FRAME_HOW, buf, cap);
}

static void print_frames(FILE *f, const struct ct_frame *fr, size_t n, const char *indent)
{
	ct_frames_write(f, fr, n, indent, STACK_LINES, FRAME_HOW);
}

/* One violation: "FAIL rule: [trace: ]detail" and the frames; the first is kept. */
static void violation(struct result *res, const struct ct_frame *f, size_t n,
		      const char *fmt, ...) CT_PRINTF(4, 5);
static void violation(struct result *res, const struct ct_frame *f, size_t n,
		      const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!res->nviol++)
		snprintf(res->first, sizeof(res->first), "%s", line);
	if (res->nviol > MAX_SHOWN)
		return;
	fprintf(res->f, "FAIL %s: ", res->r->text);
	if (res->t->n > 1 && res->proc < res->t->n)
		fprintf(res->f, "%s: ", res->t->paths[res->proc]);
	fprintf(res->f, "%s\n", line);
	print_frames(res->f, f, n, "    ");
}

/* What one sample of an entry is: "wait", "call", "sleep", "holder charge", ... */
static const char *sample_noun(int p)
{
	switch (p) {
	case CT_AP_SYNC: return "wait";
	case CT_AP_NET: case CT_AP_SYSCALL: return "call";
	case CT_AP_SLEEP: return "sleep";
	case CT_AP_HOLDER: return "holder charge";
	case CT_AP_WAKEUP: return "wake-up";
	default: return "wait";
	}
}

/* Whether the rule looks at entries of profile p and the given kind. */
static int in_rule(const struct ct_rule *r, int p, unsigned kind)
{
	if (r->kind && kind != (unsigned)r->kind)
		return 0;
	if (r->profile == CT_RULE_ANY)
		return p >= CT_AP_SYNC && p <= CT_AP_SLEEP;
	return p == r->profile;
}

/* The object of the longest sync wait of entry e (0 when none is found). */
static uint64_t longest_wait_obj(const struct ct_analysis *a, const struct ct_pentry *e)
{
	(void)a;
	return e->profile == CT_AP_SYNC ? e->max_obj : 0;
}

static int cmp_entry_max(const void *x, const void *y)
{
	const struct ct_pentry *a = *(const struct ct_pentry *const *)x,
			       *b = *(const struct ct_pentry *const *)y;

	return a->max_ns < b->max_ns ? 1 : a->max_ns > b->max_ns ? -1 : 0;
}

static int cmp_entry_p99(const void *x, const void *y)
{
	const struct ct_pentry *a = *(const struct ct_pentry *const *)x,
			       *b = *(const struct ct_pentry *const *)y;

	return a->p99_ns < b->p99_ns ? 1 : a->p99_ns > b->p99_ns ? -1 : 0;
}

/* --max-wait and --max-p99: every entry over the limit, the largest first. */
static void eval_entries(struct result *res, int p99)
{
	const struct trace *t = res->t;
	const struct ct_analysis *a = t->a;
	const struct ct_pentry **over = NULL;
	size_t nover = 0;

	over = ct_xcalloc(a->nentries + 1, sizeof(*over));
	for (size_t i = 0; i < a->nentries; i++) {
		const struct ct_pentry *e = &a->entries[i];

		if (in_rule(res->r, e->profile, e->kind) && !e->remainder &&
		    (p99 ? e->p99_ns : e->max_ns) > res->r->limit)
			over[nover++] = e;
	}
	qsort(over, nover, sizeof(*over), p99 ? cmp_entry_p99 : cmp_entry_max);
	for (size_t i = 0; i < nover; i++) {
		const struct ct_pentry *e = over[i];
		const struct ct_frame *f;
		size_t n = ct_frames_entry(fr_at(t, e->proc), e, &f, NULL);
		char d[CT_DUR_BUF], md[CT_DUR_BUF], site[256], kind[64], on[48] = "";
		uint64_t obj;

		ct_pentry_kind(e, kind, sizeof(kind));
		site_str(f, n, site, sizeof(site));
		res->proc = e->proc;
		if (p99) {
			violation(res, f, n, "p99 %s (max %s) of %" PRIu64 " %s %s%s at %s",
				  ct_fmt_duration(e->p99_ns, d), ct_fmt_duration(e->max_ns, md),
				  e->count, kind, sample_noun(e->profile),
				  e->count == 1 ? "" : "s", site);
			continue;
		}
		if (i < MAX_SHOWN && (obj = longest_wait_obj(a, e)))
			snprintf(on, sizeof(on), " on 0x%" PRIx64, obj);
		violation(res, f, n, "%s %s %s%s at %s, longest of %" PRIu64,
			  ct_fmt_duration(e->max_ns, d), kind, sample_noun(e->profile), on, site,
			  e->count);
	}
	free(over);
}

/* --max-total: the sum over the profile(s); the largest entry names the place. */
static void eval_total(struct result *res)
{
	const struct trace *t = res->t;
	const struct ct_analysis *a = t->a;
	const struct ct_pentry *big = NULL;
	uint64_t total = 0, count = 0;
	size_t nent = 0;
	const struct ct_frame *f = NULL;
	size_t n = 0;
	char d[CT_DUR_BUF], bd[CT_DUR_BUF], site[256], kind[64];

	for (size_t i = 0; i < a->nentries; i++) {
		const struct ct_pentry *e = &a->entries[i];

		if (!in_rule(res->r, e->profile, e->kind))
			continue;
		total += e->total_ns;
		count += e->count;
		nent++;
		if (!big || e->total_ns > big->total_ns)
			big = e;
	}
	if (total <= res->r->limit)
		return;
	n = ct_frames_entry(fr_at(t, big->proc), big, &f, NULL);
	res->proc = t->n > 1 ? UINT32_MAX : 0; /* a sum over every trace */
	ct_pentry_kind(big, kind, sizeof(kind));
	site_str(f, n, site, sizeof(site));
	violation(res, f, n, "%s in %" PRIu64 " %s%s over %zu site%s; largest %s %s at %s",
		  ct_fmt_duration(total, d), count,
		  res->r->kind ? sample_noun(big->profile) : res->r->profile == CT_RULE_ANY ?
		  "wait" : sample_noun(res->r->profile),
		  count == 1 ? "" : "s", nent, nent == 1 ? "" : "s",
		  ct_fmt_duration(big->total_ns, bd), kind, site);
}

/* --max-lost: the events lost by every trace together. */
static void eval_lost(struct result *res)
{
	const struct trace *t = res->t;
	uint64_t lost[CT_L_MAX] = { 0 }, total = 0;
	char causes[256] = "";
	size_t len = 0;

	for (size_t i = 0; i < t->n; i++) {
		for (int k = 0; k < CT_L_MAX; k++)
			lost[k] += t->ms[i]->lost[k];
		total += t->ms[i]->lost_total;
	}
	if (total <= res->r->limit)
		return;
	for (int k = 0; k < CT_L_MAX && len < sizeof(causes); k++)
		if (lost[k])
			len += (size_t)snprintf(causes + len, sizeof(causes) - len, "%s%s %" PRIu64,
						len ? ", " : "", ct_lost_name((unsigned)k), lost[k]);
	res->proc = t->n > 1 ? UINT32_MAX : 0;
	violation(res, NULL, 0, "%" PRIu64 " events lost (%s)", total, causes);
}

/* --fail-on truncated: the file ends inside a chunk or without its last GEN_END. */
static void eval_truncated(struct result *res)
{
	char t[256];

	for (size_t i = 0; i < res->t->n; i++)
		if (res->t->ms[i]->truncated) {
			res->proc = (uint32_t)i;
			violation(res, NULL, 0, "trace %s",
				  ct_model_truncation(res->t->ms[i], t, sizeof(t)));
		}
}

/* --fail-on convoy: every object with the convoy verdict (analysis.h ct_object.convoy),
 * with its evidence; the stack is where most of the run's waits waited. */
static void eval_convoy(struct result *res)
{
	const struct trace *t = res->t;
	const struct ct_analysis *a = t->a;

	for (size_t i = 0; i < a->nobjs; i++) {
		const struct ct_object *o = &a->objs[i];
		const struct ct_convoy *ev = &o->convoy_ev;
		const struct ct_frame *f, *hf;
		size_t n, hn;
		char site[256], hsite[256], d[6][CT_DUR_BUF];

		if (!o->convoy)
			continue;
		n = ct_frames_stack(fr_at(t, o->proc),
				    ev->waiter_stack ? ev->waiter_stack : o->first_stack, &f, NULL);
		hn = ct_frames_stack(fr_at(t, o->proc), ev->holder_stack, &hf, NULL);
		res->proc = o->proc;
		site_str(f, n, site, sizeof(site));
		site_str(hf, hn, hsite, sizeof(hsite));
		violation(res, f, n, "convoy on %s 0x%" PRIx64 " from %s to %s (%" PRIu64
			  " windows of %s): %.1f waiters on average, queue empty %.0f%% of the time, "
			  "median hold %s, median hand-off %s, median wait %s, at most %.0f "
			  "acquisitions/s; waiters at %s, released at %s", ct_kind_name(o->kind),
			  o->addr, ct_fmt_duration(ev->start_ns, d[0]),
			  ct_fmt_duration(ev->end_ns, d[1]), ev->windows,
			  ct_fmt_duration(ev->window_ns, d[2]), ev->mean_waiters,
			  ev->empty_fraction * 100, ct_fmt_duration(ev->median_hold_ns, d[3]),
			  ct_fmt_duration(ev->median_handoff_ns, d[4]),
			  ct_fmt_duration(ev->median_wait_ns, d[5]), ev->throughput_cap_per_s, site,
			  hsite);
		if (res->nviol <= MAX_SHOWN && hn) {
			fprintf(res->f, "  released at:\n");
			print_frames(res->f, hf, hn, "    ");
		}
	}
}

/* The waiting stack of a wait-chain link (0 when unknown). */
static uint32_t link_stack(const struct ct_analysis *a, const struct ct_chain_link *l)
{
	(void)a;
	return l->stack;
}

/* --fail-on deadlock: every wait cycle (analysis.h ct_analysis.deadlocks), one line that
 * names each thread, the object it waits on, its holder and where the holder took it,
 * then each thread's waiting stack. */
static void eval_deadlock(struct result *res)
{
	const struct trace *t = res->t;
	const struct ct_analysis *a = t->a;

	for (size_t i = 0; i < a->ndeadlocks; i++) {
		const struct ct_deadlock *dl = &a->deadlocks[i];
		char line[1024], site[256], hsite[256];
		size_t len = 0;
		const struct ct_frame *f, *f0 = NULL;
		size_t n, n0 = 0;

		if (!dl->n)
			continue;
		len += (size_t)snprintf(line, sizeof(line), "deadlock of %zu threads:", dl->n);
		for (size_t k = 0; k < dl->n && len < sizeof(line); k++) {
			const struct ct_chain_link *l = &dl->links[k];
			const struct ct_object *o = ct_analysis_object(a, l->obj);

			n = ct_frames_stack(fr_at(t, l->proc), link_stack(a, l), &f, NULL);
			if (!k) {
				f0 = f;
				n0 = n;
			}
			site_str(f, n, site, sizeof(site));
			if (l->held_known) {
				n = ct_frames_stack(fr_at(t, l->proc), l->held_stack, &f, NULL);
				site_str(f, n, hsite, sizeof(hsite));
			} else {
				snprintf(hsite, sizeof(hsite), "a site not recorded");
			}
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						"%s thread %" PRIu32 " waits on %s 0x%" PRIx64
						" at %s, held by %" PRIu32 " (taken at %s)", k ? ";" : "",
						l->tid, o ? ct_kind_name(o->kind) : "object", l->obj, site,
						l->held_by, hsite);
		}
		res->proc = dl->links[0].proc;
		violation(res, f0, n0, "%s", line);
		if (res->nviol > MAX_SHOWN)
			continue;
		for (size_t k = 1; k < dl->n; k++) {
			const struct ct_chain_link *l = &dl->links[k];

			n = ct_frames_stack(fr_at(t, l->proc), link_stack(a, l), &f, NULL);
			fprintf(res->f, "  thread %" PRIu32 ":\n", l->tid);
			print_frames(res->f, f, n, "    ");
		}
	}
}

/* --fail-on lock-order: every cycle of the lock-order graph (ct_analysis.lock_order), one
 * line naming each edge's lock, where it was taken and where the lock held then was
 * taken. */
static void eval_lock_order(struct result *res)
{
	const struct trace *t = res->t;
	const struct ct_analysis *a = t->a;

	for (size_t i = 0; i < a->nlock_order; i++) {
		const struct ct_lo_cycle *cy = &a->lock_order[i];
		char line[1024], edge[512];
		size_t len = 0;
		const struct ct_frame *f = NULL;
		size_t n = 0;

		if (!cy->n)
			continue;
		len += (size_t)snprintf(line, sizeof(line), "lock-order cycle of %zu locks:", cy->n);
		for (size_t k = 0; k < cy->n && len < sizeof(line); k++)
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s %s", k ? ";" : "",
						ct_lo_edge_str(fr_at(t, cy->edges[k].proc),
							       t->ms[cy->edges[k].proc < t->n ?
								     cy->edges[k].proc : 0],
							       &cy->edges[k], edge, sizeof(edge)));
		n = ct_frames_stack(fr_at(t, cy->edges[0].proc), cy->edges[0].acquired_stack, &f,
				    NULL);
		violation(res, f, n, "%s", line);
	}
}

static void evaluate(struct result *res)
{
	res->f = open_memstream(&res->text, &res->len);
	if (!res->f)
		ct_die(CT_EXIT_USAGE, "out of memory");
	switch (res->r->type) {
	case CT_RULE_CONVOY: eval_convoy(res); break;
	case CT_RULE_DEADLOCK: eval_deadlock(res); break;
	case CT_RULE_MAX_WAIT: eval_entries(res, 0); break;
	case CT_RULE_MAX_P99: eval_entries(res, 1); break;
	case CT_RULE_MAX_TOTAL: eval_total(res); break;
	case CT_RULE_MAX_LOST: eval_lost(res); break;
	case CT_RULE_TRUNCATED: eval_truncated(res); break;
	case CT_RULE_LOCK_ORDER: eval_lock_order(res); break;
	}
	if (res->nviol > MAX_SHOWN)
		fprintf(res->f, "    ... and %zu more over the limit\n", res->nviol - MAX_SHOWN);
	fclose(res->f);
	res->f = NULL;
}

size_t ct_check_eval(const struct ct_rule *r, const char *path, const struct ct_model *m,
		     const struct ct_analysis *a, FILE *out)
{
	struct ct_frames *fr = ct_frames_new(m);
	struct trace t = { .name = path, .paths = &path, .ms = &m, .frs = &fr, .n = 1, .a = a };
	struct result res = { .r = r, .t = &t };

	evaluate(&res);
	fwrite(res.text, 1, res.len, out);
	free(res.text);
	ct_frames_free(fr);
	return res.nviol;
}

/* ---- command ------------------------------------------------------------------------- */

static struct ct_analysis *load(struct ct_model **m, const char *path,
				const struct ct_check_opts *o, const struct ct_convoy_params *cp)
{
	char err[512];
	struct ct_analysis *a;

	if (ct_analyze_file(path, o->have_filter ? &o->filter.f : NULL, cp, 2, m, &a, err,
			    sizeof(err)) < 0)
		ct_die(CT_EXIT_USAGE, "%s: %s", path, err);
	return a;
}

/* The files' names joined by ", " (malloc'ed). */
static char *join(const char *const *files, size_t n)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(files[i]) + 2;
	s = ct_xmalloc(len);
	s[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, files[i]);
	}
	return s;
}

int ct_check_run(const struct ct_check_opts *o, const char *const *files, size_t nfiles)
{
	struct ct_model **models = ct_xcalloc(nfiles, sizeof(*models));
	struct ct_analysis **as = ct_xcalloc(nfiles, sizeof(*as));
	struct ct_frames **frs = ct_xcalloc(nfiles, sizeof(*frs));
	struct result *res = ct_xcalloc(o->nrules + 1, sizeof(*res));
	char *name = join(files, nfiles);
	struct trace t = { .name = name, .paths = files, .n = nfiles };
	size_t nres = 0, failed = 0, nviol = 0;
	FILE *jf = NULL;
	struct ct_convoy_params cp;

	if (o->have_convoy)
		cp = o->convoy;
	else
		ct_convoy_params_default(&cp);

	/* every trace is read before anything is printed: unreadable input exits 2 alone;
	 * several are analysed as one, so that a rule sees them all */
	for (size_t i = 0; i < nfiles; i++)
		as[i] = load(&models[i], files[i], o, &cp);
	if (o->have_filter) {
		char err[512];

		if (ct_filter_verify(&o->filter, files, models, as, nfiles, err, sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "check: %s", err);
	}
	t.a = nfiles > 1 ? ct_analysis_merge(as, nfiles) : as[0];
	t.ms = (const struct ct_model *const *)models;
	t.frs = frs;
	if (o->junit && !(jf = fopen(o->junit, "w")))
		ct_die(CT_EXIT_USAGE, "check: cannot write %s: %s", o->junit, strerror(errno));
	for (size_t i = 0; i < nfiles; i++) {
		if (models[i]->truncated) {
			char tr[256];

			ct_err("warning: %s: %s", files[i],
			       ct_model_truncation(models[i], tr, sizeof(tr)));
		}
		frs[i] = ct_frames_new(models[i]);
	}
	for (size_t k = 0; k < o->nrules; k++) {
		struct result *r = &res[nres++];

		r->r = &o->rules[k];
		r->t = &t;
		evaluate(r);
		if (r->nviol) {
			failed++;
			nviol += r->nviol;
		}
		fwrite(r->text, 1, r->len, stdout);
	}
	if (!failed) {
		size_t ntrunc = 0;
		uint64_t ndamaged = 0;

		for (size_t i = 0; i < nfiles; i++) {
			ntrunc += models[i]->truncated != 0;
			ndamaged += models[i]->damaged;
		}
		printf("ok: %zu rule%s hold%s on %s", o->nrules, o->nrules == 1 ? "" : "s",
		       o->nrules == 1 ? "s" : "", nfiles == 1 ? files[0] : "every trace");
		/* what the rules did not see */
		if (ntrunc && nfiles == 1)
			printf(", but the trace is truncated (--fail-on truncated fails on it)");
		else if (ntrunc)
			printf(", but %zu of %zu traces are truncated (--fail-on truncated fails on "
			       "them)", ntrunc, nfiles);
		if (ndamaged)
			printf("%s %" PRIu64 " damaged stretch%s skipped (--strict fails on %s)",
			       ntrunc ? "; and" : ", but", ndamaged, ndamaged == 1 ? "" : "es",
			       ndamaged == 1 ? "it" : "them");
		printf("\n");
	}
	else
		printf("check: %zu of %zu rule check%s failed (%zu violation%s)\n", failed, nres,
		       nres == 1 ? "" : "s", nviol, nviol == 1 ? "" : "s");
	if (fflush(stdout) != 0 || ferror(stdout))
		ct_die(CT_EXIT_USAGE, "check: write error: %s", strerror(errno));
	if (jf) {
		struct ct_verdict *v = ct_xcalloc(nres + 1, sizeof(*v));
		struct ct_output_ctx oc = { .verdicts = v, .nverdicts = nres, .nfailed = failed };

		for (size_t i = 0; i < nres; i++)
			v[i] = (struct ct_verdict){ .trace = t.name, .rule = res[i].r->text,
						    .nviol = res[i].nviol, .first = res[i].first,
						    .text = res[i].text };
		ct_output_find("junit")->write(&oc, jf);
		free(v);
		if (fclose(jf) != 0)
			ct_die(CT_EXIT_USAGE, "check: cannot write %s: %s", o->junit,
			       strerror(errno));
	}
	for (size_t i = 0; i < nres; i++)
		free(res[i].text);
	free(res);
	ct_analysis_free((struct ct_analysis *)t.a);
	for (size_t i = 0; i < nfiles; i++) {
		ct_frames_free(frs[i]);
		ct_model_free(models[i]);
	}
	free(frs);
	free(as);
	free(models);
	free(name);
	return failed ? CT_EXIT_VIOLATION : CT_EXIT_OK;
}

int ct_cmd_check(int argc, char **argv)
{
	struct ct_check_opts o = { 0 };
	const char **files = ct_xcalloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	char err[512];
	int rc;

	/* --help anywhere before "--" wins over every error */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			ct_opts_help(&check_cmd, stdout);
			free(files);
			return CT_EXIT_OK;
		}
	}
	if (ct_check_parse_args(&o, argc - 1, argv + 1, files, &nfiles, err, sizeof(err)) < 0)
		ct_die(CT_EXIT_USAGE, "check: %s", err);
	if (!nfiles)
		ct_die(CT_EXIT_USAGE, "check: no FILE given (see 'ctrace check --help')");
	ct_check_defaults(&o);
	o.filter.f.origin_ts = ct_traces_order(files, nfiles);
	rc = ct_check_run(&o, files, nfiles);
	ct_check_opts_free(&o);
	free(files);
	return rc;
}
