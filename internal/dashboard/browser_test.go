package dashboard

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package.
const chromiumPath = "/usr/bin/chromium"

// chartBox is the rendered size of one SVG chart.
type chartBox struct {
	ID     string  `json:"id"`
	Width  float64 `json:"w"`
	Height float64 `json:"h"`
	Marks  int     `json:"marks"` // polylines, circles and bars drawn
}

// TestBrowser renders the overview in headless Chromium at laptop and phone
// widths, checks the table and charts, and saves screenshots (see saveScreenshot).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium not installed at %s (apt-get install -y chromium): %v", chromiumPath, err)
	}
	const miners = 24
	s, _ := newTestServer(t, newFake(miners), 12)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)

	// run runs one typed action or fails the test.
	run := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromedp %s: %v", what, err)
		}
	}
	run("load", chromedp.Do(bctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(srv.URL+"/?sort=weight&dir=desc"),
		chromedp.WaitVisible(chromedp.CSS("#miners")),
	))
	gotTitle, err := chromedp.Run(bctx, chromedp.Title())
	run("title", err)
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#miners tbody tr').length`))
	run("count rows", err)
	verdictRows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#verdicts tbody tr').length`))
	run("count verdicts", err)
	failedTips, err := chromedp.Run(bctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll('#miners .tag.fail')).filter(e => e.title.includes('no model of the table fits')).length`))
	run("count failed proofs", err)
	charts, err := chromedp.Run(bctx, chromedp.Evaluate[[]chartBox](`Array.from(document.querySelectorAll('svg.chart')).map(e => {
		const r = e.getBoundingClientRect();
		return {id: e.id, w: r.width, h: r.height, marks: e.querySelectorAll('polyline, circle, rect').length};
	})`))
	run("measure charts", err)
	wide, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	run("screenshot", err)

	run("narrow viewport", chromedp.Do(bctx,
		chromedp.EmulateViewport(375, 812),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#miners")),
	))
	scrollW, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	run("page width", err)
	narrow, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	run("narrow screenshot", err)

	if gotTitle != "SN27 test" {
		t.Errorf("title %q; want %q", gotTitle, "SN27 test")
	}
	if rows != miners {
		t.Errorf("miners table has %d rows; want %d", rows, miners)
	}
	// newFake proves every sixth miner and fails every sixth from uid 3.
	if verdictRows != 8 || failedTips != 4 {
		t.Errorf("%d verdict rows and %d failed proofs with their reason as tooltip; want 8 and 4", verdictRows, failedTips)
	}
	if len(charts) != 3 {
		t.Fatalf("found %d charts; want 3: %+v", len(charts), charts)
	}
	for _, c := range charts {
		if c.Width <= 0 || c.Height <= 0 || c.Marks == 0 {
			t.Errorf("chart %s rendered %.0f×%.0f with %d marks; want a non-zero size and marks", c.ID, c.Width, c.Height, c.Marks)
		}
	}
	if scrollW > 375 {
		t.Errorf("page is %d px wide at a 375 px viewport; want no horizontal page scroll", scrollW)
	}
	saveScreenshot(t, "screenshot.png", wide)
	saveScreenshot(t, "screenshot-375.png", narrow)
}

// saveScreenshot writes png as a test artifact under $TMPDIR/sn27-test-artifacts
// (kept after the test), or into testdata/ when
// SN27_UPDATE_SCREENSHOTS=1, and logs where.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("%s: screenshot is not a PNG (%d bytes)", name, len(png))
		return
	}
	dir := filepath.Join(os.TempDir(), "sn27-test-artifacts")
	if os.Getenv("SN27_UPDATE_SCREENSHOTS") == "1" {
		dir = "testdata"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("save %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("save %s: %v", name, err)
		return
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot saved to %s (%d bytes)", abs, len(png))
}
