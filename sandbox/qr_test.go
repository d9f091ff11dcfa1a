package sandbox

import (
	"bytes"
	"image"
	_ "image/png" // the PNG decoder
	"net/http"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"

	"zhifu/alipay"
)

// checkQRImage fetches the QR image at src (a path on the sandbox) and
// checks that it is a PNG drawing, module for module, the QR code of
// want.
func (e *notifyEnv) checkQRImage(src, want string) {
	e.t.Helper()
	resp, body := e.get(e.ts.Server.URL + src)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		e.t.Fatalf("GET %s: %d %v", src, resp.StatusCode, resp.Header)
	}
	img, format, err := image.Decode(bytes.NewReader([]byte(body)))
	if err != nil || format != "png" {
		e.t.Fatalf("GET %s: not a PNG (%q): %v", src, format, err)
	}
	q, err := qrcode.New(want, qrcode.Medium)
	if err != nil {
		e.t.Fatal(err)
	}
	bits := q.Bitmap() // with the quiet zone, as drawn
	side := len(bits) * qrModulePixels
	if b := img.Bounds(); b.Dx() != side || b.Dy() != side {
		e.t.Fatalf("GET %s: %v, want %dx%d", src, b, side, side)
	}
	// The centre of every module has the module's colour: the image
	// holds the code of want, and no other.
	for y, row := range bits {
		for x, dark := range row {
			r, _, _, _ := img.At(x*qrModulePixels+qrModulePixels/2, y*qrModulePixels+qrModulePixels/2).RGBA()
			if (r < 0x8000) != dark {
				e.t.Fatalf("GET %s: module (%d,%d) is not %v: not the code of %s", src, x, y, dark, want)
			}
		}
	}
}

func TestQRCodeCashier(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	cashier, body := e.openCashier(alipay.TradePagePayRequest{OutTradeNo: "QR_1", TotalAmount: 100, Subject: "x"})
	token := strings.TrimPrefix(cashier, e.ts.Server.URL+"/cashier/")
	els := parseHTML(t, body)
	img := els["qr-image"]
	if img == nil || img.tag != "img" || img.attrs["src"] != "/qr/"+token+".png" {
		t.Fatalf("#qr-image %+v", img)
	}
	e.checkQRImage(img.attrs["src"], e.ts.Server.URL+"/qr/"+token)
	if resp, _ := e.get(e.ts.Server.URL + "/qr/" + strings.Repeat("0", 32) + ".png"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown code: %d", resp.StatusCode)
	}
}

func TestQRCodePrecreate(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	resp, err := e.client.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: "QR_2", TotalAmount: 100, Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(resp.QRCode, e.ts.Server.URL)
	// Drawing the code is not scanning it: no trade yet.
	e.checkQRImage(path+".png", resp.QRCode)
	if _, ok := e.sb.Trade(TestAppID, "QR_2"); ok {
		t.Fatal("drawing the QR code made the trade")
	}
	_, body := e.get(resp.QRCode)
	els := parseHTML(t, body)
	if img := els["qr-image"]; img == nil || img.attrs["src"] != path+".png" {
		t.Fatalf("scan page #qr-image %+v", img)
	}
	if _, ok := e.sb.Trade(TestAppID, "QR_2"); !ok {
		t.Fatal("scanning made no trade")
	}
}
