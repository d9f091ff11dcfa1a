package payment_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhifu/alipay"
	"zhifu/payment"
)

// sandboxTrades are the trades sandboxBill makes.
type sandboxTrades struct {
	day      payment.BillDate
	account  string
	outNos   []string        // the paid trades' out_trade_no
	amounts  []alipay.Amount // and amounts
	tradeNos []string
	refundOf string // out_trade_no of the refunded trade
}

// sandboxBill pays three precreate trades from 10:00 on billTestDay (one
// with a subject that CSV must quote), refunds 1.50 of one, and returns
// the day's trade bill as the sandbox serves it the next morning.
func sandboxBill(t testing.TB) ([]byte, sandboxTrades) {
	t.Helper()
	tr := sandboxTrades{day: billTestDay()}
	b := newBillSandbox(t, tr.day.Start().Add(10*time.Hour))
	ctx := context.Background()
	tr.account = b.account()
	subjects := []string{"测试商品", `礼品, "特价"`, "plain subject"}
	for i, amount := range []alipay.Amount{12_34, 1_00, 99_99_99} {
		no := alipay.NewOutTradeNo()
		if _, err := b.ali.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: no, TotalAmount: amount, Subject: subjects[i]}); err != nil {
			t.Fatal(err)
		}
		if err := b.sb.Pay(b.appID, no); err != nil {
			t.Fatal(err)
		}
		snap, _ := b.sb.Trade(b.appID, no)
		tr.outNos, tr.amounts, tr.tradeNos = append(tr.outNos, no), append(tr.amounts, amount), append(tr.tradeNos, snap.TradeNo)
		b.clock.Advance(time.Minute)
	}
	tr.refundOf = tr.outNos[0]
	if _, err := b.ali.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: tr.refundOf, RefundAmount: 1_50, OutRequestNo: "R1"}); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(tr.day.End().Add(10 * time.Hour))
	return b.bill(t, tr.day), tr
}

func TestParseTradeBillSandbox(t *testing.T) {
	t.Parallel()
	zipBytes, tr := sandboxBill(t)
	bill, err := payment.ParseTradeBill(zipBytes)
	if err != nil {
		t.Fatalf("ParseTradeBill: %v", err)
	}
	if bill.Account != tr.account || !bill.Start.Equal(tr.day.Start()) || !bill.End.Equal(tr.day.End()) {
		t.Fatalf("header: account %q, %v to %v; want %q, the day %s", bill.Account, bill.Start, bill.End, tr.account, tr.day)
	}
	if len(bill.Lines) != 4 {
		t.Fatalf("%d lines, want 3 payments and a refund: %+v", len(bill.Lines), bill.Lines)
	}
	for i, l := range bill.Lines[:3] {
		if l.Kind != payment.BillLinePayment || l.OutTradeNo != tr.outNos[i] || l.TradeNo != tr.tradeNos[i] ||
			l.Amount != tr.amounts[i] || l.Received != tr.amounts[i] || l.OutRequestNo != "" {
			t.Errorf("line %d: %+v; want payment %s (%s) of %v", i, l, tr.outNos[i], tr.tradeNos[i], tr.amounts[i])
		}
		if payment.BillDateOf(l.CompletedAt) != tr.day {
			t.Errorf("line %d completed at %v, not on %s", i, l.CompletedAt, tr.day)
		}
	}
	if s := bill.Lines[1].Subject; s != `礼品, "特价"` {
		t.Errorf("quoted subject read as %q", s)
	}
	r := bill.Lines[3]
	if r.Kind != payment.BillLineRefund || r.OutTradeNo != tr.refundOf || r.TradeNo != tr.tradeNos[0] ||
		r.OutRequestNo != "R1" || r.Amount != 1_50 || r.Received != 1_50 || !r.CompletedAt.After(bill.Lines[2].CompletedAt) {
		t.Errorf("refund line %+v; want R1 of %s, 1.50, after the payments", r, tr.refundOf)
	}
	if r.Line <= bill.Lines[2].Line || bill.Lines[0].Line < 6 {
		t.Errorf("line numbers %d, %d: want file lines after the header", bill.Lines[0].Line, r.Line)
	}
	// An Alipay time of a row is Beijing time: 10:00 on the day.
	if got := bill.Lines[0].CompletedAt.Sub(tr.day.Start()); got != 10*time.Hour {
		t.Errorf("first payment %v after the day's start, want 10h (Beijing time)", got)
	}

	// The seed of the fuzz tests is this very output.
	if *updateBill {
		if err := os.WriteFile(billSeedPath, zipBytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// updateBill rewrites billSeedPath from the sandbox's output.
var updateBill = flag.Bool("update-bill", false, "rewrite testdata/bill/ from the sandbox's trade bill")

// billSeedPath is a trade bill the sandbox served, refreshed by
// go test -run TestParseTradeBillSandbox -update-bill.
var billSeedPath = filepath.Join("testdata", "bill", "sandbox_trade_bill.zip")

// gbk encodes s in GBK.
func gbk(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("GBK: %v", err)
	}
	return b
}

// zipFiles packs files (name → content) into a zip, names in GBK as
// Alipay writes them.
func zipFiles(t testing.TB, files ...[2][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: string(f[0]), NonUTF8: true, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f[1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// billHeader is the header row of a detail.
const billHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"

// billRow returns a detail row: kind 交易 or 退款, the amount as written.
func billRow(tradeNo, outTradeNo, kind, amount, requestNo string) string {
	return tradeNo + "\t," + outTradeNo + "\t," + kind + "\t,商品,2024-05-20 10:00:00,2024-05-20 10:00:05,\t,\t,\t,\t,\t," +
		amount + "," + amount + ",0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00," + requestNo + "\t,0.00,0.00,"
}

// detail returns a detail file of rows, with the header lines and a
// footer that counts them, in UTF-8.
func detail(header string, rows ...string) string {
	trades, refunds := 0, 0
	for _, r := range rows {
		if strings.Contains(r, ",退款\t,") {
			refunds++
		} else {
			trades++
		}
	}
	return "#支付宝业务明细查询\n#账号：[20881234567890120156]\n#起始日期：[2024年05月20日 00:00:00]   终止日期：[2024年05月21日 00:00:00]\n" +
		"#-----------------------------------------业务明细列表----------------------------------------\n" +
		header + "\n" + strings.Join(rows, "\n") + "\n" +
		"#-----------------------------------------业务明细列表结束------------------------------------\n" +
		"#交易合计：" + strconv.Itoa(trades) + "笔，商家实收共0.00元，商家优惠共0.00元\n" +
		"#退款合计：" + strconv.Itoa(refunds) + "笔，商家实收退款共0.00元，商家优惠退款共0.00元\n" +
		"#导出时间：[2024年05月21日 09:00:00]\n"
}

// billZip returns a bill archive whose detail is text, in GBK.
func billZip(t testing.TB, text string) []byte {
	return zipFiles(t,
		[2][]byte{gbk(t, "20881234567890120156_20240520_业务明细.csv"), gbk(t, text)},
		[2][]byte{gbk(t, "20881234567890120156_20240520_业务明细(汇总).csv"), gbk(t, "#支付宝业务汇总查询\n")})
}

func TestParseTradeBillGood(t *testing.T) {
	t.Parallel()
	text := detail(billHeader,
		billRow("2024052022001400000001", "T1", "交易", "100.00", ""),
		billRow("2024052022001400000001", "T1", "退款", "-0.01", "R_1"),
		billRow("2024052022001400000001", "T1", "退款", "-2.00", ""))
	bill, err := payment.ParseTradeBill(billZip(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if len(bill.Lines) != 3 || bill.Lines[0].Amount != 100_00 || bill.Lines[1].Amount != 1 || bill.Lines[1].OutRequestNo != "R_1" {
		t.Fatalf("lines %+v", bill.Lines)
	}
	// A refund without out_request_no is known by its out_trade_no.
	if bill.Lines[2].OutRequestNo != "T1" || bill.Lines[2].Amount != 2_00 {
		t.Fatalf("refund without batch number: %+v", bill.Lines[2])
	}
	want := time.Date(2024, 5, 20, 2, 0, 5, 0, time.UTC) // 10:00:05 Beijing
	if !bill.Lines[0].CompletedAt.Equal(want) {
		t.Fatalf("completed at %v, want %v", bill.Lines[0].CompletedAt, want)
	}

	// Columns are found by name: moved columns, ASCII parentheses,
	// CRLF line ends and the older column name 退款批次号.
	cols := strings.Split(billHeader, ",")
	cols[11], cols[21] = "退款批次号", "订单金额(元)"
	moved := strings.Join(cols, ",")
	row := strings.Split(billRow("2024052022001400000002", "T2", "退款", "-3.50", "R2"), ",")
	row[11], row[21] = row[21], row[11]
	text = strings.ReplaceAll(detail(moved, strings.Join(row, ",")), "\n", "\r\n")
	bill, err = payment.ParseTradeBill(billZip(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if l := bill.Lines[0]; l.OutRequestNo != "R2" || l.Amount != 3_50 || l.Kind != payment.BillLineRefund {
		t.Fatalf("moved columns: %+v", l)
	}
}

func TestParseTradeBillBad(t *testing.T) {
	t.Parallel()
	good := billRow("2024052022001400000001", "T1", "交易", "100.00", "")
	withRow := func(row string) []byte { return billZip(t, detail(billHeader, good, row)) }
	noAmount := strings.Replace(billHeader, "订单金额（元）", "金额", 1)
	for _, tt := range []struct {
		name    string
		zip     []byte
		line    int    // of the BillParseError; 0: not checked
		column  string // of the BillParseError
		message string // part of the error's text
	}{
		{"not a zip", []byte("PK\x03\x04 but not really"), 0, "", "not a zip archive"},
		{"empty", nil, 0, "", "not a zip archive"},
		{"no detail", zipFiles(t, [2][]byte{[]byte("readme.txt"), []byte("hello")}), 0, "", "no detail file"},
		{"two details", zipFiles(t,
			[2][]byte{gbk(t, "a_业务明细.csv"), gbk(t, detail(billHeader, good))},
			[2][]byte{gbk(t, "b_业务明细.csv"), gbk(t, detail(billHeader, good))}), 0, "", "2 detail files"},
		{"UTF-8", zipFiles(t, [2][]byte{gbk(t, "x_业务明细.csv"), []byte(detail(billHeader, good))}), 0, "", "UTF-8 text, not GBK"},
		{"not GBK", zipFiles(t, [2][]byte{gbk(t, "x_业务明细.csv"), append(gbk(t, detail(billHeader, good)), 0xff, 0xff, '\n')}), 11, "", "not GBK"},
		{"missing column", billZip(t, detail(noAmount, good)), 5, "", "lacks the columns 订单金额（元）"},
		{"no table", billZip(t, "#支付宝业务明细查询\n"), 0, "", "no header row"},
		{"duplicate column", billZip(t, detail(billHeader+",商户订单号", good+",x")), 5, "商户订单号", "twice"},
		{"exponent", withRow(billRow("2024052022001400000002", "T2", "交易", "1e3", "")), 7, "订单金额（元）", `"1e3"`},
		{"three decimals", withRow(billRow("2024052022001400000002", "T2", "退款", "-0.001", "R")), 7, "订单金额（元）", `"-0.001"`},
		{"negative payment", withRow(billRow("2024052022001400000002", "T2", "交易", "-1.00", "")), 7, "订单金额（元）", "negative"},
		{"zero", withRow(billRow("2024052022001400000002", "T2", "交易", "0.00", "")), 7, "订单金额（元）", "zero"},
		{"empty amount", withRow(billRow("2024052022001400000002", "T2", "交易", "", "")), 7, "订单金额（元）", `""`},
		{"float", withRow(billRow("2024052022001400000002", "T2", "交易", "0.1e1", "")), 7, "订单金额（元）", "amount"},
		{"unknown type", withRow(billRow("2024052022001400000002", "T2", "冻结", "1.00", "")), 7, "业务类型", "冻结"},
		{"no out_trade_no", withRow(billRow("2024052022001400000002", "", "交易", "1.00", "")), 7, "商户订单号", "empty"},
		{"bad time", withRow(strings.Replace(good, "2024-05-20 10:00:05", "2024/05/20 10:00", 1)), 7, "完成时间", "not a time"},
		{"short row", withRow("2024052022001400000002,T2,交易"), 7, "", "3 cells"},
		{"bad quote", withRow(`"2024052022001400000002,T2`), 0, "", "bad CSV"},
		{"cut", billZip(t, strings.Replace(detail(billHeader, good, good), "#交易合计：2笔", "#交易合计：3笔", 1)), 0, "", "incomplete"},
		{"bad period", billZip(t, strings.Replace(detail(billHeader, good), "2024年05月21日 00:00:00]", "2024年05月19日 00:00:00]", 1)), 3, "", "bad period"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bill, err := payment.ParseTradeBill(tt.zip)
			if err == nil {
				t.Fatalf("ParseTradeBill succeeded: %+v", bill)
			}
			if !errors.Is(err, payment.ErrBadBill) {
				t.Errorf("error %v does not wrap ErrBadBill", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not say %q", err, tt.message)
			}
			var pe *payment.BillParseError
			if tt.line != 0 || tt.column != "" {
				if !errors.As(err, &pe) {
					t.Fatalf("error %v is not a *BillParseError", err)
				}
				if tt.line != 0 && pe.Line != tt.line || pe.Column != tt.column {
					t.Errorf("error at line %d, column %q; want line %d, column %q (%v)", pe.Line, pe.Column, tt.line, tt.column, err)
				}
			}
		})
	}
}
