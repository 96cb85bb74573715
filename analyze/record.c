/* SPDX-License-Identifier: MIT */
/*
 * `ctrace record [-o FILE] [--check RULES]... -- PROGRAM [ARGS...]`: runs PROGRAM with
 * libctrace.so prepended to LD_PRELOAD and CTRACE_OUT set, waits for it like system() does
 * (SIGINT and SIGQUIT go to the child only; SIGTERM and SIGHUP are forwarded), then says
 * where the trace went and exits with the child's status. With --check, the rules of
 * `ctrace check` (check.c) are applied to the trace afterwards, and a program that
 * succeeded exits with check's status. Called from ctrace.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "model.h"
#include "util.h"

#define DEFAULT_OUT "ctrace.%p.ctr"

static volatile pid_t child_pid;

static void usage(FILE *f)
{
	fputs("usage: ctrace record [-o FILE] [--check RULES]... [--] PROGRAM [ARGS...]\n\n"
		"Runs PROGRAM with libctrace.so preloaded; exits with its status.\n\n"
		"  -o FILE         trace file (default " DEFAULT_OUT "; %p is the pid); an\n"
		"                  existing file is never overwritten\n"
		"  --check RULES   after PROGRAM exits, gate on its trace like 'ctrace check':\n"
		"                  RULES is one argument holding check options, e.g.\n"
		"                  --check \"--max-wait sync:100us --fail-on convoy\"\n"
		"                  (repeatable; --junit FILE allowed; see 'ctrace check --help').\n"
		"                  Exit status: PROGRAM's own when it is not 0, else check's:\n"
		"                  0 every rule holds, 1 a rule is broken, 2 no readable trace.\n"
		"                  The trace checked is the one of PROGRAM's own pid.\n\n"
		"libctrace.so is taken from $CTRACE_LIB, else next to the ctrace binary, else\n"
		"../lib/libctrace.so relative to it.\n", f);
}

static int is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where libctrace.so is; 0 and the path in buf, or -ENOENT. */
static int find_lib(char *buf, size_t cap)
{
	const char *env = getenv("CTRACE_LIB");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		if (!is_file(env))
			return -ENOENT;
		if (!realpath(env, buf))
			snprintf(buf, cap, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	snprintf(buf, cap, "%s/libctrace.so", self);
	if (is_file(buf))
		return 0;
	snprintf(buf, cap, "%s/../lib/libctrace.so", self);
	if (is_file(buf)) {
		char real[PATH_MAX];

		if (realpath(buf, real) && strlen(real) < cap)
			memcpy(buf, real, strlen(real) + 1);
		return 0;
	}
	return -ENOENT;
}

/* out with every %p replaced by pid (and %% by %), as the preload library does. */
static void expand(const char *out, pid_t pid, char *buf, size_t cap)
{
	size_t n = 0;

	for (const char *p = out; *p && n + 1 < cap; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			n += (size_t)snprintf(buf + n, cap - n, "%ld", (long)pid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			buf[n++] = '%';
			p++;
		} else {
			buf[n++] = *p;
		}
		if (n >= cap)
			n = cap - 1;
	}
	buf[n] = 0;
}

/* One --check RULES string: its words parsed as check options into o (exits 2 on an
 * error, before the program runs). */
static void add_check(struct ct_check_opts *o, const char *rules)
{
	char **w, err[512];
	int n = ct_check_split(rules, &w);

	if (n < 0)
		ct_die(CT_EXIT_USAGE, "record: --check: unterminated quote in '%s'", rules);
	if (ct_check_parse_args(o, n, w, NULL, NULL, err, sizeof(err)) < 0) {
		ct_check_free_words(w);
		ct_die(CT_EXIT_USAGE, "record: --check: %s", err);
	}
	for (int k = 0; k < n; k++) {
		/* --junit FILE points into w: copied before w goes */
		if (o->junit && o->junit >= w[k] && o->junit <= w[k] + strlen(w[k])) {
			free(o->junit_owned);
			o->junit = o->junit_owned = ct_xstrdup(o->junit);
		}
	}
	ct_check_free_words(w);
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int ct_cmd_record(int argc, char **argv)
{
	const char *out = NULL, *old;
	char lib[PATH_MAX + 64], path[PATH_MAX + 32], *preload;
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward };
	struct sigaction old_int, old_quit;
	int i, pfd[2], status, err = 0;
	ssize_t n;
	pid_t pid;
	struct ct_check_opts chk = { 0 };
	int checks = 0, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return CT_EXIT_OK;
		}
		if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (i + 1 >= argc)
				ct_die(CT_EXIT_USAGE, "record: %s needs a FILE", a);
			out = argv[++i];
		} else if (!strncmp(a, "-o", 2) && a[2]) {
			out = a + 2;
		} else if (!strncmp(a, "--output=", 9)) {
			out = a + 9;
		} else if (!strcmp(a, "--check") || !strncmp(a, "--check=", 8)) {
			if (!a[7] && i + 1 >= argc)
				ct_die(CT_EXIT_USAGE, "record: --check needs RULES");
			add_check(&chk, a[7] ? a + 8 : argv[++i]);
			checks++;
		} else if (a[0] == '-' && a[1]) {
			ct_die(CT_EXIT_USAGE, "record: unknown option '%s' (see 'ctrace record --help')",
			       a);
		} else {
			break;
		}
	}
	if (i >= argc)
		ct_die(CT_EXIT_USAGE, "record: no PROGRAM given (see 'ctrace record --help')");
	if (out && !*out)
		ct_die(CT_EXIT_USAGE, "record: empty output file name");
	if (out && !strstr(out, "%p") && access(out, F_OK) == 0)
		ct_die(CT_EXIT_USAGE, "record: %s exists, not overwriting it", out);
	if (!out)
		out = DEFAULT_OUT;
	if (find_lib(lib, sizeof(lib)) < 0)
		ct_die(CT_EXIT_USAGE, "record: cannot find libctrace.so (%s); set CTRACE_LIB",
		       getenv("CTRACE_LIB") && *getenv("CTRACE_LIB") ? getenv("CTRACE_LIB") :
		       "not next to the ctrace binary nor in ../lib");

	old = getenv("LD_PRELOAD");
	if (old && *old) {
		preload = ct_xmalloc(strlen(lib) + strlen(old) + 2);
		sprintf(preload, "%s:%s", lib, old);
	} else {
		preload = ct_xstrdup(lib);
	}
	/* exec failures travel back through a close-on-exec pipe, so the parent can report
	 * them like a shell (127: not found, 126: not executable) */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		ct_die(CT_EXIT_USAGE, "record: pipe: %s", strerror(errno));
	fflush(NULL);
	/* like system(): the terminal's ^C and ^\ are for the child */
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid < 0) {
		err = errno;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		free(preload);
		ct_die(CT_EXIT_USAGE, "record: fork: %s", strerror(err));
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		close(pfd[0]);
		if (setenv("LD_PRELOAD", preload, 1) < 0 || setenv("CTRACE_OUT", out, 1) < 0)
			err = errno;
		else {
			execvp(argv[i], &argv[i]);
			err = errno;
		}
		if (write(pfd[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(err == ENOENT ? 127 : 126);
	}
	free(preload);
	child_pid = pid;
	sigaction(SIGTERM, &fwd, NULL);
	sigaction(SIGHUP, &fwd, NULL);
	close(pfd[1]);
	do
		n = read(pfd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 0;
			break;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (n == (ssize_t)sizeof(err)) {
		if (err == ENOENT)
			ct_err("%s: command not found", argv[i]);
		else
			ct_err("%s: %s", argv[i], strerror(err));
		return err == ENOENT ? 127 : 126;
	}
	expand(out, pid, path, sizeof(path));
	if (access(path, F_OK) == 0)
		ct_err("trace written to %s", path);
	else
		ct_err("no trace written (static binary or LD_PRELOAD removed?)");
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = CT_EXIT_USAGE;
	if (checks) {
		const char *files[1] = { path };
		int crc;

		if (access(path, F_OK) != 0)
			ct_die(rc ? rc : CT_EXIT_USAGE, "record: --check: no trace to check");
		if (rc) {
			/* the program failed: its status wins, even over an unreadable trace */
			struct ct_model *m;
			char err[512];

			if (ct_model_load(path, &m, err, sizeof(err)) < 0) {
				ct_err("record: --check: %s: %s", path, err);
				ct_check_opts_free(&chk);
				return rc;
			}
			ct_model_free(m);
		}
		ct_check_defaults(&chk);
		crc = ct_check_run(&chk, files, 1);
		ct_check_opts_free(&chk);
		if (!rc)
			rc = crc;
	}
	return rc;
}
