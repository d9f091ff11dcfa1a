package alipay

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

const methodTradeCreate = "alipay.trade.create"

// ProductCodeJSAPIPay is the product code of alipay.trade.create in a mini
// program or a web page inside the Alipay app.
const ProductCodeJSAPIPay = "JSAPI_PAY"

// TradeCreateRequest is the request of alipay.trade.create: a trade for a
// known buyer, who then pays it inside the Alipay app (a mini program, or a
// page calling the JSAPI tradePay with the trade number). Fields without a
// json name are public parameters, not business ones.
type TradeCreateRequest struct {
	// OutTradeNo is the merchant's order number (required): 1 to 64
	// letters, digits and underscores, unique per merchant.
	OutTradeNo string `json:"out_trade_no"`
	// TotalAmount is the amount to pay (required): 0.01 to 100000000.00
	// yuan.
	TotalAmount Amount `json:"total_amount"`
	// Subject is the title the buyer sees (required, at most 256
	// characters).
	Subject string `json:"subject"`
	// ProductCode is the product signed with Alipay: ProductCodeJSAPIPay in
	// mini programs. Default: ProductCodeFaceToFace, as Alipay's.
	ProductCode string `json:"product_code"`
	// BuyerID is the buyer's Alipay user id, "2088" and 12 digits. Set
	// BuyerID or BuyerOpenID, not both.
	BuyerID string `json:"buyer_id,omitempty"`
	// BuyerOpenID is the buyer's open id, which newer apps get in place of
	// the user id.
	BuyerOpenID string `json:"buyer_open_id,omitempty"`
	// OpAppID is the app id of the mini program the buyer pays in, when it
	// is not the calling app.
	OpAppID string `json:"op_app_id,omitempty"`
	// Body describes the goods.
	Body string `json:"body,omitempty"`
	// TimeoutExpress is the time the buyer has to pay: "15m", "2h", "1d"
	// (1 minute to 15 days), or "1c" (until midnight).
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

// TradeCreateResponse is the answer of alipay.trade.create.
type TradeCreateResponse struct {
	// OutTradeNo is the merchant's order number, as sent.
	OutTradeNo string `json:"out_trade_no"`
	// TradeNo is Alipay's number of the trade, which the buyer's client
	// pays (my.tradePay's tradeNO).
	TradeNo string `json:"trade_no"`
}

// TradeCreate calls alipay.trade.create: it creates a trade for the buyer,
// in WAIT_BUYER_PAY, and returns its TradeNo for the buyer's client to pay.
// The client's result is a hint only: the async notify to NotifyURL, or
// TradeQuery, says whether the buyer paid. TradeClose ends a trade the buyer
// does not pay.
//
// Sending the same request again is safe: Alipay never makes two trades of
// one OutTradeNo. Resend it as it was, or query, when the outcome is unknown
// (IsUnknown).
func (c *Client) TradeCreate(ctx context.Context, req TradeCreateRequest) (*TradeCreateResponse, error) {
	if req.ProductCode == "" {
		req.ProductCode = ProductCodeFaceToFace
	}
	if err := req.check(c.now()); err != nil {
		return nil, err
	}
	resp := new(TradeCreateResponse)
	err := c.Do(ctx, &Request{
		Method:       methodTradeCreate,
		BizContent:   req,
		NotifyURL:    cmp.Or(req.NotifyURL, c.notifyURL),
		AppAuthToken: req.AppAuthToken,
	}, resp)
	if err != nil {
		return nil, err
	}
	if err := checkEcho(methodTradeCreate, req.OutTradeNo, "", resp.OutTradeNo, ""); err != nil {
		return nil, err
	}
	if resp.TradeNo == "" {
		return nil, fmt.Errorf("alipay: %s: %w: the answer has no trade_no", methodTradeCreate, ErrOutcomeUnknown)
	}
	return resp, nil
}

func (r *TradeCreateRequest) check(now time.Time) error {
	const method = methodTradeCreate
	if err := checkPayment(method, r.OutTradeNo, r.TotalAmount, r.Subject, r.TimeoutExpress, ""); err != nil {
		return err
	}
	switch {
	case r.BuyerID == "" && r.BuyerOpenID == "":
		return fmt.Errorf("alipay: %s: BuyerID and BuyerOpenID are both empty; set the one your app gets when the buyer authorises it", method)
	case r.BuyerID != "" && r.BuyerOpenID != "":
		return fmt.Errorf("alipay: %s: set BuyerID or BuyerOpenID, not both", method)
	case r.BuyerID != "" && !userIDPattern.MatchString(r.BuyerID):
		return fmt.Errorf("alipay: %s: BuyerID %q is not an Alipay user id (2088 and 12 more digits); an open id goes in BuyerOpenID", method, r.BuyerID)
	}
	if r.BuyerOpenID != "" {
		if err := checkID("BuyerOpenID", r.BuyerOpenID, 1, 128); err != nil {
			return fmt.Errorf("alipay: %s: %w", method, err)
		}
	}
	if r.OpAppID != "" {
		if err := checkID("OpAppID", r.OpAppID, 1, 32); err != nil {
			return fmt.Errorf("alipay: %s: %w", method, err)
		}
	}
	return checkFaceToFace(method, r.OperatorID, r.StoreID, r.TerminalID, r.TimeExpire, now)
}
