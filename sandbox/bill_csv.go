package sandbox

import (
	"archive/zip"
	"bytes"
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhifu/alipay"
)

// The trade bill (bill_type=trade, 业务明细) as Alipay ships it: a zip of
// two GBK CSV files, the detail <account>_<date>_业务明细.csv and the
// summary <account>_<date>_业务明细(汇总).csv, where <account> is the
// merchant's pid followed by "0156" and <date> is yyyyMMdd (yyyyMM for a
// monthly bill: UNCONFIRMED).
//
// Where the layout comes from: no official specification of the files is
// public. It is reconstructed from real bills quoted in public
// reconciliation code (parsers and test fixtures of several unrelated
// projects, 2017 to 2024, agreeing with each other): the "#" header lines,
// the dashed start and end markers (their exact dash counts), the 25
// columns of the detail, the trailing tab after the cells Alipay pads
// (below), the "#交易合计"/"#退款合计"/"#导出时间" footer, the 12 columns and
// the "合计" row of the summary, the GBK file names inside the zip (without
// the zip's UTF-8 flag: the JDK's ZipInputStream fails on them, which
// those projects work around) and the zip's name <account>_<date>.csv.zip
// (the downloadFileName of the real URL).
//
// UNCONFIRMED, chosen here:
//   - line endings: "\n" (billNewline);
//   - quoting: Alipay's rows are not quoted; a cell holding a comma, a
//     quote or a line break (a subject, say) is quoted as RFC 4180 says,
//     so that CSV readers still get the columns right;
//   - 订单金额（元） of a refund row is minus the refunded amount (the public
//     samples only show full refunds);
//   - 备注 is the trade's body (public samples agree with it);
//   - 对方账户 is "*买家(<buyer_logon_id>)", Alipay's "masked name (masked
//     account)" shape, empty for a buyer the sandbox knows only by id;
//   - 门店名称 is empty: the sandbox has store numbers but no store names;
//   - the sandbox has no discounts, red packets or fees: those columns are
//     0.00, and 商家实收 is what the buyer paid;
//   - the summary's amounts are net of refunds and its store cells are
//     padded as in the detail; its rows are one per store_id (the trades
//     without one together), sorted by it, then 合计;
//   - rows are in the order of their completion times.

// billNewline ends every line of the bill files (UNCONFIRMED: "\n" or
// "\r\n").
const billNewline = "\n"

// Marker lines of the bill files, dash counts as in real bills.
const (
	billDetailStart  = "#-----------------------------------------业务明细列表----------------------------------------"
	billDetailEnd    = "#-----------------------------------------业务明细列表结束------------------------------------"
	billSummaryStart = "#-----------------------------------------业务汇总列表----------------------------------------"
	billSummaryEnd   = "#----------------------------------------业务汇总列表结束-------------------------------------"
)

// billDetailColumns are the columns of the detail file, in order.
var billDetailColumns = [...]string{
	"支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间",
	"门店编号", "门店名称", "操作员", "终端号", "对方账户", "订单金额（元）",
	"商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）",
	"券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）",
	"退款批次号/请求号", "服务费（元）", "分润（元）", "备注",
}

// billPadded marks the detail columns whose cells Alipay ends with a tab
// (so that spreadsheets keep long numbers as text): the same set in every
// public sample, including 商家红包消费金额（元）.
var billPadded = [len(billDetailColumns)]bool{0: true, 1: true, 2: true, 6: true, 7: true, 8: true, 9: true, 10: true, 19: true, 21: true}

// billSummaryColumns are the columns of the summary file, in order.
var billSummaryColumns = []string{
	"门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）",
	"支付宝优惠（元）", "商家优惠（元）", "卡消费金额（元）", "服务费（元）", "分润（元）", "实收净额（元）",
}

// billPeriod is the span of a bill in Beijing time: [start, end).
type billPeriod struct {
	start, end time.Time
	label      string // in file names: yyyyMMdd, or yyyyMM for a month
}

// billRow is one line of the detail: a payment (交易) or a refund (退款).
type billRow struct {
	tradeNo, outTradeNo string
	refund              bool
	subject, body       string
	created, completed  time.Time
	storeID, operatorID string
	terminalID, account string
	amount              alipay.Amount // negative for a refund
	refundNo            string        // out_request_no of a refund
}

// tradeBillRows returns the rows of t that fall in p.
func tradeBillRows(t *trade, p billPeriod) []billRow {
	if t.gmtPayment.IsZero() {
		return nil
	}
	o := t.order
	base := billRow{
		tradeNo:    t.tradeNo,
		outTradeNo: o.outTradeNo,
		subject:    o.subject,
		body:       o.body,
		created:    t.gmtCreate,
		storeID:    o.storeID,
		operatorID: o.operatorID,
		terminalID: o.terminalID,
	}
	if t.buyerLogonID != "" {
		base.account = "*买家(" + t.buyerLogonID + ")"
	}
	var rows []billRow
	if p.contains(t.gmtPayment) {
		r := base
		r.completed, r.amount = t.gmtPayment, t.order.totalAmount
		rows = append(rows, r)
	}
	for _, rf := range t.refunds {
		if p.contains(rf.gmt) {
			r := base
			r.refund, r.completed, r.amount, r.refundNo = true, rf.gmt, -rf.amount, rf.outRequestNo
			rows = append(rows, r)
		}
	}
	return rows
}

func (p billPeriod) contains(t time.Time) bool { return !t.Before(p.start) && t.Before(p.end) }

// sortBillRows puts rows in the order of their completion; at the same
// instant payments come first, then by trade_no.
func sortBillRows(rows []billRow) {
	slices.SortStableFunc(rows, func(a, b billRow) int {
		return cmp.Or(a.completed.Compare(b.completed), compareBool(a.refund, b.refund),
			cmp.Compare(a.tradeNo, b.tradeNo), cmp.Compare(a.refundNo, b.refundNo))
	})
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// billFile is one CSV file being written, in UTF-8 until encodeGBK.
type billFile struct{ b strings.Builder }

func (f *billFile) line(s string) {
	f.b.WriteString(s)
	f.b.WriteString(billNewline)
}

// row writes cells, padding those padded says with a tab, quoting the
// cells that need it.
func (f *billFile) row(cells []string, padded func(i int) bool) {
	for i, c := range cells {
		if i > 0 {
			f.b.WriteByte(',')
		}
		if padded(i) {
			c += "\t"
		}
		if strings.ContainsAny(c, ",\"\r\n") {
			c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		f.b.WriteString(c)
	}
	f.b.WriteString(billNewline)
}

// billHeader writes the first lines both files share.
func (f *billFile) header(title, account string, p billPeriod) {
	f.line(title)
	f.line("#账号：[" + account + "]")
	f.line("#起始日期：[" + billClock(p.start) + "]   终止日期：[" + billClock(p.end) + "]")
}

// billClock formats a time as the bill headers do: 2024年05月20日 00:00:00.
func billClock(t time.Time) string { return t.In(beijing).Format("2006年01月02日 15:04:05") }

// billTime formats a time of a row: 2024-05-20 13:14:15.
func billTime(t time.Time) string { return t.In(beijing).Format(time.DateTime) }

// billTotals adds up rows.
type billTotals struct {
	trades, refunds int
	paid, refunded  alipay.Amount // refunded is negative
}

func (t *billTotals) add(r billRow) {
	if r.refund {
		t.refunds++
		t.refunded += r.amount
	} else {
		t.trades++
		t.paid += r.amount
	}
}

// billFiles are the files of a trade bill.
type billFiles struct {
	zipName             string // <account>_<date>.csv.zip
	detailName, summary string // file names inside
	detail, summaryCSV  []byte // GBK
}

// buildTradeBill writes the trade bill of rows (sorted) for account over
// p, exported at now.
func buildTradeBill(account string, p billPeriod, rows []billRow, now time.Time) billFiles {
	exported := "#导出时间：[" + billClock(now) + "]"
	zero := alipay.Amount(0).String()

	var d billFile
	d.header("#支付宝业务明细查询", account, p)
	d.line(billDetailStart)
	d.row(billDetailColumns[:], func(int) bool { return false })
	var all billTotals
	stores := map[string]*billTotals{}
	for _, r := range rows {
		kind := "交易"
		if r.refund {
			kind = "退款"
		}
		amount := r.amount.String()
		d.row([]string{
			r.tradeNo, r.outTradeNo, kind, r.subject, billTime(r.created), billTime(r.completed),
			r.storeID, "", r.operatorID, r.terminalID, r.account, amount,
			amount, zero, zero, zero, zero,
			zero, "", zero, zero,
			r.refundNo, zero, zero, r.body,
		}, func(i int) bool { return billPadded[i] })
		all.add(r)
		st := stores[r.storeID]
		if st == nil {
			st = new(billTotals)
			stores[r.storeID] = st
		}
		st.add(r)
	}
	d.line(billDetailEnd)
	d.line("#交易合计：" + strconv.Itoa(all.trades) + "笔，商家实收共" + all.paid.String() + "元，商家优惠共0.00元")
	d.line("#退款合计：" + strconv.Itoa(all.refunds) + "笔，商家实收退款共" + all.refunded.String() + "元，商家优惠退款共0.00元")
	d.line(exported)

	var s billFile
	s.header("#支付宝业务汇总查询", account, p)
	s.line(billSummaryStart)
	s.row(billSummaryColumns, func(int) bool { return false })
	summaryRow := func(id, name string, t billTotals, pad bool) {
		net := (t.paid + t.refunded).String()
		s.row([]string{
			id, name, strconv.Itoa(t.trades), strconv.Itoa(t.refunds), net, net,
			zero, zero, zero, zero, zero, net,
		}, func(i int) bool { return pad && i < 2 })
	}
	for _, id := range slices.Sorted(maps.Keys(stores)) {
		summaryRow(id, "", *stores[id], true)
	}
	summaryRow("合计", "", all, false)
	s.line(billSummaryEnd)
	s.line(exported)

	base := account + "_" + p.label
	return billFiles{
		zipName:    base + ".csv.zip",
		detailName: base + "_业务明细.csv",
		summary:    base + "_业务明细(汇总).csv",
		detail:     encodeGBK(d.b.String()),
		summaryCSV: encodeGBK(s.b.String()),
	}
}

// zip packs the files into the archive Alipay serves. The names inside
// are GBK without the zip's UTF-8 flag, as in real bills; the files are
// dated at now.
func (f billFiles) zip(now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, file := range []struct {
		name string
		data []byte
	}{{f.detailName, f.detail}, {f.summary, f.summaryCSV}} {
		w, err := zw.CreateHeader(&zip.FileHeader{
			Name:     string(encodeGBK(file.name)),
			NonUTF8:  true,
			Method:   zip.Deflate,
			Modified: now.In(beijing),
		})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(file.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeGBK encodes s in GBK, the bills' encoding. A character GBK cannot
// encode (an emoji in a subject, a rare ideograph, invalid UTF-8) becomes
// "?" rather than failing the whole bill: the merchant still gets every
// row, and a reconciler matches rows by numbers and amounts, not subjects.
func encodeGBK(s string) []byte {
	enc := simplifiedchinese.GBK.NewEncoder()
	out := make([]byte, 0, len(s))
	var rb [utf8.UTFMax]byte
	for _, r := range s {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			continue
		}
		b, err := enc.Bytes(rb[:utf8.EncodeRune(rb[:], r)])
		if err != nil {
			out = append(out, '?')
			continue
		}
		out = append(out, b...)
	}
	return out
}
