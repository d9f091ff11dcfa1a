package postgresstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/alipay"
	"zhifu/payment"
)

// refundColumns are the columns scanRefund reads, in its order.
const refundColumns = `id, order_id, out_request_no, amount, reason, status, fund_change,
	created_at, updated_at, settled_at`

// scanRefund reads one row of refundColumns.
func scanRefund(r pgx.Row) (payment.Refund, error) {
	var f payment.Refund
	var created, updated, settled pgtype.Timestamptz
	err := r.Scan(&f.ID, &f.OrderID, &f.OutRequestNo, &f.Amount, &f.Reason, &f.Status, &f.FundChange,
		&created, &updated, &settled)
	f.CreatedAt, f.UpdatedAt, f.SettledAt = fromDB(created), fromDB(updated), fromDB(settled)
	return f, err
}

// ReserveRefund implements [payment.Store.ReserveRefund].
func (s *Store) ReserveRefund(ctx context.Context, r *payment.Refund, events ...payment.OrderEvent) error {
	if err := r.ValidateNew(); err != nil {
		return fmt.Errorf("postgresstore: reserve refund: %w", err)
	}
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("postgresstore: reserve refund: %w", err)
	}
	created := s.stamp(r.CreatedAt)
	updated := created
	if !r.UpdatedAt.IsZero() {
		updated = norm(r.UpdatedAt)
	}
	stored := cloneEvents(events)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The order's row lock serializes the reservations of the order:
		// the sum below sees every reservation committed before it.
		var paid int64
		err := tx.QueryRow(ctx, `SELECT paid_amount FROM payment_orders WHERE id = $1 FOR UPDATE`, r.OrderID).Scan(&paid)
		if err != nil {
			return err
		}
		var reserved int64
		err = tx.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM payment_refunds
			WHERE order_id = $1 AND status <> 'failed'`, r.OrderID).Scan(&reserved)
		if err != nil {
			return err
		}
		if reserved+r.Amount.Fen() > paid {
			return fmt.Errorf("%w: order %s: %v paid, %v in refunds that have not failed, %v more asked",
				payment.ErrRefundExceeds, r.OrderID, alipay.Amount(paid), alipay.Amount(reserved), r.Amount)
		}
		_, err = tx.Exec(ctx, `INSERT INTO payment_refunds (id, order_id, out_request_no, amount, reason,
			status, fund_change, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)`,
			r.ID, r.OrderID, r.OutRequestNo, r.Amount.Fen(), r.Reason, r.FundChange, created, updated)
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
// r.OrderID (pgx.ErrNoRows otherwise). The caller holds the order's row
// lock already, so that locks are always taken order first.
func settleRefund(ctx context.Context, tx pgx.Tx, r *payment.Refund) error {
	var status payment.RefundStatus
	err := tx.QueryRow(ctx, `SELECT status FROM payment_refunds WHERE id = $1 AND order_id = $2 FOR UPDATE`,
		r.ID, r.OrderID).Scan(&status)
	if err != nil {
		return err
	}
	if status.Final() {
		return fmt.Errorf("%w: refund %s is already %s", payment.ErrConflict, r.ID, status)
	}
	_, err = tx.Exec(ctx, `UPDATE payment_refunds SET status = $1, fund_change = $2, settled_at = $3,
		updated_at = $4 WHERE id = $5`,
		string(r.Status), r.FundChange, dbNullTime(r.SettledAt), r.UpdatedAt, r.ID)
	return err
}

// SettleRefund implements [payment.Store.SettleRefund].
func (s *Store) SettleRefund(ctx context.Context, r *payment.Refund, events ...payment.OrderEvent) error {
	if err := r.ValidateSettle(); err != nil {
		return fmt.Errorf("postgresstore: settle refund: %w", err)
	}
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("postgresstore: settle refund: %w", err)
	}
	settled := r.Clone()
	settled.UpdatedAt, settled.SettledAt = s.stamp(r.SettledAt), normZero(r.SettledAt)
	stored := cloneEvents(events)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM payment_orders WHERE id = $1 FOR UPDATE`, r.OrderID).Scan(&one); err != nil {
			return err
		}
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
	r, err := scanRefund(s.pool.QueryRow(ctx, `SELECT `+refundColumns+` FROM payment_refunds WHERE id = $1`, id))
	if err != nil {
		return nil, errorf("get refund "+id, err)
	}
	return &r, nil
}

// GetRefundByOutRequestNo implements [payment.Store.GetRefundByOutRequestNo].
func (s *Store) GetRefundByOutRequestNo(ctx context.Context, orderID, outRequestNo string) (*payment.Refund, error) {
	r, err := scanRefund(s.pool.QueryRow(ctx, `SELECT `+refundColumns+` FROM payment_refunds
		WHERE order_id = $1 AND out_request_no = $2`, orderID, outRequestNo))
	if err != nil {
		return nil, errorf("get refund "+outRequestNo+" of order "+orderID, err)
	}
	return &r, nil
}

// ListRefunds implements [payment.Store.ListRefunds].
func (s *Store) ListRefunds(ctx context.Context, orderID string) ([]payment.Refund, error) {
	return s.listRefunds(ctx, "list refunds of order "+orderID, `SELECT `+refundColumns+` FROM payment_refunds
		WHERE order_id = $1 ORDER BY created_at, id`, orderID)
}

// ListUnsettledRefunds implements [payment.Store.ListUnsettledRefunds].
func (s *Store) ListUnsettledRefunds(ctx context.Context, f payment.UnsettledFilter) (payment.RefundPage, error) {
	after, afterID := time.Time{}, ""
	if f.Cursor != "" {
		var err error
		if after, afterID, err = payment.DecodeCursor(payment.CursorUnsettled, f.Cursor); err != nil {
			return payment.RefundPage{}, fmt.Errorf("postgresstore: list unsettled refunds: %w", err)
		}
	}
	n := payment.PageSize(f.Limit)
	refunds, err := s.listRefunds(ctx, "list unsettled refunds", `SELECT `+refundColumns+` FROM payment_refunds
		WHERE status IN ('pending', 'unknown') AND created_at < $1 AND (created_at, id) > ($2, $3)
		ORDER BY created_at, id LIMIT $4`,
		norm(f.CreatedBefore), norm(after), afterID, n+1)
	if err != nil {
		return payment.RefundPage{}, err
	}
	return payment.RefundPageOf(refunds, n), nil
}

// listRefunds runs a query of refundColumns.
func (s *Store) listRefunds(ctx context.Context, op, query string, args ...any) ([]payment.Refund, error) {
	return collect(ctx, s, op, scanRefund, query, args...)
}
