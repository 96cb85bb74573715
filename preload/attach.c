/* SPDX-License-Identifier: MIT */
/*
 * Attach mode: libctrace.so loaded into a running process by `ctrace attach` (dlopen,
 * RTLD_LOCAL, from a thread the injector stopped at a safe point), not by LD_PRELOAD.
 *
 * Loaded so, the library does nothing until ctrace_attach_start: the constructor only
 * resolves the real functions (ct_attach_deferred). ctrace_attach_start maps the tables,
 * creates the trace file (header flag CT_HF_ATTACHED; its start time is the attach),
 * then redirects the GOT entries of every loaded module that name a function libctrace
 * exports (R_X86_64_JUMP_SLOT and R_X86_64_GLOB_DAT relocations, matched by name and
 * symbol version against libctrace's own dynamic symbol table: exactly the functions
 * LD_PRELOAD would interpose) to the wrappers; the writer thread starts at the first
 * recorded event, as under LD_PRELOAD. The writer
 * calls ct_attach_poll after each flush: modules loaded since (dlopen) get the same
 * treatment, the same way the stack module map notices them (dl_iterate_phdr's adds
 * counter). ctrace_attach_stop puts back every entry that still holds a wrapper's
 * address, in modules still loaded, then drains and closes the trace (ct_writer_finish).
 * The library stays loaded and inert (tracing off: every wrapper passes through); a later
 * ctrace_attach_start traces again into a new file (ct_writer_restart).
 *
 * Waits in progress at the attach run in the real function, untraced: they are skipped.
 * A wait entered while attached that ends after the detach records nothing more
 * (ct_wait_end_result checks ct_attach_t0 and ct_active).
 *
 * Neither entry point is on the record path: they run on a thread the injector chose
 * (holding no loader, malloc or stdio lock), take the loader lock (dl_iterate_phdr) and
 * may allocate.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrace.h"
#include "flush.h"
#include "../unwind/capture.h"
#include "io.h"

uint32_t ct_attach_hflags;
uint64_t ct_attach_t0;
uint64_t ct_attach_ticks;
uint32_t ct_sites_epoch;

/* For the injector (read through /proc/PID/mem): 1 while attached. */
CT_EXPORT volatile int ctrace_attach_state;

/* One function libctrace exports: name, version (NULL: unversioned), hidden (a
 * non-default version, name@VER), address. */
struct wrapper {
	const char *name, *version;
	int hidden;
	uintptr_t addr;
};

/* A GOT entry changed: where, what it held, what it holds now. */
struct slot {
	uintptr_t *at;
	uintptr_t orig, ours;
};

#define MAX_WRAPPERS 1024
#define MAX_SLOTS (1u << 16)

static struct wrapper *wr;
static unsigned nwr;
static struct slot *slots;
static unsigned nslots;
static uintptr_t self_base;
static int loaded_late, inited, started_once, attached;

int ct_attached(void)
{
	return attached;
}
static int warmed; /* the unwinder warmed (ct_capture_warm), after the first redirect */
static unsigned long long seen_adds;
static long page;

/* A dynamic-section pointer: relocated in place by the loader for most objects, not for
 * the vDSO (and never for the main program's absolute ones). */
static uintptr_t dptr(uintptr_t base, ElfW(Addr) v)
{
	return v < base ? base + v : v;
}

struct dyn {
	const ElfW(Sym) *sym;
	const char *str;
	const ElfW(Half) *versym;
	const ElfW(Verneed) *verneed;
	const ElfW(Verdef) *verdef;
	const ElfW(Rela) *jmprel, *rela;
	size_t jmprelsz, relasz;
	const uint32_t *gnuhash, *hash;
};

static void dyn_read(uintptr_t base, const ElfW(Dyn) *d, struct dyn *o)
{
	memset(o, 0, sizeof(*o));
	for (; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: o->sym = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_STRTAB: o->str = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_VERSYM: o->versym = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_VERNEED: o->verneed = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_VERDEF: o->verdef = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_JMPREL: o->jmprel = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: o->jmprelsz = d->d_un.d_val; break;
		case DT_RELA: o->rela = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_RELASZ: o->relasz = d->d_un.d_val; break;
		case DT_GNU_HASH: o->gnuhash = (const void *)dptr(base, d->d_un.d_ptr); break;
		case DT_HASH: o->hash = (const void *)dptr(base, d->d_un.d_ptr); break;
		default: break;
		}
	}
}

/* Number of dynamic symbols, from the hash table. */
static size_t nsyms(const struct dyn *d)
{
	if (d->hash)
		return d->hash[1];
	if (!d->gnuhash)
		return 0;
	const uint32_t *h = d->gnuhash;
	uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
	const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(h + 4) + bloom_size);
	const uint32_t *chain = buckets + nbuckets;
	uint32_t last = 0;
	for (uint32_t i = 0; i < nbuckets; i++)
		if (buckets[i] > last)
			last = buckets[i];
	if (last < symoffset)
		return symoffset;
	while (!(chain[last - symoffset] & 1))
		last++;
	return last + 1;
}

/* The version a module's reference to symbol i asks for; NULL when unversioned. */
static const char *need_version(const struct dyn *d, size_t i)
{
	if (!d->versym || !d->verneed)
		return NULL;
	unsigned idx = d->versym[i] & 0x7fff;
	if (idx <= 1)
		return NULL;
	const ElfW(Verneed) *vn = d->verneed;
	for (;;) {
		const ElfW(Vernaux) *a = (const void *)((const char *)vn + vn->vn_aux);
		for (unsigned k = 0; k < vn->vn_cnt; k++) {
			if (a->vna_other == idx)
				return d->str + a->vna_name;
			a = (const void *)((const char *)a + a->vna_next);
		}
		if (!vn->vn_next)
			return NULL;
		vn = (const void *)((const char *)vn + vn->vn_next);
	}
}

/* The version that defines symbol i of libctrace; NULL for the base (unversioned). */
static const char *def_version(const struct dyn *d, size_t i)
{
	if (!d->versym || !d->verdef)
		return NULL;
	unsigned idx = d->versym[i] & 0x7fff;
	if (idx <= 1)
		return NULL;
	const ElfW(Verdef) *vd = d->verdef;
	for (;;) {
		if (vd->vd_ndx == idx && !(vd->vd_flags & VER_FLG_BASE)) {
			const ElfW(Verdaux) *a = (const void *)((const char *)vd + vd->vd_aux);
			return d->str + a->vda_name;
		}
		if (!vd->vd_next)
			return NULL;
		vd = (const void *)((const char *)vd + vd->vd_next);
	}
}

static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type == PT_LOAD && me >= info->dlpi_addr + p->p_vaddr &&
		    me < info->dlpi_addr + p->p_vaddr + p->p_memsz) {
			self_base = info->dlpi_addr;
			return 1;
		}
	}
	return 0;
}

/* The functions libctrace exports (its own dynamic symbol table), but the entry points. */
static int wrappers_read(void)
{
	extern ElfW(Dyn) _DYNAMIC[];
	struct dyn d;
	dyn_read(self_base, _DYNAMIC, &d);
	size_t n = nsyms(&d);
	wr = ct_map(MAX_WRAPPERS, sizeof(*wr), 0);
	if (!wr || !d.sym || !d.str) {
		wr = NULL;
		return -1;
	}
	for (size_t i = 1; i < n && nwr < MAX_WRAPPERS; i++) {
		const ElfW(Sym) *s = &d.sym[i];
		if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC ||
		    ELF64_ST_BIND(s->st_info) == STB_LOCAL)
			continue;
		const char *name = d.str + s->st_name;
		if (!strncmp(name, "ctrace_", 7))
			continue;
		wr[nwr++] = (struct wrapper){ name, def_version(&d, i),
					      d.versym ? (d.versym[i] & 0x8000) != 0 : 0,
					      self_base + s->st_value };
	}
	return 0;
}

/* The wrapper a reference to name (version ver, or unversioned) binds to, as the loader
 * would bind it with libctrace preloaded; 0 when libctrace has none. */
static uintptr_t wrapper_for(const char *name, const char *ver)
{
	uintptr_t dflt = 0;
	for (unsigned i = 0; i < nwr; i++) {
		if (strcmp(wr[i].name, name))
			continue;
		if (ver && wr[i].version && !strcmp(wr[i].version, ver))
			return wr[i].addr;
		if (!wr[i].hidden)
			dflt = wr[i].addr;
	}
	return dflt;
}

struct mod {
	uintptr_t base, relro_lo, relro_hi;
	const ElfW(Phdr) *phdr;
	int phnum;
};

static int in_module(const struct mod *m, uintptr_t a)
{
	for (int i = 0; i < m->phnum; i++) {
		const ElfW(Phdr) *p = &m->phdr[i];
		if (p->p_type == PT_LOAD && a >= m->base + p->p_vaddr &&
		    a + sizeof(uintptr_t) <= m->base + p->p_vaddr + p->p_memsz)
			return 1;
	}
	return 0;
}

/* Stores v at *at, opening a RELRO page for the store and closing it again. */
static void store(const struct mod *m, uintptr_t *at, uintptr_t v)
{
	uintptr_t a = (uintptr_t)at;
	int ro = a >= m->relro_lo && a < m->relro_hi;
	void *pg = (void *)(a & ~(uintptr_t)(page - 1));
	if (ro && mprotect(pg, (size_t)page, PROT_READ | PROT_WRITE) != 0)
		return;
	__atomic_store_n(at, v, __ATOMIC_RELEASE);
	if (ro)
		mprotect(pg, (size_t)page, PROT_READ);
}

static int skip_module(const struct dl_phdr_info *info)
{
	const char *n = info->dlpi_name ? info->dlpi_name : "";
	return info->dlpi_addr == self_base || strstr(n, "/ld-linux") || strstr(n, "ld-linux-") == n ||
	       strstr(n, "linux-vdso") || strstr(n, "linux-gate");
}

static void mod_of(const struct dl_phdr_info *info, struct mod *m, const ElfW(Dyn) **dynamic)
{
	m->base = info->dlpi_addr;
	m->phdr = info->dlpi_phdr;
	m->phnum = info->dlpi_phnum;
	m->relro_lo = m->relro_hi = 0;
	*dynamic = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type == PT_DYNAMIC)
			*dynamic = (const void *)(info->dlpi_addr + p->p_vaddr);
		else if (p->p_type == PT_GNU_RELRO) {
			m->relro_lo = info->dlpi_addr + p->p_vaddr;
			m->relro_hi = m->relro_lo + p->p_memsz;
		}
	}
}

static void patch_relocs(const struct mod *m, const struct dyn *d, const ElfW(Rela) *r,
			 size_t bytes)
{
	for (size_t k = 0; k < bytes / sizeof(*r); k++) {
		unsigned type = ELF64_R_TYPE(r[k].r_info);
		size_t si = ELF64_R_SYM(r[k].r_info);
		if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || si == 0)
			continue;
		const ElfW(Sym) *s = &d->sym[si];
		if (s->st_shndx != SHN_UNDEF)
			continue; /* the module's own definition */
		uintptr_t ours = wrapper_for(d->str + s->st_name, need_version(d, si));
		uintptr_t *at = (uintptr_t *)(m->base + r[k].r_offset);
		if (!ours || !in_module(m, (uintptr_t)at))
			continue;
		uintptr_t cur = __atomic_load_n(at, __ATOMIC_ACQUIRE);
		if (cur == ours || nslots == MAX_SLOTS)
			continue;
		slots[nslots++] = (struct slot){ at, cur, ours };
		store(m, at, ours);
	}
}

/* The module's GOT entries redirected to the wrappers (each old value kept in a slot). */
static void patch_module(const struct mod *m, const ElfW(Dyn) *dynamic)
{
	struct dyn d;
	dyn_read(m->base, dynamic, &d);
	if (!d.sym || !d.str)
		return;
	if (d.jmprel)
		patch_relocs(m, &d, d.jmprel, d.jmprelsz);
	if (d.rela)
		patch_relocs(m, &d, d.rela, d.relasz);
}

static int patch_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_adds > seen_adds)
		seen_adds = info->dlpi_adds;
	if (skip_module(info))
		return 0;
	struct mod m;
	const ElfW(Dyn) *dynamic;
	mod_of(info, &m, &dynamic);
	if (dynamic)
		patch_module(&m, dynamic);
	return 0;
}

static int unpatch_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	unsigned *restored = arg;
	if (skip_module(info))
		return 0;
	struct mod m;
	const ElfW(Dyn) *dynamic;
	mod_of(info, &m, &dynamic);
	for (unsigned i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];
		if (!s->at || !in_module(&m, (uintptr_t)s->at))
			continue;
		/* else the loader bound it meanwhile (lazy binding): it holds the real one */
		if (__atomic_load_n(s->at, __ATOMIC_ACQUIRE) == s->ours) {
			store(&m, s->at, s->orig);
			(*restored)++;
		}
		s->at = NULL;
	}
	return 0;
}

static int adds_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(unsigned long long *)arg = info->dlpi_adds;
	return 1;
}

/* Loaded late when the program's pthread_mutex_lock is the one libctrace would call
 * itself (the next definition after libctrace: libc's), not libctrace's nor another
 * preloaded interposer's. */
int ct_attach_deferred(void)
{
	void *def = dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	void *next = dlsym(RTLD_NEXT, "pthread_mutex_lock");
	loaded_late = def && def == next;
	return loaded_late;
}

void ct_attach_poll(void)
{
	if (!attached || !ct_loader_usable())
		return;
	unsigned long long adds = 0;
	dl_iterate_phdr(adds_cb, &adds);
	if (adds != seen_adds)
		dl_iterate_phdr(patch_cb, NULL);
}

/*
 * libunwind (ct_capture_load's, libctrace's own unwinder) has its GOT entries redirected
 * once, before any module of the program's, and never put back. Its first capture opens
 * its validation pipe (pipe2) and every capture validates through it (read, syscall);
 * only through the wrappers are those the fd-less pipe of fdguard.c. Redirected with the
 * program's modules, in load order, it would be late: a program thread that reaches the
 * wrappers through the program's GOT, already redirected, and makes its first libunwind
 * capture before libunwind's entries are (the attaching thread preempted in between),
 * gets a real pipe at the program's lowest free numbers, kept by libunwind for good; and
 * put back at the detach while other threads still capture (ct_active is cleared after
 * the GOT entries are put back), a capture's read of the fake number fails (EBADF) and
 * libunwind opens a real pipe in its place. The wrappers pass through when not tracing.
 */
static uintptr_t unwinder_at;

static int unwinder_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	struct mod m;
	const ElfW(Dyn) *dynamic;
	mod_of(info, &m, &dynamic);
	if (!dynamic || !in_module(&m, unwinder_at))
		return 0;
	unsigned kept = nslots;
	patch_module(&m, dynamic);
	nslots = kept; /* for good: no slot, so the detach leaves them (and so does a start:
			* an entry already holding the wrapper takes none) */
	return 1;
}

/* The tables of an attached start (ct_tables_map). */
static int map_tables(void)
{
	slots = ct_map(MAX_SLOTS, sizeof(*slots), 0);
	return !slots || ct_threads_init() || ct_buffers_init() || ct_stacks_init() ||
	       ct_shadow_init() || ct_writer_tables();
}

static int init_once(void)
{
	page = sysconf(_SC_PAGESIZE);
	dl_iterate_phdr(self_cb, (void *)(uintptr_t)ct_attach_deferred);
	if (!self_base || ct_tables_map(map_tables, 0) != 0)
		return CT_ATTACH_ENOMEM;
	if (wrappers_read() != 0) {
		ct_unmap_all();
		nwr = 0;
		return CT_ATTACH_ENOMEM;
	}
	ct_fdclass_init();
	if (ct_capture_load(ct_cfg.depth) < 0) /* warmed in start, once redirected */
		ct_warn("neither libunwind.so.8 nor libgcc_s.so.1 could be loaded; ",
			"recording waits without stacks", "");
	unwinder_at = (uintptr_t)ct_capture_unwinder();
	if (unwinder_at)
		dl_iterate_phdr(unwinder_cb, NULL); /* before any capture can run libunwind */
	ct_fork_handlers_install();
	inited = 1;
	return 0;
}

static int start(const char *out)
{
	if (!loaded_late || attached || atomic_load(&ct_active))
		return CT_ATTACH_BUSY;
	if (!out || !*out || strlen(out) >= sizeof(ct_cfg.out))
		return CT_ATTACH_EFILE;
	int r;
	if (!inited && (r = init_once()) != 0)
		return r;
	snprintf(ct_cfg.out, sizeof(ct_cfg.out), "%s", out);
	ct_attach_hflags = CT_HF_ATTACHED;
	ct_attach_t0 = ct_now();
	ct_attach_ticks = ct_ticks();
	ct_sites_epoch++; /* the earlier sessions' call-site counts are not this one's */
	if (started_once) {
		/* the last session's trace has its losses and untraced threads; the slots of
		 * threads that ended without an exit hook are free again */
		ct_counts_reset();
		ct_threads_gone(0, 1);
	}
	r = started_once ? ct_writer_restart() : ct_writer_start();
	if (r < 0)
		return CT_ATTACH_EFILE;
	started_once = 1;
	nslots = 0;
	atomic_store(&ct_active, 1);
	dl_iterate_phdr(patch_cb, NULL);
	if (!warmed) {
		/* libunwind's calls reach the wrappers (init_once): its validation pipe is
		 * the fd-less one, not two fds at the program's lowest free numbers */
		ct_capture_warm();
		warmed = 1;
	}
	attached = 1;
	ctrace_attach_state = 1;
	/* the writer thread starts as under LD_PRELOAD: now when the program has threads,
	 * else with its first one (a single-threaded program flushes from its own thread) */
	if (!__libc_single_threaded)
		ct_writer_spawn();
	return 0;
}

/* An entry point is running: two ctraces at work on the process at once call on two
 * threads (each stops only its own), and the second call waits for none. */
static atomic_int in_call;

static int call_begin(void)
{
	int idle = 0;
	return atomic_compare_exchange_strong(&in_call, &idle, 1);
}

void ct_attach_after_fork(void)
{
	atomic_store(&in_call, 0); /* the thread that was in a call is not in the child */
}

CT_EXPORT int ctrace_attach_start(const char *out)
{
	if (!call_begin())
		return CT_ATTACH_AGAIN;
	ct_enter();
	int r = start(out);
	ct_leave();
	atomic_store(&in_call, 0);
	return r;
}

static int stop(void)
{
	if (!attached)
		return CT_ATTACH_NOT;
	/* stopped inside its own flush (a single-threaded program's, flush_mu held): the
	 * finish could not close the trace from here (ct_writer_finish returns at once) and
	 * the process would stay traced, its file open, for good. Nothing changed: the
	 * injector lets the thread go and stops it again. */
	if (ct_flush_held_here())
		return CT_ATTACH_AGAIN;
	ct_enter();
	unsigned restored = 0;
	dl_iterate_phdr(unpatch_cb, &restored);
	ct_writer_finish();
	attached = 0;
	ctrace_attach_state = 0;
	ct_leave();
	return 0;
}

CT_EXPORT int ctrace_attach_stop(void)
{
	if (!call_begin())
		return CT_ATTACH_AGAIN;
	int r = stop();
	atomic_store(&in_call, 0);
	return r;
}
