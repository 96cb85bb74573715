/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON emitter for `ctrace report --json` and future exporters: it tracks
 * nesting and commas, escapes strings (control characters, quotes, backslashes; invalid
 * UTF-8 bytes become U+FFFD so the output always parses) and prints integers exactly.
 * Output is compact, one document per ct_json_end(). Used by analyze/ only.
 */
#ifndef CTRACE_JSON_H
#define CTRACE_JSON_H

#include <stdint.h>
#include <stdio.h>

#define CT_JSON_DEPTH 32

struct ct_json {
	FILE *f;
	int depth;
	int first[CT_JSON_DEPTH]; /* no member emitted yet at this level */
	int after_key;            /* a key was just written: the next value takes no comma */
};

/* Starts a document on f. Never fails (write errors are found by ferror(f)). */
void ct_json_init(struct ct_json *j, FILE *f);
/* Containers. Calls must nest; deeper than CT_JSON_DEPTH is a programming error (abort). */
void ct_json_obj_begin(struct ct_json *j);
void ct_json_obj_end(struct ct_json *j);
void ct_json_arr_begin(struct ct_json *j);
void ct_json_arr_end(struct ct_json *j);
/* An object member's key, one of the program's own names (plain ASCII: written as it is,
 * unescaped); the next call writes its value. */
void ct_json_key(struct ct_json *j, const char *key);
/* Values. ct_json_str(j, NULL) writes null. */
void ct_json_str(struct ct_json *j, const char *s);
void ct_json_u64(struct ct_json *j, uint64_t v);
void ct_json_i64(struct ct_json *j, int64_t v);
void ct_json_bool(struct ct_json *j, int v);
/* A finite number with 6 significant digits ("%.6g"); null when not finite. */
void ct_json_double(struct ct_json *j, double v);
void ct_json_null(struct ct_json *j);
/* A value written as JSON already (len bytes of text, one complete value). */
void ct_json_raw(struct ct_json *j, const char *text, size_t len);
/* "0x..." lower-case hexadecimal string. */
void ct_json_hex(struct ct_json *j, uint64_t v);
/* An object member: its key and value in one call. */
void ct_json_kv_u64(struct ct_json *j, const char *key, uint64_t v);
void ct_json_kv_double(struct ct_json *j, const char *key, double v);
void ct_json_kv_str(struct ct_json *j, const char *key, const char *s);
void ct_json_kv_bool(struct ct_json *j, const char *key, int v);
void ct_json_kv_hex(struct ct_json *j, const char *key, uint64_t v);
/* Ends the document with a newline. */
void ct_json_end(struct ct_json *j);

/* Writes s as a quoted, escaped JSON string to f. */
void ct_json_write_string(FILE *f, const char *s);

#endif
