#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-analyze: times `ctrace report --json` on a generated trace of EVENTS events
# and on one four times longer (both generated once by gentrace and kept in BUILD/bench/),
# with /usr/bin/time, three times each, showing the run of median wall time (a shared
# VM's speed moves by 10% from one run to the next): wall and CPU seconds, events per CPU
# second and per wall second and core (the machine's, nproc), peak RSS and RSS per GB of
# trace, and the RSS ratio of the longer trace to the shorter, each beside its target
# (>= 20 M events per CPU second and per core, <= 512 MB of RSS for a 1 GB trace, <= 1.3
# for 4x the length). Under each, the baseline measured the same way: readall, report's
# reading side alone (reading, checking, decompressing, decoding and merging on the same
# two threads, the events counted rather than analysed), and report's CPU time over its
# (the analyses' share is the rest). Then the CPU time and peak RSS of `ctrace export`:
# pprof of the first, perfetto of the first second of both (a window: the same RSS), html
# of the first (every wait, sorted by thread through a temporary file). Then scaling: the
# same row for traces of a tenth of EVENTS shaped to stress what a per-event scan would
# grow with (1,000 threads; releases from 2,000 call sites; 100,000 mutexes; 999 threads
# queued on one mutex at once, or waiting on one condition variable), with each one's CPU
# time per event over the mixed 8-thread trace's.
# Informs, never fails on a figure; exits 1 only when a step fails.
# Usage: run.sh BUILD EVENTS
set -eu
build=$1
n=$2
gen=$build/bench/gentrace
ctrace=$build/ctrace
readall=$build/bench/readall
for k in 1 4; do
	events=$((n * k))
	f=$build/bench/analyze-$events.ctr
	if [ ! -s "$f" ]; then
		rm -f "$f"
		"$gen" "$f" "$events" 8 >/dev/null
	fi
done
cores=$(nproc)
printf '%-28s %10s %8s %8s %8s %12s %12s %10s %12s\n' trace events wall_s cpu_s MB Mevents/cpu_s \
	Mev/s/core RSS_MB RSS_MB/GB
# row NAME TRACE EVENTS CMD...: CMD run three times on TRACE, the run of median wall time
# as a row of the table; its CPU seconds in $cpu, its peak RSS in $rss
row() {
	name=$1
	f=$2
	events=$3
	shift 3
	t=$(mktemp)
	for r in 1 2 3; do
		/usr/bin/time -f '%e %U %S %M' -o "$t.$r" "$@" "$f" >/dev/null
		cat "$t.$r"
	done | sort -n | sed -n 2p >"$t"
	read -r wall user sys rss <"$t"
	rm -f "$t" "$t.1" "$t.2" "$t.3"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
	mb=$(( $(stat -L -c %s "$f") / 1048576 ))
	awk -v f="$name" -v e="$events" -v w="$wall" -v c="$cpu" -v r="$rss" -v mb="$mb" \
	    -v k="$cores" 'BEGIN {
	    printf "%-28s %10d %8.2f %8.2f %8d %12.1f %12.1f %10.1f %12.1f\n", f, e, w, c, mb,
	    (c > 0 ? e / c / 1e6 : 0), (w > 0 ? e / w / k / 1e6 : 0), r / 1024,
	    (mb > 0 ? r / 1024 / (mb / 1024) : 0) }'
}
rss1=
ratios=
for k in 1 4; do
	events=$((n * k))
	f=$build/bench/analyze-$events.ctr
	row "$(basename "$f")" "$f" "$events" "$ctrace" report --json
	[ -n "$rss1" ] || rss1=$rss
	rss4=$rss
	report_cpu=$cpu
	row "  reading alone (readall)" "$f" "$events" "$readall"
	ratios="$ratios $(awk -v a="$report_cpu" -v b="$cpu" -v k="$k" \
		'BEGIN { printf "%.2fx (%dx trace)", (b > 0 ? a / b : 0), k }')"
done
awk -v a="$rss1" -v b="$rss4" 'BEGIN { printf "RSS 4x / 1x: %.2f\n", b / a }'
echo "report --json CPU / reading alone:$ratios"
# every export streams its input as report does; the timelines read it again for the
# waits of their window, sorted by thread (through a temporary file beyond a run)
# export_fig WHAT ARGS...: one export's CPU seconds and peak RSS
export_fig() {
	what=$1
	shift
	t=$(mktemp)
	o=$(mktemp -u)
	/usr/bin/time -f '%e %U %S %M' -o "$t" "$ctrace" export -o "$o" "$@" 2>/dev/null
	read -r wall user sys rss <"$t"
	rm -f "$t" "$o"
	awk -v w="$what" -v u="$user" -v s="$sys" -v r="$rss" \
	    'BEGIN { printf "export %s: %.2f cpu_s, %.1f MB RSS\n", w, u + s, r / 1024 }'
}
f1=$build/bench/analyze-$n.ctr
f4=$build/bench/analyze-$((n * 4)).ctr
export_fig "--format pprof of the first" --format pprof "$f1"
export_fig "--format perfetto --to 1s of the first" --format perfetto --to 1s "$f1"
export_fig "--format perfetto --to 1s of the 4x" --format perfetto --to 1s "$f4"
export_fig "--format html of the first (every wait)" --format html "$f1"
# Scaling: report --json on traces of one size (a tenth of the first) whose shapes stress
# what a per-event scan would grow with, each beside the mixed 8-thread trace of that
# size: its CPU time per event over the mixed one's (1.00: no dearer per event)
s=$((n / 10))
echo "scaling: $s events each; cpu/event over the mixed 8-thread trace's"
for shape in "8 mixed" "1000 mixed" "8 sites" "8 objects" "1000 queue" "1000 condqueue"; do
	set -- $shape
	f=$build/bench/scale-$s-$1-$2.ctr
	if [ ! -s "$f" ] || [ ! -s "$f.events" ]; then
		rm -f "$f"
		"$gen" "$f" "$s" "$1" "$2" | sed -n 's/.*: \([0-9]*\) events,.*/\1/p' >"$f.events"
	fi
	events=$(cat "$f.events")
	row "  $2, $1 threads" "$f" "$events" "$ctrace" report --json
	per=$(awk -v c="$cpu" -v e="$events" 'BEGIN { print c / e }')
	[ -n "${base_per:-}" ] || base_per=$per
	awk -v p="$per" -v b="$base_per" 'BEGIN { printf "    %.2fx\n", p / b }'
done
echo "targets: Mevents/cpu_s and Mev/s/core ($cores cores) >= 20; RSS_MB/GB <= 512 (a 1 GB trace in 512 MB); RSS 4x / 1x <= 1.3"
