#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The command-line contract of analyze/README.md as a user meets it: exit statuses, one
# clear line on errors, files never overwritten, trace files private to their owner.

load helpers

setup() { common_setup; }

@test "help: ctrace --help and COMMAND --help exit 0 and describe the commands" {
	run "$CT" --help
	assert_success
	assert_output --partial "record"
	assert_output --partial "report"
	for c in record report dump check diff; do
		run "$CT" "$c" --help
		assert_success
		assert_output --partial "usage: ctrace $c"
	done
	# the filters and convoy thresholds are documented where they are accepted
	for c in report check; do
		run "$CT" "$c" --help
		assert_output --partial "--thread T"
		assert_output --partial "--convoy-waiters Q"
	done
	run "$CT" diff --help
	assert_output --partial "--from FROM, --to TO"
}

@test "usage errors exit 2 with one line on stderr" {
	run "$CT" frobnicate
	assert_failure 2
	run "$CT"
	assert_failure 2
	run "$CT" report --top notanumber x.ctr
	assert_failure 2
	run "$CT" report --bogus x.ctr
	assert_failure 2
	run "$CT" record -o
	assert_failure 2
	for c in check diff; do
		run "$CT" "$c" --bogus x.ctr
		assert_failure 2
		run "$CT" "$c" --from notatime x.ctr x.ctr
		assert_failure 2
		[ "${#lines[@]}" = 1 ]
	done
	run "$CT" report --convoy-empty 1.5 x.ctr
	assert_failure 2
	assert_output --partial "--convoy-empty wants a number from 0 to 1"
	run "$CT" check --convoy-run 0 x.ctr
	assert_failure 2
	run -2 "$CT" report
	assert_failure
}

@test "record: exits with the program's status, and 128+N when a signal killed it" {
	run "$CT" record -o a.ctr -- sh -c 'exit 7'
	assert_failure 7
	[ -s a.ctr ]
	run "$CT" record -o b.ctr -- true
	assert_success
	run "$CT" record -o c.ctr -- sh -c 'kill -TERM $$'
	assert_failure 143
	run -127 "$CT" record -o d.ctr -- /nonexistent/program
}

@test "record: the program's stdout and stdin pass through; the tracer adds nothing to stdout" {
	run --separate-stderr "$CT" record -o io.ctr -- sh -c 'read x; echo "got $x"' <<<"hello"
	assert_success
	[ "$output" = "got hello" ]
}

@test "record -o on an existing file exits 2 and leaves the file alone" {
	echo precious >keep.ctr
	run "$CT" record -o keep.ctr -- true
	assert_failure 2
	assert_output --partial keep.ctr
	[ "$(cat keep.ctr)" = precious ]
}

@test "CTRACE_OUT: %p is the pid, the default name is ctrace.PID.ctr, files are mode 0600" {
	run env LD_PRELOAD="$LIB" sh -c 'echo $$'
	assert_success
	pid=$output
	[ -f "ctrace.$pid.ctr" ]
	[ "$(stat -c %a "ctrace.$pid.ctr")" = 600 ]
	run env LD_PRELOAD="$LIB" CTRACE_OUT=trace-%p.ctr sh -c 'echo $$'
	[ -f "trace-$output.ctr" ]
	[ "$(stat -c %a "trace-$output.ctr")" = 600 ]
	# an existing file is never overwritten: the next name is taken
	echo precious >fixed.ctr
	CTRACE_OUT=fixed.ctr run env LD_PRELOAD="$LIB" true
	[ "$(cat fixed.ctr)" = precious ]
	[ -s fixed.1.ctr ]
	run "$CT" report fixed.1.ctr
	assert_success
}

@test "CTRACE_OUT is not followed through a symlink" {
	ln -s "$BATS_TEST_TMPDIR/target" link.ctr
	CTRACE_OUT=link.ctr run env LD_PRELOAD="$LIB" true
	assert_success
	[ ! -e target ]
}

@test "report: missing, empty and garbage files exit 2 with one line naming the problem" {
	run -2 "$CT" report missing.ctr
	[ "${#lines[@]}" = 1 ]
	assert_output --partial missing.ctr
	: >empty.ctr
	run -2 "$CT" report empty.ctr
	[ "${#lines[@]}" = 1 ]
	head -c 4096 /dev/urandom >garbage.ctr
	run -2 "$CT" report garbage.ctr
	[ "${#lines[@]}" = 1 ]
	run -2 "$CT" dump garbage.ctr
}

@test "report: a truncated trace gives what it holds and says it was truncated" {
	timeout 60 "$CT" record -o full.ctr -- "$PROGS/lockwait" 4 25 500 >/dev/null 2>&1
	size=$(stat -c %s full.ctr)
	head -c $((size - 100)) full.ctr >cut.ctr
	run --separate-stderr "$CT" report cut.ctr
	assert_success
	[[ "$stderr" == *truncated* ]]
	[ "$("$CT" report --json cut.ctr 2>/dev/null | jq -r .trace.truncated)" = true ]
	[ "$("$CT" report --json full.ctr | jq -r .trace.truncated)" = false ]
	# the text report's first lines say so, and where the complete part ends: the file
	# less the incomplete chunk the reader skipped
	at=$("$CT" report --json cut.ctr 2>/dev/null | jq .trace.truncated_at)
	[ "$at" -gt 0 ] && [ "$at" -le $((size - 100)) ]
	[ "$("$CT" report --json full.ctr | jq .trace.truncated_at)" -eq 0 ]
	[[ "${lines[0]}" == *", 0 lost, truncated" ]]
	assert_equal "${lines[1]}" "truncated at byte $at: the process ended without its final flush (killed, or still running); events after the last complete chunk are missing ($((size - 100 - at)) bytes of an incomplete chunk ignored)"
	run "$CT" report full.ctr
	[[ "${lines[0]}" == *", 0 lost" ]]
	refute_line --partial "truncated at byte"
	# CI refuses the partial trace of a crashed run: exit 1 with the reason; 0 when whole
	run --separate-stderr "$CT" check --fail-on truncated cut.ctr
	assert_failure 1
	assert_line --index 0 "FAIL fail-on truncated: trace truncated at byte $at: the process ended without its final flush (killed, or still running); events after the last complete chunk are missing ($((size - 100 - at)) bytes of an incomplete chunk ignored)"
	run "$CT" check --fail-on truncated,deadlock full.ctr
	assert_success
	assert_output "ok: 2 rules hold on full.ctr"
	run -2 "$CT" check --fail-on truncate full.ctr
	assert_output --partial "convoy, deadlock, lock-order or truncated"
	# a corrupt byte in the middle: still readable up to it, and the offset is named
	cp full.ctr bad.ctr
	printf '\377\377\377\377' | dd of=bad.ctr bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	run --separate-stderr "$CT" report bad.ctr
	[[ "$stderr" == *offset* ]]
}

@test "report --top N keeps N entries per profile; --json is valid JSON with the contract" {
	timeout 60 "$CT" record -o c.ctr -- "$EXAMPLES/condvar" >/dev/null 2>&1
	run "$CT" report --top 1 --json c.ctr
	assert_success
	jq -e '.trace | has("pid") and has("exe") and has("duration_ns") and has("threads")
	       and has("events") and has("lost_events") and has("truncated")' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync")] | length == 1' <<<"$output"
	jq -e '.profiles[0] | has("kind") and has("count") and has("total_ns") and has("max_ns")
	       and has("p50_ns") and has("p99_ns") and (.frames[0] | has("func") and has("file")
	       and has("line") and has("module"))' <<<"$output"
	jq -e '(.objects | type) == "array" and (.threads | type) == "array"
	       and (.deadlocks | type) == "array"' <<<"$output"
	run "$CT" report --top 2 c.ctr
	assert_success
	assert_output --partial "== sync"
	assert_output --partial "== holder"
}

@test "dump: one line per record, every wait has a begin and an end" {
	timeout 60 "$CT" record -o l.ctr -- "$PROGS/lockwait" 2 10 500 >/dev/null 2>&1
	run "$CT" dump l.ctr
	assert_success
	assert_line --index 0 --partial "header version="
	begins=$(grep -c ' WAIT_BEGIN ' <<<"$output")
	ends=$(grep -c ' WAIT_END ' <<<"$output")
	[ "$begins" -gt 0 ]
	[ "$begins" = "$ends" ]
	grep -q ' THREAD_START ' <<<"$output"
	grep -q ' MODULE .*lockwait' <<<"$output"
}

@test "version: ctrace --version and ctrace version name the trace formats they read" {
	for v in --version version; do
		run "$CT" "$v"
		assert_success
		assert_line --index 0 --regexp '^ctrace [0-9]+\.[0-9]+\.[0-9]+$'
		assert_line --index 1 --partial "reads 1.0, 1.1, 1.2, 2.0, 2.1"
	done
	run "$CT" --help
	assert_output --partial "version"
	run "$CT" version --help
	assert_success
	assert_output --partial "usage: ctrace version"
	run "$CT" version extra
	assert_failure 2
	assert_output "ctrace: version: unexpected argument 'extra'"
}

# make with only the variables given here (none from the make that runs the tests).
clean_make() {
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u WERROR -u CPPFLAGS -u LDFLAGS -u CFLAGS \
		make --no-print-directory -C "$SRC" "$@"
}

@test "make: CPPFLAGS and LDFLAGS reach every compile and link line; -Werror only with WERROR=1" {
	local o=$BATS_TEST_TMPDIR/b targets="all $BATS_TEST_TMPDIR/b/unit/test_format
		$BATS_TEST_TMPDIR/b/progs/lockwait $BATS_TEST_TMPDIR/b/progs/blk_io.fortify"
	[ -f "$SRC/tests/progs/lockwait.c" ] && [ -f "$SRC/tests/progs/blk_io.c" ]
	# shellcheck disable=SC2086
	run clean_make -n O="$o" CPPFLAGS=-DCT_HARDEN_CPP LDFLAGS="-Wl,-z,relro -Wl,-z,now" $targets
	assert_success
	local cc lines
	cc=$(printf '%s\n' "$output" | grep -E '^\S*(cc|gcc|clang)\s' | grep -v -- '-fsanitize=fuzzer')
	lines=$(printf '%s\n' "$cc" | wc -l)
	[ "$lines" -gt 20 ]
	# every compile line carries CPPFLAGS, every link line LDFLAGS
	printf '%s\n' "$cc" | grep -v -- '-DCT_HARDEN_CPP' | grep -- ' -c ' &&
		fail "a compile line without CPPFLAGS"
	printf '%s\n' "$cc" | grep -v -- ' -c ' | grep -v -- '-Wl,-z,relro -Wl,-z,now' &&
		fail "a link line without LDFLAGS"
	printf '%s\n' "$cc" | grep -- "-o $o/libctrace.so" | grep -q -- '-Wl,-z,now'
	printf '%s\n' "$cc" | grep -- "-o $o/ctrace " | grep -q -- '-Wl,-z,now'
	printf '%s\n' "$cc" | grep -- "-o $o/unit/test_format " | grep -q -- '-DCT_HARDEN_CPP.*-Wl,-z,now'
	printf '%s\n' "$cc" | grep -- "-o $o/progs/lockwait " | grep -q -- '-DCT_HARDEN_CPP.*-Wl,-z,now'
	printf '%s\n' "$cc" | grep -- "-o $o/pic/preload/" | grep -q -- '-DCT_HARDEN_CPP'
	# a user's build does not turn warnings into errors; WERROR=1 (make test, CI) does
	printf '%s\n' "$cc" | grep -- '-Werror' && fail "-Werror without WERROR=1"
	run clean_make -n O="$o" WERROR=1 all
	assert_success
	printf '%s\n' "$output" | grep -- ' -c ' | grep -v -- '-Werror' &&
		fail "a compile line without -Werror under WERROR=1"
	[ ! -e "$o" ] # make -n built nothing
}

@test "make install then make uninstall into a DESTDIR leaves no files; LIBDIR is honoured" {
	local d=$BATS_TEST_TMPDIR/root
	run clean_make O="$CTRACE_BUILD" DESTDIR="$d" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu install
	assert_success
	[ -x "$d/usr/bin/ctrace" ]
	[ -f "$d/usr/lib/x86_64-linux-gnu/libctrace.so" ]
	cmp "$d/usr/bin/ctrace" "$CTRACE_BUILD/ctrace"
	cmp "$d/usr/lib/x86_64-linux-gnu/libctrace.so" "$CTRACE_BUILD/libctrace.so"
	cmp "$d/usr/include/ctrace_annotate.h" "$SRC/preload/include/ctrace_annotate.h"
	[ "$(find "$d" ! -type d | wc -l)" = 3 ]
	run clean_make O="$CTRACE_BUILD" DESTDIR="$d" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu uninstall
	assert_success
	run find "$d" ! -type d
	assert_success
	assert_output ""
}

@test "record -o into a missing directory exits 2 in one line and does not run the program" {
	run "$CT" record -o nodir/x.ctr -- touch ran
	assert_failure 2
	assert_output "ctrace: record: cannot create nodir/x.ctr: directory nodir: No such file or directory; not running touch"
	[ ! -e ran ]
	[ ! -e nodir ]
	# a %p in the directory part: the directories before it must exist
	run "$CT" record -o 'gone/%p/x.ctr' -- touch ran
	assert_failure 2
	assert_output --partial "directory gone: No such file or directory"
	[ ! -e ran ]
	# a file where the directory should be
	echo data >plain
	run "$CT" record -o plain/x.ctr -- touch ran
	assert_failure 2
	assert_output --partial "plain is not a directory"
	[ ! -e ran ]
	[ "$(cat plain)" = data ]
	# the directory exists: the program runs and the trace is written there
	mkdir there
	run "$CT" record -o there/x-%p.ctr -- touch ran
	assert_success
	[ -e ran ]
	ls there/x-*.ctr
}

@test "record -o into a directory the user cannot write exits 2 and does not run the program" {
	local d
	d=$(mktemp -d /tmp/ctrace-ro.XXXXXX)
	chmod 755 "$d"
	mkdir "$d/ro"
	chmod 555 "$d/ro"
	if [ "$(id -u)" = 0 ]; then
		# root writes anywhere: run ctrace as nobody (setpriv, util-linux)
		command -v setpriv >/dev/null || { rm -rf "$d"; skip "as root, needs setpriv"; }
		run setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$CT" record -o "$d/ro/x.ctr" -- touch "$d/ran"
	else
		run "$CT" record -o "$d/ro/x.ctr" -- touch "$d/ran"
	fi
	local ran=0
	[ -e "$d/ran" ] && ran=1
	chmod 755 "$d/ro"
	rm -rf "$d"
	assert_failure 2
	assert_output "ctrace: record: cannot create $d/ro/x.ctr: directory $d/ro: Permission denied; not running touch"
	[ "$ran" = 0 ]
}

@test "one trace named twice among several is an error, not a process counted twice" {
	trace l.ctr "$PROGS/lockwait" 4 25 200
	assert_success
	for c in report check export; do
		run --separate-stderr "$CT" $c $([ $c = export ] && echo --format folded -o x.folded) l.ctr ./l.ctr
		assert_failure 2
		assert_equal "$stderr" "ctrace: l.ctr and ./l.ctr are the same trace: each process's trace is given once"
	done
	run --separate-stderr "$CT" diff l.ctr l.ctr : l.ctr
	assert_failure 2
	# base and new may be the same file
	run "$CT" diff l.ctr l.ctr
	assert_success
}
