/* SPDX-License-Identifier: MIT */
/*
 * Knowing when a program signal handler runs: sigaction and signal install the program's
 * handler behind a trampoline that marks the thread (ct_in_signal) for the duration of the
 * handler. Stack capture uses it to avoid libunwind there: a libunwind cache miss takes
 * the loader lock, and a handler that interrupted a thread holding it would deadlock
 * (stack-capture.md, section 2). The program sees its own handler and flags in every
 * oldact; signal semantics (mask, SA_RESTART, SA_RESETHAND, SA_NODEFER) are unchanged.
 *
 * A handler that leaves with siglongjmp leaves the mark set: that thread then keeps using
 * the slower lock-free libgcc unwinder, which is correct, only slower.
 */
#include <errno.h>
#include <string.h>

#include "ctrace.h"

CT_TLS int ct_in_signal;
static int hooked; /* set by the constructor: before it, pass through */

static struct {
	void *handler; /* the program's handler (atomic access) */
	int flags;     /* the program's sa_flags */
} user[_NSIG];

static void trampoline(int sig, siginfo_t *si, void *uc)
{
	void *h = __atomic_load_n(&user[sig].handler, __ATOMIC_ACQUIRE);
	int flags = __atomic_load_n(&user[sig].flags, __ATOMIC_RELAXED);
	if (h == (void *)SIG_DFL || h == (void *)SIG_IGN || !h)
		return;
	ct_in_signal++;
	if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))h)(sig, si, uc);
	else
		((void (*)(int))h)(sig);
	ct_in_signal--;
}

void ct_signals_init(void)
{
	hooked = 1;
}

static int is_function(const struct sigaction *act)
{
	void *h = (act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction
						 : (void *)act->sa_handler;
	return h != (void *)SIG_DFL && h != (void *)SIG_IGN && h != NULL;
}

CT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	if (!hooked || sig <= 0 || sig >= _NSIG)
		return REAL(sigaction)(sig, act, oldact);
	void *prev_h = __atomic_load_n(&user[sig].handler, __ATOMIC_ACQUIRE);
	int prev_f = user[sig].flags;
	struct sigaction mine, kold;
	const struct sigaction *use = act;
	if (act && is_function(act)) {
		mine = *act;
		mine.sa_sigaction = trampoline;
		mine.sa_flags |= SA_SIGINFO;
		use = &mine;
		/* Publish before installing, so a signal right after finds the handler. */
		__atomic_store_n(&user[sig].flags, act->sa_flags, __ATOMIC_RELAXED);
		__atomic_store_n(&user[sig].handler,
				 (act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction
							      : (void *)act->sa_handler,
				 __ATOMIC_RELEASE);
	}
	int r = REAL(sigaction)(sig, use, &kold);
	if (r != 0) {
		if (use == &mine) {
			__atomic_store_n(&user[sig].flags, prev_f, __ATOMIC_RELAXED);
			__atomic_store_n(&user[sig].handler, prev_h, __ATOMIC_RELEASE);
		}
		return r;
	}
	if (oldact) {
		*oldact = kold;
		if (kold.sa_sigaction == trampoline) {
			oldact->sa_flags = prev_f;
			if (prev_f & SA_SIGINFO)
				oldact->sa_sigaction = (void (*)(int, siginfo_t *, void *))prev_h;
			else
				oldact->sa_handler = (void (*)(int))prev_h;
		}
	}
	return 0;
}

/* glibc's signal() calls its internal sigaction, which no wrapper sees: re-implement its
 * BSD semantics (handler, the signal blocked during it, SA_RESTART) on ours. */
CT_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act, old;
	if (handler == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	act.sa_flags = SA_RESTART;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}
