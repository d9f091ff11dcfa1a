package alipay

import (
	"context"
	"fmt"
)

const methodTradeFastpayRefundQuery = "alipay.trade.fastpay.refund.query"

// RefundStatus is the state of a refund in alipay.trade.fastpay.refund.query
// (refund_status).
type RefundStatus string

// RefundStatusSuccess is the only refund status Alipay sends: the refund
// was paid out. A refund that Alipay has not received, is still processing
// or has failed comes with no status at all.
const RefundStatusSuccess RefundStatus = "REFUND_SUCCESS"

// TradeFastpayRefundQueryRequest is the request of
// alipay.trade.fastpay.refund.query. Name the trade by OutTradeNo, TradeNo
// or both; with both, Alipay goes by TradeNo, so they must name the same
// trade.
type TradeFastpayRefundQueryRequest struct {
	// OutTradeNo is the merchant's order number of the trade.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	// TradeNo is Alipay's trade number of the trade.
	TradeNo string `json:"trade_no,omitempty"`
	// OutRequestNo is the OutRequestNo the refund was sent with (required).
	OutRequestNo string `json:"out_request_no"`
	// QueryOptions asks for more response fields, such as "gmt_refund_pay"
	// or "refund_detail_item_list".
	QueryOptions []string `json:"query_options,omitempty"`

	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// TradeFastpayRefundQueryResponse is the answer of
// alipay.trade.fastpay.refund.query. Only Succeeded proves the refund was
// paid out.
type TradeFastpayRefundQueryResponse struct {
	TradeNo      string `json:"trade_no"`       // Alipay's trade number
	OutTradeNo   string `json:"out_trade_no"`   // the merchant's order number
	OutRequestNo string `json:"out_request_no"` // the refund's OutRequestNo
	// RefundStatus is RefundStatusSuccess once the refund is paid out, and
	// empty when Alipay has not received the refund, is still processing it
	// or it failed.
	RefundStatus RefundStatus `json:"refund_status,omitempty"`
	RefundAmount Amount       `json:"refund_amount"`           // the amount of this refund
	TotalAmount  Amount       `json:"total_amount"`            // the amount of the trade
	RefundReason string       `json:"refund_reason,omitempty"` // as sent with the refund
	GmtRefundPay Time         `json:"gmt_refund_pay,omitzero"` // when the refund was paid out
	SendBackFee  Amount       `json:"send_back_fee,omitempty"` // what actually went back to the buyer
}

// Succeeded reports whether the refund was paid out (refund_status is
// REFUND_SUCCESS). False is not proof of failure: a refund queried too
// soon may still succeed. Resend the refund with the same OutRequestNo
// (safe: Alipay refunds once per OutRequestNo), or query again later.
func (r *TradeFastpayRefundQueryResponse) Succeeded() bool {
	return r.RefundStatus == RefundStatusSuccess
}

// TradeFastpayRefundQuery calls alipay.trade.fastpay.refund.query: the
// state of the refund of one OutRequestNo. It settles a refund whose
// outcome was unknown (IsUnknown) or whose FundChange was "N". Alipay
// advises waiting at least 10 seconds after the refund before asking. It
// moves no money and is safe to repeat.
func (c *Client) TradeFastpayRefundQuery(ctx context.Context, req TradeFastpayRefundQueryRequest) (*TradeFastpayRefundQueryResponse, error) {
	const method = methodTradeFastpayRefundQuery
	if err := checkTradeRef(method, req.OutTradeNo, req.TradeNo); err != nil {
		return nil, err
	}
	if req.OutRequestNo == "" {
		return nil, fmt.Errorf("alipay: %s: OutRequestNo is required: it is the OutRequestNo the refund was sent with", method)
	}
	if err := checkOutRequestNo(method, req.OutRequestNo); err != nil {
		return nil, err
	}
	resp := new(TradeFastpayRefundQueryResponse)
	err := c.Do(ctx, &Request{Method: method, BizContent: req, AppAuthToken: req.AppAuthToken}, resp)
	if err != nil {
		return nil, err
	}
	if err := checkEcho(method, req.OutTradeNo, req.TradeNo, resp.OutTradeNo, resp.TradeNo); err != nil {
		return nil, err
	}
	if resp.OutRequestNo != "" && resp.OutRequestNo != req.OutRequestNo {
		return nil, fmt.Errorf("alipay: %s: %w: the answer is about out_request_no %q, not %q", method, ErrOutcomeUnknown, resp.OutRequestNo, req.OutRequestNo)
	}
	return resp, nil
}
