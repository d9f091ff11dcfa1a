package payment

import (
	"errors"
	"testing"
	"time"

	"zhifu/alipay"
)

// order returns the test order of that name.
func order(t *testing.T, name string) *Order {
	t.Helper()
	for _, o := range testOrders() {
		if o.name == name {
			return o.order
		}
	}
	t.Fatalf("no test order %q", name)
	return nil
}

// fact returns the test fact of that name.
func fact(t *testing.T, name string) Fact {
	t.Helper()
	for _, f := range testFacts() {
		if f.name == name {
			return f.fact
		}
	}
	t.Fatalf("no test fact %q", name)
	return Fact{}
}

func TestNextDetails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		order, fact string
		check       func(t *testing.T, n *Order)
	}{
		{"payment recorded", "pending", "n_success", func(t *testing.T, n *Order) {
			if n.PaidAmount != testAmount || !n.PaidAt.Equal(tPaid) || n.TradeNo != testTradeNo || n.BuyerID != testBuyer || n.RefundedAmount != 0 {
				t.Errorf("got %+v", n)
			}
		}},
		{"paid with a partial refund already", "pending", "n_success_r30", func(t *testing.T, n *Order) {
			if n.PaidAmount != testAmount || n.RefundedAmount != 30 {
				t.Errorf("paid %v refunded %v, want 1.00 and 0.30", n.PaidAmount, n.RefundedAmount)
			}
		}},
		{"finished flags", "pending", "n_finished", func(t *testing.T, n *Order) {
			if !n.Flags.Has(FlagFinished) || n.Status != StatusPaid {
				t.Errorf("status %s flags %s", n.Status, n.Flags)
			}
		}},
		{"finished after a partial refund keeps it", "part30", "n_finished", func(t *testing.T, n *Order) {
			if !n.Flags.Has(FlagFinished) || n.RefundedAmount != 30 || n.RefundableAmount() != 0 {
				t.Errorf("flags %s refunded %v refundable %v", n.Flags, n.RefundedAmount, n.RefundableAmount())
			}
		}},
		{"timeout close uses gmt_close", "pending", "n_closed", func(t *testing.T, n *Order) {
			if !n.ClosedAt.Equal(tClosed) || n.PaidAmount != 0 {
				t.Errorf("closed at %v paid %v", n.ClosedAt, n.PaidAmount)
			}
		}},
		{"close answer uses the time learned", "pending", "c_notexist", func(t *testing.T, n *Order) {
			if !n.ClosedAt.Equal(tLearned) {
				t.Errorf("closed at %v, want %v", n.ClosedAt, tLearned)
			}
		}},
		{"closed after full refund is refunded", "paid", "n_closed_r100", func(t *testing.T, n *Order) {
			if n.Status != StatusRefunded || n.RefundedAmount != testAmount {
				t.Errorf("status %s refunded %v", n.Status, n.RefundedAmount)
			}
		}},
		{"paid after close keeps ClosedAt and records the payment", "closed", "n_success", func(t *testing.T, n *Order) {
			if !n.ClosedAt.Equal(tClosed) || n.PaidAmount != testAmount || n.TradeNo != testTradeNo {
				t.Errorf("got %+v", n)
			}
		}},
		{"refund total raised", "part30", "r_100", func(t *testing.T, n *Order) {
			if n.RefundedAmount != testAmount {
				t.Errorf("refunded %v", n.RefundedAmount)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, eff, err := Next(order(t, tt.order), fact(t, tt.fact))
			if err != nil || eff == EffectNone {
				t.Fatalf("Next: %s, %v", eff, err)
			}
			tt.check(t, n)
		})
	}
}

func TestNextRejects(t *testing.T) {
	t.Parallel()
	edit := func(name string, f func(*Fact)) func(t *testing.T) Fact {
		return func(t *testing.T) Fact { x := fact(t, name); f(&x); return x }
	}
	tests := []struct {
		name  string
		order string
		fact  func(t *testing.T) Fact
		want  error
	}{
		{"amount mismatch on a pending order", "pending", edit("n_success", func(f *Fact) { f.TotalAmount = 1 }), ErrAmountMismatch},
		{"amount mismatch on a paid order", "paid", edit("n_success", func(f *Fact) { f.TotalAmount = 1 }), ErrAmountMismatch},
		{"payment without total_amount", "pending", edit("n_success", func(f *Fact) { f.TotalAmount = 0 }), ErrAmountMismatch},
		{"another trade", "paid", edit("n_success", func(f *Fact) { f.TradeNo = "other" }), ErrTradeNoMismatch},
		{"refund above amount", "paid", edit("r_100", func(f *Fact) { f.RefundFee = testAmount + 1 }), ErrRefundAbovePaid},
		{"refund of a closed order", "closed", edit("r_30", func(*Fact) {}), ErrContradiction},
		{"close answer for a paid order", "paid", edit("c_closed", func(*Fact) {}), ErrContradiction},
		{"notify trade-not-exist", "pending", edit("q_notexist", func(f *Fact) { f.Source = SourceNotify }), ErrInvalidFact},
		{"unknown trade status", "pending", edit("n_success", func(f *Fact) { f.TradeStatus = "TRADE_PENDING" }), ErrInvalidFact},
		{"close with success", "pending", edit("c_closed", func(f *Fact) { f.TradeStatus = alipay.TradeStatusSuccess }), ErrInvalidFact},
		{"refund without fee", "paid", edit("r_30", func(f *Fact) { f.RefundFee = 0 }), ErrInvalidFact},
		{"refund with a trade status", "paid", edit("r_30", func(f *Fact) { f.TradeStatus = alipay.TradeStatusSuccess }), ErrInvalidFact},
		{"a return is no fact", "pending", edit("n_success", func(f *Fact) { f.Source = SourceReturn }), ErrInvalidFact},
		{"negative amount", "pending", edit("n_success", func(f *Fact) { f.TotalAmount = -100 }), ErrInvalidFact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, eff, err := Next(order(t, tt.order), tt.fact(t))
			if !errors.Is(err, tt.want) || eff != EffectRejected || n != nil {
				t.Fatalf("Next = %v, %s, %v; want nil, rejected, %v", n, eff, err, tt.want)
			}
		})
	}
}

func TestNextRefusesUnknownStatus(t *testing.T) {
	t.Parallel()
	o := order(t, "pending").Clone()
	o.Status = "finished"
	if _, eff, err := Next(o, fact(t, "n_success")); !errors.Is(err, ErrInvalid) || eff != EffectRejected {
		t.Fatalf("Next = %s, %v; want rejected, ErrInvalid", eff, err)
	}
}

func TestFlagsString(t *testing.T) {
	t.Parallel()
	for f, want := range map[Flags]string{
		0:                                 "",
		FlagFinished:                      "finished",
		FlagFinished | FlagPaidAfterClose: "finished|paid_after_close",
		FlagPaidAfterClose | 1<<7:         "paid_after_close|0x80",
	} {
		if got := f.String(); got != want {
			t.Errorf("Flags(%d).String() = %q, want %q", uint32(f), got, want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 20, 1, 2, 3, 456789000, time.UTC)
	c := EncodeCursor(CursorOrders, at, "ord_X|Y")
	gotT, gotID, err := DecodeCursor(CursorOrders, c)
	if err != nil || !gotT.Equal(at) || gotID != "ord_X|Y" {
		t.Fatalf("DecodeCursor = %v, %q, %v", gotT, gotID, err)
	}
	for _, bad := range []string{"", "!!", EncodeCursor(CursorPending, at, "x"), "bzEyMw"} {
		if _, _, err := DecodeCursor(CursorOrders, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeCursor(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestValidateNew(t *testing.T) {
	t.Parallel()
	good := func() *Order {
		return &Order{ID: NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: "书", Amount: 1, Channel: ChannelWAP}
	}
	if err := good().ValidateNew(); err != nil {
		t.Fatalf("ValidateNew(good) = %v", err)
	}
	for name, edit := range map[string]func(*Order){
		"no id":             func(o *Order) { o.ID = "" },
		"out_trade_no char": func(o *Order) { o.OutTradeNo = "a-b" },
		"long out_trade_no": func(o *Order) { o.OutTradeNo = string(make([]byte, 65)) },
		"empty subject":     func(o *Order) { o.Subject = "" },
		"zero amount":       func(o *Order) { o.Amount = 0 },
		"too much":          func(o *Order) { o.Amount = alipay.MaxTradeAmount + 1 },
		"channel":           func(o *Order) { o.Channel = "pos" },
		"paid":              func(o *Order) { o.Status = StatusPaid },
		"nul in metadata":   func(o *Order) { o.Metadata = map[string]string{"k": "a\x00b"} },
		"bad utf-8 subject": func(o *Order) { o.Subject = "\xff" },
	} {
		o := good()
		edit(o)
		if err := o.ValidateNew(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: ValidateNew = %v, want ErrInvalid", name, err)
		}
	}
}
