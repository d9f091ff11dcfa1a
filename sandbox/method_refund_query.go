package sandbox

import (
	"slices"

	"zhifu/alipay"
)

// tradeFastpayRefundQuery answers alipay.trade.fastpay.refund.query: the
// refund of one out_request_no. A refund the sandbox does not know is
// answered 10000 without refund_status, as Alipay does for a refund it has
// not received. gmt_refund_pay is sent when query_options asks for it.
func tradeFastpayRefundQuery(s *Sandbox, c *call) *reply {
	ref, fail := parseTradeRef(c)
	if fail != nil {
		return fail
	}
	outRequestNo, fail := c.biz.textMax("out_request_no", 64)
	if fail != nil {
		return fail
	}
	if outRequestNo == "" {
		return invalidParam("out_request_no", "缺失")
	}
	opts, fail := c.biz.list("query_options")
	if fail != nil {
		return fail
	}
	var rep *reply
	s.store.run(c.now, func(x *tx) {
		t := x.find(c.app.AppID, ref.outTradeNo, ref.tradeNo)
		if t == nil {
			rep = tradeNotExist(ref)
			return
		}
		rep = success(t.ids()).with(map[string]any{"out_request_no": outRequestNo})
		r := t.findRefund(outRequestNo)
		if r == nil {
			return
		}
		rep.with(map[string]any{
			"refund_status": alipay.RefundStatusSuccess,
			"refund_amount": r.amount,
			"total_amount":  t.order.totalAmount,
			"refund_reason": r.reason,
		})
		if slices.Contains(opts, "gmt_refund_pay") {
			rep.with(map[string]any{"gmt_refund_pay": formatTime(r.gmt)})
		}
	})
	return rep
}
