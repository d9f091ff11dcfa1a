package payment

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors of a [Store]. Stores wrap them with context; test with errors.Is.
var (
	// ErrNotFound: no order, refund or quarantined notify has that id.
	ErrNotFound = errors.New("payment: not found")
	// ErrDuplicate: a unique key is taken: an order's ID or OutTradeNo, a
	// refund's ID or its OutRequestNo within the order.
	ErrDuplicate = errors.New("payment: duplicate")
	// ErrConflict: a compare-and-set lost: the order's version moved since
	// it was read, a refund was already settled, a notify already replayed.
	// Read again and decide again.
	ErrConflict = errors.New("payment: conflict")
	// ErrRefundExceeds: the refund, with the order's other refunds that
	// have not failed, would give back more than was paid.
	ErrRefundExceeds = errors.New("payment: refunds would exceed the paid amount")
	// ErrInvalid: the input cannot be stored (a missing id, an amount out
	// of range, text that is not UTF-8…).
	ErrInvalid = errors.New("payment: invalid input")
)

// Store keeps orders, their event logs, refunds and quarantined notifies,
// and the admin sessions that were logged out.
// Implementations: [zhifu/payment/sqlitestore] and
// [zhifu/payment/postgresstore], both checked by [zhifu/payment/storetest].
//
// Every method is safe for concurrent use, takes the context first, and
// does all it does in one transaction: it happens entirely or not at all.
// Times are stored in UTC with microsecond precision and returned in UTC;
// amounts are stored as integer fen. Methods that return records return
// copies the caller owns.
type Store interface {
	// CreateOrder stores a new order with events appended to its log (an
	// EventCreated, typically). It checks o with ValidateNew, sets Status
	// to pending, Version to 1, and CreatedAt and UpdatedAt to the time of
	// storing when zero. An ID or OutTradeNo already stored, even by an
	// order long closed, is ErrDuplicate: an out_trade_no is never reused.
	CreateOrder(ctx context.Context, o *Order, events ...OrderEvent) error

	// GetOrder returns the order with the id, or ErrNotFound.
	GetOrder(ctx context.Context, id string) (*Order, error)

	// GetOrderByOutTradeNo returns the order with the out_trade_no, or
	// ErrNotFound.
	GetOrderByOutTradeNo(ctx context.Context, outTradeNo string) (*Order, error)

	// GetOrderByTradeNo returns the order whose Alipay trade_no is
	// tradeNo (the newest, should two ever share it), or ErrNotFound: what
	// a support person searches with, from the buyer's receipt.
	GetOrderByTradeNo(ctx context.Context, tradeNo string) (*Order, error)

	// ListOrders returns one page of the orders that match the filter,
	// newest first (by CreatedAt, then ID). Following Next from page to page
	// visits every matching order that existed at the first page exactly
	// once, whatever is created meanwhile.
	ListOrders(ctx context.Context, f OrderFilter) (OrderPage, error)

	// ListPendingOrders returns one page of the pending orders that match
	// the filter, oldest first (by CreatedAt, then ID): the work of the
	// reconciliation and expiry sweeps.
	ListPendingOrders(ctx context.Context, f PendingFilter) (OrderPage, error)

	// ApplyTransition stores t.Order as the order's new state if the
	// stored version still equals t.Order.Version (compare-and-set), and in
	// the same transaction appends t.Events and settles t.Refund. On
	// success it increments t.Order.Version and sets t.Order.UpdatedAt
	// (and t.Refund.UpdatedAt) to t.At, or the store's clock.
	// A moved version is ErrConflict, and then nothing is stored: no
	// event, no refund change. An unknown order is ErrNotFound.
	//
	// Only the fields that may change are written: Status, TradeNo,
	// BuyerID, PaidAmount, RefundedAmount, PaidAt, ClosedAt, Metadata and
	// Flags. The others are fixed at creation and ignored.
	ApplyTransition(ctx context.Context, t Transition) error

	// AppendEvents appends events to the order's log without changing the
	// order (a duplicate notify, a query that taught nothing). It fills in
	// each event's ID, OrderID, Seq and a zero CreatedAt in events.
	// An unknown order is ErrNotFound.
	AppendEvents(ctx context.Context, orderID string, events ...OrderEvent) error

	// ListEvents returns the order's events in Seq order; none for an
	// unknown order.
	ListEvents(ctx context.Context, orderID string) ([]OrderEvent, error)

	// ReserveRefund stores a new pending refund, before Alipay is called,
	// with events appended to the order's log. In one transaction it checks
	// that the order exists (ErrNotFound), that OutRequestNo is new for
	// the order and ID is new (ErrDuplicate), and that the amounts of the
	// order's refunds that have not failed, with r.Amount, do not exceed
	// its PaidAmount (ErrRefundExceeds) — so that concurrent reservations
	// can never promise more than was paid. It sets r.Status to pending
	// and r.CreatedAt and r.UpdatedAt to the time of storing when zero.
	ReserveRefund(ctx context.Context, r *Refund, events ...OrderEvent) error

	// SettleRefund stores r's Status, FundChange and SettledAt, with
	// events appended to the order's log, for a refund whose outcome does
	// not change the order (a failure, an unknown outcome). A refund that
	// is already final (succeeded or failed) is ErrConflict; an unknown one
	// ErrNotFound. It sets r.UpdatedAt to r.SettledAt, or the store's clock
	// when that is zero. A refund that succeeded changes the order too:
	// settle it with ApplyTransition.
	SettleRefund(ctx context.Context, r *Refund, events ...OrderEvent) error

	// GetRefund returns the refund with the id, or ErrNotFound.
	GetRefund(ctx context.Context, id string) (*Refund, error)

	// GetRefundByOutRequestNo returns the order's refund with the
	// out_request_no, or ErrNotFound.
	GetRefundByOutRequestNo(ctx context.Context, orderID, outRequestNo string) (*Refund, error)

	// ListRefunds returns the order's refunds, oldest first.
	ListRefunds(ctx context.Context, orderID string) ([]Refund, error)

	// ListUnsettledRefunds returns one page of the refunds, of all orders,
	// that are pending or unknown and were created before f.CreatedBefore,
	// oldest first (by CreatedAt, then ID): the work of the refund settling
	// job.
	ListUnsettledRefunds(ctx context.Context, f UnsettledFilter) (RefundPage, error)

	// QuarantineNotify stores a notify that was signed but not applied,
	// and sets q.ID, and q.CreatedAt when zero.
	QuarantineNotify(ctx context.Context, q *QuarantinedNotify) error

	// GetQuarantined returns the quarantined notify with the id, or
	// ErrNotFound.
	GetQuarantined(ctx context.Context, id int64) (*QuarantinedNotify, error)

	// ListQuarantined returns quarantined notifies in ID order, after
	// f.AfterID, up to f.Limit; replayed ones only if f.IncludeReplayed.
	ListQuarantined(ctx context.Context, f QuarantineFilter) ([]QuarantinedNotify, error)

	// MarkReplayed records that the quarantined notify was replayed and
	// applied at the time. A notify already marked is ErrConflict, an
	// unknown one ErrNotFound.
	MarkReplayed(ctx context.Context, id int64, at time.Time) error

	// AdminSessionStore records the logged-out sessions of the admin
	// pages, for every instance to refuse.
	AdminSessionStore

	// Close releases the store's resources. Calls after Close fail.
	Close() error
}

// Transition is one compare-and-set of an order, with what is stored
// together with it: see [Store.ApplyTransition].
type Transition struct {
	// Order is the order's new state, as [Next] returns it. Order.ID
	// names the order; Order.Version is the version it was read at.
	Order *Order
	// Events are appended to the order's log in the same transaction; the
	// store fills in their ID, OrderID, Seq and a zero CreatedAt.
	Events []OrderEvent
	// Refund, when not nil, is a refund of the order whose Status,
	// FundChange and SettledAt are stored in the same transaction, as by
	// SettleRefund (a final refund is ErrConflict, and nothing is stored).
	Refund *Refund
	// At is when the change happened, stored as the order's (and the
	// refund's) UpdatedAt; zero means the store's clock.
	At time.Time
}

// Limits of a page.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageSize returns the page size to use for a requested limit: limit
// itself, DefaultPageSize when it is zero or negative, at most MaxPageSize.
func PageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// OrderFilter selects orders for [Store.ListOrders]. Zero fields select
// everything.
type OrderFilter struct {
	// Statuses selects orders in any of these statuses.
	Statuses []Status
	// CreatedFrom and CreatedTo select orders created in
	// [CreatedFrom, CreatedTo).
	CreatedFrom, CreatedTo time.Time
	// Flags selects orders that have all of these flags (none: any).
	Flags Flags
	// Cursor continues from a previous page's Next.
	Cursor string
	// Limit is the page size (see PageSize).
	Limit int
}

// UnsettledFilter selects refunds for [Store.ListUnsettledRefunds].
type UnsettledFilter struct {
	// CreatedBefore selects refunds created before it (required).
	CreatedBefore time.Time
	// Cursor continues from a previous page's Next.
	Cursor string
	// Limit is the page size (see PageSize).
	Limit int
}

// RefundPage is one page of refunds.
type RefundPage struct {
	// Refunds are the page's refunds.
	Refunds []Refund
	// Next is the cursor of the next page, or "" when this is the last.
	Next string
}

// RefundPageOf returns the page of refunds a store read with limit+1
// rows, as [PageOf] does for orders; the cursor is of kind
// CursorUnsettled.
func RefundPageOf(refunds []Refund, limit int) RefundPage {
	if len(refunds) <= limit {
		return RefundPage{Refunds: refunds}
	}
	last := refunds[limit-1]
	return RefundPage{Refunds: refunds[:limit], Next: EncodeCursor(CursorUnsettled, last.CreatedAt, last.ID)}
}

// PendingFilter selects pending orders for [Store.ListPendingOrders].
// Zero fields select everything.
type PendingFilter struct {
	// CreatedBefore selects orders created before it.
	CreatedBefore time.Time
	// ExpiresBefore selects orders that have an ExpiresAt before it.
	ExpiresBefore time.Time
	// Cursor continues from a previous page's Next.
	Cursor string
	// Limit is the page size (see PageSize).
	Limit int
}

// OrderPage is one page of orders.
type OrderPage struct {
	// Orders are the page's orders.
	Orders []Order
	// Next is the cursor of the next page, or "" when this is the last.
	Next string
}

// QuarantineFilter selects quarantined notifies for
// [Store.ListQuarantined].
type QuarantineFilter struct {
	// IncludeReplayed includes the notifies already replayed.
	IncludeReplayed bool
	// AfterID continues after the entry with this id.
	AfterID int64
	// Limit is the page size (see PageSize).
	Limit int
}

// Validate checks that t can be applied: an order in a valid state,
// valid events, and a refund of that order in a valid state. Stores call
// it first. Errors wrap [ErrInvalid].
func (t *Transition) Validate() error {
	if t.Order == nil {
		return fmt.Errorf("%w: transition without an order", ErrInvalid)
	}
	if err := t.Order.ValidateState(); err != nil {
		return err
	}
	for i := range t.Events {
		if err := t.Events[i].Validate(); err != nil {
			return err
		}
	}
	if t.Refund != nil {
		if t.Refund.OrderID != t.Order.ID {
			return fmt.Errorf("%w: refund %s is of order %s, not %s", ErrInvalid, t.Refund.ID, t.Refund.OrderID, t.Order.ID)
		}
		return t.Refund.ValidateSettle()
	}
	return nil
}
