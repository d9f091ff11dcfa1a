package sandbox

import (
	"regexp"
	"slices"
	"strconv"
	"time"

	"zhifu/alipay"
)

// Field rules of §12 of the protocol notes.
var (
	outTradeNoPattern     = regexp.MustCompile(`^[0-9A-Za-z_]{1,64}$`)
	timeoutExpressPattern = regexp.MustCompile(`^(?:([1-9][0-9]{0,5})([mhd])|1c)$`)
)

const (
	minTimeToPay = time.Minute
	maxTimeToPay = 15 * 24 * time.Hour
	// maxBody is the length of body in Alipay's page-pay table; the notify
	// table declares 400. UNCONFIRMED: the sandbox enforces the stricter.
	maxBody = 128
)

// orderRules are what a payment method accepts and assumes.
type orderRules struct {
	products []string      // the product codes it takes; the first is the default
	timeout  time.Duration // the time to pay when the request sets none
}

// order is a validated payment request: what a trade is made of.
type order struct {
	appID          string
	method         string
	productCode    string
	outTradeNo     string
	totalAmount    alipay.Amount
	subject        string
	body           string
	passback       string
	notifyURL      string
	returnURL      string
	quitURL        string
	buyerID        string // alipay.trade.create
	buyerOpenID    string // alipay.trade.create
	storeID        string
	operatorID     string
	terminalID     string
	timeoutExpress string
	timeExpire     time.Time
	defaultTimeout time.Duration
}

// parseOrder validates the payment fields of c's biz_content.
func parseOrder(c *call, rules orderRules) (*order, *reply) {
	b := c.biz
	if b == nil {
		return nil, invalidParam("biz_content", "缺失")
	}
	o := &order{
		appID:          c.app.AppID,
		method:         c.method,
		notifyURL:      c.param("notify_url"),
		returnURL:      c.param("return_url"),
		defaultTimeout: rules.timeout,
	}
	var fail *reply
	text := func(dst *string, key string, max int) {
		if fail == nil {
			*dst, fail = b.textMax(key, max)
		}
	}
	text(&o.outTradeNo, "out_trade_no", 64)
	text(&o.subject, "subject", 256)
	text(&o.body, "body", maxBody)
	text(&o.productCode, "product_code", 64)
	text(&o.passback, "passback_params", 512)
	text(&o.quitURL, "quit_url", 400)
	text(&o.storeID, "store_id", 32)
	text(&o.operatorID, "operator_id", 30)
	text(&o.terminalID, "terminal_id", 32)
	text(&o.timeoutExpress, "timeout_express", 16)
	var expire string
	text(&expire, "time_expire", 32)
	if fail != nil {
		return nil, fail
	}
	var ok bool
	if o.totalAmount, ok, fail = b.amount("total_amount"); fail != nil {
		return nil, fail
	}
	switch {
	case o.outTradeNo == "":
		return nil, invalidParam("out_trade_no", "缺失")
	case !outTradeNoPattern.MatchString(o.outTradeNo):
		return nil, invalidParam("out_trade_no", "只能包含字母、数字、下划线，最多 64 个字符")
	case !ok:
		return nil, invalidParam("total_amount", "缺失")
	case isBlank(o.subject):
		return nil, invalidParam("subject", "缺失")
	}
	if o.productCode == "" {
		o.productCode = rules.products[0]
	} else if !slices.Contains(rules.products, o.productCode) {
		return nil, invalidParam("product_code", "不支持 "+o.productCode)
	}
	if o.timeoutExpress != "" {
		if _, ok := timeoutDuration(o.timeoutExpress); !ok {
			return nil, invalidParam("timeout_express", "应为 1m 到 15d 的整数分钟、小时或天，或 1c")
		}
	}
	if expire != "" {
		t, err := alipay.ParseTime(expire)
		if d := t.Sub(c.now); err != nil || d < minTimeToPay || d > maxTimeToPay {
			return nil, invalidParam("time_expire", "应为 yyyy-MM-dd HH:mm:ss，距现在 1 分钟到 15 天")
		}
		o.timeExpire = t
	}
	return o, nil
}

// timeoutDuration parses a relative timeout_express ("90m", "2h", "15d")
// within 1 minute to 15 days. "1c" has no fixed duration: ok is true and d
// zero.
func timeoutDuration(s string) (d time.Duration, ok bool) {
	m := timeoutExpressPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	if m[1] == "" {
		return 0, true // 1c
	}
	n, _ := strconv.Atoi(m[1]) // at most 6 digits: no overflow
	unit := time.Minute
	switch m[2] {
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	}
	d = time.Duration(n) * unit
	return d, d >= minTimeToPay && d <= maxTimeToPay
}

// deadline returns when a trade of o made at created closes unpaid:
// time_expire wins, then timeout_express ("1c": midnight, Beijing time,
// ending the day of creation), then the method's default.
func (o *order) deadline(created time.Time) time.Time {
	switch {
	case !o.timeExpire.IsZero():
		return o.timeExpire
	case o.timeoutExpress == "1c":
		y, m, d := created.In(beijing).Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, beijing)
	case o.timeoutExpress != "":
		d, _ := timeoutDuration(o.timeoutExpress)
		return created.Add(d)
	}
	return created.Add(o.defaultTimeout)
}

// sameAs reports whether o repeats p: the same product, amount, subject and
// buyer. Alipay refuses a repeat of an out_trade_no that differs in these
// (ACQ.CONTEXT_INCONSISTENT); notify_url and the like may change.
func (o *order) sameAs(p *order) bool {
	return o.productCode == p.productCode && o.totalAmount == p.totalAmount && o.subject == p.subject &&
		o.buyerID == p.buyerID && o.buyerOpenID == p.buyerOpenID
}

// isBlank reports whether s is empty or only white space.
func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' && r != '\u3000' {
			return false
		}
	}
	return true
}
