package payment

import (
	"context"
	"fmt"
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
