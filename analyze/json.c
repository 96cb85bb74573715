/* SPDX-License-Identifier: MIT */
/*
 * Implementation of json.h. Strings are validated as UTF-8 byte by byte: paths and thread
 * names come from the traced program and may hold anything; what needs no escape goes out
 * in runs. One thread writes a document, so the stream's unlocked calls are used (a
 * report of 100,000 objects is about 100 MB of JSON: a lock per character showed), and
 * short runs (most keys and numbers) go out a character at a time through the stream's
 * inline putc: a call to fwrite costs more than a key's characters.
 */
#include "json.h"

#include <inttypes.h>
#include <stdlib.h>

void ct_json_init(struct ct_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = 1;
	j->after_key = 0;
}

/* n bytes of p to f: short ones by the inline putc, longer ones by fwrite. */
static inline void put_bytes(FILE *f, const char *p, size_t n)
{
	if (n > 24) {
		fwrite_unlocked(p, 1, n, f);
		return;
	}
	for (size_t i = 0; i < n; i++)
		putc_unlocked(p[i], f);
}

/* Separator before a value or key at the current level. */
static void sep(struct ct_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (!j->first[j->depth])
		fputc_unlocked(',', j->f);
	j->first[j->depth] = 0;
}

static void jopen(struct ct_json *j, int c)
{
	sep(j);
	if (j->depth + 1 >= CT_JSON_DEPTH)
		abort();
	fputc_unlocked(c, j->f);
	j->first[++j->depth] = 1;
}

static void jclose(struct ct_json *j, int c)
{
	if (j->depth <= 0)
		abort();
	j->depth--;
	fputc_unlocked(c, j->f);
}

void ct_json_obj_begin(struct ct_json *j) { jopen(j, '{'); }
void ct_json_obj_end(struct ct_json *j) { jclose(j, '}'); }
void ct_json_arr_begin(struct ct_json *j) { jopen(j, '['); }
void ct_json_arr_end(struct ct_json *j) { jclose(j, ']'); }

void ct_json_key(struct ct_json *j, const char *key)
{
	sep(j);
	putc_unlocked('"', j->f);
	for (const char *k = key; *k; k++) /* the program's own name: nothing to escape */
		putc_unlocked(*k, j->f);
	putc_unlocked('"', j->f);
	putc_unlocked(':', j->f);
	j->after_key = 1;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if s does not start one. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range or a surrogate */
	return n;
}

/* How many bytes from s on go out as they are: printable ASCII but '"' and '\\', and
 * whole valid UTF-8 sequences. */
static size_t plain_run(const unsigned char *s)
{
	const unsigned char *p = s;

	for (;;) {
		int n;

		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		else if (*p >= 0x80 && (n = utf8_len(p)) > 0)
			p += n;
		else
			return (size_t)(p - s);
	}
}

void ct_json_write_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc_unlocked('"', f);
	while (*s) {
		size_t k = plain_run(s);
		int n;

		if (k) {
			put_bytes(f, (const char *)s, k);
			s += k;
			continue;
		}
		switch (*s) {
		case '"': fputs_unlocked("\\\"", f); s++; continue;
		case '\\': fputs_unlocked("\\\\", f); s++; continue;
		case '\n': fputs_unlocked("\\n", f); s++; continue;
		case '\r': fputs_unlocked("\\r", f); s++; continue;
		case '\t': fputs_unlocked("\\t", f); s++; continue;
		case '\b': fputs_unlocked("\\b", f); s++; continue;
		case '\f': fputs_unlocked("\\f", f); s++; continue;
		default: break;
		}
		if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
			s++;
			continue;
		}
		n = utf8_len(s);
		if (n == 0) {
			fputs_unlocked("\\ufffd", f);
			s++;
			continue;
		}
		put_bytes(f, (const char *)s, (size_t)n);
		s += n;
	}
	fputc_unlocked('"', f);
}

void ct_json_str(struct ct_json *j, const char *s)
{
	if (!s) {
		ct_json_null(j);
		return;
	}
	sep(j);
	ct_json_write_string(j->f, s);
}

/* v in decimal, as "%" PRIu64 writes it. */
static void put_u64(FILE *f, uint64_t v)
{
	char b[20];
	size_t i = sizeof(b);

	do
		b[--i] = (char)('0' + v % 10);
	while (v /= 10);
	put_bytes(f, b + i, sizeof(b) - i);
}

void ct_json_u64(struct ct_json *j, uint64_t v)
{
	sep(j);
	put_u64(j->f, v);
}

void ct_json_double(struct ct_json *j, double v)
{
	sep(j);
	if (v != v || v > 1e300 || v < -1e300)
		fputs_unlocked("null", j->f);
	else
		fprintf(j->f, "%.6g", v);
}

void ct_json_i64(struct ct_json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRId64, v);
}

void ct_json_bool(struct ct_json *j, int v)
{
	sep(j);
	fputs_unlocked(v ? "true" : "false", j->f);
}

void ct_json_null(struct ct_json *j)
{
	sep(j);
	fputs_unlocked("null", j->f);
}

void ct_json_hex(struct ct_json *j, uint64_t v)
{
	char b[20];
	size_t i = sizeof(b);

	sep(j);
	b[--i] = '"';
	do
		b[--i] = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	b[--i] = 'x';
	b[--i] = '0';
	b[--i] = '"';
	put_bytes(j->f, b + i, sizeof(b) - i);
}

void ct_json_raw(struct ct_json *j, const char *text, size_t len)
{
	sep(j);
	put_bytes(j->f, text, len);
}

void ct_json_end(struct ct_json *j)
{
	fputc_unlocked('\n', j->f);
}

void ct_json_kv_u64(struct ct_json *j, const char *key, uint64_t v)
{
	ct_json_key(j, key);
	ct_json_u64(j, v);
}

void ct_json_kv_double(struct ct_json *j, const char *key, double v)
{
	ct_json_key(j, key);
	ct_json_double(j, v);
}

void ct_json_kv_str(struct ct_json *j, const char *key, const char *s)
{
	ct_json_key(j, key);
	ct_json_str(j, s);
}

void ct_json_kv_bool(struct ct_json *j, const char *key, int v)
{
	ct_json_key(j, key);
	ct_json_bool(j, v);
}

void ct_json_kv_hex(struct ct_json *j, const char *key, uint64_t v)
{
	ct_json_key(j, key);
	ct_json_hex(j, v);
}
