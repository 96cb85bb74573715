/* SPDX-License-Identifier: MIT */
/*
 * A system call made with the syscall instruction itself, not through libc's syscall():
 * what no wrapper of libctrace sees (the test programs reuse fd numbers this way).
 * x86_64 only; RAW_SYSCALL is defined where it exists.
 *
 *   raw(nr, a, b, c, d)   the kernel's return value (-errno on failure)
 */
#ifndef RAW_SYSCALL_H
#define RAW_SYSCALL_H

#if defined(__x86_64__)
#define RAW_SYSCALL 1
static inline long raw(long nr, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}
#endif

#endif
