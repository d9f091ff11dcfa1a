package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"zhifu/alipay"
	"zhifu/sandbox"
)

// Files zhifu sandbox keeps in its data directory, beside the sandbox's
// own (sandbox.StateFileName, sandbox.AlipayKeyFileName).
const (
	sandboxAppFile       = "app.json"
	sandboxAlipayPubFile = "alipay_public_key.pem"
)

// Timeouts of the sandbox's HTTP server.
const (
	sandboxReadHeaderTimeout = 10 * time.Second
	sandboxShutdownTimeout   = 5 * time.Second
)

func sandboxCommand() *command {
	return &command{
		name:    "sandbox",
		summary: "run a local Alipay gateway (an emulator) with an app and its keys ready for any SDK",
		run:     runSandbox,
	}
}

// sandboxApp is an app zhifu sandbox registers: the data directory's own
// app, whose private key it holds, or one registered with --app-id.
type sandboxApp struct {
	app      sandbox.App
	private  string // path of the private key file; "" for --app-id
	certPath string // cert mode: the app certificate
}

// appJSON is the content of app.json: what another program needs to find
// the data directory's app.
type appJSON struct {
	AppID   string `json:"app_id"`
	Gateway string `json:"gateway"`
}

func runSandbox(ctx context.Context, s *streams, args []string) int {
	f := newFlagSet("zhifu sandbox", `
Usage: zhifu sandbox [--addr 127.0.0.1:8090] [--data-dir DIR] [--cert-mode]
                     [--app-id ID --app-public-key FILE] [--alipay-private-key FILE]
                     [--control-token TOKEN] [--base-url URL] [--time-scale F] [-v]

Runs a local emulator of Alipay's open-platform gateway (gateway.do) with its
cashier pages: any Alipay SDK works against it with nothing changed but the
gateway URL. It is not Alipay: it moves no money, and its keys are test keys.

On first start it creates an app in the data directory and writes
  app_private_key.pem     the app's private key (PKCS#8, mode 0600): configure it in your SDK
  app_public_key.pem      its public key
  alipay_private_key.pem  the sandbox's "Alipay" key (mode 0600), which signs responses and notifies
  alipay_public_key.pem   its public key: configure it in your SDK as Alipay's public key
  app.json                {"app_id": ..., "gateway": ...}
  sandbox-state.json      apps, trades, refunds, pending notifies and faults, saved as they change
and reuses them on every later start, so that trades and pending notifies
survive a restart. With --cert-mode it also issues, from its own root CA, the
files of certificate mode (公钥证书模式): appCertPublicKey_<app id>.crt, alipayCertPublicKey_RSA2.crt and
alipayRootCert.crt; requests must then carry app_cert_sn and alipay_root_cert_sn,
and responses carry alipay_cert_sn.

It prints the app id, the gateway URL and the paths of the files to configure
on stdout, logs on stderr, and runs until interrupted (Ctrl+C or SIGTERM),
when it finishes the requests in flight and saves its state.

The control API (/sandbox/api/) and the dashboard (/sandbox/) can pay, close
and break anything. Without a control token they answer only requests
addressed to localhost; with --control-token (or the environment variable
`+controlTokenEnv+`) they require it: the header "Authorization: Bearer TOKEN"
for the API, a login page for the dashboard. Set one whenever --addr is not a
loopback address.`)
	addr := f.String("addr", "127.0.0.1:8090", "listen on `HOST:PORT` (port 0: any free port; the real address is printed)")
	dataDir := f.String("data-dir", "./sandbox-data", "keep keys, certificates and state in `DIR` (created with mode 0700)")
	appID := f.String("app-id", "", "also register your existing app `ID` (needs --app-public-key)")
	appPubPath := f.String("app-public-key", "", "the public key `FILE` of --app-id: PEM or bare base64, SPKI or PKCS#1, or its certificate")
	alipayKeyPath := f.String("alipay-private-key", "", "sign as Alipay with the private key in `FILE` (PEM or base64) instead of the data directory's alipay_private_key.pem")
	timeScale := f.Float64("time-scale", 1, "compress the notifier's waits by the factor `F`: 0.001 turns Alipay's 25 hours of notify retries into 90 seconds")
	certMode := f.Bool("cert-mode", false, "certificate mode: issue the app and Alipay certificates and the root bundle, and require their SNs")
	baseURL := f.String("base-url", "", "the sandbox's public `URL` in QR codes and cashier links, such as http://192.168.1.5:8090 for a phone on the same network (default: the host each request names)")
	controlToken := f.String("control-token", "", "require `TOKEN` on the control API and the dashboard (default: $"+controlTokenEnv+")")
	verbose := f.Bool("v", false, "log every gateway call")
	if code, done := f.parse(s, args); done {
		return code
	}
	switch {
	case *dataDir == "":
		return f.usageError(s, "--data-dir must not be empty: the sandbox keeps its keys there")
	case *appID != "" && *appPubPath == "":
		return f.usageError(s, "--app-id %s needs --app-public-key FILE: the public key the sandbox verifies that app's requests with", *appID)
	case *appID == "" && *appPubPath != "":
		return f.usageError(s, "--app-public-key needs --app-id ID: the id of the app the key belongs to")
	case !(*timeScale > 0) || *timeScale > 1e6:
		return f.usageError(s, "--time-scale %v: want a number above 0, such as 1 (real time) or 0.001", *timeScale)
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(s.stderr, "zhifu sandbox: "+format+"\n", a...)
		return exitFail
	}
	token := *controlToken
	if token == "" && s.getenv != nil {
		token = s.getenv(controlTokenEnv)
	}
	if token == "" && !loopbackAddr(*addr) {
		fmt.Fprintf(s.stderr, "zhifu sandbox: warning: --addr %s is not a loopback address and no control token is set: "+
			"anyone who reaches it can pay, close and break trades through /sandbox/api/ (any client can claim Host: localhost). "+
			"Set --control-token TOKEN or %s.\n", *addr, controlTokenEnv)
	}

	// Read every file named on the command line before touching the data
	// directory, so that a mistake there changes nothing.
	var alipayKey *rsa.PrivateKey
	if *alipayKeyPath != "" {
		k, err := readPrivateKey(s, *alipayKeyPath)
		if err != nil {
			return fail("--alipay-private-key: %v", err)
		}
		alipayKey = k
	}
	var extra *sandboxApp
	if *appID != "" {
		k, err := readAnyKey(s, *appPubPath)
		if err != nil {
			return fail("--app-public-key: %v", err)
		}
		if k.kind == kindPrivate {
			return fail("--app-public-key: %s holds a private key. Give the sandbox the app's public key only (never hand out a private key); make it with: zhifu keys convert --in %s --to public --out app_public_key.pem", *appPubPath, *appPubPath)
		}
		extra = &sandboxApp{app: sandbox.App{AppID: *appID, AppPublicKey: k.pub}}
	}

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return fail("--data-dir: %v", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail("--data-dir: %v", err)
	}
	own, err := loadOrCreateSandboxApp(dir, *addr)
	if err != nil {
		return fail("%v", err)
	}
	if extra != nil && extra.app.AppID == own.app.AppID {
		return fail("--app-id %s is the id of the data directory's own app (%s); choose another id, or use another --data-dir", *appID, filepath.Join(dir, sandboxAppFile))
	}
	apps := []*sandboxApp{own}
	if extra != nil {
		apps = append(apps, extra)
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: level}))
	sb, err := sandbox.New(sandbox.Config{DataDir: dir, AlipayPrivateKey: alipayKey, Logger: logger, TimeScale: *timeScale, ControlToken: token, BaseURL: *baseURL})
	if err != nil {
		return fail("%v", err)
	}
	code := serveSandbox(ctx, s, sb, logger, dir, *addr, apps, *certMode)
	if err := sb.Stop(); err != nil {
		fmt.Fprintf(s.stderr, "zhifu sandbox: %v\n", err)
		return exitFail
	}
	if code == exitOK {
		logger.Info("sandbox stopped; state saved", "data_dir", dir)
	}
	return code
}

// serveSandbox registers apps with sb, writes the files clients need,
// prints them and serves on addr until ctx is done.
func serveSandbox(ctx context.Context, s *streams, sb *sandbox.Sandbox, logger *slog.Logger, dir, addr string, apps []*sandboxApp, certMode bool) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(s.stderr, "zhifu sandbox: "+format+"\n", a...)
		return exitFail
	}
	pub, err := alipay.MarshalPublicKeyPEM(sb.AlipayPublicKey())
	if err != nil {
		return fail("%v", err)
	}
	alipayPubPath := filepath.Join(dir, sandboxAlipayPubFile)
	if err := sandbox.WriteFileAtomic(alipayPubPath, pub, 0o644); err != nil {
		return fail("%v", err)
	}
	if certMode {
		if err := sandboxCertificates(dir, apps, sb.AlipayPublicKey(), logger); err != nil {
			return fail("certificate mode: %v", err)
		}
	}
	for _, a := range apps {
		// PutApp also turns certificate mode off for an app saved in it.
		if err := sb.PutApp(a.app); err != nil {
			return fail("registering app %s: %v", a.app.AppID, err)
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail("--addr: %v", err)
	}
	gateway := "http://" + dialAddr(ln.Addr()) + "/gateway.do"
	if err := writeAppJSON(dir, appJSON{AppID: apps[0].app.AppID, Gateway: gateway}); err != nil {
		ln.Close()
		return fail("%v", err)
	}
	printSandbox(s.stdout, dir, gateway, alipayPubPath, apps, certMode)

	srv := &http.Server{
		Handler:           sb,
		ReadHeaderTimeout: sandboxReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("sandbox listening", "gateway", gateway, "data_dir", dir)
	select {
	case err := <-served:
		return fail("serving: %v", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing the requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), sandboxShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still in flight were cut off", "err", err)
		srv.Close()
	}
	<-served
	return exitOK
}

// loadOrCreateSandboxApp returns the data directory's own app: from
// app.json and app_private_key.pem, or new ones written there.
func loadOrCreateSandboxApp(dir, addr string) (*sandboxApp, error) {
	jsonPath := filepath.Join(dir, sandboxAppFile)
	privPath := filepath.Join(dir, privateKeyFile)
	pubPath := filepath.Join(dir, publicKeyFile)
	var meta appJSON
	haveJSON := false
	switch b, err := os.ReadFile(jsonPath); {
	case err == nil:
		if err := json.Unmarshal(b, &meta); err != nil || meta.AppID == "" {
			return nil, fmt.Errorf("%s: not an app.json of zhifu sandbox (want {\"app_id\": ..., \"gateway\": ...}): %v", jsonPath, err)
		}
		haveJSON = true
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	var key *rsa.PrivateKey
	switch text, err := os.ReadFile(privPath); {
	case err == nil:
		if key, err = alipay.ParsePrivateKey(string(text)); err != nil {
			return nil, fmt.Errorf("%s: %w", privPath, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case haveJSON:
		return nil, fmt.Errorf("%s names app %s, but its private key %s is missing: put the key back, or move the directory away to start with a new app", jsonPath, meta.AppID, privPath)
	default:
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generating the app key: %w", err)
		}
		privPEM, err := alipay.MarshalPrivateKeyPEM(key)
		if err != nil {
			return nil, err
		}
		if err := writeNewFile(privPath, privPEM, 0o600); err != nil {
			return nil, err
		}
	}
	// The public key file is derived: written when missing or stale.
	pubPEM, err := alipay.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	if old, err := os.ReadFile(pubPath); err != nil || string(old) != string(pubPEM) {
		if err := sandbox.WriteFileAtomic(pubPath, pubPEM, 0o644); err != nil {
			return nil, err
		}
	}
	if !haveJSON {
		id, err := newSandboxAppID()
		if err != nil {
			return nil, err
		}
		meta = appJSON{AppID: id, Gateway: "http://" + addr + "/gateway.do"}
		if err := writeAppJSON(dir, meta); err != nil {
			return nil, err
		}
	}
	return &sandboxApp{app: sandbox.App{AppID: meta.AppID, AppPublicKey: &key.PublicKey}, private: privPath}, nil
}

// newSandboxAppID returns a new app id shaped like those of Alipay's
// sandbox: 16 digits starting 9021000.
func newSandboxAppID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating the app id: %w", err)
	}
	return fmt.Sprintf("9021000%09d", binary.BigEndian.Uint64(b[:])%1e9), nil
}

func writeAppJSON(dir string, meta appJSON) error {
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return sandbox.WriteFileAtomic(filepath.Join(dir, sandboxAppFile), append(b, '\n'), 0o644)
}

// sandboxCertificates switches apps to certificate mode with the
// certificate files in dir: those already there if they still fit the
// keys, else a new set from a new CA.
func sandboxCertificates(dir string, apps []*sandboxApp, alipayKey *rsa.PublicKey, logger *slog.Logger) error {
	rootPath := filepath.Join(dir, sandbox.RootCertFileName)
	alipayPath := filepath.Join(dir, sandbox.AlipayCertFileName)
	for _, a := range apps {
		a.certPath = filepath.Join(dir, sandbox.AppCertFileName(a.app.AppID))
	}
	if reuseCertificates(rootPath, alipayPath, apps, alipayKey) == nil {
		return nil
	}
	ca, err := sandbox.NewCA(nil)
	if err != nil {
		return err
	}
	alipayCert, err := ca.IssueAlipayCert(alipayKey)
	if err != nil {
		return err
	}
	root := ca.RootBundle()
	for _, a := range apps {
		appCert, err := ca.IssueAppCert(a.app.AppID, a.app.AppPublicKey)
		if err != nil {
			return err
		}
		c := sandbox.Certificates{AppCert: appCert, AlipayCert: alipayCert, AlipayRootCert: root}
		if err := c.Apply(&a.app, alipayKey); err != nil {
			return err
		}
		if err := sandbox.WriteFileAtomic(a.certPath, appCert, 0o644); err != nil {
			return err
		}
	}
	for path, data := range map[string][]byte{alipayPath: alipayCert, rootPath: root} {
		if err := sandbox.WriteFileAtomic(path, data, 0o644); err != nil {
			return err
		}
	}
	logger.Info("issued new certificates: load them again in your SDK", "root_cert_sn", ca.RootCertSN())
	return nil
}

// reuseCertificates applies the certificate files in dir to apps if they
// all exist and hold the right keys; it changes no app unless all fit.
func reuseCertificates(rootPath, alipayPath string, apps []*sandboxApp, alipayKey *rsa.PublicKey) error {
	root, err := os.ReadFile(rootPath)
	if err != nil {
		return err
	}
	alipayCert, err := os.ReadFile(alipayPath)
	if err != nil {
		return err
	}
	fitted := make([]sandbox.App, len(apps))
	for i, a := range apps {
		appCert, err := os.ReadFile(a.certPath)
		if err != nil {
			return err
		}
		fitted[i] = a.app
		c := sandbox.Certificates{AppCert: appCert, AlipayCert: alipayCert, AlipayRootCert: root}
		if err := c.Apply(&fitted[i], alipayKey); err != nil {
			return err
		}
	}
	for i, a := range apps {
		a.app = fitted[i]
	}
	return nil
}

// controlTokenEnv is the environment variable read when --control-token
// is not given.
const controlTokenEnv = "ZHIFU_SANDBOX_CONTROL_TOKEN"

// loopbackAddr reports whether the listen address addr (HOST:PORT) takes
// connections from this machine only: a loopback IP or "localhost". An
// empty host listens on every interface; any other name is assumed to
// reach beyond the machine.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialAddr returns the address clients on this machine reach a listener
// at: a wildcard host becomes the loopback address.
func dialAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// printSandbox prints what a developer pastes into an SDK.
func printSandbox(w io.Writer, dir, gateway, alipayPub string, apps []*sandboxApp, certMode bool) {
	own := apps[0]
	fmt.Fprintf(w, "zhifu sandbox: an Alipay gateway on this machine (test keys, no real money)\n\n")
	line := func(label, value string) { fmt.Fprintf(w, "  %-19s %s\n", label+":", value) }
	line("gateway", gateway)
	line("dashboard", strings.TrimSuffix(gateway, "/gateway.do")+"/sandbox/")
	line("app id", own.app.AppID)
	line("app private key", own.private)
	line("alipay public key", alipayPub)
	if certMode {
		line("app cert", own.certPath)
		line("alipay cert", filepath.Join(dir, sandbox.AlipayCertFileName))
		line("alipay root cert", filepath.Join(dir, sandbox.RootCertFileName))
	}
	for _, a := range apps[1:] {
		fmt.Fprintln(w)
		line("your app id", a.app.AppID+" (sign with its own private key)")
		if certMode {
			line("your app cert", a.certPath)
		}
	}
	fmt.Fprintf(w, "\n  %-19s %s\n", "data dir:", dir)
	fmt.Fprintf(w, "\nConfigure any Alipay SDK with these; only the gateway URL differs from real Alipay.\n")
	if certMode {
		fmt.Fprintf(w, "Certificate mode: configure the three certificate files instead of the Alipay public key.\n")
	}
	fmt.Fprintf(w, "Stop with Ctrl+C: trades are kept in the data dir for the next start.\n")
}
