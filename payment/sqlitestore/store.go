// Package sqlitestore is a [payment.Store] on SQLite, through the pure-Go
// driver modernc.org/sqlite: the embedded default of zhifu, one file, no
// server.
//
// # Durability and concurrency
//
// The database runs in WAL mode with synchronous=FULL, so that a commit is
// on disk when it returns, with foreign keys on and a busy timeout. Every
// write goes over a single connection (as River's SQLite driver advises,
// to avoid "database is locked"); the reads outside a transaction go over a
// small pool of read-only connections, which in WAL mode read the last
// commit while a write is running.
//
// Writes go through a commit queue: every write is a unit of work, and one
// goroutine runs the units waiting in the queue together in one
// transaction, each in its own savepoint, and commits them with one fsync
// (group commit). A unit that fails (a lost compare-and-set, a duplicate)
// is rolled back to its savepoint and does not disturb the others; a
// caller returns only once the transaction holding its unit has committed.
// Under concurrent writes, such as many notifies at once, commits are
// shared and the store does more writes per second than the disk does
// fsyncs. While writes come from concurrent callers, a small batch waits
// up to a millisecond for more before it commits (commit.go); a
// writer alone is never delayed. Checkpoints (copying the WAL into the
// database file) run in a goroutine of their own, not in the writer's
// commits.
//
// # Schema
//
// The tables are named payment_*, so that they can share the database with
// River's river_* and the application's own. The migrations are the
// numbered files in migrations/, embedded and applied by goose when the
// store opens.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"zhifu/payment"
)

// Migrations holds the numbered SQL migrations, 0001_init.sql and on.
//
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

// readConns is the size of the pool of read-only connections.
const readConns = 4

// busyTimeout is how long a statement waits for a lock held by another
// connection (another process, or River's own connection) before failing.
const busyTimeout = 10 * time.Second

// Store is a [payment.Store] on one SQLite database file.
type Store struct {
	db *sql.DB
	// rdb is a pool of read-only connections for the reads outside a
	// transaction: in WAL mode they read the last commit while the
	// writer's transaction runs and waits for its fsync, instead of
	// queueing for the one connection that writes.
	rdb   *sql.DB
	q     *committer
	ckpt  *checkpointer
	stmts *stmtCache
	now   func() time.Time
}

var _ payment.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating it if needed, applies
// the migrations it lacks and returns the store. The path is a file name
// (not a URI, and without "?"); ":memory:" is refused, because a store must
// survive a crash. Close the store when done.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: bad database path %q: want a file name", path)
	}
	dsn := "file:" + path + "?" + strings.Join([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(1)",
		// The group commit runs each unit of work in a savepoint: SQLite
		// keeps the pages a savepoint changes in a statement journal, a
		// temporary file by default (a pwrite per page, a quarter of the
		// writer's time). It only serves to roll a savepoint back inside
		// the open transaction, never for durability (the WAL is), so it
		// lives in memory.
		"_pragma=temp_store(MEMORY)",
		// Checkpoints run in the background (checkpoint.go).
		"_pragma=wal_autocheckpoint(0)",
		"_txlock=immediate",
	}, "&")
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := checkPragmas(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: migrate %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", "file:"+path+"?"+strings.Join([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=query_only(1)",
	}, "&"))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	stmts, err := newStmtCache(ctx, db, rdb)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	cdb, err := sql.Open("sqlite", "file:"+path+"?"+fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()))
	if err != nil {
		stmts.close()
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for checkpoints: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	s := &Store{db: db, rdb: rdb, now: time.Now, stmts: stmts}
	s.ckpt = newCheckpointer(cdb, checkpointInterval)
	s.q = newCommitter(db, s.stmts, defaultMaxBatch, s.ckpt.committed)
	return s, nil
}

// checkPragmas checks that the connection runs as the package promises:
// a pragma the driver could not apply would otherwise go unnoticed.
func checkPragmas(ctx context.Context, db *sql.DB) error {
	var mode string
	var sync, fk, temp int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&temp); err != nil {
		return err
	}
	var auto int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		return err
	}
	if auto != 0 {
		return fmt.Errorf("wal_autocheckpoint=%d, want 0 (the checkpointer runs them)", auto)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if mode != "wal" || sync != 2 || fk != 1 || temp != 2 {
		return fmt.Errorf("journal_mode=%s synchronous=%d foreign_keys=%d temp_store=%d, want wal, 2 (FULL), 1, 2 (MEMORY)", mode, sync, fk, temp)
	}
	return nil
}

// migrate applies the migrations the database lacks.
func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, MigrationsFS(),
		goose.WithTableName(migrationTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// DB returns the store's database handle, for sharing the database with
// River's SQLite driver (the handle has one connection; writes through it
// wait for the store's commits and the other way round). Do not close it:
// Close does.
func (s *Store) DB() *sql.DB { return s.db }

// Close waits for the writes in flight, stops the commit queue and closes
// the database. Calls after Close fail.
func (s *Store) Close() error {
	s.q.close()
	s.stmts.close()
	s.rdb.Close()
	s.ckpt.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}

// write runs fn as one unit of work of the commit queue, in a transaction
// shared with other writers, and returns once that transaction committed
// (nil) or fn's changes were rolled back (an error).
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.q.do(ctx, fn)
}

// execCount runs the statement query with args as one unit of work and
// returns the number of rows it changed; op names it in an error.
func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, errorf(op, err)
	}
	return n, nil
}

// stamp returns t, or the current time when t is zero, in UTC at
// microsecond precision, as stored.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = s.now()
	}
	return norm(t)
}

// errorf returns the error of operation op: a package error, or err
// wrapped, with sentinel errors of payment made of driver errors.
func errorf(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		err = payment.ErrNotFound
	} else if isUnique(err) {
		err = fmt.Errorf("%w: %w", payment.ErrDuplicate, err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// Commits returns the number of transactions the store's commit queue has
// committed since Open: with the number of writes over the same span, the
// average batch of the group commit (for metrics and benchmarks).
func (s *Store) Commits() int64 { return s.q.commits.Load() }
