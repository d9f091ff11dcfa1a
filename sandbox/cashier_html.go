package sandbox

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"zhifu/alipay"
)

// The pages of the buyer's browser, in templates/: the cashier, the scan
// page of a QR code, and the results. html/template escapes everything the
// merchant sent (subject, body) in its context.
//
//go:embed templates/*.html
var templateFS embed.FS

// pageTemplates are parsed once; they are never changed after.
var pageTemplates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// sandboxBuyerAccount is the sandbox buyer's account as the cashier shows
// it; notifies and queries carry it masked (sandboxBuyerLogonID).
const sandboxBuyerAccount = "test-buyer@sandbox.zhifu"

// sandboxBuyerBalance is the balance the cashier shows: the sandbox buyer
// never runs out (the 余额不足 button fails a payment on purpose).
const sandboxBuyerBalance = "¥1,000,000.00"

// pageView is what the trade pages show.
type pageView struct {
	Trade      TradeSnapshot
	Amount     string // "¥12.34"
	Actions    string // the URL the page's forms post under: /cashier/{token}
	QRURL      string // the scan page of the checkout
	QRImage    string // the path of the image of QRURL's QR code
	CashierURL string
	Buyer      string
	Balance    string
	TimeLeft   string
	ExpiresAt  string // Beijing time
	Error      string // a failed payment, shown above the page
}

// view returns the page view of trade t of checkout token, at now.
func (s *Sandbox) view(r *http.Request, token string, t TradeSnapshot, now time.Time) pageView {
	base := s.baseURL(r)
	return pageView{
		Trade:      t,
		Amount:     "¥" + t.TotalAmount.String(),
		Actions:    base + "/cashier/" + token,
		QRURL:      base + "/qr/" + token,
		QRImage:    "/qr/" + token + qrSuffix, // relative: the page's own origin, as its CSP allows
		CashierURL: base + "/cashier/" + token,
		Buyer:      sandboxBuyerAccount,
		Balance:    sandboxBuyerBalance,
		TimeLeft:   timeLeft(t.ExpiresAt.Sub(now)),
		ExpiresAt:  alipay.FormatTime(t.ExpiresAt),
	}
}

// timeLeft writes d as the cashier's countdown: "1天2小时3分 (1d 2h 3m)".
func timeLeft(d time.Duration) string {
	if d <= 0 {
		return "已超时 expired"
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%d天%d小时%d分 (%dd %dh %dm)", days, hours, mins, days, hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d小时%d分 (%dh %dm)", hours, mins, hours, mins)
	}
	return fmt.Sprintf("%d分 (%dm)", mins, mins)
}

// render writes the named page.
func render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	// The pages post to themselves only; no other site may frame them.
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action *; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := pageTemplates.ExecuteTemplate(w, name, data); err != nil {
		panic("sandbox: rendering " + name + ": " + err.Error())
	}
}

func renderError(w http.ResponseWriter, status int, r *reply) {
	render(w, status, "error", struct{ Code, Msg, SubCode, SubMsg string }{r.code, r.msg, r.subCode, r.subMsg})
}

func renderNotFound(w http.ResponseWriter) {
	renderError(w, http.StatusNotFound, bizError("ACQ.TRADE_NOT_EXIST", "收银台链接不存在或已失效"))
}
