package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Amount is an amount of money in fen (分, 1/100 yuan), the unit in which
// the package holds Alipay's decimal yuan strings such as "12.34".
// Amount(1234) is 12.34 yuan.
//
// Alipay sends and expects amounts as text, never as numbers: use
// [ParseAmount] and [Amount.String], or let encoding/json call
// [Amount.UnmarshalJSON] and [Amount.MarshalJSON]. No floating-point value
// ever holds an Amount.
//
// Arithmetic on Amounts is ordinary integer arithmetic; it can produce
// negative values and values above [MaxTradeAmount], which String prints but
// ParseAmount and the marshalers refuse.
type Amount int64

const (
	// MinTradeAmount is the smallest amount of a trade request
	// (total_amount, refund_amount): 0.01 yuan.
	MinTradeAmount Amount = 1

	// MaxTradeAmount is the largest amount of a trade request:
	// 100000000.00 yuan. It is also the largest amount ParseAmount accepts.
	MaxTradeAmount Amount = 100_000_000 * 100
)

// maxAmountIntDigits is the number of digits of MaxTradeAmount in yuan
// (100000000). Longer integer parts are too large without being converted,
// so parsing never overflows.
const maxAmountIntDigits = 9

// ParseAmount parses an amount in yuan as Alipay writes it: decimal digits,
// optionally followed by a point and one or two digits. "12.34", "0.01",
// "100", "100.0" and "0.00" are accepted; the result is in fen.
//
// Zero is accepted, because Alipay sends zero amounts such as
// "point_amount":"0.00" in responses; use [Amount.CheckTradeAmount] to
// enforce the range of a trade request.
//
// Anything else is rejected with an error that says what is wrong: an empty
// string, a sign ("-1", "+1"), more than two decimal places ("0.001"), a
// value above [MaxTradeAmount], a leading zero ("01"), a point without a
// digit on both sides (".5", "5."), exponents, spaces, underscores, hex,
// non-ASCII digits, "NaN" and "Inf". Alipay never writes any of these, and
// rejecting them keeps one spelling per value apart from the optional
// trailing decimals.
func ParseAmount(s string) (Amount, error) {
	return parseAmount(s)
}

// parseAmount implements ParseAmount for both strings and byte slices, so
// that the JSON and text unmarshalers parse without copying.
// It does not allocate unless it fails.
func parseAmount[T string | []byte](s T) (Amount, error) {
	if len(s) == 0 {
		return 0, amountError(s, "empty string")
	}
	// Integer part: "0" or a digit string without a leading zero.
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i
	if intDigits == 0 {
		switch s[0] {
		case '-':
			return 0, amountError(s, "negative")
		case '+':
			return 0, amountError(s, "sign not allowed")
		case '.':
			return 0, amountError(s, "missing digit before decimal point")
		}
		return 0, unexpectedByte(s, 0)
	}
	if intDigits > 1 && s[0] == '0' {
		return 0, amountError(s, "leading zero")
	}
	// Fraction: a point and one or two digits.
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			fracDigits++
		}
		switch {
		case fracDigits == 0:
			if i == len(s) {
				return 0, amountError(s, "missing digit after decimal point")
			}
			return 0, unexpectedByte(s, i)
		case fracDigits > 2:
			return 0, amountError(s, "more than two decimal places")
		}
	}
	if i < len(s) {
		return 0, unexpectedByte(s, i)
	}
	if intDigits > maxAmountIntDigits {
		return 0, amountError(s, "above maximum 100000000.00")
	}
	var yuan int64
	for j := range intDigits {
		yuan = yuan*10 + int64(s[j]-'0')
	}
	fen := yuan * 100
	if fracDigits > 0 {
		fen += 10 * int64(s[intDigits+1]-'0')
	}
	if fracDigits > 1 {
		fen += int64(s[intDigits+2] - '0')
	}
	if a := Amount(fen); a <= MaxTradeAmount {
		return a, nil
	}
	return 0, amountError(s, "above maximum 100000000.00")
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// amountError returns the error for the amount text s, which is invalid
// because of reason. Long input is cut short in the message.
func amountError[T string | []byte](s T, reason string) error {
	const max = 40
	if len(s) > max {
		return fmt.Errorf("alipay: invalid amount %q...: %s", string(s[:max]), reason)
	}
	return fmt.Errorf("alipay: invalid amount %q: %s", string(s), reason)
}

// unexpectedByte returns the error for a character at byte offset i of s
// that has no place in an amount.
func unexpectedByte[T string | []byte](s T, i int) error {
	return amountError(s, describeByte(s, i))
}

// describeByte says which character starts at byte offset i of s, for an
// error message: "unexpected character 'x' at offset 3", or "invalid byte
// 0xff at offset 3" when s is not UTF-8 there.
func describeByte[T string | []byte](s T, i int) string {
	r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("invalid byte 0x%02x at offset %d", s[i], i)
	}
	return fmt.Sprintf("unexpected character %q at offset %d", r, i)
}

// String returns a in yuan with exactly two decimals, as Alipay writes it:
// "12.34", "0.01", "100.00". Negative amounts, which only arithmetic
// produces, start with "-".
func (a Amount) String() string {
	var buf [24]byte
	return string(appendAmount(buf[:0], a))
}

// appendAmount appends a.String() to dst and returns the extended buffer.
func appendAmount(dst []byte, a Amount) []byte {
	u := uint64(a)
	if a < 0 {
		dst = append(dst, '-')
		u = -u // two's complement: also right for math.MinInt64
	}
	dst = strconv.AppendUint(dst, u/100, 10)
	f := u % 100
	return append(dst, '.', byte('0'+f/10), byte('0'+f%10))
}

// Fen returns a as an integer number of fen.
func (a Amount) Fen() int64 { return int64(a) }

// CheckTradeAmount reports whether a may be sent as the amount of a trade
// request (total_amount, refund_amount): it returns nil for 0.01 to
// 100000000.00 yuan and an error otherwise.
func (a Amount) CheckTradeAmount() error {
	if a < MinTradeAmount || a > MaxTradeAmount {
		return fmt.Errorf("alipay: trade amount %v out of range [0.01, 100000000.00]", a)
	}
	return nil
}

// checkMarshal returns an error if a is outside the values ParseAmount
// accepts, so that every marshaled amount unmarshals to the same value.
func (a Amount) checkMarshal() error {
	if a < 0 || a > MaxTradeAmount {
		return fmt.Errorf("alipay: cannot marshal amount %v: out of range [0.00, 100000000.00]", a)
	}
	return nil
}

// MarshalText implements [encoding.TextMarshaler]. The text is a.String().
// Amounts that ParseAmount would reject (negative or above
// [MaxTradeAmount]) are an error, never sent.
func (a Amount) MarshalText() ([]byte, error) {
	if err := a.checkMarshal(); err != nil {
		return nil, err
	}
	return appendAmount(make([]byte, 0, 12), a), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; the text is parsed
// as by [ParseAmount]. On error a is unchanged.
func (a *Amount) UnmarshalText(text []byte) error {
	v, err := parseAmount(text)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalJSON implements [json.Marshaler]. An amount is a JSON string such
// as "12.34", never a number. As with MarshalText, amounts that
// ParseAmount would reject are an error.
func (a Amount) MarshalJSON() ([]byte, error) {
	if err := a.checkMarshal(); err != nil {
		return nil, err
	}
	b := append(make([]byte, 0, 14), '"')
	b = appendAmount(b, a)
	return append(b, '"'), nil
}

// UnmarshalJSON implements [json.Unmarshaler]. It accepts a JSON string,
// parsed as by [ParseAmount], and also a JSON number such as 0.01 or 100,
// whose text is parsed by the same rules and never converted through
// float64 (the official Node SDK sends amounts as numbers in places).
// An empty string is an error, not zero. JSON null leaves a unchanged, as
// does any error.
func (a *Amount) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var (
		v   Amount
		err error
	)
	switch {
	case len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"':
		inner := data[1 : len(data)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			v, err = parseAmount(inner)
			break
		}
		// Escapes are valid JSON ("\u0031" is "1"); decode them first.
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("alipay: invalid amount JSON: %w", err)
		}
		v, err = parseAmount(s)
	case len(data) > 0 && (data[0] == '-' || isDigit(data[0])):
		v, err = parseAmount(data)
	default:
		return amountError(data, "not a JSON string or number")
	}
	if err != nil {
		return err
	}
	*a = v
	return nil
}
