#!/bin/sh
# SPDX-License-Identifier: MIT
# `make demo`: traces examples/convoy (a lock convoy) and prints the report, as a newcomer
# would run it by hand:
#     ctrace record -o build/demo/convoy.ctr -- build/examples/convoy
#     ctrace report --top 3 build/demo/convoy.ctr
# usage: tests/demo.sh BUILD_DIR
set -eu
BUILD=${1:?usage: demo.sh BUILD_DIR}
OUT=$BUILD/demo
mkdir -p "$OUT"
rm -f "$OUT/convoy.ctr" # the demo's own file: ctrace never overwrites a trace
echo "\$ ctrace record -o $OUT/convoy.ctr -- $BUILD/examples/convoy"
"$BUILD/ctrace" record -o "$OUT/convoy.ctr" -- "$BUILD/examples/convoy"
echo
echo "\$ ctrace report --top 3 $OUT/convoy.ctr"
"$BUILD/ctrace" report --top 3 "$OUT/convoy.ctr"
echo
echo "The stats lock taken in record_request is where the workers wait (sync), behind the"
echo "unlock in record_request that ends each critical section (holder). See examples/README.md;"
echo "'ctrace report --json $OUT/convoy.ctr' gives the same as JSON."
