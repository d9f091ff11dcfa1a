package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"zhifu/payment"
)

// eventColumns are the columns scanEvent reads, in its order.
const eventColumns = `id, order_id, seq, kind, source, raw, verified, from_status, to_status,
	effect, refund_id, reason, created_at`

// scanEvent reads one row of eventColumns.
func scanEvent(r rowScanner) (payment.OrderEvent, error) {
	var e payment.OrderEvent
	err := r.Scan(&e.ID, &e.OrderID, &e.Seq, &e.Kind, &e.Source, &e.Raw, &e.Verified, &e.From, &e.To,
		&e.Effect, &e.RefundID, &e.Reason, timeCol{&e.CreatedAt})
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

// cloneEvents returns a copy of events for a unit of work to fill in, so
// that the caller's events are filled in only once the unit committed.
func cloneEvents(events []payment.OrderEvent) []payment.OrderEvent {
	return append([]payment.OrderEvent(nil), events...)
}

// The statements of insertEvents.
const (
	sqlBumpEventSeq = `UPDATE payment_orders SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq`
	sqlInsertEvent  = `INSERT INTO payment_order_events (order_id, seq, kind, source, raw,
			verified, from_status, to_status, effect, refund_id, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
)

// insertEvents appends events to the log of order id in tx, filling in
// their ID, OrderID, Seq and a zero CreatedAt. The order's event_seq
// counter hands out the numbers; a missing order is sql.ErrNoRows.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, id string, events []payment.OrderEvent) error {
	if len(events) == 0 {
		return nil
	}
	bump, err := s.stmts.inTx(ctx, tx, sqlBumpEventSeq)
	if err != nil {
		return err
	}
	var last int64
	if err := bump.QueryRowContext(ctx, len(events), id).Scan(&last); err != nil {
		return err
	}
	insert, err := s.stmts.inTx(ctx, tx, sqlInsertEvent)
	if err != nil {
		return err
	}
	seq := last - int64(len(events))
	for i := range events {
		e := &events[i]
		seq++
		e.OrderID, e.Seq, e.CreatedAt = id, seq, s.stamp(e.CreatedAt)
		var raw any
		if len(e.Raw) > 0 {
			raw = e.Raw
		}
		err := insert.QueryRowContext(ctx, id, e.Seq, e.Kind, e.Source, raw, e.Verified, e.From, e.To, e.Effect, e.RefundID, e.Reason,
			dbTime(e.CreatedAt)).Scan(&e.ID)
		if err != nil {
			return err
		}
	}
	return nil
}

// AppendEvents implements [payment.Store.AppendEvents].
func (s *Store) AppendEvents(ctx context.Context, orderID string, events ...payment.OrderEvent) error {
	if err := validateEvents(events); err != nil {
		return fmt.Errorf("sqlitestore: append events: %w", err)
	}
	stored := cloneEvents(events)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if len(stored) == 0 {
			var one int
			return tx.QueryRowContext(ctx, `SELECT 1 FROM payment_orders WHERE id = ?`, orderID).Scan(&one)
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
	return queryAll(ctx, s, "list events of order "+orderID, scanEvent, `SELECT `+eventColumns+` FROM payment_order_events
		WHERE order_id = ? ORDER BY seq`, orderID)
}
