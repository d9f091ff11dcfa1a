package alipay

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Gateways of Alipay's open platform (method alipay.*, "OpenAPI 2.0").
const (
	// GatewayProduction is the live gateway.
	GatewayProduction = "https://openapi.alipay.com/gateway.do"
	// GatewaySandbox is Alipay's online sandbox (the current one, since 2023;
	// the older openapi.alipaydev.com is retired).
	GatewaySandbox = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
)

// DefaultTimeout bounds one API call when the context has no earlier deadline.
const DefaultTimeout = 15 * time.Second

// Config configures a Client. Key material is the text of the key or
// certificate file (PEM) or the bare base64 that Alipay's console and key tool
// print; read files with os.ReadFile and pass string(b).
//
// Choose key mode (AlipayPublicKey) or certificate mode (AppCert,
// AlipayCert and AlipayRootCert), not both.
type Config struct {
	// AppID is the app's id on the open platform (required).
	AppID string

	// PrivateKey is the app private key: PEM PKCS#1 or PKCS#8, or bare
	// base64 of either. Required unless Signer is set.
	PrivateKey string
	// Signer signs instead of PrivateKey, for a key that lives in a KMS or
	// an HSM. It must hold an RSA key of at least 2048 bits.
	Signer crypto.Signer

	// AlipayPublicKey is Alipay's public key (not the app's own), PEM or bare
	// base64. Key mode only.
	AlipayPublicKey string

	// AppCert is the app public key certificate
	// (appCertPublicKey_<app id>.crt). Certificate mode.
	AppCert string
	// AlipayCert is Alipay's public key certificate
	// (alipayCertPublicKey_RSA2.crt). Certificate mode.
	AlipayCert string
	// AlipayRootCert is Alipay's root certificate bundle
	// (alipayRootCert.crt). Certificate mode.
	AlipayRootCert string

	// Gateway is the gateway URL. Default: GatewayProduction. Use
	// GatewaySandbox for Alipay's sandbox, or the URL of a zhifu sandbox.
	Gateway string
	// NotifyURL is the default notify_url of payment requests; a request's
	// own NotifyURL wins. Optional.
	NotifyURL string
	// EncryptKey is the AES key (base64, from the console) for requests with
	// content encryption. Optional.
	EncryptKey string
	// SignType is the signature algorithm of requests. Default: RSA2, the
	// only one Alipay accepts for new apps.
	SignType SignType

	// HTTPClient sends API calls. Default: a client with no timeout of its
	// own; every call is bounded by Timeout.
	HTTPClient *http.Client
	// Timeout bounds one API call when the context has no earlier deadline.
	// Default: DefaultTimeout.
	Timeout time.Duration
	// Now is the clock used for the timestamp parameter. Default: time.Now.
	Now func() time.Time
}

// Client calls the Alipay open platform for one app. It is safe for
// concurrent use.
type Client struct {
	appID     string
	signer    crypto.Signer
	signType  SignType
	alipayKey *rsa.PublicKey
	gateway   string // without query
	notifyURL string
	aesKey    []byte
	http      *http.Client
	timeout   time.Duration
	now       func() time.Time

	// certificate mode only
	appCertSN    string
	rootCertSN   string
	alipayCertSN string
}

// New checks cfg and returns a Client. Its errors name the field and the
// mistake: a public key where the private key belongs (and the reverse), the
// app's own public key where Alipay's belongs, a certificate where a key
// belongs, truncated or non-base64 text, a key shorter than 2048 bits, a
// certificate that does not match the private key. They never quote key
// material.
func New(cfg Config) (*Client, error) {
	c := &Client{
		appID:     strings.TrimSpace(cfg.AppID),
		signType:  cfg.SignType,
		gateway:   cfg.Gateway,
		notifyURL: cfg.NotifyURL,
		http:      cfg.HTTPClient,
		timeout:   cfg.Timeout,
		now:       cfg.Now,
	}
	if c.appID == "" {
		return nil, errors.New("alipay: Config.AppID is empty; copy the app id from the open platform console")
	}
	if len(c.appID) > 32 {
		return nil, fmt.Errorf("alipay: Config.AppID is %d characters long; Alipay app ids have at most 32", len(c.appID))
	}
	if c.signType == "" {
		c.signType = SignTypeRSA2
	}
	if _, err := c.signType.hash(); err != nil {
		return nil, fmt.Errorf("alipay: Config.SignType: %w", err)
	}
	if c.gateway == "" {
		c.gateway = GatewayProduction
	}
	if err := c.checkGateway(); err != nil {
		return nil, err
	}
	if c.notifyURL != "" {
		if err := checkCallbackURL("Config.NotifyURL", c.notifyURL); err != nil {
			return nil, err
		}
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	appPub, err := c.loadSigner(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.loadAlipayKey(cfg, appPub); err != nil {
		return nil, err
	}
	if cfg.EncryptKey != "" {
		if c.aesKey, err = ParseAESKey(cfg.EncryptKey); err != nil {
			return nil, fmt.Errorf("alipay: Config.EncryptKey: %w", err)
		}
	}
	return c, nil
}

func (c *Client) checkGateway() error {
	u, err := url.Parse(c.gateway)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("alipay: Config.Gateway %q is not an http(s) URL; use alipay.GatewayProduction, alipay.GatewaySandbox or your sandbox's URL", c.gateway)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		// The Python SDK's examples end the gateway with "?"; be forgiving.
		u.RawQuery, u.Fragment, u.ForceQuery = "", "", false
	}
	c.gateway = strings.TrimSuffix(u.String(), "?")
	return nil
}

// checkCallbackURL checks a notify_url or return_url: Alipay takes http(s)
// URLs of at most 256 characters.
func checkCallbackURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("alipay: %s %q is not an absolute http(s) URL", field, s)
	}
	if len(s) > 256 {
		return fmt.Errorf("alipay: %s is %d characters long; Alipay accepts at most 256", field, len(s))
	}
	return nil
}

// loadSigner sets the request signer and returns the app public key.
func (c *Client) loadSigner(cfg Config) (*rsa.PublicKey, error) {
	switch {
	case cfg.Signer != nil && cfg.PrivateKey != "":
		return nil, errors.New("alipay: set Config.PrivateKey or Config.Signer, not both")
	case cfg.Signer != nil:
		pub, ok := cfg.Signer.Public().(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("alipay: Config.Signer holds a %T key; Alipay needs RSA", cfg.Signer.Public())
		}
		if err := checkKeySize(pub.N.BitLen()); err != nil {
			return nil, fmt.Errorf("alipay: Config.Signer: %w", err)
		}
		c.signer = cfg.Signer
		return pub, nil
	case cfg.PrivateKey == "":
		return nil, errors.New("alipay: Config.PrivateKey is empty; it is the app private key you generated (app_private_key.pem)")
	}
	priv, err := ParsePrivateKey(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("alipay: Config.PrivateKey: %w", trimPrefix(err))
	}
	c.signer = priv
	return &priv.PublicKey, nil
}

// loadAlipayKey sets Alipay's public key, from AlipayPublicKey or from the
// certificates, and in certificate mode the serial numbers.
func (c *Client) loadAlipayKey(cfg Config, appPub *rsa.PublicKey) error {
	certMode := cfg.AppCert != "" || cfg.AlipayCert != "" || cfg.AlipayRootCert != ""
	if certMode && cfg.AlipayPublicKey != "" {
		return errors.New("alipay: set Config.AlipayPublicKey (key mode) or the three certificates (certificate mode), not both")
	}
	if !certMode {
		if cfg.AlipayPublicKey == "" {
			return errors.New("alipay: Config.AlipayPublicKey is empty; copy the Alipay public key (支付宝公钥) from the console, or configure certificate mode")
		}
		pub, err := ParsePublicKey(cfg.AlipayPublicKey)
		if err != nil {
			return fmt.Errorf("alipay: Config.AlipayPublicKey: %w", trimPrefix(err))
		}
		if samePublicKey(pub, appPub) {
			return errors.New("alipay: Config.AlipayPublicKey is the public key of your own app private key; it must be Alipay's public key (支付宝公钥), shown in the console next to the app public key you uploaded")
		}
		c.alipayKey = pub
		return nil
	}
	for _, f := range []struct{ name, val string }{
		{"AppCert", cfg.AppCert}, {"AlipayCert", cfg.AlipayCert}, {"AlipayRootCert", cfg.AlipayRootCert},
	} {
		if f.val == "" {
			return fmt.Errorf("alipay: certificate mode needs Config.AppCert, Config.AlipayCert and Config.AlipayRootCert; Config.%s is empty", f.name)
		}
	}
	appCert, err := ParseCertificate(cfg.AppCert)
	if err != nil {
		return fmt.Errorf("alipay: Config.AppCert: %w", trimPrefix(err))
	}
	if !samePublicKey(appCert.PublicKey.(*rsa.PublicKey), appPub) {
		return errors.New("alipay: Config.AppCert does not match the app private key: the certificate was issued for another key pair")
	}
	alipayCert, err := ParseCertificate(cfg.AlipayCert)
	if err != nil {
		return fmt.Errorf("alipay: Config.AlipayCert: %w", trimPrefix(err))
	}
	c.alipayKey = alipayCert.PublicKey.(*rsa.PublicKey)
	if samePublicKey(c.alipayKey, appPub) {
		return errors.New("alipay: Config.AlipayCert holds your app's public key; it must be Alipay's certificate (alipayCertPublicKey_RSA2.crt)")
	}
	if c.appCertSN, err = CertSN(appCert.Raw); err != nil {
		return fmt.Errorf("alipay: Config.AppCert: %w", trimPrefix(err))
	}
	if c.alipayCertSN, err = CertSN(alipayCert.Raw); err != nil {
		return fmt.Errorf("alipay: Config.AlipayCert: %w", trimPrefix(err))
	}
	if c.rootCertSN, err = RootCertSN([]byte(cfg.AlipayRootCert)); err != nil {
		return fmt.Errorf("alipay: Config.AlipayRootCert: %w", trimPrefix(err))
	}
	return nil
}

// trimPrefix drops the "alipay: " of a nested error so that a wrapped message
// does not repeat it.
func trimPrefix(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "alipay: ") {
		return err
	}
	return prefixTrimmed{msg: msg[len("alipay: "):], err: err}
}

type prefixTrimmed struct {
	msg string
	err error
}

func (p prefixTrimmed) Error() string { return p.msg }
func (p prefixTrimmed) Unwrap() error { return p.err }

// AppID returns the app id the client signs for.
func (c *Client) AppID() string { return c.appID }

// Gateway returns the gateway URL the client calls.
func (c *Client) Gateway() string { return c.gateway }

// CertMode reports whether the client runs in certificate mode.
func (c *Client) CertMode() bool { return c.appCertSN != "" }

// AlipayPublicKey returns the key that verifies Alipay's responses and
// notifies.
func (c *Client) AlipayPublicKey() *rsa.PublicKey { return c.alipayKey }
