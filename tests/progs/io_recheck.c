/* SPDX-License-Identifier: MIT */
/*
 * The slow-call check of an fd's class, once a period (2^30 ns) per number: a number
 * reused through a path no wrapper sees is filed under its new class by the first slow
 * call of a later period. Run with CTRACE_SYSCALL_THRESHOLD=0 (every call slow):
 *
 *   read_file_first: reads a regular file at number N (libctrace checks it: "file", in
 *                    this period);
 *   then N is closed and a socket made there with raw system calls (no wrapper sees
 *                    either), a byte written to the socket's peer, and the program sleeps
 *                    1.1 s (more than a period);
 *   read_after_reuse: reads N, now the socket: the trace must file it as network waiting
 *                    (net/read), not as a file read.
 *
 * Prints `fd=N`. x86_64 only (raw system calls); elsewhere it prints `skip` and exits 0.
 *
 * usage: io_recheck
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "raw_syscall.h"

static void die(const char *what)
{
	fprintf(stderr, "io_recheck: %s: %s\n", what, strerror(errno));
	exit(1);
}

#if defined(__x86_64__)

static void read_file_first(int fd)
{
	char b;
	if (read(fd, &b, 1) != 1)
		die("read file");
}

static void read_after_reuse(int fd)
{
	char b;
	if (read(fd, &b, 1) != 1)
		die("read socket");
}
#endif

int main(void)
{
#if !defined(__x86_64__)
	puts("skip");
	return 0;
#else
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open");
	read_file_first(fd);
	int sv[2];
	if (raw(SYS_close, fd, 0, 0, 0) != 0 ||
	    raw(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (long)sv) != 0)
		die("raw close/socketpair");
	if (sv[0] != fd) {
		fprintf(stderr, "io_recheck: the socket is at %d, not %d\n", sv[0], fd);
		return 1;
	}
	if (write(sv[1], "x", 1) != 1)
		die("write");
	struct timespec t = { 1, 100000000 };
	nanosleep(&t, NULL);
	read_after_reuse(fd);
	printf("fd=%d\n", fd);
	return 0;
#endif
}
