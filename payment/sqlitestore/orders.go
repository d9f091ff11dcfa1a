package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"zhifu/payment"
)

// orderColumns are the columns scanOrder reads, in its order.
const orderColumns = `id, out_trade_no, subject, body, amount, channel, status, trade_no, buyer_id,
	paid_amount, refunded_amount, paid_at, expires_at, closed_at, metadata, flags,
	created_at, updated_at, version`

// scanOrder reads one row of orderColumns.
func scanOrder(r rowScanner) (*payment.Order, error) {
	o := new(payment.Order)
	err := r.Scan(&o.ID, &o.OutTradeNo, &o.Subject, &o.Body, &o.Amount, &o.Channel, &o.Status,
		&o.TradeNo, &o.BuyerID, &o.PaidAmount, &o.RefundedAmount,
		timeCol{&o.PaidAt}, timeCol{&o.ExpiresAt}, timeCol{&o.ClosedAt}, metadataCol{&o.Metadata}, &o.Flags,
		timeCol{&o.CreatedAt}, timeCol{&o.UpdatedAt}, &o.Version)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// CreateOrder implements [payment.Store.CreateOrder].
func (s *Store) CreateOrder(ctx context.Context, o *payment.Order, events ...payment.OrderEvent) error {
	if err := o.ValidateNew(); err != nil {
		return fmt.Errorf("sqlitestore: create order: %w", err)
	}
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("sqlitestore: create order: %w", err)
	}
	meta, err := dbMetadata(o.Metadata)
	if err != nil {
		return fmt.Errorf("sqlitestore: create order: %w", err)
	}
	created := s.stamp(o.CreatedAt)
	updated := created
	if !o.UpdatedAt.IsZero() {
		updated = norm(o.UpdatedAt)
	}
	stored := cloneEvents(events)
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		insert, err := s.stmts.inTx(ctx, tx, sqlInsertOrder)
		if err != nil {
			return err
		}
		_, err = insert.ExecContext(ctx, o.ID, o.OutTradeNo, o.Subject, o.Body, o.Amount.Fen(), o.Channel,
			dbNullTime(o.ExpiresAt), meta, o.Flags, dbTime(created), dbTime(updated))
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, o.ID, stored)
	})
	if err != nil {
		return errorf("create order "+o.ID, err)
	}
	o.Status, o.Version, o.CreatedAt, o.UpdatedAt = payment.StatusPending, 1, created, updated
	o.ExpiresAt = normZero(o.ExpiresAt)
	copy(events, stored)
	return nil
}

// The statements of the hot paths of orders (see stmtCache).
const (
	sqlInsertOrder = `INSERT INTO payment_orders (id, out_trade_no, subject, body, amount,
			channel, status, expires_at, metadata, flags, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, 1)`
	sqlUpdateOrder = `UPDATE payment_orders SET status = ?, trade_no = ?, buyer_id = ?,
			paid_amount = ?, refunded_amount = ?, paid_at = ?, closed_at = ?, metadata = ?, flags = ?,
			updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`
	sqlGetOrder             = `SELECT ` + orderColumns + ` FROM payment_orders WHERE id = ?`
	sqlGetOrderByOutTradeNo = `SELECT ` + orderColumns + ` FROM payment_orders WHERE out_trade_no = ?`
)

// GetOrder implements [payment.Store.GetOrder].
func (s *Store) GetOrder(ctx context.Context, id string) (*payment.Order, error) {
	o, err := scanOrder(s.stmts.queryRow(ctx, s.rdb, sqlGetOrder, id))
	if err != nil {
		return nil, errorf("get order "+id, err)
	}
	return o, nil
}

// GetOrderByOutTradeNo implements [payment.Store.GetOrderByOutTradeNo].
func (s *Store) GetOrderByOutTradeNo(ctx context.Context, outTradeNo string) (*payment.Order, error) {
	o, err := scanOrder(s.stmts.queryRow(ctx, s.rdb, sqlGetOrderByOutTradeNo, outTradeNo))
	if err != nil {
		return nil, errorf("get order by out_trade_no "+outTradeNo, err)
	}
	return o, nil
}

// GetOrderByTradeNo implements [payment.Store.GetOrderByTradeNo].
func (s *Store) GetOrderByTradeNo(ctx context.Context, tradeNo string) (*payment.Order, error) {
	if tradeNo == "" {
		return nil, fmt.Errorf("sqlitestore: get order by trade_no: %w", payment.ErrNotFound)
	}
	o, err := scanOrder(s.rdb.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM payment_orders
		WHERE trade_no = ? AND trade_no <> '' ORDER BY created_at DESC, id DESC LIMIT 1`, tradeNo))
	if err != nil {
		return nil, errorf("get order by trade_no "+tradeNo, err)
	}
	return o, nil
}

// ListOrders implements [payment.Store.ListOrders].
func (s *Store) ListOrders(ctx context.Context, f payment.OrderFilter) (payment.OrderPage, error) {
	var where []string
	var args []any
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if !f.CreatedFrom.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, dbTime(f.CreatedFrom))
	}
	if !f.CreatedTo.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, dbTime(f.CreatedTo))
	}
	if f.Flags != 0 {
		where, args = append(where, "flags & ? = ?"), append(args, f.Flags, f.Flags)
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorOrders, f.Cursor)
		if err != nil {
			return payment.OrderPage{}, fmt.Errorf("sqlitestore: list orders: %w", err)
		}
		where, args = append(where, "(created_at, id) < (?, ?)"), append(args, dbTime(t), id)
	}
	return s.listOrders(ctx, "list orders", payment.CursorOrders, where, args, "created_at DESC, id DESC", f.Limit)
}

// ListPendingOrders implements [payment.Store.ListPendingOrders].
func (s *Store) ListPendingOrders(ctx context.Context, f payment.PendingFilter) (payment.OrderPage, error) {
	where := []string{"status = 'pending'"}
	var args []any
	if !f.CreatedBefore.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, dbTime(f.CreatedBefore))
	}
	if !f.ExpiresBefore.IsZero() {
		where, args = append(where, "expires_at IS NOT NULL AND expires_at < ?"), append(args, dbTime(f.ExpiresBefore))
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorPending, f.Cursor)
		if err != nil {
			return payment.OrderPage{}, fmt.Errorf("sqlitestore: list pending orders: %w", err)
		}
		where, args = append(where, "(created_at, id) > (?, ?)"), append(args, dbTime(t), id)
	}
	return s.listOrders(ctx, "list pending orders", payment.CursorPending, where, args, "created_at, id", f.Limit)
}

// listOrders returns one page of the orders matching where, in order.
func (s *Store) listOrders(ctx context.Context, op string, kind payment.CursorKind, where []string, args []any, order string, limit int) (payment.OrderPage, error) {
	n := payment.PageSize(limit)
	q := `SELECT ` + orderColumns + ` FROM payment_orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY ` + order + ` LIMIT ?`
	orders, err := queryAll(ctx, s, op, value(scanOrder), q, append(args, n+1)...)
	if err != nil {
		return payment.OrderPage{}, err
	}
	return payment.PageOf(orders, n, kind), nil
}

// ApplyTransition implements [payment.Store.ApplyTransition].
func (s *Store) ApplyTransition(ctx context.Context, t payment.Transition) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("sqlitestore: apply transition: %w", err)
	}
	o := t.Order
	meta, err := dbMetadata(o.Metadata)
	if err != nil {
		return fmt.Errorf("sqlitestore: apply transition to %s: %w", o.ID, err)
	}
	updated := s.stamp(t.At)
	stored := cloneEvents(t.Events)
	var refund *payment.Refund
	if t.Refund != nil {
		refund = t.Refund.Clone()
		refund.UpdatedAt = updated
		refund.SettledAt = normZero(refund.SettledAt)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		update, err := s.stmts.inTx(ctx, tx, sqlUpdateOrder)
		if err != nil {
			return err
		}
		res, err := update.ExecContext(ctx, o.Status, o.TradeNo, o.BuyerID, o.PaidAmount.Fen(), o.RefundedAmount.Fen(),
			dbNullTime(o.PaidAt), dbNullTime(o.ClosedAt), meta, o.Flags, dbTime(updated), o.ID, o.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return missingOrConflict(ctx, tx, o.ID, o.Version)
		}
		if refund != nil {
			if err := settleRefund(ctx, tx, refund); err != nil {
				return err
			}
		}
		return s.insertEvents(ctx, tx, o.ID, stored)
	})
	if err != nil {
		return errorf("apply transition to "+o.ID, err)
	}
	o.Version++
	o.UpdatedAt, o.PaidAt, o.ClosedAt = updated, normZero(o.PaidAt), normZero(o.ClosedAt)
	copy(t.Events, stored)
	if t.Refund != nil {
		*t.Refund = *refund
	}
	return nil
}

// missingOrConflict returns the error of a compare-and-set that changed
// no row: ErrNotFound or ErrConflict.
func missingOrConflict(ctx context.Context, tx *sql.Tx, id string, version int64) error {
	var current int64
	err := tx.QueryRowContext(ctx, `SELECT version FROM payment_orders WHERE id = ?`, id).Scan(&current)
	if err != nil {
		return err // sql.ErrNoRows: not found
	}
	return fmt.Errorf("%w: order %s is at version %d, not %d", payment.ErrConflict, id, current, version)
}
