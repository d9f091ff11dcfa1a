package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"time"
	"unicode/utf8"

	"zhifu/alipay"
)

// Errors of the [Service]. Test with errors.Is.
var (
	// ErrNotRefundable: the order cannot be refunded (not paid, or
	// TRADE_FINISHED ended its refund period).
	ErrNotRefundable = errors.New("payment: order not refundable")
	// ErrRefundRefused: Alipay refused the refund; no money moved and the
	// refund is failed (its reservation released).
	ErrRefundRefused = errors.New("payment: refund refused by Alipay")
	// ErrNotExpired: Expire was called before the order's ExpiresAt.
	ErrNotExpired = errors.New("payment: order not expired yet")
	// ErrReturnInvalid: a sync return that does not verify (forged,
	// unsigned, or of another app).
	ErrReturnInvalid = errors.New("payment: invalid return")
	// ErrNotifyRejected: a notify that was not applied (see the wrapped
	// reason); ReplayQuarantined returns it when the cause persists.
	ErrNotifyRejected = errors.New("payment: notify rejected")
)

// PaidAfterClosePolicy says what the Service does with a payment that
// arrives for an order it already closed (the buyer paid on a stale
// cashier page). The payment is never dropped: the order becomes paid with
// [FlagPaidAfterClose] whatever the policy, and the event is logged at
// error level.
type PaidAfterClosePolicy string

// Policies for a payment that arrives after the close.
const (
	// PaidAfterCloseAcceptAndFlag keeps the payment: the order is paid and
	// flagged, for someone to ship the goods or refund by hand. The
	// default.
	PaidAfterCloseAcceptAndFlag PaidAfterClosePolicy = "accept_and_flag"
	// PaidAfterCloseAutoRefund refunds the payment in full, at once, with
	// the out_request_no AutoRefundOutRequestNo, so that the refund is
	// made once however often it is started.
	PaidAfterCloseAutoRefund PaidAfterClosePolicy = "auto_refund"
)

// AutoRefundOutRequestNo is the out_request_no of the refund that
// PaidAfterCloseAutoRefund makes. An out_request_no is unique within its
// trade, so one constant makes the refund idempotent.
const AutoRefundOutRequestNo = "paid_after_close"

// Defaults and bounds of Config.
const (
	DefaultQueryTimeout = 3 * time.Second
	DefaultExpiry       = 15 * time.Minute
	// MinExpiry and MaxExpiry bound an order's time to pay: Alipay takes a
	// time_expire 1 minute to 15 days ahead, and a minute's margin keeps a
	// slow request inside it.
	MinExpiry = 2 * time.Minute
	MaxExpiry = 15 * 24 * time.Hour
	// MinTradeAmount and MaxTradeAmount are Alipay's bounds of a trade:
	// 0.01 to 100000000.00 yuan.
	MinTradeAmount alipay.Amount = 1
	MaxTradeAmount alipay.Amount = 100_000_000_00
	// MaxNotifyBytes bounds the body of a notify: real ones are about
	// 1.5 KB. A larger body is answered 413, never "success".
	MaxNotifyBytes = 64 << 10
	// maxApplyAttempts bounds the compare-and-set retries of one fact.
	maxApplyAttempts = 16
)

// Change is what the OnChange hook receives: an order that changed, after
// the change was committed.
type Change struct {
	// Order is the order's new state.
	Order *Order
	// Effect is EffectTransitioned or EffectPaidAfterClose.
	Effect Effect
	// Events are the events stored with the change.
	Events []OrderEvent
}

// Config configures a Service. Fields without a default are required.
type Config struct {
	// Store keeps the orders (required).
	Store Store
	// Alipay calls Alipay and verifies its notifies and returns
	// (required).
	Alipay *alipay.Client
	// SellerID is the merchant's Alipay user id ("2088…"). When set, a
	// notify for another seller is quarantined. Default: not checked.
	SellerID string
	// NotifyURL is the public URL of NotifyHandler, sent to Alipay as
	// notify_url with every payment (required): an absolute http(s) URL
	// without query parameters (Alipay signs only its own).
	NotifyURL string
	// ReturnURL is the public URL of ReturnHandler, where Alipay sends
	// the buyer's browser after a page or wap payment. A request's own
	// ReturnURL wins. Default: none (the buyer stays at Alipay).
	ReturnURL string
	// PaidAfterClosePolicy decides what happens to a payment for a closed
	// order. Default: PaidAfterCloseAcceptAndFlag.
	PaidAfterClosePolicy PaidAfterClosePolicy
	// Logger receives a line for every notify, return, query, close and
	// refund, each with the order's out_trade_no. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// QueryTimeout bounds the trade.query the return handler makes for a
	// pending order, so that the buyer is not kept waiting. Default:
	// DefaultQueryTimeout (3 s).
	QueryTimeout time.Duration
	// DefaultExpiry is the time a buyer has to pay when a request names
	// none; it is sent to Alipay as time_expire, so that Alipay closes the
	// trade too. Default: DefaultExpiry (15 min); MinExpiry to MaxExpiry.
	DefaultExpiry time.Duration
	// MinAmount and MaxAmount bound an order's amount. Default:
	// MinTradeAmount and MaxTradeAmount, Alipay's bounds, which they may
	// only narrow.
	MinAmount, MaxAmount alipay.Amount
	// MaxSubjectLen bounds an order's subject, in characters. Default and
	// most: MaxSubjectLen (256).
	MaxSubjectLen int
	// OnChange is called after every committed change of an order (for
	// webhooks, metrics). It runs in the caller's goroutine before the
	// Service method returns (before a notify is answered): keep it quick,
	// hand the change to a queue. Default: none.
	OnChange func(ctx context.Context, c Change)
	// Observer is told about created payments and handled notifies (for
	// metrics). Default: none.
	Observer Observer
	// Jobs, when set, makes the Service schedule its durable jobs:
	// New calls it once with the Service's [Service.JobRunner] and keeps
	// the [Jobs] it returns (typically a closure over [NewJobs] with the
	// store's River driver), which [Service.Jobs] hands back for the
	// caller to Start and Stop. CreatePayment then schedules each new
	// order's reconciles and expiry ([Jobs.ScheduleOrder]), and Refund —
	// the automatic refund of a payment after close too — schedules the
	// settling of a refund whose outcome is unknown
	// ([Jobs.ScheduleRefundSettlement], after JobsConfig.RefundSettleAfter).
	// A scheduling that fails is logged and left to the jobs' periodic
	// sweep. Default: none; nothing is scheduled but by a sweep of Jobs
	// made apart.
	Jobs func(JobRunner) (*Jobs, error)
}

// validate fills in the defaults of cfg and checks it.
func (cfg *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.Store == nil {
		bad("Store is required")
	}
	if cfg.Alipay == nil {
		bad("Alipay is required")
	}
	if err := CheckPublicURL("NotifyURL", cfg.NotifyURL, true); err != nil {
		errs = append(errs, err)
	}
	if err := CheckPublicURL("ReturnURL", cfg.ReturnURL, false); err != nil {
		errs = append(errs, err)
	}
	if cfg.SellerID != "" && !isUserID(cfg.SellerID) {
		bad("SellerID %q is not an Alipay user id (2088 and 12 digits)", cfg.SellerID)
	}
	switch cfg.PaidAfterClosePolicy {
	case "":
		cfg.PaidAfterClosePolicy = PaidAfterCloseAcceptAndFlag
	case PaidAfterCloseAcceptAndFlag, PaidAfterCloseAutoRefund:
	default:
		bad("unknown PaidAfterClosePolicy %q", cfg.PaidAfterClosePolicy)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueryTimeout == 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	} else if cfg.QueryTimeout < 0 {
		bad("QueryTimeout %v is negative", cfg.QueryTimeout)
	}
	if cfg.DefaultExpiry == 0 {
		cfg.DefaultExpiry = DefaultExpiry
	} else if cfg.DefaultExpiry < MinExpiry || cfg.DefaultExpiry > MaxExpiry {
		bad("DefaultExpiry %v is not within %v to %v", cfg.DefaultExpiry, MinExpiry, MaxExpiry)
	}
	if cfg.MinAmount == 0 {
		cfg.MinAmount = MinTradeAmount
	}
	if cfg.MaxAmount == 0 {
		cfg.MaxAmount = MaxTradeAmount
	}
	if cfg.MinAmount < MinTradeAmount || cfg.MaxAmount > MaxTradeAmount || cfg.MinAmount > cfg.MaxAmount {
		bad("MinAmount %v and MaxAmount %v are not a range within %v to %v", cfg.MinAmount, cfg.MaxAmount, MinTradeAmount, MaxTradeAmount)
	}
	if cfg.MaxSubjectLen == 0 {
		cfg.MaxSubjectLen = MaxSubjectLen
	} else if cfg.MaxSubjectLen < 1 || cfg.MaxSubjectLen > MaxSubjectLen {
		bad("MaxSubjectLen %d is not within 1 to %d", cfg.MaxSubjectLen, MaxSubjectLen)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("payment: Config: %w", err)
	}
	return nil
}

// CheckPublicURL checks a callback URL: absolute http(s), at most 256
// characters (Alipay's limit), no query or fragment. An empty URL is
// refused only when required.
func CheckPublicURL(field, s string, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("%s is required", field)
		}
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		// The URL is not repeated: it may hold a password.
		return fmt.Errorf("%s is not an absolute http(s) URL", field)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%s has a query or fragment: Alipay signs only its own parameters", field)
	case utf8.RuneCountInString(s) > 256:
		return fmt.Errorf("%s is longer than Alipay's 256 characters", field)
	}
	return nil
}

// isUserID reports whether s is an Alipay user id: 2088 and 12 digits.
func isUserID(s string) bool {
	if len(s) != 16 || s[:4] != "2088" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Service is the merchant side of Alipay payments: it creates payments,
// receives notifies and returns, reconciles, expires and refunds orders,
// and sends every fact about a trade through one path, ApplyTradeResult.
// It holds no state of its own besides its Config: any number of Services
// may share one Store. It is safe for concurrent use.
type Service struct {
	cfg        Config
	store      Store
	ali        *alipay.Client
	log        *slog.Logger
	unverified unverifiedLimiter
	jobs       *Jobs // nil: no scheduling
}

// New checks cfg and returns a Service. With cfg.Jobs set, it also
// makes the Service's [Jobs], not started: see [Service.Jobs].
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: cfg.Store, ali: cfg.Alipay, log: cfg.Logger}
	if cfg.Jobs != nil {
		j, err := cfg.Jobs(s.JobRunner())
		if err != nil {
			return nil, fmt.Errorf("payment: Config.Jobs: %w", err)
		}
		if j == nil {
			return nil, errors.New("payment: Config.Jobs returned no Jobs")
		}
		s.jobs = j
	}
	return s, nil
}

// Jobs returns the jobs made by Config.Jobs, which the Service schedules
// its work on, or nil if Config.Jobs is not set. The caller starts them
// ([Jobs.Start]) to work the jobs and stops them ([Jobs.Stop]) at
// shutdown; the Service schedules whether they are started or not.
func (s *Service) Jobs() *Jobs { return s.jobs }

// now returns the current time of the Service's clock.
func (s *Service) now() time.Time { return s.cfg.Now() }

// orderLog returns the logger for lines about order o.
func (s *Service) orderLog(o *Order) *slog.Logger {
	return s.log.With("out_trade_no", o.OutTradeNo, "order_id", o.ID)
}

// logOrder writes one line about order o: the line that
// s.orderLog(o).LogAttrs(ctx, level, msg, attrs...) writes, its source
// the caller's, without making a logger for it. A With formats and copies
// its attributes at once (a JSON handler does): for the one line of a
// notify or a created order, that was most of the logging's cost.
func (s *Service) logOrder(ctx context.Context, level slog.Level, o *Order, msg string, attrs ...slog.Attr) {
	h := s.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:]) // skip Callers and logOrder
	r := slog.NewRecord(time.Now(), level, msg, pcs[0])
	r.AddAttrs(slog.String("out_trade_no", o.OutTradeNo), slog.String("order_id", o.ID))
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r) // as slog.Logger does: a handler's error is its own
}

// GetOrder returns the order with the id, as the store holds it.
func (s *Service) GetOrder(ctx context.Context, orderID string) (*Order, error) {
	o, err := s.store.GetOrder(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("payment: get order %s: %w", orderID, err)
	}
	return o, nil
}

// GetOrderByOutTradeNo returns the order with the out_trade_no.
func (s *Service) GetOrderByOutTradeNo(ctx context.Context, outTradeNo string) (*Order, error) {
	o, err := s.store.GetOrderByOutTradeNo(ctx, outTradeNo)
	if err != nil {
		return nil, fmt.Errorf("payment: get order by out_trade_no %s: %w", outTradeNo, err)
	}
	return o, nil
}
