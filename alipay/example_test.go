package alipay_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"zhifu/alipay"
)

// The examples call a stand-in for Alipay's gateway that runs in this
// process (newExampleClient). It checks each request's signature with the
// app's public key, as Alipay does, and answers with a response node signed
// by "Alipay's" private key. The keys in testdata/keys are test keys, never
// used for anything real.

func ExampleClient_TradePrecreate() {
	client, stop := newExampleClient()
	defer stop()

	resp, err := client.TradePrecreate(context.Background(), alipay.TradePrecreateRequest{
		OutTradeNo:     "20240520123456000000000001", // from alipay.NewOutTradeNo, stored with the order first
		TotalAmount:    8800,                         // in fen: 88.00 yuan
		Subject:        "Tea",
		TimeoutExpress: "15m",
	})
	if alipay.IsUnknown(err) {
		// The trade may exist: send the very same request again, or query.
		fmt.Println("outcome unknown:", err)
		return
	}
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("show the buyer a QR code of", resp.QRCode)
	// Output: show the buyer a QR code of https://qr.alipay.com/bax03431ljhokirwl38f00a7
}

func ExampleClient_TradeQuery() {
	client, stop := newExampleClient()
	defer stop()

	for _, order := range []string{"20240520123456000000000001", "20240520123456000000000002"} {
		resp, err := client.TradeQuery(context.Background(), alipay.TradeQueryRequest{OutTradeNo: order})
		switch {
		case alipay.IsTradeNotExist(err):
			// Before the buyer scans the code (or opens the cashier page)
			// Alipay has no trade: not paid yet, not failed.
			fmt.Println(order, "not paid yet")
		case err != nil:
			fmt.Println(order, "ask again later:", err)
		case resp.TradeStatus.Paid():
			fmt.Println(order, "paid", resp.TotalAmount, "at", resp.SendPayDate.Format(time.DateTime))
		default:
			fmt.Println(order, resp.TradeStatus)
		}
	}
	// Output:
	// 20240520123456000000000001 paid 88.00 at 2024-05-20 12:35:01
	// 20240520123456000000000002 not paid yet
}

func ExampleClient_TradeRefund() {
	client, stop := newExampleClient()
	defer stop()

	req := alipay.TradeRefundRequest{
		OutTradeNo:   "20240520123456000000000001",
		RefundAmount: 1000, // 10.00 yuan
		// Chosen and stored with the refund before the first attempt;
		// every retry and every refund query reuses it.
		OutRequestNo: "20240520123456000000000001_R1",
		RefundReason: "one cup short",
	}
	resp, err := client.TradeRefund(context.Background(), req)
	switch {
	case alipay.IsUnknown(err):
		// The refund may have happened. Settle it with
		// TradeFastpayRefundQuery and the same OutRequestNo; never resend
		// it with a new one.
		fmt.Println("outcome unknown: query refund", req.OutRequestNo)
	case errors.Is(err, alipay.SubCodeRefundAmountExceeded):
		fmt.Println("more than what is left to refund")
	case err != nil:
		fmt.Println("refused:", err)
	case !resp.MoneyMoved():
		// A repeat of a refund that went through before, or one that has
		// not gone through yet.
		fmt.Println("no money moved by this call: query refund", req.OutRequestNo)
	default:
		fmt.Println("refunded; refunded on the trade so far:", resp.RefundFee)
	}
	// Output: refunded; refunded on the trade so far: 10.00
}

func ExampleClient_PagePayURL() {
	client, stop := newExampleClient()
	defer stop()

	u, err := client.PagePayURL(alipay.TradePagePayRequest{
		OutTradeNo:     "20240520123456000000000003",
		TotalAmount:    8800,
		Subject:        "Tea",
		TimeoutExpress: "15m",
		ReturnURL:      "https://shop.example.com/orders/20240520123456000000000003",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Send the buyer's browser there: http.Redirect(w, r, u, http.StatusFound).
	parsed, _ := url.Parse(u)
	fmt.Println(parsed.Query().Get("method"))
	fmt.Println(parsed.Query().Get("biz_content"))
	// Output:
	// alipay.trade.page.pay
	// {"out_trade_no":"20240520123456000000000003","total_amount":"88.00","subject":"Tea","product_code":"FAST_INSTANT_TRADE_PAY","timeout_express":"15m"}
}

func ExampleClient_VerifyNotification() {
	client, stop := newExampleClient()
	defer stop()

	// form is what Alipay posts to notify_url, decoded once: r.PostForm in
	// a handler (or let client.ParseNotification(r) read the request).
	form := exampleNotify()

	n, err := client.VerifyNotification(form)
	if err != nil {
		// Not from Alipay, or not for this app: answer anything but
		// "success" and log it.
		fmt.Println("rejected:", err)
		return
	}
	// The signature proves who sent it, not that it is about your order
	// for the right amount: check both.
	if n.OutTradeNo != "20240520123456000000000001" || n.TotalAmount != 8800 {
		fmt.Println("not our order")
		return
	}
	if n.TradeStatus.Paid() {
		fmt.Println("paid:", n.OutTradeNo, n.TotalAmount)
	}
	// Store the result, then answer Alipay with exactly "success".

	forged := maps.Clone(form)
	forged.Set("total_amount", "0.01")
	_, err = client.VerifyNotification(forged)
	fmt.Println("forged:", errors.Is(err, alipay.ErrSignature))
	// Output:
	// paid: 20240520123456000000000001 88.00
	// forged: true
}

// newExampleClient starts the stand-in gateway and returns a client of it
// and the function that stops it.
func newExampleClient() (*alipay.Client, func()) {
	appKey := must(alipay.ParsePublicKey(readExampleKey("app_public.pem")))
	alipayKey := must(alipay.ParsePrivateKey(readExampleKey("alipay_private_pkcs1.pem")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		exampleGateway(w, r, appKey, alipayKey)
	}))
	client, err := alipay.New(alipay.Config{
		AppID:           "2021000000000001",
		PrivateKey:      readExampleKey("app_private_pkcs8.pem"),
		AlipayPublicKey: readExampleKey("alipay_public.pem"),
		Gateway:         srv.URL + "/gateway.do",
		NotifyURL:       "https://shop.example.com/alipay/notify",
	})
	if err != nil {
		panic(err)
	}
	return client, srv.Close
}

// exampleGateway answers one request as Alipay would.
func exampleGateway(w http.ResponseWriter, r *http.Request, appKey *rsa.PublicKey, alipayKey *rsa.PrivateKey) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	method := r.Form.Get("method")
	var biz struct {
		OutTradeNo   string `json:"out_trade_no"`
		RefundAmount string `json:"refund_amount"`
	}
	node := `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}`
	if alipay.VerifyRequest(appKey, r.Form) == nil && json.Unmarshal([]byte(r.Form.Get("biz_content")), &biz) == nil {
		node = exampleAnswer(method, biz.OutTradeNo, biz.RefundAmount)
	}
	body, err := alipay.SignResponse(alipayKey, alipay.SignTypeRSA2, method, []byte(node), "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(body)
}

// exampleAnswer is the response node of the stand-in gateway: order …01 is
// paid, no other order exists.
func exampleAnswer(method, outTradeNo, refundAmount string) string {
	const notExist = `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}`
	paid := outTradeNo == "20240520123456000000000001"
	switch {
	case method == "alipay.trade.precreate":
		return `{"code":"10000","msg":"Success","out_trade_no":"` + outTradeNo + `","qr_code":"https:\/\/qr.alipay.com\/bax03431ljhokirwl38f00a7"}`
	case method == "alipay.trade.query" && paid:
		return `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"` + outTradeNo + `",` +
			`"trade_status":"TRADE_SUCCESS","total_amount":"88.00","receipt_amount":"88.00","buyer_pay_amount":"88.00",` +
			`"point_amount":"0.00","invoice_amount":"88.00","send_pay_date":"2024-05-20 12:35:01",` +
			`"buyer_logon_id":"tes***@example.com","buyer_user_id":"2088102146225135"}`
	case method == "alipay.trade.refund" && paid:
		return `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"` + outTradeNo + `",` +
			`"buyer_logon_id":"tes***@example.com","fund_change":"Y","refund_fee":"` + refundAmount + `",` +
			`"gmt_refund_pay":"2024-05-20 13:00:00","buyer_user_id":"2088102146225135"}`
	}
	return notExist
}

// exampleNotify returns the notify of payment of order …01, signed as
// Alipay signs it.
func exampleNotify() url.Values {
	form := url.Values{
		"notify_id":      {"2024052000222123501012345678901234"},
		"notify_type":    {"trade_status_sync"},
		"notify_time":    {"2024-05-20 12:35:02"},
		"app_id":         {"2021000000000001"},
		"auth_app_id":    {"2021000000000001"},
		"charset":        {"utf-8"},
		"version":        {"1.0"},
		"trade_no":       {"2024052022001400001234567890"},
		"out_trade_no":   {"20240520123456000000000001"},
		"buyer_id":       {"2088102146225135"},
		"seller_id":      {"2088101117955611"},
		"trade_status":   {"TRADE_SUCCESS"},
		"total_amount":   {"88.00"},
		"receipt_amount": {"88.00"},
		"subject":        {"Tea"},
		"gmt_create":     {"2024-05-20 12:34:56"},
		"gmt_payment":    {"2024-05-20 12:35:01"},
	}
	alipayKey := must(alipay.ParsePrivateKey(readExampleKey("alipay_private_pkcs1.pem")))
	form.Set("sign", must(alipay.SignNotify(alipayKey, alipay.SignTypeRSA2, form)))
	form.Set("sign_type", "RSA2")
	return form
}

func readExampleKey(name string) string {
	return string(must(os.ReadFile(filepath.Join("testdata", "keys", name))))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
