package sandbox

import (
	"time"

	"zhifu/alipay"
)

// trade is one trade of the state machine. Only the tradeStore's
// transactions touch it, under the store's lock.
type trade struct {
	order        *order
	tradeNo      string
	sellerID     string
	status       alipay.TradeStatus
	buyerID      string
	buyerOpenID  string
	buyerLogonID string
	gmtCreate    time.Time
	gmtPayment   time.Time
	gmtClose     time.Time
	expiresAt    time.Time
	refunds      []*refund // in the order they were made
	refundFee    alipay.Amount
}

// refund is one refund of a trade, identified by its out_request_no.
type refund struct {
	outRequestNo string
	amount       alipay.Amount
	reason       string
	gmt          time.Time
}

// refundable returns what is left to refund.
func (t *trade) refundable() alipay.Amount { return t.order.totalAmount - t.refundFee }

// findRefund returns the refund of outRequestNo, or nil.
func (t *trade) findRefund(outRequestNo string) *refund {
	for _, r := range t.refunds {
		if r.outRequestNo == outRequestNo {
			return r
		}
	}
	return nil
}

// statusError is the answer to an operation the trade's status refuses,
// as the operations that need WAIT_BUYER_PAY report it.
func (t *trade) statusError() *reply {
	switch t.status {
	case alipay.TradeStatusSuccess, alipay.TradeStatusFinished:
		return bizError(alipay.SubCodeTradeHasSuccess, "交易已被支付")
	case alipay.TradeStatusClosed:
		return bizError(alipay.SubCodeTradeHasClose, "交易已经关闭")
	}
	return nil
}

// TradeSnapshot is a trade as the sandbox holds it at one moment.
type TradeSnapshot struct {
	AppID          string
	OutTradeNo     string
	TradeNo        string
	Method         string // the method that made it, such as "alipay.trade.page.pay"
	ProductCode    string
	Status         alipay.TradeStatus
	TotalAmount    alipay.Amount
	RefundFee      alipay.Amount // refunded so far
	Subject        string
	Body           string
	PassbackParams string
	NotifyURL      string
	ReturnURL      string
	SellerID       string
	BuyerID        string
	BuyerOpenID    string
	BuyerLogonID   string
	GmtCreate      time.Time
	GmtPayment     time.Time // zero until paid
	GmtClose       time.Time // zero until closed
	ExpiresAt      time.Time // when it closes if still unpaid
	Refunds        []Refund
}

// Refund is one refund of a trade.
type Refund struct {
	OutRequestNo string // the merchant's refund number (out_trade_no when it sent none)
	Amount       alipay.Amount
	Reason       string
	GmtRefund    time.Time
}

// snapshot copies t.
func (t *trade) snapshot() TradeSnapshot {
	o := t.order
	s := TradeSnapshot{
		AppID:          o.appID,
		OutTradeNo:     o.outTradeNo,
		TradeNo:        t.tradeNo,
		Method:         o.method,
		ProductCode:    o.productCode,
		Status:         t.status,
		TotalAmount:    o.totalAmount,
		RefundFee:      t.refundFee,
		Subject:        o.subject,
		Body:           o.body,
		PassbackParams: o.passback,
		NotifyURL:      o.notifyURL,
		ReturnURL:      o.returnURL,
		SellerID:       t.sellerID,
		BuyerID:        t.buyerID,
		BuyerOpenID:    t.buyerOpenID,
		BuyerLogonID:   t.buyerLogonID,
		GmtCreate:      t.gmtCreate,
		GmtPayment:     t.gmtPayment,
		GmtClose:       t.gmtClose,
		ExpiresAt:      t.expiresAt,
	}
	for _, r := range t.refunds {
		s.Refunds = append(s.Refunds, r.export())
	}
	return s
}

func (r *refund) export() Refund {
	return Refund{OutRequestNo: r.outRequestNo, Amount: r.amount, Reason: r.reason, GmtRefund: r.gmt}
}
