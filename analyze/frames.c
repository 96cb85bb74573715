/* SPDX-License-Identifier: MIT */
/*
 * Implementation of frames.h: stack id -> frame array and call-site PC -> frame array,
 * each an array of resolved entries found through a hashtab.h map.
 */
#include "frames.h"

#include <inttypes.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "hashtab.h"
#include "json.h"
#include "util.h"

#define INLINE_MAX 8 /* inline chain depth kept per PC */

struct resolved {
	uint64_t key; /* stack id or PC */
	int truncated;
	size_t n;
	struct ct_frame *f;
	char *json;   /* a stack's frames as a JSON array, once written (NULL before) */
	size_t json_len;
};

struct rtable {
	struct resolved *slots; /* in order of first use */
	size_t nslots, cap;
	struct ct_htab by_key; /* key -> index in slots */
};

struct ct_frames {
	const struct ct_model *m;
	struct ct_sym *sym;
	int sym_tried;
	struct rtable stacks; /* by stack id */
	struct rtable pcs;    /* single call sites, by PC */
};

static const regex_t *hide; /* --hide: frames whose function matches are dropped */

void ct_frames_set_hide(const regex_t *re)
{
	hide = re;
}

/* --hide: drops the frames of s whose function matches, unless that leaves none. */
static void hide_frames(struct resolved *s)
{
	size_t k = 0;

	if (!hide)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (!s->f[i].func || regexec(hide, s->f[i].func, 0, NULL, 0) != 0)
			s->f[k++] = s->f[i];
	if (k)
		s->n = k;
}

struct ct_frames *ct_frames_new(const struct ct_model *m)
{
	struct ct_frames *c = ct_xcalloc(1, sizeof(*c));

	c->m = m;
	return c;
}

static void table_free(struct rtable *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		free(t->slots[i].f);
		free(t->slots[i].json);
	}
	free(t->slots);
	ct_htab_free(&t->by_key);
}

void ct_frames_free(struct ct_frames *c)
{
	if (!c)
		return;
	table_free(&c->stacks);
	table_free(&c->pcs);
	ct_sym_free(c->sym);
	free(c);
}

static struct ct_sym *sym(struct ct_frames *c)
{
	if (!c->sym_tried) {
		c->sym_tried = 1;
		c->sym = ct_sym_new(c->m->mods, c->m->nmods);
	}
	return c->sym;
}

/* The slot of key (nonzero), found or added empty (n 0, f NULL); *fresh says which. A
 * slot pointer is valid until the next lookup. */
static struct resolved *lookup(struct rtable *tab, uint64_t key, int *fresh)
{
	uint32_t ix = ct_htab_get(&tab->by_key, key);

	*fresh = ix == UINT32_MAX;
	if (!*fresh)
		return &tab->slots[ix];
	ct_grow(&tab->slots, &tab->cap, tab->nslots + 1, sizeof(*tab->slots));
	ct_htab_put(&tab->by_key, key, (uint32_t)tab->nslots);
	tab->slots[tab->nslots] = (struct resolved){ .key = key };
	return &tab->slots[tab->nslots++];
}

/* Stand-in for an unresolvable PC when there is no symbolizer. */
static struct ct_frame unknown(uint64_t pc)
{
	return (struct ct_frame){ "??", NULL, 0, "?", pc, 0, 0 };
}

/* A frame inlined from a system header (/usr/include/...). */
static int system_inline(const struct ct_frame *f)
{
	return f->inlined && f->file && !strncmp(f->file, "/usr/include/", 13);
}

/*
 * Appends the frames of return address pc to s. At the call site (the first PC of a
 * stack), frames inlined from system headers are the interposed function's inline
 * wrappers (glibc's _FORTIFY_SOURCE read -> __read_chk in bits/unistd.h, ...), not its
 * caller: they are left out, so frames[0] is the program's function.
 */
static void add_pc(struct ct_frames *c, struct resolved *s, size_t *cap, uint64_t pc,
		   int call_site)
{
	struct ct_sym *sy = sym(c);
	struct ct_frame fr[INLINE_MAX];
	int n = 0, skip = 0;

	if (sy)
		n = ct_sym_resolve(sy, pc, 0, fr, INLINE_MAX);
	if (n < 1) {
		fr[0] = unknown(pc);
		n = 1;
	}
	while (call_site && skip < n - 1 && system_inline(&fr[skip]))
		skip++;
	ct_grow(&s->f, cap, s->n + (size_t)(n - skip), sizeof(*s->f));
	memcpy(&s->f[s->n], fr + skip, (size_t)(n - skip) * sizeof(*fr));
	s->n += (size_t)(n - skip);
}

/* The resolved stack id (valid until the next lookup), NULL for 0 or an unknown id. */
static struct resolved *stack_of(struct ct_frames *c, uint32_t id)
{
	const struct ct_mstack *st;
	struct resolved *s;
	size_t cap = 0;
	int fresh;

	if (id == 0 || !(st = ct_model_stack(c->m, id)))
		return NULL;
	s = lookup(&c->stacks, id, &fresh);
	if (fresh) {
		s->truncated = !!(st->flags & CT_STACKF_TRUNCATED);
		for (size_t i = 0; i < st->nframes; i++)
			add_pc(c, s, &cap, st->pcs[i], i == 0);
		hide_frames(s);
	}
	return s;
}

size_t ct_frames_stack(struct ct_frames *c, uint32_t id, const struct ct_frame **out,
		       int *truncated)
{
	struct resolved *s = stack_of(c, id);

	*out = NULL;
	if (truncated)
		*truncated = 0;
	if (!s)
		return 0;
	*out = s->f;
	if (truncated)
		*truncated = s->truncated;
	return s->n;
}

size_t ct_frames_pc(struct ct_frames *c, uint64_t pc, const struct ct_frame **out)
{
	struct resolved *s;
	size_t cap = 0;
	int fresh;

	*out = NULL;
	if (pc == 0)
		return 0;
	s = lookup(&c->pcs, pc, &fresh);
	if (fresh) {
		add_pc(c, s, &cap, pc, 1);
		hide_frames(s);
	}
	*out = s->f;
	return s->n;
}

void ct_frames_fn(struct ct_frames *c, const struct ct_frame *f, const char **sysname,
		  int *start_line)
{
	struct ct_sym *sy = sym(c);
	struct ct_frame fr[INLINE_MAX];
	struct ct_frame_fn fn[INLINE_MAX];
	int n;

	*sysname = f->func;
	*start_line = 0;
	if (!sy || !f->pc)
		return;
	n = ct_sym_resolve(sy, f->pc, 0, fr, INLINE_MAX);
	if (ct_sym_resolve_fn(sy, f->pc, 0, fn, INLINE_MAX) != n)
		return;
	/* the symbolizer's strings are its own: the same frame has the same pointers */
	for (int i = 0; i < n; i++)
		if (fr[i].func == f->func && fr[i].file == f->file && fr[i].line == f->line) {
			*sysname = fn[i].sysname;
			*start_line = fn[i].start_line;
			return;
		}
}

const char *ct_frames_func(struct ct_frames *c, uint64_t addr)
{
	struct ct_sym *sy = sym(c);
	struct ct_frame fr[INLINE_MAX];
	int n;

	if (!addr || !sy)
		return "??";
	n = ct_sym_resolve(sy, addr, 1, fr, INLINE_MAX);
	return n >= 1 ? fr[n - 1].func : "??";
}

void ct_frames_json(struct ct_json *j, const struct ct_frame *f, size_t n)
{
	ct_json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		ct_json_obj_begin(j);
		ct_json_key(j, "func");
		ct_json_str(j, f[i].func ? f[i].func : "??");
		ct_json_key(j, "file");
		ct_json_str(j, f[i].file);
		ct_json_key(j, "line");
		ct_json_i64(j, f[i].file ? f[i].line : 0);
		ct_json_key(j, "module");
		ct_json_str(j, f[i].module && strcmp(f[i].module, "?") ? f[i].module : NULL);
		ct_json_key(j, "offset");
		if (f[i].module && strcmp(f[i].module, "?"))
			ct_json_hex(j, f[i].offset);
		else
			ct_json_null(j);
		ct_json_obj_end(j);
	}
	ct_json_arr_end(j);
}

void ct_frames_json_kv(struct ct_json *j, const char *key, const struct ct_frame *f, size_t n)
{
	ct_json_key(j, key);
	ct_frames_json(j, f, n);
}

void ct_frames_json_stack(struct ct_frames *c, struct ct_json *j, const char *key, uint32_t id)
{
	struct resolved *s = stack_of(c, id);

	if (!s) {
		ct_frames_json_kv(j, key, NULL, 0);
		return;
	}
	if (!s->json) {
		/* written once per stack: a report names the same few stacks for each of
		 * thousands of objects and entries */
		struct ct_json jj;
		FILE *m = open_memstream(&s->json, &s->json_len);

		if (!m)
			ct_die(CT_EXIT_USAGE, "out of memory (a stack's JSON)");
		ct_json_init(&jj, m);
		ct_frames_json(&jj, s->f, s->n);
		if (fclose(m) != 0 || !s->json)
			ct_die(CT_EXIT_USAGE, "out of memory (a stack's JSON)");
	}
	ct_json_key(j, key);
	ct_json_raw(j, s->json, s->json_len);
}

size_t ct_frames_entry(struct ct_frames *c, const struct ct_pentry *e,
		       const struct ct_frame **out, int *truncated)
{
	if (truncated)
		*truncated = 0;
	if (e->remainder)
		return ct_frames_pc(c, e->site, out);
	return ct_frames_stack(c, e->stack, out, truncated);
}

char *ct_frame_str(const struct ct_frame *fr, unsigned how, char *buf, size_t cap)
{
	int in_mod = fr->module && strcmp(fr->module, "?");

	if (fr->file)
		snprintf(buf, cap, "%s (%s:%d)", fr->func, ct_basename(fr->file), fr->line);
	else if (in_mod && (!fr->func || !strcmp(fr->func, "??")))
		snprintf(buf, cap, "%s+0x%" PRIx64, ct_basename(fr->module), fr->offset);
	else if ((how & CT_FRAME_MODULE) && in_mod)
		snprintf(buf, cap, "%s (%s)", fr->func, ct_basename(fr->module));
	else if (how & CT_FRAME_PC)
		snprintf(buf, cap, "%s (0x%" PRIx64 ")", fr->func ? fr->func : "??", fr->pc);
	else
		snprintf(buf, cap, "%s", fr->func ? fr->func : "??");
	return buf;
}

void ct_frame_write(FILE *f, const struct ct_frame *fr, unsigned how)
{
	char buf[1024];

	fputs(ct_frame_str(fr, how, buf, sizeof(buf)), f);
}

void ct_frames_write(FILE *f, const struct ct_frame *fr, size_t n, const char *indent,
		     size_t max, unsigned how)
{
	for (size_t i = 0; i < n && i < max; i++) {
		fputs(indent, f);
		ct_frame_write(f, &fr[i], how);
		fputc('\n', f);
	}
	if (n > max)
		fprintf(f, "%s... %zu more frames\n", indent, n - max);
}

const char *ct_frames_data_name(struct ct_frames *c, uint64_t addr, char *buf, size_t n)
{
	uint64_t off = 0;
	const char *name = ct_sym_data_name(sym(c), addr, &off);

	if (!name || !n)
		return NULL;
	if (name[0] == '/') /* a module: its file name and the address in its ELF */
		snprintf(buf, n, "%s+0x%" PRIx64, ct_basename(name), off);
	else if (off)
		snprintf(buf, n, "%s+0x%" PRIx64, name, off);
	else
		snprintf(buf, n, "%s", name);
	return buf;
}

/* The Debian package that owns path (dpkg-query -S), into pkg; 0 if none. */
static int query_owner(const char *path, char *pkg, size_t n)
{
	char cmd[CT_PATH_MAX + 64], line[1024];
	FILE *p;
	int ok = 0;

	if (strchr(path, '\'') || snprintf(cmd, sizeof(cmd),
			"dpkg-query -S '%s' 2>/dev/null", path) >= (int)sizeof(cmd))
		return 0;
	p = popen(cmd, "r");
	if (!p)
		return 0;
	if (fgets(line, sizeof(line), p)) {
		char *colon = strstr(line, ": ");
		if (colon && !strchr(line, ',')) { /* "pkg[:arch]: path" */
			*colon = 0;
			char *arch = strchr(line, ':');
			if (arch)
				*arch = 0;
			size_t len = strlen(line);
			if (len && len < n) {
				memcpy(pkg, line, len + 1);
				ok = 1;
			}
		}
	}
	pclose(p);
	return ok;
}

/* The same, for the path as the loader named it and, on a merged-/usr system where dpkg
 * knows only /usr/lib/..., for the file it resolves to. */
static int owning_package(const char *path, char *pkg, size_t n)
{
	char *real;
	int ok;

	if (query_owner(path, pkg, n))
		return 1;
	real = realpath(path, NULL);
	ok = real && strcmp(real, path) && query_owner(real, pkg, n);
	free(real);
	return ok;
}

void ct_frames_debug_hints(struct ct_frames *c, FILE *out)
{
	const uint8_t *id;
	size_t idlen, shown = 0;
	const char *path;

	if (!c->sym)
		return;
	for (size_t i = 0; (path = ct_sym_nodebug(c->sym, i, &id, &idlen)); i++) {
		char pkg[256], bid[2 * CT_BUILD_ID_MAX + 1];

		if (!shown++)
			fprintf(out, "\nno debugging information (file and line) for:\n");
		for (size_t k = 0; k < idlen; k++)
			snprintf(bid + 2 * k, 3, "%02x", id[k]);
		fprintf(out, "  %s: ", path);
		if (idlen < 2)
			fprintf(out, "no build-id: only an unstripped copy of the file would do\n");
		else if (owning_package(path, pkg, sizeof(pkg)))
			fprintf(out, "package %s-dbgsym (or %s-dbg) would supply "
				"/usr/lib/debug/.build-id/%.2s/%s.debug\n", pkg, pkg, bid, bid + 2);
		else
			fprintf(out, "/usr/lib/debug/.build-id/%.2s/%s.debug would supply it\n", bid,
				bid + 2);
	}
}
