#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the bats CLI tests (TAP, with each test's duration) and prints one summary line,
# "bats: N passed, N failed, N skipped".
# Environment: CTRACE_BUILD (build dir), optionally CTRACE_CLI (a sanitized ctrace),
# CTRACE_BATS_JOBS (how many bats files run at once, default 2; 1 runs them one by one).
#
# The files run CTRACE_BATS_JOBS at a time (each test is made to pass on a loaded machine,
# and most of their time is spent waiting), longest first; each file's TAP is printed
# when it ends, after a line "# FILE: N s". examples.bats and export.bats run one after
# the other: both run `make demo`'s script, which writes the build directory's demo/. The
# real-server files (real*.bats: third-party servers traced and untraced, two minutes
# together) come first, one after the other in one unit, beside the other files (they
# ran alone after them once, which made the pass two minutes longer; their traced and
# untraced runs alternate, so what runs beside them weighs on both).
#
# With a sanitized ctrace the preload is the same, only ctrace is sanitized, so what tests
# only the preload is not run again:
# - the real-server files are left out: they test the servers under the preload and take
#   minutes;
# - the tests that call preload_only (helpers.bash) skip: they check the traced program
#   and libctrace (exits, memory over 100,000 threads, a 10 s busy run) and what they ask
#   of ctrace other tests of the pass ask too (tests/README.md lists them).
# Every other test runs. A skip is not counted as passed.
dir=$(dirname "$0")/bats
jobs=${CTRACE_BATS_JOBS:-2}
# `ctrace record` finds libctrace.so next to itself; a sanitized ctrace lives elsewhere.
export CTRACE_LIB="${CTRACE_LIB:-$CTRACE_BUILD/libctrace.so}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The units of work, one a line: the files one bats run takes. The longest first (as
# measured; a file not named here comes after them, in name order).
first="process analyses blocking firstlaw attach flight exits robust-signals noise"
{
	if [ -z "${CTRACE_CLI:-}" ]; then
		real=$(for f in "$dir"/real*.bats; do [ ! -e "$f" ] || printf '%s ' "$f"; done)
		[ -z "$real" ] || echo "$real"
	fi
	for f in $first; do [ ! -e "$dir/$f.bats" ] || echo "$dir/$f.bats"; done
	echo "$dir/export.bats $dir/examples.bats"
	for f in "$dir"/*.bats; do
		case " $first export examples " in *" $(basename "$f" .bats) "*) continue ;; esac
		case $f in */real*.bats) continue ;; esac
		echo "$f"
	done
} >"$tmp/units"

# run_unit N FILES: bats over FILES, its TAP into $tmp/out.N, its status into $tmp/rc.N;
# then the TAP printed, one unit at a time.
run_unit() {
	u=$1
	shift
	t0=$(date +%s)
	bats --tap --timing "$@" >"$tmp/out.$u" 2>&1 </dev/null
	echo $? >"$tmp/rc.$u"
	t1=$(date +%s)
	until mkdir "$tmp/print.lock" 2>/dev/null; do sleep 0.1; done
	echo "# $(for f in "$@"; do basename "$f"; done | tr '\n' ' ')$((t1 - t0)) s"
	cat "$tmp/out.$u"
	rmdir "$tmp/print.lock"
}

# worker: takes the units no other worker has taken (mkdir is the claim), in order.
worker() {
	n=0
	while read -r files; do
		n=$((n + 1))
		mkdir "$tmp/claim.$n" 2>/dev/null || continue
		# shellcheck disable=SC2086 # one word per file
		run_unit "$n" $files
	done <"$tmp/units"
}

i=0
while [ "$i" -lt "$jobs" ]; do
	worker &
	i=$((i + 1))
done
wait

cat "$tmp"/out.* >"$tmp/log"
passed=$(grep '^ok ' "$tmp/log" | grep -vc ' # skip')
skipped=$(grep '^ok ' "$tmp/log" | grep -c ' # skip')
failed=$(grep -c '^not ok ' "$tmp/log")
rc=0
for f in "$tmp"/rc.*; do [ "$(cat "$f")" = 0 ] || rc=1; done
echo "bats${CTRACE_CLI:+ (sanitized ctrace)}: $passed passed, $failed failed, $skipped skipped"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
