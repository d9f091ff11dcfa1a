// Package postgresstore is a [payment.Store] on PostgreSQL through pgx:
// many stateless zhifu instances on one shared database.
//
// Every method is one transaction at READ COMMITTED. The compare-and-set
// of an order is a conditional UPDATE on its version; the order's row is
// the lock that serializes its events (their Seq comes from a counter on
// the row) and its refund reservations, and it is always taken before a
// refund's row, so that no two methods deadlock.
//
// # Schema
//
// The tables are named payment_* and live in the first schema of the
// connection's search_path, so that they can share it with River's
// river_* and the application's own. The migrations are the numbered
// files in migrations/, embedded and applied by goose when the store
// opens, under a PostgreSQL advisory lock so that instances starting
// together migrate once.
package postgresstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"zhifu/payment"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsFS returns the store's migrations, the numbered SQL files that
// Open applies.
func MigrationsFS() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// migrationTable is the table where goose records the applied migrations.
const migrationTable = "payment_schema_version"

// Store is a [payment.Store] on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	q    *pipeline // the group commit of the hot writes (pipeline.go)
	r    *pipeline // the grouped reads of single orders
	now  func() time.Time
}

var _ payment.Store = (*Store)(nil)

// DefaultMaxConns is the size of the store's connection pool when the DSN
// does not set pool_max_conns: at least this many (more with more CPUs, as
// pgx would have), so that the store's two pipelines (pipeline.go) and the
// other queries each have connections.
const DefaultMaxConns = 8

// Open connects to the database of dsn (a URL such as
// "postgres://user@host:5432/db?sslmode=disable" or key=value pairs, as
// pgx reads them, including pool settings such as pool_max_conns; see
// DefaultMaxConns), applies the migrations it lacks and returns the store.
// Close the store when done.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgresstore: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, DefaultMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgresstore: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgresstore: migrate: %w", err)
	}
	workers := pipelineWorkers(cfg.MaxConns)
	return &Store{
		pool: pool,
		q:    newPipeline(pool, workers, defaultMaxBatch),
		r:    newPipeline(pool, workers, defaultMaxBatch),
		now:  time.Now,
	}, nil
}

// migrate applies the migrations the database lacks, under an advisory
// lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	// Retry the lock every second for up to 5 minutes, instead of goose's
	// default of every 5 seconds: stores opened together (instances
	// starting at once, parallel tests) then wait about a second, not five.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, MigrationsFS(),
		goose.WithTableName(migrationTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Pool returns the store's connection pool, for sharing it with River's
// pgx driver. Do not close it: Close does.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close finishes the writes queued, then closes the connection pool.
// Calls after Close fail.
func (s *Store) Close() error {
	s.q.close()
	s.r.close()
	s.pool.Close()
	return nil
}

// Commits returns the number of transactions the group commit has run
// (batches and statements alone), for tests and benchmarks.
func (s *Store) Commits() int64 { return s.q.commits.Load() }

// tx runs fn in a transaction, committed if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// collect runs the query with args and returns its rows, each read by
// scan; op names the operation in an error.
func collect[T any](ctx context.Context, s *Store, op string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, errorf(op, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, errorf(op, err)
	}
	return list, nil
}

// stamp returns t, or the current time when t is zero, in UTC at
// microsecond precision, as stored.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = s.now()
	}
	return norm(t)
}

// errorf returns the error of operation op, with the payment sentinels
// made of driver errors.
func errorf(op string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = payment.ErrNotFound
	case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation
		err = fmt.Errorf("%w: %w", payment.ErrDuplicate, err)
	}
	return fmt.Errorf("postgresstore: %s: %w", op, err)
}
