/* SPDX-License-Identifier: MIT */
/*
 * Test program for posix_spawn's two ABIs (x86-64 glibc): a binary linked before glibc
 * 2.15 calls posix_spawn@GLIBC_2.2.5, which runs a file the kernel refuses with ENOEXEC
 * (a script without "#!") through /bin/sh; the current version returns ENOEXEC.
 *
 * usage: proc_oldspawn old|oldp|new PATH
 *   old    posix_spawn@GLIBC_2.2.5 of PATH
 *   oldp   posix_spawnp@GLIBC_2.2.5 of PATH
 *   new    posix_spawn (the current version) of PATH
 * prints "r=ERRNO status=S" (S: the child's exit status, -1 when none ran)
 */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

#ifdef __x86_64__
__asm__(".symver old_spawn, posix_spawn@GLIBC_2.2.5");
__asm__(".symver old_spawnp, posix_spawnp@GLIBC_2.2.5");
int old_spawn(pid_t *, const char *, const posix_spawn_file_actions_t *,
	      const posix_spawnattr_t *, char *const[], char *const[]);
int old_spawnp(pid_t *, const char *, const posix_spawn_file_actions_t *,
	       const posix_spawnattr_t *, char *const[], char *const[]);
#else
#define old_spawn posix_spawn
#define old_spawnp posix_spawnp
#endif

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	char *args[] = { argv[2], NULL };
	pid_t p;
	int r, st = 0, status = -1;

	if (!strcmp(argv[1], "old"))
		r = old_spawn(&p, argv[2], NULL, NULL, args, environ);
	else if (!strcmp(argv[1], "oldp"))
		r = old_spawnp(&p, argv[2], NULL, NULL, args, environ);
	else
		r = posix_spawn(&p, argv[2], NULL, NULL, args, environ);
	if (r == 0 && waitpid(p, &st, 0) == p && WIFEXITED(st))
		status = WEXITSTATUS(st);
	printf("r=%d status=%d\n", r, status);
	return 0;
}
