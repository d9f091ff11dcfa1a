package postgresstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/payment"
)

var _ payment.APIKeyStore = (*Store)(nil)

// apiKeyColumns are the columns scanAPIKey reads, in its order.
const apiKeyColumns = `id, name, hash, created_at, revoked_at`

// scanAPIKey reads one row of apiKeyColumns.
func scanAPIKey(r pgx.Row) (payment.APIKey, error) {
	var k payment.APIKey
	var created, revoked pgtype.Timestamptz
	err := r.Scan(&k.ID, &k.Name, &k.Hash, &created, &revoked)
	k.CreatedAt, k.RevokedAt = fromDB(created), fromDB(revoked)
	return k, err
}

// CreateAPIKey implements [payment.APIKeyStore.CreateAPIKey].
func (s *Store) CreateAPIKey(ctx context.Context, k *payment.APIKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("postgresstore: create API key: %w", err)
	}
	created := s.stamp(k.CreatedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO payment_api_keys (id, name, hash, created_at) VALUES ($1, $2, $3, $4)`,
		k.ID, k.Name, k.Hash, created)
	if err != nil {
		return errorf("create API key "+k.ID, err)
	}
	k.CreatedAt, k.RevokedAt = created, time.Time{}
	return nil
}

// GetAPIKey implements [payment.APIKeyStore.GetAPIKey].
func (s *Store) GetAPIKey(ctx context.Context, id string) (*payment.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM payment_api_keys WHERE id = $1`, id))
	if err != nil {
		return nil, errorf("get API key "+id, err)
	}
	return &k, nil
}

// ListAPIKeys implements [payment.APIKeyStore.ListAPIKeys].
func (s *Store) ListAPIKeys(ctx context.Context) ([]payment.APIKey, error) {
	return collect(ctx, s, "list API keys", scanAPIKey, `SELECT `+apiKeyColumns+` FROM payment_api_keys ORDER BY created_at, id`)
}

// RevokeAPIKey implements [payment.APIKeyStore.RevokeAPIKey].
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	at = s.stamp(at)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var revoked pgtype.Timestamptz
		if err := tx.QueryRow(ctx, `SELECT revoked_at FROM payment_api_keys WHERE id = $1 FOR UPDATE`, id).Scan(&revoked); err != nil {
			return err
		}
		if revoked.Valid {
			return payment.ErrRevoked
		}
		_, err := tx.Exec(ctx, `UPDATE payment_api_keys SET revoked_at = $1 WHERE id = $2`, at, id)
		return err
	})
	if err != nil {
		return errorf("revoke API key "+id, err)
	}
	return nil
}
