package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// adminXSS is text that runs a script if a page does not escape it.
const adminXSS = `<script>alert("x")</script>"'><img src=x onerror=alert(1)>`

// TestAdminEscapes: an order's subject, body, metadata, a refund reason,
// a search and the login's next parameter holding markup are shown as
// text on every page, never as markup.
func TestAdminEscapes(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	p := e.create("商品 "+adminXSS, 1000, map[string]string{"<script>key</script>": adminXSS})
	e.pay(p)
	e.login(e.client)
	if r := adminRefund(e, p.Order, "1.00", "原因 "+adminXSS); r.status != http.StatusSeeOther {
		t.Fatalf("refund: %d\n%s", r.status, r.body)
	}
	token := e.csrf(e.client, "/admin/orders/"+p.Order.ID)
	confirm := e.post("/admin/orders/"+p.Order.ID+"/refund", url.Values{"csrf": {token}, "amount": {"2.00"}, "reason": {adminXSS}})
	pages := map[string]string{
		"orders":       e.get("/admin/orders").body,
		"order":        e.get("/admin/orders/" + p.Order.ID).body,
		"search":       e.get("/admin/orders?q=" + url.QueryEscape(adminXSS)).body,
		"bad filter":   e.get("/admin/orders?status=" + url.QueryEscape(adminXSS)).body,
		"confirmation": confirm.body,
		"login":        e.getWith(e.newClient(), "/admin/login?next="+url.QueryEscape("/admin/"+adminXSS)).body,
		"bad amount":   e.post("/admin/orders/"+p.Order.ID+"/refund", url.Values{"csrf": {token}, "amount": {adminXSS}}).body,
	}
	for name, body := range pages {
		low := strings.ToLower(body)
		if strings.Contains(low, "<script") || strings.Contains(low, "<img") {
			t.Errorf("the %s page holds markup from the data:\n%s", name, body)
		}
	}
	for _, name := range []string{"orders", "order", "confirmation", "bad amount"} {
		if !strings.Contains(pages[name], "&lt;script&gt;") {
			t.Errorf("the %s page does not show the escaped text", name)
		}
	}
	if !strings.Contains(pages["order"], "&lt;script&gt;key&lt;/script&gt;") {
		t.Error("the metadata key is not shown")
	}
}

// TestAdminNoSecrets: no page, header or log line holds the password,
// the app's private key or the session cookie; the pages forbid framing
// and outside scripts.
func TestAdminNoSecrets(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	paid := e.create("paid", 1000, nil)
	e.pay(paid)
	pending := e.create("pending", 500, nil)
	anon := e.newClient()
	bodies := map[string]adminResponse{
		"login":       e.getWith(anon, "/admin/login"),
		"wrong login": e.postWith(anon, "/admin/login", url.Values{"password": {"not it at all"}}, http.Header{"Origin": {e.srv.URL}}),
	}
	e.login(e.client)
	token := e.csrf(e.client, "/admin/orders")
	for name, path := range map[string]string{
		"orders": "/admin/orders", "paid order": "/admin/orders/" + paid.Order.ID, "pending order": "/admin/orders/" + pending.Order.ID,
		"quarantine": "/admin/quarantine", "bills": "/admin/bills", "missing": "/admin/nothing-here", "search": "/admin/orders?q=x",
	} {
		bodies[name] = e.get(path)
	}
	bodies["refund confirmation"] = e.post("/admin/orders/"+paid.Order.ID+"/refund", url.Values{"csrf": {token}, "amount": {"1.00"}})
	bodies["refund"] = adminRefund(e, paid.Order, "1.00", "")
	bodies["refund result"] = e.get("/admin/orders/" + paid.Order.ID)
	bodies["close confirmation"] = e.post("/admin/orders/"+pending.Order.ID+"/close", url.Values{"csrf": {token}})
	bodies["csrf refused"] = e.post("/admin/orders/"+pending.Order.ID+"/close", url.Values{"confirm": {"yes"}})
	for name, r := range bodies {
		e.wantSecretsAbsent("the "+name+" page", r.body)
		var h strings.Builder
		for k, v := range r.header {
			if k != "Set-Cookie" {
				h.WriteString(k + ": " + strings.Join(v, ",") + "\n")
			}
		}
		e.wantSecretsAbsent("the "+name+" page's headers", h.String())
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("the %s page's Content-Security-Policy is %q", name, csp)
		}
	}
	e.wantSecretsAbsent("the log", e.logs.String())
	if !strings.Contains(e.logs.String(), "admin login") {
		t.Error("the logins are not logged")
	}
}
