-- The JSON API's tables: API keys (only the SHA-256 hash of each secret)
-- and the answers kept under idempotency keys. Times are TEXT in UTC, as
-- in 0001.

-- +goose Up
CREATE TABLE payment_api_keys (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BLOB NOT NULL CHECK (length(hash) = 32),
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE payment_idempotency_keys (
    api_key_id   TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    body         BLOB    NOT NULL DEFAULT x'',
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (api_key_id, key)
) STRICT;

CREATE INDEX payment_idempotency_keys_created ON payment_idempotency_keys (created_at);

-- +goose Down
DROP TABLE payment_idempotency_keys;
DROP TABLE payment_api_keys;
