package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"zhifu/payment"
)

func testQuarantine(t *testing.T, s payment.Store) {
	ctx := context.Background()
	var qs []*payment.QuarantinedNotify
	for i, reason := range []string{"unknown out_trade_no", "total_amount 1.00, order is for 2.00", "seller_id 2088… is not ours"} {
		q := &payment.QuarantinedNotify{
			Raw:        []byte("notify_id=abc&out_trade_no=X&sign=\xff\x00"),
			OutTradeNo: "X", NotifyID: "abc", Reason: reason,
			CreatedAt: baseTime().Add(time.Duration(i) * time.Second),
		}
		if err := s.QuarantineNotify(ctx, q); err != nil {
			t.Fatalf("QuarantineNotify: %v", err)
		}
		if q.ID == 0 || (i > 0 && q.ID <= qs[i-1].ID) {
			t.Fatalf("ids %d after %v: want increasing", q.ID, qs)
		}
		qs = append(qs, q)
	}
	got, err := s.GetQuarantined(ctx, qs[1].ID)
	if err != nil || !bytes.Equal(got.Raw, qs[1].Raw) || got.Reason != qs[1].Reason || !got.CreatedAt.Equal(micro(qs[1].CreatedAt)) ||
		got.OutTradeNo != "X" || got.NotifyID != "abc" || !got.ReplayedAt.IsZero() {
		t.Fatalf("GetQuarantined = %+v, %v; want %+v", got, err, qs[1])
	}

	at := baseTime().Add(time.Hour)
	if err := s.MarkReplayed(ctx, qs[1].ID, at); err != nil {
		t.Fatalf("MarkReplayed: %v", err)
	}
	wantErr(t, "MarkReplayed(again)", s.MarkReplayed(ctx, qs[1].ID, at), payment.ErrConflict)
	if got, err := s.GetQuarantined(ctx, qs[1].ID); err != nil || !got.ReplayedAt.Equal(micro(at)) {
		t.Fatalf("after MarkReplayed: %+v, %v", got, err)
	}

	open, err := s.ListQuarantined(ctx, payment.QuarantineFilter{})
	if err != nil || len(open) != 2 || open[0].ID != qs[0].ID || open[1].ID != qs[2].ID {
		t.Fatalf("ListQuarantined = %+v, %v; want the two not replayed", open, err)
	}
	all, err := s.ListQuarantined(ctx, payment.QuarantineFilter{IncludeReplayed: true, AfterID: qs[0].ID, Limit: 1})
	if err != nil || len(all) != 1 || all[0].ID != qs[1].ID {
		t.Fatalf("ListQuarantined(after the first, 1) = %+v, %v; want the second", all, err)
	}
	wantErr(t, "QuarantineNotify(bad text)", s.QuarantineNotify(ctx, &payment.QuarantinedNotify{Reason: "\xff"}), payment.ErrInvalid)
}

func testClose(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.CreateOrder(ctx, newOrder(2)); err == nil {
		t.Fatal("CreateOrder after Close succeeded")
	}
	if _, err := s.GetOrder(ctx, o.ID); err == nil {
		t.Fatal("GetOrder after Close succeeded")
	}
}
