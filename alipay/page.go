package alipay

import (
	"errors"
	"fmt"
	"html"
	"strconv"
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
	var stack [16]param
	ps, err := c.pagePayParams(stack[:0], req)
	if err != nil {
		return "", err
	}
	return c.getURL(ps), nil
}

// PagePayForm returns an HTML form that posts the signed
// alipay.trade.page.pay request to the gateway and submits itself: write it
// as the body of a page. Every value is HTML-escaped.
func (c *Client) PagePayForm(req TradePagePayRequest) (string, error) {
	var stack [16]param
	ps, err := c.pagePayParams(stack[:0], req)
	if err != nil {
		return "", err
	}
	return c.postForm(ps), nil
}

// WapPayURL returns the signed alipay.trade.wap.pay URL to redirect the
// buyer's mobile browser to.
func (c *Client) WapPayURL(req TradeWapPayRequest) (string, error) {
	var stack [16]param
	ps, err := c.wapPayParams(stack[:0], req)
	if err != nil {
		return "", err
	}
	return c.getURL(ps), nil
}

// WapPayForm returns a self-submitting HTML form for alipay.trade.wap.pay.
func (c *Client) WapPayForm(req TradeWapPayRequest) (string, error) {
	var stack [16]param
	ps, err := c.wapPayParams(stack[:0], req)
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
	const method = "alipay.trade.app.pay"
	if req.ProductCode == "" {
		req.ProductCode = ProductCodeAppPay
	}
	if err := checkPayment(method, req.OutTradeNo, req.TotalAmount, req.Subject, req.TimeoutExpress, req.PassbackParams); err != nil {
		return "", err
	}
	if err := c.checkTimeExpire(method, req.TimeExpire); err != nil {
		return "", err
	}
	notifyURL, err := c.pageCallbacks(method, "", req.NotifyURL)
	if err != nil {
		return "", err
	}
	content, err := marshalBizContent(req)
	if err != nil {
		return "", err
	}
	var stack [16]param
	ps, err := c.signPageParams(stack[:0], method, content, "", notifyURL, req.AppAuthToken)
	if err != nil {
		return "", err
	}
	return string(ps.appendQuery(nil)), nil
}

// pagePayParams checks and signs req, appending its parameters to dst.
func (c *Client) pagePayParams(dst signedParams, req TradePagePayRequest) (signedParams, error) {
	const method = "alipay.trade.page.pay"
	if req.ProductCode == "" {
		req.ProductCode = ProductCodePagePay
	}
	if err := checkPayment(method, req.OutTradeNo, req.TotalAmount, req.Subject, req.TimeoutExpress, req.PassbackParams); err != nil {
		return nil, err
	}
	if err := c.checkTimeExpire(method, req.TimeExpire); err != nil {
		return nil, err
	}
	notifyURL, err := c.pageCallbacks(method, req.ReturnURL, req.NotifyURL)
	if err != nil {
		return nil, err
	}
	content, err := req.bizContent()
	if err != nil {
		return nil, err
	}
	return c.signPageParams(dst, method, content, req.ReturnURL, notifyURL, req.AppAuthToken)
}

// wapPayParams checks and signs req, appending its parameters to dst.
func (c *Client) wapPayParams(dst signedParams, req TradeWapPayRequest) (signedParams, error) {
	const method = "alipay.trade.wap.pay"
	if req.ProductCode == "" {
		req.ProductCode = ProductCodeWapPay
	}
	if err := checkPayment(method, req.OutTradeNo, req.TotalAmount, req.Subject, req.TimeoutExpress, req.PassbackParams); err != nil {
		return nil, err
	}
	if err := c.checkTimeExpire(method, req.TimeExpire); err != nil {
		return nil, err
	}
	notifyURL, err := c.pageCallbacks(method, req.ReturnURL, req.NotifyURL)
	if err != nil {
		return nil, err
	}
	content, err := marshalBizContent(req)
	if err != nil {
		return nil, err
	}
	return c.signPageParams(dst, method, content, req.ReturnURL, notifyURL, req.AppAuthToken)
}

// pageCallbacks checks the return and notify URLs of a payment-page request
// and returns the notify_url to send: the request's, or the client's.
func (c *Client) pageCallbacks(method, returnURL, notifyURL string) (string, error) {
	// The method is added to an error, not joined to the field name up
	// front: that would cost two allocations on every call.
	if notifyURL == "" {
		notifyURL = c.notifyURL
	} else if !isPlainCallbackURL(notifyURL) {
		if err := checkCallbackURL("NotifyURL", notifyURL); err != nil {
			return "", fmt.Errorf("alipay: %s: %w", method, trimPrefix(err))
		}
	}
	if returnURL != "" && !isPlainCallbackURL(returnURL) {
		if err := checkCallbackURL("ReturnURL", returnURL); err != nil {
			return "", fmt.Errorf("alipay: %s: %w", method, trimPrefix(err))
		}
	}
	return notifyURL, nil
}

// isPlainCallbackURL reports whether s is a callback URL of the plain kind
// that checkCallbackURL accepts without a doubt: http:// or https://, a host
// of letters, digits, dots and dashes, then nothing or a path or query of
// printable ASCII other than space, % and #, at most 256 bytes in all.
// Callback URLs are nearly always of this kind, and url.Parse, which
// checkCallbackURL runs on the others, costs some 2000 instructions a URL.
func isPlainCallbackURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "http://")
	}
	if !ok || len(s) > 256 {
		return false
	}
	host := 0
	for host < len(rest) && (isLetter(rest[host]) || isDigit(rest[host]) || rest[host] == '.' || rest[host] == '-') {
		host++
	}
	if host == 0 || host < len(rest) && rest[host] != '/' && rest[host] != '?' {
		return false
	}
	for i := host; i < len(rest); i++ {
		if c := rest[i]; c <= ' ' || c >= 0x7f || c == '%' || c == '#' {
			return false
		}
	}
	return true
}

// signPageParams appends to dst the parameters of a payment-page request,
// signed: the sign is the last entry, the rest sorted. The callers pass a
// buffer on their stack.
func (c *Client) signPageParams(dst signedParams, method, content, returnURL, notifyURL, appAuthToken string) (signedParams, error) {
	ps := c.newParams(dst, method)
	ps = ps.set("notify_url", notifyURL)
	ps = ps.set("return_url", returnURL)
	ps = ps.set("app_auth_token", appAuthToken)
	ps = ps.set("biz_content", content)
	sign, err := c.sign(ps)
	if err != nil {
		return nil, err
	}
	return append(ps, param{"sign", sign}), nil
}

// bizContent returns the biz_content of req: what marshalBizContent(req)
// returns, written out field by field. Page pay is signed at every checkout,
// and encoding/json's reflection over the struct costs more than all the
// rest of the request but hashing, signing and escaping. goods_detail, rare
// here, and a time_expire that cannot be encoded are left to encoding/json.
func (req *TradePagePayRequest) bizContent() (string, error) {
	if len(req.GoodsDetail) > 0 || req.TotalAmount.checkMarshal() != nil {
		return marshalBizContent(*req)
	}
	var buf [512]byte
	b := append(buf[:0], `{"out_trade_no":`...)
	b = appendJSONString(b, req.OutTradeNo)
	b = append(b, `,"total_amount":"`...)
	b = appendAmount(b, req.TotalAmount)
	b = append(b, `","subject":`...)
	b = appendJSONString(b, req.Subject)
	b = append(b, `,"product_code":`...)
	b = appendJSONString(b, req.ProductCode)
	b = appendJSONField(b, `,"body":`, req.Body)
	b = appendJSONField(b, `,"timeout_express":`, req.TimeoutExpress)
	if !req.TimeExpire.IsZero() {
		var err error
		if b, err = req.TimeExpire.AppendText(append(b, `,"time_expire":"`...)); err != nil {
			return marshalBizContent(*req) // for its error
		}
		b = append(b, '"')
	}
	b = appendJSONField(b, `,"passback_params":`, req.PassbackParams)
	b = appendJSONField(b, `,"qr_pay_mode":`, req.QRPayMode)
	if req.QRCodeWidth != 0 {
		b = strconv.AppendInt(append(b, `,"qrcode_width":`...), int64(req.QRCodeWidth), 10)
	}
	b = appendJSONField(b, `,"integration_type":`, req.IntegrationType)
	b = appendJSONField(b, `,"request_from_url":`, req.RequestFromURL)
	b = appendJSONField(b, `,"enable_pay_channels":`, req.EnablePayChannels)
	b = appendJSONField(b, `,"disable_pay_channels":`, req.DisablePayChannels)
	b = appendJSONField(b, `,"store_id":`, req.StoreID)
	b = appendJSONField(b, `,"merchant_order_no":`, req.MerchantOrderNo)
	return string(append(b, '}')), nil
}

// getURL returns gateway?query for a signed request.
func (c *Client) getURL(ps signedParams) string {
	// Built on the stack and copied once into the string. A page-pay URL is
	// about 1 KB; one over 4 KB grows onto the heap.
	var buf [4096]byte
	b := append(buf[:0], c.gateway...)
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
