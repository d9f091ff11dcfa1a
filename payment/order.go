package payment

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"zhifu/alipay"
)

// Limits on an order's text, from Alipay's parameter tables (which count
// characters, not bytes).
const (
	MaxSubjectLen    = 256 // subject, in characters
	MaxBodyLen       = 128 // body, in characters
	MaxOutTradeNoLen = 64  // out_trade_no, in ASCII characters
)

// Order is one payment attempt of a buyer: one out_trade_no at Alipay.
//
// ID, OutTradeNo, Subject, Body, Amount, Channel, ExpiresAt and CreatedAt
// are fixed when the order is created. The other fields change only through
// [Next] and [Store.ApplyTransition], which keeps every change in the
// order's event log.
type Order struct {
	// ID is the order's id in zhifu, "ord_" and 26 random characters (see
	// NewOrderID). It is what the merchant's systems refer to.
	ID string
	// OutTradeNo is the order's number at Alipay (out_trade_no), unique
	// among all orders and never reused: made with [alipay.NewOutTradeNo].
	OutTradeNo string
	// Subject is the title the buyer sees on the cashier.
	Subject string
	// Body is an optional description of the goods.
	Body string
	// Amount is what the buyer is asked to pay.
	Amount alipay.Amount
	// Channel is how the buyer pays.
	Channel Channel
	// Status is where the order stands.
	Status Status
	// TradeNo is Alipay's trade number (trade_no), once Alipay has named one.
	TradeNo string
	// BuyerID is the buyer's Alipay user id (buyer_id, "2088…"), once known.
	BuyerID string
	// PaidAmount is what Alipay says was paid: zero until the order is paid,
	// then equal to Amount (a notify or query for a different amount is
	// rejected, never applied).
	PaidAmount alipay.Amount
	// RefundedAmount is the total that Alipay says went back to the buyer.
	// It never exceeds PaidAmount.
	RefundedAmount alipay.Amount
	// PaidAt is when the buyer paid (gmt_payment), or zero.
	PaidAt time.Time
	// ExpiresAt is when an unpaid order is closed, or zero for none.
	ExpiresAt time.Time
	// ClosedAt is when the order was closed without payment, or zero. It
	// stays set if a payment arrives after the close.
	ClosedAt time.Time
	// Metadata is the merchant's own data about the order (a cart id, a
	// customer number), kept and returned as given.
	Metadata map[string]string
	// Flags are facts that the status does not say.
	Flags Flags
	// CreatedAt is when the order was created.
	CreatedAt time.Time
	// UpdatedAt is when the order last changed.
	UpdatedAt time.Time
	// Version counts the changes of the order: 1 when created, one more at
	// each successful ApplyTransition. It is the compare-and-set token.
	Version int64
}

// NewOrderID returns a new random order id: "ord_" and 26 characters of
// base 32 (128 random bits).
func NewOrderID() string { return "ord_" + rand.Text() }

// Clone returns a copy of o that shares no memory with it.
func (o *Order) Clone() *Order {
	c := *o
	c.Metadata = maps.Clone(o.Metadata)
	return &c
}

// RefundableAmount returns what may still be refunded according to the
// order alone: the paid amount less the refunded amount, or zero once the
// trade is finished. Refunds in flight are not counted here; the store's
// [Store.ReserveRefund] counts them.
func (o *Order) RefundableAmount() alipay.Amount {
	if !o.Status.Paid() || o.Flags.Has(FlagFinished) {
		return 0
	}
	return o.PaidAmount - o.RefundedAmount
}

// ValidateNew checks that o can be stored as a new order: an id, an
// out_trade_no of Alipay's charset and length, a subject of 1 to 256
// characters, a body of at most 128, an amount Alipay accepts, a known
// channel, status pending (or empty, meaning pending), nothing paid and
// valid UTF-8 without NUL in every text. Errors wrap [ErrInvalid].
func (o *Order) ValidateNew() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if o.ID == "" {
		bad("no ID")
	}
	if err := checkOutTradeNo(o.OutTradeNo); err != nil {
		errs = append(errs, err)
	}
	if n := utf8.RuneCountInString(o.Subject); n == 0 || n > MaxSubjectLen {
		bad("subject has %d characters, want 1 to %d", n, MaxSubjectLen)
	}
	if n := utf8.RuneCountInString(o.Body); n > MaxBodyLen {
		bad("body has %d characters, want at most %d", n, MaxBodyLen)
	}
	if err := o.Amount.CheckTradeAmount(); err != nil {
		errs = append(errs, err)
	}
	if !o.Channel.Valid() {
		bad("unknown channel %q", o.Channel)
	}
	if o.Status != "" && o.Status != StatusPending {
		bad("a new order is pending, not %q", o.Status)
	}
	if o.PaidAmount != 0 || o.RefundedAmount != 0 || o.TradeNo != "" || !o.PaidAt.IsZero() {
		bad("a new order has no payment")
	}
	texts := []string{o.ID, o.Subject, o.Body}
	for k, v := range o.Metadata {
		texts = append(texts, k, v)
	}
	for _, s := range texts {
		if err := checkText(s); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: order %q: %w", ErrInvalid, o.ID, err)
	}
	return nil
}

// checkOutTradeNo checks an out_trade_no: 1 to 64 letters, digits and
// underscores, as Alipay allows.
func checkOutTradeNo(s string) error {
	if s == "" || len(s) > MaxOutTradeNoLen {
		return fmt.Errorf("out_trade_no has %d characters, want 1 to %d", len(s), MaxOutTradeNoLen)
	}
	return checkTradeChars("out_trade_no", s)
}

// checkTradeChars checks that s, the value of Alipay parameter name, has
// only letters, digits and underscores.
func checkTradeChars(name, s string) error {
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_') {
			return fmt.Errorf("%s %q: character %q not allowed", name, s, c)
		}
	}
	return nil
}

// checkText checks that s can be stored as text in every store: valid
// UTF-8 without NUL (PostgreSQL refuses both).
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("text %q is not valid UTF-8", s)
	}
	for i := range len(s) {
		if s[i] == 0 {
			return fmt.Errorf("text %q contains NUL", s)
		}
	}
	return nil
}

// ValidateState checks that o can be stored as the new state of an
// order: an id, a known status, amounts with 0 ≤ RefundedAmount ≤
// PaidAmount ≤ Amount, a paid amount exactly when paid, and texts every
// store can hold. Errors wrap [ErrInvalid].
func (o *Order) ValidateState() error {
	var err error
	switch {
	case o.ID == "":
		err = errors.New("no ID")
	case !o.Status.Valid():
		err = fmt.Errorf("unknown status %q", o.Status)
	case o.RefundedAmount < 0 || o.RefundedAmount > o.PaidAmount || o.PaidAmount > o.Amount:
		err = fmt.Errorf("amounts out of order: refunded %v, paid %v, amount %v", o.RefundedAmount, o.PaidAmount, o.Amount)
	case o.Status.Paid() != (o.PaidAmount > 0):
		err = fmt.Errorf("status %s with paid amount %v", o.Status, o.PaidAmount)
	default:
		texts := []string{o.TradeNo, o.BuyerID}
		for k, v := range o.Metadata {
			texts = append(texts, k, v)
		}
		for _, s := range texts {
			if err = checkText(s); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: order %q: %w", ErrInvalid, o.ID, err)
	}
	return nil
}

// MetadataReserved prefixes the metadata keys the service keeps for
// itself (a payment's own return URL): not the merchant's, refused in
// requests, and left out of the metadata shown to the merchant
// (PublicMetadata).
const MetadataReserved = "zhifu."

// PublicMetadata returns the order's metadata without the service's own
// keys (MetadataReserved); never nil.
func (o *Order) PublicMetadata() map[string]string {
	m := make(map[string]string, len(o.Metadata))
	for k, v := range o.Metadata {
		if !strings.HasPrefix(k, MetadataReserved) {
			m[k] = v
		}
	}
	return m
}

// ReturnURL returns the return URL the order was created with, or "" when
// it uses the service's.
func (o *Order) ReturnURL() string { return o.Metadata[metaReturnURL] }
