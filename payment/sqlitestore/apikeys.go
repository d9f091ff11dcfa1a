package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"zhifu/payment"
)

var _ payment.APIKeyStore = (*Store)(nil)

// apiKeyColumns are the columns scanAPIKey reads, in its order.
const apiKeyColumns = `id, name, hash, created_at, revoked_at`

// scanAPIKey reads one row of apiKeyColumns.
func scanAPIKey(r rowScanner) (*payment.APIKey, error) {
	k := new(payment.APIKey)
	if err := r.Scan(&k.ID, &k.Name, &k.Hash, timeCol{&k.CreatedAt}, timeCol{&k.RevokedAt}); err != nil {
		return nil, err
	}
	return k, nil
}

// CreateAPIKey implements [payment.APIKeyStore.CreateAPIKey].
func (s *Store) CreateAPIKey(ctx context.Context, k *payment.APIKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("sqlitestore: create API key: %w", err)
	}
	created := s.stamp(k.CreatedAt)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO payment_api_keys (id, name, hash, created_at) VALUES (?, ?, ?, ?)`,
			k.ID, k.Name, k.Hash, dbTime(created))
		return err
	})
	if err != nil {
		return errorf("create API key "+k.ID, err)
	}
	k.CreatedAt, k.RevokedAt = created, time.Time{}
	return nil
}

// GetAPIKey implements [payment.APIKeyStore.GetAPIKey].
func (s *Store) GetAPIKey(ctx context.Context, id string) (*payment.APIKey, error) {
	k, err := scanAPIKey(s.rdb.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM payment_api_keys WHERE id = ?`, id))
	if err != nil {
		return nil, errorf("get API key "+id, err)
	}
	return k, nil
}

// ListAPIKeys implements [payment.APIKeyStore.ListAPIKeys].
func (s *Store) ListAPIKeys(ctx context.Context) ([]payment.APIKey, error) {
	return queryAll(ctx, s, "list API keys", value(scanAPIKey), `SELECT `+apiKeyColumns+` FROM payment_api_keys ORDER BY created_at, id`)
}

// RevokeAPIKey implements [payment.APIKeyStore.RevokeAPIKey].
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	at = s.stamp(at)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var revoked sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM payment_api_keys WHERE id = ?`, id).Scan(&revoked); err != nil {
			return err
		}
		if revoked.Valid {
			return payment.ErrRevoked
		}
		_, err := tx.ExecContext(ctx, `UPDATE payment_api_keys SET revoked_at = ? WHERE id = ?`, dbTime(at), id)
		return err
	})
	if err != nil {
		return errorf("revoke API key "+id, err)
	}
	return nil
}
