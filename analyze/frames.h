/* SPDX-License-Identifier: MIT */
/*
 * Symbolized stacks for the reports: a per-stack-id cache over unwind/symbolize.h, built
 * lazily over the model's module map (only stacks that are printed are resolved). Inlined
 * frames are expanded innermost first; and the one way every output writes a frame, as
 * text or as JSON. Used by the output formats (output.h), check.c and diff.c.
 */
#ifndef CTRACE_FRAMES_H
#define CTRACE_FRAMES_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../unwind/symbolize.h"
#include "model.h"

struct ct_frames;

/* A cache over m (which must outlive it). The symbolizer is created on first use.
 * Never returns NULL (exits on out-of-memory). */
struct ct_frames *ct_frames_new(const struct ct_model *m);
/* --hide: from now on, frames whose function the regex matches are left out of every
 * frame array (those of a stack or a call site), unless that would leave none; NULL: none
 * are. Process-wide; re must outlive its use. */
void ct_frames_set_hide(const regex_t *re);
void ct_frames_free(struct ct_frames *c);

/*
 * The source-level frames of stack id: frames[0] is the caller of the interposed
 * function, inlined frames innermost first (at the call site, frames inlined from system
 * headers, such as glibc's _FORTIFY_SOURCE wrappers, are left out). Sets *out to an array owned by the cache
 * (valid until ct_frames_free) and returns its length; 0 for stack 0 or an unknown id.
 * *truncated is set when the capture hit its depth limit (may be NULL).
 */
size_t ct_frames_stack(struct ct_frames *c, uint32_t id, const struct ct_frame **out,
		       int *truncated);

/*
 * The source-level frames of one return address pc (a call site: pc - 1 is looked up),
 * inlined frames innermost first, as ct_frames_stack gives them for a stack's PC. Sets
 * *out to an array owned by the cache and returns its length, at least 1 for pc != 0;
 * 0 for pc 0.
 */
size_t ct_frames_pc(struct ct_frames *c, uint64_t pc, const struct ct_frame **out);

/* The function facts of frame f, one this cache returned (ct_frames_stack or
 * ct_frames_pc): its linkage name (*sysname, f->func when the same or unknown; lives until
 * ct_frames_free) and its declaration line (*start_line, 0 when unknown). */
void ct_frames_fn(struct ct_frames *c, const struct ct_frame *f, const char **sysname,
		  int *start_line);

/* The name of the function at address addr (exact, e.g. a thread start routine); "??"
 * when unknown. The string lives until ct_frames_free. */
const char *ct_frames_func(struct ct_frames *c, uint64_t addr);

struct ct_pentry;
/* The frames of a profile entry (analysis.h): its stack's, or for a remainder entry (calls
 * without a recorded stack) its call site's alone. As ct_frames_stack; *truncated may be
 * NULL. */
size_t ct_frames_entry(struct ct_frames *c, const struct ct_pentry *e,
		       const struct ct_frame **out, int *truncated);

/* ---- writing frames ---- */

/* How a frame without a source file is written (ct_frame_write flags). */
#define CT_FRAME_MODULE 0x1u /* "func (libfoo.so)": its module's basename, when known */
#define CT_FRAME_PC 0x2u     /* "func (0x4011d6)": its address, when the module is unknown */

/* One frame on one line's worth of text, no newline: "func (file.c:42)" (the file's
 * basename); for a frame without a symbol in a known module "module+0xOFFSET" (the
 * module's file name and the address in its ELF, for addr2line); else as the flags say,
 * else "func". */
void ct_frame_write(FILE *f, const struct ct_frame *fr, unsigned how);
/* The same into buf (cap bytes, truncated to fit), for a table cell or a message; returns
 * buf. */
char *ct_frame_str(const struct ct_frame *fr, unsigned how, char *buf, size_t cap);
/* The first max frames of fr[0..n), one per line after indent, then
 * "<indent>... N more frames" when there are more. Nothing for n 0. */
void ct_frames_write(FILE *f, const struct ct_frame *fr, size_t n, const char *indent,
		     size_t max, unsigned how);

struct ct_json;
/* Writes frames f[0..n) as a JSON array value (analyze/README.md, "report --json": func,
 * file, line, module, offset; "??" for an unknown function, null file and module when
 * unknown; offset "0x..." is the address in the module's ELF, null outside every module). */
void ct_frames_json(struct ct_json *j, const struct ct_frame *f, size_t n);
/* The same as the object member key (e.g. "frames"). */
void ct_frames_json_kv(struct ct_json *j, const char *key, const struct ct_frame *f, size_t n);
/* The frames of stack id as the object member key. */
void ct_frames_json_stack(struct ct_frames *c, struct ct_json *j, const char *key, uint32_t id);

/*
 * The name of the data at address addr, into buf (n bytes): the global or static
 * variable there ("log_mu", "table+0x40" inside one), else "module+0xOFFSET" for an
 * address in a module's data; NULL (buf untouched) for heap, stack and anonymous memory.
 */
const char *ct_frames_data_name(struct ct_frames *c, uint64_t addr, char *buf, size_t n);

/*
 * For the modules frames were resolved in that have no debugging information: one line
 * each (after a heading) saying what would supply it: the Debian package's -dbgsym (the
 * owner from dpkg-query -S) and the build-id path. Nothing when there are none. Runs
 * dpkg-query, so only for text reports.
 */
void ct_frames_debug_hints(struct ct_frames *c, FILE *out);

#endif
