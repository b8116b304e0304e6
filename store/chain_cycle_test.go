package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// TestChainCycleIsATypedErrorOnEveryTaskWrite: whichever store call
// saves a task's chain (create, update, apply), the database's refusal
// of a chain cycle comes back as ErrChainCycle, naming the task, its
// setting that closes the loop, and the loop, in the database's words;
// nothing is saved.
func TestChainCycleIsATypedErrorOnEveryTaskWrite(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	st := env.Store
	task := func(name string, after, onFailure []string) tasktype.Task {
		tk := applyTask(name, "0 * * * *")
		tk.After, tk.OnFailure = after, onFailure
		return tk
	}
	for _, tk := range []tasktype.Task{task("a", nil, nil), task("b", []string{"a"}, nil), task("cleanup", nil, nil)} {
		if err := st.CreateTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateTask(ctx, task("c", []string{"b"}, []string{"cleanup"})); err != nil {
		t.Fatal(err)
	}
	version := func(name string) time.Time {
		got, err := st.GetTask(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return got.UpdatedAt
	}
	tests := []struct {
		desc      string
		write     func() error
		task      string
		field     string
		cycle     []string
		wantWords string
	}{
		{"update closing a → b → a", func() error {
			_, _, err := st.UpdateTask(ctx, task("a", []string{"b"}, nil), version("a"))
			return err
		}, "a", "after", []string{"a", "b", "a"}, "chain cycle: a → b → a"},
		{"update naming itself", func() error {
			_, _, err := st.UpdateTask(ctx, task("a", []string{"a"}, nil), version("a"))
			return err
		}, "a", "after", []string{"a", "a"}, "task a cannot run after or on failure of itself"},
		{"on_failure closing cleanup → a → b → c → cleanup", func() error {
			_, _, err := st.UpdateTask(ctx, task("cleanup", nil, []string{"a"}), version("cleanup"))
			return err
		}, "cleanup", "on_failure", []string{"cleanup", "a", "b", "c", "cleanup"}, "chain cycle: cleanup → a → b → c → cleanup"},
		{"create naming itself in on_failure", func() error { return st.CreateTask(ctx, task("d", nil, []string{"d"})) },
			"d", "on_failure", []string{"d", "d"}, "task d cannot run after or on failure of itself"},
		{"apply", func() error {
			return st.ApplyTasks(ctx, []tasktype.Task{task("e", nil, nil)}, []tasktype.Task{task("a", []string{"c"}, nil)}, nil)
		}, "a", "after", []string{"a", "b", "c", "a"}, "chain cycle: a → b → c → a"},
	}
	for _, tt := range tests {
		err := tt.write()
		if !errors.Is(err, store.ErrChainCycle) {
			t.Errorf("%s: %v, want ErrChainCycle", tt.desc, err)
			continue
		}
		var cyc *store.ChainCycleError
		if !errors.As(err, &cyc) || cyc.Task != tt.task {
			t.Errorf("%s: %#v, want a ChainCycleError of task %s", tt.desc, cyc, tt.task)
			continue
		}
		if cyc.Field != tt.field || !slices.Equal(cyc.Cycle, tt.cycle) || cyc.Message != tt.wantWords {
			t.Errorf("%s: field %q, cycle %q, message %q; want %q, %q, %q", tt.desc, cyc.Field, cyc.Cycle, cyc.Message, tt.field, tt.cycle, tt.wantWords)
		}
	}
	for name, want := range map[string][]string{"a": nil, "cleanup": nil} {
		if got, err := st.GetTask(ctx, name); err != nil || !slices.Equal(got.After, want) || !slices.Equal(got.OnFailure, want) {
			t.Errorf("%s after the refusals: after %q, on_failure %q, %v; want unchanged", name, got.After, got.OnFailure, err)
		}
	}
	if _, err := st.GetTask(ctx, "e"); !errors.Is(err, store.ErrTaskNotFound) {
		t.Errorf("the refused apply's create of e: %v, want not saved", err)
	}
	// Other refusals stay what they were.
	if err := st.CreateTask(ctx, task("a", nil, nil)); !errors.Is(err, store.ErrTaskExists) || errors.Is(err, store.ErrChainCycle) {
		t.Errorf("a duplicate: %v", err)
	}
}
