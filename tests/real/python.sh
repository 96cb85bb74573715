#!/bin/bash
# SPDX-License-Identifier: MIT
# CPython's own thread tests (Debian's libpython3.11-testsuite: python3 -m test), untraced
# and traced. The tests start subprocesses (python -c ...) that inherit LD_PRELOAD: each
# process writes its own trace (CTRACE_OUT=WORKDIR/traces/py.%p.ctr), and some tests check
# that a subprocess wrote nothing on stderr. Prints key=value lines: each run's exit status,
# verdict and counts of test cases (ok, skipped, failed), its stderr (bytes, bytes besides
# regrtest's and asyncio's timing warnings, lines naming libctrace, and its start), whether the per-test-case result
# lines (-v, timings removed) are the same, the wall time of each run and their ratio, and
# the trace files (how many, how many `ctrace report` reads, the events they lost in all,
# the main process's trace).
# Exits non-zero when a run failed or the results differ.
#
# usage: tests/real/python.sh BUILD_DIR WORKDIR [short|long|TEST...]   (default long)
#   short: about 12 s per run; long: about 3 minutes per run (test_concurrent_futures).
set -u
BUILD=${1:?usage: python.sh BUILD_DIR WORKDIR [short|long|TEST...]}
WORK=${2:?usage: python.sh BUILD_DIR WORKDIR [short|long|TEST...]}
shift 2
BUILD=$(cd "$BUILD" && pwd) || exit 2
LIB=$BUILD/libctrace.so
CT=${CTRACE_CLI:-$BUILD/ctrace}
PY=/usr/bin/python3
SHORT="test_thread test_threading test_threading_local test_threadedtempfile
	test_asyncio.test_locks test_asyncio.test_queues"
LONG="$SHORT test_queue test_threadsignals test_asyncio.test_events
	test_asyncio.test_subprocess test_concurrent_futures"
case "${1:-long}" in
short) TESTS=$SHORT LIMIT=60 ;;
long) TESTS=$LONG LIMIT=900 ;;
*) TESTS="$*" LIMIT=900 ;;
esac
RUNNER=
# reap PGID: SIGKILL to what is left in the process group timeout made (its own pid): only
# processes this script started. A process that outlived the tests can block every signal
# but SIGKILL (see the notes of issue 5: a fork child kept alive by the writer thread).
reap() {
	kill -KILL -- "-$1" 2>/dev/null
}
trap '[ -n "$RUNNER" ] && { kill -TERM "$RUNNER" 2>/dev/null; sleep 1; reap "$RUNNER"; }' EXIT
trap 'exit 143' TERM INT
mkdir -p "$WORK" || exit 2
WORK=$(cd "$WORK" && pwd)
"$PY" -c 'import test.libregrtest, test.test_threading' 2>/dev/null ||
	{ echo "python.sh: the CPython test suite is not installed (libpython3-testsuite)" >&2; exit 2; }
command -v jq >/dev/null || { echo "python.sh: jq not installed" >&2; exit 2; }

# The result lines of a -v run: one per test case (its name and verdict; a case whose own
# output came between its name and its verdict is left out), the summary lines; timings
# and load averages removed, and the note a progress line carries when the test before
# it took 30 s or more ("[3/6] test_b -- test_a passed in 32.3 sec": a slower machine's).
results() {
	sed -E -n \
		-e '/^[a-zA-Z_0-9]+ \([a-zA-Z_0-9.]+\) \.\.\. (ok|skipped .*|FAIL|ERROR|expected failure|unexpected success)$/p' \
		-e 's/^Ran ([0-9]+) tests? in .*/Ran \1 tests/p' \
		-e '/^(OK|FAILED)( \(.*\))?$/p' \
		-e 's/^[0-9:]+ load avg: [0-9.]+ //; s/^(\[ *[0-9]+\/[0-9]+\] [^ ]+) -- .*/\1/' \
		-e '/^\[ *[0-9]+\/[0-9]+\]/p' \
		-e '/^(== Tests result|All [0-9]+ tests OK|Tests result:)/p' "$1"
}

run_one() {
	local mode=$1 t0 t1 rc
	# a fresh temporary directory per run: the tests create files and sockets there
	mkdir -p "$WORK/tmp.$mode" "$WORK/traces"
	t0=$(date +%s%N)
	# in the background with its pid kept: a kill of this script (bats' timeout) is passed on
	# to the timeout's process group, which holds every process the tests started
	local env=(env TMPDIR="$WORK/tmp.$mode")
	[ "$mode" = traced ] && env+=(CTRACE_OUT="$WORK/traces/py.%p.ctr" LD_PRELOAD="$LIB")
	# shellcheck disable=SC2086
	(cd "$WORK/tmp.$mode" && exec timeout -k 5 "$LIMIT" "${env[@]}" "$PY" -m test -v $TESTS \
		>"$WORK/out.$mode" 2>"$WORK/err.$mode") &
	RUNNER=$!
	wait "$RUNNER"
	rc=$?
	echo "${mode}_leftover_processes=$(pgrep -g "$RUNNER" | wc -l)"
	reap "$RUNNER"
	RUNNER=
	t1=$(date +%s%N)
	results "$WORK/out.$mode" >"$WORK/results.$mode"
	echo "${mode}_exit=$rc"
	echo "${mode}_verdict=$(sed -n 's/^Tests result: //p' "$WORK/out.$mode" | tail -n1)"
	echo "${mode}_cases_ok=$(grep -c ' \.\.\. ok$' "$WORK/results.$mode")"
	echo "${mode}_cases_skipped=$(grep -c ' \.\.\. skipped' "$WORK/results.$mode")"
	echo "${mode}_cases_failed=$(grep -Ec ' \.\.\. (FAIL|ERROR)$' "$WORK/results.$mode")"
	echo "${mode}_stderr_bytes=$(wc -c <"$WORK/err.$mode")"
	# regrtest's own "Warning -- " lines (a thread or process of a test still running
	# when its check came, on a slow or busy machine) are apart from the rest, and so are
	# the two lines asyncio's child watcher logs when test_asyncio.test_subprocess closes
	# a loop before the child it watches is reaped (seen untraced in 1 of 3 runs of that
	# test with two busy loops on the 2-core VM)
	echo "${mode}_stderr_other_bytes=$(grep -Ev '^Warning -- |^Unknown child process pid [0-9]+, will report returncode 255$|^Loop <.*> that handles pid [0-9]+ is closed$' \
		"$WORK/err.$mode" | wc -c)"
	echo "${mode}_stderr_libctrace_lines=$(grep -c 'libctrace' "$WORK/err.$mode")"
	head -c 2000 "$WORK/err.$mode" | sed "s/^/${mode}_stderr: /"
	echo "${mode}_ms=$(((t1 - t0) / 1000000))"
}

rm -rf "$WORK/traces"
# not in a pipeline: run_one must run in this shell, where the traps see RUNNER
run_one untraced >"$WORK/untraced.kv"
cat "$WORK/untraced.kv"
run_one traced >"$WORK/traced.kv"
cat "$WORK/traced.kv"
kv() { sed -n "s/^$2=//p" "$WORK/$1.kv"; }
awk -v u="$(kv untraced untraced_ms)" -v t="$(kv traced traced_ms)" \
	'BEGIN { printf "time_ratio=%.3f\n", u ? t / u : 0 }'
echo "tests=$(echo $TESTS)"

# every trace must be readable; the main process is the one whose parent is this shell's
# subshell, i.e. the trace with the most threads is reported as main_trace.
files=0 readable=0 best=-1 lost=0 main=
for f in "$WORK"/traces/*.ctr; do
	[ -f "$f" ] || continue
	files=$((files + 1))
	if "$CT" report --json "$f" >"$f.json" 2>"$f.err"; then
		readable=$((readable + 1))
		n=$(jq '.trace.threads' "$f.json")
		[ "$n" -gt "$best" ] && best=$n main=$f
		lost=$((lost + $(jq '.trace.lost_events' "$f.json")))
	else
		echo "unreadable trace: $f: $(cat "$f.err")" >&2
	fi
done
echo "trace_files=$files"
echo "traces_readable=$readable"
echo "traces_lost_events=$lost"
echo "main_trace=$main"
echo "main_trace_threads=$best"
if cmp -s "$WORK/results.untraced" "$WORK/results.traced"; then
	echo "results=same"
else
	echo "results=differ"
	diff "$WORK/results.untraced" "$WORK/results.traced" >&2
	exit 1
fi
echo "result_lines=$(wc -l <"$WORK/results.traced")"
[ "$(kv untraced untraced_exit)" = "$(kv traced traced_exit)" ] &&
	[ "$(kv traced traced_exit)" = 0 ] && [ "$files" -gt 0 ] && [ "$readable" = "$files" ]
