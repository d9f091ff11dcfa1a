package payment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"zhifu/alipay"
)

// NotifyHandler returns the handler of Alipay's async notifies, to be
// served at Config.NotifyURL. For each notify it:
//
//  1. takes only a POST with a form body (405, 415 otherwise) of at most
//     MaxNotifyBytes (413), and only its body: query parameters of the URL
//     are not Alipay's;
//  2. verifies the signature with Alipay's key (400 on failure: the
//     reason is logged and, for a known order, recorded in its log as a
//     notify_rejected event with Verified false);
//  3. checks app_id (the client's), a known out_trade_no, seller_id when
//     Config.SellerID is set, and total_amount equal to the order's; a
//     correctly signed notify that fails a check — or that [Next] rejects
//     — is quarantined with its reason (see ReplayQuarantined) and
//     answered 422;
//  4. applies trade_status through ApplyTradeResult, in one transaction
//     with the raw notify;
//  5. answers exactly "success" (200, text/plain, no newline) only after
//     that commit returned. Any failure, including a store error (500),
//     is answered "fail", so that Alipay delivers the notify again.
//
// A quarantined notify is answered with a failure too, on purpose: Alipay
// keeps retrying it for 25 hours, so a cause fixed meanwhile (an order
// restored, a SellerID corrected) is made good by Alipay's own retry; after
// that, ReplayQuarantined applies it. The quarantine keeps one entry per
// notify_id while it is not replayed.
//
// Duplicates, Alipay's retries and replays of old notifies change nothing
// a second time: 50 identical notifies at once make one transition and
// one event.
func (s *Service) NotifyHandler() http.Handler {
	return http.HandlerFunc(s.serveNotify)
}

// notifyOutcome is what became of one notify.
type notifyOutcome struct {
	status     int    // the HTTP status of a failure answer; 0: success
	reason     string // why it failed, for the log and the quarantine
	quarantine bool   // signed, but not applicable: keep it
	unverified bool   // the signature did not verify
	note       *alipay.Notification
	claimed    string // the out_trade_no the body names, verified or not
	order      *Order
	effect     Effect
}

func (s *Service) serveNotify(w http.ResponseWriter, r *http.Request) {
	raw, out := s.readNotify(w, r)
	if out.status == 0 {
		out = s.processNotify(r.Context(), raw)
	}
	defer func() { s.observeNotify(r.Context(), out) }()
	// The attributes go with the one line, not through a With: a With
	// formats them at once, for this single line.
	var stack [8]slog.Attr
	attrs := append(stack[:0], slog.String("out_trade_no", out.claimed), slog.String("remote", r.RemoteAddr))
	if out.note != nil {
		attrs = append(attrs, slog.String("notify_id", out.note.NotifyID), slog.Any("trade_status", out.note.TradeStatus))
	}
	if out.status == 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "success")
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "payment: notify answered success", append(attrs, slog.Any("effect", out.effect))...)
		return
	}
	if out.quarantine {
		if err := s.quarantine(r.Context(), raw, out.note, out.reason); err != nil {
			out.status = http.StatusInternalServerError
		}
	}
	if out.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(out.status)
	io.WriteString(w, "fail")
	level := slog.LevelWarn
	if out.status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "payment: notify refused; Alipay will deliver it again",
		append(attrs, slog.Int("status", out.status), slog.String("reason", out.reason), slog.Bool("quarantined", out.quarantine))...)
}

// readNotify reads the form body of a notify request, or says why not.
func (s *Service) readNotify(w http.ResponseWriter, r *http.Request) ([]byte, notifyOutcome) {
	fail := func(status int, format string, args ...any) ([]byte, notifyOutcome) {
		return nil, notifyOutcome{status: status, reason: fmt.Sprintf(format, args...)}
	}
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, "a notify is a POST, not a %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return fail(http.StatusUnsupportedMediaType, "a notify is a form (application/x-www-form-urlencoded), not %q", ct)
		}
	}
	raw, err := readBody(http.MaxBytesReader(w, r.Body, MaxNotifyBytes), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, "body larger than %d bytes", MaxNotifyBytes)
		}
		return fail(http.StatusBadRequest, "reading the body: %v", err)
	}
	return raw, notifyOutcome{}
}

// readBody reads body to its end. A body of a known length (size, when
// not negative and at most MaxNotifyBytes) is read into one buffer of
// that size, instead of the doubling of io.ReadAll from 512 bytes: three
// allocations and copies per notify. The size is only a hint: a body
// longer or shorter than announced is read all the same.
func readBody(body io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > MaxNotifyBytes {
		return io.ReadAll(body)
	}
	var b bytes.Buffer
	b.Grow(int(size) + bytes.MinRead) // ReadFrom wants MinRead bytes free to read the EOF without growing
	if _, err := b.ReadFrom(body); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// processNotify verifies, checks and applies the notify of form body raw.
func (s *Service) processNotify(ctx context.Context, raw []byte) notifyOutcome {
	fail := func(status int, format string, args ...any) notifyOutcome {
		return notifyOutcome{status: status, reason: fmt.Sprintf(format, args...)}
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return fail(http.StatusBadRequest, "malformed form body: %v", err)
	}
	if len(form) == 0 {
		return fail(http.StatusBadRequest, "empty body")
	}
	claimed := safeText(form.Get("out_trade_no"))
	n, err := s.ali.VerifyNotification(form)
	if err != nil {
		if errors.Is(err, alipay.ErrSignature) || alipay.VerifyNotify(s.ali.AlipayPublicKey(), form) != nil {
			s.recordUnverified(ctx, form, raw, err)
			out := fail(http.StatusBadRequest, "not verified: %v", err)
			out.claimed, out.unverified = claimed, true
			return out
		}
		// Signed by Alipay, and still refused: another app_id, or fields
		// that do not parse. Keep it.
		out := fail(http.StatusUnprocessableEntity, "signed, but refused: %v", err)
		out.quarantine = true
		out.note = &alipay.Notification{NotifyID: form.Get("notify_id"), OutTradeNo: form.Get("out_trade_no"), TradeStatus: alipay.TradeStatus(form.Get("trade_status"))}
		out.claimed = claimed
		return out
	}
	out := s.checkAndApply(ctx, n, raw)
	out.note, out.claimed = n, n.OutTradeNo
	return out
}

// checkAndApply runs the checks of a verified notify against its order and
// applies it.
func (s *Service) checkAndApply(ctx context.Context, n *alipay.Notification, raw []byte) notifyOutcome {
	reject := func(o *Order, format string, args ...any) notifyOutcome {
		out := notifyOutcome{status: http.StatusUnprocessableEntity, reason: safeText(fmt.Sprintf(format, args...)), quarantine: true, order: o}
		if o != nil {
			ev := OrderEvent{Kind: EventNotifyRejected, Source: SourceNotify, Raw: raw, Verified: true, Effect: EffectRejected, Reason: out.reason}
			if err := s.store.AppendEvents(ctx, o.ID, ev); err != nil {
				s.orderLog(o).Error("payment: recording a rejected notify failed", "error", err)
			}
		}
		return out
	}
	if n.NotifyType != "" && n.NotifyType != "trade_status_sync" {
		return reject(nil, "notify_type %q is not trade_status_sync", n.NotifyType)
	}
	if n.OutTradeNo == "" {
		return reject(nil, "no out_trade_no (trade_no %q)", n.TradeNo)
	}
	o, err := s.store.GetOrderByOutTradeNo(ctx, n.OutTradeNo)
	if errors.Is(err, ErrNotFound) {
		return reject(nil, "unknown out_trade_no %q: no such order", n.OutTradeNo)
	}
	if err != nil {
		return notifyOutcome{status: http.StatusInternalServerError, reason: fmt.Sprintf("reading the order: %v", err)}
	}
	if s.cfg.SellerID != "" && n.SellerID != s.cfg.SellerID {
		return reject(o, "seller_id %q is not ours (%s)", n.SellerID, s.cfg.SellerID)
	}
	if n.TotalAmount != o.Amount {
		return reject(o, "total_amount %s differs from the order's amount %s", n.TotalAmount, o.Amount)
	}
	source := OrderEvent{
		Kind: EventNotifyReceived, Source: SourceNotify, Raw: raw, Verified: true,
		Reason: fmt.Sprintf("notify %s: %s", n.NotifyID, n.TradeStatus),
	}
	o2, effect, err := s.apply(ctx, o.ID, o, source, n.NotifyID, staticFact(notifyFact(n, s.now())))
	switch {
	case err == nil:
		return notifyOutcome{order: o2, effect: effect}
	case effect == EffectRejected && (errors.Is(err, ErrInvalidFact) || errors.Is(err, ErrAmountMismatch) ||
		errors.Is(err, ErrTradeNoMismatch) || errors.Is(err, ErrRefundAbovePaid) || errors.Is(err, ErrContradiction)):
		// Next refused it and ApplyTradeResult recorded it in the log.
		return notifyOutcome{status: http.StatusUnprocessableEntity, reason: err.Error(), quarantine: true, order: o}
	default:
		return notifyOutcome{status: http.StatusInternalServerError, reason: err.Error(), order: o}
	}
}

// notifyFact is the fact that the verified notify n tells.
func notifyFact(n *alipay.Notification, now time.Time) Fact {
	return Fact{
		Source:      SourceNotify,
		TradeStatus: n.TradeStatus,
		TradeNo:     n.TradeNo,
		TotalAmount: n.TotalAmount,
		BuyerID:     n.BuyerID,
		PaidAt:      n.GmtPayment,
		RefundFee:   n.RefundFee,
		ClosedAt:    n.GmtClose,
		At:          now,
	}
}

// recordUnverified records a notify whose signature failed in the log of
// the order it names, if that order exists: a support person then sees
// that someone sent a forged notify, or that the keys are wrong. Nothing
// else of it is trusted.
func (s *Service) recordUnverified(ctx context.Context, form url.Values, raw []byte, verr error) {
	outTradeNo := form.Get("out_trade_no")
	if outTradeNo == "" || checkOutTradeNo(outTradeNo) != nil {
		return
	}
	o, err := s.store.GetOrderByOutTradeNo(ctx, outTradeNo)
	if err != nil {
		return
	}
	if !s.unverified.allow(o.ID) {
		s.orderLog(o).Warn("payment: unverified notify not recorded in the order's log: too many for this order", "error", verr)
		return
	}
	ev := OrderEvent{
		Kind: EventNotifyRejected, Source: SourceNotify, Raw: raw, Verified: false, Effect: EffectRejected,
		Reason: safeText(fmt.Sprintf("not verified: %v", verr)),
	}
	if err := s.store.AppendEvents(ctx, o.ID, ev); err != nil {
		s.orderLog(o).Error("payment: recording an unverified notify failed", "error", err)
	}
}
