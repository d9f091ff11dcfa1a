package alipay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// TradeStatus is the state of a trade at Alipay (trade_status).
type TradeStatus string

// Trade states. Only TradeStatusSuccess and TradeStatusFinished mean paid.
const (
	TradeStatusWaitBuyerPay TradeStatus = "WAIT_BUYER_PAY" // created, not paid
	TradeStatusClosed       TradeStatus = "TRADE_CLOSED"   // unpaid and closed, or paid and fully refunded
	TradeStatusSuccess      TradeStatus = "TRADE_SUCCESS"  // paid, refundable
	TradeStatusFinished     TradeStatus = "TRADE_FINISHED" // paid, no longer refundable
)

// Paid reports whether s means the buyer has paid.
func (s TradeStatus) Paid() bool { return s == TradeStatusSuccess || s == TradeStatusFinished }

// maxNotifyBytes bounds the body of a notify: real ones are about 1.5 KB.
const maxNotifyBytes = 64 << 10

// Notification is a verified async notify (notify_type trade_status_sync)
// of Alipay. Amounts are exact; times are Beijing time.
//
// A valid signature only proves Alipay sent it. Before acting, check that
// OutTradeNo is your order, that TotalAmount equals its amount and that
// SellerID is yours; the client has already checked AppID.
type Notification struct {
	NotifyID   string    // same across Alipay's retries of one notify
	NotifyType string    // "trade_status_sync"
	NotifyTime time.Time // when this attempt was sent

	AppID     string
	AuthAppID string // the authorising merchant's app (equal to AppID outside ISV calls)
	Charset   string
	Version   string
	SignType  SignType

	TradeNo      string // Alipay's trade number
	OutTradeNo   string // the merchant's order number
	OutBizNo     string // for refunds: the refund's out_request_no
	BuyerID      string
	BuyerLogonID string // masked, e.g. "tes***@example.com"
	SellerID     string
	SellerEmail  string

	TradeStatus    TradeStatus
	TotalAmount    Amount
	ReceiptAmount  Amount
	InvoiceAmount  Amount
	BuyerPayAmount Amount
	PointAmount    Amount
	RefundFee      Amount // total refunded so far (refund notifies)

	Subject string
	Body    string

	GmtCreate  time.Time
	GmtPayment time.Time
	GmtRefund  time.Time
	GmtClose   time.Time

	FundBillList      string // JSON text, see FundBills
	VoucherDetailList string // JSON text of the coupons used
	PassbackParams    string // as the merchant sent it (usually still URL-encoded)

	// Params holds every parameter received, for storing the raw notify.
	Params url.Values
}

// FundBill is one entry of fund_bill_list: how much was paid through which
// channel.
type FundBill struct {
	FundChannel string `json:"fundChannel"` // camelCase in notifies
	Amount      Amount `json:"amount"`
	RealAmount  Amount `json:"realAmount,omitempty"`
}

// FundBills decodes FundBillList.
func (n *Notification) FundBills() ([]FundBill, error) {
	if n.FundBillList == "" {
		return nil, nil
	}
	var bills []FundBill
	if err := json.Unmarshal([]byte(n.FundBillList), &bills); err != nil {
		return nil, fmt.Errorf("alipay: fund_bill_list: %w", err)
	}
	return bills, nil
}

// IsRefund reports whether the notify reports a refund (a partial refund
// keeps TRADE_SUCCESS; a full one closes the trade): refund fields are set.
func (n *Notification) IsRefund() bool { return n.RefundFee > 0 || !n.GmtRefund.IsZero() }

// ParseNotification reads the async notify that Alipay POSTs to notify_url,
// verifies it and returns it. Only the form body counts: query parameters of
// the notify URL are not Alipay's and are not signed. Answer Alipay with
// exactly "success" only after you have stored the result; anything else
// makes Alipay retry.
func (c *Client) ParseNotification(r *http.Request) (*Notification, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("alipay: a notify is a POST, not a %s", r.Method)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxNotifyBytes)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("alipay: reading the notify form: %w", err)
	}
	return c.VerifyNotification(r.PostForm)
}

// VerifyNotification verifies an async notify already decoded into form
// values (decoded once, as a web framework hands them over: never decode
// them again) and parses it. It checks the signature with Alipay's public
// key and that app_id is this client's. A bad signature wraps ErrSignature.
func (c *Client) VerifyNotification(form url.Values) (*Notification, error) {
	if err := c.verifyCallback(form); err != nil {
		return nil, err
	}
	n := &Notification{
		NotifyID:          form.Get("notify_id"),
		NotifyType:        form.Get("notify_type"),
		AppID:             form.Get("app_id"),
		AuthAppID:         form.Get("auth_app_id"),
		Charset:           form.Get("charset"),
		Version:           form.Get("version"),
		SignType:          SignType(form.Get("sign_type")),
		TradeNo:           form.Get("trade_no"),
		OutTradeNo:        form.Get("out_trade_no"),
		OutBizNo:          form.Get("out_biz_no"),
		BuyerID:           form.Get("buyer_id"),
		BuyerLogonID:      form.Get("buyer_logon_id"),
		SellerID:          form.Get("seller_id"),
		SellerEmail:       form.Get("seller_email"),
		TradeStatus:       TradeStatus(form.Get("trade_status")),
		Subject:           form.Get("subject"),
		Body:              form.Get("body"),
		FundBillList:      form.Get("fund_bill_list"),
		VoucherDetailList: form.Get("voucher_detail_list"),
		PassbackParams:    form.Get("passback_params"),
		Params:            form,
	}
	p := fieldParser{form: form}
	n.TotalAmount = p.amount("total_amount")
	n.ReceiptAmount = p.amount("receipt_amount")
	n.InvoiceAmount = p.amount("invoice_amount")
	n.BuyerPayAmount = p.amount("buyer_pay_amount")
	n.PointAmount = p.amount("point_amount")
	n.RefundFee = p.amount("refund_fee")
	n.NotifyTime = p.time("notify_time")
	n.GmtCreate = p.time("gmt_create")
	n.GmtPayment = p.time("gmt_payment")
	n.GmtRefund = p.time("gmt_refund")
	n.GmtClose = p.time("gmt_close")
	if p.err != nil {
		return nil, p.err
	}
	if n.OutTradeNo == "" && n.TradeNo == "" {
		return nil, errors.New("alipay: the notify names no trade (no out_trade_no or trade_no)")
	}
	return n, nil
}

// verifyCallback checks the signature of a notify or return and that it is
// for this client's app.
func (c *Client) verifyCallback(form url.Values) error {
	if len(form) == 0 {
		return errors.New("alipay: the notify or return has no parameters")
	}
	if err := VerifyNotify(c.alipayKey, form); err != nil {
		return err
	}
	if appID := form.Get("app_id"); appID != c.appID {
		return fmt.Errorf("alipay: signed for app %q, not this client's app %q (a notify of another app or environment?)", appID, c.appID)
	}
	return nil
}

// fieldParser parses optional typed fields, keeping the first error.
type fieldParser struct {
	form url.Values
	err  error
}

func (p *fieldParser) amount(key string) Amount {
	s := p.form.Get(key)
	if s == "" || p.err != nil {
		return 0
	}
	a, err := ParseAmount(s)
	if err != nil {
		p.err = fmt.Errorf("alipay: %s: %w", key, trimPrefix(err))
	}
	return a
}

func (p *fieldParser) time(key string) time.Time {
	s := p.form.Get(key)
	if s == "" || p.err != nil {
		return time.Time{}
	}
	t, err := ParseTime(s)
	if err != nil {
		p.err = fmt.Errorf("alipay: %s: %w", key, trimPrefix(err))
	}
	return t
}
