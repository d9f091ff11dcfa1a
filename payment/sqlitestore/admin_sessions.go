package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"zhifu/payment"
)

// RevokeAdminSession implements [payment.AdminSessionStore.RevokeAdminSession].
func (s *Store) RevokeAdminSession(ctx context.Context, hash []byte, expires time.Time) error {
	if err := payment.CheckAdminSessionHash(hash); err != nil {
		return fmt.Errorf("sqlitestore: revoke admin session: %w", err)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO payment_admin_session_revocations (hash, expires_at) VALUES (?, ?)
			ON CONFLICT (hash) DO NOTHING`, hash, dbTime(expires))
		return err
	})
	if err != nil {
		return errorf("revoke admin session", err)
	}
	return nil
}

// AdminSessionRevoked implements [payment.AdminSessionStore.AdminSessionRevoked].
func (s *Store) AdminSessionRevoked(ctx context.Context, hash []byte) (bool, error) {
	var one int
	err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM payment_admin_session_revocations WHERE hash = ?`, hash).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, errorf("check admin session", err)
	}
	return true, nil
}

// PurgeAdminSessionRevocations implements [payment.AdminSessionStore.PurgeAdminSessionRevocations].
func (s *Store) PurgeAdminSessionRevocations(ctx context.Context, expiredBefore time.Time) (int64, error) {
	return s.execCount(ctx, "purge admin session revocations", `DELETE FROM payment_admin_session_revocations WHERE expires_at < ?`, dbTime(expiredBefore))
}
