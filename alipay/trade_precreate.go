package alipay

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

const methodTradePrecreate = "alipay.trade.precreate"

// TradePrecreateRequest is the request of alipay.trade.precreate: a
// face-to-face trade paid by the buyer scanning a QR code with the Alipay
// app. Fields without a json name are public parameters, not business ones.
type TradePrecreateRequest struct {
	// OutTradeNo is the merchant's order number (required): 1 to 64
	// letters, digits and underscores, unique per merchant.
	OutTradeNo string `json:"out_trade_no"`
	// TotalAmount is the amount to pay (required): 0.01 to 100000000.00
	// yuan.
	TotalAmount Amount `json:"total_amount"`
	// Subject is the title the buyer sees (required, at most 256
	// characters).
	Subject string `json:"subject"`
	// ProductCode is the product signed with Alipay. Default:
	// ProductCodeFaceToFace.
	ProductCode string `json:"product_code"`
	// Body describes the goods.
	Body string `json:"body,omitempty"`
	// TimeoutExpress is the time the buyer has to pay, counted from the
	// scan: "15m", "2h", "1d" (1 minute to 15 days), or "1c" (until
	// midnight).
	TimeoutExpress string `json:"timeout_express,omitempty"`
	// TimeExpire is the absolute deadline to pay, 1 minute to 15 days
	// ahead; it wins over TimeoutExpress.
	TimeExpire Time `json:"time_expire,omitzero"`
	// GoodsDetail lists the goods.
	GoodsDetail []GoodsDetail `json:"goods_detail,omitempty"`
	// StoreID is the merchant's store number (at most 32 characters).
	StoreID string `json:"store_id,omitempty"`
	// OperatorID is the merchant's cashier (at most 30 characters).
	OperatorID string `json:"operator_id,omitempty"`
	// TerminalID is the merchant's device (at most 32 characters).
	TerminalID string `json:"terminal_id,omitempty"`

	// NotifyURL receives the async notify of payment. Default:
	// Config.NotifyURL.
	NotifyURL string `json:"-"`
	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// TradePrecreateResponse is the answer of alipay.trade.precreate.
type TradePrecreateResponse struct {
	// OutTradeNo is the merchant's order number, as sent.
	OutTradeNo string `json:"out_trade_no"`
	// QRCode is the text to render as a QR code for the buyer, a URL such
	// as "https://qr.alipay.com/bax03431ljhokirwl38f00a7". It is valid for
	// 2 hours.
	QRCode string `json:"qr_code"`
}

// TradePrecreate calls alipay.trade.precreate and returns the QR code the
// buyer scans to pay.
//
// Alipay creates the trade only when the buyer scans the code: until then
// TradeQuery and TradeClose fail with ACQ.TRADE_NOT_EXIST (see
// IsTradeNotExist). The async notify to NotifyURL, or TradeQuery, says when
// the buyer has paid; TradeClose ends a trade the buyer walks away from.
//
// Sending the same request again is safe: Alipay never makes two trades of
// one OutTradeNo (a resend with other parameters fails with
// ACQ.CONTEXT_INCONSISTENT). Resend it as it was when the outcome is
// unknown (IsUnknown).
func (c *Client) TradePrecreate(ctx context.Context, req TradePrecreateRequest) (*TradePrecreateResponse, error) {
	if req.ProductCode == "" {
		req.ProductCode = ProductCodeFaceToFace
	}
	if err := req.check(c.now()); err != nil {
		return nil, err
	}
	resp := new(TradePrecreateResponse)
	err := c.Do(ctx, &Request{
		Method:       methodTradePrecreate,
		BizContent:   req,
		NotifyURL:    cmp.Or(req.NotifyURL, c.notifyURL),
		AppAuthToken: req.AppAuthToken,
	}, resp)
	if err != nil {
		return nil, err
	}
	if err := checkEcho(methodTradePrecreate, req.OutTradeNo, "", resp.OutTradeNo, ""); err != nil {
		return nil, err
	}
	if resp.QRCode == "" {
		return nil, fmt.Errorf("alipay: %s: %w: the answer has no qr_code", methodTradePrecreate, ErrOutcomeUnknown)
	}
	return resp, nil
}

func (r *TradePrecreateRequest) check(now time.Time) error {
	const method = methodTradePrecreate
	if err := checkPayment(method, r.OutTradeNo, r.TotalAmount, r.Subject, r.TimeoutExpress, ""); err != nil {
		return err
	}
	return checkFaceToFace(method, r.OperatorID, r.StoreID, r.TerminalID, r.TimeExpire, now)
}
