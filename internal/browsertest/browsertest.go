// Package browsertest starts Debian's Chromium for tests that click through
// zhifu's pages with chromedp, and keeps a screenshot of every page they
// visit as test artifacts.
//
// A test calls New: it finds Chromium at ChromiumPath, starts it headless
// with a fresh profile and everything that talks to the network on its own
// turned off, and stops it when the test ends. Without Chromium the test is
// skipped with a message saying how to install it — unless the environment
// variable ZHIFU_REQUIRE_BROWSER is 1 (CI sets it), and then it fails.
//
// Screenshots go to a directory made for the test under
// $ZHIFU_ARTIFACTS_DIR (default: the system's temporary directory); its
// path is logged, and it is kept after the test for a person to look at.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// RequireEnv is the environment variable that, set to 1, makes a test
// fail instead of skip when Chromium is missing.
const RequireEnv = "ZHIFU_REQUIRE_BROWSER"

// ArtifactsEnv names the directory under which screenshots are kept.
// Default: os.TempDir().
const ArtifactsEnv = "ZHIFU_ARTIFACTS_DIR"

// StepTimeout bounds one Run: a page that never shows what a step waits
// for fails the test instead of hanging it.
const StepTimeout = 60 * time.Second

// Browser is a headless Chromium started for one test.
type Browser struct {
	t        testing.TB
	ctx      context.Context // the first tab
	dir      string
	mu       sync.Mutex
	shots    int
	tabsDone []context.CancelFunc
}

// Available reports whether Chromium is installed at ChromiumPath.
func Available() bool {
	fi, err := os.Stat(ChromiumPath)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// New starts Chromium for t, stopped when t ends. It skips t when
// Chromium is missing, or fails it when ZHIFU_REQUIRE_BROWSER=1.
func New(t testing.TB) *Browser {
	t.Helper()
	if !Available() {
		msg := fmt.Sprintf("browser test needs Chromium at %s: install it with `apt-get install chromium fonts-noto-cjk` (Debian)", ChromiumPath)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s; %s=1 makes this a failure", msg, RequireEnv)
		}
		t.Skip(msg + "; skipping")
	}
	base := os.Getenv(ArtifactsEnv)
	if base != "" {
		if err := os.MkdirAll(base, 0o755); err != nil {
			t.Fatalf("browsertest: %s: %v", ArtifactsEnv, err)
		}
	}
	dir, err := os.MkdirTemp(base, "zhifu-screenshots-"+safeName(t.Name())+"-")
	if err != nil {
		t.Fatalf("browsertest: making the screenshot directory: %v", err)
	}
	t.Logf("browsertest: screenshots of %s go to %s", t.Name(), dir)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in containers, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	b := &Browser{t: t, ctx: ctx, dir: dir}
	t.Cleanup(func() {
		b.mu.Lock()
		tabs := b.tabsDone
		b.mu.Unlock()
		for _, c := range tabs {
			c()
		}
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so that a broken install fails here, clearly.
	// The first call must not have a deadline: the browser lives as long
	// as the context of that call.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: starting %s: %v", ChromiumPath, err)
	}
	return b
}

// Tab returns the first tab's context, for chromedp.Do and chromedp.Run
// or the Browser's Do and Run.
func (b *Browser) Tab() context.Context { return b.ctx }

// NewTab opens another tab in the same browser (sharing its cookies) and
// returns its context; it is closed when the test ends.
func (b *Browser) NewTab() context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.mu.Lock()
	b.tabsDone = append(b.tabsDone, cancel)
	b.mu.Unlock()
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("browsertest: opening a tab: %v", err)
	}
	return ctx
}

// Dir returns the directory the screenshots go to.
func (b *Browser) Dir() string { return b.dir }

// Do runs steps in tab, bounded by StepTimeout, and fails the test with
// the step's name when one fails; a screenshot of the tab as it was then
// is saved beside the others.
func (b *Browser) Do(tab context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.failStep(tab, step, err)
	}
}

// Run runs one action that answers a value (a text, a location) in tab,
// bounded by StepTimeout, and returns the value; it fails the test as Do.
func Run[T any](b *Browser, tab context.Context, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.failStep(tab, step, err)
	}
	return v
}

// failStep fails the test for a step that failed with err, with the
// tab's address and a screenshot.
func (b *Browser) failStep(tab context.Context, step string, err error) {
	b.t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("nothing happened within %v: %w", StepTimeout, err)
	}
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	path := b.shot(tab, "FAILED-"+step)
	b.t.Fatalf("browser step %q failed at %s: %v (screenshot: %s)", step, url, err, path)
}

// Screenshot saves a screenshot of the whole page in tab as
// NN-name.png and returns its path.
func (b *Browser) Screenshot(tab context.Context, name string) string {
	b.t.Helper()
	path := b.shot(tab, name)
	if path == "" {
		b.t.Fatalf("browsertest: screenshot %q failed", name)
	}
	return path
}

// shot saves a screenshot and returns its path, or "" on failure (logged).
func (b *Browser) shot(tab context.Context, name string) string {
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("browsertest: screenshot %q: %v", name, err)
		return ""
	}
	b.mu.Lock()
	b.shots++
	n := b.shots
	b.mu.Unlock()
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", n, safeName(name)))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("browsertest: saving screenshot %q: %v", name, err)
		return ""
	}
	return path
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName makes s usable in a file name.
func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
