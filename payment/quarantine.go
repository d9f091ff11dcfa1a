package payment

import (
	"fmt"
	"time"
)

// QuarantinedNotify is a notify that was correctly signed but did not
// match an order (an unknown out_trade_no, another amount, another seller)
// and so was not applied. It is kept, visible, with its reason, and can be
// replayed once the cause is fixed. The notify was answered with something
// other than "success", so Alipay retries it too.
type QuarantinedNotify struct {
	// ID is the entry's id, assigned when stored.
	ID int64
	// Raw is the notify's form body, exactly as received.
	Raw []byte
	// OutTradeNo and NotifyID are read from the notify for finding it,
	// when it has them.
	OutTradeNo string
	NotifyID   string
	// Reason says why the notify was not applied.
	Reason string
	// CreatedAt is when the notify was received; the store sets it to the
	// time of storing when zero.
	CreatedAt time.Time
	// ReplayedAt is when a replay applied the notify, or zero.
	ReplayedAt time.Time
}

// Validate checks that q can be stored: texts every store can hold.
// Errors wrap [ErrInvalid].
func (q *QuarantinedNotify) Validate() error {
	for _, s := range []string{q.OutTradeNo, q.NotifyID, q.Reason} {
		if err := checkText(s); err != nil {
			return fmt.Errorf("%w: quarantined notify: %w", ErrInvalid, err)
		}
	}
	return nil
}
