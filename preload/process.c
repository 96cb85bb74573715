/* SPDX-License-Identifier: MIT */
/*
 * exec and posix_spawn: the new image keeps tracing, and the old image's events are
 * written first.
 *
 *  - execve, execv, execvp, execvpe, execl, execle, execlp, fexecve, execveat: the process
 *    flushes what it has buffered and closes the generation (bounded wait, flush.c) just
 *    before the real call, so its trace file is complete if the exec succeeds; if the
 *    exec fails a new generation opens and tracing goes on. The new image loads
 *    libctrace again and, its pid being the same, writes a NEW file (the existing one is
 *    never replaced: the name gets ".1", ".2", ...).
 *  - The environment the new image gets (envp, or environ for the v/l/p forms, which is
 *    what glibc passes) keeps LD_PRELOAD with libctrace and the CTRACE_* variables of this
 *    process: a program that builds its own envp or cleared environ has them added back;
 *    an LD_PRELOAD of the program's own without libctrace gets libctrace prepended.
 *    CTRACE_OUT is passed as an absolute path, so a daemon that changed directory still
 *    writes next to the first trace. posix_spawn and posix_spawnp get the same envp fix
 *    (the calling process goes on: nothing to flush).
 *  - CTRACE_FOLLOW changes that rule (README.md):
 *      all   (default) the above: every fork child, exec'd image and spawned child traces;
 *      exec  fork children trace; an exec'd or spawned image traces only when the
 *            environment it is given still names libctrace in LD_PRELOAD (then CTRACE_*
 *            are carried as with all): env -i, env -u LD_PRELOAD and a program's own
 *            clean envp are respected;
 *      none  only the traced process, across its own execs (same pid, environment fixed
 *            as with all): libctrace is taken out of environ's LD_PRELOAD at load, so
 *            system(), popen() and every other child inherit an environment without it;
 *            a fork child records nothing (no file) and its execs, posix_spawn and a
 *            vfork child's execs get libctrace taken out of LD_PRELOAD (other preloads
 *            stay).
 *
 * No malloc, no lock: the new envp lives in a mapping of its own (the caller's thread may
 * have a small stack, the environment thousands of variables), unmapped when the call
 * returns and dropped with the old image by a successful exec. A vfork child's memory is
 * the parent's, where such a mapping would outlive the exec: there it lives in a mapping
 * of the calling thread's slot, kept for its next vfork child and unmapped when the thread
 * ends (ct_exec_room_free); a thread without a slot passes its environment as it is (and
 * the flush is skipped, getpid() != ct_pid). system() and popen() spawn through
 * glibc-internal calls with environ and are not wrapped. An envp the kernel cannot read
 * (EFAULT) is passed as it is, unread. errno and return values are the real call's.
 */
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrace.h"

extern char **environ;

#define SAVE_MAX 32         /* CTRACE_* variables carried over */
#define REGION (64u << 10)  /* their copies */
#define PRELOAD_MAX 65536

static int inject_on;
static const char *lib;          /* libctrace's path as loaded */
static size_t lib_len;
static const char *lib_base;     /* its basename */
static char *saved[SAVE_MAX];    /* "CTRACE_X=value" as at load, CTRACE_OUT excluded */
static size_t nsaved;
static const char *out_orig;     /* CTRACE_OUT's value at load, NULL if unset */
static char *out_entry;          /* "CTRACE_OUT=<absolute path>" */
static char *preload_entry;      /* "LD_PRELOAD=<lib>" */
static int fork_child;           /* CTRACE_FOLLOW=none and a fork child: not traced */

static int names_lib(const char *v);
static size_t strip_lib(char *dst, const char *v);

static char *region_copy(char **cur, char *end, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	if ((size_t)(end - *cur) < la + lb + 1)
		return NULL;
	char *s = *cur;
	memcpy(s, a, la);
	if (b)
		memcpy(s + la, b, lb);
	s[la + lb] = 0;
	*cur += la + lb + 1;
	return s;
}

void ct_process_init(void)
{
	Dl_info info;
	if (!dladdr((void *)ct_process_init, &info) || !info.dli_fname || !*info.dli_fname)
		return;
	char *region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	if (region == MAP_FAILED)
		return;
	char *cur = region, *end = region + REGION;
	lib = region_copy(&cur, end, info.dli_fname, NULL);
	preload_entry = region_copy(&cur, end, "LD_PRELOAD=", info.dli_fname);
	out_entry = region_copy(&cur, end, "CTRACE_OUT=", ct_cfg.out);
	if (!lib || !preload_entry || !out_entry)
		return;
	lib_len = strlen(lib);
	const char *slash = strrchr(lib, '/');
	lib_base = slash ? slash + 1 : lib;
	for (char **e = environ; e && *e && nsaved < SAVE_MAX; e++) {
		if (strncmp(*e, "CTRACE_", 7) != 0)
			continue;
		if (strncmp(*e, "CTRACE_OUT=", 11) == 0) {
			out_orig = region_copy(&cur, end, *e + 11, NULL);
			continue;
		}
		char *c = region_copy(&cur, end, *e, NULL);
		if (c)
			saved[nsaved++] = c;
	}
	inject_on = 1;
	if (ct_cfg.follow != CT_FOLLOW_NONE)
		return;
	/* none: the children this process starts by any path inherit environ without
	 * libctrace; its own execs put it back (fix_env) */
	size_t k = 0;
	for (size_t i = 0; environ && environ[i]; i++) {
		char *e = environ[i];
		if (strncmp(e, "LD_PRELOAD=", 11) == 0 && names_lib(e + 11)) {
			size_t l = strlen(e) + 1;
			if ((size_t)(end - cur) < l)
				continue; /* no room: dropped whole */
			memcpy(cur, "LD_PRELOAD=", 11);
			if (strip_lib(cur + 11, e + 11) == 0)
				continue;
			e = cur;
			cur += strlen(cur) + 1;
		}
		environ[k++] = e;
	}
	if (environ)
		environ[k] = NULL;
}

int ct_process_fork_child(void)
{
	if (ct_cfg.follow != CT_FOLLOW_NONE)
		return 1;
	fork_child = 1;
	return 0;
}

/* Pages seen readable, the last 8. */
struct seen {
	uintptr_t page[8];
	unsigned n;
};

/* Can the page of address a be read (ct_readable, the last 8 pages remembered)? errno
 * untouched. */
static int page_readable(struct seen *s, uintptr_t a)
{
	uintptr_t pg = a & ~(uintptr_t)4095;
	for (unsigned i = 0; i < s->n && i < 8; i++)
		if (s->page[i] == pg)
			return 1;
	int e = errno, ok = ct_readable(pg);
	errno = e;
	if (ok)
		s->page[s->n++ % 8] = pg;
	return ok;
}

/* Are envp and its strings readable? Where they are not the kernel fails the exec with
 * EFAULT, and the wrapper must not read them first. */
static int env_readable(char *const *envp)
{
	struct seen s = { { 0 }, 0 };
	for (size_t i = 0;; i++) {
		uintptr_t at = (uintptr_t)&envp[i];
		if (!page_readable(&s, at) || !page_readable(&s, at + sizeof(char *) - 1))
			return 0;
		if (!envp[i])
			return 1;
		for (uintptr_t p = (uintptr_t)envp[i];; p = (p | 4095) + 1) {
			if (!page_readable(&s, p))
				return 0;
			if (memchr((const void *)p, 0, ((p | 4095) + 1) - p))
				break;
		}
	}
}

static size_t env_count(char *const *envp)
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	return n;
}

/* The (last) LD_PRELOAD value in envp, "" if none. */
static const char *preload_value(char *const *envp, size_t n)
{
	const char *v = "";
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0)
			v = envp[i] + 11;
	return v;
}

/* Length of the (last) LD_PRELOAD value in envp, 0 if none. */
static size_t preload_len(char *const *envp, size_t n)
{
	size_t l = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0)
			l = strlen(envp[i] + 11);
	return l;
}

/* Is the LD_PRELOAD entry v[0..t) libctrace (same path, or same file name)? */
static int is_lib(const char *v, size_t t)
{
	if (t == lib_len && memcmp(v, lib, t) == 0)
		return 1;
	const char *b = v;
	for (size_t k = 0; k < t; k++)
		if (v[k] == '/')
			b = v + k + 1;
	size_t bl = (size_t)(v + t - b);
	return bl == strlen(lib_base) && memcmp(b, lib_base, bl) == 0;
}

/* Does the LD_PRELOAD value v name libctrace? */
static int names_lib(const char *v)
{
	while (*v) {
		size_t t = strcspn(v, ": ");
		if (t && is_lib(v, t))
			return 1;
		v += t;
		if (*v)
			v++;
	}
	return 0;
}

/* v without its libctrace entries into dst (strlen(v) + 1 bytes), ':'-separated; the
 * length written. */
static size_t strip_lib(char *dst, const char *v)
{
	size_t n = 0;
	while (*v) {
		size_t t = strcspn(v, ": ");
		if (t && !is_lib(v, t)) {
			if (n)
				dst[n++] = ':';
			memcpy(dst + n, v, t);
			n += t;
		}
		v += t;
		if (*v)
			v++;
	}
	dst[n] = 0;
	return n;
}

static int has_name(char *const *envp, size_t n, const char *entry)
{
	size_t nl = strcspn(entry, "=") + 1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], entry, nl) == 0)
			return 1;
	return 0;
}

/* envp, or vec (n + SAVE_MAX + 3 slots) holding envp with what the new image needs to
 * keep tracing; pre (preload_len + lib_len + 16 bytes) may receive a new LD_PRELOAD. */
static char *const *fix_env(char *const *envp, size_t n, char **vec, char *pre)
{
	size_t k = 0, last_pre = (size_t)-1;
	int changed = 0, have_out = 0;
	for (size_t i = 0; i < n; i++) {
		if (envp[i][0] == 'C' && ct_config_dropped(envp[i])) {
			changed = 1; /* warned about once already */
			continue;
		}
		vec[k] = envp[i];
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) {
			last_pre = k;
		} else if (strncmp(envp[i], "CTRACE_OUT=", 11) == 0) {
			have_out = 1;
			/* The inherited value: made absolute. One the program set stays. */
			if (out_orig && strcmp(envp[i] + 11, out_orig) == 0 &&
			    strcmp(out_entry, envp[i]) != 0) {
				vec[k] = out_entry;
				changed = 1;
			}
		}
		k++;
	}
	if (last_pre == (size_t)-1) {
		vec[k++] = preload_entry;
		changed = 1;
	} else if (!names_lib(vec[last_pre] + 11)) {
		const char *theirs = vec[last_pre] + 11;
		char *p = pre;
		memcpy(p, "LD_PRELOAD=", 11);
		p += 11;
		memcpy(p, lib, lib_len);
		p += lib_len;
		if (*theirs)
			*p++ = ':';
		strcpy(p, theirs);
		vec[last_pre] = pre;
		changed = 1;
	}
	if (!have_out) {
		vec[k++] = out_entry;
		changed = 1;
	}
	for (size_t i = 0; i < nsaved; i++)
		if (!has_name(envp, n, saved[i]) && !ct_config_dropped(saved[i])) {
			vec[k++] = saved[i];
			changed = 1;
		}
	vec[k] = NULL;
	return changed ? vec : envp;
}

/* envp (n entries) without libctrace in LD_PRELOAD: in vec (n + 1 slots), the last
 * LD_PRELOAD rewritten into pre (preload_len + 16 bytes), the others dropped. */
static char *const *strip_env(char *const *envp, size_t n, char **vec, char *pre)
{
	size_t k = 0, last = (size_t)-1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0)
			last = i;
	if (last == (size_t)-1 || !names_lib(envp[last] + 11))
		return envp;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) {
			if (i != last)
				continue;
			memcpy(pre, "LD_PRELOAD=", 11);
			if (strip_lib(pre + 11, envp[i] + 11) == 0)
				continue;
			vec[k++] = pre;
		} else {
			vec[k++] = envp[i];
		}
	}
	vec[k] = NULL;
	return vec;
}

/* The environment of a new image by CTRACE_FOLLOW (the top of this file); spawn: a child
 * process, not this one's own exec. */
static char *const *new_env(char *const *envp, size_t n, size_t pl, char **vec, char *pre,
			    int spawn)
{
	switch (ct_cfg.follow) {
	case CT_FOLLOW_EXEC:
		if (!pl || !names_lib(preload_value(envp, n)))
			return envp;
		break;
	case CT_FOLLOW_NONE:
		if (spawn || fork_child || getpid() != ct_pid)
			return strip_env(envp, n, vec, pre);
		break;
	}
	return fix_env(envp, n, vec, pre);
}

/* Where new_env builds an environment of n variables whose LD_PRELOAD has pl bytes: vec
 * (n + SAVE_MAX + 3 slots), then pre (pl + lib_len + 16 bytes). */
static size_t room_len(size_t n, size_t pl)
{
	return (n + SAVE_MAX + 3) * sizeof(char *) + pl + lib_len + 16;
}

/* A mapping of len bytes for it, or NULL; errno untouched. */
static char *room_map(size_t len)
{
	int e = errno;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = e;
	return p == MAP_FAILED ? NULL : p;
}

/* Gives back room_map's mapping (none: nothing); errno untouched. */
static void room_free(void *map, size_t len)
{
	int e = errno;
	if (map)
		munmap(map, len);
	errno = e;
}

/* In a vfork child: len bytes of the calling thread's slot's room (mapped in the memory
 * the child shares with its parent, and kept there for the thread's next vfork child),
 * or NULL (no slot, or no mapping). errno untouched. */
static char *vfork_room(size_t len)
{
	struct ct_thread *t = ct_tls.th;
	if (!t)
		return NULL;
	if (t->exec_room_len < len) {
		size_t want = (len + (64u << 10) - 1) & ~(size_t)((64u << 10) - 1);
		char *p = room_map(want);
		if (!p)
			return NULL;
		room_free(t->exec_room, t->exec_room_len);
		t->exec_room = p;
		t->exec_room_len = want;
	}
	return t->exec_room;
}

void ct_exec_room_free(struct ct_thread *t)
{
	room_free(t->exec_room, t->exec_room_len);
	t->exec_room = NULL;
	t->exec_room_len = 0;
}

/* Declares `use`: envp fixed for the new image, in a mapping (room_) given back by
 * ROOM_FREE, or in a vfork child in the thread's room. Without room, envp as it is. */
#define FIX_ENV_(envp, use, spawn) \
	char *const *env_ = (envp); \
	int rd_ = inject_on && (!env_ || env_readable(env_)); \
	size_t n_ = rd_ ? env_count(env_) : 0, pl_ = rd_ ? preload_len(env_, n_) : 0; \
	int vf_ = rd_ && getpid() != ct_pid; \
	int ok_ = rd_ && pl_ <= PRELOAD_MAX; \
	size_t len_ = ok_ ? room_len(n_, pl_) : 0; \
	char *room_ = !ok_ ? NULL : vf_ ? vfork_room(len_) : room_map(len_); \
	char *const *use = room_ ? new_env(env_, n_, pl_, (char **)(void *)room_, \
					   room_ + (n_ + SAVE_MAX + 3) * sizeof(char *), (spawn)) \
				 : env_
#define FIX_ENV(envp, use) FIX_ENV_(envp, use, 0)
#define ROOM_FREE() room_free(vf_ ? NULL : room_, len_)

/* Runs the real exec with the flush around it; errno is the exec's. */
#define EXEC(call) do { \
	int e_ = errno; \
	int held_ = ct_writer_exec_begin(); \
	errno = e_; \
	int r_ = (call); \
	e_ = errno; \
	ct_writer_exec_failed(held_); \
	ROOM_FREE(); \
	errno = e_; \
	return r_; \
} while (0)

CT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	FIX_ENV(envp, use);
	EXEC(REAL(execve)(path, argv, use));
}

CT_EXPORT int execv(const char *path, char *const argv[])
{
	FIX_ENV(environ, use);
	EXEC(REAL(execve)(path, argv, use));
}

CT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	FIX_ENV(envp, use);
	EXEC(REAL(execvpe)(file, argv, use));
}

CT_EXPORT int execvp(const char *file, char *const argv[])
{
	FIX_ENV(environ, use);
	EXEC(REAL(execvpe)(file, argv, use));
}

CT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!envp) /* glibc refuses it (EINVAL), where execve takes it as empty */
		return REAL(fexecve)(fd, argv, envp);
	FIX_ENV(envp, use);
	EXEC(REAL(fexecve)(fd, argv, use));
}

CT_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	if (unlikely(!REAL(execveat))) {
		errno = ENOSYS;
		return -1;
	}
	FIX_ENV(envp, use);
	EXEC(ct_real.execveat(dirfd, path, argv, use, flags));
}

/* The l forms: argv from the variable arguments, as glibc builds it. */
#define COLLECT_ARGS(arg0, last, argv) \
	size_t argc_ = 1; \
	va_list ap_; \
	va_start(ap_, arg0); \
	while (va_arg(ap_, const char *)) \
		argc_++; \
	va_end(ap_); \
	char *argv[argc_ + 1]; \
	argv[0] = (char *)(arg0); \
	va_start(ap_, arg0); \
	for (size_t i_ = 1; i_ <= argc_; i_++) \
		argv[i_] = va_arg(ap_, char *); \
	last; \
	va_end(ap_)

CT_EXPORT int execl(const char *path, const char *arg, ...)
{
	COLLECT_ARGS(arg, (void)0, argv);
	FIX_ENV(environ, use);
	EXEC(REAL(execve)(path, argv, use));
}

CT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	COLLECT_ARGS(arg, (void)0, argv);
	FIX_ENV(environ, use);
	EXEC(REAL(execvpe)(file, argv, use));
}

CT_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	COLLECT_ARGS(arg, envp = va_arg(ap_, char *const *), argv);
	FIX_ENV(envp, use);
	EXEC(REAL(execve)(path, argv, use));
}

/* A posix_spawn-like call: real with the program's envp, libctrace's variables put back. */
typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const[], char *const[]);

static int spawn_with(spawn_fn *real, pid_t *pid, const char *file,
		      const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		      char *const argv[], char *const envp[])
{
	FIX_ENV_(envp, use, 1);
	int r = real(pid, file, fa, attr, argv, use);
	ROOM_FREE();
	return r;
}

CT_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_with(REAL(posix_spawn), pid, path, fa, attr, argv, envp);
}

CT_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_with(REAL(posix_spawnp), pid, file, fa, attr, argv, envp);
}

/* posix_spawn@GLIBC_2.2.5 and posix_spawnp@GLIBC_2.2.5 (old binaries): each forwards to its
 * own real version, as cond.c does for pthread_cond_*; the unversioned wrappers above
 * would satisfy their references with the current version's semantics. Without that
 * version (another architecture), the current one. */
CT_EXPORT int ct_posix_spawn_225(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
				 const posix_spawnattr_t *attr, char *const argv[],
				 char *const envp[]);
CT_EXPORT int ct_posix_spawnp_225(pid_t *pid, const char *file,
				  const posix_spawn_file_actions_t *fa,
				  const posix_spawnattr_t *attr, char *const argv[],
				  char *const envp[]);
__asm__(".symver ct_posix_spawn_225, posix_spawn@GLIBC_2.2.5");
__asm__(".symver ct_posix_spawnp_225, posix_spawnp@GLIBC_2.2.5");

int ct_posix_spawn_225(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	spawn_fn *real = REAL(posix_spawn_225);
	return spawn_with(real ? real : REAL(posix_spawn), pid, path, fa, attr, argv, envp);
}

int ct_posix_spawnp_225(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	spawn_fn *real = REAL(posix_spawnp_225);
	return spawn_with(real ? real : REAL(posix_spawnp), pid, file, fa, attr, argv, envp);
}
