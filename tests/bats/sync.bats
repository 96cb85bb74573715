#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Mutex and condition-variable waits, end to end: programs that measure their own waits run
# under `ctrace record`; the report must name the right function and line and agree with
# the programs' own totals (within a percentage, plus the run-queue time the program
# measured in the calls it was preempted in: nothing on an idle machine).

load helpers

setup() { common_setup; }

# top_entry FILE PROFILE: the profile's entry with the largest total, as compact JSON.
top_entry() {
	jreport "$1" "[.profiles[] | select(.profile == \"$2\")] | max_by(.total_ns) | tojson"
}

@test "lock waits: the top sync entry is the lock call in contend_lock, total within 5%" {
	# 6 threads: the lock waits add up to about 5x the run time, main's joins to 1x
	trace lw.ctr "$PROGS/lockwait" 6 20 2000
	assert_success
	want=$(value wait_total_ns)
	line=$(marked_line "$SRC/tests/progs/lockwait.c" WAIT-SITE)
	top=$(top_entry lw.ctr sync)
	[ "$(jq -r .kind <<<"$top")" = mutex ]
	[ "$(jq -r '.frames[0].func' <<<"$top")" = contend_lock ]
	[ "$(jq -r '.frames[0].file' <<<"$top")" = tests/progs/lockwait.c ]
	[ "$(jq -r '.frames[0].line' <<<"$top")" = "$line" ]
	[ "$(jq -r '.frames[1].func' <<<"$top")" = lock_worker ]
	assert_within 5 "$(jq -r .total_ns <<<"$top")" "$want" "$(value wait_rq_ns)"
	# as many waits as lock calls the program saw asleep in the kernel at least, as many
	# as it made at most; max and percentiles are consistent with the total
	blocked=$(value blocked) calls=$(value lock_calls)
	[ "$blocked" -ge 5 ] && [ "$calls" = 120 ]
	jq -e --argjson b "$blocked" --argjson c "$calls" '.count >= $b and .count <= $c and
	       .max_ns >= .p99_ns and .p99_ns >= .p50_ns and .p50_ns > 0 and
	       .max_ns * .count >= .total_ns' <<<"$top" ||
		fail "count $(jq .count <<<"$top"): the program saw $blocked of its $calls lock calls asleep"
}

@test "lock waits: the holder profile charges them to the unlock in hold_lock, within 10%" {
	trace lw.ctr "$PROGS/lockwait" 4 25 2000
	assert_success
	want=$(value wait_total_ns)
	line=$(marked_line "$SRC/tests/progs/lockwait.c" UNLOCK-SITE)
	got=$(jreport lw.ctr "[.profiles[] | select(.profile == \"holder\" and .kind == \"mutex\"
		and .frames[0].func == \"hold_lock\" and .frames[0].line == $line) | .total_ns] | add")
	# As in Go's mutex profile, a release is charged the time its waiters waited until
	# it; the rest of each wait, from the release to the waiter running again, is the
	# wake-up profile's. On an idle machine that is a few percent; on a loaded one the
	# run-queue delay can be more than 10% of the waits, so the two are checked together.
	wake=$(jreport lw.ctr '[.profiles[] | select(.profile == "wakeup" and .kind == "mutex") | .total_ns] | add')
	assert_within 10 "$got" "$((want - wake))" "$(value wait_rq_ns)"
	assert_within 5 "$((got + wake))" "$want" "$(value wait_rq_ns)"
}

@test "lock waits: the objects table has the one contended mutex with the waits" {
	trace lw.ctr "$PROGS/lockwait" 4 25 2000
	assert_success
	want=$(value wait_total_ns)
	obj=$(jreport lw.ctr '[.objects[] | select(.kind == "mutex")] | max_by(.wait_total_ns) | tojson')
	# its waits: at least the lock calls the program saw asleep in the kernel (how many
	# block depends on scheduling), at most all of its lock calls
	blocked=$(value blocked) calls=$(value lock_calls)
	[ "$blocked" -ge 3 ] && [ "$calls" = 100 ]
	jq -e --argjson b "$blocked" --argjson c "$calls" '.contended >= $b and .contended <= $c
	       and .wait_max_ns > 0 and (.convoy | type) == "boolean"' <<<"$obj" ||
		fail "contended $(jq .contended <<<"$obj"): the program saw $blocked of its $calls lock calls asleep"
	assert_within 5 "$(jq -r .wait_total_ns <<<"$obj")" "$want" "$(value wait_rq_ns)"
	[ "$(jreport lw.ctr '[.objects[] | select(.kind == "mutex")] | length')" = 1 ]
}

@test "condition variable: the wait in wait_for_item, total within 5%, woken by post_item" {
	trace cw.ctr "$PROGS/condwait" 60 3000
	assert_success
	want=$(value cond_wait_total_ns)
	line=$(marked_line "$SRC/tests/progs/condwait.c" COND-WAIT-SITE)
	top=$(top_entry cw.ctr sync)
	[ "$(jq -r .kind <<<"$top")" = cond ]
	[ "$(jq -r '.frames[0].func' <<<"$top")" = wait_for_item ]
	[ "$(jq -r '.frames[0].line' <<<"$top")" = "$line" ]
	assert_within 5 "$(jq -r .total_ns <<<"$top")" "$want"
	# the waits end with the producer's signal: holder entries are at post_item
	run jreport cw.ctr '[.profiles[] | select(.profile == "holder" and .kind == "cond")
		| .frames[0].func] | unique | join(",")'
	assert_output post_item
}

@test "generations closed by size (CTRACE_GENERATION_EVENTS): each holds at least that many events, the cond total still within 5%" {
	# time alone would close none before the end (60 s); the writer closes one at its
	# first cycle past 10,000 events
	CTRACE_GENERATION_MS=60000 CTRACE_GENERATION_EVENTS=10000 \
		trace cw.ctr "$PROGS/condwait" 8000 0
	assert_success
	want=$(value cond_wait_total_ns)
	"$CT" dump cw.ctr | awk '$2 == "GEN_BEGIN" { g = $1 } $2 ~ /^tid=/ { n[$1]++ }
		END { for (k in n) print k, n[k] }' | sort -t= -k2 -n >gens.txt
	[ "$(wc -l <gens.txt)" -ge 2 ]
	# every generation but the last was closed past the limit
	head -n -1 gens.txt | awk '$2 < 10000 { bad = 1 } END { exit bad }'
	top=$(top_entry cw.ctr sync)
	[ "$(jq -r '.frames[0].func' <<<"$top")" = wait_for_item ]
	assert_within 5 "$(jq -r .total_ns <<<"$top")" "$want"
}

@test "a program bound to pthread_cond_*@GLIBC_2.2.5 keeps working and is traced" {
	nm -D "$PROGS/oldcond" | grep -q 'pthread_cond_wait@GLIBC_2.2.5'
	run timeout 30 "$PROGS/oldcond" 300
	assert_success
	untraced=$output
	trace oc.ctr "$PROGS/oldcond" 300
	assert_success
	assert_line "$untraced"
	assert_line "received=300 sum=45150 timedout=1 relock=EBUSY"
	# its waits are in the report, at the functions that made them
	run jreport oc.ctr '[.profiles[] | select(.profile == "sync" and .kind == "cond")
		| .frames[0].func] | unique | join(",")'
	assert_output main,producer
}

@test "return values and errno are those of the untraced run (semantics)" {
	run timeout 60 "$PROGS/semantics"
	assert_success
	untraced=$output
	assert_line "PASS: 0 failed"
	CTRACE_OUT=sem.ctr run timeout 60 env LD_PRELOAD="$LIB" "$PROGS/semantics"
	assert_success
	[ "$output" = "$untraced" ]
	[ -s sem.ctr ]
	run "$CT" report sem.ctr
	assert_success
}
