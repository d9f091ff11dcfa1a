package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zhifu/internal/httpapi"
	"zhifu/payment"
)

// TestAdminLoginRequired: without a session every page sends the browser
// to the login page (coming back afterwards), and every form is refused
// with 401 and changes nothing.
func TestAdminLoginRequired(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	paid := e.create("paid", 500, nil)
	e.pay(paid)
	pending := e.create("pending", 300, nil)

	for _, path := range []string{
		"/admin/", "/admin/orders", "/admin/orders?status=paid", "/admin/orders/" + paid.Order.ID,
		"/admin/quarantine", "/admin/bills", "/admin/no-such-page",
	} {
		r := e.get(path)
		want := "/admin/login?next=" + url.QueryEscape(path)
		if r.status != http.StatusSeeOther || r.location != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, r.status, r.location, want)
		}
		if strings.Contains(r.body, paid.Order.OutTradeNo) {
			t.Errorf("GET %s shows an order without a login", path)
		}
	}
	forms := map[string]url.Values{
		"/admin/orders/" + paid.Order.ID + "/refund":   {"amount": {"1.00"}, "confirm": {"yes"}, "out_request_no": {"X1"}},
		"/admin/orders/" + pending.Order.ID + "/close": {"confirm": {"yes"}},
		"/admin/quarantine/1/replay":                   {},
		"/admin/logout":                                {},
	}
	for path, form := range forms {
		if r := e.post(path, form); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "log in") {
			t.Errorf("POST %s: %d, want 401 with a page asking to log in:\n%s", path, r.status, r.body)
		}
	}
	if rs := e.refunds(paid.Order.ID); len(rs) != 0 {
		t.Errorf("refunds made without a login: %+v", rs)
	}
	if o := e.order(pending.Order.ID); o.Status != payment.StatusPending {
		t.Errorf("closed without a login: %s", o.Status)
	}
	// The login page and the style sheet need none.
	if r := e.get("/admin/login"); r.status != http.StatusOK || !strings.Contains(r.body, `type="password"`) {
		t.Errorf("login page: %d", r.status)
	}
	if r := e.get("/admin/assets/admin.css"); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("style sheet: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

// TestAdminLogin: a wrong password is refused with no cookie; the right
// one sets an HttpOnly, SameSite=Strict session cookie (Secure when
// configured) and goes back to the page asked for, never to another site.
func TestAdminLogin(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{edit: func(c *httpapi.AdminConfig) { c.SecureCookies = true }})
	origin := http.Header{"Origin": {e.srv.URL}}

	r := e.postWith(e.client, "/admin/login", url.Values{"password": {"wrong password"}}, origin)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong password") || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("wrong password: %d, Set-Cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
	if r := e.get("/admin/orders"); r.status != http.StatusSeeOther {
		t.Fatalf("after a wrong password the orders answer %d", r.status)
	}
	r = e.postWith(e.client, "/admin/login?next=%2Fadmin%2Fquarantine", url.Values{"password": {adminTestPassword}, "next": {"/admin/quarantine"}}, origin)
	if r.status != http.StatusSeeOther || r.location != "/admin/quarantine" {
		t.Fatalf("login: %d to %q", r.status, r.location)
	}
	c := r.header.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Secure", "Path=/admin/"} {
		if !strings.Contains(c, attr) {
			t.Errorf("session cookie %q lacks %s", c, attr)
		}
	}
	if r := e.get("/admin/orders"); r.status != http.StatusOK {
		t.Errorf("logged in, the orders answer %d", r.status)
	}
	for _, next := range []string{"//evil.example/admin/", "https://evil.example/", "/admin/../x", "/elsewhere", "/admin/\\evil"} {
		r := e.postWith(e.newClient(), "/admin/login", url.Values{"password": {adminTestPassword}, "next": {next}}, origin)
		if r.status != http.StatusSeeOther || r.location != "/admin/orders" {
			t.Errorf("login with next %q went to %q, want /admin/orders", next, r.location)
		}
	}
	// A login from another site is refused.
	r = e.postWith(e.newClient(), "/admin/login", url.Values{"password": {adminTestPassword}}, http.Header{"Origin": {"https://evil.example"}})
	if r.status != http.StatusForbidden || r.header.Get("Set-Cookie") != "" {
		t.Errorf("cross-site login: %d", r.status)
	}
}

// TestAdminLoginRateLimit: after five wrong passwords a client is refused
// for a minute, even with the right one; then it may log in.
func TestAdminLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	origin := http.Header{"Origin": {e.srv.URL}}
	for i := range 5 {
		if r := e.postWith(e.client, "/admin/login", url.Values{"password": {"guess"}}, origin); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, r.status)
		}
	}
	r := e.postWith(e.client, "/admin/login", url.Values{"password": {adminTestPassword}}, origin)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("sixth attempt: %d, Retry-After %q; want 429 and no session", r.status, r.header.Get("Retry-After"))
	}
	e.clock.Advance(59 * time.Second)
	if r := e.postWith(e.client, "/admin/login", url.Values{"password": {adminTestPassword}}, origin); r.status != http.StatusTooManyRequests {
		t.Fatalf("within the minute: %d", r.status)
	}
	e.clock.Advance(time.Second)
	e.login(e.client)
}

// TestAdminLogoutAndExpiry: a logged-out session's cookie is refused even
// when replayed, and a session ends after its TTL.
func TestAdminLogoutAndExpiry(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{edit: func(c *httpapi.AdminConfig) { c.SessionTTL = time.Hour }})
	e.login(e.client)
	u, _ := url.Parse(e.srv.URL + "/admin/")
	old := e.client.Jar.Cookies(u)
	token := e.csrf(e.client, "/admin/orders")
	if r := e.post("/admin/logout", url.Values{"csrf": {token}}); r.status != http.StatusSeeOther || r.location != "/admin/login" {
		t.Fatalf("logout: %d to %q", r.status, r.location)
	}
	if r := e.get("/admin/orders"); r.status != http.StatusSeeOther {
		t.Errorf("after logout: %d", r.status)
	}
	stolen := e.newClient()
	stolen.Jar.SetCookies(u, old)
	if r := e.getWith(stolen, "/admin/orders"); r.status != http.StatusSeeOther {
		t.Errorf("the logged-out cookie still works: %d", r.status)
	}

	e.login(e.client)
	e.clock.Advance(59 * time.Minute)
	if r := e.get("/admin/orders"); r.status != http.StatusOK {
		t.Errorf("before the TTL: %d", r.status)
	}
	e.clock.Advance(time.Minute)
	if r := e.get("/admin/orders"); r.status != http.StatusSeeOther {
		t.Errorf("after the TTL: %d", r.status)
	}
}

// TestAdminCSRF: a form without the CSRF token, with a wrong one, with
// another session's, or from another origin is refused with a readable
// 403 page, and nothing changes in the store.
func TestAdminCSRF(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	paid := e.create("paid", 1000, nil)
	e.pay(paid)
	pending := e.create("pending", 300, nil)
	e.login(e.client)
	token := e.csrf(e.client, "/admin/orders")
	other := e.newClient()
	e.login(other)
	otherToken := e.csrf(other, "/admin/orders")
	if otherToken == token {
		t.Fatal("two sessions have the same CSRF token")
	}

	forms := map[string]url.Values{
		"/admin/orders/" + paid.Order.ID + "/refund":   {"amount": {"1.00"}, "confirm": {"yes"}, "out_request_no": {"CSRF1"}},
		"/admin/orders/" + pending.Order.ID + "/close": {"confirm": {"yes"}},
		"/admin/logout": {},
	}
	origin := http.Header{"Origin": {e.srv.URL}}
	cases := []struct {
		name   string
		csrf   string
		header http.Header
	}{
		{"missing", "", origin},
		{"wrong", "AAAA" + token[4:], origin},
		{"other session", otherToken, origin},
		{"other origin", token, http.Header{"Origin": {"https://evil.example"}}},
		{"null origin", token, http.Header{"Origin": {"null"}}},
		{"other referer", token, http.Header{"Referer": {"https://evil.example/admin/orders"}}},
		{"no origin or referer", token, http.Header{}},
	}
	for _, c := range cases {
		for path, form := range forms {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if c.csrf != "" {
				f.Set("csrf", c.csrf)
			}
			r := e.postWith(e.client, path, f, c.header)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "nothing was done") {
				t.Errorf("%s: POST %s: %d, want 403 with a readable page:\n%s", c.name, path, r.status, r.body)
			}
		}
	}
	if rs := e.refunds(paid.Order.ID); len(rs) != 0 {
		t.Errorf("refunds made by refused forms: %+v", rs)
	}
	if o := e.order(paid.Order.ID); o.Status != payment.StatusPaid || o.RefundedAmount != 0 {
		t.Errorf("paid order changed: %s %s", o.Status, o.RefundedAmount)
	}
	if o := e.order(pending.Order.ID); o.Status != payment.StatusPending {
		t.Errorf("pending order changed: %s", o.Status)
	}
	if r := e.get("/admin/orders"); r.status != http.StatusOK {
		t.Errorf("the refused logout ended the session: %d", r.status)
	}
	// The same token from the pages' origin, by Referer alone, works.
	r := e.postWith(e.client, "/admin/orders/"+pending.Order.ID+"/close", url.Values{"csrf": {token}, "confirm": {"yes"}},
		http.Header{"Referer": {e.srv.URL + "/admin/orders/" + pending.Order.ID}})
	if r.status != http.StatusSeeOther {
		t.Errorf("close with the right token: %d\n%s", r.status, r.body)
	}
}

// TestAdminConfig: NewAdmin refuses what it cannot work with, saying
// what to fix, and never repeats the password; a hash from
// AdminHashPassword logs in with the password.
func TestAdminConfig(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	ok := e.admin
	cases := []struct {
		name string
		edit func(*httpapi.AdminConfig)
		want string
	}{
		{"no service", func(c *httpapi.AdminConfig) { c.Service = nil }, "Service is required"},
		{"no store", func(c *httpapi.AdminConfig) { c.Store = nil }, "Store is required"},
		{"no password", func(c *httpapi.AdminConfig) { c.Password = "" }, "Password is required"},
		{"short password", func(c *httpapi.AdminConfig) { c.Password = "secret7" }, "too short"},
		{"bad hash", func(c *httpapi.AdminConfig) { c.Password = "pbkdf2-sha256$12$abc$def" }, "malformed"},
		{"base path without slash", func(c *httpapi.AdminConfig) { c.BasePath = "admin" }, "BasePath"},
		{"base path with trailing slash", func(c *httpapi.AdminConfig) { c.BasePath = "/admin/" }, "BasePath"},
		{"short session key", func(c *httpapi.AdminConfig) { c.SessionKey = []byte("short") }, "SessionKey"},
		{"negative TTL", func(c *httpapi.AdminConfig) { c.SessionTTL = -time.Second }, "SessionTTL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			_, err := httpapi.NewAdmin(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("NewAdmin: %v, want an error about %q", err, c.want)
			}
			if cfg.Password != "" && strings.Contains(err.Error(), cfg.Password) {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
	if _, err := httpapi.AdminHashPassword("short"); err == nil {
		t.Error("AdminHashPassword took a 5-character password")
	}

	hash, err := httpapi.AdminHashPassword(adminTestPassword)
	if err != nil || !strings.HasPrefix(hash, "pbkdf2-sha256$") || strings.Contains(hash, adminTestPassword) {
		t.Fatalf("AdminHashPassword: %q, %v", hash, err)
	}
	h := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{edit: func(c *httpapi.AdminConfig) { c.Password = hash; c.BasePath = "/admin" }})
	if r := h.postWith(h.client, "/admin/login", url.Values{"password": {hash}}, http.Header{"Origin": {h.srv.URL}}); r.status != http.StatusUnauthorized {
		t.Errorf("the hash itself logged in: %d", r.status)
	}
	h.login(h.client)
	h.wantSecretsAbsent("the orders page", h.get("/admin/orders").body)
}

// TestAdminLogoutEverywhere: two instances with one session key, each on
// its own connection to one database, accept each other's sessions; a
// logout on one ends the session on the other as well (pages and forms),
// and leaves the operator's other sessions alone.
func TestAdminLogoutEverywhere(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		adminTestLogoutEverywhere(t, adminOpenSQLiteShared(t, 2))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		adminTestLogoutEverywhere(t, adminOpenPostgresShared(t, 2))
	})
}

func adminTestLogoutEverywhere(t *testing.T, stores []payment.Store) {
	key := bytes.Repeat([]byte("k"), httpapi.AdminMinSessionKeyLen) // a test key
	sameKey := adminEnvOptions{edit: func(c *httpapi.AdminConfig) { c.SessionKey = key }}
	a := adminNewEnv(t, stores[0], sameKey)
	b := adminNewEnv(t, stores[1], sameKey)
	pending := a.create("pending", 300, nil)

	// carry returns a client of b holding the session cookies of c, a
	// client of a: the same browser, sent to the other instance.
	carry := func(c *http.Client) *http.Client {
		ua, _ := url.Parse(a.srv.URL + "/admin/")
		ub, _ := url.Parse(b.srv.URL + "/admin/")
		cb := b.newClient()
		cb.Jar.SetCookies(ub, c.Jar.Cookies(ua))
		return cb
	}
	a.login(a.client)
	onB := carry(a.client)
	kept := a.newClient() // another session, which stays
	a.login(kept)
	keptOnB := carry(kept)
	for name, r := range map[string]adminResponse{
		"a": a.getWith(a.client, "/admin/orders"), "b": b.getWith(onB, "/admin/orders"),
		"other on a": a.getWith(kept, "/admin/orders"), "other on b": b.getWith(keptOnB, "/admin/orders"),
	} {
		if r.status != http.StatusOK {
			t.Fatalf("before the logout, %s: %d", name, r.status)
		}
	}
	tokenOnA := a.csrf(a.client, "/admin/orders")

	token := b.csrf(onB, "/admin/orders")
	if r := b.postWith(onB, "/admin/logout", url.Values{"csrf": {token}}, http.Header{"Origin": {b.srv.URL}}); r.status != http.StatusSeeOther || r.location != "/admin/login" {
		t.Fatalf("logout on b: %d to %q", r.status, r.location)
	}

	if r := a.getWith(a.client, "/admin/orders"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/login") {
		t.Errorf("a accepts the session logged out on b: %d to %q", r.status, r.location)
	}
	r := a.postWith(a.client, "/admin/orders/"+pending.Order.ID+"/close", url.Values{"csrf": {tokenOnA}, "confirm": {"yes"}},
		http.Header{"Origin": {a.srv.URL}})
	if r.status != http.StatusUnauthorized {
		t.Errorf("a form on a with the session logged out on b: %d", r.status)
	}
	if o := a.order(pending.Order.ID); o.Status != payment.StatusPending {
		t.Errorf("the refused form closed the order: %s", o.Status)
	}
	if r := b.getWith(onB, "/admin/orders"); r.status != http.StatusSeeOther {
		t.Errorf("b accepts the session it logged out: %d", r.status)
	}
	if r := a.getWith(kept, "/admin/orders"); r.status != http.StatusOK {
		t.Errorf("the other session ended on a: %d", r.status)
	}
	if r := b.getWith(keptOnB, "/admin/orders"); r.status != http.StatusOK {
		t.Errorf("the other session ended on b: %d", r.status)
	}
}

// TestAdminSessionStoreDown: when the store cannot say whether a session
// was logged out, the pages refuse it with a 503 page rather than let it
// in, and a logout that cannot be recorded says so and keeps the cookie.
func TestAdminSessionStoreDown(t *testing.T) {
	t.Parallel()
	store := adminOpenSQLite(t)
	e := adminNewEnv(t, store, adminEnvOptions{})
	e.login(e.client)
	token := e.csrf(e.client, "/admin/orders")
	store.Close()

	if r := e.get("/admin/orders"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "could not be checked") {
		t.Errorf("page with the store down: %d\n%s", r.status, r.body)
	}
	r := e.post("/admin/logout", url.Values{"csrf": {token}})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Set-Cookie") != "" {
		t.Errorf("logout with the store down: %d, Set-Cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
	e.wantSecretsAbsent("the 503 page", r.body)
}
