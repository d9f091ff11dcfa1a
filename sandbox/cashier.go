package sandbox

import (
	"net/http"
	"net/url"

	"zhifu/alipay"
)

// routeCashier adds the buyer's pages: the cashier of a checkout, its Pay,
// Fail (insufficient balance) and Cancel actions, and the scan page that
// precreate QR codes point at. The actions are POSTs to URLs holding the
// checkout's unguessable token: another site cannot name them.
func (s *Sandbox) routeCashier(mux *http.ServeMux) {
	mux.HandleFunc("GET /cashier/{token}", s.serveCashier)
	mux.HandleFunc("POST /cashier/{token}/pay", s.serveCashierPay)
	mux.HandleFunc("POST /cashier/{token}/fail", s.serveCashierFail)
	mux.HandleFunc("POST /cashier/{token}/cancel", s.serveCashierCancel)
	mux.HandleFunc("GET /qr/{token}", s.serveQR) // the scan page, or its code's image (qr.go)
}

// openCheckout opens the checkout of the request's token: the trade is
// made if it does not exist yet. It returns the checkout (nil if the token
// is unknown), its app, the trade and, for a checkout that cannot be
// opened (past its deadline), the reason.
func (s *Sandbox) openCheckout(r *http.Request, then func(x *tx, t *trade) *reply) (*checkout, *App, TradeSnapshot, *reply) {
	var (
		ck   *checkout
		app  *App
		snap TradeSnapshot
		fail *reply
	)
	s.store.run(s.clock.now(), func(x *tx) {
		if ck = x.st.checkouts[r.PathValue("token")]; ck == nil {
			return
		}
		app = s.apps.get(ck.order.appID)
		var t *trade
		if t, fail = x.open(ck, app.SellerID, s.buyer); fail != nil {
			return
		}
		if then != nil {
			fail = then(x, t)
		}
		snap = t.snapshot()
	})
	return ck, app, snap, fail
}

// serveCashier shows the cashier of a checkout, making its trade.
func (s *Sandbox) serveCashier(w http.ResponseWriter, r *http.Request) {
	s.servePayPage(w, r, "cashier", "")
}

// serveScan is the buyer scanning a QR code: the trade is made, and the
// phone shows what to pay.
func (s *Sandbox) serveScan(w http.ResponseWriter, r *http.Request) {
	s.servePayPage(w, r, "scan", "")
}

// servePayPage opens the checkout and shows page (with failure, when a
// payment just failed), or the trade's result once it is not waiting.
func (s *Sandbox) servePayPage(w http.ResponseWriter, r *http.Request, page, failure string) {
	ck, _, t, fail := s.openCheckout(r, nil)
	switch {
	case ck == nil:
		renderNotFound(w)
	case fail != nil:
		renderError(w, http.StatusOK, fail)
	case t.Status.Paid():
		render(w, http.StatusOK, "paid", s.view(r, ck.token, t, s.clock.now()))
	case t.Status == alipay.TradeStatusClosed:
		renderError(w, http.StatusOK, bizError(alipay.SubCodeTradeHasClose, "交易已经关闭"))
	default:
		v := s.view(r, ck.token, t, s.clock.now())
		v.Error = failure
		render(w, http.StatusOK, page, v)
	}
}

// serveCashierFail is the buyer paying without the money: the payment
// fails, the trade stays WAIT_BUYER_PAY and the cashier says why, as
// Alipay's does. Nothing is notified.
func (s *Sandbox) serveCashierFail(w http.ResponseWriter, r *http.Request) {
	s.servePayPage(w, r, "cashier", "余额不足，支付失败。请更换付款方式。 Insufficient balance: the payment failed (ACQ.BUYER_BALANCE_NOT_ENOUGH).")
}

// serveCashierPay pays the trade as the sandbox buyer. A page or wap
// payment's browser is sent to return_url with the signed return
// parameters (a scanned QR code has no return: the phone shows the
// result, as does a payment without return_url). Paying a paid trade
// again only redirects again. The async notify goes out through the
// notifier.
func (s *Sandbox) serveCashierPay(w http.ResponseWriter, r *http.Request) {
	ck, app, t, fail := s.openCheckout(r, func(x *tx, t *trade) *reply {
		if t.status.Paid() {
			return nil
		}
		return x.pay(t)
	})
	switch {
	case ck == nil:
		renderNotFound(w)
	case fail != nil:
		renderError(w, http.StatusOK, fail)
	case t.ReturnURL == "" || (t.Method != "alipay.trade.page.pay" && t.Method != "alipay.trade.wap.pay"):
		render(w, http.StatusOK, "paid", s.view(r, ck.token, t, s.clock.now()))
	default:
		to, err := s.returnURL(app, t)
		if err != nil {
			panic(err) // signing with the sandbox's own key cannot fail
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

// serveCashierCancel is the buyer leaving the cashier without paying: the
// trade stays WAIT_BUYER_PAY until it expires or the merchant closes it,
// as at Alipay. A wap payment's buyer goes to quit_url; any other sees
// that the order is still open, with the way back to the cashier (Alipay's
// page pay has no cancel: the buyer just leaves).
func (s *Sandbox) serveCashierCancel(w http.ResponseWriter, r *http.Request) {
	ck, _, t, fail := s.openCheckout(r, nil)
	switch {
	case ck == nil:
		renderNotFound(w)
	case fail != nil:
		renderError(w, http.StatusOK, fail)
	case ck.order.quitURL != "":
		http.Redirect(w, r, ck.order.quitURL, http.StatusSeeOther)
	default:
		render(w, http.StatusOK, "left", s.view(r, ck.token, t, s.clock.now()))
	}
}

// returnURL returns the trade's return_url with Alipay's sync-return
// parameters added, signed as a notify (alipay.SignNotify: without
// sign_type). The merchant's own query parameters stay, unsigned; how
// Alipay merges them is UNCONFIRMED (§5.6), and the SDK's VerifyReturn
// checks Alipay's parameters alone when the whole query does not verify.
func (s *Sandbox) returnURL(app *App, t TradeSnapshot) (string, error) {
	p := url.Values{
		"method":       {t.Method + ".return"},
		"charset":      {"utf-8"},
		"out_trade_no": {t.OutTradeNo},
		"total_amount": {t.TotalAmount.String()},
		"trade_no":     {t.TradeNo},
		"auth_app_id":  {t.AppID},
		"version":      {"1.0"},
		"app_id":       {t.AppID},
		"sign_type":    {string(app.SignType)},
		"seller_id":    {t.SellerID},
		"timestamp":    {alipay.FormatTime(s.clock.now())},
	}
	sign, err := alipay.SignNotify(s.cfg.AlipayPrivateKey, app.SignType, p)
	if err != nil {
		return "", err
	}
	p.Set("sign", sign)
	u, err := url.Parse(t.ReturnURL) // checked by the gateway
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += p.Encode()
	return u.String(), nil
}
