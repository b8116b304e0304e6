package taskdef_test

import (
	"slices"
	"testing"

	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
)

// TestChainCycleFindsTheLoopAsTheDatabaseNamesIt: a loop through one of
// the tasks looked from is found from that task back to it, with the
// setting of that task in it; a diamond, or a loop elsewhere, is none.
func TestChainCycleFindsTheLoopAsTheDatabaseNamesIt(t *testing.T) {
	t.Parallel()
	task := func(name string, after ...string) tasktype.Task { return tasktype.Task{Name: name, After: after} }
	tests := []struct {
		desc      string
		tasks     []tasktype.Task
		from      []string
		want      []string
		wantField string
	}{
		{"a ↔ b", []tasktype.Task{task("a", "b"), task("b", "a")}, []string{"a"}, []string{"a", "b", "a"}, "after"},
		{"from b", []tasktype.Task{task("a", "b"), task("b", "a")}, []string{"b"}, []string{"b", "a", "b"}, "after"},
		{"a diamond", []tasktype.Task{task("a"), task("b", "a"), task("c", "a"), task("d", "b", "c")}, []string{"a", "b", "c", "d"}, nil, ""},
		{"through on_failure", []tasktype.Task{task("a"), task("b", "a"), {Name: "cleanup", OnFailure: []string{"a"}},
			{Name: "c", After: []string{"b"}, OnFailure: []string{"cleanup"}}}, []string{"cleanup"}, []string{"cleanup", "a", "b", "c", "cleanup"}, "on_failure"},
		{"an unknown upstream", []tasktype.Task{task("a", "ghost")}, []string{"a"}, nil, ""},
		{"a loop not through from", []tasktype.Task{task("a", "b"), task("b", "a"), task("x")}, []string{"x"}, nil, ""},
	}
	for _, tt := range tests {
		got, field := taskdef.ChainCycle(tt.tasks, tt.from)
		if !slices.Equal(got, tt.want) || field != tt.wantField {
			t.Errorf("%s: %q %q, want %q %q", tt.desc, got, field, tt.want, tt.wantField)
		}
	}
	if got := taskdef.FormatChainCycle([]string{"a", "b", "a"}); got != "chain cycle: a → b → a" {
		t.Errorf("FormatChainCycle = %q", got)
	}
}
