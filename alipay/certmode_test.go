package alipay

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func certModeClient(t *testing.T, gateway string) *Client {
	t.Helper()
	c, err := New(Config{
		AppID:          "2021000000000001",
		PrivateKey:     string(readTestdata(t, "keys/app_private_pkcs1.raw.txt")),
		AppCert:        string(readTestdata(t, "certs/appCertPublicKey_2021000000000001.crt")),
		AlipayCert:     string(readTestdata(t, "certs/alipayCertPublicKey_RSA2.crt")),
		AlipayRootCert: string(readTestdata(t, "certs/alipayRootCert.crt")),
		Gateway:        gateway,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertModeCall(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, func(string, map[string]any) string { return `{"code":"10000","msg":"Success"}` })
	g.certSN = "1f6eea578e7dc9555ec60965356f4506"
	c := certModeClient(t, g.url())
	if err := c.Do(context.Background(), &Request{Method: "alipay.trade.query", BizContent: `{"out_trade_no":"A"}`}, nil); err != nil {
		t.Fatal(err)
	}
	req := g.last()
	if req.Get("app_cert_sn") != "f690cc3f88ecdd23af5cdcdae1e4091f" ||
		req.Get("alipay_root_cert_sn") != "a3a3911f1970526c7a903cb94c80a4bc_a16ee1d6c1d9b0148cab8a9f06427e5f" {
		t.Fatalf("cert SNs sent: %v", req)
	}

	// Alipay rotated its certificate: the response names another SN.
	g.certSN = "00000000000000000000000000000000"
	err := c.Do(context.Background(), &Request{Method: "alipay.trade.query", BizContent: `{}`}, nil)
	if !IsUnknown(err) || !strings.Contains(err.Error(), "download Alipay's current public key certificate") {
		t.Fatalf("rotated cert: %v", err)
	}
	// A successful answer without alipay_cert_sn is not accepted in
	// certificate mode.
	g.certSN = ""
	if err := c.Do(context.Background(), &Request{Method: "alipay.trade.query", BizContent: `{}`}, nil); !IsUnknown(err) {
		t.Fatalf("no alipay_cert_sn: %v", err)
	}
}

// TestCertModeResponseVector verifies the vector's cert-mode response with the
// key taken from the Alipay certificate.
func TestCertModeResponseVector(t *testing.T) {
	t.Parallel()
	var file struct{ Cases []responseCase }
	loadVectors(t, "response_verification.json", &file)
	c := certModeClient(t, GatewaySandbox)
	for _, tc := range file.Cases {
		if tc.Name != "query_success_cert_mode" {
			continue
		}
		var out struct {
			TradeStatus TradeStatus `json:"trade_status"`
		}
		if err := c.decodeResponse(tc.Method, []byte(tc.ResponseBody), &out); err != nil {
			t.Fatal(err)
		}
		if out.TradeStatus != TradeStatusSuccess {
			t.Fatalf("%+v", out)
		}
		tampered := strings.Replace(tc.ResponseBody, `"total_amount":"0.01"`, `"total_amount":"9.99"`, 1)
		if err := c.decodeResponse(tc.Method, []byte(tampered), nil); !errors.Is(err, ErrSignature) {
			t.Fatalf("tampered: %v", err)
		}
		return
	}
	t.Fatal("no cert-mode vector")
}
