/* SPDX-License-Identifier: MIT */
/*
 * The ctrace command: main() and the subcommand table {name, summary, fn} that also
 * prints `ctrace --help`. Each subcommand lives in its own file (record.c, report.c,
 * dump.c, check.c, diff.c, export.c, attach.c). Exit status: 0 success, 1 `check` violations, 2 usage
 * error or unreadable input. `ctrace version` (or --version) prints the project's version,
 * CTRACE_VERSION, defined here and nowhere else, and the trace format versions this build
 * writes and reads (format/ctrace_format.h).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "export.h"
#include "util.h"
#include "../format/ctrace_format.h"

#define CTRACE_VERSION "0.9.0"

struct command {
	const char *name;
	const char *summary;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "record", "run a program with libctrace preloaded and write a trace", ct_cmd_record },
	{ "report", "where the threads waited: profiles, objects, threads (text or --json)",
	  ct_cmd_report },
	{ "dump", "print every record of a trace, one per line", ct_cmd_dump },
	{ "check", "CI gate: exit 1 when a rule (max wait, p99, total, convoy, deadlock) is "
		   "broken", ct_cmd_check },
	{ "diff", "what grew and shrank between two traces, per wait site and object",
	  ct_cmd_diff },
	{ "export", "write a trace for other tools: pprof, folded, chrome, perfetto, html",
	  ct_cmd_export },
	{ "attach", "trace a running process (ptrace, dlopen), then leave it running",
	  ct_cmd_attach },
	{ "detach", "stop the tracing 'ctrace attach' started", ct_cmd_detach },
	{ "top", "live view of a traced process: wait sites, locks, blocked threads", ct_cmd_top },
	{ "snapshot", "write a flight-mode process's recent past to a trace file now",
	  ct_cmd_snapshot },
	{ "pause", "stop recording in a running traced process (CTRACE_START)", ct_cmd_pause },
	{ "resume", "record again in a paused traced process", ct_cmd_resume },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The format versions come from the constants the writer and reader use: the reader takes
 * every minor version of its major one, and a later minor's unknown events are skipped. */
static int version(int argc, char **argv)
{
	if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		printf("usage: ctrace version (or ctrace --version)\n\nPrints the ctrace version "
		       "and the trace format versions it writes and reads.\n");
		return CT_EXIT_OK;
	}
	if (argc > 2)
		ct_die(CT_EXIT_USAGE, "version: unexpected argument '%s'", argv[2]);
	printf("ctrace %s\ntrace format: writes %d.%d; reads", CTRACE_VERSION, CT_VERSION_MAJOR,
	       CT_VERSION_MINOR);
	for (int m = 0; m <= CT_VERSION_1_MINOR; m++)
		printf("%s 1.%d", m ? "," : "", m);
	for (int m = 0; m <= CT_VERSION_MINOR; m++)
		printf(", %d.%d", CT_VERSION_MAJOR, m);
	printf(" (a later %d.x: what it adds is skipped)\n", CT_VERSION_MAJOR);
	return CT_EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ctrace COMMAND [ARGS...]\n\n"
		   "Records where the threads of a pthread program wait, and explains it.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-8s %s\n", "version", "the ctrace version and the trace format versions "
		   "it reads (also --version)");
	fprintf(f, "\n'ctrace COMMAND --help' describes one command.\n"
		   "exit status: 0 success, 1 check violation, 2 usage error or unreadable input\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage(stderr);
		return CT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (!strcmp(argv[1], "help") && argc > 2) {
			char *hargv[] = { argv[2], (char *)"--help", NULL };

			if (!strcmp(argv[2], "version"))
				return version(3, (char *[]){ argv[0], argv[2], (char *)"--help", NULL });
			if (!(c = find(argv[2])))
				ct_die(CT_EXIT_USAGE, "unknown command '%s' (see 'ctrace --help')",
				       argv[2]);
			return c->fn(2, hargv);
		}
		usage(stdout);
		return CT_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		return version(argc, argv);
	if (!(c = find(argv[1])))
		ct_die(CT_EXIT_USAGE, "unknown command '%s' (see 'ctrace --help')", argv[1]);
	return c->fn(argc - 1, argv + 1);
}
