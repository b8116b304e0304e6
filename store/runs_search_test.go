package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// TestRunTaskNamesKeepDeletedTasks: a deleted task's runs stay in the run
// list, so its name stays a filter choice.
func TestRunTaskNamesKeepDeletedTasks(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	for _, name := range []string{"kept", "gone"} {
		if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: name, Rule: "0 * * * *", TimeZone: "UTC",
			TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapAllowAll}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Store.DeleteTask(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	names, err := env.Store.RunTaskNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"gone", "kept"}) {
		t.Errorf("RunTaskNames = %q, want [gone kept]", names)
	}
}
