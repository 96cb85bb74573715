/* SPDX-License-Identifier: MIT */
/*
 * Flight mode and recording control from outside: `ctrace snapshot PID [-o FILE]`,
 * `ctrace pause PID`, `ctrace resume PID`, and `ctrace record --duration`'s pause
 * (ct_ctl_request); and the trigger of a snapshot in the reports (trace.trigger in JSON,
 * the lines after the text report's first).
 *
 * The channel is the one preload/trigger.c describes: a private directory of this user
 * ($XDG_RUNTIME_DIR/ctrace of the process, else /tmp/ctrace-UID) where a controllable
 * process registered as PID. The request is written under a temporary name and renamed
 * to PID.req; the answer comes as PID.rep. The process's signals are used only when no
 * answer to a pause or resume comes within 200 ms (two writer periods: a process with no
 * writer thread): then the trigger signal it registered rings it. Checks first, each an
 * exit 2 with one line: the process exists and is this user's, libctrace.so is in its
 * maps, it registered (flight mode or CTRACE_START), and, for a snapshot, it is in flight
 * mode.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"
#include "model.h"
#include "util.h"
#include "../format/events.h"

/* ---- the trigger in the reports ---- */

void ct_trigger_json(struct ct_json *j, const struct ct_model *m, struct ct_frames *fr)
{
	const struct ct_event *e = &m->trigger;

	if (!m->has_trigger)
		return;
	unsigned reason = ct_ev_trigger_reason(e);
	ct_json_key(j, "trigger");
	ct_json_obj_begin(j);
	ct_json_kv_str(j, "reason", ct_trigger_name(reason));
	ct_json_kv_u64(j, "ns", e->ts > m->start_ts ? e->ts - m->start_ts : 0);
	ct_json_kv_u64(j, "tid", ct_ev_trigger_tid(e));
	ct_json_key(j, "profile");
	if (reason == CT_TR_WAIT && ct_ev_trigger_profile(e))
		ct_json_str(j, ct_profile_name(ct_ev_trigger_profile(e)));
	else
		ct_json_null(j);
	ct_json_key(j, "kind");
	if (reason == CT_TR_WAIT)
		ct_json_str(j, ct_kind_name(e->kind));
	else
		ct_json_null(j);
	ct_json_kv_u64(j, "wait_ns", ct_ev_trigger_wait_ns(e));
	ct_json_kv_u64(j, "signal", ct_ev_trigger_signo(e));
	ct_json_kv_u64(j, "suppressed", ct_ev_trigger_suppressed(e));
	ct_frames_json_stack(fr, j, "frames", e->stack);
	ct_json_obj_end(j);
}

void ct_trigger_text(FILE *f, const struct ct_model *m, struct ct_frames *fr)
{
	const struct ct_event *e = &m->trigger;
	char d[CT_DUR_BUF], at[CT_DUR_BUF];

	if (!m->has_trigger)
		return;
	unsigned reason = ct_ev_trigger_reason(e);
	fprintf(f, "flight-mode snapshot, trigger: %s at %s", ct_trigger_name(reason),
		ct_fmt_duration(e->ts > m->start_ts ? e->ts - m->start_ts : 0, at));
	if (reason == CT_TR_WAIT)
		fprintf(f, ": a %s wait (%s) of %s", ct_profile_name(ct_ev_trigger_profile(e)),
			ct_kind_name(e->kind), ct_fmt_duration(ct_ev_trigger_wait_ns(e), d));
	if (ct_ev_trigger_signo(e))
		fprintf(f, ", signal %u", ct_ev_trigger_signo(e));
	if (ct_ev_trigger_tid(e))
		fprintf(f, ", thread %" PRIu32, ct_ev_trigger_tid(e));
	if (ct_ev_trigger_suppressed(e))
		fprintf(f, "; %" PRIu64 " earlier trigger%s suppressed by CTRACE_TRIGGER_LIMIT",
			ct_ev_trigger_suppressed(e), ct_ev_trigger_suppressed(e) == 1 ? "" : "s");
	fputc('\n', f);
	const struct ct_frame *fv;
	size_t n = ct_frames_stack(fr, e->stack, &fv, NULL);
	ct_frames_write(f, fv, n, "    ", 8, CT_FRAME_MODULE);
}

/* ---- the control channel ---- */

/* The process's own XDG_RUNTIME_DIR (its environment at start), into buf; 0 or -1. */
static int proc_runtime_dir(int pid, char *buf, size_t cap)
{
	char path[64], env[65536];
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(env, 1, sizeof(env) - 1, f);
	fclose(f);
	env[n] = 0;
	for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
		if (!strncmp(env + i, "XDG_RUNTIME_DIR=", 16) && env[i + 16]) {
			snprintf(buf, cap, "%s", env + i + 16);
			return 0;
		}
	}
	return -1;
}

/* libctrace.so is mapped in the process. */
static int traced(int pid)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	int yes = 0;
	if (!f)
		return 0;
	while (!yes && fgets(line, sizeof(line), f))
		yes = strstr(line, "/libctrace.so") != NULL;
	fclose(f);
	return yes;
}

static int read_text(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = 0;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int ct_ctl_mode(int pid)
{
	char rt[3000], reg[3100], text[256];

	if (pid <= 0 || !traced(pid))
		return -1;
	if (proc_runtime_dir(pid, rt, sizeof(rt)) == 0)
		snprintf(reg, sizeof(reg), "%s/ctrace/%d", rt, pid);
	else
		snprintf(reg, sizeof(reg), "/tmp/ctrace-%u/%d", (unsigned)geteuid(), pid);
	if (read_text(reg, text, sizeof(text)) != 0)
		return -1;
	return strstr(text, "mode flight") != NULL;
}

int ct_ctl_request(int pid, const char *req, char *reply, size_t cap, int quiet)
{
	char proc[64], rt[3000], dir[3100], reg[3200], rq[3200], rp[3200], tmp[3200];
	char text[4200];
	struct stat st;

	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	if (pid <= 0 || stat(proc, &st) != 0) {
		if (!quiet)
			fprintf(stderr, "ctrace: no process %d\n", pid);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		if (!quiet)
			fprintf(stderr, "ctrace: process %d is not yours\n", pid);
		return -1;
	}
	if (!traced(pid)) {
		if (!quiet)
			fprintf(stderr, "ctrace: process %d is not traced by libctrace\n", pid);
		return -1;
	}
	if (proc_runtime_dir(pid, rt, sizeof(rt)) == 0)
		snprintf(dir, sizeof(dir), "%s/ctrace", rt);
	else
		snprintf(dir, sizeof(dir), "/tmp/ctrace-%u", (unsigned)geteuid());
	snprintf(reg, sizeof(reg), "%s/%d", dir, pid);
	snprintf(rq, sizeof(rq), "%s/%d.req", dir, pid);
	snprintf(rp, sizeof(rp), "%s/%d.rep", dir, pid);
	snprintf(tmp, sizeof(tmp), "%s/%d.req.%d", dir, pid, (int)getpid());
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) || read_text(reg, text, sizeof(text)) != 0) {
		if (!quiet)
			fprintf(stderr, "ctrace: process %d cannot be controlled: it was started "
				"without CTRACE_MODE=flight or CTRACE_START\n", pid);
		return -1;
	}
	int flight = strstr(text, "mode flight") != NULL, sig = 0;
	const char *s = strstr(text, "signal ");
	if (s)
		sig = atoi(s + 7);
	if (!strncmp(req, "snapshot", 8) && !flight) {
		if (!quiet)
			fprintf(stderr, "ctrace: process %d is not in flight mode (CTRACE_MODE=flight)\n",
				pid);
		return -1;
	}
	unlink(rp);
	FILE *f = fopen(tmp, "w");
	if (!f || fputs(req, f) < 0 || fclose(f) != 0 || rename(tmp, rq) != 0) {
		unlink(tmp);
		if (!quiet)
			fprintf(stderr, "ctrace: cannot write the request in %s: %s\n", dir,
				strerror(errno));
		return -1;
	}
	/* the writer looks every period (100 ms); a snapshot may take a while to write */
	int rang = 0;
	for (int ms = 0; ms < 60000; ms += 10) {
		if (read_text(rp, text, sizeof(text)) == 0 && strchr(text, '\n')) {
			unlink(rp);
			*strchr(text, '\n') = 0;
			if (strncmp(text, "ok ", 3) != 0) {
				if (!quiet)
					fprintf(stderr, "ctrace: process %d: %s\n", pid,
						strncmp(text, "error ", 6) ? text : text + 6);
				return -1;
			}
			snprintf(reply, cap, "%s", text + 3);
			return 0;
		}
		if (kill(pid, 0) != 0) {
			unlink(rq);
			if (!quiet)
				fprintf(stderr, "ctrace: process %d ended before it answered\n", pid);
			return -1;
		}
		if (ms == 200 && sig > 0 && strncmp(req, "snapshot", 8) && !rang) {
			rang = 1; /* no writer thread took it: the trigger signal rings */
			kill(pid, sig);
		}
		sleep_ms(10);
	}
	unlink(rq);
	if (!quiet)
		fprintf(stderr, "ctrace: process %d did not answer (no recorded event since the "
			"request, and no writer thread)\n", pid);
	return -1;
}

static int parse_pid(const char *cmd, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v <= 0 || v > INT_MAX)
		ct_die(CT_EXIT_USAGE, "%s: '%s' is not a process id", cmd, s);
	return (int)v;
}

int ct_cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: ctrace snapshot PID [-o FILE]\n\n"
			       "Asks a process running under CTRACE_MODE=flight for a snapshot of the "
			       "recent past now,\nwaits until the file is complete and prints its "
			       "path. FILE (default: the process's\nCTRACE_OUT) is never overwritten: "
			       "FILE.1, FILE.2, ... are taken instead.\n"
			       "exit status: 0 written, 2 not traced, not in flight mode, not yours, or "
			       "no answer\n");
			return CT_EXIT_OK;
		}
		if (c == 'o')
			out = optarg;
		else
			return CT_EXIT_USAGE;
	}
	if (optind != argc - 1)
		ct_die(CT_EXIT_USAGE, "snapshot: usage: ctrace snapshot PID [-o FILE]");
	int pid = parse_pid("snapshot", argv[optind]);
	char req[8192], abs[PATH_MAX + 8], reply[4200];
	if (out && out[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			ct_die(CT_EXIT_USAGE, "snapshot: cannot get the working directory");
		snprintf(abs, sizeof(abs), "%s/%s", cwd, out);
		out = abs;
	}
	snprintf(req, sizeof(req), "snapshot\n%s\n", out ? out : "");
	if (ct_ctl_request(pid, req, reply, sizeof(reply), 0) != 0)
		return CT_EXIT_USAGE;
	printf("%s\n", reply);
	return CT_EXIT_OK;
}

static int pause_resume(int argc, char **argv, const char *what)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: ctrace %s PID\n\n%s recording in a process started with "
		       "CTRACE_START=paused or running\n(or CTRACE_MODE=flight). A paused tracer "
		       "records nothing and costs what a disabled one does.\n"
		       "exit status: 0 done, 2 not traced, not controllable, not yours, or no "
		       "answer\n", what, !strcmp(what, "pause") ? "Stops" : "Starts again");
		return CT_EXIT_OK;
	}
	if (argc != 2)
		ct_die(CT_EXIT_USAGE, "%s: usage: ctrace %s PID", what, what);
	int pid = parse_pid(what, argv[1]);
	char req[32], reply[256];
	snprintf(req, sizeof(req), "%s\n", what);
	if (ct_ctl_request(pid, req, reply, sizeof(reply), 0) != 0)
		return CT_EXIT_USAGE;
	printf("%d %s\n", pid, reply);
	return CT_EXIT_OK;
}

int ct_cmd_pause(int argc, char **argv)
{
	return pause_resume(argc, argv, "pause");
}

int ct_cmd_resume(int argc, char **argv)
{
	return pause_resume(argc, argv, "resume");
}
