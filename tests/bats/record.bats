#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# `ctrace record` on programs it cannot trace and on programs that leave several traces:
# static executables (directly, through PATH, as a script's interpreter), setuid ones, a
# program that drops LD_PRELOAD behind libctrace's back, env -u LD_PRELOAD, fork and exec.
# The exit status stays the program's throughout.

load helpers

setup() { common_setup; }

# A statically linked program that prints a line and exits 3, as ./static (skips the test
# when the C library's static archive, libc.a of libc6-dev, is missing).
build_static() {
	local a
	a=$(gcc -print-file-name=libc.a)
	[ -f "$a" ] || skip "no libc.a (libc6-dev) for a static test program"
	printf '#include <stdio.h>\nint main(void) { puts("static ran"); return 3; }\n' >static.c
	gcc -static -o static static.c || skip "gcc -static failed"
}

# The trace files record listed on stderr ($stderr of a `run --separate-stderr`).
listed() {
	printf '%s\n' "$stderr" | sed -n 's/^ctrace: trace written to \([^ ]*\).*$/\1/p'
}

@test "record: a static executable is named before it runs, runs anyway, keeps its status" {
	build_static
	run --separate-stderr timeout 60 "$CT" record -o s.ctr -- ./static
	assert_failure 3
	assert_output "static ran"
	[ "${#stderr_lines[@]}" = 2 ]
	assert_equal "${stderr_lines[0]}" "ctrace: ./static is statically linked: LD_PRELOAD cannot trace it; running it anyway"
	assert_equal "${stderr_lines[1]}" "ctrace: no trace written: ./static is statically linked: LD_PRELOAD cannot trace it"
	[ ! -e s.ctr ]
	# found through PATH as execvp finds it, and named as the user wrote it
	run --separate-stderr env PATH="$PWD:$PATH" timeout 60 "$CT" record -o p.ctr -- static
	assert_failure 3
	assert_equal "${stderr_lines[0]}" "ctrace: static is statically linked: LD_PRELOAD cannot trace it; running it anyway"
}

@test "record: a #! script is judged by its interpreter (and env's NAME)" {
	build_static
	printf '#!%s/static\n' "$PWD" >direct.sh
	printf '#!/usr/bin/env static\n' >viaenv.sh
	printf '#!/bin/sh\nexit 4\n' >plain.sh
	chmod +x direct.sh viaenv.sh plain.sh
	run --separate-stderr timeout 60 "$CT" record -o d.ctr -- ./direct.sh
	assert_failure 3
	assert_equal "${stderr_lines[0]}" "ctrace: ./direct.sh's interpreter $PWD/static is statically linked: LD_PRELOAD cannot trace it; running it anyway"
	assert_equal "${stderr_lines[1]}" "ctrace: no trace written: ./direct.sh's interpreter $PWD/static is statically linked: LD_PRELOAD cannot trace it"
	# env is traced, the static program it runs is not: env's trace, and why nothing else
	run --separate-stderr env PATH="$PWD:$PATH" timeout 60 "$CT" record -o e.%p.ctr -- ./viaenv.sh
	assert_failure 3
	assert_equal "${stderr_lines[0]}" "ctrace: ./viaenv.sh's interpreter static (run by /usr/bin/env) is statically linked: LD_PRELOAD cannot trace it; running it anyway"
	[ "$(listed | wc -l)" = 1 ]
	[[ "${stderr_lines[2]}" == "ctrace: ./viaenv.sh's process (pid "*") ended as static, which left no trace: ./viaenv.sh's interpreter static (run by /usr/bin/env) is statically linked: LD_PRELOAD cannot trace it" ]]
	# a dynamically linked interpreter: nothing to say but where the trace is
	run --separate-stderr timeout 60 "$CT" record -o sh.ctr -- ./plain.sh
	assert_failure 4
	assert_equal "$stderr" "ctrace: trace written to sh.ctr"
	[ "$("$CT" report --json sh.ctr | jq -r .trace.exe)" = "$(readlink -f /bin/sh)" ]
}

@test "record: a setuid executable is named: the loader ignores LD_PRELOAD for it" {
	[ "$(id -u)" = 0 ] || skip "needs root to give a file another owner"
	cp "$PROGS/lockwait" ./suid
	chown nobody ./suid && chmod u+s ./suid
	if findmnt -n -o OPTIONS -T . | grep -qw nosuid; then
		skip "the test directory is on a nosuid file system"
	fi
	run --separate-stderr timeout 60 "$CT" record -o u.ctr -- ./suid 2 2 100
	assert_success
	assert_line --partial "waits="
	assert_equal "${stderr_lines[0]}" "ctrace: ./suid is setuid (owner uid $(id -u nobody)): the loader ignores LD_PRELOAD for it, so it cannot be traced; running it anyway"
	assert_equal "${stderr_lines[1]}" "ctrace: no trace written: ./suid is setuid (owner uid $(id -u nobody)): the loader ignores LD_PRELOAD for it, so it cannot be traced"
	[ ! -e u.ctr ]
	# the same file owned by the caller changes no ids: traced, nothing to say
	chown "$(id -u)" ./suid && chmod u+s ./suid
	run --separate-stderr timeout 60 "$CT" record -o v.ctr -- ./suid 2 2 100
	assert_success
	assert_equal "$stderr" "ctrace: trace written to v.ctr"
}

@test "record: a program that drops LD_PRELOAD (raw execve) is named, its status kept" {
	# rec_dropenv is traced, then runs sleep in its place with LD_PRELOAD taken out of
	# the environment, where libctrace's exec wrappers cannot put it back
	run --separate-stderr timeout 60 "$CT" record -o x.%p.ctr -- "$PROGS/rec_dropenv" /bin/sleep 0.3
	assert_success
	[ "$(listed | wc -l)" = 1 ]
	f=$(listed)
	[ "$("$CT" report --json "$f" 2>/dev/null | jq -r .trace.exe)" = "$PROGS/rec_dropenv" ]
	pid=$("$CT" report --json "$f" 2>/dev/null | jq -r .trace.pid)
	assert_equal "${stderr_lines[-1]}" "ctrace: $PROGS/rec_dropenv's process (pid $pid) ended as sleep, which left no trace: $PROGS/rec_dropenv or a program it started dropped LD_PRELOAD from the environment"
	# however short the untraced image: the trace it replaced never got its final flush
	run --separate-stderr timeout 60 "$CT" record -o y.%p.ctr -- "$PROGS/rec_dropenv" /bin/sh -c 'exit 5'
	assert_failure 5
	[[ "${stderr_lines[-1]}" == *" ended as sh, which left no trace: "*" dropped LD_PRELOAD from the environment" ]]
	# a program that runs to its end traced says nothing more
	run --separate-stderr timeout 60 "$CT" record -o z.%p.ctr -- "$PROGS/lockwait" 2 2 100
	assert_success
	[ "${#stderr_lines[@]}" = 1 ]
	[[ "$stderr" == "ctrace: trace written to z."*".ctr" ]]
}

@test "record: env -u LD_PRELOAD prog is traced anyway; both images' traces are listed" {
	# libctrace's exec wrappers put LD_PRELOAD back: env's image and lockwait's, same pid
	run --separate-stderr timeout 60 "$CT" record -o t.%p.ctr -- env -u LD_PRELOAD "$PROGS/lockwait" 4 10 2000
	assert_success
	want=$(value wait_total_ns)
	[ "$(listed | wc -l)" = 2 ]
	first=$(listed | sed -n 1p)
	second=$(listed | sed -n 2p)
	[ "$("$CT" report --json "$first" | jq -r .trace.exe)" = "$(readlink -f "$(command -v env)")" ]
	[ "$("$CT" report --json "$second" | jq -r .trace.exe)" = "$PROGS/lockwait" ]
	pid=$("$CT" report --json "$first" | jq -r .trace.pid)
	[ "$("$CT" report --json "$second" | jq -r .trace.pid)" = "$pid" ]
	assert_equal "${stderr_lines[0]}" "ctrace: trace written to $first (pid $pid: $(readlink -f "$(command -v env)"))"
	assert_equal "${stderr_lines[1]}" "ctrace: trace written to $second (pid $pid: $PROGS/lockwait)"
	[ "${#stderr_lines[@]}" = 2 ]
	# the mutex waits lockwait measured itself are in its own trace (within 5%, plus the
	# run-queue time it measured in the lock calls it was preempted in, as in sync.bats)
	assert_within 5 "$("$CT" report --json "$second" | jq '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .total_ns] | add')" "$want" "$(value wait_rq_ns)"
}

@test "record: a forking program's traces are all listed, one line each, and no others" {
	# an older trace matching the pattern is not this run's
	timeout 60 "$CT" record -o f.%p.ctr -- true 2>/dev/null
	old=$(ls f.*.ctr)
	run --separate-stderr timeout 60 "$CT" record -o f.%p.ctr -- "$PROGS/proc_fork" fork
	assert_success
	# the parent and the two children that recorded waits (the third recorded nothing:
	# its empty file was removed)
	[ "$(listed | wc -l)" = 3 ]
	[ "${#stderr_lines[@]}" = 3 ]
	[ "$(listed | sort)" = "$(ls f.*.ctr | grep -vx "$old" | sort)" ]
	parent=$(listed | sed -n 1p)
	ppid=$("$CT" report --json "$parent" | jq -r .trace.pid)
	assert_equal "${stderr_lines[0]}" "ctrace: trace written to $parent (pid $ppid: $PROGS/proc_fork)"
	for k in 2 3; do
		f=$(listed | sed -n ${k}p)
		cpid=$("$CT" report --json "$f" | jq -r .trace.pid)
		[ "$cpid" != "$ppid" ]
		assert_equal "${stderr_lines[$((k - 1))]}" "ctrace: trace written to $f (pid $cpid, child of $ppid: $PROGS/proc_fork)"
	done
	# exit statuses stay the program's, with several traces too
	run --separate-stderr timeout 60 "$CT" record -o g.%p.ctr -- sh -c '/bin/true; /bin/true; exit 6'
	assert_failure 6
	[ "$(listed | wc -l)" -ge 2 ]
	for f in $(listed); do [ -s "$f" ]; done
}
