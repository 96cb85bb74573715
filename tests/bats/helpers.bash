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

# preload_only: the sanitized pass (CTRACE_CLI set by `make asan`) skips the calling test.
# For tests that check the traced program and libctrace (its behaviour, memory, stress)
# and spend their time there, and whose use of ctrace's analyzer other tests of the
# sanitized pass make too; tests/README.md lists them. tests/run-bats.sh counts the skips.
preload_only() {
	[ -z "${CTRACE_CLI:-}" ] || skip "preload only: not run again with the sanitized ctrace"
}
