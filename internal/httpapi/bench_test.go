package httpapi_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/internal/benchload"
	"zhifu/internal/cputime"
	"zhifu/internal/httpapi"
	"zhifu/payment"
	"zhifu/sandbox"
)

// Payment creation over the JSON API, as a merchant's backend does it,
// beside the raw RSA signature each creation cannot avoid. bench/api.sh
// runs them with a fixed count (-test.benchtime=Nx) and prints the table;
// docs/BENCHMARKS.md ("Payment creation over the JSON API") has the
// numbers.
//
//   - BenchmarkAPICreatePayment/{sqlite,postgres}: apiBenchClients
//     goroutines, each on a kept-alive loopback connection (opened before
//     the timer), POST /v1/payments with a real API key, a page payment
//     of "x.yz" yuan and an Idempotency-Key of its own each. Per request
//     the server authenticates the key, claims the idempotency key,
//     decodes and checks the body, creates the payment (the order stored
//     durably, the cashier URL signed with the app key), keeps the answer
//     under the idempotency key and writes it. After the timer every
//     answer is checked (201, pending, its pay_url signed with the app
//     key), every payment is in the store once with its created event, and
//     a retry of one request gets the same payment and creates nothing.
//   - BenchmarkAPIRawRSASign: rsa.SignPKCS1v15 with the same app key on a
//     precomputed digest, one goroutine per GOMAXPROCS.
//
// Both report cpu-ns/op, this process's CPU time per op (getrusage): the
// API, the Service, the HTTP clients and, for SQLite, the database engine;
// on PostgreSQL also db-cpu-ns/op, the local server's. The creation also
// reports B/op and allocs/op (the whole process's, clients included),
// counts that a neighbour's load does not move. ZHIFU_BENCH_PROFILE
// set to a directory writes a CPU profile of the timed part there.

// apiBenchClients is the number of concurrent API clients.
const apiBenchClients = 64

// apiBenchKeys returns the Alipay key and the app key of every benchmark
// of the process, made once.
func apiBenchKeys() (alipayKey, appKey *rsa.PrivateKey) { return sandbox.TestKeys() }

// apiBenchEnv is the API of `zhifu serve` on a store, behind an
// httptest.Server, with a sandbox as Alipay, and clients with one
// kept-alive connection each.
type apiBenchEnv struct {
	b      *testing.B
	store  apiStore
	srv    *httptest.Server
	client *http.Client
	secret string // the API key
}

// newAPIBenchEnv wires the API as internal/cli's serve does: a Service
// and the API sharing one store (its orders, API keys and idempotency
// keys) and one Metrics, logging at Info as JSON (into io.Discard: the
// formatting is counted, the writing is not).
func newAPIBenchEnv(b *testing.B, store apiStore) *apiBenchEnv {
	b.Helper()
	alipayKey, appKey := apiBenchKeys()
	ts := sandbox.NewTestServerKeys(b, sandbox.Config{}, alipayKey, appKey)
	app, _ := ts.Sandbox.App(ts.AppID)
	metrics := httpapi.NewMetrics(httpapi.MetricsConfig{})
	ali, err := alipay.New(alipay.Config{
		AppID: ts.AppID, PrivateKey: ts.AppPrivateKeyPEM, AlipayPublicKey: ts.AlipayPublicKeyPEM,
		Gateway: ts.GatewayURL, HTTPClient: &http.Client{Transport: metrics.RoundTripper(ts.Server.Client().Transport)},
	})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	e := &apiBenchEnv{b: b, store: store}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	b.Cleanup(e.srv.Close)
	svc, err := payment.New(payment.Config{
		Store: store, Alipay: ali, SellerID: app.SellerID, Logger: log,
		NotifyURL: e.srv.URL + "/alipay/notify", ReturnURL: e.srv.URL + "/alipay/return",
		Observer: metrics, OnChange: metrics.OnChange,
	})
	if err != nil {
		b.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{
		Service: svc, Store: store, Keys: store, Idempotency: store, Metrics: metrics, Logger: log,
	})
	if err != nil {
		b.Fatal(err)
	}
	mux.Handle("/alipay/notify", svc.NotifyHandler())
	mux.Handle("/", api)
	secret, k, err := payment.NewAPIKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := store.CreateAPIKey(context.Background(), &k); err != nil {
		b.Fatal(err)
	}
	e.secret = secret
	tr := &http.Transport{
		DialContext:         (&net.Dialer{}).DialContext,
		MaxIdleConnsPerHost: apiBenchClients,
		DisableCompression:  true,
	}
	e.client = &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	return e
}

// warm opens apiBenchClients connections: every client holds its answer
// until all have one, so that none reuses another's connection.
func (e *apiBenchEnv) warm() {
	e.b.Helper()
	var got sync.WaitGroup
	got.Add(apiBenchClients)
	errs := make(chan error, apiBenchClients)
	for range apiBenchClients {
		go func() {
			resp, err := e.client.Get(e.srv.URL + "/healthz")
			got.Done()
			got.Wait()
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for range apiBenchClients {
		if err := <-errs; err != nil {
			e.b.Fatal(err)
		}
	}
}

// apiBenchRequest is one POST /v1/payments and its answer.
type apiBenchRequest struct {
	idemKey string
	amount  string
	body    []byte
	status  int
	header  http.Header
	answer  []byte
}

// post sends r and keeps its answer; only a failure of HTTP is an error.
func (e *apiBenchEnv) post(r *apiBenchRequest) error {
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/payments", bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", r.idemKey)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	r.answer, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	r.status, r.header = resp.StatusCode, resp.Header
	return err
}

// BenchmarkAPICreatePayment measures payments created per second through
// POST /v1/payments by apiBenchClients concurrent clients.
func BenchmarkAPICreatePayment(b *testing.B) {
	for _, st := range stores() {
		b.Run(st.name, func(b *testing.B) {
			e := newAPIBenchEnv(b, st.open(b))
			reqs := make([]apiBenchRequest, b.N)
			run := rand.Text()[:8]
			for i := range reqs {
				r := &reqs[i]
				r.idemKey = fmt.Sprintf("bench-%s-%d", run, i)
				r.amount = alipay.Amount(100 + i%10000).String()
				r.body = fmt.Appendf(nil, `{"subject":"测试商品 %d","amount":%q,"channel":"page"}`, i, r.amount)
			}
			e.warm()
			b.ReportAllocs()
			runtime.GC()
			cpu0, db0 := cputime.Process(), cputime.Postgres()
			stopProfile, err := cputime.StartProfile("api-create-" + st.name)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			err = benchload.Parallel(b.N, apiBenchClients, func(i int) error { return e.post(&reqs[i]) })
			elapsed := time.Since(start)
			b.StopTimer()
			cpu, db := cputime.Process()-cpu0, cputime.Postgres()-db0
			if err := stopProfile(); err != nil {
				b.Error(err)
			}
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "payments/s")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
			if st.name == "postgres" && db > 0 {
				b.ReportMetric(float64(db.Nanoseconds())/float64(b.N), "db-cpu-ns/op")
			}
			e.checkCreated(reqs)
			e.checkRetry(&reqs[len(reqs)/2], len(reqs))
		})
	}
}

// checkCreated checks every answer: 201, a pending payment of the amount
// sent, its pay_url signed with the app key; and that each is in the
// store once, pending, with its one created event, and no other order.
func (e *apiBenchEnv) checkCreated(reqs []apiBenchRequest) {
	e.b.Helper()
	_, appKey := apiBenchKeys()
	objs := make([]httpapi.PaymentObject, len(reqs))
	ids := make(map[string]bool, len(reqs))
	outTradeNos := make(map[string]bool, len(reqs))
	for i := range reqs {
		r, p := &reqs[i], &objs[i]
		if r.status != http.StatusCreated {
			e.b.Fatalf("request %d: answered %d, want 201:\n%s", i, r.status, r.answer)
		}
		if err := json.Unmarshal(r.answer, p); err != nil {
			e.b.Fatalf("request %d: %v:\n%s", i, err, r.answer)
		}
		if p.Status != payment.StatusPending || p.Amount != r.amount || p.Channel != payment.ChannelPage || p.PayURL == "" {
			e.b.Fatalf("request %d: payment %s %s of %s, pay_url %q: want pending page of %s with a pay_url", i, p.ID, p.Status, p.Amount, p.PayURL, r.amount)
		}
		if ids[p.ID] || outTradeNos[p.OutTradeNo] {
			e.b.Fatalf("request %d: payment %s (out_trade_no %s) answered twice", i, p.ID, p.OutTradeNo)
		}
		ids[p.ID], outTradeNos[p.OutTradeNo] = true, true
	}
	ctx := context.Background()
	err := benchload.Parallel(len(objs), 8, func(i int) error {
		p := &objs[i]
		u, err := url.Parse(p.PayURL)
		if err != nil {
			return fmt.Errorf("payment %s: pay_url: %w", p.ID, err)
		}
		if err := alipay.VerifyRequest(&appKey.PublicKey, u.Query()); err != nil {
			return fmt.Errorf("payment %s: pay_url: %w", p.ID, err)
		}
		o, err := e.store.GetOrder(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("payment %s: %w", p.ID, err)
		}
		if o.OutTradeNo != p.OutTradeNo || o.Status != payment.StatusPending || o.Amount.String() != p.Amount {
			return fmt.Errorf("payment %s: stored %s %s %s, answered %s pending %s", p.ID, o.OutTradeNo, o.Status, o.Amount, p.OutTradeNo, p.Amount)
		}
		evs, err := e.store.ListEvents(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(evs) != 1 || evs[0].Kind != payment.EventCreated {
			return fmt.Errorf("payment %s: %d events, want 1 created", o.ID, len(evs))
		}
		return nil
	})
	if err != nil {
		e.b.Fatal(err)
	}
	if n := e.countOrders(); n != len(reqs) {
		e.b.Fatalf("the store holds %d orders after %d creations", n, len(reqs))
	}
}

// checkRetry sends r again, the same Idempotency-Key and body: the answer
// must be the first one, replayed, and no order created (the store still
// holds n).
func (e *apiBenchEnv) checkRetry(r *apiBenchRequest, n int) {
	e.b.Helper()
	first := append([]byte(nil), r.answer...)
	if err := e.post(r); err != nil {
		e.b.Fatal(err)
	}
	if r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(r.answer, first) {
		e.b.Fatalf("retry: answered %d (Idempotent-Replayed %q), want the first answer replayed:\n%s\nfirst:\n%s",
			r.status, r.header.Get("Idempotent-Replayed"), r.answer, first)
	}
	if got := e.countOrders(); got != n {
		e.b.Fatalf("the retry made the store hold %d orders, want %d", got, n)
	}
}

// countOrders returns how many orders the store holds.
func (e *apiBenchEnv) countOrders() int {
	e.b.Helper()
	f := payment.OrderFilter{Limit: payment.MaxPageSize}
	n := 0
	for {
		page, err := e.store.ListOrders(context.Background(), f)
		if err != nil {
			e.b.Fatal(err)
		}
		n += len(page.Orders)
		if page.Next == "" {
			return n
		}
		f.Cursor = page.Next
	}
}

// BenchmarkAPIRawRSASign is rsa.SignPKCS1v15 with the app key of
// BenchmarkAPICreatePayment, the RSA operation of every page payment's
// URL, on one goroutine per GOMAXPROCS.
func BenchmarkAPIRawRSASign(b *testing.B) {
	_, appKey := apiBenchKeys()
	digest := sha256.Sum256([]byte("app_id=2021000000000001&biz_content=bench"))
	benchload.RawRate(b, "signs/s", func() error {
		_, err := rsa.SignPKCS1v15(nil, appKey, crypto.SHA256, digest[:])
		return err
	})
}
