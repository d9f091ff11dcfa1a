package payment

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhifu/alipay"
)

// The trade bill (bill_type=trade) is a zip of two GBK CSV files: the
// detail, <account>_<date>_业务明细.csv, one row per payment (业务类型 交易)
// and per refund (退款), and its summary, …_业务明细(汇总).csv. Lines that
// start with "#" are titles, markers and totals around the table. The
// columns are found by their header names, so that a column Alipay adds
// or moves does not shift the others.

// Limits of ParseTradeBill.
const (
	// MaxBillFileBytes bounds the uncompressed detail file: a zip bomb is
	// refused instead of filling the memory. 512 MiB holds millions of
	// rows.
	MaxBillFileBytes = 512 << 20
)

// ErrBadBill is wrapped by every error of ParseTradeBill: the archive is
// not a trade bill Alipay could have written.
var ErrBadBill = errors.New("payment: bad trade bill")

// BillLineKind is the kind of a line of the trade bill.
type BillLineKind string

// Kinds of bill lines (业务类型).
const (
	// BillLinePayment is a payment (交易): the buyer paid the trade.
	BillLinePayment BillLineKind = "payment"
	// BillLineRefund is a refund (退款) of a trade.
	BillLineRefund BillLineKind = "refund"
)

// BillLine is one row of the detail file of a trade bill.
type BillLine struct {
	// Line is the row's line number in the detail file, from 1.
	Line int
	// Kind says whether the row is a payment or a refund.
	Kind BillLineKind
	// TradeNo is Alipay's trade number (支付宝交易号).
	TradeNo string
	// OutTradeNo is the merchant's order number (商户订单号).
	OutTradeNo string
	// OutRequestNo is the refund's out_request_no (退款批次号/请求号);
	// empty for a payment.
	OutRequestNo string
	// Amount is the order amount (订单金额（元）) of a payment, or the
	// amount given back by a refund, always positive: the bill writes a
	// refund as a negative amount.
	Amount alipay.Amount
	// Received is what the merchant received (商家实收（元）), positive like
	// Amount; zero when the bill has no such column.
	Received alipay.Amount
	// Subject is the trade's subject (商品名称).
	Subject string
	// CreatedAt is when the trade was created (创建时间), or zero when the
	// bill has no such column.
	CreatedAt time.Time
	// CompletedAt is when the payment or refund was done (完成时间).
	CompletedAt time.Time
}

// TradeBill is a parsed trade bill: its header and the lines of its
// detail file.
type TradeBill struct {
	// Account is the account of the header (#账号：[…]), or "".
	Account string
	// Start and End are the period of the header (#起始日期 and 终止日期),
	// zero when the header does not give them.
	Start, End time.Time
	// Lines are the detail's payments and refunds, in file order.
	Lines []BillLine
}

// BillParseError is an error of ParseTradeBill at one place of the
// detail file. It wraps ErrBadBill.
type BillParseError struct {
	// Line is the line number in the detail file, from 1; 0 when the
	// error is not of one line.
	Line int
	// Column is the header name of the column at fault, or "".
	Column string
	// Problem says what is wrong.
	Problem string
}

// Error returns "payment: bad trade bill: line N, column C: problem".
func (e *BillParseError) Error() string {
	where := ""
	switch {
	case e.Line > 0 && e.Column != "":
		where = fmt.Sprintf("line %d, column %s: ", e.Line, e.Column)
	case e.Line > 0:
		where = fmt.Sprintf("line %d: ", e.Line)
	case e.Column != "":
		where = "column " + e.Column + ": "
	}
	return ErrBadBill.Error() + ": " + where + e.Problem
}

// Unwrap returns ErrBadBill.
func (e *BillParseError) Unwrap() error { return ErrBadBill }

// Header names of the detail columns ParseTradeBill reads. Names are
// compared after trimming and with ASCII parentheses made full-width.
const (
	billColTradeNo    = "支付宝交易号"
	billColOutTradeNo = "商户订单号"
	billColType       = "业务类型"
	billColSubject    = "商品名称"
	billColCreated    = "创建时间"
	billColCompleted  = "完成时间"
	billColAmount     = "订单金额（元）"
	billColReceived   = "商家实收（元）"
	billColRequestNo  = "退款批次号/请求号"
)

// billRequestNoAliases are other names of the refund number column seen
// in older bills.
var billRequestNoAliases = []string{"退款批次号", "退款请求号", "退款批次号／请求号"}

// billRequired are the columns a detail must have.
var billRequired = []string{billColTradeNo, billColOutTradeNo, billColType, billColCompleted, billColAmount, billColRequestNo}

// ParseTradeBill parses a trade bill (bill_type=trade) as
// [alipay.Client.DownloadBill] returns it: a zip archive holding the GBK
// CSV detail file (业务明细). Amounts are read by [alipay.ParseAmount] and
// times as Beijing time. It checks the row counts of the footer
// (#交易合计, #退款合计) against the rows, so that a cut file is refused.
// Every error wraps ErrBadBill; those of one place are *BillParseError,
// naming the line and the column.
func ParseTradeBill(zipBytes []byte) (*TradeBill, error) {
	raw, err := billDetailFile(zipBytes)
	if err != nil {
		return nil, err
	}
	return parseBillDetail(raw)
}

// billDetailFile returns the raw bytes of the detail file of the archive:
// the file whose name has 业务明细 but not 汇总, or failing names, the one
// file whose text has the detail's header.
func billDetailFile(zipBytes []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip archive (%w): Alipay's bill_download_url serves a zip of CSV files", ErrBadBill, err)
	}
	var names []string
	var candidates []*zip.File
	for _, f := range zr.File {
		name := f.Name
		if f.NonUTF8 {
			if d, err := decodeGBK([]byte(name)); err == nil {
				name = d
			}
		}
		names = append(names, strconv.Quote(name))
		if strings.HasSuffix(name, "/") {
			continue
		}
		if strings.Contains(name, "业务明细") && !strings.Contains(name, "汇总") {
			candidates = append(candidates, f)
		}
	}
	if len(candidates) == 1 {
		return readZipFile(candidates[0])
	}
	if len(candidates) > 1 {
		return nil, fmt.Errorf("%w: %d detail files (业务明细) in the archive, want one: %s", ErrBadBill, len(candidates), strings.Join(names, ", "))
	}
	// No file is named as Alipay names them: take the one CSV whose
	// text holds the detail's header.
	var found []byte
	for _, f := range zr.File {
		b, err := readZipFile(f)
		if err != nil {
			return nil, err
		}
		if t, err := decodeGBK(b); err == nil && strings.Contains(t, billColTradeNo) && strings.Contains(t, billColType) {
			if found != nil {
				return nil, fmt.Errorf("%w: several files look like the detail (业务明细): %s", ErrBadBill, strings.Join(names, ", "))
			}
			found = b
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no detail file (业务明细) in the archive, which holds %d files: %s", ErrBadBill, len(names), strings.Join(names, ", "))
	}
	return found, nil
}

// readZipFile reads a file of the archive, at most MaxBillFileBytes.
func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: file %q of the archive: %w", ErrBadBill, f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxBillFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: file %q of the archive: %w", ErrBadBill, f.Name, err)
	}
	if len(b) > MaxBillFileBytes {
		return nil, fmt.Errorf("%w: file %q of the archive is larger than %d MiB", ErrBadBill, f.Name, MaxBillFileBytes>>20)
	}
	return b, nil
}

// errNotGBK is decodeGBK's error.
var errNotGBK = errors.New("not GBK")

// decodeGBK decodes GBK text to UTF-8, refusing bytes that are not GBK.
func decodeGBK(b []byte) (string, error) {
	out, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return "", errNotGBK
	}
	return string(out), nil
}

// Footer and header lines of the detail.
var (
	billTradeTotal  = regexp.MustCompile(`^#交易合计：(\d+)笔`)
	billRefundTotal = regexp.MustCompile(`^#退款合计：(\d+)笔`)
	billAccount     = regexp.MustCompile(`^#账号：\[([^\]]*)\]`)
	billPeriodLine  = regexp.MustCompile(`^#起始日期：\[([^\]]*)\]\s*终止日期：\[([^\]]*)\]`)
)

// billHeaderClock is the layout of the header's dates.
const billHeaderClock = "2006年01月02日 15:04:05"

// parseBillDetail parses the raw (GBK) detail file.
func parseBillDetail(raw []byte) (*TradeBill, error) {
	// UTF-8 Chinese often decodes as GBK without an error, into nonsense:
	// catch a detail saved as UTF-8 by its header instead.
	if utf8.Valid(raw) && bytes.Contains(raw, []byte(billColTradeNo)) {
		return nil, &BillParseError{Problem: "the detail file is UTF-8 text, not GBK as Alipay writes its bills: re-encode it as GBK"}
	}
	text, err := decodeGBK(raw)
	if err != nil {
		problem := "the detail file is not GBK text, as Alipay writes its bills"
		if utf8.Valid(raw) {
			problem += " (it is UTF-8: re-encode it as GBK)"
		}
		return nil, &BillParseError{Line: badGBKLine(raw), Problem: problem}
	}
	bill := new(TradeBill)
	trades, refunds := -1, -1 // footer counts, -1 when absent
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if !strings.HasPrefix(line, "#") {
			continue
		}
		if m := billAccount.FindStringSubmatch(line); m != nil {
			bill.Account = m[1]
		} else if m := billPeriodLine.FindStringSubmatch(line); m != nil {
			start, err1 := time.ParseInLocation(billHeaderClock, m[1], billZone)
			end, err2 := time.ParseInLocation(billHeaderClock, m[2], billZone)
			if err1 != nil || err2 != nil || !start.Before(end) {
				return nil, &BillParseError{Line: i + 1, Problem: fmt.Sprintf("bad period [%s] to [%s]: want 2006年01月02日 15:04:05, start before end", m[1], m[2])}
			}
			bill.Start, bill.End = start, end
		} else if m := billTradeTotal.FindStringSubmatch(line); m != nil {
			if trades, err = strconv.Atoi(m[1]); err != nil {
				return nil, &BillParseError{Line: i + 1, Problem: "bad count of payments in " + strconv.Quote(line)}
			}
		} else if m := billRefundTotal.FindStringSubmatch(line); m != nil {
			if refunds, err = strconv.Atoi(m[1]); err != nil {
				return nil, &BillParseError{Line: i + 1, Problem: "bad count of refunds in " + strconv.Quote(line)}
			}
		}
	}

	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, &BillParseError{Problem: "no header row: the detail file has no table (want a row of column names such as " + billColTradeNo + ")"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	headerLine, _ := r.FieldPos(0)
	cols, err := billColumns(header, headerLine)
	if err != nil {
		return nil, err
	}
	var nTrades, nRefunds int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		lineNo, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		l, err := cols.line(rec, lineNo)
		if err != nil {
			return nil, err
		}
		if l.Kind == BillLinePayment {
			nTrades++
		} else {
			nRefunds++
		}
		bill.Lines = append(bill.Lines, l)
	}
	if trades >= 0 && trades != nTrades {
		return nil, &BillParseError{Problem: fmt.Sprintf("the footer counts %d payments (#交易合计), the detail has %d rows of 交易: the file is incomplete", trades, nTrades)}
	}
	if refunds >= 0 && refunds != nRefunds {
		return nil, &BillParseError{Problem: fmt.Sprintf("the footer counts %d refunds (#退款合计), the detail has %d rows of 退款: the file is incomplete", refunds, nRefunds)}
	}
	return bill, nil
}

// badGBKLine returns the line number of the first bytes of raw that are
// not GBK, or 0.
func badGBKLine(raw []byte) int {
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if _, err := decodeGBK(line); err != nil {
			return i + 1
		}
	}
	return 0
}

// csvError turns an error of encoding/csv into a BillParseError.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &BillParseError{Line: pe.Line, Problem: "bad CSV: " + pe.Err.Error()}
	}
	return &BillParseError{Problem: "bad CSV: " + err.Error()}
}

// billCols are the indexes of the detail's columns; -1 for a column the
// file lacks.
type billCols struct {
	tradeNo, outTradeNo, kind, subject, created, completed, amount, received, requestNo int
	names                                                                               []string
}

// billColumns finds the columns of the header row.
func billColumns(header []string, line int) (*billCols, error) {
	index := map[string]int{}
	names := make([]string, len(header))
	for i, h := range header {
		h = normalizeBillHeader(h)
		names[i] = h
		if _, dup := index[h]; dup && h != "" {
			return nil, &BillParseError{Line: line, Column: h, Problem: "the column appears twice in the header"}
		}
		index[h] = i
	}
	for _, alias := range billRequestNoAliases {
		if i, ok := index[alias]; ok {
			if _, has := index[billColRequestNo]; !has {
				index[billColRequestNo] = i
			}
		}
	}
	var missing []string
	for _, c := range billRequired {
		if _, ok := index[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, &BillParseError{Line: line, Problem: fmt.Sprintf("the header lacks the columns %s (it has %s): not a trade bill (bill_type=trade) detail",
			strings.Join(missing, ", "), strings.Join(names, ", "))}
	}
	col := func(name string) int {
		if i, ok := index[name]; ok {
			return i
		}
		return -1
	}
	return &billCols{
		tradeNo: col(billColTradeNo), outTradeNo: col(billColOutTradeNo), kind: col(billColType),
		subject: col(billColSubject), created: col(billColCreated), completed: col(billColCompleted),
		amount: col(billColAmount), received: col(billColReceived), requestNo: col(billColRequestNo),
		names: names,
	}, nil
}

// normalizeBillHeader trims a header cell and writes its parentheses
// full-width, as Alipay does.
func normalizeBillHeader(h string) string {
	h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	return strings.NewReplacer("(", "（", ")", "）").Replace(h)
}

// line reads one detail row.
func (c *billCols) line(rec []string, lineNo int) (BillLine, error) {
	l := BillLine{Line: lineNo}
	cell := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		// Alipay ends the cells of long numbers with a tab, so that
		// spreadsheets keep them as text.
		return strings.TrimSpace(rec[i])
	}
	bad := func(i int, format string, args ...any) error {
		return &BillParseError{Line: lineNo, Column: c.names[i], Problem: fmt.Sprintf(format, args...)}
	}
	if len(rec) < len(c.names) {
		return l, &BillParseError{Line: lineNo, Problem: fmt.Sprintf("%d cells, the header has %d columns", len(rec), len(c.names))}
	}
	switch k := cell(c.kind); k {
	case "交易":
		l.Kind = BillLinePayment
	case "退款":
		l.Kind = BillLineRefund
	default:
		return l, bad(c.kind, "unknown type %q: want 交易 (payment) or 退款 (refund)", k)
	}
	l.TradeNo, l.OutTradeNo = cell(c.tradeNo), cell(c.outTradeNo)
	if l.TradeNo == "" {
		return l, bad(c.tradeNo, "empty")
	}
	if l.OutTradeNo == "" {
		return l, bad(c.outTradeNo, "empty")
	}
	l.Subject = cell(c.subject)
	if l.Kind == BillLineRefund {
		l.OutRequestNo = cell(c.requestNo)
		if l.OutRequestNo == "" {
			// A refund made without out_request_no is known by the
			// out_trade_no (alipay.trade.fastpay.refund.query does so).
			l.OutRequestNo = l.OutTradeNo
		}
	}
	var err error
	if l.CompletedAt, err = alipay.ParseTime(cell(c.completed)); err != nil {
		return l, bad(c.completed, "%q is not a time yyyy-mm-dd hh:mm:ss", cell(c.completed))
	}
	if c.created >= 0 && cell(c.created) != "" {
		if l.CreatedAt, err = alipay.ParseTime(cell(c.created)); err != nil {
			return l, bad(c.created, "%q is not a time yyyy-mm-dd hh:mm:ss", cell(c.created))
		}
	}
	if l.Amount, err = billAmount(cell(c.amount), l.Kind); err != nil {
		return l, bad(c.amount, "%v", err)
	}
	if l.Amount == 0 {
		return l, bad(c.amount, "zero amount")
	}
	if c.received >= 0 {
		if l.Received, err = billAmount(cell(c.received), l.Kind); err != nil {
			return l, bad(c.received, "%v", err)
		}
	}
	return l, nil
}

// billAmount parses an amount of a bill row: positive for a payment,
// negative (or, in some bills, positive) for a refund. It returns the
// absolute amount.
func billAmount(s string, kind BillLineKind) (alipay.Amount, error) {
	digits, negative := strings.CutPrefix(s, "-")
	if negative && kind == BillLinePayment {
		return 0, fmt.Errorf("negative amount %q on a payment", s)
	}
	a, err := alipay.ParseAmount(digits)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	return a, nil
}
