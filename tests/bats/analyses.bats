#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The analyses of DESIGN.md section 6 on programs that know the answer: threads, wake-ups,
# objects, distributions, convoys, deadlocks, the CI gate (check), diff and filters.

load helpers

setup() { common_setup; }

@test "threads: a thread that spins then sleeps has its cpu and sleep time within 25%" {
	trace ss.ctr "$PROGS/spinsleep" 200 300
	assert_success
	tid=$(value spinner_tid)
	t=$(jreport ss.ctr ".threads[] | select(.tid == $tid) | tojson")
	[ "$(jq -r .name <<<"$t")" = spinner ]
	[ "$(jq -r .start_func <<<"$t")" = spinner ]
	assert_within 25 "$(jq -r .cpu_ns <<<"$t")" "$(value spinner_cpu_ns)"
	assert_within 25 "$(jq -r .blocked_ns.sleep <<<"$t")" "$(value spinner_sleep_ns)"
	# the parts do not overlap: blocked + cpu + runqueue fit in the lifetime
	jq -e '.blocked_ns.sync + .blocked_ns.net + .blocked_ns.syscall + .blocked_ns.sleep
	       + .cpu_ns + .runqueue_ns <= .lifetime_ns * 1.02' <<<"$t"
	# main was blocked in the join the whole time the spinner lived
	run jreport ss.ctr '.threads[] | select(.start_func == "main") | .blocked_ns.sync'
	assert_within 10 "$output" "$(jq -r .lifetime_ns <<<"$t")"
}

@test "wakeup: every wait ended by a recorded release has a wake-up latency" {
	trace lw.ctr "$PROGS/lockwait" 4 25 1000
	assert_success
	sync=$(jreport lw.ctr '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .count] | add')
	wake=$(jreport lw.ctr '[.profiles[] | select(.profile == "wakeup" and .kind == "mutex") | .count] | add')
	[ "$wake" -eq "$sync" ]
	run jreport lw.ctr '[.profiles[] | select(.profile == "wakeup" and .kind == "mutex")] | max_by(.count) | "\(.frames[0].func) \(.p50_ns > 0) \(.max_ns >= .p99_ns)"'
	assert_output "contend_lock true true"
	# per object too
	run jreport lw.ctr '[.objects[] | select(.kind == "mutex")][0] | (.wakeup_p50_ns > 0 and .wakeup_max_ns >= .wakeup_p50_ns)'
	assert_output true
}

@test "objects: hold times, owner changes, most waiters and where the lock was first seen" {
	trace lw.ctr "$PROGS/lockwait" 4 25 1000
	assert_success
	o=$(jreport lw.ctr '[.objects[] | select(.kind == "mutex")][0] | tojson')
	# each contended acquisition held the lock about 1 ms (hold_lock spins HOLD_US)
	jq -e '.hold_p50_ns > 900000 and .hold_p50_ns < 1500000' <<<"$o"
	jq -e '.owner_changes >= .contended and .max_waiters >= 2 and .max_waiters <= 4' <<<"$o"
	[ "$(jq -r '.first_seen[0].func' <<<"$o")" = contend_lock ]
	# text: sortable
	run "$CT" report --sort max lw.ctr
	assert_success
	run "$CT" report --sort nosuchkey lw.ctr
	assert_failure 2
}

@test "distributions: entries and objects carry p50, p99, max and a log2 histogram" {
	trace lw.ctr "$PROGS/lockwait" 4 25 1000
	assert_success
	e=$(jreport lw.ctr '[.profiles[] | select(.profile == "sync")] | max_by(.total_ns) | tojson')
	# the buckets add up to the count, each bucket [min_ns, 2*min_ns)
	jq -e '([.histogram[].count] | add) == .count' <<<"$e"
	jq -e 'all(.histogram[]; .min_ns > 0 and (.min_ns | log2 | floor) == (.min_ns | log2))' <<<"$e"
	jq -e '.histogram | length >= 1' <<<"$e"
	jq -e '[.objects[] | select(.kind == "mutex")][0] | ([.histogram[].count] | add) == .contended' \
		<<<"$(jreport lw.ctr .)"
	run "$CT" report --top 1 lw.ctr
	assert_output --partial "histogram"
}

@test "convoy: examples/convoy is a convoy (check exits 1), noconvoy is not (exit 0)" {
	trace cv.ctr "$EXAMPLES/convoy" 4 600 200 50
	assert_success
	trace nc.ctr "$PROGS/noconvoy"
	assert_success
	run jreport cv.ctr '[.objects[] | select(.kind == "mutex")] | max_by(.wait_total_ns) | .convoy'
	assert_output true
	run jreport cv.ctr '[.objects[] | select(.convoy)][0].convoy_evidence | (.windows >= 3 and .mean_waiters >= 2 and .hold_fraction >= 0.8 and .throughput_cap_per_s > 0 and .end_ns > .start_ns)'
	assert_output true
	run jreport nc.ctr '[.objects[] | select(.convoy)] | length'
	assert_output 0
	run "$CT" check --fail-on convoy cv.ctr
	assert_failure 1
	assert_output --partial convoy
	assert_output --partial record_request
	run "$CT" check --fail-on convoy nc.ctr
	assert_success
}

@test "deadlock: an AB/BA deadlock stopped by SIGTERM leaves a trace that names the cycle" {
	timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=dl.ctr "$PROGS/deadlock" >dl.out &
	pid=$!
	for _ in $(seq 200); do grep -q deadlocked dl.out && break; sleep 0.05; done
	grep -q deadlocked dl.out
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 143 ] # the default action, as untraced
	run jreport dl.ctr '.deadlocks | length'
	assert_output 1
	run jreport dl.ctr '[.deadlocks[0][] | .frames[0].func] | sort | join(",")'
	assert_output take_a_then_b,take_b_then_a
	# each thread waits on the lock the other holds
	jreport dl.ctr '.deadlocks[0] as $c | all($c[]; . as $w | any($c[]; .tid == $w.held_by and .tid != $w.tid))' | grep -qx true
	a=$(sed -n 's/^lock_a=\(0x[0-9a-f]*\).*/\1/p' dl.out)
	run jreport dl.ctr '[.deadlocks[0][] | .waits_on] | sort | join(",")'
	assert_output --partial "$a"
	run "$CT" check --fail-on deadlock dl.ctr
	assert_failure 1
	run "$CT" report dl.ctr
	assert_output --partial take_a_then_b
	assert_output --partial "deadlock 1: 2 threads"
}

@test "check: wait, p99, total and lost rules; exit 0, 1, 2; JUnit XML that parses" {
	trace lw.ctr "$PROGS/lockwait" 4 25 1000
	assert_success
	run "$CT" check --max-wait sync:1s --max-p99 sync:1s --max-total sync:100s --max-lost 0 lw.ctr
	assert_success
	run "$CT" check --max-wait sync:100us lw.ctr
	assert_failure 1
	assert_output --partial contend_lock
	run "$CT" check --max-total sync:1ms --junit junit.xml lw.ctr
	assert_failure 1
	python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); s = r if r.tag == "testsuite" else r.find("testsuite"); assert int(s.get("failures")) >= 1, s.attrib; assert len(s.findall("testcase")) >= 1' junit.xml
	run "$CT" check --max-wait sync:notaduration lw.ctr
	assert_failure 2
	run "$CT" check --max-wait sync:1s missing.ctr
	assert_failure 2
	# record --check runs and gates in one command
	run "$CT" record -o rc.ctr --check "--max-wait sync:100us" -- "$PROGS/lockwait" 4 10 1000
	assert_failure 1
	[ -s rc.ctr ]
}

@test "diff: a longer critical section shows as growth at the lock site and the object" {
	# 6 threads: the lock waits grow about 5x as much as main's join when the hold grows
	trace base.ctr "$PROGS/lockwait" 6 20 300
	assert_success
	trace new.ctr "$PROGS/lockwait" 6 20 2000
	assert_success
	run "$CT" diff --json base.ctr new.ctr
	assert_success
	top=$(jq -c '[.sites[] | select(.profile == "sync")] | max_by(.delta_ns)' <<<"$output")
	[ "$(jq -r '.frames[0].func' <<<"$top")" = contend_lock ]
	jq -e '.delta_ns > 0 and .new_total_ns > 2 * .base_total_ns and .delta_ns == .new_total_ns - .base_total_ns' <<<"$top"
	jq -e '[.objects[] | select(.kind == "mutex")] | max_by(.delta_ns) | .delta_ns > 0' <<<"$output"
	run "$CT" diff base.ctr new.ctr
	assert_success
	assert_output --partial contend_lock
}

@test "filters: --thread and --from/--to restrict every analysis" {
	trace ss.ctr "$PROGS/spinsleep" 100 200
	assert_success
	run jreport ss.ctr '.threads | length'
	assert_output 2
	run "$CT" report --json --thread spinner ss.ctr
	assert_success
	jq -e '(.threads | length) == 1 and .threads[0].name == "spinner"' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync")] | length == 0' <<<"$output"
	# the first 50 ms hold no sleep: the spinner is still spinning
	run "$CT" report --json --from 0ms --to 50ms ss.ctr
	assert_success
	jq -e '[.profiles[] | select(.profile == "sleep")] | length == 0' <<<"$output"
	run "$CT" report --json --from 150ms ss.ctr
	jq -e '[.profiles[] | select(.profile == "sleep")] | length == 1' <<<"$output"
	run "$CT" report --from notatime ss.ctr
	assert_failure 2
}
