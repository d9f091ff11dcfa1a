-- The payment tables. Every name starts with payment_ so that the tables
-- can share a database with the application's own and with River's
-- (river_*). Money is INTEGER fen; times are TEXT in UTC,
-- "2006-01-02T15:04:05.000000Z", which sorts as time does.

-- +goose Up
CREATE TABLE payment_orders (
    id              TEXT    NOT NULL PRIMARY KEY,
    out_trade_no    TEXT    NOT NULL UNIQUE,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL DEFAULT '',
    amount          INTEGER NOT NULL CHECK (amount BETWEEN 1 AND 10000000000),
    channel         TEXT    NOT NULL CHECK (channel IN ('page', 'wap', 'precreate', 'app')),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'partially_refunded', 'refunded', 'closed')),
    trade_no        TEXT    NOT NULL DEFAULT '',
    buyer_id        TEXT    NOT NULL DEFAULT '',
    paid_amount     INTEGER NOT NULL DEFAULT 0,
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    paid_at         TEXT,
    expires_at      TEXT,
    closed_at       TEXT,
    metadata        TEXT    NOT NULL DEFAULT '{}',
    flags           INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    -- event_seq is the Seq of the order's last event.
    event_seq       INTEGER NOT NULL DEFAULT 0,
    CHECK (0 <= refunded_amount AND refunded_amount <= paid_amount AND paid_amount <= amount)
) STRICT;

CREATE INDEX payment_orders_created ON payment_orders (created_at, id);
CREATE INDEX payment_orders_status_created ON payment_orders (status, created_at, id);
CREATE INDEX payment_orders_pending_expires ON payment_orders (expires_at) WHERE status = 'pending';
CREATE INDEX payment_orders_trade_no ON payment_orders (trade_no) WHERE trade_no <> '';

CREATE TABLE payment_order_events (
    id          INTEGER NOT NULL PRIMARY KEY,
    order_id    TEXT    NOT NULL REFERENCES payment_orders (id),
    seq         INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    raw         BLOB,
    verified    INTEGER NOT NULL DEFAULT 0,
    from_status TEXT    NOT NULL DEFAULT '',
    to_status   TEXT    NOT NULL DEFAULT '',
    effect      TEXT    NOT NULL DEFAULT '',
    refund_id   TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    UNIQUE (order_id, seq)
) STRICT;

-- The event log is append-only.
-- +goose StatementBegin
CREATE TRIGGER payment_order_events_no_update BEFORE UPDATE ON payment_order_events
BEGIN
    SELECT RAISE(ABORT, 'payment_order_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER payment_order_events_no_delete BEFORE DELETE ON payment_order_events
BEGIN
    SELECT RAISE(ABORT, 'payment_order_events is append-only');
END;
-- +goose StatementEnd

CREATE TABLE payment_refunds (
    id             TEXT    NOT NULL PRIMARY KEY,
    order_id       TEXT    NOT NULL REFERENCES payment_orders (id),
    out_request_no TEXT    NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount BETWEEN 1 AND 10000000000),
    reason         TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown')),
    fund_change    TEXT    NOT NULL DEFAULT '' CHECK (fund_change IN ('', 'Y', 'N')),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    settled_at     TEXT,
    UNIQUE (order_id, out_request_no)
) STRICT;

CREATE INDEX payment_refunds_unsettled ON payment_refunds (created_at, id) WHERE status IN ('pending', 'unknown');

CREATE TABLE payment_quarantined_notifies (
    id           INTEGER NOT NULL PRIMARY KEY,
    raw          BLOB    NOT NULL,
    out_trade_no TEXT    NOT NULL DEFAULT '',
    notify_id    TEXT    NOT NULL DEFAULT '',
    reason       TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    replayed_at  TEXT
) STRICT;

CREATE INDEX payment_quarantined_notifies_open ON payment_quarantined_notifies (id) WHERE replayed_at IS NULL;
CREATE INDEX payment_quarantined_notifies_out_trade_no ON payment_quarantined_notifies (out_trade_no);

-- +goose Down
DROP TABLE payment_quarantined_notifies;
DROP TABLE payment_refunds;
DROP TABLE payment_order_events;
DROP TABLE payment_orders;
