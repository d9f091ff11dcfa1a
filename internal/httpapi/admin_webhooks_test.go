package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"zhifu/payment"
)

// adminResendPattern finds the resend forms of an order page.
var adminResendPattern = regexp.MustCompile(`action="(/admin/orders/[^/"]+/webhooks/([^/"]+)/resend)"`)

// TestAdminWebhookResend: the order page lists the webhook event whose
// automatic attempt failed, with a resend form; a resend without the CSRF
// token is refused and sends nothing; with it, a confirmation page comes
// first, then the resend is made, recorded as manual, and its result
// (delivered, or the failure with its status) is shown with the
// timeline; no page holds the webhook secret.
func TestAdminWebhookResend(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t, true)
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{webhooks: rcv})
	p := e.create("webhook 重发 resend", 1200, nil)
	e.pay(p)
	if got := e.hooks.nextAttempt(t); got != string(payment.WebhookStatusFailed) {
		t.Fatalf("the automatic attempt: %s, want failed", got)
	}
	e.login(e.client)
	orderPath := "/admin/orders/" + p.Order.ID
	var pages []string
	get := func(path string) adminResponse {
		t.Helper()
		r := e.get(path)
		pages = append(pages, r.body)
		return r
	}
	post := func(path string, form url.Values) adminResponse {
		t.Helper()
		r := e.post(path, form)
		pages = append(pages, r.body)
		return r
	}
	attempts := func(eventID string) []payment.WebhookAttempt {
		t.Helper()
		as, err := e.hooks.w.ListWebhookAttempts(e.ctx(), eventID)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}

	page := get(orderPath)
	m := adminResendPattern.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("order page %d, no resend form:\n%s", page.status, page.body)
	}
	action, eventID := m[1], m[2]
	adminWantInOrder(t, page.body, "Webhook events", "payment.paid", eventID, "Failed", "重发 Resend…", "Timeline", eventID, "HTTP 500")

	r := post(action, url.Values{"confirm": {"yes"}})
	if r.status != http.StatusForbidden || rcv.count(eventID) != 1 || len(attempts(eventID)) != 1 {
		t.Fatalf("resend without CSRF: %d, %d requests, %d attempts", r.status, rcv.count(eventID), len(attempts(eventID)))
	}
	r = post(action, url.Values{"confirm": {"yes"}, "csrf": {"not-the-token"}})
	if r.status != http.StatusForbidden || rcv.count(eventID) != 1 {
		t.Fatalf("resend with a wrong CSRF token: %d, %d requests", r.status, rcv.count(eventID))
	}

	token := e.csrf(e.client, orderPath)
	r = post(action, url.Values{"csrf": {token}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Confirm the resend") || !strings.Contains(r.body, eventID) {
		t.Fatalf("resend form: %d\n%s", r.status, r.body)
	}
	if rcv.count(eventID) != 1 {
		t.Fatal("a resend was made before the confirmation")
	}
	confirm := adminConfirmForm(t, r.body)

	rcv.failing.Store(false)
	r = post(action, confirm)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, orderPath+"?") {
		t.Fatalf("confirmed resend: %d to %q\n%s", r.status, r.location, r.body)
	}
	e.hooks.nextAttempt(t)
	as := attempts(eventID)
	if len(as) != 2 || !as[1].Manual || as[1].StatusCode != 200 || as[1].Result != payment.WebhookStatusDelivered || rcv.count(eventID) != 2 {
		t.Fatalf("attempts after the resend: %+v", as)
	}
	page = get(r.location)
	if page.status != http.StatusOK || !strings.Contains(page.body, "was resent and delivered (attempt 2, HTTP 200)") {
		t.Fatalf("result page %d, no delivered message:\n%s", page.status, page.body)
	}
	adminWantInOrder(t, page.body, "Timeline", eventID+" · #1", "HTTP 500", eventID+" · #2", "Delivered", "HTTP 200", "Manual resend")

	// The endpoint fails again: the resend says so, with the status.
	rcv.failing.Store(true)
	r = post(action, confirm)
	if r.status != http.StatusSeeOther {
		t.Fatalf("second resend: %d\n%s", r.status, r.body)
	}
	e.hooks.nextAttempt(t)
	page = get(r.location)
	if !strings.Contains(page.body, "The resend of "+eventID+" was not delivered (attempt 3, HTTP 500)") {
		t.Fatalf("no failure message:\n%s", page.body)
	}
	if as := attempts(eventID); len(as) != 3 || !as[2].Manual || as[2].StatusCode != 500 {
		t.Fatalf("attempts after the failed resend: %+v", as)
	}

	// An event that is not the order's is refused, and nothing is sent.
	other := e.create("another", 100, nil)
	r = post("/admin/orders/"+other.Order.ID+"/webhooks/"+eventID+"/resend", url.Values{"csrf": {token}, "confirm": {"yes"}})
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "nothing was resent") || rcv.count(eventID) != 3 {
		t.Fatalf("resend of another order's event: %d, %d requests\n%s", r.status, rcv.count(eventID), r.body)
	}

	for i, body := range pages {
		e.wantSecretsAbsent(fmt.Sprintf("page %d", i), body)
		if strings.Contains(body, "v1=") {
			t.Errorf("a page holds a signature")
		}
	}
}

// TestAdminWebhookResendQueued: a webhook event not attempted yet (its
// first delivery still queued: the jobs are stopped) is listed on the
// order page with a resend form, like any other event; the resend is
// refused without the CSRF token or from another origin, asks for a
// confirmation that says no attempt was made, and then delivers the
// event, recorded as the first attempt, manual.
func TestAdminWebhookResendQueued(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		adminTestWebhookResendQueued(t, adminOpenSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		adminTestWebhookResendQueued(t, adminOpenPostgres(t))
	})
}

func adminTestWebhookResendQueued(t *testing.T, store payment.Store) {
	rcv := newHookReceiver(t, false)
	e := adminNewEnv(t, store, adminEnvOptions{webhooks: rcv, webhooksQueued: true})
	p := e.create("webhook 排队 queued", 800, nil)
	e.pay(p)
	events, err := e.hooks.w.ListWebhookEvents(e.ctx(), p.Order.ID)
	if err != nil || len(events) != 1 || events[0].Status != payment.WebhookStatusPending || events[0].Attempts != 0 {
		t.Fatalf("webhook events after the payment: %+v, %v; want one, pending, not attempted", events, err)
	}
	eventID := events[0].ID
	e.login(e.client)
	orderPath := "/admin/orders/" + p.Order.ID

	page := e.get(orderPath)
	m := adminResendPattern.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil || m[2] != eventID {
		t.Fatalf("order page %d, no resend form of %s:\n%s", page.status, eventID, page.body)
	}
	action := m[1]
	adminWantInOrder(t, page.body, "Webhook events", "payment.paid", eventID, "Queued: not attempted yet", "0 次尝试", "重发 Resend…", "Timeline")

	token := e.csrf(e.client, orderPath)
	if r := e.post(action, url.Values{"confirm": {"yes"}}); r.status != http.StatusForbidden {
		t.Errorf("resend without CSRF: %d", r.status)
	}
	r := e.postWith(e.client, action, url.Values{"csrf": {token}, "confirm": {"yes"}}, http.Header{"Origin": {"https://evil.example"}})
	if r.status != http.StatusForbidden {
		t.Errorf("resend from another origin: %d", r.status)
	}
	if n := rcv.count(eventID); n != 0 {
		t.Fatalf("%d requests before a valid resend", n)
	}

	r = e.post(action, url.Values{"csrf": {token}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Confirm the resend") || !strings.Contains(r.body, "none yet: the first delivery is still queued") {
		t.Fatalf("resend form: %d\n%s", r.status, r.body)
	}
	if n := rcv.count(eventID); n != 0 {
		t.Fatal("a resend was made before the confirmation")
	}
	r = e.post(action, adminConfirmForm(t, r.body))
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, orderPath+"?") {
		t.Fatalf("confirmed resend: %d to %q\n%s", r.status, r.location, r.body)
	}
	as, err := e.hooks.w.ListWebhookAttempts(e.ctx(), eventID)
	if err != nil || len(as) != 1 || as[0].Number != 1 || !as[0].Manual || as[0].Result != payment.WebhookStatusDelivered || rcv.count(eventID) != 1 {
		t.Fatalf("attempts after the resend: %+v, %v, %d requests", as, err, rcv.count(eventID))
	}
	page = e.get(r.location)
	if !strings.Contains(page.body, "was resent and delivered (attempt 1, HTTP 200)") {
		t.Fatalf("result page %d, no delivered message:\n%s", page.status, page.body)
	}
	adminWantInOrder(t, page.body, "Webhook events", eventID, "Delivered", "1 次尝试", "Timeline", eventID+" · #1", "Manual resend")
	e.wantSecretsAbsent("the result page", page.body)
}
