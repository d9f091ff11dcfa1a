package payment_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"zhifu/payment"
)

// billSeed returns the sandbox's trade bill kept in testdata, and its
// detail file (GBK).
func billSeed(f *testing.F) (archive, detailGBK []byte) {
	archive, err := os.ReadFile(billSeedPath)
	if err != nil {
		f.Fatalf("%v (refresh it with go test -run TestParseTradeBillSandbox -update-bill)", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		f.Fatal(err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		f.Fatal(err)
	}
	defer rc.Close()
	if detailGBK, err = io.ReadAll(rc); err != nil {
		f.Fatal(err)
	}
	return archive, detailGBK
}

// checkParsed checks what ParseTradeBill returned: an error wrapping
// ErrBadBill, or lines that keep the parser's promises.
func checkParsed(t *testing.T, bill *payment.TradeBill, err error) {
	if err != nil {
		if !errors.Is(err, payment.ErrBadBill) || bill != nil {
			t.Fatalf("error %v (bill %v): want a nil bill and an error wrapping ErrBadBill", err, bill)
		}
		return
	}
	for _, l := range bill.Lines {
		if l.Kind != payment.BillLinePayment && l.Kind != payment.BillLineRefund {
			t.Fatalf("line %d: kind %q", l.Line, l.Kind)
		}
		if l.Amount <= 0 || l.Received < 0 || l.OutTradeNo == "" || l.TradeNo == "" || l.CompletedAt.IsZero() {
			t.Fatalf("line %d: %+v", l.Line, l)
		}
		if (l.Kind == payment.BillLineRefund) != (l.OutRequestNo != "") {
			t.Fatalf("line %d: %s with out_request_no %q", l.Line, l.Kind, l.OutRequestNo)
		}
		if l.Line < 1 {
			t.Fatalf("line number %d", l.Line)
		}
	}
}

// FuzzParseTradeBill feeds archives to ParseTradeBill: it never panics,
// and either refuses with ErrBadBill or returns valid lines.
//
// Run the fuzzers with a bounded minimization, or the engine spends its
// time minimizing each new input in this large test binary:
//
//	go test ./payment -run '^$' -fuzz '^FuzzParseTradeBillDetail$' -fuzztime 1m -fuzzminimizetime 50x
func FuzzParseTradeBill(f *testing.F) {
	archive, detailGBK := billSeed(f)
	f.Add(archive)
	f.Add(zipFiles(f, [2][]byte{gbk(f, "x_业务明细.csv"), detailGBK}))
	f.Add(zipFiles(f, [2][]byte{[]byte("a.csv"), detailGBK}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		bill, err := payment.ParseTradeBill(b)
		checkParsed(t, bill, err)
	})
}

// FuzzParseTradeBillDetail feeds detail files, zipped as Alipay does, to
// ParseTradeBill: the fuzzer works on the CSV itself, which the zip's
// checksums would otherwise keep it from changing.
func FuzzParseTradeBillDetail(f *testing.F) {
	_, detailGBK := billSeed(f)
	f.Add(detailGBK)
	f.Add(gbk(f, detail(billHeader,
		billRow("2024052022001400000001", "T1", "交易", "100.00", ""),
		billRow("2024052022001400000001", "T1", "退款", "-0.01", "R_1"))))
	f.Add(gbk(f, detail(billHeader, `"2024052022001400000001`)))
	f.Add([]byte("#\n\xff\xfe"))
	f.Fuzz(func(t *testing.T, detailFile []byte) {
		bill, err := payment.ParseTradeBill(zipFiles(t, [2][]byte{gbk(t, "x_业务明细.csv"), detailFile}))
		checkParsed(t, bill, err)
	})
}
