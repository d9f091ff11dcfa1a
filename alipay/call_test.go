package alipay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDoSuccess(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, func(method string, biz map[string]any) string {
		if method != "alipay.trade.query" || biz["out_trade_no"] != "ORDER_1" {
			t.Errorf("got %s %v", method, biz)
		}
		return `{"code":"10000","msg":"Success","out_trade_no":"ORDER_1","total_amount":"12.34","trade_status":"TRADE_SUCCESS","qr_code":"https:\/\/qr.alipay.com\/x"}`
	})
	var out struct {
		OutTradeNo  string      `json:"out_trade_no"`
		TotalAmount Amount      `json:"total_amount"`
		TradeStatus TradeStatus `json:"trade_status"`
		QRCode      string      `json:"qr_code"`
	}
	err := g.client().Do(context.Background(), &Request{
		Method:       "alipay.trade.query",
		BizContent:   map[string]string{"out_trade_no": "ORDER_1"},
		AppAuthToken: "token",
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.TotalAmount != 1234 || out.TradeStatus != TradeStatusSuccess || out.QRCode != "https://qr.alipay.com/x" {
		t.Fatalf("%+v", out)
	}
	req := g.last()
	if req.Get("timestamp") != "2024-05-20 12:34:56" || req.Get("app_auth_token") != "token" || req.Get("sign_type") != "RSA2" {
		t.Fatalf("request %v", req)
	}
}

func TestDoFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		check   func(error) bool
	}{
		{"business failure", nil, func(err error) bool {
			var e *Error
			return errors.As(err, &e) && e.Signed && e.Code == "40004" && IsTradeNotExist(err) && !IsUnknown(err)
		}},
		{"unsigned gateway error", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-method","sub_msg":"不存在的方法名"}}`))
		}, func(err error) bool {
			var e *Error
			return errors.As(err, &e) && !e.Signed && errors.Is(err, SubCodeInvalidMethod)
		}},
		{"unsigned business failure", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"alipay_trade_query_response":{"code":"40004","sub_code":"ACQ.TRADE_NOT_EXIST"}}`))
		}, func(err error) bool { return errors.Is(err, ErrSignature) && IsUnknown(err) && !IsTradeNotExist(err) }},
		{"forged success", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"alipay_trade_query_response":{"code":"10000","trade_status":"TRADE_SUCCESS"},"sign":"` + strings.Repeat("A", 344) + `"}`))
		}, func(err error) bool { return errors.Is(err, ErrSignature) && IsUnknown(err) }},
		{"system error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusBadGateway)
		}, func(err error) bool { return IsUnknown(err) && strings.Contains(err.Error(), "502") }},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<html>maintenance</html>`))
		}, func(err error) bool { return errors.Is(err, ErrResponse) && IsUnknown(err) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, func(string, map[string]any) string {
				return `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}`
			})
			c := g.client()
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				c.gateway = srv.URL
			}
			err := c.Do(context.Background(), &Request{Method: "alipay.trade.query", BizContent: `{"out_trade_no":"X"}`}, nil)
			if err == nil || !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
			if !strings.HasPrefix(err.Error(), "alipay: ") {
				t.Fatalf("error %q lacks the prefix", err)
			}
		})
	}
}

func TestDoTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	g := newTestGateway(t, nil)
	c := g.client()
	c.gateway = srv.URL
	c.timeout = 50 * time.Millisecond
	err := c.Do(context.Background(), &Request{Method: "alipay.trade.refund", BizContent: `{}`}, nil)
	if !IsUnknown(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Do(ctx, &Request{Method: "alipay.trade.query"}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestDoBadRequest(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, func(string, map[string]any) string { t.Error("request sent"); return "" })
	c := g.client()
	for _, req := range []*Request{
		{Method: ""},
		{Method: "alipay.trade.query&x=1"},
		{Method: "alipay.trade.query", BizContent: func() {}},
		{Method: "alipay.trade.query", Params: map[string]string{"app_id": "other"}},
		{Method: "alipay.trade.query", Params: map[string]string{"sign": "x"}},
		{Method: "alipay.trade.query", NotifyURL: "ftp://x"},
		{Method: "alipay.trade.query", Encrypt: true},
	} {
		err := c.Do(context.Background(), req, nil)
		if err == nil || IsUnknown(err) {
			t.Errorf("%+v: err = %v", req, err)
		}
	}
}
