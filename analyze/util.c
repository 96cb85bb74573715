/* SPDX-License-Identifier: MIT */
/*
 * Implementation of util.h: error helpers, allocation wrappers and durations for the
 * ctrace command. Nothing here runs inside a traced process.
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void verr(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("ctrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ct_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(fmt, ap);
	va_end(ap);
}

void ct_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(fmt, ap);
	va_end(ap);
	exit(code);
}

static void oom(size_t n)
{
	ct_die(CT_EXIT_USAGE, "out of memory (%zu bytes)", n);
}

void *ct_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *ct_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *ct_xrealloc(void *p, size_t n)
{
	void *q;

	if (n == 0) {
		free(p);
		return NULL;
	}
	q = realloc(p, n);
	if (!q)
		oom(n);
	return q;
}

char *ct_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ct_xmalloc(n);

	memcpy(d, s, n);
	return d;
}

void ct_grow_to(void *p, size_t *cap, size_t need, size_t elem)
{
	void **pp = p;
	size_t c = *cap;

	if (need <= c)
		return;
	if (c < 16) /* 16 items, or fewer large ones (per-object arrays of a trace of many
		     * objects), at least 64 bytes */
		c = elem >= 64 ? 1 : elem > 4 ? 64 / elem : 16;
	while (c < need) {
		if (c > (SIZE_MAX / 2) / elem)
			oom(SIZE_MAX);
		c *= 2;
	}
	*pp = ct_xrealloc(*pp, c * elem);
	*cap = c;
}

int ct_parse_duration(const char *s, uint64_t *ns)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
	};
	uint64_t ip = 0, frac = 0, fdiv = 1;
	const char *p = s;
	int digits = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (fdiv < 1000000000) { /* ns resolution is enough */
				frac = frac * 10 + (uint64_t)(*p - '0');
				fdiv *= 10;
			}
		}
	}
	if (!digits)
		return -EINVAL;
	if (!*p) {
		if (ip == 0 && frac == 0) {
			*ns = 0;
			return 0;
		}
		return -EINVAL; /* a unit is required */
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (ip > UINT64_MAX / units[i].mult)
			return -EINVAL;
		*ns = ip * units[i].mult + frac * units[i].mult / fdiv;
		return 0;
	}
	return -EINVAL;
}

char *ct_fmt_duration(uint64_t ns, char *buf)
{
	static const struct { const char *unit; double div; } units[] = {
		{ "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
	};
	double v;
	size_t i;

	if (ns < 1000) {
		snprintf(buf, CT_DUR_BUF, "%uns", (unsigned)ns);
		return buf;
	}
	for (i = 0; i + 1 < sizeof(units) / sizeof(units[0]); i++)
		if ((double)ns / units[i].div < 999.5)
			break;
	v = (double)ns / units[i].div;
	if (v >= 99.95)
		snprintf(buf, CT_DUR_BUF, "%.0f%s", v, units[i].unit);
	else if (v >= 9.995)
		snprintf(buf, CT_DUR_BUF, "%.1f%s", v, units[i].unit);
	else
		snprintf(buf, CT_DUR_BUF, "%.2f%s", v, units[i].unit);
	return buf;
}

int ct_parse_count(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

const char *ct_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}
