package payment_test

import (
	"strings"
	"testing"

	"zhifu/payment"
	"zhifu/sandbox"
)

// TestNewConfig checks that New refuses an incomplete or wrong Config and
// names every mistake.
func TestNewConfig(t *testing.T) {
	t.Parallel()
	ts := sandbox.NewTestServer(t)
	store := openSQLite(t)
	good := payment.Config{Store: store, Alipay: ts.Client(), NotifyURL: "https://shop.example/alipay/notify"}
	if _, err := payment.New(good); err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, tt := range []struct {
		name string
		edit func(c *payment.Config)
		want string
	}{
		{"no store", func(c *payment.Config) { c.Store = nil }, "Store"},
		{"no client", func(c *payment.Config) { c.Alipay = nil }, "Alipay"},
		{"no notify URL", func(c *payment.Config) { c.NotifyURL = "" }, "NotifyURL"},
		{"notify URL with query", func(c *payment.Config) { c.NotifyURL = "https://shop.example/n?x=1" }, "query"},
		{"relative return URL", func(c *payment.Config) { c.ReturnURL = "/return" }, "ReturnURL"},
		{"bad seller", func(c *payment.Config) { c.SellerID = "12345" }, "SellerID"},
		{"bad policy", func(c *payment.Config) { c.PaidAfterClosePolicy = "ignore" }, "PaidAfterClosePolicy"},
		{"short expiry", func(c *payment.Config) { c.DefaultExpiry = 30e9 }, "DefaultExpiry"},
		{"amounts beyond Alipay's", func(c *payment.Config) { c.MaxAmount = payment.MaxTradeAmount + 1 }, "MaxAmount"},
		{"long subjects", func(c *payment.Config) { c.MaxSubjectLen = 300 }, "MaxSubjectLen"},
	} {
		c := good
		tt.edit(&c)
		_, err := payment.New(c)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "payment: ") {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}
