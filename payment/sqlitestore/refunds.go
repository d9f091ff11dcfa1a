package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"zhifu/payment"
)

// refundColumns are the columns scanRefund reads, in its order.
const refundColumns = `id, order_id, out_request_no, amount, reason, status, fund_change,
	created_at, updated_at, settled_at`

// scanRefund reads one row of refundColumns.
func scanRefund(r rowScanner) (*payment.Refund, error) {
	f := new(payment.Refund)
	err := r.Scan(&f.ID, &f.OrderID, &f.OutRequestNo, &f.Amount, &f.Reason, &f.Status, &f.FundChange,
		timeCol{&f.CreatedAt}, timeCol{&f.UpdatedAt}, timeCol{&f.SettledAt})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReserveRefund implements [payment.Store.ReserveRefund].
func (s *Store) ReserveRefund(ctx context.Context, r *payment.Refund, events ...payment.OrderEvent) error {
	if err := r.ValidateNew(); err != nil {
		return fmt.Errorf("sqlitestore: reserve refund: %w", err)
	}
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("sqlitestore: reserve refund: %w", err)
	}
	created := s.stamp(r.CreatedAt)
	updated := created
	if !r.UpdatedAt.IsZero() {
		updated = norm(r.UpdatedAt)
	}
	stored := cloneEvents(events)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// The commit queue runs one unit at a time on the only connection,
		// so nothing can reserve between the sum and the insert.
		var paid, reserved int64
		err := tx.QueryRowContext(ctx, `SELECT o.paid_amount,
			(SELECT COALESCE(SUM(amount), 0) FROM payment_refunds WHERE order_id = o.id AND status <> 'failed')
			FROM payment_orders o WHERE o.id = ?`, r.OrderID).Scan(&paid, &reserved)
		if err != nil {
			return err
		}
		if reserved+r.Amount.Fen() > paid {
			return fmt.Errorf("%w: order %s: %v paid, %v in refunds that have not failed, %v more asked",
				payment.ErrRefundExceeds, r.OrderID, fen(paid), fen(reserved), r.Amount)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO payment_refunds (id, order_id, out_request_no, amount, reason,
			status, fund_change, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
			r.ID, r.OrderID, r.OutRequestNo, r.Amount.Fen(), r.Reason, r.FundChange, dbTime(created), dbTime(updated))
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, r.OrderID, stored)
	})
	if err != nil {
		return errorf("reserve refund "+r.ID, err)
	}
	r.Status, r.CreatedAt, r.UpdatedAt, r.SettledAt = payment.RefundPending, created, updated, time.Time{}
	copy(events, stored)
	return nil
}

// settleRefund stores r's Status, FundChange, SettledAt and UpdatedAt in
// tx, if the refund is not final yet (ErrConflict) and belongs to
// r.OrderID (sql.ErrNoRows otherwise).
func settleRefund(ctx context.Context, tx *sql.Tx, r *payment.Refund) error {
	var status payment.RefundStatus
	err := tx.QueryRowContext(ctx, `SELECT status FROM payment_refunds WHERE id = ? AND order_id = ?`,
		r.ID, r.OrderID).Scan(&status)
	if err != nil {
		return err
	}
	if status.Final() {
		return fmt.Errorf("%w: refund %s is already %s", payment.ErrConflict, r.ID, status)
	}
	_, err = tx.ExecContext(ctx, `UPDATE payment_refunds SET status = ?, fund_change = ?, settled_at = ?,
		updated_at = ? WHERE id = ?`,
		r.Status, r.FundChange, dbNullTime(r.SettledAt), dbTime(r.UpdatedAt), r.ID)
	return err
}

// SettleRefund implements [payment.Store.SettleRefund].
func (s *Store) SettleRefund(ctx context.Context, r *payment.Refund, events ...payment.OrderEvent) error {
	if err := r.ValidateSettle(); err != nil {
		return fmt.Errorf("sqlitestore: settle refund: %w", err)
	}
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("sqlitestore: settle refund: %w", err)
	}
	settled := r.Clone()
	settled.UpdatedAt, settled.SettledAt = s.stamp(r.SettledAt), normZero(r.SettledAt)
	stored := cloneEvents(events)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := settleRefund(ctx, tx, settled); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, r.OrderID, stored)
	})
	if err != nil {
		return errorf("settle refund "+r.ID, err)
	}
	*r = *settled
	copy(events, stored)
	return nil
}

// GetRefund implements [payment.Store.GetRefund].
func (s *Store) GetRefund(ctx context.Context, id string) (*payment.Refund, error) {
	r, err := scanRefund(s.rdb.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM payment_refunds WHERE id = ?`, id))
	if err != nil {
		return nil, errorf("get refund "+id, err)
	}
	return r, nil
}

// GetRefundByOutRequestNo implements [payment.Store.GetRefundByOutRequestNo].
func (s *Store) GetRefundByOutRequestNo(ctx context.Context, orderID, outRequestNo string) (*payment.Refund, error) {
	r, err := scanRefund(s.rdb.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM payment_refunds
		WHERE order_id = ? AND out_request_no = ?`, orderID, outRequestNo))
	if err != nil {
		return nil, errorf("get refund "+outRequestNo+" of order "+orderID, err)
	}
	return r, nil
}

// ListRefunds implements [payment.Store.ListRefunds].
func (s *Store) ListRefunds(ctx context.Context, orderID string) ([]payment.Refund, error) {
	return s.listRefunds(ctx, "list refunds of order "+orderID, `SELECT `+refundColumns+` FROM payment_refunds
		WHERE order_id = ? ORDER BY created_at, id`, orderID)
}

// ListUnsettledRefunds implements [payment.Store.ListUnsettledRefunds].
func (s *Store) ListUnsettledRefunds(ctx context.Context, f payment.UnsettledFilter) (payment.RefundPage, error) {
	after, afterID := time.Time{}, ""
	if f.Cursor != "" {
		var err error
		if after, afterID, err = payment.DecodeCursor(payment.CursorUnsettled, f.Cursor); err != nil {
			return payment.RefundPage{}, fmt.Errorf("sqlitestore: list unsettled refunds: %w", err)
		}
	}
	n := payment.PageSize(f.Limit)
	refunds, err := s.listRefunds(ctx, "list unsettled refunds", `SELECT `+refundColumns+` FROM payment_refunds
		WHERE status IN ('pending', 'unknown') AND created_at < ? AND (created_at, id) > (?, ?)
		ORDER BY created_at, id LIMIT ?`,
		dbTime(f.CreatedBefore), dbTime(after), afterID, n+1)
	if err != nil {
		return payment.RefundPage{}, err
	}
	return payment.RefundPageOf(refunds, n), nil
}

// listRefunds runs a query of refundColumns.
func (s *Store) listRefunds(ctx context.Context, op, query string, args ...any) ([]payment.Refund, error) {
	return queryAll(ctx, s, op, value(scanRefund), query, args...)
}
