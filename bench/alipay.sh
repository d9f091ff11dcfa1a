#!/usr/bin/env bash
# bench/alipay.sh: benchmarks of package alipay, with the instructions each
# SDK operation adds above the raw RSA operation it cannot avoid.
#
# Run it from the repository root:
#
#	bench/alipay.sh
#
# It builds the test binary of ./alipay into a temporary directory and runs
# the benchmarks of alipay/bench_test.go twice:
#
#  1. for time and allocations: go's benchmark runner, COUNT runs of each
#     benchmark (default 5), the median ns/op reported;
#  2. for instructions: valgrind --tool=callgrind with GOMAXPROCS=1, each
#     benchmark run for a fixed number of iterations N1 and N2
#     (-test.benchtime=Nx). Instructions per op are (Ir(N2) - Ir(N1)) /
#     (N2 - N1), so the cost of starting the binary and of the benchmark's
#     setup cancels out.
#
# Time on a shared machine swings by 10-30% between runs; the instruction
# counts move by a few hundred per op (ParseNotification's by a few
# thousand). Those are the numbers to compare. They are counted on the CPU
# valgrind emulates, which lacks the SHA extensions: SHA-256 runs its AVX2
# code, some 2000 instructions per 64-byte block.
#
# Needs go and valgrind (Debian: apt-get install -y valgrind).
#
# Environment:
#	COUNT        timing runs per benchmark (default 5)
#	N1, N2       iterations under callgrind for the verification
#	             benchmarks (default 200 and 1200)
#	SIGN_N1, SIGN_N2
#	             the same for the signing benchmarks, whose RSA operation
#	             costs about 17.7 million instructions (default 20 and 420)
#	GC_N1, GC_N2 the same for ParseNotification, which allocates 88 times
#	             per op: the garbage collector's cycles fall differently
#	             from run to run, and more iterations average them out
#	             (default 200 and 3200)
#	KEEP         a directory to keep the callgrind.out files in, for
#	             callgrind_annotate (default: they are deleted)
set -euo pipefail

COUNT=${COUNT:-5}
N1=${N1:-200}
N2=${N2:-1200}
SIGN_N1=${SIGN_N1:-20}
SIGN_N2=${SIGN_N2:-420}
GC_N1=${GC_N1:-200}
GC_N2=${GC_N2:-3200}

if [[ ! -f go.mod || ! -d alipay ]]; then
	echo "bench/alipay.sh: run me from the repository root (where go.mod is)" >&2
	exit 2
fi
if ! command -v go >/dev/null; then
	echo "bench/alipay.sh: go is not on PATH (install Go from https://go.dev/dl/)" >&2
	exit 2
fi
if ! command -v valgrind >/dev/null; then
	echo "bench/alipay.sh: valgrind is not installed; on Debian or Ubuntu: apt-get install -y valgrind" >&2
	exit 2
fi

# benchmark, its baseline ("-" for a baseline), its targets ("-" for none):
# the most instructions it may add above the baseline and the most
# allocations per op, and its iteration counts under callgrind: sign for
# SIGN_N1/SIGN_N2, gc for GC_N1/GC_N2, verify for N1/N2.
BENCHES=(
	"RawRSASign - - - sign"
	"PagePayURL RawRSASign 50000 - sign"
	"RawRSAVerifyNotify - - - verify"
	"VerifyNotification RawRSAVerifyNotify 35000 15 verify"
	"ParseNotification RawRSAVerifyNotify - - gc"
	"RawRSAVerifyResponse - - - verify"
	"VerifyResponse RawRSAVerifyResponse 60000 - verify"
	"DecodeResponse RawRSAVerifyResponse - - verify"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/alipay.test

# Without cgo the binary is the same whether or not a C compiler is
# installed.
echo "# CGO_ENABLED=0 go test -c -o $bin ./alipay"
CGO_ENABLED=0 go test -c -o "$bin" ./alipay

names=()
for b in "${BENCHES[@]}"; do
	read -r name _ <<<"$b"
	names+=("$name")
done
regex="^Benchmark($(IFS='|'; echo "${names[*]}"))\$"

# 1. Time and allocations. The benchmarks read alipay/testdata, so they run
# in alipay/.
echo "# (cd alipay && alipay.test -test.run='^\$' -test.bench='$regex' -test.benchmem -test.count=$COUNT)"
(cd alipay && "$bin" -test.run='^$' -test.bench="$regex" -test.benchmem -test.count="$COUNT") >"$tmp/time.txt"
# name ns/op allocs/op per line, the -GOMAXPROCS suffix dropped.
awk '$1 ~ /^Benchmark/ {
	name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "allocs/op") allocs = $i
	}
	print name, ns, allocs
}' "$tmp/time.txt" >"$tmp/time.parsed"

median_ns() {
	awk -v n="$1" '$1 == n { print $2 }' "$tmp/time.parsed" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "?"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'
}
allocs_of() {
	awk -v n="$1" '$1 == n { print $3 }' "$tmp/time.parsed" | sort -g | tail -n 1
}

# 2. Instructions. Both iteration counts of a benchmark run side by side.
# GODEBUG=asyncpreemptoff=1: callgrind 3.19 can abort on the signals with
# which Go preempts goroutines.
callgrind_ir() { # name iterations outfile
	(cd alipay && GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 \
		valgrind --tool=callgrind --callgrind-out-file="$3" \
		"$bin" -test.run='^$' -test.bench="^Benchmark$1\$" -test.benchtime="$2x") >"$3.log" 2>&1 || {
		echo "bench/alipay.sh: callgrind failed for $1 at $2 iterations:" >&2
		tail -n 20 "$3.log" >&2
		return 1
	}
	# The summary: line is the total of the Ir event for the whole run.
	awk '/^summary:/ { print $2 }' "$3"
}

declare -A IR
for b in "${BENCHES[@]}"; do
	read -r name _ _ _ kind <<<"$b"
	lo=$N1 hi=$N2
	case $kind in
	sign) lo=$SIGN_N1 hi=$SIGN_N2 ;;
	gc) lo=$GC_N1 hi=$GC_N2 ;;
	esac
	echo "# callgrind: Benchmark$name at ${lo}x and ${hi}x"
	callgrind_ir "$name" "$lo" "$tmp/cg.$name.$lo" >"$tmp/ir.lo" &
	pid=$!
	callgrind_ir "$name" "$hi" "$tmp/cg.$name.$hi" >"$tmp/ir.hi"
	wait "$pid"
	IR[$name]=$(awk -v lo="$(cat "$tmp/ir.lo")" -v hi="$(cat "$tmp/ir.hi")" -v n1="$lo" -v n2="$hi" \
		'BEGIN { printf "%.0f", (hi - lo) / (n2 - n1) }')
	if [[ -n ${KEEP:-} ]]; then
		mkdir -p "$KEEP"
		cp "$tmp/cg.$name.$lo" "$tmp/cg.$name.$hi" "$KEEP/"
	fi
done

echo
printf '%-22s %10s %9s %12s %9s %12s %13s  %s\n' benchmark ns/op allocs/op instr/op added 'added target' 'allocs target' met
for b in "${BENCHES[@]}"; do
	read -r name base target alloctarget _ <<<"$b"
	added=- met=
	allocs=$(allocs_of "$name")
	if [[ $base != - ]]; then
		added=$((IR[$name] - IR[$base]))
	fi
	if [[ $target != - || $alloctarget != - ]]; then
		met=yes
		if [[ $target != - ]] && ((added > target)); then met=NO; fi
		if [[ $alloctarget != - ]] && ((allocs > alloctarget)); then met=NO; fi
	fi
	printf '%-22s %10s %9s %12s %9s %12s %13s  %s\n' "$name" "$(median_ns "$name")" "$allocs" \
		"${IR[$name]}" "$added" "$target" "$alloctarget" "$met"
done
echo
echo "instr/op = (Ir at N2 - Ir at N1) / (N2 - N1): N1, N2 = $SIGN_N1, $SIGN_N2 for the signing benchmarks,"
echo "$GC_N1, $GC_N2 for ParseNotification, $N1, $N2 for the others"
echo "added = instructions per op above the baseline in the same file:"
for b in "${BENCHES[@]}"; do
	read -r name base _ <<<"$b"
	[[ $base == - ]] || echo "  $name - $base"
done
echo "($(go version | cut -d' ' -f3), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); instructions counted under $(valgrind --version))"
