#!/bin/sh
# SPDX-License-Identifier: MIT
# The cost of an attached process next to LD_PRELOAD: runs a benchmark untraced, under
# LD_PRELOAD and attached (`ctrace attach` while it waits for BENCH_WAIT_FILE, detached
# when it ends), interleaved, and prints the median ns_per_op of each and the medians of
# the per-run ratios. Also the stop times `ctrace attach` reports (the longest any one
# thread was stopped, the threads being stopped one at a time; the loading thread's call).
#
# usage: tests/bench/attach.sh BUILD_DIR [RUNS] -- BENCH ARGS...
#   e.g. tests/bench/attach.sh build 7 -- uncontended 20000000 1
set -u
BUILD=$(cd "${1:?usage: attach.sh BUILD_DIR [RUNS] -- BENCH ARGS...}" && pwd)
shift
RUNS=7
if [ "${1:-}" != "--" ]; then RUNS=$1; shift; fi
[ "${1:-}" = "--" ] && shift
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-attach-bench.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
ns() { sed -n 's/^ns_per_op=\([0-9.]*\).*/\1/p' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
i=0
while [ "$i" -lt "$RUNS" ]; do
	i=$((i + 1))
	timeout 120 "$BUILD/bench/$@" >"$TMP/u$i" || exit 1
	timeout 120 env LD_PRELOAD="$BUILD/libctrace.so" CTRACE_OUT="$TMP/p$i.ctr" \
		"$BUILD/bench/$@" >"$TMP/p$i" || exit 1
	: >"$TMP/log$i"
	BENCH_WAIT_FILE="$TMP/go$i" "$BUILD/bench/$@" >"$TMP/a$i" &
	pid=$!
	# attached once it is the benchmark with its libc mapped, not the shell before its
	# exec (under timeout, $! would be timeout's pid, and timeout would be traced)
	n=0
	until [ "$(readlink "/proc/$pid/exe")" = "$BUILD/bench/$1" ] &&
		grep -q 'libc\.so\.6' "/proc/$pid/maps" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -le 1000 ] || { echo "attach.sh: $1 did not start"; exit 1; }
		sleep 0.01
	done
	CTRACE_LIB="$BUILD/libctrace.so" timeout 120 "$BUILD/ctrace" attach "$pid" \
		-o "$TMP/a$i.ctr" 2>"$TMP/log$i" &
	apid=$!
	while ! grep -q 'tracing into' "$TMP/log$i"; do
		kill -0 "$apid" 2>/dev/null || { cat "$TMP/log$i"; exit 1; }
		sleep 0.01
	done
	touch "$TMP/go$i"
	wait "$pid" || exit 1
	wait "$apid"
	[ -s "$TMP/a$i.ctr" ] || { echo "attach.sh: the attached run left no trace"; cat "$TMP/log$i"; exit 1; }
	sed -n 's/.*, the longest \([0-9.]*\) ms), [a-z ]* took \([0-9.]*\) ms.*/\1 \2/p' \
		"$TMP/log$i" | head -n1 >>"$TMP/stops"
	echo "$(ns "$TMP/u$i") $(ns "$TMP/p$i") $(ns "$TMP/a$i")" >>"$TMP/runs"
done
echo "benchmark: $*  ($RUNS runs each, interleaved)"
echo "ns_per_op median: untraced $(cut -d' ' -f1 "$TMP/runs" | median)" \
	"LD_PRELOAD $(cut -d' ' -f2 "$TMP/runs" | median) attached $(cut -d' ' -f3 "$TMP/runs" | median)"
echo "ratio to untraced (median of runs): LD_PRELOAD" \
	"$(awk '{ printf "%.3f\n", $2 / $1 }' "$TMP/runs" | median)x attached" \
	"$(awk '{ printf "%.3f\n", $3 / $1 }' "$TMP/runs" | median)x"
stopped=$(cut -d' ' -f1 "$TMP/stops" | median)
maxstop=$(cut -d' ' -f1 "$TMP/stops" | sort -n | tail -n1)
call=$(cut -d' ' -f2 "$TMP/stops" | median)
echo "attach: longest stop of a thread median $stopped ms, max $maxstop ms; loading and starting median $call ms"
