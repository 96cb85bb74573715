#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The bundled examples and `make demo` show what their READMEs promise.

load helpers

setup() { common_setup; }

@test "examples/convoy: the workers wait at the stats lock in record_request" {
	trace cv.ctr "$EXAMPLES/convoy" 4 200 200 50
	assert_success
	assert_line --partial "convoy: 4 threads, 800 requests"
	# the lock waits (main's join lasts the whole run and can be longer, on a busy
	# machine where the workers queue for a CPU rather than for the lock)
	run jreport cv.ctr '[.profiles[] | select(.profile == "sync" and .kind == "mutex")]
		| max_by(.total_ns) | "\(.frames[0].func) \(.frames[1].func)"'
	assert_output "record_request handle_request"
	run jreport cv.ctr '[.profiles[] | select(.profile == "holder" and .kind == "mutex")]
		| max_by(.total_ns) | "\(.frames[0].func) \(.frames[0].file)"'
	assert_output "record_request examples/convoy.c"
}

@test "examples/condvar: consumers wait in next_item, woken by put_item's signal" {
	trace cd.ctr "$EXAMPLES/condvar"
	assert_success
	assert_line --partial "checksum ok"
	run jreport cd.ctr '[.profiles[] | select(.profile == "sync" and .kind == "cond")]
		| max_by(.total_ns) | .frames[0].func'
	assert_output next_item
	run jreport cd.ctr '[.profiles[] | select(.profile == "holder" and .kind == "cond")]
		| max_by(.total_ns) | .frames[0].func'
	assert_output put_item
	run jreport cd.ctr '[.objects[] | select(.kind == "cond")] | length'
	assert_output 2
}

@test "make demo's script prints a symbolized report of the convoy" {
	run timeout 120 "$SRC/tests/demo.sh" "$CTRACE_BUILD"
	assert_success
	assert_output --partial "== sync"
	assert_output --partial "record_request (convoy.c:"
	[ -s "$CTRACE_BUILD/demo/convoy.ctr" ]
}
