package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

func applyTask(name, rule string) tasktype.Task {
	return tasktype.Task{Name: name, Rule: rule, TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill,
		Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip, LearnNormal: true}
}

// ApplyTasks is one transaction: all its changes, audited as the apply
// of its actor, or, when one fails, none.
func TestApplyTasksIsOneTransaction(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	keep := testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: "keep", Rule: "0 * * * *"})
	gone := testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: "gone"})
	rules := func() map[string]string {
		t.Helper()
		tasks, err := env.Store.ListTasks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, x := range tasks {
			out[x.Name] = x.Rule
		}
		return out
	}
	actor := store.WithActor(ctx, store.Actor{Name: "alice (token deploy)", Action: "apply"})

	// The last step fails (a delete of a task that is not there): the
	// create and the update before it are undone.
	err := env.Store.ApplyTasks(actor, []tasktype.Task{applyTask("fresh", "5 * * * *")},
		[]tasktype.Task{applyTask(keep, "30 * * * *")}, []string{gone, "never-was"})
	if !errors.Is(err, store.ErrTaskNotFound) {
		t.Fatalf("apply with a bad delete: %v, want ErrTaskNotFound", err)
	}
	if got := rules(); len(got) != 2 || got[keep] != "0 * * * *" || got[gone] == "" {
		t.Errorf("after a failed apply the tasks are %v; want keep at 0 * * * * and gone, and no fresh", got)
	}
	// A create of a task that exists fails the whole apply too.
	if err := env.Store.ApplyTasks(actor, []tasktype.Task{applyTask("fresh", "5 * * * *"), applyTask(keep, "1 * * * *")}, nil, nil); !errors.Is(err, store.ErrTaskExists) {
		t.Fatalf("apply creating an existing task: %v, want ErrTaskExists", err)
	}
	if _, ok := rules()["fresh"]; ok {
		t.Error("fresh was created by an apply that failed")
	}

	if err := env.Store.ApplyTasks(actor, []tasktype.Task{applyTask("fresh", "5 * * * *")},
		[]tasktype.Task{applyTask(keep, "30 * * * *")}, []string{gone}); err != nil {
		t.Fatal(err)
	}
	if got := rules(); len(got) != 2 || got[keep] != "30 * * * *" || got["fresh"] != "5 * * * *" {
		t.Errorf("after the apply the tasks are %v", got)
	}
	for _, name := range []string{keep, "fresh", gone} {
		entries, err := env.Store.TaskAudit(ctx, name, 1)
		if err != nil || len(entries) == 0 {
			t.Fatalf("no audit of %s: %v", name, err)
		}
		if e := entries[0]; e.Username != "alice (token deploy)" || e.Action != "apply" {
			t.Errorf("audit of %s: by %q doing %q, want alice (token deploy) doing apply", name, e.Username, e.Action)
		}
	}
}
