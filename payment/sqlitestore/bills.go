package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"zhifu/payment"
)

var _ payment.BillStore = (*Store)(nil)

// ListPaidOrders implements [payment.BillStore.ListPaidOrders].
func (s *Store) ListPaidOrders(ctx context.Context, f payment.PaidOrderFilter) (payment.OrderPage, error) {
	const op = "list paid orders"
	where := []string{"paid_at IS NOT NULL"}
	var args []any
	if !f.PaidFrom.IsZero() {
		where, args = append(where, "paid_at >= ?"), append(args, dbTime(f.PaidFrom))
	}
	if !f.PaidTo.IsZero() {
		where, args = append(where, "paid_at < ?"), append(args, dbTime(f.PaidTo))
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorPaid, f.Cursor)
		if err != nil {
			return payment.OrderPage{}, fmt.Errorf("sqlitestore: %s: %w", op, err)
		}
		where, args = append(where, "(paid_at, id) > (?, ?)"), append(args, dbTime(t), id)
	}
	return s.listOrders(ctx, op, payment.CursorPaid, where, args, "paid_at, id", f.Limit)
}

// ListSettledRefunds implements [payment.BillStore.ListSettledRefunds].
func (s *Store) ListSettledRefunds(ctx context.Context, f payment.SettledRefundFilter) (payment.SettledRefundPage, error) {
	const op = "list settled refunds"
	where := []string{"r.status = 'succeeded'", "r.settled_at IS NOT NULL"}
	var args []any
	if !f.SettledFrom.IsZero() {
		where, args = append(where, "r.settled_at >= ?"), append(args, dbTime(f.SettledFrom))
	}
	if !f.SettledTo.IsZero() {
		where, args = append(where, "r.settled_at < ?"), append(args, dbTime(f.SettledTo))
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorSettled, f.Cursor)
		if err != nil {
			return payment.SettledRefundPage{}, fmt.Errorf("sqlitestore: %s: %w", op, err)
		}
		where, args = append(where, "(r.settled_at, r.id) > (?, ?)"), append(args, dbTime(t), id)
	}
	n := payment.PageSize(f.Limit)
	refunds, err := queryAll(ctx, s, op, func(row rowScanner) (payment.SettledRefund, error) {
		var r payment.SettledRefund
		err := row.Scan(&r.ID, &r.OrderID, &r.OutRequestNo, &r.Amount, &r.Reason, &r.Status, &r.FundChange,
			timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, timeCol{&r.SettledAt}, &r.OutTradeNo, &r.TradeNo)
		return r, err
	}, `SELECT r.id, r.order_id, r.out_request_no, r.amount, r.reason, r.status,
		r.fund_change, r.created_at, r.updated_at, r.settled_at, o.out_trade_no, o.trade_no
		FROM payment_refunds r JOIN payment_orders o ON o.id = r.order_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY r.settled_at, r.id LIMIT ?`, append(args, n+1)...)
	if err != nil {
		return payment.SettledRefundPage{}, err
	}
	return payment.SettledPageOf(refunds, n), nil
}

// SaveBillRun implements [payment.BillStore.SaveBillRun].
func (s *Store) SaveBillRun(ctx context.Context, run *payment.BillRun) error {
	if err := run.Validate(); err != nil {
		return fmt.Errorf("sqlitestore: save bill run: %w", err)
	}
	counts, err := json.Marshal(run.Differences)
	if err != nil {
		return fmt.Errorf("sqlitestore: save bill run: %w", err)
	}
	date := run.Date.String()
	started, finished := s.stamp(run.StartedAt), s.stamp(run.FinishedAt)
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM payment_bill_differences WHERE bill_date = ?`, date); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM payment_bill_runs WHERE bill_date = ?`, date); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO payment_bill_runs (bill_date, status, bill_payments, bill_refunds,
			bill_paid, bill_refunded, db_payments, db_refunds, matched, difference_counts, started_at, finished_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			date, run.Status, run.BillPayments, run.BillRefunds, run.BillPaid.Fen(), run.BillRefunded.Fen(),
			run.DBPayments, run.DBRefunds, run.Matched, string(counts), dbTime(started), dbTime(finished))
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO payment_bill_differences (bill_date, seq, kind, line_kind,
			out_trade_no, trade_no, out_request_no, order_id, refund_id, bill_amount, db_amount, db_status, bill_line, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range run.Details {
			d := &run.Details[i]
			_, err := stmt.ExecContext(ctx, date, i+1, d.Kind, d.LineKind, d.OutTradeNo, d.TradeNo, d.OutRequestNo,
				d.OrderID, d.RefundID, d.BillAmount.Fen(), d.DBAmount.Fen(), d.DBStatus, d.BillLine, d.Detail)
			if err != nil {
				return err
			}
		}
		return nil
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
	db_payments, db_refunds, matched, difference_counts, started_at, finished_at`

// scanBillRun reads one row of billRunColumns.
func scanBillRun(r rowScanner) (*payment.BillRun, error) {
	run := new(payment.BillRun)
	var counts string
	err := r.Scan(dateCol{&run.Date}, &run.Status, &run.BillPayments, &run.BillRefunds, &run.BillPaid, &run.BillRefunded,
		&run.DBPayments, &run.DBRefunds, &run.Matched, &counts, timeCol{&run.StartedAt}, timeCol{&run.FinishedAt})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(counts), &run.Differences); err != nil {
		return nil, fmt.Errorf("bad stored difference counts: %w", err)
	}
	return run, nil
}

// GetBillRun implements [payment.BillStore.GetBillRun].
func (s *Store) GetBillRun(ctx context.Context, date payment.BillDate) (*payment.BillRun, error) {
	run, err := scanBillRun(s.rdb.QueryRowContext(ctx, `SELECT `+billRunColumns+` FROM payment_bill_runs
		WHERE bill_date = ?`, date.String()))
	if err != nil {
		return nil, errorf("get bill run "+date.String(), err)
	}
	return run, nil
}

// ListBillRuns implements [payment.BillStore.ListBillRuns].
func (s *Store) ListBillRuns(ctx context.Context, f payment.BillRunFilter) ([]payment.BillRun, error) {
	const op = "list bill runs"
	q, args := `SELECT `+billRunColumns+` FROM payment_bill_runs`, []any{}
	if !f.Before.IsZero() {
		q, args = q+` WHERE bill_date < ?`, append(args, f.Before.String())
	}
	return queryAll(ctx, s, op, value(scanBillRun), q+` ORDER BY bill_date DESC LIMIT ?`, append(args, payment.PageSize(f.Limit))...)
}

// ListBillDifferences implements [payment.BillStore.ListBillDifferences].
func (s *Store) ListBillDifferences(ctx context.Context, f payment.BillDifferenceFilter) ([]payment.BillDifference, error) {
	const op = "list bill differences"
	q := `SELECT d.bill_date, d.seq, d.kind, d.line_kind, d.out_trade_no, d.trade_no, d.out_request_no, d.order_id,
		d.refund_id, d.bill_amount, d.db_amount, d.db_status, d.bill_line, d.detail, r.finished_at
		FROM payment_bill_differences d JOIN payment_bill_runs r ON r.bill_date = d.bill_date
		WHERE d.bill_date = ? AND d.seq > ?`
	args := []any{f.Date.String(), f.AfterSeq}
	if f.Kind != "" {
		q, args = q+` AND d.kind = ?`, append(args, f.Kind)
	}
	ds, err := queryAll(ctx, s, op, func(r rowScanner) (payment.BillDifference, error) {
		var d payment.BillDifference
		err := r.Scan(dateCol{&d.Date}, &d.Seq, &d.Kind, &d.LineKind, &d.OutTradeNo, &d.TradeNo, &d.OutRequestNo,
			&d.OrderID, &d.RefundID, &d.BillAmount, &d.DBAmount, &d.DBStatus, &d.BillLine, &d.Detail, timeCol{&d.FoundAt})
		return d, err
	}, q+` ORDER BY d.seq LIMIT ?`, append(args, payment.PageSize(f.Limit))...)
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// dateCol scans a bill_date column.
type dateCol struct{ d *payment.BillDate }

// Scan implements sql.Scanner.
func (c dateCol) Scan(src any) error {
	s, ok := src.(string)
	if !ok {
		return fmt.Errorf("bad stored bill date of type %T", src)
	}
	d, err := payment.ParseBillDate(s)
	if err != nil {
		return fmt.Errorf("bad stored bill date: %w", err)
	}
	*c.d = d
	return nil
}
