package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zhifu/payment"
)

// RevokeAdminSession implements [payment.AdminSessionStore.RevokeAdminSession].
func (s *Store) RevokeAdminSession(ctx context.Context, hash []byte, expires time.Time) error {
	if err := payment.CheckAdminSessionHash(hash); err != nil {
		return fmt.Errorf("postgresstore: revoke admin session: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO payment_admin_session_revocations (hash, expires_at) VALUES ($1, $2)
		ON CONFLICT (hash) DO NOTHING`, hash, norm(expires)); err != nil {
		return errorf("revoke admin session", err)
	}
	return nil
}

// AdminSessionRevoked implements [payment.AdminSessionStore.AdminSessionRevoked].
func (s *Store) AdminSessionRevoked(ctx context.Context, hash []byte) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM payment_admin_session_revocations WHERE hash = $1`, hash).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, errorf("check admin session", err)
	}
	return true, nil
}

// PurgeAdminSessionRevocations implements [payment.AdminSessionStore.PurgeAdminSessionRevocations].
func (s *Store) PurgeAdminSessionRevocations(ctx context.Context, expiredBefore time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM payment_admin_session_revocations WHERE expires_at < $1`, norm(expiredBefore))
	if err != nil {
		return 0, errorf("purge admin session revocations", err)
	}
	return tag.RowsAffected(), nil
}
