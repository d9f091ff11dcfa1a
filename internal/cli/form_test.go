package cli

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	t.Parallel()
	want := url.Values{"a": {"1 2"}, "b": {"x&y=z"}}
	tests := []struct {
		name   string
		text   string
		syntax formSyntax
		want   url.Values
	}{
		{"encoded", "a=1+2&b=x%26y%3Dz\n", syntaxEncoded, want},
		{"encoded CRLF", "a=1%202&b=x%26y%3Dz\r\n\r\n", syntaxEncoded, want},
		{"URL", "https://example.com/pay/return?a=1+2&b=x%26y%3Dz#top\n", syntaxURL, want},
		{"path and query", "/gateway.do?a=1+2&b=x%26y%3Dz", syntaxURL, want},
		{"lines", "a=1 2\nb=x&y=z\n", syntaxLines, want},
		{"lines with comments and CRLF", "# notify\r\na=1 2\r\n\r\nb=x&y=z\r\n", syntaxLines, want},
		{"raw value with ?", "return_url=https://m.example.com/r?o=1", syntaxEncoded, url.Values{"return_url": {"https://m.example.com/r?o=1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, syntax, err := parseForm(tt.text)
			if err != nil || syntax != tt.syntax || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseForm(%q) = %v, %v, %v; want %v, %v", tt.text, got, syntax, err, tt.want, tt.syntax)
			}
		})
	}
}

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "https://h/p?a=1#f", "a=1\nb=2", "a=%zz", "a=1&a=2", "=x", "\n\n", "a;b=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		params, syntax, err := parseForm(text)
		if err != nil {
			return
		}
		if len(params) == 0 {
			t.Fatalf("parseForm(%q) accepted an empty form", text)
		}
		for k, vs := range params {
			if k == "" || len(vs) != 1 {
				t.Fatalf("parseForm(%q) accepted key %q with %d values", text, k, len(vs))
			}
			if syntax == syntaxLines && strings.ContainsAny(k+vs[0], "\n") {
				t.Fatalf("parseForm(%q): a line-form value spans lines", text)
			}
		}
	})
}
