package shop

import "zhifu/payment"

// statusLabel is how a page names an order's or a refund's status.
type statusLabel struct {
	Zh, En string
	// Class is the CSS class of the status badge: "ok", "wait", "off" or
	// "bad".
	Class string
	// Settled reports whether the status will not change by itself: the
	// order page stops asking.
	Settled bool
}

// orderLabel returns the label of an order's status.
func orderLabel(st payment.Status) statusLabel {
	switch st {
	case payment.StatusPending:
		return statusLabel{"待支付", "Waiting for payment", "wait", false}
	case payment.StatusPaid:
		return statusLabel{"已支付", "Paid", "ok", true}
	case payment.StatusPartiallyRefunded:
		return statusLabel{"部分退款", "Partially refunded", "ok", true}
	case payment.StatusRefunded:
		return statusLabel{"已退款", "Refunded", "off", true}
	case payment.StatusClosed:
		return statusLabel{"已关闭（超时未付）", "Closed (not paid in time)", "off", true}
	}
	return statusLabel{"未知状态", "Unknown status " + string(st), "bad", true}
}

// refundLabel returns the label of a refund's status.
func refundLabel(st payment.RefundStatus) statusLabel {
	switch st {
	case payment.RefundPending:
		return statusLabel{"退款处理中", "Refund in progress", "wait", false}
	case payment.RefundUnknown:
		return statusLabel{"退款确认中", "Refund being confirmed", "wait", false}
	case payment.RefundSucceeded:
		return statusLabel{"退款成功", "Refunded", "ok", true}
	case payment.RefundFailed:
		return statusLabel{"退款失败", "Refund failed", "bad", true}
	}
	return statusLabel{"未知状态", "Unknown status " + string(st), "bad", true}
}

// channelLabel names a payment channel.
func channelLabel(c payment.Channel) statusLabel {
	switch c {
	case payment.ChannelPage:
		return statusLabel{Zh: "电脑网站支付", En: "Alipay cashier page"}
	case payment.ChannelWAP:
		return statusLabel{Zh: "手机网站支付", En: "Alipay on a phone"}
	case payment.ChannelPrecreate:
		return statusLabel{Zh: "扫码支付", En: "Scan to pay"}
	}
	return statusLabel{Zh: string(c), En: string(c)}
}
