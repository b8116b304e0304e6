package e2e

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/schetask/schetask/webui"
)

// serveConsole serves srv on a free loopback port until the test ends
// and returns its base URL.
func serveConsole(t *testing.T, srv *webui.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.RunListener(ctx, ln) }()
	t.Cleanup(func() { stop(); <-done })
	return "http://" + ln.Addr().String()
}

// headlessChrome starts Debian's Chromium, headless, with a profile of
// the test's own, for at most timeout; it is gone when the test ends.
func headlessChrome(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	bctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return bctx
}

// chromeRunner runs actions in the browser, failing the test with what
// was being done.
func chromeRunner(t *testing.T, bctx context.Context) func(what string, actions ...chromedp.Action) {
	return func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// chromeText reads the text of the first element matching a selector.
func chromeText(t *testing.T, run func(string, ...chromedp.Action)) func(sel string) string {
	return func(sel string) string {
		t.Helper()
		var out string
		run("read "+sel, chromedp.Text(sel, &out, chromedp.ByQuery))
		return out
	}
}
