package control_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/worker"
	"github.com/schetask/schetask/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testBundle is one test's world: its control, and what made it.
type testBundle struct {
	env    *testenv.Env
	syncer *tasksync.Syncer
}

func setup(t *testing.T) (*control.Control, *testBundle) {
	t.Helper()
	env := testenv.New(t)
	syncer, err := tasksync.New(serviceconfig.Sync(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	ctl := &control.Control{Store: env.Store, Client: env.Temporal, ScheduleIDPrefix: env.Config.ScheduleIDPrefix}
	return ctl, &testBundle{env: env, syncer: syncer}
}

// task inserts a task declaring params, deploys script as its
// index.sh, and makes its schedule (removed after the test).
func (b *testBundle) task(t *testing.T, opts *testenv.TaskOpts, params []tasktype.Param, script string) string {
	t.Helper()
	ctx := context.Background()
	name := testenv.Task(ctx, t, b.env.Store.Pool(), opts)
	if params != nil {
		raw, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET params = $2 WHERE task_name = $1`, name, raw); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(b.env.Config.TasksDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := b.syncer.ReconcileTask(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.env.Temporal.ScheduleClient().GetHandle(context.Background(), b.env.Config.ScheduleIDPrefix+name).Delete(context.Background())
	})
	return name
}

// startWorker runs a worker on the test's task queue until the test ends.
func (b *testBundle) startWorker(t *testing.T) {
	t.Helper()
	w, err := worker.New(serviceconfig.Worker(b.env.Config), b.env.Store, b.env.Temporal, b.env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// A rule that never fires during a test: the runs are the test's own.
const never = "0 0 1 1 *"

var dayParams = []tasktype.Param{
	{Name: "day", Required: true, Pattern: `[0-9]{4}-[0-9]{2}-[0-9]{2}`},
	{Name: "mode", Default: "full"},
}

func TestRunWithParamsRefusesValuesTheTaskDoesNotTake(t *testing.T) {
	t.Parallel()
	ctl, b := setup(t)
	withParams := b.task(t, &testenv.TaskOpts{Rule: never}, dayParams, "#!/bin/sh\n")
	without := b.task(t, &testenv.TaskOpts{Rule: never}, nil, "#!/bin/sh\n")
	tests := []struct {
		desc   string
		task   string
		params map[string]string
		want   string
	}{
		{desc: "undeclared name", task: withParams, params: map[string]string{"day": "2026-01-02", "dya": "x"},
			want: `declares no parameter "dya" (it declares day, mode)`},
		{desc: "required missing", task: withParams, params: map[string]string{"mode": "quick"}, want: `parameter "day" is required`},
		{desc: "pattern not matched", task: withParams, params: map[string]string{"day": "2026-1-2; rm -rf /"},
			want: `does not match the pattern`},
		{desc: "a task that declares none", task: without, params: map[string]string{"day": "2026-01-02"},
			want: `the task declares no parameters, and "day" was given`},
	}
	for _, tt := range tests {
		_, err := ctl.RunWithParams(context.Background(), tt.task, tt.params, "alice")
		if !errors.Is(err, tasktype.ErrInvalidParams) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want ErrInvalidParams saying %q", tt.desc, err, tt.want)
		}
	}
	// Nothing started: no row, no workflow of the schedules'.
	var n int
	if err := b.env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM t_task_exec_list`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d runs recorded after refusals, want none", n)
	}
}

func TestRunWithParamsStartsARunThatGetsTheValues(t *testing.T) {
	t.Parallel()
	ctl, b := setup(t)
	b.startWorker(t)
	name := b.task(t, &testenv.TaskOpts{Rule: never}, dayParams,
		"#!/bin/sh\necho \"day=[$SCHETASK_PARAM_DAY] mode=[$SCHETASK_PARAM_MODE]\"\n")
	ctx := context.Background()
	id, err := ctl.RunWithParams(ctx, name, map[string]string{"day": "2026-11-26"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if prefix := b.env.Config.ScheduleIDPrefix + name + "-run-"; !strings.HasPrefix(id, prefix) {
		t.Errorf("workflow id %q, want it to start %q", id, prefix)
	}
	var res workflows.RunTaskResult
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := b.env.Temporal.GetWorkflow(wctx, id, "").Get(wctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != tasktype.RunSucceeded {
		t.Fatalf("run ended %s (%d): %s", res.Status, res.ExitCode, res.Error)
	}
	run, err := b.env.Store.GetRun(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"day": "2026-11-26", "mode": "full"}
	if !maps.Equal(run.Params, want) || run.WorkflowID != id {
		t.Errorf("run row: params %q of workflow %s, want %q of %s", run.Params, run.WorkflowID, want, id)
	}
	log, err := os.ReadFile(filepath.Join(b.env.Config.TasksDir, run.LogPath))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "day=[2026-11-26] mode=[full]") {
		t.Errorf("log %q lacks the values", log)
	}
}

func TestRunWithParamsKeepsTheOverlapPolicy(t *testing.T) {
	t.Parallel()
	ctl, b := setup(t)
	b.startWorker(t)
	ctx := context.Background()
	// Runs until a file named "open" appears in its folder.
	gated := "#!/bin/sh\nwhile [ ! -f open ]; do sleep 0.05; done\n"
	skip := b.task(t, &testenv.TaskOpts{Rule: never, Overlap: tasktype.OverlapSkip}, nil, gated)
	allow := b.task(t, &testenv.TaskOpts{Rule: never, Overlap: tasktype.OverlapAllowAll}, nil, gated)
	for _, name := range []string{skip, allow} {
		if _, err := ctl.RunWithParams(ctx, name, nil, "alice"); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, func() string {
			runs, err := b.env.Store.RunningRuns(ctx, name)
			if err != nil || len(runs) == 0 {
				return "no run of " + name + " is running yet"
			}
			return ""
		})
	}
	if _, err := ctl.RunWithParams(ctx, skip, nil, "alice"); !errors.Is(err, control.ErrRunGoing) {
		t.Errorf("second run of a skip task while one goes: %v, want ErrRunGoing", err)
	}
	if _, err := ctl.RunWithParams(ctx, allow, nil, "alice"); err != nil {
		t.Errorf("second run of an allow_all task while one goes: %v, want it started", err)
	}
	for _, name := range []string{skip, allow} {
		if err := os.WriteFile(filepath.Join(b.env.Config.TasksDir, name, "open"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCountFires(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := at("2026-11-26T12:30:00Z")
	hourly := tasktype.Task{Rule: "0 * * * *", TimeZone: "UTC"}
	tests := []struct {
		desc        string
		task        tasktype.Task
		from, to    string
		max         int
		fires       int
		first, last string
		err         error
	}{
		{desc: "both ends included", task: hourly, from: "2026-11-26T06:00:00Z", to: "2026-11-26T11:00:00Z", max: 1000,
			fires: 6, first: "2026-11-26T06:00:00Z", last: "2026-11-26T11:00:00Z"},
		{desc: "the last six hours", task: hourly, from: "2026-11-26T06:30:00Z", to: "2026-11-26T12:30:00Z", max: 1000,
			fires: 6, first: "2026-11-26T07:00:00Z", last: "2026-11-26T12:00:00Z"},
		{desc: "a range into the future stops at now", task: hourly, from: "2026-11-26T10:00:00Z", to: "2026-11-27T10:00:00Z", max: 1000,
			fires: 3, first: "2026-11-26T10:00:00Z", last: "2026-11-26T12:00:00Z"},
		{desc: "read in the task's zone", task: tasktype.Task{Rule: "0 9 * * *", TimeZone: "America/New_York"},
			from: "2026-11-20T00:00:00Z", to: "2026-11-22T23:59:59Z", max: 1000,
			fires: 3, first: "2026-11-20T14:00:00Z", last: "2026-11-22T14:00:00Z"},
		{desc: "over the cap", task: hourly, from: "2026-11-26T00:00:00Z", to: "2026-11-26T12:00:00Z", max: 12,
			fires: 13, err: control.ErrTooManyFires},
		{desc: "no fire in the range", task: hourly, from: "2026-11-26T10:01:00Z", to: "2026-11-26T10:59:00Z", max: 1000,
			err: control.ErrNoFires},
		{desc: "reversed", task: hourly, from: "2026-11-26T11:00:00Z", to: "2026-11-26T10:00:00Z", max: 1000,
			err: control.ErrInvalidRange},
		{desc: "all in the future", task: hourly, from: "2026-11-27T11:00:00Z", to: "2026-11-27T12:00:00Z", max: 1000,
			err: control.ErrInvalidRange},
	}
	for _, tt := range tests {
		res, err := control.CountFires(tt.task, at(tt.from), at(tt.to), now, tt.max)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: error %v, want %v", tt.desc, err, tt.err)
			}
			var many *control.TooManyFiresError
			if errors.As(err, &many) && (many.Fires != tt.fires || many.Max != tt.max) {
				t.Errorf("%s: refused %d fires over %d, want %d over %d", tt.desc, many.Fires, many.Max, tt.fires, tt.max)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.desc, err)
			continue
		}
		if res.Fires != tt.fires || !res.First.Equal(at(tt.first)) || !res.Last.Equal(at(tt.last)) {
			t.Errorf("%s: %d fires from %s to %s, want %d from %s to %s", tt.desc, res.Fires,
				res.First.UTC().Format(time.RFC3339), res.Last.UTC().Format(time.RFC3339), tt.fires, tt.first, tt.last)
		}
	}
}

func TestBackfillRecordsOnlyWhatItStarts(t *testing.T) {
	t.Parallel()
	ctl, b := setup(t)
	ctx := context.Background()
	name := b.task(t, &testenv.TaskOpts{Rule: "0 * * * *"}, nil, "#!/bin/sh\n")
	to := time.Now().UTC().Truncate(time.Hour)
	from := to.Add(-5 * time.Hour)
	backfills := func() int {
		var n int
		if err := b.env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM t_task_backfill`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	_, err := ctl.Backfill(ctx, name, from, to, 5, false, "alice", false)
	var many *control.TooManyFiresError
	if !errors.As(err, &many) || many.Fires != 6 || many.Max != 5 {
		t.Errorf("backfill of 6 fires with a cap of 5: %v, want TooManyFiresError of 6 over 5", err)
	}
	dry, err := ctl.Backfill(ctx, name, from, to, 0, false, "alice", true)
	if err != nil || dry.Fires != 6 || dry.ID != 0 {
		t.Errorf("dry run: %+v, %v; want 6 fires and no id", dry, err)
	}
	if n := backfills(); n != 0 {
		t.Fatalf("%d backfills recorded after a refusal and a dry run, want none", n)
	}
	res, err := ctl.Backfill(ctx, name, from, to, 0, false, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.env.Store.GetBackfill(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TaskName != name || got.Fires != 6 || got.RequestedBy != "alice" || !got.Start.Equal(from) || !got.End.Equal(to) {
		t.Errorf("recorded %+v, want %s's 6 fires from %s to %s by alice", got, name, from, to)
	}
	// Temporal got it: the schedule starts the fires (no worker here, so
	// they wait on the task queue).
	testenv.Eventually(t, 10*time.Second, func() string {
		desc, err := b.env.Temporal.ScheduleClient().GetHandle(ctx, b.env.Config.ScheduleIDPrefix+name).Describe(ctx)
		if err != nil {
			return err.Error()
		}
		if desc.Info.NumActions == 0 {
			return "the schedule has taken no action yet"
		}
		return ""
	})
}
