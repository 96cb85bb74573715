#!/bin/bash
# SPDX-License-Identifier: MIT
# redis-server (Debian package, loopback only, no persistence) under redis-benchmark,
# untraced and traced side by side. Prints key=value lines: whether a fixed redis-cli
# session gave the same answers, the benchmark's requests per second for SET and GET, the
# server's CPU time per request, their traced/untraced ratios, and the trace file. Exits
# non-zero when a run failed or the answers differ.
#
# usage: tests/real/redis.sh BUILD_DIR WORKDIR [REQUESTS]   (default 1000000 per test)
set -u
BUILD=${1:?usage: redis.sh BUILD_DIR WORKDIR [REQUESTS]}
WORK=${2:?usage: redis.sh BUILD_DIR WORKDIR [REQUESTS]}
REQS=${3:-1000000}
BUILD=$(cd "$BUILD" && pwd) || exit 2
LIB=$BUILD/libctrace.so
mkdir -p "$WORK" || exit 2
WORK=$(cd "$WORK" && pwd)
for p in redis-server redis-cli redis-benchmark; do
	command -v "$p" >/dev/null || { echo "redis.sh: $p not installed" >&2; exit 2; }
done

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID: user + system clock ticks of the process so far (all its threads).
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

SERVER=
stop_server() {
	[ -n "$SERVER" ] || return 0
	kill -TERM "$SERVER" 2>/dev/null
	for _ in $(seq 300); do
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SERVER" 2>/dev/null && kill -KILL "$SERVER" 2>/dev/null
	wait "$SERVER"
	local rc=$?
	SERVER=
	return $rc
}
trap 'stop_server' EXIT
trap 'exit 143' TERM INT

# The answers: one fixed session, replies in redis-cli's raw form, errors included.
session() {
	local port=$1
	while read -r -a cmd; do
		printf '> %s\n' "${cmd[*]}"
		timeout 30 redis-cli -h 127.0.0.1 -p "$port" "${cmd[@]}" 2>&1
	done <<'EOF'
SET greeting hello
GET greeting
APPEND greeting world
STRLEN greeting
INCR counter
INCR counter
INCRBY counter 40
INCR greeting
GET missing
RPUSH list a b c d
LRANGE list 0 -1
LPOP list
SADD set x y z
SCARD set
HSET hash f1 v1 f2 v2
HGETALL hash
EXISTS greeting counter missing
DBSIZE
DEL greeting list
DBSIZE
NOSUCHCOMMAND
EOF
}

run_one() {
	local mode=$1 port
	port=$(free_port)
	local opts=(--port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no
		--dir "$WORK" --dbfilename "dump.$mode.rdb" --logfile "$WORK/server.$mode.log")
	if [ "$mode" = traced ]; then
		CTRACE_OUT=$WORK/redis.%p.ctr LD_PRELOAD=$LIB redis-server "${opts[@]}" &
	else
		redis-server "${opts[@]}" &
	fi
	SERVER=$!
	for _ in $(seq 600); do
		[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" = PONG ] && break
		sleep 0.05
	done
	session "$port" >"$WORK/answers.$mode"
	local t0 t1
	t0=$(cpu_ticks "$SERVER")
	timeout $((REQS / 2000 + 120)) redis-benchmark -h 127.0.0.1 -p "$port" -n "$REQS" -c 50 \
		-t set,get --csv >"$WORK/load.$mode" 2>&1
	local bench_rc=$?
	t1=$(cpu_ticks "$SERVER")
	local server_pid=$SERVER
	stop_server
	local rc=$?
	local set get
	set=$(sed -n 's/^"SET","\([0-9.]*\)".*/\1/p' "$WORK/load.$mode")
	get=$(sed -n 's/^"GET","\([0-9.]*\)".*/\1/p' "$WORK/load.$mode")
	echo "${mode}_exit=$rc"
	echo "${mode}_benchmark_exit=$bench_rc"
	echo "${mode}_server_pid=$server_pid"
	echo "${mode}_set_rps=${set:-0}"
	echo "${mode}_get_rps=${get:-0}"
	awk -v t=$((t1 - t0)) -v o=$((2 * REQS)) -v hz="$(getconf CLK_TCK)" -v m="$mode" \
		'BEGIN { printf "%s_cpu_us_per_req=%.3f\n", m, t * 1e6 / hz / o }'
}

run_one untraced | tee "$WORK/untraced.kv"
run_one traced | tee "$WORK/traced.kv"
kv() { sed -n "s/^$2=//p" "$WORK/$1.kv"; }
awk -v us="$(kv untraced untraced_set_rps)" -v ts="$(kv traced traced_set_rps)" \
	-v ug="$(kv untraced untraced_get_rps)" -v tg="$(kv traced traced_get_rps)" \
	-v cu="$(kv untraced untraced_cpu_us_per_req)" -v ct="$(kv traced traced_cpu_us_per_req)" \
	'BEGIN { printf "set_rps_ratio=%.3f\nget_rps_ratio=%.3f\ncpu_per_req_ratio=%.3f\n",
		 us ? ts / us : 0, ug ? tg / ug : 0, cu ? ct / cu : 0 }'
trace=$WORK/redis.$(kv traced traced_server_pid).ctr
[ -f "$trace" ] || trace=
echo "trace=$trace"
echo "answer_lines=$(wc -l <"$WORK/answers.traced")"
if cmp -s "$WORK/answers.untraced" "$WORK/answers.traced"; then
	echo "answers=same"
else
	echo "answers=differ"
	diff "$WORK/answers.untraced" "$WORK/answers.traced" >&2
	exit 1
fi
[ "$(kv untraced untraced_exit)" = 0 ] && [ "$(kv traced traced_exit)" = 0 ] &&
	[ "$(kv untraced untraced_benchmark_exit)" = 0 ] &&
	[ "$(kv traced traced_benchmark_exit)" = 0 ] && [ -n "$trace" ]
