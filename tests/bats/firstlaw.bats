#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The traced program behaves as it does untraced in the corners: threads with the smallest
# stack (exit, fork + pthread_exit, SIGSEGV), a main-thread stack overflow, four threads
# calling exit() at once, a file-size limit (ulimit -f), a single-threaded program
# (unshare(CLONE_NEWUSER), /proc/self/status), a seccomp filter, errno at main, across
# fork and at a thread's start and end, calls whose results are the kernel's (bad
# pointers, sigaltstack's flags, dup2 onto libctrace's fds), a handler that sets an
# alternate stack, a pid namespace's init, an address-space limit (ulimit -v), mlockall,
# a core dump.
# Each case compares the output, stderr and exit status with the untraced run and reads
# every trace file.

load helpers

setup() { common_setup; }

P=$PROGS/law_stack

# status_of [traced] PROGRAM ARGS...: "exit=N" or "sig=N core=0|1" from waitpid, stdout in
# out.txt, stderr in err.txt; core dumps allowed (into this directory). A run still going
# after 60 s is killed with SIGKILL and gives "hang". Traced, the traces go to
# $TRACE_OUT (default t.%p.ctr).
status_of() {
	local pre=()
	if [ "$1" = traced ]; then
		pre=(env LD_PRELOAD="$LIB" CTRACE_OUT="${TRACE_OUT:-t.%p.ctr}")
		shift
	fi
	ulimit -c unlimited 2>/dev/null || ulimit -c 0
	timeout -k 5 90 perl -e '
		my $pid = fork();
		if ($pid == 0) {
			open(STDOUT, ">", "out.txt"); open(STDERR, ">", "err.txt");
			exec @ARGV or exit 127;
		}
		my $hang = 0;
		$SIG{ALRM} = sub { $hang = 1; kill "KILL", $pid };
		alarm(60);
		waitpid($pid, 0);
		my $st = $?;
		alarm(0);
		if ($hang) { print "hang\n" }
		elsif ($st & 127) { printf "sig=%d core=%d\n", $st & 127, ($st & 128) ? 1 : 0 }
		else { printf "exit=%d\n", $st >> 8 }' "${pre[@]}" "$@"
}

# complete FILE N: readable, not truncated, nothing lost, with N mutex waits.
complete() {
	run --separate-stderr timeout 60 "$CT" report --json "$1"
	assert_success
	jq -e '.trace.truncated == false and .trace.lost_events == 0' <<<"$output" ||
		fail "$1: $(jq -c '.trace | {events, truncated, lost_events}' <<<"$output")"
	run --separate-stderr timeout 60 "$CT" dump "$1"
	assert_success
	assert_equal "$(grep -c 'WAIT_BEGIN kind=mutex' <<<"$output")" "$2"
}

# same PROGRAM ARGS...: status, stdout and stderr traced equal the untraced ones; sets
# $plain (the status).
same() {
	local traced
	plain=$(status_of "$@")
	mv out.txt plain.out
	mv err.txt plain.err
	rm -f core core.*
	traced=$(status_of traced "$@")
	echo "plain: $plain traced: $traced"
	[ -n "$plain" ]
	assert_equal "$traced" "$plain"
	diff plain.out out.txt
	diff plain.err err.txt
}

@test "a PTHREAD_STACK_MIN thread calls exit(3): status 3, the trace complete" {
	same "$P" exit
	assert_equal "$plain" "exit=3"
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 3
}

@test "the fork child of a PTHREAD_STACK_MIN thread ends with pthread_exit as its last thread: status 0" {
	same "$P" fork
	assert_equal "$plain" "exit=0"
	grep -qx 'child exit=0' out.txt
	# the parent's file (3 waits) and the child's (1 wait), both complete
	[ "$(ls t.*.ctr | wc -l)" = 2 ]
	local n=()
	for f in t.*.ctr; do
		run --separate-stderr "$CT" dump "$f"
		n+=("$(grep -c 'WAIT_BEGIN kind=mutex' <<<"$output")")
		complete "$f" "${n[-1]}"
	done
	assert_equal "$(printf '%s\n' "${n[@]}" | sort -n | tr '\n' ' ')" "1 3 "
}

@test "SIGSEGV in a PTHREAD_STACK_MIN thread: same signal and core flag, the waits before it in the trace" {
	same "$P" segv
	[ "${plain%% *}" = "sig=11" ]
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 3
}

@test "main's stack overflows: SIGSEGV with the same core flag, the waits before it in the trace" {
	same "$P" overflow
	[ "${plain%% *}" = "sig=11" ]
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 3
}

@test "the program's sigaltstack is its own: none reported while libctrace's is in place" {
	same "$PROGS/law_solo" altstack
	grep -qx 'altstack none' out.txt
	grep -qx 'altstack own ok' out.txt
	grep -qx 'altstack after disable none' out.txt
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 0
}

@test "a signal handler that uses 256 KiB, takes a nested signal and sets an alternate stack: as untraced, and the stack undone by its return" {
	same "$PROGS/law_solo" handler_stack
	assert_equal "$plain" "exit=0"
	grep -qx 'main: handler near, nested near, sigaltstack in it errno=0 flags=0' out.txt
	grep -qx 'thread: handler near, nested near, sigaltstack in it errno=0 flags=0, after it none' out.txt
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 0
}

@test "four threads call exit() at once: one of their statuses, atexit and destructor order kept, the trace complete in 20 of 20 runs" {
	preload_only # 20 runs of the exit path; their traces are read as the other tests' are
	for i in $(seq 20); do
		rm -f t.*.ctr
		traced=$(status_of traced "$P" exit4)
		case $traced in exit=1[0-3]) ;; *) fail "run $i: status $traced" ;; esac
		assert_equal "$(cat out.txt)" "$(printf 'ready\natexit 2\natexit 1\ndestructor')"
		[ ! -s err.txt ]
		[ "$(ls t.*.ctr | wc -l)" = 1 ]
		complete t.*.ctr 3
	done
}

@test "an atexit handler joins a thread that then calls exit(): no hang, that thread's status 7 as untraced (after the 10 s wait), trace complete" {
	preload_only # libctrace's 10 s bounded wait; the trace is read as the other tests' are
	same "$P" exit_join
	assert_equal "$plain" "exit=7"
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 3
}

@test "a vfork child that calls exit(): statuses 4 and 5, the parent not held up, its trace complete" {
	same "$P" vfork_exit
	assert_equal "$plain" "exit=5"
	grep -qx 'child exit=4' out.txt
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 3
}

@test "the stack libctrace uses on a program thread (its waits, sleeps, start and exit): within the 8 KiB budget" {
	run timeout 60 "$P" depth
	assert_success
	local plain_used traced_used
	plain_used=$(value stack_used)
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$P" depth
	assert_success
	traced_used=$(value stack_used)
	echo "untraced $plain_used traced $traced_used"
	[ "$traced_used" -le $((plain_used + 8192)) ]
	run --separate-stderr "$CT" dump t.*.ctr
	assert_success
	# the thread's sleep and timed wait were recorded with their stacks
	grep -q 'WAIT_BEGIN kind=cond' <<<"$output"
}

S=$PROGS/law_solo

# one_trace N: exactly one trace file, complete, with N SYSCALL events (the sleeps).
one_trace() {
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 0
	run --separate-stderr "$CT" dump t.*.ctr
	assert_equal "$(grep -c 'SYSCALL kind=nanosleep' <<<"$output")" "$1"
}

@test "under ulimit -f 16 (KiB): no SIGXFSZ, the program's status and stderr, the trace stops at the limit and says so" {
	# in subshells: the limit is the program's, not this shell's (bats writes files too)
	plain=$(ulimit -f 16; status_of "$S" sleeps 3000)
	mv out.txt plain.out
	mv err.txt plain.err
	traced=$(ulimit -f 16; status_of traced "$S" sleeps 3000)
	assert_equal "$traced" "$plain"
	diff plain.out out.txt
	diff plain.err err.txt
	assert_equal "$plain" "exit=0"
	grep -qx 'slept=3000' out.txt
	[ ! -s err.txt ]
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	local f
	f=$(ls t.*.ctr)
	[ "$(stat -c %s "$f")" -le $((16 * 1024)) ]
	run --separate-stderr "$CT" report --json "$f"
	assert_success
	jq -e '.trace.fsize_limit == true and .trace.events > 0' <<<"$output"
	run --separate-stderr "$CT" report "$f"
	assert_success
	assert_line --partial "file-size limit (ulimit -f)"
	# the events before the limit are readable: sleeps of the program's sleeps()
	run --separate-stderr "$CT" dump "$f"
	assert_success
	grep -q 'SYSCALL kind=nanosleep' <<<"$output"
}

M=$PROGS/law_mem

@test "libctrace's mappings per thread: none, against vm.max_map_count (guard regions, Linux 6.13)" {
	local k
	k=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
	[ "$k" -ge 6013 ] || skip "Linux $(uname -r): no guard regions, two mappings per thread"
	plain=$(status_of "$M" threads 200)
	mv out.txt plain.out
	traced=$(status_of traced "$M" threads 200)
	assert_equal "$traced" "$plain"
	assert_equal "$plain" "exit=0"
	[ ! -s err.txt ]
	local u t
	u=$(sed -n 's/^threads=200 vmas=//p' plain.out)
	t=$(sed -n 's/^threads=200 vmas=//p' out.txt)
	echo "mappings: untraced $u, traced $t"
	# the tables and libraries: a few dozen, whatever the threads (each alternate stack's
	# guard page made two more per thread with mprotect, each stack cache one: 912)
	[ "$t" -le $((u + 64)) ]
	one_trace 4000
}

@test "a core dump holds the program's memory, not libctrace's tables: about the untraced size" {
	# status_of allows core dumps; where the kernel pipes them elsewhere there is no file
	plain=$(status_of "$M" abort 1)
	local c
	c=$(ls core core.* 2>/dev/null | head -1)
	[ -n "$c" ] || skip "no core file here (core_pattern $(cat /proc/sys/kernel/core_pattern))"
	local size
	size=$(stat -c %s "$c")
	rm -f core core.*
	traced=$(status_of traced "$M" abort 1)
	assert_equal "$traced" "$plain"
	[[ "$plain" == "sig=6 core=1" ]]
	c=$(ls core core.* | head -1)
	echo "core: untraced $size bytes, traced $(stat -c %s "$c") bytes"
	# libctrace's libraries and what it touched of its tables, not its 500 MiB of tables
	[ "$(stat -c %s "$c")" -le $((size + 16 * 1048576)) ]
	one_trace 5
}

# got OUTFILE: the MiB law_mem's alloc mode held.
got() { sed -n 's/^sleeps=5 got=//p' "$1"; }

# alloc_under KIB: law_mem alloc 4000 untraced, then traced, each under ulimit -v KIB, both
# with status 0; the untraced run's output in plain.out and plain.err.
alloc_under() {
	plain=$(ulimit -v "$1"; status_of "$M" alloc 4000)
	mv out.txt plain.out
	mv err.txt plain.err
	traced=$(ulimit -v "$1"; status_of traced "$M" alloc 4000)
	assert_equal "$traced" "$plain"
	assert_equal "$plain" "exit=0"
}

@test "under ulimit -v 1200000 (KiB): the program allocates what it did untraced but about a sixteenth of the limit, its sleeps in the trace; all of it when no trace file can be made" {
	alloc_under 1200000
	diff plain.err err.txt
	echo "untraced $(got plain.out) MiB, traced $(got out.txt) MiB"
	# libctrace's tables take at most 1/16 of the limit (73 MiB), its libraries a few
	# MiB besides (the tables for 4096 threads were 506 MiB: 660 MiB left)
	[ "$(got out.txt)" -ge $(($(got plain.out) - 1200000 / 1024 / 16 - 8)) ]
	one_trace 5
	# no trace file can be made: not traced, and nothing of libctrace's left mapped
	traced=$(ulimit -v 1200000; TRACE_OUT=/nonexistent/t.ctr status_of traced "$M" alloc 4000)
	assert_equal "$traced" "$plain"
	assert_equal "$(cat err.txt)" "libctrace: cannot create /nonexistent/t.ctr; not tracing"
	echo "no trace file: $(got out.txt) MiB"
	[ "$(got out.txt)" -ge $(($(got plain.out) - 8)) ]
}

@test "under ulimit -v 400000 (KiB), too little for libctrace's tables: not traced, said in one line, the program allocates what it did untraced" {
	alloc_under 400000
	[ ! -s plain.err ]
	cat err.txt
	assert_equal "$(wc -l <err.txt)" 1
	grep -qE '^libctrace: not tracing: its tables need [0-9]+ MiB of address space at least, more than a sixteenth of the limit \(ulimit -v or -d: 390 MiB\)$' err.txt
	echo "untraced $(got plain.out) MiB, traced $(got out.txt) MiB"
	[ "$(got out.txt)" -ge $(($(got plain.out) - 4)) ]
	[ -z "$(ls t.*.ctr 2>/dev/null)" ]
}

# kib FILE WHAT FIELD: FIELD (locked or rss, KiB) of law_mem lock's line that begins with WHAT
kib() { sed -n "s/^$2.* $3=\([0-9]*\).*/\1/p" "$1"; }

# near A B TOL: |A - B| <= TOL
near() {
	local d=$(($1 - $2))
	[ "${d#-}" -le "$3" ] || fail "$1 and $2 differ by more than $3"
}

@test "mlockall locks the program's memory and not libctrace's tables: its result, VmLck and VmRSS within a few MiB of untraced, MCL_FUTURE and MCL_ONFAULT as asked, also through syscall()" {
	local f w
	for f in current+future current current+onfault current+future+onfault future raw+current+future; do
		plain=$(status_of "$M" lock "$f")
		mv out.txt plain.out
		traced=$(status_of traced "$M" lock "$f")
		echo "$f: $(tr '\n' ' ' <plain.out) | $(tr '\n' ' ' <out.txt)"
		assert_equal "$traced" "$plain"
		assert_equal "$plain" "exit=0"
		assert_equal "$(head -1 out.txt)" "mlockall=0 errno=4242"
		assert_equal "$(head -1 plain.out)" "mlockall=0 errno=4242"
		# libctrace's libraries and the pages it touched: a few MiB (its tables were
		# 518 MiB locked and resident)
		[ "$(kib out.txt after locked)" -le $(($(kib plain.out after locked) + 8192)) ]
		[ "$(kib out.txt after rss)" -le $(($(kib plain.out after rss) + 16384)) ]
		# the 8 MiB mapped after the call: locked (MCL_FUTURE), faulted in at once or
		# when touched (MCL_ONFAULT), as untraced
		for w in mapped touched; do
			near $(($(kib out.txt $w locked) - $(kib out.txt after locked))) \
				$(($(kib plain.out $w locked) - $(kib plain.out after locked))) 512
			near $(($(kib out.txt $w rss) - $(kib out.txt after rss))) \
				$(($(kib plain.out $w rss) - $(kib plain.out after rss))) 1024
		done
		rm -f t.*.ctr
	done
	# MCL_ONFAULT alone is refused: EINVAL, as untraced
	plain=$(status_of "$M" lock onfault)
	mv out.txt plain.out
	traced=$(status_of traced "$M" lock onfault)
	assert_equal "$traced" "$plain"
	assert_equal "$(head -1 plain.out)" "mlockall=-1 errno=22"
	assert_equal "$(head -1 out.txt)" "mlockall=-1 errno=22"
}

@test "mlockall without CAP_IPC_LOCK under ulimit -l: the untraced result (libctrace's tables are not counted against the limit)" {
	setpriv --bounding-set=-ipc_lock true 2>/dev/null || skip "setpriv cannot drop CAP_IPC_LOCK here"
	local l
	for l in 8192 1024; do
		plain=$(ulimit -l "$l" 2>/dev/null; status_of setpriv --bounding-set=-ipc_lock "$M" lock current+future)
		mv out.txt plain.out
		traced=$(ulimit -l "$l" 2>/dev/null; status_of traced setpriv --bounding-set=-ipc_lock "$M" lock current+future)
		echo "ulimit -l $l ($(ulimit -l)): $(head -1 plain.out) | $(head -1 out.txt)"
		assert_equal "$traced" "$plain"
		assert_equal "$(head -1 out.txt)" "$(head -1 plain.out)"
	done
	# under 1 MiB the program itself does not fit: ENOMEM both ways
	assert_equal "$(head -1 out.txt)" "mlockall=-1 errno=12"
}

@test "a single-threaded program stays single-threaded: Threads: 1, all its sleeps in the trace" {
	same "$S" status 20
	grep -qx 'Threads: 1' out.txt
	one_trace 20
}

@test "unshare(CLONE_NEWUSER) in a single-threaded program: the untraced result" {
	same "$S" unshare 20
	grep -qx 'Threads: 1' out.txt
	one_trace 40
}

@test "unshare(CLONE_NEWUSER) after the program's only other thread ended: the untraced result" {
	same "$S" unshare_mt 20
	grep -qx 'Threads: 1' out.txt
	one_trace 40
	# and through syscall(SYS_unshare, ...)
	rm -f t.*.ctr
	same "$S" unshare_sys 20
	grep -qx 'Threads: 1' out.txt
	one_trace 40
}

@test "setns() into a mount namespace after the program's only other thread ended: the untraced result" {
	same "$S" setns_mt 20
	grep -qx 'Threads: 1' out.txt
	one_trace 40
}

@test "back to one thread: the process is single-threaded again as untraced, and the trace keeps every sleep of each phase" {
	# threads shorter than a writer period: the writer thread ends by itself a period later
	same "$S" phases 20
	[ "$(grep -cx 'Threads: 1' out.txt)" = 3 ]
	one_trace $((3 * 3 * 20))
	# longer ones: the last to end stops it
	rm -f t.*.ctr
	same "$S" phases 1200
	[ "$(grep -cx 'Threads: 1' out.txt)" = 3 ]
	one_trace $((3 * 3 * 1200))
	# threads made and joined one after another keep it until they stop coming
	rm -f t.*.ctr
	same "$S" churn 300
	grep -qx 'Threads: 1' out.txt
	one_trace $((300 + 20))
}

@test "a fork child that is a pid namespace's init: the default-action signals sent to it are discarded, its sleeps not interrupted" {
	same "$S" pid1
	grep -qx 'no pid namespace' out.txt && skip "no pid namespace here (unshare refused)"
	for i in 0 1 2 3; do grep -qx "sleep $i: r=0 errno=0" out.txt; done
	grep -qx 'init alive' out.txt
	grep -qx 'init exit=0' out.txt
}

@test "a single-threaded program's fork child sees one thread; both traces complete" {
	same "$S" fork 20
	grep -qx 'Threads: 1' out.txt
	grep -qx 'child exit=7' out.txt
	[ "$(ls t.*.ctr | wc -l)" = 2 ]
	for f in t.*.ctr; do
		complete "$f" 0
		run --separate-stderr "$CT" dump "$f"
		assert_equal "$(grep -c 'SYSCALL kind=nanosleep' <<<"$output")" 20
	done
}

@test "errno: main starts with the loader's, fork() returns with the caller's in parent and child, also when the child's trace file takes a second name" {
	same "$S" errno 20
	grep -qx 'parent errno=4242' out.txt
	grep -qx 'child errno=4242' out.txt
	grep -qx 'child exit=7' out.txt
	[ "$(ls t.*.ctr | wc -l)" = 2 ]
	rm -f t.*.ctr
	# one name for every process: the child's first try at it fails (EEXIST), and it
	# writes t.1.ctr
	TRACE_OUT=t.ctr same "$S" errno 20
	grep -qx 'child errno=4242' out.txt
	for f in t.ctr t.1.ctr; do
		run --separate-stderr "$CT" dump "$f"
		assert_success
		assert_equal "$(grep -c 'SYSCALL kind=nanosleep' <<<"$output")" 20
	done
}

@test "calls whose results are the kernel's: bad pointers, sigaltstack's flags, dup3's, fexecve's null envp, execve's bad envp, raw rt_sigaction, a thread's errno at its start and at its TLS destructors, dup2 onto libctrace's fds under a low fd limit" {
	same "$S" edges
	grep -qx 'fstatat=-1 errno=14' out.txt
	grep -qx 'statx=-1 errno=14' out.txt
	grep -qx 'now flags=0x80000002' out.txt
	grep -qx 'sigaltstack_bad_old=-1 errno=14' out.txt
	grep -qx 'sigaltstack_bad_mode=-1 errno=22' out.txt
	grep -qx 'dup3_negative_flags=-1 errno=22' out.txt
	grep -qx 'dup3_sys_high_flag=-1 errno=22' out.txt
	grep -qx 'fexecve_null_envp=-1 errno=22' out.txt
	grep -qx 'execve_bad_envp=-1 errno=14' out.txt
	grep -qx 'execve_bad_env_entry=-1 errno=14' out.txt
	# the raw rt_sigaction shows the program's dispositions, not libctrace's handlers
	grep -qx 'raw 15: r=0 handler=default flags=0 mask=0' out.txt
	grep -q "^raw 12: r=0 handler=the program's flags=" out.txt
	grep -qx 'thread start errno=0' out.txt
	grep -qx 'fds until EMFILE: yes' out.txt
	grep -qx 'tls destructor errno=4242' out.txt
	# under a limit of 256 fds libctrace's own sit at 255 and below: the program's dup2
	# onto them moves them away, and its errno stays as it was
	same "$S" dup2
	grep -qx 'dup2_255=255 errno=4242' out.txt
	grep -qx 'dup2_254=254 errno=4242' out.txt
}

@test "kill -9 of a single-threaded program: the trace keeps its sleeps up to about the last second" {
	env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$S" kill9 >out.txt &
	local pid=$! i
	for i in $(seq 600); do
		grep -q 'slept=300' out.txt && break
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" || true
	local said
	said=$(sed -n 's/^slept=//p' out.txt | tail -n1)
	[ "$said" -ge 300 ]
	run --separate-stderr "$CT" dump t.*.ctr
	assert_success
	local got
	got=$(grep -c 'SYSCALL kind=nanosleep' <<<"$output")
	echo "program: $said sleeps when it last said; trace: $got"
	# each second the program says how many it made: at most a second's worth is missing
	[ "$got" -ge $((said - 100)) ]
}

@test "seccomp filter over every thread (TSYNC), then contention and sleeps: same output and status, trace complete" {
	same "$S" seccomp 200
	assert_equal "$plain" "exit=0"
	grep -qx 'count=600' out.txt
	[ "$(ls t.*.ctr | wc -l)" = 1 ]
	complete t.*.ctr 0
	jq -e '.trace.seccomp == true' <<<"$("$CT" report --json t.*.ctr)"
}

@test "seccomp filter over every thread while another thread blocks in a traced call: the call ends under the filter, same output and status, its sleeps before it in the trace" {
	same "$S" seccomp_late
	assert_equal "$plain" "exit=0"
	grep -qx 'slept=28' out.txt
	complete t.*.ctr 0
	jq -e '.trace.seccomp == true' <<<"$("$CT" report --json t.*.ctr)"
	# the thread's 7 sleeps before the filter; its long one ended after the trace did
	run --separate-stderr "$CT" dump t.*.ctr
	assert_success
	local tid
	tid=$(sed -n 's/.* THREAD_NAME tid=\([0-9]*\) name="late".*/\1/p' <<<"$output" | head -n1)
	[ -n "$tid" ]
	assert_equal "$(grep -c "tid=$tid .*SYSCALL kind=nanosleep" <<<"$output")" 7
}

@test "seccomp filter on the only thread (no TSYNC), then sleeps and a one-shot handler: same output and status, the sleeps before it in the trace" {
	same "$S" seccomp1 50
	# the SA_RESETHAND handler ran once, the second SIGUSR1 found SIG_DFL
	assert_equal "$plain" "sig=10 core=0"
	grep -qx 'usr1 handler' out.txt
	grep -qx 'slept=100' out.txt
	one_trace 50
	jq -e '.trace.seccomp == true' <<<"$("$CT" report --json t.*.ctr)"
}

@test "seccomp filter on one thread of several: it and its child stop recording, the others go on" {
	same "$S" seccomp_thread 50
	assert_equal "$plain" "exit=0"
	grep -qx 'slept=150' out.txt
	# main's 50 and the filtering thread's 50 before its filter
	one_trace 100
	jq -e '.trace.seccomp == false' <<<"$("$CT" report --json t.*.ctr)"
	# the filtering thread's recording ends there, counted: one thread, said in the text
	jq -e '.trace.seccomp_threads == 1' <<<"$("$CT" report --json t.*.ctr)"
	"$CT" report t.*.ctr | grep -q '^note: 1 thread stopped recording under a seccomp filter'
}
