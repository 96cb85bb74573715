/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of `ctrace check` and `ctrace diff` (analyze/check.c, analyze/diff.c): rule
 * and duration parsing, the option splitter of `record --check`, JUnit XML escaping, the
 * diff keys (symbolized frames, not addresses) and matching, the option tables of
 * options.h (getopt_long over them, --help from them), and both commands end to end on
 * synthetic traces written with format/writer.h (their stdout captured in a file).
 * Run by `make unit` (tests/run-unit.sh).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../analyze/analysis.h"
#include "../../analyze/commands.h"
#include "../../analyze/model.h"
#include "../../analyze/options.h"
#include "../../analyze/util.h"
#include "../../format/events.h"
#include "../../format/writer.h"
#include "tracegen.h"
#include "../../unwind/symbolize.h"

#define M1 0x5000ull

/* ---- rules ------------------------------------------------------------------------- */

static void test_rules(void)
{
	struct ct_check_opts o = { 0 };
	char err[256];

	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync:100us", err, sizeof(err)), 0);
	TEST_EQ(o.nrules, 1);
	TEST_EQ(o.rules[0].type, CT_RULE_MAX_WAIT);
	TEST_EQ(o.rules[0].profile, CT_AP_SYNC);
	TEST_EQ(o.rules[0].limit, 100 * US);
	TEST_STREQ(o.rules[0].text, "max-wait sync:100us");
	TEST_EQ(ct_check_parse_rule(&o, "--max-p99", "any:1.5ms", err, sizeof(err)), 0);
	TEST_EQ(o.rules[1].type, CT_RULE_MAX_P99);
	TEST_EQ(o.rules[1].profile, CT_RULE_ANY);
	TEST_EQ(o.rules[1].limit, 1500 * US);
	TEST_EQ(ct_check_parse_rule(&o, "--max-total", "holder:2s", err, sizeof(err)), 0);
	TEST_EQ(o.rules[2].profile, CT_AP_HOLDER);
	TEST_EQ(o.rules[2].limit, 2000 * MS);
	TEST_EQ(ct_check_parse_rule(&o, "--max-total", "wakeup:0", err, sizeof(err)), 0);
	TEST_EQ(o.rules[3].limit, 0);
	TEST_EQ(ct_check_parse_rule(&o, "--max-lost", "12", err, sizeof(err)), 0);
	TEST_EQ(o.rules[4].type, CT_RULE_MAX_LOST);
	TEST_EQ(o.rules[4].limit, 12);
	TEST_STREQ(o.rules[4].text, "max-lost 12");
	TEST_EQ(ct_check_parse_rule(&o, "--fail-on", "convoy,deadlock", err, sizeof(err)), 0);
	TEST_EQ(o.nrules, 7);
	TEST_EQ(o.rules[5].type, CT_RULE_CONVOY);
	TEST_EQ(o.rules[6].type, CT_RULE_DEADLOCK);
	TEST_STREQ(o.rules[6].text, "fail-on deadlock");
	TEST_EQ(ct_check_parse_rule(&o, "--fail-on", "truncated", err, sizeof(err)), 0);
	TEST_EQ(o.nrules, 8);
	TEST_EQ(o.rules[7].type, CT_RULE_TRUNCATED);
	TEST_STREQ(o.rules[7].text, "fail-on truncated");

	/* malformed values: -1 and a message naming the value; nothing added */
	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync", err, sizeof(err)), -1);
	TEST_TRUE(strstr(err, "PROFILE:DURATION") != NULL);
	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync:notaduration", err, sizeof(err)), -1);
	TEST_TRUE(strstr(err, "notaduration") != NULL);
	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync:100", err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync:-1ms", err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync:1min", err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync:99999999999999999999s", err,
				    sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--max-p99", "mutx:1ms", err, sizeof(err)), -1);
	TEST_TRUE(strstr(err, "unknown profile or kind 'mutx'") != NULL);
	TEST_EQ(ct_check_parse_rule(&o, "--max-p99", ":1ms", err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--fail-on", "convoy,", err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--fail-on", "cnvoy", err, sizeof(err)), -1);
	TEST_TRUE(strstr(err, "convoy, deadlock, lock-order or truncated, not 'cnvoy'") != NULL);
	TEST_EQ(ct_check_parse_rule(&o, "--max-lost", "-1", err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--max-lost", "1ms", err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_rule(&o, "--max-waits", "sync:1ms", err, sizeof(err)), 1);
	/* --fail-on convoy, before its error: only the well-formed part before the comma
	 * was added; a caller exits on the error anyway */
	TEST_TRUE(o.nrules >= 8);
	ct_check_opts_free(&o);
	TEST_EQ(o.nrules, 0);

	/* a wait kind in place of a profile: the waiter profiles, that kind only */
	TEST_EQ(ct_check_parse_rule(&o, "--max-p99", "mutex:1ms", err, sizeof(err)), 0);
	TEST_EQ(o.nrules, 1);
	TEST_EQ(o.rules[0].type, CT_RULE_MAX_P99);
	TEST_EQ(o.rules[0].profile, CT_RULE_ANY);
	TEST_EQ(o.rules[0].kind, CT_K_MUTEX);
	TEST_EQ(o.rules[0].limit, 1000000);
	TEST_STREQ(o.rules[0].text, "max-p99 mutex:1ms");
	TEST_EQ(ct_check_parse_rule(&o, "--max-wait", "sync:1ms", err, sizeof(err)), 0);
	TEST_EQ(o.rules[1].kind, 0);
	ct_check_opts_free(&o);

	/* defaults when no rule is given */
	ct_check_defaults(&o);
	TEST_EQ(o.nrules, 2);
	TEST_STREQ(o.rules[0].text, "fail-on deadlock");
	TEST_STREQ(o.rules[1].text, "max-lost 0");
	ct_check_defaults(&o); /* rules present: nothing added */
	TEST_EQ(o.nrules, 2);
	ct_check_opts_free(&o);
}

static void test_args(void)
{
	struct ct_check_opts o = { 0 };
	char *argv[] = { (char *)"--max-wait=sync:1ms", (char *)"--junit", (char *)"j.xml",
			 (char *)"a.ctr", (char *)"--max-lost", (char *)"0", (char *)"--",
			 (char *)"-odd.ctr" };
	char *bad1[] = { (char *)"--max-wait" }, *bad2[] = { (char *)"--bogus", (char *)"x" },
	     *bad3[] = { (char *)"x.ctr" }, *bad4[] = { (char *)"--junit=" };
	const char *files[8];
	size_t nfiles = 0;
	char err[256];

	TEST_EQ(ct_check_parse_args(&o, 8, argv, files, &nfiles, err, sizeof(err)), 0);
	TEST_EQ(o.nrules, 2);
	TEST_STREQ(o.junit, "j.xml");
	TEST_EQ(nfiles, 2);
	TEST_STREQ(files[0], "a.ctr");
	TEST_STREQ(files[1], "-odd.ctr");
	TEST_EQ(ct_check_parse_args(&o, 1, bad1, files, &nfiles, err, sizeof(err)), -1);
	TEST_TRUE(strstr(err, "needs a value") != NULL);
	TEST_EQ(ct_check_parse_args(&o, 2, bad2, files, &nfiles, err, sizeof(err)), -1);
	TEST_TRUE(strstr(err, "unknown option '--bogus'") != NULL);
	/* record --check: no positional arguments */
	TEST_EQ(ct_check_parse_args(&o, 1, bad3, NULL, NULL, err, sizeof(err)), -1);
	TEST_EQ(ct_check_parse_args(&o, 1, bad4, NULL, NULL, err, sizeof(err)), -1);
	ct_check_opts_free(&o);
}

/* ---- option tables (options.h) */

enum { K_FLAG = CT_OPT_CMD, K_VAL };

static const struct ct_opt t_opts[] = {
	{ "flag", K_FLAG, 0, NULL, "a flag", NULL, NULL },
	{ "value", K_VAL, 1, "V", "takes V\nsecond line", NULL, NULL },
	{ "output", 'o', 1, "FILE", "where", "-o FILE", "a FILE" },
	{ NULL, 0, 0, NULL, "a paragraph\n", NULL, NULL },
};
static const struct ct_opt_table t_tables[] = {
	{ NULL, 8, t_opts, CT_OPTS_N(t_opts) },
	{ "filters:", 14, ct_filter_opts, CT_NFILTER_OPTS },
};
static const struct ct_cmd_opts t_cmd = { "tcmd", "usage: tcmd\n", t_tables, 2, "end\n", 0 };

struct t_state {
	char seen[256];
	size_t len;
	struct ct_filter_args fa;
};

static int t_set(void *st, const struct ct_opt *o, const char *opt, const char *val, char *err,
		 size_t errlen)
{
	struct t_state *t = st;

	t->len += (size_t)snprintf(t->seen + t->len, sizeof(t->seen) - t->len, "%s=%s;", opt,
				   val ? val : "-");
	if (o->key < CT_OPT_CMD && o->key >= 256)
		return ct_opts_set_shared(&t->fa, NULL, o, opt, val, err, errlen);
	return 0;
}

/* Parses the NULL-terminated words after argv[0]; returns ct_opts_parse's value. */
static int t_parse(struct t_state *t, const char **ops, size_t *nops, char *err, size_t errlen,
		   char **words)
{
	char *argv[16] = { (char *)"tcmd" };
	int argc = 1;

	while (words[argc - 1])
		argv[argc] = words[argc - 1], argc++;
	memset(t->seen, 0, sizeof(t->seen));
	t->len = 0;
	return ct_opts_parse(&t_cmd, argc, argv, t_set, t, ops, nops, err, errlen);
}

static void test_opt_tables(void)
{
	struct t_state t;
	const char *ops[16];
	size_t nops;
	char err[256], *help = NULL;
	size_t hlen = 0;
	FILE *f;

	ct_filter_args_init(&t.fa);
	/* in order, values both ways, options after operands, "--" ends them */
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"a",
		(char *)"--value=1", (char *)"-ox", (char *)"--flag", (char *)"--from", (char *)"2ms",
		(char *)"b", (char *)"--", (char *)"--flag", NULL }), 0);
	TEST_STREQ(t.seen, "--value=1;-o=x;--flag=-;--from=2ms;");
	TEST_EQ(nops, 3);
	TEST_STREQ(ops[0], "a");
	TEST_STREQ(ops[2], "--flag");
	TEST_EQ(t.fa.f.from_ns, 2000000);
	/* names in full only: getopt_long's abbreviations are refused */
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"--fl", NULL }), -1);
	TEST_STREQ(err, "unknown option '--fl' (see 'ctrace tcmd --help')");
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"--val",
		(char *)"3", NULL }), -1);
	TEST_STREQ(err, "unknown option '--val' (see 'ctrace tcmd --help')");
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"--flag=1", NULL }),
		-1);
	TEST_STREQ(err, "unknown option '--flag=1' (see 'ctrace tcmd --help')");
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"-xyz", NULL }), -1);
	TEST_STREQ(err, "unknown option '-xyz' (see 'ctrace tcmd --help')");
	/* a missing value names what it needs */
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"--value", NULL }),
		-1);
	TEST_STREQ(err, "--value needs a value");
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"-o", NULL }), -1);
	TEST_STREQ(err, "-o needs a FILE");
	/* a shared row's own check */
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"--to=x", NULL }), -1);
	TEST_TRUE(strstr(err, "--to wants a duration") != NULL);
	/* --help stops the parse */
	TEST_EQ(t_parse(&t, ops, &nops, err, sizeof(err), (char *[]){ (char *)"--flag",
		(char *)"--help", (char *)"--bogus", NULL }), 1);
	/* the help is the table: labels padded to the width, continuations indented, rows
	 * without help left out (--to), paragraphs as they are, titles after a blank line */
	f = open_memstream(&help, &hlen);
	ct_opts_help(&t_cmd, f);
	fclose(f);
	TEST_STREQ(help, "usage: tcmd\n"
		   "  --flag    a flag\n"
		   "  --value V  takes V\n"
		   "            second line\n"
		   "  -o FILE   where\n"
		   "a paragraph\n"
		   "\nfilters:\n"
		   "  --from FROM, --to TO  only the time window [FROM, TO] from the trace start "
		   "(e.g.\n"
		   "                  150ms; units ns us ms s); waits overlapping it are clipped "
		   "to it\n"
		   "  --thread T      only the threads named T or with tid T (repeatable)\n"
		   "  --kind K[,K...]  only waits and calls of these kinds (mutex, cond, epoll, "
		   "...)\n"
		   "                  or profiles (sync, net, syscall, sleep); repeatable\n"
		   "  --exclude-kind K[,K...]  leave out waits and calls of these kinds or "
		   "profiles\n"
		   "  --strict        a damaged chunk in the trace is an error (exit 2);\n"
		   "                  by default it is skipped with a warning\n"
		   "  --hide REGEX    leave out the frames whose function matches REGEX\n"
		   "                  (extended regex, like pprof -hide; repeatable)\n"
		   "  --region NAME   only the waits inside a region NAME (ctrace_annotate.h)\n"
		   "  --label K=V     only the waits made while the thread's label K was V\n"
		   "end\n");
	free(help);
	ct_filter_args_free(&t.fa);
}

/* ---- the table of output formats (output.h) */

static void test_output_table(void)
{
	struct ct_verdict v[2] = {
		{ "a.ctr", "fail-on deadlock", 0, "", "" },
		{ "a&b.ctr", "max-wait sync:1us", 2, "2.00ms mutex <wait>",
		  "FAIL max-wait sync:1us: 2.00ms mutex <wait>\n    f (x.c:1)\n" },
	};
	struct ct_output_ctx c = { .verdicts = v, .nverdicts = 2, .nfailed = 1 };
	const struct ct_output *junit = ct_output_find("junit");
	char *out = NULL;
	size_t len = 0, named = 0;
	FILE *f;

	for (size_t i = 0; i < ct_noutputs; i++) {
		named += ct_outputs[i].name && ct_outputs[i].ext && ct_outputs[i].summary &&
			 ct_outputs[i].write && ct_output_find(ct_outputs[i].name) == &ct_outputs[i];
	}
	TEST_EQ(named, ct_noutputs); /* every row complete, every name found, and first */
	TEST_TRUE(ct_output_find("text") && ct_output_find("json") && junit);
	TEST_TRUE(ct_output_find("nope") == NULL);
	TEST_EQ(junit->input, CT_OUT_VERDICTS);
	TEST_EQ(ct_output_find("json")->input, CT_OUT_TRACE);
	f = open_memstream(&out, &len);
	TEST_EQ(junit->write(&c, f), 0);
	fclose(f);
	TEST_STREQ(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<testsuite name=\"ctrace check\" tests=\"2\" failures=\"1\" errors=\"0\" "
		   "skipped=\"0\">\n"
		   "  <testcase classname=\"a.ctr\" name=\"fail-on deadlock\"/>\n"
		   "  <testcase classname=\"a&amp;b.ctr\" name=\"max-wait sync:1us\">\n"
		   "    <failure type=\"max-wait sync:1us\" message=\"2 violations: 2.00ms mutex "
		   "&lt;wait&gt;\">FAIL max-wait sync:1us: 2.00ms mutex &lt;wait&gt;\n"
		   "    f (x.c:1)\n</failure>\n  </testcase>\n</testsuite>\n");
	free(out);
}

static void test_split(void)
{
	char **w;

	TEST_EQ(ct_check_split("  --max-wait sync:1ms\t--junit \"a b.xml\" 'c \"d' e\\ f ", &w), 6);
	TEST_STREQ(w[0], "--max-wait");
	TEST_STREQ(w[1], "sync:1ms");
	TEST_STREQ(w[2], "--junit");
	TEST_STREQ(w[3], "a b.xml");
	TEST_STREQ(w[4], "c \"d");
	TEST_STREQ(w[5], "e f");
	TEST_TRUE(w[6] == NULL);
	ct_check_free_words(w);
	TEST_EQ(ct_check_split("--max-wait=sync:\"1ms\"", &w), 1);
	TEST_STREQ(w[0], "--max-wait=sync:1ms");
	ct_check_free_words(w);
	TEST_EQ(ct_check_split("   ", &w), 0);
	TEST_TRUE(w && w[0] == NULL);
	ct_check_free_words(w);
	TEST_EQ(ct_check_split("--junit 'x", &w), -1);
	TEST_TRUE(w == NULL);
}

/* ---- XML ------------------------------------------------------------------------------ */

static char *xml(const char *s, int attr)
{
	static char out[512];
	FILE *f;

	memset(out, 0, sizeof(out));
	f = fmemopen(out, sizeof(out), "w");

	ct_xml_escape(f, s, attr);
	fclose(f);
	return out;
}

static void test_xml(void)
{
	TEST_STREQ(xml("a<b>&\"'c", 1), "a&lt;b&gt;&amp;&quot;&apos;c");
	TEST_STREQ(xml("x\ty\nz\r", 1), "x&#9;y&#10;z&#13;");
	TAP_OK(!strcmp(xml("x\ty\nz\r", 0), "x\ty\nz&#13;"), "text keeps tab and newline");
	TEST_STREQ(xml("\x01\x1b[0m\x7f", 0), "\xef\xbf\xbd\xef\xbf\xbd[0m\xef\xbf\xbd");
	TEST_STREQ(xml("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 1),
		   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	TEST_STREQ(xml("\xff", 1), "\xef\xbf\xbd");
	TEST_STREQ(xml("\xc0\x80", 1), "\xef\xbf\xbd\xef\xbf\xbd");     /* overlong NUL */
	TEST_STREQ(xml("\xed\xa0\x80", 1), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	TEST_STREQ(xml("\xc3", 1), "\xef\xbf\xbd");                     /* cut sequence */
	TEST_STREQ(xml("\xef\xbf\xbe", 1), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* U+FFFE */
	TEST_STREQ(xml(NULL, 1), "");
}

/* ---- diff keys and matching ------------------------------------------------------------ */

static void test_diff_table(void)
{
	struct ct_frame a1[] = {
		{ "contend_lock", "/build/a/lockwait.c", 45, "/build/a/lockwait", 0x1045, 0, 0 },
		{ "worker", "/build/a/lockwait.c", 60, "/build/a/lockwait", 0x1060, 0, 0 },
		{ "start_thread", NULL, 0, "/lib/libc.so.6", 0x7f01, 0, 0 },
	};
	/* the same source stack in another build: other paths and addresses */
	struct ct_frame a2[] = {
		{ "contend_lock", "/build/b/lockwait.c", 45, "/build/b/lockwait", 0x2045, 0, 0 },
		{ "worker", "/build/b/lockwait.c", 60, "/build/b/lockwait", 0x2060, 0, 0 },
		{ "start_thread", NULL, 0, "/usr/lib/libc.so.6", 0x7f99, 0, 0 },
	};
	/* another line in the same function */
	struct ct_frame b[] = {
		{ "contend_lock", "/build/a/lockwait.c", 47, "/build/a/lockwait", 0x1047, 0, 0 },
		{ "worker", "/build/a/lockwait.c", 60, "/build/a/lockwait", 0x1060, 0, 0 },
	};
	struct ct_diff_table t = { 0 }, o = { 0 };
	char *k1 = ct_diff_frames_key(a1, 3), *k2 = ct_diff_frames_key(a2, 3),
	     *kb = ct_diff_frames_key(b, 2), *k0 = ct_diff_frames_key(NULL, 0);

	TEST_STREQ(k1, k2);
	TEST_STREQ(k1, "contend_lock|lockwait.c:45;worker|lockwait.c:60;start_thread@libc.so.6;");
	TEST_TRUE(strcmp(k1, kb) != 0);
	TEST_STREQ(k0, "");
	free(k1);
	free(k2);
	free(kb);
	free(k0);

	/* base: a1 twice (two stack ids that symbolize alike: summed), b once;
	 * new: a2 (matches a1), a cond wait at a1 (another kind: its own row) */
	ct_diff_add(&t, 0, CT_AP_SYNC, CT_K_MUTEX, a1, 3, 3, 10, 100 * US);
	ct_diff_add(&t, 0, CT_AP_SYNC, CT_K_MUTEX, a1, 3, 3, 5, 50 * US);
	ct_diff_add(&t, 0, CT_AP_SYNC, CT_K_MUTEX, b, 2, 2, 1, 1 * MS);
	ct_diff_add(&t, 1, CT_AP_SYNC, CT_K_MUTEX, a2, 3, 3, 20, 400 * US);
	ct_diff_add(&t, 1, CT_AP_SYNC, CT_K_COND, a2, 3, 3, 2, 2 * US);
	ct_diff_add(&t, 1, CT_AP_HOLDER, CT_K_MUTEX, a2, 3, 3, 2, 250 * US);
	TEST_EQ(t.n, 4);
	ct_diff_finish(&t);
	/* by |delta|: b (-1ms), then a (+250us, sync before holder), holder (+250us), cond */
	TEST_EQ(t.rows[0].delta, -(int64_t)MS);
	TEST_EQ(t.rows[0].nframes, 2);
	TEST_EQ(t.rows[0].count[0], 1);
	TEST_EQ(t.rows[0].count[1], 0);
	TEST_EQ(t.rows[1].profile, CT_AP_SYNC);
	TEST_EQ(t.rows[1].kind, CT_K_MUTEX);
	TEST_EQ(t.rows[1].count[0], 15);
	TEST_EQ(t.rows[1].count[1], 20);
	TEST_EQ(t.rows[1].total[0], 150 * US);
	TEST_EQ(t.rows[1].total[1], 400 * US);
	TEST_EQ(t.rows[1].delta, 250 * US);
	TEST_TRUE(t.rows[1].frames == a1); /* the first side's frames */
	TEST_EQ(t.rows[2].profile, CT_AP_HOLDER);
	TEST_EQ(t.rows[2].delta, 250 * US);
	TEST_EQ(t.rows[3].kind, CT_K_COND);
	TEST_EQ(t.rows[3].delta, 2 * US);
	ct_diff_table_free(&t);

	/* objects: keyed by kind and frames[0] only */
	ct_diff_add(&o, 0, -1, CT_K_MUTEX, a1, 3, 1, 4, 40 * US);
	ct_diff_add(&o, 1, -1, CT_K_MUTEX, b, 2, 1, 9, 90 * US);  /* line 47: another row */
	ct_diff_add(&o, 1, -1, CT_K_MUTEX, a2, 1, 1, 6, 60 * US); /* same frames[0] as a1 */
	ct_diff_add(&o, 1, -1, CT_K_MUTEX, a2, 3, 1, 1, 10 * US);
	ct_diff_finish(&o);
	TEST_EQ(o.n, 2);
	TEST_EQ(o.rows[0].delta, 90 * US);
	TEST_EQ(o.rows[1].delta, 30 * US);
	TEST_EQ(o.rows[1].objects[0], 1);
	TEST_EQ(o.rows[1].objects[1], 2);
	TEST_EQ(o.rows[1].count[1], 7);
	ct_diff_table_free(&o);

	/* many rows: the hash index grows */
	for (int i = 0; i < 1000; i++) {
		struct ct_frame f = { "f", "x.c", i, NULL, 0, 0, 0 };

		ct_diff_add(&t, i & 1, CT_AP_SYNC, CT_K_MUTEX, &f, 1, 1, 1, (uint64_t)i);
		ct_diff_add(&t, 1, CT_AP_SYNC, CT_K_MUTEX, &f, 1, 1, 1, 1);
	}
	TEST_EQ(t.n, 1000);
	ct_diff_finish(&t);
	TEST_EQ(t.rows[0].delta, 1000); /* line 999: new only, 999 + 1 */
	TEST_EQ(t.rows[1].delta, 998);  /* line 997: new only, 997 + 1 */
	TEST_EQ(t.rows[2].delta, -997); /* line 998: base 998, new 1 */
	ct_diff_table_free(&t);
}

/* ---- end to end on synthetic traces ---------------------------------------------------- */


static uint64_t pcs1[] = { 0x1000, 0x1100 }, pcs2[] = { 0x2000 };

/* Thread 101 waits on mutex M1 for wait_ms (held by 100, released at stack 2); the
 * recorder lost `lost` events. Written to path (a mkstemp template). */
static int build(char *path, uint64_t wait_ms, uint64_t lost)
{
	struct ct_file_header h = { .version_major = CT_VERSION_MAJOR,
				    .version_minor = CT_VERSION_MINOR, .pid = 100, .ppid = 1,
				    .start_mono_ns = T0, .start_real_ns = 42 };
	struct ct_stack st[] = { { 1, 2, 0, pcs1 }, { 2, 1, 0, pcs2 } };
	struct ct_thread_state ts[2] = { { .tid = 100, .name = "app" },
					 { .tid = 101, .parent_tid = 100, .name = "worker" } };
	struct ct_event e100[] = { ct_ev_release(T0 + (2 + wait_ms) * MS, CT_K_MUTEX, 0, 2, M1,
						 1, 1) };
	struct ct_event e101[] = {
		ct_ev_wait_begin(T0 + 2 * MS, CT_K_MUTEX, 0, 1, M1, 100, 0, 0),
		ct_ev_wait_end(T0 + (2 + wait_ms) * MS + 10 * US, CT_K_MUTEX, M1, 1,
			       CT_R_ACQUIRED, 0),
	};
	uint64_t lostv[CT_L_MAX] = { lost, 0, 0 };

	tg_begin(&h);
	put(ct_w_gen_begin(&wb, 1, T0, 42));
	put(ct_w_stacks(&wb, 1, st, 2));
	put(ct_w_threads(&wb, 1, ts, 2));
	put(ct_w_events(&wb, 1, 100, 0, e100, 1));
	put(ct_w_events(&wb, 1, 101, 0, e101, 2));
	put(ct_w_gen_end(&wb, 1, T0 + (wait_ms + 10) * MS, lostv));
	return tg_write_tmp(path);
}

/* Runs fn with stdout going to a file, whose text is returned (static buffer). */
static char captured[1 << 16];

static int capture_check_files(const struct ct_check_opts *o, const char *const *paths,
			       size_t npaths)
{
	char tmp[] = "/tmp/ct_check_outXXXXXX";
	int fd = mkstemp(tmp), saved, rc;
	ssize_t n;

	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	rc = ct_check_run(o, paths, npaths);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, captured, sizeof(captured) - 1, 0);
	captured[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(tmp);
	return rc;
}

static int capture_check(const struct ct_check_opts *o, const char *path)
{
	return capture_check_files(o, &path, 1);
}

/* Several traces are checked as one: a rule sees them all. p1 waits 3.01 ms and lost
 * nothing, p2 waits 9.01 ms and lost 4 events. */
static void test_check_files(const char *p1, const char *p2)
{
	const char *both[] = { p1, p2 };
	struct ct_check_opts o = { 0 };
	char err[256], want[512];

	ct_check_parse_rule(&o, "--max-total", "sync:10ms", err, sizeof(err));
	TEST_EQ(capture_check(&o, p1), CT_EXIT_OK);
	TEST_EQ(capture_check(&o, p2), CT_EXIT_OK);
	/* 3.01 + 9.01 ms over both: one violation, of no trace alone */
	TEST_EQ(capture_check_files(&o, both, 2), CT_EXIT_VIOLATION);
	TEST_TRUE(strstr(captured, "FAIL max-total sync:10ms: 12.0ms in 2 waits over 2 sites; "
			 "largest 9.01ms mutex at ") != NULL);
	TEST_TRUE(strstr(captured, "check: 1 of 1 rule check failed (1 violation)") != NULL);
	ct_check_opts_free(&o);

	memset(&o, 0, sizeof(o));
	ct_check_parse_rule(&o, "--max-wait", "sync:5ms", err, sizeof(err));
	ct_check_parse_rule(&o, "--max-lost", "3", err, sizeof(err));
	TEST_EQ(capture_check_files(&o, both, 2), CT_EXIT_VIOLATION);
	/* the long wait is p2's and named so; the lost events are counted over both */
	snprintf(want, sizeof(want), "FAIL max-wait sync:5ms: %s: 9.01ms mutex wait on 0x5000 at ",
		 p2);
	TEST_TRUE(strstr(captured, want) != NULL);
	snprintf(want, sizeof(want), "%s: 3.01ms", p1);
	TEST_TRUE(strstr(captured, want) == NULL);
	TEST_TRUE(strstr(captured, "FAIL max-lost 3: 4 events lost (no_buffer 4)") != NULL);
	TEST_TRUE(strstr(captured, "check: 2 of 2 rule checks failed (2 violations)") != NULL);
	ct_check_opts_free(&o);

	memset(&o, 0, sizeof(o));
	ct_check_parse_rule(&o, "--max-wait", "sync:10ms", err, sizeof(err));
	TEST_EQ(capture_check_files(&o, both, 2), CT_EXIT_OK);
	TEST_TRUE(!strcmp(captured, "ok: 1 rule holds on every trace\n"));
	ct_check_opts_free(&o);
}

static int capture_diff(int argc, char **argv)
{
	char tmp[] = "/tmp/ct_diff_outXXXXXX";
	int fd = mkstemp(tmp), saved, rc;
	ssize_t n;

	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	rc = ct_cmd_diff(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, captured, sizeof(captured) - 1, 0);
	captured[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(tmp);
	return rc;
}

/* --fail-on convoy / deadlock over the verdicts of analysis.h, set by hand here (their
 * detection is tested with the analyses). */
static void test_verdicts(const char *path)
{
	struct ct_check_opts o = { 0 };
	struct ct_model *m;
	struct ct_analysis *a;
	struct ct_object *obj = NULL;
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (ct_model_load(path, &m, err, sizeof(err)) < 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	a = ct_analyze(m);
	ct_check_parse_rule(&o, "--fail-on", "convoy,deadlock", err, sizeof(err));
	f = open_memstream(&text, &len);
	TEST_EQ(ct_check_eval(&o.rules[0], path, m, a, f), 0);
	TEST_EQ(ct_check_eval(&o.rules[1], path, m, a, f), 0);
	fflush(f);
	TEST_EQ(len, 0);
	for (size_t i = 0; i < a->nobjs; i++)
		if (a->objs[i].addr == M1)
			obj = &a->objs[i];
	TEST_TRUE(obj != NULL);
	if (!obj)
		return;
	obj->convoy = 1;
	obj->convoy_ev.start_ns = 2 * MS;
	obj->convoy_ev.end_ns = 8 * MS;
	obj->convoy_ev.window_ns = 1 * MS;
	obj->convoy_ev.windows = 6;
	obj->convoy_ev.mean_waiters = 2.5;
	obj->convoy_ev.empty_fraction = 0.04;
	obj->convoy_ev.hold_fraction = 0.9;
	obj->convoy_ev.median_hold_ns = 500 * US;
	obj->convoy_ev.median_handoff_ns = 20 * US;
	obj->convoy_ev.median_wait_ns = 1200 * US;
	obj->convoy_ev.throughput_cap_per_s = 1900;
	obj->convoy_ev.waiter_stack = 1;
	obj->convoy_ev.holder_stack = 2;
	a->deadlocks = calloc(1, sizeof(*a->deadlocks));
	a->deadlocks[0].links = calloc(2, sizeof(struct ct_chain_link));
	a->deadlocks[0].n = 2;
	a->ndeadlocks = 1;
	a->deadlocks[0].links[0] = (struct ct_chain_link){ .tid = 101, .held_by = 100,
							   .obj = M1, .held_known = 1,
							   .held_from = CT_HELD_HOLD,
							   .held_stack = 2 };
	a->deadlocks[0].links[1] = (struct ct_chain_link){ .tid = 100, .held_by = 101,
							   .obj = 0x9000 };
	TEST_EQ(ct_check_eval(&o.rules[0], path, m, a, f), 1);
	TEST_EQ(ct_check_eval(&o.rules[1], path, m, a, f), 1);
	fclose(f);
	TEST_TRUE(strstr(text, "FAIL fail-on convoy: convoy on mutex 0x5000 from 2.00ms to 8.00ms "
			 "(6 windows of 1.00ms): 2.5 waiters on average, queue empty 4% of the "
			 "time, median hold 500us, median hand-off 20.0us, median wait 1.20ms, at "
			 "most 1900 acquisitions/s; waiters at ") != NULL);
	TEST_TRUE(strstr(text, "  released at:\n") != NULL);
	/* the holder's site: the HOLD's one frame (stack 2, pc 0x2000, unresolvable) */
	TEST_TRUE(strstr(text, "FAIL fail-on deadlock: deadlock of 2 threads: thread 101 waits on "
			 "mutex 0x5000 at ") != NULL);
	TEST_TRUE(strstr(text, ", held by 100 (taken at ?? (0x2000)); thread 100 waits on object "
			 "0x9000 at an unrecorded stack, held by 101 (taken at a site not "
			 "recorded)\n") != NULL);
	TEST_TRUE(strstr(text, "  thread 100:\n") != NULL);
	free(text);
	/* --fail-on truncated: holds on a complete trace; a truncated one (set by hand, its
	 * detection is the reader's) is one violation naming where the trace ends */
	ct_check_parse_rule(&o, "--fail-on", "truncated", err, sizeof(err));
	text = NULL;
	f = open_memstream(&text, &len);
	TEST_EQ(ct_check_eval(&o.rules[2], path, m, a, f), 0);
	m->truncated = 1;
	m->trailing_bytes = 40;
	m->file_bytes = 1040;
	TEST_EQ(ct_check_eval(&o.rules[2], path, m, a, f), 1);
	fclose(f);
	TEST_TRUE(strstr(text, "FAIL fail-on truncated: trace truncated at byte 1000: the process "
			 "ended without its final flush (killed, or still running); events after "
			 "the last complete chunk are missing (40 bytes of an incomplete chunk "
			 "ignored)\n") != NULL);
	free(text);
	ct_check_opts_free(&o);
	ct_analysis_free(a);
	ct_model_free(m);
}

static void test_end_to_end(void)
{
	char p1[] = "/tmp/ct_check1XXXXXX", p2[] = "/tmp/ct_check2XXXXXX";
	char jpath[] = "/tmp/ct_junitXXXXXX", jbuf[8192];
	struct ct_check_opts o = { 0 };
	char err[256];
	int jfd;
	ssize_t n;

	if (build(p1, 3, 0) < 0 || build(p2, 9, 4) < 0) {
		printf("Bail out! cannot write the traces\n");
		exit(1);
	}
	/* 3 ms wait: holds under 5 ms, breaks 1 ms */
	ct_check_parse_rule(&o, "--max-wait", "sync:5ms", err, sizeof(err));
	ct_check_parse_rule(&o, "--max-total", "any:1s", err, sizeof(err));
	ct_check_parse_rule(&o, "--max-lost", "0", err, sizeof(err));
	TEST_EQ(capture_check(&o, p1), CT_EXIT_OK);
	TEST_TRUE(!strncmp(captured, "ok: 3 rules hold on ", 20));
	TEST_EQ(capture_check(&o, p2), CT_EXIT_VIOLATION);
	TEST_TRUE(strstr(captured, "FAIL max-wait sync:5ms: 9.01ms mutex wait on 0x5000 at ") != NULL);
	TEST_TRUE(strstr(captured, "FAIL max-lost 0: 4 events lost (no_buffer 4)") != NULL);
	TEST_TRUE(strstr(captured, "FAIL max-total") == NULL);
	TEST_TRUE(strstr(captured, "check: 2 of 3 rule checks failed") != NULL);

	jfd = mkstemp(jpath);
	close(jfd);
	o.junit = jpath;
	TEST_EQ(capture_check(&o, p2), CT_EXIT_VIOLATION);
	jfd = open(jpath, O_RDONLY);
	n = read(jfd, jbuf, sizeof(jbuf) - 1);
	close(jfd);
	jbuf[n > 0 ? n : 0] = 0;
	TEST_TRUE(strstr(jbuf, "<testsuite name=\"ctrace check\" tests=\"3\" failures=\"2\"") != NULL);
	TEST_TRUE(strstr(jbuf, "name=\"max-total any:1s\"/>") != NULL);
	TEST_TRUE(strstr(jbuf, "<failure type=\"max-lost 0\" message=\"1 violation: 4 events lost") != NULL);
	unlink(jpath);
	ct_check_opts_free(&o);

	/* diff: the same wait site, 3 ms -> 9 ms */
	{
		char *argv[] = { (char *)"diff", (char *)"--json", p1, p2 };

		TEST_EQ(capture_diff(4, argv), CT_EXIT_OK);
		TEST_TRUE(strstr(captured, "{\"profile\":\"sync\",\"kind\":\"mutex\",\"frames\":[{") != NULL);
		TEST_TRUE(strstr(captured, "\"base_count\":1,\"new_count\":1,\"base_total_ns\":3010000,"
				 "\"new_total_ns\":9010000,\"delta_ns\":6000000}") != NULL);
		TEST_TRUE(strstr(captured, "\"objects\":[{\"kind\":\"mutex\"") != NULL);
		TEST_TRUE(strstr(captured, "\"base_contended\":1,\"new_contended\":1") != NULL);
	}
	{
		char *argv[] = { (char *)"diff", p1, p2 };

		TEST_EQ(capture_diff(3, argv), CT_EXIT_OK);
		TEST_TRUE(strstr(captured, "+6.00ms") != NULL);
	}
	test_verdicts(p2);
	test_check_files(p1, p2);
	unlink(p1);
	unlink(p2);
}

int main(void)
{
	test_rules();
	test_args();
	test_opt_tables();
	test_output_table();
	test_split();
	test_xml();
	test_diff_table();
	test_end_to_end();
	return tap_done();
}
