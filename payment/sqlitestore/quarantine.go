package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"zhifu/payment"
)

// quarantineColumns are the columns scanQuarantined reads, in its order.
const quarantineColumns = `id, raw, out_trade_no, notify_id, reason, created_at, replayed_at`

// scanQuarantined reads one row of quarantineColumns.
func scanQuarantined(r rowScanner) (*payment.QuarantinedNotify, error) {
	q := new(payment.QuarantinedNotify)
	err := r.Scan(&q.ID, &q.Raw, &q.OutTradeNo, &q.NotifyID, &q.Reason, timeCol{&q.CreatedAt}, timeCol{&q.ReplayedAt})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// QuarantineNotify implements [payment.Store.QuarantineNotify].
func (s *Store) QuarantineNotify(ctx context.Context, q *payment.QuarantinedNotify) error {
	if err := q.Validate(); err != nil {
		return fmt.Errorf("sqlitestore: quarantine notify: %w", err)
	}
	created := s.stamp(q.CreatedAt)
	raw := q.Raw
	if raw == nil {
		raw = []byte{}
	}
	var id int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO payment_quarantined_notifies (raw, out_trade_no, notify_id,
			reason, created_at, replayed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			raw, q.OutTradeNo, q.NotifyID, q.Reason, dbTime(created), dbNullTime(q.ReplayedAt)).Scan(&id)
	})
	if err != nil {
		return errorf("quarantine notify", err)
	}
	q.ID, q.CreatedAt, q.ReplayedAt = id, created, normZero(q.ReplayedAt)
	return nil
}

// GetQuarantined implements [payment.Store.GetQuarantined].
func (s *Store) GetQuarantined(ctx context.Context, id int64) (*payment.QuarantinedNotify, error) {
	q, err := scanQuarantined(s.rdb.QueryRowContext(ctx, `SELECT `+quarantineColumns+`
		FROM payment_quarantined_notifies WHERE id = ?`, id))
	if err != nil {
		return nil, errorf(fmt.Sprintf("get quarantined notify %d", id), err)
	}
	return q, nil
}

// ListQuarantined implements [payment.Store.ListQuarantined].
func (s *Store) ListQuarantined(ctx context.Context, f payment.QuarantineFilter) ([]payment.QuarantinedNotify, error) {
	q := `SELECT ` + quarantineColumns + ` FROM payment_quarantined_notifies WHERE id > ?`
	if !f.IncludeReplayed {
		q += ` AND replayed_at IS NULL`
	}
	return queryAll(ctx, s, "list quarantined notifies", value(scanQuarantined), q+` ORDER BY id LIMIT ?`, f.AfterID, payment.PageSize(f.Limit))
}

// MarkReplayed implements [payment.Store.MarkReplayed].
func (s *Store) MarkReplayed(ctx context.Context, id int64, at time.Time) error {
	at = s.stamp(at)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var replayed sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT replayed_at FROM payment_quarantined_notifies WHERE id = ?`, id).Scan(&replayed)
		if err != nil {
			return err
		}
		if replayed.Valid {
			return fmt.Errorf("%w: notify %d was replayed at %s", payment.ErrConflict, id, replayed.String)
		}
		_, err = tx.ExecContext(ctx, `UPDATE payment_quarantined_notifies SET replayed_at = ? WHERE id = ?`, dbTime(at), id)
		return err
	})
	if err != nil {
		return errorf(fmt.Sprintf("mark quarantined notify %d replayed", id), err)
	}
	return nil
}
