package sandbox

// tradePrecreate answers alipay.trade.precreate: a QR code for the buyer to
// scan. As at Alipay, the trade is made only when the code is scanned
// (opened): until then alipay.trade.query answers ACQ.TRADE_NOT_EXIST.
// A repeat of the request returns the same code.
func tradePrecreate(s *Sandbox, c *call) *reply {
	o, fail := parseOrder(c, precreateRules)
	if fail != nil {
		return fail
	}
	var rep *reply
	s.store.run(c.now, func(x *tx) {
		ck, fail := x.checkout(o)
		if fail != nil {
			rep = fail
			return
		}
		rep = success(map[string]any{"out_trade_no": o.outTradeNo, "qr_code": c.baseURL + "/qr/" + ck.token})
	})
	return rep
}
