/* SPDX-License-Identifier: MIT */
/*
 * Symbolized stacks for the reports: a per-stack-id cache over unwind/symbolize.h, built
 * lazily over the model's module map (only stacks that are printed are resolved). Inlined
 * frames are expanded innermost first. Used by report.c and the future exporters.
 */
#ifndef CTRACE_FRAMES_H
#define CTRACE_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../unwind/symbolize.h"
#include "model.h"

struct ct_frames;

/* A cache over m (which must outlive it). The symbolizer is created on first use.
 * Never returns NULL (exits on out-of-memory). */
struct ct_frames *ct_frames_new(const struct ct_model *m);
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

/* The name of the function at address addr (exact, e.g. a thread start routine); "??"
 * when unknown. The string lives until ct_frames_free. */
const char *ct_frames_func(struct ct_frames *c, uint64_t addr);

struct ct_json;
/* Writes frames f[0..n) as a JSON array value (func, file, line, module, offset; "??" for
 * an unknown function, null file and module when unknown; offset "0x..." is the address
 * in the module's ELF, null outside every module). */
void ct_frames_json(struct ct_json *j, const struct ct_frame *f, size_t n);

/* One frame as text, no newline: "func (file:line)", "func (module)", or for a frame
 * without a symbol "module+0xOFFSET" (the module's file name and the address in its ELF,
 * for addr2line), "func (0xPC)" outside every module. */
void ct_frames_text(FILE *out, const struct ct_frame *f);

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
