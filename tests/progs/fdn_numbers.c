/* SPDX-License-Identifier: MIT */
/*
 * The program's fd numbers, where a tracer keeps its own files (900 and up; the top of a
 * descriptor limit at or below 900). Every line it prints, and every byte it writes into
 * FILE, must be the same traced and untraced. The numbers it targets are fixed (900-905
 * and the 8 highest the limit allows), never taken from /proc/self/fd, so that both runs
 * do the same calls.
 *
 * usage: fdn_numbers MODE FILE
 *   dup2        FILE opened; for each target: dup2(file, target), a line written through
 *               the target, then 3 sleeps of 15 ms while the program holds the number (a
 *               second thread sleeps too: the tracer has events to write meanwhile),
 *               another line, close. Prints each call's result, then sleeps=N (the
 *               nanosleep calls of the marked line, both threads).
 *   dup3        the same with dup3(file, target, O_CLOEXEC), the flag checked.
 *   getfd       for each target: fcntl F_GETFD, F_GETFL, F_SETFD, F_DUPFD, dup, dup2 and
 *               dup3 from it, fstat, fstatat and statx with AT_EMPTY_PATH, close: each
 *               result and errno.
 *   dupfd       fcntl(file, F_DUPFD / F_DUPFD_CLOEXEC, 900) four times, then from the
 *               limit's top 8, and dup(): the numbers returned, a line written through
 *               each, their FD_CLOEXEC flag.
 *   closerange  close_range(3, ~0U, 0), then FILE opened (its number printed), the
 *               sleeps of dup2 mode, a line written; prints sleeps=N.
 *   list        the sleeps of dup2 mode (stacks are captured), then every open fd from 3
 *               up but the listing's own: "fd N -> TARGET" (FILE unused).
 * Exit status 0; 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int targets[16], ntargets;
static atomic_int sleeps, stop;

static void add_target(int t)
{
	if (t < 3)
		return;
	for (int i = 0; i < ntargets; i++)
		if (targets[i] == t)
			return;
	targets[ntargets++] = t;
}

static void find_targets(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	for (int t = 900; t <= 905; t++)
		if ((rlim_t)t < rl.rlim_cur)
			add_target(t);
	int top = rl.rlim_cur > 1024 ? 1024 : (int)rl.rlim_cur;
	for (int t = top - 8; t < top; t++)
		add_target(t);
}

static void nap(void)
{
	struct timespec ts = { 0, 15 * 1000 * 1000 };
	nanosleep(&ts, NULL); /* NAP */
	atomic_fetch_add(&sleeps, 1);
}

static void *sleeper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		nap();
	return NULL;
}

static void say(const char *what, int t, int r)
{
	printf("%s %d -> %d %s\n", what, t, r, r < 0 ? strerrorname_np(errno) : "");
}

static void line(int fd, const char *what, int t)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s through %d\n", what, t);
	if (write(fd, buf, (size_t)n) != n)
		printf("write through %d failed: %s\n", t, strerrorname_np(errno));
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static void hold(int t)
{
	for (int i = 0; i < 3; i++)
		nap();
	line(t, "held", t);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fdn_numbers dup2|dup3|getfd|dupfd|closerange FILE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *mode = argv[1], *path = argv[2];
	find_targets();
	pthread_t th;
	int threads = !strcmp(mode, "dup2") || !strcmp(mode, "dup3") ||
		      !strcmp(mode, "closerange") || !strcmp(mode, "list");
	if (threads)
		pthread_create(&th, NULL, sleeper, NULL);
	if (!strcmp(mode, "dup2") || !strcmp(mode, "dup3")) {
		int fd = open_file(path), d3 = mode[3] == '3';
		for (int i = 0; i < ntargets; i++) {
			int t = targets[i];
			int r = d3 ? dup3(fd, t, O_CLOEXEC) : dup2(fd, t);
			say(mode, t, r);
			if (r != t)
				continue;
			printf("flags %d: %d\n", t, fcntl(t, F_GETFD));
			line(t, "first", t);
			hold(t);
			say("close", t, close(t));
		}
		line(fd, "end", fd);
	} else if (!strcmp(mode, "getfd")) {
		for (int i = 0; i < ntargets; i++) {
			int t = targets[i];
			say("F_GETFD", t, fcntl(t, F_GETFD));
			say("F_GETFL", t, fcntl(t, F_GETFL));
			say("F_SETFD", t, fcntl(t, F_SETFD, 0));
			say("F_SETFL", t, fcntl(t, F_SETFL, O_APPEND));
			say("F_DUPFD", t, fcntl(t, F_DUPFD, 0));
			say("dup", t, dup(t));
			say("dup2 to 50 from", t, dup2(t, 50));
			say("dup2 to itself", t, dup2(t, t));
			say("dup3 to 51 from", t, dup3(t, 51, 0));
			struct stat st;
			struct statx sx;
			say("fstat", t, fstat(t, &st));
			say("fstatat", t, fstatat(t, "", &st, AT_EMPTY_PATH));
			say("statx", t, statx(t, "", AT_EMPTY_PATH, STATX_TYPE, &sx));
			say("close", t, close(t));
		}
	} else if (!strcmp(mode, "dupfd")) {
		int fd = open_file(path), got[16], n = 0;
		for (int i = 0; i < 4; i++) {
			int cmd = i % 2 ? F_DUPFD_CLOEXEC : F_DUPFD;
			int r = fcntl(fd, cmd, 900);
			say(i % 2 ? "F_DUPFD_CLOEXEC from 900" : "F_DUPFD from 900", fd, r);
			if (r >= 0) {
				printf("flags %d: %d\n", r, fcntl(r, F_GETFD));
				line(r, "dupfd", r);
				got[n++] = r;
			}
		}
		for (int i = 0; i < ntargets; i++) {
			if (targets[i] >= 900)
				continue;
			int r = fcntl(fd, F_DUPFD, targets[i]);
			printf("F_DUPFD from %d -> %d\n", targets[i], r);
			if (r >= 0) {
				line(r, "dupfd", r);
				got[n++] = r;
				if (n == 16)
					break;
			}
		}
		int r = dup(fd);
		say("dup", fd, r);
		if (r >= 0)
			close(r);
		for (int i = 0; i < n; i++)
			say("close", got[i], close(got[i]));
		line(fd, "end", fd);
	} else if (!strcmp(mode, "closerange")) {
		say("close_range", 3, close_range(3, ~0U, 0));
		int fd = open_file(path);
		printf("opened %d\n", fd);
		hold(fd);
		say("close", fd, close(fd));
	} else if (!strcmp(mode, "list")) {
		for (int i = 0; i < 4; i++)
			nap();
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			int n = atoi(e->d_name);
			if (e->d_name[0] == '.' || n < 3 || n == dirfd(d))
				continue;
			char p[64], to[4096];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", n);
			ssize_t l = readlink(p, to, sizeof(to) - 1);
			to[l > 0 ? l : 0] = 0;
			printf("fd %d -> %s\n", n, to);
		}
		if (d)
			closedir(d);
	} else {
		fprintf(stderr, "fdn_numbers: unknown mode %s\n", mode);
		return 2;
	}
	if (threads) {
		atomic_store(&stop, 1);
		pthread_join(th, NULL);
		printf("sleeps=%d\n", atomic_load(&sleeps));
	}
	return 0;
}
