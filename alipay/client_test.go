package alipay

import (
	"strings"
	"testing"
)

func TestNewMistakes(t *testing.T) {
	t.Parallel()
	appPriv := string(readTestdata(t, "keys/app_private_pkcs8.pem"))
	appPub := string(readTestdata(t, "keys/app_public.pem"))
	alipayPub := string(readTestdata(t, "keys/alipay_public.raw.txt"))
	alipayPriv := string(readTestdata(t, "keys/alipay_private_pkcs1.pem"))
	appCert := string(readTestdata(t, "certs/appCertPublicKey_2021000000000001.crt"))
	alipayCert := string(readTestdata(t, "certs/alipayCertPublicKey_RSA2.crt"))
	rootCert := string(readTestdata(t, "certs/alipayRootCert.crt"))
	ok := Config{AppID: "2021000000000001", PrivateKey: appPriv, AlipayPublicKey: alipayPub}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	certMode := with(func(c *Config) {
		c.AlipayPublicKey = ""
		c.AppCert, c.AlipayCert, c.AlipayRootCert = appCert, alipayCert, rootCert
	})
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no app id", with(func(c *Config) { c.AppID = " " }), "Config.AppID is empty"},
		{"no private key", with(func(c *Config) { c.PrivateKey = "" }), "Config.PrivateKey is empty"},
		{"public key as private key", with(func(c *Config) { c.PrivateKey = appPub }), "Config.PrivateKey: this is a public key"},
		{"private key as Alipay key", with(func(c *Config) { c.AlipayPublicKey = alipayPriv }), "Config.AlipayPublicKey: this is a private key"},
		{"own public key as Alipay key", with(func(c *Config) { c.AlipayPublicKey = appPub }), "public key of your own app private key"},
		{"certificate as Alipay key", with(func(c *Config) { c.AlipayPublicKey = alipayCert }), "Config.AlipayPublicKey: this is a certificate"},
		{"certificate as private key", with(func(c *Config) { c.PrivateKey = appCert }), "Config.PrivateKey: this is a certificate"},
		{"truncated private key", with(func(c *Config) { c.PrivateKey = appPriv[:300] }), "Config.PrivateKey: the PEM text has a BEGIN line but no END line"},
		{"no Alipay key", with(func(c *Config) { c.AlipayPublicKey = "" }), "Config.AlipayPublicKey is empty"},
		{"both modes", with(func(c *Config) { c.AppCert = appCert }), "not both"},
		{"cert mode missing root", with(func(c *Config) {
			c.AlipayPublicKey = ""
			c.AppCert, c.AlipayCert = appCert, alipayCert
		}), "Config.AlipayRootCert is empty"},
		{"app cert of another key", with(func(c *Config) {
			*c = certMode
			c.AppCert = alipayCert
		}), "Config.AppCert does not match the app private key"},
		{"app cert as Alipay cert", with(func(c *Config) {
			*c = certMode
			c.AlipayCert = appCert
		}), "Config.AlipayCert holds your app's public key"},
		{"key as certificate", with(func(c *Config) {
			*c = certMode
			c.AppCert = appPub
		}), "Config.AppCert: this is a public key where a certificate belongs"},
		{"bad gateway", with(func(c *Config) { c.Gateway = "openapi.alipay.com" }), "Config.Gateway"},
		{"bad notify url", with(func(c *Config) { c.NotifyURL = "/notify" }), "Config.NotifyURL"},
		{"bad sign type", with(func(c *Config) { c.SignType = "MD5" }), "Config.SignType"},
		{"bad AES key", with(func(c *Config) { c.EncryptKey = "not-base64!" }), "Config.EncryptKey"},
	} {
		_, err := New(tc.cfg)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "alipay: alipay:") || strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: error %q repeats its prefix or quotes key material", tc.name, err)
		}
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("key mode: %v", err)
	}
	c, err := New(certMode)
	if err != nil {
		t.Fatalf("certificate mode: %v", err)
	}
	if !c.CertMode() || c.appCertSN != "f690cc3f88ecdd23af5cdcdae1e4091f" || c.alipayCertSN != "1f6eea578e7dc9555ec60965356f4506" ||
		c.rootCertSN != "a3a3911f1970526c7a903cb94c80a4bc_a16ee1d6c1d9b0148cab8a9f06427e5f" {
		t.Fatalf("cert SNs %q %q %q", c.appCertSN, c.alipayCertSN, c.rootCertSN)
	}
	gw, err := New(with(func(c *Config) { c.Gateway = "https://openapi.alipaydev.com/gateway.do?" }))
	if err != nil || gw.Gateway() != "https://openapi.alipaydev.com/gateway.do" {
		t.Fatalf("gateway with trailing ?: %v %q", err, gw.Gateway())
	}
}
