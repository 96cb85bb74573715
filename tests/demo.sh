#!/bin/sh
# SPDX-License-Identifier: MIT
# `make demo`: traces examples/convoy (a lock convoy: 8 threads by default) and prints the
# report and the CI gate's verdict, as a newcomer would run them by hand:
#     ctrace record -o build/demo/convoy.ctr -- build/examples/convoy
#     ctrace report --top 3 build/demo/convoy.ctr
#     ctrace check --fail-on convoy build/demo/convoy.ctr
#     ctrace export --format html build/demo/convoy.ctr
# then says what to look at.
# usage: tests/demo.sh BUILD_DIR
set -eu
BUILD=${1:?usage: demo.sh BUILD_DIR}
OUT=$BUILD/demo
mkdir -p "$OUT"
rm -f "$OUT/convoy.ctr" "$OUT/convoy.html" # the demo's own files: ctrace never overwrites
echo "\$ ctrace record -o $OUT/convoy.ctr -- $BUILD/examples/convoy"
"$BUILD/ctrace" record -o "$OUT/convoy.ctr" -- "$BUILD/examples/convoy"
echo
echo "\$ ctrace report --top 3 $OUT/convoy.ctr"
"$BUILD/ctrace" report --top 3 "$OUT/convoy.ctr"
echo
echo "\$ ctrace check --fail-on convoy $OUT/convoy.ctr"
rc=0
"$BUILD/ctrace" check --fail-on convoy "$OUT/convoy.ctr" || rc=$?
echo "(exit status $rc: 1 when a convoy is found, which fails a CI job)"
[ "$rc" -le 1 ] # 2: the trace could not be read
echo
echo "\$ ctrace export --format html $OUT/convoy.ctr"
"$BUILD/ctrace" export --format html "$OUT/convoy.ctr"
echo "HTML report: $OUT/convoy.html (open it in a browser: flame graphs, timeline, convoy windows)"
cat <<'END'

What to look at:
  sync     the workers wait at the stats lock taken in record_request, each wait
           far longer than the lock is held;
  holder   that time is charged to the unlock in record_request, the end
           of the critical section: what to shorten;
  objects  the stats mutex has nearly all the wait time and "convoy yes": its queue of
           waiters does not drain. The "convoy:" line below the table is the evidence:
           how many of the 8 threads wait on average, how rarely nobody waits, the
           hold mean and median (about the program's 200us) against the median wait,
           and the throughput cap, 1 / mean hold: about the 5000 requests/s the
           program printed as its limit. More threads add no throughput.
  check    `ctrace check --fail-on convoy` turns the verdict into exit status 1.
  html     the same in a browser: the flame graph of the waits, each thread's waits on
           the timeline with an arrow from the unlock that ended it, and the convoy's
           windows plotted.
See examples/README.md; 'ctrace report --json' has the same (objects[].convoy and
objects[].convoy_evidence).
END
