#!/bin/bash
# SPDX-License-Identifier: MIT
# memcached (Debian package, -t 4, loopback only) under a loopback load, untraced and traced
# side by side. Prints key=value lines: the protocol check (memccapable) of each run, the
# load's throughput (memcaslap), the server's CPU time per request, their traced/untraced
# ratios (medians of CTRACE_REAL_PAIRS pairs of runs, default 1: see pairs.sh), and the
# trace file of the first traced run. Exits non-zero when a run failed or the answers differ.
#
# usage: tests/real/memcached.sh BUILD_DIR WORKDIR [SECONDS]     (default 10 s of load)
set -u
BUILD=${1:?usage: memcached.sh BUILD_DIR WORKDIR [SECONDS]}
WORK=${2:?usage: memcached.sh BUILD_DIR WORKDIR [SECONDS]}
SECS=${3:-10}
LIB=$BUILD/libctrace.so
mkdir -p "$WORK" || exit 2
for p in memcached memccapable memcaslap; do
	command -v "$p" >/dev/null || { echo "memcached.sh: $p not installed" >&2; exit 2; }
done

# free_port: a loopback TCP port nobody listens on.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID: user + system clock ticks of the process so far.
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

SERVER=
stop_server() {
	[ -n "$SERVER" ] || return 0
	kill -TERM "$SERVER" 2>/dev/null
	wait "$SERVER"
	local rc=$?
	SERVER=
	return $rc
}
trap 'stop_server' EXIT

# run_one MODE TAG: starts the server (traced when MODE=traced), checks the protocol, loads
# it. TAG: the run's name in pairs.sh (its trace files are those of the first traced run).
run_one() {
	local mode=$1 tag=$2 port user=()
	port=$(free_port)
	[ "$(id -u)" = 0 ] && user=(-u nobody)
	if [ "$mode" = traced ]; then
		local out=$WORK
		[ "$tag" = traced ] || { out=$WORK/$tag; mkdir -p "$out"; }
		CTRACE_OUT=$out/memcached.%p.ctr LD_PRELOAD=$LIB \
			memcached -t 4 -l 127.0.0.1 -p "$port" -U 0 -m 256 "${user[@]}" &
	else
		memcached -t 4 -l 127.0.0.1 -p "$port" -U 0 -m 256 "${user[@]}" &
	fi
	SERVER=$!
	for _ in $(seq 600); do
		memcstat --servers="127.0.0.1:$port" >/dev/null 2>&1 && break
		sleep 0.05
	done
	# the answers: memccapable's verdict per protocol test (timings stripped)
	timeout 60 memccapable -h 127.0.0.1 -p "$port" 2>&1 | sed 's/[[:space:]]*$//' \
		>"$WORK/capable.$mode"
	local t0 t1
	t0=$(cpu_ticks "$SERVER")
	local pid=$SERVER
	timeout $((SECS + 60)) memcaslap -s "127.0.0.1:$port" -t "${SECS}s" -T 2 -c 16 \
		>"$WORK/load.$mode" 2>&1
	t1=$(cpu_ticks "$SERVER")
	stop_server
	local rc=$?
	local ops tps
	ops=$(sed -n 's/^Run time: .* Ops: \([0-9]*\) TPS: .*/\1/p' "$WORK/load.$mode" | tail -n1)
	tps=$(sed -n 's/^Run time: .* TPS: \([0-9]*\) .*/\1/p' "$WORK/load.$mode" | tail -n1)
	echo "${mode}_exit=$rc"
	echo "${mode}_server_pid=$pid"
	echo "${mode}_capable=$(grep -c '\[pass\]' "$WORK/capable.$mode") passed, $(grep -c '\[fail\]' "$WORK/capable.$mode") failed"
	echo "${mode}_ops=${ops:-0}"
	echo "${mode}_tps=${tps:-0}"
	# server CPU per request, in microseconds (clock ticks are 1/100 s here)
	awk -v t=$((t1 - t0)) -v o="${ops:-0}" -v hz="$(getconf CLK_TCK)" -v m="$mode" \
		'BEGIN { printf "%s_cpu_us_per_op=%.3f\n", m, o ? t * 1e6 / hz / o : 0 }'
}

# shellcheck source=pairs.sh
. "$(dirname "$0")/pairs.sh"
pairs_rc=0
run_pairs tps cpu_us_per_op || pairs_rc=1
kv() { sed -n "s/^$2=//p" "$WORK/$1.kv"; }
# the server's own file (a process that switches user from root may also leave a spare
# file for children that could not create theirs, memcached.PID.1.ctr, unused here)
trace=$WORK/memcached.$(kv traced traced_server_pid).ctr
echo "trace=$trace"
if cmp -s "$WORK/capable.untraced" "$WORK/capable.traced"; then
	echo "answers=same"
else
	echo "answers=differ"
	diff "$WORK/capable.untraced" "$WORK/capable.traced" >&2
	exit 1
fi
[ "$(kv untraced untraced_exit)" = 0 ] && [ "$(kv traced traced_exit)" = 0 ] && [ -n "$trace" ] &&
	[ "$pairs_rc" = 0 ]
