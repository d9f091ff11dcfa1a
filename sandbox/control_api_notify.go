package sandbox

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"zhifu/alipay"
)

// The control API's routes for async notifies: the notifications and
// their delivery attempts, resending one, running what is due, and the
// notify faults. Conventions as in control_api.go.

// maxDeliverDueWait bounds how long POST
// /sandbox/api/notifications/deliver-due waits for the deliveries due.
const maxDeliverDueWait = 2 * time.Minute

// routeNotifyAPI adds the notify routes to api.
func (s *Sandbox) routeNotifyAPI(api *http.ServeMux) {
	api.HandleFunc("GET /sandbox/api/notifications", s.apiNotifications)
	api.HandleFunc("POST /sandbox/api/notifications/deliver-due", s.apiDeliverDue)
	api.HandleFunc("GET /sandbox/api/notifications/{notify_id}", s.apiNotification)
	api.HandleFunc("POST /sandbox/api/notifications/{notify_id}/resend", s.apiResend)
	api.HandleFunc("GET /sandbox/api/notify-faults", s.apiNotifyFaults)
	api.HandleFunc("POST /sandbox/api/notify-faults", s.apiSetNotifyFault)
	api.HandleFunc("DELETE /sandbox/api/notify-faults", s.apiClearNotifyFault)
}

// apiDuration is a duration as the control API writes it: a Go duration
// string such as "1.5ms"; zero is left out (omitzero).
type apiDuration time.Duration

func (d apiDuration) IsZero() bool { return d == 0 }

func (d apiDuration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// apiNotifyFault is a NotifyFault with its scope, as the control API reads
// and writes it: flat, the delay a Go duration string.
type apiNotifyFault struct {
	AppID          string `json:"app_id"`
	OutTradeNo     string `json:"out_trade_no,omitempty"`
	Duplicate      int    `json:"duplicate,omitempty"`
	Concurrent     bool   `json:"concurrent,omitempty"`
	Delay          string `json:"delay,omitempty"`
	DropFirst      int    `json:"drop_first,omitempty"`
	Reorder        int    `json:"reorder,omitempty"`
	BadSignature   bool   `json:"bad_signature,omitempty"`
	TamperAmount   bool   `json:"tamper_amount,omitempty"`
	ForgedOtherApp bool   `json:"forged_other_app,omitempty"`
	ForgedAmount   bool   `json:"forged_amount,omitempty"`
}

func toAPINotifyFault(sc NotifyScope, f NotifyFault) apiNotifyFault {
	a := apiNotifyFault{
		AppID: sc.AppID, OutTradeNo: sc.OutTradeNo, Duplicate: f.Duplicate, Concurrent: f.Concurrent,
		DropFirst: f.DropFirst, Reorder: f.Reorder, BadSignature: f.BadSignature, TamperAmount: f.TamperAmount,
		ForgedOtherApp: f.ForgedOtherApp, ForgedAmount: f.ForgedAmount,
	}
	if f.Delay != 0 {
		a.Delay = f.Delay.String()
	}
	return a
}

// notifyFault returns the fault of a, without its scope.
func (a apiNotifyFault) notifyFault() (NotifyFault, *apiError) {
	f := NotifyFault{
		Duplicate: a.Duplicate, Concurrent: a.Concurrent, DropFirst: a.DropFirst, Reorder: a.Reorder,
		BadSignature: a.BadSignature, TamperAmount: a.TamperAmount, ForgedOtherApp: a.ForgedOtherApp, ForgedAmount: a.ForgedAmount,
	}
	if a.Delay != "" {
		d, err := time.ParseDuration(a.Delay)
		if err != nil {
			return f, newAPIError(http.StatusBadRequest, "invalid_field", `delay %q: want a Go duration such as "30s"`, a.Delay)
		}
		f.Delay = d
	}
	return f, nil
}

// apiNotifyAttempt is a NotifyAttempt as the control API shows it.
type apiNotifyAttempt struct {
	NotifyID      string          `json:"notify_id"`
	Attempt       int             `json:"attempt"`
	Copy          int             `json:"copy,omitempty"`
	Manual        bool            `json:"manual,omitempty"`
	Time          apiTime         `json:"time"`
	URL           string          `json:"url"`
	Form          string          `json:"form,omitempty"`
	StatusCode    int             `json:"status_code,omitempty"`
	Body          string          `json:"body"`
	BodyTruncated bool            `json:"body_truncated,omitempty"`
	Latency       apiDuration     `json:"latency,omitzero"`
	Error         string          `json:"error,omitempty"`
	Dropped       bool            `json:"dropped,omitempty"`
	Acknowledged  bool            `json:"acknowledged"`
	Fault         *apiNotifyFault `json:"fault,omitempty"`
	Delay         apiDuration     `json:"delay,omitzero"`
}

func toAPINotifyAttempt(a NotifyAttempt) apiNotifyAttempt {
	out := apiNotifyAttempt{
		NotifyID: a.NotifyID, Attempt: a.Attempt, Copy: a.Copy, Manual: a.Manual, Time: apiTime(a.Time), URL: a.URL,
		Form: a.Form, StatusCode: a.StatusCode, Body: a.Body, BodyTruncated: a.BodyTruncated, Latency: apiDuration(a.Latency),
		Error: a.Error, Dropped: a.Dropped, Acknowledged: a.Acknowledged, Delay: apiDuration(a.Delay),
	}
	if !a.Fault.IsZero() {
		// The scope is that of the trade the attempt belongs to; the
		// fault itself may have been set on the app.
		f := toAPINotifyFault(NotifyScope{AppID: a.AppID, OutTradeNo: a.OutTradeNo}, a.Fault)
		out.Fault = &f
	}
	return out
}

// apiNotification is a Notification with its delivery attempts.
type apiNotification struct {
	NotifyID      string             `json:"notify_id"`
	AppID         string             `json:"app_id"`
	OutTradeNo    string             `json:"out_trade_no"`
	TradeNo       string             `json:"trade_no"`
	EventSeq      uint64             `json:"event_seq"`
	Kind          EventKind          `json:"kind"`
	TradeStatus   alipay.TradeStatus `json:"trade_status"`
	NotifyURL     string             `json:"notify_url"`
	CreatedAt     apiTime            `json:"created_at"`
	State         NotifyState        `json:"state"`
	AttemptCount  int                `json:"attempt_count"`
	NextAttemptAt apiTime            `json:"next_attempt_at,omitzero"`
	Params        map[string]string  `json:"params"`
	Attempts      []apiNotifyAttempt `json:"attempts"`
}

// toAPINotification returns n with those of attempts that are its own.
func toAPINotification(n Notification, attempts []NotifyAttempt) apiNotification {
	a := apiNotification{
		NotifyID: n.NotifyID, AppID: n.AppID, OutTradeNo: n.OutTradeNo, TradeNo: n.TradeNo, EventSeq: n.EventSeq,
		Kind: n.Kind, TradeStatus: n.TradeStatus, NotifyURL: n.NotifyURL, CreatedAt: apiTime(n.CreatedAt),
		State: n.State, AttemptCount: n.Attempts, NextAttemptAt: apiTime(n.NextAttemptAt),
		Params: make(map[string]string, len(n.Params)), Attempts: []apiNotifyAttempt{},
	}
	for k := range n.Params {
		a.Params[k] = n.Params.Get(k)
	}
	for _, at := range attempts {
		if at.NotifyID == n.NotifyID {
			a.Attempts = append(a.Attempts, toAPINotifyAttempt(at))
		}
	}
	return a
}

// checkOutTradeNo refuses an out_trade_no no trade can have.
func checkOutTradeNo(no string) *apiError {
	if len(no) > 64 {
		return newAPIError(http.StatusBadRequest, "invalid_field", "out_trade_no has more than 64 characters")
	}
	return nil
}

func (s *Sandbox) apiNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app, aerr := s.resolveApp(q.Get("app_id"))
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	no := q.Get("out_trade_no")
	if no != "" {
		if aerr := checkOutTradeNo(no); aerr != nil {
			writeAPIError(w, aerr)
			return
		}
		if _, ok := s.Trade(app.AppID, no); !ok {
			writeAPIError(w, tradeNotFound(app.AppID, no))
			return
		}
	}
	out := []apiNotification{}
	attempts := map[string][]NotifyAttempt{} // by out_trade_no
	for _, n := range s.Notifications(app.AppID) {
		if no != "" && n.OutTradeNo != no {
			continue
		}
		as, ok := attempts[n.OutTradeNo]
		if !ok {
			as = s.NotifyAttempts(app.AppID, n.OutTradeNo)
			attempts[n.OutTradeNo] = as
		}
		out = append(out, toAPINotification(n, as))
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": out})
}

func notificationNotFound(id string) *apiError {
	return newAPIError(http.StatusNotFound, "notification_not_found", "no notification %q (notifies of a previous run are kept only while pending, with Config.DataDir)", id)
}

func (s *Sandbox) apiNotification(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("notify_id")
	n, ok := s.Notification(id)
	if !ok {
		writeAPIError(w, notificationNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notification": toAPINotification(n, s.NotifyAttempts(n.AppID, n.OutTradeNo))})
}

// notifierStopped is the answer of a notify operation on a stopped sandbox.
func notifierStopped() *apiError {
	return newAPIError(http.StatusServiceUnavailable, "stopped", "the sandbox is stopped: it sends no more notifies")
}

// apiResend delivers a notification again now, outside its schedule. The
// delivery runs in the background: POST deliver-due waits for it.
func (s *Sandbox) apiResend(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if aerr := decodeBody(w, r, &body); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	id := r.PathValue("notify_id")
	if _, ok := s.Notification(id); !ok {
		writeAPIError(w, notificationNotFound(id))
		return
	}
	if err := s.ResendNotify(id); err != nil {
		if errors.Is(err, ErrClosed) {
			writeAPIError(w, notifierStopped())
			return
		}
		writeAPIError(w, notificationNotFound(id))
		return
	}
	n, _ := s.Notification(id)
	writeJSON(w, http.StatusAccepted, map[string]any{"notification": toAPINotification(n, s.NotifyAttempts(n.AppID, n.OutTradeNo))})
}

// apiDeliverDue fires what is due on the sandbox clock and waits until the
// deliveries due have been made and recorded (see Sandbox.DeliverDue).
func (s *Sandbox) apiDeliverDue(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if aerr := decodeBody(w, r, &body); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	before := s.notifier.attemptCount()
	ctx, cancel := context.WithTimeout(r.Context(), maxDeliverDueWait)
	defer cancel()
	if err := s.DeliverDue(ctx); err != nil {
		if errors.Is(err, ErrClosed) {
			writeAPIError(w, notifierStopped())
			return
		}
		writeAPIError(w, newAPIError(http.StatusGatewayTimeout, "timeout", "deliveries were still under way after %v (a merchant slow to answer?); they go on in the background", maxDeliverDueWait))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": apiTime(s.Now()), "attempts_made": s.notifier.attemptCount() - before})
}

// attemptCount returns how many delivery attempts have been recorded.
func (n *notifier) attemptCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, as := range n.attempts {
		c += len(as)
	}
	return c
}

func (s *Sandbox) apiNotifyFaults(w http.ResponseWriter, r *http.Request) {
	out := []apiNotifyFault{}
	for _, f := range s.NotifyFaults() {
		out = append(out, toAPINotifyFault(f.Scope, f.Fault))
	}
	writeJSON(w, http.StatusOK, map[string]any{"notify_faults": out})
}

// setNotifyFault checks req and sets its fault, replacing the one of its
// scope.
func (s *Sandbox) setNotifyFault(req apiNotifyFault) (NotifyScope, NotifyFault, *apiError) {
	app, aerr := s.resolveApp(req.AppID)
	if aerr != nil {
		return NotifyScope{}, NotifyFault{}, aerr
	}
	if aerr := checkOutTradeNo(req.OutTradeNo); aerr != nil {
		return NotifyScope{}, NotifyFault{}, aerr
	}
	f, aerr := req.notifyFault()
	if aerr != nil {
		return NotifyScope{}, NotifyFault{}, aerr
	}
	if f.IsZero() {
		return NotifyScope{}, NotifyFault{}, newAPIError(http.StatusBadRequest, "missing_field",
			"set at least one of duplicate, delay, drop_first, reorder, bad_signature, tamper_amount, forged_other_app, forged_amount (DELETE clears a fault)")
	}
	scope := NotifyScope{AppID: app.AppID, OutTradeNo: req.OutTradeNo}
	if err := s.SetNotifyFault(scope, f); err != nil {
		var fe *FaultFieldError
		if errors.As(err, &fe) {
			return NotifyScope{}, NotifyFault{}, newAPIError(http.StatusBadRequest, "invalid_field", "%s %s", fe.Field, fe.Message)
		}
		if errors.Is(err, errNoApp) {
			return NotifyScope{}, NotifyFault{}, newAPIError(http.StatusNotFound, "app_not_found", "no app %q is registered", app.AppID)
		}
		return NotifyScope{}, NotifyFault{}, newAPIError(http.StatusBadRequest, "invalid_field", "%v", err)
	}
	return scope, f, nil
}

func (s *Sandbox) apiSetNotifyFault(w http.ResponseWriter, r *http.Request) {
	var req apiNotifyFault
	if aerr := decodeBody(w, r, &req); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	scope, f, aerr := s.setNotifyFault(req)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notify_fault": toAPINotifyFault(scope, f)})
}

// apiClearNotifyFault clears the notify fault of the scope named by the
// query (app_id, out_trade_no); with neither, every notify fault.
func (s *Sandbox) apiClearNotifyFault(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("app_id") && !q.Has("out_trade_no") {
		fs := s.NotifyFaults()
		for _, f := range fs {
			s.ClearNotifyFault(f.Scope)
		}
		writeJSON(w, http.StatusOK, map[string]any{"cleared": len(fs)})
		return
	}
	if aerr := s.clearNotifyFault(q); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cleared": 1})
}

// clearNotifyFault clears the notify fault of the scope named by v
// (app_id, out_trade_no), which must have one.
func (s *Sandbox) clearNotifyFault(v url.Values) *apiError {
	app, aerr := s.resolveApp(v.Get("app_id"))
	if aerr != nil {
		return aerr
	}
	scope := NotifyScope{AppID: app.AppID, OutTradeNo: v.Get("out_trade_no")}
	for _, f := range s.NotifyFaults() {
		if f.Scope == scope {
			s.ClearNotifyFault(scope)
			return nil
		}
	}
	what := "app " + scope.AppID
	if scope.OutTradeNo != "" {
		what = "trade " + scope.OutTradeNo + " of app " + scope.AppID
	}
	return newAPIError(http.StatusNotFound, "notify_fault_not_found", "%s has no notify fault of its own", what)
}
