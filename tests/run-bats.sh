#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the bats CLI tests (TAP) and prints one summary line, "bats: N passed, N failed".
# Environment: CTRACE_BUILD (build dir), optionally CTRACE_CLI (a sanitized ctrace).
log=$(mktemp)
bats --tap "$(dirname "$0")/bats" | tee "$log"
rc=$?
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
rm -f "$log"
echo "bats${CTRACE_CLI:+ (sanitized ctrace)}: $passed passed, $failed failed"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
