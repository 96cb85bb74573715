/* SPDX-License-Identifier: MIT */
/*
 * CTRACE_* environment variables, read once by the constructor and never again.
 * A malformed value gives one warning line and the default.
 *
 *   CTRACE_OUT            trace path, %p = pid, %% = % (default ctrace.%p.ctr), relative to
 *                         the working directory at start
 *   CTRACE_DEPTH          stack frames captured, 1..128 (default 32)
 *   CTRACE_BUFFER_SIZE    bytes per thread buffer, 4k..16m, k/m suffixes (default 64k)
 *   CTRACE_BUFFERS        buffers in the pool, 2..65536 (default 256)
 *   CTRACE_MAX_THREADS    thread slots, 16..1048576 (default 4096)
 *   CTRACE_FLUSH_MS       writer period in ms, 10..10000 (default 100)
 *   CTRACE_GENERATION_MS  generation length in ms, 100..60000 (default 1000)
 *   CTRACE_GENERATION_EVENTS  a generation is closed early once it holds this many
 *                         events, 10000..1000000000 (default 1000000; k/m suffixes)
 *   CTRACE_SYSCALL_THRESHOLD  system calls at least this long get a full stack and an
 *                         event of their own; every call is counted per call site
 *                         (default 20us; ns/us/ms/s suffixes; 0: every call)
 *   CTRACE_DISABLE        1: load but record nothing (0 or empty: trace)
 *   CTRACE_FOLLOW         all | exec | none (default all): which processes started from
 *                         this one are traced (process.c)
 *   CTRACE_MODE           stream | flight (default stream): flight keeps the recent past
 *                         in memory and writes it only on a trigger (flight.c)
 *   CTRACE_FLIGHT_SIZE    memory for the recent past, 1m..64g, k/m/g (default 16m)
 *   CTRACE_FLIGHT_AGE     at least this much of the recent past, size allowing (10s)
 *   CTRACE_TRIGGER        signal,crash,exit,PROFILE>DURATION (flight default signal,crash;
 *                         PROFILE: sync, net, syscall, sleep or any)
 *   CTRACE_TRIGGER_SIGNAL the signal trigger's signal, a number or a name (SIGUSR2)
 *   CTRACE_TRIGGER_LIMIT  snapshots per minute, N/min (default 5/min)
 *   CTRACE_TRIGGER_AFTER  recording goes on this long after a trigger (default 0)
 *   CTRACE_START          running | paused (default running): paused records nothing
 *                         until `ctrace resume PID` or the trigger signal
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrace.h"
#include "../unwind/capture.h"

struct ct_config ct_cfg;

/* The variables libctrace reads. */
static const char *const known[] = {
	"CTRACE_OUT", "CTRACE_DEPTH", "CTRACE_BUFFER_SIZE", "CTRACE_BUFFERS",
	"CTRACE_MAX_THREADS", "CTRACE_FLUSH_MS", "CTRACE_GENERATION_MS", "CTRACE_GENERATION_EVENTS",
	"CTRACE_SYSCALL_THRESHOLD", "CTRACE_DISABLE", "CTRACE_FOLLOW", "CTRACE_MODE",
	"CTRACE_FLIGHT_SIZE", "CTRACE_FLIGHT_AGE", "CTRACE_TRIGGER", "CTRACE_TRIGGER_SIGNAL",
	"CTRACE_TRIGGER_LIMIT", "CTRACE_TRIGGER_AFTER", "CTRACE_START",
	"CTRACE_LOCK_ORDER",
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))
/* Names warned about (malformed values, misspelled names): an image this process execs
 * does not get them, so the warning is not repeated in every image. */
static char bad[NKNOWN + 8][64];
static unsigned nbad;

static void mark_bad(const char *name, size_t len)
{
	if (nbad < sizeof(bad) / sizeof(bad[0]) && len < sizeof(bad[0])) {
		memcpy(bad[nbad], name, len);
		bad[nbad++][len] = 0;
	}
}

int ct_config_dropped(const char *entry)
{
	size_t len = strcspn(entry, "=");
	for (unsigned i = 0; i < nbad; i++)
		if (strlen(bad[i]) == len && memcmp(bad[i], entry, len) == 0)
			return 1;
	return 0;
}

/* Levenshtein distance of a[0..la) and b[0..lb), both shorter than 64. */
static unsigned distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A CTRACE_ name libctrace does not read but that is within two edits of one it reads: a
 * typo, which would otherwise leave the default in force without a word. Other CTRACE_
 * names (a wrapper's own variables) are left alone. */
static void check_names(void)
{
	extern char **environ;
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "CTRACE_", 7) != 0)
			continue;
		size_t len = strcspn(*e, "=");
		if (len >= 64)
			continue;
		const char *near = NULL;
		for (size_t i = 0; i < NKNOWN; i++) {
			size_t kl = strlen(known[i]);
			if (kl == len && memcmp(known[i], *e, len) == 0) {
				near = NULL;
				break;
			}
			if (!near && distance(*e, len, known[i], kl) <= 2)
				near = known[i];
		}
		if (near) {
			char what[400];
			snprintf(what, sizeof(what),
				 "%.*s='%.200s' is not a libctrace variable; did you mean %s?",
				 (int)len, *e, *e + len + (*(*e + len) == '='), near);
			ct_warn(what, "", "");
			mark_bad(*e, len);
		}
	}
}

void ct_warn(const char *a, const char *b, const char *c)
{
	char line[512];
	size_t n = 0;
	const char *parts[] = { "libctrace: ", a, b, c, "\n" };
	for (size_t i = 0; i < 5; i++)
		for (const char *p = parts[i]; p && *p && n < sizeof(line) - 2; p++)
			line[n++] = *p;
	if (line[n - 1] != '\n')
		line[n++] = '\n';
	ssize_t (*w)(int, const void *, size_t) = ct_real.write ? ct_real.write : write;
	ssize_t r = w(2, line, n);
	(void)r;
}

/* Parses "123", "64k", "1m" into *out within [lo, hi]. Returns 0 or -1. */
static int parse_size(const char *s, unsigned long long lo, unsigned long long hi,
		      unsigned long long *out)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if ((*end == 'g' || *end == 'G') && v < (1ull << 33))
		v <<= 30, end++;
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* One line: "libctrace: NAME='VALUE' is malformed or out of range (RANGE); using DEF". */
static void warn_value(const char *name, const char *value, const char *range, const char *def)
{
	char what[512];
	snprintf(what, sizeof(what), "%s='%.200s' is malformed or out of range (%s)", name,
		 value, range);
	ct_warn(what, "; using ", def);
	mark_bad(name, strlen(name));
}

static unsigned long long env_num(const char *name, unsigned long long def,
				  unsigned long long lo, unsigned long long hi)
{
	const char *s = getenv(name);
	unsigned long long v;
	if (!s)
		return def;
	if (parse_size(s, lo, hi, &v) == 0)
		return v;
	char range[64], d[32];
	snprintf(range, sizeof(range), "%llu..%llu", lo, hi);
	snprintf(d, sizeof(d), "%llu", def);
	warn_value(name, s, range, d);
	return def;
}

/* Parses a duration "20us", "100ms", "10s" (ns, us, ms, s; a bare 0) into ns, at most an
 * hour. Returns 0 or -1. */
static int parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10), mul = 0;
	if (end == s || *s == '-')
		return -1;
	if (!strcmp(end, "ns") || (v == 0 && !*end)) mul = 1; /* 0 needs no unit */
	else if (!strcmp(end, "us")) mul = 1000;
	else if (!strcmp(end, "ms")) mul = 1000000;
	else if (!strcmp(end, "s")) mul = 1000000000;
	else if (!strcmp(end, "min")) mul = 60000000000ull;
	if (!mul || v > 3600ull * 1000000000 / mul)
		return -1;
	*ns = v * mul;
	return 0;
}

static uint64_t env_duration(const char *name, uint64_t def, const char *defs)
{
	const char *s = getenv(name);
	uint64_t v;
	if (!s)
		return def;
	if (parse_duration(s, &v) == 0)
		return v;
	warn_value(name, s, "a duration such as 10s", defs);
	return def;
}

/* A signal by number or name (SIGUSR2, USR2, 12, RTMIN+3); 0 if none. */
static int parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "INT", SIGINT },
		{ "QUIT", SIGQUIT }, { "TERM", SIGTERM }, { "ALRM", SIGALRM }, { "PWR", SIGPWR },
		{ "URG", SIGURG }, { "WINCH", SIGWINCH },
	};
	char *end;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	long v = strtol(s, &end, 10);
	if (end != s && !*end)
		return v > 0 && v < NSIG && v != SIGKILL && v != SIGSTOP ? (int)v : 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].sig;
	if (!strncmp(s, "RTMIN+", 6)) {
		v = strtol(s + 6, &end, 10);
		if (end != s + 6 && !*end && v >= 0 && SIGRTMIN + v <= SIGRTMAX)
			return SIGRTMIN + (int)v;
	}
	return 0;
}

/* CTRACE_TRIGGER: comma-separated signal, crash, exit, PROFILE>DURATION. 0 or -1. */
static int parse_triggers(const char *s)
{
	char item[128];
	ct_cfg.triggers = 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(item))
			return -1;
		memcpy(item, s, n);
		item[n] = 0;
		s += n + (s[n] == ',');
		char *gt = strchr(item, '>');
		if (!strcmp(item, "signal")) {
			ct_cfg.triggers |= CT_TRIG_SIGNAL;
		} else if (!strcmp(item, "crash")) {
			ct_cfg.triggers |= CT_TRIG_CRASH;
		} else if (!strcmp(item, "exit")) {
			ct_cfg.triggers |= CT_TRIG_EXIT;
		} else if (gt) {
			*gt = 0;
			unsigned p = CT_P_MAX;
			if (!strcmp(item, "any"))
				p = CT_P_NONE;
			for (unsigned i = CT_P_SYNC; i < CT_P_MAX; i++)
				if (!strcmp(item, ct_profile_name(i)))
					p = i;
			if (p == CT_P_MAX || parse_duration(gt + 1, &ct_cfg.trig_wait_ns) != 0)
				return -1;
			ct_cfg.trig_profile = p;
			ct_cfg.triggers |= CT_TRIG_WAIT;
		} else {
			return -1;
		}
	}
	return 0;
}

static void read_flight(void)
{
	const char *m = getenv("CTRACE_MODE");
	ct_cfg.flight = m && !strcmp(m, "flight");
	if (m && *m && strcmp(m, "flight") && strcmp(m, "stream"))
		warn_value("CTRACE_MODE", m, "stream or flight", "stream");
	ct_cfg.flight_size = env_num("CTRACE_FLIGHT_SIZE", 16 << 20, 1 << 20, 64ull << 30);
	ct_cfg.flight_age_ns = env_duration("CTRACE_FLIGHT_AGE", 10000000000ull, "10s");
	ct_cfg.triggers = ct_cfg.flight ? CT_TRIG_SIGNAL | CT_TRIG_CRASH : 0;
	const char *t = getenv("CTRACE_TRIGGER");
	if (t && parse_triggers(t) != 0) {
		warn_value("CTRACE_TRIGGER", t, "signal, crash, exit or PROFILE>DURATION, comma-separated",
			   ct_cfg.flight ? "signal,crash" : "none");
		ct_cfg.triggers = ct_cfg.flight ? CT_TRIG_SIGNAL | CT_TRIG_CRASH : 0;
	}
	ct_cfg.trig_signal = SIGUSR2;
	const char *sg = getenv("CTRACE_TRIGGER_SIGNAL");
	if (sg && !(ct_cfg.trig_signal = parse_signal(sg))) {
		warn_value("CTRACE_TRIGGER_SIGNAL", sg, "a signal name or number", "SIGUSR2");
		ct_cfg.trig_signal = SIGUSR2;
	}
	ct_cfg.trig_limit = 5;
	const char *l = getenv("CTRACE_TRIGGER_LIMIT");
	if (l) {
		char *end;
		unsigned long v = strtoul(l, &end, 10);
		if (end != l && *l != '-' && (!*end || !strcmp(end, "/min")) && v >= 1 && v <= 100000)
			ct_cfg.trig_limit = (unsigned)v;
		else
			warn_value("CTRACE_TRIGGER_LIMIT", l, "N/min, N from 1", "5/min");
	}
	ct_cfg.trig_after_ns = env_duration("CTRACE_TRIGGER_AFTER", 0, "0");
	const char *st = getenv("CTRACE_START");
	ct_cfg.start_paused = st && !strcmp(st, "paused");
	if (st && *st && strcmp(st, "paused") && strcmp(st, "running"))
		warn_value("CTRACE_START", st, "running or paused", "running");
}

void ct_config_read(void)
{
	check_names();
	const char *out = getenv("CTRACE_OUT");
	if (out && (!*out || strlen(out) >= sizeof(ct_cfg.out) - 32)) {
		ct_warn("CTRACE_OUT", " is empty or too long", "; using ctrace.%p.ctr");
		mark_bad("CTRACE_OUT", 10);
		out = NULL;
	}
	strcpy(ct_cfg.out, out ? out : "ctrace.%p.ctr");
	/* Relative to the directory at start: a daemon that changes to / later, and the images
	 * it execs, still write here. */
	char cwd[4096];
	if (ct_cfg.out[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
	    strlen(cwd) + 1 + strlen(ct_cfg.out) < sizeof(ct_cfg.out)) {
		size_t cl = strcmp(cwd, "/") ? strlen(cwd) : 0, rl = strlen(ct_cfg.out);
		memmove(ct_cfg.out + cl + 1, ct_cfg.out, rl + 1);
		memcpy(ct_cfg.out, cwd, cl);
		ct_cfg.out[cl] = '/';
	}
	ct_cfg.depth = (int)env_num("CTRACE_DEPTH", CT_DEFAULT_DEPTH, 1, CT_MAX_FRAMES);
	ct_cfg.buf_size = env_num("CTRACE_BUFFER_SIZE", 64 << 10, 4 << 10, 16 << 20);
	ct_cfg.nbufs = (unsigned)env_num("CTRACE_BUFFERS", 256, 2, 65536);
	ct_cfg.max_threads = (unsigned)env_num("CTRACE_MAX_THREADS", 4096, 16, 1 << 20);
	ct_cfg.flush_ms = (unsigned)env_num("CTRACE_FLUSH_MS", 100, 10, 10000);
	ct_cfg.gen_ms = (unsigned)env_num("CTRACE_GENERATION_MS", 1000, 100, 60000);
	ct_cfg.gen_events = env_num("CTRACE_GENERATION_EVENTS", 1000000, 10000, 1000000000);
	ct_cfg.sc_threshold_ns = 20000;
	const char *th = getenv("CTRACE_SYSCALL_THRESHOLD");
	if (th) {
		char *end;
		unsigned long long v = strtoull(th, &end, 10);
		unsigned long long mul = 0;
		if (end != th && *th != '-') {
			if (!strcmp(end, "ns") || (v == 0 && !*end)) mul = 1; /* 0 needs no unit */
			else if (!strcmp(end, "us")) mul = 1000;
			else if (!strcmp(end, "ms")) mul = 1000000;
			else if (!strcmp(end, "s")) mul = 1000000000;
		}
		if (mul && v <= 3600ull * 1000000000 / mul)
			ct_cfg.sc_threshold_ns = v * mul;
		else
			warn_value("CTRACE_SYSCALL_THRESHOLD", th, "a duration such as 20us",
				   "20us");
	}
	const char *f = getenv("CTRACE_FOLLOW");
	ct_cfg.follow = CT_FOLLOW_ALL;
	if (f && !strcmp(f, "exec"))
		ct_cfg.follow = CT_FOLLOW_EXEC;
	else if (f && !strcmp(f, "none"))
		ct_cfg.follow = CT_FOLLOW_NONE;
	else if (f && *f && strcmp(f, "all"))
		warn_value("CTRACE_FOLLOW", f, "all, exec or none", "all");
	const char *d = getenv("CTRACE_DISABLE");
	ct_cfg.disabled = 0;
	if (d && !strcmp(d, "1"))
		ct_cfg.disabled = 1;
	else if (d && *d && strcmp(d, "0"))
		warn_value("CTRACE_DISABLE", d, "0 or 1", "0 (tracing)");
	read_flight();
}
