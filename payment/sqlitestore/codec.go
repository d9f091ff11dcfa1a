package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"zhifu/alipay"
)

// timeLayout is how times are stored: UTC, microseconds, fixed width, so
// that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// norm returns t as stored: UTC, truncated to the microsecond.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTime returns t as stored, for a NOT NULL column.
func dbTime(t time.Time) string { return norm(t).Format(timeLayout) }

// dbNullTime returns t as stored, NULL when zero.
func dbNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

// timeCol scans a time column, NULL as the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
		return nil
	case string:
		t, err := time.Parse(timeLayout, v)
		if err != nil {
			return fmt.Errorf("bad stored time %q: %w", v, err)
		}
		*c.t = t
		return nil
	}
	return fmt.Errorf("bad stored time of type %T", src)
}

// dbMetadata returns m as stored, JSON.
func dbMetadata(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// metadataCol scans the metadata column; an empty object is nil.
type metadataCol struct{ m *map[string]string }

// Scan implements sql.Scanner.
func (c metadataCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("bad stored metadata of type %T", src)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("bad stored metadata: %w", err)
	}
	if len(m) == 0 {
		m = nil
	}
	*c.m = m
	return nil
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY.
func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// queryAll runs query on the read-only pool and returns every row as scan
// reads it (what pgx.CollectRows is to the PostgreSQL store); errors name
// the operation op.
func queryAll[T any](ctx context.Context, s *Store, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, errorf(op, err)
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, errorf(op, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf(op, err)
	}
	return list, nil
}

// value adapts a scanner of a *T to one of a T, for queryAll.
func value[T any](scan func(rowScanner) (*T, error)) func(rowScanner) (T, error) {
	return func(r rowScanner) (T, error) {
		p, err := scan(r)
		if err != nil {
			var zero T
			return zero, err
		}
		return *p, nil
	}
}

// compile-time check that both row types scan.
var (
	_ rowScanner = (*sql.Row)(nil)
	_ rowScanner = (*sql.Rows)(nil)
)

// normZero returns norm(t), or the zero time for zero.
func normZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return norm(t)
}

// fen returns an amount read from the database as an Amount, for messages.
func fen(v int64) alipay.Amount { return alipay.Amount(v) }
