package payment

import (
	"context"
	"fmt"
)

// ListOrders returns one page of the orders that match the filter, newest
// first (see [Store.ListOrders]). A malformed cursor wraps ErrInvalid.
func (s *Service) ListOrders(ctx context.Context, f OrderFilter) (OrderPage, error) {
	p, err := s.store.ListOrders(ctx, f)
	if err != nil {
		return OrderPage{}, fmt.Errorf("payment: list orders: %w", err)
	}
	return p, nil
}

// ListEvents returns the order's event log, oldest first: the audit trail
// of everything received and done about it. An unknown order is
// ErrNotFound.
func (s *Service) ListEvents(ctx context.Context, orderID string) ([]OrderEvent, error) {
	if _, err := s.GetOrder(ctx, orderID); err != nil {
		return nil, err
	}
	evs, err := s.store.ListEvents(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("payment: events of order %s: %w", orderID, err)
	}
	return evs, nil
}
