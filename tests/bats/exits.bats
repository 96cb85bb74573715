#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Every way a process ends leaves a complete trace, with the exit status (and core dump
# flag) the program has untraced: exit, return from main, _exit, _Exit, exit_group,
# pthread_exit from main (also with a C11 thread), every signal whose default action ends
# the process (faults, kill(), an expired timer, SIGPIPE from `| head -1`), the program's
# own handlers (SA_RESETHAND too); after kill -9, the trace up to about the last flush,
# reported as truncated. The waits are deterministic (proc_exit.c): counts are exact.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
bats_require_minimum_version 1.5.0

: "${CTRACE_BUILD:?set CTRACE_BUILD to the build directory}"
CT=${CTRACE_CLI:-$CTRACE_BUILD/ctrace}
LIB=$CTRACE_BUILD/libctrace.so
P=$CTRACE_BUILD/progs/proc_exit

setup() { cd "$BATS_TEST_TMPDIR" || return 1; }

# status_of [traced] MODE: "exit=N" or "sig=N core=0|1" from waitpid, core dumps allowed
# (into this directory). A run still going after $TMO seconds (60) is killed with SIGKILL
# (by its pid: a hung process may block every other signal) and gives "hang".
status_of() {
	local pre=()
	if [ "$1" = traced ]; then
		pre=(env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr)
		shift
	fi
	ulimit -c unlimited 2>/dev/null || ulimit -c 0
	timeout -k 5 $((${TMO:-60} + 30)) perl -e '
		my $pid = fork();
		if ($pid == 0) { open(STDOUT, ">", "out.txt"); exec @ARGV or exit 127; }
		my $hang = 0;
		$SIG{ALRM} = sub { $hang = 1; kill "KILL", $pid };
		alarm($ENV{TMO} || 60);
		waitpid($pid, 0);
		my $st = $?;
		alarm(0);
		if ($hang) { print "hang\n" }
		elsif ($st & 127) { printf "sig=%d core=%d\n", $st & 127, ($st & 128) ? 1 : 0 }
		else { printf "exit=%d\n", $st >> 8 }' "${pre[@]}" "$P" "$@"
}

# complete FILE [N]: readable, not truncated, nothing lost, with the N (3) waits on work_mu
# and the wait of the thread that never ends.
complete() {
	run --separate-stderr timeout 60 "$CT" report --json "$1"
	assert_success
	jq -e '.trace.truncated == false and .trace.lost_events == 0' <<<"$output" ||
		fail "$1: $(jq -c '.trace | {events, truncated, lost_events}' <<<"$output")"
	run --separate-stderr timeout 60 "$CT" dump "$1"
	assert_success
	assert_equal "$(grep -c 'WAIT_BEGIN kind=mutex' <<<"$output")" "${2:-3}"
	assert_equal "$(grep -c 'WAIT_BEGIN kind=cond' <<<"$output")" 1
}

# same MODE [N]: the traced status equals the untraced one; the one trace file is complete
# with N mutex waits.
same() {
	local plain traced
	plain=$(status_of "$1")
	rm -f core core.*
	traced=$(status_of traced "$1")
	echo "plain: $plain traced: $traced"
	[ -n "$plain" ]
	assert_equal "$traced" "$plain"
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr "${2:-3}"
}

@test "exit(3)" { same exit; }
@test "return 4 from main" { same return; }
@test "_exit(5)" { same _exit; }
@test "_Exit(6)" { same _Exit; }
@test "syscall(SYS_exit_group, 9)" { same exit_group; }

@test "pthread_exit from main: the process ends when its last thread does, status 0" {
	# the last worker's wait is there too: 4
	same pthread_exit 4
	[ "$(status_of pthread_exit)" = "exit=0" ]
}

@test "pthread_exit from main with a C11 thrd_create'd thread still running: status 0, no hang" {
	[ "$(status_of thrd_exit)" = "exit=0" ]
	# bounded: a hang is killed after 60 s ("hang"), as every run here (a run that ends
	# in well under a second idle can take seconds on a loaded machine)
	traced=$(status_of traced thrd_exit)
	assert_equal "$traced" "exit=0"
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 4
}

@test "SIGSEGV (null write): same signal and core flag, trace complete" { same segv; }
@test "SIGBUS (beyond the end of a file mapping)" { same bus; }
@test "SIGABRT (abort)" { same abrt; }
@test "SIGFPE (division by zero)" { same fpe; }
@test "SIGILL (ud2)" { same ill; }
@test "SIGTERM with the default disposition" { same term; }
@test "SIGINT with the default disposition" { same int; }
@test "SIGHUP with the default disposition" { same hup; }
@test "SIGQUIT with the default disposition (core)" { same quit; }

# Every other signal whose default action ends the process (signal(7)).
@test "SIGALRM with the default disposition" { same alrm; }
@test "SIGUSR1 with the default disposition" { same usr1; }
@test "SIGUSR2 with the default disposition" { same usr2; }
@test "SIGPIPE (kill) with the default disposition" { same pipe; }
@test "SIGPROF with the default disposition" { same prof; }
@test "SIGVTALRM with the default disposition" { same vtalrm; }
@test "SIGXCPU with the default disposition (core)" { same xcpu; }
@test "SIGXFSZ with the default disposition (core)" { same xfsz; }
@test "SIGSYS with the default disposition (core)" { same sys; }
@test "SIGTRAP with the default disposition (core)" { same trap; }
@test "SIGSTKFLT with the default disposition" { same stkflt; }
@test "SIGPWR with the default disposition" { same pwr; }
@test "SIGIO with the default disposition" { same io; }
@test "SIGRTMIN and SIGRTMAX with the default disposition" {
	same rtmin
	rm -f t.*.ctr
	same rtmax
}

@test "an expired setitimer(ITIMER_REAL) with SIGALRM at its default (alarm()): SIGALRM" {
	same itimer
	[ "$(status_of itimer)" = "sig=14 core=0" ]
}

@test "SIGPIPE from '| head -1': the same first line and status 141, trace complete" {
	# SIGPIPE at its default in the program even if this shell was started ignoring it
	pipeline() {
		timeout -k 5 60 bash -c '"$@" | head -n1; echo "status=${PIPESTATUS[0]}"' _ \
			env --default-signal=PIPE "$@"
	}
	plain=$(pipeline "$P" lines)
	[ "$plain" = "$(printf 'ready\nstatus=141')" ]
	run pipeline env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$P" lines
	assert_output "$plain"
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr
}

@test "a SIGSEGV handler with SA_RESETHAND that returns: it runs once, then SIGSEGV with a core" {
	same resethand
	[ "$(status_of resethand)" = "sig=11 core=1" ] || [ "$(ulimit -c)" = 0 ]
	grep -qx 'handler ran sig=11' out.txt
	[ "$(grep -c 'handler ran' out.txt)" = 1 ]
}

@test "a SIGSEGV core shows the faulting line, with the fault's siginfo" {
	command -v gdb >/dev/null || skip "no gdb"
	ulimit -c unlimited 2>/dev/null || skip "core dumps not allowed"
	[ "$(cat /proc/sys/kernel/core_pattern)" = core ] || skip "core_pattern is not 'core'"
	status_of traced segv
	[ -f core ] || skip "no core written"
	run gdb -batch -ex 'bt 1' -ex 'p $_siginfo.si_code' "$P" core
	assert_output --partial "proc_exit.c"
	assert_output --partial "in main"
	assert_line '$1 = 1'
}

@test "the program's own SIGTERM handler runs; SIG_DFL set back later still flushes" {
	same handler
	grep -qx 'handler ran sig=15' out.txt
}

@test "sigaction(SIG, NULL, &old) and signal() report SIG_DFL with the program's flags" {
	run timeout 60 "$P" query
	assert_success
	plain=$output
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$P" query
	assert_success
	assert_equal "$output" "$plain"
	assert_line --partial "start term=dfl"
	refute_line --partial "did not return SIG_DFL"
}

# ran_ns: the last "ran_ns=N" of proc_exit forever in out.txt (0 before the first).
ran_ns() {
	sed -n 's/^ran_ns=\([0-9]*\)$/\1/p' out.txt | tail -n1 | grep . || echo 0
}

@test "a cancellation left pending (pthread_cancel of itself) never acts inside libctrace: the same join value, statuses, exec and fork as untraced" {
	# libctrace's own I/O at a thread's or the process's end (the flush at exit, _exit,
	# exec and fork, the thread's scheduler counters read at its exit, the flush a long
	# raw futex wait makes) goes through libc calls that are cancellation points
	P=$CTRACE_BUILD/progs/proc_cancel
	local m plain traced
	for m in ret exit exit2 _exit exec fork futex; do
		rm -f t.*.ctr
		plain="$(TMO=20 status_of "$m") $(cat out.txt)"
		traced="$(TMO=20 status_of traced "$m") $(cat out.txt)"
		echo "$m: plain: $plain traced: $traced"
		assert_equal "$traced" "$plain"
		# the trace of the process that ended (exec: the image that called it) is whole
		for f in t.*.ctr; do
			run --separate-stderr timeout 60 "$CT" report --json "$f"
			assert_success
			jq -e '.trace.truncated == false and .trace.lost_events == 0' <<<"$output"
		done
	done
	# and the values are the ones the program asked for
	[ "$(TMO=20 status_of ret) $(cat out.txt)" = "exit=0 join=42" ]
	[ "$(TMO=20 status_of fork)" = "exit=5" ]
	[ "$(TMO=20 status_of futex)" = "exit=7" ]
}

@test "kill -9: the trace up to about the last flush, reported as truncated" {
	timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$P" forever >out.txt &
	pid=$!
	# killed once the program has run 2 s by its own clock (however slowly it started)
	for _ in $(seq 1000); do [ "$(ran_ns)" -ge 2000000000 ] && break; sleep 0.05; done
	[ "$(ran_ns)" -ge 2000000000 ] || fail "proc_exit forever did not run 2 s: $(tail -n1 out.txt)"
	f=$(ls t.*.ctr)
	victim=${f#t.}
	victim=${victim%.ctr}
	kill -9 "$victim"
	wait "$pid" || true
	ran=$(ran_ns)
	json=$("$CT" report --json "$f" 2>/dev/null)
	jq -e '.trace.truncated == true and .trace.events > 0' <<<"$json"
	# at most about one second missing: the trace (which starts before main) holds the
	# events up to 1 s before the end of the program's last wait before the kill
	got=$(jq .trace.duration_ns <<<"$json")
	echo "program ran $ran ns, the trace holds $got ns"
	[ "$got" -gt $((ran - 1000000000)) ]
	run "$CT" report "$f"
	assert_success
	assert_output --partial "truncated"
}
