package payment

import (
	"context"
	"errors"
	"fmt"

	"zhifu/alipay"
)

// billKey names a refund in a bill and in the database: its order's
// out_trade_no and its out_request_no.
type billKey struct{ outTradeNo, outRequestNo string }

// billComparison is the state of comparing one bill with the database.
type billComparison struct {
	store   BillStore
	run     *BillRun
	paid    map[string]*Order          // orders paid on the day, by out_trade_no, until a line matches them
	paidSeq []string                   // their out_trade_nos in PaidAt order
	refunds map[billKey]*SettledRefund // refunds succeeded on the day, until a line matches them
	refSeq  []billKey                  // their keys in SettledAt order
	seen    map[billKey]bool           // lines already compared (out_request_no "" for a payment)
}

// compareBill compares bill, the trade bill of run.Date, with the orders
// and refunds of the store, and fills in run's counts and Details.
func compareBill(ctx context.Context, store BillStore, bill *TradeBill, run *BillRun) error {
	c := &billComparison{
		store: store, run: run,
		paid: map[string]*Order{}, refunds: map[billKey]*SettledRefund{}, seen: map[billKey]bool{},
	}
	if err := c.load(ctx); err != nil {
		return err
	}
	run.DBPayments, run.DBRefunds = len(c.paid), len(c.refunds)
	for i := range bill.Lines {
		l := &bill.Lines[i]
		var err error
		if l.Kind == BillLinePayment {
			run.BillPayments++
			run.BillPaid += l.Amount
			err = c.payment(ctx, l)
		} else {
			run.BillRefunds++
			run.BillRefunded += l.Amount
			err = c.refund(ctx, l)
		}
		if err != nil {
			return err
		}
	}
	for _, no := range c.paidSeq {
		if o := c.paid[no]; o != nil {
			c.diff(BillDifference{Kind: BillDiffMissingInBill, LineKind: BillLinePayment, OutTradeNo: o.OutTradeNo,
				TradeNo: o.TradeNo, OrderID: o.ID, DBAmount: o.PaidAmount, DBStatus: string(o.Status),
				Detail: fmt.Sprintf("the database has the order paid at %s; the bill has no payment of it", alipay.FormatTime(o.PaidAt))})
		}
	}
	for _, k := range c.refSeq {
		if r := c.refunds[k]; r != nil {
			c.diff(BillDifference{Kind: BillDiffMissingInBill, LineKind: BillLineRefund, OutTradeNo: r.OutTradeNo,
				TradeNo: r.TradeNo, OutRequestNo: r.OutRequestNo, OrderID: r.OrderID, RefundID: r.ID,
				DBAmount: r.Amount, DBStatus: string(r.Status),
				Detail: fmt.Sprintf("the database has the refund succeeded at %s; the bill has no refund of it", alipay.FormatTime(r.SettledAt))})
		}
	}
	run.Status = BillRunMatched
	if len(run.Details) > 0 {
		run.Status = BillRunDifferences
	}
	return nil
}

// load reads the orders paid and the refunds succeeded on the day.
func (c *billComparison) load(ctx context.Context) error {
	from, to := c.run.Date.Start(), c.run.Date.End()
	for cursor := ""; ; {
		page, err := c.store.ListPaidOrders(ctx, PaidOrderFilter{PaidFrom: from, PaidTo: to, Cursor: cursor, Limit: MaxPageSize})
		if err != nil {
			return fmt.Errorf("payment: bill %s: list paid orders: %w", c.run.Date, err)
		}
		for i := range page.Orders {
			o := &page.Orders[i]
			c.paid[o.OutTradeNo] = o
			c.paidSeq = append(c.paidSeq, o.OutTradeNo)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	for cursor := ""; ; {
		page, err := c.store.ListSettledRefunds(ctx, SettledRefundFilter{SettledFrom: from, SettledTo: to, Cursor: cursor, Limit: MaxPageSize})
		if err != nil {
			return fmt.Errorf("payment: bill %s: list settled refunds: %w", c.run.Date, err)
		}
		for i := range page.Refunds {
			r := &page.Refunds[i]
			k := billKey{r.OutTradeNo, r.OutRequestNo}
			c.refunds[k] = r
			c.refSeq = append(c.refSeq, k)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	return nil
}

// diff records a difference.
func (c *billComparison) diff(d BillDifference) {
	d.Date = c.run.Date
	d.Seq = len(c.run.Details) + 1
	if c.run.Differences == nil {
		c.run.Differences = map[BillDiffKind]int{}
	}
	c.run.Differences[d.Kind]++
	c.run.Details = append(c.run.Details, d)
}

// lineDiff returns a difference about bill line l.
func lineDiff(kind BillDiffKind, l *BillLine, detail string) BillDifference {
	return BillDifference{Kind: kind, LineKind: l.Kind, OutTradeNo: l.OutTradeNo, TradeNo: l.TradeNo,
		OutRequestNo: l.OutRequestNo, BillAmount: l.Amount, BillLine: l.Line, Detail: detail}
}

// payment compares a payment line.
func (c *billComparison) payment(ctx context.Context, l *BillLine) error {
	k := billKey{outTradeNo: l.OutTradeNo}
	if c.seen[k] {
		c.diff(lineDiff(BillDiffMissingInDB, l, "the bill has a second payment of this out_trade_no; the database has one order for it"))
		return nil
	}
	c.seen[k] = true
	o := c.paid[l.OutTradeNo]
	if o != nil {
		c.paid[l.OutTradeNo] = nil
	} else {
		var err error
		o, err = c.store.GetOrderByOutTradeNo(ctx, l.OutTradeNo)
		if errors.Is(err, ErrNotFound) {
			c.diff(lineDiff(BillDiffMissingInDB, l, "the bill has a payment of an out_trade_no the database does not know"))
			return nil
		}
		if err != nil {
			return fmt.Errorf("payment: bill %s line %d: %w", c.run.Date, l.Line, err)
		}
		if !o.Status.Paid() {
			d := lineDiff(BillDiffStatus, l, fmt.Sprintf("the bill has the order paid; the database has it %s", o.Status))
			d.OrderID, d.DBAmount, d.DBStatus = o.ID, o.PaidAmount, string(o.Status)
			c.diff(d)
			return nil
		}
		// Paid, at a time the database puts on another day: the payment
		// is known, and compared like the others.
	}
	switch {
	case o.PaidAmount != l.Amount:
		d := lineDiff(BillDiffAmount, l, fmt.Sprintf("the bill has %v paid; the database has %v", l.Amount, o.PaidAmount))
		d.OrderID, d.DBAmount, d.DBStatus = o.ID, o.PaidAmount, string(o.Status)
		c.diff(d)
	case o.TradeNo != "" && o.TradeNo != l.TradeNo:
		d := lineDiff(BillDiffTradeNo, l, fmt.Sprintf("the bill has trade_no %s; the database has %s", l.TradeNo, o.TradeNo))
		d.OrderID, d.DBAmount, d.DBStatus = o.ID, o.PaidAmount, string(o.Status)
		c.diff(d)
	default:
		c.run.Matched++
	}
	return nil
}

// refund compares a refund line.
func (c *billComparison) refund(ctx context.Context, l *BillLine) error {
	k := billKey{l.OutTradeNo, l.OutRequestNo}
	if c.seen[k] {
		c.diff(lineDiff(BillDiffMissingInDB, l, "the bill has a second refund of this out_request_no; the database has one refund for it"))
		return nil
	}
	c.seen[k] = true
	r := c.refunds[k]
	if r != nil {
		c.refunds[k] = nil
	} else {
		o, err := c.store.GetOrderByOutTradeNo(ctx, l.OutTradeNo)
		if errors.Is(err, ErrNotFound) {
			c.diff(lineDiff(BillDiffMissingInDB, l, "the bill has a refund of an out_trade_no the database does not know"))
			return nil
		}
		if err != nil {
			return fmt.Errorf("payment: bill %s line %d: %w", c.run.Date, l.Line, err)
		}
		rf, err := c.store.GetRefundByOutRequestNo(ctx, o.ID, l.OutRequestNo)
		if errors.Is(err, ErrNotFound) {
			d := lineDiff(BillDiffMissingInDB, l, "the bill has a refund whose out_request_no the database does not know for the order")
			d.OrderID = o.ID
			c.diff(d)
			return nil
		}
		if err != nil {
			return fmt.Errorf("payment: bill %s line %d: %w", c.run.Date, l.Line, err)
		}
		r = &SettledRefund{Refund: *rf, OutTradeNo: o.OutTradeNo, TradeNo: o.TradeNo}
		if r.Status != RefundSucceeded {
			d := lineDiff(BillDiffStatus, l, fmt.Sprintf("the bill has the refund done; the database has it %s", r.Status))
			d.OrderID, d.RefundID, d.DBAmount, d.DBStatus = r.OrderID, r.ID, r.Amount, string(r.Status)
			c.diff(d)
			return nil
		}
	}
	if r.Amount != l.Amount {
		d := lineDiff(BillDiffAmount, l, fmt.Sprintf("the bill has %v refunded; the database has %v", l.Amount, r.Amount))
		d.OrderID, d.RefundID, d.DBAmount, d.DBStatus = r.OrderID, r.ID, r.Amount, string(r.Status)
		c.diff(d)
		return nil
	}
	c.run.Matched++
	return nil
}
