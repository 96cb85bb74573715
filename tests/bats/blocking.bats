#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Every way of blocking beyond mutexes and condition variables, end to end: programs that
# measure their own waits (tests/progs/blk_*.c) run under `ctrace record`; in
# `ctrace report --json` each wait must land in the right profile (sync, net, syscall,
# sleep) and kind, at the program's function and the line marked NAME-SITE, with a total
# within 5% of what the program measured and exactly as many calls. The fortified builds
# (-D_FORTIFY_SOURCE=2, calling __read_chk, __recv_chk, __poll_chk, __ppoll_chk,
# __pread_chk, __open_2, ...) must be traced like the plain ones. The releases that end
# sync waits (sem_post, rwlock unlock, the last barrier arrival, thread exit, futex wake,
# spin unlock) must carry those waits in the holder profile, and the waits must have
# wake-up entries. blk_semantics checks that results, errno, EINTR/SA_RESTART and signal
# handlers are the same traced and untraced.
#
# The programs never rely on sleep timing for contention: whoever ends a wait first sees
# the waiting thread blocked in the kernel (/proc/self/task/TID/syscall). Each program is
# run once per file (setup_file), untraced and traced; the tests query the saved outputs
# and reports. Environment: CTRACE_BUILD (absolute build dir), optionally CTRACE_CLI
# (another ctrace, e.g. the sanitized one).

# bats-support, then bats-assert: their files, sourced here directly (bats sources this file
# again for each of its tests, and their load.bash forks a dirname for each file it sources)
for blk_lib in /usr/lib/bats/bats-support/src/*.bash /usr/lib/bats/bats-assert/src/*.bash; do
	# shellcheck disable=SC1090 # the libraries' own files
	source "$blk_lib"
done
bats_require_minimum_version 1.5.0

: "${CTRACE_BUILD:?set CTRACE_BUILD to the absolute build directory (make bats does)}"
BLK_CT=${CTRACE_CLI:-$CTRACE_BUILD/ctrace}
# ctrace record finds the preload next to itself; another ctrace (the sanitized one) needs this.
export CTRACE_LIB=${CTRACE_LIB:-$CTRACE_BUILD/libctrace.so}
BLK_PROGS=$CTRACE_BUILD/progs
BLK_SRC=${BATS_TEST_DIRNAME%/tests/bats}

# The programs, as RUN=PROGRAM: the plain and fortified builds of each.
BLK_RUNS="sync=blk_sync net=blk_net net.fortify=blk_net.fortify io=blk_io
	io.fortify=blk_io.fortify sem=blk_semantics sem.fortify=blk_semantics.fortify"

# blk_run RUN PROGRAM [ARGS...]: in $BATS_FILE_TMPDIR, RUN.u.{out,err,rc} untraced and
# RUN.{out,err,rc,ctr,json} traced (RUN.json: report --json, RUN.json.rc its status).
blk_run() {
	local rn=$1 prog=$BLK_PROGS/$2 rc
	shift 2
	mkdir -p "$BATS_FILE_TMPDIR/u.$rn"
	# untraced, in a directory of its own (the programs leave temporary files while they run)
	rc=0
	(cd "$BATS_FILE_TMPDIR/u.$rn" && timeout 60 "$prog" "$@" >../"$rn.u.out" 2>../"$rn.u.err") || rc=$?
	echo $rc >"$rn.u.rc"
	rc=0
	timeout 60 "$BLK_CT" record -o "$rn.ctr" -- "$prog" "$@" >"$rn.out" 2>"$rn.err" || rc=$?
	echo $rc >"$rn.rc"
	rc=0
	"$BLK_CT" report --json "$rn.ctr" >"$rn.json" 2>"$rn.json.err" || rc=$?
	echo $rc >"$rn.json.rc"
	# what the per-site tests look at, small enough to query quickly a hundred times
	jq -c '{profiles: [.profiles[] | del(.frames) + {frames: [.frames[:2][]
		| {func, file, line}]}]}' "$rn.json" >"$rn.sites.json" 2>/dev/null || true
}

# blk_sync_dir: a directory on a disk filesystem for blk_io's fsyncs (on tmpfs fsync returns
# at once): one under the build directory, else under /var/tmp; nothing when both are tmpfs.
blk_sync_dir() {
	local d
	for d in "$CTRACE_BUILD/blk-sync.$$.tmp" "/var/tmp/ctrace-blk-sync.$$.tmp"; do
		mkdir -p "$d" 2>/dev/null || continue
		if [ "$(stat -f -c %T "$d")" != tmpfs ]; then
			echo "$d"
			return
		fi
		rmdir "$d"
	done
}

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	local r sd
	sd=$(blk_sync_dir)
	echo "$sd" >sync_dir
	# The runs go side by side: every wait in them is ended by the program's own helper once
	# it has seen the waiter blocked, so the others' load changes no result.
	for r in $BLK_RUNS; do
		case ${r#*=} in
		blk_io*) blk_run "${r%%=*}" "${r#*=}" 5 20 "${sd:-.}" & ;;
		*) blk_run "${r%%=*}" "${r#*=}" & ;;
		esac
	done
	wait
	[ -z "$sd" ] || rmdir "$sd"
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	BLK_DIR=$BATS_FILE_TMPDIR
}

# blk_marked_line FILE MARK: the number of the line carrying the comment /* MARK */.
# (The helpers here run a few hundred times per pass: they fork as little as they can.)
blk_marked_line() {
	local l
	l=$(grep -n -m1 "/\\* $2 \\*/" "$1") || return 0
	echo "${l%%:*}"
}

# blk_values FILE KEY...: sets BLK_V to N of the first line KEY=N of FILE, for each KEY in
# order (an empty element when there is none).
blk_values() {
	local f=$1 l k
	local -A seen=()
	shift
	while IFS= read -r l; do
		[[ $l =~ ^([A-Za-z0-9_.]+)=([0-9]+)$ ]] && [ -z "${seen[${BASH_REMATCH[1]}]+x}" ] &&
			seen[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	done <"$f"
	BLK_V=()
	for k; do BLK_V+=("${seen[$k]:-}"); done
}

# blk_value FILE KEY: N from the line KEY=N of FILE.
blk_value() {
	blk_values "$1" "$2"
	echo "${BLK_V[0]}"
}

# blk_ran RUN: the traced run exited 0 and its report is there.
blk_ran() {
	local rc= jrc=
	read -r rc <"$BLK_DIR/$1.rc"
	read -r jrc <"$BLK_DIR/$1.json.rc"
	[ "$rc" = 0 ] || fail "$1: ctrace record exited $rc; stderr: $(head -c 600 "$BLK_DIR/$1.err")"
	[ "$jrc" = 0 ] || fail "$1: ctrace report --json exited $jrc: $(head -c 600 "$BLK_DIR/$1.json.err")"
}

# blk_close PCT SLACK GOT WANT [RQ]: |GOT - WANT| <= max(PCT% of WANT, SLACK) + RQ (integers,
# ns). RQ is the time the program's thread waited for a CPU in the measured calls it was
# preempted in: preempted right after a call returned, it waits between the tracer's clock
# and its own. (In hundredths of a ns, exact in shell integers.)
blk_close() {
	local p=$1 s=$2 g=$3 w=$4 q=${5:-0} d lim
	d=$((g - w))
	[ "$d" -ge 0 ] || d=$((-d))
	lim=$((w * p))
	[ "$lim" -ge $((s * 100)) ] || lim=$((s * 100))
	[ "$w" -gt 0 ] && [ $((d * 100)) -le $((lim + q * 100)) ]
}

# blk_site RUN SOURCE PROFILE KIND MARK FUNC KEY [FD_CLASS]
# The waits the program measured as KEY_calls / KEY_total_ns, made at the line of SOURCE
# marked MARK in FUNC, are in the report of RUN as PROFILE entries of kind KIND whose
# frames[0] is FUNC at that line of SOURCE: as many calls, the same total within 5% (or 20 us
# a call, whichever is more, plus KEY_rq_ns: the time the program's thread waited for a CPU
# in the calls it was preempted in, zero on an idle machine), every sample consistent (max >=
# p99 >= p50 > 0), and no other waiter profile or kind claims that line. With FD_CLASS, the
# entries' fd_class is that.
blk_site() {
	local rn=$1 src=$2 profile=$3 kind=$4 mark=$5 func=$6 key=$7 cls=${8:-}
	local json=$BLK_DIR/$rn.sites.json out=$BLK_DIR/$rn.out
	blk_ran "$rn"
	local line want calls rq
	line=$(blk_marked_line "$BLK_SRC/tests/progs/$src" "$mark")
	[ -n "$line" ] || fail "no /* $mark */ in tests/progs/$src"
	blk_values "$out" "${key}_total_ns" "${key}_calls" "${key}_rq_ns"
	want=${BLK_V[0]} calls=${BLK_V[1]} rq=${BLK_V[2]}
	[ -n "$want" ] && [ -n "$calls" ] && [ -n "$rq" ] ||
		fail "$rn printed no ${key}_total_ns / ${key}_calls / ${key}_rq_ns"

	# One query: the waiter-profile entries whose innermost frame is the marked line, those
	# of PROFILE/KIND among them ("mine"), and what the checks below need to know of them;
	# the first line is the figures the checks compare, the second the details their
	# messages show.
	local v
	v=$(jq -r --arg f "$func" --argjson l "$line" --arg p "$profile" --arg k "$kind" \
		--arg s "tests/progs/$src" --arg c "$cls" '
		[.profiles[] | select((.profile == "sync" or .profile == "net"
			or .profile == "syscall" or .profile == "sleep")
			and .frames[0].func == $f and .frames[0].line == $l)] as $at
		| [$at[] | select(.profile == $p and .kind == $k)] as $mine
		| { n: ($mine | length),
		    count: ([$mine[].count] | add // 0),
		    total: ([$mine[].total_ns] | add // 0),
		    others: [$at[] | select(.profile != $p or .kind != $k) | {profile, kind, count}],
		    shape: all($mine[]; (.frames[0].file | endswith($s))
			and .max_ns >= .p99_ns and .p99_ns >= .p50_ns and .p50_ns > 0
			and .max_ns * .count >= .total_ns),
		    # system calls: every one of these blocked far longer than the stack
		    # threshold, so each has its stack (sync waits always have one, no field)
		    stacks: ($p == "sync" or all($mine[]; .stack_calls == .count)),
		    cls: ($c == "" or all($mine[]; .fd_class == $c)),
		    mine: $mine,
		    there: [$at[] | {profile, kind, count, total_ns}],
		    profile: [.profiles[] | select(.profile == $p) | {kind, count, total_ns,
			at: "\(.frames[0].func // "-"):\(.frames[0].line // 0)"}] | .[:12] }
		| ([.n, .count, .total, .shape, .stacks, .cls, (.others | tojson)] | @tsv), tojson' "$json")
	local n count got shape stacks clsok others
	IFS=$'\t' read -r n count got shape stacks clsok others <<<"${v%%$'\n'*}"
	v=${v#*$'\n'}
	[ "$n" != 0 ] || fail "$rn: no $profile/$kind entry at $func ($src:$line); entries there: \
$(jq -c .there <<<"$v"); $profile profile: $(jq -c .profile <<<"$v")"
	[ "$others" = "[]" ] ||
		fail "$rn: $func ($src:$line) is also charged to $others"
	[ "$count" = "$calls" ] || fail "$rn: $profile/$kind at $func:$line: count $count, the program made $calls calls"
	blk_close 5 $((calls * 20000)) "$got" "$want" "$rq" ||
		fail "$rn: $profile/$kind at $func:$line: total_ns $got is not within 5% (+ ${rq} ns of run-queue wait) of the measured $want ($(awk \
			-v g="$got" -v w="$want" 'BEGIN { printf "%+.2f%%", (g - w) * 100 / w }'))"
	[ "$shape" = true ] ||
		fail "$rn: $profile/$kind at $func:$line: bad file or percentiles: $(jq -c .mine <<<"$v")"
	[ "$stacks" = true ] ||
		fail "$rn: $profile/$kind at $func:$line: stack_calls != count: $(jq -c .mine <<<"$v")"
	[ "$clsok" = true ] ||
		fail "$rn: $profile/$kind at $func:$line: fd_class is not $cls: $(jq -c '[.mine[].fd_class]' <<<"$v")"
}

# Both builds of a program.
blk_site2() {
	local rn=$1
	shift
	blk_site "$rn" "$@"
	blk_site "$rn.fortify" "$@"
}

# ---- the programs themselves ----

# blk_sum RUN SUFFIX KEY...: the sum of the programs' KEY_SUFFIX values.
blk_sum() {
	local rn=$1 suffix=$2 k v s=0
	shift 2
	for k in "$@"; do
		v=$(blk_value "$BLK_DIR/$rn.out" "${k}_$suffix")
		[ -n "$v" ] || fail "$rn printed no ${k}_$suffix"
		s=$((s + v))
	done
	echo "$s"
}

# blk_holder RUN SOURCE KINDS MARK FUNC CALLER WAIT...
# The waits the program measured, each WAIT given as KEY:MARK:FUNC (KEY_calls and
# KEY_total_ns, made at the line marked MARK in FUNC), are charged in the holder profile to
# the release at the line of SOURCE marked MARK in FUNC (called from CALLER, when not
# empty): entries of a kind matching the regex KINDS, one charge per wait. A charge runs
# from the wait's start to the release, its wake-up from the release to the waiter
# running again: together they are the measured wait, within 5% (plus the waits' run-queue
# time, as in blk_site).
blk_holder() {
	local rn=$1 src=$2 kinds=$3 mark=$4 func=$5 caller=$6
	shift 6
	blk_ran "$rn"
	local line want=0 calls=0 rq=0 woke=0 w k m f wl v
	line=$(blk_marked_line "$BLK_SRC/tests/progs/$src" "$mark")
	[ -n "$line" ] || fail "no /* $mark */ in tests/progs/$src"
	for w in "$@"; do
		IFS=: read -r k m f <<<"$w"
		wl=$(blk_marked_line "$BLK_SRC/tests/progs/$src" "$m")
		want=$((want + $(blk_sum "$rn" total_ns "$k")))
		calls=$((calls + $(blk_sum "$rn" calls "$k")))
		rq=$((rq + $(blk_sum "$rn" rq_ns "$k")))
		v=$(jq --arg f "$f" --argjson l "$wl" '[.profiles[] | select(.profile == "wakeup"
			and .frames[0].func == $f and .frames[0].line == $l) | .total_ns] | add // 0' \
			"$BLK_DIR/$rn.sites.json")
		woke=$((woke + v))
	done
	local mine
	mine=$(jq -c --arg f "$func" --argjson l "$line" --arg c "$caller" --arg k "^($kinds)\$" \
		'[.profiles[] | select(.profile == "holder" and .frames[0].func == $f
			and .frames[0].line == $l and ($c == "" or .frames[1].func == $c)
			and (.kind | test($k)))]' "$BLK_DIR/$rn.sites.json")
	if [ "$(jq length <<<"$mine")" = 0 ]; then
		fail "$rn: no holder entry of kind $kinds at $func ($src:$line); holder profile: $(jq -c \
			'[.profiles[] | select(.profile == "holder") | {kind, count, total_ns,
			at: [.frames[:2][] | "\(.func):\(.line)"]}]' "$BLK_DIR/$rn.sites.json")"
	fi
	local got count
	got=$(jq '[.[].total_ns] | add' <<<"$mine")
	count=$(jq '[.[].count] | add' <<<"$mine")
	[ "$count" = "$calls" ] ||
		fail "$rn: holder at $func:$line: $count charges for the $calls waits of $*"
	blk_close 5 0 $((got + woke)) "$want" "$rq" ||
		fail "$rn: holder at $func:$line: total_ns $got + wake-ups $woke is not within 5% (+ ${rq} ns of run-queue wait) of the measured $want ($(awk \
			-v g=$((got + woke)) -v w="$want" 'BEGIN { printf "%+.2f%%", (g - w) * 100 / w }'))"
}

# blk_wakeup RUN SOURCE KIND MARK FUNC KEY: every wait the program measured as KEY at the
# line marked MARK has its wake-up (profile wakeup, kind KIND, same frames[0]): as many as
# calls, each a part of its wait (the total is above 0 and below the waits' total).
blk_wakeup() {
	local rn=$1 src=$2 kind=$3 mark=$4 func=$5 key=$6
	blk_ran "$rn"
	local line want calls mine
	line=$(blk_marked_line "$BLK_SRC/tests/progs/$src" "$mark")
	want=$(blk_value "$BLK_DIR/$rn.out" "${key}_total_ns")
	calls=$(blk_value "$BLK_DIR/$rn.out" "${key}_calls")
	mine=$(jq -c --arg f "$func" --argjson l "$line" --arg k "$kind" '[.profiles[]
		| select(.profile == "wakeup" and .kind == $k and .frames[0].func == $f
			 and .frames[0].line == $l)]' "$BLK_DIR/$rn.sites.json")
	jq -e --argjson n "$calls" --argjson w "$want" '([.[].count] | add) == $n
		and ([.[].total_ns] | add) > 0 and ([.[].total_ns] | add) < $w' <<<"$mine" >/dev/null ||
		fail "$rn: wakeup/$kind at $func:$line: want $calls wake-ups within the $want ns waited, got $mine"
}

# ---- the programs themselves ----

@test "blocking programs: exit 0 traced and untraced, same output but for the timings" {
	local r n
	for r in $BLK_RUNS; do
		n=${r%%=*}
		[ "$(cat "$BLK_DIR/$n.u.rc")" = 0 ] ||
			fail "$n untraced exited $(cat "$BLK_DIR/$n.u.rc"): $(head -c 600 "$BLK_DIR/$n.u.err")"
		[ "$(cat "$BLK_DIR/$n.rc")" = 0 ] || fail "$n traced exited $(cat "$BLK_DIR/$n.rc"): $(head -c 600 "$BLK_DIR/$n.err")"
		diff <(grep -Ev '_(total_ns|rq_ns|calls)=' "$BLK_DIR/$n.u.out") \
			<(grep -Ev '_(total_ns|rq_ns|calls)=' "$BLK_DIR/$n.out") ||
			fail "$n: traced output differs from untraced"
		[ ! -s "$BLK_DIR/$n.u.err" ] || fail "$n untraced wrote on stderr"
		# stderr of the traced run: only ctrace record's own lines about the trace files
		# (the program's and its children's)
		run grep -Ev '^ctrace: (trace written to|\.\.\. and [0-9]+ more trace files)' "$BLK_DIR/$n.err"
		assert_output ""
		[ -s "$BLK_DIR/$n.ctr" ]
	done
}

@test "fortified builds call glibc's __*_chk entry points, the plain ones do not" {
	local p f
	for p in blk_io blk_net blk_semantics; do
		[ -x "$BLK_PROGS/$p.fortify" ] || fail "no $BLK_PROGS/$p.fortify (make progs)"
		run nm -D "$BLK_PROGS/$p"
		for f in __read_chk __pread_chk __pread64_chk __ppoll_chk __open_2 __openat_2; do
			refute_output --partial "$f"
		done
	done
	run nm -D "$BLK_PROGS/blk_io.fortify"
	for f in __read_chk __pread_chk __pread64_chk __open_2 __openat_2; do
		assert_output --partial "$f"
	done
	run nm -D "$BLK_PROGS/blk_net.fortify"
	for f in __read_chk __recv_chk __recvfrom_chk __poll_chk __ppoll_chk; do
		assert_output --partial "$f"
	done
	run nm -D "$BLK_PROGS/blk_semantics.fortify"
	for f in __read_chk __recv_chk __pread_chk __pread64_chk __ppoll_chk __open_2 __openat_2; do
		assert_output --partial "$f"
	done
}

# ---- sync ----

@test "sync/sem: sem_wait in sem_wait_once" {
	blk_site sync blk_sync.c sync sem SEM-WAIT-SITE sem_wait_once sem_wait
}

@test "sync/sem: sem_timedwait in sem_timedwait_once" {
	blk_site sync blk_sync.c sync sem SEM-TIMEDWAIT-SITE sem_timedwait_once sem_timedwait
}

@test "sync/sem: sem_clockwait (CLOCK_MONOTONIC) in sem_clockwait_once" {
	blk_site sync blk_sync.c sync sem SEM-CLOCKWAIT-SITE sem_clockwait_once sem_clockwait
}

@test "sync/sem: sem_wait on a named semaphore (sem_open) in named_sem_once" {
	blk_site sync blk_sync.c sync sem NAMED-SEM-SITE named_sem_once sem_named
}

@test "sync/rwlock_rd: pthread_rwlock_rdlock behind a writer, in rdlock_once" {
	blk_site sync blk_sync.c sync rwlock_rd RWLOCK-RD-SITE rdlock_once rwlock_rd
}

@test "sync/rwlock_rd: pthread_rwlock_timedrdlock behind a writer, in timedrdlock_once" {
	blk_site sync blk_sync.c sync rwlock_rd RWLOCK-TIMEDRD-SITE timedrdlock_once rwlock_timedrd
}

@test "sync/rwlock_rd: pthread_rwlock_clockrdlock behind a writer, in clockrdlock_once" {
	blk_site sync blk_sync.c sync rwlock_rd RWLOCK-CLOCKRD-SITE clockrdlock_once rwlock_clockrd
}

@test "sync/rwlock_wr: pthread_rwlock_wrlock behind a reader, in wrlock_once" {
	blk_site sync blk_sync.c sync rwlock_wr RWLOCK-WR-SITE wrlock_once rwlock_wr
}

@test "sync/rwlock_wr: pthread_rwlock_timedwrlock behind a reader, in timedwrlock_once" {
	blk_site sync blk_sync.c sync rwlock_wr RWLOCK-TIMEDWR-SITE timedwrlock_once rwlock_timedwr
}

@test "sync/rwlock_wr: pthread_rwlock_clockwrlock behind a reader, in clockwrlock_once" {
	blk_site sync blk_sync.c sync rwlock_wr RWLOCK-CLOCKWR-SITE clockwrlock_once rwlock_clockwr
}

@test "sync/barrier: pthread_barrier_wait for a late thread, in barrier_once" {
	blk_site sync blk_sync.c sync barrier BARRIER-SITE barrier_once barrier
}

@test "sync/barrier: the arrival that completes a round is a release, not a wait" {
	# Fails with libctrace as it is: preload/sync.c:202-215 records every
	# pthread_barrier_wait as a wait, also the one that returns PTHREAD_BARRIER_SERIAL_THREAD
	# (the last arrival, which never blocks), and the analyzer files it in the sync profile
	# and in the barrier's "contended" count, although its holder sweep
	# (analyze/analysis.c:661) already knows that arrival "released, not waited".
	blk_ran sync
	local line calls v
	line=$(blk_marked_line "$BLK_SRC/tests/progs/blk_sync.c" BARRIER-ARRIVE-SITE)
	calls=$(blk_value "$BLK_DIR/sync.out" barrier_calls)
	v=$(jq -c --argjson l "$line" '[.profiles[] | select((.profile == "sync"
		or .profile == "net" or .profile == "syscall" or .profile == "sleep")
		and .frames[0].func == "late_arrival" and .frames[0].line == $l)
		| {profile, kind, count, total_ns}]' "$BLK_DIR/sync.sites.json")
	[ "$v" = "[]" ] ||
		fail "tracer bug: the round-completing arrivals in late_arrival (blk_sync.c:$line) are reported as waits: $v"
	v=$(jq '[.objects[] | select(.kind == "barrier") | .contended] | add' "$BLK_DIR/sync.json")
	[ "$v" = "$calls" ] ||
		fail "tracer bug: the barrier's contended count is $v; only the $calls arrivals in barrier_once waited"
}

@test "sync/join: pthread_join of a thread still running, in join_once" {
	blk_site sync blk_sync.c sync join JOIN-SITE join_once join
}

@test "sync/join: pthread_timedjoin_np, in timedjoin_once" {
	blk_site sync blk_sync.c sync join TIMEDJOIN-SITE timedjoin_once timedjoin
}

@test "sync/join: pthread_clockjoin_np (CLOCK_MONOTONIC), in clockjoin_once" {
	blk_site sync blk_sync.c sync join CLOCKJOIN-SITE clockjoin_once clockjoin
}

@test "sync/join: pthread_tryjoin_np never waits: nothing recorded at tryjoin_once" {
	blk_ran sync
	local line calls
	line=$(blk_marked_line "$BLK_SRC/tests/progs/blk_sync.c" TRYJOIN-SITE)
	calls=$(blk_value "$BLK_DIR/sync.out" tryjoin_calls)
	# the program did call it, on running threads (EBUSY) and on exited ones
	[ -n "$calls" ] && [ "$calls" -gt 5 ] || fail "tryjoin_calls=$calls"
	assert_equal "$(grep '^tryjoin:' "$BLK_DIR/sync.out")" "tryjoin: 5 threads, 5 EBUSY first"
	run jq -c --argjson l "$line" '[.profiles[] | select(.frames[0].func == "tryjoin_once"
		or .frames[0].line == $l and (.frames[0].file // "" | endswith("blk_sync.c")))
		| {profile, kind, count}]' "$BLK_DIR/sync.json"
	assert_output "[]"
}

@test "sync/spin: contended pthread_spin_lock, in spin_once" {
	blk_site sync blk_sync.c sync spin SPIN-SITE spin_once spin
}

@test "sync/futex: syscall(SYS_futex, FUTEX_WAIT), in futex_wait_once" {
	blk_site sync blk_sync.c sync futex FUTEX-SITE futex_wait_once futex
}

# ---- sync: holders and wake-ups ----

@test "holder/sem: the sem_post in sem_poster carries every semaphore wait" {
	blk_holder sync blk_sync.c sem SEM-POST-SITE sem_poster "" \
		sem_wait:SEM-WAIT-SITE:sem_wait_once sem_timedwait:SEM-TIMEDWAIT-SITE:sem_timedwait_once \
		sem_clockwait:SEM-CLOCKWAIT-SITE:sem_clockwait_once sem_named:NAMED-SEM-SITE:named_sem_once
}

@test "holder/rwlock: the writer's unlock carries the read-lock waits behind it" {
	blk_holder sync blk_sync.c 'rwlock_rd|rwlock_wr' WR-UNLOCK-SITE rw_writer "" \
		rwlock_rd:RWLOCK-RD-SITE:rdlock_once rwlock_timedrd:RWLOCK-TIMEDRD-SITE:timedrdlock_once \
		rwlock_clockrd:RWLOCK-CLOCKRD-SITE:clockrdlock_once
}

@test "holder/rwlock: the reader's unlock carries the write-lock waits behind it" {
	blk_holder sync blk_sync.c 'rwlock_rd|rwlock_wr' RD-UNLOCK-SITE rw_reader "" \
		rwlock_wr:RWLOCK-WR-SITE:wrlock_once rwlock_timedwr:RWLOCK-TIMEDWR-SITE:timedwrlock_once \
		rwlock_clockwr:RWLOCK-CLOCKWR-SITE:clockwrlock_once
}

@test "holder/barrier: the last arrival (late_arrival) carries the barrier waits" {
	blk_holder sync blk_sync.c barrier BARRIER-ARRIVE-SITE late_arrival "" \
		barrier:BARRIER-SITE:barrier_once
}

@test "holder/join: a thread's exit carries the joins, charged to where it was created" {
	# the exiting thread has no stack of its own left: its creator's stands for it
	blk_holder sync blk_sync.c join CREATE-SITE helper test_join join:JOIN-SITE:join_once \
		timedjoin:TIMEDJOIN-SITE:timedjoin_once clockjoin:CLOCKJOIN-SITE:clockjoin_once
}

@test "holder/spin: the spin unlock in spin_holder carries the spin waits" {
	blk_holder sync blk_sync.c spin SPIN-UNLOCK-SITE spin_holder "" spin:SPIN-SITE:spin_once
}

@test "holder/futex: the FUTEX_WAKE in futex_waker carries the futex waits" {
	blk_holder sync blk_sync.c futex FUTEX-WAKE-SITE futex_waker "" \
		futex:FUTEX-SITE:futex_wait_once
}

@test "wakeup: every sync wait has its wake-up, at the waiting site" {
	local w
	for w in sem:SEM-WAIT-SITE:sem_wait_once:sem_wait \
		sem:SEM-TIMEDWAIT-SITE:sem_timedwait_once:sem_timedwait \
		sem:SEM-CLOCKWAIT-SITE:sem_clockwait_once:sem_clockwait \
		sem:NAMED-SEM-SITE:named_sem_once:sem_named \
		rwlock_rd:RWLOCK-RD-SITE:rdlock_once:rwlock_rd \
		rwlock_rd:RWLOCK-TIMEDRD-SITE:timedrdlock_once:rwlock_timedrd \
		rwlock_rd:RWLOCK-CLOCKRD-SITE:clockrdlock_once:rwlock_clockrd \
		rwlock_wr:RWLOCK-WR-SITE:wrlock_once:rwlock_wr \
		rwlock_wr:RWLOCK-TIMEDWR-SITE:timedwrlock_once:rwlock_timedwr \
		rwlock_wr:RWLOCK-CLOCKWR-SITE:clockwrlock_once:rwlock_clockwr \
		barrier:BARRIER-SITE:barrier_once:barrier \
		join:JOIN-SITE:join_once:join join:TIMEDJOIN-SITE:timedjoin_once:timedjoin \
		join:CLOCKJOIN-SITE:clockjoin_once:clockjoin \
		spin:SPIN-SITE:spin_once:spin futex:FUTEX-SITE:futex_wait_once:futex; do
		IFS=: read -r kind mark func key <<<"$w"
		blk_wakeup sync blk_sync.c "$kind" "$mark" "$func" "$key"
	done
}

# ---- net ----

@test "net/accept: accept on a loopback listener, in accept_once (plain and fortified)" {
	blk_site2 net blk_net.c net accept ACCEPT-SITE accept_once accept socket
}

@test "net/accept: accept4, in accept4_once (plain and fortified)" {
	blk_site2 net blk_net.c net accept ACCEPT4-SITE accept4_once accept4 socket
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

@test "net/recv: recvmsg, in recvmsg_once (plain and fortified)" {
	blk_site2 net blk_net.c net recv RECVMSG-SITE recvmsg_once recvmsg socket
}

@test "net/recv: recvmmsg, in recvmmsg_once (plain and fortified)" {
	blk_site2 net blk_net.c net recv RECVMMSG-SITE recvmmsg_once recvmmsg socket
}

@test "net/read: read on a TCP socket is network waiting, in sock_read_once (plain and fortified)" {
	blk_site2 net blk_net.c net read SOCK-READ-SITE sock_read_once sock_read socket
}

@test "net/read: readv on a TCP socket is network waiting, in sock_readv_once (plain and fortified)" {
	blk_site2 net blk_net.c net read SOCK-READV-SITE sock_readv_once sock_readv socket
}

@test "net/send: send on a full socketpair, in send_once (plain and fortified)" {
	blk_site2 net blk_net.c net send SEND-SITE send_once send socket
}

@test "net/send: sendmsg on a full socketpair, in sendmsg_once (plain and fortified)" {
	blk_site2 net blk_net.c net send SENDMSG-SITE sendmsg_once sendmsg socket
}

@test "net/send: sendmmsg on a full socketpair, in sendmmsg_once (plain and fortified)" {
	blk_site2 net blk_net.c net send SENDMMSG-SITE sendmmsg_once sendmmsg socket
}

@test "net/write: writev on a full socketpair is network waiting, in sock_writev_once (plain and fortified)" {
	blk_site2 net blk_net.c net write SOCK-WRITEV-SITE sock_writev_once sock_writev socket
}

@test "net/epoll: epoll_wait, in epoll_once (plain and fortified)" {
	blk_site2 net blk_net.c net epoll EPOLL-SITE epoll_once epoll
}

@test "net/epoll: epoll_pwait, in epoll_pwait_once (plain and fortified)" {
	blk_site2 net blk_net.c net epoll EPOLL-PWAIT-SITE epoll_pwait_once epoll_pwait
}

@test "net/epoll: epoll_pwait2, in epoll_pwait2_once (plain and fortified)" {
	blk_site2 net blk_net.c net epoll EPOLL-PWAIT2-SITE epoll_pwait2_once epoll_pwait2
}

@test "net/poll: poll, in poll_once (plain and fortified: __poll_chk)" {
	blk_site2 net blk_net.c net poll POLL-SITE poll_once poll
}

@test "net/poll: ppoll, in ppoll_once (plain and fortified: __ppoll_chk)" {
	blk_site2 net blk_net.c net poll PPOLL-SITE ppoll_once ppoll
}

@test "net/select: select, in select_once (plain and fortified)" {
	blk_site2 net blk_net.c net select SELECT-SITE select_once select
}

@test "net/select: pselect, in pselect_once (plain and fortified)" {
	blk_site2 net blk_net.c net select PSELECT-SITE pselect_once pselect
}

# ---- syscall ----

@test "syscall/read: read on a pipe, in pipe_read_once (plain and fortified: __read_chk)" {
	blk_site2 io blk_io.c syscall read PIPE-READ-SITE pipe_read_once pipe_read pipe
}

@test "syscall/read: readv on a pipe, in pipe_readv_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall read PIPE-READV-SITE pipe_readv_once pipe_readv pipe
}

@test "syscall/read: preadv2 at offset -1 on a pipe, in pipe_preadv2_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall read PIPE-PREADV2-SITE pipe_preadv2_once pipe_preadv2 pipe
}

@test "syscall/write: write on a full pipe, in pipe_write_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall write PIPE-WRITE-SITE pipe_write_once pipe_write pipe
}

@test "syscall/write: writev on a full pipe, in pipe_writev_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall write PIPE-WRITEV-SITE pipe_writev_once pipe_writev pipe
}

@test "syscall/write: pwritev2 at offset -1 on a full pipe, in pipe_pwritev2_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall write PIPE-PWRITEV2-SITE pipe_pwritev2_once pipe_pwritev2 pipe
}

# blk_need_disk: skips a test of file I/O that waits for the disk when no disk filesystem
# was found for it.
blk_need_disk() {
	[ -n "$(cat "$BLK_DIR/sync_dir")" ] ||
		skip "the build directory and /var/tmp are tmpfs: nothing there waits for a disk"
}

@test "syscall/read: pread of 16 MiB with O_DIRECT, in pread_once (plain and fortified: __pread_chk)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall read PREAD-SITE pread_once pread file
}

@test "syscall/read: pread64 of 16 MiB with O_DIRECT, in pread64_once (plain and fortified: __pread64_chk)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall read PREAD64-SITE pread64_once pread64 file
}

@test "syscall/read: preadv of 16 MiB with O_DIRECT, in preadv_once (plain and fortified)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall read PREADV-SITE preadv_once preadv file
}

@test "syscall/write: pwrite of 16 MiB with O_DIRECT, in pwrite_once (plain and fortified)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall write PWRITE-SITE pwrite_once pwrite file
}

@test "syscall/write: pwrite64 of 16 MiB with O_DIRECT, in pwrite64_once (plain and fortified)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall write PWRITE64-SITE pwrite64_once pwrite64 file
}

@test "syscall/write: pwritev of 16 MiB with O_DIRECT, in pwritev_once (plain and fortified)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall write PWRITEV-SITE pwritev_once pwritev file
}

@test "syscall/fsync: fsync of 32 MiB of new data, in fsync_once (plain and fortified)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall fsync FSYNC-SITE fsync_once fsync file
}

@test "syscall/fsync: fdatasync, in fdatasync_once (plain and fortified)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall fsync FDATASYNC-SITE fdatasync_once fdatasync file
}

@test "syscall/fsync: sync_file_range (wait, write, wait), in sync_file_range_once (plain and fortified)" {
	blk_need_disk
	blk_site2 io blk_io.c syscall fsync SYNC-FILE-RANGE-SITE sync_file_range_once sync_file_range file
}

@test "syscall/wait: waitpid on a child, in waitpid_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall wait WAITPID-SITE waitpid_once waitpid
}

@test "syscall/wait: wait, in wait_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall wait WAIT-SITE wait_once wait
}

@test "syscall/wait: wait3, in wait3_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall wait WAIT3-SITE wait3_once wait3
}

@test "syscall/wait: wait4, in wait4_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall wait WAIT4-SITE wait4_once wait4
}

@test "syscall/wait: waitid, in waitid_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall wait WAITID-SITE waitid_once waitid
}

@test "syscall/flock: flock held by another process, in flock_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall flock FLOCK-SITE flock_once flock file
}

@test "syscall/flock: fcntl(F_SETLKW) held by another process, in fcntl_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall flock FCNTL-SETLKW-SITE fcntl_once fcntl_setlkw file
}

@test "syscall/flock: fcntl(F_OFD_SETLKW) held by another process, in ofd_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall flock FCNTL-OFD-SETLKW-SITE ofd_once fcntl_ofd_setlkw file
}

@test "syscall/flock: lockf(F_LOCK) held by another process, in lockf_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall flock LOCKF-SITE lockf_once lockf file
}

@test "syscall/sigwait: sigwait, in sigwait_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall sigwait SIGWAIT-SITE sigwait_once sigwait
}

@test "syscall/sigwait: sigtimedwait, in sigtimedwait_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall sigwait SIGTIMEDWAIT-SITE sigtimedwait_once sigtimedwait
}

@test "syscall/sigwait: sigwaitinfo, in sigwaitinfo_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall sigwait SIGWAITINFO-SITE sigwaitinfo_once sigwaitinfo
}

@test "syscall/sigwait: sigsuspend until a handled signal, in sigsuspend_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall sigwait SIGSUSPEND-SITE sigsuspend_once sigsuspend
}

@test "syscall/sigwait: pause until a handled signal, in pause_once (plain and fortified)" {
	blk_site2 io blk_io.c syscall sigwait PAUSE-SITE pause_once pause
}

@test "syscall/open: open of a FIFO without a writer, in open_once (plain and fortified: __open_2)" {
	blk_site2 io blk_io.c syscall open OPEN-SITE open_once open
}

@test "syscall/open: openat of a FIFO without a writer, in openat_once (plain and fortified: __openat_2)" {
	blk_site2 io blk_io.c syscall open OPENAT-SITE openat_once openat
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
	# the text report keeps the top entries of each profile and folds the waits of threads
	# idle most of their life (whether main is one depends on the machine's load): ask
	# for all of them
	run "$BLK_CT" report --all --top 1000 --profile net "$BLK_DIR/net.ctr"
	assert_output --partial epoll_once
	run "$BLK_CT" report --all --top 1000 --profile sleep "$BLK_DIR/io.ctr"
	assert_output --partial nanosleep_once
}

# blk_blocked RUN KEY-REGEX PROFILE MAX: main's blocked_ns.PROFILE is at least 95% of the
# sum of the KEY_total_ns lines matching KEY-REGEX (less their KEY_rq_ns: the run-queue
# time in the calls the program was preempted in, as in blk_site), and at most MAX times it.
blk_blocked() {
	local want got rq
	want=$(grep -E "$2" "$BLK_DIR/$1.out" | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }')
	rq=$(grep -E "${2%_total_ns=}_rq_ns=" "$BLK_DIR/$1.out" | cut -d= -f2 |
		awk '{ s += $1 } END { print s + 0 }')
	got=$(jq --arg p "$3" '.threads[] | select(.start_func == "main") | .blocked_ns[$p]' \
		"$BLK_DIR/$1.json")
	awk -v g="$got" -v w="$want" -v m="$4" -v q="$rq" \
		'BEGIN { exit !(w > 0 && g >= 0.95 * w - q && g <= m * w) }' ||
		fail "$1: main's blocked_ns.$3 is $got; the program measured $want there ($rq ns of it waiting for a CPU)"
}

@test "threads: main's blocked_ns per profile covers what the program measured" {
	blk_ran net
	blk_ran io
	# blk_net: every measured call is network waiting, and main waits on nothing else
	blk_blocked net '^[a-z_0-9]+_total_ns=' net 1.05
	# blk_io: the sleeps are main's only sleeps but for a 2 ms warm-up (which a loaded
	# machine can make 100 ms: the program measured it too); its other system calls
	# (filling and draining, writing the data the syncs flush, reaping) add to the
	# measured ones
	blk_blocked io '^(nanosleep|clock_nanosleep|usleep|sleep|warmup)_total_ns=' sleep 1.05
	blk_blocked io '^(pipe_[a-z0-9]+|p(read|write)[a-z0-9]*|f(data)?sync|sync_file_range|wait[a-z0-9]*|flock|fcntl_[a-z_]+|lockf|sig[a-z]+|pause|open(at)?)_total_ns=' \
		syscall 2
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
		[ "$output" -ge 130 ] || fail "$n: only $output checks ran"
		run grep -v '^ok ' "$BLK_DIR/$n.out"
		assert_output "PASS: 0 failed"
		[ "$(cat "$BLK_DIR/$n.json.rc")" = 0 ]
	done
}
