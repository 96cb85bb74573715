#!/bin/bash
# SPDX-License-Identifier: MIT
# PostgreSQL (Debian package) under pgbench, untraced and traced side by side, loopback and a
# unix socket only, a throwaway cluster. The postmaster forks its backends and auxiliary
# processes without exec: with CTRACE_OUT=.../pg.%p.ctr every process that traces writes its
# own file. Prints key=value lines: the answers of a few queries in each run, pgbench's tps
# and transactions, the server's CPU time per transaction (postmaster and all its children),
# their traced/untraced ratios (medians of CTRACE_REAL_PAIRS pairs, default 1: pairs.sh),
# the trace files (of the first traced run) (how many, how many `ctrace report` reads,
# how many are not the postmaster's, the backend with the most epoll waits), and the waits
# summed over all traces per profile/kind (waits_<profile>_<kind>=COUNT). Exits non-zero
# when a run failed or the answers differ.
#
# usage: tests/real/postgres.sh BUILD_DIR WORKDIR [SECONDS] [SCALE]   (default 10 s, scale 1)
#
# As root the server runs as nobody (postgres refuses root) in a private directory under
# /tmp (nobody cannot enter WORKDIR's 0700 parents); the trace files are copied to
# WORKDIR/traces and the private directory is removed on exit.
set -u
BUILD=${1:?usage: postgres.sh BUILD_DIR WORKDIR [SECONDS] [SCALE]}
WORK=${2:?usage: postgres.sh BUILD_DIR WORKDIR [SECONDS] [SCALE]}
SECS=${3:-10}
SCALE=${4:-1}
BUILD=$(cd "$BUILD" && pwd) || exit 2
LIB=$BUILD/libctrace.so
CT=${CTRACE_CLI:-$BUILD/ctrace}
mkdir -p "$WORK" || exit 2
WORK=$(cd "$WORK" && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
for p in initdb postgres pgbench psql; do
	[ -x "$PGBIN/$p" ] || { echo "postgres.sh: $p not installed (postgresql)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "postgres.sh: jq not installed" >&2; exit 2; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# proc_ticks PID: utime + stime + cutime + cstime of PID (reaped children included).
proc_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# tree_ticks PID: PID's ticks plus utime + stime of its live children.
tree_ticks() {
	local t c
	t=$(proc_ticks "$1")
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$c/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

AS=()
if [ "$(id -u)" = 0 ]; then
	PGDIR=$(mktemp -d /tmp/ctrace-pg.XXXXXX) || exit 2
	chown nobody: "$PGDIR" || exit 2
	AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
else
	PGDIR=$WORK/pg
	mkdir -p "$PGDIR" || exit 2
fi

SERVER=
stop_server() {
	[ -n "$SERVER" ] || return 0
	kill -INT "$SERVER" 2>/dev/null # fast shutdown: the backends are told to exit
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
cleanup() {
	stop_server
	[ "$PGDIR" != "$WORK/pg" ] && rm -rf "$PGDIR"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# One cluster, initialised once (untraced), copied for each run.
"${AS[@]}" timeout 120 "$PGBIN/initdb" -D "$PGDIR/template" -A trust -U bench -E UTF8 \
	--no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 2; }

psql_q() { # psql_q SOCKDIR PORT SQL
	timeout 60 "$PGBIN/psql" -X -A -t -q -h "$1" -p "$2" -U bench -d postgres -c "$3" 2>&1
}

run_one() { # run_one MODE TAG (pairs.sh): the cluster and traces in $PGDIR/TAG
	local mode=$1 port dir
	dir=$PGDIR/$2
	port=$(free_port)
	"${AS[@]}" mkdir -p "$dir/sock" "$dir/traces"
	"${AS[@]}" cp -a "$PGDIR/template" "$dir/data"
	local opts=(-D "$dir/data" -k "$dir/sock" -p "$port" -c listen_addresses=127.0.0.1
		-c max_connections=20 -c shared_buffers=32MB)
	if [ "$mode" = traced ]; then
		"${AS[@]}" env CTRACE_OUT="$dir/traces/pg.%p.ctr" LD_PRELOAD="$LIB" \
			"$PGBIN/postgres" "${opts[@]}" >"$WORK/server.$mode.log" 2>&1 &
	else
		"${AS[@]}" "$PGBIN/postgres" "${opts[@]}" >"$WORK/server.$mode.log" 2>&1 &
	fi
	SERVER=$!
	for _ in $(seq 600); do
		psql_q "$dir/sock" "$port" "select 1" >/dev/null 2>&1 && break
		sleep 0.05
	done
	timeout 120 "$PGBIN/pgbench" -i -s "$SCALE" -q -h 127.0.0.1 -p "$port" -U bench postgres \
		>"$WORK/init.$mode" 2>&1
	local init_rc=$?
	# the answers: the same queries on the same freshly initialised data
	{
		psql_q "$dir/sock" "$port" "select count(*), sum(abalance), md5(string_agg(aid::text, ',' order by aid)) from pgbench_accounts"
		psql_q "$dir/sock" "$port" "select bid, count(*) from pgbench_accounts group by bid order by bid"
		psql_q "$dir/sock" "$port" "select relname from pg_class where relname like 'pgbench%' order by 1"
		psql_q "$dir/sock" "$port" "select 6 * 7, length(repeat('x', 100000)), 'abc' || 'def'"
		psql_q "$dir/sock" "$port" "select 1/0"
	} >"$WORK/answers.$mode"
	local t0 t1
	t0=$(tree_ticks "$SERVER")
	timeout $((SECS + 60)) "$PGBIN/pgbench" -c 4 -j 2 -T "$SECS" -h 127.0.0.1 -p "$port" \
		-U bench postgres >"$WORK/load.$mode" 2>&1
	local bench_rc=$?
	sleep 0.5 # the backends of the four clients exit and are reaped
	t1=$(tree_ticks "$SERVER")
	local server_pid=$SERVER
	stop_server
	local rc=$?
	local txns tps
	txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/load.$mode")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/load.$mode" | tail -n1)
	echo "${mode}_exit=$rc"
	echo "${mode}_init_exit=$init_rc"
	echo "${mode}_pgbench_exit=$bench_rc"
	echo "${mode}_server_pid=$server_pid"
	echo "${mode}_txns=${txns:-0}"
	echo "${mode}_tps=${tps:-0}"
	awk -v t=$((t1 - t0)) -v o="${txns:-0}" -v hz="$(getconf CLK_TCK)" -v m="$mode" \
		'BEGIN { printf "%s_cpu_us_per_txn=%.1f\n", m, o ? t * 1e6 / hz / o : 0 }'
}

# shellcheck source=pairs.sh
. "$(dirname "$0")/pairs.sh"
pairs_rc=0
run_pairs tps cpu_us_per_txn || pairs_rc=1
kv() { sed -n "s/^$2=//p" "$WORK/$1.kv"; }

# The traces: every file must be readable; waits summed over all of them.
rm -rf "$WORK/traces"
mkdir -p "$WORK/traces"
cp "$PGDIR"/traced/traces/*.ctr "$WORK/traces/" 2>/dev/null
master=$(kv traced traced_server_pid)
files=0 readable=0 others=0 others_with_waits=0 best=-1 busiest=
: >"$WORK/waits.tsv"
for f in "$WORK"/traces/*.ctr; do
	[ -f "$f" ] || continue
	files=$((files + 1))
	if "$CT" report --json "$f" >"$f.json" 2>"$f.err"; then
		readable=$((readable + 1))
	else
		echo "unreadable trace: $f: $(cat "$f.err")" >&2
		continue
	fi
	pid=$(jq -r '.trace.pid' "$f.json")
	if [ "$pid" = "$master" ]; then
		echo "master_trace=$f"
	else
		others=$((others + 1))
		[ "$(jq '[.profiles[] | select(.profile != "holder" and .profile != "wakeup")] | length' "$f.json")" -gt 0 ] &&
			others_with_waits=$((others_with_waits + 1))
		n=$(jq '[.profiles[] | select(.profile == "net" and .kind == "epoll") | .count] | add // 0' "$f.json")
		[ "$n" -gt "$best" ] && best=$n busiest=$f
	fi
	jq -r '.profiles[] | select(.profile != "holder" and .profile != "wakeup") |
		"\(.profile)_\(.kind)\t\(.count)"' "$f.json" >>"$WORK/waits.tsv"
done
echo "trace_files=$files"
echo "traces_readable=$readable"
echo "child_traces=$others"
echo "child_traces_with_waits=$others_with_waits"
echo "backend_trace=$busiest"
awk -F'\t' '{ n[$1] += $2 } END { for (k in n) printf "waits_%s=%d\n", k, n[k] }' \
	"$WORK/waits.tsv" | sort
if cmp -s "$WORK/answers.untraced" "$WORK/answers.traced"; then
	echo "answers=same"
else
	echo "answers=differ"
	diff "$WORK/answers.untraced" "$WORK/answers.traced" >&2
	exit 1
fi
for m in untraced traced; do
	for k in exit init_exit pgbench_exit; do
		[ "$(kv $m ${m}_$k)" = 0 ] || exit 1
	done
done
[ "$files" -gt 0 ] && [ "$readable" = "$files" ] && [ "$pairs_rc" = 0 ]
