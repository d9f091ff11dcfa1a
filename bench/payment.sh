#!/usr/bin/env bash
# bench/payment.sh: the payment service's throughput — notifies handled and
# payments created per second, on SQLite (durable commits) and on
# PostgreSQL — beside the raw RSA verify and sign rates of the same run.
#
# Run it from the repository root:
#
#	bench/payment.sh
#
# It builds the test binary of ./payment and runs the benchmarks of
# payment/bench_test.go ROUNDS times (default 3), each round every
# benchmark once with a fixed count (-test.benchtime=Nx), at the default
# GOMAXPROCS (the machine's CPUs), so that a neighbour's burst on a shared
# machine hits one round rather than one benchmark. Figures are the medians
# over the rounds, the range in parentheses.
#
#	Notify/<store>         64 senders POST signed TRADE_SUCCESS notifies of
#	                       NOTIFY_N different pending orders over loopback
#	                       HTTP; each must be answered "success"; then every
#	                       order is checked paid exactly once, with its
#	                       three events. Target: >= NOTIFY_TARGET per second.
#	RawRSAVerify           rsa.VerifyPKCS1v15, the same Alipay key, one
#	                       goroutine per CPU: the rate beside Notify.
#	CreatePayment/<store>  64 goroutines call Service.CreatePayment (page
#	                       channel: store the order, sign the URL) in
#	                       process; then every order and URL is checked.
#	RawRSASign             rsa.SignPKCS1v15, the same app key, one goroutine
#	                       per CPU. Target: CreatePayment >= CREATE_TARGET %
#	                       of this rate.
#
# cpu µs/op is this process's CPU time per op (getrusage): the service,
# the senders and, for SQLite, the database; db µs/op is the CPU time of
# the local PostgreSQL server's processes per op (from /proc: every
# postgres process of the machine, so other clients' work shows too).
# writes/tx is the average batch of the store's group
# commit (notifies or creations per transaction; on SQLite one fsync, on
# PostgreSQL one round trip and one WAL flush).
#
# PostgreSQL is ZHIFU_TEST_POSTGRES (default the test server of DESIGN.md);
# its rows are skipped when it does not answer. ZHIFU_BENCH_POOL sets the
# store's pool_max_conns (default the store's: postgresstore.DefaultMaxConns,
# or pgx's max(4, CPUs) when larger).
#
# Environment:
#	ROUNDS         runs of the whole set (default 3)
#	NOTIFY_N       notifies per Notify run (default 6000)
#	CREATE_N       payments per CreatePayment run (default 3000)
#	VERIFY_N       verifications per RawRSAVerify run (default 40000)
#	SIGN_N         signatures per RawRSASign run (default 3000)
#	NOTIFY_TARGET  notifies per second (default 3000)
#	CREATE_TARGET  percent of the raw sign rate (default 70)
#	KEEP           a directory to keep the raw benchmark output in
set -euo pipefail

ROUNDS=${ROUNDS:-3}
NOTIFY_N=${NOTIFY_N:-6000}
CREATE_N=${CREATE_N:-3000}
VERIFY_N=${VERIFY_N:-40000}
SIGN_N=${SIGN_N:-3000}
NOTIFY_TARGET=${NOTIFY_TARGET:-3000}
CREATE_TARGET=${CREATE_TARGET:-70}

if [[ ! -f go.mod || ! -d payment ]]; then
	echo "bench/payment.sh: run me from the repository root (where go.mod is)" >&2
	exit 2
fi
if ! command -v go >/dev/null; then
	echo "bench/payment.sh: go is not on PATH (install Go from https://go.dev/dl/)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/payment.test
NAME=bench/payment.sh
. bench/lib.sh

echo "# CGO_ENABLED=0 go test -c -o $bin ./payment"
CGO_ENABLED=0 go test -c -o "$bin" ./payment

# benchmark regex and its count, in the order each round runs them
RUNS=(
	"^BenchmarkRawRSAVerify\$ $VERIFY_N"
	"^BenchmarkNotify\$ $NOTIFY_N"
	"^BenchmarkRawRSASign\$ $SIGN_N"
	"^BenchmarkCreatePayment\$ $CREATE_N"
)
load=$(cut -d' ' -f1 /proc/loadavg)
bench_rounds payment "$bin" "$ROUNDS" "${RUNS[@]}"
bench_parse

verify=$(median RawRSAVerify 2)
sign=$(median RawRSASign 2)
met_all=yes
row='%-22s %8s %13s %-24s %8s %10s %-5s %11s %11s %9s\n'
mus() { us "$(median "$1" "$2")"; } # median of field $2 of $1 in µs, or -
echo
printf "$row" op per-sec '(rounds)' beside ratio target met 'cpu µs/op' 'db µs/op' writes/tx
printf "$row" RawRSAVerify "$(printf %.0f "$verify")" "($(spread RawRSAVerify))" - - - - "$(mus RawRSAVerify 3)" - -
for st in sqlite postgres; do
	op=Notify/$st
	if ! has "$op"; then
		printf "$row" "$op" skipped - - - - - - - -
		continue
	fi
	rate=$(median "$op" 2)
	met=yes
	if awk -v x="$rate" -v t="$NOTIFY_TARGET" 'BEGIN { exit !(x < t) }'; then met=NO met_all=NO; fi
	wpc=$(median "$op" 4)
	printf "$row" "$op" "$(printf %.0f "$rate")" "($(spread "$op"))" "verify $(printf %.0f "$verify")/s" \
		"$(awk -v r="$rate" -v v="$verify" 'BEGIN { printf "%.1f%%", 100 * r / v }')" ">=$NOTIFY_TARGET/s" "$met" \
		"$(mus "$op" 3)" "$(mus "$op" 5)" "$wpc"
done
printf "$row" RawRSASign "$(printf %.0f "$sign")" "($(spread RawRSASign))" - - - - "$(mus RawRSASign 3)" - -
for st in sqlite postgres; do
	op=CreatePayment/$st
	if ! has "$op"; then
		printf "$row" "$op" skipped - - - - - - - -
		continue
	fi
	rate=$(median "$op" 2)
	ratio=$(awk -v r="$rate" -v s="$sign" 'BEGIN { printf "%.1f", 100 * r / s }')
	met=yes
	if awk -v x="$ratio" -v t="$CREATE_TARGET" 'BEGIN { exit !(x < t) }'; then met=NO met_all=NO; fi
	printf "$row" "$op" "$(printf %.0f "$rate")" "($(spread "$op"))" "sign $(printf %.0f "$sign")/s" \
		"$ratio%" ">=$CREATE_TARGET%" "$met" "$(mus "$op" 3)" "$(mus "$op" 5)" "$(median "$op" 4)"
done
echo
echo "per-sec: medians of $ROUNDS rounds (the range in parentheses); counts: $NOTIFY_N notifies, $CREATE_N payments,"
echo "$VERIFY_N verifies, $SIGN_N signs per run; 64 concurrent senders; GOMAXPROCS $(nproc)"
echo "ratio: the rate / the raw RSA rate beside it (the same key, every CPU, the same round)"
echo "targets: notifies >= $NOTIFY_TARGET/s, payments >= $CREATE_TARGET% of the raw sign rate (all met: $met_all)"
echo "cpu µs/op: this process's CPU per op (getrusage); db µs/op: the local PostgreSQL processes' CPU per op (/proc);"
echo "writes/tx: notifies or creations per transaction of the store's group commit"
echo "($(go version | cut -d' ' -f3), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at the start: $load)"
