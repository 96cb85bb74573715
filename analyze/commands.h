/* SPDX-License-Identifier: MIT */
/*
 * The ctrace subcommands, one file each, dispatched from the table in ctrace.c. Each takes
 * argv with argv[0] the subcommand name, handles its own --help (usage on stdout, exit
 * status 0), and returns the process exit status (util.h CT_EXIT_*).
 */
#ifndef CTRACE_COMMANDS_H
#define CTRACE_COMMANDS_H

/* record.c: run a program with libctrace.so preloaded. */
int ct_cmd_record(int argc, char **argv);
/* report.c: profiles, objects and threads of a trace, as text or JSON. */
int ct_cmd_report(int argc, char **argv);
/* dump.c: every record of a trace, one per line. */
int ct_cmd_dump(int argc, char **argv);

#endif
