#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Processes under libctrace: fork children get files of their own, exec starts a new file
# (never overwriting the old image's), a program's own envp keeps tracing, daemons that
# close every fd keep tracing, and thread churn stays bounded with no event lost.
# Programs run with LD_PRELOAD set directly (not through `ctrace record`) so that every
# process they start is traced the same way; CTRACE_OUT=t.%p.ctr.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
bats_require_minimum_version 1.5.0

: "${CTRACE_BUILD:?set CTRACE_BUILD to the build directory}"
CT=${CTRACE_CLI:-$CTRACE_BUILD/ctrace}
LIB=$CTRACE_BUILD/libctrace.so
PROGS=$CTRACE_BUILD/progs

setup() { cd "$BATS_TEST_TMPDIR" || return 1; }

# traced PROGRAM ARGS...: run under the tracer (bounded), output and status as bats run.
traced() {
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$@"
}

# waits_on FILE ADDR: WAIT_BEGIN events on the object at ADDR in FILE.
waits_on() {
	"$CT" dump "$1" | grep -c "WAIT_BEGIN kind=mutex obj=$2" || true
}

# field KEY: the value printed as KEY=VALUE in $output.
field() {
	printf '%s\n' "$output" | grep -o "$1=[^ ]*" | head -n1 | cut -d= -f2
}

# readable FILE: the report reads it, complete, nothing lost ($output is left alone).
readable() {
	local json
	json=$("$CT" report --json "$1") || fail "ctrace report $1 failed"
	jq -e '.trace.truncated == false and .trace.lost_events == 0' <<<"$json" >/dev/null ||
		fail "$1: truncated or lost events"
}

@test "fork: each child that records writes its own file; nothing of the parent's in it" {
	run timeout 60 "$PROGS/proc_fork" fork
	assert_success
	plain=$output
	traced "$PROGS/proc_fork" fork
	assert_success
	assert_line --regexp '^child 0 pid=[0-9]+ status=7$'
	assert_line --regexp '^child 1 pid=[0-9]+ status=8$'
	assert_line --regexp '^child 2 pid=[0-9]+ status=0$'
	[ "$(grep -c '^child' <<<"$output")" = "$(grep -c '^child' <<<"$plain")" ]
	pmu=$(field parent_mu)
	cmu=$(field child_mu)
	ppid=$(ls t.*.ctr | head -n1)
	# parent + children 0 and 1; child 2 recorded nothing and leaves no file
	[ "$(ls t.*.ctr | wc -l)" = 3 ]
	for i in 0 1; do
		pid=$(printf '%s\n' "$output" | sed -n "s/^child $i pid=\\([0-9]*\\).*/\\1/p")
		[ -f "t.$pid.ctr" ]
		readable "t.$pid.ctr"
		[ "$(waits_on "t.$pid.ctr" "$cmu")" = 3 ]
		[ "$(waits_on "t.$pid.ctr" "$pmu")" = 0 ]
		[ "$("$CT" report --json "t.$pid.ctr" | jq .trace.pid)" = "$pid" ]
	done
	pid2=$(printf '%s\n' "$output" | sed -n 's/^child 2 pid=\([0-9]*\).*/\1/p')
	[ ! -e "t.$pid2.ctr" ]
	# the parent's file: its 5 waits, none of the children's
	for f in t.*.ctr; do
		if [ "$(waits_on "$f" "$pmu")" != 0 ]; then
			readable "$f"
			[ "$(waits_on "$f" "$pmu")" = 5 ]
			[ "$(waits_on "$f" "$cmu")" = 0 ]
		fi
	done
	[ "$(for f in t.*.ctr; do waits_on "$f" "$pmu"; done | grep -c '^5$')" = 1 ]
}

@test "fork: without %p in CTRACE_OUT the child's file gets .N, nothing is overwritten" {
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=one.ctr "$PROGS/proc_fork" fork
	assert_success
	[ "$(ls *.ctr | wc -l)" = 3 ]
	# the children's names are one.N.ctr; a child that recorded nothing gave its name back
	[ -f one.ctr ] && [ "$(ls one.[0-9]*.ctr | wc -l)" = 2 ]
	for f in *.ctr; do readable "$f"; done
}

@test "exec: a child's execve with its own envp keeps tracing into a new file" {
	traced "$PROGS/proc_fork" exec
	assert_equal "$status" 5
	assert_line --regexp '^image2 pid=[0-9]+ .* LD_PRELOAD=set CTRACE_OUT=set$'
	pmu=$(field parent_mu)
	cmu=$(field child_mu)
	pid=$(printf '%s\n' "$output" | sed -n 's/^image2 pid=\([0-9]*\).*/\1/p')
	imu=$(printf '%s\n' "$output" | sed -n 's/^image2 .*image2_mu=\(0x[0-9a-f]*\).*/\1/p')
	[ "$(ls t.*.ctr | wc -l)" = 3 ]
	# the child before exec, and the new image (same pid) in a file of its own
	[ -f "t.$pid.ctr" ] && [ -f "t.$pid.1.ctr" ]
	readable "t.$pid.ctr"
	readable "t.$pid.1.ctr"
	[ "$(waits_on "t.$pid.ctr" "$cmu")" = 2 ]
	[ "$(waits_on "t.$pid.ctr" "$pmu")" = 0 ]
	[ "$(waits_on "t.$pid.1.ctr" "$imu")" = 2 ]
	[ "$(waits_on "t.$pid.1.ctr" "$cmu")" = 0 ]
}

@test "exec: the process's own exec writes the old image's events, then a new file" {
	traced "$PROGS/proc_fork" exec-self
	assert_equal "$status" 5
	pid=$(field pid)
	pmu=$(field parent_mu)
	[ "$(ls t.*.ctr | wc -l)" = 2 ]
	readable "t.$pid.ctr"
	readable "t.$pid.1.ctr"
	[ "$(waits_on "t.$pid.ctr" "$pmu")" = 2 ]
	[ "$("$CT" dump "t.$pid.1.ctr" | grep -c 'WAIT_BEGIN kind=mutex')" = 2 ]
}

@test "exec: a failed execve returns its errno and tracing goes on in the same file" {
	traced "$PROGS/proc_fork" exec-fail
	assert_success
	assert_line "execve=-1 errno=2"
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	readable t.*.ctr
	[ "$("$CT" dump t.*.ctr | grep -c 'WAIT_BEGIN kind=mutex')" = 4 ]
}

@test "ctrace record: fork and exec children are traced next to the first file" {
	run timeout 60 "$CT" record -o r.%p.ctr -- "$PROGS/proc_fork" exec
	assert_equal "$status" 5
	[ "$(ls r.*.ctr | wc -l)" = 3 ]
	for f in r.*.ctr; do readable "$f"; done
}

# daemon MODE: the daemon's report line (waits for the marker file it writes).
daemon() {
	local mark=$BATS_TEST_TMPDIR/mark.$1.$2
	if [ "$2" = traced ]; then
		timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT="t.%p.ctr" "$PROGS/proc_fork" "$1" "$mark"
	else
		timeout 60 "$PROGS/proc_fork" "$1" "$mark"
	fi
	for _ in $(seq 300); do [ -f "$mark" ] && break; sleep 0.1; done
	cat "$mark"
}

@test "daemon: double fork, setsid, chdir / and close(0..1023) keep tracing" {
	plain=$(daemon daemon plain)
	run daemon daemon traced
	assert_success
	# the same closes succeeded and the next open got the same number
	[ "${output% pid=*}" = "${plain% pid=*}" ]
	pid=$(field pid)
	# the file is where the program started, not in /
	for _ in $(seq 50); do
		[ -f "t.$pid.ctr" ] && "$CT" report --json "t.$pid.ctr" 2>/dev/null |
			jq -e '.trace.truncated == false' >/dev/null && break
		sleep 0.1
	done
	readable "t.$pid.ctr"
	[ "$("$CT" dump "t.$pid.ctr" | grep -c 'WAIT_BEGIN kind=mutex')" = 3 ]
	# the original parent's file, and no file for the intermediate child
	[ "$(ls t.*.ctr | wc -l)" = 2 ]
}

@test "daemon: closefrom(0) keeps tracing" {
	plain=$(daemon closefrom plain)
	run daemon closefrom traced
	assert_success
	[ "${output% pid=*}" = "${plain% pid=*}" ]
	pid=$(field pid)
	for _ in $(seq 50); do
		[ -f "t.$pid.ctr" ] && "$CT" report --json "t.$pid.ctr" 2>/dev/null |
			jq -e '.trace.truncated == false' >/dev/null && break
		sleep 0.1
	done
	readable "t.$pid.ctr"
	[ "$("$CT" dump "t.$pid.ctr" | grep -c 'WAIT_BEGIN kind=mutex')" = 3 ]
}

@test "threads: 100,000 short-lived threads in waves, every start and end recorded" {
	traced "$PROGS/proc_threads" 1 1000
	assert_success
	hwm1k=$(field vmhwm_kb)
	rm -f t.*.ctr
	traced "$PROGS/proc_threads" 100 1000
	assert_success
	# bounded: buffers and thread slots are recycled (measured 21 MB vs 52 MB)
	[ "$(field vmhwm_kb)" -lt $((hwm1k + 65536)) ]
	assert_line --partial "threads=100000"
	f=$(ls t.*.ctr)
	readable "$f"
	run "$CT" dump "$f"
	[ "$(grep -c ' THREAD_START ' <<<"$output")" = 100000 ]
	[ "$(grep -cE ' THREAD_END( |$)' <<<"$output")" = 100000 ]
}
