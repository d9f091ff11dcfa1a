package sqlitestore

import (
	"context"
	"fmt"

	"zhifu/payment"
)

var _ payment.Pinger = (*Store)(nil)

// Ping implements [payment.Pinger]: the database answers and its schema
// is at the latest migration of MigrationsFS.
func (s *Store) Ping(ctx context.Context) error {
	want, err := payment.LatestMigration(MigrationsFS())
	if err != nil {
		return fmt.Errorf("sqlitestore: ping: %w", err)
	}
	var have int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM `+migrationTable).Scan(&have); err != nil {
		return fmt.Errorf("sqlitestore: ping: %w", err)
	}
	if have < want {
		return fmt.Errorf("sqlitestore: ping: schema at migration %d, want %d", have, want)
	}
	return nil
}
