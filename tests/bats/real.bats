#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Real servers, short form (make test-real runs the long form): traced and untraced side by
# side, same answers, and a trace that shows where the server waits.

load helpers

setup() {
	common_setup
	command -v memcached >/dev/null || skip "memcached not installed (tests/deps.sh installs it)"
}

@test "memcached -t 4 under load: same answers traced, its epoll and lock waits in the report" {
	run timeout 180 "$SRC/tests/real/memcached.sh" "$CTRACE_BUILD" "$BATS_TEST_TMPDIR/mc" "${CTRACE_REAL_SECONDS:-3}"
	assert_success
	assert_line "answers=same"
	assert_line "traced_capable=54 passed, 0 failed"
	assert_line "traced_exit=0"
	trace=$(sed -n 's/^trace=//p' <<<"$output")
	# the traced server served the load (not a handful of requests)
	[ "$(value traced_ops)" -gt 10000 ]
	run "$CT" report --json "$trace"
	assert_success
	jq -e '.trace.exe == "/usr/bin/memcached" and .trace.threads >= 5 and .trace.lost_events == 0' <<<"$output"
	# worker threads wait in epoll_wait (libevent), the server's threads on its locks and
	# condition variables
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "epoll")] | map(.count) | add > 100' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync" and (.kind == "mutex" or .kind == "cond"))] | length > 0' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and (.kind == "read" or .kind == "recv" or .kind == "send" or .kind == "write"))] | length > 0' <<<"$output"
}
