#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Signal handlers and reentrancy (preload/README.md, record path rule 5): handlers that
# interrupt libctrace's wrappers while they wait and call wrapped functions themselves
# (write, read, sem_post, nanosleep, pthread_mutex_lock on another mutex), and a storm of
# SIGALRM and SIGPROF every millisecond while four threads contend on two mutexes and
# another dlopens and dlcloses in a loop; one-shot (SA_RESETHAND) handlers hit by two
# threads at once; a cgo Go program's runtime. The program's results are those of the
# untraced run, nothing hangs, and the trace has the waits the program made
# (tests/progs/proc_signals.c, cgo_signals.go).

load helpers

setup() { common_setup; }

# count JSON PROFILE KIND FUNC: the summed count of the report's entries of PROFILE/KIND
# whose first frame (the caller of the interposed function) is FUNC.
count() {
	jq -r --arg p "$2" --arg k "$3" --arg f "$4" \
		'[.profiles[] | select(.profile == $p and .kind == $k and .frames[0].func == $f) |
		 .count] | add // 0' <<<"$1"
}

# report_of FILE: `ctrace report --json FILE` (bounded), complete and with nothing lost.
report_of() {
	local json
	json=$(timeout 60 "$CT" report --json "$1") || fail "ctrace report $1 failed"
	jq -e '.trace.truncated == false and .trace.lost_events == 0' <<<"$json" >/dev/null ||
		fail "$1: $(jq -c '.trace | {events, truncated, lost_events, lost}' <<<"$json")"
	printf '%s\n' "$json"
}

@test "SA_RESETHAND: of two signals delivered at once to two threads, the second meets SIG_DFL and ends the process, in 200 of 200 children" {
	run timeout 120 "$PROGS/proc_signals" resethand 200
	assert_success
	assert_output "killed=200 twice=0 survived=0"
	# each child's trace is written by libctrace's fatal handler (the second signal)
	run --separate-stderr timeout 120 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr \
		"$PROGS/proc_signals" resethand 200
	assert_success
	assert_output "killed=200 twice=0 survived=0"
	assert_equal "$stderr" ""
}

@test "a cgo Go program: its runtime's signal handling (SIGCHLD, SIGURG preemption, signal.Notify) and its C waits, as untraced" {
	command -v go >/dev/null || skip "go not installed (tests/deps.sh installs it)"
	mkdir gocgo
	cp "$SRC/tests/progs/cgo_signals.go" gocgo/
	printf 'module cgosignals\n\ngo 1.19\n' >gocgo/go.mod
	(cd gocgo && env GOCACHE="$PWD/cache" GOPATH="$PWD/gopath" GOFLAGS=-mod=mod CGO_ENABLED=1 \
		timeout 300 go build -o cgo_signals .) || fail "go build failed"
	run timeout 60 gocgo/cgo_signals
	assert_success
	assert_output "$(printf 'exec=5\nusr1=1\nc_waits=1\nok')"
	plain=$output
	for i in 1 2 3; do
		run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr \
			gocgo/cgo_signals
		assert_success
		assert_equal "$output" "$plain"
		assert_equal "$stderr" ""
	done
	# Go ends with its own exit_group, no libc exit: each trace ends as after kill -9,
	# readable up to its last writer period
	for f in t.*.ctr; do
		run timeout 60 "$CT" report --json "$f"
		assert_success
	done
}

@test "signal, bsd_signal, sysv_signal and sigset keep glibc's semantics under libctrace (flags, mask, one-shot, restart)" {
	run timeout 60 "$PROGS/proc_signals" dispositions
	assert_success
	# glibc's own answers, untraced: BSD semantics for signal and bsd_signal, System V's
	# for sysv_signal, sigset's (blocked during the handler, no restart)
	assert_line --index 0 "signal prev=default flags=RESTART, masked=1 in_handler_blocked=1 runs=1 after=handler read=1"
	assert_line --index 1 "bsd_signal prev=default flags=RESTART, masked=1 in_handler_blocked=1 runs=1 after=handler read=1"
	assert_line --index 2 "sysv_signal prev=default flags=RESETHAND,NODEFER, masked=0 in_handler_blocked=0 runs=1 after=default read=-1 EINTR"
	assert_line --index 3 "sigset prev=default flags= masked=0 in_handler_blocked=1 runs=1 after=handler read=-1 EINTR"
	plain=$output
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$PROGS/proc_signals" dispositions
	assert_success
	assert_equal "$output" "$plain"
	assert_equal "$stderr" ""
	# the reads the signal interrupted are in the trace, at the program's read
	json=$(report_of t.*.ctr)
	assert_equal "$(count "$json" syscall read dispositions)" 4
}

@test "handlers that call write, read, sem_post, nanosleep and lock a mutex while main waits in lock, read, sem_wait and nanosleep: same results, exact waits" {
	R=200
	run timeout 60 "$PROGS/proc_signals" reenter $R
	assert_success
	plain=${lines[1]}
	assert_equal "$plain" "rounds=$R handled=$R bytes=$R read=$R posted=$R counter=$R sem_eintr=0 sleep_eintr=$((R / 4)) errno_kept=$((R * 3 / 4))"
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$PROGS/proc_signals" reenter $R
	assert_success
	assert_equal "${lines[1]}" "$plain"
	assert_equal "$stderr" ""
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	json=$(report_of t.*.ctr)
	# main's own waits, one per round of each kind, each interrupted by the handler
	assert_equal "$(count "$json" sync mutex reenter)" $((R / 4))
	assert_equal "$(count "$json" sync sem reenter)" $((R / 4))
	assert_equal "$(count "$json" sleep nanosleep reenter)" $((R / 4))
	# main's reads: the R/4 that blocked and the two that emptied the handler's pipe
	assert_equal "$(count "$json" syscall read reenter)" $((R / 4 + 2))
	# what the handler did, charged to the handler: every call counted
	assert_equal "$(count "$json" syscall write on_usr1)" $R
	assert_equal "$(count "$json" syscall read on_usr1)" $R
	assert_equal "$(count "$json" sleep nanosleep on_usr1)" $R
	# its lock of mu_h blocks when the contender holds it: some of the R, never more
	hw=$(count "$json" sync mutex on_usr1)
	[ "$hw" -gt 0 ] && [ "$hw" -le $R ]
	# the waits are on the program's objects: mu_a and s_main from the first line
	mu_a=$(sed -n 's/^mu_a=\(0x[0-9a-f]*\) .*/\1/p' <<<"${lines[0]}")
	s_main=$(sed -n 's/.* s_main=\(0x[0-9a-f]*\) .*/\1/p' <<<"${lines[0]}")
	run timeout 60 "$CT" dump t.*.ctr
	assert_success
	assert_equal "$(grep -c "WAIT_BEGIN kind=mutex obj=$mu_a " <<<"$output")" $((R / 4))
	assert_equal "$(grep -c "WAIT_BEGIN kind=sem obj=$s_main " <<<"$output")" $((R / 4))
}

# storm_ok OUTPUT_FILE TRACE: the storm's results and its trace.
storm_ok() {
	local json
	assert_equal "$(sed -n 2p "$1")" "counter=1200000 dlopens=2000 alarms_match=1 det_waits=20"
	json=$(report_of "$2")
	mu_d=$(sed -n 's/.* mu_d=\(0x[0-9a-f]*\).*/\1/p' "$1")
	contended=$(sed -n 's/^contended=\([0-9]*\) .*/\1/p' "$1")
	ticks=$(sed -n 's/.* ticks=\([0-9]*\) .*/\1/p' "$1")
	profs=$(sed -n 's/.* profs=\([0-9]*\)$/\1/p' "$1")
	[ -n "$mu_d" ] && [ -n "$contended" ] && [ -n "$ticks" ] && [ -n "$profs" ]
	# the 20 deterministic waits on mu_d, exactly
	assert_equal "$(count "$json" sync mutex det_blocker)" 20
	assert_equal "$(timeout 60 "$CT" dump "$2" | grep -c "WAIT_BEGIN kind=mutex obj=$mu_d ")" 20
	# the workers' waits: there were some, and no more than the program's trylock found
	# busy (a lock released in between does not block the tracer's own trylock)
	w=$(count "$json" sync mutex lock_counted)
	echo "worker waits $w, program saw $contended busy"
	[ "$w" -gt 0 ] && [ "$w" -le "$contended" ]
	# the ticker waits for the SIGALRM handler's posts: at most one wait per post (+ stop)
	s=$(count "$json" sync sem ticker)
	[ "$s" -gt 0 ] && [ "$s" -le $((ticks + 1)) ]
	# the handlers' own calls, from the handlers: some, never more than they made
	a=$(count "$json" syscall write on_alrm)
	[ "$a" -gt 0 ] && [ "$a" -le "$ticks" ]
	p=$(jq '[.profiles[] | select(.profile == "sleep" and .frames[0].func == "on_prof") | .count] | add // 0' <<<"$json")
	[ "$p" -le "$profs" ]
}

@test "SIGALRM and SIGPROF every 1 ms, 4 threads contending, dlopen/dlclose in a loop: no deadlock, same results, the waits in the trace" {
	run timeout 60 "$PROGS/proc_signals" storm
	assert_success
	assert_line --index 1 "counter=1200000 dlopens=2000 alarms_match=1 det_waits=20"
	# three traced runs (a hang would be caught by the timeout), one with the writer
	# flushing every 10 ms and closing a generation every 100 ms
	# (not $i: bats' run --separate-stderr changes it)
	for k in 1 2 3; do
		env=(env LD_PRELOAD="$LIB" CTRACE_OUT="s$k.%p.ctr")
		[ $k = 3 ] && env+=(CTRACE_FLUSH_MS=10 CTRACE_GENERATION_MS=100)
		run --separate-stderr timeout 60 "${env[@]}" "$PROGS/proc_signals" storm
		assert_success
		assert_equal "$stderr" ""
		printf '%s\n' "$output" >"out.$k"
		[ "$(ls s$k.*.ctr | wc -l)" = 1 ]
		storm_ok "out.$k" s$k.*.ctr
	done
}
