#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# `ctrace export`: every format read back by the tool it is for (go tool pprof, protoc
# --decode against tests/perfetto.proto, jq, a headless chromium) and compared with
# `ctrace report --json` of the same trace.

load helpers

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	# the convoy example: mutex waits, joins, releases, one convoy
	timeout 60 "$CT" record -o cv.ctr -- "$EXAMPLES/convoy" 6 150 200 50 >/dev/null 2>&1
	"$CT" report --json cv.ctr >rep.json
	# three named threads that measure their own sleeps
	timeout 60 "$CT" record -o nap.ctr -- "$PROGS/exp_threads" 4 3 >nap.out 2>/dev/null
}

setup() {
	common_setup
	cp "$BATS_FILE_TMPDIR/cv.ctr" "$BATS_FILE_TMPDIR/rep.json" "$BATS_FILE_TMPDIR/nap.ctr" \
		"$BATS_FILE_TMPDIR/nap.out" .
}

# report_sum FILE PROFILE FIELD: the sum of FIELD over the report's entries of PROFILE.
report_sum() {
	jq -r --arg p "$2" "[.profiles[] | select(.profile == \$p) | .$3] | add // 0" "$1"
}

# raw_sums FILE: "count total" summed over the samples of go tool pprof -raw.
raw_sums() {
	go tool pprof -raw "$1" 2>/dev/null | awk '/^Samples:/ { s = 1; next } /^[A-Z][a-z]+$/ { s = 0 }
		s && /^ *[0-9]+ +[0-9]+:/ { c += $1; sub(":", "", $2); t += $2 }
		END { printf "%.0f %.0f\n", c, t }'
}

@test "pprof: every profile read by go tool pprof, its totals equal report --json" {
	for p in sync holder wakeup net syscall sleep; do
		"$CT" export --format pprof --profile "$p" -o "$p.pb.gz" cv.ctr
		assert_equal "$(raw_sums "$p.pb.gz")" \
			"$(report_sum rep.json "$p" count) $(report_sum rep.json "$p" total_ns)"
	done
	# the top of the delay profile is the lock in record_request (in ms whatever the
	# total: go tool pprof switches to seconds past one)
	run go tool pprof -top -unit=ms -sample_index=delay sync.pb.gz
	assert_success
	assert_line --regexp '^Type: delay$'
	total=$(report_sum rep.json sync total_ns)
	# pprof prints the total rounded to 0.01 ms, trailing zeros dropped ("1193ms")
	local got
	got=$(sed -n 's/.*100% of \([0-9.]*\)ms total.*/\1/p' <<<"$output" | head -n1)
	[ -n "$got" ]
	awk -v g="$got" -v t="$total" 'BEGIN { d = g - t / 1e6; exit !(d <= 0.0051 && d >= -0.0051) }' ||
		fail "go tool pprof's total ${got}ms, report --json's ${total} ns"
	first=$(printf '%s\n' "$output" | awk '/flat%/ { getline; print $NF; exit }')
	assert_equal "$first" record_request
}

@test "pprof: Go block-profile layout, function start lines, mappings with build ids, ids 1..N" {
	"$CT" export --format pprof cv.ctr
	[ -s cv.pb.gz ]
	gzip -t cv.pb.gz
	run go tool pprof -raw cv.pb.gz
	assert_success
	assert_line "PeriodType: contentions count"
	assert_line "contentions/count delay/nanoseconds[dflt]"
	assert_line --regexp '^Time: 20[0-9]{2}-'
	assert_line --regexp '^Duration: '
	# record_request at the lock's line, the function starting at its definition
	lock=$(grep -n 'pthread_mutex_lock(&stats.lock)' "$SRC/examples/convoy.c" | head -n1 | cut -d: -f1)
	def=$(grep -n '^static void record_request' "$SRC/examples/convoy.c" | cut -d: -f1)
	assert_line --regexp "^ +[0-9]+: 0x[0-9a-f]+ M=1 record_request examples/convoy.c:$lock s=$def\$"
	# mapping 1 is the example with its build id
	bid=$(readelf -n "$EXAMPLES/convoy" | awk '/Build ID/ { print $3 }')
	assert_line --regexp "^1: 0x[0-9a-f]+/0x[0-9a-f]+/0x0 .*/examples/convoy $bid \[FN\]\[FL\]\[LN\]\[IN\]\$"
	# ids: 1..N in order, for locations and mappings
	printf '%s\n' "$output" | awk '/^Locations/ { s = 1; next } /^Mappings/ { s = 2; next }
		s == 1 && /^ +[0-9]+:/ { if ($1 + 0 != ++l) exit 1 }
		s == 2 && /^[0-9]+:/ { if ($1 + 0 != ++m) exit 1 } END { exit !(l > 3 && m >= 2) }'
	# labels on every sample
	run go tool pprof -tags cv.pb.gz
	assert_success
	assert_output --partial "profile: Total"
	assert_output --partial "kind: Total"
	assert_output --partial "sync"
	assert_output --partial "mutex"
}

@test "pprof labels: each sample's thread name, per-thread totals as the program measured them; tid and object only with --labels all" {
	"$CT" export --format pprof --profile sleep -o nap.pb.gz nap.ctr
	run go tool pprof -tags nap.pb.gz
	assert_success
	for i in 1 2 3; do assert_output --regexp "[0-9.]+ms .*: napper-$i"; done
	for i in 1 2 3; do
		read -r sleeps ns < <(awk -v n="napper-$i" '$1 == n { sub("sleeps=", "", $3); sub("sleep_ns=", "", $4); print $3, $4 }' nap.out)
		read -r c t < <(go tool pprof -raw -tagfocus "thread=^napper-$i\$" nap.pb.gz 2>/dev/null |
			awk '/^Samples:/ { s = 1; next } /^[A-Z][a-z]+$/ { s = 0 }
			     s && /^ *[0-9]+ +[0-9]+:/ { c += $1; sub(":", "", $2); t += $2 }
			     END { printf "%.0f %.0f\n", c, t }')
		assert_equal "$c" "$sleeps"
		assert_within 25 "$t" "$ns"
	done
	# the same stack in different threads: separate samples, one per thread
	[ "$(go tool pprof -raw nap.pb.gz | grep -c 'thread:\[napper-')" -eq 3 ]
	# numeric labels only when asked for
	"$CT" export --format pprof -o sync.pb.gz nap.ctr
	run go tool pprof -raw sync.pb.gz
	assert_output --partial "thread:["
	refute_output --partial "tid:["
	refute_output --partial "object:["
	"$CT" export --format pprof --labels all -o all.pb.gz nap.ctr
	run go tool pprof -raw all.pb.gz
	assert_output --partial "object:["
	for i in 1 2 3; do
		tid=$(awk -v n="napper-$i" '$1 == n { sub("tid=", "", $2); print $2 }' nap.out)
		"$CT" export --format pprof --profile sleep --labels all -o "s$i.pb.gz" nap.ctr
		run go tool pprof -raw -tagfocus "thread=^napper-$i\$" "s$i.pb.gz"
		assert_output --partial "tid:[$tid]"
		assert_equal "$(printf '%s\n' "$output" | grep -o 'tid:\[[0-9]*\]' | sort -u)" "tid:[$tid]"
	done
}

@test "pprof: remainder entries (calls without a stack) and system-call profiles add up" {
	CTRACE_SYSCALL_THRESHOLD=1s timeout 60 "$CT" record -o io.ctr -- "$PROGS/io_sites" >/dev/null 2>&1
	"$CT" report --json io.ctr >io.json
	[ "$(report_sum io.json syscall count)" -gt 0 ] || [ "$(report_sum io.json net count)" -gt 0 ]
	for p in net syscall; do
		"$CT" export --format pprof --profile "$p" -o "$p.pb.gz" io.ctr
		assert_equal "$(raw_sums "$p.pb.gz")" \
			"$(report_sum io.json "$p" count) $(report_sum io.json "$p" total_ns)"
	done
}

@test "several traces: one pprof profile with a pid label (--labels all adds it to one), one Chrome process each" {
	timeout 60 "$CT" record -o two.ctr -- "$EXAMPLES/convoy" 2 50 100 20 >/dev/null 2>&1
	"$CT" report --json two.ctr >two.json
	"$CT" export --format pprof -o both.pb.gz cv.ctr two.ctr
	c=$(( $(report_sum rep.json sync count) + $(report_sum two.json sync count) ))
	t=$(( $(report_sum rep.json sync total_ns) + $(report_sum two.json sync total_ns) ))
	assert_equal "$(raw_sums both.pb.gz)" "$c $t"
	run go tool pprof -raw both.pb.gz
	assert_output --partial "pid:[$(jq .trace.pid rep.json)]"
	assert_output --partial "pid:[$(jq .trace.pid two.json)]"
	"$CT" export --format pprof -o one.pb.gz cv.ctr
	run go tool pprof -raw one.pb.gz
	refute_output --partial "pid:["
	"$CT" export --format pprof --labels all -o all.pb.gz cv.ctr
	run go tool pprof -raw all.pb.gz
	assert_output --partial "pid:[$(jq .trace.pid rep.json)]"
	# the timelines: one process each, every wait of both
	"$CT" export --format chrome -o both.json cv.ctr two.ctr
	assert_equal "$(jq -r '[.traceEvents[] | select(.name == "process_name") | .pid] | sort | join(" ")' both.json)" \
		"$(printf '%s\n' "$(jq .trace.pid rep.json)" "$(jq .trace.pid two.json)" | sort -n | tr '\n' ' ' | sed 's/ $//')"
	assert_equal "$(jq '[.traceEvents[] | select(.ph == "X" and .cat == "sync")] | length' both.json)" "$c"
}

@test "folded: root-first stacks whose values add up to the profile, --value count, --folded-roots" {
	run "$CT" export --format folded -o - cv.ctr
	assert_success
	top=$(printf '%s\n' "$output" | sort -t' ' -k2 -nr | head -n1)
	[[ "$top" == *";worker;handle_request;record_request "* ]] || fail "top line: $top"
	assert_equal "$(printf '%s\n' "$output" | awk '{ s += $NF } END { printf "%.0f", s }')" \
		"$(report_sum rep.json sync total_ns)"
	run "$CT" export --format folded --value count -o - cv.ctr
	assert_equal "$(printf '%s\n' "$output" | awk '{ s += $NF } END { print s }')" \
		"$(report_sum rep.json sync count)"
	# roots: the thread name, then the kind; one line per (thread, kind, stack), not per wait
	run "$CT" export --format folded --folded-roots -o - cv.ctr
	[ "${#lines[@]}" -lt "$(report_sum rep.json sync count)" ]
	assert_equal "$(printf '%s\n' "$output" | awk '{ s += $NF } END { printf "%.0f", s }')" \
		"$(report_sum rep.json sync total_ns)"
	assert_equal "$(printf '%s\n' "$output" | cut -d';' -f1-2 | sort -u | tr '\n' ' ')" "convoy;join convoy;mutex "
	# each named thread's line holds its sleeps as it measured them
	for v in ns count; do
		run "$CT" export --format folded --folded-roots --profile sleep --value "$v" -o - nap.ctr
		for i in 1 2 3; do
			read -r sleeps ns < <(awk -v n="napper-$i" '$1 == n { sub("sleeps=", "", $3); sub("sleep_ns=", "", $4); print $3, $4 }' nap.out)
			line=$(printf '%s\n' "$output" | grep "^napper-$i;nanosleep;.*;nap ")
			if [ "$v" = count ]; then
				assert_equal "${line##* }" "$sleeps"
			else
				assert_within 25 "${line##* }" "$ns"
			fi
		done
	done
	# the file: the trace's name with .folded
	"$CT" export --format folded cv.ctr
	[ -s cv.folded ]
}

@test "folded: --profile wakechain writes waiter stack, --, releaser stack per woken wait" {
	run "$CT" export --format folded --profile wakechain -o - cv.ctr
	assert_success
	# one line per wait whose release is known (the wakeup profile's count)
	assert_equal "${#lines[@]}" "$(report_sum rep.json wakeup count)"
	line=$(printf '%s\n' "$output" | grep ';record_request;--;' | head -n1)
	# waiter root first ... record_request, then the releaser leaf first: its unlock in
	# record_request, then its callers, then its thread
	[[ "$line" == convoy\;*\;worker\;handle_request\;record_request\;--\;record_request\;handle_request\;worker\;*\;convoy\ * ]] ||
		fail "wakechain line: $line"
	run -2 "$CT" export --format folded --profile wakechain,sync -o - cv.ctr
}

# nesting FILE: exits 1 when two complete events of one thread overlap without nesting.
nesting() {
	jq -r '.traceEvents[] | select(.ph == "X") | "\(.pid) \(.tid) \(.ts) \(.ts + .dur)"' "$1" |
		sort -k1,1n -k2,2n -k3,3n -k4,4nr | awk '
		{ k = $1 " " $2; if (k != key) { key = k; n = 0 }
		  while (n > 0 && end[n] <= $3 + 1e-9) n--
		  if (n > 0 && $4 > end[n] + 1e-9) { print "overlap: " $0; bad = 1 }
		  end[++n] = $4 }
		END { exit bad }'
}

@test "chrome: complete events per wait, flows from release to wake-up, names, strict nesting" {
	"$CT" export --format chrome cv.ctr
	jq -e . cv.json >/dev/null
	run jq '[.traceEvents[] | select(.ph == "X" and .name == "mutex" and .cat == "sync")] | length' cv.json
	assert_output "$(jq '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .count] | add' rep.json)"
	# the sum of the mutex slices is the sync mutex total (us with ns precision)
	run jq '[.traceEvents[] | select(.ph == "X" and .name == "mutex") | .dur * 1000 | round] | add' cv.json
	assert_output "$(jq '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .total_ns] | add' rep.json)"
	wake=$(report_sum rep.json wakeup count)
	assert_equal "$(jq '[.traceEvents[] | select(.flow_out)] | length' cv.json)" "$wake"
	assert_equal "$(jq '[.traceEvents[] | select(.flow_in and .name == "runnable")] | length' cv.json)" "$wake"
	# every flow goes from a release to a runnable slice, forward in time
	jq -e '[.traceEvents[] | select(.bind_id)] | group_by(.bind_id)
		| all(length == 2 and (map(select(.flow_out))[0].ts <= map(select(.flow_in))[0].ts + 0.001))' cv.json
	assert_equal "$(jq '[.traceEvents[] | select(.ph == "M" and .name == "thread_name")] | length' cv.json)" \
		"$(jq '.threads | length' rep.json)"
	jq -e '.traceEvents[] | select(.ph == "M" and .name == "process_name") | .args.name | test("convoy")' cv.json
	jq -e '.otherData.traces[0].lost_events == 0' cv.json
	nesting cv.json
}

@test "chrome: --split writes consecutive time ranges that hold every slice once" {
	"$CT" export --format chrome -o all.json cv.ctr
	size=$(stat -c %s all.json)
	"$CT" export --format chrome --split $((size / 3 / 1000 + 1))kB -o part.json cv.ctr
	n=$(ls part*.json | wc -l)
	[ "$n" -ge 3 ] || fail "$n parts"
	total=0 prev_end=0
	for f in part.json $(seq 1 $((n - 1)) | sed 's/.*/part.&.json/'); do
		jq -e . "$f" >/dev/null
		nesting "$f"
		c=$(jq '[.traceEvents[] | select(.ph == "X" and .cat == "sync")] | length' "$f")
		total=$((total + c))
		# metadata in every part; time ranges in order
		[ "$(jq '[.traceEvents[] | select(.ph == "M")] | length' "$f")" -gt 1 ]
		from=$(jq .otherData.from_us "$f")
		[ "$from" -ge "$prev_end" ] || fail "$f starts at $from before $prev_end"
		prev_end=$from
	done
	assert_equal "$total" "$(report_sum rep.json sync count)"
	run -2 "$CT" export --format pprof --split 1MB -o x.pb.gz cv.ctr
}

@test "perfetto: protoc decodes the Trace; slices, flows, tracks and interned names counted" {
	"$CT" export --format perfetto cv.ctr
	protoc --decode=perfetto.protos.Trace -I"$SRC/tests" "$SRC/tests/perfetto.proto" \
		<cv.perfetto-trace >decoded.txt
	# interned names resolved in sequence order; an iid used before its definition fails
	run python3 "$SRC/tests/perfetto-summary.py" <decoded.txt
	assert_success
	sum=$output
	count() { printf '%s\n' "$sum" | sed -n "s/^$1 //p"; }
	mutex=$(jq '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .count] | add' rep.json)
	join=$(jq '[.profiles[] | select(.profile == "sync" and .kind == "join") | .count] | add' rep.json)
	waits=$(report_sum rep.json sync count)
	wake=$(report_sum rep.json wakeup count)
	assert_equal "$(count 'begin mutex')" "$mutex"
	assert_equal "$(count 'begin join')" "$join"
	assert_equal "$(count 'begin runnable')" "$wake"
	assert_equal "$(count end)" $((waits + wake))
	assert_equal "$(count 'category sync')" "$waits"
	assert_equal "$(count 'category wakeup')" "$wake"
	# one flow per woken wait, from a release instant to the runnable slice
	assert_equal "$(count flow_ids)" "$wake"
	assert_equal "$(count terminating_flow_ids)" "$wake"
	assert_equal "$(count flows_matched)" "$wake"
	assert_equal $(( $(count 'instant release mutex') + $(count 'instant release join') )) "$wake"
	# named tracks: the process and every thread
	assert_equal "$(count process)" convoy
	assert_equal "$(printf '%s\n' "$sum" | grep -c '^thread ')" "$(jq '.threads | length' rep.json)"
	# the lock's slices carry the waiting site and the object
	assert_line --regexp '^annotation site=record_request \(convoy\.c:[0-9]+\)$'
	obj=$(jq -r '.objects[] | select(.convoy) | .address' rep.json)
	assert_line "pointer $(printf '%d' "$obj")"
	# every field is one tests/perfetto.proto declares
	assert_equal "$(count unknown_field)" 0
}

@test "html: the page in headless chromium: top site, flame zoom, arrows, convoy windows, no errors" {
	[ -f "$SRC/tests/node_modules/playwright-core/package.json" ] ||
		fail "playwright-core missing: run tests/deps.sh test"
	"$CT" export --format html cv.ctr
	size=$(stat -c %s cv.html)
	[ "$size" -lt 10000000 ]
	# self-contained: no URL to fetch
	! grep -qE '(src|href)="(https?:)?//' cv.html
	[ "$(jq '[.objects[] | select(.convoy)] | length' rep.json)" -ge 1 ]
	run timeout 180 node "$SRC/tests/browser/html-report.mjs" cv.html rep.json \
		"$CTRACE_BUILD/export-html.png"
	echo "$output"
	assert_success
	assert_line --partial "ok: no console errors"
	assert_line --regexp '^ok: convoy plot of 0x[0-9a-f]+: [0-9]+ convoy windows'
	[ -s "$CTRACE_BUILD/export-html.png" ]
}

@test "html: a deadlocked program's page lists the cycle and its threads" {
	timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=dl.ctr "$PROGS/deadlock" >dl.out &
	pid=$!
	for _ in $(seq 600); do grep -q deadlocked dl.out && break; sleep 0.05; done
	grep -q deadlocked dl.out
	kill -TERM "$pid"
	wait "$pid" || true
	"$CT" report --json dl.ctr >dl.json
	[ "$(jq '.deadlocks | length' dl.json)" = 1 ]
	"$CT" export --format html dl.ctr
	run timeout 180 env ARROWS_OPTIONAL=1 node "$SRC/tests/browser/html-report.mjs" dl.html dl.json dl.png
	echo "$output"
	assert_success
	assert_line "ok: 1 deadlock(s) shown, the report has 1"
	assert_line --regexp '^ok: deadlock 1 names threads [0-9]+, [0-9]+$'
}

@test "lost events and truncation are stated in every format" {
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT="fl.%p.ctr" \
		CTRACE_SYSCALL_THRESHOLD=0ns CTRACE_BUFFER_SIZE=4k CTRACE_BUFFERS=2 \
		"$PROGS/proc_flood" calls 8 5000
	assert_success
	fl=$(ls fl.*.ctr)
	lost=$("$CT" report --json "$fl" | jq .trace.lost_events)
	[ "$lost" -gt 0 ]
	"$CT" export --format pprof --profile syscall -o fl.pb.gz "$fl"
	run go tool pprof -raw fl.pb.gz
	assert_output --partial ", $lost lost"
	assert_output --partial "warning: $fl: $lost events lost"
	"$CT" export --format chrome -o fl.json "$fl"
	assert_equal "$(jq .otherData.traces[0].lost_events fl.json)" "$lost"
	"$CT" export --format html -o fl.html "$fl"
	grep -q "\"lost_events\":$lost" fl.html
	grep -q "events lost" fl.html
	# a truncated trace: the warning on stderr and in the export
	size=$(stat -c %s cv.ctr)
	head -c $((size - 100)) cv.ctr >cut.ctr
	run --separate-stderr "$CT" export --format chrome -o cut.json cut.ctr
	assert_success
	[[ "$stderr" == *"warning: cut.ctr: truncated at byte"* ]]
	jq -e '.otherData.traces[0].truncated == true and (.otherData.traces[0].warning | test("truncated at byte"))' cut.json
	"$CT" export --format pprof -o cut.pb.gz cut.ctr 2>/dev/null
	run go tool pprof -raw cut.pb.gz
	assert_output --partial "warning: cut.ctr: truncated at byte"
	# perfetto: an instant "warning" on the process track with the message
	"$CT" export --format perfetto -o cut.perfetto-trace cut.ctr 2>/dev/null
	protoc --decode=perfetto.protos.Trace -I"$SRC/tests" "$SRC/tests/perfetto.proto" \
		<cut.perfetto-trace >cut.txt
	grep -q 'name: "warning"' cut.txt
	grep -q 'string_value: "cut.ctr: truncated at byte' cut.txt
}

@test "usage: unknown format or profile exit 2; an existing file is kept unless --force" {
	run -2 "$CT" export --format svg cv.ctr
	assert_output --partial "unknown format 'svg' (pprof folded chrome perfetto html)"
	# report's formats are rows of the same table, not export's
	run -2 "$CT" export --format json cv.ctr
	run -2 "$CT" export --format pprof --folded-roots cv.ctr
	run -2 "$CT" export --format pprof --profile nosuch cv.ctr
	assert_output --partial "unknown profile 'nosuch'"
	run -2 "$CT" export --format chrome --profile holder cv.ctr
	run -2 "$CT" export cv.ctr
	run -2 "$CT" export --format pprof -o - cv.ctr
	run -2 "$CT" export --format folded nosuch.ctr
	echo keep >cv.folded
	run -2 "$CT" export --format folded cv.ctr
	assert_output --partial "cv.folded exists"
	assert_equal "$(cat cv.folded)" keep
	"$CT" export --format folded --force cv.ctr
	grep -q record_request cv.folded
	run "$CT" export --help
	assert_success
	for f in "pprof     .pb.gz" "folded    .folded" "chrome    .json" \
		"perfetto  .perfetto-trace" "html      .html"; do
		assert_output --partial "  $f"
	done
}

@test "make demo's script also writes the HTML report and prints its path" {
	run timeout 120 "$SRC/tests/demo.sh" "$CTRACE_BUILD"
	assert_success
	assert_line "HTML report: $CTRACE_BUILD/demo/convoy.html (open it in a browser: flame graphs, timeline, convoy windows)"
	grep -q 'id="ctrace-data"' "$CTRACE_BUILD/demo/convoy.html"
}

# html_data FILE: the page's JSON data document.
html_data() {
	python3 -c 'import re, sys; t = open(sys.argv[1]).read(); print(re.search(r"<script type=\"application/json\" id=\"ctrace-data\">(.*?)</script>", t, re.S).group(1))' "$1"
}

@test "html: over its size budget the page halves its limits until the data fits" {
	"$CT" export --format html -o full.html cv.ctr
	html_data full.html >full.data
	full=$(stat -c %s full.data)
	jq -e '.limits.rows == 1001 and .limits.stacks == 1501' full.data
	# a budget no data fits: the limits are halved as far as they go (the knob of the tests)
	CTRACE_EXPORT_HTML_MAX=1 "$CT" export --format html -o least.html cv.ctr
	html_data least.html >least.data
	least=$(stat -c %s least.data)
	[ "$least" -lt "$full" ]
	# a budget between the least and the full data (how much of the data can shrink
	# depends on how many waits and stacks this run of the example recorded)
	budget=$(((least + full) / 2))
	CTRACE_EXPORT_HTML_MAX=$budget "$CT" export --format html -o small.html cv.ctr
	html_data small.html >small.data
	[ "$(stat -c %s small.data)" -le "$budget" ] || fail "$(stat -c %s small.data) > $budget"
	jq -e '.limits.rows < 1001 and .limits.stacks < 1501' small.data
	# what remains is the most waited-on: the convoyed lock is still the first object
	assert_equal "$(jq -r '.objects[0].address' small.data)" "$(jq -r '[.objects[] | select(.convoy)][0].address' rep.json)"
	[ "$(jq '.timeline.rows | length' small.data)" -lt "$(jq '.timeline.rows | length' full.data)" ]
}

@test "timelines: waits beyond a run go through a temporary file in TMPDIR, left empty, for the same output; a TMPDIR that cannot take it exits 2 and leaves no output" {
	# the knob of the tests: runs of 7 waits (the default holds half a million)
	[ "$(report_sum rep.json sync count)" -gt 21 ]
	mkdir tmp
	for fmt in chrome perfetto html; do
		"$CT" export --format "$fmt" -o "whole.$fmt" cv.ctr
		CTRACE_EXPORT_TIMELINE_RUN=7 TMPDIR="$PWD/tmp" "$CT" export --format "$fmt" \
			-o "runs.$fmt" cv.ctr
		cmp "whole.$fmt" "runs.$fmt"
	done
	"$CT" export --format folded --profile wakechain -o whole.folded cv.ctr
	CTRACE_EXPORT_TIMELINE_RUN=7 TMPDIR="$PWD/tmp" "$CT" export --format folded \
		--profile wakechain -o runs.folded cv.ctr
	cmp whole.folded runs.folded
	assert_equal "$(ls -A tmp)" ""
	run -2 --separate-stderr env CTRACE_EXPORT_TIMELINE_RUN=7 TMPDIR="$PWD/none" \
		"$CT" export --format perfetto -o none.perfetto-trace cv.ctr
	assert_equal "$stderr" "ctrace: export: cannot create a temporary file in $PWD/none (to sort the waits by thread; TMPDIR names another directory): No such file or directory"
	[ ! -e none.perfetto-trace ]
}
