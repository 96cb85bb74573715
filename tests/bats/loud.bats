#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Failing loudly, and only where it matters: a damaged chunk costs that chunk, not the
# trace (--strict restores the failure); filters by kind; options that select nothing exit
# 2 naming what exists. Programs measure their own waits; every loud failure is checked
# with its exit status and its message.

load helpers

setup() { common_setup; }

# chunks FILE: one line per chunk, "OFFSET KIND GEN" (FORMAT.md section 4: the header's
# length at byte 12, each chunk a 36-byte header and comp_len bytes at its byte 28).
chunks() {
	local f=$1 size off kind gen comp
	size=$(stat -c %s "$f")
	off=$(od -An -tu4 -j12 -N4 "$f" | tr -d ' ')
	while [ $((off + 36)) -le "$size" ]; do
		kind=$(od -An -tu1 -j$((off + 4)) -N1 "$f" | tr -d ' ')
		gen=$(od -An -tu4 -j$((off + 8)) -N4 "$f" | tr -d ' ')
		comp=$(od -An -tu4 -j$((off + 28)) -N4 "$f" | tr -d ' ')
		echo "$off $kind $gen"
		off=$((off + 36 + comp))
	done
}

# flip FILE OFFSET: xor the byte at OFFSET with 0x55.
flip() {
	local b
	b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 0x55)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

@test "damaged chunk mid-trace: skipped with one warning naming its offset, the rest reported; --strict exits 2" {
	trace l.ctr "$PROGS/lockwait" 4 25 200
	assert_success
	# the second of the EVENTS chunks (kind 2): one in the middle of the file
	at=$(chunks l.ctr | awk '$2 == 2 { n++; if (n == 2) print $1 }')
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
