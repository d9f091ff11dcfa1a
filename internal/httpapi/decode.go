package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"zhifu/alipay"
	"zhifu/payment"
)

// apiDecode decodes body, one JSON object, into v (a pointer to a struct
// with json tags), strictly: unknown fields, wrong types, a body that is
// not one object and trailing data are errors naming what was wrong.
func apiDecode(body []byte, v any) *Error {
	if !utf8.Valid(body) {
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "the body is not valid UTF-8")
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "the body must be one JSON object, {…}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiJSONError(err, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "data after the JSON object: send exactly one object")
	}
	return nil
}

// apiJSONError explains an error of json.Decoder.Decode into v.
func apiJSONError(err error, v any) *Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		return apiErrorf(http.StatusBadRequest, CodeInvalidType, field, "%s: want %s, got a JSON %s", field, apiJSONType(typeErr.Type, field), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "malformed JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "the JSON object is cut short")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return apiErrorf(http.StatusBadRequest, CodeUnknownField, name, "unknown field %q; the fields are %s", name, apiFieldNames(v))
	}
	return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// apiJSONType names the JSON type of Go type t, for messages.
func apiJSONType(t reflect.Type, field string) string {
	switch {
	case field == "amount":
		return `a string of yuan such as "12.34"`
	case field == "metadata" && t.Kind() == reflect.String:
		return "an object whose values are strings"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Map:
		return "an object of strings"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// apiFieldNames lists the JSON fields of the struct v points to.
func apiFieldNames(v any) string {
	t := reflect.TypeOf(v).Elem()
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

// apiAmount parses an amount field: a string of yuan with at most two
// decimals, within Alipay's bounds of a trade.
func apiAmount(field, s string) (alipay.Amount, *Error) {
	if s == "" {
		return 0, apiErrorf(http.StatusBadRequest, CodeMissingField, field, `%s is required: a string of yuan such as "12.34"`, field)
	}
	a, err := alipay.ParseAmount(s)
	if err != nil {
		reason := err.Error()
		if i := strings.LastIndex(reason, ": "); i >= 0 {
			reason = reason[i+2:]
		}
		if reason == "more than two decimal places" {
			reason = "has more than 2 decimals"
		}
		return 0, apiErrorf(http.StatusBadRequest, CodeInvalidAmount, field,
			`%s: %q %s; send yuan with at most 2 decimals, e.g. "12.34"`, field, apiCut(s), reason)
	}
	if err := a.CheckTradeAmount(); err != nil {
		return 0, apiErrorf(http.StatusBadRequest, CodeInvalidAmount, field, `%s: %s is not within 0.01 to 100000000.00 yuan`, field, a)
	}
	return a, nil
}

// apiCut shortens s for a message.
func apiCut(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// apiText checks a text field: at most max characters, no control
// characters; required ones not empty.
func apiText(field, s string, required bool, max int) *Error {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && required:
		return apiErrorf(http.StatusBadRequest, CodeMissingField, field, "%s is required", field)
	case n > max:
		return apiErrorf(http.StatusBadRequest, CodeInvalidField, field, "%s has %d characters, at most %d are allowed", field, n, max)
	case strings.ContainsFunc(s, unicode.IsControl):
		return apiErrorf(http.StatusBadRequest, CodeInvalidField, field, "%s must not contain control characters", field)
	}
	return nil
}

// apiTradeNo checks an optional out_trade_no or out_request_no: 1 to 64
// letters, digits and underscores, as Alipay allows
// (alipay.CheckOutTradeNo).
func apiTradeNo(field, s string) *Error {
	if s != "" && alipay.CheckOutTradeNo(s) != nil {
		return apiErrorf(http.StatusBadRequest, CodeInvalidField, field, "%s: 1 to 64 letters, digits and underscores", field)
	}
	return nil
}

// apiReturnURL checks an optional return_url as the Service will
// (payment.CheckPublicURL), naming the field: an absolute http(s) URL of
// at most 256 characters without query or fragment.
func apiReturnURL(s string) *Error {
	if err := payment.CheckPublicURL("return_url", s, false); err != nil {
		return apiErrorf(http.StatusBadRequest, CodeInvalidField, "return_url", "%s", err.Error())
	}
	return nil
}

// Limits of metadata.
const (
	apiMaxMetadataKeys     = 50
	apiMaxMetadataKeyLen   = 40
	apiMaxMetadataValueLen = 500
)

// apiMetadata checks metadata: at most 50 keys of at most 40 characters
// and values of at most 500, no control characters, no key of zhifu's
// own.
func apiMetadata(m map[string]string) *Error {
	if len(m) > apiMaxMetadataKeys {
		return apiErrorf(http.StatusBadRequest, CodeInvalidField, "metadata", "metadata has %d keys, at most %d are allowed", len(m), apiMaxMetadataKeys)
	}
	for k, v := range m {
		if e := apiText("metadata", k, true, apiMaxMetadataKeyLen); e != nil {
			e.Message = fmt.Sprintf("metadata key %q: 1 to %d characters without control characters", apiCut(k), apiMaxMetadataKeyLen)
			return e
		}
		if strings.HasPrefix(k, payment.MetadataReserved) {
			return apiErrorf(http.StatusBadRequest, CodeInvalidField, "metadata", "metadata key %q: keys starting %q are zhifu's own", apiCut(k), payment.MetadataReserved)
		}
		if e := apiText("metadata", v, false, apiMaxMetadataValueLen); e != nil {
			e.Message = fmt.Sprintf("metadata value of %q: at most %d characters without control characters", apiCut(k), apiMaxMetadataValueLen)
			return e
		}
	}
	return nil
}
