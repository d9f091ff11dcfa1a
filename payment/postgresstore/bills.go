package postgresstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/payment"
)

var _ payment.BillStore = (*Store)(nil)

// ListPaidOrders implements [payment.BillStore.ListPaidOrders].
func (s *Store) ListPaidOrders(ctx context.Context, f payment.PaidOrderFilter) (payment.OrderPage, error) {
	const op = "list paid orders"
	var q query
	q.add("paid_at IS NOT NULL")
	if !f.PaidFrom.IsZero() {
		q.add("paid_at >= ?", norm(f.PaidFrom))
	}
	if !f.PaidTo.IsZero() {
		q.add("paid_at < ?", norm(f.PaidTo))
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorPaid, f.Cursor)
		if err != nil {
			return payment.OrderPage{}, fmt.Errorf("postgresstore: %s: %w", op, err)
		}
		q.add("(paid_at, id) > (?, ?)", t, id)
	}
	return s.listOrders(ctx, op, payment.CursorPaid, q, "paid_at, id", f.Limit)
}

// ListSettledRefunds implements [payment.BillStore.ListSettledRefunds].
func (s *Store) ListSettledRefunds(ctx context.Context, f payment.SettledRefundFilter) (payment.SettledRefundPage, error) {
	const op = "list settled refunds"
	var q query
	q.add("r.status = 'succeeded'")
	q.add("r.settled_at IS NOT NULL")
	if !f.SettledFrom.IsZero() {
		q.add("r.settled_at >= ?", norm(f.SettledFrom))
	}
	if !f.SettledTo.IsZero() {
		q.add("r.settled_at < ?", norm(f.SettledTo))
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorSettled, f.Cursor)
		if err != nil {
			return payment.SettledRefundPage{}, fmt.Errorf("postgresstore: %s: %w", op, err)
		}
		q.add("(r.settled_at, r.id) > (?, ?)", t, id)
	}
	n := payment.PageSize(f.Limit)
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.order_id, r.out_request_no, r.amount, r.reason, r.status,
		r.fund_change, r.created_at, r.updated_at, r.settled_at, o.out_trade_no, o.trade_no
		FROM payment_refunds r JOIN payment_orders o ON o.id = r.order_id
		WHERE `+strings.Join(q.where, " AND ")+` ORDER BY r.settled_at, r.id LIMIT `+strconv.Itoa(n+1), q.args...)
	if err != nil {
		return payment.SettledRefundPage{}, errorf(op, err)
	}
	defer rows.Close()
	var refunds []payment.SettledRefund
	for rows.Next() {
		var r payment.SettledRefund
		var created, updated, settled pgtype.Timestamptz
		err := rows.Scan(&r.ID, &r.OrderID, &r.OutRequestNo, &r.Amount, &r.Reason, &r.Status, &r.FundChange,
			&created, &updated, &settled, &r.OutTradeNo, &r.TradeNo)
		if err != nil {
			return payment.SettledRefundPage{}, errorf(op, err)
		}
		r.CreatedAt, r.UpdatedAt, r.SettledAt = fromDB(created), fromDB(updated), fromDB(settled)
		refunds = append(refunds, r)
	}
	if err := rows.Err(); err != nil {
		return payment.SettledRefundPage{}, errorf(op, err)
	}
	return payment.SettledPageOf(refunds, n), nil
}

// billDifferenceColumns are the columns of payment_bill_differences, in
// the order SaveBillRun copies them and ListBillDifferences reads them.
var billDifferenceColumns = []string{"bill_date", "seq", "kind", "line_kind", "out_trade_no", "trade_no",
	"out_request_no", "order_id", "refund_id", "bill_amount", "db_amount", "db_status", "bill_line", "detail"}

// SaveBillRun implements [payment.BillStore.SaveBillRun].
func (s *Store) SaveBillRun(ctx context.Context, run *payment.BillRun) error {
	if err := run.Validate(); err != nil {
		return fmt.Errorf("postgresstore: save bill run: %w", err)
	}
	counts, err := json.Marshal(run.Differences)
	if err != nil {
		return fmt.Errorf("postgresstore: save bill run: %w", err)
	}
	date := run.Date.String()
	started, finished := s.stamp(run.StartedAt), s.stamp(run.FinishedAt)
	err = s.tx(ctx, func(tx pgx.Tx) error {
		// Deleting the run deletes its differences (ON DELETE CASCADE).
		if _, err := tx.Exec(ctx, `DELETE FROM payment_bill_runs WHERE bill_date = $1`, date); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO payment_bill_runs (bill_date, status, bill_payments, bill_refunds,
			bill_paid, bill_refunded, db_payments, db_refunds, matched, difference_counts, started_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			date, run.Status, run.BillPayments, run.BillRefunds, run.BillPaid.Fen(), run.BillRefunded.Fen(),
			run.DBPayments, run.DBRefunds, run.Matched, string(counts), started, finished)
		if err != nil {
			return err
		}
		if len(run.Details) == 0 {
			return nil
		}
		rows := make([][]any, len(run.Details))
		for i := range run.Details {
			d := &run.Details[i]
			rows[i] = []any{date, i + 1, string(d.Kind), string(d.LineKind), d.OutTradeNo, d.TradeNo, d.OutRequestNo,
				d.OrderID, d.RefundID, d.BillAmount.Fen(), d.DBAmount.Fen(), d.DBStatus, d.BillLine, d.Detail}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"payment_bill_differences"}, billDifferenceColumns, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return errorf("save bill run "+date, err)
	}
	run.StartedAt, run.FinishedAt = started, finished
	for i := range run.Details {
		run.Details[i].Date, run.Details[i].Seq, run.Details[i].FoundAt = run.Date, i+1, finished
	}
	return nil
}

// billRunColumns are the columns scanBillRun reads, in its order.
const billRunColumns = `bill_date, status, bill_payments, bill_refunds, bill_paid, bill_refunded,
	db_payments, db_refunds, matched, difference_counts::text, started_at, finished_at`

// scanBillRun reads one row of billRunColumns.
func scanBillRun(r pgx.Row) (*payment.BillRun, error) {
	run := new(payment.BillRun)
	var date, counts string
	var started, finished pgtype.Timestamptz
	err := r.Scan(&date, &run.Status, &run.BillPayments, &run.BillRefunds, &run.BillPaid, &run.BillRefunded,
		&run.DBPayments, &run.DBRefunds, &run.Matched, &counts, &started, &finished)
	if err != nil {
		return nil, err
	}
	if run.Date, err = payment.ParseBillDate(date); err != nil {
		return nil, fmt.Errorf("bad stored bill date: %w", err)
	}
	if err := json.Unmarshal([]byte(counts), &run.Differences); err != nil {
		return nil, fmt.Errorf("bad stored difference counts: %w", err)
	}
	run.StartedAt, run.FinishedAt = fromDB(started), fromDB(finished)
	return run, nil
}

// GetBillRun implements [payment.BillStore.GetBillRun].
func (s *Store) GetBillRun(ctx context.Context, date payment.BillDate) (*payment.BillRun, error) {
	run, err := scanBillRun(s.pool.QueryRow(ctx, `SELECT `+billRunColumns+` FROM payment_bill_runs
		WHERE bill_date = $1`, date.String()))
	if err != nil {
		return nil, errorf("get bill run "+date.String(), err)
	}
	return run, nil
}

// ListBillRuns implements [payment.BillStore.ListBillRuns].
func (s *Store) ListBillRuns(ctx context.Context, f payment.BillRunFilter) ([]payment.BillRun, error) {
	const op = "list bill runs"
	sql, args := `SELECT `+billRunColumns+` FROM payment_bill_runs`, []any{}
	if !f.Before.IsZero() {
		sql, args = sql+` WHERE bill_date < $1`, append(args, f.Before.String())
	}
	rows, err := s.pool.Query(ctx, sql+` ORDER BY bill_date DESC LIMIT `+strconv.Itoa(payment.PageSize(f.Limit)), args...)
	if err != nil {
		return nil, errorf(op, err)
	}
	defer rows.Close()
	var runs []payment.BillRun
	for rows.Next() {
		run, err := scanBillRun(rows)
		if err != nil {
			return nil, errorf(op, err)
		}
		runs = append(runs, *run)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf(op, err)
	}
	return runs, nil
}

// ListBillDifferences implements [payment.BillStore.ListBillDifferences].
func (s *Store) ListBillDifferences(ctx context.Context, f payment.BillDifferenceFilter) ([]payment.BillDifference, error) {
	const op = "list bill differences"
	var q query
	q.add("d.bill_date = ?", f.Date.String())
	q.add("d.seq > ?", f.AfterSeq)
	if f.Kind != "" {
		q.add("d.kind = ?", string(f.Kind))
	}
	rows, err := s.pool.Query(ctx, `SELECT d.`+strings.Join(billDifferenceColumns, ", d.")+`, r.finished_at
		FROM payment_bill_differences d JOIN payment_bill_runs r ON r.bill_date = d.bill_date
		WHERE `+strings.Join(q.where, " AND ")+` ORDER BY d.seq LIMIT `+strconv.Itoa(payment.PageSize(f.Limit)), q.args...)
	if err != nil {
		return nil, errorf(op, err)
	}
	defer rows.Close()
	var ds []payment.BillDifference
	for rows.Next() {
		var d payment.BillDifference
		var date string
		var found pgtype.Timestamptz
		err := rows.Scan(&date, &d.Seq, &d.Kind, &d.LineKind, &d.OutTradeNo, &d.TradeNo, &d.OutRequestNo,
			&d.OrderID, &d.RefundID, &d.BillAmount, &d.DBAmount, &d.DBStatus, &d.BillLine, &d.Detail, &found)
		if err != nil {
			return nil, errorf(op, err)
		}
		d.FoundAt = fromDB(found)
		if d.Date, err = payment.ParseBillDate(date); err != nil {
			return nil, errorf(op, err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf(op, err)
	}
	return ds, nil
}
