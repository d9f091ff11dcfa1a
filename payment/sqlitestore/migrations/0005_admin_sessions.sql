-- The admin sessions that were logged out: the SHA-256 hash of each
-- session's id (never its token) and when the session ends anyway, after
-- which the sweep deletes the row. Times are TEXT in UTC, as in 0001.

-- +goose Up
CREATE TABLE payment_admin_session_revocations (
    hash       BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX payment_admin_session_revocations_expires ON payment_admin_session_revocations (expires_at);

-- +goose Down
DROP TABLE payment_admin_session_revocations;
