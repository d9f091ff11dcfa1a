package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// TestReadsDoNotWaitForTheWriter holds a write transaction open (as a
// batch of the commit queue waiting for its fsync would) and reads an
// order meanwhile: the read goes over the read-only pool and sees the last
// commit, without waiting for the writer's connection. And the pool cannot
// write.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	o := &payment.Order{ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: "read pool", Amount: 100, Channel: payment.ChannelPage}
	if err := s.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}

	inside, release := make(chan struct{}), make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		wrote <- s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE payment_orders SET subject = 'changed' WHERE id = ?`, o.ID); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	got, err := s.GetOrder(rctx, o.ID)
	cancel()
	if err != nil {
		t.Fatalf("GetOrder while a write transaction is open: %v (the read waited for the writer)", err)
	}
	if got.Subject != "read pool" {
		t.Errorf("a read saw %q, a change not yet committed", got.Subject)
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetOrder(ctx, o.ID); err != nil || got.Subject != "changed" {
		t.Fatalf("after the commit: %+v, %v; want the change", got, err)
	}

	if _, err := s.rdb.ExecContext(ctx, `UPDATE payment_orders SET subject = 'by a reader'`); err == nil {
		t.Fatal("the read-only pool wrote")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the read-only pool: %v", err)
	}
}
