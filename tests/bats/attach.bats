#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# `ctrace attach` / `ctrace detach`: programs started without the tracer are attached,
# traced and detached, and end with the output and status of an unattached run. The
# programs wait for the test through files in their directory (tests/progs/att_*.c):
# ready (they run, the test may attach), go, waited, end. Every background program is
# bounded by timeout and killed at teardown.

load helpers

setup() {
	common_setup
	BG=()
}

teardown() {
	[ -n "${NB:-}" ] && rm -rf "$NB"
	bg_kill
}

# finish: waits for the program last started; its status in $STATUS.
finish() {
	STATUS=0
	wait "$TPID" || STATUS=$?
}

# attach_bg PID FILE: `ctrace attach PID -o FILE` in the background (stderr attach.log),
# returns once it is tracing; its pid in $APID.
attach_bg() {
	local i
	timeout 60 "$CT" attach "$1" -o "$2" 2>attach.log &
	APID=$!
	BG+=("$APID")
	for i in $(seq 1 600); do
		grep -q 'tracing into' attach.log && break
		grep -q 'ctrace: attach:' attach.log && break
		sleep 0.05
	done
	grep -q "attached to process $1" attach.log || fail "$(cat attach.log)"
}

# header_flags FILE: the header's flags as ctrace dump prints them.
header_flags() {
	"$CT" dump "$1" | head -n1 | sed -n 's/.*flags=\(0x[0-9a-f]*\).*/\1/p'
}

# entry FILE PROFILE KIND FUNC: "count total_ns line" of the report entry whose innermost
# frame is FUNC.
entry() {
	jreport "$1" "[.profiles[] | select(.profile == \"$2\" and .kind == \"$3\" and
		.frames[0].func == \"$4\")] | first | \"\\(.count) \\(.total_ns) \\(.frames[0].line)\""
}

# one_line_refusal TEXT: the last run exited 2 with one line containing TEXT.
# loop_untraced [ARG]: att_loop run untraced for half a second in plain/; its books, which
# every traced or attached run must equal, in $PLAIN_OUT (next_fd: the number its next
# open gets, the same after any attach).
loop_untraced() {
	mkdir plain
	bg_start plain "$PROGS/att_loop" plain "$@"
	await plain/ready
	sleep 0.5
	touch plain/end
	finish
	[ "$STATUS" = 5 ]
	PLAIN_OUT=$(cat plain.out)
	[[ "$PLAIN_OUT" =~ ^"mutex_ok=1 cond_ok=1 sem_ok=1 epoll_ok=1 eintr=0 errno_lost=0 next_fd="[0-9]+$ ]]
}

one_line_refusal() {
	[ "$status" = 2 ] || fail "status $status: $output"
	[ "${#lines[@]}" = 1 ] || fail "more than one line: $output"
	assert_output --partial "$1"
}

@test "attach: the waits of a running program at their functions and lines; output and status unchanged" {
	mkdir plain att
	bg_start plain "$PROGS/att_waits" plain 5
	await plain/ready
	touch plain/go
	await plain/waited
	touch plain/end
	finish
	[ "$STATUS" = 3 ]
	local plain_out
	plain_out=$(cat plain.out)
	[ "$plain_out" = "rounds=5 mutex=5 cond=5 sem=5 epoll=5 eintr=0" ]

	bg_start att "$PROGS/att_waits" att 5
	await att/ready
	attach_bg "$PID" t.ctr
	touch att/go
	await att/waited
	run timeout 60 "$CT" detach "$PID"
	assert_success
	assert_output --regexp "^ctrace: detached from process $PID through thread [0-9]+: [0-9]+ threads, stopped one at a time \([0-9]+ stops, the longest [0-9.]+ ms\), stopping the trace took [0-9.]+ ms"
	wait "$APID"
	grep -q "process $PID was detached; trace in $PWD/t.ctr" attach.log
	touch att/end
	finish
	[ "$STATUS" = 3 ]
	[ "$(cat att.out)" = "$plain_out" ]

	[ "$(header_flags t.ctr)" = 0x8 ]
	[ "$(jreport t.ctr .trace.attached)" = true ]
	run "$CT" check t.ctr
	assert_success
	# each kind: the program's own count and total, at the marked line of its function
	# (the waits in progress at the attach are not in the trace, nor in the counts)
	local k prof count total line
	for k in mutex cond sem epoll; do
		prof=sync
		[ $k = epoll ] && prof=net
		read -r count total line <<<"$(entry t.ctr $prof $k ${k}_waiter)"
		output=$(cat att.err)
		[ "$count" = "$(value ${k}_waits)" ] ||
			fail "$k: $count waits in the trace; the program: $output"
		[ "$line" = "$(marked_line "$SRC/tests/progs/att_waits.c" "att $k")" ] ||
			fail "$k: line $line"
		assert_within 25 "$total" "$(value ${k}_ns)"
	done
}

@test "attach: a single-threaded program, --duration, and the process ending while attached" {
	mkdir d
	bg_start d "$PROGS/att_dlfork" d "$PROGS/att_mod.so"
	await d/ready
	run timeout 60 "$CT" attach "$PID" --duration 300ms -o one.ctr
	assert_success
	assert_line --regexp "^ctrace: attached to process $PID .*: 1 threads, stopped one at a time \([0-9]+ stops, the longest [0-9.]+ ms\)"
	assert_line "ctrace: trace in $PWD/one.ctr"
	# attached until the process ends: the library's destructor closes the trace
	attach_bg "$PID" two.ctr
	sleep 0.3
	touch d/end
	finish
	[ "$STATUS" = 4 ]
	wait "$APID"
	grep -q "process $PID ended; trace in $PWD/two.ctr" attach.log
	local f
	for f in one.ctr two.ctr; do
		run "$CT" check "$f"
		assert_success
		[ "$(jreport "$f" '.trace.events')" -gt 0 ]
	done
}

@test "attach: attach and detach 20 times on one process; never stuck, results unchanged" {
	local i
	loop_untraced
	mkdir loop
	bg_start loop "$PROGS/att_loop" loop
	await loop/ready
	for i in $(seq 1 20); do
		run timeout 60 "$CT" attach "$PID" --duration 100ms -o "t$i.ctr"
		assert_success
		# 8 threads and main; the writer thread while attached, gone after the detach
		assert_line --regexp "^ctrace: attached to process $PID .*: 9 threads, stopped one at a time \([0-9]+ stops, the longest [0-9.]+ ms\)"
		assert_line --regexp "^ctrace: detached from process $PID through thread [0-9]+: 10 threads, stopped one at a time \([0-9]+ stops, the longest [0-9.]+ ms\)"
	done
	touch loop/end
	finish
	[ "$STATUS" = 5 ]
	assert_equal "$(cat loop.out)" "$PLAIN_OUT"
	for i in $(seq 1 20); do
		[ "$(header_flags "t$i.ctr")" = 0x8 ]
		run "$CT" check "t$i.ctr"
		assert_success
		# every attach traced the contenders' lock calls
		[ "$(jreport "t$i.ctr" '[.profiles[] | select(.profile == "sync" and
			.frames[0].func == "contender")] | length')" -gt 0 ]
		# and only its own calls: the feeder writes at most once a millisecond (a 1 ms
		# sleep between writes), so no more writes than the trace lasted in ms (plus
		# one at each end); no event before the attach
		jreport "t$i.ctr" '([.profiles[] | select(.kind == "write" and
			.frames[0].func == "feeder") | .count] | add // 0) <=
			(.trace.duration_ns / 1000000 | floor) + 2' | grep -qx true ||
			fail "t$i.ctr: more feeder writes than milliseconds: $(jreport "t$i.ctr" \
				'[.trace.duration_ns, [.profiles[] | select(.kind == "write") | .count]]')"
		! "$CT" dump "t$i.ctr" | grep -q ' ts=-'
	done
}

@test "attach: a process that makes threads all the time, attached 8 times: no slot or buffer lost, no thread called untraced" {
	mkdir c
	# 64 slots: the threads that run across each attach (adopted at their first event,
	# ending without libctrace's exit hook) filled them within a few sessions when
	# their slots were never freed
	bg_start c env CTRACE_MAX_THREADS=64 "$PROGS/att_churn" c
	await c/ready
	local i
	for i in $(seq 1 8); do
		run timeout 60 "$CT" attach "$PID" --duration 150ms -o "t$i.ctr"
		assert_success
		[ "$(jreport "t$i.ctr" '[.trace.lost.no_thread_slot, .trace.lost.no_buffer,
			.trace.untraced_threads] | @tsv')" = "0	0	0" ] ||
			fail "t$i.ctr: $(jreport "t$i.ctr" '.trace | [.lost, .untraced_threads]')"
		# the sleepers' waits, every thread with its name (the adopted ones too)
		[ "$(jreport "t$i.ctr" '[.profiles[] | select(.kind == "nanosleep" and
			.frames[0].func == "sleeper")] | length')" -gt 0 ]
		[ "$(jreport "t$i.ctr" '[.threads[] | select(.name != "att_churn")] | length')" = 0 ] ||
			fail "t$i.ctr: $(jreport "t$i.ctr" '[.threads[] | select(.name != "att_churn")]')"
		# no event of an earlier session (a thread's end racing the detach)
		! "$CT" dump "t$i.ctr" | grep ' ts=-' || fail "t$i.ctr: an event before the attach"
	done
	touch c/end
	finish
	[ "$STATUS" = 9 ]
	assert_equal "$(cat c.out)" "waves_ok=1 bad=0"
}

@test "attach: threads that ran before the attach and ended during it give their slots back within the session" {
	mkdir u
	# 16 slots: main and the 15 early threads, adopted at their first sleep after the
	# attach, fill the table; when they end (no exit hook), only the writer's look at
	# each generation's end (tgkill) frees their slots for the threads made after them
	bg_start u env CTRACE_MAX_THREADS=16 CTRACE_GENERATION_MS=100 "$PROGS/att_turnover" u
	await u/ready
	attach_bg "$PID" t.ctr
	touch u/go
	await u/last
	run timeout 60 "$CT" detach "$PID"
	assert_success
	wait "$APID"
	touch u/end
	finish
	[ "$STATUS" = 10 ]
	assert_equal "$(cat u.out)" "made_200=1 bad=0"
	# the 200th thread made after the early ones ended was traced from its start
	local last
	last=$(cat u/last)
	"$CT" dump t.ctr | grep -q " tid=$last ts=[^ ]* THREAD_START " ||
		fail "thread $last has no THREAD_START: $(jreport t.ctr '.trace | [.lost, .untraced_threads]')"
	[ "$(jreport t.ctr '[.threads[] | select(.tid == '"$last"')] | length')" -ge 1 ]
}

@test "attach: threads that live in malloc and in the dynamic loader; the attach waits for a safe point" {
	mkdir b
	bg_start b "$PROGS/att_busy" b "$PROGS/att_mod.so"
	await b/ready
	local i
	for i in $(seq 1 10); do
		run timeout 60 "$CT" attach "$PID" --duration 50ms -o "t$i.ctr"
		assert_success
		assert_line --regexp "^ctrace: attached to process $PID .*: 4 threads, stopped one at a time \([0-9]+ stops, the longest [0-9.]+ ms\)"
	done
	touch b/end
	finish
	[ "$STATUS" = 6 ]
	[ "$(cat b.out)" = "bad=0" ]
	for i in $(seq 1 10); do
		run "$CT" check "t$i.ctr"
		assert_success
	done
}

@test "attach: a thread in its exit path is never the one that calls; a thread inside its own routine is" {
	mkdir e
	bg_start e "$PROGS/att_ending" e
	await e/ready
	local a b t i
	read -r a b <e/ready
	# both blocked in their reads: A in its destructor, in its exit path; B in its routine
	for t in "$a" "$b"; do
		for i in $(seq 1 600); do
			[ "$(cut -d' ' -f3 "/proc/$PID/task/$t/stat")" = S ] && break
			sleep 0.05
		done
	done
	# main joins A (denied) and A comes before B in the task list: B makes both calls
	run timeout 60 "$CT" attach "$PID" --duration 100ms -o t.ctr
	assert_success
	assert_line --regexp "^ctrace: attached to process $PID \(.*\) through thread $b: 3 threads, "
	assert_line --regexp "^ctrace: detached from process $PID through thread $b: [0-9]+ threads, "
	echo >e/a
	echo >e/b
	finish
	[ "$STATUS" = 8 ]
	assert_equal "$(cat e.out)" "a=1 b=1"
	run "$CT" check t.ctr
	assert_success
}

@test "attach: modules loaded and unloaded, and children forked, while attached" {
	mkdir plain d
	bg_start plain "$PROGS/att_dlfork" plain "$PROGS/att_mod.so"
	await plain/ready
	sleep 0.3
	touch plain/end
	finish
	[ "$STATUS" = 4 ]
	local plain_out
	plain_out=$(cat plain.out)
	[ "$plain_out" = "dl_ok=1 fork_ok=1 bad=0" ]

	bg_start d "$PROGS/att_dlfork" d "$PROGS/att_mod.so"
	await d/ready
	run timeout 60 "$CT" attach "$PID" --duration 1s -o t.ctr
	assert_success
	sleep 0.2
	touch d/end
	finish
	[ "$STATUS" = 4 ]
	[ "$(cat d.out)" = "$plain_out" ]
	run "$CT" check t.ctr
	assert_success
	# the module's sleeps, through its own GOT entries, redirected after its dlopen
	local count total line
	read -r count total line <<<"$(entry t.ctr sleep nanosleep att_mod_wait)"
	[ "$count" -gt 0 ]
	[ "$line" = "$(marked_line "$SRC/tests/progs/att_mod.c" "module sleep")" ]
	# the children forked while attached wrote traces of their own
	local children=0 f
	for f in t.*.ctr; do
		[ -e "$f" ] || continue
		[ "$(jreport "$f" .trace.pid)" != "$PID" ]
		run "$CT" check "$f"
		assert_success
		children=$((children + 1))
	done
	[ "$children" -gt 0 ]
}

@test "attach: refusals say what is missing, exit 2, one line" {
	# no such process: one that has just ended
	sleep 0 &
	local gone=$!
	wait "$gone"
	run timeout 60 "$CT" attach "$gone"
	one_line_refusal "ctrace: attach: no process $gone"
	run timeout 60 "$CT" detach "$gone"
	one_line_refusal "ctrace: detach: no process $gone"

	# a static binary
	mkdir st
	bg_start st "$PROGS/att_static"
	run timeout 60 "$CT" attach "$PID"
	one_line_refusal "is statically linked: there is no dynamic loader to load libctrace.so with"

	# Yama: this kernel may have no Yama and the test may not change it; ctrace reads
	# ptrace_scope from the file CTRACE_ATTACH_YAMA_FILE names instead (scope 3 refuses
	# even root)
	mkdir y
	bg_start y "$PROGS/att_loop" y
	await y/ready
	echo 3 >scope
	run env CTRACE_ATTACH_YAMA_FILE=scope timeout 60 "$CT" attach "$PID"
	one_line_refusal "Yama's ptrace_scope is 3 (/proc/sys/kernel/yama/ptrace_scope): no process may attach"
	# detach of a process that is not attached
	run timeout 60 "$CT" detach "$PID"
	one_line_refusal "ctrace: detach: process $PID is not attached (libctrace.so is not loaded in it)"
	# attached twice
	attach_bg "$PID" a.ctr
	run timeout 60 "$CT" attach "$PID" -o b.ctr
	one_line_refusal "process $PID is already traced by libctrace (attached; 'ctrace detach $PID' ends it)"
	run timeout 60 "$CT" detach "$PID"
	assert_success
	wait "$APID"
	touch y/end
	finish
	[ "$STATUS" = 5 ]

	# a process whose main thread has ended (pthread_exit) while a worker runs on: its
	# /proc/PID shows a zombie, the process is not one
	mkdir mx
	bg_start mx "$PROGS/att_mainexit" mx
	await mx/ready
	for _ in $(seq 1 200); do
		grep -q '^State:.Z' /proc/"$PID"/status && break
		sleep 0.01
	done
	run timeout 60 "$CT" attach "$PID"
	one_line_refusal "ctrace: attach: the main thread of process $PID has exited (pthread_exit) while 1 other thread runs: attach needs the main thread; start the program under 'ctrace record' instead"
	touch mx/end
	finish
	[ "$STATUS" = 0 ]

	# by libctrace from its start (LD_PRELOAD)
	mkdir pre
	bg_start pre env LD_PRELOAD="$LIB" CTRACE_OUT=pre.ctr "$PROGS/att_loop" pre
	await pre/ready
	run timeout 60 "$CT" attach "$PID"
	one_line_refusal "is already traced by libctrace (it was started with LD_PRELOAD="
	touch pre/end
	finish
	[ "$STATUS" = 5 ]
}

@test "attach: a thread another tracer holds: refused in one line before any thread is stopped (no EINTR)" {
	loop_untraced tail
	mkdir o
	bg_start o "$PROGS/att_loop" o tail
	await o/ready
	# another tracer seizes the newest thread (att_loop's tail): the attach, which
	# stops the threads one at a time in tid order, must refuse before it stops any (the
	# epoll reader among them), not when its seize of that one is refused
	local last i
	last=$(ls /proc/"$PID"/task | sort -n | tail -n1)
	python3 -c 'import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), 0, 0) != 0:  # PTRACE_SEIZE
    sys.exit("seize: errno %d" % ctypes.get_errno())
print("seized", flush=True)
time.sleep(300)' "$last" >seizer.out 2>&1 &
	local seizer=$!
	BG+=("$seizer")
	for i in $(seq 1 200); do
		grep -q 'seized\|seize:' seizer.out && break
		sleep 0.05
	done
	grep -q seized seizer.out || skip "this machine lets no process seize another: $(cat seizer.out)"
	for i in 1 2 3 4 5; do
		run timeout 60 "$CT" attach "$PID" -o "r$i.ctr"
		[ "$status" = 2 ] || fail "status $status: $output"
		[ "${#lines[@]}" = 1 ] || fail "more than one line: $output"
		assert_output "ctrace: attach: thread $last of process $PID is traced by process $seizer (python3)"
		[ ! -e "r$i.ctr" ]
	done
	# (the held thread may be in a signal-delivery stop for the feeder's ignored signals,
	# which the sleeping tracer never ends: it is let go when the tracer exits)
	kill "$seizer"
	wait "$seizer" || true
	touch o/end
	finish
	[ "$STATUS" = 5 ]
	# the same books as untraced: no EINTR, errno kept, no fd left
	assert_equal "$(cat o.out)" "$PLAIN_OUT"
}

@test "attach: two at once: one attaches at most, the other says another ctrace is at work, in one line; the books unchanged" {
	loop_untraced
	mkdir o
	bg_start o "$PROGS/att_loop" o
	await o/ready
	local i s1 s2
	for i in 1 2 3 4 5; do
		timeout 60 "$CT" attach "$PID" --duration 500ms -o "a$i.ctr" >"a$i.log" 2>&1 &
		local first=$!
		s2=0
		timeout 60 "$CT" attach "$PID" --duration 500ms -o "b$i.ctr" >"b$i.log" 2>&1 || s2=$?
		s1=0
		wait "$first" || s1=$?
		for r in "a$i:$s1" "b$i:$s2"; do
			local f=${r%%:*} st=${r#*:}
			if [ "$st" = 0 ]; then
				grep -q "^ctrace: trace in $PWD/$f.ctr\$" "$f.log" || fail "$f: $(cat "$f.log")"
			else
				[ "$st" = 2 ] || fail "$f: status $st: $(cat "$f.log")"
				[ "$(wc -l <"$f.log")" = 1 ] || fail "$f: more than one line: $(cat "$f.log")"
				grep -Eq "^ctrace: attach: process $PID (is being attached or detached by another ctrace( \(process [0-9]+\))?; try again|is already traced by libctrace \(attached; 'ctrace detach $PID' ends it\))\$" "$f.log" ||
					fail "$f: $(cat "$f.log")"
				[ ! -e "$f.ctr" ]
			fi
		done
		# never both: libctrace's entry points run one at a time
		[ "$s1" != 0 ] || [ "$s2" != 0 ] || fail "round $i: both attached"
	done
	touch o/end
	finish
	[ "$STATUS" = 5 ]
	assert_equal "$(cat o.out)" "$PLAIN_OUT"
}

@test "attach: another user's process, and Yama scope 2 without CAP_SYS_PTRACE" {
	[ "$(id -u)" = 0 ] || skip "needs root to run programs as another user"
	command -v setpriv >/dev/null || skip "needs setpriv"
	id nobody >/dev/null 2>&1 || skip "needs the user nobody"
	# a directory the user nobody can reach (the test's own is private)
	NB=$(mktemp -d /tmp/ctrace-attach.XXXXXX)
	chmod 755 "$NB"
	mkdir -m 777 "$NB/r" "$NB/n"
	echo 2 >"$NB/scope"
	chmod 644 "$NB/scope"
	local as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

	# ctrace as nobody, the program as root
	bg_start r "$PROGS/att_loop" "$NB/r"
	await "$NB/r/ready"
	run timeout 60 "${as_nobody[@]}" "$CT" attach "$PID"
	one_line_refusal "process $PID belongs to root (uid 0) and ctrace runs as nobody (uid 65534): ptrace needs the same user (or CAP_SYS_PTRACE)"
	touch "$NB/r/end"
	finish
	[ "$STATUS" = 5 ]

	# both as nobody, Yama at 2
	bg_start n "${as_nobody[@]}" "$PROGS/att_loop" "$NB/n"
	await "$NB/n/ready"
	run env CTRACE_ATTACH_YAMA_FILE="$NB/scope" timeout 60 "${as_nobody[@]}" "$CT" attach "$PID"
	one_line_refusal "Yama's ptrace_scope is 2 (/proc/sys/kernel/yama/ptrace_scope): only a process with CAP_SYS_PTRACE may attach"
	touch "$NB/n/end"
	finish
	[ "$STATUS" = 5 ]
	rm -rf "$NB"
}

@test "attach: --help, and usage errors exit 2 with one line" {
	run "$CT" attach --help
	assert_success
	assert_output --partial "usage: ctrace attach PID [--duration D] [-o FILE]"
	run "$CT" detach --help
	assert_success
	assert_output --partial "usage: ctrace detach PID"
	run "$CT" --help
	assert_output --partial "attach"
	assert_output --partial "detach"
	run "$CT" attach
	one_line_refusal "ctrace: attach: expects one process id"
	run "$CT" attach 12x
	one_line_refusal "ctrace: attach: '12x' is not a process id"
	run "$CT" attach --duration 5parsecs 1
	one_line_refusal "ctrace: attach: --duration '5parsecs' is not a duration"
	run "$CT" detach
	one_line_refusal "ctrace: detach: expects one process id"
}
