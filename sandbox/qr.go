package sandbox

import (
	"net/http"
	"strings"

	"github.com/skip2/go-qrcode"
)

// QR codes as images: GET /qr/{token}.png draws the QR code of the scan
// page /qr/{token}, so that a person can scan the cashier's or the scan
// page's code with a phone on the same network (Config.BaseURL must then
// be an address the phone reaches, such as http://192.168.1.5:8090).
//
// The library is github.com/skip2/go-qrcode: pure Go, no dependencies of
// its own, and PNG output through image/png.

// qrModulePixels is the side, in pixels, of one module (dot) of a QR
// image: whole pixels keep every module sharp for a phone's camera.
const qrModulePixels = 6

// qrSuffix ends the path of a QR code image.
const qrSuffix = ".png"

// serveQR answers GET /qr/{name}: the scan page of a checkout, or with
// the suffix .png the image of its QR code.
func (s *Sandbox) serveQR(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("token")
	token, isImage := strings.CutSuffix(name, qrSuffix)
	if !isImage {
		s.serveScan(w, r)
		return
	}
	// Drawing the code does not open the checkout: only the phone that
	// scans it (and opens the scan page) makes the trade.
	s.store.mu.Lock()
	ck := s.store.checkouts[token]
	s.store.mu.Unlock()
	if ck == nil {
		http.Error(w, "no such QR code", http.StatusNotFound)
		return
	}
	png, err := qrPNG(s.baseURL(r) + "/qr/" + token)
	if err != nil {
		s.log.Error("sandbox: drawing a QR code", "err", err)
		http.Error(w, "the QR code could not be drawn", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=3600")
	w.Write(png)
}

// qrPNG returns a PNG of the QR code of text, with medium error
// correction, qrModulePixels per module and the standard quiet zone.
func qrPNG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return q.PNG(-qrModulePixels)
}
