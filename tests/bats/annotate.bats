#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Annotations (preload/include/ctrace_annotate.h): a program that measures its own waits
# inside regions and tasks; the report's regions and tasks must agree with what it
# measured, tasks must cross threads, nested regions each count their waits, unbalanced
# ends are ignored and counted, and the program runs the same without libctrace.

load helpers

setup() { common_setup; }

AR=$SRC/tests/progs/ann_regions.c

# naps ROUNDS NAP_MS MEASURED GOT: GOT, a region's or the task's blocked sleep time in
# ann.ctr, is every nap of the worker, whole: the sleep entry of its nanosleep, one per
# round. nanosleep sleeps at least what it is asked for, and the program's clock reads
# enclose the tracer's, so that entry lies between ROUNDS x NAP_MS and MEASURED, the
# program's own sum (1% either way for the tracer's TSC-to-ns conversion). A comparison
# with MEASURED alone would fail when, on a busy machine, the worker was held up inside
# the wrapper but outside the traced call, which the program cannot tell apart.
naps() {
	local rounds=$1 ms=$2 measured=$3 got=$4 entry count total
	entry='.profiles[] | select(.profile == "sleep" and .frames[0].func == "worker")'
	count=$(jreport ann.ctr "$entry | .count") total=$(jreport ann.ctr "$entry | .total_ns")
	[ "$count" = "$rounds" ] || fail "the worker's sleep entry has $count naps, not $rounds"
	[ "$got" = "$total" ] || fail "blocked sleep $got is not the worker's naps, $total"
	awk -v t="$total" -v lo="$((rounds * ms * 1000000))" -v hi="$measured" \
		'BEGIN { exit !(t >= lo * 0.99 && t <= hi * 1.01) }' ||
		fail "the naps' $total ns are not between $rounds x $ms ms and the measured $measured"
}

@test "annotate: region blocked times agree with the program's own measurements" {
	trace ann.ctr "$PROGS/ann_regions" 20 3 2
	assert_success
	lock=$(value lock_ns) nap=$(value nap_ns) lrq=$(value lock_rq_ns)
	r() { jreport ann.ctr ".regions[] | select(.name == \"$1\") | $2"; }
	# the inner regions: lock waits in "lock" (5%, plus the time the worker waited for
	# a CPU in the calls it was preempted in: ann_regions.c), sleeps in "nap" (naps)
	assert_within 5 "$(r lock .blocked_ns.sync)" "$lock" "$lrq"
	naps 20 2 "$nap" "$(r nap .blocked_ns.sleep)"
	[ "$(r lock .blocked_ns.sleep)" = 0 ] && [ "$(r nap .blocked_ns.sync)" = 0 ]
	# the outer region holds both (nested regions each count the waits inside them)
	assert_within 5 "$(r handle .blocked_ns.sync)" "$lock" "$lrq"
	naps 20 2 "$nap" "$(r handle .blocked_ns.sleep)"
	# counts, task name, a region's time covers its waits, percentiles are ordered
	[ "$(r handle .count)" = 20 ] && [ "$(r lock .count)" = 20 ]
	[ "$(r lock .task)" = request ]
	jreport ann.ctr '.regions[] | select(.name == "handle") |
		.total_ns >= .blocked_ns.sync + .blocked_ns.sleep and .max_ns >= .p99_ns and
		.p99_ns >= .p50_ns and .p50_ns > 0' | grep -qx true
	# the region's call site: the worker's line, not the header's wrapper
	[ "$(r handle '.frames[0].func')" = worker ]
	[ "$(r handle '.frames[0].line')" = "$(marked_line "$AR" REGION-HANDLE)" ]
	# text sections
	run "$CT" report ann.ctr
	assert_output --partial "== regions: time inside ctrace_region_begin .. end"
	assert_output --partial "== tasks: ctrace_task_begin .. end"
}

@test "annotate: a task begun by main and ended by the worker crosses two threads" {
	trace ann.ctr "$PROGS/ann_regions" 10 2 1
	assert_success
	lock=$(value lock_ns) nap=$(value nap_ns) lrq=$(value lock_rq_ns)
	t() { jreport ann.ctr ".tasks[] | select(.name == \"request\") | $1"; }
	[ "$(t .count)" = 10 ] && [ "$(t .threads)" = 2 ] && [ "$(t .logs)" = 10 ]
	[ "$(t .unended)" = 0 ]
	# its waits are those of its regions, each counted once though the regions nest
	assert_within 5 "$(t .blocked_ns.sync)" "$lock" "$lrq"
	naps 10 1 "$nap" "$(t .blocked_ns.sleep)"
}

@test "annotate: unbalanced region ends are ignored and counted; long names survive" {
	trace ann.ctr "$PROGS/ann_regions" 2 1 1
	assert_success
	[ "$(jreport ann.ctr .region_unbalanced_ends)" = "$(value unbalanced)" ]
	[ "$(jreport ann.ctr '.regions[] | select(.name == "outer-with-a-very-long-name-that-needs-more-than-one-event") | .count')" = 1 ]
	[ "$(jreport ann.ctr '.regions[] | select(.name == "inner") | .count')" = 1 ]
	run "$CT" report ann.ctr
	assert_output --partial "3 region ends matched no open region and were ignored"
}

@test "annotate: the program runs unchanged without libctrace" {
	run timeout 60 "$PROGS/ann_regions" 3 1 1
	assert_success
	assert_output --regexp '^lock_ns=[0-9]+ nap_ns=[0-9]+ rounds=3 unbalanced=3 lock_rq_ns=[0-9]+$'
	# and with tracing disabled
	CTRACE_DISABLE=1 run timeout 60 env LD_PRELOAD="$LIB" "$PROGS/ann_regions" 3 1 1
	assert_success
	assert_output --regexp '^lock_ns=[0-9]+ nap_ns=[0-9]+ rounds=3 unbalanced=3 lock_rq_ns=[0-9]+$'
}

@test "annotate: --region and --label keep the waits made inside the region or under the label" {
	trace ann.ctr "$PROGS/ann_regions" 20 3 2
	assert_success
	lock=$(value lock_ns) nap=$(value nap_ns) lrq=$(value lock_rq_ns)
	total() { "$CT" report --json "$@" ann.ctr |
		jq -r "[.profiles[] | select(.profile == \"$P\") | .total_ns] | add // 0"; }
	P=sync assert_within 5 "$(P=sync total --region lock)" "$lock" "$lrq"
	[ "$(P=sync total --region nap)" = 0 ]
	naps 20 2 "$nap" "$(P=sleep total --region nap)"
	# the label is set around the lock wait only, alice in even rounds and bob in odd ones
	alice=$(P=sync total --label user=alice) bob=$(P=sync total --label user=bob)
	assert_within 5 "$((alice + bob))" "$lock" "$lrq"
	[ "$alice" -gt 0 ] && [ "$bob" -gt 0 ]
	[ "$(P=sync total --label user=carol)" = 0 ]
	run "$CT" report --json --label user ann.ctr
	[ "$status" -eq 2 ]
	assert_output --partial "--label wants KEY=VALUE"
}

@test "examples/reqserver: the regions table shows the lookups' lock waits, under route=/item" {
	trace rq.ctr "$EXAMPLES/reqserver/reqserver" 3 100 10 2000
	assert_success
	assert_line --partial "answered=100 slow=10"
	run jreport rq.ctr '[.regions[] | "\(.name):\(.count):\(.task)"] | sort | join(",")'
	assert_output "lookup:100:request,parse:100:request,respond:100:request"
	# every wait on the cache lock happened inside "lookup": the region's sync time is
	# the lock waits at the lookup call
	lock=$(jreport rq.ctr '[.profiles[] | select(.profile == "sync" and .kind == "mutex" and
		.frames[0].func == "lookup") | .total_ns] | add // 0')
	[ "$lock" -gt 0 ]
	[ "$(jreport rq.ctr '.regions[] | select(.name == "lookup") | .blocked_ns.sync')" = "$lock" ]
	[ "$(jreport rq.ctr '.regions[] | select(.name == "parse") | .blocked_ns.sync')" = 0 ]
	[ "$(jreport rq.ctr '.tasks[0] | "\(.name) \(.count) \(.threads)"')" = "request 100 4" ]
}

@test "annotate: pprof samples carry the labels region, task and the thread's labels" {
	command -v go >/dev/null || skip "go not installed (tests/deps.sh installs it)"
	trace ann.ctr "$PROGS/ann_regions" 10 2 1
	assert_success
	lock=$(value lock_ns) lrq=$(value lock_rq_ns)
	"$CT" export --format pprof --profile sync -o ann.pb.gz ann.ctr
	run timeout 120 go tool pprof -raw ann.pb.gz
	assert_success
	# the lock waits: one sample per label set, all in region lock of task request
	sums=$(awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 }
		s && $2 ~ /^[0-9]+:$/ { d = $2 + 0; getline; if ($0 ~ /region:\[lock\]/ && $0 ~ /task:\[request\]/) {
			if ($0 ~ /user:\[alice\]/) a += d; else if ($0 ~ /user:\[bob\]/) b += d } }
		END { print a + 0, b + 0 }' <<<"$output")
	read -r alice bob <<<"$sums"
	[ "$alice" -gt 0 ] && [ "$bob" -gt 0 ] || fail "no labelled samples: $output"
	assert_within 5 "$((alice + bob))" "$lock" "$lrq"
	# the unlabelled waits (the barriers) keep no region label
	grep -A1 'kind:\[barrier\]' <<<"$output" | grep -q 'region:' && fail "barrier labelled"
	# split by thread and object too (--labels all), the labelled parts still add up: each
	# thread's lock waits under each label are that thread's own
	"$CT" export --format pprof --profile sync --labels all -o all.pb.gz ann.ctr
	run timeout 120 go tool pprof -raw all.pb.gz
	assert_success
	sums=$(awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 }
		s && $2 ~ /^[0-9]+:$/ { d = $2 + 0; getline; l = $0; getline; $0 = l " " $0
			if ($0 ~ /region:\[lock\]/ && $0 ~ /tid:\[[0-9]+\]/) {
			if ($0 ~ /user:\[alice\]/) a += d; else if ($0 ~ /user:\[bob\]/) b += d } }
		END { print a + 0, b + 0 }' <<<"$output")
	read -r alice2 bob2 <<<"$sums"
	assert_equal "$alice2 $bob2" "$alice $bob"
}

@test "annotate: Chrome and Perfetto draw regions as slices and logs as instants" {
	trace ann.ctr "$PROGS/ann_regions" 10 1 1
	assert_success
	"$CT" export --format chrome -o ann.json ann.ctr
	# 10 rounds of handle, lock and nap, then outer and inner; one log per round
	run jq -r '[.traceEvents[] | select(.cat == "region") | .name] | group_by(.) |
		map("\(.[0]):\(length)") | join(",")' ann.json
	assert_output "handle:10,inner:1,lock:10,nap:10,outer-with-a-very-long-name-that-needs-more-than-one-event:1"
	run jq -r '[.traceEvents[] | select(.cat == "log")] | "\(length) \(.[0].ph) \(.[0].name) \(.[0].args.message)"' ann.json
	assert_output "10 i progress locked, now napping a while before the answer"
	# a region holds the lock wait made in it (same thread, within its time)
	run jq -e '[.traceEvents[] | select(.cat == "region" and .name == "lock")][0] as $r |
		[.traceEvents[] | select(.cat == "sync" and .name == "mutex" and .tid == $r.tid and
		 .ts >= $r.ts and .ts + .dur <= $r.ts + $r.dur + 0.002)] | length >= 1' ann.json
	command -v protoc >/dev/null || skip "protoc not installed (tests/deps.sh installs it)"
	"$CT" export --format perfetto -o ann.pftrace ann.ctr
	protoc --decode=perfetto.protos.Trace -I"$SRC/tests" "$SRC/tests/perfetto.proto" \
		<ann.pftrace >decoded.txt
	run python3 "$SRC/tests/perfetto-summary.py" <decoded.txt
	assert_line "begin lock 10"
	assert_line "begin handle 10"
	assert_line "category region 32"
	assert_line "instant progress 10"
	assert_line "annotation task=request"
	grep -q 'name: "regions"' decoded.txt
}
