/* SPDX-License-Identifier: MIT */
/*
 * `ctrace dump FILE`: prints the header and every record (generation markers, modules,
 * stacks with their PCs, thread states, events) one per line, in file order, streaming
 * from format/reader.h without building the model. Timestamps are relative to the
 * header's start_mono_ns. Called from ctrace.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../format/reader.h"
#include "commands.h"
#include "json.h"
#include "util.h"

static void usage(FILE *f)
{
	fputs("usage: ctrace dump FILE\n\n"
	      "Prints every record of a trace, one per line: header, generation markers,\n"
	      "modules, stacks (PCs), thread states and events (ts relative to the start).\n", f);
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

static void event(FILE *f, const struct ct_record *r, uint64_t start)
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
		if (e->kind == CT_K_COND)
			fprintf(f, " a=0x%" PRIx64, e->a);
		else
			fprintf(f, " a=%" PRIu64, e->a);
		fprintf(f, " b=%" PRIu64 " c=%" PRIu64, e->b, e->c);
		break;
	case CT_EV_WAIT_END:
		fprintf(f, " kind=%s obj=0x%" PRIx64 " a=%" PRIu64 " b=%" PRIu64 " c=%" PRIu64
			" result=%s", ct_kind_name(e->kind), e->obj, e->a, e->b, e->c,
			ct_result_name((unsigned)e->b));
		break;
	case CT_EV_RELEASE:
		fprintf(f, " kind=%s obj=0x%" PRIx64 " stack=%" PRIu32 " a=%" PRIu64 " b=%" PRIu64
			" c=%" PRIu64, ct_kind_name(e->kind), e->obj, e->stack, e->a, e->b, e->c);
		break;
	case CT_EV_THREAD_START:
		fprintf(f, " stack=%" PRIu32 " parent=%" PRIu64 " start=0x%" PRIx64, e->stack, e->a,
			e->b);
		break;
	case CT_EV_THREAD_NAME: {
		char name[CT_NAME_LEN];

		memcpy(name, &e->b, 8);
		memcpy(name + 8, &e->c, 8);
		fprintf(f, " tid=%" PRIu64 " name=", e->a);
		quoted(f, name, CT_NAME_LEN);
		break;
	}
	case CT_EV_THREAD_END:
		break;
	default:
		fprintf(f, " kind=%u obj=0x%" PRIx64 " stack=%" PRIu32 " a=%" PRIu64 " b=%" PRIu64
			" c=%" PRIu64, e->kind, e->obj, e->stack, e->a, e->b, e->c);
		break;
	}
	if (e->flags) {
		fprintf(f, " flags=0x%x", e->flags);
		if (e->flags & CT_EVF_BROADCAST)
			fputs(",broadcast", f);
		if (e->flags & CT_EVF_TIMED)
			fputs(",timed", f);
		if (e->flags & CT_EVF_CLOCK_RT)
			fputs(",realtime", f);
		if (e->flags & CT_EVF_OLD_ABI)
			fputs(",old_abi", f);
	}
	fputc('\n', f);
}

static void record(FILE *f, const struct ct_record *r, uint64_t start)
{
	switch (r->type) {
	case CT_REC_GEN_BEGIN:
		fprintf(f, "gen=%" PRIu32 " GEN_BEGIN ts=", r->gen);
		rel_ts(f, r->ts_mono, start);
		fprintf(f, " mono_ns=%" PRIu64 " real_ns=%" PRIu64 "\n", r->ts_mono, r->ts_real);
		break;
	case CT_REC_MODULE: {
		const struct ct_module *m = &r->module;

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

		fprintf(f, "gen=%" PRIu32 " STACK id=%" PRIu32 " nframes=%u%s pcs=", r->gen, s->id,
			s->nframes, (s->flags & CT_STACKF_TRUNCATED) ? " truncated" : "");
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
		event(f, r, start);
		break;
	case CT_REC_GEN_END:
		fprintf(f, "gen=%" PRIu32 " GEN_END ts=", r->gen);
		rel_ts(f, r->end_ts, start);
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
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return CT_EXIT_OK;
		}
		if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--"))
			ct_die(CT_EXIT_USAGE, "dump: unknown option '%s' (see 'ctrace dump --help')",
			       argv[i]);
		if (!strcmp(argv[i], "--") && i + 1 < argc) {
			i++;
		} else if (!strcmp(argv[i], "--")) {
			continue;
		}
		if (path)
			ct_die(CT_EXIT_USAGE, "dump: one FILE only (see 'ctrace dump --help')");
		path = argv[i];
	}
	if (!path)
		ct_die(CT_EXIT_USAGE, "dump: no FILE given (see 'ctrace dump --help')");
	rc = ct_reader_open(path, &r);
	if (rc < 0 || !r)
		ct_die(CT_EXIT_USAGE, "%s: %s", path,
		       rc == -ENOENT || rc == -EACCES || rc == -EISDIR ? strerror(-rc) :
		       ct_reader_open_error());
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
		record(stdout, &rec, h->start_mono_ns);
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", ct_reader_error(r));
		ct_reader_close(r);
		ct_die(CT_EXIT_USAGE, "%s: %s", path, msg);
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
