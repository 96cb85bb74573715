/* SPDX-License-Identifier: MIT */
/*
 * `ctrace record [-o FILE] -- PROGRAM [ARGS...]`: runs PROGRAM with libctrace.so prepended
 * to LD_PRELOAD and CTRACE_OUT set, waits for it like system() does (SIGINT and SIGQUIT go
 * to the child only; SIGTERM and SIGHUP are forwarded), then says where the trace went
 * and exits with the child's status. Called from ctrace.c.
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
#include "util.h"

#define DEFAULT_OUT "ctrace.%p.ctr"

static volatile pid_t child_pid;

static void usage(FILE *f)
{
	fputs("usage: ctrace record [-o FILE] [--] PROGRAM [ARGS...]\n\n"
		"Runs PROGRAM with libctrace.so preloaded; exits with its status.\n\n"
		"  -o FILE   trace file (default " DEFAULT_OUT "; %p is the pid); an existing\n"
		"            file is never overwritten\n\n"
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
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return CT_EXIT_USAGE;
}
