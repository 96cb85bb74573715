/* SPDX-License-Identifier: MIT */
/*
 * Offline symbolization of recorded stack PCs with elfutils libdwfl/libdw: function name,
 * file:line and the chain of inlined frames of every PC, using the module map recorded by
 * the preload library (struct ct_module). Called by analyze/ (the ctrace CLI) only, never
 * inside a traced process. Not thread-safe: one struct ct_sym per thread.
 *
 * How it stays fast: libdwfl is used to find files (by path, by build-id, debuglink) and
 * for the address -> CU lookup (aranges), but not for the per-PC work it does slowly. dwfl_module_addrinfo scans the whole symbol table per
 * call, and dwarf_getscopes/dwarf_getscopes_die walk a CU from its root per call (twice
 * for an inlined PC). Instead:
 *   - each module gets a sorted array of its STT_FUNC symbols, built once;
 *   - each CU gets, on its first use, an index of every subprogram and inlined_subroutine
 *     that has code: nodes in DFS order with parent links and subtree ends, plus a sorted
 *     table of the top-level (subprogram) ranges. A lookup is a binary search followed by
 *     a descent through the children that contain the address;
 *   - every resolved (pc, exact) pair is cached, so repeated PCs cost one hash probe.
 *
 * All strings handed out point into memory owned by this ct_sym: module paths are copied,
 * names and file names point into libdw/libelf data (string sections, line tables) that
 * live until dwfl_end in ct_sym_free, demangled C++ names are kept until ct_sym_free.
 *
 * C++ names: a symbol-table name (and a DWARF linkage name used for lack of DW_AT_name)
 * is mangled ("_ZNSt6thread4joinEv"). It is demangled with libstdc++'s __cxa_demangle,
 * found at run time (dlopen of libstdc++.so.6): the ctrace command is C and does not link
 * libstdc++; without it the mangled name is shown.
 */
#include "symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest inline chain kept per PC; deeper chains keep their innermost frames and the
 * real function (glibc's deepest chains are under 10). */
#define CHAIN_MAX 64
/* DIE nesting depth the CU indexer follows (guards the recursion against bad DWARF). */
#define WALK_DEPTH_MAX 256
/* Overlapping top-level ranges looked at before giving up (ICF'd or tombstoned copies). */
#define TOP_BACKSCAN 16

/* ------------------------------------------------------------------------------------ */
/* A small open-addressing hash map uint64 -> uint64 (linear probing, power-of-two size). */

struct u64map {
	struct u64ent { uint64_t key, val; uint8_t used; } *e;
	size_t cap, n;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static int map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	if (!m->cap)
		return 0;
	for (size_t i = mix64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->e[i].used)
			return 0;
		if (m->e[i].key == key) {
			*val = m->e[i].val;
			return 1;
		}
	}
}

static void map_insert(struct u64ent *e, size_t cap, uint64_t key, uint64_t val)
{
	size_t i = mix64(key) & (cap - 1);
	while (e[i].used && e[i].key != key)
		i = (i + 1) & (cap - 1);
	e[i].key = key;
	e[i].val = val;
	e[i].used = 1;
}

/* Returns 0, or -ENOMEM (the map is unchanged). */
static int map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	if ((m->n + 1) * 4 > m->cap * 3) { /* keep the load under 3/4 */
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct u64ent *ne = calloc(ncap, sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->e[i].used)
				map_insert(ne, ncap, m->e[i].key, m->e[i].val);
		free(m->e);
		m->e = ne;
		m->cap = ncap;
	}
	uint64_t old;
	if (!map_get(m, key, &old))
		m->n++;
	map_insert(m->e, m->cap, key, val);
	return 0;
}

/* Grows *p (an array of *cap elements of size sz) to hold at least need. 0 or -ENOMEM. */
static int grow(void *p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*(void **)p, ncap * sz);
	if (!np)
		return -ENOMEM;
	*(void **)p = np;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Data structures. */

struct fsym {           /* one function symbol, runtime addresses */
	uint64_t addr, size;
	const char *name;   /* in the ELF string table */
	int rank;           /* alias preference, higher wins */
};

struct node {           /* a subprogram or inlined_subroutine DIE that has code */
	Dwarf_Die die;      /* a self-contained handle, valid while the Dwarf is */
	int32_t parent;     /* node index, -1 for a top-level subprogram */
	uint32_t end;       /* one past the last node of this subtree (DFS order) */
	uint32_t rng, nrng; /* its address ranges: cu->rngs[rng .. rng+nrng) */
	uint8_t subprogram; /* DW_TAG_subprogram (the chain stops there) */
	uint8_t named;      /* name looked up */
	const char *name;   /* NULL if the DIE has none */
};

struct rng { uint64_t lo, hi; };
struct top { uint64_t lo, hi; uint32_t node; };

struct cuidx {
	Dwarf_Die cu;
	struct node *nodes;
	size_t nn, cnodes;
	struct rng *rngs;
	size_t nr, crngs;
	struct top *tops;
	size_t nt;
	Dwarf_Files *files; /* for DW_AT_call_file, loaded on first need */
	size_t nfiles;
	int files_state;    /* 0 not loaded, 1 loaded, -1 unavailable */
};

struct dsym {           /* one data (OBJECT/TLS) symbol, runtime addresses */
	uint64_t addr, size;
	const char *name;
};

struct mod {
	uint64_t lo, hi, bias;
	char *path;
	uint8_t build_id_len;
	uint8_t build_id[CT_BUILD_ID_MAX];
	Dwfl_Module *dm;    /* NULL if libdwfl refused it */
	int loaded;         /* symtab and Dwarf looked up */
	struct fsym *syms;
	size_t nsyms;
	struct dsym *dsyms;  /* sorted by addr, loaded with syms */
	size_t ndsyms;
	Dwarf *dw;          /* NULL: no DWARF found (names from the symtab, no lines) */
	Dwarf_Addr dwbias;  /* runtime address - DWARF address */
	struct u64map cus;  /* CU DIE offset -> struct cuidx * */
	/* Our own address -> CU table, built only when libdwfl's lookup fails (below). */
	int cutab_built;
	struct cuent { uint64_t lo, hi; uint32_t cu; } *cutab;
	size_t ncutab;
	Dwarf_Die *cudies;
	size_t ncudies;
};

struct rframe {         /* a cached frame; pc is filled in on copy-out */
	const char *func, *file, *module;
	int line;
	int inlined;
	uint64_t bias;      /* its module's load bias (offset = pc - bias) */
	const char *sysname; /* the name as linked (mangled), NULL: func */
	int start_line;      /* DW_AT_decl_line of the function, 0 unknown */
};

struct ct_sym {
	Dwfl *dwfl;
	struct mod *mods;   /* sorted by lo */
	size_t nmods;
	struct rframe *frames;
	size_t nframes, cframes;
	struct u64map cache[2]; /* [exact] pc -> (first frame << 8) | count */
	struct u64map dem;  /* mangled name pointer -> index in dnames + 1 (0: not C++) */
	char **dnames;      /* demangled names (owned) */
	size_t ndnames, cdnames;
};

/* ------------------------------------------------------------------------------------ */
/* Finding the files. */

/*
 * find_elf callback: libdwfl's build-id lookup, then the Debian debug-package layout.
 * dwfl_build_id_find_elf looks for <debugdir>/.build-id/xx/yyyy (the binary itself), which
 * Debian's -dbg/-dbgsym packages do not ship: they ship only xx/yyyy.debug. The .debug file
 * is a full ELF with the original program headers, .symtab and DWARF (only the loadable
 * sections are NOBITS), so it serves as the main file when the binary is gone: the bias
 * comes from its program headers and the DWARF is found in the file itself. libdwfl then
 * checks the build-id of whatever we return, and frees *file_name.
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	int fd = dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);
	if (fd >= 0 || *elfp || *file_name)
		return fd;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	if (len < 2)
		return -1;
	char path[64 + 2 * 256];
	int o = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", bits[0]);
	for (int i = 1; i < len && o + 3 < (int)sizeof(path) - 8; i++)
		o += snprintf(path + o, sizeof(path) - (size_t)o, "%02x", bits[i]);
	snprintf(path + o, sizeof(path) - (size_t)o, ".debug");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	*file_name = strdup(path);
	if (!*file_name) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *debuginfo_path; /* NULL: libdwfl's default ":.debug:/usr/lib/debug" */

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

/* 1 if the open file fd carries the module's recorded build-id (or none was recorded, in
 * which case the path is all we have and is trusted). */
static int file_matches(int fd, const struct mod *m)
{
	if (!m->build_id_len)
		return 1;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return 0;
	const void *id;
	ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
	int ok = len == m->build_id_len && memcmp(id, m->build_id, (size_t)len) == 0;
	elf_end(elf);
	return ok;
}

static void report(Dwfl *dwfl, struct mod *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (file_matches(fd, m)) {
			/* add_p_vaddr=true with base = dlpi_addr: start = bias + first PT_LOAD
			 * p_vaddr for ET_DYN (PIE, .so, prelinked too); ET_EXEC ignores base. On
			 * success the fd belongs to libdwfl; on failure it is left to us. */
			m->dm = dwfl_report_elf(dwfl, m->path, m->path, fd, m->bias, true);
			if (m->dm)
				return;
		}
		close(fd);
	}
	/* Gone or replaced: report the address range only; find_elf locates the file by
	 * build-id when the module is first used. */
	m->dm = dwfl_report_module(dwfl, m->path, m->lo, m->hi);
	if (m->dm && m->build_id_len)
		dwfl_module_report_build_id(m->dm, m->build_id, m->build_id_len, 0);
}

static int mod_cmp(const void *a, const void *b)
{
	const struct mod *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct ct_sym *ct_sym_new(const struct ct_module *mods, size_t n)
{
	struct ct_sym *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (n) {
		s->mods = calloc(n, sizeof(*s->mods));
		if (!s->mods)
			goto oom;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ct_module *cm = &mods[i];
		/* Without a path there is nothing to look up (the vDSO). */
		if (!cm->path || !cm->path[0] || cm->lo >= cm->hi)
			continue;
		struct mod *m = &s->mods[s->nmods];
		m->path = strdup(cm->path);
		if (!m->path)
			goto oom;
		m->lo = cm->lo;
		m->hi = cm->hi;
		m->bias = cm->bias;
		m->build_id_len = cm->build_id_len > CT_BUILD_ID_MAX ? CT_BUILD_ID_MAX
								     : cm->build_id_len;
		memcpy(m->build_id, cm->build_id, m->build_id_len);
		s->nmods++;
	}
	if (s->nmods) /* qsort's base must not be NULL, even for 0 elements */
		qsort(s->mods, s->nmods, sizeof(*s->mods), mod_cmp);

	elf_version(EV_CURRENT);
	/* If libdwfl cannot start, every PC resolves to "??" with its module path. */
	s->dwfl = dwfl_begin(&callbacks);
	if (s->dwfl) {
		dwfl_report_begin(s->dwfl);
		for (size_t i = 0; i < s->nmods; i++)
			report(s->dwfl, &s->mods[i]);
		dwfl_report_end(s->dwfl, NULL, NULL);
	}
	return s;
oom:
	ct_sym_free(s);
	return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Per-module symbol table. */

static int sym_cmp(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return y->rank - x->rank; /* best alias first */
}

/* Prefer a sized symbol, then GLOBAL over WEAK over LOCAL, then fewer leading
 * underscores (qsort over __GI_qsort), then names without a symbol version. */
static int sym_rank(const GElf_Sym *sym, const char *name)
{
	int r = sym->st_size ? 64 : 0;
	switch (GELF_ST_BIND(sym->st_info)) {
	case STB_GLOBAL: r += 16; break;
	case STB_WEAK: r += 8; break;
	default: break;
	}
	int u = 0;
	while (name[u] == '_' && u < 4)
		u++;
	/* Versioned compat names in .symtab ("xdr_uint32_t@GLIBC_2.2.5") last. */
	if (strchr(name, '@'))
		r -= 5;
	return r + (4 - u);
}

static int dsym_cmp(const void *a, const void *b)
{
	const struct dsym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size; /* the smallest first */
}

/* Builds m->syms and m->dsyms. On allocation failure the module simply has fewer (no)
 * symbols. */
static void load_syms(struct mod *m)
{
	int n = dwfl_module_getsymtab(m->dm);
	if (n <= 1)
		return;
	size_t cap = 0, dcap = 0;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(m->dm, i, &sym, &addr, &shndx, NULL,
							   NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (name && name[0] && type == STT_OBJECT && shndx != SHN_UNDEF &&
		    shndx != SHN_ABS && sym.st_value != 0 && sym.st_size &&
		    !grow(&m->dsyms, &dcap, m->ndsyms + 1, sizeof(*m->dsyms)))
			m->dsyms[m->ndsyms++] = (struct dsym){ addr, sym.st_size, name };
		if (!name || !name[0] || (type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    shndx == SHN_UNDEF || sym.st_value == 0)
			continue;
		if (grow(&m->syms, &cap, m->nsyms + 1, sizeof(*m->syms)))
			break;
		/* addr is already adjusted by the module bias: a runtime address. */
		m->syms[m->nsyms++] = (struct fsym){ addr, sym.st_size, name,
						     sym_rank(&sym, name) };
	}
	if (m->ndsyms)
		qsort(m->dsyms, m->ndsyms, sizeof(*m->dsyms), dsym_cmp);
	if (!m->nsyms)
		return;
	qsort(m->syms, m->nsyms, sizeof(*m->syms), sym_cmp);
	size_t k = 0; /* keep the best alias of each address */
	for (size_t i = 0; i < m->nsyms; i++)
		if (!k || m->syms[k - 1].addr != m->syms[i].addr)
			m->syms[k++] = m->syms[i];
	m->nsyms = k;
}

/* The function symbol containing runtime address a, or NULL. A sizeless symbol (crt
 * start-up code: _init, _start) covers up to the next symbol, as dwfl_module_addrinfo
 * does. */
static const char *sym_find(const struct mod *m, uint64_t a)
{
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) { /* first symbol with addr > a */
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct fsym *f = &m->syms[lo - 1];
	if (a - f->addr < f->size)
		return f->name;
	if (!f->size && lo < m->nsyms)
		return f->name;
	return NULL;
}

static void mod_load(struct mod *m)
{
	if (m->loaded)
		return;
	m->loaded = 1;
	if (!m->dm)
		return;
	Dwarf_Addr bias;
	/* Finds the ELF (path or build-id); NULL if none: the module stays nameless. */
	if (!dwfl_module_getelf(m->dm, &bias))
		return;
	load_syms(m);
	/* Finds the DWARF: the file itself, .build-id/xx/yyyy.debug, or .gnu_debuglink. */
	m->dw = dwfl_module_getdwarf(m->dm, &m->dwbias);
}

static int cuent_cmp(const void *a, const void *b)
{
	const struct cuent *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/*
 * Address -> CU without .debug_aranges. dwfl_module_addrdie finds CUs through
 * dwarf_getaranges, which in elfutils 0.188 reads only .debug_aranges: clang (14 and
 * later) does not emit that section by default, and assembly CUs may be missing from it,
 * so every PC of such a CU came out without lines or inline frames. This table is made
 * from the CU DIEs' own ranges (DW_AT_low_pc/high_pc or DW_AT_ranges), once per module,
 * on the first lookup libdwfl could not answer. Type units are skipped; split DWARF
 * (skeleton units, .dwo) is not supported. On allocation failure the table is partial.
 */
static void cutab_build(struct mod *m)
{
	size_t ccap = 0, dcap = 0;
	m->cutab_built = 1;
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Half version;
	uint8_t type;
	Dwarf_Die die;
	while (dwarf_get_units(m->dw, cu, &next, &version, &type, &die, NULL) == 0) {
		cu = next;
		if (type != DW_UT_compile && type != DW_UT_partial && type != DW_UT_skeleton)
			continue;
		if (grow(&m->cudies, &dcap, m->ncudies + 1, sizeof(*m->cudies)))
			break;
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		int any = 0;
		while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi)
				continue;
			if (grow(&m->cutab, &ccap, m->ncutab + 1, sizeof(*m->cutab)))
				goto out;
			m->cutab[m->ncutab++] = (struct cuent){ lo, hi, (uint32_t)m->ncudies };
			any = 1;
		}
		if (any)
			m->cudies[m->ncudies++] = die;
	}
out:
	if (m->ncutab)
		qsort(m->cutab, m->ncutab, sizeof(*m->cutab), cuent_cmp);
}

/* Does the CU's own address ranges (DW_AT_low_pc/high_pc or DW_AT_ranges) hold DWARF
 * address da? A CU that states no ranges at all is trusted. */
static int cu_covers(Dwarf_Die *cudie, uint64_t da)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	int any = 0;

	while ((off = dwarf_ranges(cudie, off, &base, &lo, &hi)) > 0) {
		any = 1;
		if (da >= lo && da < hi)
			return 1;
	}
	return !any;
}

/*
 * The CU DIE containing runtime address a, and the bias to its DWARF address; NULL if
 * none. libdwfl's lookup (dwfl_module_addrdie) merges each CU's run of .debug_aranges
 * entries and gives a CU for any address up to the next CU's first range, so code
 * between CUs that has no DWARF (crt1.o's _start after a main in .text.startup, assembly,
 * other objects' sections) comes back as the CU before it, and its line table then lends
 * such a PC the line of another function. Its answer is kept only when the CU's own
 * ranges hold the address.
 */
static Dwarf_Die *addr_cu(struct mod *m, uint64_t a, Dwarf_Addr *bias)
{
	Dwarf_Die *cudie = dwfl_module_addrdie(m->dm, a, bias);
	if (cudie && cu_covers(cudie, a - *bias))
		return cudie;
	if (!m->cutab_built)
		cutab_build(m);
	uint64_t da = a - m->dwbias;
	size_t lo = 0, hi = m->ncutab;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->cutab[mid].lo <= da)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* CU ranges do not nest but may overlap a little (tombstoned code at 0): look back
	 * a few entries. */
	for (size_t j = lo, k = 0; j > 0 && k < TOP_BACKSCAN; j--, k++)
		if (da < m->cutab[j - 1].hi) {
			*bias = m->dwbias;
			return &m->cudies[m->cutab[j - 1].cu];
		}
	return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Per-CU index of code-bearing subprogram and inlined_subroutine DIEs. */

static int add_node(struct cuidx *ci, Dwarf_Die *die, int32_t parent, int subprogram)
{
	uint32_t r0 = (uint32_t)ci->nr;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	/* dwarf_ranges covers DW_AT_low_pc/high_pc and DW_AT_ranges (DWARF 4 .debug_ranges
	 * and DWARF 5 rnglists). Abstract instances (DW_AT_inline), declarations and inlined
	 * copies that were optimized away have no ranges and are not indexed. */
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (lo >= hi)
			continue;
		if (grow(&ci->rngs, &ci->crngs, ci->nr + 1, sizeof(*ci->rngs)))
			return -ENOMEM;
		ci->rngs[ci->nr++] = (struct rng){ lo, hi };
	}
	if (ci->nr == r0)
		return -ENOENT;
	if (grow(&ci->nodes, &ci->cnodes, ci->nn + 1, sizeof(*ci->nodes)))
		return -ENOMEM;
	struct node *nd = &ci->nodes[ci->nn];
	memset(nd, 0, sizeof(*nd));
	nd->die = *die;
	nd->parent = parent;
	nd->rng = r0;
	nd->nrng = (uint32_t)(ci->nr - r0);
	nd->subprogram = (uint8_t)subprogram;
	return (int)ci->nn++;
}

/*
 * Depth-first walk of the children of pdie, adding every subprogram and inlined_subroutine
 * with code as a node whose parent is pnode (the nearest enclosing node). Lexical blocks
 * and namespaces are transparent: inlined calls inside a { } block belong to the function,
 * C++ functions inside namespaces are top-level. Types are not entered. Returns 0 or
 * -ENOMEM.
 */
static int walk(struct cuidx *ci, Dwarf_Die *pdie, int32_t pnode, int depth)
{
	Dwarf_Die die;
	if (depth > WALK_DEPTH_MAX || dwarf_child(pdie, &die) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&die);
		switch (tag) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine: {
			int idx = add_node(ci, &die, pnode, tag == DW_TAG_subprogram);
			if (idx == -ENOMEM)
				return idx;
			if (idx < 0)
				break; /* no code: nothing below it has code either */
			if (dwarf_haschildren(&die) && walk(ci, &die, idx, depth + 1))
				return -ENOMEM;
			ci->nodes[idx].end = (uint32_t)ci->nn; /* re-index: nodes may have moved */
			break;
		}
		case DW_TAG_lexical_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			if (dwarf_haschildren(&die) && walk(ci, &die, pnode, depth + 1))
				return -ENOMEM;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&die, &die) == 0);
	return 0;
}

static int top_cmp(const void *a, const void *b)
{
	const struct top *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

static void cu_free(struct cuidx *ci)
{
	if (!ci)
		return;
	free(ci->nodes);
	free(ci->rngs);
	free(ci->tops);
	free(ci);
}

/* The index of the CU (built on first use), or NULL on allocation failure. */
static struct cuidx *cu_get(struct mod *m, Dwarf_Die *cudie)
{
	/* Keyed by the CU DIE's offset: the same CU may come from libdwfl's lookup or from
	 * cutab, with different Dwarf_Die pointers. */
	uint64_t key = dwarf_dieoffset(cudie), v;
	if (map_get(&m->cus, key, &v))
		return (struct cuidx *)(uintptr_t)v;
	struct cuidx *ci = calloc(1, sizeof(*ci));
	if (!ci)
		return NULL;
	ci->cu = *cudie;
	if (walk(ci, &ci->cu, -1, 0))
		goto fail;
	size_t nt = 0;
	for (size_t i = 0; i < ci->nn; i++)
		if (ci->nodes[i].parent < 0)
			nt += ci->nodes[i].nrng;
	if (nt) {
		ci->tops = malloc(nt * sizeof(*ci->tops));
		if (!ci->tops)
			goto fail;
	}
	for (size_t i = 0; i < ci->nn; i++) {
		const struct node *nd = &ci->nodes[i];
		if (nd->parent >= 0)
			continue;
		for (uint32_t r = 0; r < nd->nrng; r++)
			ci->tops[ci->nt++] = (struct top){ ci->rngs[nd->rng + r].lo,
							   ci->rngs[nd->rng + r].hi, (uint32_t)i };
	}
	if (ci->nt)
		qsort(ci->tops, ci->nt, sizeof(*ci->tops), top_cmp);
	if (map_put(&m->cus, key, (uint64_t)(uintptr_t)ci))
		goto fail;
	return ci;
fail:
	cu_free(ci);
	return NULL;
}

static int node_has(const struct cuidx *ci, const struct node *nd, uint64_t da)
{
	for (uint32_t r = 0; r < nd->nrng; r++)
		if (da >= ci->rngs[nd->rng + r].lo && da < ci->rngs[nd->rng + r].hi)
			return 1;
	return 0;
}

/* The innermost node containing DWARF address da, or -1. */
static int cu_find(const struct cuidx *ci, uint64_t da)
{
	size_t lo = 0, hi = ci->nt;
	while (lo < hi) { /* first top range with lo > da */
		size_t mid = lo + (hi - lo) / 2;
		if (ci->tops[mid].lo <= da)
			lo = mid + 1;
		else
			hi = mid;
	}
	int cur = -1;
	for (size_t j = lo, k = 0; j > 0 && k < TOP_BACKSCAN; j--, k++)
		if (da < ci->tops[j - 1].hi) {
			cur = (int)ci->tops[j - 1].node;
			break;
		}
	if (cur < 0)
		return -1;
	/* Descend: the direct children of cur are cur+1, then each child's subtree end. Ranges
	 * of an inlined instance lie within its parent's, so at most one child matches. */
	for (;;) {
		uint32_t c = (uint32_t)cur + 1, end = ci->nodes[cur].end;
		int next = -1;
		for (; c < end; c = ci->nodes[c].end)
			if (node_has(ci, &ci->nodes[c], da)) {
				next = (int)c;
				break;
			}
		if (next < 0)
			return cur;
		cur = next;
	}
}

static const char *node_name(struct node *nd)
{
	if (nd->named)
		return nd->name;
	nd->named = 1;
	Dwarf_Attribute at;
	/* dwarf_attr_integrate follows DW_AT_abstract_origin (inlined and out-of-line copies
	 * of an inline function) and DW_AT_specification (C++ members, ...) to the DIE that
	 * holds the name; also across a dwz alt file. */
	const int names[] = { DW_AT_name, DW_AT_linkage_name, DW_AT_MIPS_linkage_name };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !nd->name; i++)
		if (dwarf_attr_integrate(&nd->die, names[i], &at))
			nd->name = dwarf_formstring(&at);
	return nd->name;
}

/* The linkage (mangled) name of a function DIE, or NULL when it has none (C). */
static const char *node_sysname(struct node *nd)
{
	Dwarf_Attribute at;
	const int names[] = { DW_AT_linkage_name, DW_AT_MIPS_linkage_name };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (dwarf_attr_integrate(&nd->die, names[i], &at))
			return dwarf_formstring(&at);
	return NULL;
}

/* The call site of an inlined instance: DW_AT_call_file is an index into the file table
 * of the CU's line program (DWARF 5 counts from 0, DWARF 4 from 1 with a "???" slot 0). */
static void call_site(struct cuidx *ci, struct node *nd, const char **file, int *line)
{
	Dwarf_Attribute at;
	Dwarf_Word w;
	*file = NULL;
	*line = 0;
	if (dwarf_attr(&nd->die, DW_AT_call_line, &at) && dwarf_formudata(&at, &w) == 0)
		*line = w > 0x7fffffff ? 0 : (int)w;
	if (!dwarf_attr(&nd->die, DW_AT_call_file, &at) || dwarf_formudata(&at, &w) != 0)
		return;
	if (!ci->files_state)
		ci->files_state = dwarf_getsrcfiles(&ci->cu, &ci->files, &ci->nfiles) == 0 ? 1 : -1;
	if (ci->files_state > 0 && w < ci->nfiles) {
		const char *f = dwarf_filesrc(ci->files, w, NULL, NULL);
		if (f && strcmp(f, "???") != 0)
			*file = f;
	}
}

/* ------------------------------------------------------------------------------------ */
/* C++ names. */

typedef char *(*cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

/* libstdc++'s __cxa_demangle, looked up once; NULL when libstdc++ is not installed. The
 * library stays loaded for the life of the process. */
static cxa_demangle_fn demangler(void)
{
	static int tried;
	static cxa_demangle_fn fn;

	if (!tried) {
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);

		tried = 1;
		if (h)
			*(void **)&fn = dlsym(h, "__cxa_demangle");
	}
	return fn;
}

/* The demangled form of an Itanium C++ name ("_Z..."), or name itself (not mangled, no
 * demangler, or a name it rejects). The result lives until ct_sym_free. */
static const char *demangle(struct ct_sym *s, const char *name)
{
	uint64_t key = (uint64_t)(uintptr_t)name, v;
	cxa_demangle_fn fn;
	char *d;
	int status = -1;

	if (!name || name[0] != '_' || name[1] != 'Z')
		return name;
	if (map_get(&s->dem, key, &v))
		return v ? s->dnames[v - 1] : name;
	fn = demangler();
	d = fn ? fn(name, NULL, NULL, &status) : NULL;
	if (status != 0 || !d || grow(&s->dnames, &s->cdnames, s->ndnames + 1,
				      sizeof(*s->dnames))) {
		free(d);
		map_put(&s->dem, key, 0);
		return name;
	}
	s->dnames[s->ndnames++] = d;
	/* on failure it is only demangled again next time (d is freed with the others) */
	map_put(&s->dem, key, s->ndnames);
	return d;
}

/* ------------------------------------------------------------------------------------ */
/* Resolution. */

static struct mod *find_mod(struct ct_sym *s, uint64_t a)
{
	size_t lo = 0, hi = s->nmods;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->mods[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && a < s->mods[lo - 1].hi ? &s->mods[lo - 1] : NULL;
}

/* Resolves a into fr[] (innermost first), returns the frame count (>= 1). */
static int compute(struct ct_sym *s, uint64_t a, struct rframe *fr)
{
	struct mod *m = find_mod(s, a);
	fr[0] = (struct rframe){ "??", NULL, "?", 0, 0, 0, NULL, 0 };
	if (!m)
		return 1;
	fr[0].module = m->path;
	fr[0].bias = m->bias;
	mod_load(m);
	const char *rawsym = sym_find(m, a);
	const char *symname = demangle(s, rawsym);
	if (symname) {
		fr[0].func = symname;
		fr[0].sysname = rawsym;
	}
	if (!m->dw)
		return 1;

	Dwarf_Addr bias;
	/* The CU from .debug_aranges, else from the CUs' own ranges; bias converts the
	 * runtime address to the DWARF (link-time) address. */
	Dwarf_Die *cudie = addr_cu(m, a, &bias);
	if (!cudie)
		return 1;
	uint64_t da = a - bias;
	const char *file = NULL;
	int line = 0;
	Dwarf_Line *ln = dwarf_getsrc_die(cudie, da);
	bool end = false;
	/* An address equal to the end of a line sequence is past its code: libdw returns that
	 * end-of-sequence row (the last line of the function before) rather than nothing. */
	if (ln && (dwarf_lineendsequence(ln, &end) != 0 || !end)) {
		file = dwarf_linesrc(ln, NULL, NULL);
		if (dwarf_lineno(ln, &line) != 0)
			line = 0;
	}
	fr[0].file = file;
	fr[0].line = line;
	struct cuidx *ci = cu_get(m, cudie);
	int cur = ci ? cu_find(ci, da) : -1;
	if (cur < 0)
		return 1; /* e.g. assembly CUs: lines but no subprograms */

	/* Innermost first: the innermost frame's location is the line table's; each outer
	 * frame's location is the call site of the inlined instance just inside it. */
	int n = 0;
	for (;;) {
		struct node *nd = &ci->nodes[cur];
		if (n == CHAIN_MAX - 1 && !nd->subprogram && nd->parent >= 0) {
			/* Too deep: skip to the real function, keep the last call site. */
			while (!ci->nodes[cur].subprogram && ci->nodes[cur].parent >= 0) {
				call_site(ci, &ci->nodes[cur], &file, &line);
				cur = ci->nodes[cur].parent;
			}
			nd = &ci->nodes[cur];
		}
		const char *raw = node_sysname(nd);
		const char *name = demangle(s, node_name(nd));
		int decl = 0;
		if (dwarf_decl_line(&nd->die, &decl) != 0 || decl < 0)
			decl = 0;
		fr[n] = (struct rframe){ name ? name : "??", file, m->path, line, 1,
					 m->bias, raw ? raw : name, decl };
		n++;
		if (nd->subprogram || nd->parent < 0)
			break;
		call_site(ci, nd, &file, &line);
		cur = nd->parent;
	}
	fr[n - 1].inlined = 0;
	if (!node_name(&ci->nodes[cur]) && symname) {
		fr[n - 1].func = symname;
		fr[n - 1].sysname = rawsym;
	}
	return n;
}

/* The cached frames of (pc, exact), resolved on first use: *fr and the count. */
static const char *tramp_name(struct mod *m, uint64_t pc);

static int frames_of(struct ct_sym *s, uint64_t pc, int exact, struct rframe *tmp,
		     const struct rframe **fr)
{
	uint64_t v;
	int n;
	if (map_get(&s->cache[exact], pc, &v)) {
		*fr = &s->frames[v >> 8];
		return (int)(v & 0xff);
	}
	/* A return address points after the call; pc-1 is inside the call instruction,
	 * so its line and inline chain are the call's, even when the call is the last
	 * instruction of a noreturn path or of an inlined block. */
	n = compute(s, exact || !pc ? pc : pc - 1, tmp);
	if (!exact && pc && n == 1 && !strcmp(tmp[0].func, "??")) {
		struct mod *m = find_mod(s, pc);
		const char *t = m ? tramp_name(m, pc) : NULL;
		if (t)
			tmp[0].func = demangle(s, t);
	}
	*fr = tmp;
	if (!grow(&s->frames, &s->cframes, s->nframes + (size_t)n, sizeof(*s->frames))) {
		memcpy(&s->frames[s->nframes], tmp, (size_t)n * sizeof(*tmp));
		/* Cache failure only costs time next time. */
		if (!map_put(&s->cache[exact], pc, ((uint64_t)s->nframes << 8) | (uint64_t)n))
			s->nframes += (size_t)n;
	}
	return n;
}

/*
 * Code that is entered by a return rather than a call: the kernel returns from a signal
 * handler into glibc's __restore_rt (the rt_sigreturn trampoline), and a makecontext
 * function returns into __start_context. The return address is then the trampoline's
 * first byte, so pc-1 lies in whatever precedes it and names nothing. Like gdb, the
 * trampolines are recognised by their code bytes (x86-64 glibc), or by a symbol that
 * starts exactly at the return address.
 */
static const struct tramp {
	const char *name;
	uint8_t len;
	uint8_t code[12];
} tramps[] = {
	/* mov $0xf,%rax (rt_sigreturn); syscall */
	{ "__restore_rt", 9, { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 } },
	/* mov %rbx,%rsp; mov (%rsp),%rdi; test %rdi,%rdi */
	{ "__start_context", 10, { 0x48, 0x89, 0xdc, 0x48, 0x8b, 0x3c, 0x24, 0x48, 0x85, 0xff } },
};

/* The bytes of the module's file image at runtime address a (len of them), or NULL. */
static const uint8_t *code_at(struct mod *m, uint64_t a, size_t len)
{
	Dwarf_Addr bias;
	Elf *elf = m->dm ? dwfl_module_getelf(m->dm, &bias) : NULL;
	size_t nph;
	if (!elf || elf_getphdrnum(elf, &nph) != 0)
		return NULL;
	uint64_t va = a - bias;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X) || va < ph.p_vaddr || va + len > ph.p_vaddr + ph.p_filesz)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)(ph.p_offset + (va - ph.p_vaddr)),
						   len, ELF_T_BYTE);
		return d && d->d_size == len ? d->d_buf : NULL;
	}
	return NULL;
}

/* The trampoline a return address pc is the entry of, or NULL. */
static const char *tramp_name(struct mod *m, uint64_t pc)
{
	for (size_t i = 0; i < sizeof(tramps) / sizeof(tramps[0]); i++) {
		const uint8_t *c = code_at(m, pc, tramps[i].len);
		if (c && !memcmp(c, tramps[i].code, tramps[i].len))
			return tramps[i].name;
	}
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr < pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nsyms && m->syms[lo].addr == pc ? m->syms[lo].name : NULL;
}

int ct_sym_resolve(struct ct_sym *s, uint64_t pc, int exact, struct ct_frame *out, int max)
{
	if (!s || !out || max < 1)
		return 0;
	exact = exact != 0;
	struct rframe tmp[CHAIN_MAX];
	const struct rframe *fr;
	int n = frames_of(s, pc, exact, tmp, &fr);
	/* Too small an out[]: the innermost max-1 frames and the real function last. */
	int k = n <= max ? n : max;
	for (int i = 0; i < k; i++) {
		const struct rframe *f = (i == k - 1) ? &fr[n - 1] : &fr[i];
		out[i] = (struct ct_frame){ f->func, f->file, f->line, f->module, pc, f->inlined,
					    strcmp(f->module, "?") ? pc - f->bias : 0 };
	}
	return k;
}

const char *ct_sym_data_name(struct ct_sym *s, uint64_t addr, uint64_t *off)
{
	struct mod *m = s ? find_mod(s, addr) : NULL;
	if (!m)
		return NULL;
	mod_load(m);
	size_t lo = 0, hi = m->ndsyms;
	while (lo < hi) { /* first symbol with addr > a */
		size_t mid = lo + (hi - lo) / 2;
		if (m->dsyms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the nearest symbols starting at or before addr: the first that covers it */
	for (size_t k = lo, seen = 0; k-- > 0 && seen < 16; seen++) {
		const struct dsym *d = &m->dsyms[k];
		if (addr - d->addr < d->size) {
			*off = addr - d->addr;
			return demangle(s, d->name);
		}
	}
	*off = addr - m->bias;
	return m->path;
}

const char *ct_sym_nodebug(struct ct_sym *s, size_t i, const uint8_t **build_id,
			   size_t *build_id_len)
{
	for (size_t k = 0; s && k < s->nmods; k++) {
		struct mod *m = &s->mods[k];
		if (!m->loaded || m->dw || i-- > 0)
			continue;
		*build_id = m->build_id;
		*build_id_len = m->build_id_len;
		return m->path;
	}
	return NULL;
}

int ct_sym_resolve_fn(struct ct_sym *s, uint64_t pc, int exact, struct ct_frame_fn *out,
		      int max)
{
	if (!s || !out || max < 1)
		return 0;
	exact = exact != 0;
	struct rframe tmp[CHAIN_MAX];
	const struct rframe *fr;
	int n = frames_of(s, pc, exact, tmp, &fr);
	int k = n <= max ? n : max;
	for (int i = 0; i < k; i++) {
		const struct rframe *f = (i == k - 1) ? &fr[n - 1] : &fr[i];
		out[i] = (struct ct_frame_fn){ f->sysname ? f->sysname : f->func, f->start_line };
	}
	return k;
}

void ct_sym_free(struct ct_sym *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	for (size_t i = 0; i < s->nmods; i++) {
		struct mod *m = &s->mods[i];
		for (size_t j = 0; j < m->cus.cap; j++)
			if (m->cus.e[j].used)
				cu_free((struct cuidx *)(uintptr_t)m->cus.e[j].val);
		free(m->cus.e);
		free(m->cutab);
		free(m->cudies);
		free(m->syms);
		free(m->dsyms);
		free(m->path);
	}
	free(s->mods);
	free(s->frames);
	free(s->cache[0].e);
	free(s->cache[1].e);
	for (size_t i = 0; i < s->ndnames; i++)
		free(s->dnames[i]);
	free(s->dnames);
	free(s->dem.e);
	free(s);
}
