package alipay

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Return is a verified sync return: the parameters Alipay adds to return_url
// when it sends the buyer's browser back after paying.
//
// A return proves nothing about payment: the buyer may never come back, or
// may replay an old return. Show the order as your database knows it, and if
// it is still pending ask alipay.trade.query; never mark an order paid from
// a return.
type Return struct {
	Method      string // "alipay.trade.page.pay.return" or "alipay.trade.wap.pay.return"
	AppID       string
	AuthAppID   string
	Charset     string
	Version     string
	SignType    SignType
	OutTradeNo  string
	TradeNo     string
	SellerID    string
	TotalAmount Amount
	Timestamp   time.Time

	// Params holds every parameter received.
	Params url.Values
}

// returnParams are the parameters Alipay puts on a return: what it signs.
// The merchant's return_url may carry query parameters of its own; how Alipay
// merges them is UNCONFIRMED, so a return that does not verify as a whole is
// verified again over these alone.
var returnParams = []string{
	"app_id", "auth_app_id", "charset", "method", "out_trade_no", "seller_id",
	"sign", "sign_type", "timestamp", "total_amount", "trade_no", "version",
}

// ParseReturn verifies the sync return in the query of r, the request of the
// buyer's browser to return_url.
func (c *Client) ParseReturn(r *http.Request) (*Return, error) {
	return c.VerifyReturn(r.URL.Query())
}

// VerifyReturn verifies a sync return already decoded into query values and
// parses it. A bad signature wraps ErrSignature.
func (c *Client) VerifyReturn(query url.Values) (*Return, error) {
	err := c.verifyCallback(query)
	if errors.Is(err, ErrSignature) {
		own := make(url.Values, len(returnParams))
		for _, k := range returnParams {
			if v, ok := query[k]; ok {
				own[k] = v
			}
		}
		if len(own) < len(query) {
			err = c.verifyCallback(own)
		}
	}
	if err != nil {
		return nil, err
	}
	ret := &Return{
		Method:     query.Get("method"),
		AppID:      query.Get("app_id"),
		AuthAppID:  query.Get("auth_app_id"),
		Charset:    query.Get("charset"),
		Version:    query.Get("version"),
		SignType:   SignType(query.Get("sign_type")),
		OutTradeNo: query.Get("out_trade_no"),
		TradeNo:    query.Get("trade_no"),
		SellerID:   query.Get("seller_id"),
		Params:     query,
	}
	p := fieldParser{form: query}
	ret.TotalAmount = p.amount("total_amount")
	ret.Timestamp = p.time("timestamp")
	if p.err != nil {
		return nil, p.err
	}
	if ret.OutTradeNo == "" {
		return nil, fmt.Errorf("alipay: the return has no out_trade_no")
	}
	return ret, nil
}
