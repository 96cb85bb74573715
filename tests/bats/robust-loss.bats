#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Loss accounting (preload/README.md, record path rule 4): when the tracer runs out of
# buffers, thread slots or room for stacks it drops what does not fit and counts it by
# cause; the program never waits for it and its results do not change. The counts are in the
# JSON report (trace.lost_events, trace.lost.CAUSE), in the text report's first line, and
# `ctrace check --max-lost N` gates on them. tests/progs/proc_flood.c makes the events: with
# CTRACE_SYSCALL_THRESHOLD=0ns every write(2) is an event with a full stack.

load helpers

setup() { common_setup; }

# flood OUT VAR=VALUE... -- ARGS...: proc_flood traced into OUT.%p.ctr with the variables
# given and every system call an event; output and status as bats run (stderr apart).
flood() {
	local out=$1 vars=()
	shift
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT="$out.%p.ctr" \
		CTRACE_SYSCALL_THRESHOLD=0ns "${vars[@]}" "$PROGS/proc_flood" "$@"
}

# trace_json OUT: the JSON report of the one file OUT.*.ctr.
trace_json() {
	[ "$(ls "$1".*.ctr | wc -l)" = 1 ] || fail "not one $1.*.ctr"
	timeout 60 "$CT" report --json "$1".*.ctr
}

@test "buffers: 16 threads x 10,000 events into two 4 KiB buffers: same results, the drops counted as no_buffer, check --max-lost gates on them" {
	run timeout 60 "$PROGS/proc_flood" calls 16 10000
	assert_success
	assert_output "calls=160000 bytes=160000"
	# the reference: default buffers, nothing lost
	flood full -- calls 16 10000
	assert_success
	assert_output "calls=160000 bytes=160000"
	full=$(trace_json full)
	jq -e '.trace.lost_events == 0 and .trace.truncated == false' <<<"$full"
	all=$(jq .trace.events <<<"$full")
	[ "$all" -gt 160000 ]
	# the flood
	flood tiny CTRACE_BUFFER_SIZE=4k CTRACE_BUFFERS=2 -- calls 16 10000
	assert_success
	assert_output "calls=160000 bytes=160000"
	assert_equal "$stderr" ""
	tiny=$(trace_json tiny)
	jq -e '.trace.truncated == false' <<<"$tiny"
	lost=$(jq .trace.lost_events <<<"$tiny")
	kept=$(jq .trace.events <<<"$tiny")
	echo "kept $kept lost $lost of about $all"
	# most of it dropped, all of it for want of a buffer
	[ "$lost" -gt 100000 ]
	assert_equal "$(jq .trace.lost.no_buffer <<<"$tiny")" "$lost"
	assert_equal "$(jq '.trace.lost.no_thread_slot + .trace.lost.no_stack_slot' <<<"$tiny")" 0
	# what was kept plus what was counted lost is what the reference run recorded
	assert_within 1 $((kept + lost)) "$all"
	# the text report says so on its first line
	run timeout 60 "$CT" report tiny.*.ctr
	assert_success
	assert_line --index 0 --partial ", $lost lost (no_buffer $lost)"
	# check: 0 allowed fails, naming the cause; the exact count passes, one less fails
	run timeout 60 "$CT" check --max-lost 0 tiny.*.ctr
	assert_failure 1
	assert_output --partial "$lost events lost (no_buffer $lost)"
	run timeout 60 "$CT" check --max-lost $((lost - 1)) tiny.*.ctr
	assert_failure 1
	run timeout 60 "$CT" check --max-lost "$lost" tiny.*.ctr
	assert_success
	run timeout 60 "$CT" check --max-lost 1000000000 tiny.*.ctr
	assert_success
	run timeout 60 "$CT" check --max-lost 0 full.*.ctr
	assert_success
}

@test "buffers: the per-call-site system call totals stay exact when events are dropped" {
	# record path rule 3 (preload/README.md): every call is counted per call site,
	# exactly; the totals live in the thread's slot, not in the events that were dropped
	flood tiny CTRACE_BUFFER_SIZE=4k CTRACE_BUFFERS=2 -- calls 16 10000
	assert_success
	assert_output "calls=160000 bytes=160000"
	json=$(trace_json tiny)
	[ "$(jq .trace.lost_events <<<"$json")" -gt 0 ]
	assert_equal "$(jq '[.profiles[] | select(.profile == "syscall" and .kind == "write") | .count] | add' <<<"$json")" 160000
}

@test "thread slots: 64 threads alive at once with CTRACE_MAX_THREADS=16: same results, the threads beyond counted as no_thread_slot" {
	run timeout 60 "$PROGS/proc_flood" threads 64
	assert_success
	assert_output "calls=64 bytes=64"
	flood slots CTRACE_MAX_THREADS=16 -- threads 64
	assert_success
	assert_output "calls=64 bytes=64"
	assert_equal "$stderr" ""
	json=$(trace_json slots)
	lost=$(jq .trace.lost_events <<<"$json")
	[ "$lost" -gt 0 ]
	assert_equal "$(jq .trace.lost.no_thread_slot <<<"$json")" "$lost"
	# no more threads in the trace than slots (the main thread and 15 others at a time)
	starts=$(timeout 60 "$CT" dump slots.*.ctr | grep -c ' THREAD_START ')
	echo "threads started in the trace: $starts of 64"
	[ "$starts" -lt 64 ] && [ "$starts" -gt 0 ]
	run timeout 60 "$CT" check --max-lost 0 slots.*.ctr
	assert_failure 1
	assert_output --partial "no_thread_slot $lost"
}

@test "stack table: 131,072 distinct stacks: every event kept, those whose stack did not fit counted as no_stack_slot" {
	run timeout 60 "$PROGS/proc_flood" stacks 17
	assert_success
	assert_output "calls=131072 bytes=131072"
	flood stk CTRACE_DEPTH=64 -- stacks 17
	assert_success
	assert_output "calls=131072 bytes=131072"
	[ "$(ls stk.*.ctr | wc -l)" = 1 ]
	# (dump and check only: the full report symbolizes every stack and takes seconds)
	timeout 60 "$CT" dump stk.*.ctr >dump.txt
	lost=$(sed -n 's/.* GEN_END .*no_stack_slot:\([0-9]*\).*/\1/p' dump.txt | tail -n1)
	[ "$lost" -gt 0 ]
	grep -q " GEN_END .*lost=no_buffer:0,no_thread_slot:0,no_stack_slot:$lost\$" dump.txt
	# the events are all there; the ones counted lost have no stack (id 0)
	assert_equal "$(grep -c ' SYSCALL kind=write ' dump.txt)" 131072
	assert_equal "$(grep -c ' SYSCALL kind=write .*stack=0$' dump.txt)" "$lost"
	# the stacks that were kept are distinct: one id each
	assert_equal "$(grep ' SYSCALL kind=write ' dump.txt | grep -v 'stack=0$' |
		sed 's/.*stack=//' | sort -u | wc -l)" $((131072 - lost))
	run timeout 60 "$CT" check --max-lost 0 stk.*.ctr
	assert_failure 1
	assert_output --partial "$lost events lost (no_stack_slot $lost)"
}
