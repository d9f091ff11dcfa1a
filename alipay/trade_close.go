package alipay

import "context"

const methodTradeClose = "alipay.trade.close"

// TradeCloseRequest is the request of alipay.trade.close. Name the trade by
// OutTradeNo, TradeNo or both; with both, Alipay goes by TradeNo, so they
// must name the same trade.
type TradeCloseRequest struct {
	// OutTradeNo is the merchant's order number.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	// TradeNo is Alipay's trade number.
	TradeNo string `json:"trade_no,omitempty"`
	// OperatorID is the merchant's operator (at most 30 characters).
	OperatorID string `json:"operator_id,omitempty"`

	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// TradeCloseResponse is the answer of alipay.trade.close.
type TradeCloseResponse struct {
	TradeNo    string `json:"trade_no"`     // Alipay's trade number
	OutTradeNo string `json:"out_trade_no"` // the merchant's order number
}

// TradeClose calls alipay.trade.close: it closes an unpaid trade
// (WAIT_BUYER_PAY becomes TRADE_CLOSED), so that the buyer can no longer
// pay it. It is safe to repeat.
//
// Two failures need care:
//
//   - ACQ.TRADE_NOT_EXIST (IsTradeNotExist) for a page, wap or precreate
//     payment means the buyer never opened the cashier or scanned the code,
//     so Alipay has no trade to close: treat the order as closed locally.
//     The signed page URL or QR code stays usable until its own expiry
//     (TimeoutExpress, TimeExpire), so set one on the payment request, and
//     handle a payment notify for a locally closed order (refund it).
//   - ACQ.TRADE_STATUS_ERROR (SubCodeTradeStatusError): the trade is no
//     longer waiting, typically because the buyer has just paid. Never
//     treat such an order as closed: ask TradeQuery.
//
// A paid trade is not closed but refunded (TradeRefund), or, for a
// face-to-face payment whose outcome is unknown, cancelled (TradeCancel).
func (c *Client) TradeClose(ctx context.Context, req TradeCloseRequest) (*TradeCloseResponse, error) {
	const method = methodTradeClose
	if err := checkTradeRef(method, req.OutTradeNo, req.TradeNo); err != nil {
		return nil, err
	}
	if err := checkMaxLen(method, "OperatorID", req.OperatorID, maxOperatorID); err != nil {
		return nil, err
	}
	resp := new(TradeCloseResponse)
	err := c.Do(ctx, &Request{Method: method, BizContent: req, AppAuthToken: req.AppAuthToken}, resp)
	if err != nil {
		return nil, err
	}
	if err := checkEcho(method, req.OutTradeNo, req.TradeNo, resp.OutTradeNo, resp.TradeNo); err != nil {
		return nil, err
	}
	return resp, nil
}
