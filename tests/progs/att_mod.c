/* SPDX-License-Identifier: MIT */
/*
 * Shared object for att_dlfork (built as build/progs/att_mod.so): loaded with dlopen
 * while the process is attached, its calls to nanosleep go through its own GOT, which
 * attach mode redirects once it sees the new module.
 */
#include <time.h>

int att_mod_wait(int ms);

int att_mod_wait(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	return nanosleep(&ts, NULL); /* module sleep */
}
