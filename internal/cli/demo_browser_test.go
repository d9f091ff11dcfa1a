package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"zhifu/internal/browsertest"
	"zhifu/payment"
)

// orderPath matches the path of a shop's order page and takes its id.
var orderPath = regexp.MustCompile(`/orders/(ord_[A-Z0-9]+)`)

// shopper is a browser clicking through a demo stack.
type shopper struct {
	t *testing.T
	b *browsertest.Browser
	d *testDemo
}

// step runs browser steps in tab and saves a screenshot named shot after
// them.
func (s *shopper) step(tab context.Context, shot string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	s.b.Do(tab, shot, steps...)
	s.b.Screenshot(tab, shot)
}

// orderID returns the id of the order whose page tab shows.
func (s *shopper) orderID(tab context.Context) string {
	s.t.Helper()
	loc := browsertest.Run(s.b, tab, "read the address", chromedp.Location())
	m := orderPath.FindStringSubmatch(loc)
	if m == nil {
		s.t.Fatalf("the browser is at %s, not on an order page", loc)
	}
	return m[1]
}

// payAtCashier buys product with channel (page or wap) on the shop's
// page, pays on the sandbox's cashier and waits until the page it returns
// to says paid: the order's status from the database, after the notify
// or the return's query. It returns the order id.
func (s *shopper) payAtCashier(tab context.Context, product, channel string) string {
	s.t.Helper()
	s.step(tab, "shop", chromedp.Navigate(s.d.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#product-"+product)))
	s.step(tab, channel+"-cashier",
		chromedp.Click(chromedp.CSS(`#product-`+product+` button[value="`+channel+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#pay")))
	buyer := browsertest.Run(s.b, tab, "read the cashier's buyer", chromedp.Text(chromedp.CSS("#buyer")))
	if buyer != DemoBuyerAccount {
		s.t.Errorf("the cashier's buyer is %q; zhifu demo prints %q", buyer, DemoBuyerAccount)
	}
	s.step(tab, channel+"-returned-paid", chromedp.Click(chromedp.CSS("#pay")), chromedp.WaitVisible(chromedp.CSS("#paid-notice")))
	id := s.orderID(tab)
	if o, err := s.d.Service.GetOrder(context.Background(), id); err != nil || o.Status != payment.StatusPaid {
		s.t.Fatalf("the page says paid, the database says %v (%v)", o, err)
	}
	return id
}

// TestDemoInBrowser clicks through the demo's shop and the sandbox's
// pages in Chromium, on the whole stack in-process: paying on the
// cashier, paying by QR code from a second tab, an order expiring, and a
// refund. Every page is saved as a screenshot.
func TestDemoInBrowser(t *testing.T) {
	b := browsertest.New(t)
	d := startTestDemo(t)
	tab := b.Tab()

	t.Run("page pay, cashier, return, my orders", func(t *testing.T) {
		s := &shopper{t: t, b: b, d: d}
		id := s.payAtCashier(tab, "lantern", "page")
		s.step(tab, "my-orders-paid", chromedp.Navigate(d.URL+"/orders"),
			chromedp.WaitVisible(chromedp.CSS(`#order-`+id+` [data-state="paid"]`)))
		text := browsertest.Run(b, tab, "read the order's row", chromedp.Text(chromedp.CSS("#order-"+id)))
		for _, want := range []string{"红灯笼", "¥19.99", "已支付"} {
			if !strings.Contains(text, want) {
				t.Errorf("my orders shows %q for the order, without %q", text, want)
			}
		}
	})

	t.Run("QR code paid from a second tab", func(t *testing.T) {
		s := &shopper{t: t, b: b, d: d}
		s.step(tab, "shop", chromedp.Navigate(d.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#product-mooncake")))
		s.step(tab, "qr-order", chromedp.Click(chromedp.CSS(`#product-mooncake button[value="precreate"]`)), chromedp.WaitVisible(chromedp.CSS("#qr")))
		if w := browsertest.Run(b, tab, "measure the QR image", chromedp.Evaluate[int](`document.getElementById("qr").naturalWidth`)); w < 100 {
			t.Errorf("the QR image is %d pixels wide: not drawn", w)
		}
		scan := browsertest.Run(b, tab, "read the scan link", chromedp.AttributeValue(chromedp.CSS("#scan-link"), "href"))
		if !strings.HasPrefix(scan.Value, d.URL+"/qr/") {
			t.Fatalf("the scan link is %q: want the sandbox's scan page", scan.Value)
		}
		phone := b.NewTab()
		s.step(phone, "qr-scan-page", chromedp.Navigate(scan.Value), chromedp.WaitVisible(chromedp.CSS("#pay")))
		s.step(phone, "qr-scan-paid", chromedp.Click(chromedp.CSS("#pay")), chromedp.WaitNotPresent(chromedp.CSS("#pay")))
		// The first tab turns to paid by itself.
		s.step(tab, "qr-order-paid", chromedp.WaitVisible(chromedp.CSS("#paid-notice")))
	})

	t.Run("an order expires", func(t *testing.T) {
		s := &shopper{t: t, b: b, d: d}
		s.step(tab, "shop", chromedp.Navigate(d.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#product-longjing")))
		s.step(tab, "expiring-order", chromedp.Click(chromedp.CSS(`#product-longjing button[value="precreate"]`)), chromedp.WaitVisible(chromedp.CSS("#qr")))
		id := s.orderID(tab)
		d.Advance(payment.DefaultExpiry + 1)
		waitOrder(t, d, id, payment.StatusClosed)
		s.step(tab, "expired-order", chromedp.WaitVisible(chromedp.CSS("#closed-notice")))
		if present := browsertest.Run(b, tab, "look for the QR code", chromedp.Evaluate[bool](`document.getElementById("qr") !== null`)); present {
			t.Error("a closed order still shows its QR code")
		}
	})

	t.Run("refund from my orders", func(t *testing.T) {
		s := &shopper{t: t, b: b, d: d}
		// "Pay on a phone", on a phone's screen.
		b.Do(tab, "phone screen", chromedp.EmulateViewport(390, 844))
		id := s.payAtCashier(tab, "sticker", "wap")
		b.Do(tab, "desktop screen", chromedp.ResetViewport())
		s.step(tab, "my-orders-before-refund", chromedp.Navigate(d.URL+"/orders"),
			chromedp.WaitVisible(chromedp.CSS(`#order-`+id+` form.refund button`)))
		s.step(tab, "my-orders-refunded", chromedp.Click(chromedp.CSS(`#order-`+id+` form.refund button`)),
			chromedp.WaitVisible(chromedp.CSS("#refund-notice")),
			chromedp.WaitVisible(chromedp.CSS(`#order-`+id+` [data-state="refunded"]`)))
		if o, err := d.Service.GetOrder(context.Background(), id); err != nil || o.Status != payment.StatusRefunded || o.RefundedAmount != 1 {
			t.Fatalf("after the refund the database has %+v (%v)", o, err)
		}
	})
}

// TestDemoAdminInBrowser pays an order in the shop, then, on the admin
// pages: logs in with the printed password, finds the order paid with its
// verified notify in the timeline, and refunds it from there.
func TestDemoAdminInBrowser(t *testing.T) {
	b := browsertest.New(t)
	d := startTestDemo(t)
	tab := b.Tab()
	s := &shopper{t: t, b: b, d: d}
	id := s.payAtCashier(tab, "mooncake", "page")

	s.step(tab, "admin-login", chromedp.Navigate(d.AdminURL+"orders/"+id),
		chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)))
	s.step(tab, "admin-order-paid",
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), d.AdminPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.badge.big.paid`)),
		chromedp.WaitVisible(chromedp.CSS(`li.ev[data-kind="notify_received"]`)))
	notify := browsertest.Run(b, tab, "read the notify in the timeline",
		chromedp.Text(chromedp.CSS(`li.ev[data-kind="notify_received"]`)))
	if !strings.Contains(notify, "Verified") || !strings.Contains(notify, "TRADE_SUCCESS") {
		t.Errorf("the timeline's notify says %q: want it verified, TRADE_SUCCESS", notify)
	}
	if page := browsertest.Run(b, tab, "read the page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(page, d.AdminPassword) {
		t.Error("the admin page shows the admin password")
	}

	o, err := d.Service.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	s.step(tab, "admin-refund-confirm",
		chromedp.SendKeys(chromedp.CSS(`input[name="amount"]`), o.Amount.String()),
		chromedp.SendKeys(chromedp.CSS(`input[name="reason"]`), "broken in transit"),
		chromedp.Click(chromedp.CSS(`form[action$="/refund"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.actions button[type="submit"]`)))
	s.step(tab, "admin-order-refunded",
		chromedp.Click(chromedp.CSS(`form.actions button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.badge.big.refunded`)))
	o, err = d.Service.GetOrder(context.Background(), id)
	if err != nil || o.Status != payment.StatusRefunded || o.RefundedAmount != o.Amount {
		t.Fatalf("after the admin's refund the database says %+v (%v): want refunded in full", o, err)
	}
	rs, err := d.Service.ListRefunds(context.Background(), id)
	if err != nil || len(rs) != 1 || rs[0].Reason != "broken in transit" || rs[0].Status != payment.RefundSucceeded {
		t.Fatalf("refunds %+v (%v): want the one refund, succeeded, with the reason typed", rs, err)
	}
}
