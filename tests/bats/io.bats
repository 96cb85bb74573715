#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The system-call recorder's bookkeeping (preload/io.c and sites.c): call sites counted exactly per
# (site, kind, fd class) well beyond a handful of sites, with overflow counted per kind and
# class; the fd-class cache following fd numbers through every path that closes, replaces
# or creates them (and the fork child); glibc's exported aliases (__read, __poll, ...)
# traced like the plain names. The programs (tests/progs/io_*.c) print what the trace must
# say; every call they make returns at once and they run with CTRACE_SYSCALL_THRESHOLD=10s,
# so that what is checked is the fast path's bookkeeping (no call takes a stack and
# re-checks its fd); the one test of that check runs with every call slow. Environment:
# CTRACE_BUILD (absolute build dir).

load helpers

setup() {
	common_setup
	export CTRACE_SYSCALL_THRESHOLD=10s
}

# sites FILE: the last (largest) SITE record per (tid, site, kind, class) of `ctrace dump
# FILE`, one per line: TID SITE KIND CLASS CALLS.
sites() {
	"$CT" dump "$1" | sed -n 's/^gen=[0-9]* tid=\([0-9]*\) .* SITE kind=\([a-z_]*\) class=\([a-z]*\) site=\(0x[0-9a-f]*\) calls=\([0-9]*\).*/\1 \4 \2 \3 \5/p' |
		awk '{ k = $1 " " $2 " " $3 " " $4; if ($5 > m[k]) m[k] = $5 }
			END { for (k in m) print k, m[k] }' | sort
}

# run_traced PROGRAM: PROGRAM under libctrace (CTRACE_OUT=t.%p.ctr in the test's
# directory), bounded; its stdout in prog.out. Fails unless it exits 0 and says nothing on
# stderr.
run_traced() {
	run timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr "$@"
	printf '%s\n' "$output" >prog.out
	assert_success
}

# first_trace: the trace file of the program itself (it prints pid=N; its fork children
# write files of their own).
first_trace() {
	echo "t.$(sed -n 's/^pid=//p' prog.out).ctr"
}

# ---- call sites ----

@test "sites: 200 sites and one site with three fd classes, one thread: one exact record each, no overflow" {
	run_traced "$PROGS/io_sites"
	sites "$(first_trace)" >sites.txt
	local tid want
	tid=$(sed -n 's/^thread=few tid=//p' prog.out)
	want=$(sed -n 's/^sites thread=few distinct=//p' prog.out)
	[ -n "$tid" ] && [ -n "$want" ]
	run awk -v t="$tid" '$1 == t && $2 != "0x0"' sites.txt
	[ "${#lines[@]}" -eq "$want" ] || fail "$tid has ${#lines[@]} site records, want $want"
	# every site was called 3 times (the mixed site 3 times per class)
	run awk -v t="$tid" '$1 == t && $5 != 3' sites.txt
	assert_output ""
	run awk -v t="$tid" '$1 == t && $2 == "0x0"' sites.txt
	assert_output ""
	# the one mixed site: the same pc under three classes
	run awk -v t="$tid" '$1 == t && $3 == "read" { n[$2] = n[$2] " " $4 }
		END { for (p in n) if (n[p] ~ /pipe/ && n[p] ~ /socket/ && n[p] ~ /file/) print p }' sites.txt
	[ "${#lines[@]}" -eq 1 ] || fail "no site with read under pipe, socket and file: $output"
	# totals per kind and class
	local k c n got
	while read -r k c n; do
		got=$(awk -v t="$tid" -v k="$k" -v c="$c" '$1 == t && $3 == k && $4 == c { s += $5 }
			END { print s + 0 }' sites.txt)
		[ "$got" = "$n" ] || fail "few: $k/$c: $got calls in the trace, the program made $n"
	done < <(sed -n 's/^expect thread=few kind=\([a-z]*\) class=\([a-z]*\) calls=\([0-9]*\)$/\1 \2 \3/p' prog.out)
}

@test "sites: 900 sites in one thread: the overflow is counted per kind and class, totals exact" {
	run_traced "$PROGS/io_sites"
	sites "$(first_trace)" >sites.txt
	local tid
	tid=$(sed -n 's/^thread=many tid=//p' prog.out)
	[ -n "$tid" ]
	# the table's sites (CT_SITE_CAP: 224), then overflow records (site 0) of every kind
	# and class used
	run awk -v t="$tid" '$1 == t && $2 != "0x0"' sites.txt
	[ "${#lines[@]}" -eq 224 ] ||
		fail "many: ${#lines[@]} site records"
	run awk -v t="$tid" '$1 == t && $2 == "0x0" { print $3 "/" $4 }' sites.txt
	[ "${#lines[@]}" -eq 6 ] || fail "many: overflow records: $output"
	local k c n got
	while read -r k c n; do
		got=$(awk -v t="$tid" -v k="$k" -v c="$c" '$1 == t && $3 == k && $4 == c { s += $5 }
			END { print s + 0 }' sites.txt)
		[ "$got" = "$n" ] || fail "many: $k/$c: $got calls in the trace, the program made $n"
		awk -v t="$tid" -v k="$k" -v c="$c" '$1 == t && $2 == "0x0" && $3 == k && $4 == c { f = 1 }
			END { exit !f }' sites.txt || fail "many: no overflow record for $k/$c"
	done < <(sed -n 's/^expect thread=many kind=\([a-z]*\) class=\([a-z]*\) calls=\([0-9]*\)$/\1 \2 \3/p' prog.out)
}

@test "sites: fast calls' totals (TSC ticks where the kernel uses the TSC) are the program's own" {
	run_traced "$PROGS/io_block" 2000
	local calls total got n
	calls=$(sed -n 's/.*read_calls=\([0-9]*\).*/\1/p' prog.out)
	total=$(sed -n 's/.*read_total_ns=\([0-9]*\).*/\1/p' prog.out)
	read -r n got < <("$CT" report --json t.*.ctr | jq -r '[.profiles[]
		| select(.kind == "read" and .frames[0].func == "client_read")]
		| "\([.[].count] | add) \([.[].total_ns] | add)"')
	[ "$n" = "$calls" ] || fail "client_read: $n calls in the trace, the program made $calls"
	# the program's own clock reads around each call are in its measure, not in the trace's
	assert_within 2 "$got" "$total"
}

# ---- fd classes ----

# classes_of FILE...: "read_after_CASE CLASS" for every read entry of the reports.
classes_of() {
	local f
	for f in "$@"; do
		"$CT" report --json "$f" | jq -r '.profiles[] | select(.kind == "read")
			| select(.frames[0].func // "" | startswith("read_after_"))
			| "\(.frames[0].func) \(.fd_class)"'
	done | sort
}

@test "fd classes: a number reused through every close, replace and create path is filed under its new class" {
	run_traced "$PROGS/io_fdclass"
	! grep -qx skip prog.out || skip "x86_64 only (raw system calls)"
	local child main
	child=$(sed -n 's/^child=//p' prog.out)
	main=$(first_trace)
	[ -n "$child" ] && [ -s "t.$child.ctr" ]
	sed -n 's/^case=\(.*\) class=\(.*\)$/read_after_\1 \2/p' prog.out | grep -v fork_child |
		sort >want
	[ "$(wc -l <want)" -ge 30 ]
	classes_of "$main" >got
	run diff want got
	assert_success
}

@test "fd classes: the check asks for a file's type only, never its timestamps" {
	# every call slow: each write and sync may re-check its fd
	run --separate-stderr timeout 60 strace -f -qq -e trace=%stat,%fstat,statx,openat,close -o st.log \
		env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr CTRACE_SYSCALL_THRESHOLD=0 \
		"$PROGS/io_filesync" data 50
	assert_success
	assert_equal "$stderr" ""
	local fd
	fd=$(sed -n 's/^fd=//p' <<<"$output")
	[ -n "$fd" ]
	# what looked at the file while the program had it open
	awk -v fd="$fd" 'index($0, "openat(AT_FDCWD, \"data\"") { on = 1; next }
		on && index($0, "close(" fd ")") { exit }
		on && index($0, "(" fd ", ") { print }' st.log >looks
	# the check happened, once a period (2^30 ns) at most: no more often than the periods
	# the program's time with the file open (its own clock) can touch
	local checks elapsed
	elapsed=$(sed -n 's/^elapsed_ns=//p' <<<"$output")
	[ -n "$elapsed" ]
	checks=$(grep -cE "^[0-9]+ +statx\($fd, \"\", [A-Z_|]+, STATX_TYPE, " looks)
	echo "$checks checks in $elapsed ns"
	[ "$checks" -ge 1 ] && [ "$checks" -le $((elapsed / (1 << 30) + 2)) ]
	# and nothing else: no fstat, no statx asking for more than the type
	[ "$(grep -cvE "^[0-9]+ +statx\($fd, \"\", [A-Z_|]+, STATX_TYPE, " looks)" -eq 0 ]
	[ "$("$CT" report --json t.*.ctr | jq '[.profiles[] | select(.kind == "fsync") | .count] | add')" -eq 50 ]
}

@test "fd classes: a number reused through an unseen path is filed under its new class by a slow call a period later" {
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT=t.%p.ctr CTRACE_SYSCALL_THRESHOLD=0 \
		"$PROGS/io_recheck"
	assert_success
	assert_equal "$stderr" ""
	[ "$output" != skip ] || skip "x86_64 only (raw system calls)"
	local json
	json=$("$CT" report --json t.*.ctr)
	# the file read before, a file read; the read after the unseen reuse, a socket's
	run jq -r '[.profiles[] | select(.kind == "read") | "\(.profile) \(.frames[0].func)"] | sort | join(",")' <<<"$json"
	assert_output "net read_after_reuse,syscall read_file_first"
}

@test "fd classes: a fork child forgets what its parent cached" {
	run_traced "$PROGS/io_fdclass"
	! grep -qx skip prog.out || skip "x86_64 only (raw system calls)"
	local child
	child=$(sed -n 's/^child=//p' prog.out)
	run classes_of "t.$child.ctr"
	assert_output "read_after_fork_child socket"
}

# ---- exported aliases ----

@test "aliases: libctrace.so exports glibc's public aliases of the wrapped calls" {
	local n
	run nm -D --defined-only "$LIB"
	for n in __read __write __pread64 __pwrite64 __send __connect __poll __select \
		__nanosleep __wait __waitpid __sigsuspend __open __open64 __fcntl __pipe __dup2 \
		__close; do
		assert_line --regexp " T $n\$"
		nm -D --defined-only /lib/*-linux-gnu/libc.so.6 2>/dev/null | grep -q " $n@" ||
			fail "$n is not exported by libc: drop it"
	done
}

@test "aliases: __read, __poll, __waitpid, ... are traced like the plain names" {
	run nm -D "$PROGS/io_alias"
	assert_output --partial "U __read@"
	assert_output --partial "U __nanosleep@"
	run_traced "$PROGS/io_alias"
	local r
	r=$("$CT" report --json "$(first_trace)" | jq -c '[.profiles[]
		| select(.frames[0].func // "" | test("^(alias|plain)_"))
		| {f: .frames[0].func, kind, fd_class, count}]')
	local name kind cls n got
	while read -r name kind cls n; do
		for v in plain alias; do
			got=$(jq -r --arg f "${v}_$name" --arg k "$kind" \
				'[.[] | select(.f == $f and .kind == $k)] | "\(length) \(.[0].fd_class) \(.[0].count)"' <<<"$r")
			[ "$got" = "1 $cls $n" ] ||
				fail "${v}_$name: want one $kind entry, class $cls, $n calls; got '$got'"
		done
	done < <(sed -n 's/^call=\([a-z0-9_]*\) kind=\([a-z]*\) class=\([a-z]*\) calls=\([0-9]*\)$/\1 \2 \3 \4/p' prog.out)
	[ "$(grep -c '^call=' prog.out)" -eq 15 ]
}

@test "aliases: __pipe, __dup2 and __close keep the fd-class cache right" {
	run_traced "$PROGS/io_alias"
	local r fn cls
	r=$("$CT" report --json "$(first_trace)")
	while read -r fn cls; do
		run jq -r --arg f "$fn" '[.profiles[] | select(.kind == "read" and .frames[0].func == $f)
			| .fd_class] | join(",")' <<<"$r"
		assert_output "$cls"
	done < <(sed -n 's/^fd=[a-z0-9]* after=\([a-z_0-9]*\) class=\([a-z]*\)$/\1 \2/p' prog.out)
	[ "$(grep -c '^fd=' prog.out)" -eq 3 ]
}

@test "io programs: same output traced and untraced" {
	local p
	for p in io_sites io_fdclass io_alias; do
		run timeout 60 "$PROGS/$p"
		assert_success
		grep -v '^\(pid=\|thread=\|child=\)' <<<"$output" >u.out
		run_traced "$PROGS/$p"
		grep -v '^\(pid=\|thread=\|child=\)' prog.out >t.out
		run diff u.out t.out
		assert_success
		rm -f t.*.ctr
	done
}
