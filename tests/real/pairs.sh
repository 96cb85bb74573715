# SPDX-License-Identifier: MIT
# Sourced by the real-program scripts: runs untraced/traced pairs of a measured run and
# prints the ratios' medians. One pair of 10 s runs on this 2-core machine, client and
# server sharing the cores, gives memcached's CPU-per-request ratio anywhere in
# 0.88-1.21; the median of several pairs, their order alternated, is the figure to quote.
#
# run_pairs THROUGHPUT_KEY CPU_KEY: the caller defines `run_one MODE TAG` (MODE untraced
# or traced; TAG names the run's own files and directories) printing MODE_KEY=VALUE lines.
# The first pair (tags untraced, traced) is tee'd to $WORK/untraced.kv and traced.kv;
# CTRACE_REAL_PAIRS (default 1) pairs in all, pair N in $WORK/pairN.MODE.kv, traced first
# when N is even. Prints pairN_THROUGHPUT_ratio and pairN_CPU_ratio for every pair, then
# THROUGHPUT_ratio and CPU_ratio, the medians. Returns non-zero when a run's kv has
# MODE_exit other than 0.
run_pairs() {
	local tk=$1 ck=$2 n=${CTRACE_REAL_PAIRS:-1} i u t rc=0
	run_one untraced untraced | tee "$WORK/untraced.kv"
	run_one traced traced | tee "$WORK/traced.kv"
	for ((i = 2; i <= n; i++)); do
		if ((i % 2 == 0)); then
			run_one traced "traced$i" >"$WORK/pair$i.traced.kv"
			run_one untraced "untraced$i" >"$WORK/pair$i.untraced.kv"
		else
			run_one untraced "untraced$i" >"$WORK/pair$i.untraced.kv"
			run_one traced "traced$i" >"$WORK/pair$i.traced.kv"
		fi
	done
	: >"$WORK/pairs.ratios"
	for ((i = 1; i <= n; i++)); do
		if ((i == 1)); then
			u=$WORK/untraced.kv t=$WORK/traced.kv
		else
			u=$WORK/pair$i.untraced.kv t=$WORK/pair$i.traced.kv
		fi
		grep -qx 'untraced_exit=0' "$u" && grep -qx 'traced_exit=0' "$t" || rc=1
		awk -F= -v i="$i" -v tk="$tk" -v ck="$ck" '
			FNR == NR { a[$1] = $2; next } { b[$1] = $2 }
			END { ut = a["untraced_" tk]; tt = b["traced_" tk]
			      uc = a["untraced_" ck]; tc = b["traced_" ck]
			      printf "%s %.3f %.3f\n", i, ut ? tt / ut : 0, uc ? tc / uc : 0 }' \
			"$u" "$t" >>"$WORK/pairs.ratios"
	done
	local tr=${tk}_ratio cr=${ck/_us_per_/_per_}_ratio
	awk -v tr="$tr" -v cr="$cr" '{ printf "pair%s_%s=%s\npair%s_%s=%s\n", $1, tr, $2, $1, cr, $3 }' \
		"$WORK/pairs.ratios"
	median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
	echo "$tr=$(awk '{ print $2 }' "$WORK/pairs.ratios" | median)"
	echo "$cr=$(awk '{ print $3 }' "$WORK/pairs.ratios" | median)"
	return $rc
}
