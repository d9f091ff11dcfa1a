#!/usr/bin/env bash
# bench/api.sh: payments created per second through the JSON API (POST
# /v1/payments), as a merchant's backend creates them, on SQLite (durable
# commits) and on PostgreSQL — beside the raw RSA sign rate of the same
# app key, in the same rounds.
#
# Run it from the repository root:
#
#	bench/api.sh
#
# It builds the test binary of ./internal/httpapi and runs the benchmarks
# of internal/httpapi/bench_test.go ROUNDS times (default 3), each round
# every benchmark once with a fixed count (-test.benchtime=Nx), at the
# default GOMAXPROCS. Figures are the medians over the rounds, the range in
# parentheses.
#
#	APICreatePayment/<store>  64 clients, one kept-alive loopback
#	                          connection each, POST /v1/payments (page
#	                          channel, a real API key, a new
#	                          Idempotency-Key each): authenticate, claim
#	                          the key, store the order, sign the URL, keep
#	                          the answer. Then every answer, order and URL
#	                          is checked, and a retry must replay.
#	APIRawRSASign             rsa.SignPKCS1v15, the same app key, one
#	                          goroutine per CPU.
#
# cpu µs/op is this process's CPU per op (getrusage): the API, the service,
# the 64 clients and, for SQLite, the database engine. db µs/op is the CPU
# of the machine's postgres processes per op (from /proc: other clients'
# work on that server shows too). cpu ratio is the raw sign's CPU per op
# over the creation's (the server's included on PostgreSQL).
#
# PostgreSQL is ZHIFU_TEST_POSTGRES (default the test server of
# DESIGN.md); its row is skipped when it does not answer.
#
# Environment:
#	ROUNDS    runs of the whole set (default 3)
#	CREATE_N  payments per APICreatePayment run (default 3000)
#	SIGN_N    signatures per APIRawRSASign run (default 3000)
#	KEEP      a directory to keep the raw benchmark output in
#	ZHIFU_BENCH_PROFILE  a directory: CPU profiles of the timed parts
set -euo pipefail

ROUNDS=${ROUNDS:-3}
CREATE_N=${CREATE_N:-3000}
SIGN_N=${SIGN_N:-3000}

if [[ ! -f go.mod || ! -d internal/httpapi ]]; then
	echo "bench/api.sh: run me from the repository root (where go.mod is)" >&2
	exit 2
fi
if ! command -v go >/dev/null; then
	echo "bench/api.sh: go is not on PATH (install Go from https://go.dev/dl/)" >&2
	exit 2
fi
if [[ -n ${ZHIFU_BENCH_PROFILE:-} ]]; then
	mkdir -p "$ZHIFU_BENCH_PROFILE"
	ZHIFU_BENCH_PROFILE=$(cd "$ZHIFU_BENCH_PROFILE" && pwd)
	export ZHIFU_BENCH_PROFILE
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/httpapi.test
NAME=bench/api.sh
. bench/lib.sh

echo "# CGO_ENABLED=0 go test -c -o $bin ./internal/httpapi"
CGO_ENABLED=0 go test -c -o "$bin" ./internal/httpapi

# benchmark regex and its count, in the order each round runs them
RUNS=(
	"^BenchmarkAPIRawRSASign\$ $SIGN_N"
	"^BenchmarkAPICreatePayment\$ $CREATE_N"
)
load=$(cut -d' ' -f1 /proc/loadavg)
bench_rounds internal/httpapi "$bin" "$ROUNDS" "${RUNS[@]}"
bench_parse

sign=$(median APIRawRSASign 2)
signcpu=$(median APIRawRSASign 3)
row='%-26s %8s %13s %-16s %7s %10s %9s %10s\n'
echo
printf "$row" op per-sec '(rounds)' beside ratio 'cpu µs/op' 'db µs/op' 'cpu ratio'
printf "$row" APIRawRSASign "$(printf %.0f "$sign")" "($(spread APIRawRSASign))" - - "$(us "$signcpu")" - -
for st in sqlite postgres; do
	op=APICreatePayment/$st
	if ! has "$op"; then
		printf "$row" "$op" skipped - - - - - -
		continue
	fi
	rate=$(median "$op" 2)
	cpu=$(median "$op" 3)
	db=$(median "$op" 5)
	[[ $st == sqlite ]] && db=-
	printf "$row" "$op" "$(printf %.0f "$rate")" "($(spread "$op"))" "sign $(printf %.0f "$sign")/s" \
		"$(awk -v r="$rate" -v s="$sign" 'BEGIN { printf "%.1f%%", 100 * r / s }')" "$(us "$cpu")" "$(us "$db")" \
		"$(awk -v s="$signcpu" -v c="$cpu" -v d="$db" 'BEGIN { if (d == "-") d = 0; if (c == "-" || s == "-") print "-"; else printf "%.1f%%", 100 * s / (c + d) }')"
done
echo
echo "per-sec: medians of $ROUNDS rounds (the range in parentheses); $CREATE_N payments, $SIGN_N signs per run;"
echo "64 concurrent API clients over loopback HTTP; GOMAXPROCS $(nproc)"
echo "ratio: payments/s over the raw sign rate (the same app key, every CPU, the same rounds)"
echo "cpu µs/op: this process's CPU per op (getrusage); db µs/op: the machine's postgres processes' CPU per op (/proc)"
echo "cpu ratio: the raw sign's CPU per op over the creation's (with db µs/op on PostgreSQL)"
echo "($(go version | cut -d' ' -f3), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at the start: $load)"
