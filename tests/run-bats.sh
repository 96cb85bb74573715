#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the bats CLI tests (TAP) and prints one summary line, "bats: N passed, N failed".
# Environment: CTRACE_BUILD (build dir), optionally CTRACE_CLI (a sanitized ctrace). With a
# sanitized ctrace the real-server files (real*.bats) are left out: they test the servers
# under the preload, which is not sanitized, and take minutes; every other file runs.
dir=$(dirname "$0")/bats
if [ -n "${CTRACE_CLI:-}" ]; then
	files=$(ls "$dir"/*.bats | grep -v '/real[^/]*\.bats$')
else
	files=$(ls "$dir"/*.bats)
fi
# `ctrace record` finds libctrace.so next to itself; a sanitized ctrace lives elsewhere.
export CTRACE_LIB="${CTRACE_LIB:-$CTRACE_BUILD/libctrace.so}"
log=$(mktemp)
# shellcheck disable=SC2086 # one word per file
bats --tap $files | tee "$log"
rc=$?
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
rm -f "$log"
echo "bats${CTRACE_CLI:+ (sanitized ctrace)}: $passed passed, $failed failed"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
