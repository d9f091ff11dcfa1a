package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"zhifu/alipay"
)

// ErrBillNotReady: Alipay has no bill of the day yet. A day's bill is
// ready only the next day, at about 09:00–10:00 Beijing time, and today's
// is refused. Try again later; nothing was stored.
var ErrBillNotReady = errors.New("payment: the bill is not ready yet")

// Sub codes of alipay.data.dataservice.bill.downloadurl.query that mean
// "no bill (yet)". Alipay's own table names INVAILID_ARGUMENTS and
// BILL_NOT_EXIST; deployed code sees them with the isv./isp. prefixes.
var billNotThereSubCodes = map[alipay.SubCode]bool{
	"isv.invalid_arguments": true,
	"invalid_arguments":     true,
	"isp.bill_not_exist":    true,
	"bill_not_exist":        true,
}

// DefaultBillReadyWithin is how long after the end of a day a refused
// bill still counts as not ready (ErrBillNotReady) rather than as missing.
const DefaultBillReadyWithin = 48 * time.Hour

// BillReconcilerConfig configures [NewBillReconciler]. Fields without a
// default are required.
type BillReconcilerConfig struct {
	// Store holds the orders and refunds, and keeps the runs (required).
	Store BillStore
	// Alipay fetches the bills (required).
	Alipay *alipay.Client
	// Logger receives a line per run and per difference. Default:
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// ReadyWithin is how long after the end of a day Alipay's refusal of
	// its bill is taken for "not ready yet" (ErrBillNotReady, worth a
	// retry) rather than for a bill that will never come. Default:
	// DefaultBillReadyWithin (48 hours).
	ReadyWithin time.Duration
}

// validate fills in the defaults of c and checks it.
func (c *BillReconcilerConfig) validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if c.Alipay == nil {
		errs = append(errs, errors.New("Alipay is required"))
	}
	if c.ReadyWithin < 0 {
		errs = append(errs, fmt.Errorf("ReadyWithin %v is negative", c.ReadyWithin))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("payment: BillReconcilerConfig: %w", err)
	}
	if c.ReadyWithin == 0 {
		c.ReadyWithin = DefaultBillReadyWithin
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// BillReconciler compares Alipay's daily trade bills with the orders and
// refunds of the database, and stores every difference: the last line of
// defence after notifies, queries and expiry, catching what all of them
// missed (a payment the database holds pending, a refund made by hand in
// Alipay's console, an order marked paid that Alipay never had).
//
// For day D it compares the bill's payments (交易) with the orders whose
// PaidAt (gmt_payment) falls on D in Beijing time, and the bill's refunds
// (退款) with the refunds that succeeded on D (their SettledAt, when the
// database learned it: a refund settled just after midnight, or days later
// by the settling job, shows as missing from the bill of its settling day
// and is found, succeeded, by the bill of its refund day). A bill line
// whose order or refund the database has on another day is looked up and
// compared all the same.
//
// It is safe for concurrent use; runs of one date replace each other
// (see [BillStore]).
type BillReconciler struct {
	cfg BillReconcilerConfig
	log *slog.Logger
}

// NewBillReconciler checks cfg and returns a BillReconciler.
func NewBillReconciler(cfg BillReconcilerConfig) (*BillReconciler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &BillReconciler{cfg: cfg, log: cfg.Logger}, nil
}

// ReconcileBill reconciles the trade bill of date: it asks Alipay for the
// bill's URL (alipay.data.dataservice.bill.downloadurl.query), downloads
// it at once (the URL works once, for 30 seconds), parses it
// ([ParseTradeBill]), compares it with the database and stores the run
// with its differences, replacing an earlier run of the date. The run is
// returned with its Details.
//
// A bill Alipay does not have yet (today's, or yesterday's before about
// 10:00) is an error wrapping ErrBillNotReady, and nothing is stored: a
// missing bill is never taken for a day without payments. Other failures
// (network, a bill that does not parse) store nothing either; retrying is
// harmless.
func (r *BillReconciler) ReconcileBill(ctx context.Context, date BillDate) (*BillRun, error) {
	if date.IsZero() {
		return nil, fmt.Errorf("payment: reconcile bill: no date")
	}
	started := r.cfg.Now()
	if !date.Start().Before(started) {
		return nil, fmt.Errorf("%w: reconcile bill: the day %s has not begun (now %s Beijing time): give a past day", ErrInvalid, date, alipay.FormatTime(started))
	}
	if started.Before(date.End()) {
		return nil, fmt.Errorf("%w: the day %s is not over (now %s Beijing time); its bill is ready the next day at about 10:00",
			ErrBillNotReady, date, alipay.FormatTime(started))
	}
	resp, err := r.cfg.Alipay.DataDataserviceBillDownloadURLQuery(ctx, alipay.DataDataserviceBillDownloadURLQueryRequest{
		BillType: alipay.BillTypeTrade,
		BillDate: date.String(),
	})
	if err != nil {
		var ae *alipay.Error
		if errors.As(err, &ae) && billNotThereSubCodes[ae.SubCode] && started.Before(date.End().Add(r.cfg.ReadyWithin)) {
			return nil, fmt.Errorf("%w: Alipay has no trade bill of %s yet (%s %s); bills are ready the next day at about 10:00 Beijing time: %w",
				ErrBillNotReady, date, ae.SubCode, ae.SubMsg, err)
		}
		return nil, fmt.Errorf("payment: reconcile bill %s: ask for the bill's URL: %w", date, err)
	}
	archive, err := r.cfg.Alipay.DownloadBill(ctx, resp.BillDownloadURL)
	if err != nil {
		return nil, fmt.Errorf("payment: reconcile bill %s: download: %w", date, err)
	}
	return r.reconcile(ctx, date, archive, started)
}

// ReconcileBillArchive reconciles date against a trade bill already
// downloaded (the zip archive, as [alipay.Client.DownloadBill] returns it,
// or as saved from Alipay's merchant console), as ReconcileBill does after
// the download.
func (r *BillReconciler) ReconcileBillArchive(ctx context.Context, date BillDate, archive []byte) (*BillRun, error) {
	if date.IsZero() {
		return nil, fmt.Errorf("payment: reconcile bill: no date")
	}
	return r.reconcile(ctx, date, archive, r.cfg.Now())
}

// reconcile parses, compares and stores.
func (r *BillReconciler) reconcile(ctx context.Context, date BillDate, archive []byte, started time.Time) (*BillRun, error) {
	bill, err := ParseTradeBill(archive)
	if err != nil {
		return nil, fmt.Errorf("payment: reconcile bill %s: %w", date, err)
	}
	if !bill.Start.IsZero() && (!bill.Start.Equal(date.Start()) || !bill.End.Equal(date.End())) {
		return nil, fmt.Errorf("payment: reconcile bill %s: %w: the bill covers %s to %s, not the day %s",
			date, ErrBadBill, bill.Start.Format(time.DateTime), bill.End.Format(time.DateTime), date)
	}
	run := &BillRun{Date: date, StartedAt: started, Differences: map[BillDiffKind]int{}}
	if err := compareBill(ctx, r.cfg.Store, bill, run); err != nil {
		return nil, err
	}
	run.FinishedAt = r.cfg.Now()
	if err := r.cfg.Store.SaveBillRun(ctx, run); err != nil {
		return nil, fmt.Errorf("payment: reconcile bill %s: save: %w", date, err)
	}
	for _, d := range run.Details {
		r.log.WarnContext(ctx, "payment: bill difference", "bill_date", date.String(), "kind", string(d.Kind),
			"line_kind", string(d.LineKind), "out_trade_no", d.OutTradeNo, "out_request_no", d.OutRequestNo,
			"bill_line", d.BillLine, "detail", d.Detail)
	}
	r.log.InfoContext(ctx, "payment: bill reconciled", "bill_date", date.String(), "status", string(run.Status),
		"bill_payments", run.BillPayments, "bill_refunds", run.BillRefunds, "matched", run.Matched,
		"differences", run.Count())
	return run, nil
}

// GetBillRun returns the stored run of date, with all its Details, or an
// error wrapping ErrNotFound: what `zhifu reconcile` prints and the admin
// page of a day shows.
func (r *BillReconciler) GetBillRun(ctx context.Context, date BillDate) (*BillRun, error) {
	run, err := r.cfg.Store.GetBillRun(ctx, date)
	if err != nil {
		return nil, fmt.Errorf("payment: get bill run %s: %w", date, err)
	}
	for after := 0; ; {
		ds, err := r.cfg.Store.ListBillDifferences(ctx, BillDifferenceFilter{Date: date, AfterSeq: after, Limit: MaxPageSize})
		if err != nil {
			return nil, fmt.Errorf("payment: get bill run %s: %w", date, err)
		}
		run.Details = append(run.Details, ds...)
		if len(ds) < MaxPageSize {
			return run, nil
		}
		after = ds[len(ds)-1].Seq
	}
}

// RecentDifferences returns at most limit differences (see PageSize) of
// the stored runs, latest bill date first and in their order within a
// run: the admin pages' list of what needs a look.
func (r *BillReconciler) RecentDifferences(ctx context.Context, limit int) ([]BillDifference, error) {
	limit = PageSize(limit)
	var out []BillDifference
	for before := (BillDate{}); len(out) < limit; {
		runs, err := r.cfg.Store.ListBillRuns(ctx, BillRunFilter{Before: before, Limit: DefaultPageSize})
		if err != nil {
			return nil, fmt.Errorf("payment: recent bill differences: %w", err)
		}
		for _, run := range runs {
			for after := 0; run.Count() > 0 && len(out) < limit; {
				ds, err := r.cfg.Store.ListBillDifferences(ctx, BillDifferenceFilter{Date: run.Date, AfterSeq: after, Limit: limit - len(out)})
				if err != nil {
					return nil, fmt.Errorf("payment: recent bill differences: %w", err)
				}
				out = append(out, ds...)
				if len(ds) == 0 {
					break
				}
				after = ds[len(ds)-1].Seq
			}
		}
		if len(runs) < DefaultPageSize {
			break
		}
		before = runs[len(runs)-1].Date
	}
	return out, nil
}
