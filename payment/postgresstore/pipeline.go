package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhifu/internal/batch"
)

// Pipelines: group commit, and grouped reads.
//
// Each write of the hot path (CreateOrder, ApplyTransition without a
// refund) is one statement, its own implicit transaction; each read of an
// order is one statement too. Under load, each of them paid a round trip
// (a write to the socket that wakes the server, a read that waits for its
// answer) and each write a transaction of its own with a commit that
// waits for its WAL flush: on a small machine that is most of the work per
// notify, on both sides of the socket. A pipeline runs the statements that
// concurrent callers submit together as one pipelined batch: one round
// trip and one implicit transaction. The store has two: one for the hot
// writes (group commit: one commit, one WAL flush for the batch; a caller
// learns its outcome only after that commit, so nothing is answered before
// its data is durable) and one for the reads of single orders, so that a
// read never waits behind a commit.
//
// A batch's statements run in the order of their keys (the order ids they
// lock), so that two batches lock the orders they share in the same order
// and never deadlock on them. When the server fails a statement, the
// whole batch rolled back: every statement of it then runs again alone,
// so that each caller gets its own outcome and one bad statement fails
// only itself. A failure that leaves the outcome unknown (the connection
// lost during the batch) fails every statement of the batch, as it would
// fail the one statement sent alone.

// Batching defaults (the number of workers: pipelineWorkers).
const (
	// defaultMaxBatch is the most statements one batch holds.
	defaultMaxBatch = 128
	// batchTimeout bounds one batch's run: a caller that goes away does
	// not cancel a batch it shares with others, but a database that does
	// not answer is not waited for forever.
	batchTimeout = 30 * time.Second
)

// stmtUnit is one statement of a pipeline's queue.
type stmtUnit struct {
	ctx  context.Context
	key  string // the order id the statement locks first
	sql  string
	args []any
	// scan reads the statement's rows; it is called once, in the
	// pipeline's goroutine, and must close rows.
	scan func(rows pgx.Rows) error
	done chan error // receives the unit's outcome, once
}

// pipeline runs the statements submitted by concurrent callers in shared
// pipelined batches. workers goroutines each take the first unit waiting
// and every other unit waiting behind it (up to maxBatch; package batch),
// so that while one batch waits for its commit, the next one gathers.
type pipeline struct {
	pool *pgxpool.Pool
	q    *batch.Queue[*stmtUnit]

	batches atomic.Int64 // transactions of more than one statement
	commits atomic.Int64 // transactions run: batches and statements alone
}

// newPipeline starts workers goroutines running the queue of statements
// on pool.
func newPipeline(pool *pgxpool.Pool, workers, maxBatch int) *pipeline {
	c := &pipeline{pool: pool}
	c.q = batch.New(batch.Config{Workers: workers, Max: maxBatch}, c.runBatch)
	return c
}

// pipelineWorkers is the number of batches in flight in each of the two
// pipelines, for a pool of maxConns connections: one per 8 of them, at
// least one and at most 4, so that the other queries (lists, refunds,
// River's jobs) keep connections of their own. With the default pool (8
// connections on a small machine) that is one: a single batch in flight
// per pipeline gathers the largest batches, and on 2 CPUs beside the
// server it did the most notifies per second (docs/BENCHMARKS.md); a
// larger pool, on a larger machine, runs more batches at once.
func pipelineWorkers(maxConns int32) int {
	return max(1, min(4, int(maxConns)/8))
}

// errClosed is the error of a write after Close.
var errClosed = errors.New("postgresstore: store closed")

// do runs the statement sql with args, in a batch with others or alone,
// passes its rows to scan, and returns once its transaction has committed
// or failed. A ctx done before the statement is sent cancels it; once sent,
// it runs to its end (within batchTimeout), though do returns ctx's error
// as soon as ctx is done: the outcome is then unknown to the caller, as it
// is for any statement whose answer was not read.
func (c *pipeline) do(ctx context.Context, key, sql string, args []any, scan func(pgx.Rows) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u := &stmtUnit{ctx: ctx, key: key, sql: sql, args: args, scan: scan, done: make(chan error, 1)}
	if err := c.q.Put(ctx, u); err != nil {
		if errors.Is(err, batch.ErrClosed) {
			return errClosed
		}
		return err
	}
	select {
	case err := <-u.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops taking new units, runs the ones queued and stops the
// workers. It may be called more than once.
func (c *pipeline) close() { c.q.Close() }

// runBatch runs the units of one batch, and answers each.
func (c *pipeline) runBatch(units []*stmtUnit) {
	// A unit whose caller went away before it was sent is not sent.
	live := units[:0]
	for _, u := range units {
		if err := u.ctx.Err(); err != nil {
			u.done <- err
			continue
		}
		live = append(live, u)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if len(live) == 1 {
		live[0].done <- c.runAlone(ctx, live[0])
		return
	}
	results, err := c.runPipelined(ctx, live)
	if refusedStatement(err) {
		// The server refused a statement: the batch rolled back. Each
		// statement runs again alone, for its own outcome, with a time
		// limit of its own.
		for _, u := range live {
			uctx, ucancel := context.WithTimeout(context.Background(), batchTimeout)
			u.done <- c.runAlone(uctx, u)
			ucancel()
		}
		return
	}
	for i, u := range live {
		if err != nil {
			u.done <- err
			continue
		}
		u.done <- results[i]
	}
}

// refusedStatement reports whether err is the server's refusal of a
// statement (an ERROR): the implicit transaction of its batch rolled back,
// and nothing of the batch is stored. A FATAL or PANIC ends the connection
// and may come after the batch's commit (a backend terminated while it
// committed reports it once the commit is done): its outcome is unknown,
// like a lost connection's, and the batch must not run again.
func refusedStatement(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	severity := pgErr.SeverityUnlocalized
	if severity == "" {
		severity = pgErr.Severity
	}
	return severity == "ERROR"
}

// runAlone runs u's statement as its own transaction.
func (c *pipeline) runAlone(ctx context.Context, u *stmtUnit) error {
	c.commits.Add(1)
	rows, err := c.pool.Query(ctx, u.sql, u.args...)
	if err != nil {
		return err
	}
	return u.scan(rows)
}

// runPipelined runs the units' statements in key order as one batch: one
// round trip and one implicit transaction. It returns each unit's scan
// result, or the error that failed the batch: see refusedStatement for
// which errors mean the batch rolled back; after any other, the outcome
// is unknown.
func (c *pipeline) runPipelined(ctx context.Context, units []*stmtUnit) ([]error, error) {
	order := make([]int, len(units))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(units[a].key, units[b].key) })
	var b pgx.Batch
	for _, i := range order {
		b.Queue(units[i].sql, units[i].args...)
	}
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	br := conn.SendBatch(ctx, &b)
	results := make([]error, len(units))
	var failed error
	for _, i := range order {
		rows, err := br.Query()
		if err != nil {
			failed = err
			break
		}
		results[i] = units[i].scan(rows)
		if err := rows.Err(); err != nil {
			// The statement failed on the server, or the connection did.
			failed = err
			break
		}
	}
	if err := br.Close(); err != nil && failed == nil {
		failed = err
	}
	if failed != nil {
		return nil, fmt.Errorf("a pipelined batch of %d statements: %w", len(units), failed)
	}
	c.batches.Add(1)
	c.commits.Add(1)
	return results, nil
}
