package shop_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzPayForm sends the pay form with any product, channel and token:
// the shop answers with a redirect or an error page, never a server
// error, and makes an order only for the buyer's own token, a product it
// sells and a way of paying it offers.
func FuzzPayForm(f *testing.F) {
	f.Add("lantern", "page", true, "")
	f.Add("lantern", "precreate", true, "")
	f.Add("sticker", "wap", false, "00")
	f.Add("<script>", "app", true, "https://evil.example")
	f.Add("", "", false, "null")
	f.Add("lantern\x00", "page\n", true, "")
	shared := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, product, channel string, ownToken bool, origin string) {
		if strings.ContainsFunc(origin, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Skip("a browser cannot send this Origin header")
		}
		e := shared.with(t)
		before := e.orderCount()
		alice := e.newBuyer()
		token := "not-the-token"
		if ownToken {
			token = alice.csrf()
		}
		var header []string
		if origin != "" {
			header = []string{"Origin", origin}
		}
		p := alice.post("/pay", url.Values{"csrf_token": {token}, "product": {product}, "channel": {channel}}, header...)
		if p.status >= 500 && p.status != http.StatusBadGateway {
			t.Fatalf("answered %d:\n%s", p.status, p.body)
		}
		valid := ownToken && (origin == "" || origin == e.srv.URL) &&
			(product == "longjing" || product == "mooncake" || product == "lantern" || product == "sticker") &&
			(channel == "page" || channel == "wap" || channel == "precreate")
		n := e.orderCount() - before
		switch {
		case valid && (p.status != http.StatusSeeOther || n != 1):
			t.Fatalf("a valid form answered %d and made %d orders", p.status, n)
		case !valid && n != 0:
			t.Fatalf("an invalid form (answered %d) made %d orders", p.status, n)
		}
	})
}
