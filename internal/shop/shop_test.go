package shop_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zhifu/alipay"
	"zhifu/internal/shop"
	"zhifu/payment"
)

func TestPayRefusesFormsWithoutTheBuyersToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice, mallory := e.newBuyer(), e.newBuyer()
	aliceToken, malloryToken := alice.csrf(), mallory.csrf()
	if aliceToken == malloryToken {
		t.Fatal("two buyers got the same CSRF token")
	}
	form := func(token string) url.Values {
		return url.Values{"csrf_token": {token}, "product": {"lantern"}, "channel": {"page"}}
	}
	cases := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", url.Values{"product": {"lantern"}, "channel": {"page"}}, nil},
		{"empty token", form(""), nil},
		{"another buyer's token", form(malloryToken), nil},
		{"a token one digit off", form(aliceToken[:len(aliceToken)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", aliceToken[len(aliceToken)-1])+1)%16])), nil},
		{"the right token from another site", form(aliceToken), []string{"Origin", "https://evil.example"}},
	}
	for _, c := range cases {
		p := alice.post("/pay", c.form, c.header...)
		if p.status != http.StatusForbidden {
			t.Errorf("%s: answered %d, want 403", c.name, p.status)
		}
		if !strings.Contains(p.body, "reload the page") {
			t.Errorf("%s: the error page does not say what to do:\n%s", c.name, p.body)
		}
	}
	if n := e.orderCount(); n != 0 {
		t.Fatalf("refused forms made %d orders", n)
	}
	// The buyer's own form, from the shop's own page, pays.
	p := alice.post("/pay", form(aliceToken), "Origin", e.srv.URL)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, e.ts.GatewayURL+"?") {
		t.Fatalf("the buyer's own form answered %d, Location %q: want 303 to the gateway", p.status, p.location)
	}
	if n := e.orderCount(); n != 1 {
		t.Fatalf("the buyer's own form made %d orders, want 1", n)
	}
}

func TestRefundRefusesFormsWithoutTheBuyersToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.newBuyer()
	id := alice.order("sticker")
	alice.payQR(id)
	p := alice.post("/orders/"+id+"/refund", url.Values{"csrf_token": {"00"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("a refund without the token answered %d, want 403", p.status)
	}
	if o := e.orderOf(id); o.Status != payment.StatusPaid || o.RefundedAmount != 0 {
		t.Fatalf("a refused refund form changed the order: %s, refunded %s", o.Status, o.RefundedAmount)
	}
}

func TestProductNamesAreEscaped(t *testing.T) {
	t.Parallel()
	evil := `<script>alert("x")</script>`
	e := newEnv(t, []shop.Product{{ID: "evil", Name: evil, NameEN: `"><img src=x onerror=alert(1)>`, Description: "<b>bold</b>", Price: 100}})
	alice := e.newBuyer()
	for _, path := range []string{"/", ""} {
		if path == "" {
			path = "/orders/" + alice.order("evil")
		}
		body := alice.get(path).body
		for _, raw := range []string{"<script>alert", "<img src=x", "<b>bold"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s shows %q unescaped", path, raw)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the product's name escaped", path)
		}
	}
}

func TestAmountsAreShownAsYuanWithTwoDecimals(t *testing.T) {
	t.Parallel()
	prices := map[alipay.Amount]string{
		1:                      "¥0.01",
		10:                     "¥0.10",
		1999:                   "¥19.99",
		12800:                  "¥128.00",
		payment.MaxTradeAmount: "¥100000000.00",
	}
	var products []shop.Product
	for a := range prices {
		products = append(products, shop.Product{ID: fmt.Sprintf("p%d", a.Fen()), Name: "商品", NameEN: "Product", Price: a})
	}
	e := newEnv(t, products)
	alice := e.newBuyer()
	body := alice.get("/").body
	for _, want := range prices {
		if !strings.Contains(body, `<p class="price">`+want+`</p>`) {
			t.Errorf("the products page does not show the price %s", want)
		}
	}
	// An order shows its amount the same way.
	id := alice.order(products[0].ID)
	if want := prices[products[0].Price]; !strings.Contains(alice.get("/orders/"+id).body, want) {
		t.Errorf("the order page does not show %s", want)
	}
}

func TestNewRefusesBadProducts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cases := map[string][]shop.Product{
		"empty list":    {},
		"bad id":        {{ID: "Bad ID", Name: "a", NameEN: "a", Price: 1}},
		"duplicate id":  {{ID: "a", Name: "a", NameEN: "a", Price: 1}, {ID: "a", Name: "b", NameEN: "b", Price: 1}},
		"no name":       {{ID: "a", NameEN: "a", Price: 1}},
		"zero price":    {{ID: "a", Name: "a", NameEN: "a", Price: 0}},
		"too expensive": {{ID: "a", Name: "a", NameEN: "a", Price: payment.MaxTradeAmount + 1}},
		"bad picture":   {{ID: "a", Name: "a", NameEN: "a", Price: 1, Picture: "http://cdn.example/x.png"}},
	}
	for name, products := range cases {
		_, err := shop.New(shop.Config{Service: e.svc, Orders: e.store, Products: products, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.HasPrefix(err.Error(), "shop: ") {
			t.Errorf("%s: New answered %v, want an error starting with \"shop: \"", name, err)
		}
	}
}

func TestBuyersSeeAndRefundOnlyTheirOwnOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice, bob := e.newBuyer(), e.newBuyer()
	id := alice.order("lantern")
	alice.payQR(id)

	if body := alice.get("/orders").body; !strings.Contains(body, `id="order-`+id+`"`) {
		t.Fatal("alice's orders do not list her order")
	}
	if body := bob.get("/orders").body; strings.Contains(body, id) {
		t.Fatal("bob's orders list alice's order")
	}
	for _, path := range []string{"/orders/" + id, "/orders/" + id + "/status"} {
		if p := bob.get(path); p.status != http.StatusNotFound || strings.Contains(p.body, "红灯笼") {
			t.Errorf("bob GET %s: %d, want 404 without the order's details", path, p.status)
		}
	}
	p := bob.post("/orders/"+id+"/refund", url.Values{"csrf_token": {bob.csrf()}})
	if p.status != http.StatusNotFound {
		t.Errorf("bob refunding alice's order answered %d, want 404", p.status)
	}
	if o := e.orderOf(id); o.Status != payment.StatusPaid || o.RefundedAmount != 0 {
		t.Fatalf("bob's refund changed alice's order: %s, refunded %s", o.Status, o.RefundedAmount)
	}
	// A buyer with a forged cookie is a new buyer, not alice.
	u, _ := url.Parse(e.srv.URL)
	bob.c.Jar.SetCookies(u, []*http.Cookie{{Name: "zhifu_shop_buyer", Value: "b_" + strings.Repeat("0", 32)}})
	if body := bob.get("/orders").body; strings.Contains(body, id) {
		t.Fatal("a made-up buyer id sees alice's order")
	}
}

func TestRefundFromMyOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.newBuyer()
	id := alice.order("mooncake")
	alice.payQR(id)
	if body := alice.get("/orders").body; !strings.Contains(body, `action="/orders/`+id+`/refund"`) {
		t.Fatal("my orders shows no refund button for a paid order")
	}
	token := alice.csrf()
	p := alice.post("/orders/"+id+"/refund", url.Values{"csrf_token": {token}})
	if p.status != http.StatusSeeOther || p.location != "/orders?notice=refund" {
		t.Fatalf("refund answered %d, Location %q\n%s", p.status, p.location, p.body)
	}
	o := e.orderOf(id)
	if o.Status != payment.StatusRefunded || o.RefundedAmount != 6880 {
		t.Fatalf("after the refund the order is %s with %s refunded, want refunded ¥68.80", o.Status, o.RefundedAmount)
	}
	body := alice.get("/orders?notice=refund").body
	for _, want := range []string{"已退款", "退款成功", "¥68.80"} {
		if !strings.Contains(body, want) {
			t.Errorf("my orders does not show %q after the refund", want)
		}
	}
	if strings.Contains(body, `action="/orders/`+id+`/refund"`) {
		t.Error("my orders still offers a refund of a refunded order")
	}
	// The same form sent again (a double click) refunds nothing more.
	if p := alice.post("/orders/"+id+"/refund", url.Values{"csrf_token": {token}}); p.status != http.StatusConflict {
		t.Errorf("a second refund answered %d, want 409", p.status)
	}
	if o := e.orderOf(id); o.RefundedAmount != 6880 {
		t.Errorf("a second refund changed the refunded amount to %s", o.RefundedAmount)
	}
}

func TestOrderPageSaysTheReturnIsNoProof(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.newBuyer()
	id := alice.order("longjing")
	body := alice.get("/orders/" + id + "?returned=1").body
	for _, want := range []string{`id="return-notice"`, "no proof of payment", `data-status-url="/orders/` + id + `/status"`, "待支付"} {
		if !strings.Contains(body, want) {
			t.Errorf("a pending order's page after the return lacks %q", want)
		}
	}
	alice.payQR(id)
	body = alice.get("/orders/" + id + "?returned=1").body
	if strings.Contains(body, "return-notice") || strings.Contains(body, "data-status-url") || !strings.Contains(body, "已支付") {
		t.Error("a paid order's page still warns or polls, or does not say paid")
	}
}

func TestForgedReturnChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.newBuyer()
	id := alice.order("longjing")
	o := e.orderOf(id)
	q := url.Values{"out_trade_no": {o.OutTradeNo}, "total_amount": {"128.00"}, "app_id": {e.ts.AppID}, "trade_no": {"2026"}, "sign_type": {"RSA2"}, "sign": {"Zm9yZ2Vk"}}
	p := alice.get("/return?" + q.Encode())
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "valid Alipay signature") {
		t.Fatalf("a forged return answered %d:\n%s", p.status, p.body)
	}
	if o := e.orderOf(id); o.Status != payment.StatusPending {
		t.Fatalf("a forged return moved the order to %s", o.Status)
	}
}

func TestSandboxUnreachableShowsAReadableError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.newBuyer()
	token := alice.csrf()
	e.ts.Server.Close() // Alipay is gone
	p := alice.post("/pay", url.Values{"csrf_token": {token}, "product": {"lantern"}, "channel": {"precreate"}})
	if p.status != http.StatusBadGateway {
		t.Fatalf("a QR payment without Alipay answered %d, want 502", p.status)
	}
	for _, want := range []string{"could not be reached", "My orders", "<html"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the error page lacks %q", want)
		}
	}
	for _, leak := range []string{"goroutine", "dial tcp", "connection refused", ".go:"} {
		if strings.Contains(p.body, leak) {
			t.Errorf("the error page shows internals: %q", leak)
		}
	}
	// The order was kept, pending, and its page says the code is missing.
	if n := e.orderCount(); n != 1 {
		t.Fatalf("%d orders, want the one kept pending", n)
	}
}

func TestBadRequestsGetErrorPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.newBuyer()
	token := alice.csrf()
	cases := []struct {
		name   string
		send   func() page
		status int
	}{
		{"unknown product", func() page {
			return alice.post("/pay", url.Values{"csrf_token": {token}, "product": {"nope"}, "channel": {"page"}})
		}, http.StatusBadRequest},
		{"unknown channel", func() page {
			return alice.post("/pay", url.Values{"csrf_token": {token}, "product": {"lantern"}, "channel": {"app"}})
		}, http.StatusBadRequest},
		{"unknown page", func() page { return alice.get("/no/such/page") }, http.StatusNotFound},
		{"unknown order", func() page { return alice.get("/orders/ord_NOPE") }, http.StatusNotFound},
		{"GET of a form", func() page { return alice.get("/pay") }, http.StatusNotFound},
	}
	for _, c := range cases {
		p := c.send()
		if p.status != c.status {
			t.Errorf("%s: %d, want %d", c.name, p.status, c.status)
		}
	}
	if n := e.orderCount(); n != 0 {
		t.Errorf("bad requests made %d orders", n)
	}
}

func TestPendingPagePaymentCanGoBackToTheCashier(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice, bob := e.newBuyer(), e.newBuyer()
	p := alice.post("/pay", url.Values{"csrf_token": {alice.csrf()}, "product": {"lantern"}, "channel": {"wap"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("wap pay answered %d", p.status)
	}
	pg, err := e.store.ListOrders(e.ctx(), payment.OrderFilter{})
	if err != nil || len(pg.Orders) != 1 {
		t.Fatalf("orders: %v, %v", pg.Orders, err)
	}
	id := pg.Orders[0].ID
	if body := alice.get("/orders/" + id).body; !strings.Contains(body, `action="/orders/`+id+`/pay"`) {
		t.Fatal("a pending wap order's page offers no way back to the cashier")
	}
	again := alice.post("/orders/"+id+"/pay", url.Values{"csrf_token": {alice.csrf()}})
	if again.status != http.StatusSeeOther || !strings.HasPrefix(again.location, e.ts.GatewayURL+"?") || !strings.Contains(again.location, pg.Orders[0].OutTradeNo) {
		t.Fatalf("pay again answered %d, Location %q: want the gateway with the same out_trade_no", again.status, again.location)
	}
	if p := bob.post("/orders/"+id+"/pay", url.Values{"csrf_token": {bob.csrf()}}); p.status != http.StatusNotFound {
		t.Errorf("another buyer's pay again answered %d, want 404", p.status)
	}
	if n := e.orderCount(); n != 1 {
		t.Errorf("pay again made a new order: %d orders", n)
	}
}

// TestRefundAfterARefusal: Alipay refuses a refund (the trade is finished
// at Alipay: no refund any more); the buyer is told so and the order keeps
// its money. Asking again asks Alipay again, and is told the truth again —
// not "the refund was sent" from the earlier, refused request's record.
func TestRefundAfterARefusal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := e.newBuyer()
	id := alice.order("sticker")
	alice.payQR(id)
	if err := e.ts.Sandbox.Finish(e.ts.AppID, e.orderOf(id).OutTradeNo); err != nil {
		t.Fatal(err)
	}
	for try := 1; try <= 2; try++ {
		p := alice.post("/orders/"+id+"/refund", url.Values{"csrf_token": {alice.csrf()}})
		if p.status != http.StatusBadGateway || !strings.Contains(p.body, "refused") {
			t.Fatalf("refund %d of a finished trade answered %d:\n%s", try, p.status, p.body)
		}
		if o := e.orderOf(id); o.Status != payment.StatusPaid || o.RefundedAmount != 0 {
			t.Fatalf("after refusal %d the order is %s, refunded %s", try, o.Status, o.RefundedAmount)
		}
	}
	refunds, err := e.svc.ListRefunds(e.ctx(), id)
	if err != nil || len(refunds) != 2 || refunds[0].OutRequestNo == refunds[1].OutRequestNo {
		t.Fatalf("refunds %+v, %v; want two refused requests, each its own out_request_no", refunds, err)
	}
}
