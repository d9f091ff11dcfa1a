package payment_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zhifu/alipay"
	"zhifu/internal/testclock"
	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/payment/sqlitestore"
)

// waitTimeout bounds every wait for a signal: a test that sees nothing
// by then fails instead of hanging.
const waitTimeout = 30 * time.Second

// backend is a store with what the jobs need of it, on one database.
type backend struct {
	name  string
	store payment.Store
	// newJobs returns jobs on the backend's database with cfg (its Store
	// filled in), stopped when the test ends.
	newJobs func(t *testing.T, cfg payment.JobsConfig) *payment.Jobs
	// jobRows returns River's jobs of the given kind, in id order.
	jobRows func(t *testing.T, kind string) []jobRow
}

// jobRow is one row of river_job.
type jobRow struct {
	Args        string
	State       string
	ScheduledAt time.Time
}

// backends returns the backends to run a test on: SQLite always,
// PostgreSQL when it answers (see testDSN).
func backends() map[string]func(t *testing.T) *backend {
	return map[string]func(t *testing.T) *backend{
		"sqlite":   sqliteBackend,
		"postgres": postgresBackend,
	}
}

// sqliteBackend opens a store on a new SQLite file.
func sqliteBackend(t *testing.T) *backend {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &backend{
		name:  "sqlite",
		store: s,
		newJobs: func(t *testing.T, cfg payment.JobsConfig) *payment.Jobs {
			cfg.Store = s
			j, err := payment.NewJobs(context.Background(), s.RiverDriver(), cfg)
			return startable(t, j, err)
		},
		jobRows: func(t *testing.T, kind string) []jobRow {
			t.Helper()
			rows, err := s.DB().Query(`SELECT json(args), state, scheduled_at FROM river_job WHERE kind = ? ORDER BY id`, kind)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []jobRow
			for rows.Next() {
				var r jobRow
				var at string
				if err := rows.Scan(&r.Args, &r.State, &at); err != nil {
					t.Fatal(err)
				}
				if r.ScheduledAt, err = parseSQLiteTime(at); err != nil {
					t.Fatal(err)
				}
				out = append(out, r)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		},
	}
}

// parseSQLiteTime parses a time as River's SQLite driver stores it.
func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// startable returns the jobs of NewJobs, failing t on error, and stops
// them when t ends.
func startable(t *testing.T, j *payment.Jobs, err error) *payment.Jobs {
	t.Helper()
	if err != nil {
		t.Fatalf("NewJobs: %v", err)
	}
	t.Cleanup(func() {
		if err := j.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return j
}

// testDSN returns the DSN of the test server (see testpg.DSN).
func testDSN(t *testing.T) string { return testpg.DSN(t) }

// withSearchPath returns dsn with its search_path set to schema.
func withSearchPath(t *testing.T, dsn, schema string) string {
	return testpg.WithSearchPath(t, dsn, schema)
}

// pgSchema makes a new schema, dropped when t ends (see testpg.Schema).
func pgSchema(t *testing.T) (schema, dsn string) { return testpg.Schema(t) }

// openPostgresAt opens a store on dsn, closed when t ends.
func openPostgresAt(t *testing.T, dsn string) *postgresstore.Store {
	t.Helper()
	s, err := postgresstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresBackend opens a store in a new schema of its own; River's
// tables go there too, named by JobsConfig.Schema.
func postgresBackend(t *testing.T) *backend {
	t.Helper()
	schema, dsn := pgSchema(t)
	return pgBackendOn(t, openPostgresAt(t, dsn), schema)
}

// pgBackendOn is the backend of a PostgreSQL store whose tables are in
// schema.
func pgBackendOn(t *testing.T, s *postgresstore.Store, schema string) *backend {
	return &backend{
		name:  "postgres",
		store: s,
		newJobs: func(t *testing.T, cfg payment.JobsConfig) *payment.Jobs {
			cfg.Store = s
			cfg.Schema = schema
			cfg.MigrationLock = s.LockMigrations
			j, err := payment.NewJobs(context.Background(), s.RiverDriver(), cfg)
			return startable(t, j, err)
		},
		jobRows: func(t *testing.T, kind string) []jobRow {
			t.Helper()
			rows, err := s.Pool().Query(context.Background(),
				`SELECT args::text, state::text, scheduled_at FROM `+schema+`.river_job WHERE kind = $1 ORDER BY id`, kind)
			if err != nil {
				t.Fatal(err)
			}
			out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (jobRow, error) {
				var j jobRow
				err := r.Scan(&j.Args, &j.State, &j.ScheduledAt)
				return j, err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		},
	}
}

// newTestClock returns a clock at a round time in the recent past.
func newTestClock() *testclock.Clock {
	return testclock.New(time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour))
}

// call is one call of a JobRunner method.
type call struct {
	Method string // "Reconcile", "Expire" or "SettleRefund"
	ID     string // the order's or refund's id
	At     time.Time
}

// recorder is a JobRunner that records its calls and answers them with
// answer (nil when answer is nil). It stands in for the payment Service,
// which is written on another branch.
type recorder struct {
	now    func() time.Time
	answer func(ctx context.Context, c call) error

	mu    sync.Mutex
	calls []call
	ch    chan call
}

// newRecorder returns a recorder reading the time from now.
func newRecorder(now func() time.Time, answer func(ctx context.Context, c call) error) *recorder {
	return &recorder{now: now, answer: answer, ch: make(chan call, 10_000)}
}

func (r *recorder) record(ctx context.Context, method, id string) error {
	c := call{Method: method, ID: id, At: r.now()}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	r.ch <- c
	if r.answer != nil {
		return r.answer(ctx, c)
	}
	return nil
}

func (r *recorder) Reconcile(ctx context.Context, orderID string) error {
	return r.record(ctx, "Reconcile", orderID)
}

func (r *recorder) Expire(ctx context.Context, orderID string) error {
	return r.record(ctx, "Expire", orderID)
}

func (r *recorder) SettleRefund(ctx context.Context, refundID string) error {
	return r.record(ctx, "SettleRefund", refundID)
}

// Calls returns the calls so far.
func (r *recorder) RefundPaidAfterClose(ctx context.Context, orderID string) error {
	return r.record(ctx, "RefundPaidAfterClose", orderID)
}

func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// next waits for the next call.
func (r *recorder) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-r.ch:
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("no job ran within %v; calls so far: %v", waitTimeout, r.Calls())
		return call{}
	}
}

// testConfig returns a jobs configuration for tests: quick polling, no
// periodic sweep (tests call Sweep), warnings in the test's log, and any
// error logged (by River, mostly) failing the test.
func testConfig(t *testing.T, r payment.JobRunner) payment.JobsConfig {
	return payment.JobsConfig{
		Runner:        r,
		PollInterval:  20 * time.Millisecond,
		SweepInterval: -1,
		Logger:        slog.New(failOnError{t, slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})}),
	}
}

// failOnError is a slog handler that fails the test on a record at error
// level or above.
type failOnError struct {
	t *testing.T
	slog.Handler
}

func (h failOnError) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.t.Errorf("logged an error: %s", r.Message)
	}
	return h.Handler.Handle(ctx, r)
}

func (h failOnError) WithAttrs(as []slog.Attr) slog.Handler {
	return failOnError{h.t, h.Handler.WithAttrs(as)}
}

func (h failOnError) WithGroup(name string) slog.Handler {
	return failOnError{h.t, h.Handler.WithGroup(name)}
}

// testWriter writes to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// flagPaid pays the pending order o in the store, with flags, as a payment
// after close is stored, and returns it.
func flagPaid(t *testing.T, s payment.Store, o *payment.Order, flags payment.Flags) *payment.Order {
	t.Helper()
	n := o.Clone()
	n.Status, n.PaidAmount, n.TradeNo, n.PaidAt, n.Flags = payment.StatusPaid, o.Amount, "2026"+o.OutTradeNo, o.CreatedAt, flags
	if err := s.ApplyTransition(context.Background(), payment.Transition{Order: n}); err != nil {
		t.Fatal(err)
	}
	return n
}

// newOrder stores a pending order created at created, expiring at
// expires (none when zero).
func newOrder(t *testing.T, s payment.Store, created, expires time.Time) *payment.Order {
	t.Helper()
	o := &payment.Order{
		ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: "jobs test",
		Amount: 10_00, Channel: payment.ChannelPage, CreatedAt: created, UpdatedAt: created, ExpiresAt: expires,
	}
	if err := s.CreateOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// newUnsettledRefund stores a paid order and a pending refund of it,
// reserved at created.
func newUnsettledRefund(t *testing.T, s payment.Store, created time.Time) *payment.Refund {
	t.Helper()
	ctx := context.Background()
	o := newOrder(t, s, created, time.Time{})
	paid, _, err := payment.Next(o, payment.Fact{
		Source: payment.SourceQuery, TradeStatus: alipay.TradeStatusSuccess,
		TotalAmount: o.Amount, TradeNo: "T" + o.OutTradeNo, At: created,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyTransition(ctx, payment.Transition{Order: paid, At: created}); err != nil {
		t.Fatal(err)
	}
	r := &payment.Refund{
		ID: payment.NewRefundID(), OrderID: o.ID, OutRequestNo: "R" + o.OutTradeNo,
		Amount: 1_00, CreatedAt: created, UpdatedAt: created,
	}
	if err := s.ReserveRefund(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}
