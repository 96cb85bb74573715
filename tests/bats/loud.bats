#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Failing loudly, and only where it matters: a damaged chunk costs that chunk, not the
# trace (--strict restores the failure); filters by kind; options that select nothing exit
# 2 naming what exists. Programs measure their own waits; every loud failure is checked
# with its exit status and its message.

load helpers

setup() { common_setup; }

# chunks FILE: one line per chunk, "OFFSET KIND GEN STORED_LEN" (FORMAT.md section 4: the header's
# length at byte 12, each chunk a 36-byte header and comp_len bytes at its byte 28).
chunks() {
	local f=$1 size off kind gen comp
	size=$(stat -c %s "$f")
	off=$(od -An -tu4 -j12 -N4 "$f" | tr -d ' ')
	while [ $((off + 36)) -le "$size" ]; do
		kind=$(od -An -tu1 -j$((off + 4)) -N1 "$f" | tr -d ' ')
		gen=$(od -An -tu4 -j$((off + 8)) -N4 "$f" | tr -d ' ')
		comp=$(od -An -tu4 -j$((off + 28)) -N4 "$f" | tr -d ' ')
		echo "$off $kind $gen $comp"
		off=$((off + 36 + comp))
	done
}

# flip FILE OFFSET: xor the byte at OFFSET with 0x55.
flip() {
	local b
	b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 0x55)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# mid_chunk FILE: the offset of the largest of FILE's EVENTS chunks (kind 2) that are
# neither the first nor the last: one in the middle of the file that holds waits (which
# chunk holds how many events depends on the run)
mid_chunk() {
	chunks "$1" | awk '$2 == 2 { off[++n] = $1; len[n] = $4 }
		END { for (i = 2; i < n; i++) if (len[i] > best) { best = len[i]; at = off[i] }; print at }'
}

@test "damaged chunk mid-trace: skipped with one warning naming its offset, the rest reported; --strict exits 2" {
	trace l.ctr "$PROGS/lockwait" 4 25 200
	assert_success
	at=$(mid_chunk l.ctr)
	[ -n "$at" ]
	full_count=$(jreport l.ctr '[.profiles[] | select(.profile == "sync") | .count] | add')
	cp l.ctr bad.ctr
	flip bad.ctr $((at + 50))
	run --separate-stderr "$CT" report bad.ctr
	assert_success
	assert_equal "$stderr" "ctrace: warning: bad.ctr: damaged chunk at byte offset $at skipped (checksum mismatch); the rest is reported (--strict fails instead)"
	assert_line "note: 1 damaged stretch of the file skipped (the first at byte offset $at): the waits recorded in it are missing"
	assert_output --partial "contend_lock (lockwait.c:"
	[ "$("$CT" report --json bad.ctr 2>/dev/null | jq .trace.damaged)" = 1 ]
	[ "$("$CT" report --json l.ctr | jq .trace.damaged)" = 0 ]
	# the waits of the other chunks are there, those of the lost one are not
	count=$("$CT" report --json bad.ctr 2>/dev/null |
		jq '[.profiles[] | select(.profile == "sync") | .count] | add')
	[ "$count" -gt 0 ] && [ "$count" -lt "$full_count" ]
	# --strict: the old failure, for report, check, diff, export and dump
	run --separate-stderr "$CT" report --strict bad.ctr
	assert_failure 2
	assert_equal "$stderr" "ctrace: bad.ctr: corrupt chunk at byte offset $at: checksum mismatch"
	run --separate-stderr "$CT" check --strict bad.ctr
	assert_failure 2
	[[ "$stderr" == *"offset $at: checksum mismatch"* ]]
	run --separate-stderr "$CT" diff --strict l.ctr bad.ctr
	assert_failure 2
	[[ "$stderr" == *"offset $at: checksum mismatch"* ]]
	run --separate-stderr "$CT" export --format folded --strict -o x.folded bad.ctr
	assert_failure 2
	[[ "$stderr" == *"offset $at: checksum mismatch"* ]]
	run --separate-stderr "$CT" dump --strict bad.ctr
	assert_failure 2
	# without it, check and dump read past it too
	run --separate-stderr "$CT" check bad.ctr
	assert_success
	[[ "$stderr" == *"damaged chunk at byte offset $at skipped"* ]]
	run --separate-stderr "$CT" dump bad.ctr
	assert_success
	assert_line --index $((${#lines[@]} - 1)) "# damaged: 1 damaged stretch skipped, the first at byte offset $at (corrupt chunk at byte offset $at: checksum mismatch)"
}

@test "--kind and --exclude-kind: report, check rules by kind (mutex:D next to sync:D), diff, export" {
	trace k.ctr "$PROGS/loud_idle" 10 3000
	assert_success
	mutex=$(value mutex_wait_ns)
	mutex_max=$(value mutex_max_ns)
	mutex_rq=$(value mutex_rq_ns)
	cond=$(value cond_wait_ns)
	line=$(marked_line "$SRC/tests/progs/loud_idle.c" LOCK-SITE)
	idle=$(marked_line "$SRC/tests/progs/loud_idle.c" IDLE-SITE)
	# --kind mutex: the workers' lock waits only, as they measured them
	run "$CT" report --json --kind mutex k.ctr
	assert_success
	jq -e '[.profiles[] | .kind] | unique == ["mutex"]' <<<"$output"
	got=$(jq '[.profiles[] | select(.profile == "sync") | .total_ns] | add' <<<"$output")
	assert_within 5 "$got" "$mutex" "$mutex_rq"
	assert_equal "$(jq -r '[.profiles[] | select(.profile == "sync") | "\(.frames[0].func):\(.frames[0].line)"] | unique | join(",")' <<<"$output")" "contend:$line"
	# a profile stands for its kinds; --exclude-kind leaves them out
	run "$CT" report --json --kind sync k.ctr
	jq -e '[.profiles[] | select(.profile == "sync") | .kind] | unique == ["cond", "join", "mutex"]' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sleep" or .profile == "syscall")] | length == 0' <<<"$output"
	run "$CT" report --json --exclude-kind cond,join k.ctr
	jq -e '[.profiles[] | select(.profile == "sync") | .kind] | unique == ["mutex"]' <<<"$output"
	assert_equal "$(jq '[.profiles[] | select(.profile == "sync") | .total_ns] | add' <<<"$output")" "$got"
	# the idle thread's cond wait fails a sync rule; a rule on mutex waits does not see it
	# a limit above every lock wait the workers measured, below the idler's one wait
	ms=$(( mutex_max / 1000000 + 1 ))
	[ "$cond" -gt $((ms * 1000000)) ]
	run "$CT" check --max-wait "sync:${ms}ms" k.ctr
	assert_failure 1
	assert_line --partial "cond wait on 0x"
	assert_line --partial "at idler (loud_idle.c:$idle)"
	run "$CT" check --max-wait "mutex:${ms}ms" k.ctr
	assert_success
	assert_output "ok: 1 rule holds on k.ctr"
	run "$CT" check --max-wait mutex:100us k.ctr
	assert_failure 1
	assert_line --index 0 --regexp "^FAIL max-wait mutex:100us: [0-9.]+ms mutex wait on 0x[0-9a-f]+ at contend \\(loud_idle.c:$line\\), longest of [0-9]+\$"
	# the filter form of the same: --kind mutex with a sync rule
	run "$CT" check --kind mutex --max-wait "sync:${ms}ms" k.ctr
	assert_success
	run "$CT" check --exclude-kind mutex --max-total "sync:$(( (cond / 1000000) - 1 ))ms" k.ctr
	assert_failure 1
	# diff and export take them too
	run "$CT" diff --json --kind mutex k.ctr k.ctr
	assert_success
	jq -e '[.sites[] | .kind] | unique == ["mutex"]' <<<"$output"
	run "$CT" export --format folded --kind cond -o - k.ctr
	assert_success
	assert_output --partial "idler"
	refute_output --partial "contend"
	# an unknown kind is a usage error naming the kinds
	run -2 "$CT" report --kind mutx k.ctr
	assert_output --partial "report: --kind: unknown kind 'mutx' (kinds: mutex cond"
	run -2 "$CT" check --max-wait mutx:1ms k.ctr
	assert_output --partial "unknown profile or kind 'mutx'"
}

@test "filters that select nothing exit 2 naming what exists; --thread takes globs" {
	trace k.ctr "$PROGS/loud_idle" 4 1000
	assert_success
	pid=$(jreport k.ctr .trace.pid)
	run -2 "$CT" report --thread mc-c k.ctr
	assert_output --regexp "^ctrace: report: --thread 'mc-c' matches no thread; the threads are: loud_idle \\(tid $pid\\), idler \\(tid [0-9]+\\), mc-a \\(tid [0-9]+\\), mc-b \\(tid [0-9]+\\)\$"
	run -2 "$CT" check --thread mc-c --max-wait sync:1ms k.ctr
	assert_output --partial "check: --thread 'mc-c' matches no thread; the threads are: loud_idle"
	run -2 "$CT" diff --thread mc-c k.ctr k.ctr
	assert_output --partial "diff: --thread 'mc-c' matches no thread"
	run -2 "$CT" export --format folded -o - --thread mc-c k.ctr
	assert_output --partial "export: --thread 'mc-c' matches no thread"
	# a glob: both workers, nothing else
	run "$CT" report --json --thread 'mc-*' k.ctr
	assert_success
	jq -e '[.threads[] | .name] | sort == ["mc-a", "mc-b"]' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync") | .kind] | unique == ["mutex"]' <<<"$output"
	# a kind the trace does not have
	run -2 "$CT" report --kind epoll k.ctr
	assert_output --partial "ctrace: report: --kind epoll matches no wait or call; the kinds recorded are: mutex, cond, join"
	run -2 "$CT" check --kind epoll k.ctr
	assert_output --partial "check: --kind epoll matches no wait or call"
	# --from past the end
	dur=$(jreport k.ctr .trace.duration_ns)
	run -2 "$CT" report --from 60s k.ctr
	assert_output --regexp "^ctrace: report: --from 60.0s is past the end of the trace \\([0-9.]+m?s long\\)\$"
	run -2 "$CT" check --from 60s k.ctr
	assert_output --partial "check: --from 60.0s is past the end"
	run "$CT" report --from "$((dur / 2))ns" k.ctr
	assert_success
}

@test "check: the ok line says when the trace is truncated or damaged chunks were skipped" {
	trace l.ctr "$PROGS/lockwait" 2 10 200
	assert_success
	size=$(stat -c %s l.ctr)
	head -c $((size - 20)) l.ctr >cut.ctr
	run --separate-stderr "$CT" check cut.ctr
	assert_success
	assert_output "ok: 2 rules hold on cut.ctr, but the trace is truncated (--fail-on truncated fails on it)"
	run --separate-stderr "$CT" check --fail-on truncated cut.ctr
	assert_failure 1
	at=$(chunks l.ctr | awk '$2 == 2 { print $1; exit }')
	cp l.ctr bad.ctr
	flip bad.ctr $((at + 40))
	run --separate-stderr "$CT" check bad.ctr cut.ctr
	assert_success
	assert_output "ok: 2 rules hold on every trace, but 1 of 2 traces are truncated (--fail-on truncated fails on them); and 1 damaged stretch skipped (--strict fails on it)"
	run --separate-stderr "$CT" check l.ctr
	assert_output "ok: 2 rules hold on l.ctr"
}

@test "diff: frames without symbols match by module and offset, a renamed binary is the same program" {
	cp "$PROGS/nown_handoff.stripped" ./handoff_renamed
	trace a.ctr "$PROGS/nown_handoff.stripped" 20 2000
	assert_success
	rounds=$(value rounds)
	trace b.ctr ./handoff_renamed 20 2000
	assert_success
	assert_equal "$(value rounds)" "$rounds"
	run "$CT" diff --json a.ctr b.ctr
	assert_success
	# the receiver's hand-off waits: one row, counted on both sides, at module+offset
	run jq -r '[.sites[] | select(.profile == "sync" and .kind == "mutex"
		and .base_count == '"$rounds"' and .new_count == '"$rounds"')
		| "\(.frames[0].func) \(.frames[0].module | split("/") | last) \(.frames[0].offset)"]
		| join(",")' <<<"$output"
	assert_output --regexp "^\\?\\? nown_handoff.stripped 0x[0-9a-f]+\$"
	# nothing of the program's own frames is only on one side
	run "$CT" diff --json a.ctr b.ctr
	jq -e '[.sites[] | select((.base_count == 0 or .new_count == 0) and .profile == "sync"
		and .kind == "mutex")] | length == 0' <<<"$output"
	jq -e '[.objects[] | select(.kind == "mutex" and .base_contended > 0)]
		| all(.new_contended > 0)' <<<"$output"
	# the text form: no (new) or (gone) mutex rows
	run "$CT" diff a.ctr b.ctr
	refute_output --partial "mutex (new)"
	refute_output --partial "mutex (gone)"
}

@test "--hide REGEX drops matching frames; threads without a known start routine group by name" {
	trace k.ctr "$PROGS/loud_idle" 4 1000
	assert_success
	# without: contend (LOCK-SITE) then worker; hidden: worker first
	assert_equal "$(jreport k.ctr '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .frames[0].func] | unique | join(",")')" contend
	run "$CT" report --json --hide '^cont' k.ctr
	assert_success
	assert_equal "$(jq -r '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .frames[0].func] | unique | join(",")' <<<"$output")" worker
	jq -e '[.profiles[].frames[] | select(.func == "contend")] | length == 0' <<<"$output"
	# repeatable; a stack entirely hidden keeps its frames
	run "$CT" report --json --hide worker --hide contend --hide start_thread --hide clone3 k.ctr
	assert_equal "$(jq -r '[.profiles[] | select(.profile == "sync" and .kind == "mutex") | .frames[0].func] | unique | join(",")' <<<"$output")" contend
	run "$CT" diff --json --hide '^cont' k.ctr k.ctr
	jq -e '[.sites[] | select(.kind == "mutex" and .profile == "sync") | .frames[0].func] | unique == ["worker"]' <<<"$output"
	run -2 "$CT" report --hide '(' k.ctr
	assert_output --partial "report: --hide: '(' is not a regular expression"
	# a stripped binary's threads: no start routine by name, grouped by their name
	trace s.ctr "$PROGS/nown_handoff.stripped" 5 1000
	assert_success
	run "$CT" report --json s.ctr
	jq -e '[.thread_groups[] | select(.start_func == null)] | length == 1' <<<"$output"
	jq -e '.thread_groups[] | select(.start_func == null) | .group == "nown_handoff.st" and .threads >= 2' <<<"$output"
	run "$CT" report s.ctr
	assert_output --regexp "= [0-9]+ threads +\\? \\(same name\\)"
}

@test "threads beyond CTRACE_MAX_THREADS: counted by the recorder, one 'untraced threads' line and a JSON count, not rows named '-'" {
	run --separate-stderr timeout 60 env LD_PRELOAD="$LIB" CTRACE_OUT="sl.%p.ctr" \
		CTRACE_SYSCALL_THRESHOLD=0ns CTRACE_MAX_THREADS=16 "$PROGS/proc_flood" threads 64
	assert_success
	assert_output "calls=64 bytes=64"
	f=$(ls sl.*.ctr)
	run "$CT" report --json "$f"
	assert_success
	json=$output
	# every one of the 64 threads made a call: traced (its THREAD_START recorded) or
	# counted by the recorder as untraced
	n=$(jq .trace.untraced_threads <<<"$json")
	starts=$("$CT" dump "$f" | grep -c ' THREAD_START ')
	assert_equal $((starts + n)) 64
	"$CT" dump "$f" | grep ' GEN_END ' | tail -n1 | grep -q " untraced_threads=$n lost="
	# the threads the others' events name (a join's target) are some of them; an
	# untraced thread is one whose start the recorder did not see
	named=$(jq '[.threads[] | select(.untraced)] | length' <<<"$json")
	[ "$named" -le "$n" ]
	jq -e '[.threads[] | select(.untraced) | select(.start_func != null or .name != "")] | length == 0' <<<"$json"
	[ "$(jq .trace.lost.no_thread_slot <<<"$json")" -gt 0 ]
	run "$CT" report "$f"
	refute_output --regexp $'\n +[0-9]+ -  +\\? '
	[ "$n" -gt 0 ] # 64 threads alive at once in 16 slots
	assert_line --index 0 --partial ", $n threads ran untraced (CTRACE_MAX_THREADS)"
	if [ "$named" -gt 0 ]; then
		assert_line --regexp "^ +- $named untraced +- "
		assert_line "  ($named untraced thread$([ "$named" = 1 ] || echo s): begun while CTRACE_MAX_THREADS were traced; counted in lost no_thread_slot)"
		jq -e '.thread_groups[] | select(.group == "(untraced)") | .threads == '"$named" <<<"$json"
	fi
}

@test "README: check's rules table is the --help rule list; every option of every --help is in the README, every synopsis option in its --help" {
	readme="$SRC/README.md"
	# the rules table, both ways
	diff <(sed -n 's/^  | `\(--[a-z0-9-]* [^`]*\)` |.*/\1/p' "$readme" | sort) \
	     <("$CT" check --help | sed -n '/^rules/,/^$/s/^  \(--[a-z0-9-]* [^ ]*\) .*/\1/p' | sort) ||
		fail "the README's rules table and 'ctrace check --help' differ"
	# every option a command's --help lists is documented in the README
	for c in record report dump check diff export attach detach version; do
		for o in $("$CT" $c --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
			[ "$o" = --help ] && continue
			grep -qF -- "$o" "$readme" || fail "ctrace $c --help lists $o, the README does not"
		done
	done
	# every option of a command's synopsis line in the README exists in its --help
	n=0
	while read -r c rest; do
		for o in $(grep -o -- '--[a-z][a-z0-9-]*' <<<"$rest" | sort -u); do
			"$CT" "$c" --help | grep -qF -- "$o" ||
				fail "the README's synopsis of ctrace $c names $o, its --help does not"
			n=$((n + 1))
		done
	done < <(sed -n 's/^    ctrace \([a-z]*\) \(.*\)$/\1 \2/p' "$readme" | grep -E '^(record|report|dump|check|diff|export|attach|detach|version) ')
	[ "$n" -gt 15 ]
	# the FILTERS paragraph names every shared filter row
	for o in --from --to --thread --kind --exclude-kind --hide --strict; do
		sed -n '/^\*\*FILTERS\*\*/,/^$/p' "$readme" | grep -qF -- "$o" ||
			fail "FILTERS does not name $o"
		"$CT" report --help | grep -qF -- "$o" || fail "report --help does not list $o"
	done
}

@test "dump: HOLD lines name the lock's variable and the symbolized call site that took it" {
	trace nh.ctr "$PROGS/nown_handoff" 5 1000
	assert_success
	line=$(marked_line "$SRC/tests/progs/nown_handoff.c" RECEIVE-SITE)
	run "$CT" dump nh.ctr
	assert_success
	assert_line --regexp "^gen=[0-9]+ tid=[0-9]+ ts=\\+[0-9.]+ms HOLD kind=mutex obj=0x[0-9a-f]+ site=0x[0-9a-f]+ stack=[0-9]+ taken=after_wait lock=handoff_mu at=receive \\(nown_handoff.c:$line\\)\$"
	refute_line --regexp " HOLD .* at=\\?\\?"
}

@test "several traces: a damaged chunk in any of them is in trace.damaged and the text's note" {
	trace l.ctr "$PROGS/lockwait" 4 25 200
	assert_success
	at=$(mid_chunk l.ctr)
	[ -n "$at" ]
	cp l.ctr bad.ctr
	flip bad.ctr $((at + 50))
	# the same start and pid: bad.ctr stays second, as given
	[ "$("$CT" report --json l.ctr bad.ctr 2>/dev/null | jq -r '.processes[1].file')" = bad.ctr ]
	[ "$("$CT" report --json l.ctr bad.ctr 2>/dev/null | jq .trace.damaged)" = 1 ]
	run --separate-stderr "$CT" report l.ctr bad.ctr
	assert_success
	assert_line --partial "note: 1 damaged stretch of the file skipped (the first at byte offset $at)"
}
