package alipay

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time // in UTC
	}{
		{"2024-05-20 12:34:56", time.Date(2024, 5, 20, 4, 34, 56, 0, time.UTC)},
		{"2024-05-20 00:00:00", time.Date(2024, 5, 19, 16, 0, 0, 0, time.UTC)},
		{"2024-12-31 23:59:59", time.Date(2024, 12, 31, 15, 59, 59, 0, time.UTC)},
		{"2024-02-29 07:59:59", time.Date(2024, 2, 28, 23, 59, 59, 0, time.UTC)},
		{"2015-04-28 15:45:57.320", time.Date(2015, 4, 28, 7, 45, 57, 320_000_000, time.UTC)},
		{"2015-04-28 15:45:57.32", time.Date(2015, 4, 28, 7, 45, 57, 320_000_000, time.UTC)},
		{"2015-04-28 15:45:57.3", time.Date(2015, 4, 28, 7, 45, 57, 300_000_000, time.UTC)},
		{"2015-04-28 15:45:57.007", time.Date(2015, 4, 28, 7, 45, 57, 7_000_000, time.UTC)},
		{"2015-04-28 15:45:57.000", time.Date(2015, 4, 28, 7, 45, 57, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.in)
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if _, off := got.Zone(); off != 8*60*60 {
				t.Errorf("ParseTime(%q) has zone offset %d s; want +8h", tt.in, off)
			}
		})
	}
}

func TestParseTimeError(t *testing.T) {
	t.Parallel()
	const form = ", want the form 2006-01-02 15:04:05"
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "too short" + form},
		{"date only", "2024-05-20", "too short" + form},
		{"no seconds", "2024-05-20 12:34", "too short" + form},
		{"RFC 3339", "2024-05-20T12:34:56+08:00", "unexpected character 'T' at offset 10" + form},
		{"slashes", "2024/05/20 12:34:56", "unexpected character '/' at offset 4" + form},
		{"one-digit hour", "2024-05-20 1:34:56", "unexpected character ':' at offset 12" + form},
		{"one-digit month", "2024-5-20 12:34:56", "unexpected character '-' at offset 6" + form},
		{"two-digit year", "24-05-20 12:34:56", "unexpected character '-' at offset 2" + form},
		{"leading space", " 2024-05-20 12:34:56", "unexpected character ' ' at offset 0" + form},
		{"trailing space", "2024-05-20 12:34:56 ", "unexpected character ' ' at offset 19"},
		{"zone", "2024-05-20 12:34:56 +0800", "unexpected character ' ' at offset 19"},
		{"comma fraction", "2015-04-28 15:45:57,320", "unexpected character ',' at offset 19"},
		{"empty fraction", "2015-04-28 15:45:57.", "want 1 to 3 digits after the decimal point"},
		{"microseconds", "2015-04-28 15:45:57.320000", "want 1 to 3 digits after the decimal point"},
		{"letter in fraction", "2015-04-28 15:45:57.3a", "unexpected character 'a' at offset 21"},
		{"fullwidth digit", "2024-05-20 12:34:5６", "unexpected character '\uFF16' at offset 18" + form},
		{"invalid utf-8", "2024-05-20 12:34:5\xff", "invalid byte 0xff at offset 18" + form},
		{"month 0", "2024-00-20 12:34:56", "month out of range"},
		{"month 13", "2024-13-20 12:34:56", "month out of range"},
		{"day 0", "2024-05-00 12:34:56", "day out of range"},
		{"February 30", "2024-02-30 12:34:56", "day out of range"},
		{"February 29 in 2023", "2023-02-29 12:34:56", "day out of range"},
		{"April 31", "2024-04-31 12:34:56", "day out of range"},
		{"hour 24", "2024-05-20 24:00:00", "hour out of range"},
		{"minute 60", "2024-05-20 12:60:00", "minute out of range"},
		{"leap second", "2016-12-31 23:59:60", "second out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.in)
			want := fmt.Sprintf("alipay: invalid time %q: %s", tt.in, tt.reason)
			if err == nil || err.Error() != want {
				t.Fatalf("ParseTime(%q) = %v, %v; want error %s", tt.in, got, err, want)
			}
			if !got.IsZero() {
				t.Errorf("ParseTime(%q) returned %v with the error; want the zero time", tt.in, got)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		// A machine in UTC: its times are 8 hours behind Beijing.
		{"UTC", time.Date(2024, 5, 20, 4, 34, 56, 0, time.UTC), "2024-05-20 12:34:56"},
		{"UTC across midnight", time.Date(2024, 5, 20, 16, 0, 0, 0, time.UTC), "2024-05-21 00:00:00"},
		{"UTC across a year", time.Date(2023, 12, 31, 23, 30, 0, 0, time.UTC), "2024-01-01 07:30:00"},
		{"New York summer", time.Date(2024, 5, 20, 0, 34, 56, 0, time.FixedZone("EDT", -4*60*60)), "2024-05-20 12:34:56"},
		{"Beijing", time.Date(2024, 5, 20, 12, 34, 56, 0, beijing), "2024-05-20 12:34:56"},
		{"fraction truncated", time.Date(2024, 5, 20, 4, 34, 56, 999_999_999, time.UTC), "2024-05-20 12:34:56"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatTime(tt.in); got != tt.want {
				t.Errorf("FormatTime(%v) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTimeJSON(t *testing.T) {
	t.Parallel()
	type fields struct {
		Payment Time  `json:"gmt_payment"`
		Close   Time  `json:"gmt_close"`
		Refund  *Time `json:"gmt_refund,omitempty"`
	}
	in := fields{
		Payment: Time{time.Date(2024, 5, 20, 4, 35, 30, 0, time.UTC)},
		Refund:  &Time{time.Date(2024, 5, 20, 5, 0, 0, 123_000_000, time.UTC)},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"gmt_payment":"2024-05-20 12:35:30","gmt_close":"","gmt_refund":"2024-05-20 13:00:00"}`
	if string(b) != want {
		t.Fatalf("json.Marshal = %s; want %s", b, want)
	}

	const response = `{"gmt_payment":"2024-05-20 12:35:30","gmt_close":"","gmt_refund":"2024-05-20 13:00:00.123"}`
	var out fields
	if err := json.Unmarshal([]byte(response), &out); err != nil {
		t.Fatal(err)
	}
	if !out.Payment.Equal(in.Payment.Time) || !out.Close.IsZero() || out.Refund == nil || !out.Refund.Equal(in.Refund.Time) {
		t.Fatalf("json.Unmarshal(%s) = %+v; want %+v", response, out, in)
	}
}

func TestTimeUnmarshalJSON(t *testing.T) {
	t.Parallel()
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Time
	}{
		{"string", `"2024-05-20 12:34:56"`, time.Date(2024, 5, 20, 4, 34, 56, 0, time.UTC)},
		{"milliseconds", `"2015-04-28 15:45:57.320"`, time.Date(2015, 4, 28, 7, 45, 57, 320_000_000, time.UTC)},
		{"escaped", `"2024-05-20\u002012:34:56"`, time.Date(2024, 5, 20, 4, 34, 56, 0, time.UTC)},
		{"empty string", `""`, time.Time{}},
		{"null", `null`, old},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := Time{old}
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil || !v.Equal(tt.want) {
				t.Fatalf("json.Unmarshal(%s) = %v, %v; want %v", tt.in, v, err, tt.want)
			}
		})
	}
}

func TestTimeUnmarshalJSONError(t *testing.T) {
	t.Parallel()
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name, in, wantErr string
	}{
		{"number", `1716179696`, `alipay: invalid time "1716179696": not a JSON string`},
		{"RFC 3339", `"2024-05-20T12:34:56Z"`, `alipay: invalid time "2024-05-20T12:34:56Z": unexpected character 'T' at offset 10, want the form 2006-01-02 15:04:05`},
		{"day out of range", `"2024-02-30 12:34:56"`, `alipay: invalid time "2024-02-30 12:34:56": day out of range`},
		{"unterminated", `"2024-05-20 12:34:56`, `alipay: invalid time "\"2024-05-20 12:34:56": not a JSON string`},
		{"bad escape", `"\x"`, `alipay: invalid time JSON: invalid character 'x' in string escape code`},
		{"empty input", ``, `alipay: invalid time "": not a JSON string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := Time{old}
			err := v.UnmarshalJSON([]byte(tt.in))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("UnmarshalJSON(%s) = %v; want %s", tt.in, err, tt.wantErr)
			}
			if !v.Equal(old) {
				t.Errorf("UnmarshalJSON(%s) changed the time to %v on error", tt.in, v)
			}
		})
	}
}

func TestTimeMarshalError(t *testing.T) {
	t.Parallel()
	for _, year := range []int{-1, 10000} {
		v := Time{time.Date(year, 6, 1, 0, 0, 0, 0, time.UTC)}
		if b, err := json.Marshal(v); err == nil || !strings.Contains(err.Error(), "alipay: cannot marshal time") {
			t.Errorf("json.Marshal(year %d) = %s, %v; want an error", year, b, err)
		}
	}
	// 9999-12-31 16:00 UTC is already year 10000 in Beijing.
	v := Time{time.Date(9999, 12, 31, 16, 0, 0, 0, time.UTC)}
	if b, err := v.MarshalText(); err == nil {
		t.Errorf("MarshalText(%v) = %s; want an error", v, b)
	}
}

func TestTimeText(t *testing.T) {
	t.Parallel()
	// The text methods replace time.Time's RFC 3339 ones, for map keys and
	// any other text encoder.
	v := Time{time.Date(2024, 5, 20, 4, 34, 56, 0, time.UTC)}
	b, err := json.Marshal(map[Time]int{v: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"2024-05-20 12:34:56":1}`; string(b) != want {
		t.Fatalf("json.Marshal(map) = %s; want %s", b, want)
	}
	var w Time
	if err := w.UnmarshalText([]byte("2024-05-20 12:34:56")); err != nil || !w.Equal(v.Time) {
		t.Fatalf("UnmarshalText = %v, %v; want %v", w, err, v)
	}
	if b, err := (Time{}).MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("zero Time MarshalText = %q, %v; want empty", b, err)
	}
	if err := w.UnmarshalText(nil); err != nil || !w.IsZero() {
		t.Errorf("UnmarshalText(empty) = %v, %v; want the zero Time", w, err)
	}
}

// timeShape is the form ParseTime accepts, written independently of its
// code, field ranges aside.
var timeShape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$`)

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2024-05-20 12:34:56", "2015-04-28 15:45:57.320", "2015-04-28 15:45:57.3", "2024-02-29 23:59:59",
		"2023-02-29 00:00:00", "0000-01-01 00:00:00", "9999-12-31 23:59:59", "2024-05-20 24:00:00",
		"2024-05-20T12:34:56Z", "2024-05-20 1:34:56", "2015-04-28 15:45:57,320", "2015-04-28 15:45:57.1234", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		// time.ParseInLocation reads the same value from whatever ParseTime
		// accepts, and accepts more.
		ref, refErr := time.ParseInLocation(TimeLayout, s, beijing)
		if err != nil {
			if timeShape.MatchString(s) && refErr == nil {
				t.Fatalf("ParseTime(%q): %v; time.ParseInLocation gives %v", s, err, ref)
			}
			return
		}
		if !timeShape.MatchString(s) {
			t.Fatalf("ParseTime(%q) = %v; want an error", s, got)
		}
		if refErr != nil || !got.Equal(ref) {
			t.Fatalf("ParseTime(%q) = %v; time.ParseInLocation gives %v, %v", s, got, ref, refErr)
		}
		formatted := FormatTime(got)
		if formatted != s[:len(TimeLayout)] {
			t.Fatalf("FormatTime(ParseTime(%q)) = %q", s, formatted)
		}
		back, err := ParseTime(formatted)
		if err != nil || !back.Equal(got.Truncate(time.Second)) {
			t.Fatalf("ParseTime(%q) = %v, %v; want %v", formatted, back, err, got.Truncate(time.Second))
		}
		var v Time
		if err := v.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil || !v.Equal(got) {
			t.Fatalf("UnmarshalJSON(%q) = %v, %v; want %v", s, v, err, got)
		}
	})
}
