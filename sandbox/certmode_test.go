package sandbox

import (
	"crypto/rsa"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// certEnv is a sandbox whose app runs in certificate mode with the SDK's
// test certificates (alipay/testdata/certs, test keys only).
func certEnv(t *testing.T) (*Sandbox, *alipay.Client, string) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile("../alipay/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	appCert, err := alipay.ParseCertificate(read("certs/appCertPublicKey_2021000000000001.crt"))
	if err != nil {
		t.Fatal(err)
	}
	alipayKey, err := alipay.ParsePrivateKey(read("keys/alipay_private_pkcs8.pem"))
	if err != nil {
		t.Fatal(err)
	}
	appSN, _ := alipay.CertSN(appCert.Raw)
	alipaySN, _ := alipay.CertSN([]byte(read("certs/alipayCertPublicKey_RSA2.crt")))
	rootSN, err := alipay.RootCertSN([]byte(read("certs/alipayRootCert.crt")))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := New(Config{AlipayPrivateKey: alipayKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Stop() })
	if err := sb.AddApp(App{AppID: TestAppID, AppPublicKey: appCert.PublicKey.(*rsa.PublicKey),
		AppCertSN: appSN, AlipayRootCertSN: rootSN, AlipayCertSN: alipaySN}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := alipay.New(alipay.Config{
		AppID: TestAppID, PrivateKey: read("keys/app_private_pkcs8.pem"), Gateway: srv.URL + "/gateway.do",
		AppCert: read("certs/appCertPublicKey_2021000000000001.crt"), AlipayCert: read("certs/alipayCertPublicKey_RSA2.crt"),
		AlipayRootCert: read("certs/alipayRootCert.crt"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb, c, srv.URL + "/gateway.do"
}

func TestCertMode(t *testing.T) {
	t.Parallel()
	sb, c, _ := certEnv(t)
	// The client requires alipay_cert_sn on a success and checks it.
	if _, err := c.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "CM_1", TotalAmount: 1, Subject: "x", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := sb.Trade(TestAppID, "CM_1"); !ok {
		t.Fatal("no trade")
	}
}

func TestCertModeSNChecks(t *testing.T) {
	t.Parallel()
	sb, _, _ := certEnv(t)
	appKeyText, err := os.ReadFile("../alipay/testdata/keys/app_private_pkcs8.pem")
	if err != nil {
		t.Fatal(err)
	}
	appKey, err := alipay.ParsePrivateKey(string(appKeyText))
	if err != nil {
		t.Fatal(err)
	}
	app, _ := sb.App(TestAppID)
	for _, tc := range []struct {
		name, appSN, rootSN string
		code, sub           string
	}{
		{"no app_cert_sn", "", app.AlipayRootCertSN, "40001", "isv.missing-app-cert-sn"},
		{"wrong app_cert_sn", "0123456789abcdef0123456789abcdef", app.AlipayRootCertSN, "40002", "isv.app-cert-not-exist"},
		{"no root SN", app.AppCertSN, "", "40001", "isv.missing-alipay-root-cert-sn"},
		{"wrong root SN", app.AppCertSN, "687b59193f3f462dd5336e5abf83c5d8", "40002", "isv.invalid-alipay-root-cert-sn"},
		{"right", app.AppCertSN, app.AlipayRootCertSN, "40004", "ACQ.TRADE_NOT_EXIST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := url.Values{
				"app_id": {TestAppID}, "method": {"alipay.trade.query"}, "charset": {"utf-8"}, "sign_type": {"RSA2"},
				"timestamp": {alipay.FormatTime(time.Now())}, "version": {"1.0"}, "biz_content": {queryBiz},
				"app_cert_sn": {tc.appSN}, "alipay_root_cert_sn": {tc.rootSN},
			}
			sig, err := alipay.SignRequest(appKey, alipay.SignTypeRSA2, p)
			if err != nil {
				t.Fatal(err)
			}
			p.Set("sign", sig)
			req := httptest.NewRequest("POST", "/gateway.do", strings.NewReader(p.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, req)
			raw, err := alipay.VerifyResponse(sb.AlipayPublicKey(), alipay.SignTypeRSA2, rec.Body.Bytes(), "alipay.trade.query")
			if err != nil || raw.Sign == "" || raw.AlipayCertSN != app.AlipayCertSN {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			var node struct {
				Code    string `json:"code"`
				SubCode string `json:"sub_code"`
			}
			if err := json.Unmarshal(raw.Node, &node); err != nil || node.Code != tc.code || node.SubCode != tc.sub {
				t.Errorf("%v %+v, want %s %s", err, node, tc.code, tc.sub)
			}
		})
	}
}
