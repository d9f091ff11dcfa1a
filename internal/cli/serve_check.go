package cli

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"zhifu/alipay"
	"zhifu/internal/httpapi"
	"zhifu/payment"
	"zhifu/sandbox"
)

// Minimum lengths of the secrets of zhifu serve.
const (
	minWebhookSecret = payment.MinWebhookSecretLen
	minAdminPassword = 12
	// minAdminSessionKey is AdminConfig.SessionKey's least length.
	minAdminSessionKey = httpapi.AdminMinSessionKeyLen
)

// gatewayMode is what a gateway URL is: Alipay's live gateway, Alipay's
// online sandbox, or any other (a zhifu sandbox).
type gatewayMode int

const (
	modeProduction gatewayMode = iota
	modeAlipaySandbox
	modeURL
)

// mode returns the mode of c's gateway: a URL on Alipay's live or sandbox
// hosts counts as production or sandbox whatever its spelling.
func (c *serveConfig) mode() gatewayMode {
	g := c.Gateway
	if g == "" {
		return modeProduction
	}
	u, err := url.Parse(g)
	if err != nil {
		return modeURL
	}
	switch strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")) {
	case "openapi.alipay.com":
		return modeProduction
	case "openapi-sandbox.dl.alipaydev.com", "openapi.alipaydev.com":
		return modeAlipaySandbox
	}
	return modeURL
}

// checker collects the problems and warnings of a configuration.
type checker struct {
	c        *serveConfig
	problems []problem
	warnings []string
}

// bad records a problem of the setting key.
func (k *checker) bad(key, format string, a ...any) {
	from := k.c.from(key)
	if strings.HasPrefix(format, "not set") {
		from = "not set"
	}
	k.problems = append(k.problems, problem{field: key, from: from, msg: fmt.Sprintf(format, a...)})
}

// check reports what is wrong with c as problems, each naming the setting,
// where its value came from and what to do, and what is only worth a
// warning. It reads no network: the keys are checked against each other
// (by alipay.New, which knows the mistakes people make with them), not
// against Alipay.
func (c *serveConfig) check() (problems []problem, warnings []string) {
	k := &checker{c: c}
	k.checkApp()
	k.checkURLs()
	k.checkDatabase()
	if c.SellerID != "" && !isAlipayUserID(c.SellerID) {
		k.bad("seller_id", "%q is not an Alipay user id: write 2088 and 12 digits, as the console's account page shows (or leave it out)", c.SellerID)
	}
	if c.DefaultExpiry != 0 && (c.DefaultExpiry < payment.MinExpiry || c.DefaultExpiry > payment.MaxExpiry) {
		k.bad("default_expiry", "%s is outside Alipay's bounds: write a duration from %s to %s", c.DefaultExpiry, payment.MinExpiry, payment.MaxExpiry)
	}
	k.checkWebhook()
	if c.AdminSessionKey != "" && len(c.AdminSessionKey) < minAdminSessionKey {
		k.bad(c.secretField("admin_session_key"), "is shorter than %d characters: use a random key (such as the output of: openssl rand -hex 32), the same on every instance", minAdminSessionKey)
	}
	if c.AdminPassword != "" && utf8.RuneCountInString(string(c.AdminPassword)) < minAdminPassword {
		k.bad(c.secretField("admin_password"), "is shorter than %d characters: choose a longer password", minAdminPassword)
	}
	return k.problems, k.warnings
}

// secretField returns the key that set the secret key: key itself (the
// environment) or its *_file twin.
func (c *serveConfig) secretField(key string) string {
	if _, ok := c.raw[key+"_file"]; ok {
		return key + "_file"
	}
	return key
}

// isAlipayUserID reports whether s is an Alipay user id: 2088 and 12 digits.
func isAlipayUserID(s string) bool {
	if len(s) != 16 || !strings.HasPrefix(s, "2088") {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// checkApp checks the app id and the keys: each file on its own, then
// together through alipay.New, then the certificate chains.
func (k *checker) checkApp() {
	c := k.c
	prod := c.mode() == modeProduction
	switch {
	case c.AppID == "":
		k.bad("app_id", "not set: set %s to the app id of your app on Alipay's open platform", howToSet("app_id"))
	case prod && strings.HasPrefix(c.AppID, "9021000"):
		k.bad("app_id", "%s is a sandbox app id (9021000…) and the gateway is production: use your live app's id, or set --gateway sandbox", c.AppID)
	}
	privField := c.secretField("app_private_key")
	ok := true
	if c.AppPrivateKey == "" {
		if _, given := c.raw[privField]; !given {
			k.bad("app_private_key_file", "not set: set %s to the app private key file (made by zhifu keys generate), or $ZHIFU_APP_PRIVATE_KEY to the key itself", howToSet("app_private_key_file"))
		}
		ok = false
	} else {
		ok = k.wantKind(privField, string(c.AppPrivateKey), kindPrivate,
			"give the app private key (app_private_key.pem, made by zhifu keys generate); its public key is what you upload to Alipay's console") && ok
	}
	switch {
	case c.certMode() && c.AlipayPublicKey != "":
		k.bad("alipay_public_key_file", "is set together with certificate files: choose key mode (only alipay_public_key_file) or certificate mode (app_cert_file, alipay_cert_file, alipay_root_cert_file)")
		ok = false
	case c.certMode():
		for _, f := range []struct {
			key, text, what string
		}{
			{"app_cert_file", c.AppCert, "the app certificate, appCertPublicKey_<app id>.crt"},
			{"alipay_cert_file", c.AlipayCert, "Alipay's certificate, alipayCertPublicKey_RSA2.crt"},
			{"alipay_root_cert_file", c.AlipayRootCert, "Alipay's root bundle, alipayRootCert.crt"},
		} {
			if f.text == "" {
				if _, given := c.raw[f.key]; !given {
					k.bad(f.key, "not set, and certificate mode needs all three certificate files: set %s to %s", howToSet(f.key), f.what)
				}
				ok = false
				continue
			}
			if f.key != "alipay_root_cert_file" {
				ok = k.wantKind(f.key, f.text, kindCertificate, "give "+f.what+", downloaded from Alipay's console") && ok
			}
		}
	case c.AlipayPublicKey == "":
		if _, given := c.raw["alipay_public_key_file"]; !given {
			k.bad("alipay_public_key_file", "not set: set %s to Alipay's public key (支付宝公钥, from the console), or configure certificate mode (app_cert_file, alipay_cert_file, alipay_root_cert_file)", howToSet("alipay_public_key_file"))
		}
		ok = false
	default:
		ok = k.wantKind("alipay_public_key_file", c.AlipayPublicKey, kindPublic,
			"give Alipay's public key (支付宝公钥), shown in the console next to the app public key you uploaded") && ok
	}
	if prod {
		k.checkNotSandboxKeys()
	}
	if !ok || c.AppID == "" {
		return
	}
	if _, err := alipay.New(c.alipayConfig()); err != nil {
		k.alipayProblem(err)
		return
	}
	if c.certMode() {
		for _, f := range []struct{ key, text string }{{"app_cert_file", c.AppCert}, {"alipay_cert_file", c.AlipayCert}} {
			if msg := certChainProblem(f.text, c.AlipayRootCert, c.now()); msg != "" {
				k.bad(f.key, "%s", msg)
			}
		}
	}
}

// wantKind checks that text, the value of the setting key, holds a key of
// kind, and says what to give instead (hint) when not.
func (k *checker) wantKind(key, text string, want keyKind, hint string) bool {
	got, err := parseAnyKey(key, text)
	if err != nil {
		k.bad(key, "%v: %s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), key+": "), "alipay: "), hint)
		return false
	}
	if got.kind == want {
		return true
	}
	k.bad(key, "holds a %s, not a %s: %s", got.kind, want, hint)
	return false
}

// alipayFields maps the fields of alipay.Config named in alipay.New's
// errors to the settings that set them.
var alipayFields = []struct{ field, key string }{
	{"Config.AppID", "app_id"},
	{"Config.PrivateKey", "app_private_key"},
	{"Config.AlipayPublicKey", "alipay_public_key_file"},
	{"Config.AppCert", "app_cert_file"},
	{"Config.AlipayCert", "alipay_cert_file"},
	{"Config.AlipayRootCert", "alipay_root_cert_file"},
	{"Config.Gateway", "gateway"},
}

// alipayProblem turns an error of alipay.New into a problem of the setting
// its message names first, with the alipay.Config field names replaced by
// the settings'.
func (k *checker) alipayProblem(err error) {
	msg := strings.TrimPrefix(err.Error(), "alipay: ")
	key, at := "app_id", len(msg)+1
	for _, f := range alipayFields {
		if i := indexWord(msg, f.field); i >= 0 && i < at {
			key, at = f.key, i
		}
	}
	for _, f := range alipayFields {
		msg = strings.ReplaceAll(msg, f.field, f.key)
	}
	// The problem names the setting: the message need not start with it.
	for _, f := range alipayFields {
		if f.key == key {
			msg = strings.TrimPrefix(strings.TrimPrefix(msg, f.key+": "), f.key+" ")
		}
	}
	if key == "app_private_key" {
		key = k.c.secretField("app_private_key")
	}
	k.bad(key, "%s", msg)
}

// indexWord returns the index of the first occurrence of word in s that
// is not followed by a letter, or -1.
func indexWord(s, word string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return -1
		}
		end := off + i + len(word)
		if end == len(s) || !unicode.IsLetter(rune(s[end])) {
			return off + i
		}
		off = end
	}
}

// alipayConfig returns the alipay.Config of c.
func (c *serveConfig) alipayConfig() alipay.Config {
	return alipay.Config{
		AppID:           c.AppID,
		PrivateKey:      string(c.AppPrivateKey),
		AlipayPublicKey: c.AlipayPublicKey,
		AppCert:         c.AppCert,
		AlipayCert:      c.AlipayCert,
		AlipayRootCert:  c.AlipayRootCert,
		Gateway:         c.Gateway,
		HTTPClient:      c.HTTPClient,
		// Request timestamps keep the wall clock, as Alipay's gateway
		// checks them against its own: Now moves only the service's time.
	}
}

// checkNotSandboxKeys refuses, for the production gateway, keys that
// belong to a zhifu sandbox: files in its data directory, or certificates
// its CA issued. They cannot work with Alipay, whose error would be a
// vague invalid signature on the first payment.
func (k *checker) checkNotSandboxKeys() {
	c := k.c
	for key, path := range c.keyPaths {
		if path == "-" {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), sandbox.StateFileName)); err == nil {
			k.bad(key, "%s is in a zhifu sandbox's data directory (it holds %s) and the gateway is production: use your Alipay app's own files, or set --gateway to the sandbox's URL",
				path, sandbox.StateFileName)
		}
	}
	for _, f := range []struct{ key, text string }{{"app_cert_file", c.AppCert}, {"alipay_cert_file", c.AlipayCert}} {
		if f.text == "" {
			continue
		}
		if cert, err := alipay.ParseCertificate(f.text); err == nil && strings.Contains(cert.Issuer.String()+cert.Subject.String(), "zhifu sandbox") {
			k.bad(f.key, "is a certificate of a zhifu sandbox's CA and the gateway is production: use the certificates of your Alipay app, or set --gateway to the sandbox's URL")
		}
	}
}

// checkURLs checks the public, notify and return URLs: well-formed in
// every mode, and in production a notify URL that Alipay's servers can
// reach.
func (k *checker) checkURLs() {
	c := k.c
	if c.PublicURL != "" {
		if msg := callbackURLProblem(c.PublicURL); msg != "" {
			k.bad("public_url", "%s", msg)
			return
		}
	}
	notifyKey := "notify_url"
	if c.NotifyURL == "" {
		notifyKey = "public_url"
	}
	notify := c.notifyURL()
	switch {
	case notify == "" && c.mode() == modeProduction:
		k.bad("public_url", "not set, and Alipay must reach this server to send its notifies: set %s to the https:// address of this server on the internet", howToSet("public_url"))
	case notify == "" && c.Listen == "":
		k.bad("public_url", "not set, and there is no listen address to make it of: set %s", howToSet("public_url"))
	case notify != "":
		if msg := callbackURLProblem(notify); msg != "" {
			k.bad(notifyKey, "%s", msg)
			break
		}
		u, _ := url.Parse(notify)
		reason := unreachableReason(u)
		switch {
		case reason == "":
		case c.mode() == modeProduction:
			k.bad(notifyKey, "the notify URL %s cannot be reached by Alipay: %s. Set %s to this server's public address (a reverse proxy or tunnel is fine)", notify, reason, howToSet(notifyKey))
		case c.mode() == modeAlipaySandbox:
			k.warnings = append(k.warnings, fmt.Sprintf("the notify URL %s cannot be reached by Alipay's sandbox (%s): no notify will arrive, and orders are settled only by the reconcile jobs' queries", notify, reason))
		}
	}
	if c.ReturnURL != "" || c.PublicURL != "" {
		returnKey := "return_url"
		if c.ReturnURL == "" {
			returnKey = "public_url"
		}
		if msg := callbackURLProblem(c.returnURL()); msg != "" {
			k.bad(returnKey, "%s", msg)
		}
	}
}

// callbackURLProblem says what is wrong with a notify, return or public
// URL whatever the mode, or "".
func callbackURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		// The URL is not shown: it may hold a password.
		return "is not a URL: write it as https://pay.example.com"
	case u.User != nil: // first, so that no message below shows the password
		return fmt.Sprintf("%s has a user name or password in it: remove it", u.Redacted())
	case u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Sprintf("%q is not an absolute http(s) URL: write it as https://pay.example.com", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Sprintf("%q has a query string or fragment, which Alipay drops or mixes with its own signed parameters: remove everything from the ? or #", s)
	case utf8.RuneCountInString(s)+len(notifyPath) > 256:
		return "is too long: Alipay takes notify and return URLs of at most 256 characters"
	}
	return ""
}

// checkWebhook checks the webhook URL and its secret.
func (k *checker) checkWebhook() {
	c := k.c
	if c.WebhookURL == "" {
		return
	}
	u, err := url.Parse(c.WebhookURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		k.bad("webhook_url", "%q is not an absolute http(s) URL: write the URL of your system's endpoint, such as https://shop.example.com/hooks/zhifu", c.WebhookURL)
	}
	switch n := utf8.RuneCountInString(string(c.WebhookSecret)); {
	case n == 0:
		k.bad("webhook_secret", "not set, and webhooks are signed with it: set $ZHIFU_WEBHOOK_SECRET or webhook_secret_file to a random secret of %d characters or more (such as the output of: openssl rand -hex 32)", minWebhookSecret)
	case n < minWebhookSecret:
		k.bad(c.secretField("webhook_secret"), "is %d characters long: use a random secret of %d or more (such as the output of: openssl rand -hex 32)", n, minWebhookSecret)
	}
}

// checkDatabase checks the database setting: a SQLite path or a
// PostgreSQL URL that pgx can read (no connection is made here).
func (k *checker) checkDatabase() {
	d := string(k.c.Database)
	switch {
	case d == "":
		k.bad("database", "is empty: set %s to a SQLite file path such as ./zhifu.db, or a postgres:// URL", howToSet("database"))
	case k.c.Database.isPostgres():
		if _, err := pgx.ParseConfig(d); err != nil {
			k.bad("database", "%s is not a PostgreSQL URL pgx can read: %v", k.c.Database, err)
		}
	case strings.Contains(d, "://"):
		scheme, _, _ := strings.Cut(d, "://")
		k.bad("database", "the scheme %q is not supported: write a SQLite file path such as ./zhifu.db, or a postgres:// URL", scheme)
	case strings.Contains(d, "=") && strings.Contains(d, " "):
		k.bad("database", "looks like PostgreSQL key=value settings: write it as a URL, postgres://user@host:5432/db?sslmode=disable")
	case d == ":memory:" || strings.HasPrefix(d, "file:") || strings.Contains(d, "?"):
		k.bad("database", "%q is not a plain file path: SQLite takes a file name here (no file: URI, no ?options, no :memory:, since orders must survive a restart)", d)
	}
	if k.c.Database.hasPassword() {
		if v, ok := k.c.raw["database"]; ok && v.kind == sourceFlag {
			k.warnings = append(k.warnings, "--database holds a password, which other users of this machine can read in the process list: set $ZHIFU_DATABASE instead")
		}
	}
}
