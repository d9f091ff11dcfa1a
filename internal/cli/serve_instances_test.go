package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/sandbox"
)

// webhookReceiver is the merchant's webhook endpoint in a test: it checks
// every signature and counts the deliveries of each event id.
type webhookReceiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	seen   map[string]int    // event id → deliveries
	types  map[string]string // event id → type
	signal chan struct{}
}

func newWebhookReceiver(t *testing.T, secret string) (*webhookReceiver, *httptest.Server) {
	r := &webhookReceiver{t: t, secret: secret, seen: map[string]int{}, types: map[string]string{}, signal: make(chan struct{}, 1)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := payment.VerifyWebhookSignature(r.secret, req.Header.Get(payment.WebhookSignatureHeader), body, time.Now(), 0); err != nil {
		r.t.Errorf("a webhook whose signature does not verify: %v", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	id := req.Header.Get(payment.WebhookEventIDHeader)
	r.mu.Lock()
	r.seen[id]++
	r.types[id] = req.Header.Get(payment.WebhookEventTypeHeader)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// counts returns how many events of each type were delivered, and the
// largest number of deliveries of one event.
func (r *webhookReceiver) counts() (byType map[string]int, most int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byType = map[string]int{}
	for id, n := range r.seen {
		byType[r.types[id]]++
		most = max(most, n)
	}
	return byType, most
}

// roundRobin is a reverse proxy that hands requests to its targets in
// turn: the load balancer in front of several instances.
type roundRobin struct {
	targets []*httputil.ReverseProxy
	next    atomic.Int64
	served  []atomic.Int64
}

func newRoundRobin(urls ...string) *roundRobin {
	rr := &roundRobin{served: make([]atomic.Int64, len(urls))}
	for _, u := range urls {
		target, _ := url.Parse(u)
		rr.targets = append(rr.targets, httputil.NewSingleHostReverseProxy(target))
	}
	return rr
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(rr.next.Add(1)) % len(rr.targets)
	rr.served[i].Add(1)
	rr.targets[i].ServeHTTP(w, r)
}

// TestServeInstancesShareOnePostgres runs two zhifu serve instances on
// one PostgreSQL schema behind a round-robin balancer, with the sandbox
// sending every notify three times at once. Payments are created and
// refunded through both instances' JSON API; every order ends paid (or
// partially refunded), and every webhook event reaches the merchant once,
// signed, whichever instance saw the change and whichever ran the job.
func TestServeInstancesShareOnePostgres(t *testing.T) {
	t.Parallel()
	_, dsnWithSchema := testpg.Schema(t)
	ts := sandbox.NewTestServer(t)
	whSecret := "whsec-" + rand.Text() + rand.Text()
	hooks, hookSrv := newWebhookReceiver(t, whSecret)
	sessionKey := rand.Text() + rand.Text()

	// The balancer's address is the public URL of both instances: Alipay
	// (the sandbox) sends each notify to it, and it picks an instance.
	var lb *roundRobin // set once the instances listen, before any request
	lbSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { lb.ServeHTTP(w, r) }))
	t.Cleanup(lbSrv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	var urls []string
	var apps []*app
	var wg sync.WaitGroup
	for i := range 2 {
		a, err := newApp(ctx, &serveConfig{
			AppID: ts.AppID, AppPrivateKey: secret(ts.AppPrivateKeyPEM), AlipayPublicKey: ts.AlipayPublicKeyPEM,
			Gateway: ts.GatewayURL, PublicURL: lbSrv.URL, Database: dsn(dsnWithSchema),
			WebhookURL: hookSrv.URL, WebhookSecret: secret(whSecret),
			AdminPassword: "admin-password-of-both", AdminSessionKey: secret(sessionKey),
			Logger:          slog.New(slog.NewTextHandler(testLogWriter{t, fmt.Sprintf("instance %d: ", i)}, &slog.HandlerOptions{Level: slog.LevelWarn})),
			JobPollInterval: 50 * time.Millisecond,
		}, nil)
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, "http://"+ln.Addr().String())
		apps = append(apps, a)
		wg.Go(func() {
			if err := a.serve(ctx, ln); err != nil {
				t.Errorf("instance %d: serve: %v", i, err)
			}
		})
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	lb = newRoundRobin(urls...)

	keySecret, key, err := payment.NewAPIKey("test")
	if err != nil {
		t.Fatal(err)
	}
	if err := apps[0].db.store.CreateAPIKey(context.Background(), &key); err != nil {
		t.Fatal(err)
	}
	call := func(base, method, path string, body any, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+keySecret)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", rand.Text())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, raw)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}

	ts.Sandbox.SetNotifyFault(sandbox.NotifyScope{AppID: ts.AppID}, sandbox.NotifyFault{Duplicate: 2, Concurrent: true})
	const n = 12
	type created struct {
		ID         string
		OutTradeNo string `json:"out_trade_no"`
	}
	orders := make([]created, n)
	for i := range n {
		call(urls[i%2], http.MethodPost, "/v1/payments",
			map[string]any{"subject": fmt.Sprintf("order %d", i), "amount": "12.34", "channel": "precreate"}, &orders[i])
		if err := ts.Sandbox.Pay(ts.AppID, orders[i].OutTradeNo); err != nil {
			t.Fatal(err)
		}
	}
	dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
	defer dcancel()
	if err := ts.Sandbox.DeliverDue(dctx); err != nil {
		t.Fatal(err)
	}
	// Refund a part of every other order, through the other instance.
	for i := 0; i < n; i += 2 {
		var r struct{ Status payment.RefundStatus }
		call(urls[(i+1)%2], http.MethodPost, "/v1/payments/"+orders[i].ID+"/refunds", map[string]any{"amount": "2.00"}, &r)
		if r.Status != payment.RefundSucceeded {
			t.Fatalf("refund of %s: %s", orders[i].ID, r.Status)
		}
	}
	if err := ts.Sandbox.DeliverDue(dctx); err != nil {
		t.Fatal(err)
	}

	for i, o := range orders {
		var got struct {
			Status         payment.Status
			RefundedAmount string `json:"refunded_amount"`
		}
		call(urls[i%2], http.MethodGet, "/v1/payments/"+o.ID, nil, &got)
		want, wantRefunded := payment.StatusPaid, "0.00"
		if i%2 == 0 {
			want, wantRefunded = payment.StatusPartiallyRefunded, "2.00"
		}
		if got.Status != want || got.RefundedAmount != wantRefunded {
			t.Errorf("order %d: %s, refunded %s; want %s, refunded %s", i, got.Status, got.RefundedAmount, want, wantRefunded)
		}
	}
	if lb.served[0].Load() == 0 || lb.served[1].Load() == 0 {
		t.Errorf("the balancer sent %d and %d notifies to the instances: want both used", lb.served[0].Load(), lb.served[1].Load())
	}

	// Every change makes one event: n paid, n/2 partially refunded. Wait
	// for them, then a little longer for any second delivery.
	wantTypes := map[string]int{string(payment.WebhookEventPaid): n, string(payment.WebhookEventPartiallyRefunded): n / 2}
	deadline := time.After(time.Minute)
	for {
		byType, _ := hooks.counts()
		if byType[string(payment.WebhookEventPaid)] == n && byType[string(payment.WebhookEventPartiallyRefunded)] == n/2 {
			break
		}
		select {
		case <-hooks.signal:
		case <-deadline:
			t.Fatalf("webhook events by type %v after a minute, want %v", byType, wantTypes)
		}
	}
	time.Sleep(time.Second)
	byType, most := hooks.counts()
	if len(byType) != len(wantTypes) || most != 1 {
		t.Errorf("webhook events by type %v, an event delivered up to %d times: want %v, each once", byType, most, wantTypes)
	}
	// The API lists an order's webhook events: serve gives it the webhooks.
	var listed struct {
		Data []struct{ Type payment.WebhookEventType }
	}
	call(urls[1], http.MethodGet, "/v1/payments/"+orders[0].ID+"/webhooks", nil, &listed)
	if len(listed.Data) != 2 || listed.Data[0].Type != payment.WebhookEventPaid || listed.Data[1].Type != payment.WebhookEventPartiallyRefunded {
		t.Errorf("GET /v1/payments/%s/webhooks: %+v, want a paid and a partially refunded event", orders[0].ID, listed.Data)
	}

	// With one session key, a login on one instance works on the other.
	login, _ := http.NewRequest(http.MethodPost, urls[0]+"/admin/login",
		bytes.NewReader([]byte(url.Values{"password": {"admin-password-of-both"}, "next": {"/admin/orders"}}.Encode())))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	login.Header.Set("Origin", urls[0])
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) == 0 {
		t.Fatalf("login on instance 0: %s, no session cookie", resp.Status)
	}
	page, _ := http.NewRequest(http.MethodGet, urls[1]+"/admin/orders/"+orders[0].ID, nil)
	for _, c := range resp.Cookies() {
		page.AddCookie(c)
	}
	resp, err = noRedirect.Do(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(orders[0].OutTradeNo)) {
		t.Errorf("instance 1 with instance 0's session: %s, want the order's page", resp.Status)
	}
}

// testLogWriter writes log lines to the test's log, with a prefix.
type testLogWriter struct {
	t      *testing.T
	prefix string
}

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// TestServeRefusesAMissingSchema checks the message for a DSN whose
// search_path names a schema that does not exist.
func TestServeRefusesAMissingSchema(t *testing.T) {
	t.Parallel()
	base := testpg.DSN(t)
	_, err := openDatabase(context.Background(), dsn(testpg.WithSearchPath(t, base, "zhifu_no_such_schema")))
	if err == nil || !strings.Contains(err.Error(), `the schema "zhifu_no_such_schema"`) || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Fatalf("openDatabase: %v, want a message naming the missing schema and how to make it", err)
	}
}
