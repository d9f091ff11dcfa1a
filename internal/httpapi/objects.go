package httpapi

import (
	"maps"
	"time"
	"unicode/utf8"

	"zhifu/payment"
)

// PaymentObject is a payment as the API shows it: an order of the payment
// service, and what the buyer needs to pay it while it is pending.
type PaymentObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"` // "payment"
	OutTradeNo       string            `json:"out_trade_no"`
	Status           payment.Status    `json:"status"`
	Amount           string            `json:"amount"`
	PaidAmount       string            `json:"paid_amount"`
	RefundedAmount   string            `json:"refunded_amount"`
	RefundableAmount string            `json:"refundable_amount"`
	Subject          string            `json:"subject"`
	Channel          payment.Channel   `json:"channel"`
	ReturnURL        string            `json:"return_url,omitempty"`
	PayURL           string            `json:"pay_url,omitempty"`
	QRCode           string            `json:"qr_code,omitempty"`
	OrderString      string            `json:"order_string,omitempty"`
	TradeNo          string            `json:"trade_no,omitempty"`
	BuyerID          string            `json:"buyer_id,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	Flags            []string          `json:"flags"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        string            `json:"updated_at"`
	ExpiresAt        *string           `json:"expires_at"`
	PaidAt           *string           `json:"paid_at"`
	ClosedAt         *string           `json:"closed_at"`
}

// apiPaymentObject returns the object of order o, with what p says the
// buyer needs (p may be nil).
func apiPaymentObject(o *payment.Order, p *payment.Payment) PaymentObject {
	obj := PaymentObject{
		ID: o.ID, Object: "payment", OutTradeNo: o.OutTradeNo, Status: o.Status,
		Amount: o.Amount.String(), PaidAmount: o.PaidAmount.String(), RefundedAmount: o.RefundedAmount.String(),
		RefundableAmount: o.RefundableAmount().String(),
		Subject:          o.Subject, Channel: o.Channel, TradeNo: o.TradeNo, BuyerID: o.BuyerID,
		Metadata: o.PublicMetadata(), Flags: o.Flags.Names(), ReturnURL: o.ReturnURL(),
		CreatedAt: apiTime(o.CreatedAt), UpdatedAt: apiTime(o.UpdatedAt),
		ExpiresAt: apiTimePtr(o.ExpiresAt), PaidAt: apiTimePtr(o.PaidAt), ClosedAt: apiTimePtr(o.ClosedAt),
	}
	if p != nil {
		obj.PayURL, obj.QRCode, obj.OrderString = p.PayURL, p.QRCode, p.OrderString
	}
	return obj
}

// RefundObject is a refund as the API shows it.
type RefundObject struct {
	ID           string               `json:"id"`
	Object       string               `json:"object"` // "refund"
	PaymentID    string               `json:"payment_id"`
	OutRequestNo string               `json:"out_request_no"`
	Amount       string               `json:"amount"`
	Reason       string               `json:"reason"`
	Status       payment.RefundStatus `json:"status"`
	CreatedAt    string               `json:"created_at"`
	UpdatedAt    string               `json:"updated_at"`
	SettledAt    *string              `json:"settled_at"`
}

// apiRefundObject returns the object of refund r.
func apiRefundObject(r *payment.Refund) RefundObject {
	return RefundObject{
		ID: r.ID, Object: "refund", PaymentID: r.OrderID, OutRequestNo: r.OutRequestNo,
		Amount: r.Amount.String(), Reason: r.Reason, Status: r.Status,
		CreatedAt: apiTime(r.CreatedAt), UpdatedAt: apiTime(r.UpdatedAt), SettledAt: apiTimePtr(r.SettledAt),
	}
}

// EventObject is one entry of a payment's audit trail.
type EventObject struct {
	ID        int64             `json:"id"`
	Object    string            `json:"object"` // "event"
	PaymentID string            `json:"payment_id"`
	Seq       int64             `json:"seq"`
	Kind      payment.EventKind `json:"kind"`
	Source    payment.Source    `json:"source"`
	Verified  bool              `json:"verified"`
	From      payment.Status    `json:"from,omitempty"`
	To        payment.Status    `json:"to,omitempty"`
	Effect    payment.Effect    `json:"effect,omitempty"`
	RefundID  string            `json:"refund_id,omitempty"`
	Reason    string            `json:"reason"`
	// Raw is what was received (a notify's form body, a response's JSON),
	// when it is text; it holds Alipay's signatures, never a key.
	Raw       string `json:"raw,omitempty"`
	CreatedAt string `json:"created_at"`
}

// apiEventObject returns the object of event e.
func apiEventObject(e *payment.OrderEvent) EventObject {
	obj := EventObject{
		ID: e.ID, Object: "event", PaymentID: e.OrderID, Seq: e.Seq, Kind: e.Kind, Source: e.Source,
		Verified: e.Verified, From: e.From, To: e.To, Effect: e.Effect, RefundID: e.RefundID,
		Reason: e.Reason, CreatedAt: apiTime(e.CreatedAt),
	}
	if utf8.Valid(e.Raw) {
		obj.Raw = string(e.Raw)
	}
	return obj
}

// ListObject is a page of a listing.
type ListObject[T any] struct {
	Object string `json:"object"` // "list"
	Data   []T    `json:"data"`
	// NextCursor continues the listing (the cursor parameter), or is
	// null on the last page.
	NextCursor *string `json:"next_cursor"`
}

// apiList returns a list object of data, with the next cursor (none if
// "").
func apiList[T any](data []T, next string) ListObject[T] {
	l := ListObject[T]{Object: "list", Data: data}
	if l.Data == nil {
		l.Data = []T{}
	}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// apiTime formats t as the API writes times: RFC 3339 in UTC.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// apiTimePtr is apiTime, or nil (JSON null) for the zero time.
func apiTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := apiTime(t)
	return &s
}

// apiCloneMetadata returns a copy of m, nil when empty.
func apiCloneMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
