package payment

import (
	"fmt"
	"time"
)

// billZone is Alipay's time zone, Asia/Shanghai (UTC+8 all year), in which
// a daily bill's day begins and ends.
var billZone = time.FixedZone("Asia/Shanghai", 8*60*60)

// BillDate is a calendar day in Beijing time: the period of a daily trade
// bill, from 00:00:00 to 24:00:00 Asia/Shanghai. The zero BillDate is no
// day. It prints and parses as "2006-01-02", as bill_date is written, and
// is a comparable value, usable as a map key.
type BillDate struct {
	y int
	m time.Month
	d int
}

// ParseBillDate parses a day written "2006-01-02". Errors say what was
// expected.
func ParseBillDate(s string) (BillDate, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, billZone)
	if err != nil {
		return BillDate{}, fmt.Errorf("payment: bill date %q: want a day as yyyy-mm-dd, such as 2024-05-20", s)
	}
	return BillDateOf(t), nil
}

// BillDateOf returns the Beijing day that t falls in.
func BillDateOf(t time.Time) BillDate {
	y, m, d := t.In(billZone).Date()
	return BillDate{y, m, d}
}

// IsZero reports whether d is the zero BillDate.
func (d BillDate) IsZero() bool { return d == BillDate{} }

// Start returns the instant the day begins: 00:00 Beijing time.
func (d BillDate) Start() time.Time { return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, billZone) }

// End returns the instant the day ends, the start of the next day.
func (d BillDate) End() time.Time { return d.Start().AddDate(0, 0, 1) }

// AddDays returns the day n days after d (before it for a negative n).
func (d BillDate) AddDays(n int) BillDate { return BillDateOf(d.Start().AddDate(0, 0, n)) }

// Before reports whether d is an earlier day than e.
func (d BillDate) Before(e BillDate) bool { return d.Start().Before(e.Start()) }

// String returns the day as "2006-01-02", or "" for the zero BillDate.
func (d BillDate) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Start().Format(time.DateOnly)
}

// MarshalText writes the day as "2006-01-02" (for JSON and job arguments).
func (d BillDate) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a day written "2006-01-02"; empty text is the zero
// BillDate.
func (d *BillDate) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = BillDate{}
		return nil
	}
	v, err := ParseBillDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
