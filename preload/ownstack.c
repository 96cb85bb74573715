/* SPDX-License-Identifier: MIT */
/*
 * libctrace's own stacks, so that nothing it does on a program thread depends on how big
 * that thread's stack is (a thread made with PTHREAD_STACK_MIN has 16 KiB):
 *
 * - The flush stack: every flush made on a thread libctrace does not own (exit from any
 *   thread, _exit, exec, the fork child's file creation, a fatal signal's handler, a
 *   single-threaded program's periodic flush) runs on one mapped stack of FLUSH_STACK
 *   bytes with a guard page below it, through a call-on-stack helper of a few
 *   instructions (x86-64 and AArch64; elsewhere the call stays on the thread's stack).
 *   The flush lock (flush.c) makes its use exclusive: only its holder switches to it.
 *
 * - Alternate signal stacks: each thread libctrace knows (main, and those made through
 *   pthread_create/thrd_create) gets ALT_STACK bytes of a mapped region (one per thread
 *   slot, with a guard page) as its sigaltstack, unless the program set one of its own,
 *   so that libctrace's fatal-signal handler (SA_ONSTACK) runs even when the thread
 *   overflowed its stack, and the trace keeps its events. The program sees its own
 *   sigaltstack setting in every sigaltstack() call (SS_DISABLE, with its last disable's
 *   SS_AUTODISARM bit, while libctrace's is in place; the kernel checks each call as
 *   untraced); a stack it sets replaces libctrace's, and libctrace's comes back when it
 *   disables its own.
 *
 * - A program handler installed with SA_ONSTACK, on a thread where the program set no
 *   stack, runs on libctrace's (untraced: on the thread's own stack), with its 60 KiB. It
 *   is not moved to the interrupted stack: a program may have found libctrace's stack
 *   through the raw system call, which no wrapper sees, and adopted it (Go's runtime does
 *   under cgo), and then its handlers must run there. After a program handler returns,
 *   the program's sigaltstack view is the one before it (ct_altstack_handler), as
 *   rt_sigreturn restores the stack in place at the delivery.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrace.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1u << 31) /* linux/signal.h: a flag beside the mode */
#endif
#define FLUSH_STACK (256u << 10)
#define ALT_STACK (64u << 10)
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif
#define GUARD 4096u

static char *flush_stack;   /* lowest usable byte; the guard page is below it */
static char *alt_region;    /* ct_cfg.max_threads * ALT_STACK, a guard page in each */
static CT_TLS int alt_ours; /* this thread's sigaltstack is libctrace's */
/* The flag bits (SS_AUTODISARM) of the program's last SS_DISABLE, which the kernel keeps
 * and reports with SS_DISABLE: shown with the none that stands for libctrace's. */
static CT_TLS int alt_none_bits;

/* fn(arg) with the stack pointer at top (16-byte aligned). */
void ct_call_on_stack(void *arg, void (*fn)(void *), void *top);
#if defined(__x86_64__)
__asm__(".text\n"
	".globl ct_call_on_stack\n"
	".hidden ct_call_on_stack\n"
	".type ct_call_on_stack, @function\n"
	"ct_call_on_stack:\n"
	".cfi_startproc\n"
	"	pushq %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"	movq %rsp, %rbp\n"
	".cfi_def_cfa_register %rbp\n"
	"	movq %rdx, %rsp\n"
	"	callq *%rsi\n"
	"	movq %rbp, %rsp\n"
	"	popq %rbp\n"
	".cfi_def_cfa %rsp, 8\n"
	"	retq\n"
	".cfi_endproc\n"
	".size ct_call_on_stack, .-ct_call_on_stack\n");
#define HAVE_CALL_ON_STACK 1
#elif defined(__aarch64__)
__asm__(".text\n"
	".globl ct_call_on_stack\n"
	".hidden ct_call_on_stack\n"
	".type ct_call_on_stack, %function\n"
	"ct_call_on_stack:\n"
	".cfi_startproc\n"
	"	stp x29, x30, [sp, #-16]!\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset x29, -16\n"
	".cfi_offset x30, -8\n"
	"	mov x29, sp\n"
	".cfi_def_cfa_register x29\n"
	"	mov sp, x2\n"
	"	blr x1\n"
	"	mov sp, x29\n"
	"	ldp x29, x30, [sp], #16\n"
	".cfi_def_cfa sp, 0\n"
	"	ret\n"
	".cfi_endproc\n"
	".size ct_call_on_stack, .-ct_call_on_stack\n");
#define HAVE_CALL_ON_STACK 1
#else
void ct_call_on_stack(void *arg, void (*fn)(void *), void *top)
{
	(void)top;
	fn(arg);
}
#define HAVE_CALL_ON_STACK 0
#endif

static void *map_guarded(size_t bytes)
{
	char *p = ct_map(1, bytes + GUARD, CT_MAP_STACK);
	if (!p)
		return NULL;
	mprotect(p, GUARD, PROT_NONE);
	return p + GUARD;
}

int ct_ownstack_init(void)
{
	flush_stack = map_guarded(FLUSH_STACK);
	if (!flush_stack)
		return -ENOMEM;
	/* The alternate stacks: reserved address space, pages only where a signal ran. */
	alt_region = ct_map(ct_cfg.max_threads, ALT_STACK, CT_MAP_STACK | CT_MAP_PER_THREAD);
	return 0;
}

void ct_ownstack_run(void (*fn)(void *), void *arg)
{
	char *sp = __builtin_frame_address(0);
	if (!HAVE_CALL_ON_STACK || !flush_stack ||
	    (sp >= flush_stack && sp < flush_stack + FLUSH_STACK)) {
		fn(arg); /* no such stack, or already on it (a flush that opens the file) */
		return;
	}
	ct_call_on_stack(arg, fn, flush_stack + FLUSH_STACK);
}

static int alt_slot(const struct ct_thread *t)
{
	if (!alt_region || !t || !ct_threads)
		return -1;
	return (int)(t - ct_threads);
}

/* t's slot's stack, above its guard page. */
static char *alt_sp(int i)
{
	return alt_region + (size_t)i * ALT_STACK + GUARD;
}

void ct_altstack_install(struct ct_thread *t, int check)
{
	int i = alt_slot(t), e = errno;
	if (i < 0)
		return;
	stack_t cur;
	if (check && (REAL(sigaltstack)(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE)))
		return; /* the program's own (or ours already) */
	if (!t->alt_guarded) {
		/* each slot's lowest page, once: an overflow of one faults, not the neighbour.
		 * A guard region where the kernel has them (Linux 6.13): no mapping of its own,
		 * where mprotect splits the region's, two mappings more per thread against the
		 * program's vm.max_map_count (without it when there is no room for them). */
		char *g = alt_sp(i) - GUARD;
		t->alt_guarded = madvise(g, GUARD, MADV_GUARD_INSTALL) == 0 ||
				 mprotect(g, GUARD, PROT_NONE) == 0;
	}
	stack_t ss = { .ss_sp = alt_sp(i), .ss_size = ALT_STACK - GUARD, .ss_flags = 0 };
	if (REAL(sigaltstack)(&ss, NULL) == 0)
		alt_ours = 1;
	errno = e;
}

void ct_altstack_handler(void (*fn)(void *), void *arg)
{
	int ours = alt_ours, bits = alt_none_bits;

	fn(arg);
	/* rt_sigreturn puts back the stack in place at the delivery (uc_stack): a stack the
	 * handler set is undone, as untraced on a thread with none, and libctrace's is there
	 * again. (Untraced, the main thread's initial state, no stack of size 0 without
	 * SS_DISABLE, fails to be restored and a stack the handler set stays.) */
	alt_ours = ours;
	alt_none_bits = bits;
}

void ct_altstack_remove(void)
{
	if (!alt_ours)
		return;
	stack_t ss = { .ss_flags = SS_DISABLE };
	int e = errno;
	if (REAL(sigaltstack)(&ss, NULL) == 0)
		alt_ours = 0;
	errno = e;
}

CT_EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
	if (!alt_ours) {
		int r = REAL(sigaltstack)(ss, old);
		/* the program gave up its own: libctrace's comes back */
		if (r == 0 && ss && (ss->ss_flags & SS_DISABLE) && ct_tls.th &&
		    atomic_load_explicit(&ct_active, memory_order_relaxed)) {
			alt_none_bits = (int)(ss->ss_flags & SS_AUTODISARM);
			ct_altstack_install(ct_tls.th, 0);
		}
		return r;
	}
	/* libctrace's is in place: the program had none. The kernel checks the call as it
	 * would untraced (its pointers and flags) and makes the change; the old stack it
	 * reports, ours, is shown as none. What is in place after it: still ours, the
	 * program's (which replaces ours), or none (SS_DISABLE: ours comes back). */
	int r = REAL(sigaltstack)(ss, old), e = errno, was = alt_none_bits;
	stack_t cur;
	int i = alt_slot(ct_tls.th);
	if (r != 0 && e == EPERM && ss && (ss->ss_flags & ~SS_AUTODISARM) == SS_DISABLE) {
		/* a handler running on ours disables: untraced there was none to disable
		 * (ss was read: EPERM comes after); ours stays */
		r = old ? REAL(sigaltstack)(NULL, old) : 0;
		e = errno;
		ss = NULL;
	}
	if (ss && REAL(sigaltstack)(NULL, &cur) == 0 &&
	    (i < 0 || (cur.ss_flags & SS_DISABLE) || cur.ss_sp != alt_sp(i))) {
		alt_ours = 0;
		if ((cur.ss_flags & SS_DISABLE) && ct_tls.th &&
		    atomic_load_explicit(&ct_active, memory_order_relaxed)) {
			alt_none_bits = (int)(cur.ss_flags & SS_AUTODISARM);
			ct_altstack_install(ct_tls.th, 0);
		}
	}
	if (r == 0 && old) {
		memset(old, 0, sizeof(*old));
		old->ss_flags = SS_DISABLE | was; /* before the call, as the kernel's */
	}
	errno = e;
	return r;
}
