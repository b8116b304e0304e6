package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// TestConsolePagesThroughAFilteredRunList: in Chromium, a person filters
// the run list to one task's failures and clicks "Older runs →" until
// there is none; every page keeps the filter (rows and form), and every
// matching run shows up exactly once, newest first.
func TestConsolePagesThroughAFilteredRunList(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	for _, name := range []string{"bench", "other"} {
		if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: name, Rule: "0 * * * *", TimeZone: "UTC",
			TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOff, Overlap: tasktype.OverlapAllowAll}); err != nil {
			t.Fatal(err)
		}
	}
	// 780 runs a second apart: every third is a failure of bench (260),
	// the others succeeded, of bench or of other.
	if _, err := env.Store.Pool().Exec(ctx, `
		INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, start_time,
			end_time, status, exit_code)
		SELECT CASE WHEN i % 3 = 1 THEN 'other' ELSE 'bench' END, 'v' || i, 'wf' || i, 'r' || i,
			now() - i * interval '1 second', now() - i * interval '1 second', now() - i * interval '1 second' + interval '50 ms',
			CASE WHEN i % 3 = 0 THEN 'failed' ELSE 'succeeded' END, CASE WHEN i % 3 = 0 THEN 1 ELSE 0 END
		FROM generate_series(1, 780) AS i`); err != nil {
		t.Fatal(err)
	}
	var want []string
	rows, err := env.Store.Pool().Query(ctx, `SELECT id::text FROM t_task_exec_list
		WHERE task_name = 'bench' AND status = 'failed' ORDER BY start_time DESC, id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	rows.Close()
	hash, err := webui.HashPassword("viewer password")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.UpsertUser(ctx, store.User{Username: "vera", PasswordHash: hash, Role: string(webui.RoleViewer)}); err != nil {
		t.Fatal(err)
	}
	srv, err := webui.New(env.Store, slog.New(slog.DiscardHandler), webui.Options{Namespace: "default", TasksDir: env.Config.TasksDir})
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, srv)

	bctx := headlessChrome(t, 2*time.Minute)
	run := chromeRunner(t, bctx)
	// waitFor waits until cond holds on a loaded page: a click's navigation
	// ends the page a wait started on, so each try is a fresh evaluation.
	waitFor := func(cond string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() string {
			var ok bool
			if err := chromedp.Run(bctx, chromedp.Evaluate(`(`+cond+`) && document.readyState === "complete"`, &ok)); err != nil {
				return err.Error()
			}
			if !ok {
				return "not yet: " + cond
			}
			return ""
		})
	}

	run("log in", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=username]`, "vera", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, "viewer password", chromedp.ByQuery),
		chromedp.Click(`form.login button`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.filters`, chromedp.ByQuery))
	run("filter", chromedp.Evaluate(`document.querySelector("select[name=task]").value = "bench";
			document.querySelector("select[name=status]").value = "failed"`, nil),
		chromedp.Click(`form.filters button[type=submit]`, chromedp.ByQuery))
	waitFor(`location.search.includes("task=bench")`)

	// page is what one page of the list shows.
	type page struct {
		IDs, Tasks, Statuses []string
		Task, Status, Href   string
		Older                bool
	}
	const read = `(() => {
		const cells = i => Array.from(document.querySelectorAll("table tr")).filter(r => r.cells.length >= 8 && r.cells[0].tagName === "TD").map(r => r.cells[i].innerText.trim());
		const older = document.getElementById("older-runs");
		return {IDs: cells(0), Tasks: cells(1), Statuses: cells(3),
			Task: document.querySelector("select[name=task]").value, Status: document.querySelector("select[name=status]").value,
			Href: location.href, Older: !!older};
	})()`
	var got []string
	for n := 1; ; n++ {
		if n > 20 {
			t.Fatalf("still paging after %d pages", n)
		}
		var p page
		run(fmt.Sprintf("read page %d", n), chromedp.Evaluate(read, &p))
		if len(p.IDs) == 0 {
			t.Fatalf("page %d (%s) lists no runs", n, p.Href)
		}
		for i := range p.IDs {
			if p.Tasks[i] != "bench" || p.Statuses[i] != "failed" {
				t.Fatalf("page %d (%s): run %s of %s, %s does not match the filter", n, p.Href, p.IDs[i], p.Tasks[i], p.Statuses[i])
			}
		}
		if p.Task != "bench" || p.Status != "failed" {
			t.Errorf("page %d (%s): the form shows task %q, status %q; want bench, failed", n, p.Href, p.Task, p.Status)
		}
		got = append(got, p.IDs...)
		if !p.Older {
			break
		}
		run(fmt.Sprintf("click Older runs → on page %d", n), chromedp.Click(`#older-runs`, chromedp.ByQuery))
		waitFor(fmt.Sprintf(`location.href !== %q`, p.Href))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("paging listed %d runs, want the %d matching ones, each once, newest first", len(got), len(want))
	}
}
