package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zhifu/internal/httpapi"
)

// adminPrintable reports whether s can be sent in a header or URL as it
// is: the client refuses control characters before they reach a server.
func adminPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// FuzzAdminSessionCookie: no cookie value but one the pages issued opens
// a page; none makes them fail.
func FuzzAdminSessionCookie(f *testing.F) {
	e := adminNewEnv(f, adminOpenSQLite(f), adminEnvOptions{})
	e.login(e.client)
	u, _ := url.Parse(e.srv.URL + "/admin/")
	valid := e.client.Jar.Cookies(u)[0].Value
	payload, sig, _ := strings.Cut(valid, ".")
	f.Add(valid + "x")
	f.Add(payload + ".")
	f.Add("." + sig)
	f.Add(strings.ToUpper(payload) + "." + sig)
	f.Add(payload[:len(payload)-2] + "AA." + sig) // another expiry, the same MAC
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, cookie string) {
		if cookie == valid || !adminPrintable(cookie) || strings.ContainsAny(cookie, ";\"") {
			return
		}
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/admin/orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", "zhifu_admin="+cookie)
		resp, err := e.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("cookie %q: %d, want 303 to the login", cookie, resp.StatusCode)
		}
	})
}

// FuzzAdminOrdersQuery: whatever the filters, the orders page answers
// 200 or a 400 that says what is wrong, never an error of its own.
func FuzzAdminOrdersQuery(f *testing.F) {
	e := adminNewEnv(f, adminOpenSQLite(f), adminEnvOptions{})
	e.create("one", 100, nil)
	e.login(e.client)
	for _, s := range []string{
		"", "status=paid&status=pending", "from=2026-01-01&to=2026-01-31", "from=0000-01-01", "to=9999-12-31",
		"cursor=abc", "q=ord_X", "q=%00", "status=", "from=2026-02-30", "cursor=o%3A", "q=" + strings.Repeat("9", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		if !adminPrintable(query) || strings.ContainsAny(query, "# ") {
			return
		}
		te := *e // the same env, failing this input's test
		te.t = t
		r := te.get("/admin/orders?" + query)
		if r.status != http.StatusOK && r.status != http.StatusBadRequest {
			t.Fatalf("?%s: %d\n%s", query, r.status, r.body)
		}
	})
}

// FuzzAdminPassword: NewAdmin reads any password setting without
// panicking: a clear password of 8 or more characters or a well-formed
// hash is taken, anything else refused.
func FuzzAdminPassword(f *testing.F) {
	e := adminNewEnv(f, adminOpenSQLite(f), adminEnvOptions{})
	hash, err := httpapi.AdminHashPassword(adminTestPassword)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{hash, "pbkdf2-sha256$", "pbkdf2-sha256$100000$AAAAAAAAAAA$" + strings.Repeat("A", 43), "pbkdf2-sha256$0100000$a$b", "12345678", "1234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, password string) {
		cfg := e.admin
		cfg.Password = password
		_, err := httpapi.NewAdmin(cfg)
		if !strings.HasPrefix(password, "pbkdf2-sha256$") && (err == nil) != (len([]rune(password)) >= 8) {
			t.Fatalf("clear password of %d characters: %v", len([]rune(password)), err)
		}
	})
}
