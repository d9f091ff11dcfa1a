package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is the layout, for [time.Time.Format], of the times in Alipay
// parameters and fields (timestamp, time_expire, notify_time, gmt_create,
// gmt_payment, send_pay_date, …). The times are Beijing time, whatever the
// zone of the machine: use [FormatTime] and [ParseTime], which convert.
const TimeLayout = "2006-01-02 15:04:05"

// beijing is the zone of every Alipay time: China Standard Time, UTC+8.
// China has observed no daylight saving time since 1991, before Alipay
// existed, so this fixed zone gives the same answers as
// time.LoadLocation("Asia/Shanghai") for every time Alipay sends or accepts,
// without depending on a time zone database being installed (minimal
// containers and Windows machines often have none).
var beijing = time.FixedZone("CST", 8*60*60)

// maxTimeFracDigits is the most fraction-of-a-second digits ParseTime takes:
// milliseconds, as in gmt_refund ("2015-04-28 15:45:57.320").
const maxTimeFracDigits = 3

// ParseTime parses an Alipay time, Beijing time in [TimeLayout]
// ("2024-05-20 12:34:56"), and returns it in a UTC+8 zone. A fraction of a
// second with one to three digits may follow, as in gmt_refund
// ("2015-04-28 15:45:57.320").
//
// ParseTime is stricter than [time.Parse]: every field has exactly its
// number of digits, the separators are exactly those of the layout, and no
// other fraction or trailing text is accepted.
func ParseTime(s string) (time.Time, error) {
	if t, ok := parseTimeFast(s); ok {
		return t, nil
	}
	return parseTime(s)
}

// parseTime is ParseTime for every input, by a walk over the layout that
// finds the fault to report.
func parseTime(s string) (time.Time, error) {
	// Every digit of TimeLayout stands for a digit; everything else for
	// itself.
	for i := range len(TimeLayout) {
		if i == len(s) {
			return time.Time{}, timeError(s, "too short, want the form "+TimeLayout)
		}
		want, c := TimeLayout[i], s[i]
		ok := c == want
		if isDigit(want) {
			ok = isDigit(c)
		}
		if !ok {
			return time.Time{}, timeError(s, describeByte(s, i)+", want the form "+TimeLayout)
		}
	}
	ns := 0
	if frac := s[len(TimeLayout):]; frac != "" {
		if frac[0] != '.' {
			return time.Time{}, timeError(s, describeByte(s, len(TimeLayout)))
		}
		digits := frac[1:]
		if digits == "" || len(digits) > maxTimeFracDigits {
			return time.Time{}, timeError(s, "want 1 to 3 digits after the decimal point")
		}
		scale := 100_000_000
		for i := range len(digits) {
			if !isDigit(digits[i]) {
				return time.Time{}, timeError(s, describeByte(s, len(TimeLayout)+1+i))
			}
			ns += int(digits[i]-'0') * scale
			scale /= 10
		}
	}
	num := func(i, j int) int {
		n := 0
		for _, c := range []byte(s[i:j]) {
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), time.Month(num(5, 7)), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	switch {
	case month < time.January || month > time.December:
		return time.Time{}, timeError(s, "month out of range")
	case day < 1 || day > daysIn(year, month):
		return time.Time{}, timeError(s, "day out of range")
	case hour > 23:
		return time.Time{}, timeError(s, "hour out of range")
	case minute > 59:
		return time.Time{}, timeError(s, "minute out of range")
	case sec > 59:
		return time.Time{}, timeError(s, "second out of range")
	}
	return time.Date(year, month, day, hour, minute, sec, ns, beijing), nil
}

// parseTimeFast parses s if it is a valid time in exactly TimeLayout, the
// form of almost every time Alipay sends, and reports whether it did.
// Anything else, a fraction of a second or an error, is left to parseTime,
// whose walk over the layout costs several times as much.
func parseTimeFast(s string) (time.Time, bool) {
	if len(s) != len(TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, month, day := digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	hour, minute, sec := digits(s[11:13]), digits(s[14:16]), digits(s[17:19])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, beijing), true
}

// digits returns the number s writes in decimal, or -1 if s holds anything
// but ASCII digits.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// daysIn returns the number of days in the month (a valid one). It is a
// table lookup rather than time.Date(year, month+1, 0, ...).Day(), which
// costs as much as the rest of ParseTime.
func daysIn(year int, month time.Month) int {
	if month == time.February && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return int(monthDays[month-1])
}

var monthDays = [12]uint8{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// timeError returns the error for the time text s, which is invalid because
// of reason. Long input is cut short in the message.
func timeError(s, reason string) error {
	const max = 40
	if len(s) > max {
		return fmt.Errorf("alipay: invalid time %q...: %s", s[:max], reason)
	}
	return fmt.Errorf("alipay: invalid time %q: %s", s, reason)
}

// FormatTime returns t in Beijing time in [TimeLayout], as Alipay expects
// it, whatever t's location: 2024-05-20 04:34:56 UTC is
// "2024-05-20 12:34:56". A fraction of a second is dropped, not rounded.
// Years outside 0000 to 9999 give text that ParseTime rejects.
func FormatTime(t time.Time) string {
	var buf [len(TimeLayout)]byte
	return string(appendTime(buf[:0], t.In(beijing)))
}

// appendTime appends t.AppendFormat(b, TimeLayout). It writes the digits
// itself for years 0000 to 9999: every request formats its timestamp, and
// AppendFormat, which reads the layout on each call, costs several times as
// much.
func appendTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-',
		byte('0'+day/10), byte('0'+day%10), ' ',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
}

// Time is a time in a JSON field of an Alipay response, such as gmt_payment
// or send_pay_date: a JSON string in [TimeLayout], Beijing time. It embeds
// [time.Time], so all of time.Time's methods apply; its own text and JSON
// methods replace time.Time's RFC 3339 ones.
//
// The empty string stands for the zero Time, which [time.Time.IsZero]
// reports, so a field Alipay leaves empty is no error.
type Time struct {
	time.Time
}

// MarshalJSON implements [json.Marshaler]. The zero Time is "", any other
// time the JSON string of [Time.MarshalText].
func (t Time) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, len(TimeLayout)+2), '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// UnmarshalJSON implements [json.Unmarshaler]. It accepts a JSON string in
// the forms [ParseTime] accepts, or "" for the zero Time. JSON null leaves t
// unchanged, as does any error.
func (t *Time) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		const max = 40
		if len(data) > max {
			return fmt.Errorf("alipay: invalid time %q...: not a JSON string", data[:max])
		}
		return fmt.Errorf("alipay: invalid time %q: not a JSON string", data)
	}
	inner := data[1 : len(data)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return t.UnmarshalText(inner)
	}
	// Escapes are valid JSON ("\u0032" is "2"); decode them first.
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("alipay: invalid time JSON: %w", err)
	}
	return t.UnmarshalText([]byte(s))
}

// AppendText implements [encoding.TextAppender]: it appends
// [Time.MarshalText] to b.
func (t Time) AppendText(b []byte) ([]byte, error) {
	if t.IsZero() {
		return b, nil
	}
	bj := t.In(beijing)
	if y := bj.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("alipay: cannot marshal time %v: year outside 0000 to 9999", t.Time)
	}
	return appendTime(b, bj), nil
}

// MarshalText implements [encoding.TextMarshaler]. The text is empty for the
// zero Time and [FormatTime] of t otherwise: Beijing time in whole seconds,
// because no Alipay JSON time carries a fraction. Years outside 0000 to
// 9999 are an error.
func (t Time) MarshalText() ([]byte, error) {
	return t.AppendText(make([]byte, 0, len(TimeLayout)))
}

// UnmarshalText implements [encoding.TextUnmarshaler]. It accepts the forms
// [ParseTime] accepts, and empty text for the zero Time. On error t is
// unchanged.
func (t *Time) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*t = Time{}
		return nil
	}
	v, err := ParseTime(string(text))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}
