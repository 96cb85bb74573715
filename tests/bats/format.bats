#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Traces of every format version ever written are still read as they were. tests/traces/
# holds small traces recorded by earlier versions of libctrace (v1.2-*.ctr: format 1.2, a
# mutex convoy with system calls and call sites; cond and semaphore ping-pongs; OpenMP
# waits; an AB/BA deadlock with its HOLD records, stopped by SIGTERM; v2.0-*.ctr: format 2.0,
# the same mutex waits, a lock-order inversion, and annotations: tasks, regions, logs and
# labels) with `ctrace dump` of each as the reader of that version printed it
# (*.dump.gz); v1.0- and v1.1-lockwait.ctr are the 1.2 trace of lockwait with the header's
# minor version set to 0 and 1 (it uses nothing 1.1 or 1.2 added). Every record of each
# must read back exactly: same fields, same order. Environment: CTRACE_BUILD.

load helpers

setup() {
	common_setup
	TR=$SRC/tests/traces
}

@test "format 1.2 traces dump exactly as the 1.2 reader printed them" {
	for t in lockwait cond sem omp deadlock; do
		# a HOLD line also names the lock and where it was taken when the traced
		# program's file is still there to symbolize it (lock=, at=): not part of the
		# record, so left out of the comparison
		"$CT" dump "$TR/v1.2-$t.ctr" | sed -E '/ HOLD /s/ (lock=[^ ]+)?( ?at=.*)?$//' >"$t.dump"
		gzip -dc "$TR/v1.2-$t.dump.gz" >"$t.want"
		run cmp "$t.dump" "$t.want"
		assert_success
	done
	# what the dumps hold: every event type the 1.2 recorder wrote, OpenMP kinds
	for type in WAIT_BEGIN WAIT_END RELEASE THREAD_START THREAD_NAME THREAD_END SYSCALL SITE; do
		grep -q " $type " lockwait.dump
	done
	grep -q ' HOLD kind=mutex ' deadlock.dump
	grep -q ' kind=omp_barrier ' omp.dump
	assert_equal "$(head -c 20 lockwait.dump)" "header version=1.2 p"
}

@test "format 1.0 and 1.1 traces dump as the 1.2 one, but for their version" {
	gzip -dc "$TR/v1.2-lockwait.dump.gz" | tail -n +2 >want
	for m in 0 1; do
		"$CT" dump "$TR/v1.$m-lockwait.ctr" >got
		assert_equal "$(head -c 20 got)" "header version=1.$m p"
		tail -n +2 got >got.rest
		run cmp got.rest want
		assert_success
	done
}

@test "a format 1 trace reports like the dump says: events, threads, no loss" {
	run "$CT" report --json "$TR/v1.2-lockwait.ctr"
	assert_success
	events=$(gzip -dc "$TR/v1.2-lockwait.dump.gz" | grep -c '^gen=[0-9]* tid=')
	assert_equal "$(printf '%s' "$output" | jq -r '.trace.events')" "$events"
	assert_equal "$(printf '%s' "$output" | jq -r '.trace.lost_events')" 0
}

@test "format 2.0 traces dump exactly as the 2.0 reader printed them, and report as then" {
	for t in lockwait lockorder regions; do
		"$CT" dump "$TR/v2.0-$t.ctr" | sed -E '/ HOLD /s/ (lock=[^ ]+)?( ?at=.*)?$//' >"$t.dump"
		gzip -dc "$TR/v2.0-$t.dump.gz" >"$t.want"
		run cmp "$t.dump" "$t.want"
		assert_success
		assert_equal "$(head -c 20 "$t.dump")" "header version=2.0 p"
	done
	# what the dumps hold: the 2.0 event types, in the two-stream encoding
	for type in WAIT_BEGIN WAIT_END RELEASE SYSCALL SITE; do
		grep -q " $type " lockwait.dump
	done
	[ "$(grep -c ' LOCK_ORDER kind=mutex ' lockorder.dump)" = 2 ]
	for type in TASK_BEGIN TASK_END REGION_BEGIN REGION_END LOG LABEL TEXT HOLD; do
		grep -q " $type " regions.dump
	done
	# the inversion is still found, and the regions still add up
	run "$CT" check --fail-on lock-order "$TR/v2.0-lockorder.ctr"
	assert_failure 1
	assert_output --partial "lock-order cycle of 2 locks"
	run "$CT" report --json "$TR/v2.0-regions.ctr"
	assert_success
	assert_equal "$(jq -r '.trace.events' <<<"$output")" "$(grep -c '^gen=[0-9]* tid=' regions.dump)"
	assert_equal "$(jq -r '.trace.lost_events' <<<"$output")" 0
	assert_equal "$(jq -r '[.regions[] | select(.name == "handle")] | .[0].count' <<<"$output")" 4
}

@test "a trace recorded now is format 2.1 and reads back its own events" {
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$PROGS/lockwait" 3 4 300
	assert_success
	f=$(ls t.*.ctr | head -1)
	"$CT" dump "$f" >d
	assert_equal "$(head -c 20 d)" "header version=2.1 p"
	# each of the 3 threads: 4 lock calls, each WAIT_BEGIN ended by one WAIT_END
	b=$(grep -c ' WAIT_BEGIN kind=mutex ' d)
	e=$(grep -c ' WAIT_END kind=mutex ' d)
	assert_equal "$b" "$e"
	[ "$b" -ge 1 ] && [ "$b" -le 12 ]
}
