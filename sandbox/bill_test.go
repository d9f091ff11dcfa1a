package sandbox

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhifu/alipay"
)

// billEnv is a test server whose wall clock stands still at 23:50 Beijing
// time on 2024-05-20 unless the test moves it, with SDK clients on the
// sandbox's trade clock (so that the SDK's own bill_date check and the
// request timestamps follow Advance; the gateway allows 15 minutes of
// skew, and the tests advance less than that).
type billEnv struct {
	t      *testing.T
	ts     *TestServer
	wall   *testWall
	client *alipay.Client
}

// testWall is a wall clock a test sets.
type testWall struct {
	mu sync.Mutex
	t  time.Time
}

func (w *testWall) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *testWall) add(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t = w.t.Add(d)
}

var billDay = time.Date(2024, time.May, 20, 23, 50, 0, 0, beijing)

func newBillEnv(t *testing.T) *billEnv {
	t.Helper()
	wall := &testWall{t: billDay}
	ts := newTestServer(t, Config{Now: wall.now})
	e := &billEnv{t: t, ts: ts, wall: wall}
	e.client = e.clientOf(ts.AppID)
	return e
}

// clientOf returns an SDK client of appID (registered with the test app's
// key) on the trade clock.
func (e *billEnv) clientOf(appID string) *alipay.Client {
	e.t.Helper()
	c, err := alipay.New(alipay.Config{
		AppID:           appID,
		PrivateKey:      e.ts.AppPrivateKeyPEM,
		AlipayPublicKey: e.ts.AlipayPublicKeyPEM,
		Gateway:         e.ts.GatewayURL,
		HTTPClient:      e.ts.Server.Client(),
		Now:             e.ts.Sandbox.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// pay pays a trade at once by barcode.
func (e *billEnv) pay(c *alipay.Client, req alipay.TradePayRequest) *alipay.TradePayResponse {
	e.t.Helper()
	req.AuthCode = AuthCodeSuccess
	resp, err := c.TradePay(context.Background(), req)
	if err != nil {
		e.t.Fatalf("pay %s: %v", req.OutTradeNo, err)
	}
	return resp
}

// bill asks for the bill of date and downloads it.
func (e *billEnv) bill(c *alipay.Client, date string) (billURL string, archive []byte) {
	e.t.Helper()
	ctx := context.Background()
	resp, err := c.DataDataserviceBillDownloadURLQuery(ctx, alipay.DataDataserviceBillDownloadURLQueryRequest{
		BillType: alipay.BillTypeTrade, BillDate: date,
	})
	if err != nil {
		e.t.Fatalf("bill of %s: %v", date, err)
	}
	if !strings.HasPrefix(resp.BillDownloadURL, e.ts.Server.URL+"/bill/") {
		e.t.Fatalf("bill_download_url %q is not under %s/bill/", resp.BillDownloadURL, e.ts.Server.URL)
	}
	archive, err = c.DownloadBill(ctx, resp.BillDownloadURL)
	if err != nil {
		e.t.Fatalf("downloading the bill of %s: %v", date, err)
	}
	return resp.BillDownloadURL, archive
}

// parsedBill is a downloaded trade bill, decoded.
type parsedBill struct {
	detailName, summaryName string
	detail, summary         []string // lines, UTF-8
}

// readBill unzips a bill and decodes its GBK names and files.
func readBill(t *testing.T, archive []byte) parsedBill {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2 {
		t.Fatalf("the zip has %d files, want 2", len(zr.File))
	}
	dec := simplifiedchinese.GBK.NewDecoder()
	var b parsedBill
	for _, f := range zr.File {
		if f.Flags&0x800 != 0 {
			t.Errorf("%q: the zip's UTF-8 flag is set; Alipay's names are GBK", f.Name)
		}
		name, err := dec.String(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		text, err := dec.String(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(text, '\uFFFD') {
			t.Errorf("%s does not decode as GBK", name)
		}
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if strings.HasSuffix(name, "_业务明细(汇总).csv") {
			b.summaryName, b.summary = name, lines
		} else {
			b.detailName, b.detail = name, lines
		}
	}
	return b
}

// csvRows parses lines as CSV records of n fields.
func csvRows(t *testing.T, lines []string, n int) [][]string {
	t.Helper()
	if len(lines) == 0 {
		return nil
	}
	r := csv.NewReader(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	r.FieldsPerRecord = n
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("rows do not parse as CSV of %d fields: %v\n%s", n, err, strings.Join(lines, "\n"))
	}
	return recs
}

// section returns the lines strictly between the lines start and end.
func section(t *testing.T, lines []string, start, end string) []string {
	t.Helper()
	i, j := -1, -1
	for k, l := range lines {
		switch l {
		case start:
			i = k
		case end:
			j = k
		}
	}
	if i < 0 || j < i {
		t.Fatalf("no section between %q and %q in\n%s", start, end, strings.Join(lines, "\n"))
	}
	return lines[i+1 : j]
}

func amount(t *testing.T, s string) alipay.Amount {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	a, err := alipay.ParseAmount(strings.TrimPrefix(s, "-"))
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	if neg {
		a = -a
	}
	return a
}

// TestBillTrade pays trades and refunds one on a day, then reads the day's
// bill as a merchant would: through the SDK, unzipped, GBK-decoded,
// parsed as CSV.
func TestBillTrade(t *testing.T) {
	t.Parallel()
	e := newBillEnv(t)
	ctx := context.Background()
	sb := e.ts.Sandbox

	a := e.pay(e.client, alipay.TradePayRequest{OutTradeNo: "bill_a", Subject: "拿铁, 大杯 \"热\"", TotalAmount: 1234,
		Body: "两杯", StoreID: "NJ_001", OperatorID: "op7", TerminalID: "T9"})
	e.ts.Sandbox.Advance(time.Minute)
	b := e.pay(e.client, alipay.TradePayRequest{OutTradeNo: "bill_b", Subject: "绿茶🍵", TotalAmount: 1})
	e.ts.Sandbox.Advance(time.Minute)
	c := e.pay(e.client, alipay.TradePayRequest{OutTradeNo: "bill_c", Subject: "Cake", TotalAmount: 10000, StoreID: "NJ_001"})
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "bill_a", RefundAmount: 234, OutRequestNo: "bill_a_r1"}); err != nil {
		t.Fatal(err)
	}
	// A trade the buyer has not paid is not in the bill.
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "bill_wait", Subject: "x", TotalAmount: 500, AuthCode: AuthCodeWaitBuyerPay}); err != nil {
		t.Fatal(err)
	}
	// Another app's trade on the same day is in its own bill only.
	other := "2021000000000099"
	if err := sb.AddApp(App{AppID: other, AppPublicKey: &mustKey(t, e.ts.AppPrivateKeyPEM).PublicKey}); err != nil {
		t.Fatal(err)
	}
	otherClient := e.clientOf(other)
	o := e.pay(otherClient, alipay.TradePayRequest{OutTradeNo: "bill_a", Subject: "别家", TotalAmount: 777})

	// Past midnight: a payment of the new day, then the bill of the day
	// before.
	sb.Advance(11 * time.Minute) // 2024-05-21 00:03
	next := e.pay(e.client, alipay.TradePayRequest{OutTradeNo: "bill_next", Subject: "tomorrow", TotalAmount: 300})

	billURL, archive := e.bill(e.client, "2024-05-20")
	bill := readBill(t, archive)

	app, _ := sb.App(e.ts.AppID)
	account := app.SellerID + "0156"
	if want := account + "_20240520_业务明细.csv"; bill.detailName != want {
		t.Errorf("detail file %q, want %q", bill.detailName, want)
	}
	if want := account + "_20240520_业务明细(汇总).csv"; bill.summaryName != want {
		t.Errorf("summary file %q, want %q", bill.summaryName, want)
	}
	head := []string{
		"#支付宝业务明细查询",
		"#账号：[" + account + "]",
		"#起始日期：[2024年05月20日 00:00:00]   终止日期：[2024年05月21日 00:00:00]",
		billDetailStart,
		strings.Join(billDetailColumns[:], ","),
	}
	for i, want := range head {
		if bill.detail[i] != want {
			t.Errorf("detail line %d = %q, want %q", i, bill.detail[i], want)
		}
	}

	lines := section(t, bill.detail, billDetailStart, billDetailEnd)
	recs := csvRows(t, lines[1:], len(billDetailColumns))
	if len(recs) != 4 {
		t.Fatalf("%d rows, want 4 (3 payments, 1 refund):\n%s", len(recs), strings.Join(lines, "\n"))
	}
	snap := func(no string) TradeSnapshot {
		s, ok := sb.Trade(e.ts.AppID, no)
		if !ok {
			t.Fatalf("no trade %s", no)
		}
		return s
	}
	sa, sbb, sc := snap("bill_a"), snap("bill_b"), snap("bill_c")
	type row struct{ tradeNo, outTradeNo, kind, subject, created, completed, store, operator, terminal, amount, refundNo, body string }
	want := []row{
		{a.TradeNo, "bill_a", "交易", "拿铁, 大杯 \"热\"", billTime(sa.GmtCreate), billTime(sa.GmtPayment), "NJ_001", "op7", "T9", "12.34", "", "两杯"},
		{b.TradeNo, "bill_b", "交易", "绿茶?", billTime(sbb.GmtCreate), billTime(sbb.GmtPayment), "", "", "", "0.01", "", ""},
		{c.TradeNo, "bill_c", "交易", "Cake", billTime(sc.GmtCreate), billTime(sc.GmtPayment), "NJ_001", "", "", "100.00", "", ""},
		{a.TradeNo, "bill_a", "退款", "拿铁, 大杯 \"热\"", billTime(sa.GmtCreate), billTime(sa.Refunds[0].GmtRefund), "NJ_001", "op7", "T9", "-2.34", "bill_a_r1", "两杯"},
	}
	var paid, refunded alipay.Amount
	var trades, refunds int
	for i, r := range recs {
		// Alipay ends these cells with a tab; the others are bare.
		for j, cell := range r {
			if billPadded[j] != strings.HasSuffix(cell, "\t") {
				t.Errorf("row %d, %s: %q: padded %v, want %v", i, billDetailColumns[j], cell, !billPadded[j], billPadded[j])
			}
			r[j] = strings.TrimSuffix(cell, "\t")
		}
		got := row{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[8], r[9], r[11], r[21], r[24]}
		if got != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want[i])
		}
		if r[12] != r[11] {
			t.Errorf("row %d: 商家实收 %s, want the order amount %s", i, r[12], r[11])
		}
		if r[10] != "*买家("+sandboxBuyerLogonID+")" {
			t.Errorf("row %d: 对方账户 %q", i, r[10])
		}
		for _, j := range []int{13, 14, 15, 16, 17, 19, 20, 22, 23} {
			if r[j] != "0.00" {
				t.Errorf("row %d: %s = %q, want 0.00", i, billDetailColumns[j], r[j])
			}
		}
		if r[2] == "退款" {
			refunds++
			refunded += amount(t, r[12])
		} else {
			trades++
			paid += amount(t, r[12])
		}
	}
	for _, r := range recs {
		for _, no := range []string{o.TradeNo, next.TradeNo} {
			if r[0] == no {
				t.Errorf("trade %s is in the bill", no)
			}
		}
	}

	foot := bill.detail[len(bill.detail)-3:]
	wantFoot := []string{
		"#交易合计：" + strconv.Itoa(trades) + "笔，商家实收共" + paid.String() + "元，商家优惠共0.00元",
		"#退款合计：" + strconv.Itoa(refunds) + "笔，商家实收退款共" + refunded.String() + "元，商家优惠退款共0.00元",
		"#导出时间：[2024年05月21日 00:03:00]",
	}
	for i := range wantFoot {
		if foot[i] != wantFoot[i] {
			t.Errorf("footer line %d = %q, want %q", i, foot[i], wantFoot[i])
		}
	}
	if paid != 11235 || refunded != -234 {
		t.Errorf("totals %v and %v, want 112.35 and -2.34", paid, refunded)
	}

	// The summary: a row per store, then 合计, adding up to the detail.
	if bill.summary[0] != "#支付宝业务汇总查询" || bill.summary[1] != head[1] || bill.summary[2] != head[2] {
		t.Errorf("summary header:\n%s", strings.Join(bill.summary[:3], "\n"))
	}
	if last := bill.summary[len(bill.summary)-1]; last != wantFoot[2] {
		t.Errorf("summary ends %q", last)
	}
	sum := section(t, bill.summary, billSummaryStart, billSummaryEnd)
	srecs := csvRows(t, sum, len(billSummaryColumns))
	if strings.Join(srecs[0], ",") != strings.Join(billSummaryColumns, ",") {
		t.Errorf("summary columns %q", srecs[0])
	}
	wantSum := [][]string{
		{"\t", "\t", "1", "0", "0.01", "0.01", "0.00", "0.00", "0.00", "0.00", "0.00", "0.01"},
		{"NJ_001\t", "\t", "2", "1", "110.00", "110.00", "0.00", "0.00", "0.00", "0.00", "0.00", "110.00"},
		{"合计", "", "3", "1", "110.01", "110.01", "0.00", "0.00", "0.00", "0.00", "0.00", "110.01"},
	}
	if got := srecs[1:]; len(got) != len(wantSum) {
		t.Fatalf("summary rows %q", got)
	}
	for i, w := range wantSum {
		if g := srecs[i+1]; strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("summary row %d = %q, want %q", i, g, w)
		}
	}
	if (paid + refunded).String() != srecs[len(srecs)-1][5] {
		t.Errorf("summary total %s, detail adds up to %s", srecs[len(srecs)-1][5], paid+refunded)
	}

	// The URL worked once.
	if _, err := e.client.DownloadBill(ctx, billURL); err == nil {
		t.Error("a second download of the same URL worked")
	}
	if st := httpStatus(t, e.ts.Server.Client(), billURL); st != http.StatusNotFound {
		t.Errorf("a used URL answers %d, want 404", st)
	}

	// The other app's bill has its trade alone.
	_, archive = e.bill(otherClient, "2024-05-20")
	ob := readBill(t, archive)
	orecs := csvRows(t, section(t, ob.detail, billDetailStart, billDetailEnd)[1:], len(billDetailColumns))
	if len(orecs) != 1 || strings.TrimSpace(orecs[0][0]) != o.TradeNo || strings.TrimSpace(orecs[0][11]) != "7.77" {
		t.Errorf("the other app's rows: %q", orecs)
	}
	otherApp, _ := sb.App(other)
	if ob.detail[1] != "#账号：["+otherApp.SellerID+"0156]" {
		t.Errorf("the other app's account line %q", ob.detail[1])
	}

	// The month: once May is over, its bill has May's trades, the one
	// paid on the 21st too.
	e.wall.add(15 * 24 * time.Hour) // 2024-06-05
	_, archive = e.bill(e.client, "2024-05")
	mb := readBill(t, archive)
	if want := account + "_202405_业务明细.csv"; mb.detailName != want {
		t.Errorf("monthly detail file %q, want %q", mb.detailName, want)
	}
	if mb.detail[2] != "#起始日期：[2024年05月01日 00:00:00]   终止日期：[2024年06月01日 00:00:00]" {
		t.Errorf("monthly period line %q", mb.detail[2])
	}
	mrecs := csvRows(t, section(t, mb.detail, billDetailStart, billDetailEnd)[1:], len(billDetailColumns))
	if len(mrecs) != 5 || strings.TrimSpace(mrecs[4][0]) != next.TradeNo {
		t.Errorf("monthly rows: %q", mrecs)
	}

	// A refund is in the bill of the day it is made, whenever the trade
	// was paid.
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "bill_c", RefundAmount: 5000, OutRequestNo: "bill_c_r1"}); err != nil {
		t.Fatal(err)
	}
	e.wall.add(24 * time.Hour) // 2024-06-06
	_, archive = e.bill(e.client, "2024-06-05")
	rb := readBill(t, archive)
	rrecs := csvRows(t, section(t, rb.detail, billDetailStart, billDetailEnd)[1:], len(billDetailColumns))
	if len(rrecs) != 1 {
		t.Fatalf("rows of the refund's day: %q", rrecs)
	}
	r := rrecs[0]
	if strings.TrimSpace(r[0]) != c.TradeNo || strings.TrimSpace(r[2]) != "退款" || r[4] != billTime(sc.GmtCreate) ||
		!strings.HasPrefix(r[5], "2024-06-05 ") || r[11] != "-50.00" || strings.TrimSpace(r[21]) != "bill_c_r1" {
		t.Errorf("the refund's row: %q", r)
	}
	if foot := rb.detail[len(rb.detail)-3 : len(rb.detail)-1]; foot[0] != "#交易合计：0笔，商家实收共0.00元，商家优惠共0.00元" ||
		foot[1] != "#退款合计：1笔，商家实收退款共-50.00元，商家优惠退款共0.00元" {
		t.Errorf("footer of the refund's day: %q", foot)
	}
}

// TestBillEmptyDay: a day without trades has a bill without rows.
func TestBillEmptyDay(t *testing.T) {
	t.Parallel()
	e := newBillEnv(t)
	_, archive := e.bill(e.client, "2024-05-19")
	b := readBill(t, archive)
	if rows := section(t, b.detail, billDetailStart, billDetailEnd); len(rows) != 1 {
		t.Errorf("rows of an empty day: %q", rows)
	}
	foot := b.detail[len(b.detail)-3:]
	if foot[0] != "#交易合计：0笔，商家实收共0.00元，商家优惠共0.00元" || foot[1] != "#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元" {
		t.Errorf("footer of an empty day: %q", foot)
	}
	sum := section(t, b.summary, billSummaryStart, billSummaryEnd)
	if len(sum) != 2 || sum[1] != "合计,,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00" {
		t.Errorf("summary of an empty day: %q", sum)
	}
}

// TestBillURLExpires: a bill URL works for 30 seconds of the trade clock.
func TestBillURLExpires(t *testing.T) {
	t.Parallel()
	e := newBillEnv(t)
	ctx := context.Background()
	ask := func() string {
		resp, err := e.client.DataDataserviceBillDownloadURLQuery(ctx, alipay.DataDataserviceBillDownloadURLQueryRequest{BillType: alipay.BillTypeTrade, BillDate: "2024-05-19"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.BillDownloadURL
	}
	late, early := ask(), ask()
	e.ts.Sandbox.Advance(29 * time.Second)
	if _, err := e.client.DownloadBill(ctx, early); err != nil {
		t.Errorf("download after 29 s: %v", err)
	}
	e.ts.Sandbox.Advance(time.Second)
	if _, err := e.client.DownloadBill(ctx, late); err == nil {
		t.Error("download after 30 s worked")
	}
	if st := httpStatus(t, e.ts.Server.Client(), e.ts.Server.URL+"/bill/0123456789abcdef0123456789abcdef"); st != http.StatusNotFound {
		t.Errorf("an unknown token answers %d", st)
	}
}

// TestBillURLOnceConcurrently: of concurrent downloads of one URL, one
// gets the bill.
func TestBillURLOnceConcurrently(t *testing.T) {
	t.Parallel()
	e := newBillEnv(t)
	resp, err := e.client.DataDataserviceBillDownloadURLQuery(context.Background(), alipay.DataDataserviceBillDownloadURLQueryRequest{BillType: alipay.BillTypeTrade, BillDate: "2024-05-19"})
	if err != nil {
		t.Fatal(err)
	}
	// A HEAD does not use the URL up.
	req, _ := http.NewRequest(http.MethodHead, resp.BillDownloadURL, nil)
	if hr, err := e.ts.Server.Client().Do(req); err != nil {
		t.Fatal(err)
	} else {
		hr.Body.Close()
	}
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() { statuses[i] = httpStatus(t, e.ts.Server.Client(), resp.BillDownloadURL) })
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == http.StatusOK {
			ok++
		} else if st != http.StatusNotFound {
			t.Errorf("status %d", st)
		}
	}
	if ok != 1 {
		t.Errorf("%d downloads of one URL worked, want 1", ok)
	}
}

// TestBillRefused: bill dates and types the API refuses, sent with the
// SDK's generic Do (its DataDataserviceBillDownloadURLQuery refuses them
// before sending).
func TestBillRefused(t *testing.T) {
	t.Parallel()
	e := newBillEnv(t)
	e.ts.Sandbox.Advance(11 * time.Minute) // 2024-05-21 00:01
	for _, tc := range []struct {
		billType, billDate string
		sub                alipay.SubCode
	}{
		{"trade", "2024-05-21", subCodeBillInvalidArguments}, // today
		{"trade", "2024-05-22", subCodeBillInvalidArguments}, // tomorrow
		{"trade", "2030-01-01", subCodeBillInvalidArguments},
		{"trade", "2024-05", subCodeBillInvalidArguments}, // this month
		{"trade", "2024-06", subCodeBillInvalidArguments},
		{"trade", "2015-12-31", subCodeBillInvalidArguments},
		{"trade", "2015-12", subCodeBillInvalidArguments},
		{"trade", "2024/05/20", subCodeBillInvalidArguments},
		{"trade", "20240520", subCodeBillInvalidArguments},
		{"trade", "2024-5-20", subCodeBillInvalidArguments},
		{"trade", "2024-02-30", subCodeBillInvalidArguments},
		{"trade", "2024-13", subCodeBillInvalidArguments},
		{"trade", "", subCodeBillInvalidArguments},
		{"", "2024-05-20", subCodeBillInvalidArguments},
		{"TRADE", "2024-05-20", subCodeBillInvalidArguments},
		{"merchant_act", "2024-05-20", subCodeBillInvalidArguments},
		{"signcustomer", "2024-05-21", subCodeBillInvalidArguments},
		{"signcustomer", "2024-05-20", subCodeBillNotExist},
	} {
		var resp alipay.DataDataserviceBillDownloadURLQueryResponse
		err := e.client.Do(context.Background(), &alipay.Request{
			Method:     "alipay.data.dataservice.bill.downloadurl.query",
			BizContent: map[string]string{"bill_type": tc.billType, "bill_date": tc.billDate},
		}, &resp)
		var ae *alipay.Error
		if !errors.As(err, &ae) {
			t.Errorf("%s %q: %v, want an *alipay.Error", tc.billType, tc.billDate, err)
			continue
		}
		if ae.Code != alipay.CodeBusinessFailed || ae.SubCode != tc.sub || ae.SubMsg == "" {
			t.Errorf("%s %q: %s %s %q, want 40004 %s", tc.billType, tc.billDate, ae.Code, ae.SubCode, ae.SubMsg, tc.sub)
		}
	}
	// Without biz_content.
	err := e.client.Do(context.Background(), &alipay.Request{Method: "alipay.data.dataservice.bill.downloadurl.query"}, new(alipay.DataDataserviceBillDownloadURLQueryResponse))
	if _, sub := subCode(t, err); sub != subCodeBillInvalidArguments {
		t.Errorf("without biz_content: %v", err)
	}
}

// TestEncodeGBK: what GBK cannot encode becomes "?".
func TestEncodeGBK(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"支付宝 abc":    "支付宝 abc",
		"茶🍵":         "茶?",
		"\xff ok":    "? ok",
		"€ 10":       "€ 10", // 0x80 in Microsoft's GBK
		"𠀀":          "?",    // CJK extension B: GB18030 only
		"é":          "é",
		"ｶﾀｶﾅ and ☃": "???? and ?",
	} {
		got, err := simplifiedchinese.GBK.NewDecoder().String(string(encodeGBK(in)))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("encodeGBK(%q) decodes to %q, want %q", in, got, want)
		}
	}
}

// httpStatus GETs u and returns the status.
func httpStatus(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func mustKey(t *testing.T, pemText string) *rsa.PrivateKey {
	t.Helper()
	k, err := alipay.ParsePrivateKey(pemText)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
