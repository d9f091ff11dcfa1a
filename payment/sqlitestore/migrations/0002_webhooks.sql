-- Webhook events (one per committed state change of an order, with the
-- exact JSON body sent) and every attempt to deliver them.

-- +goose Up
CREATE TABLE payment_webhook_events (
    id              TEXT    NOT NULL PRIMARY KEY,
    order_id        TEXT    NOT NULL REFERENCES payment_orders (id),
    out_trade_no    TEXT    NOT NULL DEFAULT '',
    -- seq is the Seq of the order's state_changed event told.
    seq             INTEGER NOT NULL CHECK (seq >= 1),
    type            TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    last_attempt_at TEXT,
    delivered_at    TEXT,
    UNIQUE (order_id, seq)
) STRICT;

CREATE INDEX payment_webhook_events_undelivered ON payment_webhook_events (created_at, id)
    WHERE status IN ('pending', 'retrying');

CREATE TABLE payment_webhook_attempts (
    id          INTEGER NOT NULL PRIMARY KEY,
    event_id    TEXT    NOT NULL REFERENCES payment_webhook_events (id),
    number      INTEGER NOT NULL CHECK (number >= 1),
    manual      INTEGER NOT NULL DEFAULT 0,
    at          TEXT    NOT NULL,
    duration_us INTEGER NOT NULL DEFAULT 0,
    status_code INTEGER NOT NULL DEFAULT 0,
    response    TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    result      TEXT    NOT NULL,
    UNIQUE (event_id, number)
) STRICT;

-- The sweep looks for recent state changes without a webhook event.
CREATE INDEX payment_order_events_state_changed ON payment_order_events (created_at)
    WHERE kind = 'state_changed';

-- +goose Down
DROP INDEX payment_order_events_state_changed;
DROP TABLE payment_webhook_attempts;
DROP TABLE payment_webhook_events;
