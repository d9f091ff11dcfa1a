-- Reconciliations of Alipay's daily trade bills: one run per bill date
-- (a new run of a date replaces the old one and its differences), and the
-- differences each run found. Dates are text yyyy-mm-dd (Beijing days).

-- +goose Up
CREATE TABLE payment_bill_runs (
    bill_date         text COLLATE "C" NOT NULL PRIMARY KEY CHECK (bill_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
    status            text        NOT NULL CHECK (status IN ('matched', 'differences')),
    bill_payments     integer     NOT NULL,
    bill_refunds      integer     NOT NULL,
    bill_paid         bigint      NOT NULL,
    bill_refunded     bigint      NOT NULL,
    db_payments       integer     NOT NULL,
    db_refunds        integer     NOT NULL,
    matched           integer     NOT NULL,
    -- difference_counts is kind → count.
    difference_counts jsonb       NOT NULL DEFAULT '{}',
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL
);

CREATE TABLE payment_bill_differences (
    bill_date      text COLLATE "C" NOT NULL REFERENCES payment_bill_runs (bill_date) ON DELETE CASCADE,
    seq            integer NOT NULL,
    kind           text    NOT NULL,
    line_kind      text    NOT NULL CHECK (line_kind IN ('payment', 'refund')),
    out_trade_no   text    NOT NULL DEFAULT '',
    trade_no       text    NOT NULL DEFAULT '',
    out_request_no text    NOT NULL DEFAULT '',
    order_id       text    NOT NULL DEFAULT '',
    refund_id      text    NOT NULL DEFAULT '',
    bill_amount    bigint  NOT NULL DEFAULT 0,
    db_amount      bigint  NOT NULL DEFAULT 0,
    db_status      text    NOT NULL DEFAULT '',
    bill_line      integer NOT NULL DEFAULT 0,
    detail         text    NOT NULL DEFAULT '',
    PRIMARY KEY (bill_date, seq)
);

CREATE INDEX payment_bill_differences_kind ON payment_bill_differences (bill_date, kind, seq);

-- The listings of a day's payments and refunds.
CREATE INDEX payment_orders_paid ON payment_orders (paid_at, id) WHERE paid_at IS NOT NULL;
CREATE INDEX payment_refunds_settled ON payment_refunds (settled_at, id) WHERE status = 'succeeded';

-- +goose Down
DROP INDEX payment_refunds_settled;
DROP INDEX payment_orders_paid;
DROP TABLE payment_bill_differences;
DROP TABLE payment_bill_runs;
