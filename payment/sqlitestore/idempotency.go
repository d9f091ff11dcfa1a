package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"zhifu/payment"
)

var _ payment.IdempotencyStore = (*Store)(nil)

// ClaimIdempotencyKey implements [payment.IdempotencyStore.ClaimIdempotencyKey].
// The check and the insert run in one unit of the commit queue, which runs
// one unit at a time: of concurrent claims, one wins.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, c payment.IdempotencyClaim) (*payment.IdempotencyRecord, error) {
	r := c.Record
	if r == nil {
		return nil, fmt.Errorf("sqlitestore: claim idempotency key: %w: no record", payment.ErrInvalid)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: claim idempotency key: %w", err)
	}
	created := s.stamp(r.CreatedAt)
	var existing *payment.IdempotencyRecord
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		existing = nil
		e := &payment.IdempotencyRecord{APIKeyID: r.APIKeyID, Key: r.Key}
		err := tx.QueryRowContext(ctx, `SELECT request_hash, status, body, created_at FROM payment_idempotency_keys
			WHERE api_key_id = ? AND key = ?`, r.APIKeyID, r.Key).Scan(&e.RequestHash, &e.Status, &e.Body, timeCol{&e.CreatedAt})
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case e.CreatedAt.Before(c.ExpiredBefore), !e.Done() && e.CreatedAt.Before(c.StaleBefore):
			// Expired, or abandoned: replaced below.
		default:
			existing = e
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO payment_idempotency_keys
			(api_key_id, key, request_hash, status, body, created_at) VALUES (?, ?, ?, 0, x'', ?)`,
			r.APIKeyID, r.Key, r.RequestHash, dbTime(created))
		return err
	})
	if err != nil {
		return nil, errorf("claim idempotency key", err)
	}
	if existing == nil {
		r.Status, r.Body, r.CreatedAt = 0, nil, created
	}
	return existing, nil
}

// CompleteIdempotencyKey implements [payment.IdempotencyStore.CompleteIdempotencyKey].
func (s *Store) CompleteIdempotencyKey(ctx context.Context, apiKeyID, key string, status int, body []byte) error {
	if status <= 0 {
		return fmt.Errorf("sqlitestore: complete idempotency key: %w: status %d", payment.ErrInvalid, status)
	}
	if body == nil {
		body = []byte{}
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var cur int
		if err := tx.QueryRowContext(ctx, `SELECT status FROM payment_idempotency_keys WHERE api_key_id = ? AND key = ?`,
			apiKeyID, key).Scan(&cur); err != nil {
			return err
		}
		if cur != 0 {
			return payment.ErrConflict
		}
		_, err := tx.ExecContext(ctx, `UPDATE payment_idempotency_keys SET status = ?, body = ? WHERE api_key_id = ? AND key = ?`,
			status, body, apiKeyID, key)
		return err
	})
	if err != nil {
		return errorf("complete idempotency key", err)
	}
	return nil
}

// ReleaseIdempotencyKey implements [payment.IdempotencyStore.ReleaseIdempotencyKey].
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, apiKeyID, key string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM payment_idempotency_keys WHERE api_key_id = ? AND key = ? AND status = 0`, apiKeyID, key)
		return err
	})
	if err != nil {
		return errorf("release idempotency key", err)
	}
	return nil
}

// PurgeIdempotencyKeys implements [payment.IdempotencyStore.PurgeIdempotencyKeys].
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, createdBefore time.Time) (int64, error) {
	return s.execCount(ctx, "purge idempotency keys", `DELETE FROM payment_idempotency_keys WHERE created_at < ?`, dbTime(createdBefore))
}
