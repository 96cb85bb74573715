#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs each C unit test binary (TAP output) with a timeout and prints one summary line.
passed=0; failed=0
for t in "$@"; do
	if timeout 120 "$t" > "$t.log" 2>&1; then
		passed=$((passed + 1)); echo "PASS $(basename "$t") ($(grep -c '^ok' "$t.log") checks)"
	else
		failed=$((failed + 1)); echo "FAIL $(basename "$t")"; grep -A3 '^not ok' "$t.log" | head -40; tail -5 "$t.log"
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" = 0 ]
