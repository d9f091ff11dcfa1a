package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"zhifu/payment"
)

var _ payment.WebhookStore = (*Store)(nil)

// webhookEventColumns are the columns scanWebhookEvent reads, in its
// order.
const webhookEventColumns = `id, order_id, out_trade_no, seq, type, payload, status, attempts,
	created_at, last_attempt_at, delivered_at`

// scanWebhookEvent reads one row of webhookEventColumns.
func scanWebhookEvent(r rowScanner) (payment.WebhookEvent, error) {
	var e payment.WebhookEvent
	err := r.Scan(&e.ID, &e.OrderID, &e.OutTradeNo, &e.Seq, &e.Type, &e.Payload, &e.Status, &e.Attempts,
		timeCol{&e.CreatedAt}, timeCol{&e.LastAttemptAt}, timeCol{&e.DeliveredAt})
	return e, err
}

// webhookAttemptColumns are the columns scanWebhookAttempt reads, in its
// order.
const webhookAttemptColumns = `id, event_id, number, manual, at, duration_us, status_code, response, error, result`

// scanWebhookAttempt reads one row of webhookAttemptColumns.
func scanWebhookAttempt(r rowScanner) (payment.WebhookAttempt, error) {
	var a payment.WebhookAttempt
	var us int64
	err := r.Scan(&a.ID, &a.EventID, &a.Number, &a.Manual, timeCol{&a.At}, &us, &a.StatusCode, &a.Response, &a.Error, &a.Result)
	a.Duration = time.Duration(us) * time.Microsecond
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
		return false, fmt.Errorf("sqlitestore: record webhook event: %w", err)
	}
	created := s.stamp(e.CreatedAt)
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM payment_orders WHERE id = ?`, e.OrderID).Scan(&one); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO payment_webhook_events (id, order_id, out_trade_no, seq, type,
			payload, status, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`,
			e.ID, e.OrderID, e.OutTradeNo, e.Seq, e.Type, e.Payload, payment.WebhookStatusPending, dbTime(created))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, errorf("record webhook event "+e.ID, err)
	}
	if n == 0 {
		return false, nil
	}
	e.Status, e.Attempts, e.CreatedAt = payment.WebhookStatusPending, 0, created
	e.LastAttemptAt, e.DeliveredAt = time.Time{}, time.Time{}
	return true, nil
}

// GetWebhookEvent implements [payment.WebhookStore.GetWebhookEvent].
func (s *Store) GetWebhookEvent(ctx context.Context, id string) (*payment.WebhookEvent, error) {
	e, err := scanWebhookEvent(s.rdb.QueryRowContext(ctx, `SELECT `+webhookEventColumns+`
		FROM payment_webhook_events WHERE id = ?`, id))
	if err != nil {
		return nil, errorf("get webhook event "+id, err)
	}
	return &e, nil
}

// ListWebhookEvents implements [payment.WebhookStore.ListWebhookEvents].
func (s *Store) ListWebhookEvents(ctx context.Context, orderID string) ([]payment.WebhookEvent, error) {
	return s.listWebhookEvents(ctx, "list webhook events of order "+orderID, `SELECT `+webhookEventColumns+`
		FROM payment_webhook_events WHERE order_id = ? ORDER BY seq`, orderID)
}

// ListUndeliveredWebhookEvents implements
// [payment.WebhookStore.ListUndeliveredWebhookEvents].
func (s *Store) ListUndeliveredWebhookEvents(ctx context.Context, since time.Time, limit int) ([]payment.WebhookEvent, error) {
	return s.listWebhookEvents(ctx, "list undelivered webhook events", `SELECT `+webhookEventColumns+`
		FROM payment_webhook_events WHERE status IN ('pending', 'retrying') AND created_at >= ?
		ORDER BY created_at, id LIMIT ?`, dbTime(since), listLimit(limit))
}

// listWebhookEvents returns the events the query selects.
func (s *Store) listWebhookEvents(ctx context.Context, op, query string, args ...any) ([]payment.WebhookEvent, error) {
	return queryAll(ctx, s, op, scanWebhookEvent, query, args...)
}

// RecordWebhookAttempt implements [payment.WebhookStore.RecordWebhookAttempt].
func (s *Store) RecordWebhookAttempt(ctx context.Context, a *payment.WebhookAttempt) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("sqlitestore: record webhook attempt: %w", err)
	}
	at := s.stamp(a.At)
	var id int64
	var number int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE payment_webhook_events SET attempts = attempts + 1,
			status = CASE WHEN status = 'delivered' THEN status ELSE ? END,
			last_attempt_at = ?, delivered_at = CASE WHEN delivered_at IS NULL AND ? = 'delivered' THEN ? ELSE delivered_at END
			WHERE id = ? RETURNING attempts`,
			a.Result, dbTime(at), a.Result, dbTime(at), a.EventID).Scan(&number)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO payment_webhook_attempts (event_id, number, manual, at,
			duration_us, status_code, response, error, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			a.EventID, number, a.Manual, dbTime(at), a.Duration.Microseconds(), a.StatusCode, a.Response, a.Error,
			a.Result).Scan(&id)
	})
	if err != nil {
		return errorf("record webhook attempt of "+a.EventID, err)
	}
	a.ID, a.Number, a.At = id, number, at
	return nil
}

// ListWebhookAttempts implements [payment.WebhookStore.ListWebhookAttempts].
func (s *Store) ListWebhookAttempts(ctx context.Context, eventID string) ([]payment.WebhookAttempt, error) {
	op := "list webhook attempts of " + eventID
	return queryAll(ctx, s, op, scanWebhookAttempt, `SELECT `+webhookAttemptColumns+` FROM payment_webhook_attempts
		WHERE event_id = ? ORDER BY number`, eventID)
}

// ListStateChangesWithoutWebhook implements
// [payment.WebhookStore.ListStateChangesWithoutWebhook].
func (s *Store) ListStateChangesWithoutWebhook(ctx context.Context, since time.Time, limit int) ([]payment.OrderEvent, error) {
	op := "list state changes without webhook"
	return queryAll(ctx, s, op, scanEvent, `SELECT `+eventColumns+` FROM payment_order_events e
		WHERE kind = 'state_changed' AND created_at >= ?
		AND NOT EXISTS (SELECT 1 FROM payment_webhook_events w WHERE w.order_id = e.order_id AND w.seq = e.seq)
		ORDER BY created_at, id LIMIT ?`, dbTime(since), listLimit(limit))
}
