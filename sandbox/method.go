package sandbox

import (
	"time"

	"zhifu/alipay"
)

// methodSpec is how the sandbox answers one gateway method: api methods
// answer a signed JSON node; page methods (page and wap pay) answer the
// buyer's browser with the cashier.
type methodSpec struct {
	api  func(s *Sandbox, c *call) *reply
	page func(s *Sandbox, c *call) (*checkout, *reply)
}

// Payment rules of the methods that make trades: product codes (§12 of the
// protocol notes) and the time to pay when the request sets none (§6.4:
// 15 days for the payment pages; 3 hours face to face; a precreate QR code
// is valid 2 hours).
var (
	pagePayRules   = orderRules{products: []string{alipay.ProductCodePagePay}, timeout: 15 * 24 * time.Hour}
	wapPayRules    = orderRules{products: []string{alipay.ProductCodeWapPay}, timeout: 15 * 24 * time.Hour}
	precreateRules = orderRules{products: []string{alipay.ProductCodeFaceToFace, "QR_CODE_OFFLINE"}, timeout: 2 * time.Hour}
	createRules    = orderRules{products: []string{alipay.ProductCodeFaceToFace, alipay.ProductCodeJSAPIPay}, timeout: 3 * time.Hour}
	payRules       = orderRules{products: []string{alipay.ProductCodeFaceToFace}, timeout: 3 * time.Hour}
)

// methodTable returns the methods the gateway knows; any other is answered
// isv.invalid-method.
func methodTable() map[string]*methodSpec {
	return map[string]*methodSpec{
		"alipay.trade.page.pay":             {page: pagePay(pagePayRules)},
		"alipay.trade.wap.pay":              {page: pagePay(wapPayRules)},
		"alipay.trade.precreate":            {api: tradePrecreate},
		"alipay.trade.create":               {api: tradeCreate},
		"alipay.trade.pay":                  {api: tradePay},
		"alipay.trade.query":                {api: tradeQuery},
		"alipay.trade.refund":               {api: tradeRefund},
		"alipay.trade.fastpay.refund.query": {api: tradeFastpayRefundQuery},
		"alipay.trade.close":                {api: tradeClose},
		"alipay.trade.cancel":               {api: tradeCancel},
		methodBillDownloadURLQuery:          {api: dataDataserviceBillDownloadURLQuery},
	}
}

// callHooks run around every verified call: the seam where fault
// injection (phase 3) makes a call answer ACQ.SYSTEM_ERROR or hang before
// the method runs, or lose its answer after the method took effect. Nil
// hooks do nothing.
type callHooks struct {
	// before may answer the call instead of the method (non-nil reply).
	before func(c *call) *reply
	// after may replace the method's answer; the method's effect stays.
	after func(c *call, r *reply) *reply
}

// dispatch runs c's api method between the hooks.
func (s *Sandbox) dispatch(c *call) *reply {
	if h := s.hooks.before; h != nil {
		if r := h(c); r != nil {
			return r
		}
	}
	r := c.spec.api(s, c)
	if h := s.hooks.after; h != nil {
		r = h(c, r)
	}
	return r
}

// tradeRef is how a request names an existing trade.
type tradeRef struct{ outTradeNo, tradeNo string }

// parseTradeRef reads out_trade_no and trade_no; at least one is needed.
func parseTradeRef(c *call) (tradeRef, *reply) {
	if c.biz == nil {
		return tradeRef{}, invalidParam("biz_content", "缺失")
	}
	var ref tradeRef
	var fail *reply
	if ref.outTradeNo, fail = c.biz.textMax("out_trade_no", 64); fail != nil {
		return ref, fail
	}
	if ref.tradeNo, fail = c.biz.textMax("trade_no", 64); fail != nil {
		return ref, fail
	}
	if ref.outTradeNo == "" && ref.tradeNo == "" {
		return ref, invalidParam("out_trade_no", "和 trade_no 不能同时为空")
	}
	return ref, nil
}

// tradeNotExist is the answer about a trade the sandbox does not have,
// echoing how the request named it.
func tradeNotExist(ref tradeRef) *reply {
	return bizError(alipay.SubCodeTradeNotExist, "交易不存在").
		with(map[string]any{"out_trade_no": ref.outTradeNo, "trade_no": ref.tradeNo})
}

// ids returns the fields every answer about t carries.
func (t *trade) ids() map[string]any {
	return map[string]any{"trade_no": t.tradeNo, "out_trade_no": t.order.outTradeNo}
}

// buyerFields returns the buyer fields of an answer about t.
func (t *trade) buyerFields() map[string]any {
	return map[string]any{"buyer_logon_id": t.buyerLogonID, "buyer_user_id": t.buyerID, "buyer_open_id": t.buyerOpenID}
}

// formatTime formats an Alipay time field; "" (left out) for zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return alipay.FormatTime(t)
}
