package payment_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/sandbox"
)

func TestNotify(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"PagePayFlow", testPagePayFlow},
		{"BadSignature", testNotifyBadSignature},
		{"TamperedAmount", testNotifyTamperedAmount},
		{"ForgedOtherApp", testNotifyForgedOtherApp},
		{"ForgedAmount", testNotifyForgedAmount},
		{"UnknownOrderReplayed", testNotifyUnknownOrder},
		{"SellerMismatchReplayed", testNotifySellerMismatch},
		{"MalformedBodies", testNotifyMalformed},
		{"ConcurrentDuplicates", testNotifyConcurrentDuplicates},
		{"SameBody50Times", testNotifySameBody50},
		{"ChunkedBody", testNotifyChunked},
		{"DroppedReconciled", testNotifyDropped},
		{"KilledAfterCommit", testKilledAfterCommit},
		{"KilledBeforeCommit", testKilledBeforeCommit},
	})
}

// testPagePayFlow: create → pay URL → the buyer pays → the notify arrives
// → the order is paid once, its log has the notify.
func testPagePayFlow(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 12345)
	if !strings.HasPrefix(p.PayURL, e.ts.GatewayURL+"?") || p.Order.Status != payment.StatusPending {
		t.Fatalf("payment %+v: want a pay URL at the sandbox gateway, order pending", p)
	}
	e.pay(p)
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	tr := e.trade(o)
	if o.PaidAmount != 12345 || o.TradeNo != tr.TradeNo || o.BuyerID != tr.BuyerID || o.PaidAt.IsZero() {
		t.Errorf("paid order %+v, sandbox trade %+v", o, tr)
	}
	if n := e.count(o.ID, payment.EventStateChanged, ""); n != 1 {
		t.Errorf("%d state changes, want 1:\n%s", n, e.dumpEvents(o.ID))
	}
	var notify *payment.OrderEvent
	for _, ev := range e.events(o.ID) {
		if ev.Kind == payment.EventNotifyReceived {
			notify = &ev
		}
	}
	if notify == nil || !notify.Verified || notify.Effect != payment.EffectTransitioned ||
		notify.From != payment.StatusPending || notify.To != payment.StatusPaid || !strings.Contains(string(notify.Raw), "trade_status=TRADE_SUCCESS") {
		t.Errorf("notify event %+v", notify)
	}
	atts := e.attempts(o)
	if len(atts) != 1 || !atts[0].Acknowledged || atts[0].Body != "success" {
		t.Errorf("notify attempts %+v: want one, answered success", atts)
	}
	// time_expire was sent: the sandbox trade expires with the order.
	if !tr.ExpiresAt.Equal(o.ExpiresAt) {
		t.Errorf("the trade expires at %v, the order at %v", tr.ExpiresAt, o.ExpiresAt)
	}
}

// testNotifyBadSignature: a notify whose signature does not verify changes
// nothing, is answered with no success, logged with its reason and kept in
// the order's log as unverified; once real, the retry pays the order.
func testNotifyBadSignature(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{BadSignature: true})
	e.pay(p)
	e.wantStatus(p.Order.ID, payment.StatusPending)
	atts := e.attempts(p.Order)
	if len(atts) != 1 || atts[0].StatusCode != http.StatusBadRequest || atts[0].Body != "fail" {
		t.Fatalf("attempts %+v: want one answered 400 fail", atts)
	}
	if !e.logs.has("notify refused", p.Order.OutTradeNo, "not verified") {
		t.Error("no log line with the reason")
	}
	if n := e.count(p.Order.ID, payment.EventNotifyRejected, payment.EffectRejected); n != 1 {
		t.Errorf("%d notify_rejected events, want 1", n)
	}
	for _, ev := range e.events(p.Order.ID) {
		if ev.Kind == payment.EventNotifyRejected && ev.Verified {
			t.Errorf("a forged notify recorded as verified: %+v", ev)
		}
	}
	if qs, _ := e.svc.ListQuarantined(e.ctx(), payment.QuarantineFilter{}); len(qs) != 0 {
		t.Errorf("an unverified notify was quarantined: %+v", qs)
	}
	e.sb.ClearNotifyFault(sandbox.NotifyScope{AppID: e.ts.AppID, OutTradeNo: p.Order.OutTradeNo})
	e.retry()
	e.wantStatus(p.Order.ID, payment.StatusPaid)
}

// testNotifyTamperedAmount: total_amount changed after signing breaks the
// signature.
func testNotifyTamperedAmount(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{TamperAmount: true})
	e.pay(p)
	o := e.wantStatus(p.Order.ID, payment.StatusPending)
	if o.PaidAmount != 0 || !e.logs.has("not verified", o.OutTradeNo) {
		t.Errorf("order %+v; want unpaid, the refusal logged", o)
	}
}

// testNotifyForgedOtherApp: correctly signed, for another app: quarantined
// with the reason, the order unchanged, one entry however often Alipay
// retries; a replay is refused while the cause stays.
func testNotifyForgedOtherApp(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{ForgedOtherApp: true})
	e.pay(p)
	e.retry()
	e.wantStatus(p.Order.ID, payment.StatusPending)
	qs, err := e.svc.ListQuarantined(e.ctx(), payment.QuarantineFilter{})
	if err != nil || len(qs) != 1 {
		t.Fatalf("quarantine %+v, %v: want one entry after two deliveries", qs, err)
	}
	q := qs[0]
	if q.OutTradeNo != p.Order.OutTradeNo || !strings.Contains(q.Reason, "app") || len(q.Raw) == 0 {
		t.Errorf("quarantined %+v", q)
	}
	for _, a := range e.attempts(p.Order) {
		if a.Acknowledged || a.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("attempt %+v: want 422, not acknowledged", a)
		}
	}
	if _, err := e.svc.ReplayQuarantined(e.ctx(), q.ID); !errors.Is(err, payment.ErrNotifyRejected) {
		t.Errorf("replay: %v, want ErrNotifyRejected", err)
	}
	e.wantStatus(p.Order.ID, payment.StatusPending)
}

// testNotifyForgedAmount: correctly signed with another amount:
// quarantined, recorded in the order's log, the order unchanged, and a
// replay still refused.
func testNotifyForgedAmount(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{ForgedAmount: true})
	e.pay(p)
	o := e.wantStatus(p.Order.ID, payment.StatusPending)
	qs, _ := e.svc.ListQuarantined(e.ctx(), payment.QuarantineFilter{})
	if len(qs) != 1 || !strings.Contains(qs[0].Reason, "total_amount") {
		t.Fatalf("quarantine %+v: want the amount's reason", qs)
	}
	if n := e.count(o.ID, payment.EventNotifyRejected, payment.EffectRejected); n != 1 {
		t.Errorf("%d notify_rejected events, want 1:\n%s", n, e.dumpEvents(o.ID))
	}
	if _, err := e.svc.ReplayQuarantined(e.ctx(), qs[0].ID); !errors.Is(err, payment.ErrNotifyRejected) {
		t.Errorf("replay: %v, want ErrNotifyRejected", err)
	}
	// The truth is still found: trade.query says paid, at the right amount.
	if o, err := e.svc.Reconcile(e.ctx(), o.ID); err != nil || o.Status != payment.StatusPaid {
		t.Errorf("Reconcile: %+v, %v", o, err)
	}
}

// testNotifyUnknownOrder: a signed notify for an order the store does not
// have is quarantined; once the order exists (restored), the replay
// applies it, and a second replay is a conflict.
func testNotifyUnknownOrder(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	outTradeNo := alipay.NewOutTradeNo()
	u, err := e.ali.PagePayURL(alipay.TradePagePayRequest{
		OutTradeNo: outTradeNo, TotalAmount: 250, Subject: "elsewhere", NotifyURL: e.cfg.NotifyURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.pay(&payment.Payment{Order: &payment.Order{OutTradeNo: outTradeNo}, PayURL: u})
	qs, _ := e.svc.ListQuarantined(e.ctx(), payment.QuarantineFilter{})
	if len(qs) != 1 || qs[0].OutTradeNo != outTradeNo || !strings.Contains(qs[0].Reason, "unknown out_trade_no") {
		t.Fatalf("quarantine %+v", qs)
	}
	if _, err := e.svc.ReplayQuarantined(e.ctx(), qs[0].ID); !errors.Is(err, payment.ErrNotifyRejected) {
		t.Fatalf("replay before the fix: %v", err)
	}
	p, err := e.svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{
		Subject: "elsewhere", Amount: 250, Channel: payment.ChannelPage, OutTradeNo: outTradeNo,
	})
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.svc.ReplayQuarantined(e.ctx(), qs[0].ID)
	if err != nil || o.Status != payment.StatusPaid || o.ID != p.Order.ID {
		t.Fatalf("replay after the fix: %+v, %v", o, err)
	}
	if _, err := e.svc.ReplayQuarantined(e.ctx(), qs[0].ID); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("second replay: %v, want ErrConflict", err)
	}
	if qs, _ := e.svc.ListQuarantined(e.ctx(), payment.QuarantineFilter{}); len(qs) != 0 {
		t.Errorf("still waiting in quarantine: %+v", qs)
	}
}

// testNotifySellerMismatch: a notify for another seller is quarantined;
// with the SellerID fixed, the replay applies it.
func testNotifySellerMismatch(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{sellerID: "2088000000000000"})
	p := e.create(payment.ChannelPage, 100)
	e.pay(p)
	e.wantStatus(p.Order.ID, payment.StatusPending)
	qs, _ := e.svc.ListQuarantined(e.ctx(), payment.QuarantineFilter{})
	if len(qs) != 1 || !strings.Contains(qs[0].Reason, "seller_id") {
		t.Fatalf("quarantine %+v", qs)
	}
	cfg := e.cfg
	cfg.SellerID = e.app.SellerID
	fixed, err := payment.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, err := fixed.ReplayQuarantined(e.ctx(), qs[0].ID)
	if err != nil || o.Status != payment.StatusPaid {
		t.Fatalf("replay with the right SellerID: %+v, %v", o, err)
	}
	if n := e.count(o.ID, payment.EventStateChanged, ""); n != 1 {
		t.Errorf("%d state changes", n)
	}
}

// testNotifyMalformed: wrong method, wrong type, malformed, empty and
// oversize bodies are refused, never answered success, and change nothing.
func testNotifyMalformed(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	resp, err := e.http.Get(e.srv.URL + "/notify?out_trade_no=" + p.Order.OutTradeNo + "&trade_status=TRADE_SUCCESS")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %s", resp.Status)
	}
	form := url.Values{"out_trade_no": {p.Order.OutTradeNo}, "trade_status": {"TRADE_SUCCESS"}, "total_amount": {"1.00"}}
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"json", "application/json", `{"out_trade_no":"` + p.Order.OutTradeNo + `","trade_status":"TRADE_SUCCESS"}`, http.StatusUnsupportedMediaType},
		{"malformed", "application/x-www-form-urlencoded", "a=%zz&b", http.StatusBadRequest},
		{"empty", "application/x-www-form-urlencoded", "", http.StatusBadRequest},
		{"unsigned", "application/x-www-form-urlencoded", form.Encode(), http.StatusBadRequest},
		{"oversize", "application/x-www-form-urlencoded", form.Encode() + "&pad=" + strings.Repeat("x", payment.MaxNotifyBytes), http.StatusRequestEntityTooLarge},
	} {
		status, body := e.post("/notify", tt.contentType, tt.body)
		if status != tt.status || body != "fail" {
			t.Errorf("%s: %d %q, want %d fail", tt.name, status, body, tt.status)
		}
	}
	e.wantStatus(p.Order.ID, payment.StatusPending)
	if !e.logs.has("notify refused", "body larger than") {
		t.Error("the oversize body's reason is not logged")
	}
}

// testNotifyConcurrentDuplicates: the sandbox sends 50 copies of the
// notify at once: one transition, one event of effect, all answered
// success.
func testNotifyConcurrentDuplicates(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{Duplicate: 49, Concurrent: true})
	e.pay(p)
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	checkOneEffect(t, e, o)
	atts := e.attempts(o)
	if len(atts) != 50 {
		t.Fatalf("%d deliveries, want 50", len(atts))
	}
	for _, a := range atts {
		if a.Body != "success" {
			t.Errorf("copy %d answered %d %q", a.Copy, a.StatusCode, a.Body)
		}
	}
}

// checkOneEffect checks that o's log has one state change and one notify
// of effect.
func checkOneEffect(t *testing.T, e *env, o *payment.Order) {
	t.Helper()
	if n := e.count(o.ID, payment.EventStateChanged, ""); n != 1 {
		t.Errorf("%d state changes, want 1:\n%s", n, e.dumpEvents(o.ID))
	}
	if n := e.count(o.ID, payment.EventNotifyReceived, payment.EffectTransitioned); n != 1 {
		t.Errorf("%d notifies of effect, want 1:\n%s", n, e.dumpEvents(o.ID))
	}
	if n := e.count(o.ID, payment.EventNotifyReceived, ""); n > 3 {
		// Duplicates that saw the paid order at once are not recorded;
		// only those that raced the first commit's read may be.
		t.Errorf("%d notify events for one notify_id:\n%s", n, e.dumpEvents(o.ID))
	}
}

// testNotifySameBody50: the same signed notify body posted 50 times at
// once by the test itself.
func testNotifySameBody50(t *testing.T, open func(*testing.T) payment.Store) {
	g := &gate{closed: true}
	e := newEnv(t, open, options{notify: g.wrap})
	p := e.create(payment.ChannelPage, 100)
	e.pay(p)
	e.wantStatus(p.Order.ID, payment.StatusPending)
	atts := e.attempts(p.Order)
	if len(atts) != 1 || atts[0].Form == "" {
		t.Fatalf("attempts %+v", atts)
	}
	body := atts[0].Form
	g.set(false)
	var wg sync.WaitGroup
	answers := make([]string, 50)
	for i := range answers {
		wg.Go(func() {
			resp, err := e.http.Post(e.srv.URL+"/notify", "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				answers[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			b := make([]byte, 16)
			n, _ := resp.Body.Read(b)
			answers[i] = string(b[:n])
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a != "success" {
			t.Errorf("post %d: %q", i, a)
		}
	}
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	checkOneEffect(t, e, o)
}

// testNotifyChunked: a notify whose body comes without a Content-Length
// (chunked) is read as well: an oversize one is refused with 413, a
// signed one applied.
func testNotifyChunked(t *testing.T, open func(*testing.T) payment.Store) {
	g := &gate{closed: true}
	var length atomic.Int64 // the Content-Length the handler saw last
	e := newEnv(t, open, options{notify: func(h http.Handler) http.Handler {
		return g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			length.Store(r.ContentLength)
			h.ServeHTTP(w, r)
		}))
	}})
	p := e.create(payment.ChannelPage, 100)
	e.pay(p)
	atts := e.attempts(p.Order)
	if len(atts) != 1 || atts[0].Form == "" {
		t.Fatalf("attempts %+v", atts)
	}
	g.set(false)
	post := func(body string) (*http.Response, string) {
		t.Helper()
		// A reader of unknown length: the client sends it chunked.
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/notify", struct{ io.Reader }{strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if n := length.Load(); n != -1 {
			t.Fatalf("the handler saw Content-Length %d, want -1 (unknown)", n)
		}
		return resp, string(b)
	}
	resp, body := post(atts[0].Form + "&pad=" + strings.Repeat("x", payment.MaxNotifyBytes))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || body != "fail" {
		t.Errorf("oversize chunked: %s %q, want 413 fail", resp.Status, body)
	}
	e.wantStatus(p.Order.ID, payment.StatusPending)
	resp, body = post(atts[0].Form)
	if resp.StatusCode != http.StatusOK || body != "success" {
		t.Errorf("chunked: %s %q, want 200 success", resp.Status, body)
	}
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	checkOneEffect(t, e, o)
}

// testNotifyDropped: the sandbox loses every delivery; reconciliation finds
// the payment.
func testNotifyDropped(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{DropFirst: 8})
	e.pay(p)
	e.wantStatus(p.Order.ID, payment.StatusPending)
	o, err := e.svc.Reconcile(e.ctx(), p.Order.ID)
	if err != nil || o.Status != payment.StatusPaid || o.TradeNo == "" {
		t.Fatalf("Reconcile: %+v, %v", o, err)
	}
	if n := e.count(o.ID, payment.EventQuery, payment.EffectTransitioned); n != 1 {
		t.Errorf("%d query events of effect:\n%s", n, e.dumpEvents(o.ID))
	}
	// Reconciling again changes nothing.
	if o2, err := e.svc.Reconcile(e.ctx(), o.ID); err != nil || o2.Version != o.Version {
		t.Errorf("second Reconcile: %+v, %v", o2, err)
	}
}

// testKilledAfterCommit: the process commits, then dies before answering
// (the connection drops). Alipay's retry is idempotent: one transition.
func testKilledAfterCommit(t *testing.T, open func(*testing.T) payment.Store) {
	var mu sync.Mutex
	killed := false
	e := newEnv(t, open, options{notify: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			kill := !killed
			killed = true
			mu.Unlock()
			if !kill {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r) // commits
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			conn.Close() // dies before the answer leaves
		})
	}})
	p := e.create(payment.ChannelPage, 100)
	e.pay(p)
	o := e.wantStatus(p.Order.ID, payment.StatusPaid) // committed
	if atts := e.attempts(o); len(atts) != 1 || atts[0].Acknowledged {
		t.Fatalf("attempts %+v: want one, unanswered", atts)
	}
	e.retry()
	atts := e.attempts(o)
	if len(atts) != 2 || !atts[1].Acknowledged {
		t.Fatalf("attempts %+v: want the retry answered success", atts)
	}
	checkOneEffect(t, e, e.order(o.ID))
	if e.order(o.ID).Version != o.Version {
		t.Error("the retry changed the order")
	}
}

// testKilledBeforeCommit: the store fails before the commit: no success,
// so Alipay retries; reconciliation finds the payment meanwhile, and the
// retry then changes nothing.
func testKilledBeforeCommit(t *testing.T, open func(*testing.T) payment.Store) {
	var fs *failingStore
	e := newEnv(t, open, options{store: func(s payment.Store) payment.Store {
		fs = &failingStore{Store: s, fail: true}
		return fs
	}})
	p := e.create(payment.ChannelPage, 100)
	e.pay(p)
	e.wantStatus(p.Order.ID, payment.StatusPending)
	atts := e.attempts(p.Order)
	if len(atts) != 1 || atts[0].StatusCode != http.StatusInternalServerError || atts[0].Body != "fail" {
		t.Fatalf("attempts %+v: want 500 fail", atts)
	}
	if _, err := e.svc.Reconcile(e.ctx(), p.Order.ID); err == nil {
		t.Fatal("Reconcile succeeded with a dead store")
	}
	fs.set(false)
	o, err := e.svc.Reconcile(e.ctx(), p.Order.ID)
	if err != nil || o.Status != payment.StatusPaid {
		t.Fatalf("Reconcile: %+v, %v", o, err)
	}
	e.retry()
	atts = e.attempts(o)
	if !atts[len(atts)-1].Acknowledged {
		t.Errorf("the retry was not answered success: %+v", atts[len(atts)-1])
	}
	if n := e.count(o.ID, payment.EventStateChanged, ""); n != 1 {
		t.Errorf("%d state changes", n)
	}
	// And a retry alone, without reconciliation, pays too.
	p2 := e.create(payment.ChannelPage, 200)
	fs.set(true)
	e.pay(p2)
	fs.set(false)
	e.wantStatus(p2.Order.ID, payment.StatusPending)
	e.retry()
	e.wantStatus(p2.Order.ID, payment.StatusPaid)
}

// gate answers notifies 503 without handling them while closed: a
// service that is down.
type gate struct {
	mu     sync.Mutex
	closed bool
}

func (g *gate) set(closed bool) {
	g.mu.Lock()
	g.closed = closed
	g.mu.Unlock()
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		closed := g.closed
		g.mu.Unlock()
		if closed {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}
