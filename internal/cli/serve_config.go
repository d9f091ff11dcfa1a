package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"zhifu/payment"
)

// A setting of zhifu serve comes, from lowest to highest precedence, from
// its default, the config file (--config), the environment (ZHIFU_*) and
// the command line. The config file is JSON read with the standard
// library: one flat object of strings, so that it needs no dependency and
// an unknown key (a typo) is an error that names it.

// setting describes one setting of zhifu serve.
type setting struct {
	// key names the setting in the config file and in messages:
	// "app_id". Its flag is the key with '-' for '_' and its environment
	// variable "ZHIFU_" and the key in upper case, unless noFlag.
	key string
	// def is the default ("" for none).
	def string
	// help says what the setting is, for --help, with the name of its
	// value in backquotes as package flag wants it.
	help string
	// secret marks a setting whose value is a secret: it is read from the
	// environment only (never a flag, which other users see in the
	// process list, nor the config file, which gets copied around); its
	// *_file twin names a file holding it.
	secret bool
}

// flagName is the setting's command-line flag, without dashes.
func (st setting) flagName() string { return strings.ReplaceAll(st.key, "_", "-") }

// envName is the setting's environment variable.
func (st setting) envName() string { return "ZHIFU_" + strings.ToUpper(st.key) }

// serveSettings are the settings of zhifu serve, in the order --help and
// docs/configuration.md show them.
var serveSettings = []setting{
	{key: "listen", def: "127.0.0.1:8080", help: "listen on `HOST:PORT` (port 0: any free port; the address is printed)"},
	{key: "ops_listen", help: "serve /healthz, /readyz and /metrics on this second `HOST:PORT` only, not on listen: keep it on your private network (default: on listen)"},
	{key: "app_id", help: "the app `ID` from Alipay's open platform console"},
	{key: "app_private_key_file", help: "the app private key `FILE`: PEM or bare base64, PKCS#1 or PKCS#8 (or set $ZHIFU_APP_PRIVATE_KEY to the key itself)"},
	{key: "app_private_key", secret: true, help: "the app private key itself (PEM or bare base64), instead of app_private_key_file"},
	{key: "alipay_public_key_file", help: "key mode: the `FILE` of Alipay's public key (支付宝公钥), not your app's"},
	{key: "app_cert_file", help: "certificate mode: the app certificate `FILE`, appCertPublicKey_<app id>.crt"},
	{key: "alipay_cert_file", help: "certificate mode: Alipay's certificate `FILE`, alipayCertPublicKey_RSA2.crt"},
	{key: "alipay_root_cert_file", help: "certificate mode: Alipay's root bundle `FILE`, alipayRootCert.crt"},
	{key: "gateway", def: "production", help: "the `GATEWAY`: production (Alipay), sandbox (Alipay's online sandbox) or the URL of a zhifu sandbox's gateway.do"},
	{key: "public_url", help: "the `URL` at which Alipay and buyers reach this server: the notify URL is URL/alipay/notify, the return URL URL/alipay/return (outside production: default http:// and the listen address)"},
	{key: "notify_url", help: "the notify `URL` sent to Alipay, instead of public_url + /alipay/notify"},
	{key: "return_url", help: "the return `URL` sent to Alipay, instead of public_url + /alipay/return"},
	{key: "seller_id", help: "the merchant's Alipay user `ID` (2088 and 12 digits): notifies for another seller are refused (default: not checked)"},
	{key: "database", def: "./zhifu.db", help: "the database `DSN`: a SQLite file path, or a postgres:// URL for several instances on one PostgreSQL"},
	{key: "paid_after_close", def: string(payment.PaidAfterCloseAcceptAndFlag), help: "the `POLICY` for a payment of an order already closed: accept_and_flag (keep it, flag the order) or auto_refund"},
	{key: "default_expiry", def: "15m", help: "the `DURATION` a buyer has to pay when the request names none (2m to 360h)"},
	{key: "webhook_url", help: "your system's http(s) `URL`, told of every order change (needs a webhook secret)"},
	{key: "webhook_secret_file", help: "a `FILE` holding the webhook signing secret, 32 characters or more (or set $ZHIFU_WEBHOOK_SECRET)"},
	{key: "webhook_secret", secret: true, help: "the webhook signing secret itself, 32 characters or more"},
	{key: "admin_password_file", help: "a `FILE` holding the admin pages' password, 12 characters or more (or set $ZHIFU_ADMIN_PASSWORD; unset: no admin pages)"},
	{key: "admin_password", secret: true, help: "the admin pages' password itself, 12 characters or more"},
	{key: "admin_session_key_file", help: "a `FILE` holding the key that signs the admin pages' sessions, 32 characters or more (or set $ZHIFU_ADMIN_SESSION_KEY): the same on every instance, so that a login works on all of them and survives a restart (default: a random key per process)"},
	{key: "admin_session_key", secret: true, help: "the admin session key itself, 32 characters or more"},
	{key: "log_level", def: "info", help: "the log `LEVEL`: debug, info, warn or error"},
	{key: "log_format", def: "text", help: "the log `FORMAT`: text or json"},
	{key: "shutdown_timeout", def: "30s", help: "on SIGINT or SIGTERM, the `DURATION` to wait for the requests and jobs in flight"},
}

// configEnv is the environment variable naming the config file when
// --config is not given.
const configEnv = "ZHIFU_CONFIG"

// lookupSetting returns the setting with key.
func lookupSetting(key string) (setting, bool) {
	for _, st := range serveSettings {
		if st.key == key {
			return st, true
		}
	}
	return setting{}, false
}

// sourceKind is where a setting's value came from.
type sourceKind int

const (
	sourceDefault sourceKind = iota
	sourceFile
	sourceEnv
	sourceFlag
)

// value is a setting's raw value and where it came from.
type value struct {
	v    string
	kind sourceKind
	from string // "flag --app-id", "environment ZHIFU_APP_ID", "config file x.json"
}

// rawSettings are the raw values of the settings that were given, by key.
type rawSettings map[string]value

// where describes where the value of key came from, for messages:
// "flag --app-id", or the ways to set it when it was not set.
func (r rawSettings) where(key string) string {
	if v, ok := r[key]; ok {
		return v.from
	}
	return "not set"
}

// howToSet says how to set key: "--app-id, $ZHIFU_APP_ID or \"app_id\" in
// the config file".
func howToSet(key string) string {
	st, ok := lookupSetting(key)
	if !ok {
		return key
	}
	if st.secret {
		return "$" + st.envName()
	}
	return fmt.Sprintf("--%s, $%s or %q in the config file", st.flagName(), st.envName(), st.key)
}

// maxConfigFile bounds the config file: real ones are a few hundred bytes.
const maxConfigFile = 1 << 20

// parseConfigFile reads a config file's JSON: one object whose keys are
// settings and whose values are strings. Every mistake is reported, each
// naming its key.
func parseConfigFile(name string, data []byte) (rawSettings, []problem) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(string(data)))
	from := "config file " + name
	if err := dec.Decode(&obj); err != nil || obj == nil {
		msg := "is not a JSON object of settings"
		if err != nil {
			msg = fmt.Sprintf("is not valid JSON (%v)", err)
		}
		return nil, []problem{{field: "config", from: from, msg: msg + `: write {"app_id": "2021…", "database": "./zhifu.db", …}`}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, []problem{{field: "config", from: from, msg: "has more after its JSON object: write one object only"}}
	}
	raw := rawSettings{}
	var probs []problem
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st, ok := lookupSetting(k)
		switch {
		case !ok:
			name := k
			if strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_0123456789") != "" || k == "" {
				name = strconv.Quote(k) // shown as it is, whatever it holds
			}
			probs = append(probs, problem{field: name, from: from, msg: "unknown key: remove it, or correct its spelling (the keys are listed in docs/configuration.md and by zhifu serve --help)"})
			continue
		case st.secret:
			probs = append(probs, problem{field: k, from: from, msg: fmt.Sprintf("secrets are not read from the config file: set $%s, or %q to a file holding it", st.envName(), k+"_file")})
			continue
		}
		var s string
		if err := json.Unmarshal(obj[k], &s); err != nil {
			probs = append(probs, problem{field: k, from: from, msg: fmt.Sprintf("is %s, not a string: quote the value, as in %q: %q", jsonKind(obj[k]), k, "…")})
			continue
		}
		raw[k] = value{v: s, kind: sourceFile, from: from}
	}
	return raw, probs
}

// jsonKind names the kind of a JSON value: "a number", "an object".
func jsonKind(m json.RawMessage) string {
	s := strings.TrimSpace(string(m))
	switch {
	case s == "":
		return "empty"
	case s == "null":
		return "null"
	case s == "true" || s == "false":
		return "a boolean"
	case s[0] == '{':
		return "an object"
	case s[0] == '[':
		return "an array"
	case s[0] == '"':
		return "a string"
	}
	return "a number"
}

// readConfigFile reads and parses the config file at path.
func readConfigFile(path string) (rawSettings, []problem) {
	from := "config file " + path
	f, err := os.Open(path)
	if err != nil {
		return nil, []problem{{field: "config", from: from, msg: fmt.Sprintf("cannot be read (%v): correct --config or $%s", unwrapPath(err), configEnv)}}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, []problem{{field: "config", from: from, msg: fmt.Sprintf("cannot be read (%v)", err)}}
	}
	if len(b) > maxConfigFile {
		return nil, []problem{{field: "config", from: from, msg: fmt.Sprintf("is larger than %d bytes: not a config file", maxConfigFile)}}
	}
	return parseConfigFile(path, b)
}

// unwrapPath drops the path of an *os.PathError, which the message names
// already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// serveConfig is the configuration of zhifu serve, with every file read:
// what newApp needs. zhifu serve makes it from defaults, the config file,
// the environment and flags (loadServeConfig); zhifu demo and tests build
// it in code. check reports what is wrong with it.
//
// It holds secrets; its String, Format, GoString and LogValue redact them,
// so that printing or logging it shows none.
type serveConfig struct {
	// Listen is the address to listen on, HOST:PORT.
	Listen string
	// OpsListen, when set, is a second address, HOST:PORT, where the
	// operations endpoints (/healthz, /readyz, /metrics) are served
	// instead of on Listen.
	OpsListen string
	// AppID is the app's id on Alipay's open platform.
	AppID string
	// AppPrivateKey is the app private key's text (PEM or base64).
	AppPrivateKey secret
	// AlipayPublicKey is Alipay's public key's text (key mode).
	AlipayPublicKey string
	// AppCert, AlipayCert and AlipayRootCert are the certificate files'
	// texts (certificate mode).
	AppCert, AlipayCert, AlipayRootCert string
	// Gateway is the gateway's URL (alipay.GatewayProduction,
	// alipay.GatewaySandbox or a zhifu sandbox's).
	Gateway string
	// PublicURL is where Alipay and buyers reach the server; NotifyURL
	// and ReturnURL default to it + /alipay/notify and /alipay/return.
	PublicURL string
	// NotifyURL and ReturnURL override PublicURL's.
	NotifyURL, ReturnURL string
	// SellerID is the merchant's Alipay user id, or "" not to check it.
	SellerID string
	// Database is a SQLite file path or a postgres:// URL.
	Database dsn
	// PaidAfterClose is payment.Config.PaidAfterClosePolicy.
	PaidAfterClose payment.PaidAfterClosePolicy
	// DefaultExpiry is payment.Config.DefaultExpiry.
	DefaultExpiry time.Duration
	// WebhookURL and WebhookSecret configure the merchant webhooks.
	WebhookURL    string
	WebhookSecret secret
	// AdminPassword protects the admin pages ("": no admin pages).
	AdminPassword secret
	// AdminSessionKey signs the admin pages' sessions ("": a random key
	// per process).
	AdminSessionKey secret
	// LogLevel and LogFormat ("text" or "json") make the logger when
	// Logger is nil.
	LogLevel  slog.Level
	LogFormat string
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration

	// Set in code only:

	// Logger receives the logs. Default: LogLevel and LogFormat on stderr.
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// HTTPClient calls Alipay. Default: alipay's.
	HTTPClient *http.Client
	// JobPollInterval is how often the jobs look for work that is due.
	// Default: payment.DefaultJobPollInterval.
	JobPollInterval time.Duration

	// raw are the settings the configuration was made from, for naming
	// where a value came from; nil for a configuration made in code.
	raw rawSettings
	// keyPaths are the files the keys were read from, by setting key.
	keyPaths map[string]string
}

// from describes where the value of the setting key came from.
func (c *serveConfig) from(key string) string {
	if c.raw == nil {
		return "set in code"
	}
	return c.raw.where(key)
}

// now returns the configured clock's time.
func (c *serveConfig) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// notifyURL returns the notify URL: NotifyURL, or PublicURL's.
func (c *serveConfig) notifyURL() string {
	if c.NotifyURL != "" || c.PublicURL == "" {
		return c.NotifyURL
	}
	return strings.TrimSuffix(c.PublicURL, "/") + notifyPath
}

// returnURL returns the return URL: ReturnURL, or PublicURL's.
func (c *serveConfig) returnURL() string {
	if c.ReturnURL != "" || c.PublicURL == "" {
		return c.ReturnURL
	}
	return strings.TrimSuffix(c.PublicURL, "/") + returnPath
}

// certMode reports whether the configuration is in certificate mode.
func (c *serveConfig) certMode() bool {
	return c.AppCert != "" || c.AlipayCert != "" || c.AlipayRootCert != ""
}

// fields returns the configuration as pairs, secrets redacted: what
// String and LogValue show.
func (c *serveConfig) fields() [][2]string {
	keyMode := "key mode"
	if c.certMode() {
		keyMode = "certificate mode"
	}
	return [][2]string{
		{"listen", c.Listen}, {"ops_listen", c.OpsListen}, {"app_id", c.AppID}, {"app_private_key", c.AppPrivateKey.String()},
		{"keys", keyMode}, {"gateway", c.Gateway}, {"notify_url", c.notifyURL()}, {"return_url", c.returnURL()},
		{"seller_id", c.SellerID}, {"database", c.Database.String()}, {"paid_after_close", string(c.PaidAfterClose)},
		{"default_expiry", c.DefaultExpiry.String()}, {"webhook_url", c.WebhookURL}, {"webhook_secret", c.WebhookSecret.String()},
		{"admin_password", c.AdminPassword.String()}, {"admin_session_key", c.AdminSessionKey.String()}, {"log_level", c.LogLevel.String()}, {"log_format", c.LogFormat},
		{"shutdown_timeout", c.ShutdownTimeout.String()},
	}
}

// String describes the configuration with its secrets redacted.
func (c *serveConfig) String() string {
	var b strings.Builder
	for i, f := range c.fields() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", f[0], strconv.Quote(f[1]))
	}
	return b.String()
}

// Format prints String for every verb, so that no verb (%#v, %x…) shows
// a field as it is.
func (c *serveConfig) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// GoString is String.
func (c *serveConfig) GoString() string { return c.String() }

// MarshalJSON marshals the fields of String, secrets redacted.
func (c *serveConfig) MarshalJSON() ([]byte, error) {
	m := map[string]string{}
	for _, f := range c.fields() {
		m[f[0]] = f[1]
	}
	return json.Marshal(m)
}

// LogValue logs the configuration with its secrets redacted.
func (c *serveConfig) LogValue() slog.Value {
	fs := c.fields()
	attrs := make([]slog.Attr, len(fs))
	for i, f := range fs {
		attrs[i] = slog.String(f[0], f[1])
	}
	return slog.GroupValue(attrs...)
}

// problem is one thing wrong with the configuration.
type problem struct {
	field string // the setting's key
	from  string // where its value came from
	msg   string // what is wrong and what to do
}

// String is "field (where from): message", or "field: not set: …".
func (p problem) String() string {
	if p.from == "not set" {
		return fmt.Sprintf("%s: %s", p.field, p.msg)
	}
	return fmt.Sprintf("%s (%s): %s", p.field, p.from, p.msg)
}

// configError is the error of a configuration with problems: all of them.
type configError []problem

func (e configError) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = "  " + p.String()
	}
	noun := "problems"
	if len(e) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("the configuration has %d %s:\n%s", len(e), noun, strings.Join(lines, "\n"))
}

// parseListen checks a listen address.
func parseListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}
