package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"zhifu/alipay"
)

// Reconcile asks alipay.trade.query where the order's trade stands and
// applies the answer through ApplyTradeResult (source query): the way a
// payment whose notify never arrived is found. ACQ.TRADE_NOT_EXIST means
// "not paid yet" (the buyer has not opened the cashier) and changes
// nothing. A call that fails changes nothing and returns the error, to be
// retried; the reconciliation job calls Reconcile on a schedule. For a
// payment after close that the policy refunds, Reconcile also starts the
// automatic refund if it was never started.
func (s *Service) Reconcile(ctx context.Context, orderID string) (*Order, error) {
	o, err := s.GetOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	o, err = s.query(ctx, o)
	if err != nil {
		return o, err
	}
	if started, err := s.refundPaidAfterClose(ctx, o); err != nil {
		return o, err
	} else if started {
		return s.GetOrder(ctx, o.ID)
	}
	return o, nil
}

// query asks trade.query about o and applies the answer.
func (s *Service) query(ctx context.Context, o *Order) (*Order, error) {
	log := s.orderLog(o)
	resp, err := s.ali.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: o.OutTradeNo})
	var fact Fact
	source := OrderEvent{Kind: EventQuery, Source: SourceQuery, Verified: true}
	switch {
	case err == nil:
		fact = Fact{
			Source: SourceQuery, TradeStatus: resp.TradeStatus, TradeNo: resp.TradeNo,
			TotalAmount: resp.TotalAmount, BuyerID: resp.BuyerUserID, PaidAt: resp.SendPayDate.Time, At: s.now(),
		}
		source.Raw, _ = json.Marshal(resp)
		source.Reason = "trade.query: " + string(resp.TradeStatus)
	case alipay.IsTradeNotExist(err):
		fact = Fact{Source: SourceQuery, TradeNotExist: true, At: s.now()}
		source.Raw = errorBody(err)
		source.Reason = "trade.query: ACQ.TRADE_NOT_EXIST: no trade yet (the cashier was not opened)"
	default:
		log.Warn("payment: trade.query failed; nothing changed", "error", err)
		return o, fmt.Errorf("payment: query order %s (out_trade_no %s): %w", o.ID, o.OutTradeNo, err)
	}
	n, effect, err := s.ApplyTradeResult(ctx, o.ID, fact, source)
	if err != nil {
		return n, err
	}
	log.Info("payment: reconciled by trade.query", "trade_status", fact.TradeStatus, "trade_not_exist", fact.TradeNotExist, "effect", effect, "status", n.Status)
	return n, nil
}

// errorBody returns the raw response body of an Alipay error, if any.
func errorBody(err error) []byte {
	var ae *alipay.Error
	if errors.As(err, &ae) {
		return ae.Body
	}
	return nil
}

// Expire closes the pending order past its ExpiresAt, at Alipay
// (alipay.trade.close) and then locally — the expiry job calls it at
// ExpiresAt. Before ExpiresAt it returns ErrNotExpired; an order that is
// not pending is returned unchanged.
//
// ACQ.TRADE_NOT_EXIST means the buyer never opened the cashier: the order
// is closed locally (Alipay closes the signed URL itself at time_expire,
// which CreatePayment set to ExpiresAt). Any other refusal, typically
// ACQ.TRADE_STATUS_ERROR because the buyer has just paid, closes nothing:
// the order is reconciled by trade.query instead, which finds the payment.
// A call whose outcome is unknown changes nothing and returns the error,
// to be retried.
func (s *Service) Expire(ctx context.Context, orderID string) (*Order, error) {
	o, err := s.GetOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.Status != StatusPending {
		return o, nil
	}
	if now := s.now(); !o.ExpiresAt.IsZero() && now.Before(o.ExpiresAt) {
		return o, fmt.Errorf("payment: order %s expires at %s, not before: %w", o.ID, o.ExpiresAt, ErrNotExpired)
	}
	return s.close(ctx, o, SourceExpiry)
}

// CloseOrder closes the pending order now, at Alipay and locally, as
// Expire does but before its expiry: the merchant's cancel. An order that
// is not pending is returned unchanged.
func (s *Service) CloseOrder(ctx context.Context, orderID string) (*Order, error) {
	o, err := s.GetOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.Status != StatusPending {
		return o, nil
	}
	return s.close(ctx, o, SourceClose)
}

// close closes the pending order o at Alipay, then applies the answer.
func (s *Service) close(ctx context.Context, o *Order, source Source) (*Order, error) {
	log := s.orderLog(o).With("source", source)
	requested := OrderEvent{Kind: EventCloseRequested, Source: source, Reason: "alipay.trade.close"}
	if err := s.store.AppendEvents(ctx, o.ID, requested); err != nil {
		log.Error("payment: close: recording the request failed", "error", err)
		return o, fmt.Errorf("payment: close order %s: %w", o.ID, err)
	}
	resp, err := s.ali.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: o.OutTradeNo})
	answered := OrderEvent{Kind: EventCloseAnswered, Source: source, Verified: true}
	var fact Fact
	switch {
	case err == nil:
		fact = Fact{Source: source, TradeStatus: alipay.TradeStatusClosed, TradeNo: resp.TradeNo, At: s.now()}
		answered.Raw, _ = json.Marshal(resp)
		answered.Reason = "trade.close: closed at Alipay"
	case alipay.IsTradeNotExist(err):
		fact = Fact{Source: source, TradeNotExist: true, At: s.now()}
		answered.Raw = errorBody(err)
		answered.Reason = "trade.close: ACQ.TRADE_NOT_EXIST: the cashier was never opened; closed locally"
	case alipay.IsUnknown(err):
		log.Warn("payment: trade.close outcome unknown; nothing changed, retry", "error", err)
		return o, fmt.Errorf("payment: close order %s (out_trade_no %s): %w", o.ID, o.OutTradeNo, err)
	default:
		var ae *alipay.Error
		if !errors.As(err, &ae) {
			log.Warn("payment: trade.close failed; nothing changed", "error", err)
			return o, fmt.Errorf("payment: close order %s (out_trade_no %s): %w", o.ID, o.OutTradeNo, err)
		}
		// Refused: ACQ.TRADE_STATUS_ERROR (the buyer has just paid),
		// ACQ.TRADE_HAS_SUCCESS, ACQ.TRADE_HAS_CLOSE… Never take that as
		// closed: ask what the trade is.
		answered.Raw = ae.Body
		answered.Reason = safeText(fmt.Sprintf("trade.close refused (%s): asking trade.query", ae.SubCode))
		if err := s.store.AppendEvents(ctx, o.ID, answered); err != nil {
			log.Error("payment: close: recording the answer failed", "error", err)
		}
		log.Warn("payment: trade.close refused; the close raced a payment? reconciling by trade.query", "sub_code", ae.SubCode)
		return s.Reconcile(ctx, o.ID)
	}
	n, effect, err := s.ApplyTradeResult(ctx, o.ID, fact, answered)
	if err != nil {
		return n, err
	}
	log.Info("payment: order closed", "effect", effect, "status", n.Status)
	return n, nil
}
