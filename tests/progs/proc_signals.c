/* SPDX-License-Identifier: MIT */
/*
 * Test program for signal handlers that interrupt libctrace's wrappers and call wrapped
 * functions themselves. Every result it prints is deterministic (no timings, no addresses
 * but the objects' on a line of their own), so a test can require the same output traced
 * and untraced.
 *
 * usage: proc_signals reenter [ROUNDS]      (default 40, a multiple of 4)
 *   main blocks in turn in pthread_mutex_lock (mu_a, held by the helper), read (a pipe
 *   the helper writes), sem_wait (s_main) and nanosleep (10 s); the helper waits until
 *   main sleeps in the kernel in that call (proc_util.h), sends it SIGUSR1 (SA_RESTART),
 *   waits for the handler to finish, then releases main (unlock, write a byte, post; the
 *   sleep is cut short by the signal). sem_wait and nanosleep return EINTR (they are
 *   never restarted); main calls sem_wait again and the helper posts once main sleeps in
 *   it again. The handler calls write (a pipe), read (a pipe filled beforehand),
 *   sem_post, nanosleep (1 ms) and pthread_mutex_lock/unlock of mu_h, which a third
 *   thread keeps taking for 100 us at a time.
 *   Prints "mu_a=ADDR s_main=ADDR pipe_r=FD" then "rounds=N handled=N bytes=N read=N
 *   posted=N counter=N sem_eintr=N sleep_eintr=N errno_kept=N".
 *
 * usage: proc_signals storm [ITERS] [DLOPENS]   (defaults 300000, 2000)
 *   ITIMER_REAL and ITIMER_PROF every 1 ms: the SIGALRM handler sem_posts a semaphore a
 *   ticker thread waits on and writes a byte into a pipe, the SIGPROF handler nanosleeps
 *   50 us and locks mu_sig; each blocks the other signal while it runs. Meanwhile 4
 *   workers each take mu_1 then mu_2 ITERS times (the program counts the times its own
 *   trylock found a lock busy: contended=N), one thread dlopens and dlcloses libresolv
 *   DLOPENS times, and main makes 20 deterministic waits on mu_d (a helper blocks on it
 *   while main holds it). Prints "mu_1=ADDR mu_2=ADDR mu_d=ADDR" then "counter=N dlopens=N
 *   alarms_match=1 det_waits=20" and, on a line of its own, "contended=N ticks=N".
 *
 * usage: proc_signals dispositions
 *   installs a SIGURG handler through signal, bsd_signal, sysv_signal and sigset in turn
 *   (glibc implements them on its internal sigaction, so libctrace re-implements them) and
 *   prints for each what the program can see: the previous handler returned, the flags and
 *   mask sigaction reports, whether SIGURG is blocked inside the handler, whether the
 *   disposition is still the handler after it ran, and what a read of an empty pipe that
 *   the signal interrupts returns (restarted: the byte a helper writes after the signal;
 *   or -1 EINTR). One line per call: "NAME prev=H flags=... masked=0|1 in_handler_blocked=
 *   0|1 after=handler|default read=..."
 *
 * usage: proc_signals resethand [ROUNDS]   (default 200)
 *   ROUNDS children, each with a SIGUSR1 handler installed with SA_RESETHAND (one shot)
 *   and two threads in pause(): each thread gets a SIGUSR1 (tgkill), back to back. The
 *   first delivery resets the disposition, so the second, wherever it lands, meets
 *   SIG_DFL and ends the child (SIGUSR1); a child whose handler ran twice, or that
 *   survived both, exits 2 or 1. Prints "killed=N twice=N survived=N".
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_util.h"

#define ERRNO_MARK 4242

static void die(const char *what)
{
	fprintf(stderr, "proc_signals: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- reenter ---- */

static pthread_mutex_t mu_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_h = PTHREAD_MUTEX_INITIALIZER;
static sem_t s_main, s_h;
static int pipe_main[2], pipe_h[2], pipe_fill[2];
static _Atomic pid_t main_tid;
static atomic_int handled, stop_contender;
static long counter, read_in_handler;
static pthread_t main_thread;

static void on_usr1(int sig)
{
	(void)sig;
	int e = errno;
	char c = 'h';
	if (write(pipe_h[1], &c, 1) != 1)
		die("handler write");
	if (read(pipe_fill[0], &c, 1) == 1)
		read_in_handler++;
	sem_post(&s_h);
	struct timespec ms = { 0, 1000000 };
	nanosleep(&ms, NULL);
	pthread_mutex_lock(&mu_h);
	counter++;
	pthread_mutex_unlock(&mu_h);
	errno = e;
	atomic_fetch_add(&handled, 1);
}

static void *contender(void *arg)
{
	(void)arg;
	struct timespec hold = { 0, 100000 };
	while (!atomic_load(&stop_contender)) {
		pthread_mutex_lock(&mu_h);
		nanosleep(&hold, NULL);
		pthread_mutex_unlock(&mu_h);
		sched_yield();
	}
	return NULL;
}

/* Signal main once it sleeps in system call nr on obj; return when the handler is done. */
static void interrupt_main(long nr, const void *obj, size_t size)
{
	int before = atomic_load(&handled);
	proc_wait_blocked(&main_tid, nr, obj, size);
	pthread_kill(main_thread, SIGUSR1);
	while (atomic_load(&handled) == before)
		sched_yield();
}

static int rounds;
static atomic_int go_round, done_round; /* main may start round N; main finished it */

static void *helper(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		if (i % 4 == 0)
			pthread_mutex_lock(&mu_a); /* main is about to block on it */
		atomic_store(&go_round, i + 1);
		switch (i % 4) {
		case 0:
			interrupt_main(SYS_futex, &mu_a, sizeof(mu_a));
			pthread_mutex_unlock(&mu_a);
			break;
		case 1: {
			interrupt_main(SYS_read, (void *)(uintptr_t)pipe_main[0], 1);
			char c = 'm';
			if (write(pipe_main[1], &c, 1) != 1)
				die("helper write");
			break;
		}
		case 2:
			interrupt_main(SYS_futex, &s_main, sizeof(s_main));
			/* main's sem_wait returned EINTR: post once it sleeps in the next one */
			proc_wait_blocked(&main_tid, SYS_futex, &s_main, sizeof(s_main));
			sem_post(&s_main);
			break;
		case 3:
			interrupt_main(SYS_clock_nanosleep, NULL, 0);
			break;
		}
		while (atomic_load(&done_round) != i + 1)
			sched_yield();
	}
	return NULL;
}

static int reenter(int n)
{
	rounds = n - n % 4;
	main_thread = pthread_self();
	atomic_store(&main_tid, gettid());
	if (pipe(pipe_main) || pipe(pipe_h) || pipe(pipe_fill))
		die("pipe");
	fcntl(pipe_fill[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < rounds; i++)
		if (write(pipe_fill[1], "f", 1) != 1)
			die("fill");
	sem_init(&s_main, 0, 0);
	sem_init(&s_h, 0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		die("sigaction");
	printf("mu_a=%p s_main=%p pipe_r=%d\n", (void *)&mu_a, (void *)&s_main, pipe_main[0]);
	fflush(stdout);
	pthread_t h, c;
	pthread_create(&c, NULL, contender, NULL);
	pthread_create(&h, NULL, helper, NULL);
	int sem_eintr = 0, sleep_eintr = 0, errno_kept = 0;
	for (int i = 0; i < rounds; i++) {
		while (atomic_load(&go_round) != i + 1)
			sched_yield();
		errno = ERRNO_MARK;
		switch (i % 4) {
		case 0:
			if (pthread_mutex_lock(&mu_a) != 0)
				die("lock");
			errno_kept += errno == ERRNO_MARK;
			pthread_mutex_unlock(&mu_a);
			break;
		case 1: {
			char ch;
			if (read(pipe_main[0], &ch, 1) != 1)
				die("read");
			errno_kept += errno == ERRNO_MARK;
			break;
		}
		case 2:
			while (sem_wait(&s_main) != 0) {
				if (errno != EINTR)
					die("sem_wait");
				sem_eintr++;
				errno_kept++;
			}
			break;
		case 3: {
			struct timespec ts = { 10, 0 };
			if (nanosleep(&ts, NULL) != 0 && errno == EINTR) {
				sleep_eintr++;
				errno_kept++;
			}
			break;
		}
		}
		atomic_store(&done_round, i + 1);
	}
	pthread_join(h, NULL);
	atomic_store(&stop_contender, 1);
	pthread_join(c, NULL);
	/* what the handlers did */
	fcntl(pipe_h[0], F_SETFL, O_NONBLOCK);
	char buf[4096];
	long bytes = 0, posted = 0;
	ssize_t r;
	while ((r = read(pipe_h[0], buf, sizeof(buf))) > 0)
		bytes += r;
	while (sem_trywait(&s_h) == 0)
		posted++;
	printf("rounds=%d handled=%d bytes=%ld read=%ld posted=%ld counter=%ld sem_eintr=%d "
	       "sleep_eintr=%d errno_kept=%d\n",
	       rounds, atomic_load(&handled), bytes, read_in_handler, posted, counter, sem_eintr,
	       sleep_eintr, errno_kept);
	return 0;
}

/* ---- storm ---- */

static pthread_mutex_t mu_1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_d = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_sig = PTHREAD_MUTEX_INITIALIZER;
static sem_t tick;
static int tick_pipe[2];
static atomic_long alarms, profs, ticks_taken, contended, shared_counter;
static atomic_int storm_stop, dl_done;
static _Atomic pid_t det_tid;
static long iters, dlopens;

static void on_alrm(int sig)
{
	(void)sig;
	int e = errno;
	sem_post(&tick);
	char c = 'a';
	if (write(tick_pipe[1], &c, 1) < 0 && errno != EAGAIN)
		die("alarm write");
	atomic_fetch_add(&alarms, 1);
	errno = e;
}

static void on_prof(int sig)
{
	(void)sig;
	int e = errno;
	struct timespec t = { 0, 50000 };
	nanosleep(&t, NULL);
	pthread_mutex_lock(&mu_sig);
	atomic_fetch_add(&profs, 1);
	pthread_mutex_unlock(&mu_sig);
	errno = e;
}

/* Takes every post of the SIGALRM handler (and the one that stops it). */
static void *ticker(void *arg)
{
	(void)arg;
	char buf[256];
	for (;;) {
		if (sem_wait(&tick) != 0) {
			if (errno == EINTR)
				continue;
			die("sem_wait");
		}
		atomic_fetch_add(&ticks_taken, 1);
		while (read(tick_pipe[0], buf, sizeof(buf)) > 0)
			;
		if (atomic_load(&storm_stop))
			break;
	}
	return NULL;
}

static void lock_counted(pthread_mutex_t *m)
{
	if (pthread_mutex_trylock(m) == 0)
		return;
	atomic_fetch_add(&contended, 1);
	pthread_mutex_lock(m);
}

static atomic_int start_gate;

static void *worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&start_gate))
		sched_yield();
	for (long i = 0; i < iters; i++) {
		lock_counted(&mu_1);
		lock_counted(&mu_2);
		atomic_fetch_add(&shared_counter, 1);
		for (volatile int k = 0; k < 200; k++)
			;
		pthread_mutex_unlock(&mu_2);
		pthread_mutex_unlock(&mu_1);
	}
	return NULL;
}

static void *dlloop(void *arg)
{
	(void)arg;
	long n = 0;
	while (!atomic_load(&start_gate))
		sched_yield();
	for (long i = 0; i < dlopens; i++) {
		void *h = dlopen("libresolv.so.2", RTLD_NOW | RTLD_LOCAL);
		if (!h)
			continue;
		if (dlsym(h, "res_query"))
			n++;
		dlclose(h);
	}
	atomic_store(&dl_done, (int)n);
	return NULL;
}

static void *det_blocker(void *arg)
{
	(void)arg;
	atomic_store(&det_tid, gettid());
	pthread_mutex_lock(&mu_d);
	pthread_mutex_unlock(&mu_d);
	return NULL;
}

static int storm(long it, long dl)
{
	iters = it;
	dlopens = dl;
	sem_init(&tick, 0, 0);
	if (pipe(tick_pipe))
		die("pipe");
	fcntl(tick_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(tick_pipe[1], F_SETFL, O_NONBLOCK);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_alrm;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGPROF);
	if (sigaction(SIGALRM, &sa, NULL))
		die("sigaction");
	sa.sa_handler = on_prof;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	if (sigaction(SIGPROF, &sa, NULL))
		die("sigaction");
	printf("mu_1=%p mu_2=%p mu_d=%p\n", (void *)&mu_1, (void *)&mu_2, (void *)&mu_d);
	fflush(stdout);
	pthread_t tk, w[4], dlt;
	pthread_create(&tk, NULL, ticker, NULL);
	struct itimerval itv = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &itv, NULL);
	setitimer(ITIMER_PROF, &itv, NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	pthread_create(&dlt, NULL, dlloop, NULL);
	atomic_store(&start_gate, 1);
	for (int i = 0; i < 20; i++) {
		pthread_t t;
		atomic_store(&det_tid, 0);
		pthread_mutex_lock(&mu_d);
		pthread_create(&t, NULL, det_blocker, NULL);
		proc_wait_blocked(&det_tid, SYS_futex, &mu_d, sizeof(mu_d));
		pthread_mutex_unlock(&mu_d);
		pthread_join(t, NULL);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(w[i], NULL);
	pthread_join(dlt, NULL);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	setitimer(ITIMER_PROF, &off, NULL);
	/* a last alarm may still be on its way: let it land, then stop the ticker */
	struct timespec settle = { 0, 20000000 };
	nanosleep(&settle, NULL);
	atomic_store(&storm_stop, 1);
	sem_post(&tick);
	pthread_join(tk, NULL);
	long left = 0; /* posts the ticker left when it saw the stop */
	while (sem_trywait(&tick) == 0)
		left++;
	printf("counter=%ld dlopens=%d alarms_match=%d det_waits=20\n",
	       atomic_load(&shared_counter), atomic_load(&dl_done),
	       atomic_load(&ticks_taken) + left == atomic_load(&alarms) + 1);
	printf("contended=%ld ticks=%ld profs=%ld\n", atomic_load(&contended),
	       atomic_load(&alarms), atomic_load(&profs));
	return 0;
}

/* ---- dispositions: signal, bsd_signal, sysv_signal, sigset ---- */

sighandler_t bsd_signal(int sig, sighandler_t handler);
sighandler_t sysv_signal(int sig, sighandler_t handler);

static volatile sig_atomic_t urg_runs, urg_blocked;

static void on_urg(int sig)
{
	sigset_t cur;
	(void)sig;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	urg_blocked = sigismember(&cur, SIGURG);
	urg_runs++;
}

struct urg_kick {
	pthread_t target;
	_Atomic pid_t target_tid;
	int wfd;
};

/* Once the target sleeps in read, SIGURG to it; once the handler ran, a byte to the pipe. */
static void *urg_kicker(void *arg)
{
	struct urg_kick *k = arg;
	proc_wait_blocked(&k->target_tid, SYS_read, NULL, 0);
	pthread_kill(k->target, SIGURG);
	while (!urg_runs)
		usleep(1000);
	usleep(20000); /* a restarted read sleeps again before the byte comes */
	if (write(k->wfd, "x", 1) != 1)
		abort();
	return NULL;
}

static const char *handler_name(sighandler_t h)
{
	return h == on_urg ? "handler" : h == SIG_DFL ? "default" : h == SIG_IGN ? "ignore"
				      : h == SIG_ERR ? "error" : "other";
}

/* sigset and sigrelse are what a legacy program calls, deprecated or not. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static int dispositions(void)
{
	static const char *const names[] = { "signal", "bsd_signal", "sysv_signal", "sigset" };
	for (unsigned i = 0; i < 4; i++) {
		signal(SIGURG, SIG_DFL);
		sighandler_t prev = i == 0   ? signal(SIGURG, on_urg)
				    : i == 1 ? bsd_signal(SIGURG, on_urg)
				    : i == 2 ? sysv_signal(SIGURG, on_urg)
					     : sigset(SIGURG, on_urg);
		struct sigaction cur;
		sigaction(SIGURG, NULL, &cur);
		int p[2];
		if (pipe(p) != 0)
			return 1;
		urg_runs = 0;
		struct urg_kick k = { .target = pthread_self(), .wfd = p[1] };
		atomic_store(&k.target_tid, gettid());
		pthread_t t;
		pthread_create(&t, NULL, urg_kicker, &k);
		char c;
		errno = 0;
		ssize_t n = read(p[0], &c, 1);
		int e = errno;
		pthread_join(t, NULL);
		struct sigaction after;
		sigaction(SIGURG, NULL, &after);
		printf("%s prev=%s flags=%s%s%s masked=%d in_handler_blocked=%d runs=%d after=%s "
		       "read=%zd%s\n",
		       names[i], handler_name(prev), cur.sa_flags & SA_RESTART ? "RESTART," : "",
		       cur.sa_flags & SA_RESETHAND ? "RESETHAND," : "",
		       cur.sa_flags & SA_NODEFER ? "NODEFER," : "",
		       sigismember(&cur.sa_mask, SIGURG), (int)urg_blocked, (int)urg_runs,
		       handler_name(after.sa_handler), n, n < 0 && e == EINTR ? " EINTR" : "");
		close(p[0]);
		close(p[1]);
		if (i == 3)
			sigrelse(SIGURG);
	}
	return 0;
}

/* ---- resethand ---- */

static atomic_int rh_ran;
static _Atomic pid_t rh_tid[2];

static void rh_handler(int sig)
{
	(void)sig;
	atomic_fetch_add(&rh_ran, 1);
}

static void *rh_sleeper(void *arg)
{
	atomic_store(&rh_tid[(long)arg], (pid_t)syscall(SYS_gettid));
	for (;;)
		pause();
	return NULL;
}

static int rh_child(void)
{
	struct sigaction sa;
	sigset_t usr1;
	pthread_t t;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rh_handler;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	for (long i = 0; i < 2; i++)
		if (pthread_create(&t, NULL, rh_sleeper, (void *)i))
			die("pthread_create");
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* main takes none */
	while (!atomic_load(&rh_tid[0]) || !atomic_load(&rh_tid[1]))
		usleep(100);
	usleep(2000); /* both in pause() */
	syscall(SYS_tgkill, getpid(), atomic_load(&rh_tid[0]), SIGUSR1);
	syscall(SYS_tgkill, getpid(), atomic_load(&rh_tid[1]), SIGUSR1);
	usleep(20000);
	return atomic_load(&rh_ran) == 2 ? 2 : 1;
}

static int resethand(int rounds)
{
	int killed = 0, twice = 0, survived = 0;
	for (int i = 0; i < rounds; i++) {
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(rh_child());
		int st;
		if (waitpid(c, &st, 0) != c)
			die("waitpid");
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1)
			killed++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
			twice++;
		else
			survived++;
	}
	printf("killed=%d twice=%d survived=%d\n", killed, twice, survived);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "resethand"))
		return resethand(argc > 2 ? atoi(argv[2]) : 200);
	if (argc > 1 && !strcmp(argv[1], "reenter"))
		return reenter(argc > 2 ? atoi(argv[2]) : 40);
	if (argc > 1 && !strcmp(argv[1], "dispositions"))
		return dispositions();
	if (argc > 1 && !strcmp(argv[1], "storm"))
		return storm(argc > 2 ? atol(argv[2]) : 300000, argc > 3 ? atol(argv[3]) : 2000);
	fprintf(stderr, "usage: proc_signals reenter [ROUNDS] | storm [ITERS] [DLOPENS] | "
			"dispositions | resethand [ROUNDS]\n");
	return 2;
}
