/* SPDX-License-Identifier: MIT */
/*
 * Test program for the ways a process ends under libctrace. Each mode first makes WAITS
 * deterministic mutex waits on work_mu (a helper thread blocks while main holds it; main
 * lets go only once the helper sleeps in the kernel on work_mu, proc_util.h), leaves one
 * thread blocked for good on a condition variable (it never exits; main goes on once it
 * sleeps there), prints "ready", then ends as the mode says.
 *
 * usage: proc_exit MODE [WAITS]     (default 3 waits)
 *   exit | return | _exit | _Exit | exit_group   status 3, 4, 5, 6, 9
 *   pthread_exit          main calls pthread_exit; a worker makes one more wait and
 *                         returns; the blocked thread is cancelled; status 0
 *   segv | bus | abrt | fpe | ill                 the real fault (null write, a truncated
 *                         file's mapping, abort(), integer division by zero, ud2)
 *   term | int | hup | quit                       kill(getpid(), SIG)
 *   alrm | usr1 | usr2 | pipe | prof | vtalrm | xcpu | xfsz | sys | trap | stkflt | pwr |
 *   io | rtmin | rtmax    kill(getpid(), SIG) of a signal whose default action also ends
 *                         the process (with a core for xcpu, xfsz, sys, trap)
 *   itimer                setitimer(ITIMER_REAL, 10 ms) with SIGALRM at its default:
 *                         what alarm() does to a program that never handles it
 *   resethand             a SIGSEGV handler installed with SA_RESETHAND prints "handler ran
 *                         sig=11" and returns: the null write faults again, now with the
 *                         default action (SIGSEGV, core)
 *   thrd_exit             a C11 thrd_create'd thread makes one more wait and returns while
 *                         main calls pthread_exit; the blocked thread is cancelled; status 0
 *   lines                 prints "line N" forever (for `| head -1`: SIGPIPE)
 *   handler               a SIGTERM handler of its own prints "handler ran sig=15", then
 *                         the program sets SIG_DFL back and kills itself with SIGTERM
 *   query                 prints "SIG=dfl" or "SIG=other" for each fatal signal as
 *                         sigaction(SIG, NULL, &old) and signal() report them, sets SIG_DFL
 *                         explicitly and queries again; exits 0
 *   forever               waits in a loop (for kill -9): one wait every 20 ms, each
 *                         followed by "ran_ns=N", the time from main's start to the end
 *                         of that wait (CLOCK_MONOTONIC), flushed
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "proc_util.h"

static pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static _Atomic pid_t blocker_tid, idler_tid;

static void *blocker(void *arg)
{
	(void)arg;
	atomic_store(&blocker_tid, gettid());
	pthread_mutex_lock(&work_mu); /* blocks: main holds it */
	pthread_mutex_unlock(&work_mu);
	return NULL;
}

static void make_waits(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		atomic_store(&blocker_tid, 0);
		pthread_mutex_lock(&work_mu);
		pthread_create(&t, NULL, blocker, NULL);
		proc_wait_blocked(&blocker_tid, SYS_futex, &work_mu, sizeof(work_mu));
		pthread_mutex_unlock(&work_mu);
		pthread_join(t, NULL);
	}
}

static void *idler(void *arg)
{
	(void)arg;
	atomic_store(&idler_tid, gettid());
	pthread_mutex_lock(&idle_mu);
	for (;;)
		pthread_cond_wait(&idle_cv, &idle_mu); /* IDLE-WAIT: never signalled */
	return NULL;
}

static void *last_worker(void *arg)
{
	(void)arg;
	sleep_ms(50);
	make_waits(1);
	return NULL;
}

static int last_worker_c11(void *arg)
{
	last_worker(arg);
	return 0;
}

static void on_term(int sig)
{
	char msg[] = "handler ran sig=00\n";
	msg[16] = (char)('0' + sig / 10);
	msg[17] = (char)('0' + sig % 10);
	write(1, msg, sizeof(msg) - 1);
}

static const struct { const char *name; int sig; } sigs[] = {
	{ "segv", SIGSEGV }, { "bus", SIGBUS }, { "abrt", SIGABRT }, { "fpe", SIGFPE },
	{ "ill", SIGILL }, { "term", SIGTERM }, { "int", SIGINT }, { "hup", SIGHUP },
	{ "quit", SIGQUIT }, { "alrm", SIGALRM }, { "usr1", SIGUSR1 }, { "usr2", SIGUSR2 },
	{ "pipe", SIGPIPE }, { "prof", SIGPROF }, { "vtalrm", SIGVTALRM }, { "xcpu", SIGXCPU },
	{ "xfsz", SIGXFSZ }, { "sys", SIGSYS }, { "trap", SIGTRAP }, { "stkflt", SIGSTKFLT },
	{ "pwr", SIGPWR }, { "io", SIGIO }, { "rtmin", 0 }, { "rtmax", -1 },
};

static int sig_of(size_t i)
{
	return sigs[i].sig == 0 ? SIGRTMIN : sigs[i].sig == -1 ? SIGRTMAX : sigs[i].sig;
}

static void query(const char *when)
{
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		sigaction(sig_of(i), NULL, &old);
		printf("%s %s=%s flags=%#x\n", when, sigs[i].name,
		       old.sa_handler == SIG_DFL ? "dfl" : "other", (unsigned)old.sa_flags);
	}
}

static volatile int zero, one = 1;

int main(int argc, char **argv)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *mode = argc > 1 ? argv[1] : "exit";
	int waits = argc > 2 ? atoi(argv[2]) : 3;
	pthread_t idle;
	pthread_create(&idle, NULL, idler, NULL);
	proc_wait_blocked(&idler_tid, SYS_futex, &idle_cv, sizeof(idle_cv));
	make_waits(waits);
	printf("ready\n");
	fflush(stdout);

	if (!strcmp(mode, "exit"))
		exit(3);
	if (!strcmp(mode, "return"))
		return 4;
	if (!strcmp(mode, "_exit"))
		_exit(5);
	if (!strcmp(mode, "_Exit"))
		_Exit(6);
	if (!strcmp(mode, "exit_group"))
		syscall(SYS_exit_group, 9);
	if (!strcmp(mode, "pthread_exit")) {
		pthread_t w;
		pthread_create(&w, NULL, last_worker, NULL);
		pthread_cancel(idle);
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "thrd_exit")) {
		thrd_t w;
		thrd_create(&w, last_worker_c11, NULL);
		pthread_cancel(idle);
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "resethand")) {
		struct sigaction act;
		memset(&act, 0, sizeof(act));
		act.sa_handler = on_term;
		act.sa_flags = SA_RESETHAND;
		sigaction(SIGSEGV, &act, NULL);
		*(volatile int *)(uintptr_t)zero = 1;
	}
	if (!strcmp(mode, "itimer")) {
		struct itimerval it = { { 0, 0 }, { 0, 10000 } };
		setitimer(ITIMER_REAL, &it, NULL);
		for (;;)
			pause();
	}
	if (!strcmp(mode, "lines")) {
		for (long i = 0;; i++)
			if (printf("line %ld\n", i) < 0)
				return 3; /* SIGPIPE ignored: EPIPE */
	}
	if (!strcmp(mode, "segv"))
		*(volatile int *)(uintptr_t)zero = 1;
	if (!strcmp(mode, "bus")) {
		char path[] = "/tmp/proc_exit_busXXXXXX";
		int fd = mkstemp(path);
		unlink(path);
		volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		return p[0]; /* beyond the end of an empty file */
	}
	if (!strcmp(mode, "abrt"))
		abort();
	if (!strcmp(mode, "fpe"))
		return one / zero;
	if (!strcmp(mode, "ill"))
		__builtin_trap();
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(mode, sigs[i].name))
			kill(getpid(), sig_of(i));
	if (!strcmp(mode, "handler")) {
		signal(SIGTERM, on_term);
		kill(getpid(), SIGTERM);
		signal(SIGTERM, SIG_DFL);
		kill(getpid(), SIGTERM);
	}
	if (!strcmp(mode, "query")) {
		query("start");
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			if (signal(sig_of(i), SIG_DFL) != SIG_DFL)
				printf("signal(%s) did not return SIG_DFL\n", sigs[i].name);
		struct sigaction act;
		memset(&act, 0, sizeof(act));
		act.sa_handler = SIG_DFL;
		act.sa_flags = SA_RESTART;
		sigaction(SIGTERM, &act, NULL);
		query("again");
		return 0;
	}
	if (!strcmp(mode, "forever"))
		for (;;) {
			make_waits(1);
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			printf("ran_ns=%lld\n", (long long)(t.tv_sec - t0.tv_sec) * 1000000000LL +
							 (t.tv_nsec - t0.tv_nsec));
			fflush(stdout);
			sleep_ms(20);
		}
	sleep_ms(1000);
	printf("still alive\n");
	return 1;
}
