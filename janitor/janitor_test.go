package janitor_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/janitor"
	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/tasktype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testBundle is the world a janitor test works in.
type testBundle struct {
	env    *testenv.Env
	layout tasktype.Layout
}

func setup(t *testing.T, now time.Time) (*janitor.Janitor, *testBundle) {
	t.Helper()
	env := testenv.New(t)
	j, err := janitor.New(serviceconfig.Janitor(env.Config), env.Store, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	j.Now = func() time.Time { return now }
	return j, &testBundle{env: env, layout: tasktype.Layout{Root: env.Config.TasksDir}}
}

// fileRun is a run with its files on disk, as a worker leaves them.
type fileRun struct {
	start   time.Time
	status  tasktype.RunStatus
	history bool
}

// writeRuns inserts the task's runs and writes their log files (and
// history folders), and returns their versions.
func (b *testBundle) writeRuns(t *testing.T, task string, runs []fileRun) []string {
	t.Helper()
	ctx := context.Background()
	versions := make([]string, len(runs))
	for i, r := range runs {
		v := tasktype.Version(r.start, time.UTC, 1)
		versions[i] = v
		logRel, _ := b.layout.LogPath(task, v)
		writeFile(t, b.layout.Abs(logRel), "log of "+v)
		historyRel := ""
		if r.history {
			historyRel, _ = b.layout.HistoryPath(task, v)
			writeFile(t, filepath.Join(b.layout.Abs(historyRel), "out", "data.json"), `{"v":"`+v+`"}`)
		}
		if _, err := b.env.Store.Pool().Exec(ctx, `INSERT INTO t_task_exec_list (task_name, task_version,
			workflow_id, run_id, scheduled_time, start_time, end_time, status, log_path, history_path)
			VALUES ($1, $2, $3, 'r', $4, $4, $4, $5, $6, $7)`,
			task, v, fmt.Sprintf("wf-%s-%d", task, i), r.start, r.status, logRel, historyRel); err != nil {
			t.Fatal(err)
		}
	}
	return versions
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lists the files and folders under the task's logs/ and history/.
func (b *testBundle) tree(t *testing.T, task string) string {
	t.Helper()
	var out []string
	root := filepath.Join(b.layout.Root, task)
	for _, top := range []string{"logs", "history"} {
		_ = filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err == nil {
				rel, _ := filepath.Rel(root, path)
				out = append(out, rel)
			}
			return nil
		})
	}
	return strings.Join(out, "\n")
}

func TestPassRemovesExpiredRunsWithTheirFilesAndEmptyFolders(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	j, b := setup(t, now)
	ctx := context.Background()
	two := 2
	testenv.Task(ctx, t, b.env.Store.Pool(), &testenv.TaskOpts{Name: "gold", KeepRuns: &two})
	b.writeRuns(t, "gold", []fileRun{
		{start: time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC), status: tasktype.RunFailed, history: true},
		{start: time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC), status: tasktype.RunSucceeded, history: true},
		{start: time.Date(2026, 2, 3, 11, 0, 0, 0, time.UTC), status: tasktype.RunFailed},
		{start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), status: tasktype.RunFailed, history: true},
		{start: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), status: tasktype.RunFailed},
	})
	// A link in an expired history folder to a file outside it: the link
	// goes, what it points to stays.
	outside := filepath.Join(b.layout.Root, "gold", "keep.txt")
	writeFile(t, outside, "not the janitor's")
	if err := os.Symlink(outside, filepath.Join(b.layout.Abs("gold/history/202601/10_100000"), "link")); err != nil {
		t.Fatal(err)
	}
	// keep_days of one day, with the shipped default of 30 days for a task
	// that sets none.
	one := 1
	testenv.Task(ctx, t, b.env.Store.Pool(), &testenv.TaskOpts{Name: "silver", KeepDays: &one})
	b.writeRuns(t, "silver", []fileRun{
		{start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), status: tasktype.RunFailed},
		{start: now.Add(-time.Hour), status: tasktype.RunFailed},
	})
	runsBefore := counter(t, "schetask_janitor_deleted_total", "runs")
	freedBefore := counter(t, "schetask_janitor_freed_bytes_total", "")

	st, err := j.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}

	wantGold := strings.Join([]string{
		"logs", "logs/202602", "logs/202602/03", "logs/202602/03/100000.log",
		"logs/202603", "logs/202603/01", "logs/202603/01/100000.log", "logs/202603/02", "logs/202603/02/100000.log",
		"history", "history/202602", "history/202602/03_100000", "history/202602/03_100000/out", "history/202602/03_100000/out/data.json",
		"history/202603", "history/202603/01_100000", "history/202603/01_100000/out", "history/202603/01_100000/out/data.json",
	}, "\n")
	if got := b.tree(t, "gold"); got != wantGold {
		t.Errorf("gold's files after the pass:\n%s\nwant:\n%s", got, wantGold)
	}
	wantSilver := "logs\nlogs/202603\nlogs/202603/10\nlogs/202603/10/110000.log"
	if got := b.tree(t, "silver"); got != wantSilver {
		t.Errorf("silver's files after the pass:\n%s\nwant:\n%s", got, wantSilver)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("the file a history link pointed to: %v", err)
	}
	var versions []string
	if err := b.env.Store.Pool().QueryRow(ctx, `SELECT array_agg(task_name || ' ' || task_version ORDER BY task_name, id)
		FROM t_task_exec_list`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(versions, ", "), "gold 202602/03/100000, gold 202603/01/100000, gold 202603/02/100000, silver 202603/10/110000"; got != want {
		t.Errorf("runs left: %s\nwant:       %s", got, want)
	}
	// gold: 2 runs, 2 logs, 1 history; silver: 1 run, 1 log. Folders:
	// gold's logs/202601/10, logs/202601, history/202601; silver's
	// logs/202603/01 (its month holds today's log).
	freed := int64(2*len("log of 202601/10/100000") + len(`{"v":"202601/10/100000"}`) + len("log of 202603/01/100000"))
	want := janitor.Stats{Runs: 3, Logs: 3, Histories: 1, Folders: 4, FreedBytes: freed}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	if got := counter(t, "schetask_janitor_deleted_total", "runs") - runsBefore; got != 3 {
		t.Errorf("schetask_janitor_deleted_total{kind=runs} rose by %g, want 3", got)
	}
	if got := counter(t, "schetask_janitor_freed_bytes_total", "") - freedBefore; got != float64(freed) {
		t.Errorf("schetask_janitor_freed_bytes_total rose by %g, want %d", got, freed)
	}

	// A second pass finds nothing more.
	if st, err := j.Pass(ctx); err != nil || st != (janitor.Stats{}) {
		t.Errorf("second pass = %+v, %v; want nothing freed", st, err)
	}
}

// counter reads a counter from the registry /metrics serves; kind picks
// the series of schetask_janitor_deleted_total.
func counter(t *testing.T, name, kind string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if kind == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == kind) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{kind=%q} series", name, kind)
	return 0
}

func TestNewRejectsABadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc string
		cfg  janitor.Config
		want string
	}{
		{desc: "relative tasks folder", cfg: janitor.Config{TasksDir: "task"}, want: "TasksDir"},
		{desc: "negative keep_runs", cfg: janitor.Config{TasksDir: "/t", KeepRuns: -1}, want: "KeepRuns"},
		{desc: "negative keep_days", cfg: janitor.Config{TasksDir: "/t", KeepDays: -1}, want: "KeepDays"},
		{desc: "negative interval", cfg: janitor.Config{TasksDir: "/t", Interval: -time.Second}, want: "Interval"},
		{desc: "negative duty", cfg: janitor.Config{TasksDir: "/t", Duty: -0.5}, want: "Duty"},
		{desc: "duty past 1", cfg: janitor.Config{TasksDir: "/t", Duty: 1.5}, want: "Duty"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := janitor.New(tt.cfg, nil, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestPassRemovesSettledChainWaitsPastRetention(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	j, b := setup(t, now)
	j.KeepDays = 30
	ctx := context.Background()
	one, none := 1, 0
	testenv.Task(ctx, t, b.env.Store.Pool(), &testenv.TaskOpts{Name: "daily", KeepDays: &one})
	testenv.Task(ctx, t, b.env.Store.Pool(), &testenv.TaskOpts{Name: "forever", KeepDays: &none})
	for i, w := range []struct {
		task, state string
		age         time.Duration
	}{
		{"daily", "started", 2 * 24 * time.Hour},     // past its 1 day: goes
		{"daily", "not_running", 2 * 24 * time.Hour}, // gave up, past its 1 day: goes
		{"daily", "waiting", 2 * 24 * time.Hour},     // a gate still waits: stays
		{"daily", "started", time.Hour},              // within its day: stays
		{"forever", "started", 400 * 24 * time.Hour}, // keep_days 0: stays
		{"gone", "started", 31 * 24 * time.Hour},     // no task row: the default's 30 days, goes
		{"gone", "started", 29 * 24 * time.Hour},     // within the default: stays
	} {
		at := now.Add(-w.age)
		logical := at.Add(time.Duration(i) * time.Minute) // one row per task and date
		if _, err := b.env.Store.Pool().Exec(ctx, `INSERT INTO t_chain_wait (task_name, logical_date, condition,
			upstreams, state, created_at, updated_at) VALUES ($1, $2, 'all_succeeded', '{up}', $3, $4, $4)`,
			w.task, logical, w.state, at); err != nil {
			t.Fatal(err)
		}
	}
	st, err := j.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ChainWaits != 3 {
		t.Errorf("chain waits deleted = %d, want 3", st.ChainWaits)
	}
	var left []string
	if err := b.env.Store.Pool().QueryRow(ctx, `SELECT array_agg(task_name || ' ' || state ORDER BY id)
		FROM t_chain_wait`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(left, ", "), "daily waiting, daily started, forever started, gone started"; got != want {
		t.Errorf("chain waits left: %s\nwant:              %s", got, want)
	}
}
