package sandbox

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"zhifu/alipay"
)

// maxTimestampSkew is how far a request's timestamp may be from the wall
// clock. Alipay's tolerance is UNCONFIRMED; 15 minutes catches the classic
// mistake (a timestamp in UTC instead of Beijing time, 8 hours off) and
// forgives ordinary clock drift.
const maxTimestampSkew = 15 * time.Minute

// call is one verified gateway request.
type call struct {
	r       *http.Request
	params  url.Values // query and body merged
	method  string
	spec    *methodSpec
	app     *App
	biz     bizContent // decoded (and decrypted) biz_content; nil when absent
	aes     bool       // the request was encrypted: so is the answer
	now     time.Time  // the trade clock when the request arrived
	baseURL string
}

// param returns the first value of a public parameter.
func (c *call) param(key string) string { return c.params.Get(key) }

// serveGateway handles /gateway.do.
func (s *Sandbox) serveGateway(w http.ResponseWriter, r *http.Request) {
	c, fail := s.readCall(w, r)
	switch {
	case c.spec != nil && c.spec.page != nil:
		s.servePage(w, c, fail)
	case c.app == nil || c.spec == nil:
		// Without a known app and method Alipay answers an unsigned
		// error_response (as the official SDKs' fixtures show).
		s.log.Debug("sandbox: gateway", "method", c.method, "code", fail.code, "sub_code", fail.subCode)
		writeUnsignedError(w, fail)
	default:
		rep := fail
		if rep == nil {
			rep = s.dispatch(c)
		}
		s.log.Debug("sandbox: gateway", "app_id", c.app.AppID, "method", c.method, "code", rep.code, "sub_code", rep.subCode)
		writeBody(w, s.signReply(c, rep))
	}
}

// readCall decodes and verifies a request. The call it returns has a nil
// app or spec when the request names no known app or method; the reply
// is non-nil when the request fails a check.
func (s *Sandbox) readCall(w http.ResponseWriter, r *http.Request) (*call, *reply) {
	c := &call{r: r, now: s.clock.now(), baseURL: s.baseURL(r)}
	params, dup, fail := readParams(w, r)
	if fail != nil {
		return c, fail
	}
	c.params, c.method = params, params.Get("method")
	if c.method != "" {
		c.spec = s.method[c.method]
	}
	appID := params.Get("app_id")
	switch {
	case appID == "":
		return c, newGatewayError(alipay.CodeMissingArguments, "isv.missing-app-id", "缺少AppID参数")
	case c.method == "":
		return c, newGatewayError(alipay.CodeMissingArguments, "isv.missing-method", "缺少方法名参数")
	case c.spec == nil:
		return c, newGatewayError(alipay.CodeInvalidArguments, string(alipay.SubCodeInvalidMethod), "不存在的方法名")
	}
	if c.app = s.apps.get(appID); c.app == nil {
		return c, newGatewayError(alipay.CodeInvalidArguments, string(alipay.SubCodeInvalidAppID), "无效的AppID参数")
	}
	if dup != "" {
		// UNCONFIRMED: Alipay's rule for a repeated parameter; one report
		// says a second "method" gets isv.suspected-attack.
		return c, newGatewayError(alipay.CodeInvalidArguments, string(alipay.SubCodeSuspectedAttack), "参数 "+dup+" 重复")
	}
	if fail := s.checkCommon(c); fail != nil {
		return c, fail
	}
	if err := alipay.VerifyRequest(c.app.AppPublicKey, params); err != nil {
		return c, invalidSignature(params)
	}
	return c, c.decodeBiz()
}

// readParams form-decodes the query string and the body and merges them.
// dup names a parameter given more than once.
func readParams(w http.ResponseWriter, r *http.Request) (params url.Values, dup string, fail *reply) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", newGatewayError(alipay.CodeInvalidArguments, "isv.invalid-parameter", "请求参数编码错误")
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			// UNCONFIRMED: Alipay's front end probably refuses such a body
			// before the gateway; the sandbox answers in Alipay's shape.
			return nil, "", newGatewayError(alipay.CodeInvalidArguments, "isv.invalid-parameter", "请求体超过 1 MiB")
		}
		return nil, "", newGatewayError(alipay.CodeInvalidArguments, "isv.invalid-parameter", "请求体无法解析")
	}
	for k, vs := range params {
		if len(vs) > 1 && dup == "" {
			dup = k
		}
	}
	for k, vs := range body {
		if _, ok := params[k]; (ok || len(vs) > 1) && dup == "" {
			dup = k
		}
		params[k] = append(params[k], vs...)
	}
	return params, dup, nil
}

// readBody decodes a form body: url-encoded or multipart (text fields
// only). Other bodies carry no parameters.
func readBody(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded", "":
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		return url.ParseQuery(string(b))
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBodyBytes); err != nil {
			return nil, err
		}
		return r.MultipartForm.Value, nil
	}
	return nil, nil
}

// checkCommon checks the public parameters other than the signature.
func (s *Sandbox) checkCommon(c *call) *reply {
	missing := func(sub, msg string) *reply { return newGatewayError(alipay.CodeMissingArguments, sub, msg) }
	invalid := func(sub, msg string) *reply { return newGatewayError(alipay.CodeInvalidArguments, sub, msg) }
	switch {
	case c.param("sign") == "":
		return missing("isv.missing-signature", "缺少签名参数")
	case c.param("sign_type") == "":
		return missing("isv.missing-signature-type", "缺少签名类型参数")
	case c.param("timestamp") == "":
		return missing("isv.missing-timestamp", "缺少时间戳参数")
	case c.param("version") == "":
		return missing("isv.missing-version", "缺少版本参数")
	}
	// A request without charset is taken as UTF-8 (UNCONFIRMED); GBK is
	// out of scope.
	if cs := c.param("charset"); cs != "" && !strings.EqualFold(cs, "utf-8") {
		return invalid("isv.invalid-charset", "字符集错误")
	}
	if st := alipay.SignType(c.param("sign_type")); st != alipay.SignTypeRSA2 && st != alipay.SignTypeRSA {
		return invalid("isv.invalid-signature-type", "无效的签名类型")
	}
	ts, err := alipay.ParseTime(c.param("timestamp"))
	if err != nil {
		return invalid(string(alipay.SubCodeInvalidTimestamp), "非法的时间戳参数")
	}
	if d := s.cfg.Now().Sub(ts); d > maxTimestampSkew || d < -maxTimestampSkew {
		return invalid(string(alipay.SubCodeInvalidTimestamp), "非法的时间戳参数: 与网关时间相差超过 15 分钟（请用北京时间）")
	}
	// UNCONFIRMED: the sub_code of a wrong version.
	if c.param("version") != "1.0" {
		return invalid("isv.invalid-version", "版本号错误")
	}
	if f := c.param("format"); f != "" && !strings.EqualFold(f, "json") {
		return invalid("isv.invalid-format", "无效的数据格式")
	}
	for _, k := range []string{"notify_url", "return_url"} {
		if v := c.param(k); v != "" && !isCallbackURL(v) {
			return invalid("isv.invalid-parameter", k+" 不是合法的 http(s) 地址或超过 256 个字符")
		}
	}
	if c.app.certMode() {
		return checkCertSN(c)
	}
	return nil
}

// checkCertSN checks the certificate serial numbers of a certificate-mode
// request. Seen from Alipay: a wrong app_cert_sn is 40002
// isv.app-cert-not-exist ("应用公钥证书不存在"), a wrong root SN
// isv.invalid-alipay-root-cert-sn. The sub_codes of missing SNs are
// UNCONFIRMED (isv.missing-app-cert-sn appears in public reports); they are
// answered with 40001 like every other missing argument.
func checkCertSN(c *call) *reply {
	switch sn := c.param("app_cert_sn"); {
	case sn == "":
		return newGatewayError(alipay.CodeMissingArguments, "isv.missing-app-cert-sn", "缺少应用公钥证书序列号")
	case sn != c.app.AppCertSN:
		return newGatewayError(alipay.CodeInvalidArguments, "isv.app-cert-not-exist", "应用公钥证书不存在")
	}
	switch sn := c.param("alipay_root_cert_sn"); {
	case sn == "":
		return newGatewayError(alipay.CodeMissingArguments, "isv.missing-alipay-root-cert-sn", "缺少支付宝根证书序列号")
	case sn != c.app.AlipayRootCertSN:
		return newGatewayError(alipay.CodeInvalidArguments, "isv.invalid-alipay-root-cert-sn", "无效支付宝根证书序列号")
	}
	return nil
}

// isCallbackURL reports whether s is an absolute http(s) URL of at most
// 256 characters, what Alipay takes as notify_url and return_url.
func isCallbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 256 && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")
}

// invalidSignature is Alipay's answer to a signature that does not verify:
// the gateway's own string to sign in sub_msg, "&" written as "&amp;"
// (vector query_invalid_signature_error).
func invalidSignature(params url.Values) *reply {
	content := strings.ReplaceAll(alipay.RequestStringToSign(params), "&", "&amp;")
	return newGatewayError(alipay.CodeInvalidArguments, string(alipay.SubCodeInvalidSignature),
		"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+content)
}

// decodeBiz decrypts (encrypt_type=AES) and decodes biz_content.
func (c *call) decodeBiz() *reply {
	content := c.param("biz_content")
	switch et := c.param("encrypt_type"); {
	case et == "":
	case et != "AES":
		return newGatewayError(alipay.CodeInvalidArguments, "isv.invalid-encrypt-type", "无效的加密类型")
	case c.app.aesKey == nil:
		return newGatewayError(alipay.CodeInvalidArguments, "isv.decryption-error-not-valid-encrypt-key", "应用未设置接口内容加密密钥")
	default:
		plain, err := alipay.DecryptContent(c.app.aesKey, content)
		if err != nil {
			return newGatewayError(alipay.CodeInsufficientConds, "isv.decryption-error-unknown", "解密出错，未知异常")
		}
		content, c.aes = string(plain), true
	}
	if content == "" {
		return nil
	}
	biz, fail := parseBiz(content)
	c.biz = biz
	return fail
}

// signReply renders rep as the body of c's answer: the node of c's method
// (encrypted when the request was), signed with the Alipay key in the
// app's sign type, alipay_cert_sn added in certificate mode.
func (s *Sandbox) signReply(c *call, rep *reply) []byte {
	node := rep.marshal()
	if c.aes {
		cipher, err := alipay.EncryptContent(c.app.aesKey, node)
		if err != nil {
			panic("sandbox: encrypting a response: " + err.Error())
		}
		// The encrypted node is a JSON string, "/" escaped like any other
		// (UNCONFIRMED for live Alipay; the signature covers the token as
		// sent, quotes included, as the Java SDK verifies it).
		node = escapeSlashes([]byte(`"` + cipher + `"`))
	}
	body, err := alipay.SignResponse(s.cfg.AlipayPrivateKey, c.app.SignType, c.method, node, c.app.AlipayCertSN)
	if err != nil {
		panic("sandbox: signing a response: " + err.Error())
	}
	return body
}
