package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/payment/sqlitestore"
)

// database is the store of zhifu serve, on SQLite or PostgreSQL. One of
// sqlite and postgres is set, for what needs the concrete store (a
// readiness check, a River driver of its own).
type database struct {
	store    fullStore
	sqlite   *sqlitestore.Store
	postgres *postgresstore.Store
	// schema is the PostgreSQL schema named first by the DSN's
	// search_path, or "": River's tables go there too.
	schema string
}

// fullStore is everything zhifu serve keeps in its database: orders,
// webhooks, bill reconciliations, API keys and idempotency keys. Both
// stores implement it.
type fullStore interface {
	payment.BillStore // and so payment.Store
	payment.WebhookStore
	payment.APIKeyStore
	payment.IdempotencyStore
	// Commits returns the transactions of the store's group commit, for
	// the metrics.
	Commits() int64
}

var (
	_ fullStore = (*sqlitestore.Store)(nil)
	_ fullStore = (*postgresstore.Store)(nil)
)

// openDatabase opens the store of d, applying its migrations: a SQLite
// file, or a PostgreSQL database (whose store takes a lock while it
// migrates, so that instances starting together migrate once).
func openDatabase(ctx context.Context, d dsn) (*database, error) {
	if !d.isPostgres() {
		s, err := sqlitestore.Open(ctx, string(d))
		if err != nil {
			return nil, err
		}
		return &database{store: s, sqlite: s}, nil
	}
	cfg, err := pgx.ParseConfig(string(d))
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", d, err)
	}
	schema := ""
	if sp := cfg.RuntimeParams["search_path"]; sp != "" {
		first, _, _ := strings.Cut(sp, ",")
		schema = strings.Trim(strings.TrimSpace(first), `"`)
	}
	if schema != "" {
		if err := checkSchema(ctx, cfg, schema); err != nil {
			return nil, err
		}
	}
	s, err := postgresstore.Open(ctx, string(d))
	if err != nil {
		return nil, err
	}
	return &database{store: s, postgres: s, schema: schema}, nil
}

// checkSchema makes sure that the schema the DSN's search_path names
// exists: the tables are made there, and PostgreSQL's own error for a
// missing one names a missing table instead.
func checkSchema(ctx context.Context, cfg *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the schema %q, first in the DSN's search_path, does not exist: create it (CREATE SCHEMA %s) or name another", schema, pgx.Identifier{schema}.Sanitize())
	}
	return nil
}

// newJobs returns the payment jobs on the database: River's tables are
// migrated (on PostgreSQL under the store's lock) and the jobs are
// returned, not started. cfg's Store, Schema and MigrationLock are set
// here.
func (db *database) newJobs(ctx context.Context, cfg payment.JobsConfig) (*payment.Jobs, error) {
	cfg.Store = db.store
	if db.postgres != nil {
		cfg.Schema = db.schema
		cfg.MigrationLock = db.postgres.LockMigrations
		return payment.NewJobs(ctx, db.postgres.RiverDriver(), cfg)
	}
	return payment.NewJobs(ctx, db.sqlite.RiverDriver(), cfg)
}

// close closes the store.
func (db *database) close() error {
	if db.postgres != nil {
		return db.postgres.Close()
	}
	return db.sqlite.Close()
}
