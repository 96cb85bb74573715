/* SPDX-License-Identifier: MIT */
/*
 * `ctrace record [-o FILE] [--no-follow] [--check RULES]... -- PROGRAM [ARGS...]`: runs
 * PROGRAM with libctrace.so prepended to LD_PRELOAD and CTRACE_OUT set (and
 * CTRACE_FOLLOW=none with --no-follow), waits for it like system() does
 * (SIGINT and SIGQUIT go to the child only; SIGTERM and SIGHUP are forwarded), then says
 * where the traces went and exits with the child's status. With --check, the rules of
 * `ctrace check` (check.c) are applied to the trace afterwards, and a program that
 * succeeded exits with check's status. Called from ctrace.c.
 *
 * Programs LD_PRELOAD cannot reach are named before they run (they still run: record is a
 * wrapper, and what they start may be traceable): a static executable (no PT_INTERP),
 * a setuid/setgid one or one with file capabilities (the loader runs it in secure mode
 * and ignores an LD_PRELOAD path with a slash), one for another ELF class or machine
 * than libctrace.so; PROGRAM is resolved through PATH as execvp does, and a #! script is
 * judged by its interpreter (and `#!/usr/bin/env NAME` by NAME too). Afterwards every
 * trace file the run created (the names matching the CTRACE_OUT pattern that did not
 * exist before) is listed, and when the program's own process left none, or none of the
 * image it ended as (its name read from /proc before it is reaped), record says that it
 * or a program it started dropped LD_PRELOAD. An output directory that is missing or not
 * writable is an error (exit 2) before PROGRAM runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "model.h"
#include "util.h"
#include "../format/events.h"
#include "../format/reader.h"

#define DEFAULT_OUT "ctrace.%p.ctr"
#define MAX_LISTED 20 /* trace files named one per line; the rest are counted */
#define WHY_MAX (3 * PATH_MAX + 512) /* one sentence naming up to three paths */

static volatile pid_t child_pid;

enum { OPT_CHECK = CT_OPT_CMD, OPT_NO_FOLLOW, OPT_DURATION };

static const struct ct_opt record_opts[] = {
	{ "output", 'o', 1, "FILE", "trace file (default " DEFAULT_OUT "; %p is the pid); an\n"
	  "existing file is never overwritten", "-o FILE", "a FILE" },
	{ "no-follow", OPT_NO_FOLLOW, 0, NULL, "trace PROGRAM's process only (CTRACE_FOLLOW=none): "
	  "it stays\ntraced across its own execs, the processes it starts do not", NULL, NULL },
	{ "check", OPT_CHECK, 1, "RULES", "after PROGRAM exits, gate on its trace like 'ctrace "
	  "check':\nRULES is one argument holding check options, e.g.\n"
	  "--check \"--max-wait sync:100us --fail-on convoy\"\n"
	  "(repeatable; --junit FILE allowed; see 'ctrace check --help').\n"
	  "Exit status: PROGRAM's own when it is not 0, else check's:\n"
	  "0 every rule holds, 1 a rule is broken, 2 no readable trace.\n"
	  "The trace checked is the one of PROGRAM's own pid.", NULL, "RULES" },
	{ "duration", OPT_DURATION, 1, "D", "record the first D only (e.g. 10s): PROGRAM's "
	  "process then\n"
	  "runs on with its recording paused ('ctrace pause'); the trace\n"
	  "is complete when it exits", NULL, "D" },
};

static const struct ct_opt_table record_tables[] = {
	{ NULL, 14, record_opts, CT_OPTS_N(record_opts) },
};

static const struct ct_cmd_opts record_cmd = {
	"record",
	"usage: ctrace record [-o FILE] [--no-follow] [--check RULES]... [--duration D]\n"
	"                     [--] PROGRAM\n"
	"                     [ARGS...]\n\n"
	"Runs PROGRAM with libctrace.so preloaded; exits with its status.\n\n",
	record_tables, CT_OPTS_N(record_tables),
	"\nAfterwards every trace file the run created is named on stderr, one line\n"
	"each (a program that forks or execs leaves several). A program LD_PRELOAD\n"
	"cannot trace (statically linked, setuid/setgid or with file capabilities,\n"
	"another architecture; a #! script by its interpreter) is named before it\n"
	"runs, and runs anyway; when the program's own process leaves no trace of the\n"
	"image it ended as, record says that it dropped LD_PRELOAD.\n\n"
	"libctrace.so is taken from $CTRACE_LIB, else next to the ctrace binary, else\n"
	"../lib/libctrace.so relative to it.\n",
	1, /* options end at PROGRAM: the rest is its own */
};

static int is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where libctrace.so is (CTRACE_LIB, next to ctrace, ../lib, then the LIBDIR it was built
 * for); 0 and the path in buf, or -ENOENT. */
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
#ifdef CT_LIBDIR /* the Makefile's LIBDIR, for an install whose lib is not ../lib */
	snprintf(buf, cap, "%s/libctrace.so", CT_LIBDIR);
	if (is_file(buf))
		return 0;
#endif
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

/* ---- programs LD_PRELOAD cannot trace ------------------------------------------------ */

/* What the ELF header and program headers of a file say. */
struct elf_info {
	int is_elf;
	int cls;          /* ELFCLASS32 or ELFCLASS64 */
	unsigned machine; /* e_machine */
	int has_interp;   /* a PT_INTERP program header: dynamically linked */
};

/* Reads the ELF identification and looks for PT_INTERP, through libelf. Returns 0
 * (ei->is_elf 0 for a file that is not ELF, or whose header libelf cannot read), or -1
 * when the file cannot be opened. */
static int elf_read(const char *path, struct elf_info *ei)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;
	GElf_Ehdr eh;
	size_t phnum;

	memset(ei, 0, sizeof(*ei));
	if (fd < 0)
		return -1;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		close(fd);
		return 0;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
	    (gelf_getclass(e) != ELFCLASS32 && gelf_getclass(e) != ELFCLASS64)) {
		elf_end(e);
		close(fd);
		return 0;
	}
	ei->is_elf = 1;
	ei->cls = gelf_getclass(e);
	ei->machine = eh.e_machine;
	if (elf_getphdrnum(e, &phnum) == 0) {
		for (size_t i = 0; i < phnum && i < 4096; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(e, (int)i, &ph))
				break;
			if (ph.p_type == PT_INTERP) {
				ei->has_interp = 1;
				break;
			}
		}
	}
	elf_end(e);
	close(fd);
	return 0;
}

/* prog resolved as execvp would: itself when it has a slash, else the first executable
 * regular file of that name in $PATH (unset: /bin:/usr/bin; an empty entry is the
 * current directory). Returns 0 and the path in buf, or -ENOENT. */
static int resolve(const char *prog, char *buf, size_t cap)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(prog, '/')) {
		snprintf(buf, cap, "%s", prog);
		return 0;
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p++) {
		size_t n = strcspn(p, ":");
		struct stat st;

		if (n)
			snprintf(buf, cap, "%.*s/%s", (int)n, p, prog);
		else
			snprintf(buf, cap, "%s", prog);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
		p += n;
		if (!*p)
			return -ENOENT;
	}
}

/* A script's interpreter and its optional argument (Linux passes the rest of the line as
 * one argument). Returns 0, or -1 when the file does not start with "#!". */
static int shebang(const char *path, char *interp, size_t icap, char *arg, size_t acap)
{
	char line[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *p, *e;

	if (fd < 0)
		return -1;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return -1;
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	for (p = line + 2; *p == ' ' || *p == '\t'; p++)
		;
	e = p + strcspn(p, " \t");
	snprintf(interp, icap, "%.*s", (int)(e - p), p);
	for (p = e; *p == ' ' || *p == '\t'; p++)
		;
	for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	snprintf(arg, acap, "%.*s", (int)(e - p), p);
	return interp[0] ? 0 : -1;
}

/* Why the loader would ignore LD_PRELOAD for path (it runs in secure mode, AT_SECURE):
 * "setuid (owner N)", "setgid (group N)" or "has file capabilities", into why; 0 when it
 * would not. Set-id bits count only when they change the ids and the file system honours
 * them. */
static int secure_exec(const char *path, char *why, size_t cap)
{
	struct stat st;
	struct statvfs vfs;

	if (stat(path, &st) < 0)
		return 0;
	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return 0;
	if ((st.st_mode & S_ISUID) && st.st_uid != getuid()) {
		snprintf(why, cap, "setuid (owner uid %u)", (unsigned)st.st_uid);
		return 1;
	}
	if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != getgid()) {
		snprintf(why, cap, "setgid (group gid %u)", (unsigned)st.st_gid);
		return 1;
	}
	if (getxattr(path, "security.capability", NULL, 0) > 0) {
		snprintf(why, cap, "has file capabilities");
		return 1;
	}
	return 0;
}

/*
 * Whether prog can be traced with the library at lib: 0 when nothing stands in the way
 * (or it is not known, e.g. not found: execvp will say), else 1 with one sentence in why
 * ("PROG is statically linked: LD_PRELOAD cannot trace it"). A #! script is judged by
 * its interpreter, up to four levels as the kernel does; `#!/usr/bin/env NAME` also by
 * NAME, which env runs.
 */
static int untraceable(const char *prog, const char *lib, char *why, size_t cap)
{
	char path[PATH_MAX], interp[PATH_MAX], arg[PATH_MAX], what[3 * PATH_MAX + 64], sec[64];
	struct elf_info ei, li;

	if (resolve(prog, path, sizeof(path)) < 0)
		return 0;
	snprintf(what, sizeof(what), "%s", prog);
	for (int level = 0; level < 5; level++) {
		int env;

		if (elf_read(path, &ei) < 0)
			return 0;
		if (ei.is_elf) {
			if (!ei.has_interp) {
				snprintf(why, cap, "%s is statically linked: LD_PRELOAD cannot trace "
					 "it", what);
				return 1;
			}
			if (secure_exec(path, sec, sizeof(sec))) {
				snprintf(why, cap, "%s is %s: the loader ignores LD_PRELOAD for it, "
					 "so it cannot be traced", what, sec);
				return 1;
			}
			if (elf_read(lib, &li) == 0 && li.is_elf &&
			    (li.cls != ei.cls || li.machine != ei.machine)) {
				snprintf(why, cap, "%s is a %d-bit program for ELF machine %u, "
					 "libctrace.so a %d-bit one for machine %u: the loader "
					 "cannot preload it", what, ei.cls == ELFCLASS64 ? 64 : 32,
					 ei.machine, li.cls == ELFCLASS64 ? 64 : 32, li.machine);
				return 1;
			}
			return 0;
		}
		if (shebang(path, interp, sizeof(interp), arg, sizeof(arg)) < 0)
			return 0; /* not ELF nor a script: execvp hands it to /bin/sh */
		env = !strcmp(ct_basename(interp), "env") && arg[0] && arg[0] != '-';
		if (level == 0)
			snprintf(what, sizeof(what), "%s's interpreter %s", prog, interp);
		else
			snprintf(what, sizeof(what), "%s's interpreter %s (through %s)", prog,
				 interp, path);
		if (env) {
			/* the kernel runs env; if env itself is fine, what it runs */
			char target[PATH_MAX];

			arg[strcspn(arg, " \t")] = 0;
			if (untraceable(interp, lib, why, cap)) {
				char *tmp = ct_xstrdup(why);

				snprintf(why, cap, "%s's interpreter: %s", prog, tmp);
				free(tmp);
				return 1;
			}
			if (resolve(arg, target, sizeof(target)) < 0)
				return 0;
			snprintf(what, sizeof(what), "%s's interpreter %s (run by %s)", prog, arg,
				 interp);
			snprintf(path, sizeof(path), "%s", target);
			continue;
		}
		snprintf(path, sizeof(path), "%s", interp);
	}
	return 0;
}

/* ---- the trace files of the run ---------------------------------------------------- */

/*
 * Whether name is a file the preload library may create for the CTRACE_OUT basename pat:
 * every %p a pid (digits), %% a '%', and, because an existing name is never replaced,
 * optionally ".N" inserted before the last '.' (at the end when there is none).
 */
static int name_match(const char *pat, const char *ins, const char *name)
{
	if (pat == ins && *name == '.' && name[1] >= '0' && name[1] <= '9') {
		const char *d = name + 1;

		while (*d >= '0' && *d <= '9')
			d++;
		if (name_match(pat, NULL, d))
			return 1;
	}
	if (!*pat)
		return !*name;
	if (pat[0] == '%' && pat[1] == 'p') {
		if (*name < '0' || *name > '9')
			return 0;
		for (const char *d = name; *d >= '0' && *d <= '9'; d++)
			if (name_match(pat + 2, ins, d + 1))
				return 1;
		return 0;
	}
	if (pat[0] == '%' && pat[1] == '%')
		return *name == '%' && name_match(pat + 2, ins, name + 1);
	return *name == *pat && name_match(pat + 1, ins, name + 1);
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory and basename pattern of out (dir "." when out has no slash). */
static void split_out(const char *out, char *dir, size_t dcap, const char **base)
{
	const char *slash = strrchr(out, '/');

	if (!slash) {
		snprintf(dir, dcap, ".");
		*base = out;
	} else {
		snprintf(dir, dcap, "%.*s", slash == out ? 1 : (int)(slash - out), out);
		*base = slash + 1;
	}
}

/* Whether the trace files can be created where out puts them: 0, or -1 with one sentence
 * in why. Checked before PROGRAM runs, since a trace that cannot be created shows up only
 * afterwards, as a program that seems to have dropped LD_PRELOAD. The directory must exist
 * and be writable and searchable by this user (root passes those checks on any mode bits,
 * so it is checked to be a directory first; a read-only file system still fails). A %p in
 * the directory part is per process: then only the directories before it are checked. */
static int out_dir_ok(const char *out, char *why, size_t cap)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *base, *p;
	struct stat st;
	size_t n = 0;
	int whole = 1;

	split_out(out, dir, sizeof(dir), &base);
	for (p = dir; *p && n + 1 < sizeof(path); p++) {
		if (p[0] == '%' && p[1] == 'p') {
			whole = 0;
			break;
		}
		if (p[0] == '%' && p[1] == '%')
			p++;
		path[n++] = *p;
	}
	path[n] = 0;
	if (!whole) {
		char *slash = strrchr(path, '/');

		if (!slash)
			snprintf(path, sizeof(path), ".");
		else
			slash[slash == path] = 0;
	}
	if (stat(path, &st) < 0) {
		snprintf(why, cap, "cannot create %s: directory %s: %s", out, path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, cap, "cannot create %s: %s is not a directory", out, path);
		return -1;
	}
	if (whole && faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) < 0) {
		snprintf(why, cap, "cannot create %s: directory %s: %s", out, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Every name in the directory of out that matches its pattern, sorted. */
static void list_traces(const char *out, struct names *ns)
{
	char dir[PATH_MAX];
	const char *base, *ins = NULL;
	DIR *d;
	struct dirent *e;

	split_out(out, dir, sizeof(dir), &base);
	/* the last '.' of the basename; none: at the end */
	ins = strrchr(base, '.');
	if (!ins)
		ins = base + strlen(base);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!name_match(base, ins, e->d_name))
			continue;
		ct_grow(&ns->v, &ns->cap, ns->n + 1, sizeof(*ns->v));
		ns->v[ns->n++] = ct_xstrdup(e->d_name);
	}
	closedir(d);
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_str);
}

/* One trace file the run created, and what its header says. */
struct trace_file {
	char path[2 * PATH_MAX + 2];
	int readable;
	struct ct_file_header h;
};

static int cmp_trace(const void *pa, const void *pb)
{
	const struct trace_file *a = pa, *b = pb;

	if (a->readable != b->readable)
		return a->readable ? -1 : 1;
	if (a->readable && a->h.start_mono_ns != b->h.start_mono_ns)
		return a->h.start_mono_ns < b->h.start_mono_ns ? -1 : 1;
	return strcmp(a->path, b->path);
}

/* The files matching out now that were not in before, by creation (header start time). */
static struct trace_file *new_traces(const char *out, const struct names *before, size_t *n)
{
	struct names now = { 0 };
	struct trace_file *t;
	char dir[PATH_MAX];
	const char *base;

	split_out(out, dir, sizeof(dir), &base);
	list_traces(out, &now);
	t = ct_xcalloc(now.n ? now.n : 1, sizeof(*t));
	*n = 0;
	for (size_t i = 0; i < now.n; i++) {
		struct ct_reader *r = NULL;

		if (before->n && bsearch(&now.v[i], before->v, before->n, sizeof(*before->v),
					 cmp_str))
			continue;
		if (strchr(out, '/'))
			snprintf(t[*n].path, sizeof(t[*n].path), "%s/%s",
				 strcmp(dir, "/") ? dir : "", now.v[i]);
		else
			snprintf(t[*n].path, sizeof(t[*n].path), "%s", now.v[i]);
		if (ct_reader_open(t[*n].path, &r) == 0 && r) {
			t[*n].readable = 1;
			t[*n].h = *ct_reader_header(r);
			t[*n].h.exe[sizeof(t[*n].h.exe) - 1] = 0;
			ct_reader_close(r);
		}
		(*n)++;
	}
	names_free(&now);
	if (*n > 1)
		qsort(t, *n, sizeof(*t), cmp_trace);
	return t;
}

/* The name pid ends as, read while it is a zombie (comm: the basename of the image it
 * last exec'd, or what it named its main thread); "" when unknown. */
static void final_comm(pid_t pid, char *buf, size_t cap)
{
	char path[64];
	int fd;
	ssize_t n;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/*
 * Whether the trace t is of the image the process ended as, comm being its name then:
 * comm is its executable's basename (the first 15 bytes), or a name its main thread had
 * (a thread state or THREAD_NAME event of tid pid), or the trace is complete and lasts
 * until about the exit (exit_ns, CLOCK_MONOTONIC like the trace): a program may rename
 * its main thread with prctl unseen, but an image exec'd after this one runs past the
 * trace's end, and one exec'd behind libctrace's back (a raw execve) leaves it without
 * its final flush (exit_ns UINT64_MAX: by the names alone). Read with the reader alone,
 * until a name matches.
 */
#define EXIT_SLACK_NS 200000000ull /* the exit path after the final flush */
static int trace_is(const struct trace_file *t, const char *comm, uint64_t exit_ns)
{
	struct ct_reader *r = NULL;
	struct ct_record rec;
	uint64_t end = 0;
	int same = 0;

	if (!strncmp(ct_basename(t->h.exe), comm, 15))
		return 1;
	if (ct_reader_open(t->path, &r) < 0 || !r)
		return 0;
	while (!same && ct_reader_next(r, &rec) == 1) {
		if (rec.type == CT_REC_THREAD && rec.thread.tid == t->h.pid) {
			same = !strncmp(rec.thread.name, comm, 15);
		} else if (rec.type == CT_REC_EVENT) {
			if (rec.ev.ts > end)
				end = rec.ev.ts;
			if (rec.ev.type == CT_EV_THREAD_NAME &&
			    (ct_ev_thread_name_tid(&rec.ev) ? ct_ev_thread_name_tid(&rec.ev) :
							       rec.tid) == t->h.pid) {
				char name[CT_NAME_LEN + 1] = "";

				ct_ev_thread_name_get(&rec.ev, name);
				same = !strncmp(name, comm, 15);
			}
		} else if (rec.type == CT_REC_GEN_END && rec.end_ts > end) {
			end = rec.end_ts;
		} else if (rec.type == CT_REC_GEN_BEGIN && rec.ts_mono > end) {
			end = rec.ts_mono;
		}
	}
	if (!same && ct_reader_truncated(r))
		end = 0;
	ct_reader_close(r);
	return same || (exit_ns != UINT64_MAX && end && exit_ns <= end + EXIT_SLACK_NS);
}

/*
 * After the run: one line per trace file created (the program's own first when it is
 * the only one), or why there is none. known: the reason found before the run, or NULL;
 * exit_ns: when the process exited (0: killed by a signal, its trace may be cut short).
 */
static void report_traces(const char *prog, const char *out, const struct names *before,
			  pid_t pid, const char *comm, uint64_t exit_ns, const char *known)
{
	size_t n, own = 0, last_own = (size_t)-1;
	struct trace_file *t = new_traces(out, before, &n);

	for (size_t i = 0; i < n; i++)
		if (t[i].readable && t[i].h.pid == (uint32_t)pid) {
			own++;
			last_own = i;
		}
	if (n == 1) {
		ct_err("trace written to %s", t[0].path);
	} else {
		for (size_t i = 0; i < n && i < MAX_LISTED; i++) {
			const struct trace_file *f = &t[i];

			if (!f->readable)
				ct_err("trace written to %s (no complete header)", f->path);
			else if (f->h.pid == (uint32_t)pid)
				ct_err("trace written to %s (pid %" PRIu32 ": %s)", f->path, f->h.pid,
				       f->h.exe);
			else
				ct_err("trace written to %s (pid %" PRIu32 ", child of %" PRIu32
				       ": %s)", f->path, f->h.pid, f->h.ppid, f->h.exe);
		}
		if (n > MAX_LISTED)
			ct_err("... and %zu more trace files matching %s", n - MAX_LISTED, out);
	}
	if (getenv("CTRACE_MODE") && !strcmp(getenv("CTRACE_MODE"), "flight")) {
		/* snapshots only: none is no sign of a lost LD_PRELOAD */
		if (!n)
			ct_err("no trace written: in flight mode (CTRACE_MODE=flight) a snapshot is "
			       "written only when a trigger fires");
	} else if (!n && known) {
		ct_err("no trace written: %s", known);
	} else if (!own && known) {
		ct_err("%s left no trace: %s", prog, known);
	} else if (!own) {
		ct_err("%s: no trace of %s's own process (pid %ld%s%s): it or a program it "
		       "started dropped LD_PRELOAD from the environment", n ? "traces of other "
		       "processes only" : "no trace written", prog, (long)pid,
		       comm[0] ? ", ended as " : "", comm);
	} else if (comm[0] && exit_ns &&
		   !trace_is(&t[last_own], comm, known ? UINT64_MAX : exit_ns)) {
		/* (an image known to be untraceable: its name alone tells) */
		if (known)
			ct_err("%s's process (pid %ld) ended as %s, which left no trace: %s", prog,
			       (long)pid, comm, known);
		else
			ct_err("%s's process (pid %ld) ended as %s, which left no trace: %s or a "
			       "program it started dropped LD_PRELOAD from the environment", prog,
			       (long)pid, comm, prog);
	}
	free(t);
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

struct rec_args {
	const char *out;
	const char *follow;  /* CTRACE_FOLLOW for PROGRAM: "none" with --no-follow */
	const char **checks; /* the --check values, parsed once getopt_long is done with argv */
	int nchecks;
	const char *duration; /* --duration */
};

static int set(void *st, const struct ct_opt *row, const char *opt, const char *val, char *err,
	       size_t errlen)
{
	struct rec_args *x = st;

	(void)opt, (void)err, (void)errlen;
	if (row->key == 'o')
		x->out = val;
	else if (row->key == OPT_DURATION)
		x->duration = val;
	else if (row->key == OPT_NO_FOLLOW)
		x->follow = "none";
	else
		x->checks[x->nchecks++] = val;
	return 0;
}

/* --duration: PROGRAM's recording is paused once ns have passed (ctrace pause), unless it
 * ended before. */
static void pause_after(pid_t pid, uint64_t ns)
{
	struct timespec t0, t, tick = { 0, 10000000L };
	siginfo_t si;
	char reply[64];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 && si.si_pid)
			return; /* it ended */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec -
		    (uint64_t)t0.tv_nsec >= ns)
			break;
		nanosleep(&tick, NULL);
	}
	if (ct_ctl_request((int)pid, "pause\n", reply, sizeof(reply), 1) != 0) {
		memset(&si, 0, sizeof(si));
		if (!(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 && si.si_pid))
			ct_err("record: --duration: could not pause %d; it is traced to its end",
			       (int)pid);
	}
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int ct_cmd_record(int argc, char **argv)
{
	const char *out = NULL, *old, *follow = NULL;
	char lib[PATH_MAX + 64], path[PATH_MAX + 32], *preload;
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward };
	struct sigaction old_int, old_quit;
	int i, pfd[2], status, err = 0;
	ssize_t n;
	pid_t pid;
	struct ct_check_opts chk = { 0 };
	int checks = 0, rc, blocked;
	char why[WHY_MAX], comm[64] = "";
	struct names before = { 0 };
	siginfo_t si;
	struct timespec now;
	uint64_t exit_ns, duration_ns = 0;

	{
		const char **ops = ct_xcalloc((size_t)argc + 1, sizeof(*ops));
		struct rec_args x = { NULL, NULL, ct_xcalloc((size_t)argc + 1, sizeof(char *)), 0,
				      NULL };
		size_t nops;

		rc = ct_opts_parse(&record_cmd, argc, argv, set, &x, ops, &nops, why, sizeof(why));
		free(ops);
		if (rc > 0) {
			ct_opts_help(&record_cmd, stdout);
			free(x.checks);
			return CT_EXIT_OK;
		}
		if (rc < 0)
			ct_die(CT_EXIT_USAGE, "record: %s", why);
		i = argc - (int)nops; /* getopt_long stopped at PROGRAM: argv[i] */
		out = x.out;
		follow = x.follow;
		if (x.duration && (ct_parse_duration(x.duration, &duration_ns) < 0 || !duration_ns))
			ct_die(CT_EXIT_USAGE, "record: --duration: '%s' is not a duration such as 10s",
			       x.duration);
		for (checks = 0; checks < x.nchecks; checks++)
			add_check(&chk, x.checks[checks]); /* exits 2 on malformed rules */
		free(x.checks);
	}
	if (i >= argc)
		ct_die(CT_EXIT_USAGE, "record: no PROGRAM given (see 'ctrace record --help')");
	if (out && !*out)
		ct_die(CT_EXIT_USAGE, "record: empty output file name");
	if (out && !strstr(out, "%p") && access(out, F_OK) == 0)
		ct_die(CT_EXIT_USAGE, "record: %s exists, not overwriting it", out);
	if (!out)
		out = DEFAULT_OUT;
	if (out_dir_ok(out, why, sizeof(why)) < 0)
		ct_die(CT_EXIT_USAGE, "record: %s; not running %s", why, argv[i]);
	if (find_lib(lib, sizeof(lib)) < 0)
		ct_die(CT_EXIT_USAGE, "record: cannot find libctrace.so (%s); set CTRACE_LIB",
		       getenv("CTRACE_LIB") && *getenv("CTRACE_LIB") ? getenv("CTRACE_LIB") :
		       "not next to the ctrace binary, in ../lib nor in its LIBDIR");

	/* a program LD_PRELOAD cannot reach still runs (what it starts may be traceable),
	 * but the user learns why before it does */
	blocked = untraceable(argv[i], lib, why, sizeof(why));
	if (blocked)
		ct_err("%s; running it anyway", why);
	list_traces(out, &before);

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
		if (setenv("LD_PRELOAD", preload, 1) < 0 || setenv("CTRACE_OUT", out, 1) < 0 ||
		    (follow && setenv("CTRACE_FOLLOW", follow, 1) < 0) ||
		    (duration_ns && setenv("CTRACE_START", "running", 1) < 0))
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
	if (duration_ns && n != (ssize_t)sizeof(err))
		pause_after(pid, duration_ns);
	/* the name the process ends as, from /proc while it is a zombie: the image it
	 * exec'd last, to tell whether that one was traced */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &now);
	exit_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	if (n != (ssize_t)sizeof(err))
		final_comm(pid, comm, sizeof(comm));
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
		names_free(&before);
		return err == ENOENT ? 127 : 126;
	}
	expand(out, pid, path, sizeof(path));
	if (WIFSIGNALED(status))
		exit_ns = 0;
	report_traces(argv[i], out, &before, pid, comm, exit_ns, blocked ? why : NULL);
	names_free(&before);
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
			uint32_t *k2t;
			size_t nk;
			char err[512];

			if (ct_model_stream(path, NULL, NULL, NULL, &m, &k2t, &nk, err,
					    sizeof(err)) < 0) {
				ct_err("record: --check: %s: %s", path, err);
				ct_check_opts_free(&chk);
				return rc;
			}
			free(k2t);
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
