package sandbox

import (
	"slices"

	"zhifu/alipay"
)

// tradeQuery answers alipay.trade.query. trade_no wins over out_trade_no.
// fund_bill_list is sent when query_options asks for it, with the
// snake_case keys of API responses.
func tradeQuery(s *Sandbox, c *call) *reply {
	ref, fail := parseTradeRef(c)
	if fail != nil {
		return fail
	}
	opts, fail := c.biz.list("query_options")
	if fail != nil {
		return fail
	}
	var rep *reply
	s.store.run(c.now, func(x *tx) {
		t := x.find(c.app.AppID, ref.outTradeNo, ref.tradeNo)
		if t == nil {
			// Alipay's not-found node carries zero amounts (public samples).
			zero := alipay.Amount(0)
			rep = tradeNotExist(ref).with(map[string]any{
				"buyer_pay_amount": zero, "invoice_amount": zero, "point_amount": zero, "receipt_amount": zero,
			})
			return
		}
		rep = success(t.ids()).with(t.buyerFields()).with(t.paidAmounts()).with(map[string]any{
			"trade_status":  t.status,
			"send_pay_date": formatTime(t.gmtPayment),
			"subject":       t.order.subject,
			"body":          t.order.body,
			"store_id":      t.order.storeID,
			"terminal_id":   t.order.terminalID,
		})
		if slices.Contains(opts, "fund_bill_list") && !t.gmtPayment.IsZero() {
			rep.with(map[string]any{"fund_bill_list": fundBills(t.order.totalAmount)})
		}
	})
	return rep
}
