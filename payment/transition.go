package payment

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"zhifu/alipay"
)

// Reasons for EffectRejected, returned (wrapped) by [Next].
var (
	// ErrInvalidFact: the fact is not one its source can produce (a
	// programming error of the caller, or a malformed answer).
	ErrInvalidFact = errors.New("payment: invalid fact")
	// ErrAmountMismatch: the trade's total_amount differs from the order's
	// amount.
	ErrAmountMismatch = errors.New("payment: amount does not match the order")
	// ErrTradeNoMismatch: the trade_no differs from the one the order
	// already has.
	ErrTradeNoMismatch = errors.New("payment: trade_no does not match the order")
	// ErrRefundAbovePaid: Alipay reports more refunded than the order's
	// amount.
	ErrRefundAbovePaid = errors.New("payment: refunded total above the amount")
	// ErrContradiction: the fact cannot be true of an order in this
	// status: a refund of an unpaid order, a successful close of a paid one.
	ErrContradiction = errors.New("payment: fact contradicts the order's status")
)

// action is what a fact does to an order of a given status: the cell of
// the transition table.
type action int

const (
	actIgnore        action = iota // duplicate or stale: nothing changes
	actPay                         // record the payment (and any refund or finish it carries)
	actPayAfterClose               // record a payment for a closed order, FlagPaidAfterClose
	actClose                       // closed without payment
	actRefund                      // raise RefundedAmount to RefundFee if higher
	actFinish                      // FlagFinished (and a higher RefundFee)
	actFullRefund                  // a paid trade closed at Alipay: refunded
	actContradict                  // reject with ErrContradiction
)

// transitionRule is one row of the transition table: in status From, a
// fact of kind On does Do.
type transitionRule struct {
	From Status
	On   factKind
	Do   action
}

// transitionTable returns the transition table: one rule for each status
// and kind of fact. TestTransitionTableComplete checks that no pair is
// missing or doubled; TestNextNeverBackwards that no rule moves an order
// backwards.
func transitionTable() []transitionRule {
	return []transitionRule{
		{StatusPending, factWaiting, actIgnore},
		{StatusPending, factSuccess, actPay},
		{StatusPending, factFinished, actPay},
		{StatusPending, factClosed, actClose},
		{StatusPending, factClosedRefunded, actPay}, // paid and refunded before we heard of it
		{StatusPending, factCloseConfirmed, actClose},
		{StatusPending, factRefund, actContradict},

		{StatusClosed, factWaiting, actIgnore},
		{StatusClosed, factSuccess, actPayAfterClose},
		{StatusClosed, factFinished, actPayAfterClose},
		{StatusClosed, factClosed, actIgnore},
		{StatusClosed, factClosedRefunded, actPayAfterClose},
		{StatusClosed, factCloseConfirmed, actIgnore},
		{StatusClosed, factRefund, actContradict},

		{StatusPaid, factWaiting, actIgnore},
		{StatusPaid, factSuccess, actRefund}, // a partial refund notifies TRADE_SUCCESS with refund_fee
		{StatusPaid, factFinished, actFinish},
		{StatusPaid, factClosed, actFullRefund}, // a paid trade closes only by a full refund
		{StatusPaid, factClosedRefunded, actFullRefund},
		{StatusPaid, factCloseConfirmed, actContradict},
		{StatusPaid, factRefund, actRefund},

		{StatusPartiallyRefunded, factWaiting, actIgnore},
		{StatusPartiallyRefunded, factSuccess, actRefund},
		{StatusPartiallyRefunded, factFinished, actFinish},
		{StatusPartiallyRefunded, factClosed, actFullRefund},
		{StatusPartiallyRefunded, factClosedRefunded, actFullRefund},
		{StatusPartiallyRefunded, factCloseConfirmed, actContradict},
		{StatusPartiallyRefunded, factRefund, actRefund},

		// Refunded is the end: everything after it is a duplicate or stale.
		{StatusRefunded, factWaiting, actIgnore},
		{StatusRefunded, factSuccess, actIgnore},
		{StatusRefunded, factFinished, actIgnore},
		{StatusRefunded, factClosed, actIgnore},
		{StatusRefunded, factClosedRefunded, actIgnore},
		{StatusRefunded, factCloseConfirmed, actIgnore},
		{StatusRefunded, factRefund, actIgnore},
	}
}

// transitions is the transition table, made once: lookup runs for every
// fact, and making the table anew each time was an allocation of a
// kilobyte per notify.
var transitions = transitionTable()

// lookup returns the action of the table for status s and fact kind k.
func lookup(s Status, k factKind) (action, bool) {
	for _, r := range transitions {
		if r.From == s && r.On == k {
			return r.Do, true
		}
	}
	return 0, false
}

// Next applies fact f to order o and returns the order's new state and the
// effect. It is pure: it does no I/O, reads no clock and never modifies o.
//
// Before the table is consulted, every fact is checked against the order:
// a nonzero TotalAmount must equal o.Amount (ErrAmountMismatch), a TradeNo
// must equal the one the order has (ErrTradeNoMismatch), and RefundFee must
// not exceed the amount (ErrRefundAbovePaid); a fact that pays the order
// must carry TotalAmount. A failed check, a fact that
// contradicts the status (ErrContradiction) and a malformed fact
// (ErrInvalidFact) return a nil order, EffectRejected and an error wrapping
// the reason. Otherwise the error is nil and:
//
//   - EffectNone returns a copy of o, unchanged: the fact is a duplicate
//     or stale. No fact moves an order backwards: a late TRADE_SUCCESS for
//     a refunded order, a refund total lower than the one known, a
//     WAIT_BUYER_PAY for a paid order all do nothing.
//   - EffectTransitioned returns the changed order, with the same Version:
//     store it with [Store.ApplyTransition], which compares and sets.
//   - EffectPaidAfterClose is EffectTransitioned for a payment that
//     arrived for a closed order.
func Next(o *Order, f Fact) (*Order, Effect, error) {
	reject := func(err error) (*Order, Effect, error) { return nil, EffectRejected, err }
	if !o.Status.Valid() {
		return reject(fmt.Errorf("%w: order %s has unknown status %q", ErrInvalid, o.ID, o.Status))
	}
	k, err := f.kind()
	if err != nil {
		return reject(err)
	}
	switch {
	case f.TotalAmount != 0 && f.TotalAmount != o.Amount:
		return reject(fmt.Errorf("%w: %s says total_amount %v, order %s is for %v",
			ErrAmountMismatch, f.Source, f.TotalAmount, o.ID, o.Amount))
	case f.TradeNo != "" && o.TradeNo != "" && f.TradeNo != o.TradeNo:
		return reject(fmt.Errorf("%w: %s says trade_no %q, order %s has %q",
			ErrTradeNoMismatch, f.Source, f.TradeNo, o.ID, o.TradeNo))
	case f.RefundFee > o.Amount:
		return reject(fmt.Errorf("%w: %s says %v refunded, order %s is for %v",
			ErrRefundAbovePaid, f.Source, f.RefundFee, o.ID, o.Amount))
	}
	act, ok := lookup(o.Status, k)
	if !ok {
		// Unreachable while TestTransitionTableComplete passes.
		return reject(fmt.Errorf("%w: no rule for %s on %s", ErrInvalidFact, k, o.Status))
	}
	n := o.Clone()
	switch act {
	case actIgnore:
	case actContradict:
		return reject(fmt.Errorf("%w: order %s is %s, and %s says %s",
			ErrContradiction, o.ID, o.Status, f.Source, k))
	case actPay, actPayAfterClose:
		if f.TotalAmount == 0 {
			return reject(fmt.Errorf("%w: %s reports a payment without total_amount", ErrAmountMismatch, f.Source))
		}
		pay(n, &f, k)
		if act == actPayAfterClose {
			n.Flags |= FlagPaidAfterClose
		}
	case actClose:
		n.Status = StatusClosed
		n.ClosedAt = firstSet(f.ClosedAt, f.At)
		learnTrade(n, &f)
	case actRefund:
		refund(n, f.RefundFee)
	case actFinish:
		n.Flags |= FlagFinished
		refund(n, f.RefundFee)
	case actFullRefund:
		n.Status = StatusRefunded
		n.RefundedAmount = n.PaidAmount
	}
	if equalOrders(o, n) {
		return n, EffectNone, nil
	}
	if act == actPayAfterClose {
		return n, EffectPaidAfterClose, nil
	}
	return n, EffectTransitioned, nil
}

// pay records on n the payment that fact f of kind k reports, with the
// refunds and the finish it may carry.
func pay(n *Order, f *Fact, k factKind) {
	n.Status = StatusPaid
	n.PaidAmount = n.Amount
	n.PaidAt = firstSet(f.PaidAt, f.At)
	learnTrade(n, f)
	switch k {
	case factFinished:
		n.Flags |= FlagFinished
	case factClosedRefunded:
		n.Status = StatusRefunded
		n.RefundedAmount = n.PaidAmount
		return
	}
	refund(n, f.RefundFee)
}

// learnTrade copies Alipay's trade number and buyer from f to n where n
// has none yet.
func learnTrade(n *Order, f *Fact) {
	if n.TradeNo == "" {
		n.TradeNo = f.TradeNo
	}
	if n.BuyerID == "" {
		n.BuyerID = f.BuyerID
	}
}

// refund raises n's refunded total to fee when fee is higher (refund
// totals only grow; a lower one is stale) and sets the status to match.
func refund(n *Order, fee alipay.Amount) {
	if fee <= n.RefundedAmount {
		return
	}
	n.RefundedAmount = fee
	if fee >= n.PaidAmount {
		n.Status = StatusRefunded
	} else {
		n.Status = StatusPartiallyRefunded
	}
}

// firstSet returns the first of ts that is not zero, or zero.
func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// equalOrders reports whether a and b hold the same state.
func equalOrders(a, b *Order) bool {
	return a.ID == b.ID && a.OutTradeNo == b.OutTradeNo && a.Subject == b.Subject &&
		a.Body == b.Body && a.Amount == b.Amount && a.Channel == b.Channel &&
		a.Status == b.Status && a.TradeNo == b.TradeNo && a.BuyerID == b.BuyerID &&
		a.PaidAmount == b.PaidAmount && a.RefundedAmount == b.RefundedAmount &&
		a.PaidAt.Equal(b.PaidAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.ClosedAt.Equal(b.ClosedAt) &&
		maps.Equal(a.Metadata, b.Metadata) && a.Flags == b.Flags &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.Version == b.Version
}
