package browsertest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"zhifu/internal/browsertest"
)

// TestBrowserShowsPageAndSavesScreenshot opens a page with Chinese text in
// the browser, reads it back, and checks that the screenshot is a PNG file
// in the logged directory.
func TestBrowserShowsPageAndSavesScreenshot(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>t</title><p id="greeting">你好 hello</p>`)
	}))
	defer srv.Close()
	b := browsertest.New(t)
	tab := b.Tab()
	b.Do(tab, "open the page", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS("#greeting")))
	if got := browsertest.Run(b, tab, "read the text", chromedp.Text(chromedp.CSS("#greeting"))); got != "你好 hello" {
		t.Errorf("the page says %q, want %q", got, "你好 hello")
	}
	path := b.Screenshot(tab, "greeting")
	if filepath.Dir(path) != b.Dir() {
		t.Errorf("screenshot %s is not in %s", path, b.Dir())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 8 || string(data[1:4]) != "PNG" {
		t.Errorf("%s is not a PNG file", path)
	}
	// A second tab shares the browser.
	other := b.NewTab()
	b.Do(other, "open the page in a second tab", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS("#greeting")))
}
