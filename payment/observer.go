package payment

import (
	"context"
	"net/http"
)

// NotifyResult is what became of one request to NotifyHandler, as an
// [Observer] is told: a small fixed set, fit for a metric's label.
type NotifyResult string

// Notify results.
const (
	// NotifyApplied: verified and applied; the order changed.
	NotifyApplied NotifyResult = "applied"
	// NotifyDuplicate: verified and answered success, but nothing new (a
	// retry, a duplicate, an old status).
	NotifyDuplicate NotifyResult = "duplicate"
	// NotifyRejectedSignature: the signature did not verify.
	NotifyRejectedSignature NotifyResult = "rejected_signature"
	// NotifyQuarantined: signed by Alipay but not applicable (unknown
	// order, another seller, another amount…); kept in quarantine.
	NotifyQuarantined NotifyResult = "quarantined"
	// NotifyStoreError: the store failed; Alipay will deliver it again.
	NotifyStoreError NotifyResult = "store_error"
	// NotifyBadRequest: not a notify at all (wrong method, media type,
	// size, malformed form).
	NotifyBadRequest NotifyResult = "bad_request"
)

// Observer is told about what the Service does, for metrics. Its methods
// run in the caller's goroutine: keep them quick. Set it as
// Config.Observer; changes of orders go to Config.OnChange.
type Observer interface {
	// PaymentCreated is called after a new order was stored by
	// CreatePayment.
	PaymentCreated(ctx context.Context, o *Order)
	// NotifyHandled is called once per request to NotifyHandler, after
	// it was answered, with what became of it.
	NotifyHandled(ctx context.Context, result NotifyResult)
}

// observeCreated tells the Observer, if any, about a created order.
func (s *Service) observeCreated(ctx context.Context, o *Order) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.PaymentCreated(ctx, o.Clone())
	}
}

// observeNotify tells the Observer, if any, what became of a notify.
func (s *Service) observeNotify(ctx context.Context, out notifyOutcome) {
	if s.cfg.Observer == nil {
		return
	}
	var res NotifyResult
	switch {
	case out.status == 0 && out.effect == EffectNone:
		res = NotifyDuplicate
	case out.status == 0:
		res = NotifyApplied
	case out.unverified:
		res = NotifyRejectedSignature
	case out.quarantine && out.status < 500:
		res = NotifyQuarantined
	case out.status >= 500:
		res = NotifyStoreError
	case out.status == http.StatusUnprocessableEntity:
		res = NotifyQuarantined
	default:
		res = NotifyBadRequest
	}
	s.cfg.Observer.NotifyHandled(ctx, res)
}
