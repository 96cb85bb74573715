#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Every way of blocking beyond mutexes and condition variables, end to end: programs that
# measure their own waits (tests/progs/blk_*.c) run under `ctrace record`; in
# `ctrace report --json` each wait must land in the right profile (sync, net, syscall,
# sleep) and kind, at the program's function and the line marked NAME-SITE, with a total
# within 5% of what the program measured and exactly as many calls. The fortified builds
# (-D_FORTIFY_SOURCE=2, calling __read_chk, __recv_chk, __poll_chk, ...) must be traced like
# the plain ones. blk_semantics checks that results, errno, EINTR/SA_RESTART and signal
# handlers are the same traced and untraced.
#
# Each program is run once per file (setup_file), untraced and traced; the tests query the
# saved outputs and reports. Environment: CTRACE_BUILD (absolute build dir), optionally
# CTRACE_CLI (another ctrace, e.g. the sanitized one).

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
bats_require_minimum_version 1.5.0

: "${CTRACE_BUILD:?set CTRACE_BUILD to the absolute build directory (make bats does)}"
BLK_CT=${CTRACE_CLI:-$CTRACE_BUILD/ctrace}
# ctrace record finds the preload next to itself; another ctrace (the sanitized one) needs this.
export CTRACE_LIB=${CTRACE_LIB:-$CTRACE_BUILD/libctrace.so}
BLK_PROGS=$CTRACE_BUILD/progs
BLK_SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# The programs, as RUN=PROGRAM: the plain and fortified builds of each.
BLK_RUNS="sync=blk_sync net=blk_net net.fortify=blk_net.fortify io=blk_io
	io.fortify=blk_io.fortify sem=blk_semantics sem.fortify=blk_semantics.fortify"

# blk_run RUN PROGRAM: in $BATS_FILE_TMPDIR, RUN.u.{out,err,rc} untraced and
# RUN.{out,err,rc,ctr,json} traced (RUN.json: report --json, RUN.json.rc its status).
blk_run() {
	local rn=$1 prog=$BLK_PROGS/$2 rc
	mkdir -p "$BATS_FILE_TMPDIR/u.$rn"
	# untraced, in a directory of its own (blk_io leaves temporary files while it runs)
	rc=0
	(cd "$BATS_FILE_TMPDIR/u.$rn" && timeout 60 "$prog" >../"$rn.u.out" 2>../"$rn.u.err") || rc=$?
	echo $rc >"$rn.u.rc"
	rc=0
	timeout 60 "$BLK_CT" record -o "$rn.ctr" -- "$prog" >"$rn.out" 2>"$rn.err" || rc=$?
	echo $rc >"$rn.rc"
	rc=0
	"$BLK_CT" report --json "$rn.ctr" >"$rn.json" 2>"$rn.json.err" || rc=$?
	echo $rc >"$rn.json.rc"
}

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	local r
	for r in $BLK_RUNS; do
		blk_run "${r%%=*}" "${r#*=}"
	done
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	BLK_DIR=$BATS_FILE_TMPDIR
}

# blk_marked_line FILE MARK: the number of the line carrying the comment /* MARK */.
blk_marked_line() {
	grep -n "/\\* $2 \\*/" "$1" | cut -d: -f1 | head -n1
}

# blk_value FILE KEY: N from the line KEY=N of FILE.
blk_value() {
	sed -n "s/^$2=\\([0-9][0-9]*\\)\$/\\1/p" "$1" | head -n1
}

# blk_ran RUN: the traced run exited 0 and its report is there.
blk_ran() {
	local rc jrc
	rc=$(cat "$BLK_DIR/$1.rc") jrc=$(cat "$BLK_DIR/$1.json.rc")
	[ "$rc" = 0 ] || fail "$1: ctrace record exited $rc; stderr: $(head -c 600 "$BLK_DIR/$1.err")"
	[ "$jrc" = 0 ] || fail "$1: ctrace report --json exited $jrc: $(head -c 600 "$BLK_DIR/$1.json.err")"
}

# blk_close PCT SLACK GOT WANT: |GOT - WANT| <= max(PCT% of WANT, SLACK) (integers, ns).
blk_close() {
	awk -v g="$3" -v w="$4" -v p="$1" -v s="$2" 'BEGIN {
		d = g - w; if (d < 0) d = -d; lim = w * p / 100; if (lim < s) lim = s
		exit !(w > 0 && d <= lim) }'
}

# blk_site RUN SOURCE PROFILE KIND MARK FUNC KEY [FD_CLASS]
# The waits the program measured as KEY_calls / KEY_total_ns, made at the line of SOURCE
# marked MARK in FUNC, are in the report of RUN as PROFILE entries of kind KIND whose
# frames[0] is FUNC at that line of SOURCE: as many calls, the same total within 5% (or 20 us
# a call: fsync is short), every sample consistent (max >= p99 >= p50 > 0), and no other
# waiter profile or kind claims that line. With FD_CLASS, the entries' fd_class is that.
blk_site() {
	local rn=$1 src=$2 profile=$3 kind=$4 mark=$5 func=$6 key=$7 cls=${8:-}
	local json=$BLK_DIR/$rn.json out=$BLK_DIR/$rn.out
	blk_ran "$rn"
	local line want calls
	line=$(blk_marked_line "$BLK_SRC/tests/progs/$src" "$mark")
	[ -n "$line" ] || fail "no /* $mark */ in tests/progs/$src"
	want=$(blk_value "$out" "${key}_total_ns")
	calls=$(blk_value "$out" "${key}_calls")
	[ -n "$want" ] && [ -n "$calls" ] || fail "$rn printed no ${key}_total_ns / ${key}_calls"

	# Every waiter-profile entry whose innermost frame is the marked line.
	local at
	at=$(jq -c --arg f "$func" --argjson l "$line" '[.profiles[]
		| select((.profile == "sync" or .profile == "net" or .profile == "syscall"
			  or .profile == "sleep") and .frames[0].func == $f and .frames[0].line == $l)]' \
		"$json")
	local mine
	mine=$(jq -c --arg p "$profile" --arg k "$kind" \
		'[.[] | select(.profile == $p and .kind == $k)]' <<<"$at")
	if [ "$(jq length <<<"$mine")" = 0 ]; then
		fail "$rn: no $profile/$kind entry at $func ($src:$line); entries there: $(jq -c \
			'[.[] | {profile, kind, count, total_ns}]' <<<"$at"); $profile profile: $(jq -c \
			--arg p "$profile" '[.profiles[] | select(.profile == $p) | {kind, count,
			total_ns, at: "\(.frames[0].func // "-"):\(.frames[0].line // 0)"}] | .[:12]' \
			"$json")"
	fi
	local others
	others=$(jq -c --arg p "$profile" --arg k "$kind" \
		'[.[] | select(.profile != $p or .kind != $k) | {profile, kind, count}]' <<<"$at")
	[ "$others" = "[]" ] || fail "$rn: $func ($src:$line) is also charged to $others"

	local got count
	got=$(jq '[.[].total_ns] | add' <<<"$mine")
	count=$(jq '[.[].count] | add' <<<"$mine")
	[ "$count" = "$calls" ] || fail "$rn: $profile/$kind at $func:$line: count $count, the program made $calls calls"
	blk_close 5 $((calls * 20000)) "$got" "$want" ||
		fail "$rn: $profile/$kind at $func:$line: total_ns $got is not within 5% of the measured $want ($(awk \
			-v g="$got" -v w="$want" 'BEGIN { printf "%+.2f%%", (g - w) * 100 / w }'))"
	jq -e --arg s "tests/progs/$src" 'all(.[]; (.frames[0].file | endswith($s))
		and .max_ns >= .p99_ns and .p99_ns >= .p50_ns and .p50_ns > 0
		and .max_ns * .count >= .total_ns)' <<<"$mine" >/dev/null ||
		fail "$rn: $profile/$kind at $func:$line: bad file or percentiles: $mine"
	# System calls: every one of these blocked far longer than the stack threshold, so each
	# has its stack (stack_calls; sync waits always have one and no such field).
	if [ "$profile" != sync ]; then
		jq -e 'all(.[]; .stack_calls == .count)' <<<"$mine" >/dev/null ||
			fail "$rn: $profile/$kind at $func:$line: stack_calls != count: $mine"
	fi
	if [ -n "$cls" ]; then
		jq -e --arg c "$cls" 'all(.[]; .fd_class == $c)' <<<"$mine" >/dev/null ||
			fail "$rn: $profile/$kind at $func:$line: fd_class is not $cls: $(jq -c \
				'[.[].fd_class]' <<<"$mine")"
	fi
}

# Both builds of a program.
blk_site2() {
	local rn=$1
	shift
	blk_site "$rn" "$@"
	blk_site "$rn.fortify" "$@"
}

# ---- the programs themselves ----

@test "blocking programs: exit 0 traced and untraced, same output but for the timings" {
	local r n
	for r in $BLK_RUNS; do
		n=${r%%=*}
		[ "$(cat "$BLK_DIR/$n.u.rc")" = 0 ] || fail "$n untraced exited $(cat "$BLK_DIR/$n.u.rc")"
		[ "$(cat "$BLK_DIR/$n.rc")" = 0 ] || fail "$n traced exited $(cat "$BLK_DIR/$n.rc"): $(head -c 600 "$BLK_DIR/$n.err")"
		diff <(grep -Ev '_(total_ns|calls)=' "$BLK_DIR/$n.u.out") \
			<(grep -Ev '_(total_ns|calls)=' "$BLK_DIR/$n.out") ||
			fail "$n: traced output differs from untraced"
		[ ! -s "$BLK_DIR/$n.u.err" ] || fail "$n untraced wrote on stderr"
		# stderr of the traced run: only ctrace record's own line about the trace file
		run grep -v '^ctrace: trace written to' "$BLK_DIR/$n.err"
		assert_output ""
		[ -s "$BLK_DIR/$n.ctr" ]
	done
}

@test "fortified builds call glibc's __*_chk entry points, the plain ones do not" {
	local p
	for p in blk_io blk_net blk_semantics; do
		[ -x "$BLK_PROGS/$p.fortify" ] || fail "no $BLK_PROGS/$p.fortify (make progs)"
		run nm -D "$BLK_PROGS/$p"
		refute_output --partial __read_chk
	done
	run nm -D "$BLK_PROGS/blk_io.fortify"
	assert_output --partial __read_chk
	run nm -D "$BLK_PROGS/blk_net.fortify"
	assert_output --partial __read_chk
	assert_output --partial __recv_chk
	assert_output --partial __recvfrom_chk
	assert_output --partial __poll_chk
	run nm -D "$BLK_PROGS/blk_semantics.fortify"
	assert_output --partial __read_chk
	assert_output --partial __recv_chk
}

# ---- sync ----

@test "sync/sem: sem_wait in sem_wait_once" {
	blk_site sync blk_sync.c sync sem SEM-WAIT-SITE sem_wait_once sem_wait
}

@test "sync/sem: sem_timedwait in sem_timedwait_once" {
	blk_site sync blk_sync.c sync sem SEM-TIMEDWAIT-SITE sem_timedwait_once sem_timedwait
}

@test "sync/rwlock_rd: pthread_rwlock_rdlock behind a writer, in rdlock_once" {
	blk_site sync blk_sync.c sync rwlock_rd RWLOCK-RD-SITE rdlock_once rwlock_rd
}

@test "sync/rwlock_wr: pthread_rwlock_wrlock behind a reader, in wrlock_once" {
	blk_site sync blk_sync.c sync rwlock_wr RWLOCK-WR-SITE wrlock_once rwlock_wr
}

@test "sync/barrier: pthread_barrier_wait for a late thread, in barrier_once" {
	blk_site sync blk_sync.c sync barrier BARRIER-SITE barrier_once barrier
}

@test "sync/join: pthread_join of a thread still running, in join_once" {
	blk_site sync blk_sync.c sync join JOIN-SITE join_once join
}

@test "sync/spin: contended pthread_spin_lock, in spin_once" {
	blk_site sync blk_sync.c sync spin SPIN-SITE spin_once spin
}

@test "sync/futex: syscall(SYS_futex, FUTEX_WAIT), in futex_wait_once" {
	blk_site sync blk_sync.c sync futex FUTEX-SITE futex_wait_once futex
}

# ---- net ----

@test "net/accept: accept on a loopback listener, in accept_once (plain and fortified)" {
	blk_site2 net blk_net.c net accept ACCEPT-SITE accept_once accept socket
}

@test "net/connect: connect to a full AF_UNIX listen queue, in connect_once (plain and fortified)" {
	blk_site2 net blk_net.c net connect CONNECT-SITE connect_once connect socket
}

@test "net/recv: recv on a socketpair, in recv_once (plain and fortified: __recv_chk)" {
	blk_site2 net blk_net.c net recv RECV-SITE recv_once recv socket
}

@test "net/recv: recvfrom, in recvfrom_once (plain and fortified: __recvfrom_chk)" {
	blk_site2 net blk_net.c net recv RECVFROM-SITE recvfrom_once recvfrom socket
}

@test "net/read: read on a TCP socket is network waiting, in sock_read_once (plain and fortified)" {
	blk_site2 net blk_net.c net read SOCK-READ-SITE sock_read_once sock_read socket
}

@test "net/send: send on a full socketpair, in send_once (plain and fortified)" {
	blk_site2 net blk_net.c net send SEND-SITE send_once send socket
}

@test "net/epoll: epoll_wait, in epoll_once (plain and fortified)" {
	blk_site2 net blk_net.c net epoll EPOLL-SITE epoll_once epoll
}

@test "net/poll: poll, in poll_once (plain and fortified: __poll_chk)" {
	blk_site2 net blk_net.c net poll POLL-SITE poll_once poll
}

@test "net/select: select, in select_once (plain and fortified)" {
	blk_site2 net blk_net.c net select SELECT-SITE select_once select
}

# ---- syscall ----

@test "syscall/read: read on a pipe, in pipe_read_once (plain and fortified: __read_chk)" {
	blk_site2 io blk_io.c syscall read PIPE-READ-SITE pipe_read_once pipe_read pipe
}

@test "syscall/write: write on a full pipe, in pipe_write_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall write PIPE-WRITE-SITE pipe_write_once pipe_write pipe
}

@test "syscall/fsync: fsync of a file, in fsync_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall fsync FSYNC-SITE fsync_once fsync file
}

@test "syscall/wait: waitpid on a child, in waitpid_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall wait WAITPID-SITE waitpid_once waitpid
}

@test "syscall/flock: flock held by another process, in flock_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall flock FLOCK-SITE flock_once flock file
}

@test "syscall/flock: fcntl(F_SETLKW) held by another process, in fcntl_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall flock FCNTL-SETLKW-SITE fcntl_once fcntl_setlkw file
}

@test "syscall/sigwait: sigwait, in sigwait_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall sigwait SIGWAIT-SITE sigwait_once sigwait
}

@test "syscall/sigwait: sigtimedwait, in sigtimedwait_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall sigwait SIGTIMEDWAIT-SITE sigtimedwait_once sigtimedwait
}

# ---- sleep ----

@test "sleep/nanosleep: nanosleep, in nanosleep_once (plain and fortified)" {
	blk_site2 io blk_io.c sleep nanosleep NANOSLEEP-SITE nanosleep_once nanosleep
}

@test "sleep/nanosleep: clock_nanosleep, in clock_nanosleep_once (plain and fortified)" {
	blk_site2 io blk_io.c sleep nanosleep CLOCK-NANOSLEEP-SITE clock_nanosleep_once clock_nanosleep
}

@test "sleep/nanosleep: usleep, in usleep_once (plain and fortified)" {
	blk_site2 io blk_io.c sleep nanosleep USLEEP-SITE usleep_once usleep
}

@test "sleep/nanosleep: sleep, in sleep_once (plain and fortified)" {
	blk_site2 io blk_io.c sleep nanosleep SLEEP-SITE sleep_once sleep
}

# ---- profiles as a whole ----

@test "report --profile net|syscall|sleep keeps one profile, with the program's sites" {
	blk_ran net
	blk_ran io
	local p
	for p in net syscall sleep; do
		local f=$BLK_DIR/net.ctr
		[ "$p" = net ] || f=$BLK_DIR/io.ctr
		run "$BLK_CT" report --json --profile "$p" "$f"
		assert_success
		jq -e --arg p "$p" '(.profiles | length) > 0 and all(.profiles[]; .profile == $p)' \
			<<<"$output" >/dev/null || fail "--profile $p: $(head -c 400 <<<"$output")"
		run "$BLK_CT" report --profile "$p" "$f"
		assert_success
	done
	run "$BLK_CT" report --profile net "$BLK_DIR/net.ctr"
	assert_output --partial epoll_once
	run "$BLK_CT" report --profile sleep "$BLK_DIR/io.ctr"
	assert_output --partial nanosleep_once
}

@test "threads: main's blocked_ns per profile covers what the program measured" {
	blk_ran net
	blk_ran io
	# blk_net: every measured call is network waiting, and main waits on nothing else
	blk_blocked net '^[a-z_]+_total_ns=' net 1.05
	# blk_io: the sleeps are main's only sleeps; its other syscalls (a child taking a lock,
	# reaping it) add to the measured ones
	blk_blocked io '^(nanosleep|clock_nanosleep|usleep|sleep)_total_ns=' sleep 1.05
	blk_blocked io '^(pipe_read|pipe_write|fsync|waitpid|flock|fcntl_setlkw|sigwait|sigtimedwait)_total_ns=' \
		syscall 2
}

# blk_blocked RUN KEY-REGEX PROFILE MAX: main's blocked_ns.PROFILE is at least 95% of the
# sum of the KEY_total_ns lines matching KEY-REGEX, and at most MAX times it.
blk_blocked() {
	local want got
	want=$(grep -E "$2" "$BLK_DIR/$1.out" | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }')
	got=$(jq --arg p "$3" '.threads[] | select(.start_func == "main") | .blocked_ns[$p]' \
		"$BLK_DIR/$1.json")
	awk -v g="$got" -v w="$want" -v m="$4" 'BEGIN { exit !(w > 0 && g >= 0.95 * w && g <= m * w) }' ||
		fail "$1: main's blocked_ns.$3 is $got; the program measured $want there"
}

# ---- semantics ----

@test "semantics: EINTR, SA_RESTART, EAGAIN, short I/O, handlers: identical traced and untraced" {
	local n
	for n in sem sem.fortify; do
		[ "$(cat "$BLK_DIR/$n.u.rc")" = 0 ] ||
			fail "$n untraced: $(grep -v '^ok ' "$BLK_DIR/$n.u.out")"
		[ "$(cat "$BLK_DIR/$n.rc")" = 0 ] ||
			fail "$n traced: $(grep -v '^ok ' "$BLK_DIR/$n.out") $(head -c 400 "$BLK_DIR/$n.err")"
		diff "$BLK_DIR/$n.u.out" "$BLK_DIR/$n.out" || fail "$n: traced output differs"
		run grep -c '^ok ' "$BLK_DIR/$n.out"
		[ "$output" -ge 40 ]
		run grep -v '^ok ' "$BLK_DIR/$n.out"
		assert_output "PASS: 0 failed"
		[ "$(cat "$BLK_DIR/$n.json.rc")" = 0 ]
	done
}
