package sandbox

import (
	"encoding/json"
	"net/url"
	"time"

	"zhifu/alipay"
)

// EventKind says what happened to a trade.
type EventKind string

// Kinds of Event.
const (
	EventCreated  EventKind = "created"  // the trade exists, WAIT_BUYER_PAY (Alipay sends no notify for it)
	EventPaid     EventKind = "paid"     // the buyer paid: TRADE_SUCCESS
	EventRefunded EventKind = "refunded" // a refund: TRADE_SUCCESS when partial, TRADE_CLOSED when it completes the total
	EventClosed   EventKind = "closed"   // an unpaid trade closed by close, cancel or expiry: TRADE_CLOSED
	EventFinished EventKind = "finished" // the refund period is over: TRADE_FINISHED
)

// Event is one change of a trade, as Config.OnEvent receives it: the
// input of async notifies. Which kinds a product notifies is the
// notifier's choice (Alipay: page pay TRADE_SUCCESS only by default,
// wap/app also TRADE_CLOSED and TRADE_FINISHED).
type Event struct {
	// Seq numbers the events of a sandbox from 1, in the order of the
	// changes.
	Seq uint64
	// Kind says what happened.
	Kind EventKind
	// Time is when it happened on the trade clock (for an expiry: the
	// deadline).
	Time time.Time
	// Trade is the trade right after the change.
	Trade TradeSnapshot
	// Refund is the refund of an EventRefunded.
	Refund *Refund
}

// NotifyParams returns the parameters of the trade_status_sync notify of
// the event (§5.2 of the protocol notes), without those of one delivery
// attempt: notify_id, notify_time, sign_type and sign. Only parameters with
// a value are included, as Alipay sends them.
func (e Event) NotifyParams() url.Values {
	t := e.Trade
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	setTime := func(k string, at time.Time) {
		if !at.IsZero() {
			v.Set(k, alipay.FormatTime(at))
		}
	}
	set("notify_type", "trade_status_sync")
	set("app_id", t.AppID)
	set("auth_app_id", t.AppID)
	set("charset", "utf-8")
	set("version", "1.0")
	set("trade_no", t.TradeNo)
	set("out_trade_no", t.OutTradeNo)
	set("trade_status", string(t.Status))
	set("seller_id", t.SellerID)
	set("buyer_id", t.BuyerID)
	set("buyer_open_id", t.BuyerOpenID)
	set("buyer_logon_id", t.BuyerLogonID)
	set("total_amount", t.TotalAmount.String())
	set("subject", t.Subject)
	set("body", t.Body)
	set("passback_params", t.PassbackParams)
	setTime("gmt_create", t.GmtCreate)
	setTime("gmt_payment", t.GmtPayment)
	setTime("gmt_close", t.GmtClose)
	if !t.GmtPayment.IsZero() {
		paid := t.TotalAmount.String()
		set("receipt_amount", paid)
		set("invoice_amount", paid)
		set("buyer_pay_amount", paid)
		set("point_amount", "0.00")
		set("fund_bill_list", fundBillListNotify(t.TotalAmount))
	}
	if e.Refund != nil {
		set("refund_fee", t.RefundFee.String())
		set("out_biz_no", e.Refund.OutRequestNo)
		// gmt_refund carries milliseconds: "2015-04-28 15:45:57.320".
		set("gmt_refund", e.Refund.GmtRefund.In(beijing).Format("2006-01-02 15:04:05.000"))
	}
	return v
}

// fundBill is one entry of fund_bill_list in API responses (snake_case;
// notifies spell it in camelCase, see fundBillListNotify).
type fundBill struct {
	FundChannel string        `json:"fund_channel"`
	Amount      alipay.Amount `json:"amount"`
}

// fundBills returns the fund_bill_list of a trade the sandbox buyer paid
// from the balance of the Alipay account.
func fundBills(total alipay.Amount) []fundBill {
	return []fundBill{{FundChannel: "ALIPAYACCOUNT", Amount: total}}
}

// fundBillListNotify returns fund_bill_list as a notify carries it: JSON
// text with camelCase keys.
func fundBillListNotify(total alipay.Amount) string {
	b, _ := json.Marshal([]alipay.FundBill{{FundChannel: "ALIPAYACCOUNT", Amount: total}})
	return string(b)
}
