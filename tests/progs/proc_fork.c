/* SPDX-License-Identifier: MIT */
/*
 * Test program for processes under libctrace: fork, exec and daemonizing. Every process
 * image makes a few deterministic mutex waits on an object of its own (a helper thread
 * blocks on a mutex main holds for 5 ms) and prints its object's address, so a test can
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
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t parent_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t image2_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t daemon_mu = PTHREAD_MUTEX_INITIALIZER;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void *blocker(void *arg)
{
	pthread_mutex_t *m = arg;
	pthread_mutex_lock(m); /* blocks: main holds m */
	pthread_mutex_unlock(m);
	return NULL;
}

/* n waits on m: a helper thread blocks on m while this thread holds it for 5 ms. */
static void make_waits(pthread_mutex_t *m, int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_mutex_lock(m);
		pthread_create(&t, NULL, blocker, m);
		sleep_ms(5);
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
	if (use_closefrom) {
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

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fork";
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
	if ((!strcmp(mode, "daemon") || !strcmp(mode, "closefrom")) && argc > 2)
		return do_daemon(argv[2], !strcmp(mode, "closefrom"));
	fprintf(stderr, "usage: proc_fork fork|exec|exec-self|exec-fail|image2|daemon FILE\n");
	return 2;
}
