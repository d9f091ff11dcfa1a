package alipay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const methodBillDownloadURLQuery = "alipay.data.dataservice.bill.downloadurl.query"

// maxBillBytes bounds the size of a bill DownloadBill accepts: 64 MiB of
// zip, far above the bill of a busy merchant's month.
const maxBillBytes = 64 << 20

// BillType is the kind of statement of
// alipay.data.dataservice.bill.downloadurl.query (bill_type).
type BillType string

// Bill types.
const (
	BillTypeTrade        BillType = "trade"        // the business bill: payments and refunds through the trade APIs
	BillTypeSignCustomer BillType = "signcustomer" // the funds bill: every movement of the merchant's Alipay balance
)

// DataDataserviceBillDownloadURLQueryRequest is the request of
// alipay.data.dataservice.bill.downloadurl.query.
type DataDataserviceBillDownloadURLQueryRequest struct {
	// BillType is the kind of statement (required).
	BillType BillType `json:"bill_type"`
	// BillDate is the day ("2024-05-20") or month ("2024-05") the bill
	// covers (required), in Beijing time: from 2016-01-01, up to yesterday
	// for a daily bill (ready at about 09:00 the next day) or up to last
	// month for a monthly one (ready by the 3rd).
	BillDate string `json:"bill_date"`

	// AppAuthToken is set by an ISV acting for a merchant.
	AppAuthToken string `json:"-"`
}

// DataDataserviceBillDownloadURLQueryResponse is the answer of
// alipay.data.dataservice.bill.downloadurl.query.
type DataDataserviceBillDownloadURLQueryResponse struct {
	// BillDownloadURL is where the bill's zip archive is: valid 30
	// seconds, for one download. Fetch it at once with DownloadBill.
	BillDownloadURL string `json:"bill_download_url"`
}

// DataDataserviceBillDownloadURLQuery calls
// alipay.data.dataservice.bill.downloadurl.query: the download URL of a
// daily or monthly bill, for reconciling what Alipay recorded with what the
// merchant did. It moves no money and is safe to repeat; each call gives a
// fresh URL.
func (c *Client) DataDataserviceBillDownloadURLQuery(ctx context.Context, req DataDataserviceBillDownloadURLQueryRequest) (*DataDataserviceBillDownloadURLQueryResponse, error) {
	const method = methodBillDownloadURLQuery
	if req.BillType != BillTypeTrade && req.BillType != BillTypeSignCustomer {
		return nil, fmt.Errorf("alipay: %s: BillType %q is neither %q nor %q", method, req.BillType, BillTypeTrade, BillTypeSignCustomer)
	}
	if err := checkBillDate(req.BillDate, c.now()); err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", method, err)
	}
	resp := new(DataDataserviceBillDownloadURLQueryResponse)
	err := c.Do(ctx, &Request{Method: method, BizContent: req, AppAuthToken: req.AppAuthToken}, resp)
	if err != nil {
		return nil, err
	}
	if resp.BillDownloadURL == "" {
		return nil, fmt.Errorf("alipay: %s: the answer has no bill_download_url", method)
	}
	return resp, nil
}

// checkBillDate checks a bill_date: a day or a month in Beijing time, from
// 2016-01-01, and over by now.
func checkBillDate(s string, now time.Time) error {
	var (
		day  time.Time
		next time.Time // when the bill's period ends
		err  error
	)
	switch len(s) {
	case len("2006-01-02"):
		day, err = time.ParseInLocation("2006-01-02", s, beijing)
		next = day.AddDate(0, 0, 1)
	case len("2006-01"):
		day, err = time.ParseInLocation("2006-01", s, beijing)
		next = day.AddDate(0, 1, 0)
	default:
		err = errors.New("wrong length")
	}
	if err != nil {
		return fmt.Errorf("BillDate %q is neither a day (\"2024-05-20\") nor a month (\"2024-05\")", s)
	}
	if day.Before(time.Date(2016, time.January, 1, 0, 0, 0, 0, beijing)) {
		return fmt.Errorf("BillDate %q is before 2016-01-01, the first day Alipay has bills for", s)
	}
	if next.After(now) {
		return fmt.Errorf("BillDate %q is not over yet (now %s Beijing time): a daily bill covers days up to yesterday, a monthly one months up to last month",
			s, FormatTime(now))
	}
	return nil
}

// DownloadBill fetches the bill at billURL, the BillDownloadURL of
// DataDataserviceBillDownloadURLQuery, with the client's HTTP client and
// timeout, and returns the zip archive as it came (Alipay's bills are GBK
// CSV files inside). The URL works once and for 30 seconds: after any
// failure ask for a new one. Archives larger than 64 MiB are refused.
// Errors leave out the URL's query, which carries the download token.
func (c *Client) DownloadBill(ctx context.Context, billURL string) ([]byte, error) {
	u, err := url.Parse(billURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("alipay: DownloadBill: the bill URL is not an absolute http(s) URL; pass BillDownloadURL as received")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, billURL, nil)
	if err != nil {
		return nil, fmt.Errorf("alipay: downloading the bill: %w", redactURLError(err))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alipay: downloading the bill: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alipay: downloading the bill: HTTP status %s (the URL works once and for 30 seconds: ask for a new one)", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBillBytes+1))
	if err != nil {
		return nil, fmt.Errorf("alipay: downloading the bill: %w", redactURLError(err))
	}
	if len(body) > maxBillBytes {
		return nil, fmt.Errorf("alipay: downloading the bill: larger than %d bytes", maxBillBytes)
	}
	if !bytes.HasPrefix(body, []byte("PK\x03\x04")) && !bytes.HasPrefix(body, []byte("PK\x05\x06")) {
		return nil, errors.New("alipay: downloading the bill: the answer is not a zip archive (a used or expired URL?)")
	}
	return body, nil
}

// redactURLError keeps only the scheme and host of the URL in a *url.Error:
// a bill URL carries its download token in the query (Alipay) or the path
// (some gateways, the zhifu sandbox among them).
func redactURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			ue.URL = u.Scheme + "://" + u.Host + "/…"
		} else {
			ue.URL = "(bill URL)"
		}
	}
	return err
}
