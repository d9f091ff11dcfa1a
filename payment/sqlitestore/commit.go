package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"zhifu/internal/batch"
)

// defaultMaxBatch is the most units of work one transaction holds.
const defaultMaxBatch = 256

// errClosed is the error of a write after Close.
var errClosed = errors.New("sqlitestore: store closed")

// unit is one unit of work of the commit queue: one store method's writes.
type unit struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error // receives the unit's outcome, once
}

// committer runs the units of work submitted by concurrent writers in
// shared transactions (group commit). One goroutine takes the first unit
// waiting, then every other unit waiting (up to maxBatch), runs each in a
// savepoint of one transaction and commits once; a unit's caller learns its
// outcome only after the commit. While a batch commits, new units queue up
// for the next one (package batch).
type committer struct {
	db    *sql.DB
	q     *batch.Queue[*unit]
	stmts *stmtCache // the savepoints' statements

	commits atomic.Int64 // transactions committed, for tests and metrics

	// committed, when not nil, is called after each commit (the
	// checkpointer's kick); it must not block.
	committed func()

	// enqueued, when not nil, receives a value after each unit is queued
	// (a test hook).
	enqueued chan struct{}
}

// The commit delay (batch.Config.Delay): while writes come from
// concurrent callers, a batch of fewer than commitMinBatch units waits up
// to commitDelay for more before it commits, so that they share its fsync.
// A writer alone is never delayed. Why: a CPU-bound caller (signing a
// payment URL, a millisecond of RSA) keeps the writer goroutine, back from
// its fsync, waiting in Go's run queues; without the delay it then mostly
// committed one unit per fsync. PostgreSQL's advice for its commit_delay
// is about half an fsync; an fsync here took about 1.6 ms. Payment
// creation on 2 CPUs: 1,286–1,300 payments/s without; with 500 µs below 4
// units 1,577–1,620, 1 ms below 8 1,590–1,756 (median 1,711), 2 ms below
// 8 1,754–1,779 (docs/BENCHMARKS.md).
const (
	commitDelay    = time.Millisecond
	commitMinBatch = 8
)

// newCommitter starts the commit queue on db; committed, when not nil, is
// called after each commit.
func newCommitter(db *sql.DB, stmts *stmtCache, maxBatch int, committed func()) *committer {
	c := &committer{db: db, stmts: stmts, committed: committed}
	c.q = batch.New(batch.Config{Workers: 1, Max: maxBatch, Delay: commitDelay, MinBatch: commitMinBatch}, c.runBatch)
	return c
}

// do runs fn as a unit of work and returns its outcome once its
// transaction has committed or it was rolled back. fn runs in the queue's
// goroutine with ctx's values but not its cancellation: once started, a
// unit runs to its end, so that a caller going away cannot break the
// transaction that other callers share. A ctx done before the unit starts
// cancels it.
func (c *committer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u := &unit{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if err := c.q.Put(ctx, u); err != nil {
		if errors.Is(err, batch.ErrClosed) {
			return errClosed
		}
		return err
	}
	if c.enqueued != nil {
		c.enqueued <- struct{}{}
	}
	// The queue runs every unit put in it, even after close.
	return <-u.done
}

// close stops taking new units and waits for the queued ones to finish.
// It may be called more than once.
func (c *committer) close() { c.q.Close() }

// runBatch runs the batch in one transaction and answers each unit.
func (c *committer) runBatch(units []*unit) {
	results := make([]error, len(units))
	err := c.runTx(units, results)
	for i, u := range units {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		u.done <- results[i]
	}
}

// runTx runs the batch in one transaction, each unit in a savepoint, and
// commits. It stores each unit's own failure in results and returns an
// error that fails every unit that did not fail on its own: the batch's
// transaction did not commit.
func (c *committer) runTx(batch []*unit, results []error) error {
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	ran := 0
	for i, u := range batch {
		if err := u.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := c.runUnit(tx, u); err != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				tx.Rollback()
				return fatal.err
			}
			results[i] = err
			continue
		}
		ran++
	}
	if ran == 0 {
		return tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	c.commits.Add(1)
	if c.committed != nil {
		c.committed()
	}
	return nil
}

// The savepoint around each unit of work.
const (
	sqlSavepoint  = "SAVEPOINT unit"
	sqlRollbackTo = "ROLLBACK TO unit"
	sqlRelease    = "RELEASE unit"
)

// fatalError is a failure that breaks the shared transaction.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// runUnit runs u in a savepoint of tx: on failure its changes alone are
// undone and its error returned. A failure to undo is a *fatalError.
func (c *committer) runUnit(tx *sql.Tx, u *unit) error {
	ctx := context.WithoutCancel(u.ctx)
	if err := c.exec(ctx, tx, sqlSavepoint); err != nil {
		return &fatalError{fmt.Errorf("sqlitestore: savepoint: %w", err)}
	}
	err := u.fn(ctx, tx)
	if err != nil {
		if rerr := c.exec(ctx, tx, sqlRollbackTo); rerr != nil {
			return &fatalError{fmt.Errorf("sqlitestore: rollback to savepoint: %w (after %w)", rerr, err)}
		}
	}
	if rerr := c.exec(ctx, tx, sqlRelease); rerr != nil {
		return &fatalError{fmt.Errorf("sqlitestore: release savepoint: %w", rerr)}
	}
	return err
}

// exec runs the cached statement query in tx.
func (c *committer) exec(ctx context.Context, tx *sql.Tx, query string) error {
	st, err := c.stmts.inTx(ctx, tx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx)
	return err
}
