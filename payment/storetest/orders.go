package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

func testCreateAndGet(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := newOrder(1)
	o.Body = "two books"
	o.Channel = payment.ChannelPrecreate
	o.ExpiresAt = baseTime().Add(15 * time.Minute)
	o.Metadata = map[string]string{"cart": "42", "customer": "c-7"}
	events := []payment.OrderEvent{{Kind: payment.EventCreated, Source: payment.SourceMerchant, To: payment.StatusPending}}
	create(t, s, o, events...)
	if o.Version != 1 || o.Status != payment.StatusPending {
		t.Fatalf("after CreateOrder: version %d status %s, want 1, pending", o.Version, o.Status)
	}
	if !o.CreatedAt.Equal(micro(baseTime().Add(time.Second))) || !o.UpdatedAt.Equal(o.CreatedAt) {
		t.Fatalf("after CreateOrder: created %v updated %v, want both %v", o.CreatedAt, o.UpdatedAt, micro(baseTime().Add(time.Second)))
	}
	if events[0].ID == 0 || events[0].Seq != 1 || events[0].OrderID != o.ID || events[0].CreatedAt.IsZero() {
		t.Fatalf("creation event not filled in: %+v", events[0])
	}
	checkOrder(t, get(t, s, o.ID), o)
	byNo, err := s.GetOrderByOutTradeNo(ctx, o.OutTradeNo)
	if err != nil {
		t.Fatalf("GetOrderByOutTradeNo: %v", err)
	}
	checkOrder(t, byNo, o)
	list, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(list) != 1 || list[0].Kind != payment.EventCreated || list[0].ID != events[0].ID {
		t.Fatalf("ListEvents = %+v, %v; want the creation event", list, err)
	}

	// The store returns copies: changing them changes nothing stored.
	byNo.Metadata["cart"] = "changed"
	checkOrder(t, get(t, s, o.ID), o)

	// A new order without a creation time is stamped with the store's clock.
	n := newOrder(2)
	n.CreatedAt = time.Time{}
	before := time.Now().Add(-time.Second)
	create(t, s, n)
	if n.CreatedAt.Before(before) || n.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreatedAt = %v, want about now", n.CreatedAt)
	}
}

func testCreateDuplicate(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	dupNo := newOrder(2)
	dupNo.OutTradeNo = o.OutTradeNo
	wantErr(t, "CreateOrder(same out_trade_no)", s.CreateOrder(ctx, dupNo,
		payment.OrderEvent{Kind: payment.EventCreated}), payment.ErrDuplicate)
	if events, err := s.ListEvents(ctx, dupNo.ID); err != nil || len(events) != 0 {
		t.Fatalf("events of the refused order: %v, %v; want none", events, err)
	}
	wantErr(t, "GetOrder(refused)", getErr(s, dupNo.ID), payment.ErrNotFound)

	dupID := newOrder(3)
	dupID.ID = o.ID
	wantErr(t, "CreateOrder(same ID)", s.CreateOrder(ctx, dupID), payment.ErrDuplicate)

	// A closed order's out_trade_no stays taken.
	n, _, err := payment.Next(get(t, s, o.ID), payment.Fact{Source: payment.SourceExpiry, TradeNotExist: true, At: baseTime()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyTransition(ctx, payment.Transition{Order: n}); err != nil {
		t.Fatalf("ApplyTransition(close): %v", err)
	}
	again := newOrder(4)
	again.OutTradeNo = o.OutTradeNo
	wantErr(t, "CreateOrder(out_trade_no of a closed order)", s.CreateOrder(ctx, again), payment.ErrDuplicate)
	checkOrder(t, get(t, s, o.ID), n)
}

// getErr returns the error of GetOrder.
func getErr(s payment.Store, id string) error {
	_, err := s.GetOrder(context.Background(), id)
	return err
}

func testCreateInvalid(t *testing.T, s payment.Store) {
	ctx := context.Background()
	for name, edit := range map[string]func(o *payment.Order){
		"zero amount":      func(o *payment.Order) { o.Amount = 0 },
		"too much":         func(o *payment.Order) { o.Amount = alipay.MaxTradeAmount + 1 },
		"no subject":       func(o *payment.Order) { o.Subject = "" },
		"unknown channel":  func(o *payment.Order) { o.Channel = "cash" },
		"already paid":     func(o *payment.Order) { o.Status = payment.StatusPaid },
		"NUL in subject":   func(o *payment.Order) { o.Subject = "a\x00b" },
		"bad out_trade_no": func(o *payment.Order) { o.OutTradeNo = "no spaces" },
	} {
		o := newOrder(1)
		edit(o)
		wantErr(t, "CreateOrder("+name+")", s.CreateOrder(ctx, o), payment.ErrInvalid)
		wantErr(t, "GetOrder("+name+")", getErr(s, o.ID), payment.ErrNotFound)
	}
	o := newOrder(2)
	wantErr(t, "CreateOrder(event without kind)", s.CreateOrder(ctx, o, payment.OrderEvent{}), payment.ErrInvalid)
}

func testNotFound(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	missing := newOrder(2)
	missing.Version, missing.Status = 1, payment.StatusPending
	wantErr(t, "GetOrder", getErr(s, missing.ID), payment.ErrNotFound)
	_, err := s.GetOrderByOutTradeNo(ctx, missing.OutTradeNo)
	wantErr(t, "GetOrderByOutTradeNo", err, payment.ErrNotFound)
	wantErr(t, "ApplyTransition", s.ApplyTransition(ctx, payment.Transition{Order: missing}), payment.ErrNotFound)
	wantErr(t, "AppendEvents", s.AppendEvents(ctx, missing.ID, payment.OrderEvent{Kind: payment.EventNote}), payment.ErrNotFound)
	wantErr(t, "AppendEvents(none)", s.AppendEvents(ctx, missing.ID), payment.ErrNotFound)
	if events, err := s.ListEvents(ctx, missing.ID); err != nil || len(events) != 0 {
		t.Fatalf("ListEvents(unknown) = %v, %v; want none", events, err)
	}
	_, err = s.GetRefund(ctx, payment.NewRefundID())
	wantErr(t, "GetRefund", err, payment.ErrNotFound)
	_, err = s.GetRefundByOutRequestNo(ctx, o.ID, "R1")
	wantErr(t, "GetRefundByOutRequestNo", err, payment.ErrNotFound)
	r := &payment.Refund{ID: payment.NewRefundID(), OrderID: missing.ID, OutRequestNo: "R1", Amount: 1}
	wantErr(t, "ReserveRefund(unknown order)", s.ReserveRefund(ctx, r), payment.ErrNotFound)
	r.OrderID, r.Status = o.ID, payment.RefundFailed
	wantErr(t, "SettleRefund(unknown refund)", s.SettleRefund(ctx, r), payment.ErrNotFound)
	_, err = s.GetQuarantined(ctx, 12345)
	wantErr(t, "GetQuarantined", err, payment.ErrNotFound)
	wantErr(t, "MarkReplayed", s.MarkReplayed(ctx, 12345, baseTime()), payment.ErrNotFound)
}

func testGetOrderByTradeNo(t *testing.T, s payment.Store) {
	ctx := context.Background()
	paid := pay(t, s, create(t, s, newOrder(1)))
	pending := create(t, s, newOrder(2))
	if paid.TradeNo == "" {
		t.Fatal("the paid order has no trade_no")
	}
	got, err := s.GetOrderByTradeNo(ctx, paid.TradeNo)
	if err != nil {
		t.Fatalf("GetOrderByTradeNo: %v", err)
	}
	checkOrder(t, got, paid)
	for _, no := range []string{"", pending.TradeNo, paid.TradeNo + "0", "2026000000000000000000000000"} {
		_, err := s.GetOrderByTradeNo(ctx, no)
		wantErr(t, fmt.Sprintf("GetOrderByTradeNo(%q)", no), err, payment.ErrNotFound)
	}
}

func testTimesUTC(t *testing.T, s payment.Store) {
	shanghai := time.FixedZone("CST", 8*3600)
	o := newOrder(1)
	o.CreatedAt = time.Date(2026, 5, 20, 23, 30, 0, 999, shanghai) // 15:30 UTC
	o.ExpiresAt = o.CreatedAt.Add(time.Hour)
	create(t, s, o)
	got := get(t, s, o.ID)
	checkOrder(t, got, o)
	if got.CreatedAt.Hour() != 15 || got.CreatedAt.Nanosecond() != 0 {
		t.Fatalf("CreatedAt = %v, want 15:30 UTC at microsecond precision", got.CreatedAt)
	}
}

func testUnicodeText(t *testing.T, s payment.Store) {
	subjects := []string{
		"测试商品：《Go 语言》第二版",
		"emoji 🧧💰 and combining é (e\u0301)",
		strings.Repeat("支", payment.MaxSubjectLen),
		"quotes ' \" ; -- DROP TABLE payment_orders;",
	}
	for i, subject := range subjects {
		o := newOrder(i)
		o.Subject = subject
		o.Body = strings.Repeat("付", payment.MaxBodyLen)
		o.Metadata = map[string]string{"名字": "张三 🐼"}
		create(t, s, o)
		checkOrder(t, get(t, s, o.ID), o)
	}
}

func testBigMetadata(t *testing.T, s payment.Store) {
	o := newOrder(1)
	o.Metadata = map[string]string{"big": strings.Repeat("x", 256<<10)}
	for i := range 500 {
		o.Metadata[strings.Repeat("k", i%40)+string(rune('a'+i%26))+strings.Repeat("0", i/26)] = strings.Repeat("值", i)
	}
	create(t, s, o)
	checkOrder(t, get(t, s, o.ID), o)
}

func testLargestAmount(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := newOrder(1)
	o.Amount = alipay.MaxTradeAmount // 100000000.00
	create(t, s, o)
	paid := pay(t, s, o)
	if paid.Amount != alipay.MaxTradeAmount || paid.PaidAmount != alipay.MaxTradeAmount || paid.Amount.String() != "100000000.00" {
		t.Fatalf("amounts %v paid %v, want 100000000.00 both", paid.Amount, paid.PaidAmount)
	}
	r := &payment.Refund{ID: payment.NewRefundID(), OrderID: o.ID, OutRequestNo: "R1", Amount: alipay.MaxTradeAmount - 1}
	if err := s.ReserveRefund(ctx, r); err != nil {
		t.Fatalf("ReserveRefund(99999999.99): %v", err)
	}
	r2 := &payment.Refund{ID: payment.NewRefundID(), OrderID: o.ID, OutRequestNo: "R2", Amount: 2}
	wantErr(t, "ReserveRefund(one fen too many)", s.ReserveRefund(ctx, r2), payment.ErrRefundExceeds)
	r2.Amount = 1
	if err := s.ReserveRefund(ctx, r2); err != nil {
		t.Fatalf("ReserveRefund(the last fen): %v", err)
	}
	got, err := s.GetRefund(ctx, r.ID)
	if err != nil || got.Amount != alipay.MaxTradeAmount-1 {
		t.Fatalf("GetRefund = %+v, %v; want amount 99999999.99", got, err)
	}
}
