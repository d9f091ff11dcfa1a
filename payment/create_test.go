package payment_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/sandbox"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"Invalid", testCreateInvalid},
		{"DuplicateOutTradeNo", testCreateDuplicate},
		{"Channels", testCreateChannels},
		{"PrecreateUnknown", testCreatePrecreateUnknown},
	})
}

func testCreateInvalid(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	ok := payment.CreatePaymentRequest{Subject: "ok", Amount: 1, Channel: payment.ChannelPage}
	for _, tt := range []struct {
		name string
		edit func(r *payment.CreatePaymentRequest)
	}{
		{"zero amount", func(r *payment.CreatePaymentRequest) { r.Amount = 0 }},
		{"negative amount", func(r *payment.CreatePaymentRequest) { r.Amount = -1 }},
		{"amount above Alipay's", func(r *payment.CreatePaymentRequest) { r.Amount = payment.MaxTradeAmount + 1 }},
		{"empty subject", func(r *payment.CreatePaymentRequest) { r.Subject = "" }},
		{"long subject", func(r *payment.CreatePaymentRequest) { r.Subject = strings.Repeat("货", 257) }},
		{"control character", func(r *payment.CreatePaymentRequest) { r.Subject = "a\nb" }},
		{"unknown channel", func(r *payment.CreatePaymentRequest) { r.Channel = "cash" }},
		{"bad out_trade_no", func(r *payment.CreatePaymentRequest) { r.OutTradeNo = "no-dashes" }},
		{"short expiry", func(r *payment.CreatePaymentRequest) { r.ExpiresIn = time.Minute }},
		{"long expiry", func(r *payment.CreatePaymentRequest) { r.ExpiresIn = 16 * 24 * time.Hour }},
		{"return URL with query", func(r *payment.CreatePaymentRequest) { r.ReturnURL = "https://shop.example/r?x=1" }},
	} {
		req := ok
		tt.edit(&req)
		if _, err := e.svc.CreatePayment(e.ctx(), req); !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
	page, err := e.store.ListOrders(e.ctx(), payment.OrderFilter{})
	if err != nil || len(page.Orders) != 0 {
		t.Errorf("orders stored: %+v, %v", page.Orders, err)
	}
	long := ok
	long.Subject = strings.Repeat("货", 256)
	if _, err := e.svc.CreatePayment(e.ctx(), long); err != nil {
		t.Errorf("256 characters: %v", err)
	}
}

// testCreateDuplicate: an out_trade_no is never reused, even after the
// order using it closed.
func testCreateDuplicate(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	req := payment.CreatePaymentRequest{Subject: "x", Amount: 100, Channel: payment.ChannelPage, OutTradeNo: "SHOP_ORDER_42"}
	p, err := e.svc.CreatePayment(e.ctx(), req)
	if err != nil || p.Order.OutTradeNo != "SHOP_ORDER_42" {
		t.Fatalf("first: %+v, %v", p, err)
	}
	if _, err := e.svc.CloseOrder(e.ctx(), p.Order.ID); err != nil {
		t.Fatal(err)
	}
	req.Amount = 200
	if _, err := e.svc.CreatePayment(e.ctx(), req); !errors.Is(err, payment.ErrDuplicate) || !strings.Contains(err.Error(), "never reused") {
		t.Errorf("second: %v, want ErrDuplicate", err)
	}
}

// testCreateChannels: page and wap give a signed URL, app an order
// string, precreate a QR code from the sandbox, each with time_expire at
// the order's expiry.
func testCreateChannels(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	for _, ch := range []payment.Channel{payment.ChannelPage, payment.ChannelWAP} {
		p := e.create(ch, 100)
		if !strings.HasPrefix(p.PayURL, e.ts.GatewayURL) || !strings.Contains(p.PayURL, "time_expire") {
			t.Errorf("%s: pay URL %q", ch, p.PayURL)
		}
		e.open(p)
	}
	app := e.create(payment.ChannelApp, 100)
	if !strings.Contains(app.OrderString, "alipay.trade.app.pay") {
		t.Errorf("app order string %q", app.OrderString)
	}
	qr := e.create(payment.ChannelPrecreate, 100)
	if qr.QRCode == "" {
		t.Fatalf("precreate: no QR code: %+v", qr)
	}
	e.pay(qr)
	e.wantStatus(qr.Order.ID, payment.StatusPaid)
}

// testCreatePrecreateUnknown: a precreate whose outcome is unknown leaves
// the order pending; PaymentOf asks again with the same out_trade_no.
func testCreatePrecreateUnknown(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	e.fault(sandbox.Fault{Kind: sandbox.FaultSystemError, Method: "alipay.trade.precreate", Count: 1})
	p, err := e.svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{Subject: "qr", Amount: 100, Channel: payment.ChannelPrecreate})
	if !alipay.IsUnknown(err) || p == nil || p.Order == nil || p.QRCode != "" {
		t.Fatalf("CreatePayment: %+v, %v; want the order and an unknown outcome", p, err)
	}
	e.wantStatus(p.Order.ID, payment.StatusPending)
	again, err := e.svc.PaymentOf(e.ctx(), p.Order.ID)
	if err != nil || again.QRCode == "" {
		t.Fatalf("PaymentOf: %+v, %v", again, err)
	}
	e.pay(again)
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	if _, err := e.svc.PaymentOf(e.ctx(), o.ID); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("PaymentOf a paid order: %v", err)
	}
}
