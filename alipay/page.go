package alipay

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// Product codes of the payment products.
const (
	ProductCodePagePay      = "FAST_INSTANT_TRADE_PAY" // alipay.trade.page.pay
	ProductCodeWapPay       = "QUICK_WAP_WAY"          // alipay.trade.wap.pay
	ProductCodeAppPay       = "QUICK_MSECURITY_PAY"    // alipay.trade.app.pay
	ProductCodeFaceToFace   = "FACE_TO_FACE_PAYMENT"   // precreate, pay
	ProductCodeCyclePayAuth = "CYCLE_PAY_AUTH"         // app pay with periodic deduction
)

// GoodsDetail is one line of goods_detail.
type GoodsDetail struct {
	GoodsID        string `json:"goods_id"`
	GoodsName      string `json:"goods_name"`
	Quantity       int    `json:"quantity"`
	Price          Amount `json:"price"`
	GoodsCategory  string `json:"goods_category,omitempty"`
	CategoriesTree string `json:"categories_tree,omitempty"`
	Body           string `json:"body,omitempty"`
	ShowURL        string `json:"show_url,omitempty"`
}

// TradePagePayRequest is the request of alipay.trade.page.pay, payment on
// Alipay's cashier page in a desktop browser. Fields without a json name are
// public parameters, not business ones.
type TradePagePayRequest struct {
	OutTradeNo         string        `json:"out_trade_no"`
	TotalAmount        Amount        `json:"total_amount"`
	Subject            string        `json:"subject"`
	ProductCode        string        `json:"product_code"` // default ProductCodePagePay
	Body               string        `json:"body,omitempty"`
	TimeoutExpress     string        `json:"timeout_express,omitempty"` // "15m", "2h", "1d", "1c"
	TimeExpire         Time          `json:"time_expire,omitzero"`      // wins over TimeoutExpress
	PassbackParams     string        `json:"passback_params,omitempty"` // URL-encode it yourself
	QRPayMode          string        `json:"qr_pay_mode,omitempty"`
	QRCodeWidth        int           `json:"qrcode_width,omitempty"`
	GoodsDetail        []GoodsDetail `json:"goods_detail,omitempty"`
	IntegrationType    string        `json:"integration_type,omitempty"`
	RequestFromURL     string        `json:"request_from_url,omitempty"`
	EnablePayChannels  string        `json:"enable_pay_channels,omitempty"`
	DisablePayChannels string        `json:"disable_pay_channels,omitempty"`
	StoreID            string        `json:"store_id,omitempty"`
	MerchantOrderNo    string        `json:"merchant_order_no,omitempty"`

	ReturnURL    string `json:"-"` // where the buyer's browser goes after paying
	NotifyURL    string `json:"-"` // default: Config.NotifyURL
	AppAuthToken string `json:"-"` // for an ISV acting for a merchant
}

// TradeWapPayRequest is the request of alipay.trade.wap.pay, payment on
// Alipay's cashier page in a mobile browser.
type TradeWapPayRequest struct {
	OutTradeNo         string        `json:"out_trade_no"`
	TotalAmount        Amount        `json:"total_amount"`
	Subject            string        `json:"subject"`
	ProductCode        string        `json:"product_code"` // default ProductCodeWapPay
	Body               string        `json:"body,omitempty"`
	TimeoutExpress     string        `json:"timeout_express,omitempty"`
	TimeExpire         Time          `json:"time_expire,omitzero"`
	PassbackParams     string        `json:"passback_params,omitempty"`
	QuitURL            string        `json:"quit_url,omitempty"` // where a buyer who gives up goes
	GoodsDetail        []GoodsDetail `json:"goods_detail,omitempty"`
	EnablePayChannels  string        `json:"enable_pay_channels,omitempty"`
	DisablePayChannels string        `json:"disable_pay_channels,omitempty"`
	StoreID            string        `json:"store_id,omitempty"`

	ReturnURL    string `json:"-"`
	NotifyURL    string `json:"-"`
	AppAuthToken string `json:"-"`
}

// TradeAppPayRequest is the request of alipay.trade.app.pay: the order
// string a mobile app hands to Alipay's client SDK.
type TradeAppPayRequest struct {
	OutTradeNo        string        `json:"out_trade_no"`
	TotalAmount       Amount        `json:"total_amount"`
	Subject           string        `json:"subject"`
	ProductCode       string        `json:"product_code"` // default ProductCodeAppPay
	Body              string        `json:"body,omitempty"`
	TimeoutExpress    string        `json:"timeout_express,omitempty"`
	TimeExpire        Time          `json:"time_expire,omitzero"`
	PassbackParams    string        `json:"passback_params,omitempty"`
	GoodsDetail       []GoodsDetail `json:"goods_detail,omitempty"`
	EnablePayChannels string        `json:"enable_pay_channels,omitempty"`
	StoreID           string        `json:"store_id,omitempty"`

	NotifyURL    string `json:"-"`
	AppAuthToken string `json:"-"`
}

// PagePayURL returns the signed alipay.trade.page.pay URL to redirect the
// buyer's browser to. Nothing is sent: the trade exists at Alipay once the
// buyer opens the cashier.
func (c *Client) PagePayURL(req TradePagePayRequest) (string, error) {
	ps, err := c.pagePayParams(req)
	if err != nil {
		return "", err
	}
	return c.getURL(ps), nil
}

// PagePayForm returns an HTML form that posts the signed
// alipay.trade.page.pay request to the gateway and submits itself: write it
// as the body of a page. Every value is HTML-escaped.
func (c *Client) PagePayForm(req TradePagePayRequest) (string, error) {
	ps, err := c.pagePayParams(req)
	if err != nil {
		return "", err
	}
	return c.postForm(ps), nil
}

// WapPayURL returns the signed alipay.trade.wap.pay URL to redirect the
// buyer's mobile browser to.
func (c *Client) WapPayURL(req TradeWapPayRequest) (string, error) {
	ps, err := c.wapPayParams(req)
	if err != nil {
		return "", err
	}
	return c.getURL(ps), nil
}

// WapPayForm returns a self-submitting HTML form for alipay.trade.wap.pay.
func (c *Client) WapPayForm(req TradeWapPayRequest) (string, error) {
	ps, err := c.wapPayParams(req)
	if err != nil {
		return "", err
	}
	return c.postForm(ps), nil
}

// AppPayOrderString returns the signed order string of alipay.trade.app.pay
// that the mobile app passes to Alipay's client SDK. The client SDK's
// resultStatus is a hint only: the notify or a query says whether the buyer
// paid.
func (c *Client) AppPayOrderString(req TradeAppPayRequest) (string, error) {
	if req.ProductCode == "" {
		req.ProductCode = ProductCodeAppPay
	}
	if err := checkPayment("alipay.trade.app.pay", req.OutTradeNo, req.TotalAmount, req.Subject, req.TimeoutExpress, req.PassbackParams); err != nil {
		return "", err
	}
	ps, err := c.pageParams("alipay.trade.app.pay", req, "", req.NotifyURL, req.AppAuthToken)
	if err != nil {
		return "", err
	}
	return string(ps.appendQuery(nil)), nil
}

func (c *Client) pagePayParams(req TradePagePayRequest) (signedParams, error) {
	if req.ProductCode == "" {
		req.ProductCode = ProductCodePagePay
	}
	if err := checkPayment("alipay.trade.page.pay", req.OutTradeNo, req.TotalAmount, req.Subject, req.TimeoutExpress, req.PassbackParams); err != nil {
		return nil, err
	}
	return c.pageParams("alipay.trade.page.pay", req, req.ReturnURL, req.NotifyURL, req.AppAuthToken)
}

func (c *Client) wapPayParams(req TradeWapPayRequest) (signedParams, error) {
	if req.ProductCode == "" {
		req.ProductCode = ProductCodeWapPay
	}
	if err := checkPayment("alipay.trade.wap.pay", req.OutTradeNo, req.TotalAmount, req.Subject, req.TimeoutExpress, req.PassbackParams); err != nil {
		return nil, err
	}
	return c.pageParams("alipay.trade.wap.pay", req, req.ReturnURL, req.NotifyURL, req.AppAuthToken)
}

// pageParams builds and signs the parameters of a payment-page request; the
// sign is the last entry, the rest sorted.
func (c *Client) pageParams(method string, biz any, returnURL, notifyURL, appAuthToken string) (signedParams, error) {
	// The method is added to an error, not joined to the field name up
	// front: that would cost two allocations on every call.
	if notifyURL == "" {
		notifyURL = c.notifyURL
	} else if err := checkCallbackURL("NotifyURL", notifyURL); err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", method, trimPrefix(err))
	}
	if returnURL != "" {
		if err := checkCallbackURL("ReturnURL", returnURL); err != nil {
			return nil, fmt.Errorf("alipay: %s: %w", method, trimPrefix(err))
		}
	}
	content, err := marshalBizContent(biz)
	if err != nil {
		return nil, err
	}
	ps := c.newParams(method)
	ps.set("notify_url", notifyURL)
	ps.set("return_url", returnURL)
	ps.set("app_auth_token", appAuthToken)
	ps.set("biz_content", content)
	sign, err := c.sign(ps)
	if err != nil {
		return nil, err
	}
	return append(ps, param{"sign", sign}), nil
}

// getURL returns gateway?query for a signed request.
func (c *Client) getURL(ps signedParams) string {
	b := make([]byte, 0, len(c.gateway)+1+3*len(ps.get("biz_content"))+1024)
	b = append(b, c.gateway...)
	b = append(b, '?')
	return string(ps.appendQuery(b))
}

// postForm renders a self-submitting form: biz_content as a hidden input, the
// other parameters in the action URL (as the official SDKs do, so that the
// gateway sees each parameter once).
func (c *Client) postForm(ps signedParams) string {
	var query, hidden signedParams
	for _, p := range ps {
		if p.key == "biz_content" {
			hidden = append(hidden, p)
		} else {
			query = append(query, p)
		}
	}
	action := c.gateway + "?" + string(query.appendQuery(nil))
	var b strings.Builder
	b.WriteString(`<form id="alipaysubmit" name="alipaysubmit" action="`)
	b.WriteString(html.EscapeString(action))
	b.WriteString(`" method="POST" accept-charset="utf-8">`)
	for _, p := range hidden {
		fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(p.key), html.EscapeString(p.value))
	}
	b.WriteString(`<noscript><button type="submit">Continue to Alipay</button></noscript></form>`)
	b.WriteString(`<script>document.forms["alipaysubmit"].submit();</script>`)
	return b.String()
}

// checkPayment validates what every payment request shares, before anything
// is signed or sent.
func checkPayment(method, outTradeNo string, amount Amount, subject, timeoutExpress, passback string) error {
	if err := CheckOutTradeNo(outTradeNo); err != nil {
		return fmt.Errorf("alipay: %s: %w", method, trimPrefix(err))
	}
	if err := amount.CheckTradeAmount(); err != nil {
		return fmt.Errorf("alipay: %s: TotalAmount: %w", method, trimPrefix(err))
	}
	if err := checkSubject(subject); err != nil {
		return fmt.Errorf("alipay: %s: %w", method, err)
	}
	if timeoutExpress != "" && !isTimeoutExpress(timeoutExpress) {
		return fmt.Errorf("alipay: %s: TimeoutExpress %q is not a whole number of m, h or d (like \"15m\", \"2h\", \"1d\") or \"1c\"", method, timeoutExpress)
	}
	if utf8.RuneCountInString(passback) > 512 {
		return fmt.Errorf("alipay: %s: PassbackParams has more than 512 characters", method)
	}
	return nil
}

// CheckOutTradeNo reports whether s is a valid out_trade_no: 1 to 64
// letters, digits or underscores.
func CheckOutTradeNo(s string) error {
	if s == "" {
		return errors.New("alipay: OutTradeNo is empty; generate one with alipay.NewOutTradeNo")
	}
	if !isOutTradeNo(s) {
		if len(s) > 64 {
			return fmt.Errorf("alipay: OutTradeNo is %d characters long; at most 64", len(s))
		}
		return fmt.Errorf("alipay: OutTradeNo %q may hold only letters, digits and underscores", s)
	}
	return nil
}

// isOutTradeNo reports whether s matches ^[0-9A-Za-z_]{1,64}$. (A loop
// rather than a regexp: every payment request checks it, and the regexp
// costs some 5000 instructions.)
func isOutTradeNo(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && !isLetter(c) && c != '_' {
			return false
		}
	}
	return true
}

// isTimeoutExpress reports whether s matches ^(?:[1-9][0-9]*[mhd]|1c)$: a
// number of minutes, hours or days without a leading zero, or "1c" (until
// the end of the day).
func isTimeoutExpress(s string) bool {
	if s == "1c" {
		return true
	}
	if len(s) < 2 || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	switch s[len(s)-1] {
	case 'm', 'h', 'd':
		return true
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func checkSubject(s string) error {
	switch n := utf8.RuneCountInString(s); {
	case isBlank(s):
		return errors.New("Subject is empty; it is the title the buyer sees on the cashier")
	case n > 256:
		return fmt.Errorf("Subject has %d characters; at most 256", n)
	case !utf8.ValidString(s):
		return errors.New("Subject is not valid UTF-8")
	}
	return nil
}
