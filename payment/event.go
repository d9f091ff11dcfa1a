package payment

import (
	"errors"
	"fmt"
	"time"
)

// EventKind says what an [OrderEvent] records.
type EventKind string

// Event kinds. Every notify received, every query, every state change and
// every refund step of an order is one event; together they are the audit
// trail a support person reads.
const (
	EventCreated         EventKind = "created"          // the order was created
	EventNotifyReceived  EventKind = "notify_received"  // a verified notify for this order, applied or not (see Effect)
	EventNotifyRejected  EventKind = "notify_rejected"  // a notify for this order that failed a check (see Reason)
	EventReturnReceived  EventKind = "return_received"  // the buyer came back through return_url
	EventQuery           EventKind = "query"            // alipay.trade.query was asked, and what it answered
	EventCloseRequested  EventKind = "close_requested"  // alipay.trade.close was called
	EventCloseAnswered   EventKind = "close_answered"   // what alipay.trade.close answered
	EventStateChanged    EventKind = "state_changed"    // the order moved (From → To)
	EventPaidAfterClose  EventKind = "paid_after_close" // a payment arrived for a closed order, and the policy applied
	EventRefundRequested EventKind = "refund_requested" // a refund was reserved, before calling Alipay
	EventRefundAnswered  EventKind = "refund_answered"  // what alipay.trade.refund or the refund query answered
	EventRefundSettled   EventKind = "refund_settled"   // a refund reached a final or unknown state
	EventNote            EventKind = "note"             // a remark by an operator or a job
)

// Source says where a fact or an event came from.
type Source string

// Sources.
const (
	SourceNotify      Source = "notify"       // an async notify from Alipay
	SourceReturn      Source = "return"       // a sync return through the buyer's browser
	SourceQuery       Source = "query"        // an answer of alipay.trade.query
	SourceClose       Source = "close"        // an answer of alipay.trade.close
	SourceExpiry      Source = "expiry"       // the expiry job, closing an order past ExpiresAt
	SourceRefund      Source = "refund"       // an answer of alipay.trade.refund
	SourceRefundQuery Source = "refund_query" // an answer of alipay.trade.fastpay.refund.query
	SourceMerchant    Source = "merchant"     // the merchant's own systems (the API, an operator)
)

// OrderEvent is one entry of an order's append-only event log. Events are
// never changed or deleted.
type OrderEvent struct {
	// ID is the event's id, unique in the store, assigned when stored.
	ID int64
	// OrderID is the order the event belongs to, set by the store from the
	// method's argument.
	OrderID string
	// Seq numbers the order's events 1, 2, 3… in the order they were
	// stored, without gaps; assigned when stored.
	Seq int64
	// Kind says what happened.
	Kind EventKind
	// Source says where it came from.
	Source Source
	// Raw is what was received, exactly as received: the form body of a
	// notify, the raw JSON of a response. It may be empty.
	Raw []byte
	// Verified reports whether Raw passed signature verification.
	Verified bool
	// From and To are the order's status before and after the event, for
	// events that changed it (From == To, or both empty, otherwise).
	From, To Status
	// Effect is what the event did to the order, an Effect of [Next].
	Effect Effect
	// RefundID names the refund the event is about, if any.
	RefundID string
	// Reason explains the event in words: why a notify was rejected, what a
	// query said, who closed the order.
	Reason string
	// CreatedAt is when the event happened; the store sets it to the time
	// of storing when zero.
	CreatedAt time.Time
}

// Validate checks that e can be appended: a kind, and texts that every
// store can hold (valid UTF-8 without NUL). Errors wrap [ErrInvalid].
func (e *OrderEvent) Validate() error {
	var err error
	switch {
	case e.Kind == "":
		err = errors.New("no kind")
	case e.From != "" && !e.From.Valid() || e.To != "" && !e.To.Valid():
		err = fmt.Errorf("unknown status %q → %q", e.From, e.To)
	default:
		for _, s := range []string{string(e.Kind), string(e.Source), string(e.Effect), e.RefundID, e.Reason} {
			if err = checkText(s); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: event: %w", ErrInvalid, err)
	}
	return nil
}
