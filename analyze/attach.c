/* SPDX-License-Identifier: MIT */
/*
 * `ctrace attach PID [--duration D] [-o FILE]` and `ctrace detach PID`: the injector.
 *
 * Attach: every thread of PID is stopped (PTRACE_SEIZE + PTRACE_INTERRUPT, the task list
 * read again until it holds no new thread); one thread at a safe point is chosen: its
 * stack (unwound remotely with libunwind-ptrace) has no frame in the dynamic loader, in
 * libc's allocator, fork, dl_iterate_phdr, the dl* functions or thread creation, nor in
 * libctrace's writer; when none is, every thread is resumed and the stop is tried again
 * a little later. The other threads are resumed and detached at once, and the chosen one
 * calls dlopen(libctrace.so, RTLD_NOW | RTLD_LOCAL) (libc's own dlopen, found through its
 * symbol table) and then ctrace_attach_start(FILE), on a frame built below its stack
 * pointer, with a return address of 0: the call ends in a SIGSEGV at address 0, the
 * thread's registers (general and extended state) and its errno (read through libc's
 * __errno_location before the calls, written back after them: dlopen sets it) are put
 * back, and it is detached.
 * Detach stops the threads the same way and calls ctrace_attach_stop.
 *
 * A thread stopped inside a system call resumes it as if nothing happened: the kernel
 * restarts the calls that return ERESTART*; the few that return EINTR to any stop even
 * without a signal handler (epoll_wait, semop, sigtimedwait, socket calls with a
 * timeout...) are restarted here, when no signal is pending for the thread (their
 * timeout then starts again).
 *
 * Refusals (exit status 2, one line): no such process, another user's process, Yama's
 * ptrace_scope, a process that another tracer or libctrace already traces, a static
 * binary or one without glibc, a machine other than x86-64.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <libunwind-ptrace.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "util.h"

#define DEFAULT_OUT "ctrace.%p.ctr"
#define MAX_TRIES 200

/* ctrace_attach_start / ctrace_attach_stop results (preload/ctrace.h CT_ATTACH_*). */
enum { ATT_OK = 0, ATT_BUSY = 1, ATT_ENOMEM = 2, ATT_EFILE = 3, ATT_NOT = 4, ATT_AGAIN = 5 };

struct range {
	uintptr_t lo, hi;
};

struct target {
	pid_t pid;
	char lib[PATH_MAX];       /* libctrace.so, ours */
	char libc[PATH_MAX];      /* the target's libc, as mapped */
	uintptr_t libc_base;
	uintptr_t libc_lo, libc_hi; /* the span of libc's mappings */
	uintptr_t dlopen_fn, dlerror_fn, errno_fn;
	char ct_path[PATH_MAX];   /* libctrace.so mapped in the target, "" if none */
	uintptr_t ct_base;
	uintptr_t start_fn, stop_fn, state_var;
	struct range *deny;
	size_t ndeny, capdeny;
	int mem;                  /* /proc/PID/mem */
};

struct thr {
	pid_t tid;
	int sig;                  /* signal to deliver at detach (signal-delivery-stop) */
	int stopped, changed;
	struct user_regs_struct regs;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The first line of /proc/PID/status starting with key, its value in buf; -1 if none. */
static int status_field(pid_t pid, const char *key, char *buf, size_t cap)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t kl = strlen(key);
	int r = -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			char *v = line + kl + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			snprintf(buf, cap, "%s", v);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

static int have_cap_sys_ptrace(void)
{
	char v[64];
	if (status_field(getpid(), "CapEff", v, sizeof(v)) < 0)
		return geteuid() == 0;
	unsigned long long caps = strtoull(v, NULL, 16);
	return (caps >> 19) & 1; /* CAP_SYS_PTRACE */
}

static int is_descendant(pid_t pid)
{
	pid_t me = getpid();
	for (int i = 0; i < 64 && pid > 1; i++) {
		char v[32];
		if (status_field(pid, "PPid", v, sizeof(v)) < 0)
			return 0;
		pid = (pid_t)atoi(v);
		if (pid == me)
			return 1;
	}
	return 0;
}

/* Yama's ptrace_scope (CTRACE_ATTACH_YAMA_FILE names another file to read, for tests);
 * -1 when Yama is absent. */
static int yama_scope(void)
{
	const char *p = getenv("CTRACE_ATTACH_YAMA_FILE");
	FILE *f = fopen(p && *p ? p : "/proc/sys/kernel/yama/ptrace_scope", "re");
	if (!f)
		return -1;
	int v = -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static const char *user_name(uid_t uid, char *buf, size_t cap)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[512];
	snprintf(buf, cap, "uid %u", (unsigned)uid);
	if (!f)
		return buf;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c1 && c2 && (uid_t)strtoul(c2 + 1, NULL, 10) == uid) {
			*c1 = 0;
			snprintf(buf, cap, "%.48s (uid %u)", line, (unsigned)uid);
			break;
		}
	}
	fclose(f);
	return buf;
}

/* Where libctrace.so is: $CTRACE_LIB, next to the ctrace binary, or ../lib. */
static int find_lib(char *buf, size_t cap)
{
	const char *env = getenv("CTRACE_LIB");
	char self[PATH_MAX], cand[PATH_MAX + 32];
	if (env && *env)
		return realpath(env, buf) ? 0 : -1;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	snprintf(cand, sizeof(cand), "%s/libctrace.so", self);
	if (access(cand, R_OK) != 0)
		snprintf(cand, sizeof(cand), "%s/../lib/libctrace.so", self);
	if (strlen(cand) >= cap || !realpath(cand, buf))
		return -1;
	return 0;
}

/* The path of a file as the target sees it, openable from here. */
static int open_in(pid_t pid, const char *path)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "/proc/%d/root%s", (int)pid, path);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : open(path, O_RDONLY | O_CLOEXEC);
}

/* Calls fn(sym name, address, size) for every function symbol of the ELF file path
 * (.dynsym and .symtab) loaded at bias. Returns 0, or -1 when unreadable. With
 * interp/has_dyn: whether it has PT_INTERP / PT_DYNAMIC, and its machine. */
struct elf_info {
	int interp, dynamic, machine;
	uintptr_t first_vaddr;
};

static int elf_scan(pid_t pid, const char *path, struct elf_info *info,
		    void (*fn)(void *arg, const char *name, uintptr_t value, size_t size), void *arg)
{
	int fd = open_in(pid, path);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(fd);
		return -1;
	}
	GElf_Ehdr eh;
	size_t nph = 0;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->first_vaddr = (uintptr_t)-1;
		if (gelf_getehdr(e, &eh))
			info->machine = eh.e_machine;
		elf_getphdrnum(e, &nph);
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(e, (int)i, &ph))
				continue;
			if (ph.p_type == PT_INTERP)
				info->interp = 1;
			if (ph.p_type == PT_DYNAMIC)
				info->dynamic = 1;
			if (ph.p_type == PT_LOAD && ph.p_vaddr < info->first_vaddr)
				info->first_vaddr = ph.p_vaddr & ~(uintptr_t)0xfff;
		}
	}
	for (Elf_Scn *s = NULL; fn && (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(s, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *d = elf_getdata(s, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    (GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
			     GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC &&
			     GELF_ST_TYPE(sym.st_info) != STT_OBJECT))
				continue;
			const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (name && *name)
				fn(arg, name, sym.st_value, sym.st_size);
		}
	}
	elf_end(e);
	close(fd);
	return 0;
}

/* ---- the target's map -------------------------------------------------------------- */

static const char *const libc_deny[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "aligned_alloc",
	"posix_memalign", "valloc", "pvalloc", "malloc_trim", "malloc_usable_size",
	"malloc_stats", "malloc_info", "mallinfo", "mallinfo2", "mallopt", "__libc_malloc",
	"__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign", "fork", "_Fork",
	"vfork", "__register_atfork", "dl_iterate_phdr", "dlopen", "dlclose", "dlsym", "dlvsym",
	"dladdr", "dladdr1", "dlinfo", "dlmopen", "dlerror", "__libc_dlopen_mode",
	"__libc_dlsym", "__libc_dlclose", "pthread_create", "pthread_join", "pthread_detach",
	"pthread_tryjoin_np", "pthread_timedjoin_np", "pthread_clockjoin_np",
	/* __nptl_setxid holds the stack cache lock while every thread answers SIGSETXID */
	"setuid", "setgid", "seteuid", "setegid", "setreuid", "setregid", "setresuid",
	"setresgid", "setgroups",
	"pthread_exit", "exit", "_exit", "__cxa_finalize", "__cxa_thread_atexit_impl",
	"backtrace", "setenv", "unsetenv", "putenv", "clearenv",
};
/* (the flush a single-threaded program's own thread makes: ct_writer_tick tail-calls
 * inline_flush, so no ct_writer_ frame is on that stack) */
static const char *const ct_deny[] = { "writer_main", "ct_writer_", "ct_capture",
				       "ctrace_attach_", "inline_flush", "inline_here",
				       "ct_flush_" };

struct scan {
	struct target *t;
	uintptr_t bias;
	int which; /* 0 libc, 1 libctrace */
};

static void add_deny(struct target *t, uintptr_t lo, uintptr_t hi)
{
	if (t->ndeny == t->capdeny) {
		t->capdeny = t->capdeny ? 2 * t->capdeny : 64;
		t->deny = ct_xrealloc(t->deny, t->capdeny * sizeof(*t->deny));
	}
	t->deny[t->ndeny++] = (struct range){ lo, hi };
}

static int mem_read(struct target *t, uintptr_t a, void *buf, size_t n);

/* A denied function that is a stub ending in a tail jump (glibc's pthread_join is
 * `jmp __pthread_clockjoin_ex`, which is in no symbol table of a stripped libc): its frame
 * is gone once the jump is made, so the target's entry is denied too; safe_point matches
 * each frame's function entry (unwind info) against the ranges. */
static void deny_stub_target(struct target *t, uintptr_t a, size_t size)
{
	unsigned char b[32];
	if (size < 5 || size > sizeof(b) || t->mem < 0 || mem_read(t, a, b, size) < 0)
		return;
	size_t j = size;
	while (j > 5 && (b[j - 1] == 0x90 || b[j - 1] == 0xcc)) /* padding */
		j--;
	if (b[j - 5] != 0xe9)
		return;
	int32_t rel;
	memcpy(&rel, b + j - 4, 4);
	uintptr_t to = a + j + (intptr_t)rel;
	add_deny(t, to, to + 1);
}

static void scan_sym(void *arg, const char *name, uintptr_t value, size_t size)
{
	struct scan *s = arg;
	struct target *t = s->t;
	uintptr_t a = s->bias + value;
	if (s->which == 0) {
		if (!strcmp(name, "dlopen"))
			t->dlopen_fn = a;
		else if (!strcmp(name, "dlerror"))
			t->dlerror_fn = a;
		else if (!strcmp(name, "__errno_location"))
			t->errno_fn = a;
		for (size_t i = 0; i < sizeof(libc_deny) / sizeof(libc_deny[0]); i++)
			if (!strcmp(name, libc_deny[i])) {
				add_deny(t, a, a + (size ? size : 1));
				deny_stub_target(t, a, size);
			}
		return;
	}
	if (!strcmp(name, "ctrace_attach_start"))
		t->start_fn = a;
	else if (!strcmp(name, "ctrace_attach_stop"))
		t->stop_fn = a;
	else if (!strcmp(name, "ctrace_attach_state"))
		t->state_var = a;
	for (size_t i = 0; i < sizeof(ct_deny) / sizeof(ct_deny[0]); i++)
		if (!strncmp(name, ct_deny[i], strlen(ct_deny[i])))
			add_deny(t, a, a + (size ? size : 1));
}

static int is_base(const char *path, const char *prefix)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strncmp(b, prefix, strlen(prefix));
}

/* Reads /proc/PID/maps: libc, ld.so (denied whole), libctrace if loaded. */
static int read_maps(struct target *t)
{
	char path[64], line[PATH_MAX + 256];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	t->ndeny = 0;
	t->libc[0] = t->ct_path[0] = 0;
	t->libc_base = t->ct_base = t->libc_lo = t->libc_hi = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char perms[8], file[PATH_MAX];
		file[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095[^\n]", &lo, &hi, perms, &off,
			   file) < 4 || file[0] != '/')
			continue;
		if (is_base(file, "ld-linux") || is_base(file, "ld-2.")) {
			if (perms[2] == 'x')
				add_deny(t, lo, hi);
		} else if ((is_base(file, "libc.so") || is_base(file, "libc-2.")) && off == 0 &&
			   !t->libc_base) {
			snprintf(t->libc, sizeof(t->libc), "%s", file);
			t->libc_base = t->libc_lo = lo;
			t->libc_hi = hi;
		} else if (t->libc_base && !strcmp(file, t->libc)) {
			if (hi > t->libc_hi)
				t->libc_hi = hi;
		} else if (is_base(file, "libctrace.so") && off == 0 && !t->ct_base) {
			snprintf(t->ct_path, sizeof(t->ct_path), "%s", file);
			t->ct_base = lo;
		}
	}
	fclose(f);
	struct elf_info ei;
	t->dlopen_fn = t->dlerror_fn = t->errno_fn = 0;
	if (t->libc_base) {
		struct scan s = { t, 0, 0 };
		if (elf_scan(t->pid, t->libc, &ei, NULL, NULL) == 0) {
			s.bias = t->libc_base - ei.first_vaddr;
			elf_scan(t->pid, t->libc, NULL, scan_sym, &s);
		}
	}
	t->start_fn = t->stop_fn = t->state_var = 0;
	if (t->ct_base) {
		struct scan s = { t, 0, 1 };
		if (elf_scan(t->pid, t->ct_path, &ei, NULL, NULL) == 0) {
			s.bias = t->ct_base - ei.first_vaddr;
			elf_scan(t->pid, t->ct_path, NULL, scan_sym, &s);
		}
	}
	return 0;
}

static int mem_read(struct target *t, uintptr_t a, void *buf, size_t n)
{
	return pread(t->mem, buf, n, (off_t)a) == (ssize_t)n ? 0 : -1;
}

static int mem_write(struct target *t, uintptr_t a, const void *buf, size_t n)
{
	return pwrite(t->mem, buf, n, (off_t)a) == (ssize_t)n ? 0 : -1;
}

/* ctrace_attach_state in the target: 1 attached, 0 not, -1 unreadable (the process
 * ended: gone, or a zombie). */
static int attached_state(struct target *t)
{
	int v = 0;
	if (!t->state_var)
		return 0;
	if (mem_read(t, t->state_var, &v, sizeof(v)) < 0)
		return -1;
	return v;
}

/* ---- refusals ---------------------------------------------------------------------- */

/* The command name of process pid (/proc/PID/comm), "?" when unreadable. */
static const char *comm_of(pid_t pid, char *buf, size_t cap)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	snprintf(buf, cap, "?");
	FILE *f = fopen(p, "re");
	if (f) {
		if (fgets(buf, (int)cap, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	return buf;
}

/* The refusal when tracer holds the thread tid of process pid (the process itself when tid
 * is pid): another ctrace's attach or detach in progress, or another tracer. */
static void tracer_refusal(char *buf, size_t cap, pid_t pid, pid_t tid, pid_t tracer)
{
	char comm[64];
	comm_of(tracer, comm, sizeof(comm));
	if (!strcmp(comm, "ctrace"))
		snprintf(buf, cap, "process %d is being attached or detached by another ctrace "
			 "(process %d); try again", (int)pid, (int)tracer);
	else if (tid == pid)
		snprintf(buf, cap, "process %d is already traced by process %d (%s)", (int)pid,
			 (int)tracer, comm);
	else
		snprintf(buf, cap, "thread %d of process %d is traced by process %d (%s)",
			 (int)tid, (int)pid, (int)tracer, comm);
}

/* Exits 2 with one line when the process cannot be attached (or detached: det). */
static void check_target(struct target *t, const char *cmd)
{
	pid_t pid = t->pid;
	char v[256], exe[PATH_MAX], p[64];
	if (kill(pid, 0) < 0 && errno == ESRCH)
		ct_die(CT_EXIT_USAGE, "%s: no process %d", cmd, (int)pid);
	if (pid == getpid())
		ct_die(CT_EXIT_USAGE, "%s: %d is ctrace itself", cmd, (int)pid);
	int cap = have_cap_sys_ptrace();
	if (status_field(pid, "Uid", v, sizeof(v)) == 0 && !cap) {
		unsigned r, e, s;
		if (sscanf(v, "%u %u %u", &r, &e, &s) == 3 &&
		    (r != getuid() || e != getuid() || s != getuid())) {
			char n1[96], n2[96];
			ct_die(CT_EXIT_USAGE,
			       "%s: process %d belongs to %s and ctrace runs as %s: ptrace needs "
			       "the same user (or CAP_SYS_PTRACE)", cmd, (int)pid,
			       user_name(e != getuid() ? e : r, n1, sizeof(n1)),
			       user_name(getuid(), n2, sizeof(n2)));
		}
	}
	int scope = yama_scope();
	if (scope >= 3)
		ct_die(CT_EXIT_USAGE, "%s: Yama's ptrace_scope is %d (/proc/sys/kernel/yama/"
		       "ptrace_scope): no process may attach to another until reboot", cmd, scope);
	if (scope == 2 && !cap)
		ct_die(CT_EXIT_USAGE, "%s: Yama's ptrace_scope is 2 (/proc/sys/kernel/yama/"
		       "ptrace_scope): only a process with CAP_SYS_PTRACE may attach", cmd);
	if (scope == 1 && !cap && !is_descendant(pid) && getenv("CTRACE_ATTACH_YAMA_FILE"))
		ct_die(CT_EXIT_USAGE, "%s: Yama's ptrace_scope is 1 (/proc/sys/kernel/yama/"
		       "ptrace_scope): only a parent may attach (or a process the target named "
		       "with prctl(PR_SET_PTRACER)); run ctrace with CAP_SYS_PTRACE, or set it to 0",
		       cmd);
	/* A tracer may seize the process between the two reads: a tracing stop ('t') is
	 * always a tracer's, so it is asked for again, and only a job-control stop ('T') of
	 * an untraced process is the user's to continue. */
	for (int tries = 0;; tries++) {
		pid_t tracer = 0;
		if (status_field(pid, "TracerPid", v, sizeof(v)) == 0)
			tracer = atoi(v);
		if (tracer != 0) {
			char why[256];
			tracer_refusal(why, sizeof(why), pid, pid, tracer);
			ct_die(CT_EXIT_USAGE, "%s: %s", cmd, why);
		}
		if (status_field(pid, "State", v, sizeof(v)) != 0)
			break;
		if (v[0] == 'Z') {
			/* the main thread ended (pthread_exit) while others run: the kernel
			 * drops what /proc/PID shows of the process through it (its exe, maps,
			 * mem, fds), which the attach and libctrace in the target read */
			long threads = status_field(pid, "Threads", v, sizeof(v)) == 0 ? atol(v) : 0;
			if (threads > 1)
				ct_die(CT_EXIT_USAGE, "%s: the main thread of process %d has exited "
				       "(pthread_exit) while %ld other thread%s: attach needs the "
				       "main thread; start the program under 'ctrace record' instead",
				       cmd, (int)pid, threads - 1, threads > 2 ? "s run" : " runs");
			ct_die(CT_EXIT_USAGE, "%s: process %d is a zombie", cmd, (int)pid);
		}
		if (v[0] != 'T' && v[0] != 't')
			break;
		if (v[0] == 'T' || tries == 100)
			ct_die(CT_EXIT_USAGE, "%s: process %d is stopped (%s); continue it first",
			       cmd, (int)pid, v);
		usleep(1000);
	}
	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(p, exe, sizeof(exe) - 1);
	if (n <= 0)
		ct_die(CT_EXIT_USAGE, "%s: cannot read /proc/%d/exe: %s", cmd, (int)pid,
		       strerror(errno));
	exe[n] = 0;
	struct elf_info ei;
	if (elf_scan(pid, exe, &ei, NULL, NULL) < 0)
		ct_die(CT_EXIT_USAGE, "%s: cannot read the executable %s of process %d", cmd, exe,
		       (int)pid);
	if (ei.machine != EM_X86_64)
		ct_die(CT_EXIT_USAGE, "%s: %s is not an x86-64 program (attach supports x86-64 "
		       "only)", cmd, exe);
	if (!ei.interp)
		ct_die(CT_EXIT_USAGE, "%s: %s (process %d) is statically linked: there is no "
		       "dynamic loader to load libctrace.so with", cmd, exe, (int)pid);
	snprintf(p, sizeof(p), "/proc/%d/mem", (int)pid);
	t->mem = open(p, O_RDWR | O_CLOEXEC);
	if (t->mem < 0)
		ct_die(CT_EXIT_USAGE, "%s: cannot open /proc/%d/mem: %s", cmd, (int)pid,
		       strerror(errno));
	if (read_maps(t) < 0)
		ct_die(CT_EXIT_USAGE, "%s: cannot read /proc/%d/maps", cmd, (int)pid);
	if (!t->libc_base || !t->dlopen_fn)
		ct_die(CT_EXIT_USAGE, "%s: %s (process %d) does not use glibc 2.34 or later "
		       "(no libc.so.6 with dlopen mapped)", cmd, exe, (int)pid);
}

/* ---- stopping the threads ---------------------------------------------------------- */

/* A signal's bit in /proc's masks. */
#define SIGBIT(sig) (1ull << ((sig) - 1))
/* The signals whose default action is to ignore them. */
#define DFL_IGNORED (SIGBIT(SIGCHLD) | SIGBIT(SIGURG) | SIGBIT(SIGWINCH) | SIGBIT(SIGCONT))

/* What /proc says of a thread's signals: blocked, pending (its own and the process's),
 * and those it ignores (SIG_IGN, or SIG_DFL with an action of ignoring). 0, or -1. */
static int sig_state(const struct target *t, const struct thr *th, unsigned long long *blk,
		     unsigned long long *pnd, unsigned long long *ign)
{
	char path[64], key[16], line[256];
	unsigned long long cgt = 0, sigign = 0;
	*blk = *pnd = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)t->pid, (int)th->tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "%15[^:]: %llx", key, &v) != 2)
			continue;
		if (!strcmp(key, "SigBlk"))
			*blk = v;
		else if (!strcmp(key, "SigPnd") || !strcmp(key, "ShdPnd"))
			*pnd |= v;
		else if (!strcmp(key, "SigIgn"))
			sigign = v;
		else if (!strcmp(key, "SigCgt"))
			cgt = v;
	}
	fclose(f);
	*ign = sigign | (DFL_IGNORED & ~cgt);
	return 0;
}

/* A thread interrupted by the stop in a call that returns EINTR to any stop: restarted,
 * unless a signal is pending for it (then the EINTR is the program's). A signal the
 * thread ignores does not count: untraced it would have been discarded when sent, but a
 * traced thread gets even those queued (and stops for them), and they end such calls
 * with EINTR; one the stop reported is not delivered (th->sig 0), as untraced. */
static void keep_syscall(struct target *t, struct thr *th)
{
	struct user_regs_struct *r = &th->regs;
	unsigned long long blk, pnd, ign;
	if (sig_state(t, th, &blk, &pnd, &ign) < 0)
		return;
	if (th->stopped == 2 && th->sig > 0 && th->sig < 64 && (ign & SIGBIT(th->sig)))
		th->sig = 0;
	if ((long)r->orig_rax < 0 || (long)r->rax != -EINTR || th->sig)
		return;
	unsigned char ins[2];
	if ((pnd & ~blk & ~ign) || mem_read(t, r->rip - 2, ins, 2) < 0 || ins[0] != 0x0f ||
	    ins[1] != 0x05)
		return;
	r->rax = r->orig_rax;
	r->rip -= 2;
	th->changed = 1;
}

/* Waits for tid's stop after PTRACE_INTERRUPT. 0 stopped, -1 gone. */
static int wait_stop(struct thr *th)
{
	for (;;) {
		int st;
		pid_t r = waitpid(th->tid, &st, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -1;
		if (!WIFSTOPPED(st))
			continue;
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			th->stopped = 1;
			return 0;
		}
		/* a signal on its way to the thread: delivered when it is let go */
		th->sig = WSTOPSIG(st);
		th->stopped = 2;
		return 0;
	}
}

/* Lets a stopped thread go: its registers put back if keep_syscall changed them, a signal
 * its stop held delivered. */
static void release_one(struct thr *th)
{
	if (!th->stopped)
		return;
	if (th->changed)
		ptrace(PTRACE_SETREGS, th->tid, NULL, &th->regs);
	ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)th->sig);
	th->stopped = 0;
}

/* PTRACE_SEIZE of tid: 0, 1 when the thread is gone, or -errno of a refusal, with the
 * tracer that held it in *tracer (0 when none was seen). EPERM comes from a thread past
 * its exit, still in the task list (a zombie or dead task: gone too), or from one another
 * tracer holds; another ctrace's attach holds each thread for a moment only, so a thread
 * found untraced after an EPERM is seized again (at most 100 times, 1 ms apart). */
static int seize(pid_t tid, pid_t *tracer)
{
	char v[64];
	*tracer = 0;
	for (int tries = 0;; tries++) {
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) == 0)
			return 0;
		int e = errno;
		if (e == ESRCH)
			return 1;
		if (e != EPERM)
			return -e;
		if (status_field(tid, "State", v, sizeof(v)) < 0 || v[0] == 'Z' || v[0] == 'X')
			return 1;
		if (status_field(tid, "TracerPid", v, sizeof(v)) == 0 && atoi(v) != 0) {
			*tracer = atoi(v);
			return -EPERM;
		}
		if (tries == 100)
			return -EPERM;
		usleep(1000);
	}
}

/* Stops tid (PTRACE_SEIZE + PTRACE_INTERRUPT) into th, its registers read and a call the
 * stop ended with EINTR set to restart (keep_syscall). 0 stopped, 1 gone, or -errno of a
 * refused seize (seize: the tracer in *tracer). */
static int stop_one(struct target *t, pid_t tid, struct thr *th, pid_t *tracer)
{
	*th = (struct thr){ .tid = tid };
	int r = seize(tid, tracer);
	if (r != 0)
		return r;
	ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
	if (wait_stop(th) < 0)
		return 1;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &th->regs) < 0) {
		release_one(th);
		return 1;
	}
	keep_syscall(t, th);
	return 0;
}

/* The stack walks' reads of the target. libunwind-ptrace reads a word at a time
 * (PTRACE_PEEKDATA: a system call and a check of the tracee each), and a walk reads about
 * a thousand (the unwind tables' binary search, FDEs and CIEs, the stack): about 5 ms of
 * the thread's stop. They are read a page at a time from /proc/PID/mem instead, each page
 * kept for the walk of one stopped thread (its stack does not change while it is stopped;
 * the tables never do); writes, and a page that cannot be read, go to libunwind's own. */
#define WALK_PAGE 4096
#define WALK_PAGES 64
static struct {
	struct target *t;              /* whose memory (mem_read), NULL when none */
	unsigned n, next;              /* pages kept; the next to replace when full */
	uintptr_t at[WALK_PAGES];
	unsigned char data[WALK_PAGES][WALK_PAGE];
} walk;

static const unsigned char *walk_page(uintptr_t page)
{
	for (unsigned i = 0; i < walk.n; i++)
		if (walk.at[i] == page)
			return walk.data[i];
	unsigned i = walk.n < WALK_PAGES ? walk.n++ : walk.next++ % WALK_PAGES;
	walk.at[i] = 1; /* no page's address, until read */
	if (mem_read(walk.t, page, walk.data[i], WALK_PAGE) < 0)
		return NULL;
	walk.at[i] = page;
	return walk.data[i];
}

static int walk_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			   void *arg)
{
	uintptr_t page = addr & ~(uintptr_t)(WALK_PAGE - 1);
	size_t off = addr - page, k = WALK_PAGE - off;
	const unsigned char *p;
	if (!write && walk.t && walk.t->mem >= 0 && (p = walk_page(page))) {
		if (k >= sizeof(*val)) {
			memcpy(val, p + off, sizeof(*val));
			return 0;
		}
		unsigned char w[sizeof(*val)];
		memcpy(w, p + off, k); /* before the next page may replace this one */
		if ((p = walk_page(page + WALK_PAGE))) {
			memcpy(w + k, p, sizeof(w) - k);
			memcpy(val, w, sizeof(w));
			return 0;
		}
	}
	return _UPT_accessors.access_mem(as, addr, val, write, arg);
}

/* libunwind-ptrace's accessors, with walk_access_mem for its reads. */
static unw_accessors_t *walk_accessors(void)
{
	static unw_accessors_t a;
	if (!a.access_mem) {
		a = _UPT_accessors;
		a.access_mem = walk_access_mem;
	}
	return &a;
}

/* Whether the thread's stack has no frame in a denied range. With strict, not a thread
 * in a sleep that the kernel restarts through its restart block (nanosleep,
 * clock_nanosleep, a timed futex wait, poll with a timeout): a timed wait of the call
 * made on it, interrupted by a signal, would replace that block. Such a thread is taken
 * only when no other is at a safe point (a program that sleeps in its only thread). */
static int safe_point(struct target *t, unw_addr_space_t as, struct thr *th, int strict)
{
	if (th->stopped != 1)
		return 0;
	if (strict && (long)th->regs.orig_rax >= 0 && (long)th->regs.rax == -516)
		return 0;
	void *ui = _UPT_create(th->tid);
	if (!ui)
		return 0;
	walk.t = t;
	walk.n = walk.next = 0; /* the pages of this stop only */
	unw_cursor_t c;
	int ok = 1, depth = 0, whole = 0;
	unsigned libc_run = 0; /* how many of the outermost frames so far are libc's */
	if (unw_init_remote(&c, as, ui) < 0) {
		_UPT_destroy(ui);
		return 0;
	}
	for (; depth < 128 && ok; depth++) {
		unw_word_t ip = 0;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		uintptr_t a = depth ? ip - 1 : ip;
		unw_proc_info_t pi;
		uintptr_t entry = unw_get_proc_info(&c, &pi) == 0 ? (uintptr_t)pi.start_ip : 0;
		for (size_t i = 0; i < t->ndeny; i++)
			if ((a >= t->deny[i].lo && a < t->deny[i].hi) ||
			    (entry && entry >= t->deny[i].lo && entry < t->deny[i].hi))
				ok = 0;
		libc_run = a >= t->libc_lo && a < t->libc_hi ? libc_run + 1 : 0;
		int step = unw_step(&c);
		if (step <= 0) {
			whole = step == 0;
			depth++;
			break;
		}
	}
	_UPT_destroy(ui);
	/* A thread of pthread_create starting or ending: its stack ends in clone3 and
	 * start_thread, and start_thread calls libc's own code, not the thread's routine.
	 * Ending, that code takes the stack cache lock (freeing the stack) and the
	 * allocator's arena list (the thread's arena), which the call would wait for
	 * itself, on this very thread (pthread_create for the writer, dlopen). */
	if (ok && whole && libc_run >= 2 && (libc_run >= 3 || depth == 2))
		ok = 0;
	return ok;
}

/* The process's task list (/proc/PID/task), NULL when it is gone. */
static DIR *tasks_open(const struct target *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
	return opendir(path);
}

/* The next thread of the list, 0 at its end. */
static pid_t tasks_next(DIR *d)
{
	struct dirent *e;
	while ((e = readdir(d)))
		if (atoi(e->d_name) > 0)
			return (pid_t)atoi(e->d_name);
	return 0;
}

/* A thread of the process that another tracer holds: its tid, its tracer's pid in
 * *tracer; 0 when none. */
static pid_t traced_thread(const struct target *t, pid_t *tracer)
{
	char v[64];
	DIR *d = tasks_open(t);
	pid_t tid = 0;
	while (d && (tid = tasks_next(d)))
		if (status_field(tid, "TracerPid", v, sizeof(v)) == 0 && atoi(v) != 0 &&
		    atoi(v) != getpid()) {
			*tracer = atoi(v);
			break;
		}
	if (d)
		closedir(d);
	return tid;
}

/* What choosing a thread stopped. */
struct stops {
	size_t stopped;           /* stops of a thread, one at a time, in every pass */
	size_t threads;           /* threads the process had (the last pass's task list) */
	double longest_ms;        /* the longest any of them was stopped before the call */
	struct timespec t0;       /* the chosen thread's stop */
	pid_t refused;            /* the thread whose seize was refused */
	pid_t tracer;             /* and the tracer that held it then, 0 if none was seen */
};

/* Stops the process's threads one at a time, in the order of its task list, until one is
 * at a safe point (safe_point, strict): that one stays stopped in *pick, each other is let
 * go as soon as its stack was looked at. 1 found, 0 none, or -errno of a refused seize
 * (-ESRCH: the process is gone). */
static int find_pass(struct target *t, unw_addr_space_t as, int strict, struct thr *pick,
		     struct stops *st)
{
	DIR *d = tasks_open(t);
	pid_t tid;
	int found = 0;
	if (!d)
		return -ESRCH;
	st->threads = 0;
	while ((tid = tasks_next(d))) {
		st->threads++;
		if (found)
			continue; /* counted only */
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid_t tracer;
		int r = stop_one(t, tid, pick, &tracer);
		if (r < 0) {
			st->refused = tid;
			st->tracer = tracer;
			closedir(d);
			return r;
		}
		if (r > 0)
			continue;
		st->stopped++;
		if (safe_point(t, as, pick, strict)) {
			st->t0 = t0;
			found = 1;
			continue;
		}
		release_one(pick);
		double ms = ms_since(&t0);
		if (ms > st->longest_ms)
			st->longest_ms = ms;
	}
	closedir(d);
	return found;
}

/* ---- the call on the chosen thread ------------------------------------------------- */

struct hijack {
	pid_t tid;
	struct user_regs_struct saved;
	unsigned char xstate[16384];
	struct iovec xiov;
	int have_x;
	struct user_fpregs_struct fp;
	uintptr_t errno_at;       /* the thread's errno, 0 when unknown */
	int errno_v;
};

static int hijack_begin(struct hijack *h, struct thr *th)
{
	h->tid = th->tid;
	h->saved = th->regs;
	h->xiov.iov_base = h->xstate;
	h->xiov.iov_len = sizeof(h->xstate);
	h->have_x = ptrace(PTRACE_GETREGSET, th->tid, (void *)NT_X86_XSTATE, &h->xiov) == 0;
	if (ptrace(PTRACE_GETFPREGS, th->tid, NULL, &h->fp) < 0)
		return -1;
	/* the others must not trace a thread: clones made by the call run freely */
	ptrace(PTRACE_SETOPTIONS, th->tid, NULL, NULL);
	return 0;
}

static void hijack_end(struct hijack *h)
{
	ptrace(PTRACE_SETFPREGS, h->tid, NULL, &h->fp);
	if (h->have_x)
		ptrace(PTRACE_SETREGSET, h->tid, (void *)NT_X86_XSTATE, &h->xiov);
	ptrace(PTRACE_SETREGS, h->tid, NULL, &h->saved);
}

/* Calls fn(a0, a1) on the hijacked thread; data (if any) is copied below its stack and
 * its address replaces a0. 0 and the result in *ret, or -1 (the process died). */
static int remote_call(struct target *t, struct hijack *h, uintptr_t fn, uintptr_t a0,
		       uintptr_t a1, const void *data, size_t dlen, long *ret)
{
	struct user_regs_struct r = h->saved;
	uintptr_t sp = (h->saved.rsp - 512) & ~(uintptr_t)15;
	if (data) {
		sp -= (dlen + 15) & ~(size_t)15;
		if (mem_write(t, sp, data, dlen) < 0)
			return -1;
		a0 = sp;
	}
	sp -= 8; /* a return address at 0: the call ends in a SIGSEGV there */
	uint64_t zero = 0;
	if (mem_write(t, sp, &zero, sizeof(zero)) < 0)
		return -1;
	r.rsp = sp;
	r.rip = fn;
	r.rdi = a0;
	r.rsi = a1;
	r.rax = 0;
	r.orig_rax = (unsigned long long)-1;
	r.eflags &= ~0x400ull; /* DF */
	if (ptrace(PTRACE_SETREGS, h->tid, NULL, &r) < 0 ||
	    ptrace(PTRACE_CONT, h->tid, NULL, NULL) < 0)
		return -1;
	for (;;) {
		int st;
		pid_t w = waitpid(h->tid, &st, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -1;
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st);
		if (sig == SIGSEGV && (st >> 16) == 0) {
			struct user_regs_struct now;
			if (ptrace(PTRACE_GETREGS, h->tid, NULL, &now) == 0 && now.rip == 0) {
				*ret = (long)now.rax;
				return 0;
			}
		}
		/* the program's own signals are delivered (its handlers run here); stops of
		 * ours (group stop, interrupt) are let go */
		if ((st >> 16) != 0 || sig == SIGSTOP || sig == SIGTRAP)
			sig = 0;
		ptrace(PTRACE_CONT, h->tid, NULL, (void *)(long)sig);
	}
}

/* The hijacked thread's errno before the calls, which may change it (dlopen does), and
 * back after them: the program sees the value it had. */
static void errno_save(struct target *t, struct hijack *h)
{
	long at = 0;

	h->errno_at = 0;
	if (t->errno_fn && remote_call(t, h, t->errno_fn, 0, 0, NULL, 0, &at) == 0 && at &&
	    mem_read(t, (uintptr_t)at, &h->errno_v, sizeof(h->errno_v)) == 0)
		h->errno_at = (uintptr_t)at;
}

static void errno_restore(struct target *t, struct hijack *h)
{
	if (h->errno_at)
		mem_write(t, h->errno_at, &h->errno_v, sizeof(h->errno_v));
}

static void read_cstr(struct target *t, uintptr_t a, char *buf, size_t cap)
{
	buf[0] = 0;
	if (!a)
		return;
	size_t n = 0;
	while (n + 1 < cap && mem_read(t, a + n, buf + n, 1) == 0 && buf[n])
		n++;
	buf[n] = 0;
}

/* ---- the session ------------------------------------------------------------------- */

enum { OP_ATTACH, OP_DETACH };

struct result {
	int code;                 /* ATT_* or -1 */
	char err[PATH_MAX + 1024];
	double stopped_ms, call_ms;  /* the longest stop of a thread before the call; the call */
	size_t threads, stopped;     /* the process's threads; the stops of one of them */
	pid_t via;                   /* the thread that made the call */
	int tries;
};

/* Between two rounds of stops: longer after each try, at most 50 ms. */
static void pause_before(int tries)
{
	struct timespec d = { 0, 2000000L * (tries < 25 ? tries : 25) };
	nanosleep(&d, NULL);
}

/* Finds a thread at a safe point (find_pass: strict first), runs the operation on it, lets
 * it go; refused when another tracer holds a thread. 0, or -1 with res->err. */
static int session(struct target *t, int op, const char *out, struct result *res)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	int rc = -1;
	res->code = -1;
	res->err[0] = 0;
	struct stops st = { 0 };
	pid_t tracer = 0, held = traced_thread(t, &tracer);
	if (held) {
		tracer_refusal(res->err, sizeof(res->err), t->pid, held, tracer);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	for (int tries = 1; tries <= MAX_TRIES; tries++) {
		res->tries = tries;
		read_maps(t); /* the module map of this round */
		unw_addr_space_t as = unw_create_addr_space(walk_accessors(), 0);
		struct thr th, *pick = NULL;
		int e = 0;
		for (int strict = 1; strict >= 0 && !pick && e >= 0; strict--) {
			e = find_pass(t, as, strict, &th, &st);
			if (e > 0)
				pick = &th;
		}
		unw_destroy_addr_space(as);
		if (e < 0 || (!pick && !st.stopped)) {
			if (e == -ESRCH || e >= 0)
				snprintf(res->err, sizeof(res->err), "process %d is gone", (int)t->pid);
			else if (e == -EPERM && st.refused && st.tracer)
				tracer_refusal(res->err, sizeof(res->err), t->pid, st.refused,
					       st.tracer); /* seized since the look */
			else if (e == -EPERM && yama_scope() == 1)
				snprintf(res->err, sizeof(res->err),
					 "Yama's ptrace_scope is 1 (/proc/sys/kernel/yama/ptrace_scope):"
					 " only a parent may attach (or a process the target named with "
					 "prctl(PR_SET_PTRACER)); run ctrace with CAP_SYS_PTRACE, or set "
					 "it to 0");
			else
				snprintf(res->err, sizeof(res->err), "ptrace(PTRACE_SEIZE) of process "
					 "%d: %s", (int)t->pid, strerror(-e));
			break;
		}
		if (!pick) {
			pause_before(tries);
			continue;
		}
		res->threads = st.threads;
		res->stopped = st.stopped;
		res->via = pick->tid;
		struct hijack h;
		if (hijack_begin(&h, pick) < 0) {
			release_one(pick);
			continue;
		}
		/* everyone else runs while the call does: it may wait for their locks */
		double ms = ms_since(&st.t0);
		res->stopped_ms = ms > st.longest_ms ? ms : st.longest_ms;
		struct timespec c0;
		clock_gettime(CLOCK_MONOTONIC, &c0);
		long ret = 0;
		int ok = 0;
		errno_save(t, &h);
		if (op == OP_ATTACH) {
			if (!t->start_fn) {
				ok = remote_call(t, &h, t->dlopen_fn, 0, 2 /* RTLD_NOW */, t->lib,
						 strlen(t->lib) + 1, &ret) == 0;
				if (ok && ret == 0) {
					long m = 0;
					char msg[400] = "";
					if (t->dlerror_fn && remote_call(t, &h, t->dlerror_fn, 0, 0, NULL,
									 0, &m) == 0)
						read_cstr(t, (uintptr_t)m, msg, sizeof(msg));
					snprintf(res->err, sizeof(res->err), "dlopen of %s in process "
						 "%d failed: %s", t->lib, (int)t->pid,
						 *msg ? msg : "(no message)");
					ok = 0;
					res->code = ATT_ENOMEM;
				} else if (ok) {
					read_maps(t);
				}
			} else {
				ok = 1;
			}
			if (ok && !t->start_fn) {
				snprintf(res->err, sizeof(res->err), "libctrace.so loaded in process "
					 "%d has no ctrace_attach_start", (int)t->pid);
				ok = 0;
			}
			if (ok) {
				ok = remote_call(t, &h, t->start_fn, 0, 0, out, strlen(out) + 1,
						 &ret) == 0;
				res->code = ok ? (int)ret : -1;
			}
		} else {
			ok = remote_call(t, &h, t->stop_fn, 0, 0, NULL, 0, &ret) == 0;
			res->code = ok ? (int)ret : -1;
		}
		res->call_ms = ms_since(&c0);
		if (!ok && !res->err[0])
			snprintf(res->err, sizeof(res->err), "process %d died during the call",
				 (int)t->pid);
		errno_restore(t, &h);
		hijack_end(&h);
		ptrace(PTRACE_DETACH, h.tid, NULL, (void *)(long)pick->sig);
		if (ok && res->code == ATT_AGAIN && tries < MAX_TRIES) {
			/* the thread was inside a flush of its own, or another ctrace's call was
			 * running: nothing was done, again */
			pause_before(tries);
			continue;
		}
		rc = ok ? 0 : -1;
		break;
	}
	if (rc < 0 && !res->err[0])
		snprintf(res->err, sizeof(res->err), "no thread of process %d was at a safe point "
			 "in %d tries (each inside the allocator, the dynamic loader or libctrace's "
			 "writer); try again", (int)t->pid, MAX_TRIES);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static pid_t parse_pid(const char *cmd, const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		ct_die(CT_EXIT_USAGE, "%s: '%s' is not a process id", cmd, s);
	return (pid_t)v;
}

static void out_path(pid_t pid, const char *pat, char *buf, size_t cap)
{
	char exp[PATH_MAX];
	size_t n = 0;
	for (const char *s = pat; *s && n + 16 < sizeof(exp); s++) {
		if (s[0] == '%' && s[1] == 'p') {
			n += (size_t)snprintf(exp + n, sizeof(exp) - n, "%d", (int)pid);
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			exp[n++] = '%';
			s++;
		} else {
			exp[n++] = *s;
		}
	}
	exp[n] = 0;
	if (exp[0] == '/') {
		snprintf(buf, cap, "%s", exp);
		return;
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		ct_die(CT_EXIT_USAGE, "attach: cannot get the current directory: %s", strerror(errno));
	if (strlen(cwd) + strlen(exp) + 2 > cap)
		ct_die(CT_EXIT_USAGE, "attach: output path too long");
	size_t lc = strlen(cwd), le = strlen(exp);
	memcpy(buf, cwd, lc);
	buf[lc] = '/';
	memcpy(buf + lc + 1, exp, le + 1);
}

static void detach_now(struct target *t, const char *cmd)
{
	struct result res;
	if (session(t, OP_DETACH, NULL, &res) < 0)
		ct_die(CT_EXIT_USAGE, "%s: %s", cmd, res.err);
	if (res.code == ATT_NOT)
		ct_die(CT_EXIT_USAGE, "%s: process %d is not attached", cmd, (int)t->pid);
	if (res.code == ATT_AGAIN)
		ct_die(CT_EXIT_USAGE, "%s: process %d was inside a flush of its own trace, or "
		       "another ctrace was at work on it, at each of %d tries; still attached, try "
		       "again", cmd, (int)t->pid, res.tries);
	fprintf(stderr, "ctrace: detached from process %d through thread %d: %zu threads, "
		"stopped one at a time (%zu stops, the longest %.2f ms), stopping the trace took "
		"%.2f ms", (int)t->pid, (int)res.via, res.threads, res.stopped, res.stopped_ms,
		res.call_ms);
	if (res.tries > 1)
		fprintf(stderr, " (%d rounds until a thread was at a safe point)", res.tries);
	fputc('\n', stderr);
}

static void target_free(struct target *t)
{
	free(t->deny);
	t->deny = NULL;
	t->ndeny = t->capdeny = 0;
	if (t->mem >= 0)
		close(t->mem);
	t->mem = -1;
}

static void usage_attach(FILE *f)
{
	fputs("usage: ctrace attach PID [--duration D] [-o FILE]\n\n"
	      "Traces a running process that was started without libctrace: loads\n"
	      "libctrace.so into it (ptrace, dlopen), traces for D (e.g. 500ms, 10s; default:\n"
	      "until Ctrl-C, `ctrace detach PID` or the end of the process), then stops\n"
	      "tracing and leaves it running. Needs the rights to ptrace it: the same user\n"
	      "(or CAP_SYS_PTRACE) and Yama's ptrace_scope allowing it.\n\n"
	      "options:\n"
	      "  -d, --duration D  trace for D, then detach\n"
	      "  -o, --output FILE trace file (default " DEFAULT_OUT "; %p is the pid),\n"
	      "                    created by the process itself; it must not exist\n"
	      "  -h, --help        this help\n\n"
	      "libctrace.so is taken from $CTRACE_LIB, else next to the ctrace binary, else\n"
	      "../lib/libctrace.so relative to it.\n"
	      "exit status: 0 traced and detached (or the process ended), 2 refused (one line\n"
	      "says why) or usage error\n", f);
}

int ct_cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = DEFAULT_OUT;
	uint64_t dur = 0;
	int c, have_dur = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (ct_parse_duration(optarg, &dur) < 0 || dur == 0)
				ct_die(CT_EXIT_USAGE, "attach: --duration '%s' is not a duration "
				       "(e.g. 500ms, 2s)", optarg);
			have_dur = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage_attach(stdout);
			return CT_EXIT_OK;
		default:
			ct_die(CT_EXIT_USAGE, "attach: unknown option '%s' (see 'ctrace attach --help')",
			       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		ct_die(CT_EXIT_USAGE, "attach: expects one process id (see 'ctrace attach --help')");
	struct target t = { .pid = parse_pid("attach", argv[optind]), .mem = -1 };
#ifndef __x86_64__
	ct_die(CT_EXIT_USAGE, "attach: implemented for x86-64 only");
#endif
	if (find_lib(t.lib, sizeof(t.lib)) < 0)
		ct_die(CT_EXIT_USAGE, "attach: cannot find libctrace.so; set CTRACE_LIB");
	check_target(&t, "attach");
	char envp[64];
	snprintf(envp, sizeof(envp), "/proc/%d/environ", (int)t.pid);
	FILE *ef = fopen(envp, "re");
	if (ef) {
		char ent[8192];
		size_t n = fread(ent, 1, sizeof(ent) - 1, ef);
		ent[n] = 0;
		fclose(ef);
		for (size_t i = 0; i < n; i += strlen(ent + i) + 1)
			if (!strncmp(ent + i, "LD_PRELOAD=", 11) && strstr(ent + i, "libctrace"))
				ct_die(CT_EXIT_USAGE, "attach: process %d is already traced by "
				       "libctrace (it was started with %s)", (int)t.pid, ent + i);
	}
	if (t.ct_base) {
		struct stat a, b;
		char p[PATH_MAX + 64];
		snprintf(p, sizeof(p), "/proc/%d/root%s", (int)t.pid, t.ct_path);
		if (stat(p, &a) != 0 || stat(t.lib, &b) != 0 || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino)
			ct_die(CT_EXIT_USAGE, "attach: process %d already has another libctrace.so "
			       "loaded (%s); this ctrace uses %s", (int)t.pid, t.ct_path, t.lib);
		if (attached_state(&t) > 0)
			ct_die(CT_EXIT_USAGE, "attach: process %d is already traced by libctrace "
			       "(attached; 'ctrace detach %d' ends it)", (int)t.pid, (int)t.pid);
	}
	char path[PATH_MAX];
	out_path(t.pid, out, path, sizeof(path));
	if (access(path, F_OK) == 0)
		ct_die(CT_EXIT_USAGE, "attach: %s exists (a trace file is never replaced)", path);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	struct result res;
	if (session(&t, OP_ATTACH, path, &res) < 0)
		ct_die(CT_EXIT_USAGE, "attach: %s", res.err);
	switch (res.code) {
	case ATT_OK:
		break;
	case ATT_BUSY:
		ct_die(CT_EXIT_USAGE, "attach: process %d is already traced by libctrace "
		       "(attached; 'ctrace detach %d' ends it)", (int)t.pid, (int)t.pid);
	case ATT_AGAIN:
		ct_die(CT_EXIT_USAGE, "attach: process %d is being attached or detached by "
		       "another ctrace; try again", (int)t.pid);
	case ATT_ENOMEM:
		ct_die(CT_EXIT_USAGE, "attach: libctrace could not map its tables in process %d",
		       (int)t.pid);
	case ATT_EFILE:
		ct_die(CT_EXIT_USAGE, "attach: process %d could not create %s (its user must be "
		       "able to write there)", (int)t.pid, path);
	default:
		ct_die(CT_EXIT_USAGE, "attach: ctrace_attach_start in process %d returned %d",
		       (int)t.pid, res.code);
	}
	fprintf(stderr, "ctrace: attached to process %d (%s) through thread %d: %zu threads, "
		"stopped one at a time (%zu stops, the longest %.2f ms), loading and starting took "
		"%.2f ms", (int)t.pid, t.libc, (int)res.via, res.threads, res.stopped,
		res.stopped_ms, res.call_ms);
	if (res.tries > 1)
		fprintf(stderr, " (%d rounds until a thread was at a safe point)", res.tries);
	fprintf(stderr, "; tracing into %s\n", path);
	fflush(stderr);

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (interrupted)
			break;
		if (have_dur && ms_since(&t0) * 1e6 >= (double)dur)
			break;
		int st = attached_state(&t);
		if (st < 0 || (kill(t.pid, 0) < 0 && errno == ESRCH)) {
			fprintf(stderr, "ctrace: process %d ended; trace in %s\n", (int)t.pid, path);
			target_free(&t);
			return CT_EXIT_OK;
		}
		if (st == 0) {
			fprintf(stderr, "ctrace: process %d was detached; trace in %s\n",
				(int)t.pid, path);
			target_free(&t);
			return CT_EXIT_OK;
		}
		struct timespec d = { 0, 20000000L };
		nanosleep(&d, NULL);
	}
	if (attached_state(&t) > 0)
		detach_now(&t, "attach");
	fprintf(stderr, "ctrace: trace in %s\n", path);
	target_free(&t);
	return CT_EXIT_OK;
}

int ct_cmd_detach(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("usage: ctrace detach PID\n\n"
		      "Stops the tracing that 'ctrace attach PID' started: the GOT entries are put\n"
		      "back, the trace is drained and closed, libctrace.so stays loaded and inert.\n"
		      "exit status: 0 detached, 2 refused (one line says why)\n", stdout);
		return CT_EXIT_OK;
	}
	if (argc != 2)
		ct_die(CT_EXIT_USAGE, "detach: expects one process id (see 'ctrace detach --help')");
	struct target t = { .pid = parse_pid("detach", argv[1]), .mem = -1 };
	check_target(&t, "detach");
	if (!t.ct_base || !t.stop_fn)
		ct_die(CT_EXIT_USAGE, "detach: process %d is not attached (libctrace.so is not "
		       "loaded in it)", (int)t.pid);
	if (attached_state(&t) <= 0)
		ct_die(CT_EXIT_USAGE, "detach: process %d is not attached (libctrace.so is "
		       "loaded but not tracing)", (int)t.pid);
	detach_now(&t, "detach");
	target_free(&t);
	return CT_EXIT_OK;
}
