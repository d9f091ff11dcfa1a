package alipay

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Amount
	}{
		{"0.01", 1}, {"0.10", 10}, {"0.1", 10}, {"9.90", 990}, {"12.34", 1234},
		{"100", 10000}, {"100.0", 10000}, {"100.00", 10000}, {"1", 100},
		{"0", 0}, {"0.0", 0}, {"0.00", 0},
		{"99999999.99", 9999999999}, {"100000000", MaxTradeAmount}, {"100000000.00", MaxTradeAmount},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAmount(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseAmount(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseAmountError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "empty string"},
		{"negative", "-1", "negative"},
		{"negative zero", "-0.00", "negative"},
		{"plus", "+1", "sign not allowed"},
		{"three decimals", "0.001", "more than two decimal places"},
		{"three zero decimals", "1.000", "more than two decimal places"},
		{"above max by a fen", "100000000.01", "above maximum 100000000.00"},
		{"above max", "999999999", "above maximum 100000000.00"},
		{"ten digits", "1000000000", "above maximum 100000000.00"},
		{"int64 overflow", "92233720368547758.08", "above maximum 100000000.00"},
		{"uint64 overflow", "184467440737095516160000", "above maximum 100000000.00"},
		{"exponent", "1e3", `unexpected character 'e' at offset 1`},
		{"exponent after fraction", "1.5E2", `unexpected character 'E' at offset 3`},
		{"leading space", " 1", `unexpected character ' ' at offset 0`},
		{"trailing space", "1 ", `unexpected character ' ' at offset 1`},
		{"inner space", "1. 5", `unexpected character ' ' at offset 2`},
		{"trailing newline", "1.00\n", `unexpected character '\n' at offset 4`},
		{"no leading digit", ".5", "missing digit before decimal point"},
		{"no trailing digit", "5.", "missing digit after decimal point"},
		{"point only", ".", "missing digit before decimal point"},
		{"two points", "1.2.3", `unexpected character '.' at offset 3`},
		{"leading zero", "01", "leading zero"},
		{"leading zeros with fraction", "00.50", "leading zero"},
		{"hex", "0x10", `unexpected character 'x' at offset 1`},
		{"underscore", "1_000", `unexpected character '_' at offset 1`},
		{"thousands comma", "1,000.00", `unexpected character ',' at offset 1`},
		{"decimal comma", "1,00", `unexpected character ',' at offset 1`},
		{"fullwidth digit", "１", `unexpected character '１' at offset 0`},
		{"arabic-indic digit", "1٢", `unexpected character '٢' at offset 1`},
		{"invalid utf-8", "1\xff", "invalid byte 0xff at offset 1"},
		{"NaN", "NaN", `unexpected character 'N' at offset 0`},
		{"Inf", "Inf", `unexpected character 'I' at offset 0`},
		{"yuan sign", "¥1.00", `unexpected character '¥' at offset 0`},
		{"quoted", `"1.00"`, `unexpected character '"' at offset 0`},
		{"NUL", "1\x00", `unexpected character '\x00' at offset 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAmount(tt.in)
			want := fmt.Sprintf("alipay: invalid amount %q: %s", tt.in, tt.reason)
			if err == nil || err.Error() != want {
				t.Fatalf("ParseAmount(%q) = %d, %v; want error %s", tt.in, got, err, want)
			}
			if got != 0 {
				t.Errorf("ParseAmount(%q) returned %d with the error; want 0", tt.in, got)
			}
		})
	}
}

func TestParseAmountLongInput(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("9", 1000)
	_, err := ParseAmount(in)
	want := fmt.Sprintf("alipay: invalid amount %q...: above maximum 100000000.00", in[:40])
	if err == nil || err.Error() != want {
		t.Fatalf("ParseAmount(1000 nines) error = %v; want %s", err, want)
	}
}

func TestParseAmountAllocs(t *testing.T) {
	text, jsonString, jsonNumber := []byte("12.34"), []byte(`"12.34"`), []byte(`12.34`)
	allocs := testing.AllocsPerRun(100, func() {
		a, err1 := ParseAmount("99999999.99")
		err2 := a.UnmarshalText(text)
		err3 := a.UnmarshalJSON(jsonString)
		err4 := a.UnmarshalJSON(jsonNumber)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		var buf [32]byte
		_ = appendAmount(buf[:0], a)
	})
	if allocs != 0 {
		t.Errorf("parsing and appending an amount allocates %v times; want 0", allocs)
	}
}

func TestAmountString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Amount
		want string
	}{
		{0, "0.00"}, {1, "0.01"}, {10, "0.10"}, {99, "0.99"}, {100, "1.00"},
		{1234, "12.34"}, {10000, "100.00"}, {MaxTradeAmount, "100000000.00"},
		{-1, "-0.01"}, {-1234, "-12.34"},
		{math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := tt.in.String(); got != tt.want {
				t.Errorf("Amount(%d).String() = %q; want %q", int64(tt.in), got, tt.want)
			}
			if got := fmt.Sprint(tt.in); got != tt.want {
				t.Errorf("fmt.Sprint(Amount(%d)) = %q; want %q", int64(tt.in), got, tt.want)
			}
			if got := tt.in.Fen(); got != int64(tt.in) {
				t.Errorf("Amount(%d).Fen() = %d", int64(tt.in), got)
			}
		})
	}
}

func TestAmountRoundTrip(t *testing.T) {
	t.Parallel()
	check := func(a Amount) {
		s := a.String()
		got, err := ParseAmount(s)
		if err != nil || got != a {
			t.Fatalf("ParseAmount(%q) = %d, %v; want %d", s, got, err, a)
		}
	}
	for a := range Amount(100_000) {
		check(a)
	}
	for a := MaxTradeAmount - 100_000; a <= MaxTradeAmount; a++ {
		check(a)
	}
}

func TestAmountCheckTradeAmount(t *testing.T) {
	t.Parallel()
	for _, a := range []Amount{MinTradeAmount, 1234, MaxTradeAmount} {
		if err := a.CheckTradeAmount(); err != nil {
			t.Errorf("Amount(%d).CheckTradeAmount() = %v; want nil", int64(a), err)
		}
	}
	for _, a := range []Amount{0, -1, MaxTradeAmount + 1, math.MinInt64} {
		want := fmt.Sprintf("alipay: trade amount %s out of range [0.01, 100000000.00]", a)
		if err := a.CheckTradeAmount(); err == nil || err.Error() != want {
			t.Errorf("Amount(%d).CheckTradeAmount() = %v; want %s", int64(a), err, want)
		}
	}
}

type amountFields struct {
	Total Amount  `json:"total_amount"`
	Point Amount  `json:"point_amount"`
	Fee   *Amount `json:"refund_fee,omitempty"`
}

func TestAmountJSON(t *testing.T) {
	t.Parallel()
	fee := Amount(3000)
	in := amountFields{Total: 10000, Point: 0, Fee: &fee}
	b, err := json.Marshal(in)
	const want = `{"total_amount":"100.00","point_amount":"0.00","refund_fee":"30.00"}`
	if err != nil || string(b) != want {
		t.Fatalf("json.Marshal = %s, %v; want %s", b, err, want)
	}
	var out amountFields
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("json.Unmarshal(%s) = %+v, %v; want %+v", b, out, err, in)
	}
}

func TestAmountUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     Amount
	}{
		{"string", `"12.34"`, 1234},
		{"string without decimals", `"100"`, 10000},
		{"zero string", `"0.00"`, 0},
		{"number", `0.01`, 1},
		{"integer number", `100`, 10000},
		{"number with one decimal", `9.9`, 990},
		{"escaped string", `"\u0031\u0032.34"`, 1234},
		{"null", `null`, 4242},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Amount(4242)
			if err := json.Unmarshal([]byte(tt.in), &a); err != nil || a != tt.want {
				t.Fatalf("json.Unmarshal(%s) = %d, %v; want %d, nil", tt.in, a, err, tt.want)
			}
		})
	}
}

func TestAmountUnmarshalJSONError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty string", `""`, `alipay: invalid amount "": empty string`},
		{"three decimals", `"0.001"`, `alipay: invalid amount "0.001": more than two decimal places`},
		{"negative number", `-1`, `alipay: invalid amount "-1": negative`},
		{"exponent number", `1e2`, `alipay: invalid amount "1e2": unexpected character 'e' at offset 1`},
		{"float noise", `0.30000000000000004`, `alipay: invalid amount "0.30000000000000004": more than two decimal places`},
		{"large number", `1e400`, `alipay: invalid amount "1e400": unexpected character 'e' at offset 1`},
		{"spaces in string", `" 1.00"`, `alipay: invalid amount " 1.00": unexpected character ' ' at offset 0`},
		{"escaped space", `"\u00201.00"`, `alipay: invalid amount " 1.00": unexpected character ' ' at offset 0`},
		{"bool", `true`, `alipay: invalid amount "true": not a JSON string or number`},
		{"object", `{}`, `alipay: invalid amount "{}": not a JSON string or number`},
		{"array", `["1.00"]`, `alipay: invalid amount "[\"1.00\"]": not a JSON string or number`},
		{"empty input", ``, `alipay: invalid amount "": not a JSON string or number`},
		{"unterminated", `"1.00`, `alipay: invalid amount "\"1.00": not a JSON string or number`},
		{"bad escape", `"\x"`, `alipay: invalid amount JSON: invalid character 'x' in string escape code`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Amount(4242)
			err := a.UnmarshalJSON([]byte(tt.in))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("UnmarshalJSON(%s) = %v; want %s", tt.in, err, tt.wantErr)
			}
			if a != 4242 {
				t.Errorf("UnmarshalJSON(%s) changed the amount to %d on error", tt.in, a)
			}
		})
	}
}

func TestAmountMarshalOutOfRange(t *testing.T) {
	t.Parallel()
	for _, a := range []Amount{-1, MaxTradeAmount + 1, math.MinInt64, math.MaxInt64} {
		t.Run(a.String(), func(t *testing.T) {
			t.Parallel()
			want := fmt.Sprintf("alipay: cannot marshal amount %s: out of range [0.00, 100000000.00]", a)
			if b, err := a.MarshalJSON(); err == nil || err.Error() != want {
				t.Errorf("MarshalJSON() = %s, %v; want error %s", b, err, want)
			}
			if b, err := a.MarshalText(); err == nil || err.Error() != want {
				t.Errorf("MarshalText() = %s, %v; want error %s", b, err, want)
			}
			if _, err := json.Marshal(amountFields{Total: a}); err == nil {
				t.Error("json.Marshal of a struct with the amount succeeded; want an error")
			}
		})
	}
}

func TestAmountText(t *testing.T) {
	t.Parallel()
	// Map keys go through the text methods.
	m := map[Amount]string{1: "one fen", 10000: "one hundred yuan"}
	b, err := json.Marshal(m)
	const want = `{"0.01":"one fen","100.00":"one hundred yuan"}`
	if err != nil || string(b) != want {
		t.Fatalf("json.Marshal(map) = %s, %v; want %s", b, err, want)
	}
	var back map[Amount]string
	if err := json.Unmarshal(b, &back); err != nil || !maps.Equal(back, m) {
		t.Fatalf("json.Unmarshal(%s) = %v, %v; want %v", b, back, err, m)
	}
	a := Amount(7)
	if err := a.UnmarshalText([]byte("1.001")); err == nil || a != 7 {
		t.Errorf("UnmarshalText(1.001) = %v and set %d; want an error and no change", err, a)
	}
}

// canonicalAmount is the grammar ParseAmount accepts, bounds aside.
var canonicalAmount = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$`)

// referenceAmount reads s as ParseAmount should, independently of its code:
// by the grammar, and with big.Rat for the value.
func referenceAmount(s string) (Amount, bool) {
	if !canonicalAmount.MatchString(s) {
		return 0, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, false
	}
	fen := r.Mul(r, big.NewRat(100, 1)).Num()
	if !r.IsInt() || fen.Cmp(big.NewInt(int64(MaxTradeAmount))) > 0 {
		return 0, false
	}
	return Amount(fen.Int64()), true
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{
		"0", "0.00", "0.01", "0.1", "12.34", "100", "100.0", "100.00", "100000000.00",
		"100000000.01", "99999999.99", "-1", "+1", "0.001", "1e3", " 1", "1 ", "", ".5", "5.",
		"01", "0x10", "1_000", "１", "NaN", "Inf", "92233720368547758.08", "null", `"1.00"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		checkAmountJSONAgrees(t, s, a, err)
		want, ok := referenceAmount(s)
		if !ok {
			if err == nil {
				t.Fatalf("ParseAmount(%q) = %d; want an error", s, a)
			}
			return
		}
		if err != nil || a != want {
			t.Fatalf("ParseAmount(%q) = %d, %v; want %d", s, a, err, want)
		}
		canon := a.String()
		switch dot := strings.IndexByte(s, '.'); {
		case dot < 0:
			s += ".00"
		case dot == len(s)-2:
			s += "0"
		}
		if canon != s {
			t.Fatalf("String() = %q; want %q", canon, s)
		}
		if b, err := ParseAmount(canon); err != nil || b != a {
			t.Fatalf("ParseAmount(%q) = %d, %v; want %d", canon, b, err, a)
		}
	})
}

// checkAmountJSONAgrees checks that UnmarshalJSON reads s as a JSON string,
// and as a bare number token, as ParseAmount(s) read it.
func checkAmountJSONAgrees(t *testing.T, s string, want Amount, wantErr error) {
	t.Helper()
	var inputs [][]byte
	if utf8.ValidString(s) {
		quoted, _ := json.Marshal(s) // never fails for valid UTF-8
		inputs = append(inputs, quoted)
	}
	if s != "null" && !strings.HasPrefix(s, `"`) {
		inputs = append(inputs, []byte(s))
	}
	for _, in := range inputs {
		var got Amount
		if err := got.UnmarshalJSON(in); (err == nil) != (wantErr == nil) || got != want {
			t.Fatalf("UnmarshalJSON(%#q) = %d, %v; ParseAmount gave %d, %v", in, got, err, want, wantErr)
		}
	}
}

func ExampleParseAmount() {
	total, err := ParseAmount("100")
	if err != nil {
		panic(err)
	}
	refunded, err := ParseAmount("30.5")
	if err != nil {
		panic(err)
	}
	fmt.Println(total, refunded, total-refunded, total.Fen())

	_, err = ParseAmount("0.001")
	fmt.Println(err)
	// Output:
	// 100.00 30.50 69.50 10000
	// alipay: invalid amount "0.001": more than two decimal places
}
