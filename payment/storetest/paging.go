package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"zhifu/payment"
)

// collect follows the pages of list from the first, and returns the ids
// in the order seen. after, when not nil, runs after each page.
func collect(t *testing.T, list func(cursor string) (payment.OrderPage, error), after func()) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		page, err := list(cursor)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, o := range page.Orders {
			ids = append(ids, o.ID)
		}
		if after != nil {
			after()
		}
		if page.Next == "" {
			return ids
		}
		cursor = page.Next
	}
}

// createMany creates n orders, three at each creation time so that ties
// are broken by id, and returns them newest first as ListOrders orders
// them.
func createMany(t *testing.T, s payment.Store, n int) []*payment.Order {
	var orders []*payment.Order
	for i := range n {
		o := newOrder(i / 3)
		orders = append(orders, create(t, s, o))
	}
	slices.SortFunc(orders, func(a, b *payment.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmpBytes(b.ID, a.ID)
	})
	return orders
}

// cmpBytes compares strings bytewise.
func cmpBytes(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ids(orders []*payment.Order) []string {
	var s []string
	for _, o := range orders {
		s = append(s, o.ID)
	}
	return s
}

func testListOrdersPaging(t *testing.T, s payment.Store) {
	ctx := context.Background()
	orders := createMany(t, s, 57)
	for _, limit := range []int{1, 10, 57, 100} {
		got := collect(t, func(c string) (payment.OrderPage, error) {
			return s.ListOrders(ctx, payment.OrderFilter{Cursor: c, Limit: limit})
		}, nil)
		if !slices.Equal(got, ids(orders)) {
			t.Fatalf("limit %d: pages give %d orders %v\nwant %d newest first %v", limit, len(got), got, len(orders), ids(orders))
		}
	}
	page, err := s.ListOrders(ctx, payment.OrderFilter{Limit: 57})
	if err != nil || page.Next != "" || len(page.Orders) != 57 {
		t.Fatalf("one exact page: %d orders, next %q, %v; want 57 and no next", len(page.Orders), page.Next, err)
	}
	checkOrder(t, &page.Orders[0], orders[0])

	// Orders created while paging come before the cursor: the pages still
	// give every order that existed at the first, once.
	i := 100
	got := collect(t, func(c string) (payment.OrderPage, error) {
		return s.ListOrders(ctx, payment.OrderFilter{Cursor: c, Limit: 7})
	}, func() { create(t, s, newOrder(i)); i++ })
	if !slices.Equal(got, ids(orders)) {
		t.Fatalf("paging while creating: %d orders, want the %d that existed", len(got), len(orders))
	}

	_, err = s.ListOrders(ctx, payment.OrderFilter{Cursor: "garbage"})
	wantErr(t, "ListOrders(bad cursor)", err, payment.ErrInvalid)
	_, err = s.ListOrders(ctx, payment.OrderFilter{Cursor: payment.EncodeCursor(payment.CursorPending, baseTime(), "x")})
	wantErr(t, "ListOrders(cursor of ListPendingOrders)", err, payment.ErrInvalid)
}

func testListOrdersFilter(t *testing.T, s payment.Store) {
	ctx := context.Background()
	orders := createMany(t, s, 30) // created at base+0s … base+9s
	var paid []*payment.Order
	for i, o := range orders {
		if i%3 == 0 {
			pay(t, s, o)
			paid = append(paid, o)
		}
	}
	byStatus := func(st ...payment.Status) []string {
		return collect(t, func(c string) (payment.OrderPage, error) {
			return s.ListOrders(ctx, payment.OrderFilter{Statuses: st, Cursor: c, Limit: 4})
		}, nil)
	}
	if got := byStatus(payment.StatusPaid); !slices.Equal(got, ids(paid)) {
		t.Fatalf("paid orders %v, want %v", got, ids(paid))
	}
	if got := byStatus(payment.StatusPaid, payment.StatusPending); !slices.Equal(got, ids(orders)) {
		t.Fatalf("paid or pending: %d orders, want %d", len(got), len(orders))
	}
	if got := byStatus(payment.StatusRefunded); len(got) != 0 {
		t.Fatalf("refunded orders %v, want none", got)
	}
	// [base+3s, base+6s): the orders created at 3, 4 and 5 s, three each.
	from, to := baseTime().Add(3*time.Second), baseTime().Add(6*time.Second)
	got := collect(t, func(c string) (payment.OrderPage, error) {
		return s.ListOrders(ctx, payment.OrderFilter{CreatedFrom: from, CreatedTo: to, Cursor: c, Limit: 2})
	}, nil)
	var want []string
	for _, o := range orders {
		if !o.CreatedAt.Before(micro(from)) && o.CreatedAt.Before(micro(to)) {
			want = append(want, o.ID)
		}
	}
	if len(want) != 9 || !slices.Equal(got, want) {
		t.Fatalf("created in [3s, 6s): %v, want the 9 of %v", got, want)
	}

	// Flags: the paid orders 0, 6, 12… get FlagPaidAfterClose, 0 and 12
	// FlagFinished too.
	var flagged, both []string
	for i, o := range paid {
		if i%2 != 0 {
			continue
		}
		n := get(t, s, o.ID)
		n.Flags |= payment.FlagPaidAfterClose
		if i%4 == 0 {
			n.Flags |= payment.FlagFinished
			both = append(both, o.ID)
		}
		if err := s.ApplyTransition(ctx, payment.Transition{Order: n}); err != nil {
			t.Fatal(err)
		}
		flagged = append(flagged, o.ID)
	}
	byFlags := func(f payment.Flags, st ...payment.Status) []string {
		return collect(t, func(c string) (payment.OrderPage, error) {
			return s.ListOrders(ctx, payment.OrderFilter{Flags: f, Statuses: st, Cursor: c, Limit: 2})
		}, nil)
	}
	if got := byFlags(payment.FlagPaidAfterClose); !slices.Equal(got, flagged) {
		t.Fatalf("orders flagged paid_after_close %v, want %v", got, flagged)
	}
	if got := byFlags(payment.FlagPaidAfterClose|payment.FlagFinished, payment.StatusPaid); !slices.Equal(got, both) {
		t.Fatalf("paid orders flagged paid_after_close|finished %v, want %v", got, both)
	}
	if got := byFlags(payment.FlagPaidAfterClose, payment.StatusPending); len(got) != 0 {
		t.Fatalf("pending orders flagged paid_after_close %v, want none", got)
	}
}

func testListPendingOrders(t *testing.T, s payment.Store) {
	ctx := context.Background()
	orders := createMany(t, s, 24)
	slices.Reverse(orders) // oldest first
	var pending []*payment.Order
	for i, o := range orders {
		switch i % 4 {
		case 0:
			pay(t, s, o)
		default:
			pending = append(pending, o)
		}
	}
	list := func(f payment.PendingFilter) []string {
		return collect(t, func(c string) (payment.OrderPage, error) {
			f.Cursor, f.Limit = c, 5
			return s.ListPendingOrders(ctx, f)
		}, nil)
	}
	if got := list(payment.PendingFilter{}); !slices.Equal(got, ids(pending)) {
		t.Fatalf("pending orders %v, want oldest first %v", got, ids(pending))
	}
	before := baseTime().Add(4 * time.Second) // created at 0…3 s
	var want []string
	for _, o := range pending {
		if o.CreatedAt.Before(micro(before)) {
			want = append(want, o.ID)
		}
	}
	if got := list(payment.PendingFilter{CreatedBefore: before}); len(want) != 9 || !slices.Equal(got, want) {
		t.Fatalf("pending created before 4s: %v, want the 9 of %v", got, want)
	}

	// Expiry: only orders with an ExpiresAt before the time.
	exp := newOrder(50)
	exp.ExpiresAt = baseTime().Add(time.Minute)
	create(t, s, exp)
	late := newOrder(51)
	late.ExpiresAt = baseTime().Add(time.Hour)
	create(t, s, late)
	if got := list(payment.PendingFilter{ExpiresBefore: baseTime().Add(2 * time.Minute)}); !slices.Equal(got, []string{exp.ID}) {
		t.Fatalf("expired orders %v, want only %s", got, exp.ID)
	}
	_, err := s.ListPendingOrders(ctx, payment.PendingFilter{Cursor: payment.EncodeCursor(payment.CursorOrders, baseTime(), "x")})
	wantErr(t, "ListPendingOrders(cursor of ListOrders)", err, payment.ErrInvalid)
}
