package shop_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"zhifu/internal/shop"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// env is a shop on a payment Service on SQLite, with the Service's notify
// handler beside it on one httptest server, and a sandbox as Alipay.
type env struct {
	t     testing.TB
	ts    *sandbox.TestServer
	store *sqlitestore.Store
	svc   *payment.Service
	srv   *httptest.Server
}

// newEnv starts the shop selling products (nil: the default ones).
func newEnv(t testing.TB, products []shop.Product) *env {
	t.Helper()
	e := &env{t: t, ts: sandbox.NewTestServer(t)}
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	app, _ := e.ts.Sandbox.App(e.ts.AppID)
	e.svc, err = payment.New(payment.Config{
		Store:     st,
		Alipay:    e.ts.Client(),
		SellerID:  app.SellerID,
		NotifyURL: e.srv.URL + "/alipay/notify",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := shop.New(shop.Config{Service: e.svc, Orders: st, Products: products, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/alipay/notify", e.svc.NotifyHandler())
	mux.Handle("/", sh)
	return e
}

// with returns e reporting to t: one run of a fuzz target on an env made
// for the whole target.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// ctx returns a context for one step.
func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// buyer is one browser: its own cookies, following no redirect.
type buyer struct {
	e *env
	c *http.Client
}

func (e *env) newBuyer() *buyer {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &buyer{e: e, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an answer: status, Location and body.
type page struct {
	status   int
	location string
	body     string
}

func (b *buyer) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return page{resp.StatusCode, resp.Header.Get("Location"), string(body)}
}

// get fetches path (or an absolute URL).
func (b *buyer) get(path string) page {
	b.e.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.e.srv.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.do(req)
}

// post sends form to path, with extra headers.
func (b *buyer) post(path string, form url.Values, header ...string) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([0-9a-f]+)"`)

// csrf returns the buyer's form token, read from the products page.
func (b *buyer) csrf() string {
	b.e.t.Helper()
	m := csrfField.FindStringSubmatch(b.get("/").body)
	if m == nil {
		b.e.t.Fatal("the products page has no csrf_token field")
	}
	return m[1]
}

// order creates a QR payment of product as the buyer and returns its
// order id.
func (b *buyer) order(product string) string {
	b.e.t.Helper()
	p := b.post("/pay", url.Values{"csrf_token": {b.csrf()}, "product": {product}, "channel": {"precreate"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/orders/ord_") {
		b.e.t.Fatalf("a QR payment answered %d, Location %q: want 303 to the order page\n%s", p.status, p.location, p.body)
	}
	return strings.TrimPrefix(p.location, "/orders/")
}

var scanLink = regexp.MustCompile(`id="scan-link" href="([^"]+)"`)

// payQR pays the buyer's pending QR order as the sandbox's buyer: it
// opens the scan page the order page links to, pays, and waits for the
// notify.
func (b *buyer) payQR(orderID string) {
	b.e.t.Helper()
	m := scanLink.FindStringSubmatch(b.get("/orders/" + orderID).body)
	if m == nil {
		b.e.t.Fatal("the order page has no scan link")
	}
	if p := b.get(m[1]); p.status != http.StatusOK {
		b.e.t.Fatalf("the scan page answered %d", p.status)
	}
	o := b.e.orderOf(orderID)
	if err := b.e.ts.Sandbox.Pay(b.e.ts.AppID, o.OutTradeNo); err != nil {
		b.e.t.Fatal(err)
	}
	if err := b.e.ts.Sandbox.DeliverDue(b.e.ctx()); err != nil {
		b.e.t.Fatal(err)
	}
	if o := b.e.orderOf(orderID); o.Status != payment.StatusPaid {
		b.e.t.Fatalf("after paying, the order is %s, want paid", o.Status)
	}
}

// orderOf returns the stored order.
func (e *env) orderOf(id string) *payment.Order {
	e.t.Helper()
	o, err := e.store.GetOrder(e.ctx(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// orderCount returns how many orders the store holds.
func (e *env) orderCount() int {
	e.t.Helper()
	pg, err := e.store.ListOrders(e.ctx(), payment.OrderFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(pg.Orders)
}
