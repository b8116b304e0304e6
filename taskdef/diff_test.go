package taskdef_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
)

func definitionsOf(ts []tasktype.Task) []taskdef.Definition {
	defs := make([]taskdef.Definition, len(ts))
	for i, t := range ts {
		defs[i] = taskdef.FromTask(t)
	}
	return defs
}

func loadText(t *testing.T, text string) []taskdef.Definition {
	t.Helper()
	dir := writeFiles(t, map[string]string{"tasks.yaml": text})
	srcs, err := taskdef.Load(filepath.Join(dir, "tasks.yaml"))
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, text)
	}
	if _, err := taskdef.Tasks(srcs); err != nil {
		t.Fatalf("Tasks: %v\n%s", err, text)
	}
	defs := make([]taskdef.Definition, len(srcs))
	for i, s := range srcs {
		defs[i] = s.Definition
	}
	return defs
}

// TestExportThenApplyChangesNothing: the file Marshal writes loads back
// to the same tasks, so diffing it against them finds no change; editing
// one rule in it is exactly one field change.
func TestExportThenApplyChangesNothing(t *testing.T) {
	t.Parallel()
	current := definitionsOf(tasks())
	text, err := taskdef.Marshal(current)
	if err != nil {
		t.Fatal(err)
	}
	loaded := loadText(t, string(text))
	if changes := taskdef.Diff(current, loaded, true); len(changes) != 0 {
		t.Fatalf("export → apply: %s\nfile:\n%s", taskdef.FormatChanges(changes), text)
	}
	byName := map[string]tasktype.Task{}
	for _, d := range loaded {
		got, _ := d.Task()
		byName[got.Name] = got
	}
	for _, want := range tasks() {
		if !equalTasks(byName[want.Name], want) {
			t.Errorf("%s through the file: %+v\nwant %+v", want.Name, byName[want.Name], want)
		}
	}
	if got := taskdef.FormatChanges(nil); got != "no changes\n" {
		t.Errorf("FormatChanges(nil) = %q", got)
	}

	edited := strings.Replace(string(text), "name: minimal\n    rule: 0 * * * *", "name: minimal\n    rule: 30 * * * *", 1)
	if edited == string(text) {
		t.Fatalf("the minimal task is not written as expected:\n%s", text)
	}
	changes := taskdef.Diff(current, loadText(t, edited), true)
	want := []taskdef.Change{{Task: "minimal", Action: taskdef.ActionUpdate,
		Fields: []taskdef.FieldChange{{Field: "rule", Before: `"0 * * * *"`, After: `"30 * * * *"`}}}}
	if len(changes) != 1 || len(changes[0].Fields) != 1 || changes[0].Task != want[0].Task ||
		changes[0].Action != want[0].Action || changes[0].Fields[0] != want[0].Fields[0] {
		t.Errorf("one rule edited: %+v, want %+v", changes, want)
	}
	if got := taskdef.FormatChanges(changes); got != "~ minimal: rule \"0 * * * *\" → \"30 * * * *\"\n" {
		t.Errorf("FormatChanges = %q", got)
	}
}

// TestMarshalLeavesDefaultsOut: an exported task says only what differs
// from the defaults, in a stable order, sorted by name.
func TestMarshalLeavesDefaultsOut(t *testing.T) {
	t.Parallel()
	ts := tasks()
	minimal, paused := ts[0], ts[2]
	got, err := taskdef.Marshal(definitionsOf([]tasktype.Task{paused, minimal}))
	if err != nil {
		t.Fatal(err)
	}
	want := `tasks:
  - name: minimal
    rule: 0 * * * *
  - name: paused
    rule: 0 * * * *
    enabled: false
    status_note: 'vendor down: ticket 42'
`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
	long := tasks()[5] // retry delay 2 h: the cap's default follows it
	got, _ = taskdef.Marshal(definitionsOf([]tasktype.Task{long}))
	if !strings.HasSuffix(string(got), "retry:\n      max: 1\n      delay_seconds: 7200\n") || strings.Contains(string(got), "delay_max_seconds") {
		t.Errorf("retry written:\n%s", got)
	}
}

// TestDiffComparesWhatTheTasksAre: a default written out is no change,
// a new task is a create, a task missing from the files is deleted only
// with prune, and changes come sorted by name.
func TestDiffComparesWhatTheTasksAre(t *testing.T) {
	t.Parallel()
	ts := tasks()
	current := definitionsOf([]tasktype.Task{ts[2], ts[0]}) // paused, minimal
	explicit := taskdef.Definition{Name: "minimal", Rule: " 0 * * * * ", TimeZone: "UTC", Timeout: 0, TimeoutAction: "kill",
		Enabled: new(true), OverlapPolicy: "skip", LearnNormal: new(true),
		Retry: &taskdef.Retry{DelaySeconds: new(60), Backoff: new(2.0), DelayMaxSeconds: new(3600)}}
	newTask := taskdef.Definition{Name: "brass", Rule: "0 0 * * *"}
	desired := []taskdef.Definition{explicit, newTask}
	tests := []struct {
		prune bool
		want  string
	}{
		{false, "+ brass\n"},
		{true, "+ brass\n- paused\n"},
	}
	for _, tt := range tests {
		if got := taskdef.FormatChanges(taskdef.Diff(current, desired, tt.prune)); got != tt.want {
			t.Errorf("prune=%v: %q, want %q", tt.prune, got, tt.want)
		}
	}
	resumed := taskdef.Definition{Name: "paused", Rule: "0 * * * *", Retry: &taskdef.Retry{Max: 2}}
	got := taskdef.FormatChanges(taskdef.Diff(current, []taskdef.Definition{resumed}, false))
	want := "~ paused: enabled false → true\n~ paused: status_note \"vendor down: ticket 42\" → \"\"\n~ paused: retry.max 0 → 2\n"
	if got != want {
		t.Errorf("update:\n%s\nwant\n%s", got, want)
	}
	limited := taskdef.FromTask(ts[0])
	limited.MemoryLimitMB = new(512)
	if got := taskdef.Diff(current, []taskdef.Definition{limited}, false); len(got) != 1 ||
		got[0].Fields[0] != (taskdef.FieldChange{Field: "memory_limit_mb", Before: "null", After: "512"}) {
		t.Errorf("a limit set: %+v", got)
	}
}

// TestExportedFileWrittenToDiskLoads guards the file round trip through
// the file system (mode, encoding), as `schetask task export > f` does.
func TestExportedFileWrittenToDiskLoads(t *testing.T) {
	t.Parallel()
	text, err := taskdef.Marshal(definitionsOf(tasks()))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "export.yml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	srcs, err := taskdef.Load(filepath.Dir(path))
	if err != nil || len(srcs) != len(tasks()) {
		t.Fatalf("Load: %d tasks, %v", len(srcs), err)
	}
}
