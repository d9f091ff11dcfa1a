package payment_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/sandbox"
)

// billEnv is a Service and a BillReconciler on a store, with a
// billSandbox as Alipay, all on one clock.
type billEnv struct {
	*billSandbox
	t     *testing.T
	store payment.BillStore
	svc   *payment.Service
	rec   *payment.BillReconciler
}

func newBillEnv(t *testing.T, open func(*testing.T) payment.Store, start time.Time) *billEnv {
	t.Helper()
	e := &billEnv{billSandbox: newBillSandbox(t, start), t: t}
	s, ok := open(t).(payment.BillStore)
	if !ok {
		t.Fatalf("the store is not a BillStore")
	}
	e.store = s
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	app, _ := e.sb.App(e.appID)
	quiet := slog.New(slog.DiscardHandler)
	svc, err := payment.New(payment.Config{
		Store: s, Alipay: e.ali, SellerID: app.SellerID, NotifyURL: srv.URL + "/notify",
		Logger: quiet, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	mux.Handle("/notify", svc.NotifyHandler())
	e.rec, err = payment.NewBillReconciler(payment.BillReconcilerConfig{Store: s, Alipay: e.ali, Logger: quiet, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ctx returns a context for one step.
func (e *billEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// create creates a precreate payment.
func (e *billEnv) create(amount alipay.Amount) *payment.Order {
	e.t.Helper()
	p, err := e.svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{Subject: "对账 test", Amount: amount, Channel: payment.ChannelPrecreate})
	if err != nil {
		e.t.Fatalf("CreatePayment: %v", err)
	}
	return p.Order
}

// pay has the sandbox buyer pay o and waits for the notify deliveries,
// then moves the clock a minute on.
func (e *billEnv) pay(o *payment.Order) {
	e.t.Helper()
	if err := e.sb.Pay(e.appID, o.OutTradeNo); err != nil {
		e.t.Fatalf("sandbox Pay: %v", err)
	}
	e.deliver()
	e.clock.Advance(time.Minute)
}

// deliver waits for the sandbox's notify deliveries that are due.
func (e *billEnv) deliver() {
	e.t.Helper()
	if err := e.sb.DeliverDue(e.ctx()); err != nil {
		e.t.Fatalf("DeliverDue: %v", err)
	}
}

// refund refunds amount of o through the Service.
func (e *billEnv) refund(o *payment.Order, amount alipay.Amount, no string) *payment.Refund {
	e.t.Helper()
	r, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: o.ID, Amount: amount, OutRequestNo: no})
	if err != nil {
		e.t.Fatalf("Refund: %v", err)
	}
	e.deliver()
	e.clock.Advance(time.Minute)
	return r
}

// status returns the stored status of o.
func (e *billEnv) status(o *payment.Order) payment.Status {
	e.t.Helper()
	got, err := e.store.GetOrder(e.ctx(), o.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return got.Status
}

// wantDiff fails the test unless run has exactly one difference of kind
// about the trade (and refund), and returns it.
func wantDiff(t *testing.T, run *payment.BillRun, kind payment.BillDiffKind, lineKind payment.BillLineKind, outTradeNo, outRequestNo string) payment.BillDifference {
	t.Helper()
	var found []payment.BillDifference
	for _, d := range run.Details {
		if d.OutTradeNo == outTradeNo && d.OutRequestNo == outRequestNo && d.LineKind == lineKind {
			found = append(found, d)
		}
	}
	if len(found) != 1 || found[0].Kind != kind {
		t.Fatalf("differences of %s %s %s: %+v; want one %s", lineKind, outTradeNo, outRequestNo, found, kind)
	}
	return found[0]
}

func TestReconcileBill(t *testing.T) {
	for _, o := range openers() {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			testReconcileBill(t, o.open)
		})
	}
}

func testReconcileBill(t *testing.T, open func(*testing.T) payment.Store) {
	day := billTestDay()
	e := newBillEnv(t, open, day.Start().Add(10*time.Hour))

	// Day one: three payments, a partial and a full refund, an order
	// never paid. The bill and the database agree.
	a, b, c := e.create(12_34), e.create(5_00), e.create(99_99_99)
	unpaid := e.create(1_00)
	for _, o := range []*payment.Order{a, b, c} {
		e.pay(o)
		if s := e.status(o); s != payment.StatusPaid {
			t.Fatalf("order %s is %s after paying", o.OutTradeNo, s)
		}
	}
	e.refund(a, 1_50, "R1")
	e.refund(b, 5_00, "R_all")
	if e.status(b) != payment.StatusRefunded || e.status(unpaid) != payment.StatusPending {
		t.Fatalf("b is %s, unpaid is %s", e.status(b), e.status(unpaid))
	}

	// A day that has not begun is refused, nothing stored.
	if _, err := e.rec.ReconcileBill(e.ctx(), day.AddDays(1)); !errors.Is(err, payment.ErrInvalid) {
		t.Fatalf("ReconcileBill of tomorrow: %v, want ErrInvalid", err)
	}
	if _, err := e.store.GetBillRun(e.ctx(), day.AddDays(1)); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("a run was stored for tomorrow: %v", err)
	}

	// Today's bill is not ready: a retryable error, nothing stored.
	_, err := e.rec.ReconcileBill(e.ctx(), day)
	if !errors.Is(err, payment.ErrBillNotReady) {
		t.Fatalf("ReconcileBill of today: %v, want ErrBillNotReady", err)
	}
	if _, err := e.store.GetBillRun(e.ctx(), day); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("a run was stored for a bill not ready: %v", err)
	}

	e.clock.Set(day.End().Add(10 * time.Hour))
	run, err := e.rec.ReconcileBill(e.ctx(), day)
	if err != nil {
		t.Fatalf("ReconcileBill(%s): %v", day, err)
	}
	if run.Status != payment.BillRunMatched || run.Count() != 0 || len(run.Details) != 0 ||
		run.BillPayments != 3 || run.BillRefunds != 2 || run.DBPayments != 3 || run.DBRefunds != 2 || run.Matched != 5 ||
		run.BillPaid != 12_34+5_00+99_99_99 || run.BillRefunded != 6_50 {
		t.Fatalf("run of day one: %+v %+v; want 3 payments and 2 refunds matched", run, run.Details)
	}

	// Day two: a difference of every kind.
	day2 := day.AddDays(1)
	ok := e.create(8_88)
	e.pay(ok)

	// A payment whose every notify is lost: the database still has the
	// order pending, the bill has it paid.
	lost := e.create(3_00)
	if err := e.sb.SetNotifyFault(sandbox.NotifyScope{AppID: e.appID, OutTradeNo: lost.OutTradeNo}, sandbox.NotifyFault{DropFirst: 1000}); err != nil {
		t.Fatal(err)
	}
	e.pay(lost)
	if s := e.status(lost); s != payment.StatusPending {
		t.Fatalf("order with dropped notifies is %s", s)
	}

	// An order the database has paid and Alipay never had.
	ghost := &payment.Order{ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: "ghost", Amount: 7_00, Channel: payment.ChannelPage}
	markPaid(t, e, ghost, "2026052122001400009999999999", 7_00)

	// An order of 100.00 in the database, paid 99.00 at Alipay.
	odd := &payment.Order{ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: "odd", Amount: 100_00, Channel: payment.ChannelPrecreate}
	if _, err := e.ali.TradePrecreate(e.ctx(), alipay.TradePrecreateRequest{OutTradeNo: odd.OutTradeNo, TotalAmount: 99_00, Subject: "odd"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay(e.appID, odd.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	snap, _ := e.sb.Trade(e.appID, odd.OutTradeNo)
	markPaid(t, e, odd, snap.TradeNo, 100_00)

	// A refund made at Alipay behind the service's back.
	e.clock.Advance(time.Minute)
	if _, err := e.ali.TradeRefund(e.ctx(), alipay.TradeRefundRequest{OutTradeNo: ok.OutTradeNo, RefundAmount: 2_00, OutRequestNo: "BYHAND"}); err != nil {
		t.Fatal(err)
	}
	e.deliver()

	// A refund that went through while the service holds it unknown
	// (Alipay answered fund_change N).
	if _, err := e.sb.SetFault(sandbox.Fault{AppID: e.appID, Method: "alipay.trade.refund", Kind: sandbox.FaultFundChangeN, Count: 1}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	unsure := e.refund(c, 9_99, "R_unsure")
	if unsure.Status != payment.RefundUnknown {
		t.Fatalf("refund with fund_change N is %s, want unknown", unsure.Status)
	}

	e.clock.Set(day2.End().Add(10 * time.Hour))
	run, err = e.rec.ReconcileBill(e.ctx(), day2)
	if err != nil {
		t.Fatalf("ReconcileBill(%s): %v", day2, err)
	}
	wantCounts := map[payment.BillDiffKind]int{
		payment.BillDiffStatus: 2, payment.BillDiffMissingInBill: 1, payment.BillDiffMissingInDB: 1, payment.BillDiffAmount: 1,
	}
	if run.Status != payment.BillRunDifferences || len(run.Details) != 5 || !equalCounts(run.Differences, wantCounts) {
		t.Fatalf("run of day two: %+v\n%+v\nwant counts %v", run, run.Details, wantCounts)
	}
	if run.BillPayments != 3 || run.BillRefunds != 2 || run.Matched != 1 || run.DBPayments != 3 || run.DBRefunds != 0 {
		t.Fatalf("run of day two: %+v; want bill 3+2 lines, database 3 payments, 1 match", run)
	}
	d := wantDiff(t, run, payment.BillDiffStatus, payment.BillLinePayment, lost.OutTradeNo, "")
	if d.OrderID != lost.ID || d.DBStatus != "pending" || d.BillAmount != 3_00 || d.BillLine == 0 {
		t.Errorf("lost notify: %+v", d)
	}
	d = wantDiff(t, run, payment.BillDiffMissingInBill, payment.BillLinePayment, ghost.OutTradeNo, "")
	if d.OrderID != ghost.ID || d.DBAmount != 7_00 || d.BillLine != 0 {
		t.Errorf("ghost order: %+v", d)
	}
	d = wantDiff(t, run, payment.BillDiffAmount, payment.BillLinePayment, odd.OutTradeNo, "")
	if d.BillAmount != 99_00 || d.DBAmount != 100_00 || d.OrderID != odd.ID {
		t.Errorf("amount: %+v", d)
	}
	d = wantDiff(t, run, payment.BillDiffMissingInDB, payment.BillLineRefund, ok.OutTradeNo, "BYHAND")
	if d.BillAmount != 2_00 || d.OrderID != ok.ID || d.RefundID != "" {
		t.Errorf("unknown refund: %+v", d)
	}
	d = wantDiff(t, run, payment.BillDiffStatus, payment.BillLineRefund, c.OutTradeNo, "R_unsure")
	if d.RefundID != unsure.ID || d.DBStatus != "unknown" || d.BillAmount != 9_99 {
		t.Errorf("unsettled refund: %+v", d)
	}

	// Stored as returned; reconciling again replaces the run.
	stored, err := e.rec.GetBillRun(e.ctx(), day2)
	if err != nil || len(stored.Details) != 5 || !equalCounts(stored.Differences, wantCounts) {
		t.Fatalf("stored run: %+v, %v", stored, err)
	}
	for i := range stored.Details {
		if stored.Details[i] != run.Details[i] {
			t.Fatalf("stored difference %d:\n got %+v\nwant %+v", i+1, stored.Details[i], run.Details[i])
		}
	}
	again, err := e.rec.ReconcileBill(e.ctx(), day2)
	if err != nil || !equalCounts(again.Differences, wantCounts) {
		t.Fatalf("reconciling again: %+v, %v", again, err)
	}
	ds, err := e.store.ListBillDifferences(e.ctx(), payment.BillDifferenceFilter{Date: day2})
	if err != nil || len(ds) != 5 {
		t.Fatalf("differences after reconciling twice: %d, %v; want 5", len(ds), err)
	}

	// Settling the refund (a query finds it done) removes its
	// difference at the next run; day one keeps its own run.
	if r, err := e.svc.SettleRefund(e.ctx(), unsure.ID); err != nil || r.Status != payment.RefundSucceeded {
		t.Fatalf("SettleRefund: %+v, %v", r, err)
	}
	run, err = e.rec.ReconcileBill(e.ctx(), day2)
	if err != nil || run.Count() != 4 || run.Differences[payment.BillDiffStatus] != 1 {
		t.Fatalf("after settling the refund: %+v, %v; want 4 differences, one status", run, err)
	}
	runs, err := e.store.ListBillRuns(e.ctx(), payment.BillRunFilter{})
	if err != nil || len(runs) != 2 || runs[0].Date != day2 || runs[1].Date != day || runs[1].Status != payment.BillRunMatched {
		t.Fatalf("runs: %+v, %v", runs, err)
	}

	// The admin pages' list: the latest differences, newest day first.
	recent, err := e.rec.RecentDifferences(e.ctx(), 3)
	if err != nil || len(recent) != 3 || recent[0].Date != day2 || recent[0].Seq != 1 || recent[2].Seq != 3 ||
		!recent[0].FoundAt.Equal(run.FinishedAt) {
		t.Fatalf("RecentDifferences(3): %+v, %v; want seq 1 to 3 of %s found at %v", recent, err, day2, run.FinishedAt)
	}
	if recent, err := e.rec.RecentDifferences(e.ctx(), 100); err != nil || len(recent) != 4 {
		t.Fatalf("RecentDifferences(100): %d, %v; want the 4 of %s (day one has none)", len(recent), err, day2)
	}

	// Alipay refusing a bill of a day not over (a reconciler whose
	// clock runs ahead of Alipay's) is not ready either.
	day3 := day2.AddDays(1)
	e.clock.Set(day3.End().Add(-5 * time.Minute))
	ahead := func() time.Time { return e.clock.Now().Add(10 * time.Minute) }
	fast := e.clientOn(t, ahead)
	rec, err := payment.NewBillReconciler(payment.BillReconcilerConfig{Store: e.store, Alipay: fast, Now: ahead, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rec.ReconcileBill(e.ctx(), day3)
	var ae *alipay.Error
	if !errors.Is(err, payment.ErrBillNotReady) || !errors.As(err, &ae) || ae.SubCode != "isv.invalid_arguments" {
		t.Fatalf("ReconcileBill refused by Alipay: %v; want ErrBillNotReady wrapping isv.invalid_arguments", err)
	}
	if _, err := e.store.GetBillRun(e.ctx(), day3); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("a run was stored for a bill Alipay refused: %v", err)
	}
}

// markPaid stores o and marks it paid now, as only the database knows.
func markPaid(t *testing.T, e *billEnv, o *payment.Order, tradeNo string, amount alipay.Amount) {
	t.Helper()
	if err := e.store.CreateOrder(e.ctx(), o); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	n, eff, err := payment.Next(o, payment.Fact{Source: payment.SourceQuery, TradeStatus: alipay.TradeStatusSuccess,
		TradeNo: tradeNo, TotalAmount: amount, PaidAt: now, At: now})
	if err != nil || eff != payment.EffectTransitioned {
		t.Fatalf("Next: %s, %v", eff, err)
	}
	if err := e.store.ApplyTransition(e.ctx(), payment.Transition{Order: n}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
}

// equalCounts reports whether two difference counts are the same, a
// missing kind counting as zero.
func equalCounts(a, b map[payment.BillDiffKind]int) bool {
	for _, k := range payment.BillDiffKinds() {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// TestReconcileBillArchive reconciles bills given as files: one of
// another day, or corrupt, is refused and stores nothing; the right one
// is reconciled like a downloaded one.
func TestReconcileBillArchive(t *testing.T) {
	t.Parallel()
	day := billTestDay()
	e := newBillEnv(t, openSQLite, day.Start().Add(10*time.Hour))
	o := e.create(4_20)
	e.pay(o)
	e.clock.Set(day.End().Add(10 * time.Hour))
	archive := e.bill(t, day)

	next := day.AddDays(1)
	e.clock.Set(next.End().Add(time.Hour))
	if _, err := e.rec.ReconcileBillArchive(e.ctx(), next, archive); !errors.Is(err, payment.ErrBadBill) ||
		!strings.Contains(err.Error(), "not the day "+next.String()) {
		t.Fatalf("the bill of %s given as %s: %v; want ErrBadBill naming the day", day, next, err)
	}
	if _, err := e.rec.ReconcileBillArchive(e.ctx(), day, archive[:len(archive)/2]); !errors.Is(err, payment.ErrBadBill) {
		t.Fatalf("half a bill: %v; want ErrBadBill", err)
	}
	if runs, err := e.store.ListBillRuns(e.ctx(), payment.BillRunFilter{}); err != nil || len(runs) != 0 {
		t.Fatalf("runs after refused bills: %+v, %v; want none", runs, err)
	}
	run, err := e.rec.ReconcileBillArchive(e.ctx(), day, archive)
	if err != nil || run.Status != payment.BillRunMatched || run.Matched != 1 || run.BillPaid != 4_20 {
		t.Fatalf("ReconcileBillArchive: %+v, %v; want one payment of 4.20 matched", run, err)
	}
}
