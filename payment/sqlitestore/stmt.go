package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stmtCache keeps the prepared statements of the hot paths (creating an
// order, appending events, a transition, reading an order, the savepoints
// of the commit queue) by their text. The driver parses a statement's SQL
// at every call otherwise, which was a tenth of the CPU of creating a
// payment. They are prepared when the store opens, before the commit
// queue starts: the store has a single connection, which a transaction
// holds while it runs, so a statement cannot be prepared on the database
// from inside one. With that one connection, a statement prepared once is
// reused by every transaction (sql.Tx.StmtContext finds it there).
type stmtCache struct {
	m map[string]*sql.Stmt // read-only once made
}

// hotStatements are the statements newStmtCache prepares.
var hotStatements = []string{
	sqlSavepoint, sqlRollbackTo, sqlRelease,
	sqlInsertOrder, sqlUpdateOrder, sqlBumpEventSeq, sqlInsertEvent,
	sqlGetOrder, sqlGetOrderByOutTradeNo,
}

// newStmtCache prepares hotStatements on db.
func newStmtCache(ctx context.Context, db *sql.DB) (*stmtCache, error) {
	c := &stmtCache{m: make(map[string]*sql.Stmt, len(hotStatements))}
	for _, q := range hotStatements {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("preparing %q: %w", q, err)
		}
		c.m[q] = st
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

// queryRow runs the prepared statement query (one of hotStatements) on the
// database, outside any transaction.
func (c *stmtCache) queryRow(ctx context.Context, db *sql.DB, query string, args ...any) *sql.Row {
	if st, ok := c.m[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return db.QueryRowContext(ctx, query, args...)
}

// close closes every statement.
func (c *stmtCache) close() error {
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
