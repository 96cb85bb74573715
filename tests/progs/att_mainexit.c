/* SPDX-License-Identifier: MIT */
/*
 * A program whose main thread ends with pthread_exit while a worker runs on: the worker
 * creates DIR/ready, then sleeps until DIR/end exists and returns (the process exits 0).
 * Its main thread is then a zombie in /proc, the process alive: `ctrace attach` must say
 * so, not call the process a zombie.
 *
 * usage: att_mainexit DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

static void *worker(void *arg)
{
	char path[4096];
	struct timespec ms10 = { 0, 10000000 };

	(void)arg;
	snprintf(path, sizeof(path), "%s/ready", dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	snprintf(path, sizeof(path), "%s/end", dir);
	while (access(path, F_OK) != 0)
		nanosleep(&ms10, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc < 2)
		return 2;
	dir = argv[1];
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 1;
	pthread_exit(NULL);
}
