package shop

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
)

// buyerCookie holds the buyer's random id: who "my orders" belong to.
const buyerCookie = "zhifu_shop_buyer"

// buyerIDPattern is what a buyer id looks like: "b_" and 32 hex digits.
// A cookie with anything else is replaced by a new id.
var buyerIDPattern = regexp.MustCompile(`^b_[0-9a-f]{32}$`)

// newBuyerID returns a new random buyer id (128 bits).
func newBuyerID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it so)
	return "b_" + hex.EncodeToString(b[:])
}

// buyer returns the buyer id of the request's cookie, or a new one that it
// sets as the cookie on w. SameSite=Lax keeps the cookie off other sites'
// POSTs while the buyer's return from the cashier (a top-level GET) still
// carries it.
func buyer(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(buyerCookie); err == nil && buyerIDPattern.MatchString(c.Value) {
		return c.Value
	}
	id := newBuyerID()
	http.SetCookie(w, &http.Cookie{
		Name:     buyerCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   365 * 24 * 3600,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	// Later reads of the same request see the new id too.
	r.AddCookie(&http.Cookie{Name: buyerCookie, Value: id})
	return id
}

// csrfToken returns the token the buyer's forms carry: an HMAC of the
// buyer id under the shop's key. Another site knows neither the id (an
// HttpOnly cookie) nor the key, so it cannot forge a form the shop takes.
func (s *Shop) csrfToken(buyerID string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("zhifu shop csrf\x00" + buyerID))
	return hex.EncodeToString(m.Sum(nil))
}

// checkPost reports whether the POST r is the buyer's own: its form's
// csrf_token is the buyer's token, and an Origin header, when the browser
// sends one, names this host.
func (s *Shop) checkPost(r *http.Request, buyerID string) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.PostFormValue("csrf_token")
	return hmac.Equal([]byte(got), []byte(s.csrfToken(buyerID)))
}
