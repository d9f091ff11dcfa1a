-- The payment tables. Every name starts with payment_ so that the tables
-- can share a database (and a schema) with the application's own and with
-- River's (river_*). Money is bigint fen; times are timestamptz. Ids
-- compare bytewise (COLLATE "C"), as the paging cursors expect.

-- +goose Up
CREATE TABLE payment_orders (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    out_trade_no    text COLLATE "C" NOT NULL UNIQUE,
    subject         text        NOT NULL,
    body            text        NOT NULL DEFAULT '',
    amount          bigint      NOT NULL CHECK (amount BETWEEN 1 AND 10000000000),
    channel         text        NOT NULL CHECK (channel IN ('page', 'wap', 'precreate', 'app')),
    status          text        NOT NULL CHECK (status IN ('pending', 'paid', 'partially_refunded', 'refunded', 'closed')),
    trade_no        text        NOT NULL DEFAULT '',
    buyer_id        text        NOT NULL DEFAULT '',
    paid_amount     bigint      NOT NULL DEFAULT 0,
    refunded_amount bigint      NOT NULL DEFAULT 0,
    paid_at         timestamptz,
    expires_at      timestamptz,
    closed_at       timestamptz,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    flags           bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         bigint      NOT NULL CHECK (version >= 1),
    -- event_seq is the Seq of the order's last event.
    event_seq       bigint      NOT NULL DEFAULT 0,
    CHECK (0 <= refunded_amount AND refunded_amount <= paid_amount AND paid_amount <= amount)
);

CREATE INDEX payment_orders_created ON payment_orders (created_at, id);
CREATE INDEX payment_orders_status_created ON payment_orders (status, created_at, id);
CREATE INDEX payment_orders_pending_expires ON payment_orders (expires_at) WHERE status = 'pending';
CREATE INDEX payment_orders_trade_no ON payment_orders (trade_no) WHERE trade_no <> '';

CREATE TABLE payment_order_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    text COLLATE "C" NOT NULL REFERENCES payment_orders (id),
    seq         bigint      NOT NULL,
    kind        text        NOT NULL,
    source      text        NOT NULL DEFAULT '',
    raw         bytea,
    verified    boolean     NOT NULL DEFAULT false,
    from_status text        NOT NULL DEFAULT '',
    to_status   text        NOT NULL DEFAULT '',
    effect      text        NOT NULL DEFAULT '',
    refund_id   text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    UNIQUE (order_id, seq)
);

-- The event log is append-only.
-- +goose StatementBegin
CREATE FUNCTION payment_order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payment_order_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER payment_order_events_append_only BEFORE UPDATE OR DELETE ON payment_order_events
    FOR EACH ROW EXECUTE FUNCTION payment_order_events_append_only();

CREATE TABLE payment_refunds (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    order_id       text COLLATE "C" NOT NULL REFERENCES payment_orders (id),
    out_request_no text COLLATE "C" NOT NULL,
    amount         bigint      NOT NULL CHECK (amount BETWEEN 1 AND 10000000000),
    reason         text        NOT NULL DEFAULT '',
    status         text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown')),
    fund_change    text        NOT NULL DEFAULT '' CHECK (fund_change IN ('', 'Y', 'N')),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    settled_at     timestamptz,
    UNIQUE (order_id, out_request_no)
);

CREATE INDEX payment_refunds_unsettled ON payment_refunds (created_at, id) WHERE status IN ('pending', 'unknown');

CREATE TABLE payment_quarantined_notifies (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    raw          bytea       NOT NULL,
    out_trade_no text        NOT NULL DEFAULT '',
    notify_id    text        NOT NULL DEFAULT '',
    reason       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    replayed_at  timestamptz
);

CREATE INDEX payment_quarantined_notifies_open ON payment_quarantined_notifies (id) WHERE replayed_at IS NULL;
CREATE INDEX payment_quarantined_notifies_out_trade_no ON payment_quarantined_notifies (out_trade_no);

-- +goose Down
DROP TABLE payment_quarantined_notifies;
DROP TABLE payment_refunds;
DROP TABLE payment_order_events;
DROP FUNCTION payment_order_events_append_only();
DROP TABLE payment_orders;
