package postgresstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

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

// insertEventsFrom is the data-modifying CTE "ins" that appends events to
// the log of one order, numbered from the row of the CTE "u" (the order's
// id and its event_seq, already advanced by the number of events): it
// inserts nothing when u has no row. Its parameters start at $N (N given),
// the arrays of eventArrays in their order.
func insertEventsFrom(n int) string {
	p := func(i int) string { return "$" + strconv.Itoa(n+i) }
	return `ins AS (INSERT INTO payment_order_events (order_id, seq, kind, source, raw,
			verified, from_status, to_status, effect, refund_id, reason, created_at)
		SELECT u.id, u.event_seq - ` + p(0) + ` + e.ord, e.kind, e.source, e.raw, e.verified, e.from_status,
			e.to_status, e.effect, e.refund_id, e.reason, e.created_at
		FROM u, unnest(` + p(1) + `::text[], ` + p(2) + `::text[], ` + p(3) + `::bytea[], ` + p(4) + `::boolean[], ` +
		p(5) + `::text[], ` + p(6) + `::text[], ` + p(7) + `::text[], ` + p(8) + `::text[], ` + p(9) + `::text[], ` +
		p(10) + `::timestamptz[])
			WITH ORDINALITY AS e(kind, source, raw, verified, from_status, to_status, effect, refund_id, reason,
				created_at, ord)
		RETURNING id, seq)`
}

// eventArrays returns the parameters of insertEventsFrom for events,
// stamping their CreatedAt and filling in their OrderID: the number of
// events, then one array per column.
func (s *Store) eventArrays(id string, events []payment.OrderEvent) []any {
	n := len(events)
	kind, source, from, to, effect, refund, reason := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	raw, verified, created := make([][]byte, n), make([]bool, n), make([]time.Time, n)
	for i := range events {
		e := &events[i]
		e.OrderID, e.CreatedAt = id, s.stamp(e.CreatedAt)
		kind[i], source[i], from[i], to[i] = string(e.Kind), string(e.Source), string(e.From), string(e.To)
		effect[i], refund[i], reason[i] = string(e.Effect), e.RefundID, e.Reason
		if len(e.Raw) > 0 {
			raw[i] = e.Raw
		}
		verified[i], created[i] = e.Verified, e.CreatedAt
	}
	return []any{n, kind, source, raw, verified, from, to, effect, refund, reason, created}
}

// scanInserted fills in the ID and Seq of events from rows of (id, seq) of
// the inserted events in the order of seq, and returns how many rows there
// were. A row with a NULL id (the order's row, no event inserted) counts
// but fills nothing.
func scanInserted(rows pgx.Rows, events []payment.OrderEvent) (int, error) {
	defer rows.Close()
	var n, i int
	for rows.Next() {
		var id, seq *int64
		if err := rows.Scan(&id, &seq); err != nil {
			return n, err
		}
		n++
		if id == nil {
			continue
		}
		if i >= len(events) {
			return n, fmt.Errorf("more events inserted than given")
		}
		events[i].ID, events[i].Seq = *id, *seq
		i++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if n > 0 && i != len(events) {
		return n, fmt.Errorf("%d events inserted, not %d", i, len(events))
	}
	return n, nil
}

// insertEventsSQL is insertEvents' statement.
var insertEventsSQL = `WITH u AS (UPDATE payment_orders SET event_seq = event_seq + $2 WHERE id = $1
		RETURNING id, event_seq),
	` + insertEventsFrom(2) + `
	SELECT id, seq FROM ins ORDER BY seq`

// insertEvents appends events to the log of order id in tx, filling in
// their ID, OrderID, Seq and a zero CreatedAt. The order's event_seq
// counter hands out the numbers, and its row lock orders concurrent
// appends; a missing order is pgx.ErrNoRows. One statement: the counter's
// bump and the inserts.
func (s *Store) insertEvents(ctx context.Context, tx pgx.Tx, id string, events []payment.OrderEvent) error {
	if len(events) == 0 {
		return nil
	}
	args := append([]any{id}, s.eventArrays(id, events)...)
	rows, err := tx.Query(ctx, insertEventsSQL, args...)
	if err != nil {
		return err
	}
	n, err := scanInserted(rows, events)
	if err != nil {
		return err
	}
	if n == 0 {
		return pgx.ErrNoRows
	}
	return nil
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
	return collect(ctx, s, "list events of order "+orderID, scanEvent, `SELECT `+eventColumns+` FROM payment_order_events
		WHERE order_id = $1 ORDER BY seq`, orderID)
}
