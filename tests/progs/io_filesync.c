/* SPDX-License-Identifier: MIT */
/*
 * A database's log, in miniature: writes 4 KiB blocks to a file and fdatasyncs each, never
 * asking for the file's status itself. Under CTRACE_SYSCALL_THRESHOLD=0 every call is slow,
 * so libctrace re-checks the fd's class (once a second at most): the test reads the
 * program's system calls (strace) and checks that libctrace never asks for the file's
 * timestamps (with multigrain timestamps a query makes the next write dirty the inode).
 * Prints `fd=N`, then `elapsed_ns=N`: CLOCK_MONOTONIC from before the open to after the
 * close (the checks can only happen in that time).
 *
 * usage: io_filesync FILE [BLOCKS]   (default 50)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: io_filesync FILE [BLOCKS]\n");
		return 2;
	}
	int blocks = argc > 2 ? atoi(argv[2]) : 50;
	long long t0 = mono_ns();
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	char b[4096];
	memset(b, 'x', sizeof(b));
	for (int i = 0; i < blocks; i++) {
		if (pwrite(fd, b, sizeof(b), (off_t)i * (off_t)sizeof(b)) != (ssize_t)sizeof(b) ||
		    fdatasync(fd) != 0) {
			perror("pwrite/fdatasync");
			return 1;
		}
	}
	printf("fd=%d\n", fd);
	int r = close(fd);
	printf("elapsed_ns=%lld\n", mono_ns() - t0);
	return r == 0 ? 0 : 1;
}
