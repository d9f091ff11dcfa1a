package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// redacted is what a secret prints as.
const redacted = "[redacted]"

// secret is a secret string: a key, a password. It prints, logs and
// marshals as "[redacted]" (or "" when empty); use string(s) for the
// value itself.
type secret string

// String returns "[redacted]", or "" for an empty secret.
func (s secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format prints String for every verb.
func (s secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// GoString is String.
func (s secret) GoString() string { return s.String() }

// LogValue logs String.
func (s secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText marshals String (json uses it too).
func (s secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// dsn is a database: a SQLite file path or a PostgreSQL URL, whose
// password it hides when printed.
type dsn string

// isPostgres reports whether d is a PostgreSQL URL.
func (d dsn) isPostgres() bool {
	return strings.HasPrefix(string(d), "postgres://") || strings.HasPrefix(string(d), "postgresql://")
}

// String returns d with any password, of its user info or its password
// parameter, replaced by "xxxxx".
func (d dsn) String() string {
	s := string(d)
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	s = s[:i+3] + redactUserinfo(s[i+3:])
	base, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	params := strings.Split(query, "&")
	for j, p := range params {
		if strings.HasPrefix(p, "password=") {
			params[j] = "password=xxxxx"
		}
	}
	return base + "?" + strings.Join(params, "&")
}

// redactUserinfo hides the password in the user@host part of a URL after
// its scheme, without parsing it: it must hide one even in a URL that
// does not parse.
func redactUserinfo(rest string) string {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return rest
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return rest
	}
	return user + ":xxxxx" + rest[at:]
}

// Format prints String for every verb.
func (d dsn) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }

// GoString is String.
func (d dsn) GoString() string { return d.String() }

// LogValue logs String.
func (d dsn) LogValue() slog.Value { return slog.StringValue(d.String()) }

// MarshalText marshals String.
func (d dsn) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// hasPassword reports whether d is a URL with a password.
func (d dsn) hasPassword() bool { return d.String() != string(d) }
