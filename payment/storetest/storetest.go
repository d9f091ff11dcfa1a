// Package storetest is the conformance suite of [payment.Store]: every
// implementation runs [Run] in its tests, so that the stores behave alike
// down to the errors they return.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// Opener returns a new, empty store for one test, and arranges with
// t.Cleanup for it to be closed.
type Opener func(t *testing.T) payment.Store

// Run runs the conformance suite against the stores open returns. Each
// subtest opens its own store; the subtests run in parallel.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"CreateDuplicate", testCreateDuplicate},
		{"CreateInvalid", testCreateInvalid},
		{"NotFound", testNotFound},
		{"GetOrderByTradeNo", testGetOrderByTradeNo},
		{"TimesUTC", testTimesUTC},
		{"UnicodeText", testUnicodeText},
		{"BigMetadata", testBigMetadata},
		{"LargestAmount", testLargestAmount},
		{"ApplyTransition", testApplyTransition},
		{"ApplyTransitionConflict", testApplyTransitionConflict},
		{"ConcurrentCAS", testConcurrentCAS},
		{"ConcurrentCASRetry", testConcurrentCASRetry},
		{"ConcurrentManyOrders", testConcurrentManyOrders},
		{"AppendEvents", testAppendEvents},
		{"ConcurrentAppendEvents", testConcurrentAppendEvents},
		{"ReserveRefund", testReserveRefund},
		{"ConcurrentReserveRefund", testConcurrentReserveRefund},
		{"SettleRefund", testSettleRefund},
		{"TransitionSettlesRefund", testTransitionSettlesRefund},
		{"ListUnsettledRefunds", testListUnsettledRefunds},
		{"ListOrdersPaging", testListOrdersPaging},
		{"ListOrdersFilter", testListOrdersFilter},
		{"ListPendingOrders", testListPendingOrders},
		{"Quarantine", testQuarantine},
		{"AdminSessions", testAdminSessions},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// baseTime is a fixed time around which the suite's orders are created,
// with a nanosecond part that stores truncate to microseconds.
func baseTime() time.Time { return time.Date(2026, 5, 20, 3, 4, 5, 123456789, time.UTC) }

// newOrder returns a valid new order, created at baseTime() plus i seconds.
func newOrder(i int) *payment.Order {
	return &payment.Order{
		ID:         payment.NewOrderID(),
		OutTradeNo: alipay.NewOutTradeNo(),
		Subject:    fmt.Sprintf("order %d", i),
		Amount:     100_00,
		Channel:    payment.ChannelPage,
		CreatedAt:  baseTime().Add(time.Duration(i) * time.Second),
	}
}

// create stores o and fails the test on error.
func create(t *testing.T, s payment.Store, o *payment.Order, events ...payment.OrderEvent) *payment.Order {
	t.Helper()
	if err := s.CreateOrder(context.Background(), o, events...); err != nil {
		t.Fatalf("CreateOrder(%s): %v", o.ID, err)
	}
	return o
}

// get reads order id and fails the test on error.
func get(t *testing.T, s payment.Store, id string) *payment.Order {
	t.Helper()
	o, err := s.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatalf("GetOrder(%s): %v", id, err)
	}
	return o
}

// paidFact is a verified TRADE_SUCCESS notify for o.
func paidFact(o *payment.Order) payment.Fact {
	return payment.Fact{
		Source: payment.SourceNotify, TradeStatus: alipay.TradeStatusSuccess,
		TradeNo: "2026052022001400000000" + o.OutTradeNo[len(o.OutTradeNo)-6:], TotalAmount: o.Amount,
		BuyerID: "2088102177846880", PaidAt: baseTime().Add(time.Minute), At: baseTime().Add(time.Minute),
	}
}

// pay applies a successful payment to the stored order o and returns the
// stored result.
func pay(t *testing.T, s payment.Store, o *payment.Order) *payment.Order {
	t.Helper()
	n, eff, err := payment.Next(get(t, s, o.ID), paidFact(o))
	if err != nil || eff != payment.EffectTransitioned {
		t.Fatalf("Next(pay): %s, %v", eff, err)
	}
	err = s.ApplyTransition(context.Background(), payment.Transition{Order: n, Events: []payment.OrderEvent{{
		Kind: payment.EventStateChanged, Source: payment.SourceNotify, From: o.Status, To: n.Status, Effect: eff,
	}}})
	if err != nil {
		t.Fatalf("ApplyTransition(pay %s): %v", o.ID, err)
	}
	return get(t, s, o.ID)
}

// checkOrder fails the test unless got and want hold the same order.
func checkOrder(t *testing.T, got, want *payment.Order) {
	t.Helper()
	if err := diffOrders(got, want); err != nil {
		t.Fatalf("order %s: %v\ngot  %+v\nwant %+v", want.ID, err, got, want)
	}
}

// diffOrders describes the first difference between got and want, or
// returns nil.
func diffOrders(got, want *payment.Order) error {
	type field struct {
		name      string
		got, want any
	}
	for _, f := range []field{
		{"ID", got.ID, want.ID}, {"OutTradeNo", got.OutTradeNo, want.OutTradeNo},
		{"Subject", got.Subject, want.Subject}, {"Body", got.Body, want.Body},
		{"Amount", got.Amount, want.Amount}, {"Channel", got.Channel, want.Channel},
		{"Status", got.Status, want.Status}, {"TradeNo", got.TradeNo, want.TradeNo},
		{"BuyerID", got.BuyerID, want.BuyerID}, {"PaidAmount", got.PaidAmount, want.PaidAmount},
		{"RefundedAmount", got.RefundedAmount, want.RefundedAmount},
		{"Flags", got.Flags, want.Flags}, {"Version", got.Version, want.Version},
	} {
		if f.got != f.want {
			return fmt.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{
		{"PaidAt", got.PaidAt, want.PaidAt}, {"ExpiresAt", got.ExpiresAt, want.ExpiresAt},
		{"ClosedAt", got.ClosedAt, want.ClosedAt}, {"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
	} {
		if !f.got.Equal(f.want) {
			return fmt.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
		if !f.got.IsZero() && f.got.Location() != time.UTC {
			return fmt.Errorf("%s = %v, not in UTC", f.name, f.got)
		}
	}
	if !maps.Equal(got.Metadata, want.Metadata) {
		return fmt.Errorf("Metadata differs: %d keys, want %d", len(got.Metadata), len(want.Metadata))
	}
	return nil
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// micro truncates t as stores do.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
