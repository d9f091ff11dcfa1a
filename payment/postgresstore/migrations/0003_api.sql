-- The JSON API's tables: API keys (only the SHA-256 hash of each secret)
-- and the answers kept under idempotency keys.

-- +goose Up
CREATE TABLE payment_api_keys (
    id         text        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    hash       bytea       NOT NULL CHECK (length(hash) = 32),
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE payment_idempotency_keys (
    api_key_id   text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL DEFAULT 0,
    body         bytea       NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (api_key_id, key)
);

CREATE INDEX payment_idempotency_keys_created ON payment_idempotency_keys (created_at);

-- +goose Down
DROP TABLE payment_idempotency_keys;
DROP TABLE payment_api_keys;
