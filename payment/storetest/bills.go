package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// BillOpener returns a new, empty bill store for one test, and arranges
// with t.Cleanup for it to be closed.
type BillOpener func(t *testing.T) payment.BillStore

// RunBills runs the conformance suite of [payment.BillStore] against the
// stores open returns: the day's listings of paid orders and settled
// refunds, and the runs of the bill reconciliation. Each subtest opens its
// own store; the subtests run in parallel.
func RunBills(t *testing.T, open BillOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.BillStore)
	}{
		{"ListPaidOrders", testListPaidOrders},
		{"ListSettledRefunds", testListSettledRefunds},
		{"SaveBillRun", testSaveBillRun},
		{"SaveBillRunReplaces", testSaveBillRunReplaces},
		{"SaveBillRunInvalid", testSaveBillRunInvalid},
		{"ListBillRuns", testListBillRuns},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// payAt applies a payment made at paidAt to the stored order o.
func payAt(t *testing.T, s payment.Store, o *payment.Order, paidAt time.Time) *payment.Order {
	t.Helper()
	f := paidFact(o)
	f.PaidAt, f.At = paidAt, paidAt
	n, eff, err := payment.Next(get(t, s, o.ID), f)
	if err != nil || eff != payment.EffectTransitioned {
		t.Fatalf("Next(pay): %s, %v", eff, err)
	}
	if err := s.ApplyTransition(context.Background(), payment.Transition{Order: n}); err != nil {
		t.Fatalf("ApplyTransition(pay %s): %v", o.ID, err)
	}
	return get(t, s, o.ID)
}

// billDay is the Beijing day of the bill tests: baseTime is 11:04 on it.
func billDay() payment.BillDate { return payment.BillDateOf(baseTime()) }

func testListPaidOrders(t *testing.T, s payment.BillStore) {
	ctx := context.Background()
	day := billDay()
	// Seven orders paid during the day, two at the same instant (ties go
	// by id), one at its first microsecond; one paid at the next day's
	// first instant, one the microsecond before the day, one never paid.
	var want []*payment.Order
	times := []time.Duration{0, time.Hour, time.Hour, 2 * time.Hour, 5 * time.Hour, 23 * time.Hour, 24*time.Hour - time.Microsecond}
	for i, d := range times {
		o := payAt(t, s, create(t, s, newOrder(i)), day.Start().Add(d))
		want = append(want, o)
	}
	payAt(t, s, create(t, s, newOrder(10)), day.End())
	payAt(t, s, create(t, s, newOrder(11)), day.Start().Add(-time.Microsecond))
	create(t, s, newOrder(12))
	slices.SortFunc(want, func(a, b *payment.Order) int {
		if c := a.PaidAt.Compare(b.PaidAt); c != 0 {
			return c
		}
		return cmpBytes(a.ID, b.ID)
	})
	got := collect(t, func(cursor string) (payment.OrderPage, error) {
		return s.ListPaidOrders(ctx, payment.PaidOrderFilter{PaidFrom: day.Start(), PaidTo: day.End(), Cursor: cursor, Limit: 2})
	}, nil)
	if !slices.Equal(got, ids(want)) {
		t.Fatalf("paid orders of %s by pages of 2:\n got %v\nwant %v", day, got, ids(want))
	}
	page, err := s.ListPaidOrders(ctx, payment.PaidOrderFilter{PaidFrom: day.Start(), PaidTo: day.End()})
	if err != nil || len(page.Orders) != len(want) || page.Next != "" {
		t.Fatalf("one page: %d orders, next %q, %v; want %d, no next", len(page.Orders), page.Next, err, len(want))
	}
	checkOrder(t, &page.Orders[0], want[0])
	_, err = s.ListPaidOrders(ctx, payment.PaidOrderFilter{Cursor: payment.EncodeCursor(payment.CursorOrders, baseTime(), "x")})
	wantErr(t, "ListPaidOrders with a cursor of ListOrders", err, payment.ErrInvalid)
}

func testListSettledRefunds(t *testing.T, s payment.BillStore) {
	ctx := context.Background()
	day := billDay()
	settle := func(o *payment.Order, no string, status payment.RefundStatus, at time.Time) *payment.Refund {
		t.Helper()
		r := newRefund(o, no, 1_00)
		if err := s.ReserveRefund(ctx, r); err != nil {
			t.Fatal(err)
		}
		if status == payment.RefundPending {
			return r
		}
		r.Status, r.FundChange, r.SettledAt = status, "Y", at
		if err := s.SettleRefund(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := payAt(t, s, create(t, s, newOrder(1)), day.Start().Add(time.Hour))
	b := payAt(t, s, create(t, s, newOrder(2)), day.Start().Add(-48*time.Hour))
	var want []string
	want = append(want, settle(a, "R1", payment.RefundSucceeded, day.Start()).ID)
	want = append(want, settle(b, "R1", payment.RefundSucceeded, day.Start().Add(3*time.Hour)).ID)
	want = append(want, settle(a, "R2", payment.RefundSucceeded, day.End().Add(-time.Microsecond)).ID)
	settle(a, "R3", payment.RefundFailed, day.Start().Add(4*time.Hour))
	settle(a, "R4", payment.RefundSucceeded, day.End())
	settle(b, "R2", payment.RefundPending, time.Time{})

	var got []payment.SettledRefund
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, err := s.ListSettledRefunds(ctx, payment.SettledRefundFilter{SettledFrom: day.Start(), SettledTo: day.End(), Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Refunds...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	var gotIDs []string
	for _, r := range got {
		gotIDs = append(gotIDs, r.ID)
	}
	if !slices.Equal(gotIDs, want) {
		t.Fatalf("refunds succeeded on %s: got %v, want %v", day, gotIDs, want)
	}
	r := got[1]
	if r.OutTradeNo != b.OutTradeNo || r.TradeNo != b.TradeNo || r.OrderID != b.ID || r.OutRequestNo != "R1" ||
		r.Amount != 1_00 || r.Status != payment.RefundSucceeded || !r.SettledAt.Equal(day.Start().Add(3*time.Hour)) {
		t.Fatalf("refund %+v: want R1 of order %s (%s, %s), 1.00, succeeded at 03:00", r, b.ID, b.OutTradeNo, b.TradeNo)
	}
	_, err := s.ListSettledRefunds(ctx, payment.SettledRefundFilter{Cursor: "not a cursor"})
	wantErr(t, "ListSettledRefunds with a bad cursor", err, payment.ErrInvalid)
}

// sampleRun returns a run of date with three differences.
func sampleRun(date payment.BillDate) *payment.BillRun {
	at := date.End().Add(10 * time.Hour)
	return &payment.BillRun{
		Date: date, Status: payment.BillRunDifferences,
		BillPayments: 5, BillRefunds: 2, BillPaid: 500_00, BillRefunded: 3_50,
		DBPayments: 5, DBRefunds: 1, Matched: 4,
		Differences: map[payment.BillDiffKind]int{payment.BillDiffStatus: 1, payment.BillDiffMissingInDB: 1, payment.BillDiffAmount: 1},
		StartedAt:   at, FinishedAt: at.Add(1500 * time.Millisecond),
		Details: []payment.BillDifference{
			{Kind: payment.BillDiffStatus, LineKind: payment.BillLinePayment, OutTradeNo: "T1", TradeNo: "2026052022001400000001",
				OrderID: "ord_1", BillAmount: 100_00, DBStatus: "pending", BillLine: 6, Detail: "账单已支付，数据库 pending"},
			{Kind: payment.BillDiffMissingInDB, LineKind: payment.BillLineRefund, OutTradeNo: "T2", TradeNo: "2026052022001400000002",
				OutRequestNo: "R9", BillAmount: 3_50, BillLine: 9, Detail: "unknown refund"},
			{Kind: payment.BillDiffAmount, LineKind: payment.BillLinePayment, OutTradeNo: "T3", OrderID: "ord_3",
				BillAmount: 99_99, DBAmount: 100_00, DBStatus: "paid", BillLine: 7},
		},
	}
}

func testSaveBillRun(t *testing.T, s payment.BillStore) {
	ctx := context.Background()
	day := billDay()
	run := sampleRun(day)
	if err := s.SaveBillRun(ctx, run); err != nil {
		t.Fatalf("SaveBillRun: %v", err)
	}
	got, err := s.GetBillRun(ctx, day)
	if err != nil {
		t.Fatalf("GetBillRun: %v", err)
	}
	want := *run
	want.Details = nil
	want.StartedAt, want.FinishedAt = micro(run.StartedAt), micro(run.FinishedAt)
	if got.Date != want.Date || got.Status != want.Status || got.BillPayments != want.BillPayments ||
		got.BillRefunds != want.BillRefunds || got.BillPaid != want.BillPaid || got.BillRefunded != want.BillRefunded ||
		got.DBPayments != want.DBPayments || got.DBRefunds != want.DBRefunds || got.Matched != want.Matched ||
		!got.StartedAt.Equal(want.StartedAt) || !got.FinishedAt.Equal(want.FinishedAt) ||
		got.StartedAt.Location() != time.UTC || len(got.Details) != 0 || got.Count() != 3 ||
		got.Differences[payment.BillDiffStatus] != 1 || got.Differences[payment.BillDiffAmount] != 1 {
		t.Fatalf("GetBillRun:\n got %+v\nwant %+v", got, want)
	}

	all, err := s.ListBillDifferences(ctx, payment.BillDifferenceFilter{Date: day})
	if err != nil || len(all) != 3 {
		t.Fatalf("ListBillDifferences: %d, %v; want 3", len(all), err)
	}
	for i, d := range all {
		w := run.Details[i]
		w.Date, w.Seq, w.FoundAt = day, i+1, micro(run.FinishedAt)
		if d != w || d.FoundAt.Location() != time.UTC {
			t.Fatalf("difference %d:\n got %+v\nwant %+v", i+1, d, w)
		}
	}
	page, err := s.ListBillDifferences(ctx, payment.BillDifferenceFilter{Date: day, AfterSeq: 1, Limit: 1})
	if err != nil || len(page) != 1 || page[0].Seq != 2 {
		t.Fatalf("ListBillDifferences after 1, limit 1: %+v, %v; want seq 2", page, err)
	}
	byKind, err := s.ListBillDifferences(ctx, payment.BillDifferenceFilter{Date: day, Kind: payment.BillDiffAmount})
	if err != nil || len(byKind) != 1 || byKind[0].OutTradeNo != "T3" {
		t.Fatalf("ListBillDifferences of amount_differs: %+v, %v; want T3", byKind, err)
	}
	none, err := s.ListBillDifferences(ctx, payment.BillDifferenceFilter{Date: day.AddDays(1)})
	if err != nil || len(none) != 0 {
		t.Fatalf("ListBillDifferences of a day without run: %+v, %v", none, err)
	}
	_, err = s.GetBillRun(ctx, day.AddDays(-1))
	wantErr(t, "GetBillRun of a day without run", err, payment.ErrNotFound)
}

func testSaveBillRunReplaces(t *testing.T, s payment.BillStore) {
	ctx := context.Background()
	day := billDay()
	if err := s.SaveBillRun(ctx, sampleRun(day)); err != nil {
		t.Fatal(err)
	}
	other := sampleRun(day.AddDays(-1))
	if err := s.SaveBillRun(ctx, other); err != nil {
		t.Fatal(err)
	}
	// The same day again, all matched now: the old differences go.
	again := &payment.BillRun{Date: day, Status: payment.BillRunMatched, BillPayments: 5, DBPayments: 5, Matched: 5,
		StartedAt: baseTime(), FinishedAt: baseTime()}
	if err := s.SaveBillRun(ctx, again); err != nil {
		t.Fatalf("SaveBillRun again: %v", err)
	}
	got, err := s.GetBillRun(ctx, day)
	if err != nil || got.Status != payment.BillRunMatched || got.Matched != 5 || got.Count() != 0 {
		t.Fatalf("GetBillRun after the second run: %+v, %v; want matched, 5, no differences", got, err)
	}
	ds, err := s.ListBillDifferences(ctx, payment.BillDifferenceFilter{Date: day})
	if err != nil || len(ds) != 0 {
		t.Fatalf("differences after the second run: %d, %v; want none", len(ds), err)
	}
	// The other day keeps its run.
	ds, err = s.ListBillDifferences(ctx, payment.BillDifferenceFilter{Date: other.Date})
	if err != nil || len(ds) != 3 {
		t.Fatalf("differences of the other day: %d, %v; want 3", len(ds), err)
	}
}

func testSaveBillRunInvalid(t *testing.T, s payment.BillStore) {
	ctx := context.Background()
	day := billDay()
	if err := s.SaveBillRun(ctx, sampleRun(day)); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(r *payment.BillRun){
		"no date":         func(r *payment.BillRun) { r.Date = payment.BillDate{} },
		"status":          func(r *payment.BillRun) { r.Status = "fine" },
		"kind":            func(r *payment.BillRun) { r.Details[1].Kind = "odd" },
		"line kind":       func(r *payment.BillRun) { r.Details[0].LineKind = "" },
		"count kind":      func(r *payment.BillRun) { r.Differences["odd"] = 1 },
		"negative amount": func(r *payment.BillRun) { r.Details[2].DBAmount = -1 },
		"NUL text":        func(r *payment.BillRun) { r.Details[2].Detail = "a\x00b" },
		"bad UTF-8":       func(r *payment.BillRun) { r.Details[0].OutTradeNo = "\xff" },
	} {
		r := sampleRun(day)
		r.Matched = 99
		change(r)
		err := s.SaveBillRun(ctx, r)
		if !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("SaveBillRun with bad %s: %v, want ErrInvalid", name, err)
		}
	}
	// Nothing of the refused runs was stored.
	got, err := s.GetBillRun(ctx, day)
	if err != nil || got.Matched != 4 {
		t.Fatalf("the run after refused saves: %+v, %v; want the first one, Matched 4", got, err)
	}
	ds, err := s.ListBillDifferences(ctx, payment.BillDifferenceFilter{Date: day})
	if err != nil || len(ds) != 3 {
		t.Fatalf("differences after refused saves: %d, %v; want 3", len(ds), err)
	}
}

func testListBillRuns(t *testing.T, s payment.BillStore) {
	ctx := context.Background()
	day := billDay()
	// Saved out of order, across a month's end.
	offsets := []int{0, -30, -2, -1, -31}
	for _, n := range offsets {
		r := sampleRun(day.AddDays(n))
		r.Details, r.Differences, r.Status = nil, nil, payment.BillRunMatched
		r.BillPaid = alipay.Amount(n + 100)
		if err := s.SaveBillRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	dates := func(runs []payment.BillRun) []string {
		var out []string
		for _, r := range runs {
			out = append(out, r.Date.String())
		}
		return out
	}
	runs, err := s.ListBillRuns(ctx, payment.BillRunFilter{})
	want := []string{day.String(), day.AddDays(-1).String(), day.AddDays(-2).String(), day.AddDays(-30).String(), day.AddDays(-31).String()}
	if err != nil || !slices.Equal(dates(runs), want) {
		t.Fatalf("ListBillRuns: %v, %v; want %v", dates(runs), err, want)
	}
	if runs[1].BillPaid != 99 || runs[1].Differences != nil && len(runs[1].Differences) != 0 {
		t.Fatalf("run of %s: %+v", runs[1].Date, runs[1])
	}
	runs, err = s.ListBillRuns(ctx, payment.BillRunFilter{Before: day.AddDays(-1), Limit: 2})
	if err != nil || !slices.Equal(dates(runs), want[2:4]) {
		t.Fatalf("ListBillRuns before %s, limit 2: %v, %v; want %v", day.AddDays(-1), dates(runs), err, want[2:4])
	}
}
