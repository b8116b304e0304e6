package store_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
)

// TestStartRunMarksTheBackfillThatStartedIt: a run is marked with the
// newest backfill of its task, requested before it started and after its
// scheduled time, whose range holds that time; its retries keep the mark.
func TestStartRunMarksTheBackfillThatStartedIt(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	name := testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Rule: "0 * * * *"})
	other := testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Rule: "0 * * * *"})
	hour := time.Now().UTC().Truncate(time.Hour)

	add := func(task string, from, to time.Time) int64 {
		t.Helper()
		b, err := env.Store.AddBackfill(ctx, store.Backfill{TaskName: task, Start: from, End: to, Fires: 1, RequestedBy: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return b.ID
	}
	older := add(name, hour.Add(-10*time.Hour), hour.Add(-2*time.Hour))
	newer := add(name, hour.Add(-4*time.Hour), hour.Add(-3*time.Hour))
	add(other, hour.Add(-10*time.Hour), hour.Add(-time.Hour))
	// A range reaching past its request: the fires after it are the
	// schedule's own.
	add(name, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))

	tests := []struct {
		desc      string
		scheduled time.Time
		want      int64 // 0: not marked
	}{
		{desc: "in the older backfill only", scheduled: hour.Add(-6 * time.Hour), want: older},
		{desc: "in both: the newest wins", scheduled: hour.Add(-3 * time.Hour), want: newer},
		{desc: "the range's start is in it", scheduled: hour.Add(-10 * time.Hour), want: older},
		{desc: "the range's end is in it", scheduled: hour.Add(-2 * time.Hour), want: older},
		{desc: "outside every range of the task (another task's holds it)", scheduled: hour.Add(-time.Hour), want: 0},
		{desc: "in a range but scheduled after its request: the schedule's own fire", scheduled: time.Now().Add(10 * time.Minute), want: 0},
	}
	for i, tt := range tests {
		run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: name, WorkflowID: "wf", RunID: string(rune('a' + i)),
			ScheduledTime: tt.scheduled, Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		got := int64(0)
		if run.BackfillID != nil {
			got = *run.BackfillID
		}
		if got != tt.want {
			t.Errorf("%s: backfill_id %d, want %d", tt.desc, got, tt.want)
		}
	}

	// A retry of a backfilled fire keeps the mark, though it starts later.
	first, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: name, WorkflowID: "retried", RunID: "r",
		ScheduledTime: hour.Add(-5 * time.Hour), Location: time.UTC, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	second, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: name, WorkflowID: "retried", RunID: "r",
		ScheduledTime: hour.Add(-5 * time.Hour), Location: time.UTC, Attempt: 2})
	if err != nil {
		t.Fatal(err)
	}
	if first.BackfillID == nil || second.BackfillID == nil || *second.BackfillID != *first.BackfillID {
		t.Errorf("attempt 2 backfill_id %v, want attempt 1's %v", second.BackfillID, first.BackfillID)
	}
}

// TestStartRunRecordsTheParams: the values a run gets are on its row;
// a run without any has NULL.
func TestStartRunRecordsTheParams(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	name := testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{})
	values := map[string]string{"day": `a b; rm -rf / $(x) "q"`, "empty": ""}
	run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: name, WorkflowID: "wf", RunID: "1",
		ScheduledTime: time.Now(), Location: time.UTC, Params: values})
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Store.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.Params, values) {
		t.Errorf("params %q, want %q", got.Params, values)
	}
	plain, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: name, WorkflowID: "wf", RunID: "2",
		ScheduledTime: time.Now().Add(time.Second), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	var isNull bool
	if err := env.Store.Pool().QueryRow(ctx, `SELECT params IS NULL FROM t_task_exec_list WHERE id = $1`, plain.ID).Scan(&isNull); err != nil {
		t.Fatal(err)
	}
	if !isNull {
		t.Error("a run without parameters has a params value, want NULL")
	}
}
