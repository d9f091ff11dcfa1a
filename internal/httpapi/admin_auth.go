package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// adminMaxFormBytes bounds the body of every form post.
const adminMaxFormBytes = 64 << 10

// adminHandler is a page or form handler of a logged-in operator.
type adminHandler func(w http.ResponseWriter, r *http.Request, sess *adminSession)

// session returns the request's session, or nil without a valid one.
// The error is for a session that could not be checked: the store did
// not answer.
func (s *adminServer) session(r *http.Request) (*adminSession, error) {
	c, err := r.Cookie(adminSessionCookie)
	if err != nil {
		return nil, nil
	}
	sess, err := s.sessions.check(r.Context(), c.Value)
	if err != nil {
		s.log.Error("httpapi: admin: checking the session failed", "path", r.URL.Path, "error", err)
	}
	return sess, err
}

// sessionError shows the page of a session that could not be checked.
func (s *adminServer) sessionError(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, nil, http.StatusServiceUnavailable, "出错了 Something went wrong",
		"Your login could not be checked: the database did not answer, so nothing was done. Try again in a moment.")
}

// page wraps a GET page: without a session, the browser is sent to the
// login page, which comes back here afterwards.
func (s *adminServer) page(h adminHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			s.sessionError(w, r)
			return
		}
		if sess == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				s.fail(w, r, nil, http.StatusUnauthorized, "请先登录 Please log in", "This page requires a login.")
				return
			}
			http.Redirect(w, r, s.base+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, sess)
	})
}

// form wraps a POST form: it requires a session (401), a request from
// the pages' own origin and the session's CSRF token (403). The form is
// parsed, at most adminMaxFormBytes.
func (s *adminServer) form(h adminHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			s.sessionError(w, r)
			return
		}
		if sess == nil {
			s.fail(w, r, nil, http.StatusUnauthorized, "请先登录 Please log in",
				"Your session has ended, so nothing was done. Log in and try again.")
			return
		}
		if why := adminCrossOrigin(r); why != "" {
			s.log.Warn("httpapi: admin form refused: cross-origin", "path", r.URL.Path, "why", why)
			s.fail(w, r, sess, http.StatusForbidden, "请求被拒绝 Request refused",
				"This form was not sent from the admin pages ("+why+"), so nothing was done.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, adminMaxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, sess, http.StatusBadRequest, "表单无效 Invalid form", "The form could not be read, so nothing was done.")
			return
		}
		if !s.sessions.validCSRF(sess, r.PostFormValue("csrf")) {
			s.log.Warn("httpapi: admin form refused: missing or wrong CSRF token", "path", r.URL.Path)
			s.fail(w, r, sess, http.StatusForbidden, "请求被拒绝 Request refused",
				"This form's security token is missing or belongs to another session, so nothing was done. Reload the page and try again.")
			return
		}
		h(w, r, sess)
	})
}

// adminCrossOrigin returns why a POST does not come from the site it is
// sent to, or "" when its Origin (or, without one, its Referer) names the
// request's own host. A request with neither is refused: browsers send
// Origin with every form post.
func adminCrossOrigin(r *http.Request) string {
	check := func(header, value string) string {
		u, err := url.Parse(value)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return header + " is not a web origin"
		}
		if !strings.EqualFold(u.Host, r.Host) {
			return header + " is another site"
		}
		return ""
	}
	if o := r.Header.Get("Origin"); o != "" {
		return check("Origin", o)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return check("Referer", ref)
	}
	return "no Origin or Referer header"
}

// adminClient names the client of r for the login rate limit: its IP
// address as the connection shows it.
func adminClient(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// adminLoginView is the login page's data.
type adminLoginView struct {
	Next string
}

// loginPage shows the login form.
func (s *adminServer) loginPage(w http.ResponseWriter, r *http.Request) {
	if sess, _ := s.session(r); sess != nil {
		http.Redirect(w, r, s.safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "login", "登录 Log in", adminLoginView{Next: s.safeNext(r.URL.Query().Get("next"))}, "")
}

// login checks the password and starts a session.
func (s *adminServer) login(w http.ResponseWriter, r *http.Request) {
	client := adminClient(r)
	view := adminLoginView{Next: s.safeNext(r.URL.Query().Get("next"))}
	if why := adminCrossOrigin(r); why != "" {
		s.render(w, r, nil, http.StatusForbidden, "login", "登录 Log in", view, "This login was not sent from the login page ("+why+").")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, adminMaxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, nil, http.StatusBadRequest, "login", "登录 Log in", view, "The form could not be read.")
		return
	}
	view.Next = s.safeNext(r.PostFormValue("next"))
	if d := s.limiter.wait(client); d > 0 {
		s.log.Warn("httpapi: admin login refused: too many wrong passwords", "client", client)
		w.Header().Set("Retry-After", fmt.Sprint(int(d.Round(time.Second)/time.Second)))
		s.render(w, r, nil, http.StatusTooManyRequests, "login", "登录 Log in", view,
			fmt.Sprintf("尝试次数过多 Too many wrong passwords: wait %s and try again.", d.Round(time.Second)))
		return
	}
	if !s.password.match(r.PostFormValue("password")) {
		s.limiter.fail(client)
		s.log.Warn("httpapi: admin login failed: wrong password", "client", client)
		s.render(w, r, nil, http.StatusUnauthorized, "login", "登录 Log in", view, "密码错误 Wrong password.")
		return
	}
	s.limiter.succeed(client)
	_, token := s.sessions.create()
	http.SetCookie(w, s.cookie(token, int(s.cfg.SessionTTL/time.Second)))
	s.log.Info("httpapi: admin login", "client", client)
	http.Redirect(w, r, view.Next, http.StatusSeeOther)
}

// logout ends the session on every instance. When that cannot be
// recorded the cookie is kept, so that the operator can try again.
func (s *adminServer) logout(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	if err := s.sessions.revoke(r.Context(), sess); err != nil {
		s.log.Error("httpapi: admin logout failed", "client", adminClient(r), "error", err)
		s.fail(w, r, sess, http.StatusServiceUnavailable, "退出失败 Logout failed",
			"The logout could not be recorded (the database did not answer), so you are still logged in. Try again in a moment.")
		return
	}
	http.SetCookie(w, s.cookie("", -1))
	s.log.Info("httpapi: admin logout", "client", adminClient(r))
	http.Redirect(w, r, s.base+"/login", http.StatusSeeOther)
}

// cookie returns the session cookie with the value, kept maxAge seconds
// (negative: deleted).
func (s *adminServer) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: adminSessionCookie, Value: value, Path: s.base + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	}
}

// safeNext returns next if it is a page of the admin pages, or the orders
// page: the login never sends the browser to another site.
func (s *adminServer) safeNext(next string) string {
	if strings.HasPrefix(next, s.base+"/") && !strings.Contains(next, "//") && !strings.Contains(next, "/.") && !strings.ContainsAny(next, "\\\r\n") &&
		!strings.HasPrefix(next, s.base+"/login") {
		return next
	}
	return s.base + "/orders"
}
