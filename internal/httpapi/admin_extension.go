package httpapi

import (
	"context"
	"time"

	"zhifu/alipay"
)

// AdminWebhookLister lists the webhook events of an order with their
// deliveries, for its page on the admin pages (AdminConfig.Webhooks), and
// resends an event when the operator asks. The webhook sender implements
// it.
type AdminWebhookLister interface {
	// ListWebhookEvents returns the order's webhook events, in the order
	// of its changes, each with its delivery attempts oldest first; none
	// for an order without any. An event not attempted yet (its first
	// delivery still queued, or lost and recorded again by the sweep) is
	// listed too, with no attempts: every event can be resent.
	ListWebhookEvents(ctx context.Context, orderID string) ([]AdminWebhookEvent, error)
	// ResendWebhook delivers the event again now, whatever its status,
	// and returns the attempt, recorded as manual (its EventType may be
	// left empty: the pages know it). An attempt that was
	// not answered 2xx is no error: its Delivered, StatusCode and Error
	// say so. The error is for an attempt that could not be made or
	// recorded; an unknown event wraps payment.ErrNotFound.
	ResendWebhook(ctx context.Context, eventID string) (AdminWebhookAttempt, error)
}

// AdminWebhookEvent is one webhook event of an order, with its delivery
// attempts.
type AdminWebhookEvent struct {
	// EventID is the event's stable id.
	EventID string
	// EventType is what the event says happened, such as "payment.paid".
	EventType string
	// Attempts are the event's delivery attempts, oldest first; none
	// before the first.
	Attempts []AdminWebhookAttempt
}

// AdminWebhookAttempt is one attempt to deliver a webhook event to the
// merchant's URL, as the timeline shows it. It holds no secret: neither
// the signing secret nor the signature header.
type AdminWebhookAttempt struct {
	// EventID is the webhook event's stable id, the same for each
	// attempt of one event.
	EventID string
	// EventType is what the event says happened, such as "payment.paid".
	EventType string
	// Attempt numbers the attempts of the event from 1.
	Attempt int
	// Manual reports an attempt the operator asked for (a resend) rather
	// than an automatic one.
	Manual bool
	// At is when the attempt was made.
	At time.Time
	// StatusCode is the merchant's HTTP answer, or 0 when none came.
	StatusCode int
	// Delivered reports whether the attempt counted as delivered (a 2xx
	// answer).
	Delivered bool
	// Error says why the attempt failed (a timeout, a refused
	// connection, the answer's status), or "" for none.
	Error string
	// NextAttemptAt is when the event will be tried again, or zero for
	// never (delivered, or given up).
	NextAttemptAt time.Time
}

// AdminBillLister lists the differences that reconciliation found between
// Alipay's trade bills and the orders and refunds in the database, for
// the admin pages' bill page (AdminConfig.Bills). The reconciler
// implements it; the pages only read.
type AdminBillLister interface {
	// ListBillDifferences returns at most limit differences, newest bill
	// date first.
	ListBillDifferences(ctx context.Context, limit int) ([]AdminBillDifference, error)
}

// AdminBillDifference is one line on which Alipay's bill and the
// database disagree.
type AdminBillDifference struct {
	// BillDate is the day of the bill, in Beijing time (its year, month
	// and day; the clock is ignored).
	BillDate time.Time
	// Kind says what differs, in a word the page shows as it is, such as
	// "missing_local" (on the bill only), "missing_alipay" (in the
	// database only), "amount" or "status".
	Kind string
	// OutTradeNo and TradeNo name the trade, as far as known.
	OutTradeNo, TradeNo string
	// OrderID is the order in the database, or "" when there is none;
	// the page links to it.
	OrderID string
	// OutRequestNo names the refund when the line is a refund's.
	OutRequestNo string
	// LocalAmount and BillAmount are the amounts on each side, zero when
	// that side has none.
	LocalAmount, BillAmount alipay.Amount
	// Detail explains the difference in words.
	Detail string
	// FoundAt is when the reconciliation found it.
	FoundAt time.Time
}
