/* SPDX-License-Identifier: MIT */
/*
 * Test program for processes under libctrace: fork, exec, spawn, vfork, system, popen and
 * daemonizing. Every process image makes a few deterministic mutex waits on an object of
 * its own (a helper thread blocks on a mutex main holds; main lets go once the helper
 * sleeps in the kernel on it, proc_util.h) and prints its object's address, so a test can
 * tell whose events each trace file holds.
 *
 * usage: proc_fork fork          parent waits on parent_mu, forks 3 children while a
 *                                thread of its own holds parent_mu: child 0 waits on
 *                                child_mu and exit(7)s, child 1 the same and _exit(8)s,
 *                                child 2 records nothing and _exit(0)s; the parent
 *                                waits on parent_mu again and prints each child's status
 *        proc_fork exec          parent waits, forks a child that waits and execs this
 *                                program ("image2") with envp {"FOO=1"} only (no
 *                                LD_PRELOAD, no CTRACE_*); exits with the child's code
 *        proc_fork exec-self     waits, then execv's itself as "image2" (same pid)
 *        proc_fork exec-fail     waits, execve of a missing file (prints its errno),
 *                                waits again, exits 0
 *        proc_fork image2        the exec'd image: waits on image2_mu, prints whether
 *                                LD_PRELOAD/CTRACE_OUT are set, exits 5
 *        proc_fork daemon FILE   double fork, setsid, chdir("/"), close(0..1023), then
 *                                waits on daemon_mu and writes "closed=N opened=FD pid=P"
 *                                (N: closes that succeeded, FD: the next open's number)
 *                                to FILE (absolute path); the first parent exits 0 at once
 *        proc_fork closefrom FILE the same with closefrom(0) instead of the loop
 *        proc_fork close_range FILE the same with close_range(0, ~0U, 0)
 *        proc_fork spawn         waits on parent_mu twice, posix_spawn's this program as
 *                                "image2" with envp {"FOO=1"} only, waits for it, prints
 *                                "child pid=P status=S" and exits with S
 *        proc_fork spawnp        the same with posix_spawnp("proc_fork", ...) (found in
 *                                PATH)
 *        proc_fork loader N      a thread walks the loaded objects (dl_iterate_phdr, the
 *                                loader lock) in a loop while main forks N children;
 *                                each sleeps 1 ms (a wait with a stack) and ends,
 *                                _exit(0) or exit(0) in turn. A child not ended within
 *                                5 s is killed and counted: prints "forks=N hung=H"
 *        proc_fork spawn-small   as spawn, the posix_spawn made by a thread with a
 *                                PTHREAD_STACK_MIN stack, with 3,000 variables more
 *                                in envp ("V_I=I")
 *        proc_fork vfork-exit    waits twice, vfork()s a child that _exit(3)s at once,
 *                                waits twice more, prints "vfork child status=3"
 *        proc_fork vfork-exec    waits twice, vfork()s a child that execve's "image2"
 *                                with envp {"FOO=1"}, waits twice more; exits with its code
 *        proc_fork vfork-exec-small  as vfork-exec, the vfork made by a thread with a
 *                                PTHREAD_STACK_MIN stack, with 3,000 variables more
 *                                in envp
 *        proc_fork system        waits twice, system("exec SELF image2"): prints
 *                                "system status=5", exits 0
 *        proc_fork killed N      forks N children, each of which would pause; the parent
 *                                SIGKILLs child i at once after a spin of 8 * (i % 250) us, so
 *                                that the kills fall anywhere in a child's first moments
 *                                (in the middle of libctrace creating its trace file,
 *                                among others); reaps them and prints "killed=N"
 *        proc_fork popen         waits twice, popen("SELF image2"), prints the line it
 *                                read without its pid and address and "pclose status=5"
 *        proc_fork chain N       this image waits twice on parent_mu, prints "chain N
 *                                pid=P", then (N > 0) execv's itself as "chain N-1";
 *                                the last image exits 6
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_util.h"

extern char **environ;

static pthread_mutex_t parent_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t image2_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t daemon_mu = PTHREAD_MUTEX_INITIALIZER;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static _Atomic pid_t blocker_tid;

static void *blocker(void *arg)
{
	pthread_mutex_t *m = arg;
	atomic_store(&blocker_tid, gettid());
	pthread_mutex_lock(m); /* blocks: main holds m */
	pthread_mutex_unlock(m);
	return NULL;
}

/* n waits on m: a helper thread blocks on m while this thread holds it, until the helper
 * sleeps in the kernel on m. */
static void make_waits(pthread_mutex_t *m, int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		atomic_store(&blocker_tid, 0);
		pthread_mutex_lock(m);
		pthread_create(&t, NULL, blocker, m);
		proc_wait_blocked(&blocker_tid, SYS_futex, m, sizeof(*m));
		pthread_mutex_unlock(m);
		pthread_join(t, NULL);
	}
}

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&parent_mu);
	sleep_ms(200);
	pthread_mutex_unlock(&parent_mu);
	return NULL;
}

static int do_fork(void)
{
	printf("parent_mu=%p child_mu=%p\n", (void *)&parent_mu, (void *)&child_mu);
	fflush(stdout);
	make_waits(&parent_mu, 3);
	/* fork while another thread holds parent_mu and events are still buffered */
	pthread_t h;
	pthread_create(&h, NULL, holder, NULL);
	sleep_ms(20);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			if (i == 2)
				_exit(0);
			make_waits(&child_mu, 3);
			if (i == 0)
				exit(7);
			_exit(8);
		}
	}
	pthread_join(h, NULL);
	make_waits(&parent_mu, 2);
	for (int i = 0; i < 3; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		printf("child %d pid=%d status=%d\n", i, (int)kids[i],
		       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	return 0;
}

static int do_exec(const char *self)
{
	printf("parent_mu=%p child_mu=%p image2_mu=%p\n", (void *)&parent_mu,
	       (void *)&child_mu, (void *)&image2_mu);
	fflush(stdout);
	make_waits(&parent_mu, 2);
	pid_t pid = fork();
	if (pid == 0) {
		make_waits(&child_mu, 2);
		char *argv[] = { (char *)self, (char *)"image2", NULL };
		char *envp[] = { (char *)"FOO=1", NULL };
		execve(self, argv, envp);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child pid=%d status=%d\n", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int do_image2(void)
{
	make_waits(&image2_mu, 2);
	printf("image2 pid=%d image2_mu=%p LD_PRELOAD=%s CTRACE_OUT=%s\n", (int)getpid(),
	       (void *)&image2_mu, getenv("LD_PRELOAD") ? "set" : "unset",
	       getenv("CTRACE_OUT") ? "set" : "unset");
	return 5;
}

static int exit_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define SMALL_ENV 3000

static struct spawn_call {
	const char *self;
	int by_path;
	char **envp;
	pid_t pid;
	int r;
} sc;

static void *spawn_call(void *arg)
{
	struct spawn_call *c = arg;
	char *argv[] = { (char *)"proc_fork", (char *)"image2", NULL };
	c->r = c->by_path ? posix_spawnp(&c->pid, "proc_fork", NULL, NULL, argv, c->envp)
			  : posix_spawn(&c->pid, c->self, NULL, NULL, argv, c->envp);
	return NULL;
}

/* SMALL_ENV variables "V_I=I", then "FOO=1"; NULL if out of memory. */
static char **big_env(void)
{
	char **big = calloc(SMALL_ENV + 2, sizeof(*big));
	for (int i = 0; big && i < SMALL_ENV; i++)
		if (asprintf(&big[i], "V_%d=%d", i, i) < 0)
			return NULL;
	if (big)
		big[SMALL_ENV] = (char *)"FOO=1";
	return big;
}

/* fn(arg) on a thread with a PTHREAD_STACK_MIN stack: 0, or 1 if it could not run. */
static int on_small_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN);
	return pthread_create(&t, &a, fn, arg) != 0 || pthread_join(t, NULL) != 0;
}

/* small: from a PTHREAD_STACK_MIN thread, with SMALL_ENV variables more */
static int do_spawn(const char *self, int by_path, int small)
{
	make_waits(&parent_mu, 2);
	char *envp[] = { (char *)"FOO=1", NULL };
	sc = (struct spawn_call){ self, by_path, envp, 0, 0 };
	if (small) {
		if (!(sc.envp = big_env()) || on_small_thread(spawn_call, &sc))
			return 1;
	} else {
		spawn_call(&sc);
	}
	pid_t pid = sc.pid;
	int r = sc.r;
	if (r != 0) {
		printf("spawn failed: %d\n", r);
		return 1;
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child pid=%d status=%d\n", (int)pid, exit_code(st));
	return exit_code(st);
}

static struct vfork_call {
	const char *self;
	int exec;
	char **envp;
	int st;
} vc;

static void *vfork_call(void *arg)
{
	struct vfork_call *c = arg;
	char *argv[] = { (char *)c->self, (char *)"image2", NULL };
	pid_t pid = vfork();
	if (pid == 0) {
		if (c->exec)
			execve(c->self, argv, c->envp);
		_exit(3);
	}
	waitpid(pid, &c->st, 0);
	return NULL;
}

/* small: from a PTHREAD_STACK_MIN thread, with SMALL_ENV variables more */
static int do_vfork(const char *self, int exec, int small)
{
	printf("parent_mu=%p pid=%d\n", (void *)&parent_mu, (int)getpid());
	fflush(stdout);
	make_waits(&parent_mu, 2);
	char *envp[] = { (char *)"FOO=1", NULL };
	vc = (struct vfork_call){ self, exec, envp, 0 };
	if (small) {
		if (!(vc.envp = big_env()) || on_small_thread(vfork_call, &vc))
			return 1;
	} else {
		vfork_call(&vc);
	}
	make_waits(&parent_mu, 2);
	printf("vfork child status=%d\n", exit_code(vc.st));
	return exec ? exit_code(vc.st) : 0;
}

static int do_system(const char *self)
{
	make_waits(&parent_mu, 2);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "exec '%s' image2", self);
	fflush(stdout);
	int st = system(cmd);
	printf("system status=%d\n", exit_code(st));
	return 0;
}

static int do_popen(const char *self)
{
	make_waits(&parent_mu, 2);
	char cmd[4096], line[512] = "";
	snprintf(cmd, sizeof(cmd), "'%s' image2", self);
	FILE *f = popen(cmd, "r");
	if (!f)
		return 1;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	int st = pclose(f);
	/* "image2 pid=P image2_mu=A LD_..." without the pid and the address */
	char *pid = strstr(line, " pid="), *rest = strstr(line, " LD_PRELOAD=");
	if (pid && rest)
		memmove(pid, rest, strlen(rest) + 1);
	printf("popen read: %s", line);
	printf("pclose status=%d\n", exit_code(st));
	return 0;
}

static int do_chain(const char *self, int n)
{
	make_waits(&parent_mu, 2);
	printf("chain %d pid=%d\n", n, (int)getpid());
	fflush(stdout);
	if (n <= 0)
		return 6;
	char num[16];
	snprintf(num, sizeof(num), "%d", n - 1);
	char *argv[] = { (char *)self, (char *)"chain", num, NULL };
	execv(self, argv);
	return 127;
}

/* use: 0 close(0..1023), 1 closefrom(0), 2 close_range(0, ~0U, 0) */
static int do_daemon(const char *file, int use_closefrom)
{
	pid_t p = fork();
	if (p > 0) {
		int st;
		waitpid(p, &st, 0);
		return 0;
	}
	if (setsid() < 0)
		_exit(1);
	if (fork() > 0)
		_exit(0);
	if (chdir("/") != 0)
		_exit(1);
	int closed = 0;
	if (use_closefrom == 2) {
		closed = close_range(0, ~0U, 0) == 0 ? -2 : -3;
	} else if (use_closefrom) {
		closefrom(0);
		closed = -1;
	} else {
		for (int fd = 0; fd < 1024; fd++)
			if (close(fd) == 0)
				closed++;
	}
	int fd = open("/dev/null", O_RDWR); /* the lowest free number */
	make_waits(&daemon_mu, 3);
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "closed=%d opened=%d pid=%d\n", closed, fd,
			 (int)getpid());
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, buf, (size_t)n) != n)
		_exit(1);
	close(out);
	rename(tmp, file);
	return 0;
}

static atomic_int walking;

static int walk_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(volatile size_t *)data += info->dlpi_phnum;
	return 0;
}

static void *walker(void *arg)
{
	size_t sum = 0;
	(void)arg;
	while (atomic_load(&walking))
		dl_iterate_phdr(walk_cb, &sum);
	return NULL;
}

static int do_loader(int n)
{
	pthread_t t;
	int hung = 0;
	atomic_store(&walking, 1);
	if (pthread_create(&t, NULL, walker, NULL))
		return 1;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0)
			return 1;
		if (p == 0) {
			struct timespec d = { 0, 1000000 };
			nanosleep(&d, NULL);
			if (i % 2)
				exit(0);
			_exit(0);
		}
		int st;
		struct timespec t0, now;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (waitpid(p, &st, WNOHANG) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec >= 5) {
				hung++;
				kill(p, SIGKILL);
				waitpid(p, &st, 0);
				break;
			}
			usleep(1000);
		}
	}
	atomic_store(&walking, 0);
	pthread_join(t, NULL);
	printf("forks=%d hung=%d\n", n, hung);
	return 0;
}

static int do_killed(int n)
{
	int killed = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			for (;;)
				pause();
		}
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long spin_ns = (long)(i % 250) * 8000;
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < spin_ns);
		kill(pid, SIGKILL);
		int st;
		if (waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			killed++;
	}
	printf("killed=%d\n", killed);
	return killed == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fork";
	if (!strcmp(mode, "killed") && argc > 2)
		return do_killed(atoi(argv[2]));
	if (!strcmp(mode, "loader") && argc > 2)
		return do_loader(atoi(argv[2]));
	if (!strcmp(mode, "fork"))
		return do_fork();
	if (!strcmp(mode, "exec"))
		return do_exec(argv[0]);
	if (!strcmp(mode, "image2"))
		return do_image2();
	if (!strcmp(mode, "exec-self")) {
		printf("parent_mu=%p pid=%d\n", (void *)&parent_mu, (int)getpid());
		fflush(stdout);
		make_waits(&parent_mu, 2);
		execl(argv[0], argv[0], "image2", (char *)NULL);
		return 127;
	}
	if (!strcmp(mode, "exec-fail")) {
		make_waits(&parent_mu, 2);
		char *av[] = { (char *)"nope", NULL };
		int r = execve("/nonexistent/nope", av, av + 1);
		printf("execve=%d errno=%d\n", r, errno);
		make_waits(&child_mu, 2);
		return 0;
	}
	if ((!strcmp(mode, "daemon") || !strcmp(mode, "closefrom") ||
	     !strcmp(mode, "close_range")) && argc > 2)
		return do_daemon(argv[2], !strcmp(mode, "closefrom") ? 1 :
					  !strcmp(mode, "close_range") ? 2 : 0);
	if (!strcmp(mode, "spawn") || !strcmp(mode, "spawnp") || !strcmp(mode, "spawn-small"))
		return do_spawn(argv[0], !strcmp(mode, "spawnp"), !strcmp(mode, "spawn-small"));
	if (!strcmp(mode, "vfork-exit") || !strcmp(mode, "vfork-exec") ||
	    !strcmp(mode, "vfork-exec-small"))
		return do_vfork(argv[0], strcmp(mode, "vfork-exit") != 0,
				!strcmp(mode, "vfork-exec-small"));
	if (!strcmp(mode, "system"))
		return do_system(argv[0]);
	if (!strcmp(mode, "popen"))
		return do_popen(argv[0]);
	if (!strcmp(mode, "chain") && argc > 2)
		return do_chain(argv[0], atoi(argv[2]));
	fprintf(stderr, "usage: proc_fork fork|exec|exec-self|exec-fail|image2|daemon FILE|"
		"closefrom FILE|close_range FILE|spawn|spawnp|spawn-small|vfork-exit|vfork-exec|"
		"vfork-exec-small|"
		"loader N|"
		"system|"
		"popen|chain N\n");
	return 2;
}
