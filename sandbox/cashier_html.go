package sandbox

import (
	"html/template"
	"net/http"
)

// The pages of the buyer's browser. They are plain on purpose: phase 2
// replaces the cashier with a richer one.
var pageTemplates = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} - zhifu sandbox</title>
<style>body{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}
.amount{font-size:2em;margin:.5em 0} dt{color:#666} button{font-size:1.1em;padding:.4em 1.4em;margin-right:.6em}</style>
</head><body><p><small>zhifu sandbox — not Alipay, no real money</small></p>{{end}}

{{define "cashier"}}{{template "head" "收银台 Cashier"}}
<h1>{{.Trade.Subject}}</h1>
<p class="amount" id="amount">¥{{.Trade.TotalAmount}}</p>
<dl>
<dt>商户 Merchant app</dt><dd id="app-id">{{.Trade.AppID}}</dd>
<dt>商户订单号 Order</dt><dd id="out-trade-no">{{.Trade.OutTradeNo}}</dd>
<dt>交易号 Trade</dt><dd id="trade-no">{{.Trade.TradeNo}}</dd>
<dt>状态 Status</dt><dd id="trade-status">{{.Trade.Status}}</dd>
</dl>
<form method="post" action="{{.Token}}/pay"><button type="submit" id="pay">Pay 付款</button></form>
<form method="post" action="{{.Token}}/cancel"><button type="submit" id="cancel">Cancel 取消</button></form>
</body></html>{{end}}

{{define "paid"}}{{template "head" "支付成功 Paid"}}
<h1>支付成功 Paid</h1>
<p id="amount">¥{{.TotalAmount}}</p><p id="trade-no">{{.TradeNo}}</p><p id="trade-status">{{.Status}}</p>
</body></html>{{end}}

{{define "left"}}{{template "head" "已离开 Left"}}
<h1>未付款 Not paid</h1>
<p>The trade <span id="trade-no">{{.TradeNo}}</span> stays <span id="trade-status">{{.Status}}</span> until it expires or the merchant closes it.</p>
</body></html>{{end}}

{{define "error"}}{{template "head" "错误 Error"}}
<h1>支付请求出错 Payment request failed</h1>
<dl><dt>code</dt><dd id="code">{{.Code}}</dd><dt>msg</dt><dd id="msg">{{.Msg}}</dd>
<dt>sub_code</dt><dd id="sub-code">{{.SubCode}}</dd><dt>sub_msg</dt><dd id="sub-msg">{{.SubMsg}}</dd></dl>
</body></html>{{end}}
`))

// render writes the named page.
func render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplates.ExecuteTemplate(w, name, data); err != nil {
		panic("sandbox: rendering " + name + ": " + err.Error())
	}
}

func renderCashier(w http.ResponseWriter, token string, t TradeSnapshot) {
	render(w, http.StatusOK, "cashier", struct {
		Token string
		Trade TradeSnapshot
	}{token, t})
}

func renderPaid(w http.ResponseWriter, t TradeSnapshot) { render(w, http.StatusOK, "paid", t) }

func renderLeft(w http.ResponseWriter, t TradeSnapshot) { render(w, http.StatusOK, "left", t) }

func renderError(w http.ResponseWriter, status int, r *reply) {
	render(w, status, "error", struct{ Code, Msg, SubCode, SubMsg string }{r.code, r.msg, r.subCode, r.subMsg})
}

func renderNotFound(w http.ResponseWriter) {
	renderError(w, http.StatusNotFound, bizError("ACQ.TRADE_NOT_EXIST", "收银台链接不存在或已失效"))
}
