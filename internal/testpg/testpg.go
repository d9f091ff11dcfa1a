// Package testpg gives tests a PostgreSQL database of their own: the test
// server of DESIGN.md (or ZHIFU_TEST_POSTGRES), and a fresh schema in it
// per test, so that tests and test packages running at once never meet.
//
// When no server answers, a test that asks for one is skipped with a clear
// message, or failed when ZHIFU_REQUIRE_POSTGRES=1 (as .ci/run sets it).
package testpg

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is the test server of DESIGN.md, used when
// ZHIFU_TEST_POSTGRES is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN returns the DSN of the test server. When no server answers it skips
// the test, or fails it if ZHIFU_REQUIRE_POSTGRES=1.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ZHIFU_TEST_POSTGRES")
	if dsn == "" {
		dsn = DefaultDSN
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
			t.Fatalf("PostgreSQL at ZHIFU_TEST_POSTGRES (%s) does not answer, and ZHIFU_REQUIRE_POSTGRES=1: %v", Redact(dsn), err)
		}
		t.Skipf("skipping: no PostgreSQL at ZHIFU_TEST_POSTGRES (%s): %v; set ZHIFU_REQUIRE_POSTGRES=1 to fail instead", Redact(dsn), err)
	}
	return dsn
}

// Redact hides the password of a URL DSN, for messages.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// WithSearchPath returns dsn with its search_path set to schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
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

// Schema makes a new, empty schema on the test server, dropped with all it
// holds when t ends, and returns its name and a DSN whose search_path is
// it. It skips or fails t as DSN does when no server answers.
func Schema(t testing.TB) (schema, dsn string) {
	t.Helper()
	base := DSN(t)
	ctx := context.Background()
	schema = "zhifu_test_" + strings.ToLower(rand.Text())
	admin, err := pgx.Connect(ctx, base)
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
	return schema, WithSearchPath(t, base, schema)
}
