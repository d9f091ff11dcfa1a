package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// newRefund returns a valid new refund of order o.
func newRefund(o *payment.Order, no string, amount int64) *payment.Refund {
	return &payment.Refund{ID: payment.NewRefundID(), OrderID: o.ID, OutRequestNo: no, Amount: alipay.Amount(amount), Reason: "退货"}
}

func testReserveRefund(t *testing.T, s payment.Store) {
	ctx := context.Background()
	unpaid := create(t, s, newOrder(1))
	wantErr(t, "ReserveRefund(unpaid order)", s.ReserveRefund(ctx, newRefund(unpaid, "R1", 1)), payment.ErrRefundExceeds)

	o := pay(t, s, create(t, s, newOrder(2))) // 100.00
	r1 := newRefund(o, "R1", 30_00)
	ev := []payment.OrderEvent{{Kind: payment.EventRefundRequested, Source: payment.SourceMerchant, RefundID: r1.ID}}
	if err := s.ReserveRefund(ctx, r1, ev...); err != nil {
		t.Fatalf("ReserveRefund: %v", err)
	}
	if r1.Status != payment.RefundPending || r1.CreatedAt.IsZero() || ev[0].Seq == 0 {
		t.Fatalf("after ReserveRefund: %+v, event %+v", r1, ev[0])
	}
	got, err := s.GetRefund(ctx, r1.ID)
	if err != nil || *got != *r1 {
		t.Fatalf("GetRefund = %+v, %v; want %+v", got, err, r1)
	}
	got, err = s.GetRefundByOutRequestNo(ctx, o.ID, "R1")
	if err != nil || got.ID != r1.ID {
		t.Fatalf("GetRefundByOutRequestNo = %+v, %v", got, err)
	}

	dup := newRefund(o, "R1", 1)
	wantErr(t, "ReserveRefund(same out_request_no)", s.ReserveRefund(ctx, dup, payment.OrderEvent{Kind: payment.EventRefundRequested}), payment.ErrDuplicate)
	dupID := newRefund(o, "R9", 1)
	dupID.ID = r1.ID
	wantErr(t, "ReserveRefund(same ID)", s.ReserveRefund(ctx, dupID), payment.ErrDuplicate)

	wantErr(t, "ReserveRefund(above the rest)", s.ReserveRefund(ctx, newRefund(o, "R2", 70_01)), payment.ErrRefundExceeds)
	r2 := newRefund(o, "R2", 70_00)
	if err := s.ReserveRefund(ctx, r2); err != nil {
		t.Fatalf("ReserveRefund(the rest): %v", err)
	}
	wantErr(t, "ReserveRefund(nothing left)", s.ReserveRefund(ctx, newRefund(o, "R3", 1)), payment.ErrRefundExceeds)

	// A failed refund frees its amount; an unknown one does not.
	r2.Status, r2.SettledAt = payment.RefundFailed, baseTime().Add(time.Hour)
	if err := s.SettleRefund(ctx, r2); err != nil {
		t.Fatalf("SettleRefund(failed): %v", err)
	}
	r1.Status = payment.RefundUnknown
	if err := s.SettleRefund(ctx, r1); err != nil {
		t.Fatalf("SettleRefund(unknown): %v", err)
	}
	r3 := newRefund(o, "R3", 70_00)
	if err := s.ReserveRefund(ctx, r3); err != nil {
		t.Fatalf("ReserveRefund(after a failure): %v", err)
	}
	wantErr(t, "ReserveRefund(unknown still counts)", s.ReserveRefund(ctx, newRefund(o, "R4", 1)), payment.ErrRefundExceeds)

	list, err := s.ListRefunds(ctx, o.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListRefunds = %d, %v; want 3", len(list), err)
	}
	for i, want := range []*payment.Refund{r1, r2, r3} {
		if list[i].ID != want.ID || list[i].Status != want.Status {
			t.Fatalf("ListRefunds[%d] = %s %s, want %s %s", i, list[i].ID, list[i].Status, want.ID, want.Status)
		}
	}
	events, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(events) != 2 || events[1].RefundID != r1.ID {
		t.Fatalf("events %+v, %v; want the payment and the one refund_requested", events, err)
	}
}

// testConcurrentReserveRefund reserves 20 refunds of 10.00 at once on an
// order paid 100.00: exactly 10 fit.
func testConcurrentReserveRefund(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := pay(t, s, create(t, s, newOrder(1)))
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.ReserveRefund(ctx, newRefund(o, fmt.Sprintf("R%02d", i), 10_00),
				payment.OrderEvent{Kind: payment.EventRefundRequested})
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, payment.ErrRefundExceeds):
			t.Fatalf("reservation %d: %v", i, err)
		}
	}
	list, err := s.ListRefunds(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sum alipay.Amount
	for _, r := range list {
		sum += r.Amount
	}
	if ok != 10 || len(list) != 10 || sum != o.PaidAmount {
		t.Fatalf("%d reservations succeeded, %d stored, %v reserved; want 10, 10, %v", ok, len(list), sum, o.PaidAmount)
	}
	events, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(events) != 1+10 {
		t.Fatalf("%d events, %v; want the payment and 10 refund_requested", len(events), err)
	}
}

func testSettleRefund(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := pay(t, s, create(t, s, newOrder(1)))
	r := newRefund(o, "R1", 10_00)
	if err := s.ReserveRefund(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.FundChange = payment.RefundUnknown, "N"
	if err := s.SettleRefund(ctx, r, payment.OrderEvent{Kind: payment.EventRefundAnswered, RefundID: r.ID}); err != nil {
		t.Fatalf("SettleRefund(unknown): %v", err)
	}
	r.Status, r.SettledAt = payment.RefundFailed, baseTime().Add(time.Hour)
	if err := s.SettleRefund(ctx, r); err != nil {
		t.Fatalf("SettleRefund(unknown → failed): %v", err)
	}
	got, err := s.GetRefund(ctx, r.ID)
	if err != nil || got.Status != payment.RefundFailed || got.FundChange != "N" || !got.SettledAt.Equal(micro(r.SettledAt)) || !got.UpdatedAt.Equal(got.SettledAt) {
		t.Fatalf("GetRefund = %+v, %v", got, err)
	}
	r.Status = payment.RefundSucceeded
	wantErr(t, "SettleRefund(a final refund)", s.SettleRefund(ctx, r, payment.OrderEvent{Kind: payment.EventNote}), payment.ErrConflict)
	events, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(events) != 2 {
		t.Fatalf("%d events, %v; want the payment and one refund_answered", len(events), err)
	}
	r.Status = "lost"
	wantErr(t, "SettleRefund(unknown status)", s.SettleRefund(ctx, r), payment.ErrInvalid)
	other := pay(t, s, create(t, s, newOrder(2)))
	r.OrderID, r.Status = other.ID, payment.RefundFailed
	wantErr(t, "SettleRefund(of another order)", s.SettleRefund(ctx, r), payment.ErrNotFound)
}

// testTransitionSettlesRefund settles a refund that moved money together
// with the order's new state; a lost compare-and-set settles nothing.
func testTransitionSettlesRefund(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := pay(t, s, create(t, s, newOrder(1)))
	r := newRefund(o, "R1", 40_00)
	if err := s.ReserveRefund(ctx, r); err != nil {
		t.Fatal(err)
	}
	n, eff, err := payment.Next(o, payment.Fact{Source: payment.SourceRefund, RefundFee: 40_00, At: baseTime()})
	if err != nil || eff != payment.EffectTransitioned {
		t.Fatalf("Next(refund): %s, %v", eff, err)
	}
	settled := r.Clone()
	settled.Status, settled.FundChange, settled.SettledAt = payment.RefundSucceeded, "Y", baseTime().Add(time.Hour)

	stale := n.Clone()
	stale.Version--
	err = s.ApplyTransition(ctx, payment.Transition{Order: stale, Refund: settled.Clone(), Events: []payment.OrderEvent{{Kind: payment.EventRefundSettled}}})
	wantErr(t, "ApplyTransition(stale, with refund)", err, payment.ErrConflict)
	if got, err := s.GetRefund(ctx, r.ID); err != nil || got.Status != payment.RefundPending {
		t.Fatalf("after a lost compare-and-set the refund is %+v, %v; want pending", got, err)
	}

	at := baseTime().Add(2 * time.Hour)
	if err := s.ApplyTransition(ctx, payment.Transition{Order: n, Refund: settled, At: at, Events: []payment.OrderEvent{{Kind: payment.EventRefundSettled, RefundID: r.ID}}}); err != nil {
		t.Fatalf("ApplyTransition(with refund): %v", err)
	}
	got, err := s.GetRefund(ctx, r.ID)
	if err != nil || got.Status != payment.RefundSucceeded || got.FundChange != "Y" || !got.UpdatedAt.Equal(micro(at)) || *got != *settled {
		t.Fatalf("GetRefund = %+v, %v; want %+v", got, err, settled)
	}
	if g := get(t, s, o.ID); g.Status != payment.StatusPartiallyRefunded || g.RefundedAmount != 40_00 {
		t.Fatalf("order %s refunded %v, want partially_refunded 40.00", g.Status, g.RefundedAmount)
	}

	// Settling it again, even with a fresh version, is a conflict: nothing
	// changes.
	again := get(t, s, o.ID)
	again.Metadata = map[string]string{"x": "y"}
	err = s.ApplyTransition(ctx, payment.Transition{Order: again, Refund: settled.Clone()})
	wantErr(t, "ApplyTransition(refund already final)", err, payment.ErrConflict)
	if g := get(t, s, o.ID); g.Metadata != nil || g.Version != n.Version {
		t.Fatalf("order changed by a failed transition: %+v", g)
	}
}

func testListUnsettledRefunds(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := pay(t, s, create(t, s, newOrder(1)))
	var refunds []*payment.Refund
	for i := range 4 {
		r := newRefund(o, fmt.Sprintf("R%d", i), 1_00)
		r.CreatedAt = baseTime().Add(time.Duration(i) * time.Minute)
		if err := s.ReserveRefund(ctx, r); err != nil {
			t.Fatal(err)
		}
		refunds = append(refunds, r)
	}
	refunds[1].Status = payment.RefundUnknown
	refunds[2].Status = payment.RefundSucceeded
	for _, r := range refunds[1:3] {
		if err := s.SettleRefund(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListUnsettledRefunds(ctx, payment.UnsettledFilter{CreatedBefore: baseTime().Add(3 * time.Minute), Limit: 10})
	if list := page.Refunds; err != nil || len(list) != 2 || list[0].ID != refunds[0].ID || list[1].ID != refunds[1].ID || page.Next != "" {
		t.Fatalf("ListUnsettledRefunds = %+v, %v; want R0 (pending) and R1 (unknown), the last page", page, err)
	}
	page, err = s.ListUnsettledRefunds(ctx, payment.UnsettledFilter{CreatedBefore: baseTime().Add(time.Hour), Limit: 1})
	if list := page.Refunds; err != nil || len(list) != 1 || list[0].ID != refunds[0].ID || page.Next == "" {
		t.Fatalf("ListUnsettledRefunds(limit 1) = %+v, %v; want R0 and a next page", page, err)
	}
	page, err = s.ListUnsettledRefunds(ctx, payment.UnsettledFilter{CreatedBefore: baseTime().Add(time.Hour), Limit: 1, Cursor: page.Next})
	if list := page.Refunds; err != nil || len(list) != 1 || list[0].ID != refunds[1].ID || page.Next == "" {
		t.Fatalf("ListUnsettledRefunds(page 2) = %+v, %v; want R1 and a next page", page, err)
	}
	page, err = s.ListUnsettledRefunds(ctx, payment.UnsettledFilter{CreatedBefore: baseTime().Add(time.Hour), Limit: 1, Cursor: page.Next})
	if list := page.Refunds; err != nil || len(list) != 1 || list[0].ID != refunds[3].ID || page.Next != "" {
		t.Fatalf("ListUnsettledRefunds(page 3) = %+v, %v; want R3, the last page", page, err)
	}
	_, err = s.ListUnsettledRefunds(ctx, payment.UnsettledFilter{CreatedBefore: baseTime(), Cursor: payment.EncodeCursor(payment.CursorOrders, baseTime(), "x")})
	wantErr(t, "ListUnsettledRefunds(a cursor of orders)", err, payment.ErrInvalid)
}
