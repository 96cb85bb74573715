#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Numbers that were missing and names people recognise: mutexes handed over by a thread
# that does not own them, OpenMP waits, frames entered by a return (signal trampoline,
# makecontext), frames and objects of a stripped binary, objects named by their variable.
# Programs measure their own waits; totals are compared as in sync.bats (a percentage plus
# the run-queue time the program measured in the calls it was preempted in).

load helpers

setup() { common_setup; }

# sum FILE FILTER: the sum of .total_ns over the profile entries FILTER selects (0: none).
sum() {
	jreport "$1" "[.profiles[] | select($2) | .total_ns] | add // 0"
}

@test "hand-off: a mutex unlocked by a non-owner is a release: holder and wake-up profiles" {
	trace nh.ctr "$PROGS/nown_handoff" 20 2000
	assert_success
	want=$(value wait_total_ns)
	rounds=$(value rounds)
	line=$(marked_line "$SRC/tests/progs/nown_handoff.c" HANDOFF-SITE)
	wait_line=$(marked_line "$SRC/tests/progs/nown_handoff.c" RECEIVE-SITE)
	# every wait of the receiver is charged to the sender's unlock, the only release
	run jreport nh.ctr "[.profiles[] | select(.profile == \"holder\" and .kind == \"mutex\"
		and .frames[0].func == \"hand_over\") | \"\(.frames[0].line) \(.frames[1].func)\"]
		| unique | join(\",\")"
	assert_output "$line sender"
	got=$(sum nh.ctr '.profile == "holder" and .kind == "mutex" and .frames[0].func == "hand_over"')
	wake=$(sum nh.ctr '.profile == "wakeup" and .kind == "mutex" and .frames[0].func == "receive"')
	assert_within 5 "$((got + wake))" "$want" "$(value wait_rq_ns)"
	# each of the receiver's waits was woken by exactly one recorded release
	run jreport nh.ctr "[.profiles[] | select(.profile == \"wakeup\" and .frames[0].func == \"receive\")
		| .count] | add"
	assert_output "$rounds"
	run jreport nh.ctr "[.profiles[] | select(.profile == \"sync\" and .frames[0].func == \"receive\")
		| .frames[0].line] | unique | join(\",\")"
	assert_output "$wait_line"
	# the trace marks them: RELEASE events flagged handoff, with the owner's tid in c
	mu=$(jreport nh.ctr '.objects[] | select(.name == "handoff_mu") | .address')
	[ -n "$mu" ]
	run bash -c "'$CT' dump nh.ctr | grep ' RELEASE kind=mutex obj=$mu ' | grep -c ',handoff'"
	assert_output "$rounds"
	run bash -c "'$CT' dump nh.ctr | grep ' RELEASE kind=mutex obj=$mu ' | grep -c ' c=0 '"
	assert_output 0
	# the receiver holds it (glibc's owner) each time it waits for the next hand-off: one
	# HOLD per wait, not one per earlier acquisition the sender's unlocks could not remove
	# (the HOLDs before a slow system call made under the lock are that call's: not counted)
	holds=$("$CT" dump nh.ctr | awk -v mu="$mu" 'h && / WAIT_BEGIN / { n++ } { h = index($0, " HOLD kind=mutex obj=" mu " ") > 0 } END { print n + 0 }')
	[ "$holds" -le "$rounds" ]
}

@test "hand-off: an EPERM unlock and a recursive inner unlock record no release" {
	trace nh.ctr "$PROGS/nown_handoff" 3 2000
	assert_success
	[ "$(value eperm)" = 1 ]
	ec=$(jreport nh.ctr '.objects[] | select(.name == "ec_mu") | .address')
	rec=$(jreport nh.ctr '.objects[] | select(.name == "rec_mu") | .address')
	[ -n "$ec" ] && [ -n "$rec" ]
	# one release each, by the owner, not a hand-off: main's unlock / the outer unlock
	for obj in "$ec" "$rec"; do
		run bash -c "'$CT' dump nh.ctr | grep -c ' RELEASE kind=mutex obj=$obj '"
		assert_output 1
		run bash -c "'$CT' dump nh.ctr | grep ' RELEASE kind=mutex obj=$obj ' | grep -c handoff"
		assert_output 0
	done
	ecl=$(marked_line "$SRC/tests/progs/nown_handoff.c" EC-UNLOCK-SITE)
	recl=$(marked_line "$SRC/tests/progs/nown_handoff.c" REC-OUTER-SITE)
	run jreport nh.ctr "[.profiles[] | select(.profile == \"holder\" and .kind == \"mutex\"
		and (.frames[0].func | test(\"^(ec_|rec_)\"))) | \"\(.frames[0].func):\(.frames[0].line)\"]
		| sort | join(\",\")"
	assert_output "ec_release:$ecl,rec_outer_release:$recl"
}

@test "objects are named by their variable: handoff_mu in the text and JSON reports" {
	trace nh.ctr "$PROGS/nown_handoff" 3 1000
	assert_success
	run jreport nh.ctr '[.objects[] | select(.kind == "mutex") | .name] | sort | join(",")'
	assert_output "ec_mu,handoff_mu,rec_mu"
	# objects outside every module (the joined threads) have no name
	run jreport nh.ctr '[.objects[] | select(.kind == "join") | .name] | unique | map(tostring) | join(",")'
	assert_output null
	run "$CT" report nh.ctr
	assert_success
	assert_line --regexp '^handoff_mu +mutex +3 '
}

@test "OpenMP: barrier, critical and lock waits against the program's own totals" {
	trace omp.ctr "$PROGS/omp_barrier" 3 10 2000 1000
	assert_success
	threads=$(value threads)
	rounds=$(value rounds)
	[ "$threads" -ge 2 ]
	src=$SRC/tests/progs/omp_barrier.c
	for fam in barrier:omp_barrier:BARRIER-SITE critical:omp_critical:CRITICAL-SITE \
		named:omp_critical:NAMED-SITE lock:omp_lock:LOCK-SITE; do
		IFS=: read -r name kind mark <<<"$fam"
		line=$(marked_line "$src" "$mark")
		got=$(sum omp.ctr ".profile == \"sync\" and .kind == \"$kind\" and .frames[0].line == $line")
		want=$(value "${name}_total_ns")
		assert_within 5 "$got" "$want" "$(value "${name}_rq_ns")"
	done
	# the last arrival of each round released the others: it is no wait
	line=$(marked_line "$src" BARRIER-SITE)
	run jreport omp.ctr "[.profiles[] | select(.profile == \"sync\" and .kind == \"omp_barrier\")
		| .count] | add"
	assert_output "$(((threads - 1) * rounds))"
	run jreport omp.ctr "[.profiles[] | select(.profile == \"wakeup\" and .kind == \"omp_barrier\")
		| .count] | add"
	assert_output "$(((threads - 1) * rounds))"
	# the holder profile charges the barrier waits to the last arrivals, at the barrier
	run jreport omp.ctr "[.profiles[] | select(.profile == \"holder\" and .kind == \"omp_barrier\")
		| .frames[0].line] | unique | join(\",\")"
	assert_output "$line"
	# the named critical section's lock is the program's .gomp_critical_user_stats; the
	# omp_lock_t is the static variable lock
	run jreport omp.ctr '[.objects[] | select(.kind == "omp_critical" or .kind == "omp_lock")
		| .name] | map(tostring) | sort | join(",")'
	assert_output ".gomp_critical_user_stats,lock,omp_unnamed_critical"
	# Debian ships libgomp stripped: the report names the package that has its symbols
	if command -v dpkg-query >/dev/null && dpkg-query -S /usr/lib/x86_64-linux-gnu/libgomp.so.1 \
		>/dev/null 2>&1 && ! dpkg-query -W libgomp1-dbgsym >/dev/null 2>&1; then
		run "$CT" report omp.ctr
		assert_line --regexp "/libgomp\.so\.1: package libgomp1-dbgsym \(or libgomp1-dbg\) would supply /usr/lib/debug/\.build-id/[0-9a-f]{2}/[0-9a-f]+\.debug$"
	fi
}

@test "OpenMP: a program without libgomp does not get it loaded" {
	trace lw.ctr "$PROGS/lockwait" 2 3 500
	assert_success
	run bash -c "'$CT' dump lw.ctr | grep -c 'libgomp'"
	assert_output 0
}

@test "trampolines: __restore_rt below a signal handler, __start_context below makecontext" {
	trace st.ctr "$PROGS/sym_tramp" 3000
	assert_success
	run jreport st.ctr '[.profiles[] | select(.profile == "sleep") | .frames | map(.func)
		| (index(["handler_sleep"]) // index(["context_sleep"])) as $i
		| "\(.[$i]) \(.[$i + 1])"] | sort | join(",")'
	assert_output "context_sleep __start_context,handler_sleep __restore_rt"
	run "$CT" report st.ctr
	assert_line '    __restore_rt (libc.so.6)'
}

@test "stripped binary: frames are module+offset, objects module+offset, both map back" {
	trace s.ctr "$PROGS/nown_handoff.stripped" 5 1000
	assert_success
	top=$(jreport s.ctr '[.profiles[] | select(.profile == "holder" and .kind == "mutex")] | max_by(.count) | .frames[0] | tojson')
	[ "$(jq -r .func <<<"$top")" = "??" ]
	[ "$(jq -r .module <<<"$top")" = "$PROGS/nown_handoff.stripped" ]
	off=$(jq -r .offset <<<"$top")
	# the unstripped copy says which function that is
	run addr2line -f -e "$PROGS/nown_handoff" "$off"
	assert_line --index 0 hand_over
	run "$CT" report s.ctr
	assert_line "    nown_handoff.stripped+$off"
	# the report says once what would supply the missing debugging information
	assert_line --regexp "^  $PROGS/nown_handoff.stripped: /usr/lib/debug/.build-id/[0-9a-f]{2}/[0-9a-f]+\.debug would supply it$"
	[ "$(grep -c 'nown_handoff.stripped: ' <<<"$output")" = 1 ]
	# the hand-off mutex: module+offset, the offset being handoff_mu's address in the ELF
	name=$(jreport s.ctr '[.objects[] | select(.kind == "mutex")] | max_by(.contended) | .name')
	sym=$(nm "$PROGS/nown_handoff" | awk '$3 == "handoff_mu" { print $1 }')
	[ "$name" = "nown_handoff.stripped+0x$(sed 's/^0*//' <<<"$sym")" ]
}
