package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// consoleTask fails on purpose, leaves a JSON file in publish/ that
// differs from run to run, and, while a file named SLEEP exists in its
// folder, runs until killed, writing a line every 300 ms.
const consoleTask = `const fs = require('fs'), path = require('path');
const stamp = new Date().toISOString();
fs.mkdirSync(path.join(__dirname, 'publish'), { recursive: true });
fs.writeFileSync(path.join(__dirname, 'publish', 'result.json'), JSON.stringify({ stamp, note: '<b>not bold</b>' }));
console.log('working on ' + stamp);
if (fs.existsSync(path.join(__dirname, 'SLEEP'))) {
  let n = 0;
  setInterval(() => console.log('tick ' + (++n)), 300);
} else {
  console.error('boom <script>alert(1)</script> at ' + stamp);
  process.exit(3);
}
`

// chromium finds Debian's Chromium.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("SCHETASK_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatal("browser tests need Chromium: apt-get install chromium (or set SCHETASK_CHROMIUM); .ci/run installs it")
	return ""
}

// TestConsoleInARealBrowser drives headless Chromium through what an
// operator on call does: log in, create a task with a seconds rule, watch
// its runs appear, read a failing run's stderr, download its log, browse
// and diff two history versions, watch a running run's log grow, kill it,
// and log out. With SCHETASK_SCREENSHOTS=<dir> it also saves a screenshot
// of each screen there (docs/screenshots holds the committed ones).
func TestConsoleInARealBrowser(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	ctx := context.Background()
	s.writeTask(t, "flaky", map[string]string{"index.js": consoleTask})
	hash, err := webui.HashPassword("admin password")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.env.Store.UpsertUser(ctx, store.User{Username: "ada", PasswordHash: hash, Role: string(webui.RoleAdmin)}); err != nil {
		t.Fatal(err)
	}
	srv, err := webui.New(s.env.Store, slog.New(slog.DiscardHandler), webui.Options{
		TemporalUIURL: "http://localhost:8233", Namespace: "default", TasksDir: s.env.Config.TasksDir, Control: s.control})
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, srv)

	downloads := t.TempDir()
	shots := os.Getenv("SCHETASK_SCREENSHOTS")
	bctx := headlessChrome(t, 3*time.Minute)

	run := chromeRunner(t, bctx)
	text := chromeText(t, run)
	// waitText reloads url until the text of sel satisfies ok.
	waitText := func(url, sel string, timeout time.Duration, ok func(string) bool) string {
		t.Helper()
		var out string
		testenv.Eventually(t, timeout, func() string {
			out = ""
			if err := chromedp.Run(bctx, chromedp.Navigate(url), chromedp.WaitReady("body", chromedp.ByQuery),
				chromedp.Evaluate(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel), &out)); err != nil {
				return err.Error()
			}
			if !ok(out) {
				return fmt.Sprintf("%s on %s says %q", sel, url, out)
			}
			return ""
		})
		return out
	}
	shot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		var png []byte
		run("screenshot "+name, chromedp.FullScreenshot(&png, 100))
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Log in: any page sends us to the login form first.
	run("log in",
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Navigate(base+"/tasks/flaky"),
		chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))
	shot("login")
	run("submit login",
		chromedp.SendKeys(`input[name=username]`, "ada", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, "admin password", chromedp.ByQuery),
		chromedp.Click(`form.login button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#logout`, chromedp.ByQuery))

	// Create a task; the rule is explained as it is typed, and a bad one is flagged before submitting.
	run("open the form", chromedp.Navigate(base+"/create"), chromedp.WaitVisible(`#rule`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=name]`, "flaky", chromedp.ByQuery),
		chromedp.SendKeys(`#rule`, "*/2 25 * * *", chromedp.ByQuery))
	run("bad rule flagged", chromedp.Poll(`document.getElementById("rule-preview").innerText.includes("hour: 25 is out of range 0-23")`, nil,
		chromedp.WithPollingTimeout(10*time.Second)))
	run("fix the rule", chromedp.Evaluate(`document.getElementById("rule").value = ""`, nil), chromedp.SendKeys(`#rule`, "*/2 * * * * *", chromedp.ByQuery))
	run("good rule explained", chromedp.Poll(`document.getElementById("rule-preview").innerText.startsWith("every 2 seconds")`, nil,
		chromedp.WithPollingTimeout(10*time.Second)))
	run("owners", chromedp.SendKeys(`input[name=owners]`, "ops@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`textarea[name=description]`, "fails on purpose; sleeps while task/flaky/SLEEP exists", chromedp.ByQuery))
	shot("task-form")
	run("create", chromedp.Click(`#taskform button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`#rule-words`, chromedp.ByQuery))
	if got := text(`#rule-words`); got != "every 2 seconds" {
		t.Errorf("task page says the rule is %q", got)
	}
	if page := text("main"); !strings.Contains(page, "node task/flaky/index.js") {
		t.Errorf("task page does not show the deployed entrypoint:\n%s", page)
	}

	// Runs appear on the task page as the schedule fires.
	waitText(base+"/tasks/flaky", "main table", 30*time.Second, func(s string) bool { return strings.Count(s, "failed") >= 3 })
	shot("task")
	run("overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`table.tasks`, chromedp.ByQuery))
	if rows := text("table.tasks"); !strings.Contains(rows, "every 2 seconds") || !strings.Contains(rows, "failed (3)") {
		t.Errorf("task list: %q", rows)
	}
	shot("tasks")
	run("runs", chromedp.Navigate(base+"/runs?task=flaky&exit=3"), chromedp.WaitVisible(`main table`, chromedp.ByQuery))
	shot("runs")

	// A failing run: its stderr, escaped, and its log downloaded.
	failed := s.waitRun(t, "flaky", 10*time.Second, "failed", func(r tasktype.Run) bool { return r.Status == tasktype.RunFailed })
	run("open the failing run", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", base, failed.ID)), chromedp.WaitVisible(`#stderr`, chromedp.ByQuery))
	if stderr := text("#stderr"); !strings.Contains(stderr, "boom <script>alert(1)</script> at ") {
		t.Errorf("stderr on the run page: %q", stderr)
	}
	shot("run")
	run("download the log", chromedp.Click(`#download-log`, chromedp.ByQuery))
	var logFile string
	testenv.Eventually(t, 10*time.Second, func() string {
		matches, _ := filepath.Glob(filepath.Join(downloads, "flaky-*.log"))
		if len(matches) == 0 {
			return "no log downloaded yet"
		}
		logFile = matches[0]
		return ""
	})
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), "working on") || !strings.Contains(string(b), "boom <script>") {
		t.Errorf("downloaded log %s: %q, %v", logFile, b, err)
	}

	// History: two versions of result.json, viewed pretty and diffed.
	run("history", chromedp.Navigate(base+"/tasks/flaky/history"), chromedp.WaitVisible(`#diff-form`, chromedp.ByQuery))
	shot("history")
	run("diff", chromedp.Click(`#diff`, chromedp.ByQuery), chromedp.WaitVisible(`pre.diff`, chromedp.ByQuery))
	if diff := text("pre.diff"); !strings.Contains(diff, "-  \"stamp\": ") || !strings.Contains(diff, "+  \"stamp\": ") ||
		!strings.Contains(diff, "\n   \"note\": \"<b>not bold</b>\"") {
		t.Errorf("diff of two versions, want the stamp changed and the note as context: %q", diff)
	}
	shot("diff")
	run("view a file", chromedp.Navigate(base+"/tasks/flaky/history"), chromedp.WaitVisible(`#diff-form`, chromedp.ByQuery),
		chromedp.Click(`#diff-form a[href*="result.json"]`, chromedp.ByQuery), chromedp.WaitVisible(`pre.file`, chromedp.ByQuery))
	if file := text("pre.file"); !strings.Contains(file, "\n  \"note\": \"<b>not bold</b>\"\n") {
		t.Errorf("result.json is not shown pretty-printed: %q", file)
	}
	shot("file")

	// A run that goes on: its log grows on the page, then we kill it.
	if err := os.WriteFile(filepath.Join(s.env.Config.TasksDir, "flaky", "SLEEP"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	long := s.waitRun(t, "flaky", 20*time.Second, "is running", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunRunning && r.PID != nil
	})
	run("open the running run", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", base, long.ID)), chromedp.WaitVisible(`#live-log`, chromedp.ByQuery))
	run("its log grows", chromedp.Poll(`document.getElementById("live-log").textContent.includes("tick 5")`, nil,
		chromedp.WithPollingTimeout(15*time.Second)))
	shot("run-live")
	run("kill", chromedp.Navigate(base+"/tasks/flaky"), chromedp.WaitVisible(`#kill`, chromedp.ByQuery),
		chromedp.Click(`#kill`, chromedp.ByQuery), chromedp.WaitVisible(`#rule-words`, chromedp.ByQuery))
	s.waitRun(t, "flaky", 15*time.Second, "was killed", func(r tasktype.Run) bool { return r.ID == long.ID && r.Status == tasktype.RunKilled })
	if err := os.Remove(filepath.Join(s.env.Config.TasksDir, "flaky", "SLEEP")); err != nil {
		t.Fatal(err)
	}
	waitText(fmt.Sprintf("%s/runs/%d", base, long.ID), "main dl", 10*time.Second, func(s string) bool { return strings.Contains(s, "killed") })

	// Log out: the console is closed again.
	run("log out", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`#logout`, chromedp.ByQuery),
		chromedp.Click(`#logout`, chromedp.ByQuery), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))
	var url string
	run("after logout", chromedp.Navigate(base+"/tasks/flaky"), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery), chromedp.Location(&url))
	if !strings.Contains(url, "/login?next=") {
		t.Errorf("after logout a task page leads to %s, want the login page", url)
	}
}
