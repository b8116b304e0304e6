package e2e

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/janitor"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// keepTask publishes a file and succeeds until its folder holds FAIL,
// then fails without publishing.
const keepTask = `if [ -e "$SCHETASK_TASK_DIR/FAIL" ]; then echo failing; exit 1; fi
echo "$SCHETASK_TASK_VERSION" > "$SCHETASK_PUBLISH_DIR/out.txt"
echo published
`

// TestRetentionKeepsFiveRunsTheirFilesAndTheLastGoodHistory: a task on
// "* * * * * *" with keep_runs = 5, with the janitor passing every two
// seconds, holds at steady state at most its five newest runs (and the
// newest successful one, which keeps its history however old), with
// exactly their log files and history folders on disk; the console links
// to no file that is gone.
func TestRetentionKeepsFiveRunsTheirFilesAndTheLastGoodHistory(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	ctx := context.Background()
	dir := s.writeTask(t, "keep", map[string]string{"index.sh": keepTask})
	five := 5
	s.insertTask(t, &testenv.TaskOpts{Name: "keep", Rule: "* * * * * *", KeepRuns: &five})

	cfg := serviceconfig.Janitor(s.env.Config)
	cfg.Interval = 2 * time.Second
	j, err := janitor.New(cfg, s.env.Store, s.env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	jctx, stopJanitor := context.WithCancel(ctx)
	jDone := make(chan struct{})
	go func() { defer close(jDone); _ = j.Run(jctx) }()
	t.Cleanup(func() { stopJanitor(); <-jDone })

	good := s.waitRun(t, "keep", 30*time.Second, "succeeded with a history", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.HistoryPath != ""
	})
	if err := os.WriteFile(filepath.Join(dir, "FAIL"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Runs that started before FAIL existed may still succeed: the last
	// good one is the newest succeeded once failures follow it.
	s.waitRun(t, "keep", 30*time.Second, "failed after the last success", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunFailed && r.ID > good.ID
	})
	for _, r := range s.runs(t, "keep") {
		if r.Status == tasktype.RunSucceeded && r.HistoryPath != "" && r.ID > good.ID {
			good = r
		}
	}
	first := good.ID

	// Steady state: at least 15 runs after the last good one, and for
	// 30 s after that the table never holds more ended runs than the five
	// kept, the last good one and the two or three that ended since the
	// janitor's last pass (one a second, a pass every two), nor more than
	// one or two running besides.
	testenv.Eventually(t, 60*time.Second, func() string {
		runs := s.runs(t, "keep")
		if len(runs) == 0 || runs[0].ID < first+15 {
			return "fewer than 15 runs since the last good one: " + describeRuns(runs)
		}
		return ""
	})
	const mostEnded, most = 5 + 1 + 3, 5 + 1 + 3 + 2
	steady := time.Now().Add(30 * time.Second)
	for time.Now().Before(steady) {
		runs := s.runs(t, "keep")
		ended := 0
		for _, r := range runs {
			if r.Status != tasktype.RunRunning {
				ended++
			}
		}
		if len(runs) > most || ended > mostEnded {
			t.Fatalf("%d runs (%d ended), want at most %d (%d ended): %s", len(runs), ended, most, mostEnded, describeRuns(runs))
		}
		time.Sleep(time.Second) // sampling, not waiting for a condition
	}

	// With the janitor stopped after a last pass, the disk and the rows agree.
	stopJanitor()
	<-jDone
	if _, err := j.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	runs := s.runs(t, "keep")
	if !slices.ContainsFunc(runs, func(r tasktype.Run) bool { return r.ID == good.ID }) {
		t.Errorf("the last good run #%d is gone: %s", good.ID, describeRuns(runs))
	}
	if _, err := os.Stat(filepath.Join(s.layout.Abs(good.HistoryPath), "out.txt")); err != nil {
		t.Errorf("the last good run's history: %v", err)
	}
	logs, histories := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		l, _ := s.layout.LogPath("keep", r.Version)
		h, _ := s.layout.HistoryPath("keep", r.Version)
		logs[l], histories[h] = true, true
		if r.Status == tasktype.RunRunning {
			continue
		}
		if _, err := os.Stat(s.layout.Abs(r.LogPath)); err != nil {
			t.Errorf("run #%d's log: %v", r.ID, err)
		}
		if r.HistoryPath != "" {
			if _, err := os.Stat(s.layout.Abs(r.HistoryPath)); err != nil {
				t.Errorf("run #%d's history: %v", r.ID, err)
			}
		}
	}
	// Files are created after their row and removed after it: none is left
	// of a deleted run.
	for _, top := range []string{"logs", "history"} {
		_ = filepath.WalkDir(filepath.Join(dir, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(s.layout.Root, path)
			switch {
			case top == "logs" && d.Type().IsRegular() && !logs[rel]:
				t.Errorf("log file %s belongs to no run", rel)
			case top == "history" && d.IsDir() && strings.Count(rel, string(filepath.Separator)) == 3 && !histories[rel]:
				t.Errorf("history folder %s belongs to no run", rel)
				return filepath.SkipDir
			}
			return nil
		})
	}

	// The console links to no file that is gone.
	checkConsoleLinks(t, s, "/tasks/keep", "/tasks/keep/history")
}

var runLinkRE = regexp.MustCompile(`href="(/runs/\d+[^"]*)"`)

// checkConsoleLinks logs in to a console and follows, from each of pages,
// every link to a run, and from each run page every link to its log or
// files; every one must answer 200.
func checkConsoleLinks(t *testing.T, s *system, pages ...string) {
	t.Helper()
	ctx := context.Background()
	hash, err := webui.HashPassword("viewer password")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.env.Store.UpsertUser(ctx, store.User{Username: "vic", PasswordHash: hash, Role: string(webui.RoleViewer)}); err != nil {
		t.Fatal(err)
	}
	srv, err := webui.New(s.env.Store, slog.New(slog.DiscardHandler), webui.Options{Namespace: "default", TasksDir: s.env.Config.TasksDir})
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, srv)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, login := get("/login")
	token := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(login)
	if token == nil {
		t.Fatal("no CSRF token on the login page")
	}
	resp, err := c.PostForm(base+"/login", url.Values{"_csrf": {token[1]}, "username": {"vic"}, "password": {"viewer password"}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	seen := map[string]bool{}
	checked := 0
	var follow func(page string, depth int)
	follow = func(page string, depth int) {
		code, body := get(page)
		if code != http.StatusOK {
			t.Errorf("%s: %d", page, code)
			return
		}
		for _, m := range runLinkRE.FindAllStringSubmatch(body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if seen[link] || strings.HasSuffix(link, "/stream") {
				continue
			}
			seen[link] = true
			checked++
			if depth == 0 {
				follow(link, 1)
				continue
			}
			if code, _ := get(link); code != http.StatusOK {
				t.Errorf("%s links to %s: %d", page, link, code)
			}
		}
	}
	for _, p := range pages {
		follow(p, 0)
	}
	if checked < 5 {
		t.Errorf("followed %d links from %v: the pages link to fewer runs than kept", checked, pages)
	}
	t.Logf("followed %d console links", checked)
}
