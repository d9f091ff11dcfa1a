package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"zhifu/alipay"
	"zhifu/payment"
)

// countingRunner is a JobRunner that only counts and signals its calls.
type countingRunner struct {
	n    atomic.Int64
	done chan struct{} // receives a value per call, when not nil
}

func (r *countingRunner) call() error {
	r.n.Add(1)
	if r.done != nil {
		r.done <- struct{}{}
	}
	return nil
}

func (r *countingRunner) Reconcile(context.Context, string) error            { return r.call() }
func (r *countingRunner) Expire(context.Context, string) error               { return r.call() }
func (r *countingRunner) SettleRefund(context.Context, string) error         { return r.call() }
func (r *countingRunner) RefundPaidAfterClose(context.Context, string) error { return r.call() }

// errorCounter is a slog handler that counts the records at error level
// or above (River logs its failed queries there) and drops the rest.
type errorCounter struct {
	n     atomic.Int64
	mu    sync.Mutex
	first string
}

func (h *errorCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *errorCounter) WithGroup(string) slog.Handler                { return h }

func (h *errorCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError {
		return nil
	}
	h.n.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.first == "" {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		h.first = b.String()
	}
	return nil
}

// riverMode is how River reaches the store's database.
type riverMode string

const (
	riverNone     riverMode = "none"     // no River at all
	riverShared   riverMode = "shared"   // Store.RiverDriver: the store's one connection
	riverSeparate riverMode = "separate" // a second handle on the file, one connection of its own
)

// riverDriverFor returns River's driver for the mode, and a function that
// closes what it opened.
func riverDriverFor(tb testing.TB, s *Store, path string, mode riverMode) (*riversqlite.Driver, func()) {
	if mode == riverShared {
		return s.RiverDriver().(*riversqlite.Driver), func() {}
	}
	dsn := "file:" + path + "?" + strings.Join([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_txlock=immediate", // a deferred transaction upgrading to write would fail at once with SQLITE_BUSY
	}, "&")
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return riversqlite.New(db), func() { db.Close() }
}

// withRiver runs River (unless mode is none) on the store at path with
// jobs jobs waiting, polling every poll, while work runs, and returns how many jobs River ran meanwhile and how
// many errors it logged.
func withRiver(tb testing.TB, s *Store, path string, mode riverMode, poll time.Duration, jobs int, work func()) (ran, errs int64, firstErr string) {
	if mode == riverNone {
		work()
		return 0, 0, ""
	}
	ctx := context.Background()
	driver, closeDriver := riverDriverFor(tb, s, path, mode)
	defer closeDriver()
	runner := &countingRunner{}
	logs := &errorCounter{}
	j, err := payment.NewJobs(ctx, driver, payment.JobsConfig{
		Runner: runner, Store: s, PollInterval: poll, SweepInterval: time.Second,
		Logger: slog.New(logs),
	})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range jobs {
		if err := j.ScheduleRefundSettlement(ctx, fmt.Sprintf("rfd_%06d", i), 0); err != nil {
			tb.Fatal(err)
		}
	}
	if err := j.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	work()
	ran = runner.n.Load()
	if err := j.Stop(ctx); err != nil {
		tb.Fatal(err)
	}
	return ran, logs.n.Load(), logs.first
}

// paidOrders stores n pending orders and returns their paid states, ready
// for ApplyTransition.
func paidOrders(tb testing.TB, s *Store, n int) []*payment.Order {
	ctx := context.Background()
	orders := make([]*payment.Order, n)
	for i := range orders {
		o := &payment.Order{ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: fmt.Sprint(i), Amount: 1_00, Channel: payment.ChannelPage}
		if err := s.CreateOrder(ctx, o); err != nil {
			tb.Fatal(err)
		}
		paid, _, err := payment.Next(o, payment.Fact{Source: payment.SourceNotify, TradeStatus: alipay.TradeStatusSuccess, TotalAmount: o.Amount, TradeNo: fmt.Sprint("T", i), At: time.Now()})
		if err != nil {
			tb.Fatal(err)
		}
		orders[i] = paid
	}
	return orders
}

// pay applies a paid transition with one event: a notify's durable write.
func pay(ctx context.Context, s *Store, o *payment.Order) error {
	return s.ApplyTransition(ctx, payment.Transition{Order: o, Events: []payment.OrderEvent{
		{Kind: payment.EventNotifyReceived, Source: payment.SourceNotify, Raw: make([]byte, 1500), Verified: true},
	}})
}

// BenchmarkApplyTransitionWithRiver is BenchmarkApplyTransitionParallel
// (64 writers of durable transitions) while River runs on the same
// database, sharing the store's connection or using a second one of its
// own, idle or working through jobs, polling at the default interval (1s)
// or a hundred times faster; and without River for comparison.
// river_jobs/s and river_errors show River's progress and its failures
// meanwhile.
//
//	go test ./payment/sqlitestore -run '^$' -bench WithRiver -benchtime 20000x
func BenchmarkApplyTransitionWithRiver(b *testing.B) {
	for _, c := range []struct {
		mode riverMode
		poll time.Duration
		jobs int // waiting when the writers start
	}{
		{riverNone, 0, 0},
		{riverShared, time.Second, 0}, {riverShared, 10 * time.Millisecond, 0}, {riverShared, 10 * time.Millisecond, 5000},
		{riverSeparate, time.Second, 0}, {riverSeparate, 10 * time.Millisecond, 0}, {riverSeparate, 10 * time.Millisecond, 5000},
	} {
		name := string(c.mode)
		if c.mode != riverNone {
			name += fmt.Sprintf("/poll=%v/jobs=%d", c.poll, c.jobs)
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			orders := paidOrders(b, s, b.N)
			var next atomic.Int64
			var commits int64
			var elapsed time.Duration
			ran, errs, first := withRiver(b, s, path, c.mode, c.poll, c.jobs, func() {
				start, t0 := s.q.commits.Load(), time.Now()
				b.SetParallelism(32) // with GOMAXPROCS 2: 64 writers
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := pay(ctx, s, orders[next.Add(1)-1]); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				commits, elapsed = s.q.commits.Load()-start, time.Since(t0)
			})
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
			b.ReportMetric(float64(commits)/float64(b.N), "commits/op")
			b.ReportMetric(float64(ran)/elapsed.Seconds(), "river_jobs/s")
			b.ReportMetric(float64(errs), "river_errors")
			if first != "" {
				b.Logf("first River error: %s", first)
			}
		})
	}
}

// TestRiverBesideCommitQueue runs River, polling a hundred times faster
// than by default, on the store's connection while 64 writers make
// durable transitions: every write succeeds, every job runs, River logs
// no error.
func TestRiverBesideCommitQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "zhifu.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, each, jobs = 64, 20, 300
	orders := paidOrders(t, s, writers*each)
	runner := &countingRunner{done: make(chan struct{}, jobs)}
	logs := &errorCounter{}
	j, err := payment.NewJobs(ctx, s.RiverDriver(), payment.JobsConfig{
		Runner: runner, Store: s, PollInterval: 10 * time.Millisecond, SweepInterval: 100 * time.Millisecond,
		Logger: slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := pay(ctx, s, orders[w*each+i]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Jobs are scheduled while the writers write.
	for i := range jobs {
		if err := j.ScheduleRefundSettlement(ctx, fmt.Sprintf("rfd_%06d", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for range jobs {
		select {
		case <-runner.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d jobs ran", runner.n.Load(), jobs)
		}
	}
	if err := j.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := logs.n.Load(); n > 0 {
		t.Errorf("River logged %d errors, the first: %s", n, logs.first)
	}
	for _, o := range orders {
		got, err := s.GetOrder(ctx, o.ID)
		if err != nil || got.Status != payment.StatusPaid {
			t.Fatalf("order %s: %v, %v; want paid", o.ID, got.Status, err)
		}
	}
}
