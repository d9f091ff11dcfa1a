package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"zhifu/alipay"
)

// The dashboard at /sandbox/: pages for a person, in Chinese and English,
// that work without JavaScript. Its forms post to the dashboard's own
// handlers, which answer with a redirect (POST, redirect, GET). Every form
// carries the sandbox's per-process token and every POST must come from
// the same origin (Sec-Fetch-Site and Origin, net/http's
// CrossOriginProtection): a web page elsewhere cannot pay, close or break
// anything through the tester's browser. With Config.ControlToken the
// dashboard asks for the token once (/sandbox/login) and keeps a value
// derived from it in a cookie; without, it answers only loopback hosts
// (see Config.ControlToken). No page shows a private or AES key.

//go:embed dashboard/dashboard.html dashboard/dashboard.css
var dashboardFiles embed.FS

// dashboardTemplates are the dashboard's pages, parsed once.
var dashboardTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(beijing).Format("2006-01-02 15:04:05")
	},
	"yuan": func(a alipay.Amount) string { return "¥" + a.String() },
	"trade": func(appID, outTradeNo string) string {
		return "/sandbox/trades/" + url.PathEscape(appID) + "/" + url.PathEscape(outTradeNo)
	},
	"nfault": describeNotifyFault,
	"ms": func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	},
}).ParseFS(dashboardFiles, "dashboard/dashboard.html"))

// dashboardCookie holds, with Config.ControlToken, proof that the browser
// knows the token.
const dashboardCookie = "zhifu_sandbox"

// dashboard is the per-sandbox state of the dashboard.
type dashboard struct {
	csrf string // the token of every form
	cop  *http.CrossOriginProtection
}

func newDashboard() (*dashboard, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("sandbox: making the dashboard's form token: %w", err)
	}
	return &dashboard{csrf: hex.EncodeToString(b[:]), cop: http.NewCrossOriginProtection()}, nil
}

// routeDashboard adds the dashboard's pages and actions.
func (s *Sandbox) routeDashboard(mux *http.ServeMux) {
	mux.HandleFunc("GET /sandbox", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/sandbox/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /sandbox/static/dashboard.css", s.guardPage(s.serveDashboardCSS))
	mux.HandleFunc("GET /sandbox/login", s.serveLogin)
	mux.HandleFunc("POST /sandbox/login", s.serveLoginPost)
	mux.HandleFunc("GET /sandbox/{$}", s.guardPage(s.serveOverview))
	mux.HandleFunc("GET /sandbox/trades", s.guardPage(s.serveTrades))
	mux.HandleFunc("GET /sandbox/trades/{app_id}/{out_trade_no}", s.guardPage(s.serveTradePage))
	mux.HandleFunc("POST /sandbox/trades/{app_id}/{out_trade_no}/{op}", s.guardForm(s.serveTradeAction))
	mux.HandleFunc("POST /sandbox/clock/advance", s.guardForm(s.serveAdvanceForm))
	mux.HandleFunc("GET /sandbox/faults", s.guardPage(s.serveFaults))
	mux.HandleFunc("POST /sandbox/faults", s.guardForm(s.serveAddFault))
	mux.HandleFunc("POST /sandbox/faults/{id}/delete", s.guardForm(s.serveDeleteFault))
	mux.HandleFunc("POST /sandbox/notifications/{notify_id}/resend", s.guardForm(s.serveResendForm))
	mux.HandleFunc("POST /sandbox/notify-faults", s.guardForm(s.serveAddNotifyFault))
	mux.HandleFunc("POST /sandbox/notify-faults/delete", s.guardForm(s.serveDeleteNotifyFault))
	mux.HandleFunc("/sandbox/", s.guardPage(func(w http.ResponseWriter, r *http.Request) {
		s.renderDashboard(w, http.StatusNotFound, "message", page{Title: "未找到 Not found", Error: "没有这个页面 No such page: " + r.URL.Path})
	}))
}

// page is the data of every dashboard page.
type page struct {
	Title string
	CSRF  string
	Now   time.Time
	Done  string // what the last action did
	Error string // why the action failed
	Data  any
}

// renderDashboard writes the named page.
func (s *Sandbox) renderDashboard(w http.ResponseWriter, status int, name string, p page) {
	p.CSRF, p.Now = s.dash.csrf, s.Now()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	if err := dashboardTemplates.ExecuteTemplate(w, name, p); err != nil {
		s.log.Error("sandbox: rendering the dashboard", "page", name, "err", err)
	}
}

// authorized reports whether a dashboard request may go on: with a
// ControlToken, it must carry the login cookie; without, it must be
// addressed to a loopback host.
func (s *Sandbox) authorized(r *http.Request) bool {
	if s.cfg.ControlToken == "" {
		return s.hostAllowed(r)
	}
	c, err := r.Cookie(dashboardCookie)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.loginValue())) == 1
}

// loginValue is the cookie value that proves the ControlToken: derived
// from it, so that the cookie is not the API's token.
func (s *Sandbox) loginValue() string {
	sum := sha256.Sum256([]byte("zhifu sandbox dashboard\x00" + s.cfg.ControlToken))
	return hex.EncodeToString(sum[:])
}

// guardPage lets a page through if the request is authorized.
func (s *Sandbox) guardPage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.refuse(w, r)
			return
		}
		h(w, r)
	}
}

// refuse answers a request that is not authorized.
func (s *Sandbox) refuse(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ControlToken != "" {
		http.Redirect(w, r, "/sandbox/login", http.StatusSeeOther)
		return
	}
	s.renderDashboard(w, http.StatusForbidden, "message", page{Title: "禁止 Forbidden",
		Error: "没有 ControlToken 时，仪表盘只回答 localhost / 127.0.0.1 / [::1]。Without Config.ControlToken the dashboard answers only localhost, 127.0.0.1 and [::1], not " + r.Host + "."})
}

// guardForm lets a form post through if it is authorized, same-origin and
// carries the form token.
func (s *Sandbox) guardForm(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.refuse(w, r)
			return
		}
		if !s.sameOriginForm(w, r) {
			s.renderDashboard(w, http.StatusForbidden, "message", page{Title: "禁止 Forbidden",
				Error: "跨站请求被拒绝。Cross-site request refused: reload the dashboard and use its forms."})
			return
		}
		h(w, r)
	}
}

// sameOriginForm checks a form post: not cross-origin, with the form
// token.
func (s *Sandbox) sameOriginForm(w http.ResponseWriter, r *http.Request) bool {
	if s.dash.cop.Check(r) != nil {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxControlBody)
	if err := r.ParseForm(); err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.dash.csrf)) == 1
}

func (s *Sandbox) serveDashboardCSS(w http.ResponseWriter, r *http.Request) {
	css, _ := dashboardFiles.ReadFile("dashboard/dashboard.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(css)
}

func (s *Sandbox) serveLogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ControlToken == "" {
		http.Redirect(w, r, "/sandbox/", http.StatusSeeOther)
		return
	}
	s.renderDashboard(w, http.StatusOK, "login", page{Title: "登录 Log in"})
}

func (s *Sandbox) serveLoginPost(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ControlToken == "" {
		http.Redirect(w, r, "/sandbox/", http.StatusSeeOther)
		return
	}
	if s.dash.cop.Check(r) != nil {
		s.renderDashboard(w, http.StatusForbidden, "login", page{Title: "登录 Log in", Error: "跨站请求被拒绝。Cross-site request refused."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxControlBody)
	if err := r.ParseForm(); err != nil || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(s.cfg.ControlToken)) != 1 {
		s.renderDashboard(w, http.StatusUnauthorized, "login", page{Title: "登录 Log in", Error: "令牌不对。Wrong token."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: dashboardCookie, Value: s.loginValue(), Path: "/sandbox/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, "/sandbox/", http.StatusSeeOther)
}

// doneMessages are what the dashboard says after a successful action,
// named by the done parameter of the redirect.
var doneMessages = map[string]string{
	"pay":           "已付款 Paid.",
	"close":         "已关闭 Closed.",
	"finish":        "已完结 Finished.",
	"advance":       "时钟已拨快 Clock advanced.",
	"fault_added":   "已添加故障 Fault added.",
	"fault_removed": "已移除故障 Fault removed.",
	"resent":        "已重发通知 Notify resent.",
	"resend_late":   "已重发通知，商户尚未应答 Notify resent; the merchant has not answered yet: reload to see the attempt.",
}

// newPage returns a page with the message of the done parameter.
func newPage(r *http.Request, title string, data any) page {
	return page{Title: title, Done: doneMessages[r.URL.Query().Get("done")], Data: data}
}

// appView is an app as the dashboard shows it: never a key.
type appView struct {
	App      App
	CertMode bool
	AES      bool
	Trades   int
}

func (s *Sandbox) serveOverview(w http.ResponseWriter, r *http.Request) {
	var apps []appView
	for _, a := range s.Apps() {
		apps = append(apps, appView{App: a, CertMode: a.certMode(), AES: a.EncryptKey != "", Trades: len(s.Trades(a.AppID))})
	}
	// The App values carry the public key and the AES key: the template
	// sees only the fields it names, and names no key.
	s.renderDashboard(w, http.StatusOK, "overview", newPage(r, "概览 Overview", struct {
		Apps   []appView
		Faults int
	}{apps, len(s.Faults()) + len(s.NotifyFaults())}))
}

// tradesView is the data of the trades page.
type tradesView struct {
	Apps     []App
	Statuses []alipay.TradeStatus
	AppID    string
	Status   string
	Trades   []TradeSnapshot
}

func (s *Sandbox) serveTrades(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := tradesView{Apps: s.Apps(), Statuses: tradeStatuses, AppID: q.Get("app_id"), Status: q.Get("status")}
	ts, aerr := s.listTrades(v.AppID, alipay.TradeStatus(v.Status))
	p := newPage(r, "交易 Trades", nil)
	status := http.StatusOK
	if aerr != nil {
		status, p.Error = aerr.status, aerr.message
	}
	slices.Reverse(ts) // newest first
	v.Trades = ts
	p.Data = v
	s.renderDashboard(w, status, "trades", p)
}

func (s *Sandbox) serveTradePage(w http.ResponseWriter, r *http.Request) {
	s.renderTrade(w, r, http.StatusOK, "")
}

// renderTrade shows the trade of the request's path, with an error of the
// last action if any.
func (s *Sandbox) renderTrade(w http.ResponseWriter, r *http.Request, status int, errText string) {
	appID, no := r.PathValue("app_id"), r.PathValue("out_trade_no")
	t, ok := s.Trade(appID, no)
	if !ok {
		s.renderDashboard(w, http.StatusNotFound, "message", page{Title: "未找到 Not found", Error: tradeNotFound(appID, no).message})
		return
	}
	p := newPage(r, "交易 Trade "+no, s.tradeView(t))
	p.Error = errText
	if errText != "" {
		p.Done = ""
	}
	s.renderDashboard(w, status, "trade", p)
}

func (s *Sandbox) serveTradeAction(w http.ResponseWriter, r *http.Request) {
	appID, no, op := r.PathValue("app_id"), r.PathValue("out_trade_no"), r.PathValue("op")
	var fn func(appID, outTradeNo string) error
	switch op {
	case "pay":
		fn = s.Pay
	case "close":
		fn = s.Close
	case "finish":
		fn = s.Finish
	default:
		s.renderDashboard(w, http.StatusNotFound, "message", page{Title: "未找到 Not found", Error: "没有这个操作 No such action: " + op})
		return
	}
	if s.apps.get(appID) == nil {
		s.renderDashboard(w, http.StatusNotFound, "message", page{Title: "未找到 Not found", Error: fmt.Sprintf("no app %q is registered", appID)})
		return
	}
	if err := fn(appID, no); err != nil {
		aerr := changeError(appID, no, err)
		if aerr.status == http.StatusNotFound {
			s.renderDashboard(w, aerr.status, "message", page{Title: "未找到 Not found", Error: aerr.message})
			return
		}
		s.renderTrade(w, r, aerr.status, "操作被拒绝 Refused: "+aerr.message)
		return
	}
	http.Redirect(w, r, "/sandbox/trades/"+url.PathEscape(appID)+"/"+url.PathEscape(no)+"?done="+op, http.StatusSeeOther)
}

func (s *Sandbox) serveAdvanceForm(w http.ResponseWriter, r *http.Request) {
	d, aerr := parseAdvance(r.PostForm.Get("duration"))
	if aerr != nil {
		p := newPage(r, "概览 Overview", nil)
		p.Error = aerr.message
		s.renderDashboard(w, aerr.status, "message", p)
		return
	}
	s.Advance(d)
	http.Redirect(w, r, "/sandbox/?done=advance", http.StatusSeeOther)
}

// faultsView is the data of the faults page.
type faultsView struct {
	Apps       []App
	Kinds      []FaultKind
	Methods    []string
	Faults     []Fault
	Injections []FaultInjection
	Form       faultRequest // the form as sent, when it was refused

	NotifyFaults []ScopedNotifyFault
	NotifyForm   apiNotifyFault // the notify fault form as sent, when it was refused
}

// apiMethods returns the gateway methods that take API faults, sorted.
func (s *Sandbox) apiMethods() []string {
	var ms []string
	for name, spec := range s.method {
		if spec.api != nil {
			ms = append(ms, name)
		}
	}
	slices.Sort(ms)
	return ms
}

func (s *Sandbox) faultsView(form faultRequest) faultsView {
	ins := s.FaultInjections()
	slices.Reverse(ins) // newest first
	return faultsView{Apps: s.Apps(), Kinds: FaultKinds(), Methods: s.apiMethods(), Faults: s.Faults(), Injections: ins, Form: form,
		NotifyFaults: s.NotifyFaults()}
}

func (s *Sandbox) serveFaults(w http.ResponseWriter, r *http.Request) {
	s.renderDashboard(w, http.StatusOK, "faults", newPage(r, "故障 Faults", s.faultsView(faultRequest{})))
}

func (s *Sandbox) serveAddFault(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	req := faultRequest{
		AppID: f.Get("app_id"), OutTradeNo: f.Get("out_trade_no"), Method: f.Get("method"),
		Kind: f.Get("kind"), Delay: f.Get("delay"), Code: f.Get("code"),
	}
	var aerr *apiError
	if c := f.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			aerr = newAPIError(http.StatusBadRequest, "invalid_field", "count %q is not a whole number", c)
		}
		req.Count = n
	}
	if aerr == nil {
		_, aerr = s.setFault(req)
	}
	if aerr != nil {
		p := newPage(r, "故障 Faults", s.faultsView(req))
		p.Error = "未添加 Not added: " + aerr.message
		s.renderDashboard(w, aerr.status, "faults", p)
		return
	}
	http.Redirect(w, r, "/sandbox/faults?done=fault_added", http.StatusSeeOther)
}

func (s *Sandbox) serveDeleteFault(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.ClearFaults(id) == 0 {
		p := newPage(r, "故障 Faults", s.faultsView(faultRequest{}))
		p.Error = faultNotFound(id).message
		s.renderDashboard(w, http.StatusNotFound, "faults", p)
		return
	}
	http.Redirect(w, r, "/sandbox/faults?done=fault_removed", http.StatusSeeOther)
}
