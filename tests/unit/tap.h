/* SPDX-License-Identifier: MIT */
/*
 * A tiny TAP producer for the C unit tests: each check prints "ok N" or "not ok N" with
 * both values, file and line. Include once per test program; call tap_done() at the end
 * of main (its return value is the exit status).
 */
#ifndef CT_TAP_H
#define CT_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...) do { \
	tap_n++; \
	if (cond) { printf("ok %d - ", tap_n); printf(__VA_ARGS__); printf("\n"); } \
	else { tap_failed++; printf("not ok %d - ", tap_n); printf(__VA_ARGS__); \
	       printf("\n#   at %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define TEST_EQ(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	TAP_OK(_a == _b, "%s == %s", #a, #b); \
	if (_a != _b) printf("#   got %lld, expected %lld\n", _a, _b); \
} while (0)

#define TEST_STREQ(a, b) do { \
	const char *_a = (a), *_b = (b); \
	int _eq = _a && _b && strcmp(_a, _b) == 0; \
	TAP_OK(_eq, "%s == \"%s\"", #a, _b ? _b : "(null)"); \
	if (!_eq) printf("#   got \"%s\"\n", _a ? _a : "(null)"); \
} while (0)

#define TEST_TRUE(c) TAP_OK((c), "%s", #c)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
