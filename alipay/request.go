package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// param is one request parameter. A signed request is a short list of them,
// kept sorted by key: the order the string to sign needs, and a fine order
// for the wire.
type param struct{ key, value string }

// signedParams is a request's parameters, sorted by key once signed.
type signedParams []param

// set adds or replaces key and returns the list, as append does; blank
// values are left out, as the gateway leaves them out of the string it
// verifies. (It returns the list rather than taking a pointer so that a
// list on the caller's stack stays there: an append through a pointer
// sends it to the heap.)
func (ps signedParams) set(key, value string) signedParams {
	if isBlank(value) {
		return ps
	}
	for i := range ps {
		if ps[i].key == key {
			ps[i].value = value
			return ps
		}
	}
	return append(ps, param{key, value})
}

// get returns the value of key, or "".
func (ps signedParams) get(key string) string {
	for _, p := range ps {
		if p.key == key {
			return p.value
		}
	}
	return ""
}

// sort sorts ps by key.
//
// The lists are short, a dozen parameters in a request and two dozen in a
// notify, and their names are lowercase words, whose first letters are
// mostly distinct. So the parameters are put in buckets by first byte and
// each is inserted in order within its bucket, which holds few others: two
// passes over ps and few comparisons, where slices.SortFunc makes a hundred
// calls of its comparison on a notify. Longer lists, which only a hostile
// notify holds, go to slices.SortFunc, whose cost grows as n log n rather
// than n².
func (ps signedParams) sort() {
	const short = 32
	if len(ps) > short {
		slices.SortFunc(ps, func(a, b param) int { return strings.Compare(a.key, b.key) })
		return
	}
	// end[b] is, after the first pass, where bucket b ends in the sorted
	// order; the second pass fills each bucket from its start, end[b-1].
	var end [firstByteBuckets]uint8
	for _, p := range ps {
		end[firstByteBucket(p.key)]++
	}
	for b := 1; b < len(end); b++ {
		end[b] += end[b-1]
	}
	var fill [firstByteBuckets]uint8 // how many of each bucket are placed
	var sorted [short]param
	for _, p := range ps {
		b := firstByteBucket(p.key)
		start := 0
		if b > 0 {
			start = int(end[b-1])
		}
		i := start + int(fill[b])
		fill[b]++
		for ; i > start && p.key < sorted[i-1].key; i-- {
			sorted[i] = sorted[i-1]
		}
		sorted[i] = p
	}
	copy(ps, sorted[:len(ps)])
}

// firstByteBuckets is the number of buckets of firstByteBucket.
const firstByteBuckets = 28

// firstByteBucket returns the bucket of a name by its first byte, in byte
// order: 0 for an empty name or one that starts below 'a', 1 to 26 for 'a'
// to 'z', 27 for the rest.
func firstByteBucket(key string) int {
	switch {
	case key == "" || key[0] < 'a':
		return 0
	case key[0] <= 'z':
		return int(key[0]-'a') + 1
	}
	return 27
}

// appendCanonical appends the string to sign of ps to dst: key=value pairs
// joined by &, blank values left out, and sign_type too when skipSignType.
// ps must be sorted and hold no sign. This is the one place the string to
// sign is joined.
func (ps signedParams) appendCanonical(dst []byte, skipSignType bool) []byte {
	first := true
	for _, p := range ps {
		if isBlank(p.value) || skipSignType && p.key == "sign_type" {
			continue
		}
		if !first {
			dst = append(dst, '&')
		}
		first = false
		dst = append(dst, p.key...)
		dst = append(dst, '=')
		dst = append(dst, p.value...)
	}
	return dst
}

// appendQuery appends the form encoding (space as +) of ps to dst.
func (ps signedParams) appendQuery(dst []byte) []byte {
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendQueryEscape(dst, p.key)
		dst = append(dst, '=')
		dst = appendQueryEscape(dst, p.value)
	}
	return dst
}

// appendQueryEscape is url.QueryEscape appending to dst.
func appendQueryEscape(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	// Runs of bytes that stay as they are are found by a tight loop and
	// copied with one append each: the signed URL is a kilobyte or more, and
	// a byte-by-byte append costs about twice as much per byte.
	for {
		n := 0
		for n < len(s) && queryUnescaped[s[n]] {
			n++
		}
		dst = append(dst, s[:n]...)
		if n == len(s) {
			return dst
		}
		if c := s[n]; c == ' ' {
			dst = append(dst, '+')
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
		s = s[n+1:]
	}
}

// queryUnescaped reports the bytes url.QueryEscape writes as they are:
// letters, digits and -_.~.
var queryUnescaped = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~'
	}
	return t
}()

// newParams appends to dst the public parameters of a request for method,
// unsigned. format is left out: it is optional and JSON is the only value,
// and without it a request is signed byte for byte as the official SDKs
// sign it.
func (c *Client) newParams(dst signedParams, method string) signedParams {
	ps := append(dst,
		param{"app_id", c.appID},
		param{"method", method},
		param{"charset", "utf-8"},
		param{"sign_type", string(c.signType)},
		param{"timestamp", FormatTime(c.now())},
		param{"version", "1.0"},
	)
	if c.appCertSN != "" {
		ps = append(ps, param{"app_cert_sn", c.appCertSN}, param{"alipay_root_cert_sn", c.rootCertSN})
	}
	return ps
}

// sign sorts ps and returns the signature of its canonical string.
func (c *Client) sign(ps signedParams) (string, error) {
	ps.sort()
	var stack [1024]byte
	return Sign(c.signer, c.signType, ps.appendCanonical(stack[:0], false))
}

// marshalBizContent renders the business parameters as Alipay reads them:
// compact JSON, non-ASCII and & < > written raw (as the official SDKs send
// them). A string, []byte or json.RawMessage is taken as JSON text already.
func marshalBizContent(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case json.RawMessage:
		return string(v), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("alipay: encoding biz_content: %w", err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})), nil
}

// appendJSONField appends the member prefix+s of a JSON object, prefix
// being `,"name":`, unless s is empty: a string field with omitempty.
func appendJSONField(dst []byte, prefix, s string) []byte {
	if s == "" {
		return dst
	}
	return appendJSONString(append(dst, prefix...), s)
}

// appendJSONString appends s as a JSON string, escaped exactly as
// encoding/json escapes it with SetEscapeHTML(false): " and \ with a
// backslash, control characters as \b, \f, \n, \r, \t or \u00XX, invalid
// UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029, everything else,
// & < > and non-ASCII included, as it is.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0 // s[start:i] is yet to be copied
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ToValues returns the parameters as url.Values, for callers and tests that
// want them in that shape.
func (ps signedParams) values() url.Values {
	v := make(url.Values, len(ps))
	for _, p := range ps {
		v.Set(p.key, p.value)
	}
	return v
}
