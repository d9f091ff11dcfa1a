// Package shop is the demo shop of `zhifu demo`: a few products, each paid
// with Alipay in the three ways a web shop offers (the desktop cashier
// page, the mobile cashier, a QR code to scan), the order page the buyer
// returns to, and "my orders" with refunds. It is an http.Handler built on
// a payment.Service, and it shows what a shop on zhifu has to get right:
//
//   - An order's status always comes from the database. The sync return
//     (return_url) is a courtesy, not proof of payment: the order page says
//     so while the order is pending, and keeps asking until the async
//     notify, a query or the expiry settles it.
//   - Every page is html/template; every POST form carries a per-buyer CSRF
//     token and the cookies are SameSite.
//   - A buyer is a random id in a cookie, stored in each order's metadata
//     (MetadataBuyer): one browser cannot see or refund another's orders.
//   - Amounts are alipay.Amount (integer fen), printed as ¥12.34.
//
// The pages, their CSS and JavaScript are embedded in the binary: no CDN,
// no external image, so the demo works offline.
package shop
