package sandbox

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"zhifu/alipay"
)

// maxBodyBytes bounds a request body. Real requests are a few kilobytes; a
// larger body is answered with an Alipay-shaped error, never read whole.
const maxBodyBytes = 1 << 20

// Config configures a Sandbox. The zero Config is ready to use.
type Config struct {
	// Now is the wall clock. Default: time.Now. The sandbox's trade clock
	// is Now plus the time added by Sandbox.Advance; request timestamps are
	// checked against Now alone, so that advancing the trade clock does not
	// make every client's timestamp stale.
	Now func() time.Time

	// BaseURL is the public URL of the sandbox, such as
	// "http://127.0.0.1:8090", used in QR codes and cashier links.
	// Default: derived from each request's Host (http, or https behind
	// TLS).
	BaseURL string

	// AlipayPrivateKey is the sandbox's "Alipay" key: it signs responses,
	// returns and notifies. Default: the key kept in DataDir (created
	// there on first use), or without DataDir a new 2048-bit key; clients
	// get the public half from Sandbox.AlipayPublicKey.
	AlipayPrivateKey *rsa.PrivateKey

	// DataDir, when set, keeps the sandbox's state across restarts: New
	// loads the apps, trades, refunds and open checkouts, the notifies not
	// yet acknowledged (resumed on their retry schedule), the API and
	// notify faults and the clock's advance saved in
	// DataDir/sandbox-state.json (StateFileName), and every change is
	// written back there soon after it happens and by Stop. Notify
	// attempts and fault injections already made are not kept. Default:
	// the state lives in memory only.
	DataDir string

	// Logger receives a line per gateway call (debug) and every recovered
	// panic (error). Default: discard.
	Logger *slog.Logger

	// OnEvent is called with every change of a trade, in the order of the
	// changes (see Event). It runs outside the sandbox's locks and may call
	// the Sandbox, but it delays the calls that made the change: hand the
	// event to a queue. Default: none.
	OnEvent func(Event)

	// NotifySchedule is the waits between the deliveries of an async
	// notify the merchant did not acknowledge, before Config.TimeScale.
	// Default (nil): DefaultNotifySchedule, Alipay's 8 deliveries in about
	// 25 hours. An empty non-nil schedule delivers each notify once.
	NotifySchedule []time.Duration

	// TimeScale multiplies the waits of NotifySchedule: 0.001 turns
	// Alipay's 25 hours into 90 seconds. Trade expiry is not scaled
	// (Advance moves the trade clock). Default (0): 1.
	TimeScale float64

	// NotifyTimeout bounds one delivery of a notify, in real time.
	// Default: DefaultNotifyTimeout (15 seconds).
	NotifyTimeout time.Duration

	// NotifyWorkers is how many notifies are delivered at once. Default:
	// DefaultNotifyWorkers.
	NotifyWorkers int

	// NotifyTable says which events of which products send a notify.
	// Default: DefaultNotifyTable().
	NotifyTable NotifyTable

	// HTTPClient delivers notifies; its CheckRedirect is replaced, as
	// redirects are never followed. Default: a client on a copy of
	// http.DefaultTransport that keeps NotifyWorkers idle connections per
	// host.
	HTTPClient *http.Client

	// ControlToken, when set, is required by the control API under
	// /sandbox/api/ (header "Authorization: Bearer <token>") and by the
	// dashboard (entered once on its login page, then kept in a cookie).
	// Default: none, and then the control API and the dashboard answer
	// only requests addressed to a loopback host (localhost, 127.0.0.1,
	// [::1]) or to the host of BaseURL. They can pay, close and break
	// anything: never expose them beyond your machine without a token.
	ControlToken string
}

// validate fills in defaults and checks cfg.
func (cfg *Config) validate() error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("sandbox: Config.BaseURL %q is not an absolute http(s) URL without query", cfg.BaseURL)
		}
		cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	if err := cfg.validateNotify(); err != nil {
		return err
	}
	if cfg.AlipayPrivateKey == nil {
		k, err := defaultAlipayKey(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.AlipayPrivateKey = k
	}
	if bits := cfg.AlipayPrivateKey.N.BitLen(); bits < alipay.MinKeyBits {
		return fmt.Errorf("sandbox: Config.AlipayPrivateKey has %d bits; Alipay's keys have %d", bits, alipay.MinKeyBits)
	}
	return nil
}

// Sandbox is an emulated Alipay gateway: an http.Handler serving
// /gateway.do and the cashier pages, and a programmatic API for tests.
// It is safe for concurrent use.
type Sandbox struct {
	cfg      Config
	clock    *clock
	notifier *notifier
	expirer  *expirer
	apps     appRegistry
	store    *tradeStore
	buyer    buyer
	mux      *http.ServeMux
	log      *slog.Logger
	method   map[string]*methodSpec
	hooks    callHooks
	saver    *persister // nil without Config.DataDir
	bills    *billDesk  // bills issued and not downloaded yet
	faults   faultSet
	dash     *dashboard
}

// New returns a Sandbox configured by cfg, with no apps but those saved
// in cfg.DataDir: add them with AddApp. Call Stop when done.
func New(cfg Config) (*Sandbox, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	buyerID, err := newUserID()
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		cfg:    cfg,
		clock:  newClock(cfg.Now),
		apps:   appRegistry{apps: make(map[string]*App)},
		buyer:  buyer{id: buyerID, logonID: sandboxBuyerLogonID},
		log:    cfg.Logger,
		method: methodTable(),
		bills:  newBillDesk(),
	}
	s.store = newTradeStore(s.handleEvent)
	s.notifier = newNotifier(&s.cfg, s.clock, &s.apps)
	s.expirer = newExpirer(s.clock, func(appID, outTradeNo string) { s.Trade(appID, outTradeNo) })
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /gateway.do", s.serveGateway)
	s.mux.HandleFunc("POST /gateway.do", s.serveGateway)
	s.routeCashier(s.mux)
	s.routeBill(s.mux)
	s.hooks = s.faultHooks()
	s.store.latePay = s.latePay
	if err := s.routeControl(s.mux); err != nil {
		return nil, err
	}
	s.store.onChange = s.stateChanged
	s.notifier.onChange = s.stateChanged
	if err := s.openDataDir(); err != nil {
		return nil, err
	}
	s.notifier.start()
	return s, nil
}

// handleEvent hands a change of a trade to the expiry timers, the
// notifier and Config.OnEvent.
func (s *Sandbox) handleEvent(ev Event) {
	s.expirer.handle(ev)
	s.notifier.handle(ev)
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}

// ServeHTTP implements http.Handler. A panic in a handler is logged and
// answered as Alipay answers a system error (code 20000), never as a 500.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("sandbox: panic serving request", "path", r.URL.Path, "panic", v)
			writeUnsignedError(w, newGatewayError(alipay.CodeUnknownError, "isp.unknow-error", "系统繁忙"))
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// AlipayPublicKey returns the public key of the sandbox's Alipay key: what
// clients configure as Alipay's public key.
func (s *Sandbox) AlipayPublicKey() *rsa.PublicKey { return &s.cfg.AlipayPrivateKey.PublicKey }

// Now returns the sandbox's trade clock: Config.Now plus everything added
// by Advance.
func (s *Sandbox) Now() time.Time { return s.clock.now() }

// Advance moves the trade clock forward by d and fires what comes due
// (trades whose time to pay runs out are closed; notify retries are
// queued; see DeliverDue to wait for their deliveries). A negative d is
// ignored: the clock never goes back.
func (s *Sandbox) Advance(d time.Duration) {
	s.clock.advance(d)
	s.stateChanged() // the advance is saved with Config.DataDir
}

// baseURL returns the public base URL for links in the answer to r.
func (s *Sandbox) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// errNoApp is wrapped when a programmatic call names an app the sandbox
// does not know.
var errNoApp = errors.New("sandbox: no such app")
