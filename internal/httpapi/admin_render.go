package httpapi

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"zhifu/alipay"
	"zhifu/payment"
)

// adminAssets holds the pages' templates, style sheet and icon.
//
//go:embed admin_assets
var adminAssets embed.FS

// adminPages are the parsed page templates, each the layout with one
// page's "content".
type adminPages struct {
	pages map[string]*template.Template
}

// adminView is what every page template receives.
type adminView struct {
	// Title is the page's title.
	Title string
	// Base is AdminConfig.BasePath.
	Base string
	// CSRF is the session's CSRF token, for the forms; "" without a
	// session.
	CSRF string
	// LoggedIn reports whether the page is shown in a session.
	LoggedIn bool
	// HasBills reports whether the bill differences page exists.
	HasBills bool
	// Nav names the page of the navigation bar to highlight.
	Nav string
	// Error is a message shown at the top of the page, in red.
	Error string
	// Data is the page's own data.
	Data any
}

// adminLoadPages parses the templates.
func adminLoadPages() (*adminPages, error) {
	layout, err := template.New("layout.html").Funcs(adminFuncs).ParseFS(adminAssets, "admin_assets/layout.html")
	if err != nil {
		return nil, fmt.Errorf("httpapi: admin templates: %w", err)
	}
	names, err := fs.Glob(adminAssets, "admin_assets/page_*.html")
	if err != nil {
		return nil, fmt.Errorf("httpapi: admin templates: %w", err)
	}
	p := &adminPages{pages: map[string]*template.Template{}}
	for _, n := range names {
		t, err := template.Must(layout.Clone()).ParseFS(adminAssets, n)
		if err != nil {
			return nil, fmt.Errorf("httpapi: admin template %s: %w", n, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path.Base(n), "page_"), ".html")
		p.pages[name] = t
	}
	return p, nil
}

// render writes the page with the data, in the session sess (nil: none),
// with an error message when msg is not "".
func (s *adminServer) render(w http.ResponseWriter, r *http.Request, sess *adminSession, status int, page, title string, data any, msg string) {
	v := adminView{Title: title, Base: s.base, Nav: page, Error: msg, Data: data, HasBills: s.cfg.Bills != nil}
	if sess != nil {
		v.CSRF, v.LoggedIn = sess.csrf, true
	}
	t := s.pages.pages[page]
	var b bytes.Buffer
	if t == nil {
		s.log.Error("httpapi: admin page has no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		s.log.Error("httpapi: admin page failed to render", "page", page, "error", err)
		http.Error(w, "internal error: the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
}

// adminErrorView is the error page's data.
type adminErrorView struct {
	Message string
}

// fail shows an error page with the status, a title and a message that
// says what happened and what to do.
func (s *adminServer) fail(w http.ResponseWriter, r *http.Request, sess *adminSession, status int, title, message string) {
	s.render(w, r, sess, status, "error", title, adminErrorView{Message: message}, "")
}

// serveAsset serves the style sheet and the icon; they need no login.
func (s *adminServer) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	types := map[string]string{"admin.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}
	ct, ok := types[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := adminAssets.ReadFile("admin_assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}

// adminLabel is a badge: a colour class and the Chinese and English
// words.
type adminLabel struct {
	Class, ZH, EN string
}

// adminStatusLabels are the orders' statuses as badges.
var adminStatusLabels = map[payment.Status]adminLabel{
	payment.StatusPending:           {"pending", "待支付", "Pending"},
	payment.StatusPaid:              {"paid", "已支付", "Paid"},
	payment.StatusClosed:            {"closed", "已关闭", "Closed"},
	payment.StatusPartiallyRefunded: {"partial", "部分退款", "Partially refunded"},
	payment.StatusRefunded:          {"refunded", "已退款", "Refunded"},
}

// adminStatusOrder is the order in which the statuses are offered as
// filters.
var adminStatusOrder = []payment.Status{
	payment.StatusPending, payment.StatusPaid, payment.StatusPartiallyRefunded, payment.StatusRefunded, payment.StatusClosed,
}

// adminRefundLabels are the refunds' statuses as badges.
var adminRefundLabels = map[payment.RefundStatus]adminLabel{
	payment.RefundPending:   {"pending", "处理中", "Pending"},
	payment.RefundUnknown:   {"pending", "待确认", "Being settled"},
	payment.RefundSucceeded: {"paid", "退款成功", "Succeeded"},
	payment.RefundFailed:    {"alert", "退款失败", "Failed"},
}

// adminEventLabels name the kinds of events of the timeline.
var adminEventLabels = map[payment.EventKind]adminLabel{
	payment.EventCreated:         {"info", "订单创建", "Order created"},
	payment.EventNotifyReceived:  {"notify", "收到异步通知", "Notify received"},
	payment.EventNotifyRejected:  {"alert", "通知被拒", "Notify rejected"},
	payment.EventReturnReceived:  {"info", "买家返回", "Buyer returned"},
	payment.EventQuery:           {"query", "查询交易", "Trade queried"},
	payment.EventCloseRequested:  {"closed", "请求关闭", "Close requested"},
	payment.EventCloseAnswered:   {"closed", "关闭应答", "Close answered"},
	payment.EventStateChanged:    {"state", "状态变更", "Status changed"},
	payment.EventPaidAfterClose:  {"alert", "关闭后支付", "Paid after close"},
	payment.EventRefundRequested: {"refund", "退款申请", "Refund requested"},
	payment.EventRefundAnswered:  {"refund", "退款应答", "Refund answered"},
	payment.EventRefundSettled:   {"refund", "退款结束", "Refund settled"},
	payment.EventNote:            {"info", "备注", "Note"},
}

// adminEffectLabels say what an event did.
var adminEffectLabels = map[payment.Effect]adminLabel{
	payment.EffectNone:           {"muted", "无变化", "No change (duplicate or stale)"},
	payment.EffectTransitioned:   {"paid", "已应用", "Applied"},
	payment.EffectPaidAfterClose: {"alert", "关闭后支付", "Applied: paid after close"},
	payment.EffectRejected:       {"alert", "已拒绝", "Rejected"},
}

// adminSourceLabels name where an event came from.
var adminSourceLabels = map[payment.Source]string{
	payment.SourceNotify:      "异步通知 notify",
	payment.SourceReturn:      "同步返回 return",
	payment.SourceQuery:       "alipay.trade.query",
	payment.SourceClose:       "alipay.trade.close",
	payment.SourceExpiry:      "到期关闭 expiry",
	payment.SourceRefund:      "alipay.trade.refund",
	payment.SourceRefundQuery: "alipay.trade.fastpay.refund.query",
	payment.SourceMerchant:    "商户 merchant",
}

// adminLookup returns the label of key in m, or one made of the key
// itself for a value this version does not know.
func adminLookup[K ~string](m map[K]adminLabel, key K) adminLabel {
	if l, ok := m[key]; ok {
		return l
	}
	return adminLabel{Class: "muted", EN: string(key)}
}

// adminFlagLabels returns the badges of the order's flags.
func adminFlagLabels(f payment.Flags) []adminLabel {
	var out []adminLabel
	if f.Has(payment.FlagPaidAfterClose) {
		out = append(out, adminLabel{"alert", "关闭后支付", "Paid after close"})
	}
	if f.Has(payment.FlagFinished) {
		out = append(out, adminLabel{"muted", "交易完结", "Finished: no more refunds"})
	}
	return out
}

// adminField is one name and value of a raw notify or response.
type adminField struct {
	Name, Value string
}

// adminRawFields returns the fields of a raw form body (a notify, a
// return's query), sorted by name, or nil when raw is not one.
func adminRawFields(raw []byte) []adminField {
	if len(raw) == 0 || bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil
	}
	v, err := url.ParseQuery(string(raw))
	if err != nil || len(v) == 0 {
		return nil
	}
	out := make([]adminField, 0, len(v))
	for k, vs := range v {
		out = append(out, adminField{strings.ToValidUTF8(k, "\uFFFD"), strings.ToValidUTF8(strings.Join(vs, ", "), "\uFFFD")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// adminFuncs are the functions the templates call.
var adminFuncs = template.FuncMap{
	"yuan":        func(a alipay.Amount) string { return "¥" + a.String() },
	"bj":          adminTime,
	"status":      func(st payment.Status) adminLabel { return adminLookup(adminStatusLabels, st) },
	"refundState": func(st payment.RefundStatus) adminLabel { return adminLookup(adminRefundLabels, st) },
	"eventKind":   func(k payment.EventKind) adminLabel { return adminLookup(adminEventLabels, k) },
	"effect":      func(e payment.Effect) adminLabel { return adminLookup(adminEffectLabels, e) },
	"source":      func(s payment.Source) string { return adminOr(adminSourceLabels[s], string(s)) },
	"flags":       adminFlagLabels,
	"rawFields":   adminRawFields,
	"text": func(b []byte) string {
		if !utf8.Valid(b) {
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}
		return string(b)
	},
}

// adminTime shows t in Beijing time, the zone of Alipay's times, or a
// dash for none.
func adminTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return alipay.FormatTime(t)
}

// adminOr returns s, or def when s is empty.
func adminOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
