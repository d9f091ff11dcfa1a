package alipay

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// This file holds what the trade methods (alipay.trade.*) share: how a
// request names an existing trade, the limits of the fields several of them
// carry, the check that an answer is about the trade asked for, and the
// fund_bill_list of responses.

// userIDPattern matches an Alipay user id (buyer_id, seller_id): 2088 and
// twelve more digits.
var userIDPattern = regexp.MustCompile(`^2088[0-9]{12}$`)

// Field limits of §12 of the protocol notes, in characters.
const (
	maxOutRequestNo = 64
	maxRefundReason = 256
	maxOperatorID   = 30
	maxStoreID      = 32
	maxTerminalID   = 32
	minTradeNo      = 16
	maxTradeNo      = 64
)

// checkTradeRef checks how a request names an existing trade: by the
// merchant's OutTradeNo, by Alipay's TradeNo, or by both (Alipay then goes by
// TradeNo).
func checkTradeRef(method, outTradeNo, tradeNo string) error {
	if outTradeNo == "" && tradeNo == "" {
		return fmt.Errorf("alipay: %s: OutTradeNo and TradeNo are both empty; set one of them to name the trade", method)
	}
	if outTradeNo != "" {
		if err := CheckOutTradeNo(outTradeNo); err != nil {
			return fmt.Errorf("alipay: %s: %w", method, trimPrefix(err))
		}
	}
	if tradeNo != "" {
		if err := checkID("TradeNo", tradeNo, minTradeNo, maxTradeNo); err != nil {
			return fmt.Errorf("alipay: %s: %w", method, err)
		}
	}
	return nil
}

// checkID checks an identifier such as trade_no or out_request_no: min to
// max printable ASCII characters, no spaces. Anything else is a mistake
// (often white space pasted along) that would make Alipay look for another
// trade or refund.
func checkID(field, s string, min, max int) error {
	if n := len(s); n < min || n > max {
		return fmt.Errorf("%s is %d characters long; Alipay takes %d to %d", field, n, min, max)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%s %q has %s; only printable ASCII without spaces", field, s, describeByte(s, i))
		}
	}
	return nil
}

// checkMaxLen checks that the text field holds valid UTF-8 of at most max
// characters.
func checkMaxLen(method, field, s string, max int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("alipay: %s: %s is not valid UTF-8", method, field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("alipay: %s: %s has %d characters; Alipay accepts at most %d", method, field, n, max)
	}
	return nil
}

// checkStoreFields checks the operator, store and terminal ids that the
// face-to-face and refund methods carry.
func checkStoreFields(method, operatorID, storeID, terminalID string) error {
	if err := checkMaxLen(method, "OperatorID", operatorID, maxOperatorID); err != nil {
		return err
	}
	if err := checkMaxLen(method, "StoreID", storeID, maxStoreID); err != nil {
		return err
	}
	return checkMaxLen(method, "TerminalID", terminalID, maxTerminalID)
}

// checkTimeExpire checks an absolute time_expire against now: Alipay takes
// one minute to 15 days ahead.
func checkTimeExpire(method string, t Time, now time.Time) error {
	if t.IsZero() {
		return nil
	}
	switch d := t.Sub(now); {
	case d < time.Minute:
		return fmt.Errorf("alipay: %s: TimeExpire %s is less than a minute from now (%s); Alipay takes 1 minute to 15 days ahead",
			method, FormatTime(t.Time), FormatTime(now))
	case d > 15*24*time.Hour:
		return fmt.Errorf("alipay: %s: TimeExpire %s is more than 15 days from now (%s); Alipay takes 1 minute to 15 days ahead",
			method, FormatTime(t.Time), FormatTime(now))
	}
	return nil
}

// checkTimeExpire checks t against the client's clock, which it reads only
// when t is set.
func (c *Client) checkTimeExpire(method string, t Time) error {
	if t.IsZero() {
		return nil
	}
	return checkTimeExpire(method, t, c.now())
}

// checkFaceToFace checks what precreate, create and pay share besides the
// payment fields.
func checkFaceToFace(method, operatorID, storeID, terminalID string, expire Time, now time.Time) error {
	if err := checkStoreFields(method, operatorID, storeID, terminalID); err != nil {
		return err
	}
	return checkTimeExpire(method, expire, now)
}

// checkEcho makes sure an answer is about the trade the request named:
// Alipay echoes out_trade_no and trade_no, and an answer about another trade
// must never be acted on. A mismatch wraps ErrOutcomeUnknown, since what
// happened to the trade asked for is then unknown.
func checkEcho(method, wantOutTradeNo, wantTradeNo, gotOutTradeNo, gotTradeNo string) error {
	if wantOutTradeNo != "" && gotOutTradeNo != "" && gotOutTradeNo != wantOutTradeNo {
		return fmt.Errorf("alipay: %s: %w: the answer is about out_trade_no %q, not %q", method, ErrOutcomeUnknown, gotOutTradeNo, wantOutTradeNo)
	}
	if wantTradeNo != "" && gotTradeNo != "" && gotTradeNo != wantTradeNo {
		return fmt.Errorf("alipay: %s: %w: the answer is about trade_no %q, not %q", method, ErrOutcomeUnknown, gotTradeNo, wantTradeNo)
	}
	return nil
}

// UnmarshalJSON reads a fund_bill_list entry in either spelling: API
// responses write its keys in snake_case (fund_channel, real_amount),
// notifies in camelCase (fundChannel, realAmount), which is also how
// FundBill marshals, so a marshaled value reads back the same.
func (b *FundBill) UnmarshalJSON(data []byte) error {
	var raw struct {
		FundChannel      string  `json:"fund_channel"`
		FundChannelCamel string  `json:"fundChannel"`
		Amount           Amount  `json:"amount"`
		RealAmount       *Amount `json:"real_amount"`
		RealAmountCamel  *Amount `json:"realAmount"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("alipay: fund_bill_list: %w", trimPrefix(err))
	}
	*b = FundBill{FundChannel: cmp.Or(raw.FundChannel, raw.FundChannelCamel), Amount: raw.Amount}
	if real := cmp.Or(raw.RealAmount, raw.RealAmountCamel); real != nil {
		b.RealAmount = *real
	}
	return nil
}
