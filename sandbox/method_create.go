package sandbox

// tradeCreate answers alipay.trade.create: a trade for a named buyer
// (buyer_id or buyer_open_id), made at once in WAIT_BUYER_PAY for the
// buyer's client to pay. A repeat of the request returns the same trade.
func tradeCreate(s *Sandbox, c *call) *reply {
	o, fail := parseOrder(c, createRules)
	if fail != nil {
		return fail
	}
	if o.buyerID, fail = c.biz.textMax("buyer_id", 28); fail != nil {
		return fail
	}
	if o.buyerOpenID, fail = c.biz.textMax("buyer_open_id", 128); fail != nil {
		return fail
	}
	switch {
	case o.buyerID == "" && o.buyerOpenID == "":
		return invalidParam("buyer_id", "和 buyer_open_id 不能同时为空")
	case o.buyerID != "" && !userIDPattern.MatchString(o.buyerID):
		return invalidParam("buyer_id", "应为 2088 开头的 16 位数字")
	}
	var rep *reply
	s.store.run(c.now, func(x *tx) {
		t, fail := x.create(o, c.app.SellerID, s.buyer, o.deadline(c.now))
		if fail != nil {
			rep = fail
			return
		}
		rep = success(t.ids())
	})
	return rep
}
