package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// JobRunner does the work of the durable jobs run by [Jobs]: the payment
// Service implements it. Each method is called with the job's context,
// which carries the per-job timeout ([JobsConfig.JobTimeout]) and is
// cancelled by a hard stop.
//
// A method returns nil when the job is done. Any other error makes River
// retry the job later, with backoff, up to [JobsConfig.MaxAttempts]
// times; an error wrapping [ErrNotFound] (no such order or refund) ends
// the job at once, since retrying cannot make it exist. Every method must
// be idempotent: a job runs at least once, and may run again after a
// crash or a retry.
type JobRunner interface {
	// Reconcile asks Alipay about a pending order (alipay.trade.query) and
	// applies the answer. An order no longer pending is left alone.
	Reconcile(ctx context.Context, orderID string) error
	// Expire closes a pending order whose time is up (alipay.trade.close;
	// a trade that does not exist at Alipay is closed locally), and queries
	// the order again when the close raced a payment.
	Expire(ctx context.Context, orderID string) error
	// SettleRefund settles a pending or unknown refund by querying Alipay
	// with the same out_request_no (alipay.trade.fastpay.refund.query).
	SettleRefund(ctx context.Context, refundID string) error
	// RefundPaidAfterClose starts the automatic refund of an order paid
	// after its close, when the policy refunds such payments and the
	// refund was never started (the process died between storing the
	// payment and starting it). Otherwise it does nothing.
	RefundPaidAfterClose(ctx context.Context, orderID string) error
}

// Defaults of [JobsConfig].
const (
	DefaultSweepInterval     = time.Minute
	DefaultSweepLookback     = 24 * time.Hour
	DefaultSweepLimit        = 10_000
	DefaultRefundSettleAfter = time.Minute
	DefaultJobTimeout        = time.Minute
	DefaultJobMaxAttempts    = 25
	DefaultJobWorkers        = 10
	DefaultJobPollInterval   = time.Second
)

// DefaultReconcileAfter returns the default offsets, after an order's
// creation, at which a pending order is queried: 1, 5 and 15 minutes.
func DefaultReconcileAfter() []time.Duration {
	return []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}
}

// JobQueue is the River queue the payment jobs run in.
const JobQueue = "payment"

// JobsConfig configures [NewJobs]. Zero fields take their defaults.
type JobsConfig struct {
	// Runner does the work of the jobs. Required.
	Runner JobRunner
	// Store is where the sweep looks for pending orders and unsettled
	// refunds. Required.
	Store Store
	// Webhooks, when set, are delivered by these jobs
	// (JobKindWebhookDeliver), and the sweep records and schedules the
	// webhook events a crash lost (see [Jobs.Sweep]). A Webhooks belongs
	// to one Jobs. Default: none.
	Webhooks *Webhooks

	// ReconcileAfter are the offsets after an order's CreatedAt at which
	// [Jobs.ScheduleOrder] has a pending order queried. Offsets at or after
	// the order's ExpiresAt are skipped: the expiry job queries when its
	// close races a payment. Default: DefaultReconcileAfter (1, 5, 15
	// minutes); an empty, non-nil slice schedules none. They must be
	// positive and increasing.
	ReconcileAfter []time.Duration

	// SweepInterval is how often the sweep runs (see [Jobs.Sweep]), on
	// one instance at a time (River's leader). Default 1 minute; negative
	// disables the periodic sweep (Sweep can still be called).
	SweepInterval time.Duration
	// SweepLookback is how far back the sweep looks for pending orders
	// whose reconcile jobs may be missing. Older pending orders are swept
	// only once expired. It should not exceed River's retention of
	// completed jobs (24 hours), which is what keeps a reconcile from
	// running twice. Default 24 hours.
	SweepLookback time.Duration
	// SweepLimit is the most orders one sweep looks at in each of its two
	// listings, and the most unsettled refunds. Default 10,000.
	SweepLimit int
	// RefundSettleAfter is the age past which the sweep settles a refund
	// that is still pending or unknown, and the delay after which the
	// Service (given these Jobs by Config.Jobs) has a refund it left
	// unknown settled. Default 1 minute.
	RefundSettleAfter time.Duration

	// JobTimeout is how long one run of a job may take before its
	// context is cancelled. Default 1 minute.
	JobTimeout time.Duration
	// MaxAttempts is how many times a failing job is run before River
	// discards it. Default 25 (about three weeks with the default backoff).
	MaxAttempts int
	// Backoff returns how long to wait before the next run of a job that
	// failed its attempt'th run. Default: River's, attempt⁴ seconds (1s,
	// 16s, 81s, …) with jitter.
	Backoff func(attempt int) time.Duration
	// Workers is how many jobs one instance runs at once. Default 10.
	Workers int
	// PollInterval is how often an idle instance looks for jobs that are
	// due. On SQLite, which has no LISTEN/NOTIFY, it is also how soon a
	// job inserted by another process is noticed. Default 1 second.
	PollInterval time.Duration

	// Schema is the PostgreSQL schema of River's tables, used by the
	// migrations and every query (and, unlike search_path, it also keeps
	// River's LISTEN/NOTIFY channels apart). Default "": the first schema
	// of the connection's search_path. Leave it empty on SQLite.
	Schema string
	// MigrationLock, when set, runs River's migrations (the function it
	// is given) under a lock that instances starting together take in
	// turn: [zhifu/payment/postgresstore.Store.LockMigrations]. Nil runs
	// them unlocked, enough for a single process (SQLite).
	MigrationLock func(ctx context.Context, migrate func(ctx context.Context) error) error

	// Bills configures the daily reconciliation of Alipay's trade bill
	// (JobKindBillReconcile). Default: none, unless Bills.Reconciler is
	// set.
	Bills BillJobConfig

	// ID names this instance among the River clients of the database.
	// Default: a random name.
	ID string
	// Logger receives the jobs' logs, and River's from warning level up.
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now, with River keeping its own
	// time. When set, River's time is stubbed to it too (for tests that
	// move the clock): jobs become due when Now passes their time.
	Now func() time.Time
}

// validate checks c and fills in its defaults.
func (c *JobsConfig) validate() error {
	if c.Runner == nil || c.Store == nil {
		return errors.New("payment: jobs: Runner and Store are required")
	}
	if c.ReconcileAfter == nil {
		c.ReconcileAfter = DefaultReconcileAfter()
	}
	for i, d := range c.ReconcileAfter {
		if d <= 0 || i > 0 && d <= c.ReconcileAfter[i-1] {
			return fmt.Errorf("payment: jobs: ReconcileAfter %v: offsets must be positive and increasing", c.ReconcileAfter)
		}
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.SweepLookback <= 0 {
		c.SweepLookback = DefaultSweepLookback
	}
	if c.SweepLimit <= 0 {
		c.SweepLimit = DefaultSweepLimit
	}
	if c.RefundSettleAfter <= 0 {
		c.RefundSettleAfter = DefaultRefundSettleAfter
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultJobMaxAttempts
	}
	if c.Workers <= 0 {
		c.Workers = DefaultJobWorkers
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultJobPollInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c.Bills.validate()
}

// Jobs runs the payment service's durable jobs on River, in the same
// database as the orders: reconciliation of pending orders, their expiry,
// and the settling of refunds whose outcome is unknown. Jobs are rows in
// River's tables, so they survive restarts; instances sharing a
// PostgreSQL database share the jobs, and each job run is done by one
// instance at a time.
//
// The jobs, of kinds JobKindReconcileOrder, JobKindExpireOrder and
// JobKindSettleRefund, are unique while they wait: scheduling the same
// work twice stacks nothing. Their work is done by a [JobRunner]. A
// periodic sweep (JobKindSweep) enqueues whatever is missing, so that a
// crash between storing an order and scheduling its jobs loses nothing.
//
// Create it with [NewJobs] — for the Service to schedule its jobs, in the
// function of [Config].Jobs, and get it back by [Service.Jobs] — then
// Start it to work jobs and Stop it to finish. Scheduling works between NewJobs and Stop, started or not.
type Jobs struct {
	cfg    JobsConfig
	now    func() time.Time
	log    *slog.Logger
	client riverClient
}

// riverClient is what Jobs uses of a *river.Client, whatever its driver.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// NewJobs applies River's migrations to the database of driver (those it
// lacks: it is idempotent) and returns the jobs, not started. The driver
// comes from the store: [zhifu/payment/sqlitestore.Store.RiverDriver] or
// [zhifu/payment/postgresstore.Store.RiverDriver].
func NewJobs[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg JobsConfig) (*Jobs, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := migrateJobs(ctx, driver, &cfg); err != nil {
		return nil, err
	}
	j := &Jobs{cfg: cfg, now: cfg.Now, log: cfg.Logger}
	if j.now == nil {
		j.now = time.Now
	}
	rc := &river.Config{
		ErrorHandler:      &jobErrorHandler{log: cfg.Logger},
		FetchPollInterval: cfg.PollInterval,
		ID:                cfg.ID,
		JobTimeout:        cfg.JobTimeout,
		Logger:            slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}),
		MaxAttempts:       cfg.MaxAttempts,
		Queues:            map[string]river.QueueConfig{JobQueue: {MaxWorkers: cfg.Workers}},
		Schema:            cfg.Schema,
		Workers:           j.workers(),
	}
	if rc.FetchPollInterval < river.FetchCooldownDefault {
		rc.FetchCooldown = rc.FetchPollInterval // River wants cooldown ≤ poll interval
	}
	if cfg.Backoff != nil {
		rc.RetryPolicy = &backoffPolicy{now: j.now, backoff: cfg.Backoff}
	}
	if cfg.Now != nil {
		rc.Test.Time = clock{cfg.Now}
	}
	if cfg.SweepInterval > 0 {
		rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(
			river.PeriodicInterval(cfg.SweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, sweepInsertOpts(cfg.SweepInterval) },
			&river.PeriodicJobOpts{ID: JobKindSweep, RunOnStart: true},
		)}
	}
	if cfg.Bills.Reconciler != nil {
		rc.PeriodicJobs = append(rc.PeriodicJobs, j.billPeriodicJob())
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("payment: jobs: %w", err)
	}
	j.client = client
	if cfg.Webhooks != nil {
		if err := cfg.Webhooks.attach(j); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// migrateJobs applies River's migrations, under cfg.MigrationLock if set.
func migrateJobs[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg *JobsConfig) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}), Schema: cfg.Schema})
	if err != nil {
		return fmt.Errorf("payment: jobs: migrate: %w", err)
	}
	migrate := func(ctx context.Context) error {
		res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return err
		}
		for _, v := range res.Versions {
			cfg.Logger.InfoContext(ctx, "payment: jobs: applied River migration", "version", v.Version, "name", v.Name)
		}
		return nil
	}
	if cfg.MigrationLock != nil {
		err = cfg.MigrationLock(ctx, migrate)
	} else {
		err = migrate(ctx)
	}
	if err != nil {
		return fmt.Errorf("payment: jobs: migrate: %w", err)
	}
	return nil
}

// Start starts working jobs: fetching those due, running the periodic
// sweep (on one instance of the database at a time), retrying failures.
// ctx is used for its values only: Stop stops.
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("payment: jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for the jobs running to finish
// (graceful shutdown): their outcome is recorded, so that none is run
// again for nothing. If ctx is done first, the running jobs' contexts are
// cancelled, Stop waits for them to return (a cancelled job is retried
// later) and returns an error wrapping ctx's. Stop on jobs never started
// does nothing.
func (j *Jobs) Stop(ctx context.Context) error {
	err := j.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("payment: jobs: stop: %w", err)
	}
	j.log.WarnContext(ctx, "payment: jobs: jobs still running at the stop deadline; cancelling them", "error", err)
	if cerr := j.client.StopAndCancel(context.WithoutCancel(ctx)); cerr != nil {
		return fmt.Errorf("payment: jobs: stop: %w (and cancelling: %w)", err, cerr)
	}
	return fmt.Errorf("payment: jobs: stop: running jobs cancelled: %w", err)
}
