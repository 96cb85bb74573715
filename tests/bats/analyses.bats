#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The analyses of analyze/README.md ("Definitions") on programs that know the answer:
# threads, wake-ups, objects, distributions, convoys, deadlocks, the CI gate (check), diff
# and filters.

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
	# the parts do not overlap: blocked + cpu + runqueue fit in the lifetime, but for the
	# run-queue time the kernel counts before the thread first ran and inside its sleep
	# (waking up), which the program measured
	jq -e --argjson rq "$(value spinner_rq_ns)" '.blocked_ns.sync + .blocked_ns.net
	       + .blocked_ns.syscall + .blocked_ns.sleep + .cpu_ns + .runqueue_ns
	       <= .lifetime_ns * 1.02 + $rq' <<<"$t"
	# main was blocked in the join the whole time the spinner lived, but for the time it
	# took main to reach the join after the spinner started (the program measured it)
	late=$(value join_late_ns)
	run jreport ss.ctr '.threads[] | select(.start_func == "main") | .blocked_ns.sync'
	assert_within 10 "$output" "$(jq -r .lifetime_ns <<<"$t")" "$late"
}

@test "threads: 40,000 threads in waves (tids reused) are 40,001 threads, each with its own analysis" {
	# pid_max is 32768 on many systems: the kernel then hands out tids again, and every
	# THREAD_START must still be a thread of its own
	run timeout 120 "$CT" record -o churn.ctr -- "$PROGS/proc_threads" 40 1000
	assert_success
	created=$(value threads)
	[ "$created" -eq 40000 ]
	run timeout 60 "$CT" report --json churn.ctr
	assert_success
	# the report of 40,001 threads is large: one jq pass takes every figure checked below
	# (the sync time of the workers and of main, against the semaphore's and the joins')
	read -r n missed rows group_threads tids lived sampled sem_ok join_ok joins strays < <(jq -r '
		[.trace.threads, .trace.lost.no_buffer + .trace.lost.no_thread_slot, (.threads | length),
		 ([.thread_groups[] | select(.start_func == "worker") | .threads] | add),
		 ([.threads[].tid] | unique | length),
		 ([.threads[] | select(.start_func == "worker")] | all(.lifetime_ns > 0)),
		 ([.threads[] | select(.start_func == "worker" and .cpu_ns + .runqueue_ns > 0)] | length),
		 (([.threads[] | select(.start_func == "worker") | .blocked_ns.sync] | add) ==
		  ([.profiles[] | select(.profile == "sync" and .kind == "sem") | .total_ns] | add)),
		 (([.threads[] | select(.start_func == "main") | .blocked_ns.sync] | add) ==
		  ([.profiles[] | select(.profile == "sync" and .kind == "join") | .total_ns] | add)),
		 ([.profiles[] | select(.profile == "sync" and .kind == "join") | .count] | add),
		 ([.threads[] | select(.untraced or .start_func == null)] | length)]
		| map(if . == null then "null" else . end) | @tsv' <<<"$output")
	# every thread is there, unless the writer fell so far behind that a thread found no
	# free buffer or slot: its events were dropped, and counted, and it is missing (each
	# missing thread lost at least its THREAD_START)
	[ "$n" -le $((created + 1)) ] && [ "$n" -ge $((created + 1 - missed)) ] ||
		fail "$n threads of $((created + 1)), $missed events lost for want of a buffer or a slot"
	[ "$rows" -eq "$n" ]
	[ "$group_threads" -eq $((n - 1)) ]
	# every thread is main or a worker begun by its THREAD_START: a thread buffer's next
	# owner once had the last owner's events written again under its tid (a thread of
	# no start function, untraced) and its own first events dropped, uncounted (a thread
	# that found no buffer for its THREAD_START but one later is such a thread too)
	[ "$missed" -gt 0 ] || [ "$strays" -eq 0 ] ||
		fail "$strays threads without a THREAD_START, no event lost (events written twice?)"
	if [ "$(cat /proc/sys/kernel/pid_max)" -lt "$created" ]; then
		[ "$tids" -lt "$created" ] # reuse happened, and was seen through
	fi
	# every worker lived and has its own exit sample (the recorder reads the kernel's
	# schedstat at THREAD_END; a read can fail, rarely), and its blocked time is its own:
	# the workers wait only on the semaphore (once each at most), so their sync time adds
	# up to the semaphore's waits, and main's to its joins
	[ "$lived" = true ]
	[ "$sampled" -ge $(((n - 1) * 99 / 100)) ]
	[ "$sem_ok" = true ] || fail "the workers' sync time is not the semaphore's waits"
	[ "$join_ok" = true ] || fail "main's sync time is not its joins"
	[ "$joins" -eq "$created" ] || { [ "$missed" -gt 0 ] && [ "$joins" -le "$created" ]; }
	# the text header counts them the same way
	run timeout 60 "$CT" report --profile sync churn.ctr
	assert_success
	assert_line --index 0 --partial ", $n threads,"
}

@test "wakeup: every wait ended by a recorded release has a wake-up latency" {
	trace lw.ctr "$PROGS/lockwait" 4 25 1000
	assert_success
	sync=$(jreport lw.ctr '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .count] | add')
	wake=$(jreport lw.ctr '[.profiles[] | select(.profile == "wakeup" and .kind == "mutex") | .count] | add')
	woken=$(jreport lw.ctr '[.objects[] | select(.kind == "mutex") | .wakeups] | add')
	# every wait the analyzer matched to its release has a latency; and nearly every wait
	# is matched: a release is unrecorded only when it races the waiter's registration
	# (preload/wait.c), the few instructions between an unlock's check and the unlock
	[ "$wake" -eq "$woken" ]
	[ $((wake * 100)) -ge $((sync * 99)) ]
	run jreport lw.ctr '[.profiles[] | select(.profile == "wakeup" and .kind == "mutex")] | max_by(.count) | "\(.frames[0].func) \(.p50_ns > 0) \(.max_ns >= .p99_ns)"'
	assert_output "contend_lock true true"
	# per object too
	run jreport lw.ctr '[.objects[] | select(.kind == "mutex")][0] | (.wakeup_p50_ns > 0 and .wakeup_max_ns >= .wakeup_p50_ns)'
	assert_output true
}

@test "objects: hold times, owner changes, most waiters and where the lock was first seen" {
	# the holder reads other threads' /proc files under the lock; a slow read would be a
	# SYSCALL with the lock's HOLD before it, evidence from which a hold not begun by a
	# wait is measured as a lower bound (README "Holds"): this test is about the holds
	# measured from their acquisition, so system calls get no event of their own here
	CTRACE_SYSCALL_THRESHOLD=60s trace lw.ctr "$PROGS/lockwait" 4 25 1000
	assert_success
	o=$(jreport lw.ctr '[.objects[] | select(.kind == "mutex")][0] | tojson')
	# each contended acquisition held the lock about 1 ms (hold_lock spins HOLD_US; the
	# program measured every hold, from its lock's return to its unlock call): the
	# longest at least the spin, none beyond the program's longest; the median at most
	# 10% above the median of the holds the analyzer counts (a blocked call's, waited on
	# all along) as the program picked them from its own times, and at least half of it:
	# a hold not begun by a recorded wait counts from the first wait naming its holder,
	# a lower bound (README "Holds"), and how many there are depends on scheduling
	jq -e --argjson lo "$(value hold_min_ns)" --argjson hi "$(value hold_max_ns)" \
		'.holds > 0 and .hold_max_ns >= 1000000 and .hold_max_ns >= $lo and .hold_p50_ns <= $hi' <<<"$o"
	p50=$(jq .hold_p50_ns <<<"$o")
	covered=$(value covered_hold_p50_ns)
	[ $((p50 * 100)) -le $((covered * 110)) ] && [ $((p50 * 2)) -ge "$covered" ] ||
		fail "hold p50 $p50 against the program's $covered"
	# the first holder waits until the 3 others sleep on the lock (lockwait.c)
	jq -e '.owner_changes >= .contended and .max_waiters >= 3 and .max_waiters <= 4' <<<"$o"
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

@test "convoy: examples/convoy is a convoy (check exits 1) with the evidence it measures itself" {
	# 8 threads keep the queue full on a loaded 2-core machine too (README: Convoys)
	trace cv.ctr "$EXAMPLES/convoy" 8 150 200 50
	assert_success
	assert_line --partial "convoy: 8 threads, 1200 requests"
	# the program's own throughput, requests/s
	rps=$(sed -n 's/.*requests in [0-9.]* s (\([0-9]*\) requests\/s.*/\1/p' <<<"$output")
	o=$(jreport cv.ctr '[.objects[] | select(.kind == "mutex")] | max_by(.wait_total_ns) | tojson')
	[ "$(jq -r .convoy <<<"$o")" = true ]
	e=$(jq -c .convoy_evidence <<<"$o")
	# a sustained run of windows whose queue did not drain, the lock handed on through it
	jq -e '.longest_run >= 3 and .windows >= .longest_run and .end_ns > .start_ns
	       and .mean_waiters >= 1 and .mean_waiters <= 7 and .empty_fraction <= 0.5
	       and .releases >= 2 * .windows and .median_wait_ns >= 2 * .median_hold_ns' <<<"$e"
	# the per-window series covers the convoy windows
	jq -e '(.series | length) == ((.end_ns - .start_ns) / .window_ns | round)
	       and ([.series[] | select(.convoy)] | length) == .windows
	       and all(.series[]; .mean_waiters >= 0 and .empty_fraction >= 0 and .empty_fraction <= 1)' <<<"$e"
	# the hold is the 200 us the program spins with the lock held, longer where a holder
	# was preempted: the median the program measured itself; the cap 1 / mean hold (no more than
	# 1 / median hold: preempted holders only lengthen the mean), which the
	# program's own throughput does not exceed
	hold=$(sed -n 's/.* one per median hold of \([0-9.]*\) us).*/\1/p' <<<"$output")
	[ -n "$hold" ] && awk -v h="$hold" 'BEGIN { exit !(h >= 200) }'
	assert_within 10 "$(jq -r .median_hold_ns <<<"$e")" "$(awk -v h="$hold" 'BEGIN { printf "%d", h * 1000 }')"
	jq -e --argjson h "$hold" '.throughput_cap_per_s <= 1e6 / $h * 1.1
	       and .throughput_cap_per_s * .mean_hold_ns > 0.99e9' <<<"$e"
	jq -e --argjson rps "$rps" '$rps <= .throughput_cap_per_s * 1.02' <<<"$e"
	jq -e '.median_handoff_ns > 0 and .p99_handoff_ns >= .median_handoff_ns' <<<"$e"
	[ "$(jq -r '.waiter_frames[0].func' <<<"$e")" = record_request ]
	run "$CT" check --fail-on convoy cv.ctr
	assert_failure 1
	assert_output --partial "convoy on mutex"
	assert_output --partial record_request
	run "$CT" report cv.ctr
	assert_output --partial "convoy: mutex"
	assert_output --partial "waiters per window:"
	run "$CT" report --convoy-windows cv.ctr
	assert_output --partial "== convoy windows:"
	# the thresholds are flags: no lock has 100 waiters on average
	run "$CT" check --fail-on convoy --convoy-waiters 100 cv.ctr
	assert_success
	run "$CT" report --json --convoy-run 1000 cv.ctr
	assert_success
	[ "$(jq '[.objects[] | select(.convoy)] | length' <<<"$output")" = 0 ]
	[ "$(jq '.trace.convoy_thresholds.min_run' <<<"$output")" = 1000 ]
	run "$CT" check --fail-on convoy --convoy-empty 2 cv.ctr
	assert_failure 2
}

@test "convoy: noconvoy (contended now and then, the queue empty most of the time) is not a convoy" {
	# A run the machine's load turns into a queue (holders preempted for milliseconds,
	# in a trace of a few tenths of a second) can be a convoy for real: each setting gets
	# three runs, and one of them must be judged no convoy. A detector that calls this
	# program a convoy fails all three. Each run judged a convoy prints the program's own
	# count of calls that queued (at least two holds in the lock call); the windows table
	# is printed when all three are.
	for args in "" "8 400 5 500" "4 400 50 500" "8 400 20 200"; do
		local n=
		for attempt in 1 2 3; do
			rm -f nc.ctr
			# shellcheck disable=SC2086
			trace "nc.ctr" "$PROGS/noconvoy" $args
			assert_success
			n=$(jreport nc.ctr '[.objects[] | select(.convoy)] | length')
			[ "$n" != 0 ] || break
			echo "# noconvoy $args: judged a convoy in run $attempt ($(value queued) of" \
				"$(value calls) calls queued)" >&3
		done
		[ "$n" = 0 ] || {
			"$CT" report --convoy-windows nc.ctr
			fail "noconvoy $args: a convoy in all 3 runs"
		}
		run "$CT" check --fail-on convoy nc.ctr
		assert_success
		rm nc.ctr
	done
}

# deadlock_trace FILE: runs tests/progs/deadlock traced into FILE until it says it is
# deadlocked, then stops it with SIGTERM (status 143, the default action). Output: dl.out.
deadlock_trace() {
	timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT="$1" "$PROGS/deadlock" >dl.out &
	pid=$!
	for _ in $(seq 600); do grep -q deadlocked dl.out && break; sleep 0.05; done
	grep -q deadlocked dl.out
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 143 ] # the default action, as untraced
}

@test "deadlock: an AB/BA deadlock stopped by SIGTERM leaves a trace that names the cycle" {
	deadlock_trace dl.ctr
	run jreport dl.ctr '.deadlocks | length'
	assert_output 1
	run jreport dl.ctr '[.deadlocks[0][] | .frames[0].func] | sort | join(",")'
	assert_output take_a_then_b,take_b_then_a
	# each thread waits on the lock the other holds
	jreport dl.ctr '.deadlocks[0] as $c | all($c[]; . as $w | any($c[]; .tid == $w.held_by and .tid != $w.tid))' | grep -qx true
	a=$(sed -n 's/^lock_a=\(0x[0-9a-f]*\).*/\1/p' dl.out)
	run jreport dl.ctr '[.deadlocks[0][] | .waits_on] | sort | join(",")'
	assert_output --partial "$a"
	# main waits in the join of one of them: a wait chain into the cycle
	run jreport dl.ctr '[.wait_chains[] | select(.kind == "join")] | length'
	assert_output 1
	run "$CT" check --fail-on deadlock dl.ctr
	assert_failure 1
	run "$CT" report dl.ctr
	assert_output --partial take_a_then_b
	assert_output --partial "deadlock 1: 2 threads"
	assert_output --partial "== wait chains"
}

# The recorder's HOLD events (format 1.1): a thread that waits while it holds locks records
# them first. Both threads of tests/progs/deadlock.c wait for ever holding their first lock.
@test "deadlock: the report names where each holder took the lock the other waits for (HOLD)" {
	deadlock_trace dl.ctr
	a=$(sed -n 's/^lock_a=\(0x[0-9a-f]*\) .*/\1/p' dl.out)
	b=$(sed -n 's/.* lock_b=\(0x[0-9a-f]*\)$/\1/p' dl.out)
	[ -n "$a" ] && [ -n "$b" ]
	"$CT" dump dl.ctr >dump.txt
	# each held lock is in a HOLD record of the thread that took it, before its wait
	grep -q " HOLD kind=mutex obj=$a site=" dump.txt || fail "no HOLD record of lock_a ($a)"
	grep -q " HOLD kind=mutex obj=$b site=" dump.txt || fail "no HOLD record of lock_b ($b)"
	la=$(marked_line "$SRC/tests/progs/deadlock.c" HOLD-A)
	lb=$(marked_line "$SRC/tests/progs/deadlock.c" HOLD-B)
	# ab waits for lock_b, which ba took in take_b_then_a (HOLD-B), and the reverse
	run jreport dl.ctr '[.deadlocks[0][] | "\(.frames[0].func)<-\(.held_frames[0].func):\(.held_frames[0].line):\(.held_frames_recorded)"] | sort | join(",")'
	assert_output "take_a_then_b<-take_b_then_a:$lb:true,take_b_then_a<-take_a_then_b:$la:true"
	run jreport dl.ctr '[.deadlocks[0][] | .held_frames[0].file | split("/") | last] | unique | join(",")'
	assert_output deadlock.c
	run "$CT" report dl.ctr
	assert_output --partial "take_a_then_b (deadlock.c:$la)"
	assert_output --partial "take_b_then_a (deadlock.c:$lb)"
	run "$CT" check --fail-on deadlock dl.ctr
	assert_failure 1
	assert_output --partial "(taken at take_b_then_a (deadlock.c:$lb))"
	assert_output --partial "(taken at take_a_then_b (deadlock.c:$la))"
	run "$CT" dump dl.ctr
	assert_output --regexp ' HOLD kind=mutex obj=0x[0-9a-f]+ site=0x[0-9a-f]+ stack=[0-9]+ taken=without_wait'
}

@test "check: wait, p99, total and lost rules; exit 0, 1, 2; JUnit XML that parses" {
	trace lw.ctr "$PROGS/lockwait" 4 25 1000
	assert_success
	# no wait is longer than the program's run (it measured it), and the 4 threads and
	# main wait 5 runs at most: rules at those bounds hold
	run_us=$(($(value run_ns) / 1000 + 1))
	run "$CT" check --max-wait "sync:${run_us}us" --max-p99 "sync:${run_us}us" \
		--max-total "sync:$((5 * run_us))us" --max-lost 0 lw.ctr
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
	run timeout 60 "$CT" record -o rc.ctr --check "--max-wait sync:100us" -- "$PROGS/lockwait" 4 10 1000
	assert_failure 1
	[ -s rc.ctr ]
	# the filters and thresholds of check are accepted in record --check too (a thread
	# filter that selects nothing is a usage error, after the run)
	run timeout 60 "$CT" record -o rc2.ctr --check "--max-wait sync:100us --thread nosuchthread --convoy-run 5" -- "$PROGS/lockwait" 4 10 1000
	assert_failure 2
	assert_output --partial "check: --thread 'nosuchthread' matches no thread; the threads are: lockwait"
	[ -s rc2.ctr ]
}

@test "diff: a longer critical section shows as growth at the lock site and the object" {
	# 6 threads: the lock waits grow about 5x as much as main's join when the hold grows;
	# 100 us to 5 ms, so that the growth outweighs what a loaded machine adds to both runs
	# (waits for a CPU: with 300 us to 2 ms, lockwait once measured less waiting with the
	# longer hold)
	trace base.ctr "$PROGS/lockwait" 6 20 100
	assert_success
	base_want=$(value wait_total_ns) base_rq=$(value wait_rq_ns)
	trace new.ctr "$PROGS/lockwait" 6 20 5000
	assert_success
	new_want=$(value wait_total_ns) new_rq=$(value wait_rq_ns)
	# the programs measured the growth themselves
	echo "lockwait measured $base_want ns of lock waits with 100 us holds, $new_want ns with 5 ms"
	[ "$new_want" -gt "$base_want" ]
	run "$CT" diff --json base.ctr new.ctr
	assert_success
	top=$(jq -c '[.sites[] | select(.profile == "sync")] | max_by(.delta_ns)' <<<"$output")
	[ "$(jq -r '.frames[0].func' <<<"$top")" = contend_lock ]
	jq -e '.delta_ns > 0 and .delta_ns == .new_total_ns - .base_total_ns' <<<"$top"
	# both sides are the programs' own totals (5%, plus their run-queue time, as in sync.bats)
	assert_within 5 "$(jq .base_total_ns <<<"$top")" "$base_want" "$base_rq"
	assert_within 5 "$(jq .new_total_ns <<<"$top")" "$new_want" "$new_rq"
	jq -e '[.objects[] | select(.kind == "mutex")] | max_by(.delta_ns) | .delta_ns > 0' <<<"$output"
	run "$CT" diff base.ctr new.ctr
	assert_success
	assert_output --partial contend_lock
}

@test "filters: --thread and --from/--to restrict every analysis, in report, check and diff" {
	trace ss.ctr "$PROGS/spinsleep" 100 200
	assert_success
	run jreport ss.ctr '.threads | length'
	assert_output 2
	run "$CT" report --json --thread spinner ss.ctr
	assert_success
	jq -e '(.threads | length) == 1 and .threads[0].name == "spinner"' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync")] | length == 0' <<<"$output"
	# main's join is the only object: its wait went with main, the spinner's exit (the
	# release that ended it) stays
	jq -e '.trace.filtered and all(.objects[]; .contended == 0 and .releases == 1)' <<<"$output"
	run jreport ss.ctr '[.objects[] | .kind] | join(",")'
	assert_output join
	# the trace's own times (a loaded machine can delay either thread): main's join
	# begins at join_ns and ends at the spinner's exit, release_ns; the spinner's sleep
	# begins at sleep_ns (a SYSCALL record's ts is the call's begin)
	"$CT" dump ss.ctr >dump.txt
	join_ns=$(sed -n 's/.* ts=+\([0-9]*\)\.\([0-9]\{6\}\)ms WAIT_BEGIN kind=join .*/\1\2/p' dump.txt | head -n1)
	release_ns=$(sed -n 's/.* ts=+\([0-9]*\)\.\([0-9]\{6\}\)ms RELEASE kind=join .*/\1\2/p' dump.txt | head -n1)
	sleep_ns=$(sed -n 's/.* ts=+\([0-9]*\)\.\([0-9]\{6\}\)ms SYSCALL kind=nanosleep .*/\1\2/p' dump.txt | head -n1)
	[ -n "$join_ns" ] && [ -n "$release_ns" ] && [ -n "$sleep_ns" ] ||
		fail "join at '$join_ns', its release at '$release_ns', sleep at '$sleep_ns' ns"
	join_ns=$((10#$join_ns)) release_ns=$((10#$release_ns)) sleep_ns=$((10#$sleep_ns))
	# up to just before the sleep there is no sleep: the spinner is still spinning
	run "$CT" report --json --from 0ms --to "$((sleep_ns - 1))ns" ss.ctr
	assert_success
	jq -e '[.profiles[] | select(.profile == "sleep")] | length == 0' <<<"$output"
	# the join object is clipped to a window that ends halfway through the join: the wait
	# counts from its begin to the window's end
	to=$(((join_ns + release_ns) / 2))
	run "$CT" report --json --from 0ms --to "${to}ns" ss.ctr
	assert_success
	jq -e --argjson w "$((to - join_ns))" '.objects[0].kind == "join"
	       and .objects[0].wait_total_ns == $w' <<<"$output"
	run "$CT" report --json --from 150ms ss.ctr
	jq -e '[.profiles[] | select(.profile == "sleep")] | length == 1' <<<"$output"
	run "$CT" report --from notatime ss.ctr
	assert_failure 2
	# check: main's join is long; the spinner never waits on a lock
	run "$CT" check --max-total sync:1ms ss.ctr
	assert_failure 1
	run "$CT" check --max-total sync:1ms --thread spinner ss.ctr
	assert_success
	run "$CT" check --max-total sync:1ms --from 0ms --to 500us ss.ctr
	assert_success
	run "$CT" check --thread ss.ctr
	assert_failure 2
	# diff: the same filter on both sides
	run "$CT" diff --json --thread spinner ss.ctr ss.ctr
	assert_success
	jq -e '([.sites[] | select(.profile == "sync")] | length) == 0
	       and all(.objects[]; .base_contended == 0 and .new_contended == 0)
	       and ([.sites[] | select(.profile == "sleep")] | length) == 1' <<<"$output"
	run "$CT" diff --json ss.ctr ss.ctr
	jq -e '([.sites[] | select(.profile == "sync")] | length) >= 1' <<<"$output"
	run "$CT" diff --to notatime ss.ctr ss.ctr
	assert_failure 2
}

@test "filters: deadlocks are the cycles at the window's end, of the selected threads" {
	deadlock_trace dl.ctr
	run jreport dl.ctr '.deadlocks | length'
	assert_output 1
	# before the later of the two waits began there is no cycle
	t=$(jreport dl.ctr '[.deadlocks[0][] | .since_ns] | max')
	run "$CT" report --json --to "$((t - 1))ns" dl.ctr
	assert_success
	jq -e '(.deadlocks | length) == 0' <<<"$output"
	run "$CT" check --fail-on deadlock --to "$((t - 1))ns" dl.ctr
	assert_success
	# one thread of the two: no cycle either
	run "$CT" report --json --thread ab dl.ctr
	jq -e '(.deadlocks | length) == 0 and ([.wait_chains[] | .name] == ["ab"])' <<<"$output"
	run "$CT" check --fail-on deadlock --thread ab dl.ctr
	assert_success
	run "$CT" check --fail-on deadlock --thread ab --thread ba dl.ctr
	assert_failure 1
}

@test "bench-analyze: report and its baseline (readall) read every event of gentrace's trace, and run.sh prints both" {
	# make bench-analyze's tools in a build directory of their own: run.sh keeps the
	# traces it generates next to them
	b=$PWD/b
	mkdir -p "$b/bench"
	ln -s "$CT" "$b/ctrace"
	ln -s "$CTRACE_BUILD/bench/gentrace" "$CTRACE_BUILD/bench/readall" "$b/bench/"
	run "$b/bench/gentrace" g.ctr 200000 8
	assert_success
	run "$b/bench/readall" g.ctr
	assert_success
	n=${output#events=}
	[ "$n" -ge 200000 ]
	run jreport g.ctr .trace.events
	assert_output "$n"
	run "$b/bench/readall" missing.ctr
	assert_failure 2
	run "$SRC/tests/bench/analyze/run.sh" "$b" 20000
	assert_success
	# each trace's row, then its baseline's, with the same events; the CPU ratio of the two
	assert_line --regexp '^analyze-20000\.ctr +20000 '
	assert_line --regexp '^  reading alone \(readall\) +20000 '
	assert_line --regexp '^analyze-80000\.ctr +80000 '
	assert_line --regexp '^  reading alone \(readall\) +80000 '
	assert_line --regexp '^report --json CPU / reading alone: [0-9.]+x \(1x trace\) [0-9.]+x \(4x trace\)$'
	assert_line --regexp '^RSS 4x / 1x: [0-9.]+$'
}
