package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"zhifu/alipay"
)

// maxQuarantineScan bounds the entries quarantine reads to find an entry
// of the same notify_id: the quarantine holds only correctly signed
// notifies, which only Alipay can make, so it stays small.
const maxQuarantineScan = 10 * MaxPageSize

// quarantine keeps the signed notify raw, refused for reason, unless an
// entry of the same notify_id is already waiting for a replay (Alipay
// retries a refused notify up to 8 times).
func (s *Service) quarantine(ctx context.Context, raw []byte, n *alipay.Notification, reason string) error {
	q := &QuarantinedNotify{Raw: raw, Reason: safeText(reason), CreatedAt: s.now()}
	if n != nil {
		q.OutTradeNo, q.NotifyID = safeText(n.OutTradeNo), safeText(n.NotifyID)
	}
	log := s.log.With("out_trade_no", q.OutTradeNo, "notify_id", q.NotifyID)
	if q.NotifyID != "" {
		f := QuarantineFilter{Limit: MaxPageSize}
		for scanned := 0; scanned < maxQuarantineScan; {
			page, err := s.store.ListQuarantined(ctx, f)
			if err != nil {
				log.Error("payment: reading the quarantine failed", "error", err)
				return fmt.Errorf("payment: quarantine: %w", err)
			}
			for _, e := range page {
				if e.NotifyID == q.NotifyID {
					log.Warn("payment: notify refused again; already in quarantine", "quarantine_id", e.ID, "reason", reason)
					return nil
				}
			}
			if len(page) < f.Limit {
				break
			}
			scanned += len(page)
			f.AfterID = page[len(page)-1].ID
		}
	}
	if err := s.store.QuarantineNotify(ctx, q); err != nil {
		log.Error("payment: quarantining a notify failed", "reason", reason, "error", err)
		return fmt.Errorf("payment: quarantine: %w", err)
	}
	log.Warn("payment: notify quarantined", "quarantine_id", q.ID, "reason", reason)
	return nil
}

// ListQuarantined returns quarantined notifies (see Store.ListQuarantined).
func (s *Service) ListQuarantined(ctx context.Context, f QuarantineFilter) ([]QuarantinedNotify, error) {
	qs, err := s.store.ListQuarantined(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("payment: list quarantined: %w", err)
	}
	return qs, nil
}

// ReplayQuarantined runs the quarantined notify id through the notify
// handler's checks again — signature, app_id, a known out_trade_no,
// seller_id, total_amount, the transition table — once its cause is
// fixed. If it passes, it is applied through ApplyTradeResult (a notify
// that is by now a duplicate changes nothing) and marked replayed; the
// order is returned. If it still fails, the entry stays and the error
// wraps ErrNotifyRejected with the reason. A notify already replayed is
// ErrConflict.
func (s *Service) ReplayQuarantined(ctx context.Context, id int64) (*Order, error) {
	q, err := s.store.GetQuarantined(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("payment: replay quarantined notify %d: %w", id, err)
	}
	log := s.log.With("out_trade_no", q.OutTradeNo, "notify_id", q.NotifyID, "quarantine_id", q.ID)
	if !q.ReplayedAt.IsZero() {
		return nil, fmt.Errorf("payment: quarantined notify %d was replayed at %s: %w", id, q.ReplayedAt, ErrConflict)
	}
	out := s.processNotify(ctx, q.Raw)
	if out.status != 0 {
		log.Warn("payment: replay refused; the notify stays in quarantine", "reason", out.reason)
		if out.status >= http.StatusInternalServerError {
			return nil, fmt.Errorf("payment: replay quarantined notify %d: %s", id, out.reason)
		}
		return nil, fmt.Errorf("%w: quarantined notify %d: %s", ErrNotifyRejected, id, out.reason)
	}
	if err := s.store.MarkReplayed(ctx, id, s.now()); err != nil && !errors.Is(err, ErrConflict) {
		log.Error("payment: the replayed notify is applied, but marking it replayed failed", "error", err)
		return out.order, fmt.Errorf("payment: mark quarantined notify %d replayed: %w", id, err)
	}
	log.Info("payment: quarantined notify replayed", "effect", out.effect, "status", out.order.Status)
	return out.order, nil
}
