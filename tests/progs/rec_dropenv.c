/* SPDX-License-Identifier: MIT */
/*
 * Test program for `ctrace record`: a program that sanitizes its environment before it
 * runs another one. It takes LD_PRELOAD out of the environment and execs PROGRAM through
 * the raw execve system call, which libctrace does not interpose (its exec wrappers would
 * put LD_PRELOAD back), so PROGRAM runs untraced in the same process.
 *
 * usage: rec_dropenv PROGRAM [ARGS...]    PROGRAM must be a path; exits 127 if the exec
 *                                         fails
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	size_t n = 0, k = 0;
	char **env;

	if (argc < 2) {
		fprintf(stderr, "usage: rec_dropenv PROGRAM [ARGS...]\n");
		return 2;
	}
	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	syscall(SYS_execve, argv[1], argv + 1, env);
	perror("rec_dropenv: execve");
	return 127;
}
