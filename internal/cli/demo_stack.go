package cli

import (
	"context"
	"crypto/rand"
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
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"zhifu/alipay"
	"zhifu/internal/shop"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// Where zhifu demo keeps its state, inside its data directory.
const (
	demoSandboxDir = "sandbox"  // the sandbox's keys and trades, and the app's keys
	demoDBFile     = "zhifu.db" // the payment service's orders and River's jobs
	// demoAdminPasswordFile holds the admin pages' password, made at the
	// first start and printed at every start: it guards only the demo's
	// test data.
	demoAdminPasswordFile = "admin-password"
)

// demoReturnPath is the return URL's path on the demo's one listener,
// served by the shop. The sandbox answers its own paths (gateway,
// cashier, QR scan page, bill downloads, dashboard), the payment service
// Alipay's notify (notifyPath) and its admin pages, and the shop the rest.
const demoReturnPath = "/return"

// demoSandboxPaths are the path prefixes the sandbox serves on the demo's
// listener: its handler builds its links from the root, so it cannot live
// under a prefix.
var demoSandboxPaths = []string{"/gateway.do", "/cashier/", "/qr/", "/bill/", "/sandbox", "/sandbox/"}

// demoServicePaths are the path prefixes the payment service (zhifu
// serve's handler) serves on the demo's listener.
var demoServicePaths = append([]string{"/alipay/", adminPath + "/"}, apiPaths...)

// DemoBuyerAccount and DemoBuyerBalance are what the sandbox's cashier
// shows as its buyer; a test checks that the cashier still says so.
const (
	DemoBuyerAccount = "test-buyer@sandbox.zhifu"
	DemoBuyerBalance = "¥1,000,000.00"
)

// DemoConfig configures StartDemo.
type DemoConfig struct {
	// Addr is where the one HTTP listener listens, HOST:PORT (port 0: a
	// free one). Required.
	Addr string
	// DataDir keeps the keys, the sandbox's trades and the orders
	// database, so that a restart finds them again (created with mode
	// 0700). Required.
	DataDir string
	// TimeScale compresses the sandbox's notify retry schedule (see
	// sandbox.Config.TimeScale). Default 1.
	TimeScale float64
	// JobPollInterval is how often the payment jobs look for work that is
	// due. Default payment.DefaultJobPollInterval.
	JobPollInterval time.Duration
	// Logger receives the components' logs. Default: discarded.
	Logger *slog.Logger
	// Progress receives a line as each part starts. Default: discarded.
	Progress io.Writer
	// OnChange is called after every committed change of an order (see
	// payment.Config.OnChange): how a test waits for a notify or a job
	// without sleeping. Default: none.
	OnChange func(ctx context.Context, c payment.Change)
}

// Demo is the running stack of zhifu demo: the sandbox, the payment
// service with its jobs on SQLite, and the shop, behind one listener.
// Tests start it with StartDemo and move its clock with Advance.
type Demo struct {
	// URL is the base URL of the listener, such as http://127.0.0.1:8080:
	// the shop is at URL + "/".
	URL string
	// SandboxURL is the sandbox dashboard's URL.
	SandboxURL string
	// AdminURL is the admin pages' URL, and AdminPassword their password
	// (made at the first start in DataDir, kept there).
	AdminURL, AdminPassword string
	// DataDir is the absolute data directory.
	DataDir string
	// AppID is the id of the demo's app at the sandbox.
	AppID string
	// Sandbox, Service and Store are the running parts, for tests.
	Sandbox *sandbox.Sandbox
	Service *payment.Service
	Store   *sqlitestore.Store

	app    *app
	srv    *http.Server
	served chan error
	once   sync.Once
	err    error
}

// ErrAddrInUse is returned (wrapped) by StartDemo when DemoConfig.Addr is
// taken by another program.
var ErrAddrInUse = errors.New("address already in use")

// StartDemo starts the demo stack and returns it serving; stop it with
// Shutdown. On first start in DataDir it creates the app's keys and the
// sandbox's Alipay key there (never printed); later starts use them and
// find the trades and orders of before. The clock of a started Demo runs
// with the wall clock until Advance moves it.
func StartDemo(ctx context.Context, cfg DemoConfig) (_ *Demo, err error) {
	if cfg.Addr == "" || cfg.DataDir == "" {
		return nil, errors.New("DemoConfig.Addr and DataDir are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	progress := func(format string, a ...any) { fmt.Fprintf(cfg.Progress, format+"\n", a...) }
	d := &Demo{served: make(chan error, 1)}
	// Whatever started is stopped again when a later step fails.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			err = fmt.Errorf("zhifu demo: %w", err)
		}
	}()

	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	d.DataDir = dir
	sbDir := filepath.Join(dir, demoSandboxDir)
	if err := os.MkdirAll(sbDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %w by another program (another zhifu demo?): stop it, or choose another address, such as --addr 127.0.0.1:8081, or --addr 127.0.0.1:0 for any free port", cfg.Addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("--addr %s: %w", cfg.Addr, err)
	}
	undo = append(undo, func() { ln.Close() })
	d.URL = "http://" + dialAddr(ln.Addr())
	d.SandboxURL = d.URL + "/sandbox/"
	gateway := d.URL + "/gateway.do"

	progress("starting the Alipay sandbox…")
	own, err := loadOrCreateSandboxApp(sbDir, dialAddr(ln.Addr()))
	if err != nil {
		return nil, err
	}
	if err := writeAppJSON(sbDir, appJSON{AppID: own.app.AppID, Gateway: gateway}); err != nil {
		return nil, err
	}
	sb, err := sandbox.New(sandbox.Config{DataDir: sbDir, Logger: cfg.Logger.With("part", "sandbox"), TimeScale: cfg.TimeScale})
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { sb.Stop() })
	if err := sb.PutApp(own.app); err != nil {
		return nil, fmt.Errorf("registering the demo app: %w", err)
	}
	app, _ := sb.App(own.app.AppID)
	d.Sandbox, d.AppID = sb, app.AppID

	privPEM, err := os.ReadFile(own.private)
	if err != nil {
		return nil, err
	}
	alipayPub, err := alipay.MarshalPublicKeyPEM(sb.AlipayPublicKey())
	if err != nil {
		return nil, err
	}
	pw, err := loadOrCreateDemoPassword(filepath.Join(dir, demoAdminPasswordFile))
	if err != nil {
		return nil, err
	}
	// The payment service is zhifu serve's, configured in code: the
	// sandbox is its gateway, the shop's page its return URL.
	a, err := newApp(ctx, &serveConfig{
		Listen:          dialAddr(ln.Addr()),
		AppID:           app.AppID,
		AppPrivateKey:   secret(privPEM),
		AlipayPublicKey: string(alipayPub),
		Gateway:         gateway,
		PublicURL:       d.URL,
		ReturnURL:       d.URL + demoReturnPath,
		SellerID:        app.SellerID,
		Database:        dsn(filepath.Join(dir, demoDBFile)),
		AdminPassword:   secret(pw),
		Logger:          cfg.Logger.With("part", "payment"),
		// One clock: the sandbox's trade clock, whose advance it saves, so
		// that after a restart both still agree.
		Now:             sb.Now,
		JobPollInterval: cfg.JobPollInterval,
	}, cfg.Progress)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { a.close(context.Background()) })
	if cfg.OnChange != nil {
		a.onChange = append(a.onChange, cfg.OnChange)
	}
	d.app, d.Service, d.Store, d.AdminPassword = a, a.service, a.db.sqlite, pw
	d.AdminURL = d.URL + adminPath + "/"
	progress("starting the payment jobs (reconcile, expire, refunds)…")
	if err := a.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("starting the payment jobs: %w", err)
	}

	progress("opening the shop…")
	sh, err := shop.New(shop.Config{Service: a.service, Orders: a.db.sqlite, SandboxURL: d.SandboxURL, Logger: cfg.Logger.With("part", "shop")})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, p := range demoSandboxPaths {
		mux.Handle(p, sb)
	}
	service := a.handler()
	for _, p := range demoServicePaths {
		mux.Handle(p, service)
	}
	mux.Handle("/", sh)
	d.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: sandboxReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	go func() { d.served <- d.srv.Serve(ln) }()
	progress("ready.")
	return d, nil
}

// loadOrCreateDemoPassword returns the password kept in the file at path,
// making a random one there (mode 0600) at the first start.
func loadOrCreateDemoPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if pw := strings.TrimSpace(string(b)); utf8.RuneCountInString(pw) >= minAdminPassword {
			return pw, nil
		}
		return "", fmt.Errorf("%s: the admin password there is shorter than %d characters: write a longer one, or remove the file to have a new one made", path, minAdminPassword)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	pw := strings.ToLower(rand.Text()[:16])
	if err := sandbox.WriteFileAtomic(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}

// Now returns the demo's clock: the sandbox's trade clock, which the
// payment service and its jobs follow too.
func (d *Demo) Now() time.Time { return d.Sandbox.Now() }

// Advance moves the demo's clocks forward by dur: the payment service's
// and its jobs' (River's time is stubbed to it), and the sandbox's trade
// clock. Orders and trades past their expiry then close, as they would
// after waiting. Request timestamps keep the wall clock, as at Alipay.
func (d *Demo) Advance(dur time.Duration) { d.Sandbox.Advance(dur) }

// Served returns a channel that receives the error that ended the
// listener early; nothing is sent while it serves.
func (d *Demo) Served() <-chan error { return d.served }

// Shutdown stops the stack gracefully: the jobs finish what they are
// running, the sandbox saves its state, the requests in flight finish
// (until ctx is done), and the database is closed. Calling it again
// returns the first result.
func (d *Demo) Shutdown(ctx context.Context) error {
	d.once.Do(func() {
		var errs []error
		if err := d.app.stopJobs(ctx); err != nil {
			errs = append(errs, err)
		}
		// The requests in flight (a cashier's payment) finish before the
		// sandbox saves its state and stops, so that none is lost.
		if err := d.srv.Shutdown(ctx); err != nil {
			d.srv.Close()
			errs = append(errs, fmt.Errorf("requests still in flight were cut off: %w", err))
		}
		if err := d.Sandbox.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the sandbox: %w", err))
		}
		if err := d.app.close(ctx); err != nil {
			errs = append(errs, err)
		}
		d.err = errors.Join(errs...)
	})
	return d.err
}
