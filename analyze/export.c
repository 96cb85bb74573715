/* SPDX-License-Identifier: MIT */
/*
 * `ctrace export --format FMT [-o FILE] [--profile P[,P...]] [FILTERS] FILE...`: loads and
 * analyses each trace (the filters and convoy options of options.h apply), then writes
 * them in one format: a row of the output table (output.h) whose input is CT_OUT_EXPORT.
 * The output is never an existing file unless --force; its default name is the first
 * input's with the format's extension. Called from ctrace.c.
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

/* The rows of the output table (output.h) that export writes. */
static int is_export(const struct ct_output *r)
{
	return r->input == CT_OUT_EXPORT;
}

/* The export format named name, or NULL. */
static const struct ct_output *export_format(const char *name)
{
	const struct ct_output *r = ct_output_find(name);

	return r && is_export(r) ? r : NULL;
}

/* Their names, "pprof folded ..." (built once). */
static const char *format_names(void)
{
	static char buf[256];

	if (buf[0])
		return buf;
	for (size_t k = 0, n = 0; k < ct_noutputs && n < sizeof(buf) - 1; k++)
		if (is_export(&ct_outputs[k]))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "",
					      ct_outputs[k].name);
	return buf;
}

enum { OPT_FORMAT = CT_OPT_CMD, OPT_OUT, OPT_FORCE, OPT_PROFILE, OPT_VALUE, OPT_ROOTS,
       OPT_LABELS, OPT_SPLIT };

static const struct ct_opt export_opts[] = {
	{ "format", OPT_FORMAT, 1, "FORMAT", "one of the formats above", NULL, "a FORMAT" },
	{ "output", 'o', 1, "FILE", "output file (default: the first FILE with the format's\n"
	  "extension; '-' standard output, text formats only)", "-o FILE", "a file" },
	{ "force", OPT_FORCE, 0, NULL, "overwrite an existing output file", NULL, NULL },
	{ "profile", OPT_PROFILE, 1, "P", "profiles: sync net syscall sleep holder wakeup, and for "
	  "folded\nwakechain (waiter stack, '--', releaser stack). Defaults:\npprof and folded "
	  "sync; chrome and perfetto the waiter\nprofiles sync,net,syscall,sleep; html all",
	  NULL, NULL },
	{ "value", OPT_VALUE, 1, "V", "folded: ns (wait time, default) or count (waits)", NULL,
	  NULL },
	{ "folded-roots", OPT_ROOTS, 0, NULL, "folded: the thread name and the wait kind as root "
	  "frames", NULL, NULL },
	{ "labels", OPT_LABELS, 1, "all", "pprof: also the numeric labels tid, object and pid\n"
	  "(pid always with several FILEs)", "--labels all", NULL },
	{ "split", OPT_SPLIT, 1, "SIZE", "chrome: a new file (FILE.1.json, ...) every SIZE of "
	  "output,\nat a time boundary (e.g. 100MB)", NULL, NULL },
};

static const struct ct_opt_table export_tables[] = {
	{ NULL, 16, export_opts, CT_OPTS_N(export_opts) },
	{ NULL, 16, ct_filter_opts, CT_NFILTER_OPTS },
	{ CT_CONVOY_TITLE, 22, ct_convoy_opts, CT_NCONVOY_OPTS },
};

/* The usage text with the formats of the table (built once, then constant). */
static const char *usage_text(void)
{
	static char buf[2048];
	size_t n;

	if (buf[0])
		return buf;
	n = (size_t)snprintf(buf, sizeof(buf),
		"usage: ctrace export --format FORMAT [-o FILE] [--force] [--profile P[,P...]]\n"
		"                     [--value ns|count] [--folded-roots] [--labels default|all]\n"
		"                     [--split SIZE] [--from FROM] [--to TO] [--thread NAME|TID]\n"
		"                     [--convoy-* VALUE] FILE...\n\n"
		"Writes the traces (several: the processes of one program) for other tools.\n\n"
		"formats:\n");
	for (size_t i = 0; i < ct_noutputs && n < sizeof(buf); i++) {
		char ext[32];

		if (!is_export(&ct_outputs[i]))
			continue;
		snprintf(ext, sizeof(ext), ".%s", ct_outputs[i].ext);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "  %-9s %-16s %s\n",
				      ct_outputs[i].name, ext, ct_outputs[i].summary);
	}
	if (n < sizeof(buf) - 1)
		strcat(buf, "\n");
	return buf;
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

/* Adds the comma-separated profile names of list to *mask; -1 with a message in err. */
static int parse_profiles(const char *list, unsigned *mask, char *err, size_t errlen)
{
	char *copy = ct_xstrdup(list), *save = NULL;
	int rc = 0;

	for (char *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
		int p = profile_bit(t);

		if (p < 1) {
			snprintf(err, errlen, "unknown profile '%s' (sync net syscall sleep holder "
				 "wakeup wakechain)", t);
			rc = -1;
		} else {
			*mask |= 1u << p;
		}
	}
	free(copy);
	if (!rc && !*mask) {
		snprintf(err, errlen, "--profile needs a name");
		rc = -1;
	}
	return rc;
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

/* The output being written: removed when the command exits before it is complete (a
 * writer that dies: out of memory, a trace that cannot be read again). */
static const char *partial_out;

static void remove_partial(void)
{
	if (partial_out)
		unlink(partial_out);
}

/* The default output: the input's name less ".ctr", plus "." and ext. */
static char *default_out(const char *in, const char *ext)
{
	size_t n = strlen(in);
	char *s;

	if (n > 4 && !strcmp(in + n - 4, ".ctr"))
		n -= 4;
	s = ct_xmalloc(n + strlen(ext) + 2);
	memcpy(s, in, n);
	s[n] = '.';
	strcpy(s + n + 1, ext);
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
	else
		ct_frame_str(&f[0], 0, buf, cap);
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

struct args {
	const struct ct_output *fmt;
	struct ct_export_opts *o;
	const char *out;
	struct ct_filter_args *fa;
	struct ct_convoy_params *cp;
};

static int set(void *st, const struct ct_opt *row, const char *opt, const char *val, char *err,
	       size_t errlen)
{
	struct args *x = st;

	switch (row->key) {
	case OPT_FORMAT:
		if (!(x->fmt = export_format(val))) {
			snprintf(err, errlen, "unknown format '%s' (%s)", val, format_names());
			return -1;
		}
		return 0;
	case 'o':
		x->out = val;
		return 0;
	case OPT_FORCE:
		x->o->force = 1;
		return 0;
	case OPT_ROOTS:
		x->o->folded_roots = 1;
		return 0;
	case OPT_PROFILE:
		return parse_profiles(val, &x->o->profiles, err, errlen);
	case OPT_VALUE:
		if (strcmp(val, "ns") && strcmp(val, "count")) {
			snprintf(err, errlen, "--value is ns or count, not '%s'", val);
			return -1;
		}
		x->o->value_count = !strcmp(val, "count");
		return 0;
	case OPT_LABELS:
		if (strcmp(val, "default") && strcmp(val, "all")) {
			snprintf(err, errlen, "--labels is default or all, not '%s'", val);
			return -1;
		}
		x->o->labels_all = !strcmp(val, "all");
		return 0;
	case OPT_SPLIT:
		if (parse_size(val, &x->o->split_bytes) < 0) {
			snprintf(err, errlen, "--split wants a size such as 100MB, not '%s'", val);
			return -1;
		}
		return 0;
	default:
		return ct_opts_set_shared(x->fa, x->cp, row, opt, val, err, errlen);
	}
}

int ct_cmd_export(int argc, char **argv)
{
	const struct ct_output *fmt;
	struct ct_export_opts o = { 0 };
	struct ct_filter_args fa;
	struct ct_convoy_params cp;
	const char **files = ct_xcalloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	const char *out;
	char *out_owned = NULL;
	int rc = CT_EXIT_OK;
	char err[512];
	struct args x = { NULL, &o, NULL, &fa, &cp };
	const struct ct_cmd_opts export_cmd = { "export", usage_text(), export_tables,
						CT_OPTS_N(export_tables), NULL, 0 };

	ct_filter_args_init(&fa);
	ct_convoy_params_default(&cp);
	rc = ct_opts_parse(&export_cmd, argc, argv, set, &x, files, &nfiles, err, sizeof(err));
	if (rc > 0) {
		ct_opts_help(&export_cmd, stdout);
		exit(CT_EXIT_OK);
	}
	if (rc < 0)
		ct_die(CT_EXIT_USAGE, "export: %s", err);
	rc = CT_EXIT_OK;
	fmt = x.fmt;
	out = x.out;
	if (!fmt)
		ct_die(CT_EXIT_USAGE, "export: --format is required (%s)", format_names());
	if (!nfiles)
		ct_die(CT_EXIT_USAGE, "export: no FILE given (see 'ctrace export --help')");
	fa.f.origin_ts = ct_traces_order(files, nfiles);
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
	if (o.folded_roots && strcmp(fmt->name, "folded"))
		ct_die(CT_EXIT_USAGE, "export: --folded-roots is for --format folded");
	if (!out)
		out = out_owned = default_out(files[0], fmt->ext);
	if (!strcmp(out, "-") && (fmt->binary || o.split_bytes))
		ct_die(CT_EXIT_USAGE, "export: %s output goes to a file, not standard output",
		       o.split_bytes ? "split" : fmt->name);
	if (strcmp(out, "-") && !o.force && access(out, F_OK) == 0)
		ct_die(CT_EXIT_USAGE, "export: %s exists (--force overwrites it)", out);
	o.out = out;
	/* the keys the entries are split by: the format's, objects for --labels all, threads
	 * for --folded-roots */
	fa.f.entry_keys = fmt->entry_keys;
	if (fmt->entry_keys && o.labels_all)
		fa.f.entry_keys |= CT_EKEY_OBJECT;
	if (o.folded_roots)
		fa.f.entry_keys |= CT_EKEY_THREAD;

	struct ct_export_input *in = ct_xcalloc(nfiles, sizeof(*in));

	/* every trace is streamed, as report does: memory bounded by what the trace contains,
	 * not by its events; a format that walks the events (timelines) keeps the
	 * annotations in the model, and streams the file again for the waits
	 * (timeline.h) */
	struct ct_file_opts fo = { .threads = 2, .annotations = fmt->events };

	for (size_t k = 0; k < nfiles; k++) {
		in[k].path = files[k];
		if (ct_analyze_file_with(files[k], &fa.f, &cp, &fo, &in[k].m, &in[k].a, err,
					 sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "%s: %s", files[k], err);
		if (in[k].m->truncated) {
			char t[256];

			fprintf(stderr, "warning: %s: %s\n", files[k],
				ct_model_truncation(in[k].m, t, sizeof(t)));
		}
		in[k].fr = ct_frames_new(in[k].m);
	}

	{
		struct ct_model **ms = ct_xcalloc(nfiles, sizeof(*ms));
		struct ct_analysis **as = ct_xcalloc(nfiles, sizeof(*as));
		int bad;

		for (size_t k = 0; k < nfiles; k++) {
			ms[k] = in[k].m;
			as[k] = in[k].a;
		}
		bad = ct_filter_verify(&fa, files, ms, as, nfiles, err, sizeof(err));
		free(ms);
		free(as);
		if (bad < 0)
			ct_die(CT_EXIT_USAGE, "export: %s", err);
	}
	struct ct_output_ctx c = { .in = in, .nin = nfiles, .xo = &o };
	FILE *f = ct_export_open(out, o.force);

	if (!f) {
		rc = CT_EXIT_USAGE;
	} else {
		int r;

		if (strcmp(out, "-")) {
			partial_out = out;
			atexit(remove_partial);
		}
		r = fmt->write(&c, f);
		partial_out = NULL;
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
