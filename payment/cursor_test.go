package payment

import (
	"errors"
	"testing"
	"time"
)

// TestCursorKindsDiffer checks that every listing refuses the cursor of
// every other: their kinds are distinct.
func TestCursorKindsDiffer(t *testing.T) {
	kinds := []CursorKind{CursorOrders, CursorPending, CursorUnsettled, CursorPaid, CursorSettled}
	at := time.Date(2026, 5, 20, 3, 4, 5, 0, time.UTC)
	for _, k := range kinds {
		c := EncodeCursor(k, at, "id1")
		for _, other := range kinds {
			_, _, err := DecodeCursor(other, c)
			if other == k && err != nil {
				t.Errorf("a %q cursor refused by its own listing: %v", k, err)
			}
			if other != k && !errors.Is(err, ErrInvalid) {
				t.Errorf("a %q cursor accepted by the %q listing: %v", k, other, err)
			}
		}
	}
}
