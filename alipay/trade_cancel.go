package alipay

import "context"

const methodTradeCancel = "alipay.trade.cancel"

// CancelAction is what alipay.trade.cancel did to the trade (action).
type CancelAction string

// Actions of alipay.trade.cancel. Alipay sends no action when it found no
// trade.
const (
	CancelActionClose  CancelAction = "close"  // the trade was unpaid and is closed: no money moved
	CancelActionRefund CancelAction = "refund" // the trade was paid and the money goes back to the buyer
)

// TradeCancelRequest is the request of alipay.trade.cancel. Name the trade
// by OutTradeNo, TradeNo or both; with both, Alipay goes by TradeNo, so they
// must name the same trade.
type TradeCancelRequest struct {
	// OutTradeNo is the merchant's order number.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	// TradeNo is Alipay's trade number.
	TradeNo string `json:"trade_no,omitempty"`

	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// TradeCancelResponse is the answer of alipay.trade.cancel.
type TradeCancelResponse struct {
	TradeNo    string `json:"trade_no"`     // Alipay's trade number
	OutTradeNo string `json:"out_trade_no"` // the merchant's order number
	// RetryFlag is "Y" when the cancel must be called again (see
	// ShouldRetry).
	RetryFlag string `json:"retry_flag"`
	// Action is what the cancel did: close an unpaid trade or refund a
	// paid one.
	Action CancelAction `json:"action,omitempty"`
	// GmtRefundPay is when the money went back, for Action refund.
	GmtRefundPay Time `json:"gmt_refund_pay,omitzero"`
}

// ShouldRetry reports whether Alipay asks for the cancel to be called again
// (retry_flag is "Y"): the trade is not settled yet.
func (r *TradeCancelResponse) ShouldRetry() bool { return r.RetryFlag == "Y" }

// TradeCancel calls alipay.trade.cancel: it reverses a face-to-face trade
// whatever its state. An unpaid trade is closed; a PAID trade is refunded
// in full. Use it only to settle a TradePay that stayed Paying or ended with
// IsUnknown, after TradeQuery gave no clear answer; to undo a payment known
// to have succeeded use TradeRefund, and to end an unpaid trade use
// TradeClose.
//
// Cancelling is idempotent: call it again, with the same numbers, while the
// answer is ShouldRetry or the error is IsUnknown, until it settles.
func (c *Client) TradeCancel(ctx context.Context, req TradeCancelRequest) (*TradeCancelResponse, error) {
	const method = methodTradeCancel
	if err := checkTradeRef(method, req.OutTradeNo, req.TradeNo); err != nil {
		return nil, err
	}
	resp := new(TradeCancelResponse)
	err := c.Do(ctx, &Request{Method: method, BizContent: req, AppAuthToken: req.AppAuthToken}, resp)
	if err != nil {
		return nil, err
	}
	if err := checkEcho(method, req.OutTradeNo, req.TradeNo, resp.OutTradeNo, resp.TradeNo); err != nil {
		return nil, err
	}
	return resp, nil
}
