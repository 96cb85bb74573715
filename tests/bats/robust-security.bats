#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# What a traced program and its users can rely on (preload/README.md, record path rules 8, 9
# and 10): the trace file is private (0600 whatever the umask), close-on-exec, never written
# through a symlink nor over an existing file; the tracer's fds stay out of the program's
# numbers; setuid programs and static binaries are not traced and behave the same, and
# `ctrace record` says so; CTRACE_* values that do not parse give one warning line and the
# default. tests/progs/proc_sec.c shows the program's side (its fds, its environment).

load helpers

setup() { common_setup; }

teardown() {
	[ -n "${SUID_DIR:-}" ] && rm -rf "$SUID_DIR"
	return 0
}

SEC=$PROGS/proc_sec

# traced OUT ARGS...: proc_sec traced into OUT (CTRACE_OUT), stderr apart.
traced() {
	local out=$1
	shift
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT="$out" "$SEC" "$@"
}

# mutex_waits FILE: WAIT_BEGIN events on mutexes in FILE.
mutex_waits() {
	timeout 60 "$CT" dump "$1" | grep -c 'WAIT_BEGIN kind=mutex' || true
}

@test "the trace file is 0600 and the running user's whatever the umask" {
	for mask in 000 022 077; do
		run bash -c 'umask "$1" && exec timeout 60 env LD_PRELOAD="$2" CTRACE_OUT="u$1.%p.ctr" "$3" whoami' \
			_ $mask "$LIB" "$SEC"
		assert_equal "$status" 4
		f=$(ls u$mask.*.ctr)
		assert_equal "$(stat -c '%a %u' "$f")" "600 $(id -u)"
		assert_equal "$(mutex_waits "$f")" 2
	done
}

@test "libctrace's fds are close-on-exec: an exec'd image inherits none of them" {
	# in the traced process: every fd of libctrace's (moved to >= 900) is close-on-exec
	traced t.%p.ctr fds
	assert_success
	assert_line --regexp '^high 9[0-9][0-9] cloexec=1 -> .*/t\.[0-9]+\.ctr$'
	refute_line --regexp 'cloexec=0'
	# the raw execve system call, no wrapper: the new image is untraced and has exactly
	# the fds an untraced run's new image has
	run timeout 60 "$SEC" rawexec
	assert_success
	plain=$output
	traced t.%p.ctr rawexec
	assert_success
	assert_equal "$output" "$plain"
	refute_line --partial "high"
	# through execv: the new image (same pid) holds its own trace file, not the old one's
	rm -f t.*.ctr
	traced t.%p.ctr execfds
	assert_success
	pid=$(ls t.*.ctr | head -n1 | sed 's/^t\.\([0-9]*\)\..*/\1/')
	assert_line --regexp "^high 9[0-9][0-9] cloexec=1 -> .*/t\\.$pid\\.1\\.ctr\$"
	refute_line --regexp "/t\\.$pid\\.ctr\$"
	[ "$(mutex_waits "t.$pid.ctr")" = 2 ] && [ "$(mutex_waits "t.$pid.1.ctr")" = 2 ]
}

@test "CTRACE_OUT naming an existing symlink: the link is not followed, its target untouched, the next name used" {
	echo precious >target
	touch -d '2001-02-03 04:05:06' target
	before=$(stat -c '%s %Y %a' target)
	ln -s target link.ctr
	traced link.ctr whoami
	assert_equal "$status" 4
	assert_equal "$(cat target)" precious
	assert_equal "$(stat -c '%s %Y %a' target)" "$before"
	[ -L link.ctr ] && [ "$(readlink link.ctr)" = target ]
	[ -f link.1.ctr ] && [ ! -L link.1.ctr ]
	assert_equal "$(mutex_waits link.1.ctr)" 2
	# a dangling link: its target is not created
	ln -s "$BATS_TEST_TMPDIR/nothere" dangling.ctr
	traced dangling.ctr whoami
	assert_equal "$status" 4
	[ ! -e nothere ]
	assert_equal "$(mutex_waits dangling.1.ctr)" 2
}

@test "an existing file, or a FIFO, is never written: the next free name is taken" {
	echo one >keep.ctr
	echo two >keep.1.ctr
	traced keep.ctr whoami
	assert_equal "$status" 4
	assert_equal "$(cat keep.ctr)" one
	assert_equal "$(cat keep.1.ctr)" two
	assert_equal "$(mutex_waits keep.2.ctr)" 2
	# a FIFO at the name: opening it would block the program; it is skipped
	mkfifo pipe.ctr
	traced pipe.ctr whoami
	assert_equal "$status" 4
	[ -p pipe.ctr ]
	assert_equal "$(mutex_waits pipe.1.ctr)" 2
}

@test "the program's first open, socket and pipe get the numbers they get untraced (default fd limit)" {
	run timeout 60 "$SEC" firstfd
	assert_success
	plain=${lines[0]}
	traced t.%p.ctr firstfd
	assert_success
	assert_equal "${lines[0]}" "$plain"
}

@test "ulimit -n 256 (the tracer cannot move its fds to 900): the program's first open still gets the number it gets untraced" {
	run bash -c 'ulimit -n 256 && exec timeout 60 "$0" firstfd' "$SEC"
	assert_success
	plain=${lines[0]}
	run --separate-stderr bash -c 'ulimit -n 256 && exec timeout 60 env LD_PRELOAD="$1" CTRACE_OUT=t.%p.ctr "$0" firstfd' "$SEC" "$LIB"
	assert_success
	assert_equal "${lines[0]}" "$plain"
}

# suid_copy: a root-owned setuid copy of proc_sec in a directory nobody can reach
# ($SUID_DIR, removed by teardown); skips unless root with setpriv.
suid_copy() {
	[ "$(id -u)" = 0 ] || skip "needs root (a setuid-root copy run as nobody)"
	command -v setpriv >/dev/null || skip "no setpriv"
	SUID_DIR=$(mktemp -d /tmp/ctrace-suid.XXXXXX)
	chmod 0755 "$SUID_DIR"
	cp "$SEC" "$SUID_DIR/proc_sec"
	chown root: "$SUID_DIR/proc_sec"
	chmod 4755 "$SUID_DIR/proc_sec"
	mkdir "$SUID_DIR/out"
	chmod 0777 "$SUID_DIR/out"
	AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
}

@test "a setuid-root program run as nobody is not traced and behaves the same" {
	suid_copy
	cd "$SUID_DIR/out"
	run --separate-stderr timeout 60 "${AS[@]}" "$SUID_DIR/proc_sec" whoami
	assert_equal "$status" 4
	plain=$output
	assert_equal "$plain" "uid=$(id -u nobody) euid=0 secure=1 LD_PRELOAD=unset"
	run --separate-stderr timeout 60 "${AS[@]}" env LD_PRELOAD="$LIB" \
		CTRACE_OUT="$SUID_DIR/out/t.%p.ctr" "$SUID_DIR/proc_sec" whoami
	assert_equal "$status" 4
	assert_equal "$output" "$plain"
	assert_equal "$stderr" ""
	[ -z "$(ls "$SUID_DIR/out")" ]
}

@test "ctrace record of a setuid program: its status and output, one line on stderr, no trace" {
	suid_copy
	cd "$SUID_DIR/out"
	run --separate-stderr timeout 60 "${AS[@]}" env CTRACE_LIB="$LIB" "$CT" record -o "$SUID_DIR/out/r.%p.ctr" -- "$SUID_DIR/proc_sec" whoami
	assert_equal "$status" 4
	assert_equal "$output" "uid=$(id -u nobody) euid=0 secure=1 LD_PRELOAD=unset"
	# why, before the program runs, and that there is no trace, after it
	assert_equal "${#stderr_lines[@]}" 2
	assert_regex "${stderr_lines[0]}" '^ctrace: .*proc_sec is setuid .*running it anyway$'
	assert_regex "${stderr_lines[1]}" '^ctrace: no trace written: .*proc_sec is setuid '
	[ -z "$(ls "$SUID_DIR/out")" ]
}

@test "ctrace record of a static binary: its status and output, one line on stderr that says it is static, no trace" {
	printf '#include <stdio.h>\nint main(void) { puts("static hello"); return 7; }\n' >st.c
	cc -static -o st st.c 2>/dev/null || skip "no static libc to link with"
	run --separate-stderr timeout 60 "$CT" record -o r.%p.ctr -- ./st
	assert_equal "$status" 7
	assert_equal "$output" "static hello"
	assert_equal "${#stderr_lines[@]}" 2
	assert_equal "${stderr_lines[0]}" "ctrace: ./st is statically linked: LD_PRELOAD cannot trace it; running it anyway"
	assert_equal "${stderr_lines[1]}" "ctrace: no trace written: ./st is statically linked: LD_PRELOAD cannot trace it"
	[ -z "$(ls r.*.ctr 2>/dev/null)" ]
}

@test "a program that unsets LD_PRELOAD before system(): its children run untraced; record reports the program's own trace" {
	run timeout 60 "$SEC" clearenv "$SEC" whoami
	assert_equal "$status" 4
	plain=$output
	run --separate-stderr timeout 60 "$CT" record -o r.%p.ctr -- "$SEC" clearenv "$SEC" whoami
	assert_equal "$status" 4
	assert_equal "$output" "$plain"
	# one file, the program's; record names it
	[ "$(ls r.*.ctr | wc -l)" = 1 ]
	f=$(ls r.*.ctr)
	assert_equal "$stderr" "ctrace: trace written to $f"
	assert_equal "$(mutex_waits "$f")" 2
}

@test "env -u LD_PRELOAD PROGRAM under record: the exec keeps tracing (LD_PRELOAD put back), both images' traces written" {
	run --separate-stderr timeout 60 "$CT" record -o r.%p.ctr -- env -u LD_PRELOAD "$SEC" whoami
	assert_equal "$status" 4
	assert_regex "$output" '^uid=[0-9]+ euid=[0-9]+ secure=0 LD_PRELOAD=set$'
	pid=$(ls r.*.ctr | head -n1 | sed 's/^r\.\([0-9]*\)\..*/\1/')
	[ "$(ls r.*.ctr | wc -l)" = 2 ]
	# env's own image (no waits) and the program's (2 waits), same pid
	# record lists both, with the image each belongs to
	assert_equal "${stderr_lines[0]}" "ctrace: trace written to r.$pid.ctr (pid $pid: $(command -v env))"
	assert_equal "${stderr_lines[1]}" "ctrace: trace written to r.$pid.1.ctr (pid $pid: $SEC)"
	assert_equal "$(mutex_waits "r.$pid.1.ctr")" 2
}

# warning_of VAR=VALUE: runs proc_sec whoami traced with VAR=VALUE; checks its output and
# status are those of a traced run without it, and prints its stderr.
warning_of() {
	local plain out err st
	plain=$(timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=ref.%p.ctr "$SEC" whoami) || [ $? = 4 ]
	out=$(timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$1" "$SEC" whoami 2>err.txt) && st=0 || st=$?
	[ "$st" = 4 ] || fail "$1: exit status $st"
	[ "$out" = "$plain" ] || fail "$1: output '$out', not '$plain'"
	cat err.txt
}

MALFORMED="CTRACE_DEPTH=0 CTRACE_BUFFER_SIZE=huge CTRACE_BUFFERS=1 CTRACE_MAX_THREADS=-5
	CTRACE_FLUSH_MS=1e3 CTRACE_GENERATION_MS=soon CTRACE_SYSCALL_THRESHOLD=20
	CTRACE_DISABLE=maybe CTRACE_BUFER_SIZE=8k"

@test "malformed CTRACE_* values, and an unknown CTRACE_ name: one warning line each, naming the variable and the value given" {
	bad=
	for v in $MALFORMED; do
		rm -f t.*.ctr
		err=$(warning_of "$v")
		name=${v%%=*} val=${v#*=}
		if [ "$(printf '%s' "$err" | grep -c .)" != 1 ] || [[ "$err" != "libctrace: "*"$name"* ]] ||
			! grep -qF -e "$name=$val " -e "$name=$val;" -e "$name=$val:" -e "$name='$val'" \
				-e "\"$val\"" <<<"$err"; then
			bad+="$v: [$err]"$'\n'
		fi
	done
	[ -z "$bad" ] || fail "wrong or missing warnings:"$'\n'"$bad"
}

@test "malformed values: the default is used (depth, buffers, thread slots, periods, threshold)" {
	for v in $MALFORMED; do
		[ "$v" = CTRACE_DISABLE=maybe ] && continue
		rm -f t.*.ctr
		warning_of "$v" >/dev/null
		assert_equal "$(mutex_waits t.*.ctr)" 2
	done
	# CTRACE_DEPTH=0: the default 32 frames at most, not 1
	rm -f t.*.ctr
	warning_of CTRACE_DEPTH=0 >/dev/null
	max=$(timeout 60 "$CT" dump t.*.ctr | sed -n 's/.* STACK id=[0-9]* nframes=\([0-9]*\) .*/\1/p' | sort -n | tail -n1)
	[ "$max" -gt 1 ] && [ "$max" -le 32 ]
	# CTRACE_BUFFER_SIZE=huge, CTRACE_BUFFERS=1: default buffers, a flood of 16 x 1,000
	# events loses nothing (4 KiB or 2 buffers would)
	for v in CTRACE_BUFFER_SIZE=huge CTRACE_BUFFERS=1; do
		run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT="f.$v.%p.ctr" \
			CTRACE_SYSCALL_THRESHOLD=0ns "$v" "$PROGS/proc_flood" calls 16 1000
		assert_success
		assert_equal "$(timeout 60 "$CT" report --json f."$v".*.ctr | jq .trace.lost_events)" 0
	done
}

@test "a malformed value warns once, not again in every image the program execs" {
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr CTRACE_BUFFERS=lots \
		"$PROGS/proc_fork" exec-self
	assert_equal "$status" 5
	echo "stderr: $stderr"
	assert_equal "${#stderr_lines[@]}" 1
	[ "$(ls t.*.ctr | wc -l)" = 2 ]
}
