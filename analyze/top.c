/* SPDX-License-Identifier: MIT */
/*
 * `ctrace top PID|FILE`: a live view of a process being traced. Its events go through the
 * streaming analyzer's engine (engine.h) as its trace grows, a generation at a time (a
 * source, top_source.h: the file followed, top_file.c, or a flight-mode process asked
 * for a snapshot each interval, top_flight.c); every interval the view shows
 * the wait sites with the most time in the interval and since the start (the engine's
 * observer sees each wait and recorded call as it ends; waits still in progress count up
 * to now), the locks with waiters now (with a convoy marker when the convoy detector's
 * current windows say so, ct_conv_now), and the threads blocked now and on what (the
 * engine's open waits). On a terminal it redraws in place (plain ANSI, termios; keys q
 * quit, s sort, p profile); otherwise, or with --batch, it prints one block per interval.
 * When the writer is done it shows the final state (and, in batch mode, exits 0).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../format/events.h"
#include "analysis.h"
#include "commands.h"
#include "engine.h"
#include "frames.h"
#include "options.h"
#include "top_source.h"
#include "util.h"

enum { SORT_LAST, SORT_TOTAL, SORT_COUNT, SORT_MAX };
static const char *const sort_names[SORT_MAX] = { "last", "total", "count" };
static const int profiles[] = { CT_P_SYNC, CT_P_NET, CT_P_SYSCALL, CT_P_SLEEP };
#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

/* Wait time of one (profile, kind, stack): since the start (ended waits), in the interval
 * being gathered, and in the interval shown. */
struct acc {
	int profile;
	uint8_t kind;
	uint32_t stack;
	uint64_t tot_ns, tot_n, cur_ns, cur_n, shown_ns, shown_n;
};

struct tname {
	uint32_t tid;
	char name[CT_NAME_LEN + 1];
};

struct top {
	struct ct_analysis *a;  /* the engine's parameters and what it leaves at the end */
	struct ct_eng *e;
	struct ct_observer obs;
	struct ct_top_source *src;
	const struct ct_model *m;
	struct acc *acc;
	size_t nacc, cacc;
	struct ct_htab acc_by_key;
	struct tname *names;
	size_t nnames, cnames;
	uint64_t start, t0, shown_t0, shown_t1, now;
	struct ct_frames *fr;
	size_t fr_nmods;
	int pi, sort, batch, finished;
	long iterations, top;
	uint64_t interval;
	const char *shown_name; /* the file as the title shows it */
};

/* ---- what the engine sees ---------------------------------------------------------- */

static struct acc *acc_get(struct top *t, int profile, unsigned kind, uint32_t stack)
{
	uint64_t key = ct_htab_key(((uint64_t)profile << 8) | kind, stack, 0x70);
	uint32_t ix = ct_htab_get(&t->acc_by_key, key);
	struct acc *x;

	if (ix != UINT32_MAX)
		return &t->acc[ix];
	ct_grow(&t->acc, &t->cacc, t->nacc + 1, sizeof(*t->acc));
	x = &t->acc[t->nacc];
	memset(x, 0, sizeof(*x));
	x->profile = profile;
	x->kind = (uint8_t)kind;
	x->stack = stack;
	ct_htab_put(&t->acc_by_key, key, (uint32_t)t->nacc++);
	return x;
}

/* A wait or recorded call that ended: its whole time since the start, its part after t0
 * in the interval. */
static void seen(void *ctx, const struct ct_wait_seen *w)
{
	struct top *t = ctx;
	struct acc *x;

	if (w->profile <= CT_P_NONE || w->profile >= CT_P_MAX || w->unfinished)
		return;
	x = acc_get(t, w->profile, w->kind, w->stack);
	x->tot_ns += w->end - w->begin;
	x->tot_n++;
	if (w->end > t->t0) {
		x->cur_ns += w->end - (w->begin > t->t0 ? w->begin : t->t0);
		x->cur_n++;
	}
}

static void set_name(struct top *t, uint32_t tid, const char *name)
{
	size_t i;

	for (i = 0; i < t->nnames && t->names[i].tid != tid; i++)
		;
	if (i == t->nnames) {
		ct_grow(&t->names, &t->cnames, t->nnames + 1, sizeof(*t->names));
		t->nnames++;
	}
	t->names[i].tid = tid;
	snprintf(t->names[i].name, sizeof(t->names[i].name), "%.*s", CT_NAME_LEN, name);
}

/* A thread's name: its latest THREAD_NAME event, else what the kernel says while the
 * process runs (threads named before an attach), else the program's for the main thread. */
static const char *name_of(struct top *t, uint32_t tid)
{
	char path[96], name[CT_NAME_LEN + 2] = { 0 };
	FILE *f;

	for (size_t i = 0; i < t->nnames; i++)
		if (t->names[i].tid == tid)
			return t->names[i].name;
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/task/%" PRIu32 "/comm", t->m->hdr.pid,
		 tid);
	if (!t->finished && (f = fopen(path, "r"))) {
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = 0;
			set_name(t, tid, name);
		}
		fclose(f);
		if (name[0])
			return name_of(t, tid);
	}
	if (tid == t->m->hdr.pid)
		return ct_basename(t->m->hdr.exe);
	return "-";
}

static void feed(void *ctx, const struct ct_sevent *v, size_t n)
{
	struct top *t = ctx;

	for (size_t i = 0; i < n; i++) {
		if (v[i].ev.type == CT_EV_THREAD_NAME) {
			char name[CT_NAME_LEN + 1] = { 0 };
			uint32_t tid = ct_ev_thread_name_tid(&v[i].ev) ?
				(uint32_t)ct_ev_thread_name_tid(&v[i].ev) : v[i].tid;

			ct_ev_thread_name_get(&v[i].ev, name);
			set_name(t, tid, name);
		}
		ct_eng_event(t->e, &v[i]);
	}
}

/* The wait a thread is in now (its innermost), or NULL; a thread blocked since before the
 * trace began is given as a wait without a stack. */
static int open_wait(const struct eng_thread *th, struct eng_wait *w)
{
	if (th->ended)
		return 0;
	if (th->nopen) {
		*w = th->open[th->nopen - 1];
		return 1;
	}
	if (th->init_blocked && !th->saw_wait) {
		memset(w, 0, sizeof(*w));
		w->kind = th->init_kind;
		w->profile = (uint8_t)ct_kind_profile(th->init_kind);
		w->obj = th->init_obj;
		w->begin = th->init_since;
		return 1;
	}
	return 0;
}

/* The interval [t0, now] is over: what it gathered, with the waits still open counted up
 * to now, becomes the interval shown. */
static void roll(struct top *t, uint64_t now)
{
	for (size_t i = 0; i < t->nacc; i++) {
		t->acc[i].shown_ns = t->acc[i].cur_ns;
		t->acc[i].shown_n = t->acc[i].cur_n;
		t->acc[i].cur_ns = t->acc[i].cur_n = 0;
	}
	for (size_t i = 0; i < t->e->nth; i++) {
		const struct eng_thread *th = &t->e->th[i];

		for (size_t k = 0; k < th->nopen && !th->ended; k++) {
			const struct eng_wait *w = &th->open[k];
			struct acc *x;

			if (w->profile <= CT_P_NONE || w->profile >= CT_P_MAX)
				continue;
			x = acc_get(t, w->profile, w->kind, w->stack);
			x->shown_ns += now - (w->begin > t->t0 ? w->begin : t->t0);
		}
	}
	t->shown_t0 = t->t0;
	t->shown_t1 = now;
	t->t0 = now;
	t->now = now;
}

/* ---- the view ---------------------------------------------------------------------- */

struct row {
	const struct acc *x;
	uint64_t last, last_n, total, total_n;
};

static int sort_key;

static int cmp_row(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	uint64_t ka = sort_key == SORT_LAST ? a->last : sort_key == SORT_TOTAL ? a->total :
		      a->last_n;
	uint64_t kb = sort_key == SORT_LAST ? b->last : sort_key == SORT_TOTAL ? b->total :
		      b->last_n;

	if (ka != kb)
		return ka > kb ? -1 : 1;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return a->x->stack < b->x->stack ? -1 : a->x->stack > b->x->stack;
}

static void frames_update(struct top *t)
{
	if (t->fr && t->fr_nmods == t->m->nmods)
		return;
	if (t->fr)
		ct_frames_free(t->fr);
	t->fr = ct_frames_new(t->m);
	t->fr_nmods = t->m->nmods;
}

/* "contend_lock (lockwait.c:80) <- lock_worker" */
static const char *site_str(struct top *t, uint32_t stack, char *buf, size_t cap)
{
	const struct ct_frame *f;
	size_t n = stack ? ct_frames_stack(t->fr, stack, &f, NULL) : 0;
	size_t len;

	if (!n) {
		snprintf(buf, cap, "%s", stack ? "(stack not read yet)" : "(no stack)");
		return buf;
	}
	ct_frame_str(&f[0], CT_FRAME_MODULE | CT_FRAME_PC, buf, cap);
	len = strlen(buf);
	if (n > 1 && f[1].func && len + 8 < cap)
		snprintf(buf + len, cap - len, " <- %s", f[1].func);
	return buf;
}

static const char *obj_str(struct top *t, uint64_t addr, char *buf, size_t cap)
{
	if (!addr)
		snprintf(buf, cap, "-");
	else if (!ct_frames_data_name(t->fr, addr, buf, cap))
		snprintf(buf, cap, "0x%" PRIx64, addr);
	return buf;
}

static void dur(FILE *f, int width, uint64_t ns)
{
	char b[CT_DUR_BUF];

	fprintf(f, "%*s", width, ct_fmt_duration(ns, b));
}

static void sites(struct top *t, FILE *f, size_t max)
{
	int profile = profiles[t->pi];
	struct row *r = ct_xcalloc(t->nacc + 1, sizeof(*r));
	size_t n = 0;
	char buf[512];

	for (size_t i = 0; i < t->nacc; i++)
		if (t->acc[i].profile == profile) {
			r[n].x = &t->acc[i];
			r[n].last = t->acc[i].shown_ns;
			r[n].last_n = t->acc[i].shown_n;
			r[n].total = t->acc[i].tot_ns;
			r[n].total_n = t->acc[i].tot_n;
			n++;
		}
	/* since the start: the waits in progress up to now as well */
	for (size_t i = 0; i < t->e->nth; i++) {
		const struct eng_thread *th = &t->e->th[i];

		for (size_t k = 0; k < th->nopen && !th->ended; k++)
			for (size_t j = 0; j < n; j++)
				if (r[j].x->kind == th->open[k].kind &&
				    r[j].x->stack == th->open[k].stack &&
				    th->open[k].profile == profile && t->now > th->open[k].begin)
					r[j].total += t->now - th->open[k].begin;
	}
	sort_key = t->sort;
	if (n > 1)
		qsort(r, n, sizeof(*r), cmp_row);
	fprintf(f, "WAIT SITES (%s)  last %s, since the start\n", ct_profile_name((unsigned)profile),
		ct_fmt_duration(t->shown_t1 - t->shown_t0, buf));
	fprintf(f, "%10s %7s %10s %8s  %-10s %s\n", "LAST", "LAST#", "TOTAL", "TOTAL#", "KIND",
		"SITE");
	for (size_t i = 0; i < n && i < max; i++) {
		if (!r[i].last && !r[i].total)
			continue;
		dur(f, 10, r[i].last);
		fprintf(f, " %7" PRIu64 " ", r[i].last_n);
		dur(f, 10, r[i].total);
		fprintf(f, " %8" PRIu64 "  %-10s %s\n", r[i].total_n, ct_kind_name(r[i].x->kind),
			site_str(t, r[i].x->stack, buf, sizeof(buf)));
	}
	if (!n)
		fprintf(f, "  (none yet)\n");
	free(r);
}

static void locks(struct top *t, FILE *f, size_t max)
{
	size_t shown = 0;
	char buf[256];

	fprintf(f, "LOCKS WITH WAITERS NOW\n");
	fprintf(f, "%7s %8s  %-10s %-24s %s\n", "WAITERS", "OWNER", "KIND", "LOCK",
		"WAITING THREADS");
	for (size_t i = 0; i < t->e->nobj && shown < max; i++) {
		const struct eng_obj *o = &t->e->obj[i];
		size_t run = 0, nw = 0;
		int convoy = ct_eng_mutex_like(o->o.kind) && ct_conv_now(t->e, o, t->shown_t0, &run);
		uint32_t owner = o->owner;

		if ((!o->cur && !convoy) || o->o.kind == CT_K_JOIN) /* a thread is no lock */
			continue;
		fprintf(f, "%7" PRIu64 " ", o->cur);
		{
			/* the owner the latest waiter saw when it began, else the latest
			 * acquisition's thread */
			uint64_t latest = 0;

			for (size_t k = 0; k < t->e->nth; k++) {
				struct eng_wait w;

				if (open_wait(&t->e->th[k], &w) && w.obj == o->o.addr && w.arg &&
				    w.begin >= latest) {
					latest = w.begin;
					owner = (uint32_t)w.arg;
				}
			}
		}
		if (owner)
			fprintf(f, "%8" PRIu32 "  ", owner);
		else
			fprintf(f, "%8s  ", "?");
		fprintf(f, "%-10s %-24s", ct_kind_name(o->o.kind),
			obj_str(t, o->o.addr, buf, sizeof(buf)));
		for (size_t k = 0; k < t->e->nth; k++) {
			struct eng_wait w;

			if (open_wait(&t->e->th[k], &w) && w.obj == o->o.addr && nw++ < 8)
				fprintf(f, " %" PRIu32, t->e->th[k].tid);
		}
		if (nw > 8)
			fprintf(f, " +%zu", nw - 8);
		if (convoy)
			fprintf(f, "  CONVOY%s", run ? "" : " (in the last interval)");
		if (convoy && run)
			fprintf(f, " (%zu windows of %s)", run, ct_fmt_duration(t->e->dw, buf));
		fputc('\n', f);
		shown++;
	}
	if (!shown)
		fprintf(f, "  (none)\n");
}

static void blocked(struct top *t, FILE *f, size_t max)
{
	size_t shown = 0;
	char buf[512], ob[256];

	fprintf(f, "THREADS BLOCKED NOW\n");
	fprintf(f, "%7s  %-16s %-10s %9s  %-24s %s\n", "TID", "NAME", "KIND", "FOR", "ON", "SITE");
	for (size_t i = 0; i < t->e->nth && shown < max; i++) {
		const struct eng_thread *th = &t->e->th[i];
		struct eng_wait w;

		if (!open_wait(th, &w))
			continue;
		fprintf(f, "%7" PRIu32 "  %-16s %-10s ", th->tid, name_of(t, th->tid),
			ct_kind_name(w.kind));
		dur(f, 9, t->now > w.begin ? t->now - w.begin : 0);
		fprintf(f, "  %-24s %s\n", obj_str(t, w.obj, ob, sizeof(ob)),
			w.stack ? site_str(t, w.stack, buf, sizeof(buf)) :
			"(blocked since before the trace)");
		shown++;
	}
	if (!shown)
		fprintf(f, "  (none)\n");
}

/* One block: title, the three sections. rows: the lines it may take (0: no limit). */
static void render(struct top *t, FILE *f, size_t rows)
{
	char b1[CT_DUR_BUF], b2[CT_DUR_BUF];
	size_t nsites = t->top > 0 ? (size_t)t->top : 10, nlocks = 8, nthreads = 64;
	uint64_t lost = 0;

	if (rows) { /* the terminal's: half to the sites, a quarter to each other section */
		size_t body = rows > 12 ? rows - 12 : 3;

		nsites = body / 2 ? body / 2 : 1;
		nlocks = body / 4 ? body / 4 : 1;
		nthreads = body - nsites - nlocks ? body - nsites - nlocks : 1;
	}
	frames_update(t);
	fprintf(f, "ctrace top - %s pid %" PRIu32 " - %s - at %s - %s\n", ct_basename(t->m->hdr.exe),
		t->m->hdr.pid, t->shown_name,
		ct_fmt_duration(t->now > t->start ? t->now - t->start : 0, b1),
		t->finished ? "finished" : t->now ? "running" : "waiting for the first generation");
	for (int c = 0; c < CT_L_MAX; c++)
		lost += t->m->lost[c];
	fprintf(f, "profile %s (p)  sort %s (s)  interval %s  lost events %" PRIu64 "%s\n\n",
		ct_profile_name((unsigned)profiles[t->pi]), sort_names[t->sort],
		ct_fmt_duration(t->interval, b2), lost, t->batch ? "" : "  q quits");
	sites(t, f, nsites);
	fputc('\n', f);
	locks(t, f, nlocks);
	fputc('\n', f);
	blocked(t, f, nthreads);
}

/* ---- the terminal ------------------------------------------------------------------ */

static struct termios saved_tio;
static int raw_on;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void term_restore(void)
{
	static const char out[] = "\033[?25h\033[?1049l";

	if (!raw_on)
		return;
	raw_on = 0;
	tcsetattr(0, TCSAFLUSH, &saved_tio);
	if (write(1, out, sizeof(out) - 1) < 0)
		return;
}

static void term_raw(void)
{
	struct termios tio;
	static const char out[] = "\033[?1049h\033[?25l";

	if (tcgetattr(0, &saved_tio) < 0)
		return;
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSAFLUSH, &tio) < 0)
		return;
	raw_on = 1;
	atexit(term_restore);
	if (write(1, out, sizeof(out) - 1) < 0)
		return;
}

/* Draws a block in place: clipped to the terminal's rows and columns. */
static void draw(struct top *t)
{
	struct winsize ws = { 0 };
	size_t rows = 24, cols = 80, len = 0, line = 0;
	char *text = NULL;
	FILE *f;
	const char *p;

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		rows = ws.ws_row;
		cols = ws.ws_col;
	}
	if (!(f = open_memstream(&text, &len)))
		ct_die(CT_EXIT_USAGE, "top: out of memory");
	render(t, f, rows);
	fclose(f);
	fputs("\033[H", stdout);
	for (p = text; *p && line < rows; line++) {
		size_t n = strcspn(p, "\n");

		fwrite(p, 1, n < cols ? n : cols, stdout);
		fputs("\033[K", stdout);
		p += n;
		if (*p)
			p++;
		if (line + 1 < rows)
			fputs("\r\n", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
	free(text);
}

static void show(struct top *t)
{
	if (t->batch) {
		render(t, stdout, 0);
		fputc('\n', stdout);
		if (fflush(stdout) != 0 || ferror(stdout))
			ct_die(CT_EXIT_USAGE, "top: write error: %s", strerror(errno));
	} else {
		draw(t);
	}
}

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits until deadline (mono ns); on a terminal, handles the keys meanwhile. Returns 1
 * when q (or a signal) says to quit. */
static int wait_keys(struct top *t, uint64_t deadline)
{
	for (;;) {
		uint64_t n = mono();
		int ms;

		if (stop)
			return 1;
		if (n >= deadline)
			return 0;
		ms = (deadline - n) / 1000000 >= 1000 ? 1000 :
		     (int)((deadline - n + 999999) / 1000000);
		if (t->batch) {
			struct timespec d = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

			nanosleep(&d, NULL);
			continue;
		}
		{
			struct pollfd pfd = { 0, POLLIN, 0 };
			char buf[32];
			ssize_t got;
			int redraw = 0;

			if (poll(&pfd, 1, ms) <= 0)
				continue;
			if ((got = read(0, buf, sizeof(buf))) <= 0) {
				if (got == 0) /* the terminal went away */
					return 1;
				continue;
			}
			for (ssize_t i = 0; i < got; i++) {
				switch (buf[i]) {
				case 'q':
				case 'Q':
					return 1;
				case 's':
					t->sort = (t->sort + 1) % SORT_MAX;
					redraw = 1;
					break;
				case 'p':
					t->pi = (t->pi + 1) % (int)NPROFILES;
					redraw = 1;
					break;
				default:
					break;
				}
			}
			if (redraw)
				draw(t);
		}
	}
}

/* ---- the command ------------------------------------------------------------------- */

enum { OPT_BATCH = CT_OPT_CMD, OPT_INTERVAL, OPT_ITERATIONS, OPT_PROFILE, OPT_SORT, OPT_TOP };

static const struct ct_opt top_opts[] = {
	{ "batch", OPT_BATCH, 0, NULL, "one block per interval on stdout (also without a "
	  "terminal)", NULL, NULL },
	{ "interval", OPT_INTERVAL, 1, "D", "refresh period (default 1s; \"500ms\", \"2s\", or "
	  "seconds)", NULL, "a duration" },
	{ "iterations", OPT_ITERATIONS, 1, "N", "stop after N blocks (default: until the "
	  "writer is done,\nor q)", NULL, "a count" },
	{ "profile", OPT_PROFILE, 1, "NAME", "the wait sites' profile first shown: sync "
	  "(default), net,\nsyscall, sleep (key p: the next)", NULL, "a profile" },
	{ "sort", OPT_SORT, 1, "KEY", "order of the wait sites: last (time in the interval, "
	  "default),\ntotal (since the start), count (in the interval) (key s)", NULL, "a KEY" },
	{ "top", OPT_TOP, 1, "N", "at most N wait sites (batch; default 10)", NULL, "a count" },
};

static const struct ct_opt_table top_tables[] = {
	{ NULL, 16, top_opts, CT_OPTS_N(top_opts) },
};

static const struct ct_cmd_opts top_cmd = {
	"top",
	"usage: ctrace top [--batch] [--interval D] [--iterations N] [--profile NAME]\n"
	"                  [--sort KEY] [--top N] PID|FILE\n\n"
	"A live view of a traced process (recorded, flight or attached): the wait sites\n"
	"with the most time in the last interval and since the start, the locks with\n"
	"waiters now (CONVOY when the convoy detector's current windows say so) and the\n"
	"threads blocked now.\n"
	"PID: the trace that process writes (exit status 2 when it is not traced), or, in\n"
	"flight mode, a snapshot of its new generations asked for every interval (into a\n"
	"temporary file deleted once read; no trigger); FILE: a trace being written,\n"
	"followed until its writer is done. It only reads the trace (or has the writer\n"
	"thread write what streaming would): the process runs at the tracer's own cost.\n"
	"Keys: q quits, s sort, p profile.\n"
	"Without a terminal, or with --batch, one block per interval on stdout; the last\n"
	"block is the final state when the writer is done (exit status 0).\n\n",
	top_tables, CT_OPTS_N(top_tables),
	"\nThe view trails the process by one or two generations (CTRACE_GENERATION_MS, 1s by\n"
	"default): events are handed on once their generation has ended.\n", 0,
};

struct args {
	struct top *t;
};

static int set(void *st, const struct ct_opt *row, const char *opt, const char *val, char *err,
	       size_t errlen)
{
	struct top *t = ((struct args *)st)->t;
	char *end;

	switch (row->key) {
	case OPT_BATCH:
		t->batch = 1;
		return 0;
	case OPT_INTERVAL: {
		double s = strtod(val, &end);

		if (end != val && !*end && s > 0 && s < 86400) {
			t->interval = (uint64_t)(s * 1e9);
		} else if (ct_parse_duration(val, &t->interval) < 0) {
			snprintf(err, errlen, "%s: bad duration '%s'", opt, val);
			return -1;
		}
		if (t->interval < 10000000ull) {
			snprintf(err, errlen, "%s: at least 10ms", opt);
			return -1;
		}
		return 0;
	}
	case OPT_ITERATIONS:
	case OPT_TOP: {
		long n;

		if (ct_parse_count(val, &n) < 0 || n < 1) {
			snprintf(err, errlen, "%s: bad count '%s'", opt, val);
			return -1;
		}
		*(row->key == OPT_TOP ? &t->top : &t->iterations) = n;
		return 0;
	}
	case OPT_PROFILE:
		for (size_t i = 0; i < NPROFILES; i++)
			if (!strcmp(val, ct_profile_name((unsigned)profiles[i]))) {
				t->pi = (int)i;
				return 0;
			}
		snprintf(err, errlen, "%s: unknown profile '%s' (sync, net, syscall, sleep)", opt,
			 val);
		return -1;
	case OPT_SORT:
		for (int i = 0; i < SORT_MAX; i++)
			if (!strcmp(val, sort_names[i])) {
				t->sort = i;
				return 0;
			}
		snprintf(err, errlen, "%s: unknown key '%s' (last, total, count)", opt, val);
		return -1;
	default:
		snprintf(err, errlen, "unexpected option %s", opt);
		return -1;
	}
}

/* The trace to follow: a PID's, or a FILE (waited for while it has no complete header:
 * a recording that is starting). */
static struct ct_top_source *open_source(struct top *t, const char *what, char *shown,
					 size_t scap)
{
	char err[512], path[128];
	char *end;
	long pid = strtol(what, &end, 10);
	struct ct_top_source *s;

	if (*what && !*end && access(what, F_OK) < 0) {
		if (pid <= 0 || pid > 0x7fffffff)
			ct_die(CT_EXIT_USAGE, "top: bad PID '%s'", what);
		/* registered on the control channel in flight mode: no trace file to follow
		 * (the one a trigger's snapshot writes is open only while it is written) */
		if (ct_ctl_mode((int)pid) == 1) {
			if (!(s = ct_top_flight_source((pid_t)pid, feed, t, err, sizeof(err))))
				ct_die(CT_EXIT_USAGE, "top: %s", err);
			snprintf(shown, scap, "flight mode");
			return s;
		}
		if (ct_top_find_trace((pid_t)pid, path, sizeof(path), shown, scap, err,
				      sizeof(err)) < 0)
			ct_die(CT_EXIT_USAGE, "top: %s", err);
		if (!(s = ct_top_file_source(path, feed, t, err, sizeof(err))))
			ct_die(CT_EXIT_USAGE, "top: %s: %s", shown, err);
		return s;
	}
	snprintf(shown, scap, "%s", what);
	for (int i = 0; i < 100; i++) {
		if ((s = ct_top_file_source(what, feed, t, err, sizeof(err))))
			return s;
		if (access(what, F_OK) < 0)
			break;
		usleep(50000); /* a header not written yet */
	}
	ct_die(CT_EXIT_USAGE, "top: %s: %s", what, err);
}

/* The writer is done: the rest goes through, the view shows the final state. */
static void final(struct top *t)
{
	struct ct_model *m;
	uint32_t *k2t;
	size_t nk;

	t->src->close(t->src, &m, &k2t, &nk);
	t->src = NULL;
	t->m = m;
	t->finished = 1;
	if (m->end_ts > t->t0)
		roll(t, m->end_ts);
	show(t);
	if (!t->batch)
		while (!wait_keys(t, mono() + 1000000000ull))
			;
	term_restore();
	ct_eng_finish(t->e, m, m->end_ts, k2t, nk);
	free(k2t);
	ct_model_free(m);
}

static void top_free(struct top *t)
{
	if (t->src) {
		struct ct_model *m;
		uint32_t *k2t;
		size_t nk;

		t->src->close(t->src, &m, &k2t, &nk);
		ct_eng_finish(t->e, m, m->end_ts, k2t, nk);
		free(k2t);
		ct_model_free(m);
	}
	ct_analysis_free(t->a);
	if (t->fr)
		ct_frames_free(t->fr);
	free(t->acc);
	ct_htab_free(&t->acc_by_key);
	free(t->names);
}

int ct_cmd_top(int argc, char **argv)
{
	struct top t = { 0 };
	struct args x = { &t };
	const char **ops = ct_xcalloc((size_t)argc + 1, sizeof(*ops));
	size_t nops;
	char err[512], shown[512];
	int rc;
	long it = 0;
	uint64_t deadline;

	t.interval = 1000000000ull;
	rc = ct_opts_parse(&top_cmd, argc, argv, set, &x, ops, &nops, err, sizeof(err));
	if (rc > 0) {
		ct_opts_help(&top_cmd, stdout);
		free(ops);
		return CT_EXIT_OK;
	}
	if (rc < 0)
		ct_die(CT_EXIT_USAGE, "top: %s", err);
	if (nops != 1)
		ct_die(CT_EXIT_USAGE, "top: %s (see 'ctrace top --help')",
		       nops ? "one PID or FILE only" : "no PID or FILE given");
	if (!isatty(0) || !isatty(1))
		t.batch = 1;
	t.src = open_source(&t, ops[0], shown, sizeof(shown));
	free(ops);
	t.shown_name = shown;
	t.m = t.src->model(t.src);
	t.start = t.t0 = t.m->hdr.start_mono_ns;
	t.a = ct_xcalloc(1, sizeof(*t.a));
	ct_convoy_params_default(&t.a->convoy);
	t.a->convoy_dw = CT_CONVOY_WINDOW_NS;
	t.e = ct_eng_new(t.a, NULL, t.start, CT_CONVOY_WINDOW_NS);
	t.obs.wait = seen;
	t.obs.syscall = seen;
	t.obs.ctx = &t;
	t.e->obs = &t.obs;
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	if (!t.batch)
		term_raw();
	deadline = mono();
	for (;;) {
		int fin = t.src->finished(t.src);
		uint64_t now;

		if (t.src->poll(t.src, err, sizeof(err)) < 0) {
			term_restore();
			ct_die(CT_EXIT_USAGE, "top: %s: %s", shown, err);
		}
		t.m = t.src->model(t.src);
		if (fin) {
			final(&t);
			break;
		}
		now = t.src->now(t.src);
		if (now > t.t0)
			roll(&t, now);
		show(&t);
		if (t.iterations && ++it >= t.iterations)
			break;
		deadline += t.interval;
		if (wait_keys(&t, deadline))
			break;
	}
	term_restore();
	top_free(&t);
	return CT_EXIT_OK;
}
