package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stmtCache keeps the prepared statements of the hot paths (creating an
// order, appending events, a transition, the savepoints of the commit
// queue, and on the read-only pool reading an order) by their text. The driver parses a statement's SQL
// at every call otherwise, which was a tenth of the CPU of creating a
// payment. They are prepared when the store opens, before the commit
// queue starts: the store has a single connection, which a transaction
// holds while it runs, so a statement cannot be prepared on the database
// from inside one. With that one connection, a statement prepared once is
// reused by every transaction (sql.Tx.StmtContext finds it there).
type stmtCache struct {
	m     map[string]*sql.Stmt // on the writing connection; read-only once made
	reads map[string]*sql.Stmt // on the read-only pool
}

// hotStatements are the writes newStmtCache prepares, and hotReads the
// reads.
var (
	hotStatements = []string{
		sqlSavepoint, sqlRollbackTo, sqlRelease,
		sqlInsertOrder, sqlUpdateOrder, sqlBumpEventSeq, sqlInsertEvent,
	}
	hotReads = []string{sqlGetOrder, sqlGetOrderByOutTradeNo}
)

// newStmtCache prepares hotStatements on db, the writing connection, and
// hotReads on rdb, the read-only pool.
func newStmtCache(ctx context.Context, db, rdb *sql.DB) (*stmtCache, error) {
	c := &stmtCache{m: make(map[string]*sql.Stmt, len(hotStatements)), reads: make(map[string]*sql.Stmt, len(hotReads))}
	for _, p := range []struct {
		db      *sql.DB
		queries []string
		into    map[string]*sql.Stmt
	}{{db, hotStatements, c.m}, {rdb, hotReads, c.reads}} {
		for _, q := range p.queries {
			st, err := p.db.PrepareContext(ctx, q)
			if err != nil {
				c.close()
				return nil, fmt.Errorf("preparing %q: %w", q, err)
			}
			p.into[q] = st
		}
	}
	return c, nil
}

// inTx returns the statement of query bound to tx: the prepared one, or,
// for a query that is not among hotStatements, one prepared in tx.
func (c *stmtCache) inTx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := c.m[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// queryRow runs the prepared read query (one of hotReads) on the
// read-only pool rdb, outside any transaction.
func (c *stmtCache) queryRow(ctx context.Context, rdb *sql.DB, query string, args ...any) *sql.Row {
	if st, ok := c.reads[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return rdb.QueryRowContext(ctx, query, args...)
}

// close closes every statement.
func (c *stmtCache) close() error {
	var errs []error
	for _, m := range []map[string]*sql.Stmt{c.m, c.reads} {
		for _, st := range m {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
