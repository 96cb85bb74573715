/* SPDX-License-Identifier: MIT */
/*
 * Triggers of flight-mode snapshots (CTRACE_TRIGGER) and the control channel of
 * `ctrace snapshot`, `ctrace pause` and `ctrace resume`.
 *
 * Triggers. `signal`: CTRACE_TRIGGER_SIGNAL (SIGUSR2) while its disposition is the
 * default, where libctrace's fatal-signal handler is installed (signal.c): the handler
 * notes it and wakes the writer, nothing more; a handler or SIG_IGN the program installs
 * replaces libctrace's, and the signal is the program's again. `crash`: a fatal signal
 * (signal.c's handler, on libctrace's alternate stack): the snapshot is written by the
 * final flush on the flush stack, then the default action runs (status, core). `exit`:
 * the final flush at exit writes one. `PROFILE>DURATION`: the writer looks at the events
 * it drains (never the program's threads): a WAIT_END or SYSCALL longer than DURATION in
 * the profile, and, every writer period, every wait begun (WAIT_BEGIN drained) and not
 * ended for longer than DURATION, so that a stuck thread or a deadlock triggers too; each
 * wait triggers once. A system call still in progress is seen when it ends.
 * CTRACE_TRIGGER_LIMIT: at most N snapshots in a minute window (signal and slow-wait
 * triggers); the others are counted and the next snapshot's TRIGGER record says how many
 * (a trigger that comes while one waits for CTRACE_TRIGGER_AFTER is counted likewise).
 *
 * The control channel: a directory only this user may use, $XDG_RUNTIME_DIR/ctrace, or
 * /tmp/ctrace-UID, created 0700 and checked (owner, mode, not a symlink). A process in
 * flight mode, or started with CTRACE_START, registers there as PID (its mode and its
 * trigger signal). `ctrace` writes a request as PID.req (renamed into place whole); the
 * writer looks for it every period, removes it, acts and answers in PID.rep (renamed into
 * place whole): "ok PATH" for a snapshot (a request "snapshot\nPATH\nlive G\n", `ctrace
 * top`'s, gets one of the generations after G only, with no TRIGGER record, that leaves
 * the count of suppressed triggers alone; no snapshot request counts against
 * CTRACE_TRIGGER_LIMIT), "ok paused", "ok resumed", or "error WHY". A
 * process with no writer thread (single-threaded, or paused before it made one) is rung
 * with the trigger signal by `ctrace` when no answer comes: the handler then takes a
 * pause or resume request itself (open, read, unlink, rename: async-signal-safe calls).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrace.h"
#include "flush.h"
#include "trigger.h"
#include "../format/events.h"

/* ---- the control channel ---- */

int ct_ctl_on;
atomic_int ct_paused;
static char ctl_reg[4096], ctl_req[4096], ctl_rep[4096], ctl_tmp[4096];

/* dir exists, is a directory of ours with no access for others, not a symlink; made
 * 0700 when missing. 0 or -1. */
static int private_dir(const char *dir)
{
	struct stat st;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return -1;
	return 0;
}

/* Writes text to path whole (a temporary name renamed over it). Signal-safe. */
static void put_file(const char *path, const char *text)
{
	int f = open(ctl_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0)
		return;
	ssize_t r = write(f, text, strlen(text));
	close(f);
	if (r == (ssize_t)strlen(text))
		rename(ctl_tmp, path);
	else
		unlink(ctl_tmp);
}

void ct_ctl_init(void)
{
	if (!ct_cfg.flight && !getenv("CTRACE_START"))
		return;
	char dir[3072];
	const char *x = getenv("XDG_RUNTIME_DIR");
	if (x && *x && strlen(x) < 2048) {
		snprintf(dir, sizeof(dir), "%s/ctrace", x);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/ctrace-%u", (unsigned)geteuid());
	}
	if (private_dir(dir) != 0)
		return;
	int pid = (int)getpid();
	snprintf(ctl_reg, sizeof(ctl_reg), "%s/%d", dir, pid);
	snprintf(ctl_req, sizeof(ctl_req), "%s/%d.req", dir, pid);
	snprintf(ctl_rep, sizeof(ctl_rep), "%s/%d.rep", dir, pid);
	snprintf(ctl_tmp, sizeof(ctl_tmp), "%s/%d.tmp", dir, pid);
	unlink(ctl_req); /* a request left for an earlier process of this pid */
	char text[128];
	snprintf(text, sizeof(text), "mode %s\nsignal %d\n", ct_cfg.flight ? "flight" : "stream",
		 (ct_cfg.flight && !(ct_cfg.triggers & CT_TRIG_SIGNAL)) ? 0 : ct_cfg.trig_signal);
	put_file(ctl_reg, text);
	ct_ctl_on = 1;
}

void ct_ctl_exit(void)
{
	if (!ct_ctl_on || getpid() != ct_pid)
		return;
	ct_ctl_on = 0;
	unlink(ctl_reg);
	unlink(ctl_req);
}

/* The request, if any, into buf (NUL-terminated); its length, or -1. Signal-safe. */
static ssize_t read_request(char *buf, size_t cap)
{
	int f = open(ctl_req, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return -1;
	ssize_t n = read(f, buf, cap - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? n : 0;
}

/* Tracing paused (0) or resumed (1) by `ctrace pause` / `resume` or the trigger signal:
 * while paused, the waits in progress still record their end (ct_paused, read by
 * ct_wait_end_result), or their WAIT_BEGIN would stay open for good (a slow-wait
 * trigger, a wait counted up to the end of the trace). */
static void set_active(int on)
{
	if (!on)
		atomic_store(&ct_paused, 1);
	atomic_store(&ct_active, on);
	if (on)
		atomic_store(&ct_paused, 0);
}

/* pause / resume, from the writer or the trigger signal's handler. 1 if it was one. */
static int pause_resume(const char *req)
{
	if (strcmp(req, "pause\n") && strcmp(req, "resume\n"))
		return 0;
	unlink(ctl_req);
	int resume = req[0] == 'r';
	if (atomic_load(&ct_fl.finished)) {
		put_file(ctl_rep, "error the trace is finished\n");
		return 1;
	}
	set_active(resume);
	put_file(ctl_rep, resume ? "ok resumed\n" : "ok paused\n");
	return 1;
}

static int req_pending;                 /* a snapshot request waits for the writer */
static int req_live;                    /* ... from `ctrace top` (a third line "live G") */
static uint32_t req_after_gen;
static char req_pattern[4096 + 64];

void ct_ctl_poll(uint64_t now)
{
	(void)now;
	char buf[4096 + 80];
	if (!ct_ctl_on || getpid() != ct_pid || read_request(buf, sizeof(buf)) < 0)
		return;
	if (pause_resume(buf))
		return;
	unlink(ctl_req);
	if (strncmp(buf, "snapshot\n", 9) != 0) {
		put_file(ctl_rep, "error unknown request\n");
		return;
	}
	if (!ct_cfg.flight) {
		put_file(ctl_rep, "error not in flight mode (CTRACE_MODE=flight)\n");
		return;
	}
	char *pat = buf + 9, *nl = strchr(pat, '\n');
	if (nl)
		*nl = 0;
	req_live = nl && !strncmp(nl + 1, "live", 4);
	req_after_gen = req_live ? (uint32_t)strtoul(nl + 5, NULL, 10) : 0;
	size_t pl = strlen(pat) < sizeof(req_pattern) - 1 ? strlen(pat) : sizeof(req_pattern) - 1;
	memcpy(req_pattern, pat, pl);
	req_pattern[pl] = 0;
	req_pending = 1;
}

/* ---- triggers ---- */

static atomic_int sig_pending;
static _Atomic uint64_t sig_ts;
static volatile int crash_sig;
static volatile pid_t crash_tid;
static _Atomic uint64_t crash_ts;

int ct_trigger_signal(int sig)
{
	/* flight mode without the signal trigger: the signal is the program's (registered as
	 * "signal 0": ctrace never rings), its default action runs (and a crash trigger) */
	if (sig != ct_cfg.trig_signal || getpid() != ct_pid ||
	    (ct_cfg.flight && !(ct_cfg.triggers & CT_TRIG_SIGNAL)))
		return 0;
	if (ct_ctl_on) {
		/* in a handler on a program thread: a cancellation it left pending must not
		 * act in the request's open, read, unlink or the reply's write */
		char buf[64];
		int cs, done;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
		done = read_request(buf, sizeof(buf)) >= 0 && pause_resume(buf);
		pthread_setcancelstate(cs, NULL);
		if (done)
			return 1; /* `ctrace` rang: a pause or resume request */
	}
	if (ct_cfg.flight && (ct_cfg.triggers & CT_TRIG_SIGNAL)) {
		atomic_store(&sig_ts, ct_now());
		atomic_store(&sig_pending, 1);
		ct_flush_wake_writer();
		return 1;
	}
	if (ct_cfg.start_paused || ct_ctl_on) {
		if (!atomic_load(&ct_fl.finished))
			set_active(1); /* the trigger signal resumes */
		return 1;
	}
	return 0;
}

void ct_trigger_crash(int sig)
{
	if (!ct_cfg.flight || crash_sig)
		return;
	crash_ts = ct_now();
	crash_tid = gettid();
	crash_sig = sig;
}

static struct ct_trig pend;
static int have_pend;
static uint64_t pend_at;
static uint64_t window_start, suppressed;
static unsigned window_count;

/* A trigger, rate limited. */
static void fire(const struct ct_trig *t)
{
	if (have_pend) {
		suppressed++; /* merged into the one that waits for CTRACE_TRIGGER_AFTER */
		return;
	}
	if (!window_start || t->ts - window_start >= 60000000000ull) {
		window_start = t->ts;
		window_count = 0;
	}
	if (window_count >= ct_cfg.trig_limit) {
		suppressed++;
		return;
	}
	window_count++;
	pend = *t;
	have_pend = 1;
	pend_at = t->ts + ct_cfg.trig_after_ns;
}

/* The slow-wait trigger's view of each thread: its wait in progress. An open-addressing
 * table by tid; a closed entry is reused when a probe finds no free one. */
struct wslot {
	uint32_t tid, stack;
	uint8_t kind, open, fired;
	uint64_t ts, obj;
};
#define WPROBE 64
static struct wslot *wt;
static size_t wt_cap;

static struct wslot *wslot(uint32_t tid, int insert)
{
	if (!wt) {
		if (!insert)
			return NULL;
		size_t c = 1024;
		while (c < 2 * (size_t)ct_cfg.max_threads)
			c <<= 1;
		void *p = ct_map(c, sizeof(*wt), 0);
		if (!p)
			return NULL;
		wt = p;
		wt_cap = c;
	}
	struct wslot *reuse = NULL;
	size_t h = (tid * 0x9E3779B1u) & (wt_cap - 1);
	for (size_t i = 0; i < WPROBE; i++) {
		struct wslot *s = &wt[(h + i) & (wt_cap - 1)];
		if (s->tid == tid)
			return s;
		if (s->tid == 0) {
			if (!insert)
				return NULL;
			s->tid = tid;
			return s;
		}
		if (!s->open && !reuse)
			reuse = s;
	}
	if (!insert || !reuse)
		return NULL;
	memset(reuse, 0, sizeof(*reuse));
	reuse->tid = tid;
	return reuse;
}

static int profile_matches(unsigned profile)
{
	return profile != CT_P_NONE &&
	       (ct_cfg.trig_profile == CT_P_NONE || ct_cfg.trig_profile == profile);
}

static void fire_wait(uint64_t ts, uint32_t tid, unsigned kind, unsigned profile,
		      uint32_t stack, uint64_t obj, uint64_t wait_ns)
{
	struct ct_trig t = { .ts = ts, .reason = CT_TR_WAIT, .tid = tid, .kind = kind,
			     .profile = profile, .stack = stack, .obj = obj,
			     .wait_ns = wait_ns };
	fire(&t);
}

void ct_trigger_see(uint32_t tid, const struct ct_event *ev)
{
	struct wslot *s;
	switch (ev->type) {
	case CT_EV_WAIT_BEGIN:
		if ((s = wslot(tid, 1))) {
			s->ts = ev->ts;
			s->kind = ev->kind;
			s->stack = ev->stack;
			s->obj = ev->obj;
			s->open = 1;
			s->fired = 0;
		}
		break;
	case CT_EV_WAIT_END:
		if ((s = wslot(tid, 0)) && s->open) {
			s->open = 0;
			unsigned p = ct_kind_profile(s->kind);
			if (!s->fired && ct_ev_wait_end_result(ev) != CT_R_RELEASED &&
			    ev->ts > s->ts && ev->ts - s->ts > ct_cfg.trig_wait_ns &&
			    profile_matches(p))
				fire_wait(ev->ts, tid, s->kind, p, s->stack, s->obj, ev->ts - s->ts);
		}
		break;
	case CT_EV_SYSCALL: {
		uint64_t d = ct_ev_syscall_duration(ev);
		unsigned p = ct_syscall_profile(ev->kind, ct_ev_syscall_fd_class(ev));
		if (d > ct_cfg.trig_wait_ns && profile_matches(p))
			fire_wait(ct_ev_syscall_end(ev), tid, ev->kind, p, ev->stack,
				  ct_ev_syscall_fd(ev), d);
		break;
	}
	case CT_EV_THREAD_END:
		if ((s = wslot(tid, 0)))
			s->open = 0;
		break;
	default:
		break;
	}
}

/* Waits begun and not ended for longer than the threshold. */
static void scan_waits(uint64_t now)
{
	for (size_t i = 0; wt && i < wt_cap; i++) {
		struct wslot *s = &wt[i];
		unsigned p;
		if (!s->tid || !s->open || s->fired || now <= s->ts ||
		    now - s->ts <= ct_cfg.trig_wait_ns || !profile_matches(p = ct_kind_profile(s->kind)))
			continue;
		s->fired = 1;
		fire_wait(now, s->tid, s->kind, p, s->stack, s->obj, now - s->ts);
	}
}

void ct_trigger_fork_child(void)
{
	/* the parent's triggers are the parent's: its waits (whose threads the child does not
	 * have), a trigger waiting for CTRACE_TRIGGER_AFTER, a signal not yet taken, a
	 * request, the rate limit's window */
	if (wt)
		memset(wt, 0, wt_cap * sizeof(*wt));
	atomic_store(&sig_pending, 0);
	have_pend = 0;
	req_pending = 0;
	suppressed = 0;
	window_start = 0;
	window_count = 0;
}

uint64_t ct_trigger_pending_ts(void)
{
	return have_pend ? pend.ts : 0;
}

static void take(struct ct_trig *t)
{
	*t = pend;
	t->suppressed = suppressed;
	suppressed = 0;
	have_pend = 0;
}

/* The trigger signal arrived since the last look: it fires (the signal handler only notes
 * it). Writer thread, or the final flush. */
static void signal_fired(void)
{
	if (atomic_exchange(&sig_pending, 0)) {
		struct ct_trig s = { .ts = atomic_load(&sig_ts), .reason = CT_TR_SIGNAL,
				     .signo = (unsigned)ct_cfg.trig_signal };
		fire(&s);
	}
}

int ct_trigger_due(uint64_t now, struct ct_trig *t, char *pattern, size_t cap,
		   int *have_pattern)
{
	*have_pattern = 0;
	if (req_pending) {
		req_pending = 0;
		*t = (struct ct_trig){ .ts = now, .reason = CT_TR_REQUEST, .request = 1,
				       .live = req_live, .after_gen = req_after_gen,
				       .suppressed = req_live ? 0 : suppressed };
		if (!req_live)
			suppressed = 0;
		if (req_pattern[0]) {
			snprintf(pattern, cap, "%s", req_pattern);
			*have_pattern = 1;
		}
		return 1;
	}
	signal_fired();
	if (ct_cfg.triggers & CT_TRIG_WAIT)
		scan_waits(now);
	if (have_pend && now >= pend_at) {
		take(t);
		return 1;
	}
	return 0;
}

int ct_trigger_final(int in_signal, uint64_t now, struct ct_trig *t, char *pattern,
		     size_t cap, int *have_pattern)
{
	*have_pattern = 0;
	if (crash_sig && (ct_cfg.triggers & CT_TRIG_CRASH)) {
		*t = (struct ct_trig){ .ts = crash_ts, .reason = CT_TR_CRASH,
				       .tid = (uint32_t)crash_tid, .signo = (unsigned)crash_sig,
				       .suppressed = suppressed };
		return 1;
	}
	if (in_signal)
		return 0;
	signal_fired(); /* a trigger signal the writer had no cycle left to see */
	if (have_pend || req_pending) {
		if (!have_pend)
			return ct_trigger_due(now, t, pattern, cap, have_pattern);
		take(t); /* written before CTRACE_TRIGGER_AFTER is over: the process ends */
		return 1;
	}
	if (ct_cfg.triggers & CT_TRIG_EXIT) {
		*t = (struct ct_trig){ .ts = now, .reason = CT_TR_EXIT, .tid = (uint32_t)gettid(),
				       .suppressed = suppressed };
		return 1;
	}
	return 0;
}

void ct_trigger_written(const struct ct_trig *t, const char *path)
{
	if (!t->request || !ct_ctl_on)
		return;
	char text[4096 + 80];
	if (path)
		snprintf(text, sizeof(text), "ok %s\n", path);
	else
		snprintf(text, sizeof(text), "error the snapshot could not be written\n");
	put_file(ctl_rep, text);
}
