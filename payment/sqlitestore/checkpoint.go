package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints.
//
// In WAL mode a commit appends pages to the WAL file; a checkpoint copies
// them back into the database file and fsyncs it. By default SQLite runs
// one inside the commit that takes the WAL past 1,000 pages, in the
// committing connection: the store's one writer then copies and fsyncs
// while every queued write waits. The writer's connection has automatic
// checkpoints off (wal_autocheckpoint=0) and a goroutine of its own runs
// them instead, on a connection of its own, in PASSIVE mode (never waiting
// for, nor blocking, the writer or the readers): after a commit, at most
// once per checkpointInterval. Durability does not depend on checkpoints:
// a commit is durable once its WAL frames are fsynced.

// checkpointInterval is the least time between two checkpoints.
const checkpointInterval = 200 * time.Millisecond

// checkpointer runs PASSIVE checkpoints in the background when kicked.
type checkpointer struct {
	db       *sql.DB // one connection, for checkpoints only
	interval time.Duration
	kick     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	stop     sync.Once

	runs    atomic.Int64          // checkpoints run, for tests
	lastErr atomic.Pointer[error] // the error of the last checkpoint that failed, for tests
}

// newCheckpointer starts the checkpoints of db's database.
func newCheckpointer(db *sql.DB, interval time.Duration) *checkpointer {
	c := &checkpointer{db: db, interval: interval, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// committed tells the checkpointer that the WAL grew. It never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// loop runs a checkpoint after each kick, at most once per interval, until
// close.
func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.kick:
		case <-c.quit:
			return
		}
		c.checkpoint()
		select {
		case <-time.After(c.interval):
		case <-c.quit:
			return
		}
	}
}

// checkpoint runs one PASSIVE checkpoint. A failure is kept for tests and
// otherwise left to the next one: the WAL holds the data meanwhile.
func (c *checkpointer) checkpoint() {
	var busy, log, done int
	err := c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
	if err != nil {
		c.lastErr.Store(&err)
		return
	}
	c.runs.Add(1)
}

// lastError returns the error of the last checkpoint that failed, or nil.
func (c *checkpointer) lastError() error {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// close stops the checkpoints and closes the connection. It may be called
// more than once.
func (c *checkpointer) close() {
	c.stop.Do(func() {
		close(c.quit)
		<-c.done
		c.db.Close()
	})
}
