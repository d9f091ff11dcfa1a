package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"strings"
	"testing"

	"zhifu/alipay"
)

// newTestCA returns a CA, failing the test on error.
func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA(nil)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// pemCerts parses every certificate of a PEM bundle.
func pemCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return certs
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
}

func TestCARootBundle(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	roots := pemCerts(t, ca.RootBundle())
	if len(roots) != 3 {
		t.Fatalf("%d roots, want 3", len(roots))
	}
	wantAlg := []x509.SignatureAlgorithm{x509.ECDSAWithSHA384, x509.SHA256WithRSA, x509.SHA1WithRSA}
	var every []string
	for i, c := range roots {
		if c.SignatureAlgorithm != wantAlg[i] {
			t.Errorf("root %d signed with %v, want %v", i, c.SignatureAlgorithm, wantAlg[i])
		}
		sn, err := alipay.CertSN(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		every = append(every, sn)
	}
	// Only the RSA-signed roots count: the ECDSA root is left out.
	if want := every[1] + "_" + every[2]; ca.RootCertSN() != want {
		t.Errorf("root SN %s, want %s", ca.RootCertSN(), want)
	}
	if wrong := strings.Join(every, "_"); ca.RootCertSN() == wrong {
		t.Error("the ECDSA root counts in the root SN")
	}

	// Leaves chain to the SHA-256 RSA root through the Class 2 intermediate.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	appCert, err := ca.IssueAppCert("2021000000000009", &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pemCerts(t, appCert)[0]
	if leaf.Subject.CommonName != "2021000000000009" || !key.PublicKey.Equal(leaf.PublicKey) {
		t.Errorf("app cert: CN %q, key matches %v", leaf.Subject.CommonName, key.PublicKey.Equal(leaf.PublicKey))
	}
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	pool.AddCert(roots[1])
	inter.AddCert(pemCerts(t, ca.Intermediate())[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("app cert does not chain to the R1 root: %v", err)
	}
	if want := "CN=zhifu sandbox Certification Authority Class 2 R1,OU=Certification Authority,O=zhifu sandbox,C=CN"; leaf.Issuer.String() != want {
		t.Errorf("issuer %s, want %s", leaf.Issuer, want)
	}
	if _, err := ca.IssueAppCert("x", nil); err == nil {
		t.Error("issued a certificate for no key")
	}
}

// certModeServer returns a sandbox whose app runs in certificate mode with
// certificates of a new CA, behind an httptest server, the certificates
// and the app key.
func certModeServer(t *testing.T) (*Sandbox, *httptest.Server, Certificates, string) {
	t.Helper()
	ca := newTestCA(t)
	sb, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Stop() })
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ca.IssueCertificates(TestAppID, &appKey.PublicKey, sb.AlipayPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	app := App{AppID: TestAppID, AppPublicKey: &appKey.PublicKey}
	if err := certs.Apply(&app, sb.AlipayPublicKey()); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddApp(app); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	keyPEM, err := alipay.MarshalPrivateKeyPEM(appKey)
	if err != nil {
		t.Fatal(err)
	}
	return sb, srv, certs, string(keyPEM)
}

func TestCAClientInCertMode(t *testing.T) {
	t.Parallel()
	sb, srv, certs, key := certModeServer(t)
	client := func(root []byte) *alipay.Client {
		c, err := alipay.New(alipay.Config{
			AppID: TestAppID, PrivateKey: key, Gateway: srv.URL + "/gateway.do",
			AppCert: string(certs.AppCert), AlipayCert: string(certs.AlipayCert), AlipayRootCert: string(root),
			HTTPClient: srv.Client(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := client(certs.AlipayRootCert)
	pre, err := c.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: "CA_1", TotalAmount: 8800, Subject: "cert mode"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pre.QRCode, srv.URL+"/qr/") {
		t.Errorf("qr_code %q", pre.QRCode)
	}
	if err := sb.Pay(TestAppID, "CA_1"); err != nil {
		t.Fatal(err)
	}
	q, err := c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "CA_1"})
	if err != nil {
		t.Fatal(err)
	}
	if q.TradeStatus != alipay.TradeStatusSuccess || q.TotalAmount != 8800 {
		t.Errorf("query: %s %s", q.TradeStatus, q.TotalAmount)
	}

	// A client that loads only one of the RSA roots computes another root
	// SN, as one that gets the rule wrong would: the gateway refuses it.
	roots := pemCerts(t, certs.AlipayRootCert)
	one := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: roots[1].Raw})
	_, err = client(one).TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "CA_1"})
	if code, sub := subCode(t, err); code != "40002" || sub != "isv.invalid-alipay-root-cert-sn" {
		t.Errorf("wrong root SN: %s %s (%v)", code, sub, err)
	}
}

func TestCertificatesApplyChecksKeys(t *testing.T) {
	t.Parallel()
	sb, _, certs, _ := certModeServer(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	app := App{AppID: "2021000000000002", AppPublicKey: &other.PublicKey}
	if err := certs.Apply(&app, sb.AlipayPublicKey()); err == nil || !strings.Contains(err.Error(), "does not hold the public key") {
		t.Errorf("app cert of another key: %v", err)
	}
	mine, _ := sb.App(TestAppID)
	if err := certs.Apply(&mine, &other.PublicKey); err == nil || !strings.Contains(err.Error(), "Alipay certificate") {
		t.Errorf("Alipay cert of another key: %v", err)
	}
}
