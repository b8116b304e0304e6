package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// pagesRun makes a finished run of task through the store, scheduled at
// when, with a log holding logText and, when files is not nil, an archive
// of them.
func pagesRun(t *testing.T, env *testenv.Env, task string, when time.Time, logText string, files map[string]string) tasktype.Run {
	t.Helper()
	ctx := context.Background()
	layout := tasktype.Layout{Root: env.Config.TasksDir}
	run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: task, WorkflowID: "wf-" + when.Format(time.RFC3339),
		RunID: "r", ScheduledTime: when, Location: time.UTC,
		LogPath: func(version string) (string, error) { return layout.LogPath(task, version) }})
	if err != nil {
		t.Fatal(err)
	}
	write := func(rel, content string) {
		p := layout.Abs(rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(run.LogPath, logText)
	finish := store.FinishRunParams{RunID: run.ID, Status: tasktype.RunSucceeded}
	if files != nil {
		if finish.HistoryPath, err = layout.HistoryPath(task, run.Version); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			write(filepath.Join(finish.HistoryPath, name), content)
			finish.PublishedFiles = append(finish.PublishedFiles, name)
		}
	}
	if run, err = env.Store.FinishRun(ctx, finish); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestConsolePagesInARealBrowser clicks through long listings as a person
// would: a 100,000-line log from its start to its end with "later →",
// and 300 history versions with "Older versions →", then compares the
// oldest version with the newest. No line and no version may be missed
// or shown twice.
func TestConsolePagesInARealBrowser(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "prices", Rule: "*/10 * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		t.Fatal(err)
	}
	hash, err := webui.HashPassword("viewer password")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.UpsertUser(ctx, store.User{Username: "vera", PasswordHash: hash, Role: string(webui.RoleViewer)}); err != nil {
		t.Fatal(err)
	}
	var logText strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&logText, "line %06d of the log\n", i)
	}
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	longRun := pagesRun(t, env, "prices", start.Add(-time.Hour), logText.String(), nil)
	var versions []int64 // oldest first
	for i := range 300 {
		r := pagesRun(t, env, "prices", start.Add(time.Duration(i)*10*time.Second), "ok\n",
			map[string]string{"price.txt": fmt.Sprintf("price %d\n", i)})
		versions = append(versions, r.ID)
	}

	srv, err := webui.New(env.Store, slog.New(slog.DiscardHandler), webui.Options{Namespace: "default", TasksDir: env.Config.TasksDir})
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, srv)

	bctx := headlessChrome(t, 3*time.Minute)
	run := chromeRunner(t, bctx)
	// has reports whether the page has an element matching sel.
	has := func(sel string) bool {
		t.Helper()
		var ok bool
		run("look for "+sel, chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q) !== null`, sel), &ok))
		return ok
	}
	// click follows the link sel and waits for the page it leads to.
	click := func(sel string) {
		t.Helper()
		var from string
		run("before clicking "+sel, chromedp.Location(&from), chromedp.Click(sel, chromedp.ByQuery))
		testenv.Eventually(t, 10*time.Second, func() string {
			var at, state string
			if err := chromedp.Run(bctx, chromedp.Location(&at), chromedp.Evaluate(`document.readyState`, &state)); err != nil {
				return err.Error()
			}
			if at == from || state != "complete" {
				return fmt.Sprintf("still at %s (%s) after clicking %s", at, state, sel)
			}
			return ""
		})
	}

	run("log in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=username]`, "vera", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, "viewer password", chromedp.ByQuery),
		chromedp.Click(`form.login button`, chromedp.ByQuery), chromedp.WaitVisible(`#logout`, chromedp.ByQuery))

	// The log, from its start, one "later →" after another, to its end.
	run("the log's start", chromedp.Navigate(fmt.Sprintf("%s/runs/%d?log=0", base, longRun.ID)),
		chromedp.WaitVisible(`#log`, chromedp.ByQuery))
	var shown strings.Builder
	pages := 0
	for {
		var text string
		run("read the log", chromedp.Evaluate(`document.getElementById("log").textContent`, &text))
		shown.WriteString(text)
		if pages++; pages > 100 {
			t.Fatal("more than 100 pages of log")
		}
		if !has("#log-later") {
			break
		}
		click("#log-later")
	}
	if got := shown.String(); got != logText.String() {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(logText.String(), "\n")
		i := 0
		for i < min(len(gotLines), len(wantLines)) && gotLines[i] == wantLines[i] {
			i++
		}
		t.Errorf("%d pages of log show %d lines, want the log's %d, each once; first difference at line %d", pages,
			len(gotLines)-1, len(wantLines)-1, i)
	}
	if pages < 10 {
		t.Errorf("the log took %d pages, want it paged", pages)
	}

	// History, one "Older versions →" after another.
	run("history", chromedp.Navigate(base+"/tasks/prices/history"), chromedp.WaitVisible(`#diff-form`, chromedp.ByQuery))
	var listed []int64
	for pages = 1; ; pages++ {
		var ids []int64
		run("read the versions", chromedp.Evaluate(
			`[...document.querySelectorAll("#diff-form input[name=b]")].map(e => Number(e.value))`, &ids))
		listed = append(listed, ids...)
		if pages > 20 {
			t.Fatal("more than 20 pages of history")
		}
		if !has("#older") {
			break
		}
		click("#older")
	}
	newestFirst := slices.Clone(versions)
	slices.Reverse(newestFirst)
	if !slices.Equal(listed, newestFirst) {
		t.Fatalf("%d pages of history list %d versions, want the 300, each once, newest first", pages, len(listed))
	}

	// The oldest (on this last page) against the newest (on the first).
	oldest, newest := versions[0], versions[len(versions)-1]
	click(fmt.Sprintf(`a.compare-with[href$="with=%d"]`, oldest))
	for has("#newer") {
		click("#newer")
	}
	click(fmt.Sprintf(`a.diff-with[href*="b=%d&"]`, newest))
	var diff string
	run("read the diff", chromedp.WaitVisible(`pre.diff`, chromedp.ByQuery), chromedp.Text(`pre.diff`, &diff, chromedp.ByQuery))
	if !strings.Contains(diff, "-price 0") || !strings.Contains(diff, "+price 299") {
		t.Errorf("diff of the oldest and the newest versions: %q", diff)
	}
}
