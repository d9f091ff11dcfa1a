package postgresstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/payment"
)

// eventColumns are the columns scanEvent reads, in its order.
const eventColumns = `id, order_id, seq, kind, source, raw, verified, from_status, to_status,
	effect, refund_id, reason, created_at`

// scanEvent reads one row of eventColumns.
func scanEvent(r pgx.Row) (payment.OrderEvent, error) {
	var e payment.OrderEvent
	var created pgtype.Timestamptz
	err := r.Scan(&e.ID, &e.OrderID, &e.Seq, &e.Kind, &e.Source, &e.Raw, &e.Verified, &e.From, &e.To,
		&e.Effect, &e.RefundID, &e.Reason, &created)
	e.CreatedAt = fromDB(created)
	return e, err
}

// validateEvents checks events before they are stored.
func validateEvents(events []payment.OrderEvent) error {
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

// cloneEvents returns a copy of events for a transaction to fill in, so
// that the caller's events are filled in only once it committed.
func cloneEvents(events []payment.OrderEvent) []payment.OrderEvent {
	return append([]payment.OrderEvent(nil), events...)
}

// insertEvents appends events to the log of order id in tx, filling in
// their ID, OrderID, Seq and a zero CreatedAt. The order's event_seq
// counter hands out the numbers, and its row lock orders concurrent
// appends; a missing order is pgx.ErrNoRows.
func (s *Store) insertEvents(ctx context.Context, tx pgx.Tx, id string, events []payment.OrderEvent) error {
	if len(events) == 0 {
		return nil
	}
	var last int64
	err := tx.QueryRow(ctx, `UPDATE payment_orders SET event_seq = event_seq + $1 WHERE id = $2 RETURNING event_seq`,
		len(events), id).Scan(&last)
	if err != nil {
		return err
	}
	seq := last - int64(len(events))
	var batch pgx.Batch
	for i := range events {
		e := &events[i]
		seq++
		e.OrderID, e.Seq, e.CreatedAt = id, seq, s.stamp(e.CreatedAt)
		var raw []byte
		if len(e.Raw) > 0 {
			raw = e.Raw
		}
		batch.Queue(`INSERT INTO payment_order_events (order_id, seq, kind, source, raw,
			verified, from_status, to_status, effect, refund_id, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			id, e.Seq, string(e.Kind), string(e.Source), raw, e.Verified, string(e.From), string(e.To),
			string(e.Effect), e.RefundID, e.Reason, e.CreatedAt).QueryRow(func(r pgx.Row) error {
			return r.Scan(&e.ID)
		})
	}
	return tx.SendBatch(ctx, &batch).Close()
}

// AppendEvents implements [payment.Store.AppendEvents].
func (s *Store) AppendEvents(ctx context.Context, orderID string, events ...payment.OrderEvent) error {
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("postgresstore: append events: %w", err)
	}
	stored := cloneEvents(events)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if len(stored) == 0 {
			var one int
			return tx.QueryRow(ctx, `SELECT 1 FROM payment_orders WHERE id = $1`, orderID).Scan(&one)
		}
		return s.insertEvents(ctx, tx, orderID, stored)
	})
	if err != nil {
		return errorf("append events to order "+orderID, err)
	}
	copy(events, stored)
	return nil
}

// ListEvents implements [payment.Store.ListEvents].
func (s *Store) ListEvents(ctx context.Context, orderID string) ([]payment.OrderEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM payment_order_events
		WHERE order_id = $1 ORDER BY seq`, orderID)
	if err != nil {
		return nil, errorf("list events of order "+orderID, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (payment.OrderEvent, error) { return scanEvent(r) })
	if err != nil {
		return nil, errorf("list events of order "+orderID, err)
	}
	return events, nil
}
