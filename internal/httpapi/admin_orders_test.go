package httpapi_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// adminOrderLink finds the links to orders on a page.
var adminOrderLink = regexp.MustCompile(`href="/admin/orders/(ord_[A-Za-z0-9]+)"`)

// adminNextLink finds the link to the next page.
var adminNextLink = regexp.MustCompile(`href="([^"]+)" rel="next"`)

// adminListed returns the ids of the orders listed on a page, in order.
func adminListed(body string) []string {
	var ids []string
	for _, m := range adminOrderLink.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// adminStoreOrder stores a pending order created at the time, directly
// in the store (the Service's clock cannot go back in time).
func adminStoreOrder(e *adminEnv, subject string, at time.Time) *payment.Order {
	e.t.Helper()
	o := &payment.Order{
		ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: subject, Amount: 100,
		Channel: payment.ChannelPage, CreatedAt: at, ExpiresAt: at.Add(time.Hour),
	}
	if err := e.store.CreateOrder(e.ctx(), o, payment.OrderEvent{Kind: payment.EventCreated, Source: payment.SourceMerchant}); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// TestAdminOrdersFilters: the status filters, alone and together, and
// the search by order id, out_trade_no and trade_no, list exactly the
// right orders; bad filters are answered 400 with what to fix.
func TestAdminOrdersFilters(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	pending := e.create("pending", 100, nil)
	paid := e.create("paid", 200, nil)
	e.pay(paid)
	partial := e.create("partial", 300, nil)
	e.pay(partial)
	if _, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: partial.Order.ID, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	closed := e.create("closed", 400, nil)
	if _, err := e.svc.CloseOrder(e.ctx(), closed.Order.ID); err != nil {
		t.Fatal(err)
	}
	all := map[string]*payment.Payment{"pending": pending, "paid": paid, "partial": partial, "closed": closed}
	e.login(e.client)

	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"closed", "partial", "paid", "pending"}},
		{"status=paid", []string{"paid"}},
		{"status=pending", []string{"pending"}},
		{"status=partially_refunded", []string{"partial"}},
		{"status=closed&status=paid", []string{"closed", "paid"}},
		{"status=refunded", nil},
		{"q=" + paid.Order.ID, []string{"paid"}},
		{"q=" + partial.Order.OutTradeNo, []string{"partial"}},
		{"q=" + url.QueryEscape(e.order(paid.Order.ID).TradeNo), []string{"paid"}},
		{"q=" + closed.Order.OutTradeNo + "&status=paid", []string{"closed"}}, // a search ignores the filters
		{"q=NOSUCHORDER", nil},
	}
	for _, c := range cases {
		r := e.get("/admin/orders?" + c.query)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d", c.query, r.status)
			continue
		}
		var want []string
		for _, name := range c.want {
			want = append(want, all[name].Order.ID)
		}
		if got := adminListed(r.body); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q lists %v, want %v (%v)", c.query, got, want, c.want)
		}
	}
	if r := e.get("/admin/orders?q=NOSUCHORDER"); !strings.Contains(r.body, "No order has this id, out_trade_no or trade_no") {
		t.Errorf("a search that finds nothing does not say so")
	}
	r := e.get("/admin/orders")
	for _, want := range []string{"¥1.00", "¥2.00", "待支付", "Pending", "已支付", "Paid", "部分退款", "Partially refunded", "已关闭", "Closed"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the orders page lacks %q", want)
		}
	}

	for _, c := range []struct{ query, want string }{
		{"status=bogus", "Unknown status"},
		{"from=2026-13-01", "not a date"},
		{"to=yesterday", "not a date"},
		{"from=2026-02-02&to=2026-02-01", "after the to date"},
		{"cursor=not-a-cursor", "malformed"},
	} {
		r := e.get("/admin/orders?" + c.query)
		if r.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(r.body), c.want) {
			t.Errorf("%s: %d, want 400 saying %q", c.query, r.status, c.want)
		}
	}
}

// TestAdminOrdersDates: the date filters take whole days in Beijing time,
// both ends included.
func TestAdminOrdersDates(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	bj := func(s string) time.Time {
		tm, err := alipay.ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	late10 := adminStoreOrder(e, "late on the 10th", bj("2026-01-10 23:59:59"))
	early11 := adminStoreOrder(e, "early on the 11th", bj("2026-01-11 00:00:00"))
	late11 := adminStoreOrder(e, "late on the 11th", bj("2026-01-11 23:59:59"))
	on12 := adminStoreOrder(e, "the 12th", bj("2026-01-12 12:00:00"))
	e.login(e.client)
	cases := []struct {
		query string
		want  []*payment.Order
	}{
		{"from=2026-01-11&to=2026-01-11", []*payment.Order{late11, early11}},
		{"from=2026-01-11", []*payment.Order{on12, late11, early11}},
		{"to=2026-01-10", []*payment.Order{late10}},
		{"from=2026-01-12&to=2026-01-31", []*payment.Order{on12}},
		{"from=2026-01-13", nil},
		{"from=2026-01-10&to=2026-01-12&status=pending", []*payment.Order{on12, late11, early11, late10}},
		{"from=2026-01-10&to=2026-01-12&status=paid", nil},
	}
	for _, c := range cases {
		var want []string
		for _, o := range c.want {
			want = append(want, o.ID)
		}
		if got := adminListed(e.get("/admin/orders?" + c.query).body); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s lists %v, want %v", c.query, got, want)
		}
	}
}

// TestAdminOrdersPaging: following the next links visits every order
// exactly once, newest first, keeping the filters; orders created while
// paging do not disturb it.
func TestAdminOrdersPaging(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var stored []*payment.Order
	for i := range 123 {
		// Pairs of orders share a creation time: the id breaks the tie.
		stored = append(stored, adminStoreOrder(e, fmt.Sprintf("order %d", i), base.Add(time.Duration(i/2)*time.Minute)))
	}
	// Newest first, by creation time and then id.
	sort.Slice(stored, func(i, j int) bool {
		a, b := stored[i], stored[j]
		return a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID)
	})
	var want []string
	for _, o := range stored {
		want = append(want, o.ID)
	}
	e.login(e.client)

	seen := map[string]int{}
	var got []string
	next, pages := "/admin/orders?status=pending&from=2026-03-01", 0
	for next != "" {
		r := e.get(next)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", next, r.status)
		}
		ids := adminListed(r.body)
		if len(ids) == 0 {
			t.Fatalf("page %d is empty", pages+1)
		}
		for _, id := range ids {
			seen[id]++
		}
		got = append(got, ids...)
		pages++
		if pages == 1 {
			adminStoreOrder(e, "created while paging", base.Add(time.Hour)) // newer: not on later pages
		}
		next = ""
		if m := adminNextLink.FindStringSubmatch(r.body); m != nil {
			next = html.UnescapeString(m[1])
			if !strings.Contains(next, "status=pending") || !strings.Contains(next, "from=2026-03-01") {
				t.Errorf("the next link %q drops the filters", next)
			}
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 3 || len(got) != len(want) {
		t.Fatalf("%d pages, %d orders; want 3 pages of 123 orders", pages, len(got))
	}
	for i, id := range got {
		if seen[id] != 1 {
			t.Errorf("order %s listed %d times", id, seen[id])
		}
		if id != want[i] {
			t.Errorf("position %d: %s, want %s (newest first)", i, id, want[i])
			break
		}
	}
}
