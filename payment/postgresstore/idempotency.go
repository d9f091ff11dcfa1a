package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/payment"
)

var _ payment.IdempotencyStore = (*Store)(nil)

// ClaimIdempotencyKey implements [payment.IdempotencyStore.ClaimIdempotencyKey].
// One INSERT … ON CONFLICT DO UPDATE … WHERE decides: the row lock it
// takes makes one of concurrent claims win, on any number of instances.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, c payment.IdempotencyClaim) (*payment.IdempotencyRecord, error) {
	r := c.Record
	if r == nil {
		return nil, fmt.Errorf("postgresstore: claim idempotency key: %w: no record", payment.ErrInvalid)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("postgresstore: claim idempotency key: %w", err)
	}
	created := s.stamp(r.CreatedAt)
	for range 3 {
		err := s.q.do(ctx, idempotencyLockKey(r.APIKeyID, r.Key), claimIdempotencySQL,
			[]any{r.APIKeyID, r.Key, r.RequestHash, created, dbNullTime(c.ExpiredBefore), dbNullTime(c.StaleBefore)}, scanOneRow)
		if err == nil {
			r.Status, r.Body, r.CreatedAt = 0, nil, created
			return nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, errorf("claim idempotency key", err)
		}
		// Taken: read what is there. A purge in between makes it vanish:
		// claim again.
		e := &payment.IdempotencyRecord{APIKeyID: r.APIKeyID, Key: r.Key}
		var at pgtype.Timestamptz
		err = s.pool.QueryRow(ctx, `SELECT request_hash, status, body, created_at FROM payment_idempotency_keys
			WHERE api_key_id = $1 AND key = $2`, r.APIKeyID, r.Key).Scan(&e.RequestHash, &e.Status, &e.Body, &at)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, errorf("claim idempotency key", err)
		}
		e.CreatedAt = fromDB(at)
		return e, nil
	}
	return nil, fmt.Errorf("postgresstore: claim idempotency key: %w: the record kept vanishing", payment.ErrConflict)
}

// CompleteIdempotencyKey implements [payment.IdempotencyStore.CompleteIdempotencyKey].
func (s *Store) CompleteIdempotencyKey(ctx context.Context, apiKeyID, key string, status int, body []byte) error {
	if status <= 0 {
		return fmt.Errorf("postgresstore: complete idempotency key: %w: status %d", payment.ErrInvalid, status)
	}
	if body == nil {
		body = []byte{}
	}
	err := s.q.do(ctx, idempotencyLockKey(apiKeyID, key), `UPDATE payment_idempotency_keys SET status = $1, body = $2
		WHERE api_key_id = $3 AND key = $4 AND status = 0 RETURNING 1`, []any{status, body, apiKeyID, key}, scanOneRow)
	if errors.Is(err, pgx.ErrNoRows) {
		// Missing (pgx.ErrNoRows again), or completed already.
		var cur int
		err = s.pool.QueryRow(ctx, `SELECT status FROM payment_idempotency_keys WHERE api_key_id = $1 AND key = $2`,
			apiKeyID, key).Scan(&cur)
		if err == nil {
			err = payment.ErrConflict
		}
	}
	if err != nil {
		return errorf("complete idempotency key", err)
	}
	return nil
}

// claimIdempotencySQL is ClaimIdempotencyKey's statement: a row when the
// key was claimed, none when another holds it.
const claimIdempotencySQL = `INSERT INTO payment_idempotency_keys AS k
	(api_key_id, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, 0, '', $4)
	ON CONFLICT (api_key_id, key) DO UPDATE
		SET request_hash = EXCLUDED.request_hash, status = 0, body = '', created_at = EXCLUDED.created_at
		WHERE k.created_at < $5 OR (k.status = 0 AND k.created_at < $6)
	RETURNING true`

// idempotencyLockKey is the key of an idempotency record's statement in
// the write pipeline: the row it locks.
func idempotencyLockKey(apiKeyID, key string) string {
	return "idempotency/" + apiKeyID + "/" + key
}

// scanOneRow reads rows to their end: nil when there was one row at
// least, pgx.ErrNoRows when there was none.
func scanOneRow(rows pgx.Rows) error {
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n == 0 {
		return pgx.ErrNoRows
	}
	return nil
}

// ReleaseIdempotencyKey implements [payment.IdempotencyStore.ReleaseIdempotencyKey].
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, apiKeyID, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM payment_idempotency_keys WHERE api_key_id = $1 AND key = $2 AND status = 0`,
		apiKeyID, key); err != nil {
		return errorf("release idempotency key", err)
	}
	return nil
}

// PurgeIdempotencyKeys implements [payment.IdempotencyStore.PurgeIdempotencyKeys].
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, createdBefore time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM payment_idempotency_keys WHERE created_at < $1`, norm(createdBefore))
	if err != nil {
		return 0, errorf("purge idempotency keys", err)
	}
	return tag.RowsAffected(), nil
}
