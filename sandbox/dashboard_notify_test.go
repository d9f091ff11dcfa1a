package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zhifu/alipay"
)

// secrets returns the base64 of the private keys of e's test server.
func (e *notifyEnv) secrets() []string {
	e.t.Helper()
	alipayPEM, err := alipay.MarshalPrivateKeyPEM(e.sb.cfg.AlipayPrivateKey)
	if err != nil {
		e.t.Fatal(err)
	}
	return []string{pemBase64(e.ts.AppPrivateKeyPEM), pemBase64(string(alipayPEM))}
}

// getPage fetches a dashboard page that must answer 200, shows no key
// material and no unescaped merchant markup, and holds every want.
func (e *notifyEnv) getPage(path string, want ...string) string {
	e.t.Helper()
	resp, body := e.page("GET", path, nil)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			e.t.Errorf("GET %s: no %q in\n%s", path, w, body)
		}
	}
	if strings.Contains(body, "<script>") {
		e.t.Errorf("GET %s: unescaped markup", path)
	}
	noSecrets(e.t, path, body, e.secrets()...)
	return body
}

func TestDashboardNotifyAttempts(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, failThenAck)
	e.setFault("DN_1", NotifyFault{Duplicate: 1})
	e.pay("DN_1", 1234)
	e.deliver()
	n := e.sb.Notifications(TestAppID)[0]
	tradePath := "/sandbox/trades/" + TestAppID + "/DN_1"
	body := e.getPage(tradePath, n.NotifyID, "acknowledged", "#1", "copy 1", "500", "&lt;script&gt;alert(1)&lt;/script&gt;",
		"duplicate=1", " ms<", `action="/sandbox/notifications/`+n.NotifyID+`/resend"`)
	token := csrf(t, body)

	// A forged resend is refused and sends nothing.
	resendPath := "/sandbox/notifications/" + n.NotifyID + "/resend"
	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":     {url.Values{}, nil},
		"other origin": {url.Values{"csrf": {token}}, []string{"Origin", "https://evil.example"}},
		"rebound host": {url.Values{"csrf": {token}}, []string{"Host", "evil.example"}},
	} {
		if resp, _ := e.page("POST", resendPath, tc.form, tc.header...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	e.deliver()
	if as := e.attempts("DN_1"); len(as) != 2 {
		t.Fatalf("forged resends delivered: %+v", as)
	}
	if resp, _ := e.page("POST", "/sandbox/notifications/123/resend", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("resend unknown: %d", resp.StatusCode)
	}

	// The button: the page shows the attempt when it comes back.
	resp, _ := e.page("POST", resendPath, url.Values{"csrf": {token}}, "Origin", e.ts.Server.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tradePath+"?done=resent#notify-attempts" {
		t.Fatalf("resend: %d %v", resp.StatusCode, resp.Header)
	}
	as := e.attempts("DN_1")
	if len(as) != 4 || !as[2].Manual || !as[2].Acknowledged {
		t.Fatalf("after the resend: %+v", as)
	}
	e.getPage(tradePath+"?done=resent", "manual", "acknowledged", `id="done"`, "✓")

	// A trade without notifies says so.
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "DN_2", TotalAmount: 5, Subject: "y", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	e.getPage("/sandbox/trades/"+TestAppID+"/DN_2", "No notifies")
	e.getPage("/sandbox/")
	e.getPage("/sandbox/trades")
}

func TestDashboardNotifyFaults(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	body := e.getPage("/sandbox/faults", `id="add-notify-fault"`, "No notify faults")
	token := csrf(t, body)

	// Refused forms set nothing and keep what was typed.
	for _, tc := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"csrf": {token}, "duplicate": {"x"}, "out_trade_no": {"NF_9"}}, 400, `value="NF_9"`},
		{url.Values{"csrf": {token}, "concurrent": {"on"}}, 400, "concurrent"},
		{url.Values{"csrf": {token}, "delay": {"soon"}}, 400, "delay"},
		{url.Values{"csrf": {token}}, 400, "duplicate"},
		{url.Values{"csrf": {token}, "app_id": {"nope"}, "duplicate": {"1"}}, 404, "nope"},
		{url.Values{"duplicate": {"1"}}, 403, ""},
	} {
		resp, body := e.page("POST", "/sandbox/notify-faults", tc.form)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%v: %d %s", tc.form, resp.StatusCode, body)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("%v: unescaped", tc.form)
		}
	}
	if fs := e.sb.NotifyFaults(); len(fs) != 0 {
		t.Fatalf("refused forms set faults: %+v", fs)
	}

	resp, _ := e.page("POST", "/sandbox/notify-faults", url.Values{"csrf": {token}, "app_id": {TestAppID}, "out_trade_no": {"NF_1"},
		"duplicate": {"2"}, "concurrent": {"on"}, "delay": {"30s"}, "forged_amount": {"on"}})
	fs := e.sb.NotifyFaults()
	if resp.StatusCode != http.StatusSeeOther || len(fs) != 1 ||
		fs[0].Fault != (NotifyFault{Duplicate: 2, Concurrent: true, Delay: 30e9, ForgedAmount: true}) || fs[0].Scope.OutTradeNo != "NF_1" {
		t.Fatalf("add: %d %+v", resp.StatusCode, fs)
	}
	e.getPage("/sandbox/faults", "NF_1", "duplicate=2 concurrent delay=30s forged_amount")
	e.getPage("/sandbox/", "1 个生效中 active")

	del := url.Values{"app_id": {TestAppID}, "out_trade_no": {"NF_1"}}
	if resp, _ := e.page("POST", "/sandbox/notify-faults/delete", del); resp.StatusCode != http.StatusForbidden || len(e.sb.NotifyFaults()) != 1 {
		t.Fatalf("delete without token: %d", resp.StatusCode)
	}
	del.Set("csrf", token)
	if resp, _ := e.page("POST", "/sandbox/notify-faults/delete", del); resp.StatusCode != http.StatusSeeOther || len(e.sb.NotifyFaults()) != 0 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := e.page("POST", "/sandbox/notify-faults/delete", del); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("delete again: %d", resp.StatusCode)
	}
}
