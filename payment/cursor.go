package payment

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CursorKind tells the cursors of different listings apart, so that the
// cursor of one listing is refused by another.
type CursorKind string

// Cursor kinds.
const (
	CursorOrders  CursorKind = "o" // Store.ListOrders: newest first
	CursorPending CursorKind = "p" // Store.ListPendingOrders: oldest first
	// CursorUnsettled is Store.ListUnsettledRefunds': oldest first.
	CursorUnsettled CursorKind = "u"
)

// EncodeCursor returns the opaque cursor of a listing of kind k that
// continues after the order created at t with the id. Stores use it to
// make OrderPage.Next.
func EncodeCursor(k CursorKind, t time.Time, id string) string {
	s := string(k) + "|" + strconv.FormatInt(t.UnixMicro(), 10) + "|" + id
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DecodeCursor returns the position that cursor, made by EncodeCursor
// for a listing of kind k, continues after. A cursor that is malformed or
// of another kind is an error wrapping ErrInvalid.
func DecodeCursor(k CursorKind, cursor string) (t time.Time, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		parts := strings.SplitN(string(b), "|", 3)
		if len(parts) == 3 && parts[0] == string(k) && parts[2] != "" {
			micros, perr := strconv.ParseInt(parts[1], 10, 64)
			if perr == nil {
				return time.UnixMicro(micros).UTC(), parts[2], nil
			}
		}
	}
	return time.Time{}, "", fmt.Errorf("%w: bad cursor %q", ErrInvalid, cursor)
}

// PageOf returns the page of orders a store read with limit+1 rows: at most
// limit orders, and the cursor of the next page when there was one more.
// Stores query one row beyond the page so that the last page has no cursor.
// A CursorPaid cursor holds the last order's PaidAt (the paid orders are in
// the order of their payment), the others its CreatedAt.
func PageOf(orders []Order, limit int, k CursorKind) OrderPage {
	if len(orders) <= limit {
		return OrderPage{Orders: orders}
	}
	last := orders[limit-1]
	at := last.CreatedAt
	if k == CursorPaid {
		at = last.PaidAt
	}
	return OrderPage{Orders: orders[:limit], Next: EncodeCursor(k, at, last.ID)}
}
