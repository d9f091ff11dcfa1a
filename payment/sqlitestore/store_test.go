package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"zhifu/payment"
	"zhifu/payment/storetest"
)

// TestMain checks that no test leaves the commit queue's goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens a store on a new database file, closed when t ends.
func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) payment.Store { return open(t) })
	storetest.RunBills(t, func(t *testing.T) payment.BillStore { return open(t) })
}

func TestWebhookConformance(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) payment.Store { return open(t) })
}

func TestAPIKeysConformance(t *testing.T) {
	storetest.RunAPIKeys(t, func(t *testing.T) payment.Store { return open(t) })
	storetest.RunIdempotency(t, func(t *testing.T) payment.Store { return open(t) })
}

func TestMigrationNumbering(t *testing.T) {
	storetest.CheckMigrations(t, MigrationsFS())
}

func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "zhifu.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	o := &payment.Order{ID: payment.NewOrderID(), OutTradeNo: "T1", Subject: "s", Amount: 1, Channel: payment.ChannelApp}
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again applies no migration twice and finds the order.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer s.Close()
	if _, err := s.GetOrder(ctx, o.ID); err != nil {
		t.Fatalf("GetOrder after reopening: %v", err)
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := Open(context.Background(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestDurablePragmas(t *testing.T) {
	t.Parallel()
	s := open(t)
	// checkPragmas ran at Open; check once more through the public handle
	// that the single connection keeps them.
	if err := checkPragmas(context.Background(), s.DB()); err != nil {
		t.Fatal(err)
	}
	if n := s.DB().Stats().MaxOpenConnections; n != 1 {
		t.Fatalf("MaxOpenConnections = %d, want 1", n)
	}
}
