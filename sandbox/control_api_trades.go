package sandbox

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"zhifu/alipay"
)

// The control API's apps, trades and clock routes.

// Apps returns the registered apps, by app id.
func (s *Sandbox) Apps() []App {
	s.apps.mu.RLock()
	apps := make([]App, 0, len(s.apps.apps))
	for _, a := range s.apps.apps {
		apps = append(apps, *a)
	}
	s.apps.mu.RUnlock()
	slices.SortFunc(apps, func(a, b App) int { return strings.Compare(a.AppID, b.AppID) })
	return apps
}

// resolveApp returns the app a request names, or the only app when it
// names none.
func (s *Sandbox) resolveApp(appID string) (*App, *apiError) {
	if appID != "" {
		a := s.apps.get(appID)
		if a == nil {
			return nil, newAPIError(http.StatusNotFound, "app_not_found", "no app %q is registered", appID)
		}
		return a, nil
	}
	apps := s.Apps()
	switch len(apps) {
	case 1:
		return &apps[0], nil
	case 0:
		return nil, newAPIError(http.StatusNotFound, "app_not_found", "the sandbox has no app")
	}
	return nil, newAPIError(http.StatusBadRequest, "missing_field", "app_id is required: the sandbox has %d apps", len(apps))
}

// apiTime is a time as the control API writes it: RFC 3339 in Beijing
// time; the zero time is left out (omitzero).
type apiTime time.Time

func (t apiTime) IsZero() bool { return time.Time(t).IsZero() }

func (t apiTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).In(beijing).Format(time.RFC3339) + `"`), nil
}

// apiApp is an app as the control API lists it: never a key.
type apiApp struct {
	AppID            string `json:"app_id"`
	SellerID         string `json:"seller_id"`
	SignType         string `json:"sign_type"`
	CertMode         bool   `json:"cert_mode"`
	AppCertSN        string `json:"app_cert_sn,omitempty"`
	AlipayRootCertSN string `json:"alipay_root_cert_sn,omitempty"`
	AlipayCertSN     string `json:"alipay_cert_sn,omitempty"`
	ContentEncrypted bool   `json:"content_encryption"` // an AES key is set (never shown)
}

func toAPIApp(a App) apiApp {
	return apiApp{
		AppID: a.AppID, SellerID: a.SellerID, SignType: string(a.SignType), CertMode: a.certMode(),
		AppCertSN: a.AppCertSN, AlipayRootCertSN: a.AlipayRootCertSN, AlipayCertSN: a.AlipayCertSN,
		ContentEncrypted: a.EncryptKey != "",
	}
}

// apiTrade is a trade as the control API shows it.
type apiTrade struct {
	AppID          string             `json:"app_id"`
	OutTradeNo     string             `json:"out_trade_no"`
	TradeNo        string             `json:"trade_no"`
	Method         string             `json:"method"`
	ProductCode    string             `json:"product_code"`
	Status         alipay.TradeStatus `json:"status"`
	TotalAmount    alipay.Amount      `json:"total_amount"`
	RefundFee      alipay.Amount      `json:"refund_fee"`
	Subject        string             `json:"subject"`
	Body           string             `json:"body,omitempty"`
	PassbackParams string             `json:"passback_params,omitempty"`
	NotifyURL      string             `json:"notify_url,omitempty"`
	ReturnURL      string             `json:"return_url,omitempty"`
	SellerID       string             `json:"seller_id"`
	BuyerID        string             `json:"buyer_id,omitempty"`
	BuyerOpenID    string             `json:"buyer_open_id,omitempty"`
	BuyerLogonID   string             `json:"buyer_logon_id,omitempty"`
	GmtCreate      apiTime            `json:"gmt_create,omitzero"`
	GmtPayment     apiTime            `json:"gmt_payment,omitzero"`
	GmtClose       apiTime            `json:"gmt_close,omitzero"`
	ExpiresAt      apiTime            `json:"expires_at,omitzero"`
	Refunds        []apiRefund        `json:"refunds"`
}

type apiRefund struct {
	OutRequestNo string        `json:"out_request_no"`
	Amount       alipay.Amount `json:"amount"`
	Reason       string        `json:"reason,omitempty"`
	GmtRefund    apiTime       `json:"gmt_refund,omitzero"`
}

func toAPITrade(t TradeSnapshot) apiTrade {
	a := apiTrade{
		AppID: t.AppID, OutTradeNo: t.OutTradeNo, TradeNo: t.TradeNo, Method: t.Method, ProductCode: t.ProductCode,
		Status: t.Status, TotalAmount: t.TotalAmount, RefundFee: t.RefundFee, Subject: t.Subject, Body: t.Body,
		PassbackParams: t.PassbackParams, NotifyURL: t.NotifyURL, ReturnURL: t.ReturnURL, SellerID: t.SellerID,
		BuyerID: t.BuyerID, BuyerOpenID: t.BuyerOpenID, BuyerLogonID: t.BuyerLogonID,
		GmtCreate: apiTime(t.GmtCreate), GmtPayment: apiTime(t.GmtPayment), GmtClose: apiTime(t.GmtClose),
		ExpiresAt: apiTime(t.ExpiresAt), Refunds: []apiRefund{},
	}
	for _, r := range t.Refunds {
		a.Refunds = append(a.Refunds, apiRefund{OutRequestNo: r.OutRequestNo, Amount: r.Amount, Reason: r.Reason, GmtRefund: apiTime(r.GmtRefund)})
	}
	return a
}

// tradeStatuses are the values of trade_status.
var tradeStatuses = []alipay.TradeStatus{
	alipay.TradeStatusWaitBuyerPay, alipay.TradeStatusSuccess, alipay.TradeStatusClosed, alipay.TradeStatusFinished,
}

func (s *Sandbox) apiApps(w http.ResponseWriter, r *http.Request) {
	apps := []apiApp{}
	for _, a := range s.Apps() {
		apps = append(apps, toAPIApp(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

// listTrades returns the trades of appID (every app's when empty) with
// status (any when empty), oldest first.
func (s *Sandbox) listTrades(appID string, status alipay.TradeStatus) ([]TradeSnapshot, *apiError) {
	if status != "" && !slices.Contains(tradeStatuses, status) {
		return nil, newAPIError(http.StatusBadRequest, "invalid_field", "status %q is not one of %v", status, tradeStatuses)
	}
	var apps []App
	if appID != "" {
		a := s.apps.get(appID)
		if a == nil {
			return nil, newAPIError(http.StatusNotFound, "app_not_found", "no app %q is registered", appID)
		}
		apps = []App{*a}
	} else {
		apps = s.Apps()
	}
	var out []TradeSnapshot
	for _, a := range apps {
		for _, t := range s.Trades(a.AppID) {
			if status == "" || t.Status == status {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

func (s *Sandbox) apiTrades(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ts, err := s.listTrades(q.Get("app_id"), alipay.TradeStatus(q.Get("status")))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := []apiTrade{}
	for _, t := range ts {
		out = append(out, toAPITrade(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"trades": out})
}

func (s *Sandbox) apiTrade(w http.ResponseWriter, r *http.Request) {
	app, aerr := s.resolveApp(r.URL.Query().Get("app_id"))
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	no := r.PathValue("out_trade_no")
	t, ok := s.Trade(app.AppID, no)
	if !ok {
		writeAPIError(w, tradeNotFound(app.AppID, no))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"trade": toAPITrade(t)})
}

func tradeNotFound(appID, outTradeNo string) *apiError {
	return newAPIError(http.StatusNotFound, "trade_not_found", "app %s has no trade %q (a page payment becomes a trade when the buyer opens the cashier)", appID, outTradeNo)
}

// changeError turns a refusal of Pay, Close or Finish into an apiError.
func changeError(appID, outTradeNo string, err error) *apiError {
	var sub alipay.SubCode
	if !errors.As(err, &sub) {
		return newAPIError(http.StatusInternalServerError, "internal", "%v", err)
	}
	var e *apiError
	switch sub {
	case alipay.SubCodeTradeNotExist:
		e = tradeNotFound(appID, outTradeNo)
	case alipay.SubCodeTradeHasSuccess:
		e = newAPIError(http.StatusConflict, "trade_paid", "trade %q of app %s is already paid", outTradeNo, appID)
	case alipay.SubCodeTradeHasClose:
		e = newAPIError(http.StatusConflict, "trade_closed", "trade %q of app %s is closed", outTradeNo, appID)
	default:
		e = newAPIError(http.StatusConflict, "trade_status_conflict", "the status of trade %q of app %s does not allow this (%s)", outTradeNo, appID, sub)
	}
	e.subCode = string(sub)
	return e
}

// apiChange returns the handler of an operation on a trade: Pay, Close or
// Finish. The body, optional, is {"app_id": …}.
func (s *Sandbox) apiChange(op func(appID, outTradeNo string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			AppID string `json:"app_id"`
		}
		if err := decodeBody(w, r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		app, aerr := s.resolveApp(body.AppID)
		if aerr != nil {
			writeAPIError(w, aerr)
			return
		}
		no := r.PathValue("out_trade_no")
		if err := op(app.AppID, no); err != nil {
			writeAPIError(w, changeError(app.AppID, no, err))
			return
		}
		t, _ := s.Trade(app.AppID, no)
		writeJSON(w, http.StatusOK, map[string]any{"trade": toAPITrade(t)})
	}
}

func (s *Sandbox) apiClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"now": apiTime(s.Now())})
}

// maxAdvance bounds one advance of the clock.
const maxAdvance = 10 * 365 * 24 * time.Hour

// parseAdvance parses the duration of an advance of the clock.
func parseAdvance(text string) (time.Duration, *apiError) {
	if text == "" {
		return 0, newAPIError(http.StatusBadRequest, "missing_field", `duration is required, such as "15m" or "24h"`)
	}
	d, err := time.ParseDuration(text)
	if err != nil || d <= 0 || d > maxAdvance {
		return 0, newAPIError(http.StatusBadRequest, "invalid_field", `duration %q: want a positive Go duration up to 87600h, such as "15m" or "24h"`, text)
	}
	return d, nil
}

func (s *Sandbox) apiAdvance(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Duration string `json:"duration"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	d, aerr := parseAdvance(body.Duration)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	s.Advance(d)
	writeJSON(w, http.StatusOK, map[string]any{"now": apiTime(s.Now())})
}
