/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every ctrace subcommand: printf-checked error reporting with the
 * documented exit codes, allocation that cannot fail (the CLI exits on out-of-memory),
 * and the parsing and printing of durations. Used by analyze/ only.
 */
#ifndef CTRACE_ANALYZE_UTIL_H
#define CTRACE_ANALYZE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes (analyze/README.md, "The command-line contract"). */
#define CT_EXIT_OK 0
#define CT_EXIT_VIOLATION 1 /* ctrace check found a violation */
#define CT_EXIT_USAGE 2     /* usage error or unreadable input */

#define CT_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Prints "ctrace: <message>\n" on stderr. Never fails. */
void ct_err(const char *fmt, ...) CT_PRINTF(1, 2);
/* ct_err, then exit(code). */
void ct_die(int code, const char *fmt, ...) CT_PRINTF(2, 3) __attribute__((noreturn));

/* malloc/calloc/realloc/strdup that exit(2) with a message instead of returning NULL.
 * ct_xrealloc(p, 0) frees p and returns NULL. */
void *ct_xmalloc(size_t n);
void *ct_xcalloc(size_t n, size_t size);
void *ct_xrealloc(void *p, size_t n);
char *ct_xstrdup(const char *s);

/*
 * Binary search for a partition point: lo becomes the first index of [lo, hi) at which
 * below (an expression of mid) is false, below being true on a prefix of the range (hi
 * when true everywhere); hi is left equal to lo.
 */
#define CT_PARTITION(lo, hi, mid, below)                                                 \
	do {                                                                              \
		while ((lo) < (hi)) {                                                     \
			__typeof__(lo) mid = (lo) + ((hi) - (lo)) / 2;                    \
			if (below)                                                        \
				(lo) = mid + 1;                                           \
			else                                                              \
				(hi) = mid;                                               \
		}                                                                         \
	} while (0)

/* ct_grow when it must grow. */
void ct_grow_to(void *p, size_t *cap, size_t need, size_t elem);

/* Grows *p (an array of elem-byte items, capacity *cap) so that it holds at least need
 * items; doubling, from 16 items (or 64 bytes' worth of larger ones). Exits on out-of-memory. Inline when there is room (the analyses call it
 * per event). */
static inline void ct_grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need > *cap)
		ct_grow_to(p, cap, need, elem);
}

/*
 * Parses a duration with a mandatory unit, "ns", "us", "ms" or "s" (e.g. "250us",
 * "1.5ms", "2s"; a bare "0" is accepted). Returns 0 and sets *ns, or -EINVAL for a
 * malformed, negative or overflowing value (*ns untouched).
 */
int ct_parse_duration(const char *s, uint64_t *ns);

/* Human duration with three significant digits: "850ns", "12.3us", "1.50ms", "2.04s".
 * Writes into buf (at least CT_DUR_BUF bytes) and returns buf. */
#define CT_DUR_BUF 24
char *ct_fmt_duration(uint64_t ns, char *buf);

/* Parses a non-negative decimal integer that fits in a long; returns 0 or -EINVAL. */
int ct_parse_count(const char *s, long *out);

/* The part of path after its last '/'; path itself when there is none. Never NULL for a
 * non-NULL path. */
const char *ct_basename(const char *path);

#endif
