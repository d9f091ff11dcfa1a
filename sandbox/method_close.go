package sandbox

// tradeClose answers alipay.trade.close: an unpaid trade is closed; any
// other state is refused with ACQ.TRADE_STATUS_ERROR (UNCONFIRMED exact
// sub_code, §8.1). A page or precreate payment the buyer has not opened is
// not a trade yet: ACQ.TRADE_NOT_EXIST, and its link or code stays
// payable until its deadline, as at Alipay.
func tradeClose(s *Sandbox, c *call) *reply {
	ref, fail := parseTradeRef(c)
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
		if fail := x.close(t); fail != nil {
			rep = fail
			return
		}
		rep = success(t.ids())
	})
	return rep
}
