package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestTaskNameIsRefusedByTheDatabase(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	// Raw SQL rather than testenv.InsertTask, which reads an empty name as unset.
	for _, name := range []string{"../etc", "a/b", "..", ".hidden", "a..b", "", strings.Repeat("x", 64)} {
		_, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_task_list (task_name, rule) VALUES ($1, '* * * * *')`, name)
		if err == nil {
			t.Errorf("insert of task %q: want a check violation, got none", name)
			continue
		}
		if !strings.Contains(err.Error(), "task_name_is_a_folder_name") && name != "" {
			t.Errorf("insert of task %q: want the constraint named in the error, got %v", name, err)
		}
	}
	if _, err := testenv.InsertTask(ctx, env.Store.Pool(), &testenv.TaskOpts{Name: "gold_2.v-1"}); err != nil {
		t.Fatalf("insert of a valid name: %v", err)
	}
}

func TestStartRunIsIdempotentAndVersionsAreUnique(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "* * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		t.Fatal(err)
	}
	layout := tasktype.Layout{Root: env.Config.TasksDir}
	scheduled := time.Date(2026, 11, 24, 10, 15, 30, 0, time.UTC)
	params := func(runID string) store.StartRunParams {
		return store.StartRunParams{TaskName: "gold", WorkflowID: "wf", RunID: runID, ScheduledTime: scheduled,
			Location: time.UTC, LogPath: func(v string) (string, error) { return layout.LogPath("gold", v) }}
	}
	first, err := env.Store.StartRun(ctx, params("r1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := env.Store.StartRun(ctx, params("r1"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Version != "202611/24/101530" {
		t.Fatalf("second start of the same workflow run: got id %d version %q, want id %d version 202611/24/101530", again.ID, again.Version, first.ID)
	}
	if first.LogPath != "gold/logs/202611/24/101530.log" {
		t.Errorf("log path = %q", first.LogPath)
	}
	second, err := env.Store.StartRun(ctx, params("r2"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Version != "202611/24/101530-2" {
		t.Errorf("a second run in the same second: version %q, want 202611/24/101530-2", second.Version)
	}
	task, err := env.Store.GetTask(ctx, "gold")
	if err != nil {
		t.Fatal(err)
	}
	if task.Version != second.Version || task.LastStartTime == nil {
		t.Errorf("task bookkeeping: version %q last_start_time %v", task.Version, task.LastStartTime)
	}
	done, err := env.Store.FinishRun(ctx, store.FinishRunParams{RunID: first.ID, Status: tasktype.RunSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != tasktype.RunSucceeded || done.EndTime == nil {
		t.Errorf("finished run: %+v", done)
	}
	if _, err := env.Store.FinishRun(ctx, store.FinishRunParams{RunID: 999999, Status: tasktype.RunFailed}); !errors.Is(err, store.ErrRunNotFound) {
		t.Errorf("finish of an unknown run: %v, want ErrRunNotFound", err)
	}
}

func TestTaskChangesAreNotifiedButRunBookkeepingIsNot(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	names := make(chan string, 10)
	ready := make(chan struct{})
	go func() {
		_ = env.Store.WaitForTaskChanges(ctx, func() { close(ready) }, func(n string) { names <- n })
	}()
	<-ready
	task := tasktype.Task{Name: "silver", Rule: "* * * * *", TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill,
		Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}
	if err := env.Store.UpsertTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-names:
		if n != "silver" {
			t.Fatalf("notified %q, want silver", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification for an insert")
	}
	if err := env.Store.MarkWarned(ctx, "silver"); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.SetTaskStatus(ctx, "silver", tasktype.StatusOff); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-names:
		if n != "silver" {
			t.Fatalf("notified %q, want silver", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification for a status change")
	}
	select {
	case n := <-names:
		t.Fatalf("unexpected notification %q: bookkeeping columns must not wake sync", n)
	default:
	}
}

func TestLimitsAndRunAsAreCheckedByTheDatabase(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	for _, tt := range []struct {
		desc       string
		opts       testenv.TaskOpts
		constraint string
	}{
		{"memory_limit_mb = -1", testenv.TaskOpts{MemoryLimitMB: new(-1)}, "memory_limit_mb_sane"},
		{"memory_limit_mb = 8", testenv.TaskOpts{MemoryLimitMB: new(8)}, "memory_limit_mb_sane"},
		{"memory_limit_mb = 2000000", testenv.TaskOpts{MemoryLimitMB: new(2000000)}, "memory_limit_mb_sane"},
		{"cpu_limit = -0.5", testenv.TaskOpts{CPULimit: new(-0.5)}, "cpu_limit_sane"},
		{"cpu_limit = 0.001", testenv.TaskOpts{CPULimit: new(0.001)}, "cpu_limit_sane"},
		{"cpu_limit = 5000", testenv.TaskOpts{CPULimit: new(5000.0)}, "cpu_limit_sane"},
		{"pids_limit = -3", testenv.TaskOpts{PidsLimit: new(-3)}, "pids_limit_sane"},
		{"pids_limit = 2", testenv.TaskOpts{PidsLimit: new(2)}, "pids_limit_sane"},
		{"run_as = 'root; rm -rf /'", testenv.TaskOpts{RunAs: "root; rm -rf /"}, "run_as_is_a_user_name"},
		{"run_as = 'Upper'", testenv.TaskOpts{RunAs: "Upper"}, "run_as_is_a_user_name"},
	} {
		_, err := testenv.InsertTask(ctx, env.Store.Pool(), &tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.constraint) {
			t.Errorf("%s: want %s refused, got %v", tt.desc, tt.constraint, err)
		}
	}
	mem, cpu, pids := 0, 0.5, 64
	in := tasktype.Task{Name: "ok", Rule: "* * * * *", TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill,
		Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip, RunAs: "batch_user", MemoryLimitMB: &mem, CPULimit: &cpu, PidsLimit: &pids}
	if err := env.Store.UpsertTask(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := env.Store.GetTask(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if got.RunAs != "batch_user" || got.MemoryLimitMB == nil || *got.MemoryLimitMB != 0 || *got.CPULimit != 0.5 || *got.PidsLimit != 64 {
		t.Errorf("round trip: %+v", got)
	}
	if l := got.LimitsFor(tasktype.Limits{MemoryMB: 512, CPU: 2, Pids: 4096}); l != (tasktype.Limits{MemoryMB: 0, CPU: 0.5, Pids: 64}) {
		t.Errorf("the task's own limits (0 = none) must win over the defaults: %+v", l)
	}
	got.MemoryLimitMB, got.PidsLimit = nil, nil
	if l := got.LimitsFor(tasktype.Limits{MemoryMB: 512, CPU: 2, Pids: 4096}); l != (tasktype.Limits{MemoryMB: 512, CPU: 0.5, Pids: 4096}) {
		t.Errorf("unset limits take the defaults: %+v", l)
	}
}
