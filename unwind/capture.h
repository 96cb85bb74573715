/* SPDX-License-Identifier: MIT */
/*
 * Stack capture on the record path and the module map, for the preload library.
 * libunwind is loaded with dlopen(RTLD_LOCAL) so its _Unwind_* exports can never take over
 * the program's C++ exception handling.
 */
#ifndef CTRACE_CAPTURE_H
#define CTRACE_CAPTURE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "../format/ctrace_format.h"

#define CT_DEFAULT_DEPTH 32

/* Loads the unwinder and warms it up in the calling thread (ct_capture_load, then
 * ct_capture_warm). Call once, from the constructor, inside the reentrancy guard. depth
 * is clamped to [1, CT_MAX_FRAMES]. Returns 0, or a negative errno when no unwinder is
 * available (captures then return 0). */
int ct_capture_init(int depth);
/* ct_capture_init's two halves, for attach mode (preload/attach.c), where the program's
 * calls reach the wrappers only once its GOT entries are redirected: the warm-up, whose
 * first capture opens libunwind's validation pipe, must come after that, so that the
 * pipe is libctrace's fd-less one (fdguard.c) and not two fds of the program's numbers.
 * Both inside the reentrancy guard; warm once. */
int ct_capture_load(int depth);
void ct_capture_warm(void);
/* An address inside libunwind.so.8 as ct_capture_load loaded it (its unw_backtrace), NULL
 * when it is not loaded: attach mode redirects that module's GOT for good (attach.c). */
void *ct_capture_unwinder(void);

/*
 * Record path: captures the calling thread's stack into pcs (at most the configured
 * depth), dropping the leading frames that belong to libctrace itself, so pcs[0] is the
 * return address in the caller of the interposed function. Sets *truncated when the depth
 * limit was hit. Returns the number of frames (0 if unavailable). No malloc, no locks when
 * the thread's unwinder is warm; never call it from a handler libctrace installs.
 */
int ct_capture(uint64_t *pcs, unsigned *truncated);

/*
 * The stack cache's slow path (preload/stacktab.c): every frame from the caller's own with
 * its instruction pointer and CFA (libgcc's unwinder, lock-free through _dl_find_object):
 * the return address into frame k+1 is stored at cfas[k] - 8. libctrace's own frames are
 * included. Returns the frame count, 0 when libgcc is unavailable. Costs about a
 * microsecond: only for stacks seen twice. Not in signal handlers libctrace installs.
 */
int ct_capture_frames(uint64_t *ips, uint64_t *cfas, int max);
/* Is pc one of the frames ct_capture drops (inside libctrace, or the outermost 0)? */
int ct_capture_is_self(uint64_t pc);
/* Bumped by ct_capture_on_dlclose: a cached stack learned before is stale. */
extern atomic_uint ct_capture_gen;

/* To be called after dlclose: libunwind keeps stale unwind rules for unloaded objects, so
 * capture switches to libgcc's unwinder (lock-free via _dl_find_object). */
void ct_capture_on_dlclose(void);

/*
 * Module map snapshot from dl_iterate_phdr: fills up to max modules, path strings copied
 * into strbuf (cap bytes). Returns the module count. Takes the loader lock: never on the
 * record path, never in a signal handler.
 */
size_t ct_modules_snapshot(struct ct_module *out, size_t max, char *strbuf, size_t cap);
/* Whether objects were loaded or unloaded since the last snapshot, from dlpi_adds and
 * dlpi_subs (the loader lock, briefly); 0 in a fork child until ct_loader_usable. */
int ct_modules_changed(void);

/* Calls fn(lo, hi, rest, arg) for each mapping of the process (/proc/self/maps, read
 * into buf, cap bytes; rest is the line after the range) until fn returns nonzero, which
 * is returned; 0 at the end, -1 when the file cannot be read. No allocation; not the
 * record path. */
int ct_maps_walk(char *buf, size_t cap, int (*fn)(uintptr_t, uintptr_t, const char *, void *),
		 void *arg);

/* In a fork child, first thing: until the child loads or unloads an object itself, the
 * loader lock is suspect (a parent thread may have held it at the fork, and it then stays
 * held): capture uses libgcc's unwinder (lock-free), and neither the module map nor
 * dlclose walks the objects. Async-signal-safe. */
void ct_capture_fork_child(void);
/* 1 when the loader lock may be taken (dl_iterate_phdr): always, but in a fork child
 * before it loaded or unloaded an object itself. No lock. */
int ct_loader_usable(void);

#endif
