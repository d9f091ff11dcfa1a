package postgresstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/payment"
)

var _ payment.WebhookStore = (*Store)(nil)

// webhookEventColumns are the columns scanWebhookEvent reads, in its
// order.
const webhookEventColumns = `id, order_id, out_trade_no, seq, type, payload, status, attempts,
	created_at, last_attempt_at, delivered_at`

// scanWebhookEvent reads one row of webhookEventColumns.
func scanWebhookEvent(r pgx.Row) (payment.WebhookEvent, error) {
	var e payment.WebhookEvent
	var created, last, delivered pgtype.Timestamptz
	err := r.Scan(&e.ID, &e.OrderID, &e.OutTradeNo, &e.Seq, &e.Type, &e.Payload, &e.Status, &e.Attempts,
		&created, &last, &delivered)
	e.CreatedAt, e.LastAttemptAt, e.DeliveredAt = fromDB(created), fromDB(last), fromDB(delivered)
	return e, err
}

// webhookAttemptColumns are the columns scanWebhookAttempt reads, in its
// order.
const webhookAttemptColumns = `id, event_id, number, manual, at, duration_us, status_code, response, error, result`

// scanWebhookAttempt reads one row of webhookAttemptColumns.
func scanWebhookAttempt(r pgx.Row) (payment.WebhookAttempt, error) {
	var a payment.WebhookAttempt
	var at pgtype.Timestamptz
	var us int64
	err := r.Scan(&a.ID, &a.EventID, &a.Number, &a.Manual, &at, &us, &a.StatusCode, &a.Response, &a.Error, &a.Result)
	a.At, a.Duration = fromDB(at), time.Duration(us)*time.Microsecond
	return a, err
}

// listLimit returns the number of rows to list for limit: limit itself,
// or DefaultPageSize when it is not positive.
func listLimit(limit int) int {
	if limit <= 0 {
		return payment.DefaultPageSize
	}
	return limit
}

// RecordWebhookEvent implements [payment.WebhookStore.RecordWebhookEvent].
func (s *Store) RecordWebhookEvent(ctx context.Context, e *payment.WebhookEvent) (bool, error) {
	if err := e.Validate(); err != nil {
		return false, fmt.Errorf("postgresstore: record webhook event: %w", err)
	}
	created := s.stamp(e.CreatedAt)
	var inserted bool
	// The order's existence is checked in the same statement: a missing
	// order inserts nothing and selects no row (ErrNoRows: not found).
	err := s.pool.QueryRow(ctx, `WITH o AS (SELECT id FROM payment_orders WHERE id = $2),
		ins AS (INSERT INTO payment_webhook_events (id, order_id, out_trade_no, seq, type, payload, status,
			attempts, created_at) SELECT $1, o.id, $3, $4, $5, $6, $7, 0, $8 FROM o
			ON CONFLICT DO NOTHING RETURNING id)
		SELECT EXISTS (SELECT 1 FROM ins) FROM o`,
		e.ID, e.OrderID, e.OutTradeNo, e.Seq, string(e.Type), e.Payload, string(payment.WebhookStatusPending), created).Scan(&inserted)
	if err != nil {
		return false, errorf("record webhook event "+e.ID, err)
	}
	if !inserted {
		return false, nil
	}
	e.Status, e.Attempts, e.CreatedAt = payment.WebhookStatusPending, 0, created
	e.LastAttemptAt, e.DeliveredAt = time.Time{}, time.Time{}
	return true, nil
}

// GetWebhookEvent implements [payment.WebhookStore.GetWebhookEvent].
func (s *Store) GetWebhookEvent(ctx context.Context, id string) (*payment.WebhookEvent, error) {
	e, err := scanWebhookEvent(s.pool.QueryRow(ctx, `SELECT `+webhookEventColumns+`
		FROM payment_webhook_events WHERE id = $1`, id))
	if err != nil {
		return nil, errorf("get webhook event "+id, err)
	}
	return &e, nil
}

// ListWebhookEvents implements [payment.WebhookStore.ListWebhookEvents].
func (s *Store) ListWebhookEvents(ctx context.Context, orderID string) ([]payment.WebhookEvent, error) {
	return s.listWebhookEvents(ctx, "list webhook events of order "+orderID, `SELECT `+webhookEventColumns+`
		FROM payment_webhook_events WHERE order_id = $1 ORDER BY seq`, orderID)
}

// ListUndeliveredWebhookEvents implements
// [payment.WebhookStore.ListUndeliveredWebhookEvents].
func (s *Store) ListUndeliveredWebhookEvents(ctx context.Context, since time.Time, limit int) ([]payment.WebhookEvent, error) {
	return s.listWebhookEvents(ctx, "list undelivered webhook events", `SELECT `+webhookEventColumns+`
		FROM payment_webhook_events WHERE status IN ('pending', 'retrying') AND created_at >= $1
		ORDER BY created_at, id LIMIT $2`, norm(since), listLimit(limit))
}

// listWebhookEvents returns the events the query selects.
func (s *Store) listWebhookEvents(ctx context.Context, op, query string, args ...any) ([]payment.WebhookEvent, error) {
	return collect(ctx, s, op, scanWebhookEvent, query, args...)
}

// RecordWebhookAttempt implements [payment.WebhookStore.RecordWebhookAttempt].
// One statement: the event's row, updated first, is the lock that numbers
// its attempts.
func (s *Store) RecordWebhookAttempt(ctx context.Context, a *payment.WebhookAttempt) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("postgresstore: record webhook attempt: %w", err)
	}
	at := s.stamp(a.At)
	var id int64
	var number int
	err := s.pool.QueryRow(ctx, `WITH u AS (UPDATE payment_webhook_events SET attempts = attempts + 1,
			status = CASE WHEN status = 'delivered' THEN status ELSE $2 END,
			last_attempt_at = $3, delivered_at = CASE WHEN delivered_at IS NULL AND $2 = 'delivered' THEN $3 ELSE delivered_at END
			WHERE id = $1 RETURNING id, attempts)
		INSERT INTO payment_webhook_attempts (event_id, number, manual, at, duration_us, status_code, response, error, result)
		SELECT u.id, u.attempts, $4, $3, $5, $6, $7, $8, $2 FROM u RETURNING id, number`,
		a.EventID, string(a.Result), at, a.Manual, a.Duration.Microseconds(), a.StatusCode, a.Response, a.Error).Scan(&id, &number)
	if err != nil {
		return errorf("record webhook attempt of "+a.EventID, err)
	}
	a.ID, a.Number, a.At = id, number, at
	return nil
}

// ListWebhookAttempts implements [payment.WebhookStore.ListWebhookAttempts].
func (s *Store) ListWebhookAttempts(ctx context.Context, eventID string) ([]payment.WebhookAttempt, error) {
	op := "list webhook attempts of " + eventID
	return collect(ctx, s, op, scanWebhookAttempt, `SELECT `+webhookAttemptColumns+` FROM payment_webhook_attempts
		WHERE event_id = $1 ORDER BY number`, eventID)
}

// ListStateChangesWithoutWebhook implements
// [payment.WebhookStore.ListStateChangesWithoutWebhook].
func (s *Store) ListStateChangesWithoutWebhook(ctx context.Context, since time.Time, limit int) ([]payment.OrderEvent, error) {
	op := "list state changes without webhook"
	return collect(ctx, s, op, scanEvent, `SELECT `+eventColumns+` FROM payment_order_events e
		WHERE kind = 'state_changed' AND created_at >= $1
		AND NOT EXISTS (SELECT 1 FROM payment_webhook_events w WHERE w.order_id = e.order_id AND w.seq = e.seq)
		ORDER BY created_at, id LIMIT $2`, norm(since), listLimit(limit))
}
