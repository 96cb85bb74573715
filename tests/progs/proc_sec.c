/* SPDX-License-Identifier: MIT */
/*
 * Test program for what a traced process can see of libctrace: its file descriptors, its
 * environment, its privileges. Every mode first makes 2 deterministic mutex waits
 * (proc_util.h) so that the tracer has captured a stack and has its trace file open.
 *
 * usage: proc_sec fds         prints "low=0,1,2" (this process's open fds below 900, the
 *                             listing's own excluded) and, per fd >= 900,
 *                             "high FD cloexec=0|1 -> TARGET"
 *        proc_sec rawexec     execs itself as "fds" with the raw execve system call (no
 *                             libc wrapper) and envp {"FOO=1"}: the new image is not
 *                             traced and shows what it inherited
 *        proc_sec execfds     execv's itself as "fds" (same pid, environ kept): the new
 *                             image, traced again, shows its own fds
 *        proc_sec firstfd     prints "first_open=N socket=N pipe=N,N" (the numbers the
 *                             program's first open, socket and pipe get) and
 *                             "emfile_after=N" (how many more opens succeed until EMFILE,
 *                             at most 100000)
 *        proc_sec whoami      prints "uid=U euid=E secure=0|1 LD_PRELOAD=set|unset", exits 4
 *        proc_sec clearenv PROGRAM ARGS...   unsetenv("LD_PRELOAD") then system() of the
 *                             quoted command line: what a program that hides LD_PRELOAD
 *                             from its children does; exits with the command's status
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc_util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t blocker_tid;

static void *blocker(void *arg)
{
	(void)arg;
	atomic_store(&blocker_tid, gettid());
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void make_waits(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		atomic_store(&blocker_tid, 0);
		pthread_mutex_lock(&mu);
		pthread_create(&t, NULL, blocker, NULL);
		proc_wait_blocked(&blocker_tid, SYS_futex, &mu, sizeof(mu));
		pthread_mutex_unlock(&mu);
		pthread_join(t, NULL);
	}
}

static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 1;
	int self = dirfd(d), fds[4096], n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 4096) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd != self)
			fds[n++] = fd;
	}
	closedir(d);
	for (int i = 1; i < n; i++) /* insertion sort */
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	printf("low=");
	for (int i = 0, first = 1; i < n; i++)
		if (fds[i] < 900) {
			printf("%s%d", first ? "" : ",", fds[i]);
			first = 0;
		}
	printf("\n");
	for (int i = 0; i < n; i++) {
		if (fds[i] < 900)
			continue;
		char path[64], target[4096] = "?", line[256];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		ssize_t l = readlink(path, target, sizeof(target) - 1);
		target[l > 0 ? l : 1] = 0;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fds[i]);
		unsigned long flags = 0;
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			sscanf(line, "flags: %lo", &flags);
		if (f)
			fclose(f);
		printf("high %d cloexec=%d -> %s\n", fds[i], (flags & O_CLOEXEC) ? 1 : 0, target);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fds";
	if (!strcmp(mode, "fds")) {
		make_waits(2);
		return list_fds();
	}
	if (!strcmp(mode, "rawexec")) {
		make_waits(2);
		fflush(stdout);
		char *av[] = { argv[0], (char *)"fds", NULL };
		char *ev[] = { (char *)"FOO=1", NULL };
		syscall(SYS_execve, "/proc/self/exe", av, ev);
		printf("execve failed: errno=%d\n", errno);
		return 127;
	}
	if (!strcmp(mode, "execfds")) {
		make_waits(2);
		fflush(stdout);
		char *av[] = { argv[0], (char *)"fds", NULL };
		execv("/proc/self/exe", av);
		printf("execv failed: errno=%d\n", errno);
		return 127;
	}
	if (!strcmp(mode, "firstfd")) {
		make_waits(2);
		int o = open("/dev/null", O_RDONLY);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		int p[2] = { -1, -1 };
		if (pipe(p) != 0)
			return 1;
		printf("first_open=%d socket=%d pipe=%d,%d\n", o, s, p[0], p[1]);
		int more = 0;
		while (more < 100000 && open("/dev/null", O_RDONLY) >= 0)
			more++;
		printf("emfile_after=%d errno=%d\n", more, errno);
		return 0;
	}
	if (!strcmp(mode, "whoami")) {
		make_waits(2);
		printf("uid=%d euid=%d secure=%lu LD_PRELOAD=%s\n", (int)getuid(), (int)geteuid(),
		       getauxval(AT_SECURE), getenv("LD_PRELOAD") ? "set" : "unset");
		return 4;
	}
	if (!strcmp(mode, "clearenv") && argc > 2) {
		make_waits(2);
		unsetenv("LD_PRELOAD");
		char cmd[8192] = "exec";
		for (int i = 2; i < argc; i++) {
			strncat(cmd, " '", sizeof(cmd) - strlen(cmd) - 1);
			strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 1);
			strncat(cmd, "'", sizeof(cmd) - strlen(cmd) - 1);
		}
		fflush(stdout);
		int st = system(cmd);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	fprintf(stderr, "usage: proc_sec fds|rawexec|execfds|firstfd|whoami|clearenv PROGRAM...\n");
	return 2;
}
