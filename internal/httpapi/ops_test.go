package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"zhifu/internal/httpapi"
	"zhifu/payment"
	"zhifu/sandbox"
)

// TestHealthAndReady: /healthz answers while the process runs; /readyz
// while the store answers, and 503 not_ready once it is closed. Neither
// wants a key.
func TestHealthAndReady(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		h := map[string]string{"Authorization": ""}
		e.want(e.do(req{method: "GET", path: "/healthz", headers: h}), 200, "")
		e.want(e.do(req{method: "GET", path: "/readyz", headers: h}), 200, "")
		e.store.Close()
		e.want(e.do(req{method: "GET", path: "/readyz", headers: h}), 503, "not_ready")
		e.want(e.do(req{method: "GET", path: "/healthz", headers: h}), 200, "")
	})
}

// TestMetrics runs a payment through its life and reads /metrics: the
// created payment, its state changes, the notify, the Alipay calls and
// the requests are counted.
func TestMetrics(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		p := e.create(`{"subject":"s","amount":"2.00","channel":"precreate"}`)
		e.pay(p.str("out_trade_no"))
		e.want(e.do(req{method: "POST", path: "/v1/payments/" + p.str("id") + "/refunds", body: `{"amount":"2.00"}`}), 201, "")
		// A forged notify.
		resp, err := e.client.Post(e.srv.URL+"/alipay/notify", "application/x-www-form-urlencoded",
			strings.NewReader("out_trade_no="+p.str("out_trade_no")+"&trade_status=TRADE_SUCCESS&sign=AAAA&sign_type=RSA2"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		e.metrics.WebhookDelivered("delivered")
		body := e.scrape()
		for _, want := range []string{
			`zhifu_payments_created_total{channel="precreate"} 1`,
			`zhifu_payment_state_changes_total{effect="transitioned",status="paid"} 1`,
			`zhifu_payment_state_changes_total{effect="transitioned",status="refunded"} 1`,
			`zhifu_notifies_total{result="rejected_signature"} 1`,
			`zhifu_alipay_requests_total{method="alipay.trade.precreate",result="ok"} 1`,
			`zhifu_alipay_requests_total{method="alipay.trade.refund",result="ok"} 1`,
			`zhifu_alipay_request_duration_seconds_count{method="alipay.trade.precreate"} 1`,
			`zhifu_webhook_deliveries_total{result="delivered"} 1`,
			`zhifu_job_queue_depth{state="available"} 3`,
			`zhifu_http_requests_total{code="201",route="POST /v1/payments"} 1`,
		} {
			if !strings.Contains(body, want+"\n") {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// The store's transactions: at least the creation's, the payment's
		// and the refund's.
		if n := metricValue(body, "zhifu_store_transactions_total"); n < 3 {
			t.Errorf("zhifu_store_transactions_total = %v, want 3 or more", n)
		}
		// The payment's notify, and perhaps already the refund's.
		if !strings.Contains(body, `zhifu_notifies_total{result="applied"} `) {
			t.Error("/metrics counts no applied notify")
		}
		if t.Failed() {
			t.Logf("/metrics:\n%s", grepZhifu(body))
		}
	})
}

// metricValue returns the value of the metric without labels name in the
// text of /metrics, or -1.
func metricValue(body, name string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// scrape returns the text of /metrics.
func (e *env) scrape() string {
	e.t.Helper()
	resp, err := e.client.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("/metrics: %s", resp.Status)
	}
	return string(b)
}

// grepZhifu returns the lines of zhifu's own metrics.
func grepZhifu(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "zhifu_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAlipayFailures: Alipay failing is answered 502 with a code, and a
// precreate payment stored before the failure is named in the error and
// prepared again by GET.
func TestAlipayFailures(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		if _, err := e.sb.SetFault(sandbox.Fault{AppID: e.ts.AppID, Method: "alipay.trade.precreate", Kind: sandbox.FaultSystemError, Count: 1}); err != nil {
			t.Fatal(err)
		}
		a := e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"1.00","channel":"precreate"}`, idemKey: "flaky"})
		e.want(a, http.StatusBadGateway, "alipay_outcome_unknown")
		id, _ := a.json["error"].(map[string]any)["payment_id"].(string)
		if id == "" {
			t.Fatalf("the error does not name the stored payment: %s", a.raw)
		}
		// The retry with the same key gets the same answer, and nothing
		// more is created; GET prepares the QR code again.
		e.want(e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"1.00","channel":"precreate"}`, idemKey: "flaky"}), http.StatusBadGateway, "alipay_outcome_unknown")
		if n := e.countOrders(); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
		got := e.do(req{method: "GET", path: "/v1/payments/" + id})
		if got.str("qr_code") == "" {
			t.Fatalf("GET did not prepare the payment again: %s", got.raw)
		}
		if !strings.Contains(e.scrape(), `zhifu_alipay_requests_total{method="alipay.trade.precreate",result="40004"} 1`) {
			t.Error("the failed call is not counted by its code")
		}
	})
}

// TestTimeout: a request whose Alipay call hangs past the API's timeout
// is answered 503 timeout, not left hanging.
func TestTimeout(t *testing.T) {
	t.Parallel()
	for _, st := range stores()[:1] {
		e := newEnv(t, st.open(t), func(c *httpapi.Config) { c.Timeout = time.Second })
		if _, err := e.sb.SetFault(sandbox.Fault{AppID: e.ts.AppID, Method: "alipay.trade.precreate", Kind: sandbox.FaultHang, Delay: 5 * time.Second, Count: 1}); err != nil {
			t.Fatal(err)
		}
		a := e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"1.00","channel":"precreate"}`})
		e.want(a, http.StatusServiceUnavailable, "timeout")
		o, err := e.store.ListOrders(context.Background(), payment.OrderFilter{})
		if err != nil || len(o.Orders) != 1 || o.Orders[0].Status != payment.StatusPending {
			t.Fatalf("orders %v, %v: want the one stored, pending", o.Orders, err)
		}
	}
}
