package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"zhifu/alipay"
	"zhifu/payment"
)

// exitDifferences is zhifu reconcile's exit code when the reconciliation
// ran and found differences: a cron job or script can tell it from a
// failure (1) without reading the output.
const exitDifferences = 3

// maxBillArchive bounds a bill archive read by --file: Alipay's daily
// trade bills are a few MB, and its SDK refuses downloads over 64 MiB.
const maxBillArchive = 64 << 20

func reconcileCommand() *command {
	return &command{
		name:    "reconcile",
		summary: "compare Alipay's trade bill of a day with the database and list every difference",
		run: func(ctx context.Context, s *streams, args []string) int {
			return runReconcile(ctx, s, args, nil)
		},
	}
}

// reconcileUses are the settings of zhifu serve that zhifu reconcile reads.
var reconcileUses = []string{
	"app_id", "app_private_key", "app_private_key_file", "alipay_public_key_file",
	"app_cert_file", "alipay_cert_file", "alipay_root_cert_file", "gateway", "database",
	"log_level", "log_format",
}

// reconcileHelp is the help of zhifu reconcile; the flags follow it.
const reconcileHelp = `
Usage: zhifu reconcile --date YYYY-MM-DD [--file BILL.zip] [--config FILE]
                       [--app-id ID] [keys] [--gateway G] [--database DSN]

Compares Alipay's trade bill (业务明细) of one day, Beijing time, with the
orders and refunds in the database, as zhifu serve's daily job does. It
downloads the bill (alipay.data.dataservice.bill.downloadurl.query), stores
the result, replacing an earlier one of the day (the admin pages show it),
and prints it: the bill's lines and totals, the orders and refunds the
database has on the day, how many matched, and every difference, one a
line (missing on either side, amount, status, trade number).

Alipay publishes a day's bill the next day, after about 09:00-10:00
Beijing time: for today, or yesterday too early, it says the bill is not
available yet. With --file it reconciles a bill archive downloaded already
(the .zip from the merchant console or an earlier download) instead.

It reads zhifu serve's configuration, from the same config file, ZHIFU_*
environment and flags, and checks what it uses as zhifu serve does: the
app id, the keys (the private key from app_private_key_file or
$ZHIFU_APP_PRIVATE_KEY), the gateway and the database, which must exist
(zhifu serve creates it). Problems of the settings it does not use
(listen, public_url, webhooks…) are ignored.

Exit status: 0 the bill and the database agree; 3 differences were found
(listed on stdout); 1 the day could not be reconciled (the bill is not
available yet, the configuration, Alipay or the database failed); 2 a bad
command line.`

// runReconcile runs zhifu reconcile with args. adjust, when set, changes
// the configuration once loaded and checked: tests set its clock (which
// the Alipay client follows too, so that a test sandbox on the same clock
// hands out the bill of a day the test lived through) and HTTP client.
func runReconcile(ctx context.Context, s *streams, args []string, adjust func(*serveConfig)) int {
	f := newSettingFlags("zhifu reconcile", reconcileHelp, reconcileUses)
	dateFlag := f.String("date", "", "the `DAY` to reconcile, YYYY-MM-DD in Beijing time, such as 2026-11-27 (required; command line only)")
	fileFlag := f.String("file", "", "reconcile the trade bill archive `FILE` (.zip) of the day, downloaded already, instead of downloading it (command line only)")
	if code, done := f.parse(s, args); done {
		return code
	}
	const dateFormat = "write the day as YYYY-MM-DD in Beijing time, such as 2026-11-27"
	if *dateFlag == "" {
		return f.usageError(s, "--date is required: %s", dateFormat)
	}
	date, err := payment.ParseBillDate(strings.TrimSpace(*dateFlag))
	if err != nil {
		return f.usageError(s, "--date %s is not a day: %s", strconv.Quote(*dateFlag), dateFormat)
	}
	cfg, warnings, err := loadSharedConfig(s, f, reconcileUses, (*checker).checkApp, (*checker).checkDatabase)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu reconcile: %v\n", err)
		return exitFail
	}
	for _, w := range warnings {
		fmt.Fprintf(s.stderr, "zhifu reconcile: warning: %s\n", w)
	}
	if adjust != nil {
		adjust(cfg)
	}
	var archive []byte
	if *fileFlag != "" {
		if archive, err = readBillArchive(*fileFlag); err != nil {
			fmt.Fprintf(s.stderr, "zhifu reconcile: --file: %v\n", err)
			return exitFail
		}
	}

	run, err := reconcileDay(ctx, cfg, s.stderr, date, archive)
	switch {
	case errors.Is(err, payment.ErrBillNotReady):
		fmt.Fprintf(s.stderr, "zhifu reconcile: the trade bill of %s is not available yet: Alipay publishes a day's bill the next day, after about 09:00-10:00 Beijing time. Try again later; nothing was stored.\n  (%v)\n", date, err)
		return exitFail
	case err != nil:
		fmt.Fprintf(s.stderr, "zhifu reconcile: %v\n", err)
		return exitFail
	}
	source := "downloaded from Alipay"
	if archive != nil {
		source = "from " + *fileFlag
	}
	printBillRun(s.stdout, run, source)
	if run.Count() > 0 {
		return exitDifferences
	}
	return exitOK
}

// readBillArchive reads the bill archive at path, at most maxBillArchive
// bytes.
func readBillArchive(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxBillArchive+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > maxBillArchive {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a daily trade bill", path, maxBillArchive>>20)
	}
	return b, nil
}

// reconcileDay reconciles date with cfg's Alipay app and database: the
// bill archive given, or the bill downloaded when archive is nil. Logs go
// to logTo unless cfg has a Logger.
func reconcileDay(ctx context.Context, cfg *serveConfig, logTo io.Writer, date payment.BillDate, archive []byte) (*payment.BillRun, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = cfg.newLogger(logTo)
	}
	acfg := cfg.alipayConfig()
	// Unlike zhifu serve's client, this one follows the configured clock
	// (only tests set one): the SDK checks bill_date against it.
	acfg.Now = cfg.Now
	client, err := alipay.New(acfg)
	if err != nil {
		return nil, err
	}
	if err := missingDatabase(cfg.Database); err != nil {
		return nil, err
	}
	db, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("opening the %s database %s: %w", dbKind(cfg.Database), cfg.Database, err)
	}
	defer db.close()
	rec, err := payment.NewBillReconciler(payment.BillReconcilerConfig{Store: db.store, Alipay: client, Logger: logger, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	if archive != nil {
		return rec.ReconcileBillArchive(ctx, date, archive)
	}
	return rec.ReconcileBill(ctx, date)
}

// printBillRun writes the summary of run and its differences, one a line.
// source says where the bill came from.
func printBillRun(w io.Writer, run *payment.BillRun, source string) {
	fmt.Fprintf(w, "Trade bill of %s (Beijing time), %s\n", run.Date, source)
	fmt.Fprintf(w, "  bill:      %s, %s paid; %s, %s refunded\n",
		plural(run.BillPayments, "payment"), yuan(run.BillPaid), plural(run.BillRefunds, "refund"), yuan(run.BillRefunded))
	fmt.Fprintf(w, "  database:  %s paid, %s succeeded on the day\n", plural(run.DBPayments, "order"), plural(run.DBRefunds, "refund"))
	fmt.Fprintf(w, "  matched:   %d of %s\n", run.Matched, plural(run.BillPayments+run.BillRefunds, "bill line"))
	n := run.Count()
	if n == 0 {
		fmt.Fprintf(w, "Result: matched: the bill and the database agree.\n")
		return
	}
	var kinds []string
	for _, k := range payment.BillDiffKinds() {
		if c := run.Differences[k]; c > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", c, k))
		}
	}
	fmt.Fprintf(w, "Result: %s (%s):\n", plural(n, "difference"), strings.Join(kinds, ", "))
	for _, d := range run.Details {
		fmt.Fprintf(w, "  %s\n", formatDifference(d))
	}
}

// formatDifference writes a difference on one line: its kind, what it is
// about, the amounts of both sides and the detail.
func formatDifference(d payment.BillDifference) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s out_trade_no=%s", d.Kind, d.LineKind, oneWord(d.OutTradeNo))
	if d.OutRequestNo != "" {
		fmt.Fprintf(&b, " out_request_no=%s", oneWord(d.OutRequestNo))
	}
	if d.TradeNo != "" {
		fmt.Fprintf(&b, " trade_no=%s", oneWord(d.TradeNo))
	}
	bill := "none"
	if d.BillLine > 0 {
		bill = fmt.Sprintf("%s (line %d)", yuan(d.BillAmount), d.BillLine)
	}
	db := "none"
	if d.DBStatus != "" || d.DBAmount != 0 {
		db = yuan(d.DBAmount)
		if d.DBStatus != "" {
			db += " (" + oneWord(d.DBStatus) + ")"
		}
	}
	fmt.Fprintf(&b, " bill=%s database=%s: %s", bill, db, oneLine(d.Detail))
	return b.String()
}

// oneWord returns s as it is when it is one printable word, or quoted: a
// bill read from a file may hold anything, and one difference must stay
// on one line.
func oneWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' }) {
		return s
	}
	return strconv.Quote(s)
}

// oneLine returns s on one line: its runs of spaces and line breaks as
// one space, other control characters as U+FFFD.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) && r != ' ' {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// yuan writes an amount as ¥12.34.
func yuan(a alipay.Amount) string { return "¥" + a.String() }

// plural is "1 payment", "2 payments".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
