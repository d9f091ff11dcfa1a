package payment

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"zhifu/alipay"
)

// MaxRefundReasonLen is the longest refund reason Alipay takes, in
// characters.
const MaxRefundReasonLen = 256

// errRefundFinal stops an apply whose refund is already final.
var errRefundFinal = errors.New("payment: refund already final")

// RefundRequest asks for a refund of a paid order.
type RefundRequest struct {
	// OrderID is the order to refund (required).
	OrderID string
	// Amount is what to give back (required): at most what was paid and
	// not yet refunded or promised to refunds in flight.
	Amount alipay.Amount
	// Reason is shown to the buyer (optional, at most 256 characters).
	Reason string
	// OutRequestNo is the refund's idempotency key at Alipay, 1 to 64
	// letters, digits and underscores, unique within the order. Pass your
	// own (your refund's id) to make retries of Refund safe: a second call
	// with the same OutRequestNo and amount returns the same refund, and
	// settles it if it is not final. Default: a new one, so that every call
	// is a new refund.
	OutRequestNo string
}

// Refund gives req.Amount of a paid order back to the buyer, by
// alipay.trade.refund. The refund and its out_request_no are stored
// (reserved) before Alipay is called, and the reservation refuses refunds
// that together would exceed the paid amount (ErrRefundExceeds), even
// when they race. Alipay's answer decides:
//
//   - fund_change Y (money moved): the refund succeeded, and the refunded
//     total goes through ApplyTradeResult with the refund's settlement in
//     one transaction (partially_refunded, or refunded once all of it is
//     back);
//   - fund_change N, or an unknown outcome (a timeout, ACQ.SYSTEM_ERROR):
//     the refund is unknown, and returned without error. SettleRefund
//     settles it by alipay.trade.fastpay.refund.query with the same
//     out_request_no; it is never sent again under a new one;
//   - a refusal: the refund failed (its reservation released), and the
//     error wraps ErrRefundRefused.
//
// An order that is not paid, or whose refund period ended
// (TRADE_FINISHED), is ErrNotRefundable.
//
// With Config.Jobs, a refund returned unsettled (unknown, or pending when
// recording Alipay's answer failed) has its settling scheduled
// (JobKindSettleRefund after JobsConfig.RefundSettleAfter), so that it
// is settled without anyone calling SettleRefund.
func (s *Service) Refund(ctx context.Context, req RefundRequest) (*Refund, error) {
	o, err := s.GetOrder(ctx, req.OrderID)
	if err != nil {
		return nil, err
	}
	log := s.orderLog(o)
	if req.OutRequestNo != "" {
		if r, err := s.existingRefund(ctx, o, req); r != nil || err != nil {
			return s.settleLater(ctx, log, r, err)
		}
	}
	if err := s.checkRefund(o, &req); err != nil {
		log.Warn("payment: refund refused", "amount", req.Amount.String(), "error", err)
		return nil, err
	}
	r := &Refund{
		ID: NewRefundID(), OrderID: o.ID, OutRequestNo: req.OutRequestNo,
		Amount: req.Amount, Reason: req.Reason, CreatedAt: s.now(),
	}
	reserved := OrderEvent{
		Kind: EventRefundRequested, Source: SourceMerchant, RefundID: r.ID,
		Reason: safeText(fmt.Sprintf("refund %s of %s reserved: %s", r.OutRequestNo, r.Amount, r.Reason)),
	}
	if err := s.store.ReserveRefund(ctx, r, reserved); err != nil {
		if errors.Is(err, ErrDuplicate) {
			// The same out_request_no, reserved meanwhile by a concurrent
			// call.
			if r, err := s.existingRefund(ctx, o, req); r != nil || err != nil {
				return s.settleLater(ctx, log, r, err)
			}
		}
		log.Warn("payment: refund not reserved", "amount", req.Amount.String(), "out_request_no", req.OutRequestNo, "error", err)
		return nil, fmt.Errorf("payment: refund order %s: %w", o.ID, err)
	}
	log.Info("payment: refund reserved; calling alipay.trade.refund", "refund_id", r.ID, "out_request_no", r.OutRequestNo, "amount", r.Amount.String())
	resp, err := s.ali.TradeRefund(ctx, s.refundRequest(o, r))
	r, err = s.refundAnswered(ctx, o, r, resp, err)
	return s.settleLater(ctx, log, r, err)
}

// settleLater returns Refund's result r and err, having scheduled the
// settling of r if it is not final (log is its order's).
func (s *Service) settleLater(ctx context.Context, log *slog.Logger, r *Refund, err error) (*Refund, error) {
	if r != nil && !r.Status.Final() {
		s.scheduleRefundSettlement(ctx, log, r)
	}
	return r, err
}

// existingRefund returns the refund of o already reserved under
// req.OutRequestNo, settled if it can be, or nil if there is none.
func (s *Service) existingRefund(ctx context.Context, o *Order, req RefundRequest) (*Refund, error) {
	r, err := s.store.GetRefundByOutRequestNo(ctx, o.ID, req.OutRequestNo)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("payment: refund order %s: %w", o.ID, err)
	case r.Amount != req.Amount:
		return nil, fmt.Errorf("payment: out_request_no %q of order %s is a refund of %s, not %s: %w",
			req.OutRequestNo, o.ID, r.Amount, req.Amount, ErrDuplicate)
	case r.Status.Final():
		s.orderLog(o).Info("payment: refund already made under this out_request_no", "refund_id", r.ID, "refund_status", r.Status)
		return r, nil
	}
	return s.SettleRefund(ctx, r.ID)
}

// checkRefund checks req against the order o and fills in its defaults.
func (s *Service) checkRefund(o *Order, req *RefundRequest) error {
	switch {
	case !o.Status.Paid():
		return fmt.Errorf("payment: order %s is %s: %w", o.ID, o.Status, ErrNotRefundable)
	case o.Flags.Has(FlagFinished):
		return fmt.Errorf("payment: order %s is finished (TRADE_FINISHED): %w", o.ID, ErrNotRefundable)
	case req.Amount <= 0:
		return fmt.Errorf("%w: refund amount %s", ErrInvalid, req.Amount)
	case req.Amount > o.RefundableAmount():
		return fmt.Errorf("payment: refund of %s, order %s has %s refundable: %w", req.Amount, o.ID, o.RefundableAmount(), ErrRefundExceeds)
	case utf8.RuneCountInString(req.Reason) > MaxRefundReasonLen || hasControl(req.Reason):
		return fmt.Errorf("%w: refund reason: at most %d characters, no control characters", ErrInvalid, MaxRefundReasonLen)
	}
	if req.OutRequestNo == "" {
		req.OutRequestNo = "R" + rand.Text()
	} else if err := checkOutRequestNo(req.OutRequestNo); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// refundRequest is the alipay.trade.refund request of refund r of o:
// the same every time it is sent.
func (s *Service) refundRequest(o *Order, r *Refund) alipay.TradeRefundRequest {
	return alipay.TradeRefundRequest{
		OutTradeNo: o.OutTradeNo, RefundAmount: r.Amount, OutRequestNo: r.OutRequestNo, RefundReason: r.Reason,
	}
}

// refundAnswered settles refund r of o by the answer of
// alipay.trade.refund.
func (s *Service) refundAnswered(ctx context.Context, o *Order, r *Refund, resp *alipay.TradeRefundResponse, callErr error) (*Refund, error) {
	log := s.orderLog(o).With("refund_id", r.ID, "out_request_no", r.OutRequestNo)
	var ae *alipay.Error
	switch {
	case callErr == nil && resp.MoneyMoved():
		raw, _ := json.Marshal(resp)
		return s.refundSucceeded(ctx, log, r, SourceRefund, "Y", resp.RefundFee, raw)
	case callErr == nil:
		raw, _ := json.Marshal(resp)
		return s.refundUnknown(ctx, log, r, "N", raw, "trade.refund answered fund_change N: no money moved by this call; settle by refund query")
	case alipay.IsUnknown(callErr) || !errors.As(callErr, &ae):
		return s.refundUnknown(ctx, log, r, r.FundChange, errorBody(callErr), "trade.refund outcome unknown: "+callErr.Error())
	}
	// Refused by Alipay: no money moved.
	f := r.Clone()
	f.Status, f.SettledAt = RefundFailed, s.now()
	ev := []OrderEvent{
		{Kind: EventRefundAnswered, Source: SourceRefund, RefundID: r.ID, Raw: ae.Body, Verified: ae.Signed,
			Reason: safeText("trade.refund refused: " + callErr.Error())},
		{Kind: EventRefundSettled, Source: SourceRefund, RefundID: r.ID, Reason: "failed: reservation released"},
	}
	if err := s.store.SettleRefund(ctx, f, ev...); err != nil {
		log.Error("payment: recording a refused refund failed", "error", err)
		return r, fmt.Errorf("payment: refund %s: %w (and recording it: %w)", r.ID, callErr, err)
	}
	log.Warn("payment: refund refused by Alipay", "sub_code", ae.SubCode, "error", callErr)
	return f, fmt.Errorf("%w: refund %s of order %s: %w", ErrRefundRefused, r.ID, o.ID, callErr)
}

// refundUnknown marks refund r unknown: it is settled later by query.
func (s *Service) refundUnknown(ctx context.Context, log *slog.Logger, r *Refund, fundChange string, raw []byte, reason string) (*Refund, error) {
	u := r.Clone()
	u.Status, u.FundChange = RefundUnknown, fundChange
	ev := []OrderEvent{
		{Kind: EventRefundAnswered, Source: SourceRefund, RefundID: r.ID, Raw: raw, Reason: safeText(reason)},
		{Kind: EventRefundSettled, Source: SourceRefund, RefundID: r.ID, Reason: "unknown: to settle by alipay.trade.fastpay.refund.query with the same out_request_no"},
	}
	if r.Status == RefundUnknown && r.FundChange == fundChange {
		ev = ev[:1] // already unknown: just record the answer
	}
	if err := s.store.SettleRefund(ctx, u, ev...); err != nil {
		log.Error("payment: recording an unknown refund failed", "error", err)
		return r, fmt.Errorf("payment: refund %s: %w", r.ID, err)
	}
	log.Warn("payment: refund outcome unknown; settle it by query (never a new out_request_no)", "reason", reason)
	return u, nil
}

// refundSucceeded settles refund r as succeeded — Alipay says money
// moved — and applies the refunded total to its order in the same
// transaction. total is the trade's refunded total if the answer gives it
// (trade.refund's refund_fee), or zero: then it is the sum of the order's
// succeeded refunds, this one included.
func (s *Service) refundSucceeded(ctx context.Context, log *slog.Logger, r *Refund, source Source, fundChange string, total alipay.Amount, raw []byte) (*Refund, error) {
	var settled *Refund
	ev := OrderEvent{
		Kind: EventRefundAnswered, Source: source, RefundID: r.ID, Raw: raw, Verified: true,
		Reason: fmt.Sprintf("refund %s of %s succeeded: money moved", r.OutRequestNo, r.Amount),
	}
	_, _, err := s.apply(ctx, r.OrderID, nil, ev, "", func(ctx context.Context, o *Order) (Fact, *Refund, []OrderEvent, error) {
		// The order was read first: its version guards the sum below.
		cur, err := s.store.GetRefund(ctx, r.ID)
		if err != nil {
			return Fact{}, nil, nil, fmt.Errorf("payment: refund %s: %w", r.ID, err)
		}
		if cur.Status.Final() {
			settled = cur
			return Fact{}, nil, nil, errRefundFinal
		}
		refunds, err := s.store.ListRefunds(ctx, o.ID)
		if err != nil {
			return Fact{}, nil, nil, fmt.Errorf("payment: refunds of order %s: %w", o.ID, err)
		}
		sum := r.Amount
		for _, x := range refunds {
			if x.ID != r.ID && x.Status == RefundSucceeded {
				sum += x.Amount
			}
		}
		settled = cur.Clone()
		settled.Status, settled.SettledAt = RefundSucceeded, s.now()
		if fundChange != "" {
			settled.FundChange = fundChange
		}
		done := OrderEvent{Kind: EventRefundSettled, Source: source, RefundID: r.ID, Reason: "succeeded"}
		return Fact{Source: source, RefundFee: max(sum, total), At: s.now()}, settled, []OrderEvent{done}, nil
	})
	if errors.Is(err, errRefundFinal) {
		log.Info("payment: refund already settled", "refund_status", settled.Status)
		return settled, nil
	}
	if err != nil {
		log.Error("payment: recording a successful refund failed; SettleRefund will find it by query", "error", err)
		return r, err
	}
	log.Info("payment: refund succeeded", "amount", r.Amount.String())
	return settled, nil
}

// SettleRefund settles a refund that is pending or unknown: it asks
// alipay.trade.fastpay.refund.query with the refund's own out_request_no.
// REFUND_SUCCESS settles it as succeeded (and the order's refunded
// total). No status means Alipay has not made the refund (or not yet): the
// very same refund request is sent again — safe, Alipay refunds once per
// out_request_no — and its answer settles the refund as in Refund. A
// final refund is returned as it is. The refund settling job calls it.
func (s *Service) SettleRefund(ctx context.Context, refundID string) (*Refund, error) {
	r, err := s.store.GetRefund(ctx, refundID)
	if err != nil {
		return nil, fmt.Errorf("payment: settle refund %s: %w", refundID, err)
	}
	if r.Status.Final() {
		return r, nil
	}
	o, err := s.GetOrder(ctx, r.OrderID)
	if err != nil {
		return r, err
	}
	log := s.orderLog(o).With("refund_id", r.ID, "out_request_no", r.OutRequestNo)
	resp, err := s.ali.TradeFastpayRefundQuery(ctx, alipay.TradeFastpayRefundQueryRequest{
		OutTradeNo: o.OutTradeNo, OutRequestNo: r.OutRequestNo,
	})
	if err != nil {
		log.Warn("payment: refund query failed; the refund stays unsettled", "error", err)
		return r, fmt.Errorf("payment: settle refund %s: %w", r.ID, err)
	}
	if resp.Succeeded() {
		if resp.RefundAmount != 0 && resp.RefundAmount != r.Amount {
			log.Error("payment: the refund query names another amount; not settled", "query_amount", resp.RefundAmount.String(), "amount", r.Amount.String())
			return r, fmt.Errorf("payment: refund %s: the query says %s, the refund is of %s: %w", r.ID, resp.RefundAmount, r.Amount, ErrAmountMismatch)
		}
		raw, _ := json.Marshal(resp)
		return s.refundSucceeded(ctx, log, r, SourceRefundQuery, "", 0, raw)
	}
	log.Info("payment: the refund query shows no refund yet; sending the same refund request again")
	resp2, err := s.ali.TradeRefund(ctx, s.refundRequest(o, r))
	return s.refundAnswered(ctx, o, r, resp2, err)
}

// ListRefunds returns the order's refunds, oldest first.
func (s *Service) ListRefunds(ctx context.Context, orderID string) ([]Refund, error) {
	rs, err := s.store.ListRefunds(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("payment: refunds of order %s: %w", orderID, err)
	}
	return rs, nil
}
