package sqlitestore

import (
	"database/sql"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// RiverDriver returns a River driver on the store's own database handle,
// for [zhifu/payment.NewJobs]: River's tables (river_*) live in the same
// file as the orders.
//
// # One connection for both
//
// River shares the store's single connection rather than opening its own.
// SQLite has one writer at a time whatever the number of connections, so
// a second connection could only add contention, and of a worse kind:
// two connections wait for each other's write lock in SQLite's busy
// handler, which sleeps (1, 2, 5, 10 … 100 ms) instead of queueing, and
// a deferred transaction that wants to write after another connection's
// commit fails at once with SQLITE_BUSY whatever the busy timeout. Over
// one connection the waiting is done by database/sql, in Go, in order,
// without sleeps or busy errors: River's statements (a fetch of due jobs
// every poll interval, leader election, completions) take their turn
// between the commit queue's batches, and a batch waits at most for one
// River statement or transaction, which are short. River's own driver
// documentation advises a single connection for the same reason.
//
// A consequence: River's writes are durable commits too (synchronous=FULL),
// one fsync each, queued with the store's.
func (s *Store) RiverDriver() riverdriver.Driver[*sql.Tx] {
	return riversqlite.New(s.db)
}
