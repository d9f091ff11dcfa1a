package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"zhifu/alipay"
	"zhifu/internal/testclock"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// reconcileEnv is a payment Service on a SQLite file with a sandbox as
// Alipay, both on one clock, and the flags that point zhifu reconcile at
// the same app and file.
type reconcileEnv struct {
	t      *testing.T
	clock  *testclock.Clock
	ts     *sandbox.TestServer
	client *alipay.Client
	dbPath string
	store  *sqlitestore.Store
	svc    *payment.Service
	args   []string
	day    payment.BillDate // the day the orders are paid on
}

// newReconcileEnv starts the environment on the clock of 10:00 Beijing
// time tomorrow: every payment of the test falls on that day, whatever
// the time the test runs at.
func newReconcileEnv(t *testing.T) *reconcileEnv {
	t.Helper()
	e := &reconcileEnv{t: t, clock: testclock.New(time.Now()), dbPath: filepath.Join(t.TempDir(), "zhifu.db")}
	now := time.Now()
	e.day = payment.BillDateOf(now).AddDays(1)
	e.clock.Set(e.day.Start().Add(10 * time.Hour))
	e.ts = sandbox.NewTestServerConfig(t, sandbox.Config{Now: e.clock.Now})
	var err error
	e.client, err = alipay.New(alipay.Config{
		AppID: e.ts.AppID, PrivateKey: e.ts.AppPrivateKeyPEM, AlipayPublicKey: e.ts.AlipayPublicKeyPEM,
		Gateway: e.ts.GatewayURL, HTTPClient: e.ts.Server.Client(), Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.store, err = sqlitestore.Open(context.Background(), e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.svc, err = payment.New(payment.Config{
		Store: e.store, Alipay: e.client, NotifyURL: srv.URL + notifyPath,
		Logger: slog.New(slog.DiscardHandler), Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(notifyPath, e.svc.NotifyHandler())
	dir := t.TempDir()
	e.args = []string{
		"--app-id", e.ts.AppID, "--gateway", e.ts.GatewayURL, "--database", e.dbPath,
		"--app-private-key-file", writeFile(t, dir, "app_private_key.pem", e.ts.AppPrivateKeyPEM),
		"--alipay-public-key-file", writeFile(t, dir, "alipay_public_key.pem", e.ts.AlipayPublicKeyPEM),
	}
	return e
}

// pay creates a precreate payment of amount and has the sandbox buyer pay
// it; the notify reaches the Service unless dropped.
func (e *reconcileEnv) pay(amount alipay.Amount, dropNotify bool) *payment.Order {
	e.t.Helper()
	ctx := e.t.Context()
	p, err := e.svc.CreatePayment(ctx, payment.CreatePaymentRequest{Subject: "对账 cli test", Amount: amount, Channel: payment.ChannelPrecreate})
	if err != nil {
		e.t.Fatalf("CreatePayment: %v", err)
	}
	if dropNotify {
		scope := sandbox.NotifyScope{AppID: e.ts.AppID, OutTradeNo: p.Order.OutTradeNo}
		if err := e.ts.Sandbox.SetNotifyFault(scope, sandbox.NotifyFault{DropFirst: 100}); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.ts.Sandbox.Pay(e.ts.AppID, p.Order.OutTradeNo); err != nil {
		e.t.Fatal(err)
	}
	if err := e.ts.Sandbox.DeliverDue(ctx); err != nil {
		e.t.Fatal(err)
	}
	o, err := e.store.GetOrder(ctx, p.Order.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if want := map[bool]payment.Status{false: payment.StatusPaid, true: payment.StatusPending}[dropNotify]; o.Status != want {
		e.t.Fatalf("order %s is %s after paying, want %s", o.OutTradeNo, o.Status, want)
	}
	e.clock.Advance(time.Minute)
	return o
}

// nextMorning moves the clock to 10:00 the day after e.day, when its bill
// is ready.
func (e *reconcileEnv) nextMorning() {
	e.clock.Set(e.day.End().Add(10 * time.Hour))
}

// reconcile runs zhifu reconcile with args and e's flags, on e's clock.
func (e *reconcileEnv) reconcile(env map[string]string, args ...string) result {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	s := &streams{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	code := runReconcile(e.t.Context(), s, append(args, e.args...), func(c *serveConfig) {
		c.Now = e.clock.Now
		c.Logger = slog.New(slog.DiscardHandler)
	})
	return result{code, stdout.String(), stderr.String()}
}

// storedRun returns the run of day stored in e's database, or nil.
func (e *reconcileEnv) storedRun(day payment.BillDate) *payment.BillRun {
	e.t.Helper()
	run, err := e.store.GetBillRun(e.t.Context(), day)
	if errors.Is(err, payment.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return run
}

func TestReconcileMatched(t *testing.T) {
	t.Parallel()
	e := newReconcileEnv(t)
	a := e.pay(12_34, false)
	e.pay(5_00, false)
	if _, err := e.svc.Refund(t.Context(), payment.RefundRequest{OrderID: a.ID, Amount: 2_34}); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if err := e.ts.Sandbox.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Today the bill is not there yet: a message, exit 1, nothing stored.
	r := e.reconcile(nil, "--date", e.day.String())
	if r.code != 1 || !strings.Contains(r.stderr, "the trade bill of "+e.day.String()+" is not available yet") ||
		!strings.Contains(r.stderr, "09:00-10:00 Beijing time") || r.stdout != "" {
		t.Fatalf("today's bill: %v", r)
	}
	if run := e.storedRun(e.day); run != nil {
		t.Fatalf("a bill not ready stored a run: %+v", run)
	}

	// The next morning it matches. A webhook URL without its secret, a
	// setting zhifu serve would refuse, is not reconcile's concern.
	e.nextMorning()
	r = e.reconcile(map[string]string{"ZHIFU_WEBHOOK_URL": "https://shop.example.com/hook"}, "--date", e.day.String())
	if r.code != 0 {
		t.Fatalf("reconcile: %v", r)
	}
	for _, want := range []string{
		"Trade bill of " + e.day.String() + " (Beijing time), downloaded from Alipay",
		"bill:      2 payments, ¥17.34 paid; 1 refund, ¥2.34 refunded",
		"database:  2 orders paid, 1 refund succeeded on the day",
		"matched:   3 of 3 bill lines",
		"Result: matched: the bill and the database agree.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if run := e.storedRun(e.day); run == nil || run.Status != payment.BillRunMatched || run.Matched != 3 {
		t.Errorf("stored run: %+v", run)
	}
	checkNoSecrets(t, "zhifu reconcile's output", r.stdout+r.stderr, secretParts(e.ts.AppPrivateKeyPEM))

	// The same bill, downloaded already, through --file.
	resp, err := e.client.DataDataserviceBillDownloadURLQuery(t.Context(), alipay.DataDataserviceBillDownloadURLQueryRequest{BillType: alipay.BillTypeTrade, BillDate: e.day.String()})
	if err != nil {
		t.Fatal(err)
	}
	archive, err := e.client.DownloadBill(t.Context(), resp.BillDownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "bill.zip")
	if err := os.WriteFile(file, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.reconcile(nil, "--date", e.day.String(), "--file", file)
	if r.code != 0 || !strings.Contains(r.stdout, "Trade bill of "+e.day.String()+" (Beijing time), from "+file) ||
		!strings.Contains(r.stdout, "Result: matched") {
		t.Errorf("reconcile --file: %v", r)
	}
	// A bill of another day is refused, and the day's run is kept.
	r = e.reconcile(nil, "--date", e.day.AddDays(-1).String(), "--file", file)
	if r.code != 1 || !strings.Contains(r.stderr, "not the day "+e.day.AddDays(-1).String()) {
		t.Errorf("reconcile --file of another day: %v", r)
	}
	if run := e.storedRun(e.day.AddDays(-1)); run != nil {
		t.Errorf("a refused bill stored a run: %+v", run)
	}
	notZip := writeFile(t, t.TempDir(), "bill.zip", "not a zip")
	r = e.reconcile(nil, "--date", e.day.String(), "--file", notZip)
	if r.code != 1 || !strings.Contains(r.stderr, "bad trade bill") {
		t.Errorf("reconcile --file of something else: %v", r)
	}
	r = e.reconcile(nil, "--date", e.day.String(), "--file", filepath.Join(t.TempDir(), "missing.zip"))
	if r.code != 1 || !strings.Contains(r.stderr, "--file:") || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("reconcile --file of a missing file: %v", r)
	}
}

func TestReconcileDifferences(t *testing.T) {
	t.Parallel()
	e := newReconcileEnv(t)
	e.pay(8_88, false)
	lost := e.pay(66_00, true) // paid at Alipay; the database never heard
	e.nextMorning()
	r := e.reconcile(nil, "--date", e.day.String())
	if r.code != exitDifferences {
		t.Fatalf("exit %d, want %d\n%v", r.code, exitDifferences, r)
	}
	for _, want := range []string{
		"bill:      2 payments, ¥74.88 paid; 0 refunds, ¥0.00 refunded",
		"database:  1 order paid, 0 refunds succeeded on the day",
		"matched:   1 of 2 bill lines",
		"Result: 1 difference (1 status_differs):",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	var diffs []string
	for line := range strings.Lines(r.stdout) {
		if strings.HasPrefix(line, "  status_differs") || strings.HasPrefix(line, "  missing_") || strings.HasPrefix(line, "  amount_") || strings.HasPrefix(line, "  trade_no_") {
			diffs = append(diffs, line)
		}
	}
	if len(diffs) != 1 {
		t.Fatalf("want one difference line:\n%s", r.stdout)
	}
	for _, want := range []string{"status_differs payment out_trade_no=" + lost.OutTradeNo, "bill=¥66.00 (line ", "database=¥0.00 (pending)", "the database has it pending"} {
		if !strings.Contains(diffs[0], want) {
			t.Errorf("the difference lacks %q: %s", want, diffs[0])
		}
	}
	if run := e.storedRun(e.day); run == nil || run.Status != payment.BillRunDifferences || run.Differences[payment.BillDiffStatus] != 1 {
		t.Errorf("stored run: %+v", run)
	}
}

// TestReconcileWallClock runs the command as it is run, on the wall clock
// with the private key in the environment: today's bill is not ready.
func TestReconcileWallClock(t *testing.T) {
	t.Parallel()
	ts, _ := newServeSandbox(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "zhifu.db")
	env := map[string]string{
		"ZHIFU_APP_ID": ts.AppID, "ZHIFU_GATEWAY": ts.GatewayURL, "ZHIFU_DATABASE": dbPath,
		"ZHIFU_APP_PRIVATE_KEY":        ts.AppPrivateKeyPEM,
		"ZHIFU_ALIPAY_PUBLIC_KEY_FILE": writeFile(t, dir, "alipay_public_key.pem", ts.AlipayPublicKeyPEM),
	}
	store, err := sqlitestore.Open(t.Context(), dbPath) // as zhifu serve would have
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	today := payment.BillDateOf(time.Now())
	r := runWithEnv(t, env, "reconcile", "--date", today.String(), "--log-level", "error")
	if r.code != 1 || !strings.Contains(r.stderr, "is not available yet") || r.stdout != "" {
		t.Errorf("today: %v", r)
	}
	checkNoSecrets(t, "zhifu reconcile's output", r.stdout+r.stderr, secretParts(ts.AppPrivateKeyPEM))
}

func TestReconcileBadInput(t *testing.T) {
	t.Parallel()
	ts, _ := newServeSandbox(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "untouched.db")
	keyFile := writeFile(t, dir, "app_private_key.pem", ts.AppPrivateKeyPEM)
	pubFile := writeFile(t, dir, "alipay_public_key.pem", ts.AlipayPublicKeyPEM)
	good := []string{"--app-id", ts.AppID, "--gateway", ts.GatewayURL, "--app-private-key-file", keyFile, "--alipay-public-key-file", pubFile}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no date", good, 2, []string{"--date is required", "YYYY-MM-DD"}},
		{"slashes", append([]string{"--date", "2026/11/27"}, good...), 2, []string{`--date "2026/11/27" is not a day`, "YYYY-MM-DD"}},
		{"no such day", append([]string{"--date", "2026-02-30"}, good...), 2, []string{"is not a day"}},
		{"a month", append([]string{"--date", "2026-11"}, good...), 2, []string{"is not a day"}},
		{"positional", append([]string{"--date", "2026-11-27", "now"}, good...), 2, []string{`unexpected argument "now"`}},
		{"serve's flag", append([]string{"--date", "2026-11-27", "--listen", ":80"}, good...), 2, []string{"flag provided but not defined: -listen"}},
		{"no app id", []string{"--date", "2026-11-27", "--gateway", ts.GatewayURL, "--app-private-key-file", keyFile, "--alipay-public-key-file", pubFile}, 1,
			[]string{"the configuration has 1 problem", "app_id: not set"}},
		{"keys swapped", []string{"--date", "2026-11-27", "--app-id", ts.AppID, "--gateway", ts.GatewayURL, "--app-private-key-file", pubFile, "--alipay-public-key-file", keyFile}, 1,
			[]string{"app_private_key_file (flag --app-private-key-file): holds a public key, not a private key"}},
		{"no database", append([]string{"--date", "2026-11-27"}, good...), 1, []string{"the SQLite database " + dbPath + " does not exist", "zhifu serve creates it"}},
		{"bad gateway", append(append([]string{}, good...), "--date", "2026-11-27", "--gateway", "ftp://x"), 1, []string{`gateway (flag --gateway): "ftp://x" is neither`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runWithEnv(t, map[string]string{"ZHIFU_DATABASE": dbPath}, append([]string{"reconcile"}, tt.args...)...)
			if r.code != tt.code || r.stdout != "" {
				t.Errorf("want exit %d: %v", tt.code, r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %v", w, r)
				}
			}
		})
	}
	t.Cleanup(func() {
		if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("bad command lines created the database: %v", err)
		}
	})
}

func TestFormatDifferenceOneLine(t *testing.T) {
	t.Parallel()
	d := payment.BillDifference{
		Kind: payment.BillDiffMissingInDB, LineKind: payment.BillLineRefund, OutTradeNo: "A 1\n2", OutRequestNo: "r1",
		TradeNo: "2026", BillAmount: 1_05, BillLine: 7, Detail: "the bill\nhas\x1b it",
	}
	got := formatDifference(d)
	want := `missing_in_db refund out_trade_no="A 1\n2" out_request_no=r1 trade_no=2026 bill=¥1.05 (line 7) database=none: the bill has` + "\uFFFD" + ` it`
	if got != want {
		t.Errorf("formatDifference:\n got %s\nwant %s", got, want)
	}
}

// FuzzFormatDifference checks that a difference, whatever a bill read
// from a file put in it, prints as one line without control characters.
func FuzzFormatDifference(f *testing.F) {
	f.Add("2026112812345", "", "2026112922001", "the bill has the order paid; the database has it pending", "pending", int64(66_00))
	f.Add("A 1\n2", "r\t1", "", "line\r\nbreak\x1b[31m", "", int64(-1))
	f.Add("\"quoted\"", "\u2028", "\x00", "\xff\xfe", "st\u0085atus", int64(0))
	f.Fuzz(func(t *testing.T, outTradeNo, outRequestNo, tradeNo, detail, status string, amount int64) {
		d := payment.BillDifference{
			Kind: payment.BillDiffAmount, LineKind: payment.BillLinePayment, OutTradeNo: outTradeNo, OutRequestNo: outRequestNo,
			TradeNo: tradeNo, BillAmount: alipay.Amount(amount), BillLine: 3, DBAmount: alipay.Amount(amount), DBStatus: status, Detail: detail,
		}
		got := formatDifference(d)
		for _, r := range got {
			if r == '\n' || r == '\r' || (r != ' ' && !unicode.IsPrint(r)) {
				t.Fatalf("formatDifference has %q: %q", r, got)
			}
		}
		if !strings.HasPrefix(got, "amount_differs payment out_trade_no=") {
			t.Fatalf("formatDifference: %q", got)
		}
	})
}
