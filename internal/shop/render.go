package shop

import (
	"bytes"
	"net/http"
	"time"

	"zhifu/alipay"
)

// page is what every page's layout needs, with the page's own data.
type page struct {
	Title      string // the <title>, in both languages
	Nav        string // the active navigation entry: "home" or "orders"
	CSRF       string // the buyer's form token
	SandboxURL string
	Data       any
}

// render writes the page name with data, status code 200. The page is
// rendered to memory first, so that a template error becomes an error
// page rather than half a page.
func (s *Shop) render(w http.ResponseWriter, r *http.Request, name, title, nav string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, title, nav, data)
}

func (s *Shop) renderStatus(w http.ResponseWriter, r *http.Request, code int, name, title, nav string, data any) {
	p := page{Title: title, Nav: nav, CSRF: s.csrfToken(buyer(w, r)), SandboxURL: s.sandbox, Data: data}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("shop: rendering a page failed", "page", name, "error", err)
		http.Error(w, "shop: the page could not be shown / 页面无法显示", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// failure is the data of the error page.
type failure struct {
	Code     int
	Zh, En   string
	BackHref string
}

// fail shows the error page with a message in both languages, and logs
// err (never shown: it may name internals).
func (s *Shop) fail(w http.ResponseWriter, r *http.Request, code int, zh, en string, err error) {
	if err != nil {
		s.log.Warn("shop: "+en, "path", r.URL.Path, "status", code, "error", err)
	}
	s.renderStatus(w, r, code, "error", "出错了 · Something went wrong", "", failure{Code: code, Zh: zh, En: en, BackHref: "/"})
}

// beijing prints a time as Alipay and Chinese buyers read it: Beijing
// time, "2006-01-02 15:04:05"; "—" for none.
func beijing(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return alipay.FormatTime(t)
}
