package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiMaxSniff bounds the part of a gateway response read for its code.
const apiMaxSniff = 1 << 20

// RoundTripper returns a transport that measures the calls of Alipay's
// gateway made through next (http.DefaultTransport when nil): their
// latency and result by method. Put it in the HTTP client of the
// alipay.Client (alipay.Config.HTTPClient). The method is the "method"
// parameter of the request's query (where the alipay package puts it) or
// form body; a request without one is counted as method "other". The
// result is "ok" for gateway code 10000, the gateway code otherwise
// ("40004"), "http_error" for a status other than 200 and
// "transport_error" when no answer came. The response is passed on
// unchanged.
func (m *Metrics) RoundTripper(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &apiAlipayTransport{m: m, next: next}
}

// apiAlipayTransport is the transport RoundTripper returns.
type apiAlipayTransport struct {
	m    *Metrics
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *apiAlipayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := apiGatewayMethod(req)
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	d := time.Since(start)
	result := "transport_error"
	if err == nil {
		result = "http_error"
		if resp.StatusCode == http.StatusOK {
			var body []byte
			body, resp.Body = apiSniff(resp.Body)
			result = apiGatewayCode(body)
		}
	}
	t.m.alipayCalls.WithLabelValues(method, result).Inc()
	t.m.alipayDuration.WithLabelValues(method).Observe(d.Seconds())
	return resp, err
}

// apiGatewayMethod returns the Alipay method a gateway request calls.
func apiGatewayMethod(req *http.Request) string {
	method := req.URL.Query().Get("method")
	if method == "" && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(body, apiMaxSniff))
			body.Close()
			method = apiFormMethod(string(b))
		}
	}
	if method == "" || len(method) > 64 || !strings.HasPrefix(method, "alipay.") && !strings.HasPrefix(method, "zhima.") && !strings.HasPrefix(method, "koubei.") {
		return "other"
	}
	return method
}

// apiFormMethod returns the method parameter of a form body, or "".
func apiFormMethod(form string) string {
	for _, kv := range strings.Split(form, "&") {
		if v, ok := strings.CutPrefix(kv, "method="); ok {
			return v
		}
	}
	return ""
}

// apiSniff reads the start of a response body and returns it with a body
// that still yields all of it.
func apiSniff(body io.ReadCloser) ([]byte, io.ReadCloser) {
	b, _ := io.ReadAll(io.LimitReader(body, apiMaxSniff))
	return b, struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), body), body}
}

// apiGatewayCode returns the result label of a gateway response body:
// "ok" for code 10000, the code otherwise, "unparsed" when there is none.
func apiGatewayCode(body []byte) string {
	var nodes map[string]json.RawMessage
	if json.Unmarshal(body, &nodes) != nil {
		return "unparsed"
	}
	for name, raw := range nodes {
		if !strings.HasSuffix(name, "_response") {
			continue
		}
		var node struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(raw, &node) != nil || node.Code == "" {
			continue
		}
		if node.Code == "10000" {
			return "ok"
		}
		if len(node.Code) <= 8 {
			return node.Code
		}
	}
	return "unparsed"
}

// InstrumentClient returns a client like c (nil: a client with no timeout
// of its own, as the alipay package's default) whose transport is
// RoundTripper's: the client to give alipay.Config.HTTPClient.
func (m *Metrics) InstrumentClient(c *http.Client) *http.Client {
	var n http.Client
	if c != nil {
		n = *c
	}
	next := n.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	n.Transport = m.RoundTripper(next)
	return &n
}
