package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// maxInput bounds what sign and verify read from stdin: notifies are about
// 1.5 KB, and the largest responses a few hundred KB.
const maxInput = 4 << 20

// formHelp documents the form input of sign and verify.
const formHelp = `The form can be given as
  a URL-encoded form on one line     app_id=2021...&method=alipay.trade.query&biz_content=%7B...%7D
  a URL whose query is that form     https://merchant.example.com/pay/return?charset=utf-8&...
  one key=value per line             values raw, exactly as signed (not URL-encoded); blank
                                     lines and lines starting with # are skipped
Input with more than one line is read as key=value lines. Trailing newlines are ignored.
A parameter given twice is refused, as Alipay's gateway refuses it.`

// formSyntax is how a form was written on stdin.
type formSyntax int

const (
	syntaxEncoded formSyntax = iota // a=1&b=2
	syntaxURL                       // https://host/path?a=1&b=2
	syntaxLines                     // a=1 NEWLINE b=2
)

// readInput reads stdin whole, up to maxInput, without a leading UTF-8 byte
// order mark. When stdin is a terminal it first says what it waits for.
func readInput(s *streams, what string) ([]byte, error) {
	if f, ok := s.stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(s.stderr, "Reading %s from stdin; end with Ctrl-D.\n", what)
		}
	}
	b, err := io.ReadAll(io.LimitReader(s.stdin, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("stdin holds more than %d bytes", maxInput)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("stdin is empty: pipe %s into the command", what)
	}
	return b, nil
}

// parseForm reads the parameters of a form written in any of the syntaxes
// of formHelp.
func parseForm(text string) (url.Values, formSyntax, error) {
	text = strings.TrimRight(text, "\r\n")
	text = strings.TrimLeft(text, " \t\r\n")
	if strings.Contains(text, "\n") {
		params, err := parseLines(text)
		return params, syntaxLines, err
	}
	syntax := syntaxEncoded
	text = strings.TrimSpace(text)
	// A URL: whatever comes before the first "?" has no "=" or "&".
	if i := strings.IndexByte(text, '?'); i >= 0 && !strings.ContainsAny(text[:i], "=&") {
		text, syntax = text[i+1:], syntaxURL
		if j := strings.IndexByte(text, '#'); j >= 0 {
			text = text[:j]
		}
	}
	params, err := url.ParseQuery(text)
	if err != nil {
		return nil, syntax, fmt.Errorf("the form is not valid URL encoding (%w); to give raw values, write one key=value per line", err)
	}
	if err := checkParams(params); err != nil {
		return nil, syntax, err
	}
	return params, syntax, nil
}

// parseLines reads one key=value per line, values raw.
func parseLines(text string) (url.Values, error) {
	params := url.Values{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d has no '=': write one key=value per line", n+1)
		}
		params.Add(key, value)
	}
	return params, checkParams(params)
}

// checkParams refuses empty keys and repeated keys.
func checkParams(params url.Values) error {
	if len(params) == 0 {
		return errors.New("the form has no parameters")
	}
	for k, vs := range params {
		if k == "" {
			return errors.New("the form has a parameter without a name")
		}
		if len(vs) > 1 {
			return fmt.Errorf("parameter %q appears %d times; Alipay's gateway refuses repeated parameters (isv.suspected-attack)", k, len(vs))
		}
	}
	return nil
}
