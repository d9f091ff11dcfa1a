package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
)

// notifyBuffer is an output stream that signals every write.
type notifyBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // capacity 1
}

func newNotifyBuffer() *notifyBuffer { return &notifyBuffer{written: make(chan struct{}, 1)} }

func (b *notifyBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.written <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *notifyBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningSandbox is zhifu sandbox running in-process.
type runningSandbox struct {
	stdout, stderr *notifyBuffer
	stop           context.CancelFunc
	exited         chan int
	once           sync.Once
	info           map[string]string // the printed "label: value" lines
}

// printedLine matches a "  label:  value" line of zhifu sandbox's output.
var printedLine = regexp.MustCompile(`(?m)^  ([a-z ]+):\s+(\S+)`)

// startSandbox runs zhifu sandbox with args until the test ends, and
// waits until it has printed its gateway: it listens from then on.
func startSandbox(t *testing.T, args ...string) *runningSandbox {
	t.Helper()
	return startSandboxEnv(t, nil, args...)
}

// startSandboxEnv is startSandbox with the environment env (nothing else
// of the process's environment is seen).
func startSandboxEnv(t *testing.T, env map[string]string, args ...string) *runningSandbox {
	t.Helper()
	getenv := func(key string) string { return env[key] }
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningSandbox{stdout: newNotifyBuffer(), stderr: newNotifyBuffer(), stop: cancel, exited: make(chan int, 1)}
	go func() {
		rs.exited <- mainEnv(ctx, append([]string{"sandbox"}, args...), getenv, strings.NewReader(""), rs.stdout, rs.stderr)
	}()
	t.Cleanup(func() { rs.shutdown(t) })
	deadline := time.After(time.Minute)
	for !strings.Contains(rs.stdout.String(), "Stop with Ctrl+C") {
		select {
		case <-rs.stdout.written:
		case code := <-rs.exited:
			rs.exited <- code
			t.Fatalf("zhifu sandbox exited with %d before it was ready\nstdout:\n%s\nstderr:\n%s", code, rs.stdout, rs.stderr)
		case <-deadline:
			t.Fatalf("zhifu sandbox did not print its gateway\nstdout:\n%s\nstderr:\n%s", rs.stdout, rs.stderr)
		}
	}
	rs.info = make(map[string]string)
	for _, m := range printedLine.FindAllStringSubmatch(rs.stdout.String(), -1) {
		rs.info[m[1]] = m[2]
	}
	return rs
}

// shutdown interrupts the sandbox, as Ctrl+C does, and checks that it
// stops cleanly. Calling it again does nothing.
func (rs *runningSandbox) shutdown(t *testing.T) {
	t.Helper()
	rs.once.Do(func() {
		rs.stop()
		select {
		case code := <-rs.exited:
			if code != 0 {
				t.Errorf("zhifu sandbox exited with %d\nstderr:\n%s", code, rs.stderr)
			}
		case <-time.After(time.Minute):
			t.Error("zhifu sandbox did not stop")
		}
	})
}

// readFile returns the content of path, failing the test on error.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// client returns an SDK client configured from what rs printed: key mode,
// or certificate mode with its certificate files.
func (rs *runningSandbox) client(t *testing.T, certMode bool) *alipay.Client {
	t.Helper()
	cfg := alipay.Config{AppID: rs.info["app id"], PrivateKey: readFile(t, rs.info["app private key"]), Gateway: rs.info["gateway"]}
	if certMode {
		cfg.AppCert = readFile(t, rs.info["app cert"])
		cfg.AlipayCert = readFile(t, rs.info["alipay cert"])
		cfg.AlipayRootCert = readFile(t, rs.info["alipay root cert"])
	} else {
		cfg.AlipayPublicKey = readFile(t, rs.info["alipay public key"])
	}
	c, err := alipay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// payAndQuery makes a paid trade through c and queries it.
func payAndQuery(t *testing.T, c *alipay.Client, outTradeNo string) {
	t.Helper()
	ctx := context.Background()
	pre, err := c.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: outTradeNo + "_QR", TotalAmount: 100, Subject: "QR"})
	if err != nil || !strings.Contains(pre.QRCode, "/qr/") {
		t.Fatalf("precreate: %+v %v", pre, err)
	}
	if _, err := c.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: outTradeNo, TotalAmount: 1234, Subject: "barcode", AuthCode: "281234567890123456"}); err != nil {
		t.Fatal(err)
	}
	q, err := c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: outTradeNo})
	if err != nil || q.TradeStatus != alipay.TradeStatusSuccess || q.TotalAmount != 1234 {
		t.Fatalf("query: %+v %v", q, err)
	}
}

func TestSandboxCommandKeyMode(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	rs := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", dir)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*/gateway\.do$`).MatchString(rs.info["gateway"]) {
		t.Fatalf("gateway %q\n%s", rs.info["gateway"], rs.stdout)
	}
	appID := rs.info["app id"]
	if !regexp.MustCompile(`^9021000[0-9]{9}$`).MatchString(appID) {
		t.Errorf("app id %q", appID)
	}
	for name, perm := range map[string]os.FileMode{
		"app_private_key.pem": 0o600, "app_public_key.pem": 0o644, "alipay_private_key.pem": 0o600,
		"alipay_public_key.pem": 0o644, "app.json": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != perm {
			t.Errorf("%s: %v %v, want mode %#o", name, fi, err, perm)
		}
	}
	var meta appJSON
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "app.json"))), &meta); err != nil || meta.AppID != appID || meta.Gateway != rs.info["gateway"] {
		t.Errorf("app.json: %+v %v", meta, err)
	}
	payAndQuery(t, rs.client(t, false), "CLI_1")
	rs.shutdown(t)
	if !strings.Contains(rs.stderr.String(), "state saved") {
		t.Errorf("no shutdown log:\n%s", rs.stderr)
	}

	// The next start reuses the app, its keys and its trades.
	rs2 := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", dir)
	if rs2.info["app id"] != appID {
		t.Errorf("app id %s after a restart, was %s", rs2.info["app id"], appID)
	}
	q, err := rs2.client(t, false).TradeQuery(context.Background(), alipay.TradeQueryRequest{OutTradeNo: "CLI_1"})
	if err != nil || q.TradeStatus != alipay.TradeStatusSuccess || q.TotalAmount != 1234 {
		t.Errorf("the trade after a restart: %+v %v", q, err)
	}
}

func TestSandboxCommandCertMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rs := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", dir, "--cert-mode")
	if want := filepath.Join(dir, "appCertPublicKey_"+rs.info["app id"]+".crt"); rs.info["app cert"] != want {
		t.Errorf("app cert %q, want %q", rs.info["app cert"], want)
	}
	payAndQuery(t, rs.client(t, true), "CLI_CERT")
	// Key mode is refused: the app is in certificate mode.
	_, err := rs.client(t, false).TradeQuery(context.Background(), alipay.TradeQueryRequest{OutTradeNo: "CLI_CERT"})
	var ae *alipay.Error
	if !errors.As(err, &ae) || ae.SubCode != "isv.missing-app-cert-sn" {
		t.Errorf("key-mode call to a cert-mode app: %v", err)
	}
	root := readFile(t, rs.info["alipay root cert"])
	rs.shutdown(t)

	// A restart keeps the certificates: clients need not reload them.
	rs2 := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", dir, "--cert-mode")
	if readFile(t, rs2.info["alipay root cert"]) != root {
		t.Error("the root bundle changed on restart")
	}
	if _, err := rs2.client(t, true).TradeQuery(context.Background(), alipay.TradeQueryRequest{OutTradeNo: "CLI_CERT"}); err != nil {
		t.Error(err)
	}
	rs2.shutdown(t)

	// Without --cert-mode the app is back in key mode.
	rs3 := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", dir)
	if _, err := rs3.client(t, false).TradeQuery(context.Background(), alipay.TradeQueryRequest{OutTradeNo: "CLI_CERT"}); err != nil {
		t.Error(err)
	}
}

func TestSandboxCommandExistingApp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64, err := alipay.MarshalPublicKeyBase64(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(dir, "mine.pub")
	if err := os.WriteFile(pubPath, []byte(b64+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// --alipay-private-key: the sandbox signs with the given key.
	alipayKeyPath := keyPath("alipay_private_pkcs1.pem")
	rs := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--app-id", "2021000000000042", "--app-public-key", pubPath, "--alipay-private-key", alipayKeyPath, "--cert-mode")
	if rs.info["your app id"] != "2021000000000042" {
		t.Fatalf("output:\n%s", rs.stdout)
	}
	got, err := alipay.ParsePublicKey(readFile(t, rs.info["alipay public key"]))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := alipay.ParsePublicKey(readFile(t, keyPath("alipay_public.pem"))); !got.Equal(want) {
		t.Error("alipay_public_key.pem is not the public half of --alipay-private-key")
	}
	keyPEM, err := alipay.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := alipay.New(alipay.Config{AppID: "2021000000000042", PrivateKey: string(keyPEM), Gateway: rs.info["gateway"],
		AppCert: readFile(t, rs.info["your app cert"]), AlipayCert: readFile(t, rs.info["alipay cert"]),
		AlipayRootCert: readFile(t, rs.info["alipay root cert"])})
	if err != nil {
		t.Fatal(err)
	}
	payAndQuery(t, c, "MINE_1")
	payAndQuery(t, rs.client(t, true), "OWN_1")
}

func TestSandboxCommandBadFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPath := keyPath("app_private_pkcs8.pem")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"app id without key", []string{"--app-id", "2021000000000042"}, 2, "--app-id 2021000000000042 needs --app-public-key FILE"},
		{"key without app id", []string{"--app-public-key", keyPath("app_public.pem")}, 2, "--app-public-key needs --app-id"},
		{"missing key file", []string{"--app-id", "2021000000000042", "--app-public-key", filepath.Join(dir, "nope.pem")}, 1, "nope.pem: no such file"},
		{"private key as public key", []string{"--app-id", "2021000000000042", "--app-public-key", privPath}, 1, "holds a private key"},
		{"missing Alipay key", []string{"--alipay-private-key", filepath.Join(dir, "nope.pem")}, 1, "--alipay-private-key: open"},
		{"public key as Alipay key", []string{"--alipay-private-key", keyPath("alipay_public.pem")}, 1, "--alipay-private-key:"},
		{"time scale", []string{"--time-scale", "0"}, 2, "--time-scale 0"},
		{"empty data dir", []string{"--data-dir", ""}, 2, "--data-dir must not be empty"},
		{"bad base URL", []string{"--base-url", "ftp://x"}, 1, "BaseURL"},
		{"bad address", []string{"--addr", "127.0.0.1:99999"}, 1, "--addr"},
		{"positional argument", []string{"now"}, 2, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"sandbox", "--data-dir", filepath.Join(t.TempDir(), "data")}, tt.args...)
			r := run(t, "", args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("want exit %d and %q\n%v", tt.code, tt.want, r)
			}
			if strings.Contains(r.stdout, "gateway") {
				t.Errorf("printed a gateway although it failed:\n%v", r)
			}
		})
	}
}
