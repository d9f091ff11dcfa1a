package postgresstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhifu/payment"
)

// quarantineColumns are the columns scanQuarantined reads, in its order.
const quarantineColumns = `id, raw, out_trade_no, notify_id, reason, created_at, replayed_at`

// scanQuarantined reads one row of quarantineColumns.
func scanQuarantined(r pgx.Row) (payment.QuarantinedNotify, error) {
	var q payment.QuarantinedNotify
	var created, replayed pgtype.Timestamptz
	err := r.Scan(&q.ID, &q.Raw, &q.OutTradeNo, &q.NotifyID, &q.Reason, &created, &replayed)
	q.CreatedAt, q.ReplayedAt = fromDB(created), fromDB(replayed)
	return q, err
}

// QuarantineNotify implements [payment.Store.QuarantineNotify].
func (s *Store) QuarantineNotify(ctx context.Context, q *payment.QuarantinedNotify) error {
	if err := q.Validate(); err != nil {
		return fmt.Errorf("postgresstore: quarantine notify: %w", err)
	}
	created := s.stamp(q.CreatedAt)
	raw := q.Raw
	if raw == nil {
		raw = []byte{}
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO payment_quarantined_notifies (raw, out_trade_no, notify_id,
		reason, created_at, replayed_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		raw, q.OutTradeNo, q.NotifyID, q.Reason, created, dbNullTime(q.ReplayedAt)).Scan(&id)
	if err != nil {
		return errorf("quarantine notify", err)
	}
	q.ID, q.CreatedAt, q.ReplayedAt = id, created, normZero(q.ReplayedAt)
	return nil
}

// GetQuarantined implements [payment.Store.GetQuarantined].
func (s *Store) GetQuarantined(ctx context.Context, id int64) (*payment.QuarantinedNotify, error) {
	q, err := scanQuarantined(s.pool.QueryRow(ctx, `SELECT `+quarantineColumns+`
		FROM payment_quarantined_notifies WHERE id = $1`, id))
	if err != nil {
		return nil, errorf(fmt.Sprintf("get quarantined notify %d", id), err)
	}
	return &q, nil
}

// ListQuarantined implements [payment.Store.ListQuarantined].
func (s *Store) ListQuarantined(ctx context.Context, f payment.QuarantineFilter) ([]payment.QuarantinedNotify, error) {
	q := `SELECT ` + quarantineColumns + ` FROM payment_quarantined_notifies WHERE id > $1`
	if !f.IncludeReplayed {
		q += ` AND replayed_at IS NULL`
	}
	return collect(ctx, s, "list quarantined notifies", scanQuarantined, q+` ORDER BY id LIMIT $2`, f.AfterID, payment.PageSize(f.Limit))
}

// MarkReplayed implements [payment.Store.MarkReplayed].
func (s *Store) MarkReplayed(ctx context.Context, id int64, at time.Time) error {
	at = s.stamp(at)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE payment_quarantined_notifies SET replayed_at = $1
			WHERE id = $2 AND replayed_at IS NULL`, at, id)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var replayed time.Time
		if err := tx.QueryRow(ctx, `SELECT replayed_at FROM payment_quarantined_notifies WHERE id = $1`, id).Scan(&replayed); err != nil {
			return err
		}
		return fmt.Errorf("%w: notify %d was replayed at %s", payment.ErrConflict, id, replayed.UTC())
	})
	if err != nil {
		return errorf(fmt.Sprintf("mark quarantined notify %d replayed", id), err)
	}
	return nil
}
