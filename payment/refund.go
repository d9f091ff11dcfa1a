package payment

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"zhifu/alipay"
)

// MaxOutRequestNoLen is the longest out_request_no Alipay accepts.
const MaxOutRequestNoLen = 64

// RefundStatus is where a refund stands.
type RefundStatus string

// Refund statuses.
const (
	// RefundPending: reserved, not yet answered by Alipay.
	RefundPending RefundStatus = "pending"
	// RefundSucceeded: Alipay says the money went back (fund_change Y, or
	// the refund query's REFUND_SUCCESS). Final.
	RefundSucceeded RefundStatus = "succeeded"
	// RefundFailed: Alipay refused the refund; no money moved. Final.
	RefundFailed RefundStatus = "failed"
	// RefundUnknown: the call's outcome is unknown (a timeout, fund_change
	// N): settle it by querying with the same OutRequestNo, never by
	// refunding again under a new one.
	RefundUnknown RefundStatus = "unknown"
)

// Valid reports whether s is one of the defined refund statuses.
func (s RefundStatus) Valid() bool {
	switch s {
	case RefundPending, RefundSucceeded, RefundFailed, RefundUnknown:
		return true
	}
	return false
}

// Final reports whether s can no longer change.
func (s RefundStatus) Final() bool { return s == RefundSucceeded || s == RefundFailed }

// Refund is one refund of an order: one out_request_no at Alipay. It is
// reserved in the store before Alipay is called, so that its number is
// chosen once and every retry or query uses the same one.
type Refund struct {
	// ID is the refund's id in zhifu, "rfd_" and 26 random characters.
	ID string
	// OrderID is the refunded order.
	OrderID string
	// OutRequestNo is the refund's number at Alipay (out_request_no),
	// unique among the order's refunds, chosen before the first attempt.
	OutRequestNo string
	// Amount is what this refund gives back.
	Amount alipay.Amount
	// Reason is the refund reason sent to Alipay.
	Reason string
	// Status is where the refund stands.
	Status RefundStatus
	// FundChange is Alipay's fund_change of the last refund answer, "Y" or
	// "N", or "" before any answer.
	FundChange string
	// CreatedAt is when the refund was reserved.
	CreatedAt time.Time
	// UpdatedAt is when the refund last changed.
	UpdatedAt time.Time
	// SettledAt is when the refund reached a final status, or zero.
	SettledAt time.Time
}

// NewRefundID returns a new random refund id: "rfd_" and 26 characters of
// base 32 (128 random bits).
func NewRefundID() string { return "rfd_" + rand.Text() }

// ValidateNew checks that r can be reserved: an id, an order, an
// out_request_no of Alipay's charset and length, an amount Alipay accepts,
// status pending (or empty) and texts every store can hold. Errors wrap
// [ErrInvalid].
func (r *Refund) ValidateNew() error {
	var errs []error
	if r.ID == "" || r.OrderID == "" {
		errs = append(errs, errors.New("no ID or OrderID"))
	}
	if err := checkOutRequestNo(r.OutRequestNo); err != nil {
		errs = append(errs, err)
	}
	if err := r.Amount.CheckTradeAmount(); err != nil {
		errs = append(errs, err)
	}
	if r.Status != "" && r.Status != RefundPending {
		errs = append(errs, fmt.Errorf("a new refund is pending, not %q", r.Status))
	}
	for _, s := range []string{r.ID, r.OrderID, r.Reason, r.FundChange} {
		if err := checkText(s); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: refund %q: %w", ErrInvalid, r.ID, err)
	}
	return nil
}

// ValidateSettle checks that r can be stored as the new state of a
// refund: a known status and texts every store can hold. Errors wrap
// [ErrInvalid].
func (r *Refund) ValidateSettle() error {
	var err error
	switch {
	case r.ID == "":
		err = errors.New("no ID")
	case !r.Status.Valid():
		err = fmt.Errorf("unknown status %q", r.Status)
	case r.FundChange != "" && r.FundChange != "Y" && r.FundChange != "N":
		err = fmt.Errorf("fund_change %q, want Y, N or empty", r.FundChange)
	}
	if err != nil {
		return fmt.Errorf("%w: refund %q: %w", ErrInvalid, r.ID, err)
	}
	return nil
}

// checkOutRequestNo checks an out_request_no: 1 to 64 letters, digits
// and underscores.
func checkOutRequestNo(s string) error {
	if s == "" || len(s) > MaxOutRequestNoLen {
		return fmt.Errorf("out_request_no has %d characters, want 1 to %d", len(s), MaxOutRequestNoLen)
	}
	return checkTradeChars("out_request_no", s)
}

// Clone returns a copy of r.
func (r *Refund) Clone() *Refund {
	c := *r
	return &c
}
