#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Real servers, short form (make test-real runs the long form): traced and untraced side by
# side, same answers, and a trace that shows where the server waits. The ratios are
# collected and printed as one summary at the end of the file (real-ratios.bash).

load helpers
load real-ratios

setup() {
	common_setup
	command -v memcached >/dev/null || skip "memcached not installed (tests/deps.sh installs it)"
}

teardown() {
	# a daemon a test started (its pid from its pid file) is stopped even if the test failed
	[ -n "${MCD_PID:-}" ] && kill -TERM "$MCD_PID" 2>/dev/null
	[ -n "${MCD_DIR:-}" ] && rm -rf "$MCD_DIR"
	return 0
}

teardown_file() { ratios_summary; }

@test "memcached -t 4 under load: same answers traced, its epoll and lock waits in the report" {
	run timeout $(((${CTRACE_REAL_SECONDS:-3} + 15) * 2 * ${CTRACE_REAL_PAIRS:-1} + 120)) "$SRC/tests/real/memcached.sh" "$CTRACE_BUILD" "$BATS_TEST_TMPDIR/mc" "${CTRACE_REAL_SECONDS:-3}"
	assert_success
	assert_line "answers=same"
	assert_line "traced_capable=54 passed, 0 failed"
	assert_line "traced_exit=0"
	trace=$(sed -n 's/^trace=//p' <<<"$output")
	# the traced server served the load (not a handful of requests)
	[ "$(value traced_ops)" -gt 10000 ]
	# throughput and server CPU per request (targets 0.9 and 1.10): only a gross slowdown
	# fails here, on a loaded machine; the summary prints what was measured
	ratio_record memcached tps_ratio ">=" 0.9 0.3
	ratio_record memcached cpu_per_op_ratio "<=" 1.10 3
	run "$CT" report --json "$trace"
	assert_success
	jq -e '.trace.exe == "/usr/bin/memcached" and .trace.threads >= 5 and .trace.lost_events == 0' <<<"$output"
	# worker threads wait in epoll_wait (libevent), the server's threads on its locks and
	# condition variables
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "epoll")] | map(.count) | add > 100' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync" and (.kind == "mutex" or .kind == "cond"))] | length > 0' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and (.kind == "read" or .kind == "recv" or .kind == "send" or .kind == "write"))] | length > 0' <<<"$output"
}

# mc_cmd PORT COMMAND...: the server's replies to each command (memcached text protocol,
# "\n" in a command separates its lines), over loopback.
mc_cmd() {
	timeout 20 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rwb")
for cmd in sys.argv[2:]:
    f.write(cmd.encode().replace(b"\\n", b"\r\n") + b"\r\n")
    f.flush()
    while True:
        line = f.readline()
        sys.stdout.write(line.decode().replace("\r\n", "\n"))
        if not line or not cmd.startswith("get") or line == b"END\r\n":
            break
' "$@"
}

@test "memcached -d -u nobody started as root, traces in a root-owned 0755 directory: the daemon's trace is written" {
	[ "$(id -u)" = 0 ] || skip "needs root (memcached drops to nobody)"
	MCD_DIR=$(mktemp -d /tmp/ctrace-mcd.XXXXXX)
	chmod 0755 "$MCD_DIR"
	mkdir "$MCD_DIR/traces" "$MCD_DIR/run"
	chmod 0755 "$MCD_DIR/traces"
	chmod 0777 "$MCD_DIR/run"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run timeout 30 env LD_PRELOAD="$LIB" CTRACE_OUT="$MCD_DIR/traces/mc.%p.ctr" \
		memcached -d -u nobody -t 2 -l 127.0.0.1 -p "$port" -U 0 -P "$MCD_DIR/run/pid"
	assert_success
	for _ in $(seq 600); do [ -s "$MCD_DIR/run/pid" ] && break; sleep 0.05; done
	MCD_PID=$(cat "$MCD_DIR/run/pid")
	[ -n "$MCD_PID" ]
	assert_equal "$(ps -o user= -p "$MCD_PID")" nobody
	run mc_cmd "$port" 'set k 0 0 5\nhello' 'get k' 'incr n 1' 'delete k' 'get k'
	assert_output "$(printf 'STORED\nVALUE k 0 5\nhello\nEND\nNOT_FOUND\nDELETED\nEND')"
	# a second of serving (its workers wait in epoll_wait), then stopped
	sleep 1
	kill -TERM "$MCD_PID"
	for _ in $(seq 600); do kill -0 "$MCD_PID" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$MCD_PID" 2>/dev/null
	pid=$MCD_PID
	MCD_PID=
	ls -l "$MCD_DIR/traces"
	# The daemon (forked after memcached became nobody) may not create a file there: it
	# writes into the spare its parent made while still root, mc.PARENT.1.ctr; its own pid
	# is in the header.
	f=
	for t in "$MCD_DIR"/traces/*.ctr; do
		[ "$(timeout 60 "$CT" report --json "$t" 2>/dev/null | jq .trace.pid)" = "$pid" ] && f=$t
	done
	[ -n "$f" ] || fail "no trace for the daemon (pid $pid)"
	run --separate-stderr timeout 60 "$CT" report --json "$f"
	assert_success
	jq -e '.trace.truncated == false and .trace.lost_events == 0 and .trace.threads >= 3' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "epoll")] | length > 0' <<<"$output"
}
