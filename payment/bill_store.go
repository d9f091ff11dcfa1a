package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zhifu/alipay"
)

// BillStore is a [Store] that also keeps the reconciliations of Alipay's
// daily trade bills ([BillReconciler]). Both stores implement it, checked
// by [zhifu/payment/storetest.RunBills].
//
// One run is kept per bill date: saving the run of a date replaces the
// previous run of that date and all its differences, in one transaction,
// so that reconciling a day again is idempotent and the admin pages show
// the latest truth of each day. The history of earlier attempts is in the
// logs, not in the database.
type BillStore interface {
	Store

	// ListPaidOrders returns one page of the orders paid (PaidAt) in
	// [f.PaidFrom, f.PaidTo), whatever their status now, oldest payment
	// first (by PaidAt, then ID).
	ListPaidOrders(ctx context.Context, f PaidOrderFilter) (OrderPage, error)

	// ListSettledRefunds returns one page of the refunds that succeeded
	// with a SettledAt in [f.SettledFrom, f.SettledTo), oldest first (by
	// SettledAt, then ID), each with its order's out_trade_no and
	// trade_no.
	ListSettledRefunds(ctx context.Context, f SettledRefundFilter) (SettledRefundPage, error)

	// SaveBillRun stores run and its Details (numbered from 1 in their
	// order), replacing any run of the same Date and its differences in
	// one transaction. It checks run with Validate (ErrInvalid), stores
	// the counts of Differences as given, and sets each detail's Date and
	// Seq, and StartedAt and FinishedAt to the store's clock when zero.
	SaveBillRun(ctx context.Context, run *BillRun) error

	// GetBillRun returns the run of the date, without its Details, or
	// ErrNotFound.
	GetBillRun(ctx context.Context, date BillDate) (*BillRun, error)

	// ListBillRuns returns runs without their Details, latest date first,
	// of dates before f.Before (all when zero), at most PageSize(f.Limit).
	ListBillRuns(ctx context.Context, f BillRunFilter) ([]BillRun, error)

	// ListBillDifferences returns the differences of the run of f.Date in
	// Seq order, after f.AfterSeq, of kind f.Kind (all when empty), at most
	// PageSize(f.Limit). An unknown date has none.
	ListBillDifferences(ctx context.Context, f BillDifferenceFilter) ([]BillDifference, error)
}

// Cursor kinds of the bill listings.
const (
	CursorPaid    CursorKind = "b" // BillStore.ListPaidOrders: by PaidAt
	CursorSettled CursorKind = "r" // BillStore.ListSettledRefunds: by SettledAt
)

// PaidOrderFilter selects orders for [BillStore.ListPaidOrders].
type PaidOrderFilter struct {
	// PaidFrom and PaidTo select the orders paid in [PaidFrom, PaidTo).
	PaidFrom, PaidTo time.Time
	// Cursor continues from a previous page's Next.
	Cursor string
	// Limit is the page size (see PageSize).
	Limit int
}

// SettledRefundFilter selects refunds for [BillStore.ListSettledRefunds].
type SettledRefundFilter struct {
	// SettledFrom and SettledTo select the refunds that succeeded in
	// [SettledFrom, SettledTo).
	SettledFrom, SettledTo time.Time
	// Cursor continues from a previous page's Next.
	Cursor string
	// Limit is the page size (see PageSize).
	Limit int
}

// SettledRefund is a refund with the Alipay numbers of its order, as a
// bill line names it.
type SettledRefund struct {
	Refund
	// OutTradeNo and TradeNo are the refunded order's.
	OutTradeNo, TradeNo string
}

// SettledRefundPage is one page of [BillStore.ListSettledRefunds].
type SettledRefundPage struct {
	// Refunds are the page's refunds.
	Refunds []SettledRefund
	// Next is the cursor of the next page, or "" when this is the last.
	Next string
}

// SettledPageOf returns the page of settled refunds a store read with
// limit+1 rows, with a CursorSettled cursor.
func SettledPageOf(refunds []SettledRefund, limit int) SettledRefundPage {
	if len(refunds) <= limit {
		return SettledRefundPage{Refunds: refunds}
	}
	last := refunds[limit-1]
	return SettledRefundPage{Refunds: refunds[:limit], Next: EncodeCursor(CursorSettled, last.SettledAt, last.ID)}
}

// BillRunStatus is the outcome of a reconciliation.
type BillRunStatus string

// Outcomes of a reconciliation.
const (
	// BillRunMatched: the bill and the database agree on every line.
	BillRunMatched BillRunStatus = "matched"
	// BillRunDifferences: at least one difference was found.
	BillRunDifferences BillRunStatus = "differences"
)

// BillDiffKind is the kind of a difference between a bill and the
// database.
type BillDiffKind string

// Kinds of differences.
const (
	// BillDiffMissingInDB: the bill has a payment or refund that the
	// database does not have at all (an unknown out_trade_no, or a
	// refund's out_request_no unknown for its order).
	BillDiffMissingInDB BillDiffKind = "missing_in_db"
	// BillDiffMissingInBill: the database has an order paid, or a refund
	// succeeded, on the day, and the bill does not.
	BillDiffMissingInBill BillDiffKind = "missing_in_bill"
	// BillDiffAmount: both have it, for different amounts.
	BillDiffAmount BillDiffKind = "amount_differs"
	// BillDiffStatus: the bill has a payment of an order the database
	// does not hold paid (pending, closed), or a refund the database does
	// not hold succeeded.
	BillDiffStatus BillDiffKind = "status_differs"
	// BillDiffTradeNo: both have the payment, under different trade_no.
	BillDiffTradeNo BillDiffKind = "trade_no_differs"
)

// BillDiffKinds returns every kind of difference, in a fixed order (for
// metrics and pages that show a count of each).
func BillDiffKinds() []BillDiffKind {
	return []BillDiffKind{BillDiffMissingInDB, BillDiffMissingInBill, BillDiffAmount, BillDiffStatus, BillDiffTradeNo}
}

// BillDifference is one difference found by a reconciliation.
type BillDifference struct {
	// Date is the bill date of the run.
	Date BillDate
	// Seq numbers the run's differences from 1.
	Seq int
	// Kind says what differs.
	Kind BillDiffKind
	// LineKind says whether it is about a payment or a refund.
	LineKind BillLineKind
	// OutTradeNo, TradeNo and OutRequestNo (refunds) identify the trade,
	// from the bill when it has the line, from the database otherwise.
	OutTradeNo, TradeNo, OutRequestNo string
	// OrderID and RefundID are the database's ids, when it has them.
	OrderID, RefundID string
	// BillAmount is the bill's amount (positive for a refund too), zero
	// when the bill lacks the line.
	BillAmount alipay.Amount
	// DBAmount is the database's amount (the paid amount, the refund's
	// amount), zero when it lacks the record.
	DBAmount alipay.Amount
	// DBStatus is the database's status of the order or refund, or "".
	DBStatus string
	// BillLine is the line number in the bill's detail file, or 0.
	BillLine int
	// Detail says what differs, in a sentence for people.
	Detail string
	// FoundAt is when the run that found it finished (its FinishedAt).
	FoundAt time.Time
}

// BillRun is the result of reconciling one day's trade bill.
type BillRun struct {
	// Date is the bill's day.
	Date BillDate
	// Status is BillRunMatched or BillRunDifferences.
	Status BillRunStatus
	// BillPayments and BillRefunds count the bill's lines; BillPaid and
	// BillRefunded add up their amounts.
	BillPayments, BillRefunds int
	BillPaid, BillRefunded    alipay.Amount
	// DBPayments and DBRefunds count the database's orders paid and
	// refunds succeeded on the day.
	DBPayments, DBRefunds int
	// Matched counts the bill lines that agree with the database.
	Matched int
	// Differences counts the differences by kind (kinds without any are
	// absent): what the metrics export.
	Differences map[BillDiffKind]int
	// StartedAt and FinishedAt are when the run began and ended.
	StartedAt, FinishedAt time.Time
	// Details are the differences, in the order found. Stores return runs
	// without them: see BillStore.ListBillDifferences.
	Details []BillDifference
}

// Count returns the number of differences of every kind.
func (r *BillRun) Count() int {
	n := 0
	for _, c := range r.Differences {
		n += c
	}
	return n
}

// BillRunFilter selects runs for [BillStore.ListBillRuns].
type BillRunFilter struct {
	// Before selects the runs of dates before it; zero selects all.
	Before BillDate
	// Limit is the number of runs (see PageSize).
	Limit int
}

// BillDifferenceFilter selects differences for
// [BillStore.ListBillDifferences].
type BillDifferenceFilter struct {
	// Date is the run's date (required).
	Date BillDate
	// Kind selects one kind; empty selects all.
	Kind BillDiffKind
	// AfterSeq continues after the difference with this Seq.
	AfterSeq int
	// Limit is the page size (see PageSize).
	Limit int
}

// Valid reports whether k is one of the defined kinds.
func (k BillDiffKind) Valid() bool {
	for _, v := range BillDiffKinds() {
		if k == v {
			return true
		}
	}
	return false
}

// Validate checks that r can be stored: a date, a known status, known
// kinds of difference, counts that are not negative and texts every store
// can hold. Stores call it first. Errors wrap [ErrInvalid].
func (r *BillRun) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.Date.IsZero() {
		bad("no date")
	}
	if r.Status != BillRunMatched && r.Status != BillRunDifferences {
		bad("unknown status %q", r.Status)
	}
	if r.BillPayments < 0 || r.BillRefunds < 0 || r.DBPayments < 0 || r.DBRefunds < 0 || r.Matched < 0 || r.BillPaid < 0 || r.BillRefunded < 0 {
		bad("negative count or amount")
	}
	for k, n := range r.Differences {
		if !k.Valid() || n < 0 {
			bad("difference count %q: %d", k, n)
		}
	}
	for i := range r.Details {
		d := &r.Details[i]
		if !d.Kind.Valid() {
			bad("difference %d: unknown kind %q", i+1, d.Kind)
		}
		if d.LineKind != BillLinePayment && d.LineKind != BillLineRefund {
			bad("difference %d: unknown line kind %q", i+1, d.LineKind)
		}
		if d.BillAmount < 0 || d.DBAmount < 0 {
			bad("difference %d: negative amount", i+1)
		}
		for _, s := range []string{d.OutTradeNo, d.TradeNo, d.OutRequestNo, d.OrderID, d.RefundID, d.DBStatus, d.Detail} {
			if err := checkText(s); err != nil {
				bad("difference %d: %w", i+1, err)
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: bill run %s: %w", ErrInvalid, r.Date, err)
	}
	return nil
}
