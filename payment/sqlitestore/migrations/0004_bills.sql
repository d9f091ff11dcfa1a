-- Reconciliations of Alipay's daily trade bills: one run per bill date
-- (a new run of a date replaces the old one and its differences), and the
-- differences each run found. Dates are TEXT yyyy-mm-dd (Beijing days).

-- +goose Up
CREATE TABLE payment_bill_runs (
    bill_date         TEXT    NOT NULL PRIMARY KEY,
    status            TEXT    NOT NULL CHECK (status IN ('matched', 'differences')),
    bill_payments     INTEGER NOT NULL,
    bill_refunds      INTEGER NOT NULL,
    bill_paid         INTEGER NOT NULL,
    bill_refunded     INTEGER NOT NULL,
    db_payments       INTEGER NOT NULL,
    db_refunds        INTEGER NOT NULL,
    matched           INTEGER NOT NULL,
    -- difference_counts is a JSON object: kind → count.
    difference_counts TEXT    NOT NULL DEFAULT '{}',
    started_at        TEXT    NOT NULL,
    finished_at       TEXT    NOT NULL
) STRICT;

CREATE TABLE payment_bill_differences (
    bill_date      TEXT    NOT NULL REFERENCES payment_bill_runs (bill_date) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    line_kind      TEXT    NOT NULL CHECK (line_kind IN ('payment', 'refund')),
    out_trade_no   TEXT    NOT NULL DEFAULT '',
    trade_no       TEXT    NOT NULL DEFAULT '',
    out_request_no TEXT    NOT NULL DEFAULT '',
    order_id       TEXT    NOT NULL DEFAULT '',
    refund_id      TEXT    NOT NULL DEFAULT '',
    bill_amount    INTEGER NOT NULL DEFAULT 0,
    db_amount      INTEGER NOT NULL DEFAULT 0,
    db_status      TEXT    NOT NULL DEFAULT '',
    bill_line      INTEGER NOT NULL DEFAULT 0,
    detail         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (bill_date, seq)
) STRICT;

CREATE INDEX payment_bill_differences_kind ON payment_bill_differences (bill_date, kind, seq);

-- The listings of a day's payments and refunds.
CREATE INDEX payment_orders_paid ON payment_orders (paid_at, id) WHERE paid_at IS NOT NULL;
CREATE INDEX payment_refunds_settled ON payment_refunds (settled_at, id) WHERE status = 'succeeded';

-- +goose Down
DROP INDEX payment_refunds_settled;
DROP INDEX payment_orders_paid;
DROP TABLE payment_bill_differences;
DROP TABLE payment_bill_runs;
