# bench/lib.sh: what bench/payment.sh and bench/api.sh share — running a
# test binary's benchmarks round after round, and reading medians and
# ranges out of the results. Source it from the repository root after
# setting tmp (a scratch directory) and NAME (the script's name, for
# messages).

# bench_rounds DIR BIN ROUNDS RUN... runs, ROUNDS times in DIR, each RUN
# ("<regex> <count>") as BIN -test.bench=<regex> -test.benchtime=<count>x,
# and appends the result lines of round r to $tmp/round.r.txt. A failed
# benchmark ends the script.
bench_rounds() {
	local dir=$1 bin=$2 rounds=$3 r run regex n
	shift 3
	for ((r = 1; r <= rounds; r++)); do
		for run in "$@"; do
			read -r regex n <<<"$run"
			echo "# round $r/$rounds: (cd $dir && $(basename "$bin") -test.run='^\$' -test.bench='$regex' -test.benchtime=${n}x)"
			if ! (cd "$dir" && "$bin" -test.run='^$' -test.bench="$regex" -test.benchtime="${n}x" -test.v) >"$tmp/out" 2>&1 ||
				grep -q -e '^--- FAIL' -e '^FAIL' "$tmp/out"; then
				cat "$tmp/out" >&2
				echo "$NAME: a benchmark failed in round $r" >&2
				exit 1
			fi
			grep -e '^Benchmark.*/op' -e 'SKIP' "$tmp/out" >>"$tmp/round.$r.txt" || true
		done
	done
	if [[ -n ${KEEP:-} ]]; then
		mkdir -p "$KEEP"
		cp "$tmp"/round.*.txt "$KEEP/"
	fi
}

# bench_parse writes $tmp/parsed: one line per result, "name rate
# cpu-ns/op writes/commit db-cpu-ns/op" ("-" for what a result lacks),
# the -GOMAXPROCS suffix dropped from the name.
bench_parse() {
	cat "$tmp"/round.*.txt | awk '$1 ~ /^Benchmark/ {
		name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		rate = 0; cpu = "-"; wpc = "-"; db = "-"
		for (i = 2; i < NF; i++) {
			u = $(i+1)
			if (u == "notifies/s" || u == "payments/s" || u == "verifies/s" || u == "signs/s") rate = $i
			if (u == "cpu-ns/op") cpu = $i
			if (u == "writes/commit") wpc = $i
			if (u == "db-cpu-ns/op") db = $i
		}
		print name, rate, cpu, wpc, db
	}' >"$tmp/parsed"
}

# median NAME F prints the median of field F (2: rate, 3: cpu-ns/op, 4:
# writes/commit, 5: db-cpu-ns/op) of NAME's results, or - when none has it.
median() {
	awk -v n="$1" -v f="$2" '$1 == n && $f != "-" { print $f }' "$tmp/parsed" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'
}

# spread NAME prints the range of NAME's rates, "lo-hi".
spread() {
	awk -v n="$1" '$1 == n { print $2 }' "$tmp/parsed" | sort -g |
		awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'
}

# has NAME succeeds when NAME has results.
has() { awk -v n="$1" '$1 == n { f = 1 } END { exit !f }' "$tmp/parsed"; }

# us NS prints NS nanoseconds in µs with one decimal, or - for -.
us() {
	[[ $1 == - ]] && echo - || awk -v c="$1" 'BEGIN { printf "%.1f", c / 1000 }'
}
