package shop

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"zhifu/payment"
)

// MetadataBuyer is the key of Order.Metadata that holds the id of the
// buyer (the browser) who placed the order; MetadataProduct holds the
// product's id.
const (
	MetadataBuyer   = "shop_buyer"
	MetadataProduct = "shop_product"
)

// MaxScannedOrders bounds how many of the newest orders "my orders" looks
// through for the buyer's own: the store lists orders by time, not by
// buyer, which is enough for a demo and keeps a page's work bounded.
const MaxScannedOrders = 2000

// requestTimeout bounds the work of one page: the store and, for a QR
// code or a return, one call to Alipay.
const requestTimeout = 20 * time.Second

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// OrderLister lists orders, newest first: what "my orders" reads.
// A payment.Store is one.
type OrderLister interface {
	ListOrders(ctx context.Context, f payment.OrderFilter) (payment.OrderPage, error)
}

// Config configures a Shop.
type Config struct {
	// Service takes the payments (required).
	Service *payment.Service
	// Orders lists the orders for "my orders" (required): the Service's
	// store.
	Orders OrderLister
	// Products are what the shop sells. Default: DefaultProducts().
	Products []Product
	// SandboxURL, when set, is the address of the sandbox's dashboard,
	// linked from every page's footer, so that a person trying the demo
	// finds the other side. Default: no link.
	SandboxURL string
	// CSRFKey signs the forms' CSRF tokens; at least 32 bytes. Default:
	// a random key, so that forms on pages opened before a restart are
	// refused (the buyer reloads the page).
	CSRFKey []byte
	// Logger receives a line for every failure a page shows. Default:
	// slog.Default().
	Logger *slog.Logger
}

// Shop is the demo shop, an http.Handler. Mount it at the root of a
// server; it serves "/" (the products), "/pay", "/orders", "/orders/{id}",
// "/return" (the sync return_url) and "/static/". Alipay's notify is not
// the shop's: serve payment.Service.NotifyHandler next to it.
type Shop struct {
	svc      *payment.Service
	orders   OrderLister
	products []Product
	byID     map[string]Product
	sandbox  string
	csrfKey  []byte
	log      *slog.Logger
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New checks cfg and returns the shop.
func New(cfg Config) (*Shop, error) {
	if cfg.Service == nil {
		return nil, errors.New("shop: Config.Service is required")
	}
	if cfg.Orders == nil {
		return nil, errors.New("shop: Config.Orders is required: pass the Service's store")
	}
	if cfg.Products == nil {
		cfg.Products = DefaultProducts()
	}
	if err := checkProducts(cfg.Products); err != nil {
		return nil, err
	}
	if cfg.CSRFKey == nil {
		cfg.CSRFKey = make([]byte, 32)
		rand.Read(cfg.CSRFKey)
	} else if len(cfg.CSRFKey) < 32 {
		return nil, fmt.Errorf("shop: Config.CSRFKey has %d bytes: want at least 32 random bytes", len(cfg.CSRFKey))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Shop{
		svc:      cfg.Service,
		orders:   cfg.Orders,
		products: append([]Product(nil), cfg.Products...),
		byID:     map[string]Product{},
		sandbox:  cfg.SandboxURL,
		csrfKey:  append([]byte(nil), cfg.CSRFKey...),
		log:      cfg.Logger,
		pages:    pages,
	}
	for _, p := range s.products {
		s.byID[p.ID] = p
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveHome)
	mux.HandleFunc("POST /pay", s.servePay)
	mux.HandleFunc("GET /orders", s.serveMyOrders)
	mux.HandleFunc("GET /orders/{id}", s.serveOrder)
	mux.HandleFunc("GET /orders/{id}/status", s.serveOrderStatus)
	mux.HandleFunc("POST /orders/{id}/refund", s.serveRefund)
	mux.HandleFunc("POST /orders/{id}/pay", s.servePayAgain)
	mux.HandleFunc("GET /return", s.serveReturn)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "页面不存在", "There is no page at this address.", nil)
	})
	s.mux = mux
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The pages load nothing from elsewhere; QR codes are data: images.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
}

// parsePages parses each page of templates/ with the layout and the
// pictures.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"yuan": yuan, "beijing": beijing, "refundForm": refundForm}
	pages := map[string]*template.Template{}
	for _, name := range []string{"home", "order", "orders", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/pictures.html", "templates/status.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("shop: parsing the %s page: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}
