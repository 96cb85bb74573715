/* SPDX-License-Identifier: MIT */
/*
 * Knowing when a program signal handler runs: sigaction and signal install the program's
 * handler behind a trampoline that marks the thread (ct_in_signal) for the duration of the
 * handler. Stack capture uses it to avoid libunwind there: a libunwind cache miss takes
 * the loader lock, and a handler that interrupted a thread holding it would deadlock
 * (unwind/README.md, Capture). The program sees its own handler and flags in every
 * oldact, also from the raw rt_sigaction through syscall() (ct_signal_raw_view; only
 * /proc/PID/status's SigCgt shows what libctrace catches); signal semantics (mask,
 * SA_RESTART, SA_RESETHAND, SA_NODEFER) are unchanged.
 *
 * A handler that leaves with siglongjmp leaves the mark set: that thread then keeps using
 * the slower lock-free libgcc unwinder, which is correct, only slower.
 *
 * SA_RESETHAND ("one shot") is emulated, not passed on: the kernel would reset the
 * disposition to a bare SIG_DFL on delivery, so a handler that then re-raises (or a second
 * signal) would end the process without the flush. The trampoline resets it instead, to
 * libctrace's fatal handler for a fatal signal, before calling the program's handler; the
 * program sees SIG_DFL, as after the kernel's reset. One delivery claims the handler (an
 * atomic exchange); another (another thread) that enters the trampoline before the reset
 * reached the kernel meets SIG_DFL as it would have: the default action, through the
 * fatal handler for a fatal signal.
 * Under a seccomp filter (ct_signals_release) the fatal handlers are gone and the reset
 * is the kernel's again: the trampoline's would be a system call the filter may refuse.
 *
 * Fatal signals: every signal whose default action ends the process (SIGSEGV, SIGBUS,
 * SIGABRT, SIGFPE, SIGILL, SIGSYS, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM,
 * SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGPROF, SIGVTALRM, SIGSTKFLT, SIGIO, SIGPWR, SIGTRAP
 * and the real-time signals glibc leaves to programs; a debugger's breakpoint traps stop
 * the process under ptrace before any handler runs, so it still sees them), wherever their disposition is SIG_DFL (at load, or when the program sets
 * SIG_DFL later), get a handler of libctrace's that writes what is buffered (bounded
 * wait, flush.c), restores SIG_DFL and queues the same signal with the same siginfo to
 * the same thread; when it returns, the default action runs as it would have: the same
 * exit status, the same core dump, the core's registers those of the faulting
 * instruction. The program sees SIG_DFL (and the flags and mask it gave) in every oldact;
 * a handler or SIG_IGN it installs replaces libctrace's. Not installed in a pid 1 (a
 * namespace's init ignores default-action signals; a handler would not), and removed in a
 * fork child that is one (ct_signals_pid1), and a stack
 * overflow flushes only on the program's own sigaltstack (SA_ONSTACK), if any.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#include <unistd.h>

#include "ctrace.h"

CT_TLS int ct_in_signal;
static int hooked; /* set by the constructor: before it, pass through */

static struct {
	void *handler; /* the program's handler (atomic access) */
	int flags;     /* the program's sa_flags */
} user[_NSIG];

static void reset_to_default(int sig);
static int native_resethand; /* SA_RESETHAND left to the kernel (ct_signals_release) */
static struct sigaction dfl_view[_NSIG]; /* what the program sees: SIG_DFL, its flags */
static struct sigaction reset_view[_NSIG]; /* what it sees after an SA_RESETHAND reset */

/* A program handler's call, as the trampoline makes it (through ct_altstack_handler). */
struct handler_call {
	void *h;
	int sig, flags;
	siginfo_t *si;
	void *uc;
};

static void call_handler(void *arg)
{
	const struct handler_call *c = arg;

	if (c->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))c->h)(c->sig, c->si, c->uc);
	else
		((void (*)(int))c->h)(c->sig);
}

static void fatal_handler(int sig, siginfo_t *si, void *uc);
static int fatal_on;
static unsigned char is_fatal[_NSIG];

/* sig's disposition SIG_DFL in the kernel. */
static void set_dfl(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	REAL(sigaction)(sig, &dfl, NULL);
}

/* sig's default action, when this handler returns (or at once, not blocked): SIG_DFL in
 * place, and the signal sent to this thread again with its siginfo. errno untouched. */
static void default_action(int sig, siginfo_t *si)
{
	int e = errno;
	set_dfl(sig);
	/* the original siginfo (a fault's address and code) is kept */
	long (*sc)(long, ...) = REAL(syscall);
	if (sc(SYS_rt_tgsigqueueinfo, (long)getpid(), (long)gettid(), (long)sig, (long)si) != 0)
		sc(SYS_tgkill, (long)getpid(), (long)gettid(), (long)sig);
	errno = e;
}

static void trampoline(int sig, siginfo_t *si, void *uc)
{
	int flags = __atomic_load_n(&user[sig].flags, __ATOMIC_RELAXED);
	int oneshot = (flags & SA_RESETHAND) &&
		      !__atomic_load_n(&native_resethand, __ATOMIC_ACQUIRE);
	/* a one-shot handler is claimed by one delivery only, as the kernel's reset at the
	 * delivery would have it: two threads in here at once, one runs it */
	void *h = oneshot ? __atomic_exchange_n(&user[sig].handler, (void *)SIG_DFL,
						__ATOMIC_ACQ_REL)
			  : __atomic_load_n(&user[sig].handler, __ATOMIC_ACQUIRE);
	if (h == (void *)SIG_DFL || !h) {
		/* another delivery claimed the one shot and its reset (reset_to_default) has
		 * not reached the kernel yet: this one meets SIG_DFL, as after the kernel's
		 * reset (a fatal signal: through libctrace's handler, which writes the trace) */
		if (fatal_on && is_fatal[sig])
			fatal_handler(sig, si, uc);
		else
			default_action(sig, si);
		return;
	}
	if (h == (void *)SIG_IGN)
		return;
	if (oneshot) {
		reset_to_default(sig);
	} else if (flags & SA_RESETHAND) {
		/* the kernel reset it (seccomp: no sigaction of ours) */
		__atomic_store_n(&user[sig].handler, (void *)SIG_DFL, __ATOMIC_RELEASE);
		dfl_view[sig] = reset_view[sig];
	}
	struct handler_call c = { h, sig, flags, si, uc };
	ct_in_signal++;
	ct_altstack_handler(call_handler, &c);
	ct_in_signal--;
}

/* ---- fatal signals ---- */

static const int fatal_sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS,
				   SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM,
				   SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGPROF, SIGVTALRM,
				   SIGSTKFLT, SIGIO, SIGPWR, SIGTRAP };
static void fatal_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int e = errno;
	if (ct_trigger_signal(sig)) {
		errno = e; /* flight mode's trigger signal, or a ctrace request: libctrace's */
		return;
	}
	ct_trigger_crash(sig);
	ct_writer_fatal();
	/* pending until this handler returns (the signal is blocked during it) */
	default_action(sig, si);
	errno = e;
}

static int install_fatal(int sig)
{
	struct sigaction mine;
	memset(&mine, 0, sizeof(mine));
	mine.sa_sigaction = fatal_handler;
	mine.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&mine.sa_mask);
	return REAL(sigaction)(sig, &mine, NULL);
}

static void hook_fatal(int sig)
{
	struct sigaction cur;
	is_fatal[sig] = 1;
	if (REAL(sigaction)(sig, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL)
		return;
	dfl_view[sig] = cur;
	install_fatal(sig);
}

void ct_signals_init(void)
{
	if (getpid() != 1) {
		for (size_t i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++)
			hook_fatal(fatal_sigs[i]);
		/* SIGRTMIN is above the signals glibc keeps for itself */
		for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
			hook_fatal(sig);
		fatal_on = 1;
	}
	hooked = 1;
}

/* sig's disposition back to SIG_DFL when it is libctrace's fatal handler; 1 if it was. */
static int drop_fatal(int sig, const struct sigaction *cur)
{
	if (!is_fatal[sig] || cur->sa_sigaction != fatal_handler)
		return 0;
	set_dfl(sig);
	return 1;
}

void ct_signals_pid1(void)
{
	if (!fatal_on || getpid() != 1)
		return;
	fatal_on = 0;
	for (int sig = 1; sig < _NSIG; sig++) {
		struct sigaction cur;
		if (is_fatal[sig] && REAL(sigaction)(sig, NULL, &cur) == 0)
			drop_fatal(sig, &cur);
	}
}

void ct_signals_release(void)
{
	if (!hooked || __atomic_load_n(&native_resethand, __ATOMIC_RELAXED))
		return;
	fatal_on = 0;
	for (int sig = 1; sig < _NSIG; sig++) {
		struct sigaction cur;
		if (REAL(sigaction)(sig, NULL, &cur) != 0 || drop_fatal(sig, &cur))
			continue;
		if (cur.sa_sigaction == trampoline &&
			   (__atomic_load_n(&user[sig].flags, __ATOMIC_RELAXED) & SA_RESETHAND)) {
			/* the one-shot reset by the kernel from now on: the trampoline's own
			 * reset would be a system call */
			cur.sa_flags |= SA_RESETHAND;
			REAL(sigaction)(sig, &cur, NULL);
		}
	}
	__atomic_store_n(&native_resethand, 1, __ATOMIC_RELEASE);
}

/* SA_RESETHAND's reset, done by the trampoline on the handler's entry (see the top). */
static void reset_to_default(int sig)
{
	__atomic_store_n(&user[sig].handler, (void *)SIG_DFL, __ATOMIC_RELEASE);
	dfl_view[sig] = reset_view[sig];
	if (fatal_on && is_fatal[sig]) {
		install_fatal(sig);
	} else {
		set_dfl(sig);
	}
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
	struct sigaction mine, kold, prev_view = dfl_view[sig];
	const struct sigaction *use = act;
	int to_fatal = 0;
	if (act && is_function(act)) {
		mine = *act;
		mine.sa_sigaction = trampoline;
		mine.sa_flags |= SA_SIGINFO;
		if (!__atomic_load_n(&native_resethand, __ATOMIC_ACQUIRE))
			mine.sa_flags &= ~SA_RESETHAND; /* emulated by the trampoline */
		use = &mine;
		/* Publish before installing, so a signal right after finds the handler. */
		__atomic_store_n(&user[sig].flags, act->sa_flags, __ATOMIC_RELAXED);
		__atomic_store_n(&user[sig].handler,
				 (act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction
							      : (void *)act->sa_handler,
				 __ATOMIC_RELEASE);
	} else if (act && fatal_on && is_fatal[sig] && act->sa_handler == SIG_DFL) {
		/* SIG_DFL of a fatal signal: libctrace's handler, reported as the program's
		 * SIG_DFL with its flags and mask. */
		mine.sa_sigaction = fatal_handler;
		mine.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
		sigfillset(&mine.sa_mask);
		use = &mine;
		to_fatal = 1;
	}
	int r = REAL(sigaction)(sig, use, &kold);
	if (r != 0) {
		if (use == &mine && !to_fatal) {
			__atomic_store_n(&user[sig].flags, prev_f, __ATOMIC_RELAXED);
			__atomic_store_n(&user[sig].handler, prev_h, __ATOMIC_RELEASE);
		}
		return r;
	}
	if (to_fatal) {
		/* As the kernel would report it: glibc adds SA_RESTORER (and its restorer),
		 * the kernel drops SIGKILL and SIGSTOP from the mask. */
		dfl_view[sig] = *act;
		dfl_view[sig].sa_handler = SIG_DFL;
#ifdef SA_RESTORER
		dfl_view[sig].sa_flags |= SA_RESTORER;
		dfl_view[sig].sa_restorer = kold.sa_restorer;
#endif
		sigdelset(&dfl_view[sig].sa_mask, SIGKILL);
		sigdelset(&dfl_view[sig].sa_mask, SIGSTOP);
	}
	if (use == &mine && !to_fatal && (act->sa_flags & SA_RESETHAND)) {
		/* The kernel's view after its reset: the handler SIG_DFL, the rest as set. */
		REAL(sigaction)(sig, NULL, &reset_view[sig]);
		reset_view[sig].sa_handler = SIG_DFL;
		reset_view[sig].sa_flags = act->sa_flags | (reset_view[sig].sa_flags & SA_RESTORER);
	}
	if (oldact) {
		*oldact = kold;
		if (kold.sa_sigaction == trampoline) {
			/* the program's flags, with SA_RESTORER as glibc reports it */
			oldact->sa_flags = prev_f | (kold.sa_flags & SA_RESTORER);
			if (prev_f & SA_SIGINFO)
				oldact->sa_sigaction = (void (*)(int, siginfo_t *, void *))prev_h;
			else
				oldact->sa_handler = (void (*)(int))prev_h;
		} else if (kold.sa_sigaction == fatal_handler) {
			*oldact = prev_view;
		}
	}
	return 0;
}

/* The kernel's struct sigaction (rt_sigaction's), on the architectures with SA_RESTORER. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

void ct_signal_raw_view(long sig, void *old)
{
	struct ksigaction *k = old;
	if (!hooked || !k || sig <= 0 || sig >= _NSIG)
		return;
	if (k->handler == (void *)trampoline) {
		/* the program's handler and flags, with SA_RESTORER as the kernel keeps it */
		int f = __atomic_load_n(&user[sig].flags, __ATOMIC_RELAXED);
		k->handler = __atomic_load_n(&user[sig].handler, __ATOMIC_ACQUIRE);
		k->flags = (unsigned long)(unsigned)f | (k->flags & SA_RESTORER);
	} else if (k->handler == (void *)fatal_handler) {
		const struct sigaction *v = &dfl_view[sig];
		k->handler = (void *)SIG_DFL;
		k->flags = (unsigned long)(unsigned)v->sa_flags;
		k->restorer = (v->sa_flags & SA_RESTORER) ? (void *)v->sa_restorer : NULL;
		memcpy(&k->mask, &v->sa_mask, sizeof(k->mask));
	}
}

/* handler for sig through the sigaction wrapper, with flags, the signal itself blocked
 * during the handler when block_self; the previous handler or SIG_ERR (errno set). */
static sighandler_t install(int sig, sighandler_t handler, int flags, int block_self)
{
	struct sigaction act, old;
	if (handler == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (block_self)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = flags;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* The signals siginterrupt() made interrupt system calls: signal() installs their
 * handlers without SA_RESTART, as glibc's does with its own set (which this replaces:
 * glibc's siginterrupt and signal call its internal sigaction, which no wrapper sees). */
static sigset_t sigintr;

/* glibc's siginterrupt on the sigaction wrapper: SA_RESTART off (interrupt) or on in the
 * signal's current action, and remembered for signal(). */
CT_EXPORT int siginterrupt(int sig, int interrupt)
{
	struct sigaction act;
	if (sigaction(sig, NULL, &act) < 0)
		return -1;
	if (interrupt) {
		sigaddset(&sigintr, sig);
		act.sa_flags &= ~SA_RESTART;
	} else {
		sigdelset(&sigintr, sig);
		act.sa_flags |= SA_RESTART;
	}
	return sigaction(sig, &act, NULL) < 0 ? -1 : 0;
}

/* glibc's signal() (BSD semantics: the handler, the signal blocked during it, SA_RESTART
 * unless siginterrupt said otherwise) on the sigaction wrapper. */
CT_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	int intr = sig > 0 && sig < _NSIG && sigismember(&sigintr, sig) == 1;
	return install(sig, handler, intr ? 0 : SA_RESTART, 1);
}

/* Not declared by the headers under _GNU_SOURCE; glibc exports them. */
sighandler_t bsd_signal(int sig, sighandler_t handler);
sighandler_t __sysv_signal(int sig, sighandler_t handler);

/* bsd_signal is signal(). */
CT_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

/* sysv_signal: the System V one-shot semantics (reset on entry, not blocked during the
 * handler, no restart), on the wrapper as signal() is. */
CT_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return install(sig, handler, SA_RESETHAND | SA_NODEFER, 0);
}

CT_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal(sig, handler);
}

/* sigset, as glibc implements it, on the sigaction wrapper. */
CT_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	struct sigaction act, oact;
	sigset_t set, oset;
	if (disp == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &oset) < 0)
			return SIG_ERR;
		if (sigismember(&oset, sig))
			return SIG_HOLD;
		if (sigaction(sig, NULL, &oact) < 0)
			return SIG_ERR;
		return oact.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (sigaction(sig, &act, &oact) < 0)
		return SIG_ERR;
	if (sigprocmask(SIG_UNBLOCK, &set, &oset) < 0)
		return SIG_ERR;
	return sigismember(&oset, sig) ? SIG_HOLD : oact.sa_handler;
}
