package payment

import (
	"context"
	"fmt"
	"log/slog"
)

// JobRunner returns what the durable jobs call to run on s: its Reconcile,
// Expire and SettleRefund, with an unsettled refund reported as an error
// so that the job backs off and tries again.
func (s *Service) JobRunner() JobRunner { return serviceRunner{s} }

// serviceRunner adapts a Service to JobRunner.
type serviceRunner struct{ s *Service }

func (r serviceRunner) Reconcile(ctx context.Context, orderID string) error {
	_, err := r.s.Reconcile(ctx, orderID)
	return err
}

func (r serviceRunner) Expire(ctx context.Context, orderID string) error {
	_, err := r.s.Expire(ctx, orderID)
	return err
}

func (r serviceRunner) SettleRefund(ctx context.Context, refundID string) error {
	rf, err := r.s.SettleRefund(ctx, refundID)
	if err != nil {
		return err
	}
	if !rf.Status.Final() {
		return fmt.Errorf("payment: refund %s (out_request_no %s) is still %s at Alipay", rf.ID, rf.OutRequestNo, rf.Status)
	}
	return nil
}

func (r serviceRunner) RefundPaidAfterClose(ctx context.Context, orderID string) error {
	o, err := r.s.GetOrder(ctx, orderID)
	if err != nil {
		return err
	}
	_, err = r.s.refundPaidAfterClose(ctx, o)
	return err
}

// scheduleOrder schedules the jobs of the new order o, if the Service
// has Jobs. A failure is logged and ignored: the jobs' sweep schedules
// what is missing.
func (s *Service) scheduleOrder(ctx context.Context, o *Order) {
	if s.jobs == nil {
		return
	}
	if err := s.jobs.ScheduleOrder(ctx, o); err != nil {
		s.orderLog(o).Warn("payment: scheduling the order's jobs failed; the sweep will schedule them", "error", err)
	}
}

// scheduleRefundSettlement schedules the settling of the unsettled
// refund r after JobsConfig.RefundSettleAfter, if the Service has Jobs
// (log is r's order's). A failure is logged and ignored: the jobs' sweep
// settles unsettled refunds.
func (s *Service) scheduleRefundSettlement(ctx context.Context, log *slog.Logger, r *Refund) {
	if s.jobs == nil {
		return
	}
	if err := s.jobs.ScheduleRefundSettlement(ctx, r.ID, s.jobs.cfg.RefundSettleAfter); err != nil {
		log.Warn("payment: scheduling the settling of a refund failed; the sweep will settle it",
			"refund_id", r.ID, "out_request_no", r.OutRequestNo, "error", err)
	}
}
