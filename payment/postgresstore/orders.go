package postgresstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/payment"
)

// orderColumns are the columns scanOrder reads, in its order.
const orderColumns = `id, out_trade_no, subject, body, amount, channel, status, trade_no, buyer_id,
	paid_amount, refunded_amount, paid_at, expires_at, closed_at, metadata::text, flags,
	created_at, updated_at, version`

// scanOrder reads one row of orderColumns.
func scanOrder(r pgx.Row) (*payment.Order, error) {
	o := new(payment.Order)
	var paid, expires, closed, created, updated pgtype.Timestamptz
	var meta string
	var flags int64
	err := r.Scan(&o.ID, &o.OutTradeNo, &o.Subject, &o.Body, &o.Amount, &o.Channel, &o.Status,
		&o.TradeNo, &o.BuyerID, &o.PaidAmount, &o.RefundedAmount, &paid, &expires, &closed, &meta, &flags,
		&created, &updated, &o.Version)
	if err != nil {
		return nil, err
	}
	if o.Metadata, err = fromDBMetadata([]byte(meta)); err != nil {
		return nil, err
	}
	o.Flags = payment.Flags(flags)
	o.PaidAt, o.ExpiresAt, o.ClosedAt = fromDB(paid), fromDB(expires), fromDB(closed)
	o.CreatedAt, o.UpdatedAt = fromDB(created), fromDB(updated)
	return o, nil
}

// createOrderSQL is CreateOrder's statement: the order's row, its
// event_seq already counting the events, and the events, in one statement
// and so in one round trip and one implicit transaction. The final UNION
// returns the order's row (a NULL id) when there are no events, so that a
// stored order always returns a row.
var createOrderSQL = `WITH u AS (INSERT INTO payment_orders (id, out_trade_no, subject, body, amount,
		channel, status, expires_at, metadata, flags, created_at, updated_at, version, event_seq)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8::jsonb, $9, $10, $11, 1, $12)
		RETURNING id, event_seq),
	` + insertEventsFrom(12) + `
	SELECT id, seq FROM ins
	UNION ALL SELECT NULL::bigint, NULL::bigint FROM u WHERE $12::int = 0
	ORDER BY 2`

// CreateOrder implements [payment.Store.CreateOrder].
func (s *Store) CreateOrder(ctx context.Context, o *payment.Order, events ...payment.OrderEvent) error {
	if err := o.ValidateNew(); err != nil {
		return fmt.Errorf("postgresstore: create order: %w", err)
	}
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("postgresstore: create order: %w", err)
	}
	meta, err := dbMetadata(o.Metadata)
	if err != nil {
		return fmt.Errorf("postgresstore: create order: %w", err)
	}
	created := s.stamp(o.CreatedAt)
	updated := created
	if !o.UpdatedAt.IsZero() {
		updated = norm(o.UpdatedAt)
	}
	stored := cloneEvents(events)
	args := []any{o.ID, o.OutTradeNo, o.Subject, o.Body, o.Amount.Fen(), string(o.Channel),
		dbNullTime(o.ExpiresAt), meta, int64(o.Flags), created, updated}
	args = append(args, s.eventArrays(o.ID, stored)...)
	err = s.q.do(ctx, o.ID, createOrderSQL, args, func(rows pgx.Rows) error {
		n, err := scanInserted(rows, stored)
		if err == nil && n == 0 {
			err = fmt.Errorf("the order's row was not returned")
		}
		return err
	})
	if err != nil {
		return errorf("create order "+o.ID, err)
	}
	o.Status, o.Version, o.CreatedAt, o.UpdatedAt = payment.StatusPending, 1, created, updated
	o.ExpiresAt = normZero(o.ExpiresAt)
	copy(events, stored)
	return nil
}

// GetOrder implements [payment.Store.GetOrder].
func (s *Store) GetOrder(ctx context.Context, id string) (*payment.Order, error) {
	o, err := s.readOrder(ctx, id, `SELECT `+orderColumns+` FROM payment_orders WHERE id = $1`, id)
	if err != nil {
		return nil, errorf("get order "+id, err)
	}
	return o, nil
}

// GetOrderByOutTradeNo implements [payment.Store.GetOrderByOutTradeNo].
func (s *Store) GetOrderByOutTradeNo(ctx context.Context, outTradeNo string) (*payment.Order, error) {
	o, err := s.readOrder(ctx, outTradeNo, `SELECT `+orderColumns+` FROM payment_orders WHERE out_trade_no = $1`, outTradeNo)
	if err != nil {
		return nil, errorf("get order by out_trade_no "+outTradeNo, err)
	}
	return o, nil
}

// readOrder reads the one order that sql (of orderColumns, with the one
// parameter arg) selects, over the reads' pipeline: pgx.ErrNoRows when
// there is none.
func (s *Store) readOrder(ctx context.Context, key, sql string, arg any) (*payment.Order, error) {
	var o *payment.Order
	err := s.r.do(ctx, key, sql, []any{arg}, func(rows pgx.Rows) error {
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return pgx.ErrNoRows
		}
		var err error
		o, err = scanOrder(rows)
		return err
	})
	if err != nil {
		// o is not read: after ctx ended the statement may still be
		// scanning into it.
		return nil, err
	}
	return o, nil
}

// GetOrderByTradeNo implements [payment.Store.GetOrderByTradeNo].
func (s *Store) GetOrderByTradeNo(ctx context.Context, tradeNo string) (*payment.Order, error) {
	if tradeNo == "" {
		return nil, fmt.Errorf("postgresstore: get order by trade_no: %w", payment.ErrNotFound)
	}
	o, err := scanOrder(s.pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM payment_orders
		WHERE trade_no = $1 AND trade_no <> '' ORDER BY created_at DESC, id DESC LIMIT 1`, tradeNo))
	if err != nil {
		return nil, errorf("get order by trade_no "+tradeNo, err)
	}
	return o, nil
}

// query builds a WHERE clause with numbered parameters.
type query struct {
	where []string
	args  []any
}

// add adds a condition; each "?" in cond becomes the next parameter, one
// of args.
func (q *query) add(cond string, args ...any) {
	for _, a := range args {
		q.args = append(q.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(q.args)), 1)
	}
	q.where = append(q.where, cond)
}

// ListOrders implements [payment.Store.ListOrders].
func (s *Store) ListOrders(ctx context.Context, f payment.OrderFilter) (payment.OrderPage, error) {
	var q query
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			st[i] = string(s)
		}
		q.add("status = ANY(?)", st)
	}
	if !f.CreatedFrom.IsZero() {
		q.add("created_at >= ?", norm(f.CreatedFrom))
	}
	if !f.CreatedTo.IsZero() {
		q.add("created_at < ?", norm(f.CreatedTo))
	}
	if f.Flags != 0 {
		q.add("flags & ? = ?", int64(f.Flags), int64(f.Flags))
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorOrders, f.Cursor)
		if err != nil {
			return payment.OrderPage{}, fmt.Errorf("postgresstore: list orders: %w", err)
		}
		q.add("(created_at, id) < (?, ?)", t, id)
	}
	return s.listOrders(ctx, "list orders", payment.CursorOrders, q, "created_at DESC, id DESC", f.Limit)
}

// ListPendingOrders implements [payment.Store.ListPendingOrders].
func (s *Store) ListPendingOrders(ctx context.Context, f payment.PendingFilter) (payment.OrderPage, error) {
	var q query
	q.add("status = 'pending'")
	if !f.CreatedBefore.IsZero() {
		q.add("created_at < ?", norm(f.CreatedBefore))
	}
	if !f.ExpiresBefore.IsZero() {
		q.add("expires_at < ?", norm(f.ExpiresBefore))
	}
	if f.Cursor != "" {
		t, id, err := payment.DecodeCursor(payment.CursorPending, f.Cursor)
		if err != nil {
			return payment.OrderPage{}, fmt.Errorf("postgresstore: list pending orders: %w", err)
		}
		q.add("(created_at, id) > (?, ?)", t, id)
	}
	return s.listOrders(ctx, "list pending orders", payment.CursorPending, q, "created_at, id", f.Limit)
}

// listOrders returns one page of the orders matching q, in order.
func (s *Store) listOrders(ctx context.Context, op string, kind payment.CursorKind, q query, order string, limit int) (payment.OrderPage, error) {
	n := payment.PageSize(limit)
	sql := `SELECT ` + orderColumns + ` FROM payment_orders`
	if len(q.where) > 0 {
		sql += ` WHERE ` + strings.Join(q.where, " AND ")
	}
	sql += ` ORDER BY ` + order + ` LIMIT ` + strconv.Itoa(n+1)
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return payment.OrderPage{}, errorf(op, err)
	}
	defer rows.Close()
	var orders []payment.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return payment.OrderPage{}, errorf(op, err)
		}
		orders = append(orders, *o)
	}
	if err := rows.Err(); err != nil {
		return payment.OrderPage{}, errorf(op, err)
	}
	return payment.PageOf(orders, n, kind), nil
}

// ApplyTransition implements [payment.Store.ApplyTransition].
func (s *Store) ApplyTransition(ctx context.Context, t payment.Transition) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("postgresstore: apply transition: %w", err)
	}
	o := t.Order
	meta, err := dbMetadata(o.Metadata)
	if err != nil {
		return fmt.Errorf("postgresstore: apply transition to %s: %w", o.ID, err)
	}
	updated := s.stamp(t.At)
	stored := cloneEvents(t.Events)
	var refund *payment.Refund
	if t.Refund != nil {
		refund = t.Refund.Clone()
		refund.UpdatedAt = updated
		refund.SettledAt = normZero(refund.SettledAt)
	}
	args := append([]any{string(o.Status), o.TradeNo, o.BuyerID, o.PaidAmount.Fen(), o.RefundedAmount.Fen(),
		dbNullTime(o.PaidAt), dbNullTime(o.ClosedAt), meta, int64(o.Flags), updated, o.ID, o.Version},
		s.eventArrays(o.ID, stored)...)
	var n int
	scan := func(rows pgx.Rows) (err error) {
		n, err = scanInserted(rows, stored)
		return err
	}
	if refund == nil {
		// One statement: it joins the group commit.
		err = s.q.do(ctx, o.ID, applyTransitionSQL, args, scan)
		if err == nil && n == 0 {
			err = missingOrConflict(ctx, s.pool, o.ID, o.Version)
		}
	} else {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, applyTransitionSQL, args...)
			if err != nil {
				return err
			}
			if err := scan(rows); err != nil {
				return err
			}
			if n == 0 {
				return missingOrConflict(ctx, tx, o.ID, o.Version)
			}
			return settleRefund(ctx, tx, refund)
		})
	}
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

// applyTransitionSQL is ApplyTransition's statement: the compare-and-set,
// the bump of event_seq and the events' inserts, numbered from the row it
// updated (none when it updated none). Without a refund to settle it runs
// alone, its own transaction: one round trip. It returns one row per
// event, or one row of NULLs without events, or none when the
// compare-and-set failed.
var applyTransitionSQL = `WITH u AS (UPDATE payment_orders SET status = $1, trade_no = $2, buyer_id = $3,
			paid_amount = $4, refunded_amount = $5, paid_at = $6, closed_at = $7, metadata = $8::jsonb, flags = $9,
			updated_at = $10, version = version + 1, event_seq = event_seq + $13
			WHERE id = $11 AND version = $12
			RETURNING id, event_seq),
		` + insertEventsFrom(13) + `
		SELECT ins.id, ins.seq FROM u LEFT JOIN ins ON true ORDER BY ins.seq`

// missingOrConflict returns the error of a compare-and-set that changed
// no row: ErrNotFound or ErrConflict.
func missingOrConflict(ctx context.Context, q querier, id string, version int64) error {
	var current int64
	if err := q.QueryRow(ctx, `SELECT version FROM payment_orders WHERE id = $1`, id).Scan(&current); err != nil {
		return err // pgx.ErrNoRows: not found
	}
	return fmt.Errorf("%w: order %s is at version %d, not %d", payment.ErrConflict, id, current, version)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
