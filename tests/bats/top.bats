#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# `ctrace top`: the live view of a traced process, in batch mode (one block per interval,
# what scripts read) against programs with known waits, and on a terminal under tmux
# (send-keys, capture-pane). The programs run traced in the background, with short
# generations (CTRACE_GENERATION_MS) so that the view trails them little; every one is
# bounded by timeout and killed at teardown. A flight-mode process writes no trace: top
# asks it for snapshots (tests/progs/top_flight.c).

load helpers

setup() {
	common_setup
	BG=()
	SOCK="ctop$$"
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	bg_kill
}

# traced_bg NAME TRACE PROGRAM ARGS...: bg_start NAME with PROGRAM under the preload,
# writing TRACE (short generations, so that the view trails the program little).
traced_bg() {
	local name=$1 out=$2
	shift 2
	bg_start "$name" env LD_PRELOAD="$LIB" CTRACE_OUT="$out" CTRACE_GENERATION_MS=100 "$@"
}

# ns DURATION: ct_fmt_duration's "616ms", "1.42s", "58.8us", "850ns" in ns.
ns() {
	awk -v d="$1" 'BEGIN {
		n = d + 0; u = d; sub(/^[0-9.]+/, "", u)
		m = u == "s" ? 1e9 : u == "ms" ? 1e6 : u == "us" ? 1e3 : 1
		printf "%.0f\n", n * m }'
}

# last_block FILE: the last block of a batch output (from its last title line).
last_block() {
	awk '/^ctrace top - / { b = "" } { b = b $0 "\n" } END { printf "%s", b }' "$1"
}

@test "top --batch FILE: the final block has lockwait's wait site and the total it measured" {
	line=$(marked_line "$SRC/tests/progs/lockwait.c" WAIT-SITE)
	traced_bg lw lw.ctr "$PROGS/lockwait" 4 25 2000
	await lw.ctr
	run timeout 60 "$CT" top --batch --interval 200ms lw.ctr
	assert_success
	printf '%s\n' "$output" >top.out
	wait "$TPID"
	output=$(cat lw.out)
	want=$(value wait_total_ns)
	blocked=$(value blocked) calls=$(value lock_calls)
	# the writer is gone: the last block is the final state
	last_block top.out >final.txt
	head -n1 final.txt | grep -q -- ' - finished$' || fail "last block: $(head -n1 final.txt)"
	row=$(grep -E " mutex +contend_lock \(lockwait.c:$line\) <- lock_worker$" final.txt) ||
		fail "no contend_lock row in: $(cat final.txt)"
	read -r _last _lastn total count _ <<<"$row"
	assert_within 5 "$(ns "$total")" "$want" "$(value wait_rq_ns)"
	[ "$count" -ge "$blocked" ] && [ "$count" -le "$calls" ] ||
		fail "count $count: the program saw $blocked of its $calls lock calls asleep"
	# the same engine as report: the same count, the total as printed (3 digits)
	rep=$("$CT" report --json lw.ctr | jq -c '[.profiles[] | select(.profile == "sync" and
		.frames[0].func == "contend_lock")][0]')
	[ "$(jq .count <<<"$rep")" = "$count" ]
	assert_within 1 "$(ns "$total")" "$(jq .total_ns <<<"$rep")"
	# nothing is blocked at the end of a program that returned
	grep -A2 '^THREADS BLOCKED NOW' final.txt | grep -q '^  (none)$'
}

@test "top --batch PID: a deadlocked process, its locks' waiters and owners, its blocked threads" {
	traced_bg dl dl.ctr "$PROGS/deadlock"
	await dl.out deadlocked
	a=$(marked_line "$SRC/tests/progs/deadlock.c" WAIT-A)
	b=$(marked_line "$SRC/tests/progs/deadlock.c" WAIT-B)
	# a view that follows it until both blocked threads show (the view trails the process
	# by a generation or two), then is stopped
	timeout 60 "$CT" top --batch --interval 200ms "$PID" >live.out 2>&1 &
	BG+=("$!")
	await live.out "^ *[0-9]*  ab  *mutex "
	await live.out "^ *[0-9]*  ba  *mutex "
	kill "$!"
	# a second one, for three blocks
	run timeout 60 "$CT" top --batch --iterations 3 --interval 300ms "$PID"
	assert_success
	printf '%s\n' "$output" >top.out
	[ "$(grep -c '^ctrace top - deadlock pid '"$PID"' - .*dl.ctr - at .* - running$' top.out)" = 3 ]
	last_block top.out >b3.txt
	# the threads blocked now, on what, where
	ab=$(awk '$2 == "ab" && $3 == "mutex" { print $1 }' b3.txt)
	ba=$(awk '$2 == "ba" && $3 == "mutex" { print $1 }' b3.txt)
	[ -n "$ab" ] && [ -n "$ba" ] || fail "blocked threads: $(cat b3.txt)"
	grep -E "^ +$ab +ab +mutex +[0-9.]+m?s +lock_b +take_a_then_b \(deadlock.c:$b\)" b3.txt
	grep -E "^ +$ba +ba +mutex +[0-9.]+m?s +lock_a +take_b_then_a \(deadlock.c:$a\)" b3.txt
	# each lock: one waiter, owned by the other thread
	grep -E "^ +1 +$ab +mutex +lock_a +$ba\$" b3.txt
	grep -E "^ +1 +$ba +mutex +lock_b +$ab\$" b3.txt
	# the wait in progress: no wait ended, its time in the interval at most the interval
	# (all of it once the wait spans the interval), and more since the start than when the
	# first view saw it
	row=$(grep -E " mutex +take_a_then_b \(deadlock.c:$b\)" b3.txt)
	read -r last lastn total _ <<<"$row"
	[ "$lastn" = 0 ]
	ivl=$(sed -n 's/^WAIT SITES (sync)  last \([^,]*\),.*/\1/p' b3.txt)
	[ "$(ns "$last")" -gt 0 ] && [ "$(ns "$last")" -le "$(( $(ns "$ivl") * 101 / 100 ))" ] ||
		fail "last $last in an interval of $ivl"
	first=$(grep -m1 -E " mutex +take_a_then_b \(deadlock.c:$b\)" live.out | awk '{ print $3 }')
	[ "$(ns "$total")" -gt "$(ns "$first")" ] || fail "total $total after $first"
}

@test "top PID: a process that is not traced, or no process, is one line and exit status 2" {
	sleep 30 </dev/null >/dev/null 2>&1 &
	BG+=("$!")
	run timeout 10 "$CT" top --batch "$!"
	assert_failure 2
	assert_output "ctrace: top: process $! is not traced (none of its open files is a ctrace trace of it)"
	run timeout 10 "$CT" top --batch 999999999
	assert_failure 2
	[ "${#lines[@]}" = 1 ]
}

@test "top FILE: a trace that ends in an incomplete chunk, its writer gone, is shown as it is" {
	run timeout 60 "$CT" record -o lw.ctr -- "$PROGS/lockwait" 3 10 1000
	assert_success
	size=$(stat -c %s lw.ctr)
	head -c $((size - 20)) lw.ctr >cut.ctr
	run timeout 60 "$CT" top --batch cut.ctr
	assert_success
	refute_output --partial damaged
	refute_output --partial corrupt
	assert_line --regexp '^ctrace top - lockwait pid [0-9]+ - cut.ctr - at .* - finished$'
	assert_line --regexp ' mutex +contend_lock \(lockwait.c:[0-9]+\) <- lock_worker$'
}

@test "top --batch: the convoy marker on examples/convoy's lock while it convoys" {
	traced_bg cv cv.ctr "$EXAMPLES/convoy" 8 300 200 50
	await cv.ctr
	run timeout 60 "$CT" top --batch --interval 200ms cv.ctr
	assert_success
	assert_line --regexp '^ +[0-9]+ +[0-9?]+ +mutex +stats +[ 0-9]+ CONVOY \([0-9]+ windows of 100ms\)$'
	wait "$TPID"
	# the analysis of the whole trace says so too
	run "$CT" check --fail-on convoy cv.ctr
	assert_failure 1
}

@test "top on a terminal (tmux): the sections, s and p change the sort and profile, q quits with 0" {
	command -v tmux >/dev/null || fail "tmux is not installed (tests/deps.sh)"
	traced_bg dl dl.ctr "$PROGS/deadlock"
	await dl.out deadlocked
	tmux -L "$SOCK" new-session -d -s top -x 160 -y 40 \
		"timeout --foreground 60 '$CT' top --interval 200ms '$PID'; echo status=\$? >'$PWD/st'; sleep 30"
	screen() { tmux -L "$SOCK" capture-pane -p -t top; }
	# until_screen TEXT: waits (30 s at most) for the pane to show TEXT
	until_screen() {
		local i
		for i in $(seq 1 600); do
			screen | grep -q -- "$1" && return 0
			sleep 0.05
		done
		fail "the pane never showed '$1': $(screen)"
	}
	until_screen 'take_a_then_b (deadlock.c'
	screen >s1.txt
	grep -q '^profile sync (p)  sort last (s)' s1.txt
	grep -q '^WAIT SITES (sync)' s1.txt
	grep -q '^LOCKS WITH WAITERS NOW' s1.txt
	grep -q '^THREADS BLOCKED NOW' s1.txt
	tmux -L "$SOCK" send-keys -t top s
	until_screen '^profile sync (p)  sort total (s)'
	tmux -L "$SOCK" send-keys -t top p
	until_screen '^profile net (p)  sort total (s)'
	until_screen '^WAIT SITES (net)'
	tmux -L "$SOCK" send-keys -t top q
	await st
	[ "$(cat st)" = status=0 ]
}

@test "top --batch PID on a flight-mode process: its waits from live snapshots, no file left, its own status" {
	line=$(marked_line "$SRC/tests/progs/top_flight.c" WAIT-SITE)
	mkdir tmp
	CTRACE_MODE=flight CTRACE_TRIGGER=signal CTRACE_TRIGGER_LIMIT=1/min \
		traced_bg tf "$PWD/fl.%p.ctr" \
		"$PROGS/top_flight" "$PWD" 2 20 10
	await tf.out ready=1
	# a view that asks it while it waits (a snapshot each interval, only the generations
	# not read yet), until the row has all of its waits
	TMPDIR="$PWD/tmp" timeout 60 "$CT" top --batch --interval 200ms "$PID" >live.out 2>&1 &
	BG+=("$!")
	await live.out "^ctrace top - top_flight pid $PID - flight mode - at .* - running$"
	touch go
	await done
	output=$(cat tf.out)
	want=$(value wait_total_ns) waits=$(value waits)
	row_re=" cond +timed_site \(top_flight.c:$line\) <- worker$"
	await live.out "^ *[0-9.]*[mun]*s  *[0-9]*  *[0-9.]*[mun]*s  *$waits  cond  *timed_site (top_flight.c:$line) <- worker\$"
	kill "$!"
	wait "$!" || true # one view at a time: the channel takes one request at a time
	# each wait once: the count since the start never went beyond the program's
	grep -E "$row_re" live.out | awk -v w="$waits" '$4 > w { exit 1 }' ||
		fail "counted twice: $(grep -E "$row_re" live.out)"
	# a view of the process when it is done: --iterations blocks, the last with its total
	run timeout 60 env TMPDIR="$PWD/tmp" "$CT" top --batch --iterations 3 --interval 200ms "$PID"
	assert_success
	printf '%s\n' "$output" >top.out
	[ "$(grep -c "^ctrace top - top_flight pid $PID - flight mode - at .* - running$" top.out)" = 3 ]
	last_block top.out >b3.txt
	row=$(grep -E "$row_re" b3.txt) || fail "no timed_site row in: $(cat b3.txt)"
	read -r _last lastn total count _ <<<"$row"
	[ "$count" = "$waits" ] && [ "$lastn" = 0 ]
	assert_within 5 "$(ns "$total")" "$want"
	# no snapshot file left: neither in the private directories nor next to CTRACE_OUT
	[ -z "$(ls -A tmp)" ] || fail "left in TMPDIR: $(ls -A tmp)"
	[ -z "$(ls fl.* 2>/dev/null)" ] || fail "left: $(ls fl.*)"
	# top's snapshots were no triggers: the trigger signal still gets the one snapshot
	# CTRACE_TRIGGER_LIMIT=1/min allows, with its TRIGGER record only and none
	# suppressed; the program ends with its own status
	kill -USR2 "$PID"
	touch stop
	st=0
	wait "$TPID" || st=$?
	[ "$st" = 7 ] || fail "exit status $st: $(cat tf.err)"
	f=$(ls fl.*)
	[ "$f" = "fl.$PID.ctr" ]
	"$CT" dump "$f" | grep -c 'reason=' >n.txt
	[ "$(cat n.txt)" = 1 ]
	"$CT" dump "$f" | grep -q 'reason=signal .*suppressed=0$'
}
