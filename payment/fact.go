package payment

import (
	"fmt"
	"time"

	"zhifu/alipay"
)

// Fact is one thing learned about an order's trade at Alipay: a verified
// notify, an answer of trade.query, trade.close, trade.refund or the refund
// query, or the expiry job's close. Every fact goes through [Next], the one
// path by which an order changes.
//
// Fill the fields the source provides and leave the others zero:
//
//   - SourceNotify: TradeStatus, TradeNo, TotalAmount, BuyerID, PaidAt
//     (gmt_payment), RefundFee (refund_fee, for refund notifies) and
//     ClosedAt (gmt_close). Check the notify's app_id and seller_id before.
//   - SourceQuery: TradeStatus, TradeNo, TotalAmount, BuyerID, PaidAt
//     (send_pay_date); or TradeNotExist for ACQ.TRADE_NOT_EXIST, which
//     means "not paid yet". trade.query says nothing about refunds.
//   - SourceClose, SourceExpiry: TradeStatus TRADE_CLOSED when
//     trade.close succeeded, or TradeNotExist when Alipay has no trade to
//     close (the buyer never opened the cashier); either closes a pending
//     order. ACQ.TRADE_STATUS_ERROR is not a fact: ask trade.query.
//   - SourceRefund, SourceRefundQuery: RefundFee, the total refunded on
//     the trade so far, and only once Alipay says money moved (fund_change
//     Y, or refund_status REFUND_SUCCESS). The refund answer's refund_fee
//     is that total; a refund query gives one refund's amount, so add the
//     settled refunds yourself.
type Fact struct {
	// Source says where the fact comes from.
	Source Source
	// TradeStatus is the trade's status at Alipay, when the source says.
	TradeStatus alipay.TradeStatus
	// TradeNotExist reports that Alipay answered ACQ.TRADE_NOT_EXIST.
	TradeNotExist bool
	// TradeNo is Alipay's trade number, when the source gives it.
	TradeNo string
	// TotalAmount is the trade's amount (total_amount), or zero when the
	// source gives none. A nonzero amount must equal the order's.
	TotalAmount alipay.Amount
	// BuyerID is the buyer's user id, when the source gives it.
	BuyerID string
	// PaidAt is when the buyer paid, when the source gives it.
	PaidAt time.Time
	// RefundFee is the total refunded on the trade so far (cumulative,
	// never one refund's amount), or zero.
	RefundFee alipay.Amount
	// ClosedAt is when Alipay closed the trade (gmt_close), or zero.
	ClosedAt time.Time
	// At is when the fact was learned; it stands in for PaidAt and ClosedAt
	// when those are zero.
	At time.Time
}

// factKind is what a fact says, whatever its source: the column of the
// transition table.
type factKind int

const (
	factWaiting        factKind = iota // not paid yet: WAIT_BUYER_PAY, or a query found no trade
	factSuccess                        // TRADE_SUCCESS: paid (maybe with refunds, RefundFee)
	factFinished                       // TRADE_FINISHED: paid, no longer refundable
	factClosed                         // TRADE_CLOSED with no sign of a payment
	factClosedRefunded                 // TRADE_CLOSED of a paid trade: fully refunded
	factCloseConfirmed                 // trade.close succeeded, or there is no trade to close
	factRefund                         // a refund moved money: RefundFee is the new total
	numFactKinds
)

// String names the kind, for tests and tables.
func (k factKind) String() string {
	switch k {
	case factWaiting:
		return "waiting"
	case factSuccess:
		return "success"
	case factFinished:
		return "finished"
	case factClosed:
		return "closed"
	case factClosedRefunded:
		return "closed_refunded"
	case factCloseConfirmed:
		return "close_confirmed"
	case factRefund:
		return "refund"
	}
	return fmt.Sprintf("factKind(%d)", int(k))
}

// kind classifies f, or returns an error wrapping ErrInvalidFact for a
// fact that its source cannot produce.
func (f *Fact) kind() (factKind, error) {
	invalid := func(format string, args ...any) (factKind, error) {
		return 0, fmt.Errorf("%w: %s: %s", ErrInvalidFact, f.Source, fmt.Sprintf(format, args...))
	}
	if f.TotalAmount < 0 || f.RefundFee < 0 {
		return invalid("negative amount")
	}
	switch f.Source {
	case SourceNotify, SourceQuery:
		if f.TradeNotExist {
			if f.Source == SourceQuery && f.TradeStatus == "" {
				return factWaiting, nil
			}
			return invalid("trade-not-exist with trade status %q", f.TradeStatus)
		}
		switch f.TradeStatus {
		case alipay.TradeStatusWaitBuyerPay:
			return factWaiting, nil
		case alipay.TradeStatusSuccess:
			return factSuccess, nil
		case alipay.TradeStatusFinished:
			return factFinished, nil
		case alipay.TradeStatusClosed:
			// A timeout close carries no payment; the close after a full
			// refund carries gmt_payment and refund_fee (pitfall 8).
			if f.RefundFee > 0 || !f.PaidAt.IsZero() {
				return factClosedRefunded, nil
			}
			return factClosed, nil
		}
		return invalid("unknown trade status %q", f.TradeStatus)
	case SourceClose, SourceExpiry:
		if f.TradeNotExist && f.TradeStatus == "" || !f.TradeNotExist && f.TradeStatus == alipay.TradeStatusClosed {
			return factCloseConfirmed, nil
		}
		return invalid("a close answer is TRADE_CLOSED or trade-not-exist, not %q", f.TradeStatus)
	case SourceRefund, SourceRefundQuery:
		if f.RefundFee <= 0 || f.TradeNotExist || f.TradeStatus != "" {
			return invalid("a refund fact carries the refunded total and no trade status")
		}
		return factRefund, nil
	}
	return invalid("not a source of facts")
}

// Effect is what a fact did to an order.
type Effect string

// Effects of [Next].
const (
	// EffectNone: the fact was already known (a duplicate) or is older
	// than what the order knows (stale); the order is unchanged.
	EffectNone Effect = "none"
	// EffectTransitioned: the order changed; store it.
	EffectTransitioned Effect = "transitioned"
	// EffectPaidAfterClose: a payment arrived for a closed order. The
	// order changed (paid, FlagPaidAfterClose); store it, then apply the
	// configured policy: keep the payment for someone to look at, or
	// refund it. Raise it in logs and metrics.
	EffectPaidAfterClose Effect = "paid_after_close"
	// EffectRejected: the fact contradicts the order (another amount,
	// another trade, more refunded than paid…) and was not applied. The
	// error says why; record it and look.
	EffectRejected Effect = "rejected"
)
