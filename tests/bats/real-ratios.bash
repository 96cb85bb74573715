# SPDX-License-Identifier: MIT
# Traced/untraced ratios of the real programs (tests/real/*.sh print them as KEY=X):
# collected over one bats run and printed as one summary, with the project's target for
# each, at the end of each real*.bats file (the last summary has them all). Loaded by
# real.bats and real-servers.bats after helpers.bash.

RATIOS_FILE=${BATS_RUN_TMPDIR:-/tmp}/ctrace-real-ratios

# ratio_of KEY: the decimal printed as KEY=X in $output.
ratio_of() {
	printf '%s\n' "$output" | sed -n "s/^$1=\\([0-9.]*\\)\$/\\1/p" | head -n1
}

# ratio_record PROGRAM KEY OP TARGET FLOOR: records KEY=X of $output with its target
# (OP is >= or <=) for the summary. In the long form (make test-real: medians of several
# pairs of runs) it fails when X is beyond FLOOR, the loose bound that catches a
# pathological slowdown; the short form of make test measures one pair while the rest of
# the machine does what it does, so there the ratio is reported, never judged.
ratio_record() {
	local prog=$1 key=$2 op=$3 target=$4 floor=$5 v
	v=$(ratio_of "$key")
	[ -n "$v" ] || fail "no $key in the output of $prog"
	printf '%s %s %s %s %s\n' "$prog" "$key" "$v" "$op" "$target" >>"$RATIOS_FILE"
	[ "${CTRACE_REAL_PAIRS:-1}" -ge 3 ] || return 0
	if [ "$op" = ">=" ]; then
		awk -v v="$v" -v m="$floor" 'BEGIN { exit !(v >= m) }' || fail "$prog $key=$v is below $floor"
	else
		awk -v v="$v" -v m="$floor" 'BEGIN { exit !(v <= m) }' || fail "$prog $key=$v is above $floor"
	fi
}

# ratios_summary: every ratio recorded in this run so far, one line each, as TAP comments.
ratios_summary() {
	[ -s "$RATIOS_FILE" ] || return 0
	{
		echo "# traced/untraced ratios (${CTRACE_REAL_SECONDS:-3} s of load; memcached and postgres: median of ${CTRACE_REAL_PAIRS:-1} pair(s) of runs; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
		awk '{ met = ($4 == ">=") ? ($3 >= $5) : ($3 <= $5)
		       printf "#   %-10s %-22s %7s   target %s %s: %s\n", $1, $2, $3, $4, $5,
		              met ? "met" : "MISSED" }' "$RATIOS_FILE"
	} >&3
}
