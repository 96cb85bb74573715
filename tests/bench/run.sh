#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench`: runs each record-path benchmark (build/bench/*) untraced and traced under
# libctrace.so, interleaved, and prints traced/untraced ratios against the targets in
# tests/bench/README.md. Benchmarks inform, tests gate: a MISS does not fail the run (exit 0);
# an ERROR does (exit 1): a benchmark that crashed, printed no result, or a traced run that
# left no trace, because then the comparison means nothing.
#
# usage: tests/bench/run.sh BUILD_DIR
# knobs (environment):
#   BENCH_PAIRS=7      untraced/traced pairs per benchmark (per-pair ratios, then the median)
#   BENCH_ONLY=REGEX   run only the benchmarks whose name matches (grep -E)
#   BENCH_PRELOAD=SO   preload to measure instead of BUILD_DIR/libctrace.so
#   BENCH_TIMEOUT=60   seconds before one run is killed (a wrapper bug deadlocks, not fails)
#   BENCH_MODE=stream  stream, or flight: the traced runs in flight mode (CTRACE_MODE=flight,
#                      the recent past in memory), with a snapshot at exit (after the measured
#                      phase) as the trace to check
#   BENCH_MEMCACHED_PAIRS=5, BENCH_MEMCACHED_SECONDS=5: the memcached server's CPU per
#                      request (tests/real/memcached.sh), pairs of runs and seconds of load
#                      each; skipped with a message when memcached is not installed
set -u

# shellcheck disable=SC2016 # backquotes in the list's comment lines are prose
BENCHMARKS='
# One benchmark per line: name, target (max median of per-pair traced/untraced ratios), the
# command, relative to BUILD_DIR/bench/, whose stdout has one `ns_per_op=X ...` line.
# To add one: add tests/bench/NAME.c using bench.h
# (the Makefile builds every tests/bench/*.c) and one line here.
uncontended     1.20  uncontended 100000000 0
uncontended-mt  1.20  uncontended 20000000 1
contended-2t    1.15  contended 2 250000
contended-4t    1.15  contended 4 125000
pingpong-cond   1.10  pingpong_cond 100000
pingpong-pipe   1.10  pipe_pingpong 100000
pingpong-epoll  1.10  epoll_pingpong 100000
pingpong-sem    1.10  sem_pingpong 100000
threads         3.00  threads 10000 5000
'

# The annotation calls (preload/include/ctrace_annotate.h), run in triples: untraced (the
# header's weak references are null), under libctrace with CTRACE_DISABLE=1, and traced.
# No ratio (the untraced call is a load and a test): ns per call of each, and what
# libctrace adds. One benchmark per line: name, the command as above.
ANNOTATIONS='
annotate-region annotate 2000000 region
annotate-long   annotate 300000 long
annotate-log    annotate 1000000 log
annotate-label  annotate 1000000 label
'

BUILD=${1:?usage: run.sh BUILD_DIR}
PAIRS=${BENCH_PAIRS:-7}
ONLY=${BENCH_ONLY:-.}
SO=${BENCH_PRELOAD:-$BUILD/libctrace.so}
TMO=${BENCH_TIMEOUT:-60}
MODE=${BENCH_MODE:-stream}
case $MODE in
stream) FLIGHT_ENV= ;;
flight) FLIGHT_ENV="CTRACE_MODE=flight CTRACE_TRIGGER=exit" ;;
*) echo "bench: ERROR: BENCH_MODE is stream or flight, not '$MODE'" >&2; exit 2 ;;
esac

case $SO in /*) ;; *) SO=$(pwd)/$SO ;; esac
if [ ! -f "$SO" ]; then
	echo "bench: ERROR: no preload library at $SO (run make first)" >&2
	exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# median of the numbers on stdin, one per line (mean of the middle two for an even count)
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) printf "%.4f\n", v[(NR + 1) / 2]
		else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }

# run_rounds NAME MODES RESULTS CMD...: PAIRS rounds of NAME, each running every mode of the
# word list MODES once, the order rotated by one each round (ABAB..., ABC BCA CAB...), so a
# slow drift of the machine favours no mode; a dot per round, then the messages. Returns
# 1, with "NAME ERROR" in RESULTS, when a run was unusable.
run_rounds() {
	name=$1 modes=$2 res=$3; shift 3
	printf '  %-16s' "$name"
	bad=0 i=1
	while [ $i -le "$PAIRS" ]; do
		order=$(echo "$modes" | awk -v k=$((i - 1)) \
			'{ for (j = 0; j < NF; j++) printf "%s ", $((j + k) % NF + 1) }')
		for mode in $order; do
			run_one "$name" "$mode" "$i" "$@" || bad=1
		done
		[ $bad = 0 ] || break
		printf '.'
		i=$((i + 1))
	done
	echo
	[ -f "$TMP/$name.msg" ] && cat "$TMP/$name.msg"
	[ $bad = 0 ] && return 0
	echo "$name ERROR" >> "$res"
	return 1
}

# run_one NAME MODE I CMD...: runs one measurement, appends ns_per_op to $TMP/NAME.MODE;
# returns non-zero if the run is unusable. Errors and warnings go to $TMP/NAME.msg, printed
# after the benchmark's progress line.
run_one() {
	name=$1 mode=$2 i=$3 prog=$4; shift 4
	out=$TMP/run.out err=$TMP/run.err msg=$TMP/$name.msg
	if [ "$mode" = traced ]; then
		# env after timeout: only the benchmark is traced, not timeout(1) itself.
		# shellcheck disable=SC2086 # FLIGHT_ENV is a word list by design
		timeout "$TMO" env LD_PRELOAD="$SO" CTRACE_OUT="$TMP/trace.$name.$i.%p.ctr" $FLIGHT_ENV \
			"$BUILD/bench/$prog" "$@" > "$out" 2> "$err"
	elif [ "$mode" = disabled ]; then
		timeout "$TMO" env LD_PRELOAD="$SO" CTRACE_DISABLE=1 \
			"$BUILD/bench/$prog" "$@" > "$out" 2> "$err"
	else
		timeout "$TMO" "$BUILD/bench/$prog" "$@" > "$out" 2> "$err"
	fi
	rc=$?
	ns=$(sed -n 's/^ns_per_op=\([0-9.]*\).*/\1/p' "$out" | head -1)
	cpu=$(sed -n 's/^ns_per_op=.* cpu_ns_per_op=\([0-9.]*\).*/\1/p' "$out" | head -1)
	if [ $rc != 0 ] || [ -z "$ns" ]; then
		echo "bench: ERROR: $name ($mode, pair $i): exit $rc$([ $rc = 124 ] && echo ' (timeout)'), result '$ns'" >> "$msg"
		head -5 "$err" | sed 's/^/    /' >> "$msg"
		return 1
	fi
	echo "$ns" >> "$TMP/$name.$mode"
	echo "${cpu:-0}" >> "$TMP/$name.$mode.cpu"
	sed -n 's/^ns_per_op=.* thread_cpu_ns_per_op=\([0-9.]*\).*/\1/p' "$out" | head -1 \
		>> "$TMP/$name.$mode.tcpu"
	[ "$mode" = traced ] || return 0

	# A traced run must have written a non-empty trace, and nothing on stdout/stderr but the
	# program's own line (preload/README.md, record path rule 10). Traces are removed as
	# soon as they are checked.
	bytes=$(cat "$TMP/trace.$name.$i".* 2>/dev/null | wc -c)
	# What the trace holds, from the analyzer: events, events lost, the trace's span.
	if [ "$bytes" -gt 0 ] && [ -x "$BUILD/ctrace" ]; then
		"$BUILD/ctrace" report --json "$TMP/trace.$name.$i".* 2>/dev/null |
			jq -r '.trace | "\(.events) \(.lost_events) \(.duration_ns)"' \
			>> "$TMP/$name.events" 2>/dev/null
	fi
	rm -f "$TMP/trace.$name.$i".*
	if [ "$bytes" -eq 0 ]; then
		echo "bench: ERROR: $name (traced, pair $i): no trace or an empty one (CTRACE_OUT=$TMP/trace.$name.$i.%p.ctr)" >> "$msg"
		return 1
	fi
	echo "$bytes" >> "$TMP/$name.bytes"
	if [ -s "$err" ] || [ "$(wc -l < "$out")" -ne 1 ]; then
		echo "bench: warning: $name (traced, pair $i): the tracer was not silent:" >> "$msg"
		{ grep -v '^ns_per_op=' "$out"; cat "$err"; } | head -3 | sed 's/^/    /' >> "$msg"
	fi
	return 0
}

echo "libctrace bench: $PAIRS interleaved untraced/traced pairs per benchmark, $MODE mode"
echo "preload: $SO   ($(nproc) CPUs; $(uname -r))"
errors=0
results=$TMP/results
: > "$results"
echo "$BENCHMARKS" | grep -v '^[[:space:]]*\(#\|$\)' | while read -r name target cmd; do
	echo "$name" | grep -Eq -- "$ONLY" || continue
	rm -f "$TMP/$name".*
	# shellcheck disable=SC2086 # cmd is a word list by design
	run_rounds "$name" "untraced traced" "$results" $cmd || continue
	paste "$TMP/$name.traced" "$TMP/$name.untraced" | awk '{ printf "%.6f\n", $1 / $2 }' \
		> "$TMP/$name.ratio"
	u=$(median < "$TMP/$name.untraced")
	t=$(median < "$TMP/$name.traced")
	r=$(median < "$TMP/$name.ratio")
	range=$(minmax < "$TMP/$name.ratio")
	# the same pairs' ratio of CPU time (every thread of the process, the tracer's too)
	paste "$TMP/$name.traced.cpu" "$TMP/$name.untraced.cpu" |
		awk '$2 > 0 { printf "%.6f\n", $1 / $2 }' > "$TMP/$name.cpuratio"
	cr=$(median < "$TMP/$name.cpuratio" | awk '{ printf "%.2f", $1 }')
	crange=$(minmax < "$TMP/$name.cpuratio")
	kb=$(median < "$TMP/$name.bytes" | awk '{ printf "%.1f", $1 / 1024 }')
	# bytes per event and events per second recorded: medians over the traced runs;
	# lost: the most any traced run lost
	bpe=$(paste "$TMP/$name.bytes" "$TMP/$name.events" 2>/dev/null |
		awk 'NF == 4 && $2 > 0 { printf "%.3f\n", $1 / $2 }' | median | awk '$1 == "nan" { print "-"; next } { printf "%.2f", $1 }')
	eps=$(awk '$3 > 0 { printf "%.0f\n", $1 / ($3 / 1e9) }' "$TMP/$name.events" 2>/dev/null | median |
		awk '{ printf "%.0f", $1 }')
	lost=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$TMP/$name.events" 2>/dev/null)
	verdict=$(awk -v r="$r" -v t="$target" 'BEGIN { print (r <= t) ? "PASS" : "MISS" }')
	echo "$name $u $t $r $range $target $verdict $kb $bpe $eps ${lost:-?} $cr $crange" >> "$results"
done

echo
printf '%-16s %11s %11s %7s %11s %6s %6s %9s %8s %11s %7s %9s %5s\n' benchmark "untraced ns" \
	"traced ns" ratio "ratio range" target result "cpu ratio" "cpu range" "trace KiB" \
	"B/event" "events/s" lost
while read -r name u t r range target verdict kb bpe eps lost cr crange; do
	if [ "$u" = ERROR ]; then
		printf '%-16s %11s %11s %7s %11s %6s %6s\n' "$name" - - - - - ERROR
		errors=$((errors + 1))
		continue
	fi
	printf '%-16s %11.2f %11.2f %6.2fx %11s %5.2fx %6s %8sx %9s %9s %7s %11s %5s\n' "$name" \
		"$u" "$t" "$r" "$range" "$target" "$verdict" "$cr" "$crange" "$kb" "$bpe" "$eps" \
		"$lost"
done < "$results"
echo "(medians of $PAIRS runs; ratio = median of per-pair traced/untraced; ns per op: lock+unlock"
echo " pair for uncontended and contended-*, round trip for pingpong-*; cpu ratio: the same"
echo " pairs' ratio of the measured phase's process CPU time, the tracer's threads included,"
echo " which a busy machine disturbs less than the wall time; B/event: trace bytes"
echo " per event recorded, stacks and tables included; events/s: events recorded per second"
echo " of the trace's span; lost: events dropped, the most of any traced run)"

# The annotation calls: triples untraced / disabled / traced, the order rotated each time.
annot=$TMP/annot
: > "$annot"
echo "$ANNOTATIONS" | grep -v '^[[:space:]]*\(#\|$\)' | while read -r name cmd; do
	echo "$name" | grep -Eq -- "$ONLY" || continue
	rm -f "$TMP/$name".*
	[ -s "$annot" ] || { echo; echo "annotation calls, $PAIRS untraced/disabled/traced triples each:"; }
	# shellcheck disable=SC2086 # cmd is a word list by design
	run_rounds "$name" "untraced disabled traced" "$annot" $cmd || continue
	u=$(median < "$TMP/$name.untraced")
	d=$(median < "$TMP/$name.disabled")
	t=$(median < "$TMP/$name.traced")
	# what libctrace adds per call: the median of each triple's difference
	dd=$(paste "$TMP/$name.disabled" "$TMP/$name.untraced" | awk '{ printf "%.4f\n", $1 - $2 }' | median)
	td=$(paste "$TMP/$name.traced" "$TMP/$name.untraced" | awk '{ printf "%.4f\n", $1 - $2 }' | median)
	trange=$(paste "$TMP/$name.traced" "$TMP/$name.untraced" | awk '{ printf "%.4f\n", $1 - $2 }' | minmax)
	tc=$(median < "$TMP/$name.traced.tcpu")
	dc=$(median < "$TMP/$name.disabled.tcpu")
	lost=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$TMP/$name.events" 2>/dev/null)
	echo "$name $u $d $t $dd $td $trange $dc $tc ${lost:-?}" >> "$annot"
done
if [ -s "$annot" ]; then
	echo
	printf '%-16s %11s %11s %11s %9s %9s %13s %12s %10s %7s\n' "annotation" "untraced ns" \
		"disabled ns" "traced ns" "+disabled" "+traced" "+traced range" "disabled cpu" \
		"traced cpu" lost
	while read -r name u d t dd td trange dc tc lost; do
		if [ "$u" = ERROR ]; then
			printf '%-16s %11s %11s %11s %9s %9s %13s %12s %10s %7s\n' "$name" - - - - - - - - ERROR
			continue
		fi
		printf '%-16s %11.2f %11.2f %11.2f %9.2f %9.2f %13s %12.2f %10.2f %7s\n' "$name" "$u" \
			"$d" "$t" "$dd" "$td" "$trange" "$dc" "$tc" "$lost"
	done < "$annot"
	echo "(ns per call, medians of $PAIRS runs; +disabled, +traced: the median of each triple's"
	echo " difference with the untraced run, what libctrace adds per call when loaded with"
	echo " CTRACE_DISABLE=1 and when tracing; disabled cpu, traced cpu: the calling thread's own"
	echo " CPU time per call, steadier than the wall time on a busy machine (the writer's work"
	echo " is not in it); lost: events dropped, the most of any traced run)"
fi

# Absolute cost of the uncontended wrapper pair: what "one extra call" costs in ns.
# uncontended: a single-threaded process (glibc's non-atomic fast path when untraced);
# uncontended-mt: the same loop with one idle extra thread, so both runs use atomics.
awk '$1 ~ /^uncontended/ && $2 != "ERROR" {
	printf "%s: libctrace adds %.2f ns per lock+unlock pair (%.2f -> %.2f ns)\n",
		$1, $3 - $2, $2, $3 }' "$results"

# A real server: memcached -t 4 under memcaslap over loopback (tests/real/memcached.sh),
# untraced and traced in alternating pairs; the median of the pairs' ratios of the server's
# CPU time per request (target 1.05) and of throughput, and the events lost in every
# traced run's trace.
MC_TARGET=1.05
if echo memcached | grep -Eq -- "$ONLY"; then
	echo
	if ! command -v memcached >/dev/null || ! command -v memcaslap >/dev/null ||
		! command -v memccapable >/dev/null; then
		echo "memcached: skipped (memcached or libmemcached-tools not installed; tests/deps.sh installs them)"
	else
		mcp=${BENCH_MEMCACHED_PAIRS:-5} mcs=${BENCH_MEMCACHED_SECONDS:-5}
		echo "memcached -t 4, $mcp untraced/traced pairs of ${mcs} s of memcaslap load each:"
		src=$(cd "$(dirname "$0")/../.." && pwd)
		# memcached.sh preloads BUILD/libctrace.so: a directory holding $SO under that name
		mkdir -p "$TMP/mcbuild" && ln -sf "$SO" "$TMP/mcbuild/libctrace.so"
		if ! CTRACE_REAL_PAIRS=$mcp timeout $(((mcs + 75) * 2 * mcp)) \
			"$src/tests/real/memcached.sh" "$TMP/mcbuild" "$TMP/mc" "$mcs" > "$TMP/mc.out" 2>&1; then
			echo "bench: ERROR: memcached: tests/real/memcached.sh failed:"
			tail -5 "$TMP/mc.out" | sed 's/^/    /'
			echo "memcached ERROR" >> "$annot"
		else
			mcv() { sed -n "s/^$1=//p" "$TMP/mc.out" | head -1; }
			# the traced servers' own traces (a spare file left by the switch of user
			# from root holds no events)
			mclost=0 mcfiles=0
			for f in "$TMP"/mc/memcached.*.ctr "$TMP"/mc/traced*/memcached.*.ctr; do
				[ -f "$f" ] || continue
				l=$("$BUILD/ctrace" report --json "$f" 2>/dev/null |
					jq -r 'if .trace.events > 0 then .trace.lost_events else "none" end' 2>/dev/null)
				[ "$l" = none ] && continue
				mcfiles=$((mcfiles + 1))
				case $l in
				'' | *[!0-9]*) mclost='?' ;;
				*) [ "$mclost" = '?' ] || [ "$l" -le "$mclost" ] || mclost=$l ;;
				esac
			done
			[ "$mcfiles" -ge "$mcp" ] || mclost='?'
			cr=$(mcv cpu_per_op_ratio) tr=$(mcv tps_ratio)
			crange=$(sed -n 's/^pair[0-9]*_cpu_per_op_ratio=//p' "$TMP/mc.out" | minmax)
			verdict=$(awk -v r="$cr" -v t="$MC_TARGET" 'BEGIN { print (r <= t) ? "PASS" : "MISS" }')
			printf '%-16s %9s %11s %7s %6s %9s %11s %5s\n' benchmark "cpu/req" "cpu range" \
				target result "tps ratio" "untraced us" lost
			printf '%-16s %8.3fx %11s %6.2fx %6s %8.3fx %11s %5s\n' memcached "$cr" "$crange" \
				"$MC_TARGET" "$verdict" "$tr" "$(mcv untraced_cpu_us_per_op)" "$mclost"
			echo "(cpu/req: the median of the pairs' ratios of the server's CPU time per request,"
			echo " traced/untraced; tps ratio: the same for requests per second; untraced us: the"
			echo " first untraced run's server CPU us per request; lost: the most of any traced run,"
			echo " ? when a traced run left no readable trace)"
			[ "$verdict" = PASS ] || echo "memcached MISS" >> "$results"
		fi
	fi
fi

misses=$(grep -c ' MISS' "$results")
errors=$(cat "$results" "$annot" | grep -c ' ERROR$')
if [ "$errors" != 0 ]; then
	echo "bench: $errors benchmark(s) in ERROR: see the messages above; the comparison is void"
	exit 1
fi
if [ "$misses" != 0 ]; then
	echo "bench: $misses benchmark(s) MISS their target (informational; make bench still succeeds)"
else
	echo "bench: all targets met"
fi
exit 0
