package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"zhifu/alipay"
	"zhifu/internal/httpapi"
	"zhifu/payment"
)

// Paths of the endpoints Alipay calls, under the public URL.
const (
	notifyPath = "/alipay/notify"
	returnPath = "/alipay/return"
	adminPath  = "/admin" // the admin pages, when an admin password is set
)

// Timeouts of the server of zhifu serve.
const (
	serveReadHeaderTimeout = 10 * time.Second
	defaultShutdownTimeout = 30 * time.Second
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run the payment service: the JSON API, Alipay's notify and return, webhooks, admin pages and jobs",
		run: func(ctx context.Context, s *streams, args []string) int {
			return runServe(ctx, s, args, nil)
		},
	}
}

// serveHelp is the help of zhifu serve; the flags follow it.
const serveHelp = `
Usage: zhifu serve [--config FILE] [--app-id ID] [--app-private-key-file FILE]
                   [--alipay-public-key-file FILE | --app-cert-file FILE
                    --alipay-cert-file FILE --alipay-root-cert-file FILE]
                   [--gateway production|sandbox|URL] [--public-url URL]
                   [--database ./zhifu.db|postgres://…] [other flags]

Runs the payment service: orders in a database (SQLite, or PostgreSQL for
several instances), Alipay's notify endpoint (POST /alipay/notify) and
return endpoint (GET /alipay/return), and the jobs that query pending
orders, close expired ones and settle refunds.

Every setting comes, from lowest to highest precedence, from its default,
the JSON config file (--config or $ZHIFU_CONFIG), its environment variable
and its flag; docs/configuration.md lists them all. Secrets are never
flags: give them as files (--app-private-key-file, --webhook-secret-file,
--admin-password-file) or in the environment:
  ZHIFU_APP_PRIVATE_KEY   the app private key itself (PEM or base64)
  ZHIFU_WEBHOOK_SECRET    the webhook signing secret (32 characters or more)
  ZHIFU_ADMIN_PASSWORD    the admin pages' password (12 characters or more)
  ZHIFU_ADMIN_SESSION_KEY the key that signs admin sessions (32 characters or more)
  ZHIFU_DATABASE          the database, when its URL holds a password

It checks the configuration before it starts and refuses to start, listing
every problem, when something is missing or cannot work: keys of the wrong
side or of another pair, certificates that do not chain, a notify URL
that Alipay cannot reach with the production gateway, a webhook without
its secret.

It runs until interrupted (Ctrl+C or SIGTERM), then stops taking
connections, finishes the requests and jobs in flight (up to
--shutdown-timeout) and closes the database.`

// runServe runs zhifu serve with args. ready, when set, is called with the
// app and its listener's address once the app is built and the address
// is bound, before it serves: tests reach the app's Service through it.
func runServe(ctx context.Context, s *streams, args []string, ready func(*app, net.Addr)) int {
	f := newServeFlags(serveHelp)
	if code, done := f.parse(s, args); done {
		return code
	}
	raw, probs := f.gather(s.getenv)
	cfg, more := buildServeConfig(s, raw)
	probs = append(probs, more...)
	more, warnings := cfg.check()
	probs = append(probs, more...)
	if len(probs) > 0 {
		fmt.Fprintf(s.stderr, "zhifu serve: refusing to start: %v\n", configError(probs))
		return exitFail
	}
	for _, w := range warnings {
		fmt.Fprintf(s.stderr, "zhifu serve: warning: %s\n", w)
	}
	cfg.Logger = cfg.newLogger(s.stderr)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu serve: listen (%s): %v\n", cfg.from("listen"), err)
		return exitFail
	}
	if cfg.PublicURL == "" && cfg.NotifyURL == "" {
		// Outside production (check refused it there): this machine.
		cfg.PublicURL = "http://" + dialAddr(ln.Addr())
	}
	a, err := newApp(ctx, cfg, s.stdout)
	if err != nil {
		ln.Close()
		fmt.Fprintf(s.stderr, "zhifu serve: %v\n", err)
		return exitFail
	}
	if ready != nil {
		ready(a, ln.Addr())
	}
	if err := a.serve(ctx, ln); err != nil {
		fmt.Fprintf(s.stderr, "zhifu serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

// app is the payment service of zhifu serve, built by newApp: zhifu
// serve runs it, zhifu demo reuses it. The fields are what the JSON API,
// the admin pages and the webhooks are built on.
type app struct {
	cfg     *serveConfig
	logger  *slog.Logger
	out     io.Writer // progress lines
	db      *database
	alipay  *alipay.Client
	service *payment.Service
	jobs    *payment.Jobs // nil only if the Service was built without them
	// onChange are called, in order, after every committed change of an
	// order (payment.Config.OnChange): webhooks and metrics add theirs
	// here, in newApp, before the first request. Keep them quick.
	onChange []func(context.Context, payment.Change)
	// opsAddr is the address of the ops_listen listener while serve runs.
	opsAddr net.Addr
	// admin is the admin pages, or nil without an admin password.
	admin http.Handler
	// api serves the JSON API (/v1/), /healthz, /readyz and /metrics.
	api http.Handler
	// metrics count what the service does; webhooks (nil without a
	// webhook URL) tell the merchant's systems; bills reconciles Alipay's
	// daily bill.
	metrics   *httpapi.Metrics
	webhooks  *payment.Webhooks
	bills     *payment.BillReconciler
	stopOnce  sync.Once
	stopErr   error
	closeOnce sync.Once
	closeErr  error
	served    bool // serve ran its shutdown
}

// newApp checks cfg (the same checks as zhifu serve's, returned as one
// error listing every problem), opens the database with its migrations,
// and builds the Alipay client, the payment Service and its jobs (River's
// tables migrated, not started). Progress lines go to out. cfg may be
// made in code: its zero fields take zhifu serve's defaults, and its
// Now, HTTPClient and Logger are used when set. Close the app with close,
// or let serve close it.
func newApp(ctx context.Context, cfg *serveConfig, out io.Writer) (*app, error) {
	cfg.fillDefaults()
	if probs, _ := cfg.check(); len(probs) > 0 {
		return nil, configError(probs)
	}
	if cfg.notifyURL() == "" {
		return nil, configError{{field: "public_url", from: "not set", msg: "not set, and the listen address has no port yet: set it to the address Alipay reaches this server at"}}
	}
	if out == nil {
		out = io.Discard
	}
	a := &app{cfg: cfg, out: out, logger: cfg.Logger}
	if a.logger == nil {
		a.logger = cfg.newLogger(os.Stderr)
	}
	a.logger.Info("configuration", "config", cfg)
	// The metrics watch the Alipay calls: their transport wraps the
	// client's.
	a.metrics = httpapi.NewMetrics(httpapi.MetricsConfig{
		QueueDepth:      func(ctx context.Context) (map[string]int, error) { return a.db.queueDepth(ctx) },
		BillDifferences: func(ctx context.Context) (map[string]int, error) { return a.billDifferences(ctx) },
		// The metrics are served once the database is open.
		StoreTransactions: func() int64 { return a.db.store.Commits() },
		Logger:            a.logger,
	})
	acfg := cfg.alipayConfig()
	acfg.HTTPClient = a.metrics.InstrumentClient(acfg.HTTPClient)
	client, err := alipay.New(acfg)
	if err != nil {
		return nil, err
	}
	a.alipay = client

	fmt.Fprintf(out, "opening the %s database %s…\n", dbKind(cfg.Database), cfg.Database)
	db, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("opening the database %s: %w", cfg.Database, err)
	}
	a.db = db
	fmt.Fprintf(out, "database ready: migrations applied\n")
	if cfg.WebhookURL != "" {
		a.webhooks, err = payment.NewWebhooks(payment.WebhooksConfig{
			URL: cfg.WebhookURL, Secret: string(cfg.WebhookSecret), Store: db.store,
			Logger: a.logger, Now: cfg.Now, Observe: a.metrics.WebhookDelivered,
		})
		if err != nil {
			db.close()
			return nil, fmt.Errorf("webhooks: %w", err)
		}
		a.onChange = append(a.onChange, a.webhooks.OnChange)
	}
	a.onChange = append(a.onChange, a.metrics.OnChange)
	a.bills, err = payment.NewBillReconciler(payment.BillReconcilerConfig{
		Store: db.store, Alipay: client, Logger: a.logger, Now: cfg.Now,
	})
	if err != nil {
		db.close()
		return nil, fmt.Errorf("bill reconciliation: %w", err)
	}
	svc, err := payment.New(payment.Config{
		Observer:             a.metrics,
		Store:                db.store,
		Alipay:               client,
		SellerID:             cfg.SellerID,
		NotifyURL:            cfg.notifyURL(),
		ReturnURL:            cfg.returnURL(),
		PaidAfterClosePolicy: cfg.PaidAfterClose,
		Logger:               a.logger,
		Now:                  cfg.Now,
		DefaultExpiry:        cfg.DefaultExpiry,
		OnChange:             a.changed,
		Jobs: func(r payment.JobRunner) (*payment.Jobs, error) {
			return db.newJobs(ctx, payment.JobsConfig{
				Runner: r, Logger: a.logger, Now: cfg.Now, PollInterval: cfg.JobPollInterval,
				Webhooks: a.webhooks, Bills: payment.BillJobConfig{Reconciler: a.bills},
			})
		},
	})
	if err != nil {
		db.close()
		return nil, err
	}
	a.service, a.jobs = svc, svc.Jobs()
	fmt.Fprintf(out, "jobs ready: River's tables migrated\n")
	a.api, err = httpapi.New(httpapi.Config{
		Service: svc, Store: db.store, Keys: db.store, Idempotency: db.store, Metrics: a.metrics,
		Logger: a.logger, Now: cfg.Now, Webhooks: a.webhooks,
	})
	if err != nil {
		db.close()
		return nil, fmt.Errorf("the JSON API: %w", err)
	}
	if cfg.AdminPassword != "" {
		acfg := httpapi.AdminConfig{
			Service: svc, Store: db.store, Password: string(cfg.AdminPassword), BasePath: adminPath,
			Logger: a.logger, Now: cfg.Now, SecureCookies: strings.HasPrefix(cfg.notifyURL(), "https://"),
			Bills: adminBills{a.bills},
		}
		if cfg.AdminSessionKey != "" {
			acfg.SessionKey = []byte(cfg.AdminSessionKey)
		}
		if a.webhooks != nil {
			acfg.Webhooks = httpapi.AdminWebhooksOf(a.webhooks)
		}
		a.admin, err = httpapi.NewAdmin(acfg)
		if err != nil {
			db.close()
			return nil, fmt.Errorf("the admin pages: %w", err)
		}
	}
	return a, nil
}

// dbKind names the kind of database d is.
func dbKind(d dsn) string {
	if d.isPostgres() {
		return "PostgreSQL"
	}
	return "SQLite"
}

// fillDefaults gives the zero fields of a configuration made in code
// zhifu serve's defaults.
func (c *serveConfig) fillDefaults() {
	if c.Gateway == "" {
		c.Gateway = alipay.GatewayProduction
	}
	if c.PaidAfterClose == "" {
		c.PaidAfterClose = payment.PaidAfterCloseAcceptAndFlag
	}
	if c.DefaultExpiry == 0 {
		c.DefaultExpiry = payment.DefaultExpiry
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = defaultShutdownTimeout
	}
	if c.PublicURL == "" && c.NotifyURL == "" && c.mode() != modeProduction {
		// This machine, at the listen address, when its port is known.
		if host, port, err := net.SplitHostPort(c.Listen); err == nil && port != "0" {
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			c.PublicURL = "http://" + net.JoinHostPort(host, port)
		}
	}
}

// changed is the Service's OnChange: it hands the change to every hook.
func (a *app) changed(ctx context.Context, c payment.Change) {
	for _, f := range a.onChange {
		f(ctx, c)
	}
}

// handler returns the app's HTTP handler: newServeMux.
func (a *app) handler() http.Handler { return newServeMux(a) }

// newServeMux routes the app's endpoints: Alipay's notify and return, the
// admin pages (with an admin password), the JSON API (/v1/) and the
// operations endpoints (/healthz, /readyz, /metrics).
//
// With an ops_listen address, the operations endpoints are left out: they
// are on opsMux, served there.
func newServeMux(a *app) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST "+notifyPath, a.service.NotifyHandler())
	mux.Handle("GET "+returnPath, a.service.ReturnHandler())
	if a.admin != nil {
		mux.Handle(adminPath+"/", a.admin)
	}
	mux.Handle("/v1/", a.api)
	if a.cfg.OpsListen == "" {
		for _, p := range opsPaths {
			mux.Handle(p, a.api)
		}
	}
	return mux
}

// opsMux routes the operations endpoints alone, for the ops_listen
// address.
func opsMux(a *app) *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range opsPaths {
		mux.Handle(p, a.api)
	}
	return mux
}

// apiPaths are the paths the JSON API's handler serves: the API and the
// operations endpoints (opsPaths).
var (
	opsPaths = []string{"/healthz", "/readyz", "/metrics"}
	apiPaths = append([]string{"/v1/"}, opsPaths...)
)

// run listens on the configured address and serves (see serve).
func (a *app) run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		a.close(context.Background())
		return fmt.Errorf("listen (%s): %w", a.cfg.from("listen"), err)
	}
	return a.serve(ctx, ln)
}

// serve starts the jobs and serves HTTP on ln until ctx is done, then
// shuts down gracefully: it stops accepting connections, finishes the
// requests and the jobs in flight, within the shutdown timeout, and closes
// the database. It returns nil after a clean shutdown.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	var ops *http.Server
	opsServed := make(chan error, 1)
	if a.cfg.OpsListen != "" {
		oln, err := net.Listen("tcp", a.cfg.OpsListen)
		if err != nil {
			ln.Close()
			a.close(context.Background())
			return fmt.Errorf("listen (%s): %w", a.cfg.from("ops_listen"), err)
		}
		a.opsAddr = oln.Addr()
		ops = &http.Server{
			Handler:           opsMux(a),
			ReadHeaderTimeout: serveReadHeaderTimeout,
			ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		}
		go func() { opsServed <- ops.Serve(oln) }()
		fmt.Fprintf(a.out, "operations (/healthz, /readyz, /metrics) on http://%s\n", dialAddr(oln.Addr()))
	}
	if a.jobs != nil {
		if err := a.jobs.Start(context.WithoutCancel(ctx)); err != nil {
			ln.Close()
			if ops != nil {
				ops.Close()
			}
			a.close(context.Background())
			return fmt.Errorf("starting the jobs: %w", err)
		}
		fmt.Fprintf(a.out, "jobs started\n")
	}
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: serveReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(a.out, "listening on http://%s\n", dialAddr(ln.Addr()))
	fmt.Fprintf(a.out, "  notify URL: %s\n", a.cfg.notifyURL())
	if r := a.cfg.returnURL(); r != "" {
		fmt.Fprintf(a.out, "  return URL: %s\n", r)
	}
	fmt.Fprintf(a.out, "Stop with Ctrl+C: requests and jobs in flight are finished first.\n")
	a.logger.Info("serving", "addr", ln.Addr().String(), "gateway", a.alipay.Gateway(), "app_id", a.alipay.AppID())

	var serveErr error
	mainDone, opsDone := false, false
	select {
	case serveErr = <-served:
		mainDone = true
	case serveErr = <-opsServed:
		opsDone = true
	case <-ctx.Done():
	}
	fmt.Fprintf(a.out, "shutting down: finishing the requests and jobs in flight (up to %s)…\n", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	// The requests and the jobs in flight finish side by side, within
	// the one deadline; the database closes after both.
	a.served = true
	jobsStopped := make(chan error, 1)
	go func() { jobsStopped <- a.stopJobs(sctx) }()
	var errs []error
	if serveErr != nil {
		errs = append(errs, fmt.Errorf("serving: %w", serveErr))
	}
	if !mainDone {
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
			errs = append(errs, fmt.Errorf("requests still in flight after %s were cut off: %w", a.cfg.ShutdownTimeout, err))
		}
		<-served
	}
	if ops != nil && !opsDone {
		if err := ops.Shutdown(sctx); err != nil {
			ops.Close()
		}
		<-opsServed
	}
	if err := <-jobsStopped; err != nil {
		errs = append(errs, err)
	}
	if err := a.close(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "stopped\n")
	return nil
}

// stopJobs stops the jobs, waiting for those running until ctx is done.
// Stopping jobs stopped already does nothing.
func (a *app) stopJobs(ctx context.Context) error {
	a.stopOnce.Do(func() {
		if a.jobs == nil {
			return
		}
		if err := a.jobs.Stop(ctx); err != nil {
			a.stopErr = fmt.Errorf("stopping the jobs: %w", err)
		}
	})
	return a.stopErr
}

// close stops the jobs (waiting for those running until ctx is done) and
// closes the database. Calls after the first return its result.
func (a *app) close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		var errs []error
		if err := a.stopJobs(ctx); err != nil && !a.served {
			errs = append(errs, err) // serve reported it already
		}
		if err := a.db.close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the database: %w", err))
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}
