package alipay

import (
	"context"
)

const methodTradeQuery = "alipay.trade.query"

// TradeQueryRequest is the request of alipay.trade.query. Name the trade by
// OutTradeNo, TradeNo or both; with both, Alipay goes by TradeNo, so they
// must name the same trade.
type TradeQueryRequest struct {
	// OutTradeNo is the merchant's order number.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	// TradeNo is Alipay's trade number.
	TradeNo string `json:"trade_no,omitempty"`
	// QueryOptions asks for more response fields, such as "fund_bill_list"
	// or "voucher_detail_list".
	QueryOptions []string `json:"query_options,omitempty"`

	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// TradeQueryResponse is the answer of alipay.trade.query: the trade as
// Alipay holds it. Only TradeStatus.Paid() means the buyer has paid.
type TradeQueryResponse struct {
	TradeNo        string      `json:"trade_no"`                 // Alipay's trade number
	OutTradeNo     string      `json:"out_trade_no"`             // the merchant's order number
	TradeStatus    TradeStatus `json:"trade_status"`             // where the trade stands
	TotalAmount    Amount      `json:"total_amount"`             // the amount of the trade
	BuyerPayAmount Amount      `json:"buyer_pay_amount"`         // what the buyer paid
	ReceiptAmount  Amount      `json:"receipt_amount"`           // what the merchant receives
	InvoiceAmount  Amount      `json:"invoice_amount"`           // what may be invoiced
	PointAmount    Amount      `json:"point_amount"`             // paid with points
	SendPayDate    Time        `json:"send_pay_date,omitzero"`   // when the buyer paid
	BuyerLogonID   string      `json:"buyer_logon_id"`           // masked, like "tes***@example.com"
	BuyerUserID    string      `json:"buyer_user_id"`            // the buyer's user id, "2088…"
	BuyerOpenID    string      `json:"buyer_open_id,omitempty"`  // the buyer's open id, for apps that get open ids
	Subject        string      `json:"subject,omitempty"`        // as sent when the trade was made
	Body           string      `json:"body,omitempty"`           // as sent when the trade was made
	StoreID        string      `json:"store_id,omitempty"`       // as sent when the trade was made
	TerminalID     string      `json:"terminal_id,omitempty"`    // as sent when the trade was made
	StoreName      string      `json:"store_name,omitempty"`     // the store's name at Alipay
	FundBillList   []FundBill  `json:"fund_bill_list,omitempty"` // the channels the money came through
}

// TradeQuery calls alipay.trade.query: the state of a trade, the source of
// truth when a notify is late, a payment page was left, or a call ended
// with IsUnknown. It moves no money and is safe to repeat.
//
// A trade Alipay does not know fails with ACQ.TRADE_NOT_EXIST
// (IsTradeNotExist). For a page, wap or precreate payment that is also the
// answer until the buyer opens the cashier or scans the code: it means
// "not paid yet", not "failed".
func (c *Client) TradeQuery(ctx context.Context, req TradeQueryRequest) (*TradeQueryResponse, error) {
	if err := checkTradeRef(methodTradeQuery, req.OutTradeNo, req.TradeNo); err != nil {
		return nil, err
	}
	resp := new(TradeQueryResponse)
	err := c.Do(ctx, &Request{Method: methodTradeQuery, BizContent: req, AppAuthToken: req.AppAuthToken}, resp)
	if err != nil {
		return nil, err
	}
	if err := checkEcho(methodTradeQuery, req.OutTradeNo, req.TradeNo, resp.OutTradeNo, resp.TradeNo); err != nil {
		return nil, err
	}
	return resp, nil
}
