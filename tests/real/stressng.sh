#!/bin/bash
# SPDX-License-Identifier: MIT
# stress-ng (Debian package) stressors that wait on threads, locks, futexes, semaphores,
# epoll and pipes, each with --verify (stress-ng checks its own results), untraced and traced
# side by side. stress-ng forks one process per stressor instance (and the epoll stressor a
# client and a server): with CTRACE_OUT=WORKDIR/traces/STRESSOR/sng.%p.ctr every traced
# process writes its own file. Prints key=value lines per stressor S: S_untraced_exit,
# S_traced_exit, S_untraced_ops and S_traced_ops (bogo ops) and S_ops_ratio, S_trace_files,
# S_traces_readable, S_traces_with_waits, S_lost_events (summed over its traces), S_waits
# (waits summed over its traces, holder and wakeup profiles excluded),
# S_waits_<profile>_<kind>; then stressors=, exits=same|differ, traces_unreadable=N.
# Exits non-zero when an exit status differs or a trace is unreadable.
#
# usage: tests/real/stressng.sh BUILD_DIR WORKDIR [SECONDS] [STRESSOR...]
#   default 10 s per stressor and run; stressors: pthread mutex futex sem sem-sysv fifo mq
#   epoll pipe poll, those of them this stress-ng has (`stress-ng --stressors`; 0.15 has no
#   condition-variable stressor: pthread's threads wait on one); 2 instances each.
set -u
BUILD=${1:?usage: stressng.sh BUILD_DIR WORKDIR [SECONDS] [STRESSOR...]}
WORK=${2:?usage: stressng.sh BUILD_DIR WORKDIR [SECONDS] [STRESSOR...]}
SECS=${3:-10}
shift $(($# < 3 ? $# : 3))
BUILD=$(cd "$BUILD" && pwd) || exit 2
LIB=$BUILD/libctrace.so
CT=${CTRACE_CLI:-$BUILD/ctrace}
command -v stress-ng >/dev/null || { echo "stressng.sh: stress-ng not installed" >&2; exit 2; }
command -v jq >/dev/null || { echo "stressng.sh: jq not installed" >&2; exit 2; }
mkdir -p "$WORK" || exit 2
WORK=$(cd "$WORK" && pwd)
have=" $(stress-ng --stressors) "
if [ $# -gt 0 ]; then
	STRESSORS="$*"
else
	STRESSORS=
	for s in pthread mutex futex sem sem-sysv fifo mq epoll pipe poll; do
		case "$have" in *" $s "*) STRESSORS="$STRESSORS $s" ;; esac
	done
fi

RUNNER=
# reap PGID: SIGKILL to what is left in the process group timeout made (its own pid): only
# processes this script started.
reap() {
	kill -KILL -- "-$1" 2>/dev/null
}
trap '[ -n "$RUNNER" ] && { kill -TERM "$RUNNER" 2>/dev/null; sleep 1; reap "$RUNNER"; }' EXIT
trap 'exit 143' TERM INT

# run S MODE: one bounded stress-ng run; prints S_MODE_exit and S_MODE_ops.
run() {
	local s=$1 mode=$2 env=(env) rc
	mkdir -p "$WORK/tmp/$s.$mode"
	if [ "$mode" = traced ]; then
		mkdir -p "$WORK/traces/$s"
		env+=(CTRACE_OUT="$WORK/traces/$s/sng.%p.ctr" LD_PRELOAD="$LIB")
	fi
	# sem: 64 threads per instance, not 4: with 4 its semaphore calls block a handful of
	# times in 100,000 (none at all in some runs), with 64 hundreds of times
	local extra=()
	[ "$s" = sem ] && extra=(--sem-procs 64)
	# own process group (timeout's): a kill of this script reaches every stress-ng process
	timeout -k 5 $((SECS + 60)) "${env[@]}" stress-ng --"$s" 2 "${extra[@]}" --timeout "${SECS}s" \
		--verify --metrics-brief --temp-path "$WORK/tmp/$s.$mode" >"$WORK/$s.$mode.log" 2>&1 &
	RUNNER=$!
	wait "$RUNNER"
	rc=$?
	echo "${s}_${mode}_leftover_processes=$(pgrep -g "$RUNNER" | wc -l)"
	reap "$RUNNER"
	RUNNER=
	echo "${s}_${mode}_exit=$rc"
	echo "${s}_${mode}_ops=$(awk -v s="$s" '$2 == "metrc:" && $4 == s && $5 ~ /^[0-9]+$/ { print $5 }' \
		"$WORK/$s.$mode.log" | head -n1)"
}

rm -rf "$WORK/traces" "$WORK/tmp"
exits=same unreadable=0
for s in $STRESSORS; do
	run "$s" untraced >"$WORK/$s.kv"
	run "$s" traced >>"$WORK/$s.kv"
	cat "$WORK/$s.kv"
	u=$(sed -n "s/^${s}_untraced_ops=//p" "$WORK/$s.kv")
	t=$(sed -n "s/^${s}_traced_ops=//p" "$WORK/$s.kv")
	awk -v u="${u:-0}" -v t="${t:-0}" -v s="$s" \
		'BEGIN { printf "%s_ops_ratio=%.3f\n", s, u ? t / u : 0 }'
	[ "$(sed -n "s/^${s}_untraced_exit=//p" "$WORK/$s.kv")" = \
		"$(sed -n "s/^${s}_traced_exit=//p" "$WORK/$s.kv")" ] || exits=differ
	files=0 readable=0 with_waits=0 lost=0
	: >"$WORK/$s.waits"
	for f in "$WORK/traces/$s"/*.ctr; do
		[ -f "$f" ] || continue
		files=$((files + 1))
		if ! timeout 120 "$CT" report --json "$f" >"$f.json" 2>"$f.err"; then
			echo "unreadable trace: $f: $(head -c 300 "$f.err")" >&2
			continue
		fi
		readable=$((readable + 1))
		lost=$((lost + $(jq '.trace.lost_events' "$f.json")))
		jq -r '.profiles[] | select(.profile != "holder" and .profile != "wakeup") |
			"\(.profile)_\(.kind)\t\(.count)"' "$f.json" >"$f.waits"
		[ -s "$f.waits" ] && with_waits=$((with_waits + 1))
		cat "$f.waits" >>"$WORK/$s.waits"
	done
	unreadable=$((unreadable + files - readable))
	echo "${s}_trace_files=$files"
	echo "${s}_traces_readable=$readable"
	echo "${s}_traces_with_waits=$with_waits"
	echo "${s}_lost_events=$lost"
	awk -F'\t' -v s="$s" '{ n[$1] += $2; all += $2 }
		END { printf "%s_waits=%d\n", s, all; for (k in n) printf "%s_waits_%s=%d\n", s, k, n[k] }' \
		"$WORK/$s.waits" | sort
done
echo "stressors=$(echo $STRESSORS)"
echo "exits=$exits"
echo "traces_unreadable=$unreadable"
[ "$exits" = same ] && [ "$unreadable" = 0 ]
