/* SPDX-License-Identifier: MIT */
/*
 * Implementation of options.h.
 */
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "model.h"
#include "util.h"

const struct ct_opt ct_filter_opts[CT_NFILTER_OPTS] = {
	{ "from", CT_OPT_FROM, 1, "FROM", "only the time window [FROM, TO] from the trace start "
	  "(e.g.\n150ms; units ns us ms s); waits overlapping it are clipped to it",
	  "--from FROM, --to TO", NULL },
	{ "to", CT_OPT_TO, 1, "TO", NULL, NULL, NULL },
	{ "thread", CT_OPT_THREAD, 1, "T", "only the threads named T or with tid T (repeatable)",
	  NULL, NULL },
	{ "kind", CT_OPT_KIND, 1, "K[,K...]", "only waits and calls of these kinds (mutex, cond, "
	  "epoll, ...)\nor profiles (sync, net, syscall, sleep); repeatable", NULL, NULL },
	{ "exclude-kind", CT_OPT_EXCLUDE_KIND, 1, "K[,K...]", "leave out waits and calls of "
	  "these kinds or profiles", NULL, NULL },
	{ "strict", CT_OPT_STRICT, 0, NULL, "a damaged chunk in the trace is an error (exit 2);\n"
	  "by default it is skipped with a warning", NULL, NULL },
	{ "hide", CT_OPT_HIDE, 1, "REGEX", "leave out the frames whose function matches REGEX\n"
	  "(extended regex, like pprof -hide; repeatable)", NULL, NULL },
	{ "region", CT_OPT_REGION, 1, "NAME", "only the waits inside a region NAME "
	  "(ctrace_annotate.h)", NULL, NULL },
	{ "label", CT_OPT_LABEL, 1, "K=V", "only the waits made while the thread's label K was V",
	  NULL, NULL },
};

const struct ct_opt ct_convoy_opts[CT_NCONVOY_OPTS] = {
	{ "convoy-window", CT_OPT_CONVOY_WINDOW, 1, "D", "window width (default 100ms; a trace "
	  "shorter than ten\nwindows gets ten windows of a tenth of its duration)", NULL, NULL },
	{ "convoy-waiters", CT_OPT_CONVOY_WAITERS, 1, "Q", "a queued window has on average at "
	  "least Q waiters\n(default 1) ...", NULL, NULL },
	{ "convoy-empty", CT_OPT_CONVOY_EMPTY, 1, "F", "... and nobody waiting at most F of it "
	  "(default 0.5)", NULL, NULL },
	{ "convoy-run", CT_OPT_CONVOY_RUN, 1, "N", "a convoy needs N queued windows in a row "
	  "(default 3) ...", NULL, NULL },
	{ "convoy-releases", CT_OPT_CONVOY_RELEASES, 1, "R", "... with on average R releases seen "
	  "per window (made\nwhile someone waited; default 2) ...", NULL, NULL },
	{ "convoy-wait-hold", CT_OPT_CONVOY_WAIT_HOLD, 1, "X", "... and a median wait of X times "
	  "the median hold\n(default 2)", NULL, NULL },
};

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
	free(fa->region);
	free(fa->label);
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

int ct_kind_parse_list(const char *list, uint64_t *mask, const char **bad)
{
	const char *p = list;

	do {
		size_t n = strcspn(p, ",");
		uint64_t m = 0;

		for (unsigned k = 1; k < CT_K_MAX && k < 64; k++) {
			const char *name = ct_kind_name(k);

			if (strlen(name) == n && !strncmp(p, name, n))
				m |= 1ull << k;
		}
		for (unsigned pr = CT_P_NONE + 1; !m && pr < CT_P_MAX; pr++) {
			const char *name = ct_profile_name(pr);

			if (strlen(name) != n || strncmp(p, name, n))
				continue;
			for (unsigned k = 1; k < CT_K_MAX && k < 64; k++)
				if (ct_kind_profile(k) == (enum ct_profile)pr ||
				    (pr == CT_P_NET && (k == CT_K_READ || k == CT_K_WRITE)))
					m |= 1ull << k;
		}
		if (!m) {
			*bad = p;
			return -1;
		}
		*mask |= m;
		p += n;
	} while (*p++ == ',');
	return 0;
}

/* "mutex cond ..." into buf: the kind names, for messages. */
static const char *kind_names(char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = 0;
	for (unsigned k = 1; k < CT_K_MAX && len < cap; k++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", k > 1 ? " " : "",
					ct_kind_name(k));
	return buf;
}

int ct_filter_parse(struct ct_filter_args *fa, const char *opt, const char *val, char *err,
		    size_t errlen)
{
	uint64_t ns;

	if (!strcmp(opt, "--kind") || !strcmp(opt, "--exclude-kind")) {
		uint64_t m = 0, all = (CT_K_MAX >= 64 ? ~0ull : (1ull << CT_K_MAX) - 1) & ~1ull;
		const char *bad;
		char names[512];

		if (ct_kind_parse_list(val, &m, &bad) < 0) {
			snprintf(err, errlen, "%s: unknown kind '%.*s' (kinds: %s; or a profile: "
				 "sync net syscall sleep)", opt, (int)strcspn(bad, ","), bad,
				 kind_names(names, sizeof(names)));
			return -1;
		}
		if (!strcmp(opt, "--kind")) {
			fa->include |= m;
		} else {
			fa->exclude |= m;
		}
		{
			size_t l = strlen(fa->kind_text);

			snprintf(fa->kind_text + l, sizeof(fa->kind_text) - l, "%s%s %s",
				 l ? " " : "", opt, val);
		}
		fa->f.kinds = (fa->include ? fa->include : all) & ~fa->exclude;
		if (!fa->f.kinds) {
			snprintf(err, errlen, "%s leaves no kind to look at", opt);
			return -1;
		}
		return 0;
	}

	if (!strcmp(opt, "--thread")) {
		if (!val[0]) {
			snprintf(err, errlen, "--thread wants a thread name or tid");
			return -1;
		}
		add_thread(fa, val);
		return 0;
	}
	if (!strcmp(opt, "--region") || !strcmp(opt, "--label")) {
		char *eq;

		if (!val[0] || (opt[2] == 'l' && (!(eq = strchr(val, '=')) || eq == val))) {
			snprintf(err, errlen, "%s wants %s, not '%s'", opt,
				 opt[2] == 'r' ? "a region name" : "KEY=VALUE", val);
			return -1;
		}
		if (opt[2] == 'r') {
			free(fa->region);
			fa->f.region = fa->region = ct_xstrdup(val);
		} else {
			free(fa->label);
			fa->label = ct_xstrdup(val);
			eq = strchr(fa->label, '=');
			*eq = 0;
			fa->f.label_key = fa->label;
			fa->f.label_value = eq + 1;
		}
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

/* Whether thread t is one the filter names. */
static int names_thread(const struct ct_filter *f, const struct ct_mthread *t)
{
	for (size_t i = 0; i < f->ntids; i++)
		if (f->tids[i] == t->tid)
			return 1;
	for (size_t i = 0; i < f->nnames; i++)
		if (ct_filter_name(f->names[i], t->name))
			return 1;
	return 0;
}

/* Appends "s" to buf[*len, cap), leaving room for "..." when it does not fit. */
static void list_add(char *buf, size_t cap, size_t *len, const char *s)
{
	if (*len + strlen(s) + 8 >= cap) {
		if (*len + 5 < cap && !strstr(buf, ", ..."))
			*len += (size_t)snprintf(buf + *len, cap - *len, ", ...");
		return;
	}
	*len += (size_t)snprintf(buf + *len, cap - *len, "%s%s", *len ? ", " : "", s);
}

int ct_filter_verify(const struct ct_filter_args *fa, const char *const *paths,
		     struct ct_model *const *ms, struct ct_analysis *const *as, size_t n,
		     char *err, size_t errlen)
{
	const struct ct_filter *f = &fa->f;
	char list[400] = "";
	size_t len = 0;

	if (f->ntids || f->nnames) {
		int any = 0;

		for (size_t k = 0; k < n && !any; k++)
			for (size_t i = 0; i < ms[k]->nthreads && !any; i++)
				any = names_thread(f, &ms[k]->threads[i]);
		if (!any) {
			char one[64], shown[4096] = "";

			for (size_t k = 0; k < n; k++)
				for (size_t i = 0; i < ms[k]->nthreads; i++) {
					const struct ct_mthread *t = &ms[k]->threads[i];
					char key[CT_NAME_LEN + 3];

					/* each name once, with the tid of its first thread */
					snprintf(key, sizeof(key), "|%s|", t->name);
					if (strstr(shown, key) || strlen(shown) + strlen(key) >=
					    sizeof(shown))
						continue;
					strcat(shown, key);
					snprintf(one, sizeof(one), "%s (tid %" PRIu32 ")",
						 t->name[0] ? t->name : "-", t->tid);
					list_add(list, sizeof(list), &len, one);
				}
			snprintf(err, errlen, "--thread %s%s%s matches no thread; the threads are: %s",
				 f->nnames ? "'" : "", f->nnames ? f->names[0] : "",
				 f->nnames ? "'" : "", len ? list : "none");
			return -1;
		}
	}
	if (f->from_ns) {
		uint64_t longest = 0;
		char d[CT_DUR_BUF], e[CT_DUR_BUF];

		for (size_t k = 0; k < n; k++) {
			uint64_t end = ct_model_duration(ms[k]);

			/* several traces: one timeline from the first one's start */
			if (f->origin_ts && ms[k]->hdr.start_mono_ns > f->origin_ts)
				end += ms[k]->hdr.start_mono_ns - f->origin_ts;
			if (end > longest)
				longest = end;
		}
		if (f->from_ns >= longest) {
			snprintf(err, errlen, "--from %s is past the end of the trace%s (%s long)",
				 ct_fmt_duration(f->from_ns, d), n > 1 ? "s" : "",
				 ct_fmt_duration(longest, e));
			return -1;
		}
	}
	if (f->kinds) {
		uint64_t seen = 0;

		for (size_t k = 0; k < n; k++) {
			for (size_t i = 0; i < as[k]->nentries; i++)
				seen |= 1ull << (as[k]->entries[i].kind & 63);
			for (size_t i = 0; i < as[k]->nobjs; i++)
				seen |= 1ull << (as[k]->objs[i].kind & 63);
		}
		if (seen & f->kinds)
			return 0;
		/* what there is: the traces again, without the kinds */
		for (size_t k = 0; k < n; k++) {
			struct ct_filter all = *f;
			struct ct_model *m;
			struct ct_analysis *a;
			char e2[256];

			all.kinds = 0;
			if (ct_analyze_file(paths[k], &all, NULL, 1, &m, &a, e2, sizeof(e2)) < 0)
				continue;
			for (size_t i = 0; i < a->nentries; i++)
				seen |= 1ull << (a->entries[i].kind & 63);
			ct_analysis_free(a);
			ct_model_free(m);
		}
		for (unsigned k = 1; k < CT_K_MAX && k < 64; k++)
			if ((seen >> k) & 1)
				list_add(list, sizeof(list), &len, ct_kind_name(k));
		snprintf(err, errlen, "%s matches no wait or call; the kinds recorded%s are: %s",
			 fa->kind_text, f->ntids || f->nnames ||
			 f->from_ns || f->to_ns != UINT64_MAX ? " (in the threads and window "
			 "chosen)" : "", len ? list : "none");
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

/* --hide: the patterns so far, as one alternation, compiled for frames.c. */
static regex_t hide_re;
static char *hide_all;

static void hide_free(void)
{
	if (hide_all)
		regfree(&hide_re);
	free(hide_all);
	hide_all = NULL;
}

static int hide_parse(const char *val, char *err, size_t errlen)
{
	regex_t one;
	char *all;
	int e;

	if ((e = regcomp(&one, val, REG_EXTENDED | REG_NOSUB)) != 0) {
		char why[128];

		regerror(e, &one, why, sizeof(why));
		snprintf(err, errlen, "--hide: '%s' is not a regular expression (%s)", val, why);
		return -1;
	}
	regfree(&one);
	all = ct_xmalloc((hide_all ? strlen(hide_all) : 0) + strlen(val) + 4);
	sprintf(all, "%s%s(%s)", hide_all ? hide_all : "", hide_all ? "|" : "", val);
	if (hide_all) {
		regfree(&hide_re);
		free(hide_all);
	} else {
		atexit(hide_free);
	}
	hide_all = all;
	if (regcomp(&hide_re, hide_all, REG_EXTENDED | REG_NOSUB) != 0) {
		free(hide_all);
		hide_all = NULL;
		snprintf(err, errlen, "--hide: the patterns do not combine");
		return -1;
	}
	ct_frames_set_hide(&hide_re);
	return 0;
}

int ct_opts_set_shared(struct ct_filter_args *fa, struct ct_convoy_params *cp,
		       const struct ct_opt *o, const char *opt, const char *val, char *err,
		       size_t errlen)
{
	if (o->key == CT_OPT_STRICT) {
		ct_model_set_strict(1);
		return 0;
	}
	if (o->key == CT_OPT_HIDE)
		return hide_parse(val, err, errlen);
	if (o->key >= CT_OPT_FROM && o->key <= CT_OPT_LABEL && fa)
		return ct_filter_parse(fa, opt, val, err, errlen) < 0 ? -1 : 0;
	if (o->key >= CT_OPT_CONVOY_WINDOW && o->key <= CT_OPT_CONVOY_WAIT_HOLD && cp)
		return ct_convoy_parse(cp, opt, val, err, errlen) < 0 ? -1 : 0;
	snprintf(err, errlen, "%s is not a filter or convoy option", opt);
	return -1;
}

/* ---- the parser and the help ------------------------------------------------------- */

/* The row of key in c's tables, or NULL. */
static const struct ct_opt *row_of(const struct ct_cmd_opts *c, int key)
{
	for (size_t t = 0; t < c->ntables; t++)
		for (size_t i = 0; i < c->tables[t].n; i++)
			if (c->tables[t].opts[i].name && c->tables[t].opts[i].key == key)
				return &c->tables[t].opts[i];
	return NULL;
}

/* a is "--name" or "--name=..." exactly (getopt_long also takes unique abbreviations,
 * which ctrace does not: a later option would make them ambiguous). */
static int full_name(const char *a, const char *name)
{
	size_t n = strlen(name);

	return a[0] == '-' && a[1] == '-' && !strncmp(a + 2, name, n) &&
	       (a[2 + n] == 0 || a[2 + n] == '=');
}

int ct_opts_parse(const struct ct_cmd_opts *c, int argc, char **argv, ct_opt_fn set, void *st,
		  const char **operands, size_t *nops, char *err, size_t errlen)
{
	struct option *lo;
	char shorts[64];
	size_t n = 0, ns = 0;
	int rc = 0;

	for (size_t t = 0; t < c->ntables; t++)
		n += c->tables[t].n;
	lo = ct_xcalloc(n + 2, sizeof(*lo));
	n = 0;
	/* "+": stop at the first operand; "-": operands in order, among the options (neither
	 * permutes argv, and both hold whatever POSIXLY_CORRECT says); ":": a missing value
	 * is reported as ':' */
	shorts[ns++] = c->stop_at_operand ? '+' : '-';
	shorts[ns++] = ':';
	shorts[ns++] = 'h';
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (size_t t = 0; t < c->ntables; t++) {
		for (size_t i = 0; i < c->tables[t].n; i++) {
			const struct ct_opt *o = &c->tables[t].opts[i];

			if (!o->name)
				continue;
			lo[n++] = (struct option){ o->name, o->has_arg ? required_argument :
					no_argument, NULL, o->key };
			if (o->key < 256 && ns + 3 < sizeof(shorts)) {
				shorts[ns++] = (char)o->key;
				if (o->has_arg)
					shorts[ns++] = ':';
			}
		}
	}
	shorts[ns] = 0;
	*nops = 0;
	optind = 0; /* glibc: start afresh (the parser may run more than once) */
	opterr = 0;
	for (;;) {
		int li = -1, k = getopt_long(argc, argv, shorts, lo, &li);
		const char *text, *val = NULL;
		const struct ct_opt *o;
		char opt[48];

		if (k == -1)
			break;
		if (k == 1) { /* an operand */
			operands[(*nops)++] = optarg;
			continue;
		}
		/* the element the option came from: a separate value is the one before */
		text = optarg && optind >= 2 && optarg == argv[optind - 1] ? argv[optind - 2] :
		       argv[optind - 1];
		if (k == '?' || k == ':' || (li >= 0 && !full_name(text, lo[li].name))) {
			char unknown[8];

			if (k != '?' && k != ':') {
				/* an abbreviation: as unknown as any other name */
			} else if (optopt && optopt < 256 && strncmp(text, "--", 2)) {
				/* a short one: its element as written ("-xyz" stops at x
				 * without moving on), else the letter */
				if (optind < argc && argv[optind][0] == '-' &&
				    argv[optind][1] == optopt) {
					text = argv[optind];
				} else if (argv[optind - 1][0] != '-' ||
					   argv[optind - 1][1] != optopt) {
					snprintf(unknown, sizeof(unknown), "-%c", optopt);
					text = unknown;
				}
			}
			o = k == ':' ? row_of(c, optopt) : NULL;
			if (o && !strncmp(text, "--", 2) && !full_name(text, o->name))
				o = NULL; /* an abbreviation without its value */
			if (o) {
				snprintf(err, errlen, "%.*s needs %s", (int)strcspn(text, "="), text,
					 o->missing ? o->missing : "a value");
			} else {
				snprintf(err, errlen, "unknown option '%s' (see 'ctrace %s --help')",
					 text, c->cmd);
			}
			rc = -1;
			break;
		}
		if (k == 'h') {
			rc = 1;
			break;
		}
		o = row_of(c, k);
		if (li >= 0)
			snprintf(opt, sizeof(opt), "--%s", lo[li].name);
		else
			snprintf(opt, sizeof(opt), "-%c", k);
		if (o && o->has_arg)
			val = optarg;
		if (!o) { /* a key no row has: the table is wrong */
			snprintf(err, errlen, "%s: no such option in the table", opt);
			rc = -1;
			break;
		}
		if (set(st, o, opt, val, err, errlen) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		for (int i = optind; i < argc; i++)
			operands[(*nops)++] = argv[i];
	free(lo);
	return rc;
}

/* One listed row: "  LABEL  help", LABEL padded to width; continuation lines indented. */
static void help_row(FILE *f, const struct ct_opt *o, int width)
{
	char label[96];
	const char *h = o->help;

	if (o->label)
		snprintf(label, sizeof(label), "%s", o->label);
	else if (o->key < 256) /* a short option: "-o FILE" */
		snprintf(label, sizeof(label), "-%c%s%s", o->key, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(label, sizeof(label), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	fprintf(f, "  %-*s  ", width, label);
	for (;;) {
		size_t n = strcspn(h, "\n");

		fprintf(f, "%.*s\n", (int)n, h);
		if (!h[n])
			break;
		h += n + 1;
		fprintf(f, "%*s", width + 4, "");
	}
}

void ct_opts_help(const struct ct_cmd_opts *c, FILE *f)
{
	fputs(c->usage, f);
	for (size_t t = 0; t < c->ntables; t++) {
		const struct ct_opt_table *tab = &c->tables[t];

		if (tab->title)
			fprintf(f, "\n%s\n", tab->title);
		for (size_t i = 0; i < tab->n; i++) {
			const struct ct_opt *o = &tab->opts[i];

			if (!o->help)
				continue;
			if (!o->name && !o->label)
				fputs(o->help, f);
			else
				help_row(f, o, tab->width);
		}
	}
	if (c->epilogue)
		fputs(c->epilogue, f);
}
