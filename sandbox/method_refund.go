package sandbox

// tradeRefund answers alipay.trade.refund. out_request_no identifies the
// refund and makes it idempotent: a repeat refunds nothing more and
// answers fund_change "N"; the same out_request_no with another amount is
// refused (ACQ.DISCORDANT_REPEAT_REQUEST). Without out_request_no the
// refund is identified by the out_trade_no (§7.1). refund_fee is the total
// refunded on the trade so far; on a repeat it is the total now, which
// Alipay's answer is UNCONFIRMED to match when other refunds came between.
func tradeRefund(s *Sandbox, c *call) *reply {
	ref, fail := parseTradeRef(c)
	if fail != nil {
		return fail
	}
	amount, ok, fail := c.biz.amount("refund_amount")
	if fail != nil {
		return fail
	}
	if !ok {
		return invalidParam("refund_amount", "缺失")
	}
	var outRequestNo, reason string
	if outRequestNo, fail = c.biz.textMax("out_request_no", 64); fail != nil {
		return fail
	}
	if reason, fail = c.biz.textMax("refund_reason", 256); fail != nil {
		return fail
	}
	var rep *reply
	s.store.run(c.now, func(x *tx) {
		t := x.find(c.app.AppID, ref.outTradeNo, ref.tradeNo)
		if t == nil {
			rep = tradeNotExist(ref)
			return
		}
		no := outRequestNo
		if no == "" {
			no = t.order.outTradeNo
		}
		r, moved, fail := x.refund(t, no, amount, reason)
		if fail != nil {
			rep = fail
			return
		}
		change := "N"
		if moved {
			change = "Y"
		}
		rep = success(t.ids()).with(t.buyerFields()).with(map[string]any{
			"fund_change":    change,
			"refund_fee":     t.refundFee,
			"gmt_refund_pay": formatTime(r.gmt),
		})
	})
	return rep
}
