package sandbox

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// beijing is Alipay's time zone: UTC+8, without daylight saving time.
var beijing = time.FixedZone("CST", 8*60*60)

// sandboxBuyerLogonID is the masked account of the sandbox buyer, shaped
// like Alipay's "tes***@example.com".
const sandboxBuyerLogonID = "tes***@sandbox.zhifu"

// buyer is the sandbox's buyer, who pays every trade not created for a
// named buyer.
type buyer struct {
	id      string // 2088 and 12 digits
	logonID string // masked
}

// randomDigits returns n random decimal digits (n ≤ 18).
func randomDigits(n int) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sandbox: reading randomness: %w", err)
	}
	mod := uint64(1)
	for range n {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", n, binary.BigEndian.Uint64(b[:])%mod), nil
}

// newUserID returns a random Alipay user id: 2088 and 12 digits.
func newUserID() (string, error) {
	d, err := randomDigits(12)
	if err != nil {
		return "", err
	}
	return "2088" + d, nil
}

// newTradeNo returns a trade_no in Alipay's format: the Beijing date
// (yyyyMMdd), "22001" and 15 digits, 28 characters in all, as in
// "2024052022001446880501234567".
func newTradeNo(now time.Time) (string, error) {
	d, err := randomDigits(15)
	if err != nil {
		return "", err
	}
	return now.In(beijing).Format("20060102") + "22001" + d, nil
}

// newToken returns a random token for a cashier link or a QR code.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sandbox: reading randomness: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
