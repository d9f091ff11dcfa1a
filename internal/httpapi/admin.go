package httpapi

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"zhifu/payment"
)

// AdminDefaultBasePath is where the admin pages are served when
// AdminConfig.BasePath is empty.
const AdminDefaultBasePath = "/admin"

// Defaults of AdminConfig.
const (
	// AdminDefaultSessionTTL is how long a login lasts.
	AdminDefaultSessionTTL = 12 * time.Hour
	// AdminMinSessionKeyLen is the shortest AdminConfig.SessionKey
	// accepted, in bytes.
	AdminMinSessionKeyLen = 32
)

// AdminConfig configures the admin pages made by NewAdmin. Fields without
// a default are required.
type AdminConfig struct {
	// Service is the payment service whose orders the pages show and
	// which refunds, closes and replays (required).
	Service *payment.Service
	// Store is the Service's store, read for the order listings, the
	// events and the quarantine (required). It also records the sessions
	// that logged out, which every instance on it then refuses: one
	// lookup by key per request.
	Store payment.Store
	// Password is the operator's password, in clear (at least 8
	// characters), or a hash made by AdminHashPassword (which starts with
	// "pbkdf2-sha256$"). One of the two forms is required. It is compared
	// in constant time and never shown on a page or in a log.
	Password string
	// BasePath is the path prefix every page is served under, such as
	// "/admin": it starts with "/" and does not end with one. Default
	// AdminDefaultBasePath. The handler expects requests with the full
	// path (mount it at BasePath+"/" without stripping the prefix).
	BasePath string
	// Logger receives a line for every login, logout, refund, close and
	// replay done through the pages. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock, for sessions and the login rate limit. Default:
	// time.Now.
	Now func() time.Time
	// SecureCookies marks the session cookie Secure, so that browsers
	// send it over HTTPS only. Set it whenever the pages are served over
	// HTTPS (directly or behind a proxy that terminates TLS). Default:
	// false, for http://localhost.
	SecureCookies bool
	// SessionKey signs the session cookies and CSRF tokens: at least
	// AdminMinSessionKeyLen random bytes. Set the same key on every
	// instance of a deployment so that a login is valid on all of them,
	// and across restarts. Default: a random key made by NewAdmin, so that
	// sessions end with the process.
	SessionKey []byte
	// SessionTTL is how long a login lasts. Default AdminDefaultSessionTTL.
	SessionTTL time.Duration
	// Webhooks, when set, adds each order's webhook deliveries to its
	// timeline, with a form that resends each event (see
	// AdminWebhookLister). Default: none.
	Webhooks AdminWebhookLister
	// Bills, when set, adds a page of the differences found between
	// Alipay's bills and the orders (see AdminBillLister). Default: none.
	Bills AdminBillLister
}

// adminServer is the handler NewAdmin returns.
type adminServer struct {
	cfg      AdminConfig
	base     string
	log      *slog.Logger
	now      func() time.Time
	password adminPassword
	sessions *adminSessions
	limiter  *adminLoginLimiter
	pages    *adminPages
	mux      *http.ServeMux
}

// NewAdmin checks cfg and returns the handler of the admin pages: the
// login page, the orders and their details with refund and close forms
// (with cfg.Webhooks, their webhook deliveries and a resend form), the
// quarantined notifies with their replay, and with cfg.Bills the bill
// differences. Every page but the login page requires a session, and
// every form a CSRF token bound to it. All paths start with
// cfg.BasePath. Forms are accepted only when their Origin (or Referer)
// names the Host of the request: behind a reverse proxy, pass the Host
// header on unchanged.
func NewAdmin(cfg AdminConfig) (http.Handler, error) {
	if err := cfg.adminFill(); err != nil {
		return nil, err
	}
	pw, err := adminParsePassword(cfg.Password)
	if err != nil {
		return nil, err
	}
	pages, err := adminLoadPages()
	if err != nil {
		return nil, err
	}
	s := &adminServer{
		cfg:      cfg,
		base:     cfg.BasePath,
		log:      cfg.Logger,
		now:      cfg.Now,
		password: pw,
		sessions: adminNewSessions(cfg.SessionKey, cfg.SessionTTL, cfg.Now, cfg.Store),
		limiter:  adminNewLoginLimiter(cfg.Now),
		pages:    pages,
	}
	s.routes()
	return s, nil
}

// adminFill checks c and fills in its defaults.
func (c *AdminConfig) adminFill() error {
	switch {
	case c.Service == nil:
		return errors.New("httpapi: AdminConfig.Service is required")
	case c.Store == nil:
		return errors.New("httpapi: AdminConfig.Store is required (the Service's store)")
	case c.Password == "":
		return errors.New("httpapi: AdminConfig.Password is required: a password of at least 8 characters, or a hash from AdminHashPassword")
	}
	if c.BasePath == "" {
		c.BasePath = AdminDefaultBasePath
	}
	if !strings.HasPrefix(c.BasePath, "/") || strings.HasSuffix(c.BasePath, "/") ||
		strings.ContainsAny(c.BasePath, "?#{} \t\r\n") {
		return fmt.Errorf("httpapi: AdminConfig.BasePath %q: want a path such as %q, starting with / and not ending with one", c.BasePath, AdminDefaultBasePath)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = AdminDefaultSessionTTL
	}
	if c.SessionTTL < 0 {
		return fmt.Errorf("httpapi: AdminConfig.SessionTTL %s: want a positive duration", c.SessionTTL)
	}
	if c.SessionKey == nil {
		c.SessionKey = make([]byte, AdminMinSessionKeyLen)
		rand.Read(c.SessionKey)
	} else if len(c.SessionKey) < AdminMinSessionKeyLen {
		return fmt.Errorf("httpapi: AdminConfig.SessionKey has %d bytes: want at least %d random bytes", len(c.SessionKey), AdminMinSessionKeyLen)
	}
	return nil
}

// routes registers every page on s.mux.
func (s *adminServer) routes() {
	b := s.base
	m := http.NewServeMux()
	m.HandleFunc("GET "+b+"/assets/{name}", s.serveAsset)
	m.HandleFunc("GET "+b+"/login", s.loginPage)
	m.HandleFunc("POST "+b+"/login", s.login)
	m.Handle("POST "+b+"/logout", s.form(s.logout))
	m.Handle("GET "+b+"/{$}", s.page(func(w http.ResponseWriter, r *http.Request, _ *adminSession) {
		http.Redirect(w, r, b+"/orders", http.StatusSeeOther)
	}))
	m.Handle("GET "+b+"/orders", s.page(s.ordersPage))
	m.Handle("GET "+b+"/orders/{id}", s.page(s.orderPage))
	m.Handle("POST "+b+"/orders/{id}/refund", s.form(s.refund))
	m.Handle("POST "+b+"/orders/{id}/close", s.form(s.closeOrder))
	m.Handle("POST "+b+"/orders/{id}/webhooks/{event}/resend", s.form(s.resendWebhook))
	m.Handle("GET "+b+"/quarantine", s.page(s.quarantinePage))
	m.Handle("POST "+b+"/quarantine/{id}/replay", s.form(s.replay))
	m.Handle("GET "+b+"/bills", s.page(s.billsPage))
	m.Handle(b+"/", s.page(func(w http.ResponseWriter, r *http.Request, sess *adminSession) {
		s.fail(w, r, sess, http.StatusNotFound, "页面不存在 Page not found", "There is no admin page at this address.")
	}))
	s.mux = m
}

// ServeHTTP serves the admin pages, with headers that keep them out of
// frames, caches and other sites' scripts.
func (s *adminServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}
