/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format FMT [-o FILE] [--profile P[,P...]] [FILTERS] FILE...`: loads and
 * analyses each trace (the filters and convoy options of options.h apply), then writes
 * them in one format of the table below through its exporter (export.h). The output is
 * never an existing file unless --force; its default name is the first input's with the
 * format's extension. Called from ctrace.c.
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "util.h"

#define WAITERS ((1u << CT_AP_SYNC) | (1u << CT_AP_NET) | (1u << CT_AP_SYSCALL) | \
		 (1u << CT_AP_SLEEP))
#define ALL_AP (WAITERS | (1u << CT_AP_HOLDER) | (1u << CT_AP_WAKEUP))

static const struct ct_export_format formats[] = {
	{ "pprof", ".pb.gz", 1, 1u << CT_AP_SYNC, ALL_AP, ct_export_pprof,
	  "gzipped profile.proto (go tool pprof, Pyroscope, Parca)" },
	{ "folded", ".folded", 0, 1u << CT_AP_SYNC, ALL_AP | (1u << CT_EXPORT_WAKECHAIN),
	  ct_export_folded, "collapsed stacks (flamegraph.pl, speedscope)" },
	{ "chrome", ".json", 0, WAITERS, WAITERS, ct_export_chrome,
	  "Trace Event Format JSON (chrome://tracing, ui.perfetto.dev)" },
	{ "perfetto", ".perfetto-trace", 1, WAITERS, WAITERS, ct_export_perfetto,
	  "Perfetto protobuf trace of TrackEvents (ui.perfetto.dev)" },
	{ "html", ".html", 0, ALL_AP, ALL_AP, ct_export_html,
	  "one self-contained HTML report (flame graphs, timelines, tables)" },
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

const struct ct_export_format *ct_export_formats(size_t *n)
{
	*n = NFORMATS;
	return formats;
}

static void usage(FILE *f)
{
	fputs("usage: ctrace export --format FORMAT [-o FILE] [--force] [--profile P[,P...]]\n"
	      "                     [--value ns|count] [--folded-roots] [--labels default|all]\n"
	      "                     [--split SIZE] [--from D] [--to D] [--thread NAME|TID]\n"
	      "                     [--convoy-* VALUE] FILE...\n\n"
	      "Writes the traces (several: the processes of one program) for other tools.\n\n"
	      "formats:\n", f);
	for (size_t i = 0; i < NFORMATS; i++)
		fprintf(f, "  %-9s %-16s %s\n", formats[i].name, formats[i].ext, formats[i].summary);
	fputs("\n  -o FILE         output file (default: the first FILE with the format's\n"
	      "                  extension; '-' standard output, text formats only)\n"
	      "  --force         overwrite an existing output file\n"
	      "  --profile P     profiles: sync net syscall sleep holder wakeup, and for folded\n"
	      "                  wakechain (waiter stack, '--', releaser stack). Defaults:\n"
	      "                  pprof and folded sync; chrome and perfetto the waiter\n"
	      "                  profiles sync,net,syscall,sleep; html all\n"
	      "  --value V       folded: ns (wait time, default) or count (waits)\n"
	      "  --folded-roots  folded: the thread name and the wait kind as root frames\n"
	      "  --labels all    pprof: also the numeric labels pid (always with several\n"
	      "                  FILEs) and fd class\n"
	      "  --split SIZE    chrome: a new file (FILE.1.json, ...) every SIZE of output,\n"
	      "                  at a time boundary (e.g. 100MB)\n", f);
	fputs(ct_filter_help, f);
	fputc('\n', f);
	fputs(ct_convoy_help, f);
}

/* "100MB", "1GB", "512kB", or bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	if (!strcasecmp(end, "kb") || !strcasecmp(end, "k"))
		mul = 1000;
	else if (!strcasecmp(end, "mb") || !strcasecmp(end, "m"))
		mul = 1000 * 1000;
	else if (!strcasecmp(end, "gb") || !strcasecmp(end, "g"))
		mul = 1000 * 1000 * 1000;
	else if (*end && strcasecmp(end, "b"))
		return -1;
	if (v == 0 || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int profile_bit(const char *name)
{
	if (!strcmp(name, "wakechain"))
		return CT_EXPORT_WAKECHAIN;
	return ct_aprofile_from_name(name);
}

static void parse_profiles(const char *list, unsigned *mask)
{
	char *copy = ct_xstrdup(list), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int p = profile_bit(t);

		if (p < 1)
			ct_die(CT_EXIT_USAGE, "export: unknown profile '%s' (sync net syscall sleep "
			       "holder wakeup wakechain)", t);
		*mask |= 1u << p;
	}
	free(copy);
	if (!*mask)
		ct_die(CT_EXIT_USAGE, "export: --profile needs a name");
}

FILE *ct_export_open(const char *path, int force)
{
	int fd;
	FILE *f;

	if (!strcmp(path, "-"))
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			ct_err("export: %s exists (--force overwrites it)", path);
		else
			ct_err("export: %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		ct_err("export: %s: %s", path, strerror(errno));
		return NULL;
	}
	return f;
}

int ct_export_close(FILE *f, const char *path)
{
	int bad = ferror(f) != 0;

	if (f == stdout)
		bad |= fflush(f) != 0;
	else
		bad |= fclose(f) != 0;
	if (bad)
		ct_err("export: %s: write error", path);
	return bad ? -1 : 0;
}

/* The default output: the input's name less ".ctr", plus ext. */
static char *default_out(const char *in, const char *ext)
{
	size_t n = strlen(in);
	char *s;

	if (n > 4 && !strcmp(in + n - 4, ".ctr"))
		n -= 4;
	s = ct_xmalloc(n + strlen(ext) + 1);
	memcpy(s, in, n);
	strcpy(s + n, ext);
	return s;
}

size_t ct_export_entry_frames(const struct ct_export_input *in, const struct ct_pentry *e,
			      const struct ct_frame **f)
{
	if (e->remainder)
		return ct_frames_pc(in->fr, e->site, f);
	return ct_frames_stack(in->fr, e->stack, f, NULL);
}

const char *ct_export_thread_name(const struct ct_export_input *in, uint32_t thr)
{
	return thr < in->m->nthreads ? in->m->threads[thr].name : "";
}

const char *ct_export_warnings(const struct ct_export_input *in, char *buf, size_t cap)
{
	const struct ct_model *m = in->m;
	size_t n = 0;

	buf[0] = 0;
	if (m->truncated) {
		char t[256];

		n += (size_t)snprintf(buf + n, cap - n, "%s: %s. ", ct_basename(in->path),
				      ct_model_truncation(m, t, sizeof(t)));
	}
	if (m->lost_total && n < cap) {
		n += (size_t)snprintf(buf + n, cap - n, "%s: %" PRIu64 " events lost (", ct_basename(in->path),
				      m->lost_total);
		for (int k = 0, first = 1; k < CT_L_MAX && n < cap; k++) {
			if (!m->lost[k])
				continue;
			n += (size_t)snprintf(buf + n, cap - n, "%s%s %" PRIu64, first ? "" : ", ",
					      ct_lost_name((unsigned)k), m->lost[k]);
			first = 0;
		}
		if (n < cap)
			n += (size_t)snprintf(buf + n, cap - n, "). ");
	}
	if (in->a->unfinished && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "%s: %" PRIu64 " wait(s) in progress at "
				      "the end, counted up to it. ", ct_basename(in->path),
				      in->a->unfinished);
	if (n >= cap)
		n = cap - 1;
	while (n && buf[n - 1] == ' ')
		buf[--n] = 0;
	return buf;
}

const char *ct_export_site(const struct ct_export_input *in, uint32_t stack, char *buf,
			   size_t cap)
{
	const struct ct_frame *f;
	size_t n = ct_frames_stack(in->fr, stack, &f, NULL);

	if (!n)
		snprintf(buf, cap, "-");
	else if (f[0].file)
		snprintf(buf, cap, "%s (%s:%d)", f[0].func, ct_basename(f[0].file), f[0].line);
	else
		snprintf(buf, cap, "%s", f[0].func);
	return buf;
}

#define SITE_SLOTS 4096
struct ct_site_cache {
	struct { const struct ct_export_input *in; uint32_t stack; char s[256]; } slot[SITE_SLOTS];
};

const char *ct_export_site_cached(struct ct_site_cache **cache,
				  const struct ct_export_input *in, uint32_t stack)
{
	size_t j = (stack * 2654435761u) % SITE_SLOTS;

	if (!*cache)
		*cache = ct_xcalloc(1, sizeof(**cache));
	if ((*cache)->slot[j].in != in || (*cache)->slot[j].stack != stack) {
		(*cache)->slot[j].in = in;
		(*cache)->slot[j].stack = stack;
		ct_export_site(in, stack, (*cache)->slot[j].s, sizeof((*cache)->slot[j].s));
	}
	return (*cache)->slot[j].s;
}

void ct_export_site_cache_free(struct ct_site_cache *cache)
{
	free(cache);
}

int ct_cmd_export(int argc, char **argv)
{
	static const char *const valued[] = { "--format", "--profile", "--value", "--labels",
					      "--split" };
	const struct ct_export_format *fmt = NULL;
	struct ct_export_opts o = { 0 };
	struct ct_filter_args fa;
	struct ct_convoy_params cp;
	const char **files = ct_xcalloc((size_t)argc, sizeof(*files));
	size_t nfiles = 0;
	const char *out = NULL;
	char *out_owned = NULL;
	int rest = 0, rc = CT_EXIT_OK;
	char err[512];

	ct_filter_args_init(&fa);
	ct_convoy_params_default(&cp);
	for (int i = 1; i < argc; i++) {
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
		if (!rest && !strcmp(a, "--force")) {
			o.force = 1;
			continue;
		}
		if (!rest && !strcmp(a, "--folded-roots")) {
			o.folded_roots = 1;
			continue;
		}
		if (!rest && !strcmp(a, "-o")) {
			if (i + 1 >= argc)
				ct_die(CT_EXIT_USAGE, "export: -o needs a file");
			out = argv[++i];
			continue;
		}
		if (!rest && a[0] == '-' && a[1] == '-') {
			eq = strchr(a, '=');
			snprintf(opt, sizeof(opt), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
			for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
				known |= !strcmp(opt, valued[k]);
			known |= ct_shared_option(opt) || !strcmp(opt, "--output");
			if (known) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					ct_die(CT_EXIT_USAGE, "export: %s needs a value", opt);
			}
		}
		if (val && !strcmp(opt, "--format")) {
			fmt = NULL;
			for (size_t k = 0; k < NFORMATS; k++)
				if (!strcmp(formats[k].name, val))
					fmt = &formats[k];
			if (!fmt)
				ct_die(CT_EXIT_USAGE, "export: unknown format '%s' (pprof folded chrome "
				       "perfetto html)", val);
			continue;
		}
		if (val && !strcmp(opt, "--output")) {
			out = val;
			continue;
		}
		if (val && !strcmp(opt, "--profile")) {
			parse_profiles(val, &o.profiles);
			continue;
		}
		if (val && !strcmp(opt, "--value")) {
			if (strcmp(val, "ns") && strcmp(val, "count"))
				ct_die(CT_EXIT_USAGE, "export: --value is ns or count, not '%s'", val);
			o.value_count = !strcmp(val, "count");
			continue;
		}
		if (val && !strcmp(opt, "--labels")) {
			if (strcmp(val, "default") && strcmp(val, "all"))
				ct_die(CT_EXIT_USAGE, "export: --labels is default or all, not '%s'", val);
			o.labels_all = !strcmp(val, "all");
			continue;
		}
		if (val && !strcmp(opt, "--split")) {
			if (parse_size(val, &o.split_bytes) < 0)
				ct_die(CT_EXIT_USAGE, "export: --split wants a size such as 100MB, not "
				       "'%s'", val);
			continue;
		}
		if (val) {
			if (ct_filter_parse(&fa, opt, val, err, sizeof(err)) < 0 ||
			    ct_convoy_parse(&cp, opt, val, err, sizeof(err)) < 0)
				ct_die(CT_EXIT_USAGE, "export: %s", err);
			continue;
		}
		if (!rest && a[0] == '-' && a[1])
			ct_die(CT_EXIT_USAGE, "export: unknown option '%s' (see 'ctrace export --help')",
			       a);
		files[nfiles++] = a;
	}
	if (!fmt)
		ct_die(CT_EXIT_USAGE, "export: --format is required (pprof folded chrome perfetto "
		       "html)");
	if (!nfiles)
		ct_die(CT_EXIT_USAGE, "export: no FILE given (see 'ctrace export --help')");
	if (!o.profiles)
		o.profiles = fmt->def_profiles;
	if (o.profiles & ~fmt->ok_profiles) {
		for (int p = 1; p <= CT_EXPORT_WAKECHAIN; p++)
			if ((o.profiles & ~fmt->ok_profiles) & (1u << p))
				ct_die(CT_EXIT_USAGE, "export: format %s has no profile '%s'", fmt->name,
				       p == CT_EXPORT_WAKECHAIN ? "wakechain" : ct_aprofile_name(p));
	}
	if ((o.profiles & (1u << CT_EXPORT_WAKECHAIN)) && o.profiles != (1u << CT_EXPORT_WAKECHAIN))
		ct_die(CT_EXIT_USAGE, "export: --profile wakechain goes alone");
	if (o.split_bytes && strcmp(fmt->name, "chrome"))
		ct_die(CT_EXIT_USAGE, "export: --split is for --format chrome");
	if (!out)
		out = out_owned = default_out(files[0], fmt->ext);
	if (!strcmp(out, "-") && (fmt->binary || o.split_bytes))
		ct_die(CT_EXIT_USAGE, "export: %s output goes to a file, not standard output",
		       o.split_bytes ? "split" : fmt->name);
	if (strcmp(out, "-") && !o.force && access(out, F_OK) == 0)
		ct_die(CT_EXIT_USAGE, "export: %s exists (--force overwrites it)", out);
	o.out = out;

	struct ct_export_input *in = ct_xcalloc(nfiles, sizeof(*in));

	for (size_t k = 0; k < nfiles; k++) {
		in[k].path = files[k];
		if (ct_model_load(files[k], &in[k].m, err, sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "%s: %s", files[k], err);
		if (in[k].m->truncated) {
			char t[256];

			fprintf(stderr, "warning: %s: %s\n", files[k],
				ct_model_truncation(in[k].m, t, sizeof(t)));
		}
		in[k].a = ct_analyze_with(in[k].m, &fa.f, &cp);
		in[k].fr = ct_frames_new(in[k].m);
	}

	struct ct_export_ctx c = { in, nfiles, &o };
	FILE *f = ct_export_open(out, o.force);

	if (!f) {
		rc = CT_EXIT_USAGE;
	} else {
		int r = fmt->fn(&c, f);

		if (ct_export_close(f, out) < 0 || r < 0) {
			rc = CT_EXIT_USAGE;
			if (strcmp(out, "-"))
				unlink(out);
		} else if (strcmp(out, "-")) {
			fprintf(stderr, "ctrace: wrote %s\n", out);
		}
	}
	for (size_t k = 0; k < nfiles; k++) {
		ct_frames_free(in[k].fr);
		ct_analysis_free(in[k].a);
		ct_model_free(in[k].m);
	}
	free(in);
	free(out_owned);
	free(files);
	ct_filter_args_free(&fa);
	return rc;
}
