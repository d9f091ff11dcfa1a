package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// serveFlags are the flags of zhifu serve: one per setting that is not a
// secret, and --config.
type serveFlags struct {
	*flagSet
	config *string
	values map[string]*string // by setting key
}

// newServeFlags defines the flags of zhifu serve on a flag set whose help
// is help.
func newServeFlags(help string) *serveFlags {
	return newSettingFlags("zhifu serve", help, nil)
}

// gather returns the raw settings from, lowest precedence first, the
// defaults, the config file, the environment and the flags that were
// set, with the problems of the config file.
func (f *serveFlags) gather(getenv func(string) string) (rawSettings, []problem) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	raw := rawSettings{}
	for _, st := range serveSettings {
		if st.def != "" {
			raw[st.key] = value{v: st.def, kind: sourceDefault, from: "default"}
		}
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	path, pathFrom := *f.config, "flag --config"
	if !set["config"] {
		path, pathFrom = getenv(configEnv), "environment "+configEnv
	}
	var probs []problem
	if set["config"] || path != "" {
		if path == "" {
			probs = append(probs, problem{field: "config", from: pathFrom, msg: "is empty: name a JSON file, or leave it out"})
		} else {
			file, fileProbs := readConfigFile(path)
			maps.Copy(raw, file)
			probs = append(probs, fileProbs...)
		}
	}
	for _, st := range serveSettings {
		if v := getenv(st.envName()); v != "" {
			raw[st.key] = value{v: v, kind: sourceEnv, from: "environment " + st.envName()}
		}
	}
	for key, p := range f.values {
		if st, _ := lookupSetting(key); set[st.flagName()] {
			raw[key] = value{v: *p, kind: sourceFlag, from: "flag --" + st.flagName()}
		}
	}
	return raw, probs
}

// buildServeConfig makes the configuration of raw: it parses every value
// and reads every file named, and reports every value it cannot use.
// What is wrong with the values together is check's.
func buildServeConfig(s *streams, raw rawSettings) (*serveConfig, []problem) {
	c := &serveConfig{raw: raw, keyPaths: map[string]string{}}
	var probs []problem
	bad := func(key, format string, a ...any) {
		probs = append(probs, problem{field: key, from: raw.where(key), msg: fmt.Sprintf(format, a...)})
	}
	get := func(key string) string { return strings.TrimSpace(raw[key].v) }

	c.Listen = get("listen")
	if err := parseListen(c.Listen); err != nil {
		bad("listen", "%q is not HOST:PORT (%v): write it as 127.0.0.1:8080, or :8080 for every interface", c.Listen, err)
	}
	if c.OpsListen = get("ops_listen"); c.OpsListen != "" {
		if err := parseListen(c.OpsListen); err != nil {
			bad("ops_listen", "%q is not HOST:PORT (%v): write it as 127.0.0.1:9090, an address of your private network", c.OpsListen, err)
		}
	}
	c.AppID = get("app_id")
	c.AppPrivateKey = secret(c.readSecret(s, "app_private_key", &probs))
	for key, dst := range map[string]*string{
		"alipay_public_key_file": &c.AlipayPublicKey, "app_cert_file": &c.AppCert,
		"alipay_cert_file": &c.AlipayCert, "alipay_root_cert_file": &c.AlipayRootCert,
	} {
		*dst = c.readFile(s, key, &probs)
	}
	switch g := get("gateway"); g {
	case "production":
		c.Gateway = alipay.GatewayProduction
	case "sandbox":
		c.Gateway = alipay.GatewaySandbox
	default:
		u, err := url.Parse(g)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			bad("gateway", "%q is neither production, sandbox nor an http(s) URL: write production, sandbox, or your zhifu sandbox's gateway URL such as http://127.0.0.1:8090/gateway.do", g)
		}
		c.Gateway = g
	}
	c.PublicURL, c.NotifyURL, c.ReturnURL = get("public_url"), get("notify_url"), get("return_url")
	c.SellerID = get("seller_id")
	c.Database = dsn(get("database"))
	c.PaidAfterClose = payment.PaidAfterClosePolicy(get("paid_after_close"))
	if c.PaidAfterClose != payment.PaidAfterCloseAcceptAndFlag && c.PaidAfterClose != payment.PaidAfterCloseAutoRefund {
		bad("paid_after_close", "%q is not a policy: write %s or %s", c.PaidAfterClose, payment.PaidAfterCloseAcceptAndFlag, payment.PaidAfterCloseAutoRefund)
	}
	c.DefaultExpiry, _ = c.parseDuration("default_expiry", &probs)
	c.WebhookURL = get("webhook_url")
	c.WebhookSecret = secret(c.readSecret(s, "webhook_secret", &probs))
	c.AdminPassword = secret(c.readSecret(s, "admin_password", &probs))
	c.AdminSessionKey = secret(c.readSecret(s, "admin_session_key", &probs))
	switch lv := strings.ToLower(get("log_level")); lv {
	case "debug", "info", "warn", "error":
		_ = c.LogLevel.UnmarshalText([]byte(lv))
	default:
		bad("log_level", "%q is not a level: write debug, info, warn or error", get("log_level"))
	}
	c.LogFormat = strings.ToLower(get("log_format"))
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "%q is not a format: write text or json", get("log_format"))
	}
	if d, ok := c.parseDuration("shutdown_timeout", &probs); ok && d <= 0 {
		bad("shutdown_timeout", "%s is not positive: write a duration such as 30s", d)
	} else {
		c.ShutdownTimeout = d
	}
	return c, probs
}

// parseDuration parses the duration setting key.
func (c *serveConfig) parseDuration(key string, probs *[]problem) (time.Duration, bool) {
	v := strings.TrimSpace(c.raw[key].v)
	d, err := time.ParseDuration(v)
	if err != nil {
		*probs = append(*probs, problem{field: key, from: c.raw.where(key), msg: fmt.Sprintf("%q is not a duration: write it as 15m, 2h or 90s", v)})
		return 0, false
	}
	return d, true
}

// readFile reads the file named by the setting key, if set.
func (c *serveConfig) readFile(s *streams, key string, probs *[]problem) string {
	path := strings.TrimSpace(c.raw[key].v)
	if path == "" {
		return ""
	}
	text, err := readKeyText(s, path)
	if err != nil {
		*probs = append(*probs, problem{field: key, from: c.raw.where(key), msg: fmt.Sprintf("%v: correct the path", unwrapPath(err))})
		return ""
	}
	c.keyPaths[key] = path
	return text
}

// readSecret returns the secret setting key: its value from the
// environment, or the content of the file its key_file twin names (one
// of the two).
func (c *serveConfig) readSecret(s *streams, key string, probs *[]problem) string {
	fileKey := key + "_file"
	_, inline := c.raw[key]
	_, inFile := c.raw[fileKey]
	if inline && inFile {
		*probs = append(*probs, problem{field: key, from: c.raw.where(key) + " and " + c.raw.where(fileKey),
			msg: fmt.Sprintf("is given twice: keep either $%s or %s", "ZHIFU_"+strings.ToUpper(key), fileKey)})
		return ""
	}
	if inline {
		return strings.TrimSpace(c.raw[key].v)
	}
	return strings.TrimSpace(c.readFile(s, fileKey, probs))
}

// newLogger returns the logger of c's LogLevel and LogFormat writing to w.
func (c *serveConfig) newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
