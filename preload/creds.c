/* SPDX-License-Identifier: MIT */
/*
 * The setuid family: a process that gives up root may no longer be able to create trace
 * files where it was told to, nor may the children it forks afterwards (a daemon that
 * drops privileges and then daemonizes). Before the real call, tracefile.c makes a spare file
 * for them while the process still can. Nothing else changes: the real call's result and
 * errno are returned as they are.
 */
#include <errno.h>
#include <unistd.h>

#include "ctrace.h"

static void before_switch(uid_t euid)
{
	if (euid == (uid_t)-1 || !ct_on())
		return;
	int e = errno;
	ct_enter();
	ct_writer_user_switch(euid);
	ct_leave();
	errno = e;
}

CT_EXPORT int setuid(uid_t uid)
{
	before_switch(uid);
	return REAL(setuid)(uid);
}

CT_EXPORT int seteuid(uid_t euid)
{
	before_switch(euid);
	return REAL(seteuid)(euid);
}

CT_EXPORT int setreuid(uid_t ruid, uid_t euid)
{
	before_switch(euid);
	return REAL(setreuid)(ruid, euid);
}

CT_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	before_switch(euid);
	return REAL(setresuid)(ruid, euid, suid);
}
