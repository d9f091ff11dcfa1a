package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxResponseBytes bounds how much of a response body is read. Trade
// answers are a few kilobytes.
const maxResponseBytes = 4 << 20

// Request is one call of any gateway method, for [Client.Do].
type Request struct {
	// Method is the API method, such as "alipay.trade.query" (required).
	Method string
	// BizContent is the business parameters: any value encoding/json can
	// marshal (amounts as Amount, never floats), or JSON text as a string,
	// []byte or json.RawMessage. Nil sends no biz_content.
	BizContent any
	// NotifyURL is sent as notify_url when set.
	NotifyURL string
	// AppAuthToken is sent as app_auth_token when set (an ISV calling for a
	// merchant).
	AppAuthToken string
	// Params are further public parameters, signed and sent as given.
	Params map[string]string
	// Encrypt sends biz_content AES-encrypted (encrypt_type=AES); it needs
	// Config.EncryptKey.
	Encrypt bool
}

// Do calls req.Method and decodes the response node into result (a pointer,
// or nil). The response's signature is checked over its raw bytes before
// anything is decoded. A business failure returns an *Error; a failure after
// the request may have reached Alipay wraps ErrOutcomeUnknown (see
// IsUnknown). Nothing is retried: a retry of a money movement must be a
// deliberate decision of the caller, with the same parameters.
func (c *Client) Do(ctx context.Context, req *Request, result any) error {
	body, err := c.doRaw(ctx, req)
	if err != nil {
		return err
	}
	return c.decodeResponse(req.Method, body, result)
}

// doRaw signs and sends req and returns the response body.
func (c *Client) doRaw(ctx context.Context, req *Request) ([]byte, error) {
	if req.Method == "" || strings.ContainsAny(req.Method, " &=") {
		return nil, fmt.Errorf("alipay: Request.Method %q is not an API method name", req.Method)
	}
	content, err := marshalBizContent(req.BizContent)
	if err != nil {
		return nil, err
	}
	var stack [16]param
	ps := c.newParams(stack[:0], req.Method)
	if req.Encrypt {
		if c.aesKey == nil {
			return nil, fmt.Errorf("alipay: %s: Request.Encrypt needs Config.EncryptKey", req.Method)
		}
		if content, err = EncryptContent(c.aesKey, []byte(content)); err != nil {
			return nil, err
		}
		ps = ps.set("encrypt_type", "AES")
	}
	if req.NotifyURL != "" {
		if err := checkCallbackURL(req.Method+": NotifyURL", req.NotifyURL); err != nil {
			return nil, err
		}
		ps = ps.set("notify_url", req.NotifyURL)
	}
	for k, v := range req.Params {
		if k == "sign" || ps.get(k) != "" {
			return nil, fmt.Errorf("alipay: %s: Request.Params may not set %q", req.Method, k)
		}
		ps = ps.set(k, v)
	}
	ps = ps.set("app_auth_token", req.AppAuthToken)
	ps = ps.set("biz_content", content)
	sign, err := c.sign(ps)
	if err != nil {
		return nil, err
	}
	ps = append(ps, param{"sign", sign})

	// As the Java SDK does: the protocol parameters in the query string,
	// biz_content and app_auth_token in the form body.
	var query, form signedParams
	for _, p := range ps {
		if p.key == "biz_content" || p.key == "app_auth_token" {
			form = append(form, p)
		} else {
			query = append(query, p)
		}
	}
	u := string(query.appendQuery(append([]byte(c.gateway), '?')))

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(form.appendQuery(nil))))
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", req.Method, err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	hreq.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w: %w", req.Method, ErrOutcomeUnknown, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w: reading the response: %w", req.Method, ErrOutcomeUnknown, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("alipay: %s: %w: the response is larger than %d bytes", req.Method, ErrOutcomeUnknown, maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alipay: %s: %w: HTTP status %s from the gateway", req.Method, ErrOutcomeUnknown, resp.Status)
	}
	return body, nil
}

// decodeResponse verifies body and decodes the node of method into result.
func (c *Client) decodeResponse(method string, body []byte, result any) error {
	r, err := VerifyResponse(c.alipayKey, c.signType, body, method)
	if err != nil {
		return fmt.Errorf("alipay: %s: %w: %w", method, ErrOutcomeUnknown, trimPrefix(err))
	}
	signed := r.Sign != ""
	if signed && c.CertMode() && r.AlipayCertSN != "" && r.AlipayCertSN != c.alipayCertSN {
		return fmt.Errorf("alipay: %s: %w: the response is signed by the Alipay certificate with SN %s, but Config.AlipayCert has SN %s; download Alipay's current public key certificate from the console",
			method, ErrOutcomeUnknown, r.AlipayCertSN, c.alipayCertSN)
	}
	node := r.Node
	if node[0] == '"' {
		if c.aesKey == nil {
			return fmt.Errorf("alipay: %s: %w: the response is encrypted but Config.EncryptKey is not set", method, ErrOutcomeUnknown)
		}
		cipher, err := jsonStringValue(node)
		if err != nil {
			return fmt.Errorf("alipay: %s: %w: %w", method, ErrOutcomeUnknown, err)
		}
		if node, err = DecryptContent(c.aesKey, cipher); err != nil {
			return fmt.Errorf("alipay: %s: %w: %w", method, ErrOutcomeUnknown, trimPrefix(err))
		}
	}
	st, err := scanStatus(node)
	if err != nil {
		return fmt.Errorf("alipay: %s: %w: %w", method, ErrOutcomeUnknown, trimPrefix(err))
	}
	if st.Code != CodeSuccess {
		st.Method, st.Signed, st.Body = method, signed, body
		return st
	}
	if c.CertMode() && r.AlipayCertSN == "" {
		return fmt.Errorf("alipay: %s: %w: a successful response in certificate mode must carry alipay_cert_sn", method, ErrOutcomeUnknown)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(node, result); err != nil {
		return fmt.Errorf("alipay: %s: %w: decoding the response node: %w", method, ErrOutcomeUnknown, err)
	}
	return nil
}

// scanStatus reads code, msg, sub_code and sub_msg of a node without decoding
// the rest.
func scanStatus(node []byte) (*Error, error) {
	e := new(Error)
	err := scanObject(node, func(key, val []byte) error {
		var dst *string
		switch string(key) {
		case "code":
			dst = &e.Code
		case "msg":
			dst = &e.Msg
		case "sub_code":
			dst = (*string)(&e.SubCode)
		case "sub_msg":
			dst = &e.SubMsg
		default:
			return nil
		}
		s, err := jsonStringValue(val)
		if err != nil {
			return fmt.Errorf("%w: %q is not a string", ErrResponse, key)
		}
		*dst = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	if e.Code == "" {
		return nil, errors.New("alipay: the response node has no code")
	}
	return e, nil
}
