package sandbox

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/internal/cputime"
)

// The sandbox's throughput beside the rate of the RSA signatures it cannot
// avoid. Every benchmark here runs in parallel (b.RunParallel), so that with
// -cpu=1,2 it reports the single-core and the all-core figure, and each
// reports signs/op: the RSA-2048 signatures one operation costs, counted
// below. BenchmarkRawRSASign measures the raw signature rate with the same
// key in the same run; the sign-bound rate of an operation is that rate
// divided by its signs/op. bench/sandbox.sh runs them and prints the table;
// docs/BENCHMARKS.md ("Sandbox") has the numbers.
//
// Everything runs in this process over loopback HTTP: the sandbox behind an
// httptest.Server, the merchant's SDK client, the buyer's "browser" and the
// merchant's notify endpoint. The client's signatures share the same CPUs,
// so they are either counted in signs/op (the sdk variants: the realistic
// figure) or made before the timer starts (the presigned variants: the
// sandbox's own cost). RSA verifications (about 25 µs each against 700 µs
// for a signature) are not counted: they, HTTP, JSON and the sandbox's own
// work are the overhead the ratio measures.

// benchParallelism is the client goroutines per GOMAXPROCS: enough to keep
// the CPUs busy while requests wait on loopback.
const benchParallelism = 4

// benchKeys returns the keys of every benchmark, made once per process:
// key generation takes longer than many benchmark rounds.
func benchKeys(*testing.B) (alipayKey, appKey *rsa.PrivateKey) { return TestKeys() }

// benchEnv is a sandbox with one app behind an httptest.Server, as
// NewTestServer makes it (notifies go out on the same loopback-only
// transport), the merchant (its SDK client and an httptest.Server taking
// notifies and returns) and a browser that does not follow redirects.
type benchEnv struct {
	b        *testing.B
	sb       *Sandbox
	srv      *httptest.Server
	client   *alipay.Client
	merchant *httptest.Server
	browser  *http.Client
	appKey   *rsa.PrivateKey
	seq      atomic.Int64
	waiting  sync.Map // out_trade_no -> chan struct{}, closed by the notify
}

// benchTransport is a keep-alive pool large enough for the client
// goroutines, as a merchant's server would configure it (the default keeps
// 2 idle connections per host, and the other goroutines would dial anew).
func benchTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	tr.MaxIdleConns = 256
	return tr
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	alipayKey, appKey := benchKeys(b)
	e := &benchEnv{b: b, appKey: appKey}
	sb, err := New(Config{
		AlipayPrivateKey: alipayKey,
		HTTPClient:       &http.Client{Transport: notifyTransport(loopbackTransport(), 0)},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sb.Stop() })
	if err := sb.AddApp(App{AppID: TestAppID, AppPublicKey: &appKey.PublicKey}); err != nil {
		b.Fatal(err)
	}
	e.sb = sb
	e.srv = httptest.NewServer(sb)
	b.Cleanup(e.srv.Close)

	privPEM, err := alipay.MarshalPrivateKeyPEM(appKey)
	if err != nil {
		b.Fatal(err)
	}
	pubPEM, err := alipay.MarshalPublicKeyPEM(&alipayKey.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	e.client, err = alipay.New(alipay.Config{
		AppID:           TestAppID,
		PrivateKey:      string(privPEM),
		AlipayPublicKey: string(pubPEM),
		Gateway:         e.srv.URL + "/gateway.do",
		HTTPClient:      &http.Client{Transport: benchTransport()},
	})
	if err != nil {
		b.Fatal(err)
	}
	e.browser = &http.Client{
		Transport:     benchTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	// The merchant verifies each notify with the SDK, acknowledges it and
	// wakes the buyer waiting for it; a return is verified and answered.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /notify", func(w http.ResponseWriter, r *http.Request) {
		n, err := e.client.ParseNotification(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, ackBody)
		if ch, ok := e.waiting.LoadAndDelete(n.OutTradeNo); ok {
			close(ch.(chan struct{}))
		}
	})
	mux.HandleFunc("GET /return", func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.client.ParseReturn(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "paid")
	})
	e.merchant = httptest.NewServer(mux)
	b.Cleanup(e.merchant.Close)
	return e
}

// outTradeNo returns a new order number.
func (e *benchEnv) outTradeNo() string {
	return fmt.Sprintf("BENCH_%d", e.seq.Add(1))
}

// expect registers a wait for the notify of outTradeNo.
func (e *benchEnv) expect(outTradeNo string) chan struct{} {
	ch := make(chan struct{})
	e.waiting.Store(outTradeNo, ch)
	return ch
}

// wait waits for the acknowledged notify of ch.
func (e *benchEnv) wait(ch chan struct{}, outTradeNo string) {
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		e.b.Errorf("no notify of %s in 30 s", outTradeNo)
	}
}

// signedForm returns a signed gateway request of method as a form body,
// what a client sends, made now: it stays valid for the 15 minutes of
// timestamp skew the gateway allows.
func (e *benchEnv) signedForm(method, biz string) string {
	p := url.Values{
		"app_id":      {TestAppID},
		"method":      {method},
		"charset":     {"utf-8"},
		"sign_type":   {"RSA2"},
		"timestamp":   {alipay.FormatTime(time.Now())},
		"version":     {"1.0"},
		"biz_content": {biz},
	}
	if method == "alipay.trade.precreate" {
		p.Set("notify_url", e.merchant.URL+"/notify")
	}
	sig, err := alipay.SignRequest(e.appKey, alipay.SignTypeRSA2, p)
	if err != nil {
		e.b.Fatal(err)
	}
	p.Set("sign", sig)
	return p.Encode()
}

// postGateway sends a form to the gateway and returns the body.
func (e *benchEnv) postGateway(form string) []byte {
	resp, err := e.browser.Post(e.srv.URL+"/gateway.do", "application/x-www-form-urlencoded;charset=utf-8", strings.NewReader(form))
	if err != nil {
		e.b.Error(err)
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.b.Error(err)
	}
	return body
}

// browse sends a browser request and returns the status and the Location.
func (e *benchEnv) browse(method, u string) (int, string) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		e.b.Error(err)
		return 0, ""
	}
	resp, err := e.browser.Do(req)
	if err != nil {
		e.b.Error(err)
		return 0, ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// presign makes n requests with make before the timer starts, on every CPU.
func presign(n int, sign func(i int) string) []string {
	out := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				out[i] = sign(i)
			}
		})
	}
	wg.Wait()
	return out
}

// BenchmarkRawRSASign is the baseline: RSASSA-PKCS1-v1_5 signatures with the
// sandbox's Alipay key over a precomputed SHA-256 digest, on every
// GOMAXPROCS at once.
func BenchmarkRawRSASign(b *testing.B) {
	key, _ := benchKeys(b)
	digest := sha256.Sum256([]byte("the string to sign of a trade.query response"))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCPU(b, cpu)
	b.ReportMetric(1, "signs/op")
}

// BenchmarkTradeQuery is alipay.trade.query of a paid trade.
//
//   - sdk: Client.TradeQuery: the SDK signs the request (1 sign), the
//     sandbox verifies it and signs the answer (1 sign), the SDK verifies
//     the answer and decodes it. 2 signs/op.
//   - presigned: one request signed before the timer, sent again and again
//     (the query moves nothing); the answer is read, not verified. 1
//     sign/op: the sandbox's cost alone.
func BenchmarkTradeQuery(b *testing.B) {
	b.Run("sdk", func(b *testing.B) {
		e := newBenchEnv(b)
		no := e.paidTrade()
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		cpu := cputime.Process()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := e.client.TradeQuery(context.Background(), alipay.TradeQueryRequest{OutTradeNo: no})
				if err != nil || resp.TradeStatus != alipay.TradeStatusSuccess {
					b.Errorf("trade.query: %v, %+v", err, resp)
					return
				}
			}
		})
		reportCPU(b, cpu)
		b.ReportMetric(2, "signs/op")
	})
	b.Run("presigned", func(b *testing.B) {
		e := newBenchEnv(b)
		no := e.paidTrade()
		form := e.signedForm("alipay.trade.query", `{"out_trade_no":"`+no+`"}`)
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		cpu := cputime.Process()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if body := e.postGateway(form); !strings.Contains(string(body), `"trade_status":"TRADE_SUCCESS"`) {
					b.Errorf("trade.query answered %s", body)
					return
				}
			}
		})
		reportCPU(b, cpu)
		b.ReportMetric(1, "signs/op")
	})
}

// paidTrade makes a paid precreate trade and returns its out_trade_no.
func (e *benchEnv) paidTrade() string {
	no := e.outTradeNo()
	if _, err := e.client.TradePrecreate(context.Background(), alipay.TradePrecreateRequest{
		OutTradeNo: no, TotalAmount: 1, Subject: "bench",
	}); err != nil {
		e.b.Fatal(err)
	}
	if err := e.sb.Pay(TestAppID, no); err != nil {
		e.b.Fatal(err)
	}
	return no
}

// BenchmarkCompletedPayment is a payment from the merchant's request to
// the merchant's acknowledgement of the notify: an operation ends when the
// merchant's notify endpoint has verified the notify and answered
// "success".
//
//   - precreate/sdk: Client.TradePrecreate (the SDK signs, the sandbox signs
//     the answer), the buyer's phone opens the QR code (GET /qr/{token})
//     and pays (POST /cashier/{token}/pay), the sandbox signs and delivers
//     the notify. 3 signs/op.
//   - precreate/presigned: the same with the precreate requests signed
//     before the timer. 2 signs/op.
//   - pagepay/sdk: Client.PagePayURL (the SDK signs), the browser opens it
//     (the gateway verifies, 303 to the cashier), opens the cashier, pays
//     (303 to return_url, signed by the sandbox) and follows the return
//     to the merchant, who verifies it; the sandbox signs and delivers the
//     notify. 3 signs/op.
//   - pagepay/presigned: the same with the page-pay URLs signed before the
//     timer. 2 signs/op.
func BenchmarkCompletedPayment(b *testing.B) {
	b.Run("precreate/sdk", func(b *testing.B) {
		e := newBenchEnv(b)
		e.run(b, 3, func(int) {
			no := e.outTradeNo()
			ch := e.expect(no)
			resp, err := e.client.TradePrecreate(context.Background(), alipay.TradePrecreateRequest{
				OutTradeNo: no, TotalAmount: 1, Subject: "bench", NotifyURL: e.merchant.URL + "/notify",
			})
			if err != nil {
				b.Error(err)
				return
			}
			e.scanAndPay(resp.QRCode, no, ch)
		})
	})
	b.Run("precreate/presigned", func(b *testing.B) {
		e := newBenchEnv(b)
		forms := presign(b.N, func(i int) string {
			return e.signedForm("alipay.trade.precreate", fmt.Sprintf(`{"out_trade_no":"PRE_%d","total_amount":"0.01","subject":"bench"}`, i))
		})
		e.run(b, 2, func(i int) {
			no := fmt.Sprintf("PRE_%d", i)
			ch := e.expect(no)
			body := e.postGateway(forms[i])
			_, rest, ok := strings.Cut(string(body), `"qr_code":"`)
			qr, _, _ := strings.Cut(rest, `"`)
			if !ok {
				b.Errorf("precreate answered %s", body)
				return
			}
			e.scanAndPay(strings.ReplaceAll(qr, `\/`, `/`), no, ch)
		})
	})
	pageReq := func(e *benchEnv, no string) alipay.TradePagePayRequest {
		return alipay.TradePagePayRequest{
			OutTradeNo: no, TotalAmount: 1, Subject: "bench",
			ReturnURL: e.merchant.URL + "/return", NotifyURL: e.merchant.URL + "/notify",
		}
	}
	b.Run("pagepay/sdk", func(b *testing.B) {
		e := newBenchEnv(b)
		e.run(b, 3, func(int) {
			no := e.outTradeNo()
			ch := e.expect(no)
			u, err := e.client.PagePayURL(pageReq(e, no))
			if err != nil {
				b.Error(err)
				return
			}
			e.pagePay(u, no, ch)
		})
	})
	b.Run("pagepay/presigned", func(b *testing.B) {
		e := newBenchEnv(b)
		urls := presign(b.N, func(i int) string {
			u, err := e.client.PagePayURL(pageReq(e, fmt.Sprintf("PAGE_%d", i)))
			if err != nil {
				b.Error(err)
			}
			return u
		})
		e.run(b, 2, func(i int) {
			no := fmt.Sprintf("PAGE_%d", i)
			e.pagePay(urls[i], no, e.expect(no))
		})
	})
}

// run runs op b.N times on the parallel goroutines, numbering them from 0.
func (e *benchEnv) run(b *testing.B, signs float64, op func(i int)) {
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	cpu := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op(int(next.Add(1)) - 1)
		}
	})
	b.StopTimer()
	reportCPU(b, cpu)
	b.ReportMetric(signs, "signs/op")
}

// reportCPU reports the process's CPU time per op since start
// (cputime.Process): unlike ns/op, it leaves out the time other processes on a
// shared machine take from the benchmark, and with ns/op it shows how busy
// the CPUs were.
func reportCPU(b *testing.B, start time.Duration) {
	if start == 0 {
		return
	}
	b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
}

// scanAndPay opens a precreate QR code and pays it, then waits for the
// notify.
func (e *benchEnv) scanAndPay(qr, no string, ch chan struct{}) {
	if status, _ := e.browse(http.MethodGet, qr); status != http.StatusOK {
		e.b.Errorf("scan of %s: HTTP %d", no, status)
		return
	}
	token := qr[strings.LastIndexByte(qr, '/')+1:]
	if status, _ := e.browse(http.MethodPost, e.srv.URL+"/cashier/"+token+"/pay"); status != http.StatusOK {
		e.b.Errorf("pay of %s: HTTP %d", no, status)
		return
	}
	e.wait(ch, no)
}

// pagePay takes the browser through a page payment, then waits for the
// notify.
func (e *benchEnv) pagePay(u, no string, ch chan struct{}) {
	status, cashier := e.browse(http.MethodGet, u)
	if status != http.StatusSeeOther {
		e.b.Errorf("page pay of %s: HTTP %d", no, status)
		return
	}
	if status, _ := e.browse(http.MethodGet, cashier); status != http.StatusOK {
		e.b.Errorf("cashier of %s: HTTP %d", no, status)
		return
	}
	status, ret := e.browse(http.MethodPost, cashier+"/pay")
	if status != http.StatusSeeOther {
		e.b.Errorf("cashier pay of %s: HTTP %d", no, status)
		return
	}
	if status, _ := e.browse(http.MethodGet, ret); status != http.StatusOK {
		e.b.Errorf("return of %s: HTTP %d", no, status)
		return
	}
	e.wait(ch, no)
}
