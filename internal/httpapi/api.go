package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"zhifu/payment"
)

// Defaults of Config.
const (
	// DefaultMaxBodyBytes bounds a request body: a payment request is
	// well under 4 KB even with full metadata.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultTimeout bounds the work of one request (its context's
	// deadline): longer than the alipay client's own 15 s per call.
	DefaultTimeout = 30 * time.Second
	// DefaultReadTimeout bounds reading one request's body.
	DefaultReadTimeout = 10 * time.Second
)

// Config configures New. Fields without a default are required.
type Config struct {
	// Service is the payment service the API drives (required).
	Service *payment.Service
	// Store is the Service's store, asked by /readyz: through its Ping
	// (payment.Pinger, both stores have it) when it has one, by listing
	// one order otherwise (required).
	Store payment.Store
	// Keys holds the API keys requests are authenticated with (required).
	Keys payment.APIKeyStore
	// Idempotency keeps the answers of POST requests under their
	// Idempotency-Key (required).
	Idempotency payment.IdempotencyStore
	// Webhooks, when set, are the webhooks the service sends: GET
	// /v1/payments/{id}/webhooks lists a payment's events and their
	// attempts, and POST /v1/webhooks/{event_id}/resend delivers one again.
	// Default: none, and those routes answer 409 webhooks_not_configured.
	Webhooks *payment.Webhooks
	// Metrics, when set, counts the requests and is served at /metrics.
	// Default: none, and no /metrics route.
	Metrics *Metrics
	// Logger receives a line per request that fails and per payment
	// created, refunded or closed, with the API key's id (never the key)
	// and the out_trade_no. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	// Default: DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// Timeout bounds the work of one request; a request that runs out of
	// it is answered 503 timeout. Default: DefaultTimeout (30 s).
	Timeout time.Duration
	// ReadTimeout bounds reading a request's body. Default:
	// DefaultReadTimeout (10 s).
	ReadTimeout time.Duration
	// KeyCacheTTL is how long an API key that authenticated is trusted
	// without reading it from Keys again: a request with it meanwhile
	// costs a SHA-256 and a constant-time comparison of its secret, no
	// read. A key revoked meanwhile (by `zhifu apikey revoke`, on any
	// instance) keeps working here for at most this long. Unknown keys,
	// wrong secrets and revoked keys are never kept. At most a minute;
	// negative: no cache, every request reads its key. Default:
	// DefaultKeyCacheTTL (5 s).
	KeyCacheTTL time.Duration
}

// validate fills in the defaults of cfg and checks it.
func (cfg *Config) validate() error {
	var errs []error
	if cfg.Service == nil {
		errs = append(errs, errors.New("Service is required"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if cfg.Keys == nil {
		errs = append(errs, errors.New("Keys is required"))
	}
	if cfg.Idempotency == nil {
		errs = append(errs, errors.New("Idempotency is required"))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	} else if cfg.MaxBodyBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("MaxBodyBytes %d is below 1 KiB", cfg.MaxBodyBytes))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	} else if cfg.Timeout < time.Second {
		errs = append(errs, fmt.Errorf("Timeout %v is below a second", cfg.Timeout))
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	} else if cfg.ReadTimeout < time.Second {
		errs = append(errs, fmt.Errorf("ReadTimeout %v is below a second", cfg.ReadTimeout))
	}
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = DefaultKeyCacheTTL
	} else if cfg.KeyCacheTTL > maxKeyCacheTTL {
		errs = append(errs, fmt.Errorf("KeyCacheTTL %v is above %v: a revoked key would keep working that long", cfg.KeyCacheTTL, maxKeyCacheTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("httpapi: Config: %w", err)
	}
	return nil
}

// api is the handler New returns.
type api struct {
	cfg  Config
	svc  *payment.Service
	log  *slog.Logger
	mux  *http.ServeMux
	keys *keyCache
}

// New checks cfg and returns the handler of the JSON API under /v1, with
// /healthz, /readyz and, when cfg.Metrics is set, /metrics. Mount it at
// the root of a server. Every /v1 route takes an API key (Authorization:
// Bearer), and every POST an Idempotency-Key; see docs/api.md.
func New(cfg Config) (http.Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &api{cfg: cfg, svc: cfg.Service, log: cfg.Logger, mux: http.NewServeMux(), keys: newKeyCache(cfg.KeyCacheTTL, cfg.Now)}
	a.route("POST /v1/payments", a.createPayment)
	a.route("GET /v1/payments", a.listPayments)
	a.route("GET /v1/payments/{id}", a.getPayment)
	a.route("POST /v1/payments/{id}/close", a.closePayment)
	a.route("POST /v1/payments/{id}/refunds", a.createRefund)
	a.route("GET /v1/payments/{id}/refunds", a.listRefunds)
	a.route("GET /v1/payments/{id}/events", a.listEvents)
	a.route("GET /v1/payments/{id}/webhooks", a.listWebhooks)
	a.route("POST /v1/webhooks/{event_id}/resend", a.resendWebhook)
	a.mux.Handle("/v1/", a.instrument("/v1/", http.HandlerFunc(a.noRoute)))
	a.mux.Handle("GET /healthz", a.instrument("GET /healthz", http.HandlerFunc(a.healthz)))
	a.mux.Handle("GET /readyz", a.instrument("GET /readyz", http.HandlerFunc(a.readyz)))
	if cfg.Metrics != nil {
		a.mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	return a.mux, nil
}

// apiHandler is a handler of an authenticated API route.
type apiHandler func(w http.ResponseWriter, r *http.Request, c *apiCall)

// apiCall is what the middleware learned about a request.
type apiCall struct {
	key  *payment.APIKey
	body []byte // the body of a POST
	log  *slog.Logger
}

// route registers h at pattern behind the middleware: metrics, limits,
// authentication and, for a POST, the body and its idempotency.
func (a *api) route(pattern string, h apiHandler) {
	post := strings.HasPrefix(pattern, "POST ")
	logs := &routeLoggers{base: a.log, route: pattern, m: make(map[string]*slog.Logger)}
	a.mux.Handle(pattern, a.instrument(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		rc := http.NewResponseController(w)
		now := time.Now()
		_ = rc.SetReadDeadline(now.Add(a.cfg.ReadTimeout)) // unsupported by some writers: the context still bounds the work
		_ = rc.SetWriteDeadline(now.Add(a.cfg.Timeout + a.cfg.ReadTimeout))
		key, e := a.authenticate(r)
		if e != nil {
			if e.Code == CodeMissingAPIKey || e.Code == CodeInvalidAPIKey || e.Code == CodeAPIKeyRevoked {
				w.Header().Set("WWW-Authenticate", `Bearer realm="zhifu"`)
			}
			apiWriteError(w, e)
			return
		}
		c := &apiCall{key: key, log: logs.get(key.ID)}
		if !post {
			h(w, r, c)
			return
		}
		if c.body, e = a.readBody(w, r); e != nil {
			apiWriteError(w, e)
			return
		}
		a.idempotent(w, r, c, h)
	})))
}

// routeLoggers keeps the loggers of a route, one per API key that used
// it: the API's logger With the key's id and the route. slog's JSON
// handler formats With's attributes when the logger is made, a dozen
// allocations that a request then need not repeat. Only keys that
// authenticated get here, and at most keyCacheMax are kept.
type routeLoggers struct {
	base  *slog.Logger
	route string
	mu    sync.RWMutex
	m     map[string]*slog.Logger // by API key id
}

// get returns the logger of the route for the key keyID.
func (l *routeLoggers) get(keyID string) *slog.Logger {
	l.mu.RLock()
	log := l.m[keyID]
	l.mu.RUnlock()
	if log != nil {
		return log
	}
	log = l.base.With("api_key_id", keyID, "route", l.route)
	l.mu.Lock()
	if len(l.m) < keyCacheMax {
		l.m[keyID] = log
	}
	l.mu.Unlock()
	return log
}

// readBody reads the JSON body of a POST, within the size limit.
func (a *api) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	if r.ContentLength > a.cfg.MaxBodyBytes {
		return nil, apiErrorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "", "the body has %d bytes, at most %d are allowed", r.ContentLength, a.cfg.MaxBodyBytes)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		// No body at all (a close, a resend): nothing to declare.
		return []byte{}, nil
	}
	if ct != "application/json" && !apiIsJSONType(ct) { // the first: what clients send, nothing to parse
		return nil, apiErrorf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "", "send the body as Content-Type: application/json (UTF-8), not %q", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, apiErrorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "", "the body has more than the %d bytes allowed", a.cfg.MaxBodyBytes)
	case err != nil:
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "reading the body failed: %v", err)
	}
	return body, nil
}

// apiIsJSONType reports whether the Content-Type ct is application/json
// in UTF-8 (no charset, or utf-8).
func apiIsJSONType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json" && (params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8"))
}

// authenticate returns the API key of the request's Authorization: Bearer
// header: from the key cache when it authenticated within KeyCacheTTL,
// else read from the store (and then cached if valid). The key is never
// logged or repeated: only its id.
func (a *api) authenticate(r *http.Request) (*payment.APIKey, *Error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, apiErrorf(http.StatusUnauthorized, CodeMissingAPIKey, "", "send your API key as Authorization: Bearer zk_…")
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, apiErrorf(http.StatusUnauthorized, CodeMissingAPIKey, "", "the Authorization header must be \"Bearer\", a space and your API key")
	}
	id, err := payment.APIKeyID(secret) // the id is not secret
	if err == nil {
		if k := a.keys.get(id, secret); k != nil {
			return k, nil
		}
	}
	k, err := payment.Authenticate(r.Context(), a.cfg.Keys, secret)
	switch {
	case err == nil:
		a.keys.put(k)
		return k, nil
	case errors.Is(err, payment.ErrRevoked):
		a.keys.drop(id)
		a.log.Warn("httpapi: a revoked API key was used", "api_key_id", id, "remote", r.RemoteAddr)
		return nil, apiErrorf(http.StatusUnauthorized, CodeAPIKeyRevoked, "", "this API key was revoked; use another")
	case errors.Is(err, payment.ErrNotFound):
		a.log.Warn("httpapi: an invalid API key was presented", "remote", r.RemoteAddr)
		return nil, apiErrorf(http.StatusUnauthorized, CodeInvalidAPIKey, "", "the API key is not valid")
	}
	a.log.Error("httpapi: checking an API key failed", "error", err)
	return nil, apiErrorf(http.StatusServiceUnavailable, CodeNotReady, "", "checking the API key failed; try again later")
}

// noRoute answers a /v1 request that matches no route: 405 when the path
// is a route of another method, 404 otherwise.
func (a *api) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "/v1/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		apiWriteError(w, apiErrorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "%s is not allowed here; use %s", r.Method, strings.Join(allow, " or ")))
		return
	}
	apiWriteError(w, apiErrorf(http.StatusNotFound, CodeNotFound, "", "no such route: %s %s", r.Method, r.URL.Path))
}
