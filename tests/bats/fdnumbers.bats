#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The program's fd numbers are its own (preload/fdguard.c): libctrace's trace file sits at
# 900 (or at the top of a lower descriptor limit), yet every call that names a number
# (dup2, dup3, fcntl F_DUPFD*/F_GETFD/F_SETFD/F_GETFL/F_SETFL, dup, close, close_range)
# gives the program what it gets untraced, the program's file never receives trace bytes
# and the trace stays readable. And CTRACE_FOLLOW / `ctrace record --no-follow`: which of
# the processes a traced program starts are traced. tests/progs/fdn_numbers.c is the
# program's side.

load helpers

setup() { common_setup; }

FDN=$PROGS/fdn_numbers
SRC_FDN=$SRC/tests/progs/fdn_numbers.c

# both MODE [LIMIT]: fdn_numbers MODE untraced (file u.MODE, output $plain) and traced
# (file t.MODE, trace t.MODE.PID.ctr, output $output), each under ulimit -n LIMIT when
# given; the writer writes every 10 ms, so it writes while the program holds the numbers.
both() {
	local mode=$1 lim=${2:-}
	run timeout 60 bash -c '[ -z "$1" ] || ulimit -n "$1"; exec "$2" "$3" "$4"' _ "$lim" \
		"$FDN" "$mode" "u.$mode"
	assert_success
	plain=$(printf '%s\n' "$output" | grep -v '^sleeps=')
	run timeout 60 bash -c '[ -z "$1" ] || ulimit -n "$1"; exec env CTRACE_FLUSH_MS=10 \
		LD_PRELOAD="$5" CTRACE_OUT="t.$3.%p.ctr" "$2" "$3" "$4"' _ "$lim" "$FDN" "$mode" \
		"t.$mode" "$LIB"
	assert_success
	traced=$output
	assert_equal "$(printf '%s\n' "$traced" | grep -v '^sleeps=')" "$plain"
}

# tracer_at NUMBER [LIMIT]: a traced process's own trace file is at NUMBER (the premise
# of the tests: the numbers fdn_numbers targets are the tracer's).
tracer_at() {
	run timeout 60 bash -c '[ -z "$1" ] || ulimit -n "$1"; exec env LD_PRELOAD="$3" \
		CTRACE_OUT=p.%p.ctr readlink "/proc/self/fd/$2"' _ "${2:-}" "$1" "$LIB"
	assert_success
	assert_output --regexp '/p\.[0-9]+\.ctr$'
	rm -f p.*.ctr
}

# sleeps_ok MODE: the trace of MODE is readable and has every nanosleep of the line
# marked NAP, as many as the program counted (sleeps=N).
sleeps_ok() {
	local f n want line
	f=$(ls t."$1".*.ctr)
	line=$(marked_line "$SRC_FDN" NAP)
	want=$(printf '%s\n' "$traced" | sed -n 's/^sleeps=//p')
	[ -n "$want" ] && [ "$want" -gt 0 ]
	n=$(jreport "$f" "[.profiles[] | select(.profile == \"sleep\" and .frames[0].func ==
		\"nap\" and .frames[0].line == $line) | .count] | add")
	assert_equal "$n" "$want"
	run "$CT" report "$f"
	assert_success
	refute_output --partial truncated
}

@test "dup2 onto every tracer number: the program's file is byte for byte the untraced one, the trace is whole" {
	tracer_at 900
	both dup2
	assert_line 'dup2 900 -> 900 '
	assert_line 'close 900 -> 0 '
	cmp u.dup2 t.dup2
	sleeps_ok dup2
	# the same where the descriptor limit puts the trace file at its top (63)
	rm -f t.dup2.*.ctr
	tracer_at 63 64
	both dup2 64
	assert_line 'dup2 63 -> 63 '
	cmp u.dup2 t.dup2
	sleeps_ok dup2
}

@test "dup3 with O_CLOEXEC onto every tracer number: same results, flags and file as untraced" {
	both dup3
	assert_line 'dup3 900 -> 900 '
	assert_line 'flags 900: 1'
	cmp u.dup3 t.dup3
	sleeps_ok dup3
}

@test "fcntl F_GETFD/F_GETFL/F_SETFD/F_SETFL/F_DUPFD, dup, dup2, dup3, fstat, statx and close on a tracer number say EBADF" {
	for lim in "" 64; do
		both getfd $lim
		t=900
		[ -z "$lim" ] || t=63
		for call in F_GETFD F_GETFL F_SETFD F_SETFL F_DUPFD dup fstat fstatat statx close; do
			assert_line "$call $t -> -1 EBADF"
		done
		assert_line "dup2 to 50 from $t -> -1 EBADF"
		assert_line "dup2 to itself $t -> -1 EBADF"
		assert_line "dup3 to 51 from $t -> -1 EBADF"
		# and the trace still ends well
		run "$CT" report t.getfd.*.ctr
		assert_success
		rm -f t.getfd.*.ctr
	done
}

@test "F_DUPFD and dup return the lowest number free for the program, the tracer's counted as free" {
	for lim in "" 64; do
		both dupfd $lim
		cmp u.dupfd t.dupfd
		rm -f t.dupfd.*.ctr
	done
	# untraced F_DUPFD from 900 gives 900, then 901 (with CLOEXEC), ...
	both dupfd
	assert_line --regexp '^F_DUPFD from 900 [0-9]+ -> 900 $'
	assert_line --regexp '^F_DUPFD_CLOEXEC from 900 [0-9]+ -> 901 $'
	assert_line 'flags 901: 1'
	run "$CT" report t.dupfd.*.ctr
	assert_success
}

@test "bash: exec 900>file, exec 902>&1 and exec 901<file behave as untraced" {
	script='exec 900>f900; echo x >&900; exec 900>&-; cat f900
		exec 902>&1; echo y >&902; exec 902>&-
		exec 901<f900; read -r l <&901; echo "read $l"; exec 901<&-
		exec 903>&2; echo z >&903; echo done'
	run --separate-stderr timeout 60 bash -c "$script"
	assert_success
	plain=$output
	plain_err=$stderr
	run --separate-stderr timeout 60 "$CT" record -o b.%p.ctr -- bash -c "$script"
	assert_success
	assert_equal "$output" "$plain"
	assert_equal "$plain" "$(printf 'x\ny\nread x\ndone')"
	assert_equal "$plain_err" z
	assert_equal "$(printf '%s\n' "$stderr" | grep -v '^ctrace: trace written')" "$plain_err"
	assert_equal "$(cat f900)" x
	# bash's own trace (it has no waits to speak of) is readable and not written into
	for f in b.*.ctr; do
		run "$CT" report "$f"
		assert_success
	done
}

@test "close_range(3, ~0U, 0): the program goes on, gets fd 3 for its next open, and the trace is whole" {
	both closerange
	assert_line 'close_range 3 -> 0 '
	assert_line 'opened 3'
	cmp u.closerange t.closerange
	sleeps_ok closerange
}

@test "libunwind's validation needs no fd: the traced program's only extra fd is its trace file" {
	run timeout 60 "$FDN" list x
	assert_success
	plain=$(printf '%s\n' "$output" | grep '^fd ')
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=l.%p.ctr "$FDN" list x
	assert_success
	extra=$(printf '%s\n' "$output" | grep '^fd ' | grep -vxF -- "$plain")
	[ "$(printf '%s\n' "$extra" | wc -l)" = 1 ] || fail "extra fds: $extra"
	[[ "$extra" =~ ^fd\ 900\ -\>\ .*/l\.[0-9]+\.ctr$ ]] || fail "extra fd: $extra"
	# stacks were captured (the sleeps have theirs), through libunwind's validation
	f=$(ls l.*.ctr)
	line=$(marked_line "$SRC_FDN" NAP)
	run jreport "$f" "[.profiles[] | select(.profile == \"sleep\") | .frames[0].line] | unique"
	assert_output "[
  $line
]"
}

# follow MODE SCRIPT...: the trace files record lists for `sh -c SCRIPT` with
# CTRACE_FOLLOW=MODE (MODE "--no-follow": record's option instead); $execs: their images,
# one per line, sorted.
follow() {
	local mode=$1
	shift
	mkdir -p "f.$mode" && cd "f.$mode" || return 1
	if [ "$mode" = --no-follow ]; then
		run --separate-stderr timeout 60 "$CT" record --no-follow -o t.%p.ctr -- sh -c "$1"
	else
		run --separate-stderr timeout 60 env CTRACE_FOLLOW="$mode" "$CT" record \
			-o t.%p.ctr -- sh -c "$1"
	fi
	assert_success
	execs=$(for f in t.*.ctr; do "$CT" report --json "$f" | jq -r .trace.exe; done |
		sed 's|.*/||' | sort)
	cd ..
}

@test "CTRACE_FOLLOW=all|exec|none and record --no-follow: which children leave a trace" {
	script='env -u LD_PRELOAD /bin/sleep 0.01; env -i /bin/sleep 0.01
		(/bin/sleep 0.01); /bin/sleep 0.01; exec /bin/sleep 0.01'
	# all (the default): every process, LD_PRELOAD put back for env -u and env -i
	follow all "$script"
	assert_equal "$execs" "$(printf 'dash\nenv\nenv\nsleep\nsleep\nsleep\nsleep\nsleep')"
	# exec: the environment decides: env -u LD_PRELOAD and env -i children are untraced
	follow exec "$script"
	assert_equal "$execs" "$(printf 'dash\nenv\nenv\nsleep\nsleep\nsleep')"
	# none: the process itself only, across its own exec (the last sleep, same pid)
	follow none "$script"
	assert_equal "$execs" "$(printf 'dash\nsleep')"
	follow --no-follow "$script"
	assert_equal "$execs" "$(printf 'dash\nsleep')"
}

# pf MODE ARG: proc_fork ARG traced with CTRACE_FOLLOW=MODE into MODE.ARG.PID.ctr; $n:
# how many traces proc_fork's images left (env's own trace, an exec'd image with no
# event, is not counted).
pf() {
	run timeout 60 env CTRACE_FOLLOW="$1" LD_PRELOAD="$LIB" CTRACE_OUT="$1.$2.%p.ctr" \
		"$PROGS/proc_fork" "$2"
	n=$(for f in "$1.$2".*.ctr; do "$CT" report --json "$f" | jq -r .trace.exe; done |
		grep -c '/proc_fork$' || true)
}

@test "CTRACE_FOLLOW with the program's own fork, exec and posix_spawn children" {
	run timeout 60 "$PROGS/proc_fork" fork
	assert_success
	plain=$(printf '%s\n' "$output" | grep -o 'status=[0-9]*')
	# none: the fork children run untraced (same statuses) and leave no file
	pf none fork
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -o 'status=[0-9]*')" "$plain"
	assert_equal "$n" 1
	pf all fork
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -o 'status=[0-9]*')" "$plain"
	assert_equal "$n" 3
	# a child that execs with an envp of its own without LD_PRELOAD ({"FOO=1"}): put
	# back with all, respected with exec (the child's image before the exec is traced)
	pf all exec
	assert_equal "$status" 5
	assert_line --partial 'LD_PRELOAD=set CTRACE_OUT=set'
	assert_equal "$n" 3
	pf exec exec
	assert_equal "$status" 5
	assert_line --partial 'LD_PRELOAD=unset CTRACE_OUT=unset'
	assert_equal "$n" 2
	pf none exec
	assert_equal "$status" 5
	assert_line --partial 'LD_PRELOAD=unset CTRACE_OUT=unset'
	assert_equal "$n" 1
	# posix_spawn with the same envp
	pf all spawn
	assert_equal "$status" 5
	assert_equal "$n" 2
	pf exec spawn
	assert_equal "$status" 5
	assert_line --partial 'LD_PRELOAD=unset CTRACE_OUT=unset'
	assert_equal "$n" 1
}
