package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// ApplyTradeResult is the one path by which a fact about an order's trade
// changes the order: a verified notify, a query answer, a close answer, a
// refund answer. It reads the order, asks [Next] what the fact does, and:
//
//   - EffectTransitioned, EffectPaidAfterClose: stores the new state with
//     [Store.ApplyTransition], a compare-and-set, together with source
//     (the event that carried the fact, its Effect, From and To filled
//     in) and a state_changed event in one transaction. A lost
//     compare-and-set reads the order again and decides again (bounded).
//     After the commit it calls Config.OnChange and, for a payment of a
//     closed order, applies Config.PaidAfterClosePolicy.
//   - EffectNone (a duplicate or stale fact): appends source with that
//     effect, and changes nothing else. A notify whose notify_id the
//     order's log already holds is not appended again, so that Alipay's
//     retries and concurrent duplicates leave one event each.
//   - EffectRejected: appends source with the reason and returns the
//     error of Next (ErrAmountMismatch, ErrTradeNoMismatch,
//     ErrContradiction…).
//
// It returns the order as stored and the effect. source.Kind and
// source.Source are required; its Raw is the fact as received.
func (s *Service) ApplyTradeResult(ctx context.Context, orderID string, fact Fact, source OrderEvent) (*Order, Effect, error) {
	notifyID := ""
	if source.Kind == EventNotifyReceived {
		notifyID = notifyIDOf(source.Raw)
	}
	return s.apply(ctx, orderID, nil, source, notifyID, staticFact(fact))
}

// staticFact is the factBuilder of a fact that does not depend on the
// order.
func staticFact(f Fact) factBuilder {
	return func(context.Context, *Order) (Fact, *Refund, []OrderEvent, error) { return f, nil, nil, nil }
}

// factBuilder makes the fact to apply to the order o as just read, with
// the refund to settle in the same transaction and more events to store
// with it. It is called again after a lost compare-and-set.
type factBuilder func(ctx context.Context, o *Order) (Fact, *Refund, []OrderEvent, error)

// apply is ApplyTradeResult with a fact made from the order as read.
// When read is not nil it is the order as just read, used for the first
// attempt instead of reading it again (the compare-and-set checks it).
// notifyID is the notify_id of source.Raw when source is a notify
// (EventNotifyReceived), "" otherwise: the caller has it at hand, and
// parsing the body again for it would cost as much as the parse before
// the verification.
func (s *Service) apply(ctx context.Context, orderID string, read *Order, source OrderEvent, notifyID string, build factBuilder) (*Order, Effect, error) {
	if source.Kind == "" || source.Source == "" {
		return nil, EffectRejected, fmt.Errorf("%w: apply to order %s: the source event needs a kind and a source", ErrInvalid, orderID)
	}
	for attempt := 1; ; attempt++ {
		o, err := read, error(nil)
		if o == nil || attempt > 1 {
			o, err = s.store.GetOrder(ctx, orderID)
		}
		if err != nil {
			s.log.Error("payment: apply: reading the order failed", "out_trade_no", "", "order_id", orderID, "source", source.Source, "error", err)
			return nil, EffectRejected, fmt.Errorf("payment: apply %s to order %s: %w", source.Source, orderID, err)
		}
		// The logger of the rarer lines is made when one is written: a
		// With formats its attributes at once.
		log := func() *slog.Logger { return s.orderLog(o).With("source", source.Source) }
		fact, refund, extra, err := build(ctx, o)
		if err != nil {
			return o, EffectNone, err
		}
		n, effect, nextErr := Next(o, fact)
		ev := source
		ev.Effect = effect
		switch effect {
		case EffectRejected:
			ev.Reason = joinReason(source.Reason, nextErr.Error())
			if err := s.store.AppendEvents(ctx, o.ID, ev); err != nil {
				log().Error("payment: recording a rejected fact failed", "reason", nextErr, "error", err)
			}
			log().Warn("payment: fact rejected: it contradicts the order; the order is unchanged", "trade_status", fact.TradeStatus, "reason", nextErr)
			return o, effect, fmt.Errorf("payment: order %s (out_trade_no %s): %w", o.ID, o.OutTradeNo, nextErr)
		case EffectNone:
			if refund == nil {
				ev.Reason = joinReason(source.Reason, "duplicate or stale: the order already knows this")
				return o, effect, s.recordNone(ctx, log(), o, ev, notifyID)
			}
			// A refund settles with the order's version checked, even when
			// the order already knew the refunded total (from a notify).
		}
		events := make([]OrderEvent, 1, 3+len(extra)) // room for the state_changed and paid_after_close events
		events[0] = ev
		if effect != EffectNone {
			events[0].From, events[0].To = o.Status, n.Status
			events = append(events, OrderEvent{
				Kind: EventStateChanged, Source: source.Source, From: o.Status, To: n.Status,
				Effect: effect, RefundID: source.RefundID,
				Reason: stateReason(o, n),
			})
		}
		if effect == EffectPaidAfterClose {
			events = append(events, OrderEvent{
				Kind: EventPaidAfterClose, Source: source.Source, From: o.Status, To: n.Status, Effect: effect,
				Reason: fmt.Sprintf("a payment of %s arrived for the closed order; policy %s", n.PaidAmount, s.cfg.PaidAfterClosePolicy),
			})
		}
		events = append(events, extra...)
		t := Transition{Order: n, Events: events, Refund: refund, At: s.now()}
		err = s.store.ApplyTransition(ctx, t)
		if errors.Is(err, ErrConflict) && attempt < maxApplyAttempts {
			log().Debug("payment: apply: the order moved meanwhile; deciding again", "attempt", attempt)
			continue
		}
		if err != nil {
			log().Error("payment: apply: storing the transition failed; nothing changed", "from", o.Status, "to", n.Status, "error", err)
			return o, EffectRejected, fmt.Errorf("payment: apply %s to order %s (out_trade_no %s): %w", source.Source, o.ID, o.OutTradeNo, err)
		}
		if effect == EffectNone {
			return n, effect, nil
		}
		s.logOrder(ctx, slog.LevelInfo, o, "payment: order changed", slog.Any("source", source.Source),
			slog.Any("from", o.Status), slog.Any("to", n.Status), slog.Any("effect", effect), slog.String("flags", n.Flags.String()),
			slog.String("paid", n.PaidAmount.String()), slog.String("refunded", n.RefundedAmount.String()))
		if s.cfg.OnChange != nil {
			s.cfg.OnChange(ctx, Change{Order: n.Clone(), Effect: effect, Events: events})
		}
		if effect == EffectPaidAfterClose {
			s.paidAfterClose(ctx, log(), n)
		}
		return n, effect, nil
	}
}

// recordNone appends ev, a fact that changed nothing, to o's log — unless
// it is a notify whose notify_id the log already holds (a retry or a
// concurrent duplicate of a notify already recorded).
func (s *Service) recordNone(ctx context.Context, log *slog.Logger, o *Order, ev OrderEvent, notifyID string) error {
	if notifyID != "" {
		events, err := s.store.ListEvents(ctx, o.ID)
		if err != nil {
			log.Error("payment: reading the order's log failed", "error", err)
			return fmt.Errorf("payment: order %s: %w", o.ID, err)
		}
		for _, e := range events {
			if e.Kind == EventNotifyReceived && notifyIDOf(e.Raw) == notifyID {
				log.Info("payment: duplicate notify, already recorded; nothing to do", "notify_id", notifyID, "status", o.Status)
				return nil
			}
		}
	}
	if err := s.store.AppendEvents(ctx, o.ID, ev); err != nil {
		log.Error("payment: recording a fact that changed nothing failed", "error", err)
		return fmt.Errorf("payment: order %s: %w", o.ID, err)
	}
	log.Info("payment: fact changed nothing (duplicate or stale)", "kind", ev.Kind, "status", o.Status, "notify_id", notifyID)
	return nil
}

// paidAfterClose applies the policy to n, an order just paid after its
// close. The payment is already stored, flagged; this raises it in the
// logs and, with PaidAfterCloseAutoRefund, refunds it.
func (s *Service) paidAfterClose(ctx context.Context, log *slog.Logger, n *Order) {
	log.Error("payment: PAID AFTER CLOSE: a payment arrived for an order already closed; the order is paid and flagged",
		"amount", n.PaidAmount.String(), "trade_no", n.TradeNo, "policy", s.cfg.PaidAfterClosePolicy)
	if s.cfg.PaidAfterClosePolicy == PaidAfterCloseAutoRefund {
		s.autoRefund(ctx, log, n) // a failure is logged; the sweep's job starts it again
	}
}

// refundPaidAfterClose starts the automatic refund of o when the policy
// refunds payments after close, o is one that is not refunded, and its
// refund (out_request_no AutoRefundOutRequestNo) was never started; it
// reports whether it started it. A refund already started is left to its
// own settling, and one that Alipay refused to a person: the order stays
// flagged.
func (s *Service) refundPaidAfterClose(ctx context.Context, o *Order) (bool, error) {
	if !s.needsAutoRefund(o) {
		return false, nil
	}
	_, err := s.store.GetRefundByOutRequestNo(ctx, o.ID, AutoRefundOutRequestNo)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, ErrNotFound):
		return false, fmt.Errorf("payment: looking for the automatic refund of order %s: %w", o.ID, err)
	}
	if err := s.autoRefund(ctx, s.orderLog(o), o); err != nil && !errors.Is(err, ErrRefundRefused) {
		return true, err
	}
	return true, nil
}

// autoRefund refunds in full the order n, paid after its close, under the
// constant out_request_no AutoRefundOutRequestNo: started twice it
// refunds once. It runs apart from the caller's context's cancellation,
// so that a notify whose sender hung up does not leave it half done.
func (s *Service) autoRefund(ctx context.Context, log *slog.Logger, n *Order) error {
	amount := n.PaidAmount - n.RefundedAmount
	if amount <= 0 || n.Flags.Has(FlagFinished) {
		return nil
	}
	r, err := s.Refund(context.WithoutCancel(ctx), RefundRequest{
		OrderID:      n.ID,
		Amount:       amount,
		Reason:       "paid after the order was closed: refunded automatically",
		OutRequestNo: AutoRefundOutRequestNo,
	})
	if err != nil {
		log.Error("payment: the automatic refund of a payment after close failed", "error", err)
		return err
	}
	log.Warn("payment: payment after close refunded automatically", "refund_id", r.ID, "refund_status", r.Status)
	return nil
}

// needsAutoRefund reports whether o is a payment after close that the
// policy refunds and that is not refunded yet.
func (s *Service) needsAutoRefund(o *Order) bool {
	return s.cfg.PaidAfterClosePolicy == PaidAfterCloseAutoRefund && o.Flags.Has(FlagPaidAfterClose) &&
		!o.Flags.Has(FlagFinished) && o.Status.Paid() && o.RefundedAmount < o.PaidAmount
}

// stateReason describes the change from o to n in words.
func stateReason(o, n *Order) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s", o.Status, n.Status)
	if n.PaidAmount != o.PaidAmount {
		fmt.Fprintf(&b, ", paid %s", n.PaidAmount)
	}
	if n.RefundedAmount != o.RefundedAmount {
		fmt.Fprintf(&b, ", refunded %s in all", n.RefundedAmount)
	}
	if added := n.Flags &^ o.Flags; added != 0 {
		fmt.Fprintf(&b, ", flags +%s", added)
	}
	return b.String()
}

// joinReason joins two parts of a reason, as text every store can hold.
func joinReason(a, b string) string {
	switch {
	case a == "":
		return safeText(b)
	case b == "":
		return safeText(a)
	}
	return safeText(a + ": " + b)
}

// safeText returns s as text every store can hold: valid UTF-8 without
// NUL. Reasons quote what was received, which may be neither.
func safeText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", "\\0")
}

// notifyIDOf returns the notify_id of a notify's raw form body, or "".
func notifyIDOf(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return ""
	}
	return form.Get("notify_id")
}
