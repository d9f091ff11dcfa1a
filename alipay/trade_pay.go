package alipay

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

const methodTradePay = "alipay.trade.pay"

// PayScene is how the merchant read the buyer's code in alipay.trade.pay
// (scene).
type PayScene string

// Scenes of alipay.trade.pay.
const (
	PaySceneBarCode      PayScene = "bar_code"      // the payment code (bar or QR code) the buyer shows in the Alipay app
	PaySceneSecurityCode PayScene = "security_code" // face payment: AuthCode is the face token ("fp...")
)

// TradePayRequest is the request of alipay.trade.pay: the merchant scans
// the payment code the buyer shows and takes the payment at once. Fields
// without a json name are public parameters, not business ones.
type TradePayRequest struct {
	// OutTradeNo is the merchant's order number (required): 1 to 64
	// letters, digits and underscores, unique per merchant.
	OutTradeNo string `json:"out_trade_no"`
	// Scene is how the code was read. Default: PaySceneBarCode.
	Scene PayScene `json:"scene"`
	// AuthCode is the buyer's code (required): for PaySceneBarCode 16 to 24
	// digits (Alipay's start with 25 to 30). It is a one-time credential of
	// the buyer: do not log it.
	AuthCode string `json:"auth_code"`
	// ProductCode is the product signed with Alipay. Default:
	// ProductCodeFaceToFace.
	ProductCode string `json:"product_code"`
	// Subject is the title the buyer sees (required, at most 256
	// characters).
	Subject string `json:"subject"`
	// TotalAmount is the amount to take (required): 0.01 to 100000000.00
	// yuan.
	TotalAmount Amount `json:"total_amount"`
	// Body describes the goods.
	Body string `json:"body,omitempty"`
	// TimeoutExpress is the time the buyer has to confirm a payment that
	// needs it: "5m", "1h" (1 minute to 15 days), or "1c" (until midnight).
	TimeoutExpress string `json:"timeout_express,omitempty"`
	// GoodsDetail lists the goods.
	GoodsDetail []GoodsDetail `json:"goods_detail,omitempty"`
	// StoreID is the merchant's store number (at most 32 characters).
	StoreID string `json:"store_id,omitempty"`
	// OperatorID is the merchant's cashier (at most 30 characters).
	OperatorID string `json:"operator_id,omitempty"`
	// TerminalID is the merchant's device (at most 32 characters).
	TerminalID string `json:"terminal_id,omitempty"`
	// QueryOptions asks for more response fields, such as "fund_bill_list"
	// or "voucher_detail_list".
	QueryOptions []string `json:"query_options,omitempty"`

	// NotifyURL receives the async notify, which matters when the buyer
	// confirms later (Paying). Default: Config.NotifyURL.
	NotifyURL string `json:"-"`
	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// TradePayResponse is the answer of alipay.trade.pay: a payment taken, or
// (Paying) a trade waiting for the buyer to confirm.
type TradePayResponse struct {
	// Paying reports that Alipay answered code 10003: the trade exists but
	// the buyer has not confirmed yet (a large amount, or a password asked
	// for). The money has NOT been taken: poll TradeQuery until the status
	// is paid or closed, and TradeCancel the trade if the buyer has not
	// paid in time. When Paying is false the payment succeeded.
	Paying bool `json:"-"`

	TradeNo        string     `json:"trade_no"`                 // Alipay's trade number
	OutTradeNo     string     `json:"out_trade_no"`             // the merchant's order number, as sent
	BuyerLogonID   string     `json:"buyer_logon_id"`           // masked, like "tes***@example.com"
	BuyerUserID    string     `json:"buyer_user_id"`            // the buyer's user id, "2088…"
	BuyerOpenID    string     `json:"buyer_open_id"`            // the buyer's open id, for apps that get open ids
	TotalAmount    Amount     `json:"total_amount"`             // the amount of the trade
	ReceiptAmount  Amount     `json:"receipt_amount"`           // what the merchant receives
	BuyerPayAmount Amount     `json:"buyer_pay_amount"`         // what the buyer paid
	PointAmount    Amount     `json:"point_amount"`             // paid with points
	InvoiceAmount  Amount     `json:"invoice_amount"`           // what may be invoiced
	GmtPayment     Time       `json:"gmt_payment,omitzero"`     // when the buyer paid
	FundBillList   []FundBill `json:"fund_bill_list,omitempty"` // the channels the money came through
	StoreName      string     `json:"store_name,omitempty"`     // the store's name at Alipay
}

// TradePay calls alipay.trade.pay: it takes TotalAmount from the buyer
// whose payment code AuthCode is. Three outcomes need handling:
//
//   - err == nil and !resp.Paying: paid.
//   - err == nil and resp.Paying (code 10003): the buyer must confirm in
//     the Alipay app. Poll TradeQuery with OutTradeNo (every few seconds,
//     for as long as you let the buyer take, say 30 seconds) until the
//     status is paid; if it is not, TradeCancel the trade, which also
//     returns the money should the buyer confirm at the last moment.
//   - IsUnknown(err): the request may or may not have taken the money.
//     Query as for Paying, and cancel if not paid. Never send a new
//     alipay.trade.pay with a new OutTradeNo for the same purchase while
//     this one is unsettled: the buyer would pay twice.
//
// Any other error is a refusal: nothing was taken (a bad or expired code
// fails with ACQ.PAYMENT_AUTH_CODE_INVALID, a lack of funds with
// ACQ.BUYER_BALANCE_NOT_ENOUGH; see the SubCode constants).
func (c *Client) TradePay(ctx context.Context, req TradePayRequest) (*TradePayResponse, error) {
	if req.ProductCode == "" {
		req.ProductCode = ProductCodeFaceToFace
	}
	if req.Scene == "" {
		req.Scene = PaySceneBarCode
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	resp := new(TradePayResponse)
	err := c.Do(ctx, &Request{
		Method:       methodTradePay,
		BizContent:   req,
		NotifyURL:    cmp.Or(req.NotifyURL, c.notifyURL),
		AppAuthToken: req.AppAuthToken,
	}, resp)
	if e, ok := errors.AsType[*Error](err); ok && e.Code == CodePaying {
		resp, err = decodePaying(e)
	}
	if err != nil {
		return nil, err
	}
	if err := checkEcho(methodTradePay, req.OutTradeNo, "", resp.OutTradeNo, ""); err != nil {
		return nil, err
	}
	if resp.TotalAmount != 0 && resp.TotalAmount != req.TotalAmount {
		return nil, fmt.Errorf("alipay: %s: %w: the answer is for total_amount %v, not %v", methodTradePay, ErrOutcomeUnknown, resp.TotalAmount, req.TotalAmount)
	}
	return resp, nil
}

// decodePaying decodes the answer with code 10003, which Do returns as an
// *Error after checking its signature; e.Body is the whole response.
func decodePaying(e *Error) (*TradePayResponse, error) {
	if !e.Signed {
		return nil, fmt.Errorf("alipay: %s: %w: an unsigned answer with code 10003", methodTradePay, ErrOutcomeUnknown)
	}
	r, err := ParseResponse(e.Body, methodTradePay)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w: %w", methodTradePay, ErrOutcomeUnknown, trimPrefix(err))
	}
	if r.ErrorNode || r.Node[0] != '{' {
		return nil, fmt.Errorf("alipay: %s: %w: the answer with code 10003 is not a plain response node", methodTradePay, ErrOutcomeUnknown)
	}
	resp := new(TradePayResponse)
	if err := json.Unmarshal(r.Node, resp); err != nil {
		return nil, fmt.Errorf("alipay: %s: %w: decoding the response node: %w", methodTradePay, ErrOutcomeUnknown, err)
	}
	resp.Paying = true
	return resp, nil
}

func (r *TradePayRequest) check() error {
	const method = methodTradePay
	if err := checkPayment(method, r.OutTradeNo, r.TotalAmount, r.Subject, r.TimeoutExpress, ""); err != nil {
		return err
	}
	switch r.Scene {
	case PaySceneBarCode:
		if err := checkBarCode(r.AuthCode); err != nil {
			return fmt.Errorf("alipay: %s: %w", method, err)
		}
	case PaySceneSecurityCode:
		if r.AuthCode == "" {
			return fmt.Errorf("alipay: %s: AuthCode is empty; it is the buyer's face token", method)
		}
		if err := checkAuthCodeChars(r.AuthCode, 128); err != nil {
			return fmt.Errorf("alipay: %s: %w", method, err)
		}
	default:
		return fmt.Errorf("alipay: %s: Scene %q is neither %q nor %q", method, r.Scene, PaySceneBarCode, PaySceneSecurityCode)
	}
	return checkStoreFields(method, r.OperatorID, r.StoreID, r.TerminalID)
}

// checkBarCode checks the payment code of the bar_code scene: 16 to 24
// digits. The code is a credential of the buyer, so errors never quote it.
func checkBarCode(code string) error {
	if code == "" {
		return errors.New("AuthCode is empty; it is the number of the payment code the buyer shows")
	}
	if n := len(code); n < 16 || n > 24 {
		return fmt.Errorf("AuthCode has %d characters; Alipay payment codes have 16 to 24 digits", n)
	}
	for i := 0; i < len(code); i++ {
		if !isDigit(code[i]) {
			return fmt.Errorf("AuthCode has a non-digit at offset %d; Alipay payment codes are digits only", i)
		}
	}
	return nil
}

// checkAuthCodeChars checks a non-numeric auth_code: at most max printable
// ASCII characters without spaces, never quoted in the error.
func checkAuthCodeChars(code string, max int) error {
	if len(code) > max {
		return fmt.Errorf("AuthCode has %d characters; at most %d", len(code), max)
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("AuthCode has a space, control or non-ASCII character at offset %d", i)
		}
	}
	return nil
}
