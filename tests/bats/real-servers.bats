#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Real third-party programs (Debian packages), short form (make test-real runs the long
# form with CTRACE_REAL_SECONDS=10): PostgreSQL under pgbench, redis under redis-benchmark,
# CPython's own thread tests, stress-ng's waiting stressors. Each runs untraced and traced
# side by side (tests/real/*.sh), loopback only: same answers and exit statuses, every trace
# file readable, and the report shows where the program waits. The traced/untraced ratios
# (throughput, CPU per request) are recorded with their targets and printed in one summary
# at the end of the file; only the long form, with medians of several pairs, checks them
# against a floor that catches a pathological slowdown (real-ratios.bash).

load helpers
load real-ratios

setup() {
	common_setup
	SECS=${CTRACE_REAL_SECONDS:-3}
}

teardown_file() { ratios_summary; }

@test "postgres + pgbench -c 4 -j 2: same answers traced, every process's trace readable, its semaphore and epoll waits" {
	ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 ||
		skip "postgresql not installed (tests/deps.sh installs it)"
	run timeout $(((SECS + 20) * 2 * ${CTRACE_REAL_PAIRS:-1} + 120)) "$SRC/tests/real/postgres.sh" "$CTRACE_BUILD" "$BATS_TEST_TMPDIR/pg" "$SECS"
	assert_success
	assert_line "answers=same"
	assert_line "traced_exit=0"
	assert_line "traced_init_exit=0"
	assert_line "traced_pgbench_exit=0"
	# how many transactions ran depends on the machine: the traced run made some, and
	# the waits below are compared with that count, not with a fixed number
	txns=$(value traced_txns)
	[ "$txns" -gt 0 ]
	ratio_record postgres tps_ratio ">=" 0.9 0.3
	ratio_record postgres cpu_per_txn_ratio "<=" 1.10 4
	# the postmaster and every process it forked (backends, checkpointer, walwriter, ...)
	# wrote a trace of its own, and all of them are readable
	files=$(value trace_files)
	[ "$files" -ge 10 ]
	[ "$(value traces_readable)" = "$files" ]
	[ "$(value child_traces)" -ge 9 ]
	# the backends' lightweight locks sleep on semaphores, the backends wait for their
	# client in epoll_wait (WaitEventSetWait)
	[ "$(value waits_sync_sem)" -gt 0 ]
	# pgbench sends a statement only once the previous result arrived, so every
	# transaction makes its backend wait for the client at least once
	[ "$(value waits_net_epoll)" -ge "$txns" ]
	master=$(sed -n 's/^master_trace=//p' <<<"$output")
	backend=$(sed -n 's/^backend_trace=//p' <<<"$output")
	run "$CT" report --json "$master"
	assert_success
	# the postmaster: select() in its server loop, accept() of every connection
	jq -e '.trace.exe | endswith("/bin/postgres")' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "accept")] | map(.count) | add >= 5' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "select")] | length > 0' <<<"$output"
	run "$CT" report --json "$backend"
	assert_success
	jq -e '.trace.lost_events == 0' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "epoll") | .frames[].func] | index("WaitEventSetWait") != null' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync" and .kind == "sem") | .frames[].func] | index("LWLockAcquire") != null' <<<"$output"
}

@test "redis-server under redis-benchmark: same answers traced, its event loop's epoll waits in the report" {
	command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
		skip "redis-server or redis-tools not installed (tests/deps.sh installs them)"
	run timeout 180 "$SRC/tests/real/redis.sh" "$CTRACE_BUILD" "$BATS_TEST_TMPDIR/redis" $((SECS * 50000))
	assert_success
	assert_line "answers=same"
	assert_line "answer_lines=50"
	assert_line "traced_exit=0"
	assert_line "traced_benchmark_exit=0"
	ratio_record redis set_rps_ratio ">=" 0.9 0.3
	ratio_record redis get_rps_ratio ">=" 0.9 0.3
	ratio_record redis cpu_per_req_ratio "<=" 1.10 4
	trace=$(sed -n 's/^trace=//p' <<<"$output")
	run "$CT" report --json "$trace"
	assert_success
	# /usr/bin/redis-server is a symlink to redis-check-rdb in Debian
	jq -e '(.trace.exe | test("redis")) and .trace.threads >= 4 and .trace.lost_events == 0' <<<"$output"
	# the bio threads (close_file, aof_fsync, lazy_free) were created and named
	jq -e '[.threads[] | select(.start_func == "bioProcessBackgroundJobs")] | length == 3' <<<"$output"
	# the event loop waits in epoll_wait (aeMain), reads and writes its client sockets
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "epoll")] | map(.count) | add > 1000' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "epoll") | .frames[].func] | index("aeMain") != null' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and (.kind == "read" or .kind == "write"))] | map(.count) | add > 1000' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "net" and .kind == "accept")] | map(.count) | add >= 50' <<<"$output"
}

@test "CPython's thread tests (python3 -m test): same results traced, nothing on stderr, every process's trace readable" {
	/usr/bin/python3 -c 'import test.test_threading' 2>/dev/null ||
		skip "the CPython test suite is not installed (libpython3.11-testsuite; tests/deps.sh installs it)"
	form=short limit=150
	[ "$SECS" -ge 10 ] && form=long limit=2000
	run timeout "$limit" "$SRC/tests/real/python.sh" "$CTRACE_BUILD" "$BATS_TEST_TMPDIR/py" "$form"
	assert_success
	assert_line "results=same"
	assert_line "traced_exit=0"
	assert_line "traced_verdict=SUCCESS"
	assert_line "traced_cases_failed=0"
	[ "$(value traced_cases_ok)" -gt 300 ]
	ratio_record cpython time_ratio "<=" 1.25 5
	# libctrace wrote nothing on stderr (the tests' subprocesses check theirs too); the
	# warnings regrtest prints when a test's thread outlived its check, and asyncio's
	# child watcher when a test closed its loop before the child was reaped, depend on
	# timing (python.sh counts them apart)
	assert_line "traced_stderr_libctrace_lines=0"
	assert_line "traced_stderr_other_bytes=$(value untraced_stderr_other_bytes)"
	# the tests start subprocesses: each wrote its own trace, all readable
	files=$(value trace_files)
	[ "$files" -gt 5 ]
	[ "$(value traces_readable)" = "$files" ]
	# at default settings the writer keeps up: no process's trace lost an event
	assert_line "traces_lost_events=0"
	main=$(sed -n 's/^main_trace=//p' <<<"$output")
	run "$CT" report --json "$main"
	assert_success
	jq -e '(.trace.exe | test("python3")) and .trace.threads > 100' <<<"$output"
	# Python's locks are sem_t (PyThread_acquire_lock_timed), its joins wait on them
	jq -e '[.profiles[] | select(.profile == "sync" and .kind == "sem")] | map(.count) | add > 100' <<<"$output"
	jq -e '[.profiles[] | select(.profile == "sync" and .kind == "sem") | .frames[].func] | index("PyThread_acquire_lock_timed") != null' <<<"$output"
}

# stress S...: tests/real/stressng.sh on the stressors, then the checks common to all.
stress() {
	command -v stress-ng >/dev/null || skip "stress-ng not installed (tests/deps.sh installs it)"
	run timeout $((SECS * 4 * $# + 120)) "$SRC/tests/real/stressng.sh" "$CTRACE_BUILD" "$BATS_TEST_TMPDIR/sng" "$SECS" "$@"
	assert_success
	assert_line "exits=same"
	assert_line "traces_unreadable=0"
	local s
	for s in "$@"; do
		assert_line "${s}_untraced_exit=0"
		assert_line "${s}_traced_exit=0"
		# the stress-ng parent and its two instances (forked) each wrote a trace
		[ "$(value "${s}_trace_files")" -ge 3 ]
		[ "$(value "${s}_traces_readable")" = "$(value "${s}_trace_files")" ]
		[ "$(value "${s}_traced_ops")" -gt 0 ]
		# at default settings the writer keeps up: no trace lost an event
		assert_line "${s}_lost_events=0"
		ratio_record stress-ng "${s}_ops_ratio" ">=" 0.9 0.1
	done
}

@test "stress-ng pthread, mutex, futex, sem (--verify): same exit statuses traced, every trace readable, the waits of each" {
	stress pthread mutex futex sem
	[ "$(value pthread_waits_sync_join)" -gt 0 ]
	[ "$(value mutex_waits_sync_mutex)" -gt 0 ]
	[ "$(value futex_waits_sync_futex)" -gt 100 ]
	# the sem stressor's sem_wait blocks only when it finds the count at zero: a 3 s run
	# on a busy machine may never (seen at load 70); the long form's 10 s always did
	[ "$(value sem_waits_sync_sem)" -gt 0 ] || [ "$SECS" -lt 10 ]
}

@test "stress-ng epoll, pipe (--verify): same exit statuses traced, every trace readable, their epoll and pipe waits" {
	stress epoll pipe
	[ "$(value epoll_waits_net_epoll)" -gt 100 ]
	[ "$(value epoll_waits_net_accept)" -gt 0 ]
	[ "$(value pipe_waits_syscall_read)" -gt 100 ]
	[ "$(value pipe_waits_syscall_write)" -gt 100 ]
}

@test "stress-ng fifo, sem-sysv, mq, poll (long form only): same exit statuses traced, every trace readable" {
	[ "$SECS" -ge 10 ] || skip "long form only (make test-real)"
	stress fifo sem-sysv mq poll
	[ "$(value fifo_waits_syscall_read)" -gt 100 ]
	[ "$(value poll_waits)" -gt 0 ]
}
