/* SPDX-License-Identifier: MIT */
/*
 * Names of the format's enumerations (event types, wait kinds, profiles, results, causes
 * of lost events). The kind and profile names are the JSON "kind" and "profile" values of
 * `ctrace report --json`, a stable interface: never rename one. Used by analyze/ (reports,
 * dump) and by preload/ (diagnostics). Plain tables: safe anywhere, never NULL.
 */
#include "ctrace_format.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kind_names[CT_K_MAX] = {
	[CT_K_NONE] = "none",
	[CT_K_MUTEX] = "mutex",
	[CT_K_COND] = "cond",
	[CT_K_RWLOCK_RD] = "rwlock_rd",
	[CT_K_RWLOCK_WR] = "rwlock_wr",
	[CT_K_SEM] = "sem",
	[CT_K_BARRIER] = "barrier",
	[CT_K_JOIN] = "join",
	[CT_K_SPIN] = "spin",
	[CT_K_FUTEX] = "futex",
	[CT_K_EPOLL] = "epoll",
	[CT_K_POLL] = "poll",
	[CT_K_SELECT] = "select",
	[CT_K_ACCEPT] = "accept",
	[CT_K_CONNECT] = "connect",
	[CT_K_RECV] = "recv",
	[CT_K_SEND] = "send",
	[CT_K_READ] = "read",
	[CT_K_WRITE] = "write",
	[CT_K_FSYNC] = "fsync",
	[CT_K_WAIT] = "wait",
	[CT_K_FLOCK] = "flock",
	[CT_K_SIGWAIT] = "sigwait",
	[CT_K_OPEN] = "open",
	[CT_K_NANOSLEEP] = "nanosleep",
	[CT_K_OMP_BARRIER] = "omp_barrier",
	[CT_K_OMP_CRITICAL] = "omp_critical",
	[CT_K_OMP_LOCK] = "omp_lock",
};

static const char *const profile_names[CT_P_MAX] = {
	[CT_P_NONE] = "none",
	[CT_P_SYNC] = "sync",
	[CT_P_NET] = "net",
	[CT_P_SYSCALL] = "syscall",
	[CT_P_SLEEP] = "sleep",
};

static const char *const result_names[CT_R_MAX] = {
	[CT_R_ACQUIRED] = "acquired",
	[CT_R_TIMEDOUT] = "timedout",
	[CT_R_ERROR] = "error",
	[CT_R_OWNERDEAD] = "ownerdead",
	[CT_R_RELEASED] = "released",
};

static const char *const event_names[CT_EV_MAX] = {
	[CT_EV_NONE] = "none",
	[CT_EV_WAIT_BEGIN] = "wait_begin",
	[CT_EV_WAIT_END] = "wait_end",
	[CT_EV_RELEASE] = "release",
	[CT_EV_THREAD_START] = "thread_start",
	[CT_EV_THREAD_NAME] = "thread_name",
	[CT_EV_THREAD_END] = "thread_end",
	[CT_EV_SYSCALL] = "syscall",
	[CT_EV_SITE] = "site",
	[CT_EV_HOLD] = "hold",
	[CT_EV_LOCK_ORDER] = "lock_order",
	[CT_EV_TASK_BEGIN] = "task_begin",
	[CT_EV_TASK_END] = "task_end",
	[CT_EV_REGION_BEGIN] = "region_begin",
	[CT_EV_REGION_END] = "region_end",
	[CT_EV_LOG] = "log",
	[CT_EV_LABEL] = "label",
	[CT_EV_TEXT] = "text",
	[CT_EV_TRIGGER] = "trigger",
};

static const char *const trigger_names[CT_TR_MAX] = {
	[CT_TR_NONE] = "none",
	[CT_TR_SIGNAL] = "signal",
	[CT_TR_CRASH] = "crash",
	[CT_TR_EXIT] = "exit",
	[CT_TR_WAIT] = "wait",
	[CT_TR_REQUEST] = "request",
};

static const char *const fd_class_names[CT_FD_MAX] = {
	[CT_FD_UNKNOWN] = "unknown",
	[CT_FD_SOCKET] = "socket",
	[CT_FD_PIPE] = "pipe",
	[CT_FD_FILE] = "file",
	[CT_FD_EVENT] = "event",
	[CT_FD_TTY] = "tty",
	[CT_FD_CHAR] = "char",
	[CT_FD_DIR] = "dir",
	[CT_FD_NONE] = "none",
};

static const char *const lost_names[CT_L_MAX] = {
	[CT_L_NOBUF] = "no_buffer",
	[CT_L_NOSLOT] = "no_thread_slot",
	[CT_L_NOSTACK] = "no_stack_slot",
};

/* Looks v up in a table; "?" for out-of-range values and holes. */
static const char *lookup(const char *const *tab, size_t n, unsigned v)
{
	return v < n && tab[v] ? tab[v] : "?";
}

/* JSON kind name of an enum ct_kind value; "?" when out of range. */
const char *ct_kind_name(unsigned kind)
{
	return lookup(kind_names, NELEM(kind_names), kind);
}

/* The blocking profile (analyze/README.md, "Definitions") a kind is charged to; CT_P_NONE
 * for CT_K_NONE and out-of-range values. */
enum ct_profile ct_kind_profile(unsigned kind)
{
	if ((kind >= CT_K_MUTEX && kind <= CT_K_FUTEX) ||
	    (kind >= CT_K_OMP_BARRIER && kind <= CT_K_OMP_LOCK))
		return CT_P_SYNC;
	if (kind >= CT_K_EPOLL && kind <= CT_K_SEND)
		return CT_P_NET;
	if (kind >= CT_K_READ && kind <= CT_K_OPEN)
		return CT_P_SYSCALL;
	if (kind == CT_K_NANOSLEEP)
		return CT_P_SLEEP;
	return CT_P_NONE;
}

/* "sync", "net", "syscall", "sleep"; "?" when out of range. */
const char *ct_trigger_name(unsigned reason)
{
	return lookup(trigger_names, NELEM(trigger_names), reason);
}

const char *ct_profile_name(unsigned profile)
{
	return lookup(profile_names, NELEM(profile_names), profile);
}

/* "acquired", "timedout", "error", "ownerdead"; "?" when out of range. */
const char *ct_result_name(unsigned result)
{
	return lookup(result_names, NELEM(result_names), result);
}

/* "wait_begin", "wait_end", "release", "thread_start", "thread_name", "thread_end";
 * "?" when out of range. */
const char *ct_event_name(unsigned type)
{
	return lookup(event_names, NELEM(event_names), type);
}

/* "no_buffer", "no_thread_slot", "no_stack_slot"; "?" when out of range. */
const char *ct_lost_name(unsigned cause)
{
	return lookup(lost_names, NELEM(lost_names), cause);
}

/* "socket", "pipe", "file", "event", "tty", "char", "dir", "none", "unknown"; "?" when out
 * of range. */
const char *ct_fd_class_name(unsigned cls)
{
	return lookup(fd_class_names, NELEM(fd_class_names), cls);
}

/* Socket I/O is network waiting whatever call does it. */
enum ct_profile ct_syscall_profile(unsigned kind, unsigned fd_class)
{
	if (fd_class == CT_FD_SOCKET && (kind == CT_K_READ || kind == CT_K_WRITE))
		return CT_P_NET;
	return ct_kind_profile(kind);
}
