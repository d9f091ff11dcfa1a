package sandbox

import (
	"errors"
	"net/http"
	"net/url"
	"time"
)

// The control API's fault routes.

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
