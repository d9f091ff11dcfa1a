package cli

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zhifu/internal/httpapi"
	"zhifu/payment"
)

// queueDepth counts River's jobs by state, for the metrics.
func (db *database) queueDepth(ctx context.Context) (map[string]int, error) {
	const query = `SELECT state, count(*) FROM %s GROUP BY state`
	if db.postgres != nil {
		table := "river_job"
		if db.schema != "" {
			table = pgx.Identifier{db.schema, "river_job"}.Sanitize()
		}
		rows, err := db.postgres.Pool().Query(ctx, fmt.Sprintf(query, table))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return countRows(rows.Next, rows.Scan, rows.Err)
	}
	rows, err := db.sqlite.DB().QueryContext(ctx, fmt.Sprintf(query, "river_job"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return countRows(rows.Next, rows.Scan, rows.Err)
}

// countRows reads rows of (name, count) into a map, through the methods
// of a database/sql or a pgx result.
func countRows(next func() bool, scan func(...any) error, done func() error) (map[string]int, error) {
	counts := make(map[string]int)
	for next() {
		var name string
		var n int
		if err := scan(&name, &n); err != nil {
			return nil, err
		}
		counts[name] = n
	}
	return counts, done()
}

// billDifferences counts the differences of the latest bill
// reconciliation by kind, for the metrics: none before the first.
func (a *app) billDifferences(ctx context.Context) (map[string]int, error) {
	runs, err := a.db.store.ListBillRuns(ctx, payment.BillRunFilter{Limit: 1})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	counts := make(map[string]int, len(payment.BillDiffKinds()))
	for _, k := range payment.BillDiffKinds() {
		counts[string(k)] = runs[0].Differences[k]
	}
	return counts, nil
}

// adminBills shows the bill reconciler's differences on the admin pages.
type adminBills struct{ r *payment.BillReconciler }

// ListBillDifferences implements httpapi.AdminBillLister.
func (b adminBills) ListBillDifferences(ctx context.Context, limit int) ([]httpapi.AdminBillDifference, error) {
	diffs, err := b.r.RecentDifferences(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.AdminBillDifference, len(diffs))
	for i, d := range diffs {
		out[i] = httpapi.AdminBillDifference{
			BillDate: d.Date.Start(), Kind: string(d.Kind), OutTradeNo: d.OutTradeNo, TradeNo: d.TradeNo,
			OrderID: d.OrderID, OutRequestNo: d.OutRequestNo, LocalAmount: d.DBAmount, BillAmount: d.BillAmount,
			Detail: d.Detail, FoundAt: d.FoundAt,
		}
	}
	return out, nil
}
