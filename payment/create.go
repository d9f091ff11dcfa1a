package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode"
	"unicode/utf8"

	"zhifu/alipay"
)

// CreatePaymentRequest asks for a new payment: one order, one
// out_trade_no at Alipay.
type CreatePaymentRequest struct {
	// Subject is the title the buyer sees (required): 1 to
	// Config.MaxSubjectLen characters, no control characters.
	Subject string
	// Body describes the goods (optional, at most MaxBodyLen characters).
	Body string
	// Amount is what the buyer pays: Config.MinAmount to Config.MaxAmount.
	Amount alipay.Amount
	// Channel is how the buyer pays (required).
	Channel Channel
	// ReturnURL is where Alipay sends the buyer's browser after a page or
	// wap payment. Default: Config.ReturnURL.
	ReturnURL string
	// OutTradeNo is the caller's own number for the trade, 1 to 64
	// letters, digits and underscores, never used before (an out_trade_no
	// is never reused: a taken one is ErrDuplicate). Default: a new one
	// from alipay.NewOutTradeNo.
	OutTradeNo string
	// Metadata is the caller's own data, kept with the order.
	Metadata map[string]string
	// ExpiresIn is the time the buyer has to pay, MinExpiry to MaxExpiry.
	// Default: Config.DefaultExpiry.
	ExpiresIn time.Duration
}

// Payment is a created payment: the order, and what the buyer needs to
// pay it — one of PayURL, QRCode and OrderString, by channel.
type Payment struct {
	// Order is the stored order, pending.
	Order *Order
	// PayURL is the signed cashier URL of a page or wap payment: send the
	// buyer's browser there.
	PayURL string
	// QRCode is the text of the QR code of a precreate payment.
	QRCode string
	// OrderString is the signed order string of an app payment, for the
	// Alipay app SDK.
	OrderString string
}

// CreatePayment validates req, stores a new pending order and returns
// what the buyer needs to pay it. The order is stored first, so that a
// payment can never arrive for an order the database does not know; then
// the page, wap or app payment is signed (no network), or for a precreate
// payment alipay.trade.precreate is called. When that call fails the order
// stays pending and the error is returned with the Payment (Order set):
// PaymentOf asks again with the same out_trade_no, which is safe, and
// reconciliation settles what Alipay did. With Config.Jobs, the stored
// order's reconciles and expiry are scheduled (a failure is logged: the
// jobs' sweep schedules them). Errors of the request wrap ErrInvalid; a
// taken OutTradeNo wraps ErrDuplicate.
func (s *Service) CreatePayment(ctx context.Context, req CreatePaymentRequest) (*Payment, error) {
	if err := s.checkCreate(&req); err != nil {
		return nil, err
	}
	now := s.now()
	o := &Order{
		ID:         NewOrderID(),
		OutTradeNo: req.OutTradeNo,
		Subject:    req.Subject,
		Body:       req.Body,
		Amount:     req.Amount,
		Channel:    req.Channel,
		Status:     StatusPending,
		// Whole seconds: time_expire has no fraction, and Alipay must close
		// the trade at the very moment the order expires.
		ExpiresAt: now.Add(req.ExpiresIn).Truncate(time.Second),
		Metadata:  req.Metadata,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if req.ReturnURL != "" {
		// The return URL is needed again by PaymentOf: keep it with the
		// order, under a key of zhifu's own.
		o.Metadata = cloneWith(o.Metadata, metaReturnURL, req.ReturnURL)
	}
	created := OrderEvent{
		Kind:   EventCreated,
		Source: SourceMerchant,
		Reason: fmt.Sprintf("created: %s %s, expires %s", o.Channel, o.Amount, o.ExpiresAt.UTC().Format(time.RFC3339)),
	}
	if err := s.store.CreateOrder(ctx, o, created); err != nil {
		log := s.orderLog(o)
		if errors.Is(err, ErrDuplicate) {
			log.Warn("payment: create: out_trade_no already used", "error", err)
			return nil, fmt.Errorf("payment: out_trade_no %q is already used, and an out_trade_no is never reused: %w", o.OutTradeNo, err)
		}
		log.Error("payment: create: storing the order failed", "error", err)
		return nil, fmt.Errorf("payment: create order: %w", err)
	}
	s.logOrder(ctx, slog.LevelInfo, o, "payment: order created",
		slog.String("amount", o.Amount.String()), slog.Any("channel", o.Channel), slog.Time("expires_at", o.ExpiresAt))
	s.observeCreated(ctx, o)
	s.scheduleOrder(ctx, o)
	p, err := s.payment(ctx, o)
	if err != nil {
		s.orderLog(o).Warn("payment: create: the order is stored, but preparing its payment failed; it stays pending", "error", err)
		return &Payment{Order: o}, err
	}
	return p, nil
}

// metaReturnURL is the metadata key under which an order keeps its own
// return URL.
const metaReturnURL = MetadataReserved + "return_url"

// cloneWith returns a copy of m with k set to v.
func cloneWith(m map[string]string, k, v string) map[string]string {
	c := make(map[string]string, len(m)+1)
	for mk, mv := range m {
		c[mk] = mv
	}
	c[k] = v
	return c
}

// checkCreate checks req and fills in its defaults.
func (s *Service) checkCreate(req *CreatePaymentRequest) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if n := utf8.RuneCountInString(req.Subject); n == 0 || n > s.cfg.MaxSubjectLen {
		bad("subject has %d characters, want 1 to %d", n, s.cfg.MaxSubjectLen)
	}
	if hasControl(req.Subject) || hasControl(req.Body) {
		bad("subject and body must not contain control characters")
	}
	if req.Amount < s.cfg.MinAmount || req.Amount > s.cfg.MaxAmount {
		bad("amount %v is not within %v to %v", req.Amount, s.cfg.MinAmount, s.cfg.MaxAmount)
	}
	if !req.Channel.Valid() {
		bad("unknown channel %q (want page, wap, precreate or app)", req.Channel)
	}
	if req.ExpiresIn == 0 {
		req.ExpiresIn = s.cfg.DefaultExpiry
	} else if req.ExpiresIn < MinExpiry || req.ExpiresIn > MaxExpiry {
		bad("expires in %v, want %v to %v", req.ExpiresIn, MinExpiry, MaxExpiry)
	}
	if err := CheckPublicURL("return URL", req.ReturnURL, false); err != nil {
		errs = append(errs, err)
	}
	if req.OutTradeNo == "" {
		req.OutTradeNo = alipay.NewOutTradeNo()
	} else if err := checkOutTradeNo(req.OutTradeNo); err != nil {
		errs = append(errs, err)
	}
	for k := range req.Metadata {
		if k == metaReturnURL {
			bad("metadata key %q is zhifu's own", k)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: create payment: %w", ErrInvalid, err)
	}
	return nil
}

// hasControl reports whether s contains a control character (or is not
// valid UTF-8).
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// PaymentOf returns again what the buyer needs to pay the pending order:
// the same signed URL (made anew, no network), or for a precreate payment
// the QR code from alipay.trade.precreate sent again with the very same
// parameters (Alipay makes one trade of an out_trade_no, so this is safe,
// also after an unknown outcome). An order that is no longer pending is an
// error wrapping ErrConflict.
func (s *Service) PaymentOf(ctx context.Context, orderID string) (*Payment, error) {
	o, err := s.GetOrder(ctx, orderID)
	if err != nil {
		return nil, err
	}
	return s.PaymentFor(ctx, o)
}

// PaymentFor is PaymentOf for the order o as the caller has just read it
// (GetOrder), without reading it again.
func (s *Service) PaymentFor(ctx context.Context, o *Order) (*Payment, error) {
	if o.Status != StatusPending {
		return nil, fmt.Errorf("payment: order %s is %s, not pending: %w", o.ID, o.Status, ErrConflict)
	}
	return s.payment(ctx, o)
}

// payment makes what the buyer needs to pay the pending order o.
func (s *Service) payment(ctx context.Context, o *Order) (*Payment, error) {
	p := &Payment{Order: o}
	expire := alipay.Time{Time: o.ExpiresAt}
	returnURL := o.ReturnURL()
	if returnURL == "" {
		returnURL = s.cfg.ReturnURL
	}
	var err error
	switch o.Channel {
	case ChannelPage:
		p.PayURL, err = s.ali.PagePayURL(alipay.TradePagePayRequest{
			OutTradeNo: o.OutTradeNo, TotalAmount: o.Amount, Subject: o.Subject, Body: o.Body,
			TimeExpire: expire, ReturnURL: returnURL, NotifyURL: s.cfg.NotifyURL,
		})
	case ChannelWAP:
		p.PayURL, err = s.ali.WapPayURL(alipay.TradeWapPayRequest{
			OutTradeNo: o.OutTradeNo, TotalAmount: o.Amount, Subject: o.Subject, Body: o.Body,
			TimeExpire: expire, ReturnURL: returnURL, NotifyURL: s.cfg.NotifyURL,
		})
	case ChannelApp:
		p.OrderString, err = s.ali.AppPayOrderString(alipay.TradeAppPayRequest{
			OutTradeNo: o.OutTradeNo, TotalAmount: o.Amount, Subject: o.Subject, Body: o.Body,
			TimeExpire: expire, NotifyURL: s.cfg.NotifyURL,
		})
	case ChannelPrecreate:
		var resp *alipay.TradePrecreateResponse
		resp, err = s.ali.TradePrecreate(ctx, alipay.TradePrecreateRequest{
			OutTradeNo: o.OutTradeNo, TotalAmount: o.Amount, Subject: o.Subject, Body: o.Body,
			TimeExpire: expire, NotifyURL: s.cfg.NotifyURL,
		})
		if err == nil {
			p.QRCode = resp.QRCode
		}
	default:
		err = fmt.Errorf("%w: unknown channel %q", ErrInvalid, o.Channel)
	}
	if err != nil {
		return nil, fmt.Errorf("payment: order %s (out_trade_no %s): %s payment: %w", o.ID, o.OutTradeNo, o.Channel, err)
	}
	return p, nil
}
