package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// demoShutdownTimeout bounds a graceful stop of zhifu demo.
const demoShutdownTimeout = 10 * time.Second

func demoCommand() *command {
	return &command{
		name:    "demo",
		summary: "run a demo shop, the payment service and the Alipay sandbox in one process: pay, see it paid, refund",
		run:     runDemo,
	}
}

// defaultDemoDataDir is where zhifu demo keeps its state without
// --data-dir: the user's cache directory (~/.cache/zhifu/demo on Linux,
// ~/Library/Caches/zhifu/demo on macOS), which a fresh clone does not
// clutter and a restart finds again; ./zhifu-demo-data where the system
// names no cache directory.
func defaultDemoDataDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "zhifu", "demo")
	}
	return "zhifu-demo-data"
}

func runDemo(ctx context.Context, s *streams, args []string) int {
	f := newFlagSet("zhifu demo", `
Usage: zhifu demo [--addr HOST:PORT] [--data-dir DIR] [--time-scale F] [-v]

Runs the whole Alipay payment flow on this machine, with no Alipay account and
no network: a demo shop, the payment service (orders in SQLite, the notify and
return handlers, the reconcile and expiry jobs) and the Alipay sandbox (gateway,
cashier, async notifies), all in one process behind one address.

Open the printed shop URL, pay for a product on the sandbox's cashier (its
buyer has an endless balance: one click pays), and watch the order turn paid
when the sandbox's signed notify arrives; refund it under "My orders". The
sandbox dashboard shows the other side: trades, notifies and their attempts.

On first start it creates the app's keys and the sandbox's Alipay key in the
data directory; they are test keys, never printed, never for real payments.
Orders, trades and keys stay there for the next start: remove the directory
to start afresh. Stop with Ctrl+C (or SIGTERM): running jobs finish, the
sandbox saves its state.`)
	addr := f.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`; port 0 picks a free one (the real address is printed)")
	dataDir := f.String("data-dir", defaultDemoDataDir(), "keep keys, trades and orders in `DIR` (created with mode 0700)")
	timeScale := f.Float64("time-scale", 1, "compress the sandbox's notify retries by the factor `F`: 0.001 turns Alipay's 25 hours of retries into 90 seconds")
	verbose := f.Bool("v", false, "log every notify, return, query and gateway call")
	if code, done := f.parse(s, args); done {
		return code
	}
	switch {
	case *dataDir == "":
		return f.usageError(s, "--data-dir must not be empty: the demo keeps its keys and orders there")
	case !(*timeScale > 0) || *timeScale > 1e6:
		return f.usageError(s, "--time-scale %v: want a number above 0 and at most 1000000, such as 1 (real time) or 0.001", *timeScale)
	}
	if err := parseListen(*addr); err != nil {
		return f.usageError(s, "--addr %q: %v: want HOST:PORT, such as 127.0.0.1:8080", *addr, err)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: level}))
	if !loopbackAddr(*addr) {
		fmt.Fprintf(s.stderr, "zhifu demo: warning: --addr %s is not a loopback address: anyone who reaches it can use the sandbox's dashboard and control API (which pay, close and break trades) from a client that claims Host: localhost. Keep the demo on 127.0.0.1.\n", *addr)
	}
	d, err := StartDemo(ctx, DemoConfig{Addr: *addr, DataDir: *dataDir, TimeScale: *timeScale, Logger: logger, Progress: s.stdout})
	if err != nil {
		fmt.Fprintln(s.stderr, err)
		return exitFail
	}
	printDemo(s.stdout, d)
	code := exitOK
	select {
	case <-ctx.Done():
		fmt.Fprintln(s.stdout, "stopping: finishing the requests and jobs in flight…")
	case err := <-d.Served():
		fmt.Fprintf(s.stderr, "zhifu demo: serving: %v\n", err)
		code = exitFail
	}
	sctx, cancel := context.WithTimeout(context.Background(), demoShutdownTimeout)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		fmt.Fprintf(s.stderr, "zhifu demo: %v\n", err)
		return exitFail
	}
	if code == exitOK {
		fmt.Fprintf(s.stdout, "stopped; orders and trades are kept in %s\n", d.DataDir)
	}
	return code
}

// printDemo prints where everything is, once the demo serves.
func printDemo(w io.Writer, d *Demo) {
	fmt.Fprintf(w, "\nzhifu demo: a shop, the payment service and the Alipay sandbox (test keys, no real money)\n\n")
	line := func(label, value string) { fmt.Fprintf(w, "  %-19s %s\n", label+":", value) }
	line("shop", d.URL+"/")
	line("sandbox dashboard", d.SandboxURL)
	line("admin pages", d.AdminURL+" (password "+d.AdminPassword+", kept in the data dir)")
	line("test buyer", DemoBuyerAccount+" (balance "+DemoBuyerBalance+"; no password: the cashier's Pay button pays)")
	line("data dir", d.DataDir)
	fmt.Fprintf(w, "\nOpen the shop, pay for something on the sandbox's cashier, watch the order turn paid, refund it.\n")
	fmt.Fprintf(w, "Stop with Ctrl+C: orders and trades are kept in the data dir for the next start.\n")
}
