package alipay

import (
	"errors"
	"fmt"
)

// Gateway codes of the code field of every response node.
const (
	CodeSuccess             = "10000" // the call succeeded
	CodePaying              = "10003" // alipay.trade.pay: order created, the buyer is still confirming
	CodeUnknownError        = "20000" // service unavailable: outcome unknown, query before retrying money moves
	CodeInsufficientToken   = "20001" // auth token missing, invalid or expired
	CodeMissingArguments    = "40001" // a required argument is missing
	CodeInvalidArguments    = "40002" // an argument is invalid (including the signature)
	CodeInsufficientConds   = "40003" // conditions not met (app state, decryption)
	CodeBusinessFailed      = "40004" // a business rule refused the call: see the ACQ.* sub code
	CodeCallLimited         = "40005" // call rate limited
	CodeInsufficientPermits = "40006" // the app lacks permission for the method
)

// Error is a failure answered by Alipay: a response whose code is not
// 10000, with its sub code and messages. It is reached with errors.As, and
// errors.Is matches it against a [SubCode] (errors.Is(err, SubCodeTradeNotExist)).
type Error struct {
	// Method is the API method called, such as "alipay.trade.query".
	Method string
	// Code is the gateway code, such as "40004".
	Code string
	// Msg is the gateway message, such as "Business Failed".
	Msg string
	// SubCode is the detailed code, such as "ACQ.TRADE_NOT_EXIST".
	SubCode SubCode
	// SubMsg is the detailed message, often in Chinese.
	SubMsg string
	// Signed reports whether the answer carried a valid Alipay signature.
	// Only gateway-level errors (the error_response node) are accepted
	// unsigned; a business failure is always signed.
	Signed bool
	// Body is the raw response body.
	Body []byte
}

// Error returns a one-line description of the failure.
func (e *Error) Error() string {
	if e.SubCode != "" {
		return fmt.Sprintf("alipay: %s: %s %s: %s (%s)", e.Method, e.Code, e.Msg, e.SubCode, e.SubMsg)
	}
	return fmt.Sprintf("alipay: %s: %s %s", e.Method, e.Code, e.Msg)
}

// Is reports whether target is the SubCode of e, so that
// errors.Is(err, alipay.SubCodeTradeNotExist) works through wrapping.
func (e *Error) Is(target error) bool {
	sc, ok := target.(SubCode)
	return ok && sc == e.SubCode
}

// Unknown reports whether the outcome of the call is unknown: Alipay had a
// system error (code 20000, or sub code ACQ.SYSTEM_ERROR) and the operation may
// or may not have taken effect. Query before trying again, and retry a money
// movement only with the same parameters (the same out_trade_no or
// out_request_no).
func (e *Error) Unknown() bool {
	return e.Code == CodeUnknownError || e.SubCode == SubCodeSystemError ||
		e.SubCode == "isp.unknow-error" || e.SubCode == "aop.unknow-error"
}

// SubCode is a detailed error code of Alipay (sub_code). It is an error so
// that callers can branch with errors.Is(err, alipay.SubCodeTradeNotExist).
type SubCode string

// Error returns the sub code itself.
func (s SubCode) Error() string { return string(s) }

// Sub codes that callers branch on. The list is not exhaustive: any sub code
// Alipay answers is kept in [Error.SubCode].
const (
	SubCodeSystemError             SubCode = "ACQ.SYSTEM_ERROR"               // system busy: retry with the same parameters
	SubCodeInvalidParameter        SubCode = "ACQ.INVALID_PARAMETER"          // a business parameter is invalid
	SubCodeTradeNotExist           SubCode = "ACQ.TRADE_NOT_EXIST"            // no such trade (or the buyer has not opened the cashier yet)
	SubCodeTradeHasSuccess         SubCode = "ACQ.TRADE_HAS_SUCCESS"          // the trade is already paid
	SubCodeTradeHasClose           SubCode = "ACQ.TRADE_HAS_CLOSE"            // the trade is closed
	SubCodeTradeHasFinished        SubCode = "ACQ.TRADE_HAS_FINISHED"         // the trade is finished: no more refunds
	SubCodeTradeStatusError        SubCode = "ACQ.TRADE_STATUS_ERROR"         // the trade's status does not allow this
	SubCodeContextInconsistent     SubCode = "ACQ.CONTEXT_INCONSISTENT"       // same out_trade_no, different content
	SubCodeDupOutOrder             SubCode = "ACQ.DUP_OUT_ORDER"              // out_trade_no reused with other parameters
	SubCodeTotalFeeExceed          SubCode = "ACQ.TOTAL_FEE_EXCEED"           // amount out of range
	SubCodeBuyerBalanceNotEnough   SubCode = "ACQ.BUYER_BALANCE_NOT_ENOUGH"   // the buyer cannot pay
	SubCodePaymentAuthCodeInvalid  SubCode = "ACQ.PAYMENT_AUTH_CODE_INVALID"  // trade.pay: bad buyer code
	SubCodeRefundAmountExceeded    SubCode = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" // refund above what is refundable
	SubCodeDiscordantRepeatRequest SubCode = "ACQ.DISCORDANT_REPEAT_REQUEST"  // out_request_no reused with other parameters
	SubCodeTradeNotAllowRefund     SubCode = "ACQ.TRADE_NOT_ALLOW_REFUND"     // the trade cannot be refunded
	SubCodeSellerBalanceNotEnough  SubCode = "ACQ.SELLER_BALANCE_NOT_ENOUGH"  // the merchant's balance cannot cover the refund
	SubCodeInvalidSignature        SubCode = "isv.invalid-signature"          // the gateway rejected our signature
	SubCodeInvalidAppID            SubCode = "isv.invalid-app-id"             // unknown app id (wrong gateway or app?)
	SubCodeMissingSignatureConfig  SubCode = "isv.missing-signature-config"   // no key uploaded for this app
	SubCodeInvalidTimestamp        SubCode = "isv.invalid-timestamp"          // timestamp malformed or too far off
	SubCodeSuspectedAttack         SubCode = "isv.suspected-attack"           // duplicated parameters
	SubCodeInvalidMethod           SubCode = "isv.invalid-method"             // no such method
)

// IsTradeNotExist reports whether err says the trade does not exist. For a
// page or wap payment that is also the answer before the buyer has opened
// the cashier: not an error state.
func IsTradeNotExist(err error) bool { return errors.Is(err, SubCodeTradeNotExist) }

// ErrOutcomeUnknown is wrapped by every failure that happened after a
// request may have reached Alipay without a trustworthy answer coming back: a
// timeout, a network failure, a response that is unreadable or fails its
// signature check. The call may or may not have taken effect.
var ErrOutcomeUnknown = errors.New("outcome unknown")

// IsUnknown reports whether err leaves the outcome of a call unknown: an
// Alipay system error, or [ErrOutcomeUnknown]. Such a call must be settled by
// a query (or retried with the very same parameters), never taken as failed.
// A request that was refused before it was sent (bad input) is not unknown.
func IsUnknown(err error) bool {
	if errors.Is(err, ErrOutcomeUnknown) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Unknown()
}
