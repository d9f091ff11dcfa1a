package postgresstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// riverMigrationLock is the key of the advisory lock held while River's
// migrations run ("zhifu-rv" in ASCII).
const riverMigrationLock int64 = 0x7a686966752d7276

// RiverDriver returns a River driver on the store's pool, for
// [zhifu/payment.NewJobs]: the jobs live in the same database as the
// orders, and every instance of the service sharing the database shares
// them (River locks each job it fetches with FOR UPDATE SKIP LOCKED, so
// one instance runs it).
func (s *Store) RiverDriver() riverdriver.Driver[pgx.Tx] {
	return riverpgxv5.New(s.pool)
}

// LockMigrations runs migrate while holding a PostgreSQL advisory lock,
// so that instances starting together apply River's migrations one after
// the other, the later ones finding nothing to do. It is
// [zhifu/payment.JobsConfig.MigrationLock].
func (s *Store) LockMigrations(ctx context.Context, migrate func(ctx context.Context) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgresstore: lock migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", riverMigrationLock); err != nil {
		return fmt.Errorf("postgresstore: lock migrations: %w", err)
	}
	defer func() {
		// A failed unlock (the connection broke) ends the session, and
		// with it the lock.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", riverMigrationLock); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return migrate(ctx)
}
