package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// TestCheckpointsInTheBackground writes orders and checks that they reach
// the database file itself, not only the WAL, while the store is open:
// the writer's connection does not checkpoint (wal_autocheckpoint=0), the
// checkpointer does.
func TestCheckpointsInTheBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zhifu.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var auto int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("the writer's wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.CreateOrder(ctx, &payment.Order{ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(),
				Subject: "checkpoint", Amount: 100, Channel: payment.ChannelPage})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// immutable=1 reads the database file as it is, without the WAL; a
	// new connection each time, since it caches what it read.
	inFile := func() (int, error) {
		file, err := sql.Open("sqlite", "file:"+path+"?immutable=1&mode=ro")
		if err != nil {
			return 0, err
		}
		defer file.Close()
		var got int
		err = file.QueryRowContext(ctx, "SELECT count(*) FROM payment_orders").Scan(&got)
		return got, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := inFile()
		if err == nil && got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d orders (%v) 10s after %d were committed; checkpoints run: %d, last error: %v",
				got, err, n, s.ckpt.runs.Load(), s.ckpt.lastError())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s.ckpt.runs.Load() == 0 {
		t.Fatal("the orders are in the database file, but no checkpoint ran")
	}
}
