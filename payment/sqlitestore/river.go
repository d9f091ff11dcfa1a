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
// Measured on the 2-core development machine by
// BenchmarkApplyTransitionWithRiver (river_test.go): 64 writers of durable
// transitions, 20,000 writes, four runs each, River idle or working
// through 5,000 waiting jobs (its poll interval at 10 ms, a hundred times
// the default), and no River error logged in any run:
//
//	River                        writes/s         River jobs/s
//	none                         12,300–13,900    —
//	shared, idle (poll 1s)        9,500–13,500    —
//	shared, idle (poll 10ms)     12,000–13,200    —
//	shared, 5,000 jobs            8,800–10,500    810–845
//	separate, idle (poll 10ms)    8,200–12,700    —
//	separate, 5,000 jobs          5,400–13,300    7–102
//
// Idle, River costs the commit queue nothing measurable (runs vary by
// ±20% on this machine). Working flat out, over the shared connection it
// takes its fair turn: about a quarter of the write rate for 800+ jobs a
// second, when the service makes about four jobs per order over half an
// hour. Over a second connection River is starved instead: its writes
// sleep in the busy handler while the commit queue holds the write lock
// batch after batch, and it ran as few as 7 jobs a second — reconciles
// that rescue lost payments would wait behind the notify traffic.
//
// A consequence: River's writes are durable commits too (synchronous=FULL),
// one fsync each, queued with the store's.
func (s *Store) RiverDriver() riverdriver.Driver[*sql.Tx] {
	return riversqlite.New(s.db)
}
