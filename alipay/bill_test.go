package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const billURL = `http:\/\/dwbillcenter.alipay.com\/downloadBillFile.resource?bizType=trade&userId=20881234567890123` +
	`&fileType=csv.zip&bizDates=20240519&downloadFileName=20881234567890123_20240519.csv.zip&fileId=%2Ftrade%2F20240519&timestamp=1716182096&token=ab12`

func TestBillDownloadURLQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		req     DataDataserviceBillDownloadURLQueryRequest
		wantBiz string
	}{
		{"trade bill of yesterday", DataDataserviceBillDownloadURLQueryRequest{BillType: BillTypeTrade, BillDate: "2024-05-19"}, `{"bill_type":"trade","bill_date":"2024-05-19"}`},
		{"funds bill of last month", DataDataserviceBillDownloadURLQueryRequest{BillType: BillTypeSignCustomer, BillDate: "2024-04"}, `{"bill_type":"signcustomer","bill_date":"2024-04"}`},
		{"first day", DataDataserviceBillDownloadURLQueryRequest{BillType: BillTypeTrade, BillDate: "2016-01-01"}, `{"bill_type":"trade","bill_date":"2016-01-01"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.data.dataservice.bill.downloadurl.query",
				`{"code":"10000","msg":"Success","bill_download_url":"`+billURL+`"}`))
			resp, err := g.client().DataDataserviceBillDownloadURLQuery(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			wantBiz(t, g, tc.wantBiz)
			if want := strings.ReplaceAll(billURL, `\/`, `/`); resp.BillDownloadURL != want {
				t.Errorf("URL %s, want %s", resp.BillDownloadURL, want)
			}
		})
	}
}

func TestBillDownloadURLQueryAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"no bill", `{"code":"40004","msg":"Business Failed","sub_code":"isp.bill_not_exist","sub_msg":"账单不存在"}`, func(err error) bool {
			return errors.Is(err, SubCode("isp.bill_not_exist")) && !IsUnknown(err)
		}},
		{"no URL", `{"code":"10000","msg":"Success"}`, func(err error) bool { return strings.Contains(err.Error(), "no bill_download_url") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.data.dataservice.bill.downloadurl.query", tc.node))
			resp, err := g.client().DataDataserviceBillDownloadURLQuery(context.Background(),
				DataDataserviceBillDownloadURLQueryRequest{BillType: BillTypeTrade, BillDate: "2024-05-19"})
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}

func TestBillDownloadURLQueryBadInput(t *testing.T) {
	t.Parallel()
	// The test client's clock says 2024-05-20 12:34:56 in Beijing.
	for _, tc := range []struct {
		name     string
		billType BillType
		date     string
		want     string
	}{
		{"no type", "", "2024-05-19", `BillType "" is neither "trade" nor "signcustomer"`},
		{"unknown type", "Trade", "2024-05-19", `BillType "Trade"`},
		{"no date", BillTypeTrade, "", `BillDate "" is neither a day ("2024-05-20") nor a month ("2024-05")`},
		{"compact date", BillTypeTrade, "20240519", "is neither a day"},
		{"short month", BillTypeTrade, "2024-5-19", "is neither a day"},
		{"no such day", BillTypeTrade, "2024-02-30", "is neither a day"},
		{"today", BillTypeTrade, "2024-05-20", `BillDate "2024-05-20" is not over yet (now 2024-05-20 12:34:56 Beijing time)`},
		{"tomorrow", BillTypeTrade, "2024-05-21", "is not over yet"},
		{"this month", BillTypeTrade, "2024-05", "is not over yet"},
		{"before 2016", BillTypeTrade, "2015-12-31", "is before 2016-01-01"},
		{"month before 2016", BillTypeSignCustomer, "2015-12", "is before 2016-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, refuse(t))
			_, err := g.client().DataDataserviceBillDownloadURLQuery(context.Background(),
				DataDataserviceBillDownloadURLQueryRequest{BillType: tc.billType, BillDate: tc.date})
			wantBadInput(t, err, "alipay: alipay.data.dataservice.bill.downloadurl.query: ")
			wantBadInput(t, err, tc.want)
		})
	}
}

// testBillZip returns a zip archive holding one CSV file, as Alipay's bills
// come.
func testBillZip(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("20881234567890123_20240519_业务明细.csv")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "#支付宝业务明细查询\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDownloadBill(t *testing.T) {
	t.Parallel()
	bill := testBillZip(t)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    []byte
		wantErr string
	}{
		{"zip", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Query().Get("token") != "ab12" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			w.Write(bill)
		}, bill, ""},
		{"empty zip", func(w http.ResponseWriter, r *http.Request) {
			var buf bytes.Buffer
			zip.NewWriter(&buf).Close()
			w.Write(buf.Bytes())
		}, nil, ""},
		{"used URL", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "gone", http.StatusNotFound)
		}, nil, "HTTP status 404 Not Found (the URL works once and for 30 seconds: ask for a new one)"},
		{"error page", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>链接已失效</html>"))
		}, nil, "not a zip archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := newTestGateway(t, refuse(t)).client()
			got, err := c.DownloadBill(context.Background(), srv.URL+"/downloadBillFile.resource?fileType=csv.zip&token=ab12")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "alipay: ") {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, want the %d of the bill", len(got), len(tc.want))
			}
			if _, err := zip.NewReader(bytes.NewReader(got), int64(len(got))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDownloadBillFailures(t *testing.T) {
	t.Parallel()
	c := newTestGateway(t, refuse(t)).client()
	for _, u := range []string{"", "/downloadBillFile.resource", "ftp://dwbillcenter.alipay.com/x", "http://%zz"} {
		if _, err := c.DownloadBill(context.Background(), u); err == nil || !strings.Contains(err.Error(), "not an absolute http(s) URL") {
			t.Errorf("%q: err %v", u, err)
		}
	}

	// A failed download names the host, never the token.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	for _, u := range []string{"/downloadBillFile.resource?token=SECRET_TOKEN", "/bill/SECRET_TOKEN"} {
		_, err := c.DownloadBill(context.Background(), srv.URL+u)
		if err == nil || strings.Contains(err.Error(), "SECRET_TOKEN") || !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("closed server, %s: %v", u, err)
		}
	}
}

func TestDownloadBillTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 64 MiB")
	}
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("PK\x03\x04"))
		w.Write(make([]byte, maxBillBytes))
	}))
	defer srv.Close()
	c := newTestGateway(t, refuse(t)).client()
	if _, err := c.DownloadBill(context.Background(), srv.URL); err == nil || !strings.Contains(err.Error(), "larger than 67108864 bytes") {
		t.Fatalf("err %v", err)
	}
}
