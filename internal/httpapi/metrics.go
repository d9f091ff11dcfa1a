package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"zhifu/payment"
)

// MetricsConfig configures NewMetrics. Zero fields take their defaults.
type MetricsConfig struct {
	// QueueDepth, when set, is asked at each scrape for the number of
	// jobs by state ("available", "scheduled", "retryable"…), exposed as
	// zhifu_job_queue_depth{state}. An error is logged and the gauge left
	// out of that scrape. Default: no such gauge.
	QueueDepth func(ctx context.Context) (map[string]int, error)
	// BillDifferences, when set, is asked at each scrape for the
	// differences between Alipay's trade bill and the database found by
	// the latest reconciliation, by kind, exposed as
	// zhifu_bill_differences{kind}. Default: no such gauge.
	BillDifferences func(ctx context.Context) (map[string]int, error)
	// StoreTransactions, when set, is asked at each scrape for the number
	// of transactions the store's group commit has run since it opened
	// (both stores' Commits), exposed as the counter
	// zhifu_store_transactions_total: against the writes (payments
	// created, state changes, notifies), the writes per transaction.
	// Default: no such counter.
	StoreTransactions func() int64
	// Logger receives the errors of QueueDepth and BillDifferences.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Metrics are the payment service's Prometheus metrics, in a registry of
// their own (with the Go runtime's and the process's), served by Handler.
// It is a [payment.Observer] (set it as payment.Config.Observer), its
// OnChange belongs in payment.Config.OnChange, its RoundTripper in the
// alipay client's HTTP client, and webhook code calls WebhookDelivered.
// All methods are safe for concurrent use.
type Metrics struct {
	reg            *prometheus.Registry
	created        *prometheus.CounterVec
	changes        *prometheus.CounterVec
	notifies       *prometheus.CounterVec
	alipayCalls    *prometheus.CounterVec
	alipayDuration *prometheus.HistogramVec
	webhooks       *prometheus.CounterVec
	requests       *prometheus.CounterVec
	requestTime    *prometheus.HistogramVec
}

var _ payment.Observer = (*Metrics)(nil)

// NewMetrics returns the metrics, registered in a new registry.
func NewMetrics(cfg MetricsConfig) *Metrics {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhifu_payments_created_total", Help: "Payments (orders) created, by channel.",
		}, []string{"channel"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhifu_payment_state_changes_total", Help: "Committed changes of payments, by new status (paid, closed, partially_refunded, refunded) and effect.",
		}, []string{"status", "effect"}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhifu_notifies_total", Help: "Alipay notifies received, by result (applied, duplicate, rejected_signature, quarantined, store_error, bad_request).",
		}, []string{"result"}),
		alipayCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhifu_alipay_requests_total", Help: "Calls of Alipay's gateway, by method and result (ok, the gateway code such as 40004, http_error, transport_error).",
		}, []string{"method", "result"}),
		alipayDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zhifu_alipay_request_duration_seconds", Help: "Latency of calls of Alipay's gateway, by method.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"method"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhifu_webhook_deliveries_total", Help: "Webhook delivery attempts, by result.",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhifu_http_requests_total", Help: "Requests of the JSON API, by route and status code.",
		}, []string{"route", "code"}),
		requestTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zhifu_http_request_duration_seconds", Help: "Latency of the JSON API, by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.created, m.changes, m.notifies, m.alipayCalls, m.alipayDuration, m.webhooks, m.requests, m.requestTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.QueueDepth != nil {
		m.reg.MustRegister(&apiGaugeCollector{read: cfg.QueueDepth, log: cfg.Logger, what: "the job queue depth",
			desc: prometheus.NewDesc("zhifu_job_queue_depth", "Jobs in the queue, by state.", []string{"state"}, nil)})
	}
	if cfg.StoreTransactions != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "zhifu_store_transactions_total",
			Help: "Transactions of the store's group commit (each holding one or more writes) since it opened.",
		}, func() float64 { return float64(cfg.StoreTransactions()) }))
	}
	if cfg.BillDifferences != nil {
		m.reg.MustRegister(&apiGaugeCollector{read: cfg.BillDifferences, log: cfg.Logger, what: "the bill differences",
			desc: prometheus.NewDesc("zhifu_bill_differences", "Differences between Alipay's trade bill and the database found by the latest reconciliation, by kind.", []string{"kind"}, nil)})
	}
	return m
}

// Handler returns the handler of /metrics, in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry the metrics are in, for adding an
// application's own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// PaymentCreated implements [payment.Observer]: it counts a created
// payment by channel.
func (m *Metrics) PaymentCreated(_ context.Context, o *payment.Order) {
	m.created.WithLabelValues(string(o.Channel)).Inc()
}

// NotifyHandled implements [payment.Observer]: it counts a notify by
// result.
func (m *Metrics) NotifyHandled(_ context.Context, result payment.NotifyResult) {
	m.notifies.WithLabelValues(string(result)).Inc()
}

// OnChange counts a committed change of a payment by its new status; it
// has the signature of payment.Config.OnChange, to be called from it
// (with the webhooks' own hook, if any).
func (m *Metrics) OnChange(_ context.Context, c payment.Change) {
	m.changes.WithLabelValues(string(c.Order.Status), string(c.Effect)).Inc()
}

// WebhookDelivered counts one webhook delivery attempt with its result
// (a small fixed set, such as "delivered", "failed", "gave_up").
func (m *Metrics) WebhookDelivered(result string) {
	m.webhooks.WithLabelValues(result).Inc()
}

// observeRequest counts one API request.
func (m *Metrics) observeRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.requestTime.WithLabelValues(route).Observe(d.Seconds())
}

// apiGaugeCollector collects a gauge with one label, read at each scrape:
// zhifu_job_queue_depth{state}, zhifu_bill_differences{kind}.
type apiGaugeCollector struct {
	read func(ctx context.Context) (map[string]int, error)
	log  *slog.Logger
	what string // for the log
	desc *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *apiGaugeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *apiGaugeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, err := c.read(ctx)
	if err != nil {
		c.log.Warn("httpapi: metrics: reading "+c.what+" failed", "error", err)
		ch <- prometheus.NewInvalidMetric(c.desc, fmt.Errorf("%s: %w", c.what, err))
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}

// instrument wraps h: it counts the request in the metrics, if any, under
// route, and turns a panic into a 500 internal_error that is logged.
func (a *api) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &apiStatusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.Error("httpapi: handler panicked", "route", route, "panic", p)
				if sw.status == 0 {
					apiWriteError(sw, apiErrorf(http.StatusInternalServerError, CodeInternal, "", "the payment service failed; try again later"))
				}
			}
			if a.cfg.Metrics != nil {
				a.cfg.Metrics.observeRequest(route, max(sw.status, http.StatusOK), time.Since(start))
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

// apiStatusWriter remembers the status of an answer.
type apiStatusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader implements http.ResponseWriter.
func (w *apiStatusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *apiStatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *apiStatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
