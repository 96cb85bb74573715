#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks the stack each function of libctrace.so uses (gcc/clang -fstack-usage, one .su
# file per object) against the budgets of preload/README.md ("Stack budget"):
#   - every function that may run on a program thread (the record path, thread start and
#     exit, the fatal-signal handler, the wrappers): at most APP bytes;
#   - the functions that run only on libctrace's own stacks (the flush stack, the writer
#     thread) or in the constructor: at most FLUSH bytes each, named below;
#   - no unbounded dynamic allocation, except the execl* argv array (as glibc's own
#     execl has), sized by the program's own arguments (the new image's environment is
#     mapped: process.c).
# usage: stack-budget.sh SU-DIR [APP [FLUSH]]    exits 1 with one line per excess.
dir=${1:?usage: stack-budget.sh SU-DIR [APP [FLUSH]]}
app=${2:-1280}
flush=${3:-16384}
# Functions of the flush path (ownstack.c runs them on the flush stack, or the writer
# thread does) and of the constructor (main thread, at load).
own='ct_trace_open create_trace ct_flight_cycle ct_flight_final snapshot ct_ctl_poll ct_ctl_init ct_trigger_written make_spare only_writer_left write_sites snap_cb ct_config_read'
dyn_ok='execl execle execlp'
files=$(find "$dir" -name '*.su')
[ -n "$files" ] || { echo "stack-budget: no .su files under $dir" >&2; exit 1; }
cat $files | awk -F'\t' -v app="$app" -v flush="$flush" -v own="$own" -v dok="$dyn_ok" '
BEGIN { n = split(own, o, " "); for (i = 1; i <= n; i++) isown[o[i]] = 1
        n = split(dok, d, " "); for (i = 1; i <= n; i++) isdok[d[i]] = 1 }
{
	name = $1; sub(/^.*:/, "", name); sub(/\..*$/, "", name)
	bytes = $2 + 0; kind = $3
	limit = isown[name] ? flush : app
	if (kind ~ /dynamic/ && kind !~ /bounded/ && !isdok[name]) {
		printf "stack-budget: %s: unbounded dynamic stack (%s)\n", $1, kind; bad = 1
	} else if (bytes > limit) {
		printf "stack-budget: %s: %d bytes, budget %d (%s)\n", $1, bytes, limit,
		       isown[name] ? "flush stack" : "program threads"; bad = 1
	}
	if (!isown[name] && bytes > maxapp) { maxapp = bytes; appfn = $1 }
	if (isown[name] && bytes > maxown) { maxown = bytes; ownfn = $1 }
}
END {
	if (!bad && ENVIRON["STACK_BUDGET_VERBOSE"] != "")
		printf "stack-budget: largest on program threads %d (%s), on own stacks %d (%s)\n",
		       maxapp, appfn, maxown, ownfn
	exit bad
}'
