package sandbox

import (
	"net/http"
)

// pagePay answers alipay.trade.page.pay and alipay.trade.wap.pay: a
// checkout the buyer's browser is sent on to (the cashier), where the
// trade is made. Until the cashier is opened alipay.trade.query answers
// ACQ.TRADE_NOT_EXIST, as at Alipay.
func pagePay(rules orderRules) func(s *Sandbox, c *call) (*checkout, *reply) {
	return func(s *Sandbox, c *call) (*checkout, *reply) {
		o, fail := parseOrder(c, rules)
		if fail != nil {
			return nil, fail
		}
		var ck *checkout
		s.store.run(c.now, func(x *tx) { ck, fail = x.checkout(o) })
		return ck, fail
	}
}

// servePage answers a page method: the buyer's browser is redirected to
// the cashier (303, so that a POSTed form is followed with a GET; Alipay
// also redirects to its cashier, though its exact status is UNCONFIRMED),
// or shown an error page. Alipay's error page is a 200 HTML page; its
// layout is UNCONFIRMED, the sandbox's shows code, sub_code and sub_msg.
func (s *Sandbox) servePage(w http.ResponseWriter, c *call, fail *reply) {
	var ck *checkout
	if fail == nil && s.hooks.before != nil {
		fail = s.hooks.before(c)
	}
	if fail == nil {
		ck, fail = c.spec.page(s, c)
	}
	if fail != nil {
		s.log.Debug("sandbox: gateway", "app_id", c.params.Get("app_id"), "method", c.method, "code", fail.code, "sub_code", fail.subCode)
		renderError(w, http.StatusOK, fail)
		return
	}
	s.log.Debug("sandbox: gateway", "app_id", c.app.AppID, "method", c.method, "checkout", ck.token)
	http.Redirect(w, c.r, c.baseURL+"/cashier/"+ck.token, http.StatusSeeOther)
}
