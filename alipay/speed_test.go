package alipay

import (
	"math/rand/v2"
	"net/url"
	"testing"
)

// The tests here hold the code written for speed to the standard library
// code it replaces: same output for every input tried.

// randomText returns a string of n bytes drawn from alphabet, or of any
// bytes (invalid UTF-8 included) when alphabet is empty.
func randomText(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		if alphabet == "" {
			b[i] = byte(r.UintN(256))
		} else {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
	}
	return string(b)
}

// textAlphabet mixes what needs escaping in a URL or in JSON with plain
// letters and multi-byte characters.
const textAlphabet = "aZ09-_.~ +/=&?%\"\\<>:,{}\x00\x1f\x7f测试\u2028\xff"

func TestAppendQueryEscape(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		s := string([]byte{byte(c)})
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Errorf("byte %#x: %q, want %q", c, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		alphabet := textAlphabet
		if i%4 == 0 {
			alphabet = ""
		}
		s := randomText(r, r.IntN(40), alphabet)
		if got, want := string(appendQueryEscape([]byte("x="), s)), "x="+url.QueryEscape(s); got != want {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	}
}
