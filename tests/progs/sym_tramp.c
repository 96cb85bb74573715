/* SPDX-License-Identifier: MIT */
/*
 * Test program for frames entered by a return: a wait inside a signal handler (its
 * caller is glibc's signal trampoline __restore_rt) and a wait inside a makecontext
 * function (its caller is glibc's __start_context). Each sleeps SLEEP_US in nanosleep,
 * in handler_sleep (marked HANDLER-SITE) and context_sleep (CONTEXT-SITE).
 * tests/bats/names.bats expects the frame below each to be named.
 *
 * usage: sym_tramp [SLEEP_US]   default 3000
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

static long sleep_us = 3000;
static ucontext_t main_ctx, fn_ctx;
static char fn_stack[256 * 1024];

static void do_sleep(void)
{
	struct timespec ts = { sleep_us / 1000000, (sleep_us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static void handler_sleep(int sig)
{
	(void)sig;
	do_sleep(); /* HANDLER-SITE */
}

static void context_sleep(void)
{
	do_sleep(); /* CONTEXT-SITE */
}

int main(int argc, char **argv)
{
	if (argc > 1)
		sleep_us = atol(argv[1]);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler_sleep;
	if (sigaction(SIGUSR1, &sa, NULL) || raise(SIGUSR1))
		return 1;
	if (getcontext(&fn_ctx))
		return 1;
	fn_ctx.uc_stack.ss_sp = fn_stack;
	fn_ctx.uc_stack.ss_size = sizeof(fn_stack);
	fn_ctx.uc_link = &main_ctx;
	makecontext(&fn_ctx, context_sleep, 0);
	if (swapcontext(&main_ctx, &fn_ctx))
		return 1;
	printf("done\n");
	return 0;
}
