package cli

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"zhifu/alipay"
)

func signCommand() *command {
	return &command{
		name:    "sign",
		summary: "sign a gateway request form with the app private key, as Alipay's SDKs do",
		run:     runSign,
	}
}

func runSign(_ context.Context, s *streams, args []string) int {
	f := newFlagSet("zhifu sign", `
Usage: zhifu sign --private-key FILE [--sign-type RSA2|RSA] [-v] < form

Reads the parameters of a gateway request on stdin and prints the value of
its sign parameter, alone, on stdout. The string signed is the request
convention of every official SDK and of the gateway: every parameter except
sign (sign_type included), empty values left out, sorted by key, joined as
key=value with &, values raw (not URL-encoded), as UTF-8.

`+formHelp+`

The private key may be PEM or bare base64, PKCS#1 or PKCS#8. With -v the
string-to-sign is printed on stderr.`)
	keyPath := f.String("private-key", "", "the app private key `FILE` (PEM or base64, PKCS#1 or PKCS#8)")
	signType := f.String("sign-type", "", "signature `ALG`: RSA2 (SHA256withRSA) or RSA (SHA1withRSA); default: the form's sign_type, else RSA2")
	verbose := f.Bool("v", false, "print the string-to-sign on stderr")
	if code, done := f.parse(s, args); done {
		return code
	}
	if *keyPath == "" {
		return f.usageError(s, "--private-key FILE is required")
	}
	if *signType != "" && *signType != string(alipay.SignTypeRSA2) && *signType != string(alipay.SignTypeRSA) {
		return f.usageError(s, "--sign-type %q: want RSA2 or RSA", *signType)
	}

	key, err := readPrivateKey(s, *keyPath)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu sign: %v\n", err)
		return exitFail
	}
	input, err := readInput(s, "the request form")
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu sign: %v\n", err)
		return exitFail
	}
	params, _, err := parseForm(string(input))
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu sign: %v\n", err)
		return exitFail
	}

	t, notes, err := requestSignType(params, alipay.SignType(*signType))
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu sign: %v\n", err)
		return exitFail
	}
	if params.Has("sign") {
		notes = append(notes, "the form already has a sign; it is not part of the string-to-sign and was ignored")
	}
	var empty []string
	for k, vs := range params {
		if isBlank(vs[0]) {
			empty = append(empty, k)
		}
	}
	if len(empty) > 0 {
		sort.Strings(empty)
		notes = append(notes, fmt.Sprintf("empty %s left out of the string-to-sign, as the gateway does; do not send empty parameters (the Node SDK would sign them as key=)", strings.Join(empty, ", ")))
	}
	for _, n := range notes {
		fmt.Fprintf(s.stderr, "note: %s\n", n)
	}
	if *verbose {
		fmt.Fprintf(s.stderr, "string-to-sign:\n%s\n", alipay.RequestStringToSign(params))
	}
	sign, err := alipay.SignRequest(key, t, params)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu sign: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(s.stdout, sign)
	return exitOK
}

// requestSignType picks the algorithm for signing params: the one asked
// for, which must agree with the form's sign_type, else the form's, else
// RSA2.
func requestSignType(params url.Values, asked alipay.SignType) (alipay.SignType, []string, error) {
	inForm := alipay.SignType(params.Get("sign_type"))
	switch {
	case inForm == "" && asked == "":
		return alipay.SignTypeRSA2, []string{"the form has no sign_type; it is part of the string-to-sign and tells the gateway the algorithm: add sign_type=RSA2 (signed as RSA2 here)"}, nil
	case inForm == "":
		return asked, []string{fmt.Sprintf("the form has no sign_type; it is part of the string-to-sign and tells the gateway the algorithm: add sign_type=%s", asked)}, nil
	case inForm != alipay.SignTypeRSA2 && inForm != alipay.SignTypeRSA:
		return "", nil, fmt.Errorf("the form says sign_type=%s; zhifu signs RSA2 or RSA", inForm)
	case asked != "" && asked != inForm:
		return "", nil, fmt.Errorf("--sign-type %s, but the form says sign_type=%s: the gateway verifies with the algorithm sign_type names, so the signature would fail; change one of them", asked, inForm)
	}
	return inForm, nil, nil
}

// isBlank reports whether v is empty or only ASCII white space: the values
// the gateway (and alipay.RequestStringToSign) leave out of the string.
func isBlank(v string) bool { return strings.Trim(v, " \t\n\r\f\v") == "" }
