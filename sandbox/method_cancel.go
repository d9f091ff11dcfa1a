package sandbox

import "zhifu/alipay"

// tradeCancel answers alipay.trade.cancel: an unpaid trade is closed
// (action "close"), a paid one refunded in full (action "refund"). It is
// idempotent: a cancelled trade answers the same action again. retry_flag
// is always "N": the sandbox settles every cancel at once.
func tradeCancel(s *Sandbox, c *call) *reply {
	ref, fail := parseTradeRef(c)
	if fail != nil {
		return fail
	}
	noRetry := map[string]any{"retry_flag": "N"}
	var rep *reply
	s.store.run(c.now, func(x *tx) {
		t := x.find(c.app.AppID, ref.outTradeNo, ref.tradeNo)
		if t == nil {
			rep = tradeNotExist(ref).with(noRetry)
			return
		}
		action, gmtRefund := "close", ""
		switch t.status {
		case alipay.TradeStatusWaitBuyerPay:
			x.close(t)
		case alipay.TradeStatusSuccess:
			// The refund of a cancel has no out_request_no of the
			// merchant's; it is recorded under one of the sandbox's.
			r, _, fail := x.refund(t, "cancel_"+t.tradeNo, t.refundable(), "cancel")
			if fail != nil {
				rep = fail.with(noRetry)
				return
			}
			action, gmtRefund = "refund", formatTime(r.gmt)
		case alipay.TradeStatusClosed:
			if t.refundFee > 0 {
				action = "refund"
			}
		default: // TRADE_FINISHED
			rep = bizError(alipay.SubCodeTradeStatusError, "交易状态不合法").with(noRetry)
			return
		}
		rep = success(t.ids()).with(noRetry).with(map[string]any{"action": action, "gmt_refund_pay": gmtRefund})
	})
	return rep
}
