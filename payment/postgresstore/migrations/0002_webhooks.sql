-- Webhook events (one per committed state change of an order, with the
-- exact JSON body sent, as bytes) and every attempt to deliver them.

-- +goose Up
CREATE TABLE payment_webhook_events (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    order_id        text COLLATE "C" NOT NULL REFERENCES payment_orders (id),
    out_trade_no    text        NOT NULL DEFAULT '',
    -- seq is the Seq of the order's state_changed event told.
    seq             bigint      NOT NULL CHECK (seq >= 1),
    type            text        NOT NULL,
    payload         bytea       NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    UNIQUE (order_id, seq)
);

CREATE INDEX payment_webhook_events_undelivered ON payment_webhook_events (created_at, id)
    WHERE status IN ('pending', 'retrying');

CREATE TABLE payment_webhook_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    text COLLATE "C" NOT NULL REFERENCES payment_webhook_events (id),
    number      integer     NOT NULL CHECK (number >= 1),
    manual      boolean     NOT NULL DEFAULT false,
    at          timestamptz NOT NULL,
    duration_us bigint      NOT NULL DEFAULT 0,
    status_code integer     NOT NULL DEFAULT 0,
    response    text        NOT NULL DEFAULT '',
    error       text        NOT NULL DEFAULT '',
    result      text        NOT NULL,
    UNIQUE (event_id, number)
);

-- The sweep looks for recent state changes without a webhook event.
CREATE INDEX payment_order_events_state_changed ON payment_order_events (created_at)
    WHERE kind = 'state_changed';

-- +goose Down
DROP INDEX payment_order_events_state_changed;
DROP TABLE payment_webhook_attempts;
DROP TABLE payment_webhook_events;
