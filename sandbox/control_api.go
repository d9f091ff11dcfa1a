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
	"strings"
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
