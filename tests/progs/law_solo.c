/* SPDX-License-Identifier: MIT */
/*
 * Test program: what a program sees of its own process when it is single-threaded, when
 * it writes under a file-size limit, and when it puts itself in a seccomp sandbox. Every
 * mode's recorded waits are sleeps (nanosleep of SLEEP_US, each above the tracer's 20 us
 * stack threshold) or mutex waits made deterministic as in proc_util.h.
 *
 * usage: law_solo MODE [N]
 *   altstack    prints "altstack none" when sigaltstack reports no stack, sets one of its
 *               own ("altstack own ok" when it is then reported), disables it ("altstack
 *               after disable none")
 *   handler_stack  handlers (no SA_ONSTACK) raised on main and then on a thread: each
 *               uses 256 KiB of the stack it runs on; SIGUSR1's raises SIGUSR2 (nested)
 *               and sets an alternate stack of its own. One line per thread: whether each
 *               handler ran near the interrupted frame, the sigaltstack result in the
 *               handler, and on the thread the stack reported after it returned (none:
 *               rt_sigreturn restores the one in place at the delivery; not on main,
 *               whose initial state, no stack of size 0 without SS_DISABLE, the kernel
 *               fails to restore, so that the handler's stays)
 *   pid1        unshare(CLONE_NEWPID) (with CLONE_NEWUSER when that alone is refused; "no
 *               pid namespace" when both are), then fork: the child is the namespace's
 *               init. Its own child sends it SIGTERM, SIGINT, SIGHUP and SIGUSR1 (the
 *               kernel discards them: an init's SIG_DFL) while it makes 4 sleeps of
 *               100 ms: "sleep I: r=R errno=E" each, then "init alive"; the parent prints
 *               "init exit=N"
 *   status      N sleeps (default 20), then prints the "Threads:" line of /proc/self/status
 *   unshare     N sleeps, then unshare(CLONE_NEWUSER): "unshare=0" or "unshare=-1 errno=E",
 *               then the "Threads:" line
 *   unshare_mt  starts a thread that makes N sleeps, joins it, waits until it has left the
 *               process (wait_single), then as unshare
 *   unshare_sys as unshare_mt, the unshare made through syscall(SYS_unshare, ...)
 *   setns_mt    starts a thread that makes N sleeps, joins it, waits as unshare_mt, then
 *               setns() into its own
 *               mount namespace (needs a single-threaded caller): "setns=0" or
 *               "setns=-1 errno=E", then the "Threads:" line
 *   phases      3 rounds of: two threads that make N sleeps each (default 20), joined;
 *               wait_single; the "Threads:" line; N sleeps
 *   churn       N threads (default 300) one after another, each making one sleep and
 *               joined before the next starts; wait_single; the "Threads:" line; 20 sleeps
 *   fork        N sleeps, then fork(): the child prints its "Threads:" line and exits 7, the
 *               parent prints "child exit=7"
 *   errno       prints "start errno=E" (errno when main began), starts a thread that makes
 *               N sleeps and joins it, sets errno to 4242 and forks: each side prints the
 *               errno fork() returned with ("parent errno=4242", "child errno=4242"), the
 *               child makes N sleeps and exits 7, the parent prints "child exit=7"
 *   edges       calls whose results a wrapper must leave to the kernel, one line each
 *               ("NAME=R errno=E", errno 4242 when the call left it alone):
 *               fstatat/statx of a bad path pointer with AT_EMPTY_PATH (EFAULT),
 *               sigaltstack with SS_DISABLE|SS_AUTODISARM (accepted, and the bit kept in
 *               what a query reports), with bad pointers (EFAULT) and a bad mode
 *               (EINVAL); dup3 with a negative flags value and through syscall() with
 *               bit 31 set (EINVAL), fexecve of /bin/sh with a null envp (EINVAL: no
 *               exec), execve with a bad envp pointer and with a bad pointer in envp
 *               (EFAULT); the raw rt_sigaction's view of SIGTERM (SIG_DFL) and of
 *               SIGUSR2 (a handler: "raw N: r=0 handler=... flags=F mask=M"); then a
 *               thread whose start routine prints the errno it began
 *               with ("thread start errno=0") and that uses up its fd table under a limit
 *               of 64 fds (open fails with EMFILE), sets errno to 4242 and returns: its
 *               TLS destructor prints the errno it runs with
 *   dup2        under a limit of 256 fds (it execs itself with it: libctrace places its
 *               own fds by the limit at load), dup2(1, 255) and dup2(1, 254): each
 *               prints its result and errno
 *   sleeps      N sleeps (default 2000; for a file-size limit), prints "slept=N"
 *   cost        N sleeps (default 5000), the CPU time of each (CLOCK_THREAD_CPUTIME_ID):
 *               prints "calls=N median_ns=M p99_ns=P max_ns=X slow=S slow_mean_ns=A",
 *               S the calls above 10 times the median and A their mean (a flush made from
 *               the program's thread lengthens the call it ends)
 *   seccomp_thread  a second thread makes N sleeps, puts a filter on itself only (no
 *               TSYNC; thread creation allowed), starts a third thread that sleeps N times
 *               under it, and they end; main sleeps meanwhile: prints "slept=3N"
 *   kill9       sleeps every 10 ms forever, printing "slept=N" once a second (for kill -9)
 *   seccomp     prints "sandbox" before each filter; starts 3 threads that wait for a go
 *               flag, installs (TSYNC: every thread) a filter that kills the process on
 *               any system call but the program's own (read, write, futex, nanosleep,
 *               clock_nanosleep, madvise, munmap, rt_sigprocmask, exit, exit_group,
 *               tgkill, rt_sigreturn); then the threads contend for a mutex N times each
 *               (default 200) and sleep; prints "count=3N"
 *   seccomp_late  a thread makes 7 sleeps, then one of 300 ms; while it sleeps, main puts
 *               in the filter of "seccomp" for every thread (TSYNC), and the thread's long
 *               sleep ends under it: its call would be the thread's 8th with a stack, the
 *               one libctrace maps the thread's stack cache at (preload/stacktab.c,
 *               SC_AFTER); then 20 more sleeps. The thread is named "late"; prints
 *               "slept=28"
 *   seccomp1    single-threaded: N sleeps, then the same filter on the calling thread only
 *               (no TSYNC), then N sleeps under it, prints "slept=2N"; then SIGUSR1 twice:
 *               its handler, installed before with SA_RESETHAND, runs once ("usr1
 *               handler"), the second ends the process (SIGUSR1)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLEEP_US 100

static int sandbox_flags(unsigned flags, int threads);
static pid_t my_pid, my_tid; /* taken before the filter */
static int thread_filter(void);

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	nanosleep(&ts, NULL);
}

static void sleeps(int n)
{
	for (int i = 0; i < n; i++)
		sleep_us(SLEEP_US); /* SLEEP */
}

/* The "Threads:" line of /proc/self/status, in buf (NULL when there is none). */
static char *status_threads(char *buf, size_t cap)
{
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *t = strstr(buf, "\nThreads:");
	if (!t)
		return NULL;
	char *e = strchr(++t, '\n');
	if (e)
		*e = 0;
	return t;
}

static void threads_line(void)
{
	char buf[4096];
	char *t = status_threads(buf, sizeof(buf));
	if (!t) {
		printf("no Threads line\n");
		return;
	}
	for (char *p = t; *p; p++)
		if (*p == '\t')
			*p = ' ';
	printf("%s\n", t);
	fflush(stdout);
}

/* The number on the "Threads:" line (0 unknown). */
static long threads_now(void)
{
	char buf[4096];
	char *t = status_threads(buf, sizeof(buf));
	return t ? strtol(t + 8, NULL, 10) : 0;
}

/* After pthread_join: waits, yielding (no sleep: the traces count the program's), until
 * the process has one thread, 10 s at most. pthread_join returns once the kernel has
 * cleared the thread's tid, which is before the thread has left the thread group, and
 * unshare(CLONE_NEWUSER) and setns() refuse a process of two threads (EINVAL) until then:
 * untraced, on a loaded machine, they fail now and then without this. */
static void wait_single(void)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (threads_now() == 1)
			return;
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 10);
}

/* via_syscall: through syscall(SYS_unshare, ...), as some sandboxes and runtimes call it */
static void do_unshare(int via_syscall)
{
	int r = via_syscall ? (int)syscall(SYS_unshare, CLONE_NEWUSER) : unshare(CLONE_NEWUSER);
	if (r == 0)
		printf("unshare=0\n");
	else
		printf("unshare=-1 errno=%d\n", errno);
	fflush(stdout);
	threads_line();
}

static void *sleeper(void *arg)
{
	sleeps((int)(long)arg);
	return NULL;
}

/* ---- seccomp ---- */

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int sandbox(unsigned flags)
{
	return sandbox_flags(flags, 0);
}

/* The filter on the calling thread only, thread creation allowed. */
static int thread_filter(void)
{
	return sandbox_flags(0, 1);
}

static int sandbox_flags(unsigned flags, int threads)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(threads ? SYS_clone3 : SYS_write), ALLOW(threads ? SYS_clone : SYS_write),
		ALLOW(threads ? SYS_mmap : SYS_write), ALLOW(threads ? SYS_mprotect : SYS_write),
		ALLOW(threads ? SYS_set_robust_list : SYS_write),
		ALLOW(threads ? SYS_rseq : SYS_write),
		ALLOW(SYS_read), ALLOW(SYS_write), ALLOW(SYS_futex), ALLOW(SYS_nanosleep),
		ALLOW(SYS_clock_nanosleep), ALLOW(SYS_madvise), ALLOW(SYS_munmap),
		ALLOW(SYS_rt_sigprocmask), ALLOW(SYS_exit), ALLOW(SYS_exit_group),
		ALLOW(SYS_tgkill), ALLOW(SYS_rt_sigreturn),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
	my_pid = getpid();
	my_tid = gettid();
	printf("sandbox\n"); /* stdio's first use of stdout (an fstat) before the filter */
	fflush(stdout);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static long ns_of(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

static int cost(int n)
{
	long *d = calloc((size_t)n, sizeof(long));
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		sleep_us(SLEEP_US);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		d[i] = ns_of(a, b);
	}
	qsort(d, (size_t)n, sizeof(long), cmp_long);
	long slow = 0, slow_sum = 0;
	for (int i = 0; i < n; i++)
		if (d[i] > 10 * d[n / 2]) {
			slow++;
			slow_sum += d[i];
		}
	printf("calls=%d median_ns=%ld p99_ns=%ld max_ns=%ld slow=%ld slow_mean_ns=%ld\n", n,
	       d[n / 2], d[n - n / 100 - 1], d[n - 1], slow, slow ? slow_sum / slow : 0);
	free(d);
	return 0;
}


static void *filtered_child(void *arg)
{
	sleeps((int)(long)arg);
	return NULL;
}

static void *filtering_thread(void *arg)
{
	int n = (int)(long)arg;
	sleeps(n);
	if (thread_filter() != 0) {
		printf("seccomp failed errno=%d\n", errno);
		exit(2);
	}
	pthread_t t;
	pthread_create(&t, NULL, filtered_child, arg);
	sleeps(n);
	pthread_join(t, NULL);
	return NULL;
}

static void say_line(const char *s)
{
	write(1, s, strlen(s));
}

static void on_usr1(int sig)
{
	(void)sig;
	say_line("usr1 handler\n");
}

static void raise_usr1(void)
{
	syscall(SYS_tgkill, my_pid, my_tid, SIGUSR1);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int go, started;
static long count;
static int rounds = 200;

static void *contender(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started, 1); /* glibc's thread start-up calls are behind it */
	while (!atomic_load(&go))
		sleep_us(SLEEP_US);
	for (int i = 0; i < rounds; i++) {
		pthread_mutex_lock(&mu);
		count++;
		sleep_us(20); /* held while asleep: the others wait */
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static _Atomic int in_long_sleep;

static void *late_sleeper(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "late");
	sleeps(7);
	atomic_store(&in_long_sleep, 1);
	sleep_us(300000); /* ends under the filter */
	sleeps(20);
	return NULL;
}

/* "NAME=R errno=E" of a call made with errno 4242. */
#define EDGE(name, call) \
	do { \
		errno = 4242; \
		long r_ = (long)(call); \
		int e_ = errno; \
		printf("%s=%ld errno=%d\n", name, r_, e_); \
	} while (0)

static pthread_key_t edge_key;

static void edge_dtor(void *v)
{
	(void)v;
	printf("tls destructor errno=%d\n", errno);
}

static void *edge_thread(void *arg)
{
	(void)arg;
	printf("thread start errno=%d\n", errno); /* before any call */
	pthread_setspecific(edge_key, &edge_key);
	struct rlimit lim = { 64, 64 };
	setrlimit(RLIMIT_NOFILE, &lim);
	int n = 0;
	while (open("/dev/null", O_RDONLY) >= 0)
		n++;
	printf("fds until EMFILE: %s\n", errno == EMFILE && n > 0 ? "yes" : "no");
	errno = 4242;
	return NULL;
}

/* The kernel's struct sigaction, as the raw rt_sigaction system call reads and writes it. */
struct raw_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

static void edge_handler(int sig)
{
	(void)sig;
}

/* SIGTERM at SIG_DFL and SIGUSR2 with a handler, as the raw rt_sigaction reports them:
 * "raw SIG: handler=default|ignore|the program's flags=F mask=M" */
static void raw_dispositions(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = edge_handler;
	sa.sa_flags = SA_RESTART;
	sigaddset(&sa.sa_mask, SIGINT);
	sigaction(SIGUSR2, &sa, NULL);
	static const int sigs[] = { SIGTERM, SIGUSR2 };
	for (int i = 0; i < 2; i++) {
		struct raw_sigaction k;
		memset(&k, 0, sizeof(k));
		long r = syscall(SYS_rt_sigaction, sigs[i], NULL, &k, 8);
		printf("raw %d: r=%ld handler=%s flags=%#lx mask=%#lx\n", sigs[i], r,
		       k.handler == (void *)SIG_DFL ? "default" :
		       k.handler == (void *)SIG_IGN ? "ignore" :
		       k.handler == (void *)edge_handler ? "the program's" : "other",
		       k.flags, k.mask);
	}
}

static void edges(void)
{
	struct stat st;
	struct statx stx;
	stack_t ss = { .ss_flags = SS_DISABLE | (int)(1u << 31) /* SS_AUTODISARM */ }, o;
	EDGE("fstatat", fstatat(0, (const char *)8, &st, AT_EMPTY_PATH));
	EDGE("statx", statx(0, (const char *)8, AT_EMPTY_PATH, STATX_BASIC_STATS, &stx));
	EDGE("sigaltstack_autodisarm", sigaltstack(&ss, &o));
	printf("old flags=%#x\n", (unsigned)o.ss_flags);
	EDGE("sigaltstack_query", sigaltstack(NULL, &o));
	printf("now flags=%#x\n", (unsigned)o.ss_flags);
	EDGE("sigaltstack_bad_old", sigaltstack(NULL, (stack_t *)8));
	EDGE("sigaltstack_bad_ss", sigaltstack((const stack_t *)8, NULL));
	ss.ss_flags = SS_DISABLE | SS_ONSTACK;
	EDGE("sigaltstack_bad_mode", sigaltstack(&ss, NULL));
	ss.ss_flags = SS_DISABLE;
	EDGE("sigaltstack_disable", sigaltstack(&ss, &o));
	printf("old flags=%#x\n", (unsigned)o.ss_flags);
	EDGE("dup3_negative_flags", dup3(1, 10, -1));
	EDGE("dup3_sys_high_flag", syscall(SYS_dup3, 1, 11, 0x80000000L));
	int sh = open("/bin/sh", O_RDONLY | O_CLOEXEC);
	fflush(stdout);
	EDGE("fexecve_null_envp", fexecve(sh, (char *[]){ "sh", "-c", "exit 10", NULL }, NULL));
	close(sh);
	char *const true_argv[] = { "true", NULL };
	static volatile uintptr_t bad = 8; /* an address never mapped, out of the compiler's sight */
	EDGE("execve_bad_envp", execve("/bin/true", true_argv, (char *const *)bad));
	EDGE("execve_bad_env_entry", execve("/bin/true", true_argv, (char *[]){ (char *)bad, NULL }));
	raw_dispositions();
	fflush(stdout);
	pthread_t t;
	pthread_key_create(&edge_key, edge_dtor);
	pthread_create(&t, NULL, edge_thread, NULL);
	pthread_join(t, NULL);
}

/* ---- pid1 ---- */

static int pid1(void)
{
	if (unshare(CLONE_NEWPID) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) {
		printf("no pid namespace\n");
		return 0;
	}
	fflush(stdout);
	pid_t c = fork();
	if (c < 0)
		return 1;
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
			for (int i = 0; i < 4; i++) {
				sleep_us(50000);
				kill(1, sigs[i]);
			}
			_exit(0);
		}
		for (int i = 0; i < 4; i++) {
			struct timespec t = { 0, 100000000 };
			errno = 0;
			int r = nanosleep(&t, NULL);
			printf("sleep %d: r=%d errno=%d\n", i, r, errno);
		}
		waitpid(g, NULL, 0);
		printf("init alive\n");
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("init exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

/* ---- handler_stack ---- */

static volatile uintptr_t on_at[2]; /* where SIGUSR1's and SIGUSR2's handlers ran */
static volatile int on_set_errno, on_inner_flags;

static void on_use_stack(int sig)
{
	char buf[256 << 10];
	memset(buf, sig, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
}

static void on_handler(int sig)
{
	char here;
	on_at[sig == SIGUSR2] = (uintptr_t)&here;
	on_use_stack(sig);
	if (sig == SIGUSR1) {
		static char own[65536];
		stack_t ss = { .ss_sp = own, .ss_size = sizeof(own), .ss_flags = 0 }, cur;
		raise(SIGUSR2);
		on_set_errno = sigaltstack(&ss, NULL) == 0 ? 0 : errno;
		sigaltstack(NULL, &cur);
		on_inner_flags = cur.ss_flags;
	}
}

static const char *near(uintptr_t frame, uintptr_t at)
{
	return at < frame && frame - at < (1u << 20) ? "near" : "far";
}

static void *onstack_round(void *who)
{
	char here;
	stack_t cur;
	raise(SIGUSR1);
	sigaltstack(NULL, &cur);
	printf("%s: handler %s, nested %s, sigaltstack in it errno=%d flags=%d",
	       (const char *)who, near((uintptr_t)&here, on_at[0]),
	       near((uintptr_t)&here, on_at[1]), on_set_errno, on_inner_flags);
	if (strcmp(who, "main"))
		printf(", after it %s", (cur.ss_flags & SS_DISABLE) ? "none" : "set");
	printf("\n");
	return NULL;
}

static int handler_stack(void)
{
	struct sigaction sa;
	pthread_t t;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_handler;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	onstack_round("main");
	if (pthread_create(&t, NULL, onstack_round, "thread") != 0)
		return 1;
	pthread_join(t, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int start_errno = errno; /* before any call */
	const char *mode = argc > 1 ? argv[1] : "status";
	int n = argc > 2 ? atoi(argv[2]) : -1;
	if (!strcmp(mode, "altstack")) {
		stack_t ss;
		sigaltstack(NULL, &ss);
		printf("altstack %s\n", (ss.ss_flags & SS_DISABLE) ? "none" : "set");
		static char mine[65536];
		stack_t own = { .ss_sp = mine, .ss_size = sizeof(mine), .ss_flags = 0 };
		stack_t old;
		if (sigaltstack(&own, &old) == 0 && sigaltstack(NULL, &ss) == 0 && ss.ss_sp == mine &&
		    (old.ss_flags & SS_DISABLE))
			printf("altstack own ok\n");
		stack_t off = { .ss_flags = SS_DISABLE };
		sigaltstack(&off, NULL);
		sigaltstack(NULL, &ss);
		printf("altstack after disable %s\n", (ss.ss_flags & SS_DISABLE) ? "none" : "set");
		return 0;
	}
	if (!strcmp(mode, "handler_stack"))
		return handler_stack();
	if (!strcmp(mode, "pid1"))
		return pid1();
	if (!strcmp(mode, "status")) {
		sleeps(n < 0 ? 20 : n);
		threads_line();
		return 0;
	}
	if (!strcmp(mode, "unshare")) {
		sleeps(n < 0 ? 20 : n);
		do_unshare(0);
		sleeps(n < 0 ? 20 : n);
		return 0;
	}
	if (!strcmp(mode, "unshare_mt") || !strcmp(mode, "unshare_sys")) {
		pthread_t t;
		pthread_create(&t, NULL, sleeper, (void *)(long)(n < 0 ? 20 : n));
		pthread_join(t, NULL);
		wait_single();
		do_unshare(!strcmp(mode, "unshare_sys"));
		sleeps(n < 0 ? 20 : n);
		return 0;
	}
	if (!strcmp(mode, "setns_mt")) {
		pthread_t t;
		pthread_create(&t, NULL, sleeper, (void *)(long)(n < 0 ? 20 : n));
		pthread_join(t, NULL);
		wait_single();
		int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
		int r = setns(fd, CLONE_NEWNS);
		if (r == 0)
			printf("setns=0\n");
		else
			printf("setns=-1 errno=%d\n", errno);
		close(fd);
		fflush(stdout);
		threads_line();
		sleeps(n < 0 ? 20 : n);
		return 0;
	}
	if (!strcmp(mode, "phases")) {
		for (int round = 0; round < 3; round++) {
			pthread_t t[2];
			for (int i = 0; i < 2; i++)
				pthread_create(&t[i], NULL, sleeper, (void *)(long)(n < 0 ? 20 : n));
			for (int i = 0; i < 2; i++)
				pthread_join(t[i], NULL);
			wait_single();
			threads_line();
			sleeps(n < 0 ? 20 : n);
		}
		return 0;
	}
	if (!strcmp(mode, "churn")) {
		for (int i = 0; i < (n < 0 ? 300 : n); i++) {
			pthread_t t;
			pthread_create(&t, NULL, sleeper, (void *)1L);
			pthread_join(t, NULL);
		}
		wait_single();
		threads_line();
		sleeps(20);
		return 0;
	}
	if (!strcmp(mode, "fork")) {
		sleeps(n < 0 ? 20 : n);
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			threads_line();
			sleeps(n < 0 ? 20 : n);
			exit(7);
		}
		int st = 0;
		waitpid(c, &st, 0);
		printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return 0;
	}
	if (!strcmp(mode, "errno")) {
		pthread_t t;
		printf("start errno=%d\n", start_errno);
		pthread_create(&t, NULL, sleeper, (void *)(long)(n < 0 ? 20 : n));
		pthread_join(t, NULL);
		fflush(stdout);
		errno = 4242;
		pid_t c = fork();
		int e = errno;
		if (c == 0) {
			printf("child errno=%d\n", e);
			fflush(stdout);
			sleeps(n < 0 ? 20 : n);
			exit(7);
		}
		int st = 0;
		waitpid(c, &st, 0);
		printf("parent errno=%d\nchild exit=%d\n", e, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return 0;
	}
	if (!strcmp(mode, "edges")) {
		edges();
		return 0;
	}
	if (!strcmp(mode, "dup2")) {
		struct rlimit lim;
		getrlimit(RLIMIT_NOFILE, &lim);
		if (lim.rlim_cur != 256) {
			lim.rlim_cur = 256;
			if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
				printf("setrlimit errno=%d\n", errno);
				return 1;
			}
			execv("/proc/self/exe", argv);
			printf("execv errno=%d\n", errno);
			return 1;
		}
		EDGE("dup2_255", dup2(1, 255));
		EDGE("dup2_254", dup2(1, 254));
		return 0;
	}
	if (!strcmp(mode, "sleeps")) {
		n = n < 0 ? 2000 : n;
		sleeps(n);
		printf("slept=%d\n", n);
		return 0;
	}
	if (!strcmp(mode, "kill9")) {
		for (long i = 1;; i++) {
			sleep_us(10000);
			if (i % 100 == 0) {
				printf("slept=%ld\n", i);
				fflush(stdout);
			}
		}
	}
	if (!strcmp(mode, "seccomp")) {
		rounds = n < 0 ? 200 : n;
		pthread_t t[3];
		for (int i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, contender, NULL);
		sleeps(5);
		/* A thread made but not yet started would meet the filter in its own start-up
		 * (set_robust_list, rseq): the filter goes in once all three run. */
		while (atomic_load(&started) < 3)
			sleep_us(SLEEP_US);
		if (sandbox(SECCOMP_FILTER_FLAG_TSYNC) != 0) {
			printf("seccomp failed errno=%d\n", errno);
			return 2;
		}
		atomic_store(&go, 1);
		for (int i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		printf("count=%ld\n", count);
		fflush(stdout);
		return 0;
	}
	if (!strcmp(mode, "cost"))
		return cost(n < 0 ? 5000 : n);
	if (!strcmp(mode, "seccomp_thread")) {
		n = n < 0 ? 50 : n;
		pthread_t t;
		pthread_create(&t, NULL, filtering_thread, (void *)(long)n);
		sleeps(n);
		pthread_join(t, NULL);
		printf("slept=%d\n", 3 * n);
		fflush(stdout);
		return 0;
	}
	if (!strcmp(mode, "seccomp_late")) {
		pthread_t t;
		pthread_create(&t, NULL, late_sleeper, NULL);
		while (!atomic_load(&in_long_sleep))
			sleep_us(1000);
		sleep_us(50000); /* well into its long sleep */
		if (sandbox(SECCOMP_FILTER_FLAG_TSYNC) != 0) {
			printf("seccomp failed errno=%d\n", errno);
			return 2;
		}
		pthread_join(t, NULL);
		printf("slept=28\n");
		fflush(stdout);
		return 0;
	}
	if (!strcmp(mode, "seccomp1")) {
		n = n < 0 ? 50 : n;
		struct sigaction act;
		memset(&act, 0, sizeof(act));
		act.sa_handler = on_usr1;
		act.sa_flags = SA_RESETHAND;
		sigaction(SIGUSR1, &act, NULL);
		sleeps(n);
		if (sandbox(0) != 0) {
			printf("seccomp failed errno=%d\n", errno);
			return 2;
		}
		sleeps(n);
		printf("slept=%d\n", 2 * n);
		fflush(stdout);
		raise_usr1(); /* the handler, reset to SIG_DFL on its way in */
		raise_usr1(); /* SIG_DFL: the end */
		return 0;
	}
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
