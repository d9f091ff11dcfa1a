package payment

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

var (
	tCreated = time.Date(2026, 5, 20, 4, 0, 0, 0, time.UTC)
	tPaid    = tCreated.Add(2 * time.Minute)
	tClosed  = tCreated.Add(30 * time.Minute)
	tLearned = tCreated.Add(time.Hour)
)

const (
	testAmount  alipay.Amount = 100
	testTradeNo               = "2026052022001400000000000001"
	testBuyer                 = "2088102177846880"
)

// testOrders returns an order of amount 1.00 in each situation the
// transition tests start from, by name.
func testOrders() []struct {
	name  string
	order *Order
} {
	base := func(s Status, refunded alipay.Amount, flags Flags) *Order {
		o := &Order{
			ID: "ord_TEST", OutTradeNo: "20260520120000000000ABCDEFGHJKMNP",
			Subject: "测试 order", Amount: testAmount, Channel: ChannelPage, Status: s,
			Metadata: map[string]string{"cart": "42"}, Flags: flags,
			CreatedAt: tCreated, UpdatedAt: tCreated, Version: 3,
		}
		if s.Paid() {
			o.TradeNo, o.BuyerID, o.PaidAmount, o.PaidAt = testTradeNo, testBuyer, testAmount, tPaid
			o.RefundedAmount = refunded
		}
		if s == StatusClosed {
			o.ClosedAt = tClosed
		}
		return o
	}
	return []struct {
		name  string
		order *Order
	}{
		{"pending", base(StatusPending, 0, 0)},
		{"closed", base(StatusClosed, 0, 0)},
		{"paid", base(StatusPaid, 0, 0)},
		{"part30", base(StatusPartiallyRefunded, 30, 0)},
		{"part50", base(StatusPartiallyRefunded, 50, 0)},
		{"refunded", base(StatusRefunded, testAmount, 0)},
		{"paid_finished", base(StatusPaid, 0, FlagFinished)},
	}
}

// testFacts returns one fact of each shape a source produces, by name,
// all consistent with the test orders.
func testFacts() []struct {
	name string
	fact Fact
} {
	notify := func(s alipay.TradeStatus) Fact {
		return Fact{Source: SourceNotify, TradeStatus: s, TradeNo: testTradeNo, TotalAmount: testAmount, BuyerID: testBuyer, At: tLearned}
	}
	with := func(f Fact, edit func(*Fact)) Fact { edit(&f); return f }
	refund := func(src Source, fee alipay.Amount) Fact {
		return Fact{Source: src, TradeNo: testTradeNo, RefundFee: fee, At: tLearned}
	}
	return []struct {
		name string
		fact Fact
	}{
		{"n_wait", notify(alipay.TradeStatusWaitBuyerPay)},
		{"n_success", with(notify(alipay.TradeStatusSuccess), func(f *Fact) { f.PaidAt = tPaid })},
		{"n_success_r30", with(notify(alipay.TradeStatusSuccess), func(f *Fact) { f.PaidAt, f.RefundFee = tPaid, 30 })},
		{"n_finished", with(notify(alipay.TradeStatusFinished), func(f *Fact) { f.PaidAt = tPaid })},
		{"n_closed", with(notify(alipay.TradeStatusClosed), func(f *Fact) { f.ClosedAt = tClosed })},
		{"n_closed_r100", with(notify(alipay.TradeStatusClosed), func(f *Fact) { f.PaidAt, f.RefundFee = tPaid, testAmount })},
		{"q_success", with(notify(alipay.TradeStatusSuccess), func(f *Fact) { f.Source, f.PaidAt = SourceQuery, tPaid })},
		{"q_notexist", Fact{Source: SourceQuery, TradeNotExist: true, At: tLearned}},
		{"q_closed", with(notify(alipay.TradeStatusClosed), func(f *Fact) { f.Source = SourceQuery })},
		{"c_closed", Fact{Source: SourceClose, TradeStatus: alipay.TradeStatusClosed, TradeNo: testTradeNo, At: tLearned}},
		{"c_notexist", Fact{Source: SourceClose, TradeNotExist: true, At: tLearned}},
		{"e_notexist", Fact{Source: SourceExpiry, TradeNotExist: true, At: tLearned}},
		{"r_30", refund(SourceRefund, 30)},
		{"r_100", refund(SourceRefund, testAmount)},
		{"rq_30", refund(SourceRefundQuery, 30)},
	}
}

// wantGrid is the expected outcome of every (order, fact) pair, one row
// per test order, one column per test fact, in their order: "=" nothing
// changes, a status the order moves to, "!" and a status for a payment
// after close, "x" rejected as a contradiction.
var wantGrid = map[string]string{
	//              n_wait n_success n_success_r30 n_finished n_closed n_closed_r100 q_success q_notexist q_closed c_closed c_notexist e_notexist r_30 r_100 rq_30
	"pending":       "=      paid      partially_refunded  paid   closed refunded   paid   =  closed closed closed closed x x x",
	"closed":        "=      !paid     !partially_refunded !paid  =      !refunded  !paid  =  =      =      =      =      x x x",
	"paid":          "=      =         partially_refunded  paid   refunded refunded =      =  refunded x    x      x      partially_refunded refunded partially_refunded",
	"part30":        "=      =         =                   partially_refunded refunded refunded = = refunded x x x = refunded =",
	"part50":        "=      =         =                   partially_refunded refunded refunded = = refunded x x x = refunded =",
	"refunded":      "=      =         =                   =      =      =          =      =  =      =      =      =      = = =",
	"paid_finished": "=      =         partially_refunded  =      refunded refunded =      =  refunded x    x      x      partially_refunded refunded partially_refunded",
}

func TestNextGrid(t *testing.T) {
	t.Parallel()
	facts := testFacts()
	for _, o := range testOrders() {
		row := strings.Fields(wantGrid[o.name])
		if len(row) != len(facts) {
			t.Fatalf("wantGrid[%s] has %d cells, want %d", o.name, len(row), len(facts))
		}
		for i, f := range facts {
			t.Run(o.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				got, eff, err := Next(o.order, f.fact)
				want := row[i]
				switch {
				case want == "x":
					if eff != EffectRejected || !errors.Is(err, ErrContradiction) || got != nil {
						t.Fatalf("Next = %v, %v, %v; want rejected, ErrContradiction", got, eff, err)
					}
					return
				case err != nil:
					t.Fatalf("Next: %v (effect %s)", err, eff)
				case want == "=":
					if eff != EffectNone || !equalOrders(got, o.order) {
						t.Fatalf("Next = %+v, %s; want the order unchanged, EffectNone", got, eff)
					}
				case strings.HasPrefix(want, "!"):
					if eff != EffectPaidAfterClose || string(got.Status) != want[1:] || !got.Flags.Has(FlagPaidAfterClose) {
						t.Fatalf("Next = status %s flags %s, %s; want %s, paid_after_close flag and effect", got.Status, got.Flags, eff, want[1:])
					}
				default:
					if eff != EffectTransitioned || string(got.Status) != want {
						t.Fatalf("Next = status %s, %s; want %s, EffectTransitioned", got.Status, eff, want)
					}
				}
			})
		}
	}
}

// TestNextInvariants applies every fact, and variants of it that must be
// rejected, to every order, and checks what no transition may do.
func TestNextInvariants(t *testing.T) {
	t.Parallel()
	for _, o := range testOrders() {
		for _, f := range testFacts() {
			variants := map[string]Fact{"as is": f.fact}
			if f.fact.TotalAmount != 0 {
				v := f.fact
				v.TotalAmount = testAmount + 1
				variants["other amount"] = v
			}
			if f.fact.TradeNo != "" {
				v := f.fact
				v.TradeNo = "2026052022001400000000000999"
				variants["other trade_no"] = v
			}
			v := f.fact
			v.RefundFee = testAmount + 1
			variants["refund above amount"] = v
			for vname, fact := range variants {
				t.Run(fmt.Sprintf("%s/%s/%s", o.name, f.name, vname), func(t *testing.T) {
					t.Parallel()
					checkInvariants(t, o.order, fact)
				})
			}
		}
	}
}

// checkInvariants checks one application of Next.
func checkInvariants(t *testing.T, o *Order, f Fact) {
	t.Helper()
	before := o.Clone()
	n, eff, err := Next(o, f)
	if !equalOrders(o, before) {
		t.Fatalf("Next modified its argument: %+v, was %+v", o, before)
	}
	if (err != nil) != (eff == EffectRejected) || (n == nil) != (eff == EffectRejected) {
		t.Fatalf("Next = %v, %s, %v: rejected exactly when there is an error and no order", n, eff, err)
	}
	if err != nil {
		return
	}
	switch {
	case n.Status.rank() < o.Status.rank():
		t.Errorf("status went back: %s → %s", o.Status, n.Status)
	case n.PaidAmount < o.PaidAmount || n.RefundedAmount < o.RefundedAmount:
		t.Errorf("amounts went back: paid %v → %v, refunded %v → %v", o.PaidAmount, n.PaidAmount, o.RefundedAmount, n.RefundedAmount)
	case n.Flags&o.Flags != o.Flags:
		t.Errorf("flags cleared: %s → %s", o.Flags, n.Flags)
	case n.ID != o.ID || n.OutTradeNo != o.OutTradeNo || n.Amount != o.Amount || n.Version != o.Version ||
		!n.CreatedAt.Equal(o.CreatedAt) || !n.UpdatedAt.Equal(o.UpdatedAt) || !maps.Equal(n.Metadata, o.Metadata):
		t.Errorf("a fixed field changed: %+v → %+v", o, n)
	case o.TradeNo != "" && n.TradeNo != o.TradeNo:
		t.Errorf("trade_no changed: %q → %q", o.TradeNo, n.TradeNo)
	case eff == EffectNone && !equalOrders(n, o):
		t.Errorf("EffectNone changed the order: %+v → %+v", o, n)
	case eff != EffectNone && equalOrders(n, o):
		t.Errorf("effect %s without a change", eff)
	}
	if err := n.ValidateState(); err != nil {
		t.Errorf("new state invalid: %v", err)
	}
	// Idempotent: the same fact again changes nothing.
	again, eff2, err := Next(n, f)
	if err != nil || eff2 != EffectNone || !equalOrders(again, n) {
		t.Errorf("the same fact again: %s, %v; want EffectNone", eff2, err)
	}
}

func TestTransitionTableComplete(t *testing.T) {
	t.Parallel()
	seen := map[transitionRule]int{}
	for _, r := range transitionTable() {
		seen[transitionRule{From: r.From, On: r.On}]++
	}
	for _, s := range statuses() {
		for k := range numFactKinds {
			if n := seen[transitionRule{From: s, On: k}]; n != 1 {
				t.Errorf("%d rules for %s on %s, want 1", n, s, k)
			}
		}
	}
	if len(seen) != len(statuses())*int(numFactKinds) {
		t.Errorf("%d rules, want %d", len(seen), len(statuses())*int(numFactKinds))
	}
}
