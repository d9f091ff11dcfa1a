package cli

import (
	"crypto/rsa"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/sandbox"
)

// certFiles writes the certificate files of certificate mode, issued by ca
// for the test keys of alipay/testdata, into dir; alipayChain appends the
// CA's intermediate to Alipay's certificate file.
func certFiles(t *testing.T, dir string, ca *sandbox.CA, alipayChain bool) (appCert, alipayCert, root string) {
	t.Helper()
	appPub := mustPublicKey(t, keyPath("app_public.pem"))
	alipayPub := mustPublicKey(t, keyPath("alipay_public.pem"))
	c, err := ca.IssueCertificates("2021000000000001", appPub, alipayPub)
	if err != nil {
		t.Fatal(err)
	}
	if alipayChain {
		c.AlipayCert = append(c.AlipayCert, ca.Intermediate()...)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "appCertPublicKey_2021000000000001.crt", string(c.AppCert)),
		writeFile(t, dir, "alipayCertPublicKey_RSA2.crt", string(c.AlipayCert)),
		writeFile(t, dir, "alipayRootCert.crt", string(c.AlipayRootCert))
}

func mustPublicKey(t *testing.T, path string) *rsa.PublicKey {
	t.Helper()
	k, err := alipay.ParsePublicKey(readFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCA(t *testing.T, now func() time.Time) *sandbox.CA {
	t.Helper()
	ca, err := sandbox.NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// flagArgs turns a map of flags into arguments.
func flagArgs(flags map[string]string) []string {
	var args []string
	for k, v := range flags {
		args = append(args, "--"+k, v)
	}
	return args
}

// TestServeRefusals checks each configuration zhifu serve must refuse:
// the problem names the setting and where its value came from, and says
// what to do.
func TestServeRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	appPriv, appPub := keyPath("app_private_pkcs8.pem"), keyPath("app_public.pem")
	alipayPriv, alipayPub := keyPath("alipay_private_pkcs8.pem"), keyPath("alipay_public.pem")

	// Certificate sets: a good one, one whose Alipay certificate (with its
	// intermediate) comes from another CA than the root bundle, an expired
	// one, and Alipay's test vectors' chain against a sandbox's roots.
	ca := newCA(t, nil)
	goodApp, goodAlipay, goodRoot := certFiles(t, filepath.Join(dir, "good"), ca, true)
	_, _, otherRoot := certFiles(t, filepath.Join(dir, "other"), newCA(t, nil), false)
	oldApp, oldAlipay, oldRoot := certFiles(t, filepath.Join(dir, "old"), newCA(t, func() time.Time { return time.Now().AddDate(-6, 0, 0) }), false)
	vectorChain := writeFile(t, dir, "vector_alipay_chain.crt",
		readFile(t, filepath.Join(testdata, "certs", "alipayCertPublicKey_RSA2.crt"))+readFile(t, filepath.Join(testdata, "certs", "inter.crt")))
	vectorApp := filepath.Join(testdata, "certs", "appCertPublicKey_2021000000000001.crt")
	// Keys left in a zhifu sandbox's data directory.
	sbDir := filepath.Join(dir, "sandbox-data")
	os.MkdirAll(sbDir, 0o700)
	writeFile(t, sbDir, sandbox.StateFileName, "{}")
	sbPriv := writeFile(t, sbDir, "app_private_key.pem", readFile(t, appPriv))
	shortPw := writeFile(t, dir, "admin_pw", "short\n")

	base := func() map[string]string {
		return map[string]string{
			"app-id": "2021000000000001", "app-private-key-file": appPriv, "alipay-public-key-file": alipayPub,
			"gateway": "http://127.0.0.1:8090/gateway.do", "database": filepath.Join(dir, "zhifu.db"), "listen": "127.0.0.1:0",
		}
	}
	prod := func(m map[string]string) map[string]string {
		m["gateway"] = "production"
		m["public-url"] = "https://pay.example.com"
		return m
	}
	certMode := func(m map[string]string, app, alipayCert, root string) map[string]string {
		delete(m, "alipay-public-key-file")
		m["app-cert-file"], m["alipay-cert-file"], m["alipay-root-cert-file"] = app, alipayCert, root
		return m
	}
	tests := []struct {
		name  string
		flags map[string]string
		env   map[string]string
		field string
		from  string
		msg   string
	}{
		{"missing app id", func() map[string]string { m := base(); delete(m, "app-id"); return m }(), nil,
			"app_id", "", "not set: set --app-id, $ZHIFU_APP_ID"},
		{"missing private key", func() map[string]string { m := base(); delete(m, "app-private-key-file"); return m }(), nil,
			"app_private_key_file", "", "not set: set --app-private-key-file"},
		{"missing Alipay key", func() map[string]string { m := base(); delete(m, "alipay-public-key-file"); return m }(), nil,
			"alipay_public_key_file", "", "or configure certificate mode"},
		{"Alipay's public key as the app key", func() map[string]string { m := base(); m["app-private-key-file"] = alipayPub; return m }(), nil,
			"app_private_key_file", "flag --app-private-key-file", "holds a public key, not a private key: give the app private key"},
		{"a private key as Alipay's public key", func() map[string]string { m := base(); m["alipay-public-key-file"] = alipayPriv; return m }(), nil,
			"alipay_public_key_file", "flag --alipay-public-key-file", "holds a private key, not a public key: give Alipay's public key"},
		{"the app's own public key as Alipay's", func() map[string]string { m := base(); m["alipay-public-key-file"] = appPub; return m }(), nil,
			"alipay_public_key_file", "flag --alipay-public-key-file", "public key of your own app private key; it must be Alipay's public key"},
		{"a certificate as Alipay's public key", func() map[string]string { m := base(); m["alipay-public-key-file"] = goodAlipay; return m }(), nil,
			"alipay_public_key_file", "flag --alipay-public-key-file", "holds a certificate, not a public key"},
		{"garbage private key in the environment", func() map[string]string { m := base(); delete(m, "app-private-key-file"); return m }(),
			map[string]string{"ZHIFU_APP_PRIVATE_KEY": "not-a-key-TOPSECRET"}, "app_private_key", "environment ZHIFU_APP_PRIVATE_KEY", ""},
		{"private key twice", base(), map[string]string{"ZHIFU_APP_PRIVATE_KEY": readFile(t, appPriv)},
			"app_private_key", "environment ZHIFU_APP_PRIVATE_KEY and flag --app-private-key-file", "is given twice: keep either"},
		{"missing key file", func() map[string]string {
			m := base()
			m["alipay-public-key-file"] = filepath.Join(dir, "nope.pem")
			return m
		}(), nil,
			"alipay_public_key_file", "flag --alipay-public-key-file", "no such file or directory: correct the path"},
		{"key and certificate mode", func() map[string]string { m := base(); m["app-cert-file"] = goodApp; return m }(), nil,
			"alipay_public_key_file", "flag", "choose key mode"},
		{"certificate mode incomplete", func() map[string]string {
			m := certMode(base(), goodApp, "", "")
			delete(m, "alipay-cert-file")
			delete(m, "alipay-root-cert-file")
			return m
		}(), nil,
			"alipay_root_cert_file", "", "certificate mode needs all three certificate files: set --alipay-root-cert-file"},
		{"app certificate of another key", func() map[string]string {
			m := certMode(base(), goodApp, goodAlipay, goodRoot)
			m["app-private-key-file"] = keyPath("alipay_private_pkcs1.pem")
			return m
		}(), nil, "app_cert_file", "flag --app-cert-file", "does not match the app private key"},
		{"certificates of another CA than the roots", certMode(base(), goodApp, goodAlipay, otherRoot), nil,
			"alipay_cert_file", "flag --alipay-cert-file", "is not signed by the certificate of its issuer"},
		{"chain ending outside the roots", certMode(base(), vectorApp, vectorChain, goodRoot), nil,
			"alipay_cert_file", "flag --alipay-cert-file", "which is not in alipay_root_cert_file: the files come from different environments"},
		{"expired app certificate", certMode(base(), oldApp, oldAlipay, oldRoot), nil,
			"app_cert_file", "flag --app-cert-file", "expired on"},
		{"production without public URL", func() map[string]string { m := prod(base()); delete(m, "public-url"); return m }(), nil,
			"public_url", "", "Alipay must reach this server"},
		{"production notify URL on localhost", func() map[string]string { m := prod(base()); m["public-url"] = "http://localhost:8080"; return m }(), nil,
			"public_url", "flag --public-url", "cannot be reached by Alipay: localhost is this machine only. Set --public-url"},
		{"production notify URL on a private address", prod(base()), map[string]string{"ZHIFU_NOTIFY_URL": "http://192.168.1.20/alipay/notify"},
			"notify_url", "environment ZHIFU_NOTIFY_URL", "is a private address"},
		{"production notify URL on a bare host name", func() map[string]string { m := prod(base()); m["notify-url"] = "https://payserver/notify"; return m }(), nil,
			"notify_url", "flag --notify-url", "bare host name"},
		{"notify URL with a query", func() map[string]string {
			m := base()
			m["notify-url"] = "https://pay.example.com/notify?shop=1"
			return m
		}(), nil,
			"notify_url", "flag --notify-url", "has a query string or fragment"},
		{"public URL with a fragment", func() map[string]string { m := base(); m["public-url"] = "https://pay.example.com/#x"; return m }(), nil,
			"public_url", "flag --public-url", "has a query string or fragment"},
		{"public URL not http", func() map[string]string { m := base(); m["public-url"] = "pay.example.com"; return m }(), nil,
			"public_url", "flag --public-url", "is not an absolute http(s) URL"},
		{"sandbox app id in production", func() map[string]string { m := prod(base()); m["app-id"] = "9021000122600000"; return m }(), nil,
			"app_id", "flag --app-id", "is a sandbox app id"},
		{"zhifu sandbox keys in production", func() map[string]string { m := prod(base()); m["app-private-key-file"] = sbPriv; return m }(), nil,
			"app_private_key_file", "flag --app-private-key-file", "is in a zhifu sandbox's data directory"},
		{"zhifu sandbox certificates in production", prod(certMode(base(), goodApp, goodAlipay, goodRoot)), nil,
			"app_cert_file", "flag --app-cert-file", "is a certificate of a zhifu sandbox's CA and the gateway is production"},
		{"webhook URL not http", func() map[string]string { m := base(); m["webhook-url"] = "ftp://shop.example.com/x"; return m }(),
			map[string]string{"ZHIFU_WEBHOOK_SECRET": testWebhookSecret}, "webhook_url", "flag --webhook-url", "is not an absolute http(s) URL"},
		{"webhook URL without secret", func() map[string]string { m := base(); m["webhook-url"] = "https://shop.example.com/x"; return m }(), nil,
			"webhook_secret", "", "not set, and webhooks are signed with it: set $ZHIFU_WEBHOOK_SECRET"},
		{"webhook secret too short", func() map[string]string { m := base(); m["webhook-url"] = "https://shop.example.com/x"; return m }(),
			map[string]string{"ZHIFU_WEBHOOK_SECRET": "short"}, "webhook_secret", "environment ZHIFU_WEBHOOK_SECRET", "is 5 characters long: use a random secret of 32 or more"},
		{"admin password too short", func() map[string]string { m := base(); m["admin-password-file"] = shortPw; return m }(), nil,
			"admin_password_file", "flag --admin-password-file", "is shorter than 12 characters"},
		{"database scheme", func() map[string]string { m := base(); m["database"] = "mysql://root@localhost/zhifu"; return m }(), nil,
			"database", "flag --database", `the scheme "mysql" is not supported: write a SQLite file path`},
		{"database key=value", func() map[string]string { m := base(); delete(m, "database"); return m }(), map[string]string{"ZHIFU_DATABASE": "host=localhost dbname=zhifu"},
			"database", "environment ZHIFU_DATABASE", "write it as a URL"},
		{"database URL pgx cannot read", func() map[string]string { m := base(); m["database"] = "postgres://u@h:notaport/db"; return m }(), nil,
			"database", "flag --database", "is not a PostgreSQL URL pgx can read"},
		{"database in memory", func() map[string]string { m := base(); m["database"] = ":memory:"; return m }(), nil,
			"database", "flag --database", "orders must survive a restart"},
		{"default expiry too short", func() map[string]string { m := base(); m["default-expiry"] = "1m"; return m }(), nil,
			"default_expiry", "flag --default-expiry", "is outside Alipay's bounds: write a duration from 2m0s to 360h0m0s"},
		{"default expiry too long", base(), map[string]string{"ZHIFU_DEFAULT_EXPIRY": "400h"},
			"default_expiry", "environment ZHIFU_DEFAULT_EXPIRY", "outside Alipay's bounds"},
		{"default expiry not a duration", func() map[string]string { m := base(); m["default-expiry"] = "15"; return m }(), nil,
			"default_expiry", "flag --default-expiry", "is not a duration: write it as 15m"},
		{"seller id", func() map[string]string { m := base(); m["seller-id"] = "12345"; return m }(), nil,
			"seller_id", "flag --seller-id", "is not an Alipay user id: write 2088 and 12 digits"},
		{"paid after close policy", func() map[string]string { m := base(); m["paid-after-close"] = "refund"; return m }(), nil,
			"paid_after_close", "flag --paid-after-close", "write accept_and_flag or auto_refund"},
		{"log level", base(), map[string]string{"ZHIFU_LOG_LEVEL": "verbose"}, "log_level", "environment ZHIFU_LOG_LEVEL", "write debug, info, warn or error"},
		{"log format", func() map[string]string { m := base(); m["log-format"] = "xml"; return m }(), nil, "log_format", "flag --log-format", "write text or json"},
		{"listen", func() map[string]string { m := base(); m["listen"] = "8080"; return m }(), nil, "listen", "flag --listen", "write it as 127.0.0.1:8080"},
		{"gateway", func() map[string]string { m := base(); m["gateway"] = "live"; return m }(), nil, "gateway", "flag --gateway", "is neither production, sandbox nor an http(s) URL"},
		{"shutdown timeout", func() map[string]string { m := base(); m["shutdown-timeout"] = "0s"; return m }(), nil, "shutdown_timeout", "flag --shutdown-timeout", "is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, probs, _ := loadConfig(t, tt.env, flagArgs(tt.flags)...)
			wantProblem(t, probs, tt.field, tt.from, tt.msg)
			for _, p := range probs {
				if strings.Contains(p.String(), "TOPSECRET") {
					t.Errorf("a problem quotes a secret: %s", p)
				}
			}
		})
	}

	// The good configurations have no problem: key mode, certificate mode,
	// production with a public URL.
	for name, flags := range map[string]map[string]string{
		"key mode": base(), "certificate mode": certMode(base(), goodApp, goodAlipay, goodRoot), "production": prod(base()),
		"vectors' certificates without their intermediate": certMode(base(), vectorApp, filepath.Join(testdata, "certs", "alipayCertPublicKey_RSA2.crt"), filepath.Join(testdata, "certs", "alipayRootCert.crt")),
	} {
		if _, probs, _ := loadConfig(t, nil, flagArgs(flags)...); len(probs) > 0 {
			t.Errorf("%s: %v", name, configError(probs))
		}
	}
}

// TestServeNotifyURLModes checks that a notify URL Alipay cannot reach is
// refused only with the production gateway: a warning with Alipay's
// sandbox, nothing with a zhifu sandbox.
func TestServeNotifyURLModes(t *testing.T) {
	t.Parallel()
	args := func(gateway string) []string {
		return []string{"--app-id", "2021000000000001", "--app-private-key-file", keyPath("app_private_pkcs8.pem"),
			"--alipay-public-key-file", keyPath("alipay_public.pem"), "--public-url", "http://127.0.0.1:8080", "--gateway", gateway}
	}
	if _, probs, _ := loadConfig(t, nil, args("production")...); len(probs) != 1 || probs[0].field != "public_url" {
		t.Errorf("production: %v", probs)
	}
	_, probs, warns := loadConfig(t, nil, args("sandbox")...)
	if len(probs) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "cannot be reached by Alipay's sandbox") {
		t.Errorf("sandbox: %v %q", probs, warns)
	}
	if _, probs, warns := loadConfig(t, nil, args("http://127.0.0.1:8090/gateway.do")...); len(probs) != 0 || len(warns) != 0 {
		t.Errorf("zhifu sandbox: %v %q", probs, warns)
	}
}

// TestServeAllProblemsAtOnce runs zhifu serve with many mistakes: it
// starts nothing and lists every one, one per line.
func TestServeAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "zhifu.json", `{"listn": ":1"}`)
	var stdout, stderr strings.Builder
	env := map[string]string{"ZHIFU_WEBHOOK_URL": "https://shop.example.com/hook", "ZHIFU_APP_PRIVATE_KEY": "TOPSECRET-not-a-key"}
	code := mainEnv(t.Context(), []string{"serve", "--config", file, "--gateway", "production", "--public-url", "http://10.0.0.5",
		"--database", "mysql://x", "--default-expiry", "1m", "--alipay-public-key-file", keyPath("alipay_public.pem")},
		func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	if code != exitFail || stdout.String() != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	wantLines := []string{
		"zhifu serve: refusing to start: the configuration has 7 problems:",
		"  listn (config file " + file + "): unknown key",
		"  app_id: not set",
		"  app_private_key (environment ZHIFU_APP_PRIVATE_KEY): ",
		"  public_url (flag --public-url): the notify URL http://10.0.0.5/alipay/notify cannot be reached by Alipay",
		"  database (flag --database): the scheme \"mysql\"",
		"  default_expiry (flag --default-expiry): 1m0s is outside",
		"  webhook_secret: not set",
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(wantLines), stderr.String())
	}
	for i, want := range wantLines {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d:\n  %s\nwant it to start with\n  %s", i, lines[i], want)
		}
	}
	t.Log(stderr.String())
	if strings.Contains(stderr.String(), "TOPSECRET") {
		t.Errorf("the problems quote the private key:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "zhifu.db")); err == nil {
		t.Error("a database was created")
	}
}

func TestUnreachableReason(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"localhost": "this machine only", "LOCALHOST.": "this machine only", "127.0.0.1": "loopback", "127.8.9.10": "loopback",
		"[::1]": "loopback", "10.1.2.3": "private", "172.16.0.1": "private", "172.31.255.254": "private", "192.168.0.10": "private",
		"[fd00::1]": "private", "169.254.1.1": "link-local", "[fe80::1]": "link-local", "0.0.0.0": "unspecified", "[::]": "unspecified",
		"100.64.0.1": "carrier-grade NAT", "239.1.2.3": "multicast", "[::ffff:192.168.1.1]": "private", "payserver": "bare host name",
		"shop.local": ".local", "app.localhost": ".localhost", "db.internal": ".internal", "pay.home.arpa": ".home.arpa",
		"pay.example.com": "", "203.0.113.7": "", "8.8.8.8": "", "172.32.0.1": "", "[2001:4860::8888]": "", "xn--fiqs8s.cn": "",
	} {
		u := &url.URL{Scheme: "https", Host: host}
		got := unreachableReason(u)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", host, got, want)
		}
	}
}

// FuzzUnreachableReason checks that any notify URL is judged without
// panicking, and that a host accepted for production has a dot or is a
// public IP address.
func FuzzUnreachableReason(f *testing.F) {
	for _, s := range []string{"https://pay.example.com/alipay/notify", "http://127.0.0.1:8080/x", "http://[::1]/", "http://a/", "http://%zz/", "https://x.local./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if callbackURLProblem(s) != "" {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("%q accepted but does not parse: %v", s, err)
		}
		if unreachableReason(u) == "" {
			host := strings.TrimSuffix(u.Hostname(), ".")
			if !strings.Contains(host, ".") && !strings.Contains(host, ":") {
				t.Fatalf("%q accepted for production: host %q has no dot", s, host)
			}
		}
	})
}

// TestCallbackURLProblemHidesPasswords checks that no message about a bad
// notify, return or public URL shows a password it holds, whatever else
// is wrong with it.
func TestCallbackURLProblemHidesPasswords(t *testing.T) {
	for _, s := range []string{
		"https://u:hunter2-secret@pay.example.com/?a=1",
		"https://u:hunter2-secret@pay.example.com/#x",
		"ftp://u:hunter2-secret@pay.example.com/",
		"https://u:hunter2-secret@pay.example.com/%zz",
		"https://u:hunter2-secret@pay.example.com:bad/",
		"https://u:hunter2-secret@/",
	} {
		msg := callbackURLProblem(s)
		if msg == "" {
			t.Errorf("%q accepted", s)
		}
		if strings.Contains(msg, "hunter2-secret") {
			t.Errorf("%q: the message shows the password: %s", s, msg)
		}
	}
}
