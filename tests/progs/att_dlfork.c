/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace attach` with modules loaded and unloaded and processes forked
 * while attached: until DIR/end exists (DIR/ready once it runs), it loads MODULE
 * (att_mod.so) with dlopen, sleeps 110 ms, calls its att_mod_wait(10) ten times, unloads
 * it, and forks a child that sleeps 5 ms and exits 11 (the parent checks the status).
 * Prints its books (stdout: the same whatever the tracer did) and exits 4.
 *
 * usage: att_dlfork DIR MODULE
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: att_dlfork DIR MODULE\n");
		return 2;
	}
	char p[4096];
	snprintf(p, sizeof(p), "%s/ready", argv[1]);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	snprintf(p, sizeof(p), "%s/end", argv[1]);
	int loads = 0, bad = 0, forks = 0;
	while (access(p, F_OK) != 0) {
		void *h = dlopen(argv[2], RTLD_NOW);
		int (*fn)(int) = h ? (int (*)(int))dlsym(h, "att_mod_wait") : NULL;
		if (!fn) {
			bad++;
			break;
		}
		/* a sleep of the program's own, longer than a writer period: attached, its end
		 * is a recorded event at which this single-threaded process flushes and the
		 * module just loaded is redirected (preload/README.md, attach limits) */
		struct timespec settle = { 0, 110000000L };
		nanosleep(&settle, NULL);
		for (int i = 0; i < 10; i++)
			bad += fn(10) != 0;
		if (dlclose(h) != 0)
			bad++;
		loads++;
		pid_t c = fork();
		if (c == 0) {
			struct timespec ts = { 0, 5000000L };
			nanosleep(&ts, NULL);
			_exit(11);
		}
		int st = 0;
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 11)
			bad++;
		forks++;
	}
	fprintf(stderr, "loads=%d forks=%d\n", loads, forks);
	printf("dl_ok=%d fork_ok=%d bad=%d\n", loads > 0, forks > 0, bad);
	return 4;
}
