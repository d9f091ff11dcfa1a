package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WebhookEventType says what a webhook event tells the merchant: the
// status an order moved to.
type WebhookEventType string

// Webhook event types, one per status an order can move to. They are part
// of the merchant's contract: never rename one.
const (
	// WebhookEventPaid: the order was paid (also a payment that arrived
	// after the order was closed: its flags then say paid_after_close).
	WebhookEventPaid WebhookEventType = "payment.paid"
	// WebhookEventClosed: the order was closed without a payment.
	WebhookEventClosed WebhookEventType = "payment.closed"
	// WebhookEventPartiallyRefunded: part of the payment went back.
	WebhookEventPartiallyRefunded WebhookEventType = "payment.partially_refunded"
	// WebhookEventRefunded: all of the payment went back.
	WebhookEventRefunded WebhookEventType = "payment.refunded"
	// WebhookEventUpdated: the order changed without changing status (a
	// second partial refund, Alipay's TRADE_FINISHED).
	WebhookEventUpdated WebhookEventType = "payment.updated"
)

// webhookEventType returns the type of the event of a change from → to.
func webhookEventType(from, to Status) WebhookEventType {
	if from == to {
		return WebhookEventUpdated
	}
	switch to {
	case StatusPaid:
		return WebhookEventPaid
	case StatusClosed:
		return WebhookEventClosed
	case StatusPartiallyRefunded:
		return WebhookEventPartiallyRefunded
	case StatusRefunded:
		return WebhookEventRefunded
	}
	return WebhookEventUpdated
}

// WebhookStatus is where the delivery of a webhook event stands.
type WebhookStatus string

// Webhook delivery statuses.
const (
	// WebhookStatusPending: recorded, not attempted yet.
	WebhookStatusPending WebhookStatus = "pending"
	// WebhookStatusRetrying: the last attempt failed; another is scheduled.
	WebhookStatusRetrying WebhookStatus = "retrying"
	// WebhookStatusDelivered: an attempt was answered 2xx.
	WebhookStatusDelivered WebhookStatus = "delivered"
	// WebhookStatusFailed: every attempt failed, up to
	// WebhooksConfig.MaxAttempts: given up (Resend can still deliver it).
	WebhookStatusFailed WebhookStatus = "failed"
)

// Valid reports whether s is one of the statuses.
func (s WebhookStatus) Valid() bool {
	switch s {
	case WebhookStatusPending, WebhookStatusRetrying, WebhookStatusDelivered, WebhookStatusFailed:
		return true
	}
	return false
}

// WebhookEvent is one event for the merchant's webhook endpoint: one
// committed state change of an order, with the exact body that every
// attempt sends.
type WebhookEvent struct {
	// ID is the event's stable id, derived from the order and the change
	// (see WebhookEventID): the receiver deduplicates by it.
	ID string
	// OrderID and OutTradeNo name the order.
	OrderID, OutTradeNo string
	// Seq is the Seq of the order's state_changed event this event tells.
	Seq int64
	// Type says what changed.
	Type WebhookEventType
	// Payload is the JSON body sent, the same at every attempt.
	Payload []byte
	// Status is where the delivery stands; the store sets it to pending
	// when the event is recorded.
	Status WebhookStatus
	// Attempts counts the attempts made, automatic and manual.
	Attempts int
	// CreatedAt is when the event was recorded (store's clock when zero).
	CreatedAt time.Time
	// LastAttemptAt is when the latest attempt was made, or zero.
	LastAttemptAt time.Time
	// DeliveredAt is when an attempt was first answered 2xx, or zero.
	DeliveredAt time.Time
}

// WebhookAttempt is one POST of a webhook event to the merchant's URL.
type WebhookAttempt struct {
	// ID is the attempt's id, unique in the store, assigned when stored.
	ID int64
	// EventID is the event attempted.
	EventID string
	// Number counts the event's attempts from 1, assigned when stored.
	Number int
	// Manual reports an attempt made by Resend rather than by the job.
	Manual bool
	// At is when the attempt started.
	At time.Time
	// Duration is how long it took, to the answer or the error.
	Duration time.Duration
	// StatusCode is the HTTP status of the answer, 0 when there was none.
	StatusCode int
	// Response is the beginning of the answer's body, as valid text.
	Response string
	// Error says why the attempt failed when no answer came (a timeout, a
	// refused connection) or the answer was not 2xx; "" when delivered.
	Error string
	// Result is the event's status after the attempt, stored as the
	// event's Status: delivered, retrying or failed (given up) — or, for a
	// manual attempt that failed, the status the event had.
	Result WebhookStatus
}

// Validate checks that e can be recorded: an id, an order, a positive
// Seq, a type and a JSON payload. Errors wrap [ErrInvalid].
func (e *WebhookEvent) Validate() error {
	var err error
	switch {
	case e.ID == "" || e.OrderID == "":
		err = errors.New("no id or no order id")
	case e.Seq <= 0:
		err = fmt.Errorf("seq %d is not positive", e.Seq)
	case e.Type == "":
		err = errors.New("no type")
	case !json.Valid(e.Payload):
		err = errors.New("payload is not JSON")
	default:
		for _, s := range []string{e.ID, e.OrderID, e.OutTradeNo, string(e.Type)} {
			if err = checkText(s); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: webhook event %q: %w", ErrInvalid, e.ID, err)
	}
	return nil
}

// Validate checks that a can be recorded: an event, a result status and
// texts every store can hold. Errors wrap [ErrInvalid].
func (a *WebhookAttempt) Validate() error {
	var err error
	switch {
	case a.EventID == "":
		err = errors.New("no event id")
	case a.Result != WebhookStatusDelivered && a.Result != WebhookStatusRetrying && a.Result != WebhookStatusFailed &&
		!(a.Manual && a.Result == WebhookStatusPending):
		err = fmt.Errorf("result %q is not delivered, retrying or failed", a.Result)
	case a.Duration < 0:
		err = fmt.Errorf("negative duration %v", a.Duration)
	default:
		for _, s := range []string{a.EventID, a.Response, a.Error} {
			if err = checkText(s); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: webhook attempt of %q: %w", ErrInvalid, a.EventID, err)
	}
	return nil
}

// WebhookStore keeps webhook events and their delivery attempts. Both
// stores implement it besides [Store], and [zhifu/payment/storetest]
// checks them. Every method is one transaction; times are stored in UTC
// at microsecond precision.
type WebhookStore interface {
	// GetOrder returns the order with the id, or ErrNotFound (as
	// Store.GetOrder): the sweep reads the order of a change it records.
	GetOrder(ctx context.Context, id string) (*Order, error)

	// RecordWebhookEvent stores e with status pending and no attempts,
	// unless an event with its ID (or of its OrderID and Seq) is already
	// stored: then it stores nothing and returns false. It sets
	// e.CreatedAt to the time of storing when zero. An unknown order is
	// ErrNotFound.
	RecordWebhookEvent(ctx context.Context, e *WebhookEvent) (created bool, err error)

	// GetWebhookEvent returns the event with the id, or ErrNotFound.
	GetWebhookEvent(ctx context.Context, id string) (*WebhookEvent, error)

	// ListWebhookEvents returns the order's events in Seq order; none for
	// an unknown order.
	ListWebhookEvents(ctx context.Context, orderID string) ([]WebhookEvent, error)

	// ListUndeliveredWebhookEvents returns up to limit events, of all
	// orders, that are pending or retrying and were recorded at or after
	// since, oldest first: the events whose delivery job the sweep offers
	// again.
	ListUndeliveredWebhookEvents(ctx context.Context, since time.Time, limit int) ([]WebhookEvent, error)

	// RecordWebhookAttempt stores the attempt a, setting its ID and
	// Number (the event's attempts so far, plus one), and in the same
	// transaction sets the event's Status to a.Result — except that a
	// delivered event stays delivered, whatever a later attempt (a resend,
	// or a job that raced it) reports, so that it is never offered for
	// delivery again —, its Attempts to a.Number, its LastAttemptAt to a.At
	// and, for the first delivered attempt, its DeliveredAt. An unknown
	// event is ErrNotFound.
	RecordWebhookAttempt(ctx context.Context, a *WebhookAttempt) error

	// ListWebhookAttempts returns the event's attempts in Number order.
	ListWebhookAttempts(ctx context.Context, eventID string) ([]WebhookAttempt, error)

	// ListStateChangesWithoutWebhook returns up to limit state_changed
	// events, of all orders, created at or after since, for which no
	// webhook event of the same order and Seq is stored, oldest first:
	// the changes whose webhook a crash lost before it was recorded.
	ListStateChangesWithoutWebhook(ctx context.Context, since time.Time, limit int) ([]OrderEvent, error)
}

// WebhookEventID returns the id of the webhook event of the order's
// state_changed event seq: "evt_", the order id without its "ord_"
// prefix, "_" and seq. It is derived, not random, so that recording the
// same change twice (twice called, two instances, the sweep) stores one
// event and the receiver sees one id.
func WebhookEventID(orderID string, seq int64) string {
	return fmt.Sprintf("evt_%s_%d", strings.TrimPrefix(orderID, "ord_"), seq)
}

// webhookTimeLayout is how the payload writes times: RFC 3339 in UTC
// with microseconds, as the stores keep them.
const webhookTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// webhookTime is a time in a webhook payload, null when zero.
type webhookTime time.Time

// MarshalJSON writes the time in webhookTimeLayout, or null.
func (t webhookTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format(webhookTimeLayout) + `"`), nil
}

// webhookBody is the JSON body of a webhook event.
type webhookBody struct {
	ID             string           `json:"id"`
	Type           WebhookEventType `json:"type"`
	CreatedAt      webhookTime      `json:"created_at"`
	PreviousStatus Status           `json:"previous_status"`
	Data           webhookPayment   `json:"data"`
}

// webhookPayment is the order's snapshot in a webhook body. Amounts are
// yuan strings ("12.34"), as in Alipay's API and zhifu's JSON API.
type webhookPayment struct {
	ID             string            `json:"id"`
	OutTradeNo     string            `json:"out_trade_no"`
	Status         Status            `json:"status"`
	Subject        string            `json:"subject"`
	Channel        Channel           `json:"channel"`
	Amount         string            `json:"amount"`
	PaidAmount     string            `json:"paid_amount"`
	RefundedAmount string            `json:"refunded_amount"`
	TradeNo        string            `json:"trade_no"`
	Flags          []string          `json:"flags"`
	Metadata       map[string]string `json:"metadata"`
	CreatedAt      webhookTime       `json:"created_at"`
	UpdatedAt      webhookTime       `json:"updated_at"`
	PaidAt         webhookTime       `json:"paid_at"`
	ClosedAt       webhookTime       `json:"closed_at"`
	ExpiresAt      webhookTime       `json:"expires_at"`
}

// newWebhookEvent returns the webhook event of change, the order's
// state_changed event, with o the order's snapshot to send.
func newWebhookEvent(change OrderEvent, o *Order) (*WebhookEvent, error) {
	id := WebhookEventID(o.ID, change.Seq)
	typ := webhookEventType(change.From, change.To)
	body, err := json.Marshal(webhookBody{
		ID: id, Type: typ, CreatedAt: webhookTime(change.CreatedAt), PreviousStatus: change.From,
		Data: webhookPayment{
			ID: o.ID, OutTradeNo: o.OutTradeNo, Status: o.Status, Subject: o.Subject, Channel: o.Channel,
			Amount: o.Amount.String(), PaidAmount: o.PaidAmount.String(), RefundedAmount: o.RefundedAmount.String(),
			TradeNo: o.TradeNo, Flags: o.Flags.Names(), Metadata: o.PublicMetadata(),
			CreatedAt: webhookTime(o.CreatedAt), UpdatedAt: webhookTime(o.UpdatedAt),
			PaidAt: webhookTime(o.PaidAt), ClosedAt: webhookTime(o.ClosedAt), ExpiresAt: webhookTime(o.ExpiresAt),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("payment: webhook event %s: %w", id, err)
	}
	return &WebhookEvent{ID: id, OrderID: o.ID, OutTradeNo: o.OutTradeNo, Seq: change.Seq, Type: typ, Payload: body}, nil
}
