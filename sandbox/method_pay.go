package sandbox

import (
	"regexp"

	"zhifu/alipay"
)

// Test auth codes of alipay.trade.pay (the buyer's payment code, scene
// bar_code). Any other code of 16 to 24 digits starting with 25 to 30 pays
// at once; anything else is refused as ACQ.PAYMENT_AUTH_CODE_INVALID.
const (
	// AuthCodeSuccess pays at once (code 10000), as any other valid code.
	AuthCodeSuccess = "280000000000000000"
	// AuthCodeWaitBuyerPay makes the trade and leaves the buyer to confirm
	// (code 10003, WAIT_BUYER_PAY): complete it with Sandbox.Pay, or let
	// the merchant cancel it.
	AuthCodeWaitBuyerPay = "289000000000000001"
	// AuthCodeBalanceNotEnough is refused with ACQ.BUYER_BALANCE_NOT_ENOUGH;
	// no trade is made.
	AuthCodeBalanceNotEnough = "289000000000000002"
	// AuthCodeInvalid is refused with ACQ.PAYMENT_AUTH_CODE_INVALID, as an
	// expired or mistyped code; no trade is made.
	AuthCodeInvalid = "289000000000000003"
)

// barCodePattern matches an Alipay payment code: 16 to 24 digits starting
// with 25 to 30.
var barCodePattern = regexp.MustCompile(`^(?:2[5-9]|30)[0-9]{14,22}$`)

// tradePay answers alipay.trade.pay: the merchant took the buyer's payment
// code. Whether a refused code leaves a trade behind at Alipay is
// UNCONFIRMED; the sandbox makes none.
func tradePay(s *Sandbox, c *call) *reply {
	o, fail := parseOrder(c, payRules)
	if fail != nil {
		return fail
	}
	scene, fail := c.biz.text("scene")
	if fail != nil {
		return fail
	}
	code, fail := c.biz.textMax("auth_code", 128)
	if fail != nil {
		return fail
	}
	switch scene {
	case "", string(alipay.PaySceneBarCode):
		if !barCodePattern.MatchString(code) || code == AuthCodeInvalid {
			return bizError(alipay.SubCodePaymentAuthCodeInvalid, "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
		}
	case string(alipay.PaySceneSecurityCode):
		if code == "" {
			return invalidParam("auth_code", "缺失")
		}
	default:
		return invalidParam("scene", "不支持 "+scene)
	}
	if code == AuthCodeBalanceNotEnough {
		return bizError(alipay.SubCodeBuyerBalanceNotEnough, "买家余额不足")
	}
	var rep *reply
	s.store.run(c.now, func(x *tx) {
		t, fail := x.create(o, c.app.SellerID, s.buyer, o.deadline(c.now))
		if fail != nil {
			rep = fail
			return
		}
		if code == AuthCodeWaitBuyerPay {
			rep = &reply{code: alipay.CodePaying, msg: codeMsg(alipay.CodePaying), fields: t.ids()}
			rep.with(t.buyerFields()).with(map[string]any{"total_amount": o.totalAmount})
			return
		}
		if fail := x.pay(t); fail != nil {
			rep = fail
			return
		}
		rep = success(t.ids()).with(t.buyerFields()).with(t.paidAmounts()).with(map[string]any{
			"gmt_payment":    formatTime(t.gmtPayment),
			"fund_bill_list": fundBills(o.totalAmount),
		})
	})
	return rep
}

// paidAmounts returns the amount fields of an answer about t: what the
// buyer paid, or zeros while unpaid.
func (t *trade) paidAmounts() map[string]any {
	paid := alipay.Amount(0)
	if !t.gmtPayment.IsZero() {
		paid = t.order.totalAmount
	}
	return map[string]any{
		"total_amount":     t.order.totalAmount,
		"receipt_amount":   paid,
		"buyer_pay_amount": paid,
		"invoice_amount":   paid,
		"point_amount":     alipay.Amount(0),
	}
}
