package postgresstore

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"zhifu/payment"
	"zhifu/payment/storetest"
)

// TestMain checks that no test leaves the pool's goroutines behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// defaultDSN is the test server of DESIGN.md, used when
// ZHIFU_TEST_POSTGRES is not set.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDSN returns the DSN of the test server. When no server answers it
// skips the test, or fails it if ZHIFU_REQUIRE_POSTGRES=1.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("ZHIFU_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("ZHIFU_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL at ZHIFU_TEST_POSTGRES (%s) does not answer, and ZHIFU_REQUIRE_POSTGRES=1: %v", redact(dsn), err)
		}
		t.Skipf("skipping: no PostgreSQL at ZHIFU_TEST_POSTGRES (%s): %v; set ZHIFU_REQUIRE_POSTGRES=1 to fail instead", redact(dsn), err)
	}
	return dsn
}

// redact hides the password of a URL DSN.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// withSearchPath returns dsn with its search_path set to schema.
func withSearchPath(t *testing.T, dsn, schema string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// open opens a store in a new schema of its own, dropped when t ends, so
// that tests and test packages running in parallel do not meet.
func open(t *testing.T) *Store {
	t.Helper()
	dsn := testDSN(t)
	ctx := context.Background()
	schema := "zhifu_test_" + strings.ToLower(rand.Text())
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	s, err := Open(ctx, withSearchPath(t, dsn, schema))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) payment.Store { return open(t) })
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
	if err != nil || n != 5 {
		t.Fatalf("%d payment_* tables in the current schema, %v; want 5 (4 and goose's)", n, err)
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
	s2, err := Open(context.Background(), withSearchPath(t, testDSN(t), schema))
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	s2.Close()
}
