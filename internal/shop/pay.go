package shop

import (
	"context"
	"errors"
	"net/http"

	"zhifu/payment"
)

// maxFormBytes bounds the body of the shop's forms: a few short fields.
const maxFormBytes = 16 << 10

// homeData is the data of the product list.
type homeData struct {
	Products []productView
}

// productView is a product as the page shows it.
type productView struct {
	Product
	PriceText string
}

// serveHome lists the products, each with its three ways to pay.
func (s *Shop) serveHome(w http.ResponseWriter, r *http.Request) {
	views := make([]productView, len(s.products))
	for i, p := range s.products {
		if p.Picture == "" {
			p.Picture = "gift"
		}
		views[i] = productView{Product: p, PriceText: yuan(p.Price)}
	}
	s.render(w, r, "home", "zhifu 演示商店 · Demo shop", "home", homeData{Products: views})
}

// servePay starts a payment of one product: a page or wap payment sends
// the browser to Alipay's signed cashier URL; a QR payment shows the
// order page with its code.
func (s *Shop) servePay(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	b := buyer(w, r)
	if !s.checkPost(r, b) {
		s.fail(w, r, http.StatusForbidden, "表单已过期或不是来自本店，请刷新页面后重试。",
			"This form has expired or did not come from this shop: reload the page and try again.", nil)
		return
	}
	p, ok := s.byID[r.PostFormValue("product")]
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "没有这个商品。", "There is no such product: go back to the shop and choose one.", nil)
		return
	}
	ch := payment.Channel(r.PostFormValue("channel"))
	switch ch {
	case payment.ChannelPage, payment.ChannelWAP, payment.ChannelPrecreate:
	default:
		s.fail(w, r, http.StatusBadRequest, "不支持这种付款方式。", "This way of paying is not offered: choose one of the shop's buttons.", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	pay, err := s.svc.CreatePayment(ctx, payment.CreatePaymentRequest{
		Subject:   p.Name,
		Body:      p.NameEN,
		Amount:    p.Price,
		Channel:   ch,
		ReturnURL: originOf(r) + "/return",
		Metadata:  map[string]string{MetadataBuyer: b, MetadataProduct: p.ID},
	})
	switch {
	case err != nil && pay != nil && pay.Order != nil:
		// The order is stored; only Alipay's answer is missing.
		s.fail(w, r, http.StatusBadGateway, "暂时无法连接支付宝（沙箱），订单已保存为待支付，请稍后在“我的订单”中查看。",
			"Alipay (the sandbox) could not be reached. The order was saved as waiting for payment; look at it again under My orders in a moment.", err)
		return
	case errors.Is(err, payment.ErrInvalid):
		s.fail(w, r, http.StatusBadRequest, "无法为这个商品创建订单。", "An order for this product cannot be made: "+err.Error(), err)
		return
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, "暂时无法下单，请稍后再试。", "The order could not be saved; try again in a moment.", err)
		return
	}
	if ch == payment.ChannelPrecreate {
		http.Redirect(w, r, "/orders/"+pay.Order.ID, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, pay.PayURL, http.StatusSeeOther)
}

// servePayAgain sends the buyer back to the cashier of a pending page or
// wap order (one left before paying): the same out_trade_no, signed anew.
func (s *Shop) servePayAgain(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	b := buyer(w, r)
	if !s.checkPost(r, b) {
		s.fail(w, r, http.StatusForbidden, "表单已过期或不是来自本店，请刷新页面后重试。",
			"This form has expired or did not come from this shop: reload the page and try again.", nil)
		return
	}
	o := s.ownOrder(w, r, b)
	if o == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	pay, err := s.svc.PaymentOf(ctx, o.ID)
	switch {
	case errors.Is(err, payment.ErrConflict):
		// Paid or closed meanwhile: the order page says which.
		http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
		return
	case err != nil:
		s.fail(w, r, http.StatusBadGateway, "暂时无法回到支付宝收银台，请稍后再试。", "The Alipay cashier could not be reached just now; try again in a moment.", err)
		return
	case pay.PayURL == "":
		http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, pay.PayURL, http.StatusSeeOther)
}

// serveReturn is the return_url: Alipay sends the buyer's browser here
// after a page or wap payment, with signed parameters. The return proves
// nothing: the Service verifies it, records it and asks Alipay about a
// pending order; the buyer then sees the order as the database has it.
func (s *Shop) serveReturn(w http.ResponseWriter, r *http.Request) {
	b := buyer(w, r)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	o, err := s.svc.HandleReturn(ctx, r.URL.Query())
	switch {
	case errors.Is(err, payment.ErrReturnInvalid):
		s.fail(w, r, http.StatusBadRequest, "这个返回链接没有支付宝的有效签名，已忽略。",
			"This return link does not carry a valid Alipay signature; it was ignored and changed nothing.", err)
		return
	case errors.Is(err, payment.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "找不到这个订单。", "This shop has no such order.", err)
		return
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, "暂时无法读取订单，请稍后在“我的订单”中查看。",
			"The order could not be read just now; look under My orders in a moment.", err)
		return
	}
	if o.Metadata[MetadataBuyer] != b {
		s.fail(w, r, http.StatusForbidden, "这个订单是在另一个浏览器中下的，请在下单的浏览器中查看。",
			"This order was placed in another browser: look at it in the browser you ordered with.", nil)
		return
	}
	http.Redirect(w, r, "/orders/"+o.ID+"?returned=1", http.StatusSeeOther)
}

// originOf returns the scheme and host the buyer's browser used to reach
// the shop, so that Alipay sends the buyer back to the same address (and
// its cookie).
func originOf(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
