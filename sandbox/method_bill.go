package sandbox

import (
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"zhifu/alipay"
)

// methodBillDownloadURLQuery is the method that asks for a bill.
const methodBillDownloadURLQuery = "alipay.data.dataservice.bill.downloadurl.query"

// Answers of alipay.data.dataservice.bill.downloadurl.query. Public code
// that calls the real API checks these sub codes (the API's own error
// table lists INVAILID_ARGUMENTS and BILL_NOT_EXIST; deployed code sees
// "isv.invalid_arguments" and "isp.bill_not_exist"). The gateway code they
// come with is UNCONFIRMED: the sandbox answers 40004 Business Failed, as
// for every business refusal.
const (
	// subCodeBillInvalidArguments refuses a bill_type or bill_date the API
	// does not take: malformed, before 2016-01-01, or a day (month) not
	// over yet — Alipay only has bills of yesterday and earlier.
	// UNCONFIRMED: one public report has "invalid_arguments" without the
	// "isv." prefix.
	subCodeBillInvalidArguments alipay.SubCode = "isv.invalid_arguments"
	// subCodeBillNotExist is Alipay's "no such bill". The sandbox answers
	// it for bill_type=signcustomer: it keeps no merchant balance, so it
	// has no account funds bill (账务明细) to serve; use bill_type=trade.
	subCodeBillNotExist alipay.SubCode = "isp.bill_not_exist"
)

// billURLLifetime is how long a bill_download_url works, on the trade
// clock: 30 seconds, as Alipay documents.
const billURLLifetime = 30 * time.Second

// maxOpenBills bounds the bills issued and not yet downloaded or expired
// that a sandbox holds; past it the oldest URL stops working. With a trade
// clock that stands still (a test's Config.Now), URLs never expire by
// themselves.
const maxOpenBills = 256

// firstBillDay is the first day Alipay has bills for.
var firstBillDay = time.Date(2016, time.January, 1, 0, 0, 0, 0, beijing)

// dataDataserviceBillDownloadURLQuery answers
// alipay.data.dataservice.bill.downloadurl.query: it builds the app's bill
// of bill_date now and answers a one-shot URL under /bill/ that serves it
// for billURLLifetime.
//
// bill_type=trade is the acquiring business bill (业务明细, see
// bill_csv.go): the app's payments completed in the period and its refunds
// made in it, in Beijing time. A period without any gets a bill without
// rows (UNCONFIRMED: Alipay may answer isp.bill_not_exist instead). Alipay
// makes a day's bill ready by about 09:00 the next day and a month's by
// the 3rd; the sandbox has it as soon as the period is over.
//
// bill_date is yyyy-MM-dd (a day) or yyyy-MM (a month), from 2016-01-01 up
// to yesterday or last month on the trade clock. Anything else, including
// today and the current month, is refused with isv.invalid_arguments
// (UNCONFIRMED, see subCodeBillInvalidArguments).
func dataDataserviceBillDownloadURLQuery(s *Sandbox, c *call) *reply {
	if c.biz == nil {
		return billInvalid("biz_content 缺失")
	}
	billType, fail := c.biz.textMax("bill_type", 20)
	if fail != nil {
		return fail
	}
	billDate, fail := c.biz.textMax("bill_date", 15)
	if fail != nil {
		return fail
	}
	switch billType {
	case string(alipay.BillTypeTrade):
	case string(alipay.BillTypeSignCustomer):
		if _, fail := parseBillDate(billDate, c.now); fail != nil {
			return fail
		}
		return bizError(subCodeBillNotExist, "账单不存在: 沙箱不提供账务账单(signcustomer)，请下载业务账单(trade)")
	case "":
		return billInvalid("bill_type 缺失")
	default:
		return billInvalid("bill_type 不支持: " + billType)
	}
	p, fail := parseBillDate(billDate, c.now)
	if fail != nil {
		return fail
	}

	var rows []billRow
	s.store.run(c.now, func(x *tx) {
		for _, t := range x.all(c.app.AppID) {
			rows = append(rows, tradeBillRows(t, p)...)
		}
	})
	sortBillRows(rows)
	files := buildTradeBill(c.app.SellerID+"0156", p, rows, c.now)
	archive, err := files.zip(c.now)
	if err != nil {
		s.log.Error("sandbox: zipping a bill", "err", err)
		return newGatewayError(alipay.CodeUnknownError, "isp.unknow-error", "系统繁忙")
	}
	token, err := newToken()
	if err != nil {
		return newGatewayError(alipay.CodeUnknownError, "isp.unknow-error", "系统繁忙")
	}
	s.bills.put(token, &openBill{zip: archive, name: files.zipName, expiresAt: c.now.Add(billURLLifetime)}, c.now)
	// The real URL names the file in downloadFileName, which some clients
	// use to name what they save.
	u := c.baseURL + "/bill/" + token + "?downloadFileName=" + url.QueryEscape(files.zipName)
	return success(map[string]any{"bill_download_url": u})
}

// billInvalid is the answer to a bill_type or bill_date the API refuses.
func billInvalid(problem string) *reply {
	return bizError(subCodeBillInvalidArguments, "参数不合法: "+problem)
}

// parseBillDate reads a bill_date: a day or a month, over by now (the
// trade clock), in Beijing time.
func parseBillDate(s string, now time.Time) (billPeriod, *reply) {
	var p billPeriod
	var err error
	switch len(s) {
	case len(time.DateOnly):
		p.start, err = time.ParseInLocation(time.DateOnly, s, beijing)
		p.end = p.start.AddDate(0, 0, 1)
		p.label = p.start.Format("20060102")
	case len("2006-01"):
		p.start, err = time.ParseInLocation("2006-01", s, beijing)
		p.end = p.start.AddDate(0, 1, 0)
		p.label = p.start.Format("200601")
	case 0:
		return p, billInvalid("bill_date 缺失")
	default:
		return p, billInvalid("bill_date 格式错误，应为 yyyy-MM-dd（日账单）或 yyyy-MM（月账单）: " + s)
	}
	if err != nil {
		return p, billInvalid("bill_date 格式错误，应为 yyyy-MM-dd（日账单）或 yyyy-MM（月账单）: " + s)
	}
	if p.start.Before(firstBillDay) {
		return p, billInvalid("bill_date 早于 2016-01-01，没有更早的账单: " + s)
	}
	if p.end.After(now) {
		return p, billInvalid("bill_date 未结束: 日账单只能下载昨天及以前的，月账单只能下载上月及以前的: " + s)
	}
	return p, nil
}

// openBill is a bill issued and not downloaded yet.
type openBill struct {
	zip       []byte
	name      string // the zip's file name
	expiresAt time.Time
}

// billDesk holds a sandbox's open bills by token.
type billDesk struct {
	mu    sync.Mutex
	bills map[string]*openBill
	order []string // tokens in the order issued, for maxOpenBills
}

// newBillDesk returns an empty billDesk.
func newBillDesk() *billDesk {
	return &billDesk{bills: make(map[string]*openBill)}
}

// put adds an open bill, dropping the expired ones and, past
// maxOpenBills, the oldest.
func (d *billDesk) put(token string, b *openBill, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	for len(d.order) >= maxOpenBills {
		delete(d.bills, d.order[0])
		d.order = d.order[1:]
	}
	d.bills[token] = b
	d.order = append(d.order, token)
}

// take removes and returns the open bill of token, if it has not expired.
func (d *billDesk) take(token string, now time.Time) *openBill {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	b := d.bills[token]
	if b == nil {
		return nil
	}
	// The token stays in d.order until it reaches the front, where sweep
	// drops it.
	delete(d.bills, token)
	if !now.Before(b.expiresAt) {
		return nil
	}
	return b
}

// sweep drops the bills expired at now, and the tokens of bills gone.
// Expiry follows issue order closely enough that it stops at the first
// bill still open; take checks the expiry of the bill it finds again.
func (d *billDesk) sweep(now time.Time) {
	i := 0
	for ; i < len(d.order); i++ {
		b := d.bills[d.order[i]]
		if b != nil && now.Before(b.expiresAt) {
			break
		}
		delete(d.bills, d.order[i])
	}
	d.order = d.order[i:]
}

// routeBill adds the bill downloads to mux.
func (s *Sandbox) routeBill(mux *http.ServeMux) {
	mux.HandleFunc("GET /bill/{token}", s.serveBill)
}

// serveBill serves the zip of a bill_download_url, once, within
// billURLLifetime. A used, expired or unknown URL gets 404 with a short
// text (UNCONFIRMED: what Alipay's download server answers then). A HEAD
// request is refused so that it cannot use up the URL.
func (s *Sandbox) serveBill(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b := s.bills.take(r.PathValue("token"), s.clock.now())
	if b == nil {
		http.Error(w, "账单下载地址已失效：地址只能下载一次，且30秒内有效，请重新获取 (the bill URL works once, for 30 seconds: ask for a new one)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+b.name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(b.zip)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b.zip)
}
