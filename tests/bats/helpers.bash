# SPDX-License-Identifier: MIT
# Shared by the bats files: paths, running programs under the tracer, JSON queries.
# Environment: CTRACE_BUILD (absolute build dir, set by `make bats`), optionally CTRACE_CLI
# (a sanitized ctrace, set by `make asan`).

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
bats_require_minimum_version 1.5.0

: "${CTRACE_BUILD:?run through make bats (CTRACE_BUILD is the build directory)}"
CT=${CTRACE_CLI:-$CTRACE_BUILD/ctrace}
LIB=$CTRACE_BUILD/libctrace.so
PROGS=$CTRACE_BUILD/progs
EXAMPLES=$CTRACE_BUILD/examples
SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
export CTRACE_LIB=$LIB

# Every test runs in its own directory: trace files land there.
common_setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

# trace FILE PROGRAM ARGS...: ctrace record -o FILE, bounded; output in $output, status in
# $status (bats run).
trace() {
	local out=$1
	shift
	run timeout 60 "$CT" record -o "$out" -- "$@"
}

# jreport FILE JQ-FILTER: the filter applied to `ctrace report --json FILE`, raw output.
jreport() {
	"$CT" report --json "$1" | jq -r "$2"
}

# value KEY: the number printed as KEY=N in $output (the test programs' own measurements).
value() {
	printf '%s\n' "$output" | sed -n "s/^.*\\b$1=\\([0-9][0-9]*\\).*\$/\\1/p" | head -n1
}

# marked_line FILE MARK: the line number of the source line carrying the comment MARK.
marked_line() {
	grep -n "/\\* $2 \\*/" "$1" | cut -d: -f1 | head -n1
}

# assert_within PCT MEASURED EXPECTED [EXTRA]: |MEASURED - EXPECTED| <= PCT% of EXPECTED
# (+ EXTRA, e.g. the run-queue time a program measured in its preempted calls).
assert_within() {
	local pct=$1 got=$2 want=$3 extra=${4:-0}
	[ -n "$got" ] && [ -n "$want" ] && [ "$want" -gt 0 ] ||
		fail "assert_within: missing value (got '$got', want '$want')"
	awk -v g="$got" -v w="$want" -v p="$pct" -v x="$extra" \
		'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d * 100 <= p * w + x * 100) }' ||
		fail "$got is not within $pct% of $want${4:+ + $extra} ($(awk -v g="$got" -v w="$want" \
			'BEGIN { printf "%+.2f%%", (g - w) * 100 / w }'))"
}

# ---- programs in the background (top.bats, attach.bats): a test's setup sets BG=() and
# its teardown calls bg_kill.

# bg_start NAME COMMAND ARGS...: runs COMMAND in the background, bounded by a 120 s timeout
# (stdout NAME.out, stderr NAME.err); the pid of COMMAND (its process under timeout) in
# $PID, the timeout's in $TPID, both added to BG.
bg_start() {
	local name=$1 i
	shift
	timeout 120 "$@" >"$name.out" 2>"$name.err" &
	TPID=$!
	BG+=("$TPID")
	PID=
	for i in $(seq 1 200); do
		PID=$(pgrep -P "$TPID" | head -n1)
		[ -n "$PID" ] && break
		sleep 0.05
	done
	[ -n "$PID" ] || fail "cannot find the pid of $*"
	BG+=("$PID")
}

# bg_kill: kills every process in BG and reaps those that are this shell's children.
bg_kill() {
	local p
	for p in "${BG[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# await FILE [TEXT]: waits (30 s at most) for FILE to exist (and to hold TEXT, a grep
# pattern).
await() {
	local i
	for i in $(seq 1 600); do
		[ -e "$1" ] && { [ -z "${2:-}" ] || grep -q -- "$2" "$1"; } && return 0
		sleep 0.05
	done
	fail "timed out waiting for $1${2:+ to say $2}"
}

# preload_only: the sanitized pass (CTRACE_CLI set by `make asan`) skips the calling test.
# For tests that check the traced program and libctrace (its behaviour, memory, stress)
# and spend their time there, and whose use of ctrace's analyzer other tests of the
# sanitized pass make too; tests/README.md lists them. tests/run-bats.sh counts the skips.
preload_only() {
	[ -z "${CTRACE_CLI:-}" ] || skip "preload only: not run again with the sanitized ctrace"
}
