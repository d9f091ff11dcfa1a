package postgresstore

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/payment/storetest"
)

// TestMain checks that no test leaves the pool's goroutines behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens a store in a new schema of its own, dropped when t ends, so
// that tests and test packages running in parallel do not meet.
func open(t *testing.T) *Store {
	t.Helper()
	_, dsn := testpg.Schema(t)
	s, err := Open(context.Background(), dsn)
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

// TestTablesInSchema checks that the tables were made in the schema of
// the search_path, where River's tables will live too.
func TestTablesInSchema(t *testing.T) {
	t.Parallel()
	s := open(t)
	var n int
	err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_tables
		WHERE schemaname = current_schema() AND tablename LIKE 'payment\_%'`).Scan(&n)
	want := 1 // goose's
	migs, _ := fs.ReadDir(MigrationsFS(), ".")
	for _, m := range migs {
		b, _ := fs.ReadFile(MigrationsFS(), m.Name())
		want += strings.Count(string(b), "CREATE TABLE payment_")
	}
	if err != nil || n != want {
		t.Fatalf("%d payment_* tables in the current schema, %v; want %d (the migrations' and goose's)", n, err, want)
	}
}

// TestOpenTwice opens a second store on a migrated schema: nothing is
// migrated twice.
func TestOpenTwice(t *testing.T) {
	t.Parallel()
	s := open(t)
	var schema string
	if err := s.Pool().QueryRow(context.Background(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), testpg.WithSearchPath(t, testpg.DSN(t), schema))
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	s2.Close()
}
