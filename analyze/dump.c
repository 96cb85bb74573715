/* SPDX-License-Identifier: MIT */
/*
 * `ctrace dump FILE`: prints the header and every record (generation markers, modules,
 * stacks with their PCs, thread states, events) one per line, in file order, streaming
 * from format/reader.h without building the model. Timestamps are relative to the
 * header's start_mono_ns. A SYSCALL line names its call site (pcs[0] of its stack, from
 * the STACK records seen so far), and so does a HOLD line (the call site that took the
 * held lock, symbolized over the modules streamed so far, and the lock's variable when
 * the symbol table has one). A damaged chunk is skipped (a last "# damaged" line counts them) unless
 * --strict. Called from ctrace.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../format/events.h"
#include "../format/reader.h"
#include "../unwind/symbolize.h"
#include "commands.h"
#include "frames.h"
#include "json.h"
#include "options.h"
#include "util.h"

/* The modules streamed so far (each once), and a symbolizer over them, remade when a new
 * one arrives: HOLD lines name the lock and the call site that took it. */
struct dsym {
	struct ct_module *mods;
	size_t n, cap;
	struct ct_sym *sym;
	int stale;
};

static void dsym_add(struct dsym *d, const struct ct_module *m)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->mods[i].lo == m->lo && d->mods[i].hi == m->hi &&
		    !strcmp(d->mods[i].path, m->path ? m->path : ""))
			return;
	ct_grow(&d->mods, &d->cap, d->n + 1, sizeof(*d->mods));
	d->mods[d->n] = *m;
	d->mods[d->n].path = ct_xstrdup(m->path ? m->path : "");
	d->n++;
	d->stale = 1;
}

static struct ct_sym *dsym_get(struct dsym *d)
{
	if (d->stale || !d->sym) {
		ct_sym_free(d->sym);
		d->sym = ct_sym_new(d->mods, d->n);
		d->stale = 0;
	}
	return d->sym;
}

static void dsym_free(struct dsym *d)
{
	for (size_t i = 0; i < d->n; i++)
		free((char *)d->mods[i].path);
	free(d->mods);
	ct_sym_free(d->sym);
}

/* " lock=NAME[+0xOFF] at=func (file:line)" for a HOLD: the variable the lock is (when the
 * symbol table has it) and the symbolized call site. */
static void hold_names(FILE *f, struct dsym *d, uint64_t obj, uint64_t site)
{
	struct ct_sym *sy = dsym_get(d);
	struct ct_frame fr[8];
	char buf[512];
	uint64_t off = 0;
	const char *var;

	if (!sy)
		return;
	if ((var = ct_sym_data_name(sy, obj, &off)) != NULL) {
		fprintf(f, " lock=%s", ct_basename(var));
		if (off)
			fprintf(f, "+0x%" PRIx64, off);
	}
	if (site && ct_sym_resolve(sy, site, 0, fr, 8) > 0)
		fprintf(f, " at=%s", ct_frame_str(&fr[0], CT_FRAME_MODULE | CT_FRAME_PC, buf,
						   sizeof(buf)));
}

/* Stack id -> pcs[0], from the STACK records streamed so far (open addressing). */
struct sites {
	uint32_t *ids; /* 0 = empty */
	uint64_t *pcs;
	size_t slots, used;
};

static size_t slot_of(const struct sites *s, uint32_t id)
{
	size_t j = (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (s->slots - 1);

	while (s->ids[j] && s->ids[j] != id)
		j = (j + 1) & (s->slots - 1);
	return j;
}

static void sites_put(struct sites *s, uint32_t id, uint64_t pc)
{
	size_t j;

	if (!id)
		return;
	if ((s->used + 1) * 2 > s->slots) {
		struct sites n = { NULL, NULL, s->slots ? s->slots * 2 : 256, s->used };

		n.ids = ct_xcalloc(n.slots, sizeof(*n.ids));
		n.pcs = ct_xcalloc(n.slots, sizeof(*n.pcs));
		for (size_t i = 0; i < s->slots; i++) {
			if (!s->ids[i])
				continue;
			j = slot_of(&n, s->ids[i]);
			n.ids[j] = s->ids[i];
			n.pcs[j] = s->pcs[i];
		}
		free(s->ids);
		free(s->pcs);
		*s = n;
	}
	j = slot_of(s, id);
	s->used += !s->ids[j];
	s->ids[j] = id;
	s->pcs[j] = pc;
}

/* pcs[0] of stack id, 0 when unknown. */
static uint64_t sites_get(const struct sites *s, uint32_t id)
{
	size_t j;

	if (!id || !s->slots)
		return 0;
	j = slot_of(s, id);
	return s->ids[j] ? s->pcs[j] : 0;
}

enum { OPT_STRICT = CT_OPT_CMD };

static const struct ct_opt dump_opts[] = {
	{ "strict", OPT_STRICT, 0, NULL, "a damaged chunk is an error (exit 2); by default it "
	  "is\nskipped, and counted in a last '# damaged' line", NULL, NULL },
};

static const struct ct_opt_table dump_tables[] = {
	{ "options:", 10, dump_opts, CT_OPTS_N(dump_opts) },
};

static const struct ct_cmd_opts dump_cmd = {
	"dump",
	"usage: ctrace dump [--strict] FILE\n\n"
	"Prints every record of a trace, one per line: header, generation markers,\n"
	"modules, stacks (PCs), thread states and events (ts relative to the start).\n",
	dump_tables, CT_OPTS_N(dump_tables), NULL, 0,
};

static int set(void *st, const struct ct_opt *row, const char *opt, const char *val, char *err,
	       size_t errlen)
{
	(void)val;
	if (row->key == OPT_STRICT) {
		*(int *)st = 1;
		return 0;
	}
	snprintf(err, errlen, "unexpected option %s", opt);
	return -1;
}

/* "+1.234567ms" relative to start */
static void rel_ts(FILE *f, uint64_t ts, uint64_t start)
{
	uint64_t d = ts >= start ? ts - start : start - ts;

	fprintf(f, "%c%" PRIu64 ".%06" PRIu64 "ms", ts >= start ? '+' : '-', d / 1000000,
		d % 1000000);
}

static void upper_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(toupper((unsigned char)*s), f);
}

/* A 16-byte name field as a JSON-style quoted string (non-printables escaped). */
static void quoted(FILE *f, const char *s, size_t max)
{
	char buf[CT_NAME_LEN + 1];
	size_t n = strnlen(s, max < CT_NAME_LEN ? max : CT_NAME_LEN);

	memcpy(buf, s, n);
	buf[n] = 0;
	ct_json_write_string(f, buf);
}

/* "5.012345ms": a duration exactly, in the unit of the relative timestamps. */
static void dur(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%06" PRIu64 "ms", ns / 1000000, ns % 1000000);
}

/* kind=read fd=5 class=pipe ret=4096 errno=0 dur=5.012345ms site=0x... stack=3 */
static void syscall_fields(FILE *f, const struct ct_event *e, const struct sites *st)
{
	unsigned err = ct_ev_syscall_err(e), cls = ct_ev_syscall_fd_class(e);

	fprintf(f, " kind=%s", ct_kind_name(e->kind));
	if (ct_ev_syscall_fd(e) == UINT64_MAX)
		fputs(" fd=-", f);
	else
		fprintf(f, " fd=%" PRIu64, ct_ev_syscall_fd(e));
	fprintf(f, " class=%s ret=%" PRId64 " errno=%u", ct_fd_class_name(cls),
		ct_ev_syscall_ret(e), err);
	if (err && strerrorname_np((int)err))
		fprintf(f, ",%s", strerrorname_np((int)err));
	fputs(" dur=", f);
	dur(f, ct_ev_syscall_duration(e));
	fprintf(f, " site=0x%" PRIx64 " stack=%" PRIu32, sites_get(st, e->stack), e->stack);
}

/* kind=read class=pipe site=0x... calls=1002 total=3.000000ms max=1.000000ms */
static void site_fields(FILE *f, const struct ct_event *e)
{
	fprintf(f, " kind=%s class=%s site=0x%" PRIx64 " calls=%" PRIu64 " total=",
		ct_kind_name(e->kind), ct_fd_class_name(ct_ev_site_fd_class(e)), ct_ev_site_pc(e),
		ct_ev_site_calls(e));
	dur(f, ct_ev_site_total_ns(e));
	fputs(" max=", f);
	dur(f, ct_ev_site_max_ns(e));
}

static void event(FILE *f, const struct ct_record *r, uint64_t start,
		  const struct sites *st, struct dsym *d)
{
	const struct ct_event *e = &r->ev;

	fprintf(f, "gen=%" PRIu32 " tid=%" PRIu32 " ts=", r->gen, r->tid);
	rel_ts(f, e->ts, start);
	fputc(' ', f);
	upper_name(f, ct_event_name(e->type));
	switch (e->type) {
	case CT_EV_WAIT_BEGIN:
		fprintf(f, " kind=%s obj=0x%" PRIx64 " stack=%" PRIu32, ct_kind_name(e->kind),
			e->obj, e->stack);
		/* the line keeps the slot names a, b, c: owner, seq, deadline */
		if (e->kind == CT_K_COND)
			fprintf(f, " a=0x%" PRIx64, ct_ev_wait_begin_owner(e));
		else
			fprintf(f, " a=%" PRIu64, ct_ev_wait_begin_owner(e));
		fprintf(f, " b=%" PRIu64 " c=%" PRIu64, ct_ev_wait_begin_seq(e),
			ct_ev_wait_begin_deadline(e));
		break;
	case CT_EV_WAIT_END:
		/* a, b, c: seq, result, ret (as an unsigned slot value) */
		fprintf(f, " kind=%s obj=0x%" PRIx64 " a=%" PRIu64 " b=%" PRIu64 " c=%" PRIu64
			" result=%s", ct_kind_name(e->kind), e->obj, ct_ev_wait_end_seq(e),
			ct_ev_wait_end_result(e), (uint64_t)ct_ev_wait_end_ret(e),
			ct_result_name((unsigned)ct_ev_wait_end_result(e)));
		break;
	case CT_EV_RELEASE:
		/* a, b: seq, waiters; c unused */
		fprintf(f, " kind=%s obj=0x%" PRIx64 " stack=%" PRIu32 " a=%" PRIu64 " b=%" PRIu64
			" c=%" PRIu64, ct_kind_name(e->kind), e->obj, e->stack, ct_ev_release_seq(e),
			ct_ev_release_waiters(e), ct_ev_slot(e, 2));
		break;
	case CT_EV_THREAD_START:
		fprintf(f, " stack=%" PRIu32 " parent=%" PRIu64 " start=0x%" PRIx64, e->stack,
			ct_ev_thread_start_parent(e), ct_ev_thread_start_start_func(e));
		break;
	case CT_EV_THREAD_NAME: {
		char name[CT_NAME_LEN];

		ct_ev_thread_name_get(e, name);
		fprintf(f, " tid=%" PRIu64 " name=", ct_ev_thread_name_tid(e));
		quoted(f, name, CT_NAME_LEN);
		break;
	}
	case CT_EV_THREAD_END:
		if (ct_ev_thread_end_cpu_ns(e) || ct_ev_thread_end_runq_ns(e))
			fprintf(f, " cpu_ns=%" PRIu64 " runqueue_ns=%" PRIu64,
				ct_ev_thread_end_cpu_ns(e), ct_ev_thread_end_runq_ns(e));
		break;
	case CT_EV_SYSCALL:
		syscall_fields(f, e, st);
		break;
	case CT_EV_SITE:
		site_fields(f, e);
		break;
	case CT_EV_HOLD:
		/* a lock held by a thread about to block, and the call site that took it */
		fprintf(f, " kind=%s obj=0x%" PRIx64 " site=0x%" PRIx64 " stack=%" PRIu32
			" taken=%s", ct_kind_name(e->kind), e->obj, sites_get(st, e->stack), e->stack,
			ct_ev_hold_after_wait(e) ? "after_wait" : "without_wait");
		hold_names(f, d, e->obj, sites_get(st, e->stack));
		break;
	case CT_EV_TASK_BEGIN: case CT_EV_TASK_END: case CT_EV_REGION_BEGIN:
	case CT_EV_REGION_END: case CT_EV_LOG: case CT_EV_LABEL: case CT_EV_TEXT: {
		/* annotations: task (obj), a, the bytes of the text this record holds (a NUL
		 * separates a log's category and message, a label's key and value), and how
		 * many TEXT records follow with the rest */
		char text[CT_TEXT_PART];
		size_t n = ct_ev_text_get(e, text);

		fprintf(f, " task=%" PRIu64 " stack=%" PRIu32, e->obj, e->stack);
		if (e->type != CT_EV_TEXT)
			fprintf(f, " a=%" PRIu64, ct_ev_slot(e, 0));
		fputs(" text=\"", f);
		while (n && !text[n - 1])
			n--;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)text[i];

			if (!ch)
				fputs("\\0", f);
			else if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
				fprintf(f, "\\x%02x", ch);
			else
				fputc(ch, f);
		}
		fputc('"', f);
		if (e->type != CT_EV_TEXT)
			fprintf(f, " more=%u", (unsigned)e->flags);
		break;
	}
	case CT_EV_LOCK_ORDER:
		/* obj taken (site: stack) while holding `held` (its site: held_stack) */
		fprintf(f, " kind=%s obj=0x%" PRIx64 " stack=%" PRIu32 " held=0x%" PRIx64
			" held_kind=%s held_stack=%" PRIu32, ct_kind_name(e->kind), e->obj, e->stack,
			ct_ev_lock_order_held(e), ct_kind_name(ct_ev_lock_order_held_kind(e)),
			ct_ev_lock_order_held_stack(e));
		break;
	case CT_EV_TRIGGER:
		/* what made this flight-mode snapshot */
		fprintf(f, " reason=%s tid=%" PRIu32 " kind=%s obj=0x%" PRIx64 " stack=%" PRIu32
			" profile=%s wait_ns=%" PRIu64 " signal=%u suppressed=%" PRIu64,
			ct_trigger_name(ct_ev_trigger_reason(e)), ct_ev_trigger_tid(e),
			ct_kind_name(e->kind), e->obj, e->stack,
			ct_profile_name(ct_ev_trigger_profile(e)), ct_ev_trigger_wait_ns(e),
			ct_ev_trigger_signo(e), ct_ev_trigger_suppressed(e));
		break;
	default:
		fprintf(f, " kind=%u obj=0x%" PRIx64 " stack=%" PRIu32 " a=%" PRIu64 " b=%" PRIu64
			" c=%" PRIu64, e->kind, e->obj, e->stack, ct_ev_slot(e, 0), ct_ev_slot(e, 1),
			ct_ev_slot(e, 2));
		break;
	}
	/* SITE's flags hold a class, an annotation's its TEXT count: no CT_EVF_* there */
	if (e->flags && e->type != CT_EV_SITE &&
	    !(e->type >= CT_EV_TASK_BEGIN && e->type <= CT_EV_TEXT)) {
		fprintf(f, " flags=0x%x", e->flags);
		if (e->flags & CT_EVF_BROADCAST)
			fputs(",broadcast", f);
		if (e->flags & CT_EVF_TIMED)
			fputs(",timed", f);
		if (e->flags & CT_EVF_CLOCK_RT)
			fputs(",realtime", f);
		if (e->flags & CT_EVF_OLD_ABI)
			fputs(",old_abi", f);
		if (e->flags & CT_EVF_HANDOFF)
			fputs(",handoff", f);
	}
	fputc('\n', f);
}

static void record(FILE *f, const struct ct_record *r, uint64_t start, struct sites *st,
		   struct dsym *d)
{
	switch (r->type) {
	case CT_REC_GEN_BEGIN:
		fprintf(f, "gen=%" PRIu32 " GEN_BEGIN ts=", r->gen);
		rel_ts(f, r->ts_mono, start);
		fprintf(f, " mono_ns=%" PRIu64 " real_ns=%" PRIu64 "\n", r->ts_mono, r->ts_real);
		break;
	case CT_REC_MODULE: {
		const struct ct_module *m = &r->module;

		dsym_add(d, m);
		fprintf(f, "gen=%" PRIu32 " MODULE lo=0x%" PRIx64 " hi=0x%" PRIx64 " bias=0x%" PRIx64
			" main=%u build_id=", r->gen, m->lo, m->hi, m->bias, m->is_main);
		for (unsigned i = 0; i < m->build_id_len && i < CT_BUILD_ID_MAX; i++)
			fprintf(f, "%02x", m->build_id[i]);
		if (!m->build_id_len)
			fputc('-', f);
		fprintf(f, " path=%s\n", m->path ? m->path : "");
		break;
	}
	case CT_REC_STACK: {
		const struct ct_stack *s = &r->stack;

		sites_put(st, s->id, s->nframes ? s->pcs[0] : 0);

		fprintf(f, "gen=%" PRIu32 " STACK id=%" PRIu32 " nframes=%u%s%s pcs=", r->gen, s->id,
			s->nframes, (s->flags & CT_STACKF_TRUNCATED) ? " truncated" : "",
			(s->flags & CT_STACKF_SITE) ? " site" : "");
		for (unsigned i = 0; i < s->nframes; i++)
			fprintf(f, "%s0x%" PRIx64, i ? "," : "", s->pcs[i]);
		if (!s->nframes)
			fputc('-', f);
		fputc('\n', f);
		break;
	}
	case CT_REC_THREAD: {
		const struct ct_thread_state *t = &r->thread;

		fprintf(f, "gen=%" PRIu32 " THREAD tid=%" PRIu32 " parent=%" PRIu32
			" start=0x%" PRIx64 " name=", r->gen, t->tid, t->parent_tid, t->start_func);
		quoted(f, t->name, sizeof(t->name));
		if (t->blocked) {
			fprintf(f, " blocked kind=%s obj=0x%" PRIx64 " since=", ct_kind_name(t->kind),
				t->obj);
			rel_ts(f, t->since, start);
		}
		fprintf(f, " cpu_ns=%" PRIu64 " runq_ns=%" PRIu64 "\n", t->cpu_ns, t->runq_ns);
		break;
	}
	case CT_REC_EVENT:
		event(f, r, start, st, d);
		break;
	case CT_REC_GEN_END:
		fprintf(f, "gen=%" PRIu32 " GEN_END ts=", r->gen);
		rel_ts(f, r->end_ts, start);
		if (r->has_untraced) /* a recorder that counts them */
			fprintf(f, " untraced_threads=%" PRIu64, r->untraced);
		fputs(" lost=", f);
		for (int c = 0; c < CT_L_MAX; c++)
			fprintf(f, "%s%s:%" PRIu64, c ? "," : "", ct_lost_name((unsigned)c), r->lost[c]);
		fputc('\n', f);
		break;
	default:
		fprintf(f, "gen=%" PRIu32 " RECORD type=%d\n", r->gen, (int)r->type);
		break;
	}
}

int ct_cmd_dump(int argc, char **argv)
{
	const char *path = NULL;
	const struct ct_file_header *h;
	struct ct_reader *r = NULL;
	struct ct_record rec;
	struct sites st = { 0 };
	struct dsym ds = { 0 };
	int rc, strict = 0;

	{
		const char **ops = ct_xcalloc((size_t)argc + 1, sizeof(*ops));
		size_t nops;
		char err[256];

		rc = ct_opts_parse(&dump_cmd, argc, argv, set, &strict, ops, &nops, err, sizeof(err));
		if (rc > 0) {
			ct_opts_help(&dump_cmd, stdout);
			free(ops);
			return CT_EXIT_OK;
		}
		if (rc < 0)
			ct_die(CT_EXIT_USAGE, "dump: %s", err);
		if (nops > 1)
			ct_die(CT_EXIT_USAGE, "dump: one FILE only (see 'ctrace dump --help')");
		if (!nops)
			ct_die(CT_EXIT_USAGE, "dump: no FILE given (see 'ctrace dump --help')");
		path = ops[0];
		free(ops);
	}
	rc = ct_reader_open(path, &r);
	if (rc < 0 || !r)
		ct_die(CT_EXIT_USAGE, "%s: %s", path,
		       rc == -ENOENT || rc == -EACCES || rc == -EISDIR ? strerror(-rc) :
		       ct_reader_open_error());
	ct_reader_skip_damaged(r, !strict);
	h = ct_reader_header(r);
	printf("header version=%u.%u pid=%" PRIu32 " ppid=%" PRIu32 " exe=", h->version_major,
	       h->version_minor, h->pid, h->ppid);
	{
		char exe[sizeof(h->exe) + 1];

		memcpy(exe, h->exe, sizeof(h->exe));
		exe[sizeof(h->exe)] = 0;
		ct_json_write_string(stdout, exe);
	}
	printf(" start_mono_ns=%" PRIu64 " start_real_ns=%" PRIu64 " flags=0x%" PRIx32 "\n",
	       h->start_mono_ns, h->start_real_ns, h->flags);
	while ((rc = ct_reader_next(r, &rec)) == 1)
		record(stdout, &rec, h->start_mono_ns, &st, &ds);
	dsym_free(&ds);
	free(st.ids);
	free(st.pcs);
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", ct_reader_error(r));
		ct_reader_close(r);
		ct_die(CT_EXIT_USAGE, "%s: %s", path, msg);
	}
	if (ct_reader_damaged(r)) {
		uint64_t off;
		const char *msg = ct_reader_damage(r, &off);

		printf("# damaged: %" PRIu64 " damaged stretch%s skipped, the first at byte offset "
		       "%" PRIu64 " (%s)\n", ct_reader_damaged(r),
		       ct_reader_damaged(r) == 1 ? "" : "es", off, msg);
		ct_err("warning: %s: %s; skipped (--strict fails instead)", path, msg);
	}
	if (ct_reader_truncated(r))
		printf("# truncated: %" PRIu64 " trailing bytes not decoded%s\n",
		       ct_reader_trailing_bytes(r),
		       ct_reader_trailing_bytes(r) ? "" : " (the last generation has no end)");
	ct_reader_close(r);
	if (fflush(stdout) != 0 || ferror(stdout))
		ct_die(CT_EXIT_USAGE, "dump: write error: %s", strerror(errno));
	return CT_EXIT_OK;
}
