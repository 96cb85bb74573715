/* SPDX-License-Identifier: MIT */
/*
 * Test program for a deferred cancellation left pending: a thread calls
 * pthread_cancel(pthread_self()) and then makes no cancellation point of its own before
 * it ends. Untraced, nothing acts on the request; libctrace's own I/O at that end (its
 * flush at exit, _exit, exec and fork, its reads of the thread's scheduler counters at
 * the thread's exit, the flush a long raw futex wait makes it do) must not either.
 *
 * usage: proc_cancel MODE
 *   ret        a thread's routine cancels itself and returns 42: main prints "join=42"
 *              ("join=canceled" if the request acted)
 *   exit       main cancels itself and calls exit(3)
 *   exit2      the same with a second thread blocked in pause()
 *   _exit      main cancels itself and calls _exit(6)
 *   exec       main cancels itself and execs /bin/false (status 1)
 *   fork       main cancels itself and forks; the child _exit(5)s, main (cancellation
 *              disabled, so that waitpid cannot act on it) exits with its status
 *   futex      main cancels itself, makes four raw futex waits of 60 ms (syscall(), no
 *              cancellation point) and calls _exit(7)
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *returns_42(void *arg)
{
	(void)arg;
	pthread_cancel(pthread_self());
	return (void *)42;
}

static void *pauses(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	pthread_t t;

	if (!strcmp(m, "ret")) {
		void *r;

		pthread_create(&t, NULL, returns_42, NULL);
		pthread_join(t, &r);
		if (r == PTHREAD_CANCELED)
			printf("join=canceled\n");
		else
			printf("join=%ld\n", (long)r);
		return 0;
	}
	if (!strcmp(m, "exit2"))
		pthread_create(&t, NULL, pauses, NULL);
	fflush(stdout);
	pthread_cancel(pthread_self()); /* deferred: acted on at a cancellation point */
	if (!strcmp(m, "exit") || !strcmp(m, "exit2"))
		exit(3);
	if (!strcmp(m, "_exit"))
		_exit(6);
	if (!strcmp(m, "exec")) {
		execl("/bin/false", "false", (char *)NULL);
		_exit(9);
	}
	if (!strcmp(m, "fork")) {
		int st, old;
		pid_t p = fork();

		if (p == 0)
			_exit(5);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		if (p < 0 || waitpid(p, &st, 0) != p)
			_exit(10);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
	}
	if (!strcmp(m, "futex")) {
		int word = 0;
		struct timespec ts = { 0, 60000000 };

		for (int i = 0; i < 4; i++)
			syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
		_exit(7);
	}
	_exit(2);
}
