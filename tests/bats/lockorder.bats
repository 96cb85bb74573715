#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Lock-order inversions: programs that take locks in orders forming a cycle, one thread
# after the other, so that no run ever deadlocks; `ctrace check --fail-on lock-order` must
# fail naming both call sites (function and line) of every edge, and a consistent order
# must pass.

load helpers

setup() { common_setup; }

LO=$SRC/tests/progs/lo_order.c

# site FUNC MARK: "FUNC (lo_order.c:LINE)" for the line carrying marker MARK.
site() {
	echo "$1 (lo_order.c:$(marked_line "$LO" "$2"))"
}

@test "lock order: A->B then B->A never deadlocks, yet check fails naming all four sites" {
	trace inv.ctr "$PROGS/lo_order" inversion
	assert_success
	run "$CT" check --fail-on lock-order --junit inv.xml inv.ctr
	[ "$status" -eq 1 ]
	fail_line=$(grep '^FAIL fail-on lock-order: lock-order cycle of 2 locks' <<<"$output")
	[ -n "$fail_line" ] || fail "no FAIL line: $output"
	for want in "took mutex lock_b (0x[0-9a-f]*) at $(site take_a_then_b ab-takes-b) while holding mutex lock_a (0x[0-9a-f]*) taken at $(site take_a_then_b ab-holds-a)" \
		    "took mutex lock_a (0x[0-9a-f]*) at $(site take_b_then_a ba-takes-a) while holding mutex lock_b (0x[0-9a-f]*) taken at $(site take_b_then_a ba-holds-b)"; do
		grep -q -- "$want" <<<"$fail_line" || fail "FAIL line lacks '$want': $fail_line"
		grep -q -- "$want" inv.xml || fail "JUnit lacks '$want'"
	done
	grep -q '<failure type="fail-on lock-order"' inv.xml
	# the JSON: one cycle, two edges, by the two threads, with both sites' frames
	run jreport inv.ctr '.lock_order | length'
	[ "$output" = 1 ]
	run jreport inv.ctr '.lock_order[0].cycle | map("\(.thread) \(.kind) \(.lock_name) \(.acquired_at[0].func):\(.acquired_at[0].line) \(.while_holding_kind) \(.while_holding_name) \(.held_since[0].line)") | sort | join(",")'
	[ "$output" = "ab mutex lock_b take_a_then_b:$(marked_line "$LO" ab-takes-b) mutex lock_a $(marked_line "$LO" ab-holds-a),ba mutex lock_a take_b_then_a:$(marked_line "$LO" ba-takes-a) mutex lock_b $(marked_line "$LO" ba-holds-b)" ]
	# the text report: one line per edge under the section
	run "$CT" report inv.ctr
	assert_output --partial "== lock order: cycles of the lock graph"
	[ "$(grep -c ') took mutex lock_' <<<"$output")" = 2 ]
	# a deadlock check alone passes: nothing deadlocked
	run "$CT" check --fail-on deadlock inv.ctr
	assert_success
}

@test "lock order: the same order in two threads passes" {
	trace ok.ctr "$PROGS/lo_order" consistent
	assert_success
	run "$CT" check --fail-on lock-order ok.ctr
	assert_success
	# the edge was recorded (once per thread), it just makes no cycle
	[ "$("$CT" dump ok.ctr | grep -c LOCK_ORDER)" = 2 ]
	run jreport ok.ctr '.lock_order | length'
	[ "$output" = 0 ]
}

@test "lock order: a cycle of three locks across three threads is found" {
	trace three.ctr "$PROGS/lo_order" three
	assert_success
	run "$CT" check --fail-on lock-order three.ctr
	[ "$status" -eq 1 ]
	assert_output --partial "lock-order cycle of 3 locks"
	assert_output --partial "took mutex lock_c (0x"
	assert_output --partial "at $(site take_b_then_c t2-takes-c) while holding mutex lock_b"
	assert_output --partial "taken at $(site take_c_then_a t3-holds-c)"
	run jreport three.ctr '.lock_order[0].cycle | map(.thread) | sort | join(",")'
	[ "$output" = "t1,t2,t3" ]
}

@test "lock order: locks released and taken again in between, in a consistent order, make no cycle" {
	trace re.ctr "$PROGS/lo_order" retaken
	assert_success
	run "$CT" check --fail-on lock-order re.ctr
	assert_success
	# edges a->b and b->c per thread, none into a: the releases were seen
	run "$CT" dump re.ctr
	[ "$(grep -c LOCK_ORDER <<<"$output")" = 4 ]
}

@test "lock order: rwlocks (write then read) and spinlocks make edges; a trylock does not" {
	trace rw.ctr "$PROGS/lo_order" rwlock
	assert_success
	run "$CT" check --fail-on lock-order rw.ctr
	[ "$status" -eq 1 ]
	assert_output --partial "took mutex lock_a (0x"
	assert_output --partial "while holding rwlock_wr rw (0x"
	assert_output --partial "took rwlock_rd rw (0x"
	assert_output --partial "at $(site a_then_rd rd-takes-rw)"
	trace sp.ctr "$PROGS/lo_order" spin
	assert_success
	run "$CT" check --fail-on lock-order sp.ctr
	[ "$status" -eq 1 ]
	assert_output --partial "took spin spin (0x"
	assert_output --partial "at $(site a_then_spin as-takes-spin) while holding mutex lock_a"
	trace try.ctr "$PROGS/lo_order" trylock
	assert_success
	run "$CT" check --fail-on lock-order try.ctr
	assert_success
}

@test "lock order: an rwlock read-locked on both sides of a cycle breaks it (readers share)" {
	trace rd.ctr "$PROGS/lo_order" readers
	assert_success
	# both edges are recorded ...
	run "$CT" dump rd.ctr
	assert_line --partial "LOCK_ORDER kind=mutex"
	assert_line --partial "LOCK_ORDER kind=rwlock_rd"
	# ... but a reader holding rw never blocks the other's read lock
	run "$CT" check --fail-on lock-order rd.ctr
	assert_success
}

@test "lock order: CTRACE_LOCK_ORDER=0 records no edge" {
	CTRACE_LOCK_ORDER=0 trace off.ctr "$PROGS/lo_order" inversion
	assert_success
	[ "$("$CT" dump off.ctr | grep -c LOCK_ORDER)" = 0 ]
	run "$CT" check --fail-on lock-order off.ctr
	assert_success
}

@test "lock order: a thread with more distinct nested pairs than its table records them up to the cap, says so, and cycles among them are still found" {
	trace wide.ctr "$PROGS/lo_order" wide
	assert_success
	"$CT" dump wide.ctr >d
	wide_tid=$(jreport wide.ctr '.threads[] | select(.name == "wide") | .tid')
	[ -n "$wide_tid" ]
	# the thread took 4000 distinct edges lock_a -> wide[i]: it records the 3072 of its
	# table and the one that found it full (flagged 0x40), then nothing more
	[ "$(grep -c "tid=$wide_tid .* LOCK_ORDER " d)" = 3073 ]
	[ "$(grep -c "tid=$wide_tid .* LOCK_ORDER .*flags=0x40" d)" = 1 ]
	# the analyzer names the thread and when its graph stops
	run jreport wide.ctr '.lock_order_full | map("\(.thread) \(.tid)") | join(",")'
	[ "$output" = "wide $wide_tid" ]
	run "$CT" report wide.ctr
	assert_output --partial "lock order: 1 thread took more distinct nested lock pairs than the recorder keeps per thread"
	assert_output --regexp "  thread $wide_tid \\(wide\\) from \\+[0-9.]+(ns|us|ms|s)"
	# "back" takes wide[0] then lock_a: against the first edge "wide" recorded, a cycle
	run "$CT" check --fail-on lock-order wide.ctr
	[ "$status" -eq 1 ]
	assert_output --partial "took mutex lock_a (0x"
	assert_output --partial "at $(site wide0_then_a back-takes-a) while holding mutex wide (0x"
	assert_output --partial "at $(site a_then_wide wide-takes-i) while holding mutex lock_a"
	# a thread under the cap says nothing of the kind
	trace inv.ctr "$PROGS/lo_order" inversion
	run jreport inv.ctr '.lock_order_full | length'
	[ "$output" = 0 ]
	run "$CT" report inv.ctr
	refute_output --partial "recorder keeps per thread"
}
