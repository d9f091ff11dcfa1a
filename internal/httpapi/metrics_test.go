package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"zhifu/internal/httpapi"
)

// TestRoundTripperLabels sends gateway-like requests through the
// transport to a local server and checks the labels: the method from the
// query or the form body, the result from the answer's code, and the
// body passed on unchanged.
func TestRoundTripperLabels(t *testing.T) {
	t.Parallel()
	answers := map[string]string{
		"alipay.trade.query":  `{"alipay_trade_query_response":{"code":"10000","msg":"Success"},"sign":"x"}`,
		"alipay.trade.close":  `{"alipay_trade_close_response":{"code":"40004","sub_code":"ACQ.TRADE_NOT_EXIST"},"sign":"x"}`,
		"alipay.trade.refund": `<html>busy</html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		m := r.Form.Get("method")
		if m == "alipay.trade.cancel" {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		io.WriteString(w, answers[m])
	}))
	defer srv.Close()
	m := httpapi.NewMetrics(httpapi.MetricsConfig{})
	client := &http.Client{Transport: m.RoundTripper(srv.Client().Transport)}
	send := func(query, form string) string {
		resp, err := client.Post(srv.URL+"/gateway.do?"+query, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := send("method=alipay.trade.query", "biz_content=%7B%7D"); got != answers["alipay.trade.query"] {
		t.Fatalf("the body changed on its way: %q", got)
	}
	send("", url.Values{"method": {"alipay.trade.close"}}.Encode())
	send("method=alipay.trade.refund", "")
	send("method=alipay.trade.cancel", "")
	send("method=DROP%20TABLE", "")
	bad := &http.Client{Transport: m.RoundTripper(http.DefaultTransport)}
	if _, err := bad.Post("http://127.0.0.1:1/gateway.do?method=alipay.trade.query", "text/plain", nil); err == nil {
		t.Fatal("a call to a closed port succeeded")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`zhifu_alipay_requests_total{method="alipay.trade.query",result="ok"} 1`,
		`zhifu_alipay_requests_total{method="alipay.trade.close",result="40004"} 1`,
		`zhifu_alipay_requests_total{method="alipay.trade.refund",result="unparsed"} 1`,
		`zhifu_alipay_requests_total{method="alipay.trade.cancel",result="http_error"} 1`,
		`zhifu_alipay_requests_total{method="other",result="unparsed"} 1`,
		`zhifu_alipay_requests_total{method="alipay.trade.query",result="transport_error"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no %s in\n%s", want, grepZhifu(body))
		}
	}
}

// TestNewRefusesBadConfig: New says what is missing.
func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, err := httpapi.New(httpapi.Config{MaxBodyBytes: 10})
	if err == nil {
		t.Fatal("New accepted an empty Config")
	}
	for _, want := range []string{"Service is required", "Store is required", "Keys is required", "Idempotency is required", "MaxBodyBytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
