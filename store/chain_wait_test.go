package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// TestStartRunRecordsTheChain: a run's row keeps its logical date and the
// upstream runs that started it; a run without them has NULL and none.
func TestStartRunRecordsTheChain(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	name := testenv.Task(ctx, t, env.Store.Pool(), nil)
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: name, WorkflowID: "chain", RunID: "r",
		ScheduledTime: day, Location: time.UTC, LogicalDate: day, UpstreamRuns: []int64{12, 15}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Store.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LogicalDate == nil || !got.LogicalDate.Equal(day) || !slices.Equal(got.UpstreamRuns, []int64{12, 15}) {
		t.Errorf("logical date %v, upstream runs %v; want %s, [12 15]", got.LogicalDate, got.UpstreamRuns, day)
	}
	runs, err := env.Store.RunsOfDate(ctx, name, day)
	if err != nil || len(runs) != 1 || runs[0].ID != run.ID {
		t.Errorf("RunsOfDate = %v, %v; want run %d", runs, err, run.ID)
	}
	plain, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: name, WorkflowID: "plain", RunID: "r",
		ScheduledTime: day, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if plain.LogicalDate != nil || len(plain.UpstreamRuns) != 0 {
		t.Errorf("a run without a chain: logical date %v, upstream runs %v; want none", plain.LogicalDate, plain.UpstreamRuns)
	}
}

// TestSetChainWaitKeepsOneRowPerDate: a gate's writes replace its row of
// the task and date; another date has its own.
func TestSetChainWaitKeepsOneRowPerDate(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	p := store.SetChainWaitParams{TaskName: "b", LogicalDate: day, Condition: tasktype.AfterAllSucceeded,
		Upstreams: []string{"a", "c"}, State: store.ChainWaiting, Reason: "waiting for c", WorkflowID: "gate",
		Arrived: map[string]store.GateArrival{"a": {RunID: 12, Status: tasktype.RunSucceeded, WorkflowID: "wf-a"}}}
	if err := env.Store.SetChainWait(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.State, p.Reason = store.ChainNotRunning, "upstream c failed (run #15)"
	p.Arrived = map[string]store.GateArrival{"a": p.Arrived["a"], "c": {RunID: 15, Status: tasktype.RunFailed}}
	if err := env.Store.SetChainWait(ctx, p); err != nil {
		t.Fatal(err)
	}
	other := p
	other.LogicalDate = day.Add(24 * time.Hour)
	other.Arrived, other.State, other.Reason = nil, store.ChainWaiting, ""
	if err := env.Store.SetChainWait(ctx, other); err != nil {
		t.Fatal(err)
	}
	w, ok, err := env.Store.GetChainWait(ctx, "b", day)
	if err != nil || !ok {
		t.Fatalf("GetChainWait: %v, found %v", err, ok)
	}
	if w.State != store.ChainNotRunning || w.Reason != p.Reason || len(w.Arrived) != 2 || w.Arrived["c"].RunID != 15 ||
		!slices.Equal(w.Upstreams, []string{"a", "c"}) || w.Condition != tasktype.AfterAllSucceeded {
		t.Errorf("chain wait = %+v, want the second write", w)
	}
	var n int
	if err := env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM t_chain_wait WHERE task_name = 'b'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d rows (%v), want one per date: 2", n, err)
	}
	// Started stays started: a failed re-run of an upstream opens a gate
	// that cannot start the task again.
	other.State = store.ChainStarted
	if err := env.Store.SetChainWait(ctx, other); err != nil {
		t.Fatal(err)
	}
	other.State, other.Reason = store.ChainNotRunning, "upstream a failed (run #20)"
	if err := env.Store.SetChainWait(ctx, other); err != nil {
		t.Fatal(err)
	}
	if w, _, err := env.Store.GetChainWait(ctx, "b", other.LogicalDate); err != nil || w.State != store.ChainStarted {
		t.Errorf("after started, a not_running write left %q (%v), want started", w.State, err)
	}
	if _, ok, err := env.Store.GetChainWait(ctx, "b", day.Add(-24*time.Hour)); ok || err != nil {
		t.Errorf("a date without a wait: found %v, %v", ok, err)
	}
}

// HasChain says whether a run's end concerns a chain, so NotifyChain
// reads every task only for runs of chained tasks.
func TestHasChain(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	for _, name := range []string{"up", "down", "alone", "flaky", "cleanup"} {
		testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: name, Rule: "0 * * * *"})
	}
	for _, q := range []string{
		`UPDATE t_task_list SET after = '{up}' WHERE task_name = 'down'`,
		`UPDATE t_task_list SET on_failure = '{cleanup}' WHERE task_name = 'flaky'`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		task   string
		failed bool
		want   bool
	}{
		{"up", false, true},
		{"up", true, true},
		{"down", true, false},
		{"alone", true, false},
		{"flaky", false, false},
		{"flaky", true, true},
		{"gone", true, false},
	} {
		got, err := env.Store.HasChain(ctx, tt.task, tt.failed)
		if err != nil || got != tt.want {
			t.Errorf("HasChain(%s, failed %v) = %v, %v; want %v", tt.task, tt.failed, got, err, tt.want)
		}
	}
}
