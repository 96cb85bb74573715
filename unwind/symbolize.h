/* SPDX-License-Identifier: MIT */
/*
 * Offline symbolization of recorded PCs with elfutils libdwfl: function, file:line and
 * inline chains, separate debug files found by build-id (/usr/lib/debug/.build-id) or
 * debuglink. Used by analyze/ only, never inside the traced process.
 */
#ifndef CTRACE_SYMBOLIZE_H
#define CTRACE_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include "../format/ctrace_format.h"

struct ct_sym;

/* One source-level frame. Strings are owned by the ct_sym and live until ct_sym_free. */
struct ct_frame {
	const char *func;   /* "??" when unknown */
	const char *file;   /* NULL when unknown */
	int line;           /* 0 when unknown */
	const char *module; /* path of the module, "?" when the PC is outside every module */
	uint64_t pc;        /* the recorded PC */
	int inlined;        /* 1: inlined into the next frame of the same PC */
	uint64_t offset;    /* pc - the module's load bias: the address in the module's own
			     * ELF (what `addr2line -e MODULE` takes); 0 outside every module */
};

/* Builds a symbolizer over the recorded module map (copied). Modules whose file is gone or
 * has another build-id are looked up by build-id. Returns NULL only on allocation failure. */
struct ct_sym *ct_sym_new(const struct ct_module *mods, size_t n);

/*
 * Resolves one recorded PC into up to max frames, innermost (inlined) first, the last one
 * the real function containing it. exact: 0 for return addresses (the usual case: pc-1 is
 * looked up), 1 for an exact PC. Returns the number of frames written, at least 1 when
 * max >= 1 (an unknown PC gives func "??"). Results are cached per PC.
 */
int ct_sym_resolve(struct ct_sym *s, uint64_t pc, int exact, struct ct_frame *out, int max);

/*
 * Names the data at address addr: the global or static variable (an ELF OBJECT or TLS
 * symbol of .symtab, else .dynsym) covering it, with *off the offset of addr in it; else,
 * inside a module, the module's path with *off = addr - its load bias (the address in
 * the module's ELF, as for frames); else NULL (heap, stacks, anonymous mappings). The
 * string lives until ct_sym_free.
 */
const char *ct_sym_data_name(struct ct_sym *s, uint64_t addr, uint64_t *off);

/*
 * Modules that frames were resolved in without debugging information (no DWARF found
 * for them), in module order: the i-th such path, and whether a Debian package owns it
 * is for the caller to ask; NULL past the last. Only modules that some ct_sym_resolve
 * call needed are listed.
 */
const char *ct_sym_nodebug(struct ct_sym *s, size_t i, const uint8_t **build_id,
			   size_t *build_id_len);

/* Frees the symbolizer and every string it handed out; s may be NULL. A ct_sym is not
 * thread-safe: use one per thread. */
void ct_sym_free(struct ct_sym *s);

#endif
