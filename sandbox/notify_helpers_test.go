package sandbox

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
)

// received is one request the merchant's notify endpoint got.
type received struct {
	form        url.Values
	contentType string
	raw         string
}

// receiver is a merchant's notify endpoint: it records what it gets and
// answers as answer says (by the 0-based index of the request).
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	URL     string
	arrived chan received // every request, as it arrives

	mu     sync.Mutex
	got    []received
	answer func(i int, w http.ResponseWriter, r *http.Request)
}

// ack answers every notify as a correct merchant does.
func ack(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "success") }

func newReceiver(t *testing.T, answer func(i int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{t: t, answer: answer, arrived: make(chan received, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			t.Errorf("notify body is not a form: %v: %q", err, b)
		}
		got := received{form: form, contentType: r.Header.Get("Content-Type"), raw: string(b)}
		rc.mu.Lock()
		i := len(rc.got)
		rc.got = append(rc.got, got)
		answer := rc.answer
		rc.mu.Unlock()
		rc.arrived <- got
		r.Body = io.NopCloser(bytes.NewReader(b)) // for an answer that reads the notify itself
		answer(i, w, r)
	}))
	t.Cleanup(rc.srv.Close)
	rc.URL = rc.srv.URL + "/alipay/notify"
	return rc
}

// received returns what the endpoint got so far.
func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// notifyEnv is a test server on a stopped clock (only Advance moves it)
// and a merchant's notify endpoint.
type notifyEnv struct {
	*env
	sb    *Sandbox
	rc    *receiver
	start time.Time
}

// newNotifyEnv starts a sandbox of cfg whose clock stands still at the
// wall time of the call, and a notify endpoint answering with answer.
func newNotifyEnv(t *testing.T, cfg Config, answer func(i int, w http.ResponseWriter, r *http.Request)) *notifyEnv {
	t.Helper()
	start := time.Now().Truncate(time.Second)
	cfg.Now = func() time.Time { return start }
	ts := newTestServer(t, cfg)
	key, err := alipay.ParsePrivateKey(ts.AppPrivateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ts: ts, client: ts.Client(), appKey: key}
	return &notifyEnv{env: e, sb: ts.Sandbox, rc: newReceiver(t, answer), start: start}
}

// deliver waits for every delivery due to be made and recorded.
func (e *notifyEnv) deliver() {
	e.t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.sb.DeliverDue(c); err != nil {
		e.t.Fatalf("DeliverDue: %v", err)
	}
}

// pay makes a face-to-face trade paid at once, whose notifies go to the
// receiver.
func (e *notifyEnv) pay(outTradeNo string, amount alipay.Amount) {
	e.t.Helper()
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: outTradeNo, AuthCode: AuthCodeSuccess,
		TotalAmount: amount, Subject: "notify test", NotifyURL: e.rc.URL}); err != nil {
		e.t.Fatal(err)
	}
}

// refund refunds amount of outTradeNo under outRequestNo.
func (e *notifyEnv) refund(outTradeNo, outRequestNo string, amount alipay.Amount) {
	e.t.Helper()
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: outTradeNo, RefundAmount: amount,
		OutRequestNo: outRequestNo}); err != nil {
		e.t.Fatal(err)
	}
}

// verify checks a received notify as the merchant's SDK does.
func (e *notifyEnv) verify(r received) *alipay.Notification {
	e.t.Helper()
	n, err := e.client.VerifyNotification(r.form)
	if err != nil {
		e.t.Fatalf("VerifyNotification: %v\n%s", err, r.raw)
	}
	return n
}

// attempts returns the recorded deliveries of outTradeNo.
func (e *notifyEnv) attempts(outTradeNo string) []NotifyAttempt {
	return e.sb.NotifyAttempts(TestAppID, outTradeNo)
}
