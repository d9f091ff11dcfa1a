package alipay

import (
	"context"
	"fmt"
)

const methodTradeRefund = "alipay.trade.refund"

// TradeRefundRequest is the request of alipay.trade.refund. Name the trade
// by OutTradeNo, TradeNo or both; with both, Alipay goes by TradeNo, so they
// must name the same trade.
type TradeRefundRequest struct {
	// OutTradeNo is the merchant's order number of the paid trade.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	// TradeNo is Alipay's trade number of the paid trade.
	TradeNo string `json:"trade_no,omitempty"`
	// RefundAmount is the amount to give back (required): 0.01 yuan up to
	// what is still refundable.
	RefundAmount Amount `json:"refund_amount"`
	// OutRequestNo identifies this refund (required, at most 64
	// characters, unique within the trade). It is the refund's idempotency
	// key: Alipay refunds once per OutRequestNo, however often it is sent.
	//
	// Choose it and store it with the refund BEFORE the first attempt, and
	// send the very same value on every retry and in every
	// TradeFastpayRefundQuery. A retry with a new OutRequestNo is a second
	// refund: the buyer is paid twice.
	OutRequestNo string `json:"out_request_no"`
	// RefundReason is shown to the buyer (at most 256 characters).
	RefundReason string `json:"refund_reason,omitempty"`
	// OperatorID is the merchant's operator (at most 30 characters).
	OperatorID string `json:"operator_id,omitempty"`
	// StoreID is the merchant's store number (at most 32 characters).
	StoreID string `json:"store_id,omitempty"`
	// TerminalID is the merchant's device (at most 32 characters).
	TerminalID string `json:"terminal_id,omitempty"`
	// QueryOptions asks for more response fields, such as
	// "refund_detail_item_list".
	QueryOptions []string `json:"query_options,omitempty"`

	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// TradeRefundResponse is the answer of alipay.trade.refund. Code 10000
// alone does not prove that money moved: see MoneyMoved.
type TradeRefundResponse struct {
	TradeNo      string `json:"trade_no"`                // Alipay's trade number
	OutTradeNo   string `json:"out_trade_no"`            // the merchant's order number
	BuyerLogonID string `json:"buyer_logon_id"`          // masked, like "tes***@example.com"
	BuyerUserID  string `json:"buyer_user_id"`           // the buyer's user id, "2088…"
	BuyerOpenID  string `json:"buyer_open_id,omitempty"` // the buyer's open id, for apps that get open ids
	// FundChange is "Y" when this call moved money and "N" when it did
	// not (see MoneyMoved).
	FundChange string `json:"fund_change"`
	// RefundFee is the total refunded on the trade so far, this refund
	// included: not the amount of this refund.
	RefundFee Amount `json:"refund_fee"`
	// GmtRefundPay is when the refund was paid out.
	GmtRefundPay Time `json:"gmt_refund_pay,omitzero"`
	// SendBackFee is what actually went back to the buyer, when
	// QueryOptions asked for it.
	SendBackFee Amount `json:"send_back_fee,omitempty"`
	// StoreName is the store's name at Alipay.
	StoreName string `json:"store_name,omitempty"`
}

// MoneyMoved reports whether this call moved money (fund_change is "Y").
//
// Code 10000 alone is not proof of a refund. Only fund_change "Y", or a
// TradeFastpayRefundQuery whose refund status is REFUND_SUCCESS, proves
// that the money went back. "N" means this call moved nothing: either the
// refund of this OutRequestNo had already succeeded (a retry) or it has not
// gone through yet. Settle an "N" with TradeFastpayRefundQuery and the same
// OutRequestNo.
func (r *TradeRefundResponse) MoneyMoved() bool { return r.FundChange == "Y" }

// TradeRefund calls alipay.trade.refund: it gives RefundAmount of a paid
// trade back to the buyer. Partial refunds are allowed, each with its own
// OutRequestNo, until the trade is fully refunded.
//
// When the outcome is unknown (IsUnknown: a timeout, a network failure,
// ACQ.SYSTEM_ERROR) the refund may or may not have happened. Settle it with
// TradeFastpayRefundQuery and the same OutRequestNo (Alipay advises waiting
// 10 seconds first), or send this very request again; never send it with a
// new OutRequestNo. Refusals are errors too (errors.Is with
// SubCodeTradeNotAllowRefund, SubCodeRefundAmountExceeded,
// SubCodeSellerBalanceNotEnough, …): nothing was refunded.
func (c *Client) TradeRefund(ctx context.Context, req TradeRefundRequest) (*TradeRefundResponse, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	resp := new(TradeRefundResponse)
	err := c.Do(ctx, &Request{Method: methodTradeRefund, BizContent: req, AppAuthToken: req.AppAuthToken}, resp)
	if err != nil {
		return nil, err
	}
	if err := checkEcho(methodTradeRefund, req.OutTradeNo, req.TradeNo, resp.OutTradeNo, resp.TradeNo); err != nil {
		return nil, err
	}
	return resp, nil
}

func (r *TradeRefundRequest) check() error {
	const method = methodTradeRefund
	if err := checkTradeRef(method, r.OutTradeNo, r.TradeNo); err != nil {
		return err
	}
	if err := r.RefundAmount.CheckTradeAmount(); err != nil {
		return fmt.Errorf("alipay: %s: RefundAmount: %w", method, trimPrefix(err))
	}
	if err := checkOutRequestNo(method, r.OutRequestNo); err != nil {
		return err
	}
	if err := checkMaxLen(method, "RefundReason", r.RefundReason, maxRefundReason); err != nil {
		return err
	}
	return checkStoreFields(method, r.OperatorID, r.StoreID, r.TerminalID)
}

// checkOutRequestNo checks the refund's idempotency key, which this package
// always requires, also where Alipay would fall back to out_trade_no.
func checkOutRequestNo(method, s string) error {
	if s == "" {
		return fmt.Errorf("alipay: %s: OutRequestNo is required: it makes the refund idempotent; reuse it when you retry", method)
	}
	if err := checkID("OutRequestNo", s, 1, maxOutRequestNo); err != nil {
		return fmt.Errorf("alipay: %s: %w", method, err)
	}
	return nil
}
