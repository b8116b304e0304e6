package tasksync_test

import (
	"context"
	"testing"
)

// TestAfterOnlyTaskGetsAScheduleThatNeverFires: a task with no rule that
// runs after another gets a schedule (its chained runs take its input
// from it, and run now works) with no spec, so it never fires by itself;
// given a rule later, its schedule fires on it.
func TestAfterOnlyTaskGetsAScheduleThatNeverFires(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, task("upstream", "0 2 * * *", "UTC")); err != nil {
		t.Fatal(err)
	}
	// UpsertTask keeps the chain columns as they are: set them in SQL,
	// as a person might.
	if err := env.Store.UpsertTask(ctx, task("downstream", "0 3 * * *", "Europe/Berlin")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET rule = '', after = '{upstream}'
		WHERE task_name = 'downstream'`); err != nil {
		t.Fatal(err)
	}
	st, err := s.ReconcileTask(ctx, "downstream")
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != 1 || st.Invalid != 0 {
		t.Fatalf("reconcile: %+v, want the schedule created", st)
	}
	h := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+"downstream")
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Info.NextActionTimes); n != 0 {
		t.Errorf("an after-only task's schedule fires %d times ahead (%v), want never", n, d.Info.NextActionTimes)
	}
	if st, _, err := env.Store.GetSyncState(ctx, "downstream"); err != nil || st.Error != "" {
		t.Errorf("sync state %+v, %v; want no error", st, err)
	}

	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET rule = '0 3 * * *' WHERE task_name = 'downstream'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReconcileTask(ctx, "downstream"); err != nil {
		t.Fatal(err)
	}
	if d, err = h.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	if len(d.Info.NextActionTimes) == 0 {
		t.Error("with a rule as well as after, the schedule does not fire")
	}
}
