package postgresstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// norm returns t as stored: UTC, truncated to the microsecond.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// normZero returns norm(t), or the zero time for zero.
func normZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return norm(t)
}

// dbNullTime returns t as a parameter, NULL when zero.
func dbNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return norm(t)
}

// fromDB returns a scanned timestamptz in UTC, the zero time for NULL.
func fromDB(ts pgtype.Timestamptz) time.Time {
	if !ts.Valid {
		return time.Time{}
	}
	return ts.Time.UTC()
}

// dbMetadata returns m as stored, JSON text.
func dbMetadata(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// fromDBMetadata decodes the stored metadata; an empty object is nil.
func fromDBMetadata(b []byte) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad stored metadata: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
