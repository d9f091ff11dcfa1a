package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"zhifu/alipay"
)

// The control API under /sandbox/api/: its routes and conventions are
// described in the package documentation (doc.go). Every answer is JSON,
// errors included.

// maxControlBody bounds a control API request body.
const maxControlBody = 64 << 10

// routeControl adds the control API and the dashboard under /sandbox/.
func (s *Sandbox) routeControl(mux *http.ServeMux) error {
	d, err := newDashboard()
	if err != nil {
		return err
	}
	s.dash = d
	api := http.NewServeMux()
	s.routeControlAPI(api)
	mux.Handle("/sandbox/api/", s.guardAPI(api))
	s.routeDashboard(mux)
	return nil
}

// routeControlAPI adds the control API's routes to api: those of apps,
// trades, the clock and API faults here, those of notifies and notify
// faults in control_api_notify.go.
func (s *Sandbox) routeControlAPI(api *http.ServeMux) {
	api.HandleFunc("GET /sandbox/api/apps", s.apiApps)
	api.HandleFunc("GET /sandbox/api/trades", s.apiTrades)
	api.HandleFunc("GET /sandbox/api/trades/{out_trade_no}", s.apiTrade)
	api.HandleFunc("POST /sandbox/api/trades/{out_trade_no}/pay", s.apiChange(s.Pay))
	api.HandleFunc("POST /sandbox/api/trades/{out_trade_no}/close", s.apiChange(s.Close))
	api.HandleFunc("POST /sandbox/api/trades/{out_trade_no}/finish", s.apiChange(s.Finish))
	api.HandleFunc("GET /sandbox/api/clock", s.apiClock)
	api.HandleFunc("POST /sandbox/api/clock/advance", s.apiAdvance)
	api.HandleFunc("GET /sandbox/api/faults", s.apiFaults)
	api.HandleFunc("POST /sandbox/api/faults", s.apiSetFault)
	api.HandleFunc("DELETE /sandbox/api/faults", s.apiClearFaults)
	api.HandleFunc("GET /sandbox/api/faults/injections", s.apiInjections)
	api.HandleFunc("GET /sandbox/api/faults/{id}", s.apiFault)
	api.HandleFunc("DELETE /sandbox/api/faults/{id}", s.apiClearFault)
	s.routeNotifyAPI(api)
}

// apiError is a control API failure.
type apiError struct {
	status  int
	code    string
	message string
	subCode string // the alipay sub code of a refused trade operation
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(status int, code, format string, a ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, a...)}
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// Only the sandbox's own values get here: a bug, turned into a
		// JSON 500 rather than a half-written body.
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the answer failed"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeAPIError answers err.
func writeAPIError(w http.ResponseWriter, err *apiError) {
	body := map[string]string{"code": err.code, "message": err.message}
	if err.subCode != "" {
		body["alipay_sub_code"] = err.subCode
	}
	if err.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="zhifu sandbox"`)
	}
	writeJSON(w, err.status, map[string]any{"error": body})
}

// guardAPI checks every control API request (token or loopback host,
// cross-origin) and answers unknown routes and wrong methods in JSON.
func (s *Sandbox) guardAPI(api *http.ServeMux) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := s.cfg.ControlToken; tok != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
				writeAPIError(w, newAPIError(http.StatusUnauthorized, "unauthorized", "the control API needs the header Authorization: Bearer <Config.ControlToken>"))
				return
			}
		} else if !s.hostAllowed(r) {
			writeAPIError(w, newAPIError(http.StatusForbidden, "host_not_allowed", "without Config.ControlToken the control API answers only requests to localhost, 127.0.0.1, [::1] or the host of Config.BaseURL, not %q", r.Host))
			return
		}
		if err := cop.Check(r); err != nil {
			writeAPIError(w, newAPIError(http.StatusForbidden, "cross_origin", "a cross-origin browser request may not change the sandbox"))
			return
		}
		if _, pattern := api.Handler(r); pattern == "" {
			// No route: find out whether the path exists with another
			// method (405, with Allow) or not at all (404).
			rec := &statusRecorder{header: http.Header{}}
			h, _ := api.Handler(r)
			h.ServeHTTP(rec, r)
			if rec.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", rec.header.Get("Allow"))
				writeAPIError(w, newAPIError(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, rec.header.Get("Allow")))
				return
			}
			writeAPIError(w, newAPIError(http.StatusNotFound, "not_found", "no control API route %s %s", r.Method, r.URL.Path))
			return
		}
		api.ServeHTTP(w, r)
	})
}

// statusRecorder keeps the status and headers a handler writes.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(status int)      { r.status = status }

// hostAllowed reports whether r is addressed to a loopback host or to the
// host of Config.BaseURL: without a ControlToken this keeps the control
// API and the dashboard from answering a web page that rebinds its own
// name to the sandbox's address (DNS rebinding), and from other machines
// when the sandbox listens on every interface.
func (s *Sandbox) hostAllowed(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	if s.cfg.BaseURL != "" {
		if u, err := url.Parse(s.cfg.BaseURL); err == nil && strings.EqualFold(u.Hostname(), host) {
			return true
		}
	}
	return false
}

// decodeBody decodes a JSON object body into dst: unknown fields, wrong
// types, trailing data and bodies above maxControlBody are refused. An
// empty body leaves dst as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) *apiError {
	r.Body = http.MaxBytesReader(w, r.Body, maxControlBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return newAPIError(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than %d bytes", maxControlBody)
		}
		return newAPIError(http.StatusBadRequest, "bad_body", "reading the body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return newAPIError(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be JSON (Content-Type: application/json), not %q", ct)
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return newAPIError(http.StatusBadRequest, "invalid_field", "field %q: want a JSON %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		case errors.As(err, &typeErr):
			return newAPIError(http.StatusBadRequest, "bad_json", "the body must be a JSON object, not %s", typeErr.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.TrimPrefix(err.Error(), "json: unknown field ")
			return newAPIError(http.StatusBadRequest, "unknown_field", "unknown field %s", field)
		case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
			return newAPIError(http.StatusBadRequest, "bad_json", "the body is not valid JSON: %v", err)
		}
		return newAPIError(http.StatusBadRequest, "bad_json", "the body is not a JSON object of the expected fields: %v", err)
	}
	if dec.More() {
		return newAPIError(http.StatusBadRequest, "bad_json", "the body holds more than one JSON value")
	}
	return nil
}

// jsonKind names a Go kind as JSON does.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	}
	return "object"
}

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

// apiFault is a Fault as the control API reads and writes it.
type apiFault struct {
	ID         string    `json:"id,omitempty"`
	AppID      string    `json:"app_id"`
	OutTradeNo string    `json:"out_trade_no,omitempty"`
	Method     string    `json:"method,omitempty"`
	Kind       FaultKind `json:"kind"`
	Count      int       `json:"count,omitempty"`
	Delay      string    `json:"delay,omitempty"` // a Go duration, such as "30s"
	Code       string    `json:"code,omitempty"`
	Remaining  int       `json:"remaining,omitempty"`
	Created    apiTime   `json:"created,omitzero"`
}

func toAPIFault(f Fault) apiFault {
	a := apiFault{
		ID: f.ID, AppID: f.AppID, OutTradeNo: f.OutTradeNo, Method: f.Method, Kind: f.Kind, Count: f.Count,
		Code: f.Code, Remaining: f.Remaining, Created: apiTime(f.Created),
	}
	if f.Delay != 0 {
		a.Delay = f.Delay.String()
	}
	return a
}

// faultRequest is the body that creates a fault.
type faultRequest struct {
	AppID      string `json:"app_id"`
	OutTradeNo string `json:"out_trade_no"`
	Method     string `json:"method"`
	Kind       string `json:"kind"`
	Count      int    `json:"count"`
	Delay      string `json:"delay"`
	Code       string `json:"code"`
}

// setFault checks req and sets its fault.
func (s *Sandbox) setFault(req faultRequest) (Fault, *apiError) {
	if req.Kind == "" {
		return Fault{}, newAPIError(http.StatusBadRequest, "missing_field", "kind is required: one of %v", FaultKinds())
	}
	app, aerr := s.resolveApp(req.AppID)
	if aerr != nil {
		return Fault{}, aerr
	}
	var delay time.Duration
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil {
			return Fault{}, newAPIError(http.StatusBadRequest, "invalid_field", `delay %q: want a Go duration such as "30s"`, req.Delay)
		}
		delay = d
	}
	f, err := s.SetFault(Fault{
		AppID: app.AppID, OutTradeNo: req.OutTradeNo, Method: req.Method, Kind: FaultKind(req.Kind),
		Count: req.Count, Delay: delay, Code: req.Code,
	})
	if err != nil {
		var fe *FaultFieldError
		if errors.As(err, &fe) {
			return Fault{}, newAPIError(http.StatusBadRequest, "invalid_field", "%s %s", fe.Field, fe.Message)
		}
		return Fault{}, newAPIError(http.StatusBadRequest, "invalid_field", "%v", err)
	}
	return f, nil
}

func (s *Sandbox) apiSetFault(w http.ResponseWriter, r *http.Request) {
	var req faultRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeAPIError(w, err)
		return
	}
	f, aerr := s.setFault(req)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	w.Header().Set("Location", "/sandbox/api/faults/"+url.PathEscape(f.ID))
	writeJSON(w, http.StatusCreated, map[string]any{"fault": toAPIFault(f)})
}

func (s *Sandbox) apiFaults(w http.ResponseWriter, r *http.Request) {
	out := []apiFault{}
	for _, f := range s.Faults() {
		out = append(out, toAPIFault(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": out})
}

func (s *Sandbox) apiFault(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, f := range s.Faults() {
		if f.ID == id {
			writeJSON(w, http.StatusOK, map[string]any{"fault": toAPIFault(f)})
			return
		}
	}
	writeAPIError(w, faultNotFound(id))
}

func faultNotFound(id string) *apiError {
	return newAPIError(http.StatusNotFound, "fault_not_found", "no active fault %q (a fault with a count disappears once used up)", id)
}

func (s *Sandbox) apiClearFault(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.ClearFaults(id) == 0 {
		writeAPIError(w, faultNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cleared": 1})
}

func (s *Sandbox) apiClearFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"cleared": s.ClearFaults()})
}

// apiInjection is a FaultInjection as the control API shows it.
type apiInjection struct {
	Time       apiTime   `json:"time"`
	FaultID    string    `json:"fault_id"`
	Kind       FaultKind `json:"kind"`
	AppID      string    `json:"app_id"`
	OutTradeNo string    `json:"out_trade_no,omitempty"`
	Method     string    `json:"method,omitempty"`
	Action     string    `json:"action"`
}

func (s *Sandbox) apiInjections(w http.ResponseWriter, r *http.Request) {
	out := []apiInjection{}
	for _, in := range s.FaultInjections() {
		out = append(out, apiInjection{apiTime(in.Time), in.FaultID, in.Kind, in.AppID, in.OutTradeNo, in.Method, in.Action})
	}
	writeJSON(w, http.StatusOK, map[string]any{"injections": out})
}
