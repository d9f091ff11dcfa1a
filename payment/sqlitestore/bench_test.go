package sqlitestore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// BenchmarkApplyTransitionParallel pays distinct orders from many
// goroutines, one durable transition with one event each, the shape of
// concurrent notifies: the commit queue shares fsyncs among them.
// Run with -cpu and -benchtime to vary; commits/op shows the sharing.
func BenchmarkApplyTransitionParallel(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	orders := make([]*payment.Order, b.N)
	for i := range orders {
		o := &payment.Order{ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: fmt.Sprint(i), Amount: 1_00, Channel: payment.ChannelPage}
		if err := s.CreateOrder(ctx, o); err != nil {
			b.Fatal(err)
		}
		n, _, err := payment.Next(o, payment.Fact{Source: payment.SourceNotify, TradeStatus: alipay.TradeStatusSuccess, TotalAmount: o.Amount, TradeNo: fmt.Sprint("T", i), At: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		orders[i] = n
	}
	var next atomic.Int64
	start := s.q.commits.Load()
	b.SetParallelism(32) // with GOMAXPROCS 2: 64 writers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o := orders[next.Add(1)-1]
			err := s.ApplyTransition(ctx, payment.Transition{Order: o, Events: []payment.OrderEvent{
				{Kind: payment.EventNotifyReceived, Source: payment.SourceNotify, Raw: make([]byte, 1500), Verified: true},
			}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(s.q.commits.Load()-start)/float64(b.N), "commits/op")
}
