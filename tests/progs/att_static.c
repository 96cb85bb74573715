/* SPDX-License-Identifier: MIT */
/*
 * A statically linked program (build/progs/att_static, -static) that sleeps until it is
 * killed: `ctrace attach` must refuse it (no dynamic loader to load libctrace.so with).
 */
#include <unistd.h>

int main(void)
{
	for (;;)
		pause();
}
