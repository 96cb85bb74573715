#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Flight mode (CTRACE_MODE=flight): the recent past in memory, written as an ordinary trace
# only on a trigger; the control channel (ctrace snapshot, pause, resume). The program
# (tests/progs/flight.c) measures its own waits; the trace's figures are compared with
# them. Every run is bounded by timeout.

load helpers

F=$PROGS/flight

setup() { common_setup; }

# flight ENV... -- ARGS: the program under libctrace, bounded; output and status as bats run.
flight() {
	local env=()
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_MODE=flight CTRACE_OUT="$PWD/fl.%p.ctr" \
		"${env[@]}" "$F" "$@"
}

# serve_bg [ENV=VALUE...]: `flight serve STOPFILE` under libctrace in the background
# (stdout serve.out, stderr serve.err; its file size limited to SERVE_FSIZE KiB when set),
# returning once it runs, its pid in $pid; `touch stop` ends it
serve_bg() {
	(
		[ -z "${SERVE_FSIZE:-}" ] || ulimit -f "$SERVE_FSIZE"
		exec timeout 60 env LD_PRELOAD="$LIB" "$@" "$F" serve "$PWD/stop" >serve.out 2>serve.err
	) &
	for _ in $(seq 200); do grep -q ready=1 serve.out 2>/dev/null && break; sleep 0.05; done
	pid=$(pgrep -f "flight serve $PWD/stop" | tail -1)
}

@test "a slow wait after seconds of short ones: exactly one snapshot, with the wait, its stack and the configured age before it" {
	flight CTRACE_FLIGHT_AGE=2s CTRACE_TRIGGER='sync>300ms' CTRACE_TRIGGER_AFTER=1s -- slow 3500 800
	assert_success
	slow=$(value slow_ns)
	# a 2 ms wait that took over the threshold (the machine so loaded that the thread
	# was not run for 300 ms, by the program's own clock) is a trigger of its own
	[ "$(value short_max_ns)" -lt 300000000 ] ||
		skip "a short wait took $(value short_max_ns) ns here: over the 300 ms threshold"
	[ "$(ls fl.*.ctr | wc -l)" = 1 ]
	f=$(ls fl.*.ctr)
	run "$CT" check "$f"
	assert_success
	jreport "$f" '.trace.trigger | [.reason, .profile, .kind, .frames[0].func] | join(" ")' >t.txt
	assert_equal "$(cat t.txt)" "wait sync mutex slow_wait"
	# it fired while the wait was in progress (AFTER 1s then recorded its end):
	# at least the threshold, at most the whole wait
	wait_ns=$(jreport "$f" .trace.trigger.wait_ns)
	[ "$wait_ns" -ge 300000000 ] && [ "$wait_ns" -le "$slow" ]
	# at least CTRACE_FLIGHT_AGE of history before the trigger
	[ "$(jreport "$f" .trace.trigger.ns)" -ge 2000000000 ]
	# the wait itself, as long as the program measured it (within 2%), at slow_wait
	got=$(jreport "$f" '[.profiles[] | select(.profile == "sync" and .frames[0].func == "slow_wait")] | .[0].max_ns')
	[ "$got" -le "$slow" ] && [ "$got" -ge $((slow * 98 / 100)) ]
	# the text report and dump say it first
	run "$CT" report "$f"
	assert_line --index 1 --partial "flight-mode snapshot, trigger: wait at"
	assert_line --index 2 --partial "slow_wait (flight.c:"
	run "$CT" dump "$f"
	assert_output --partial "TRIGGER reason=wait tid="
}

@test "a threshold that never fires leaves no file" {
	flight CTRACE_TRIGGER='sync>10s' -- slow 500 300
	assert_success
	[ "$(value slow_ns)" -gt 0 ]
	run ls fl.*.ctr
	assert_failure
}

@test "ctrace snapshot of a running process: one complete snapshot, the program exits normally" {
	(timeout 60 env LD_PRELOAD="$LIB" CTRACE_MODE=flight CTRACE_OUT="$PWD/fl.%p.ctr" \
		"$F" serve "$PWD/stop" >serve.out; echo "exit=$?" >>serve.out) &
	for _ in $(seq 200); do grep -q ready=1 serve.out 2>/dev/null && break; sleep 0.05; done
	pid=$(pgrep -f "flight serve $PWD/stop" | grep -v "^$$\$" | tail -1)
	run timeout 60 "$CT" snapshot "$pid" -o snap.ctr
	assert_success
	assert_output "$PWD/snap.ctr"
	touch stop
	wait
	grep -q '^exit=0$' serve.out
	run "$CT" check snap.ctr
	assert_success
	[ "$(jreport snap.ctr '.trace.truncated')" = false ]
	[ "$(jreport snap.ctr '.trace.trigger.reason')" = request ]
	[ "$(jreport snap.ctr '[.profiles[] | select(.frames[1].func == "short_wait")] | length')" -ge 1 ]
	# nothing else: no trigger at exit
	[ "$(ls ./*.ctr | wc -l)" = 1 ]
	# a process that is not traced, or not in flight mode: exit 2, one line
	run "$CT" snapshot $$
	assert_failure 2
	assert_output --partial "is not traced by libctrace"
}

@test "the rate limit counts the snapshots it suppressed" {
	flight CTRACE_TRIGGER='sync>100ms,exit' CTRACE_TRIGGER_LIMIT=1/min -- rate 4 150 100
	assert_success
	n=$(value slow_waits)
	[ "$n" -ge 2 ]
	[ "$(ls fl.*.ctr | wc -l)" = 2 ]
	for f in fl.*.ctr; do jreport "$f" '.trace.trigger | "\(.reason) \(.suppressed)"'; done | sort >t.txt
	assert_equal "$(cat t.txt)" "$(printf 'exit %d\nwait 0' $((n - 1)))"
}

@test "the trigger signal just before the program exits: the exit writes its snapshot" {
	# the handler only notes the signal for the writer's next cycle; this program exits
	# before one comes (it has no writer thread at all), so the exit must take it
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_MODE=flight CTRACE_TRIGGER=signal \
		CTRACE_OUT="$PWD/fl.%p.ctr" sh -c 'kill -USR2 $$; exit 3'
	[ "$status" = 3 ]
	f=$(ls fl.*.ctr)
	run "$CT" dump "$f"
	assert_success
	[ "$(grep -c 'TRIGGER reason=' <<<"$output")" = 1 ]
	assert_output --regexp 'TRIGGER reason=signal .* signal=12 suppressed=0'
}

# sig_core PROGRAM...: "sig=N core=0|1" of a run (core dumps allowed, into this directory)
sig_core() {
	ulimit -c unlimited 2>/dev/null || ulimit -c 0
	timeout 90 perl -e '
		my $pid = fork();
		if ($pid == 0) { exec @ARGV or exit 127; }
		alarm(60);
		waitpid($pid, 0);
		my $st = $?;
		if ($st & 127) { printf "sig=%d core=%d\n", $st & 127, ($st & 128) ? 1 : 0 }
		else { printf "exit=%d\n", $st >> 8 }' "$@"
}

@test "a crash in flight mode leaves a snapshot and the program's own status" {
	untraced=$(sig_core "$F" crash)
	traced=$(sig_core env LD_PRELOAD="$LIB" CTRACE_MODE=flight CTRACE_OUT="$PWD/fl.%p.ctr" "$F" crash)
	assert_equal "$traced" "$untraced"
	[[ "$traced" == sig=6* ]]
	f=$(ls fl.*.ctr)
	jreport "$f" '.trace.trigger | "\(.reason) \(.signal)"' >t.txt
	assert_equal "$(cat t.txt)" "crash 6"
	# the 50 waits before the abort
	[ "$(jreport "$f" '[.profiles[] | select(.frames[1].func == "short_wait") | .count] | add')" = 50 ]
}

@test "memory stays within CTRACE_FLIGHT_SIZE plus the fixed buffers over a busy run (10 s)" {
	preload_only # the traced program's memory; flight snapshots are read in the other tests
	# 16 buffers and, with 16 thread slots, 16 small ones (a thread takes those when the
	# 16 are out: a writer behind on a busy machine took as many as there are slots, up
	# to 4096 of 4 KiB, in streaming and flight mode alike, and the two RSS differed by
	# how far behind it was)
	# (a 1 MiB ring: on a loaded machine the writer, which gets less of the CPU, wrote
	# a little over 2 MiB in the 10 s at worst)
	flight CTRACE_FLIGHT_SIZE=1m CTRACE_FLIGHT_AGE=60s CTRACE_BUFFERS=16 CTRACE_MAX_THREADS=16 \
		CTRACE_TRIGGER=exit -- busy 10
	assert_success
	early=$(value rss_early_kb); late=$(value rss_late_kb); run_ns=$(value run_ns)
	f=$(ls fl.*.ctr)
	# the snapshot is what the ring held: at most CTRACE_FLIGHT_SIZE and the header
	[ "$(stat -c %s "$f")" -le $((1048576 + 4096)) ]
	# the ring recycled its oldest generations by size (the age would keep 60 s): the
	# first one it kept is not the first, and what it kept is shorter than the run
	first=$("$CT" dump "$f" | sed -n 's/^gen=\([0-9]*\) GEN_BEGIN.*/\1/p' | head -1)
	echo "first generation kept: $first" >&2
	[ "$first" -gt 1 ]
	[ "$(jreport "$f" .trace.duration_ns)" -lt $((run_ns - 1000000000)) ]
	# over the second half, no growth beyond the ring (full by then) and the buffers
	echo "rss: half-way $early KiB, end $late KiB" >&2
	[ $((late - early)) -le $((1024 + 16 * 64)) ]
	# and no more than streaming mode's with the ring and the buffers
	out=$(timeout 60 env LD_PRELOAD="$LIB" CTRACE_BUFFERS=16 CTRACE_MAX_THREADS=16 \
		CTRACE_OUT="$PWD/st.%p.ctr" "$F" busy 4)
	stream_late=$(sed -n 's/^rss_late_kb=//p' <<<"$out")
	echo "rss: streaming mode $stream_late KiB" >&2
	[ "$late" -le $((stream_late + 1024 + 16 * 64)) ]
}

@test "CTRACE_START=paused, ctrace resume and pause: the trace holds the waits of the resumed period only" {
	(timeout 60 env LD_PRELOAD="$LIB" CTRACE_START=paused CTRACE_OUT="$PWD/p.%p.ctr" \
		"$F" phases "$PWD" >ph.out; echo "exit=$?" >>ph.out) &
	for _ in $(seq 400); do [ -e p1 ] && break; sleep 0.05; done
	pid=$(pgrep -f "flight phases $PWD" | tail -1)
	run timeout 60 "$CT" resume "$pid"
	assert_success
	assert_output "$pid resumed"
	touch go2
	for _ in $(seq 400); do [ -e p2 ] && break; sleep 0.05; done
	run timeout 60 "$CT" pause "$pid"
	assert_success
	assert_output "$pid paused"
	touch go3
	wait
	grep -q '^exit=0$' ph.out
	n2=$(sed -n 's/^phase_two_waits=//p' ph.out)
	f=$(ls p.*.ctr)
	jreport "$f" '[.profiles[] | select(.profile == "sync") | {f: .frames[2].func, n: .count}] | group_by(.f) | map("\(.[0].f)=\(map(.n) | add)") | join(" ")' >t.txt
	assert_equal "$(cat t.txt)" "phase_two=$n2"
}

@test "ctrace record --duration records the first D only; ctrace snapshot of a process not in flight mode exits 2" {
	run timeout 60 "$CT" record --duration 300ms -o d.ctr -- "$F" slow 1500 10
	assert_success
	n=$(value short_waits)
	got=$(jreport d.ctr '[.profiles[] | select(.frames[1].func == "short_wait") | .count] | add')
	[ "$got" -gt 0 ] && [ "$got" -lt "$n" ]
	[ "$(jreport d.ctr '[.profiles[] | select(.frames[0].func == "slow_wait")] | length')" = 0 ]
	serve_bg CTRACE_START=running CTRACE_OUT="$PWD/s.%p.ctr"
	run "$CT" snapshot "$pid"
	assert_failure 2
	assert_output "ctrace: process $pid is not in flight mode (CTRACE_MODE=flight)"
	touch stop
	wait
}

@test "ctrace pause while a wait is in progress: its end is recorded, no slow-wait trigger fires while paused" {
	# flight mode: serve's 2 ms waits run back to back, so the pause finds one in
	# progress whose WAIT_BEGIN the writer drained; a second later, paused, no
	# snapshot of a "wait" of over 300 ms
	serve_bg CTRACE_MODE=flight CTRACE_TRIGGER='sync>300ms' CTRACE_OUT="$PWD/fl.%p.ctr"
	sleep 0.3
	run timeout 60 "$CT" pause "$pid"
	assert_success
	sleep 1
	touch stop
	wait
	run ls fl.*.ctr
	assert_failure
	# streaming: the trace of a pause and resume has no wait left open
	rm -f stop
	serve_bg CTRACE_START=running CTRACE_OUT="$PWD/st.%p.ctr"
	sleep 0.3
	run timeout 60 "$CT" pause "$pid"
	assert_success
	sleep 0.5
	run timeout 60 "$CT" resume "$pid"
	assert_success
	sleep 0.3
	touch stop
	wait
	f=$(ls st.*.ctr)
	run "$CT" report "$f"
	assert_success
	refute_output --partial "still in progress"
}

@test "a fork child does not fire the parent's triggers: a wait of the parent in progress at the fork" {
	flight CTRACE_TRIGGER='sync>500ms' -- forkwait
	assert_success
	child=$(value child)
	# the parent's snapshot of its own slow wait; none of the child's
	[ -n "$(ls fl.*.ctr | grep -v "fl\.$child\.")" ]
	run ls fl."$child".*ctr
	assert_failure
}

@test "a request while a trigger waits for CTRACE_TRIGGER_AFTER: the trigger's snapshot keeps its CTRACE_FLIGHT_AGE" {
	serve_bg CTRACE_MODE=flight CTRACE_FLIGHT_AGE=1s CTRACE_TRIGGER_AFTER=3s \
		CTRACE_OUT="$PWD/fl.%p.ctr"
	sleep 2
	kill -USR2 "$pid"
	sleep 2
	run timeout 60 "$CT" snapshot "$pid" -o "$PWD/req.ctr"
	assert_success
	for _ in $(seq 100); do [ -e "fl.$pid.ctr" ] && break; sleep 0.05; done
	touch stop
	wait
	[ "$(jreport "fl.$pid.ctr" .trace.trigger.reason)" = signal ]
	# the second before the trigger is kept (the request at trigger + 2 s evicted it)
	[ "$(jreport "fl.$pid.ctr" .trace.trigger.ns)" -ge 1000000000 ]
}

@test "flight mode without the signal trigger: the trigger signal is the program's (its default action)" {
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_MODE=flight CTRACE_TRIGGER=crash \
		CTRACE_OUT="$PWD/fl.%p.ctr" sh -c 'kill -USR2 $$; exit 3'
	# untraced: killed by SIGUSR2 (128 + 12)
	[ "$status" = 140 ]
	# the crash trigger's snapshot of it
	f=$(ls fl.*.ctr)
	[ "$(jreport "$f" '.trace.trigger | "\(.reason) \(.signal)"')" = "crash 12" ]
}

@test "a snapshot cut short by the file-size limit is removed, not left as a shorter trace" {
	# 8 KiB: less than a snapshot of serve after a second or more (12 KB after 1.5 s)
	SERVE_FSIZE=8 serve_bg CTRACE_MODE=flight CTRACE_OUT="$PWD/fl.%p.ctr"
	sleep 4
	run timeout 60 "$CT" snapshot "$pid" -o "$PWD/snap.ctr"
	assert_failure 2
	touch stop
	wait
	run ls ./*.ctr
	assert_failure
}
