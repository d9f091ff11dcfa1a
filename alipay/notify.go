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
	if len(form) == 0 {
		return nil, errNoParams
	}
	// The parameters are read from the form once, sorted, for the
	// signature; the fields are then taken from that list in one pass. A
	// form.Get per field would cost as much as the rest of the parsing.
	var stack [48]param
	ps, sign := formParams(stack[:0], form)
	if err := verifyNotify(c.alipayKey, ps, form.Get("sign_type"), sign); err != nil {
		return nil, err
	}
	return c.parseNotification(ps, form)
}

// parseNotification makes the Notification of a verified notify from its
// parameters as formParams returns them. It is apart from the signature
// check so that it can be fuzzed without RSA.
func (c *Client) parseNotification(ps signedParams, form url.Values) (*Notification, error) {
	n := &Notification{Params: form}
	// Amounts and times are kept as text in the pass and parsed after it,
	// once app_id is checked, so that errors come in their usual order.
	var text struct {
		totalAmount, receiptAmount, invoiceAmount, buyerPayAmount, pointAmount, refundFee string
		notifyTime, gmtCreate, gmtPayment, gmtRefund, gmtClose                            string
	}
	for _, p := range ps {
		switch p.key {
		case "notify_id":
			n.NotifyID = p.value
		case "notify_type":
			n.NotifyType = p.value
		case "app_id":
			n.AppID = p.value
		case "auth_app_id":
			n.AuthAppID = p.value
		case "charset":
			n.Charset = p.value
		case "version":
			n.Version = p.value
		case "sign_type":
			n.SignType = SignType(p.value)
		case "trade_no":
			n.TradeNo = p.value
		case "out_trade_no":
			n.OutTradeNo = p.value
		case "out_biz_no":
			n.OutBizNo = p.value
		case "buyer_id":
			n.BuyerID = p.value
		case "buyer_logon_id":
			n.BuyerLogonID = p.value
		case "seller_id":
			n.SellerID = p.value
		case "seller_email":
			n.SellerEmail = p.value
		case "trade_status":
			n.TradeStatus = TradeStatus(p.value)
		case "subject":
			n.Subject = p.value
		case "body":
			n.Body = p.value
		case "fund_bill_list":
			n.FundBillList = p.value
		case "voucher_detail_list":
			n.VoucherDetailList = p.value
		case "passback_params":
			n.PassbackParams = p.value
		case "total_amount":
			text.totalAmount = p.value
		case "receipt_amount":
			text.receiptAmount = p.value
		case "invoice_amount":
			text.invoiceAmount = p.value
		case "buyer_pay_amount":
			text.buyerPayAmount = p.value
		case "point_amount":
			text.pointAmount = p.value
		case "refund_fee":
			text.refundFee = p.value
		case "notify_time":
			text.notifyTime = p.value
		case "gmt_create":
			text.gmtCreate = p.value
		case "gmt_payment":
			text.gmtPayment = p.value
		case "gmt_refund":
			text.gmtRefund = p.value
		case "gmt_close":
			text.gmtClose = p.value
		}
	}
	if err := c.checkAppID(n.AppID); err != nil {
		return nil, err
	}
	var p fieldParser
	n.TotalAmount = p.amountOf("total_amount", text.totalAmount)
	n.ReceiptAmount = p.amountOf("receipt_amount", text.receiptAmount)
	n.InvoiceAmount = p.amountOf("invoice_amount", text.invoiceAmount)
	n.BuyerPayAmount = p.amountOf("buyer_pay_amount", text.buyerPayAmount)
	n.PointAmount = p.amountOf("point_amount", text.pointAmount)
	n.RefundFee = p.amountOf("refund_fee", text.refundFee)
	n.NotifyTime = p.timeOf("notify_time", text.notifyTime)
	n.GmtCreate = p.timeOf("gmt_create", text.gmtCreate)
	n.GmtPayment = p.timeOf("gmt_payment", text.gmtPayment)
	n.GmtRefund = p.timeOf("gmt_refund", text.gmtRefund)
	n.GmtClose = p.timeOf("gmt_close", text.gmtClose)
	if p.err != nil {
		return nil, p.err
	}
	if n.OutTradeNo == "" && n.TradeNo == "" {
		return nil, errors.New("alipay: the notify names no trade (no out_trade_no or trade_no)")
	}
	return n, nil
}

var errNoParams = errors.New("alipay: the notify or return has no parameters")

// verifyCallback checks the signature of a notify or return and that it is
// for this client's app.
func (c *Client) verifyCallback(form url.Values) error {
	if len(form) == 0 {
		return errNoParams
	}
	if err := VerifyNotify(c.alipayKey, form); err != nil {
		return err
	}
	return c.checkAppID(form.Get("app_id"))
}

// checkAppID checks the app_id of a verified notify or return.
func (c *Client) checkAppID(appID string) error {
	if appID != c.appID {
		return fmt.Errorf("alipay: signed for app %q, not this client's app %q (a notify of another app or environment?)", appID, c.appID)
	}
	return nil
}

// fieldParser parses optional typed fields, keeping the first error.
type fieldParser struct {
	form url.Values
	err  error
}

func (p *fieldParser) amount(key string) Amount { return p.amountOf(key, p.form.Get(key)) }

func (p *fieldParser) time(key string) time.Time { return p.timeOf(key, p.form.Get(key)) }

// amountOf parses s, the value of key.
func (p *fieldParser) amountOf(key, s string) Amount {
	if s == "" || p.err != nil {
		return 0
	}
	a, err := ParseAmount(s)
	if err != nil {
		p.err = fmt.Errorf("alipay: %s: %w", key, trimPrefix(err))
	}
	return a
}

// timeOf parses s, the value of key.
func (p *fieldParser) timeOf(key, s string) time.Time {
	if s == "" || p.err != nil {
		return time.Time{}
	}
	t, err := ParseTime(s)
	if err != nil {
		p.err = fmt.Errorf("alipay: %s: %w", key, trimPrefix(err))
	}
	return t
}
