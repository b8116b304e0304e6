package taskdef_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schetask/schetask/taskdef"
)

// writeFiles writes name → content under a fresh folder and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadReadsAFolderKeepingLines: a folder's *.yaml and *.yml files are
// read in name order (a tasks: list, a single task, several documents),
// other files and subfolders are not, and each task keeps the line of
// each field.
func TestLoadReadsAFolderKeepingLines(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"a.yaml": `# prices
tasks:
  - name: gold
    rule: "0 * * * *"
    retry:
      max: 3
    params:
      - name: DAY
        pattern: "[0-9-]+"
  - name: silver
    rule: 30 * * * *
`,
		"b.yml": `name: copper
rule: 0 9 * * *
enabled: false
status_note: vendor down
---
---
defaults: &defaults
  - name: tin
    rule: 0 0 * * *
    <<: &zone {time_zone: Asia/Shanghai}
tasks: []
`,
		"c.yaml":        "name: zinc\n<<: {rule: \"0 1 * * *\", timeout: 60}\ntimeout: 120\n",
		"notes.txt":     "name: not read\n",
		"sub/deep.yaml": "name: not-read\nrule: 0 * * * *\n",
	})
	_, err := taskdef.Load(dir)
	if err == nil || !strings.Contains(err.Error(), "b.yml:7: defaults: unknown field beside tasks:") {
		t.Fatalf("a stray key beside tasks: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yml"), []byte("name: copper\nrule: 0 9 * * *\nenabled: false\nstatus_note: vendor down\n---\n---\ntasks: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcs, err := taskdef.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, s.Name)
	}
	if strings.Join(names, " ") != "gold silver copper zinc" {
		t.Fatalf("tasks read: %q", names)
	}
	gold, copper, zinc := srcs[0], srcs[2], srcs[3]
	for _, tt := range []struct {
		src         taskdef.Source
		field, want string
	}{
		{gold, "", "a.yaml:3"},
		{gold, "rule", "a.yaml:4"},
		{gold, "retry.max", "a.yaml:6"},
		{gold, "retry.delay_seconds", "a.yaml:5"}, // unset: the enclosing retry
		{gold, "params", "a.yaml:7"},
		{gold, "params[0].pattern", "a.yaml:9"},
		{gold, "timeout", "a.yaml:3"}, // unset: the task
		{srcs[1], "rule", "a.yaml:11"},
		{copper, "status_note", "b.yml:4"},
		{zinc, "timeout", "c.yaml:3"},
	} {
		if got := tt.src.Where(tt.field); got != filepath.Join(dir, tt.want) {
			t.Errorf("%s Where(%q) = %s, want %s", tt.src.Name, tt.field, got, tt.want)
		}
	}
	if gold.Retry == nil || gold.Retry.Max != 3 || len(gold.Params) != 1 || gold.Params[0].Pattern != "[0-9-]+" {
		t.Errorf("gold: %+v", gold.Definition)
	}
	if copper.Enabled == nil || *copper.Enabled || copper.StatusNote != "vendor down" {
		t.Errorf("copper: %+v", copper.Definition)
	}
	if zinc.Rule != "0 1 * * *" || zinc.Timeout != 120 {
		t.Errorf("zinc (merge key, own key wins): %+v", zinc.Definition)
	}
	if _, err := taskdef.Tasks(srcs); err != nil {
		t.Errorf("Tasks: %v", err)
	}
	one, err := taskdef.Load(filepath.Join(dir, "c.yaml"))
	if err != nil || len(one) != 1 || one[0].File != filepath.Join(dir, "c.yaml") {
		t.Errorf("one file: %+v, %v", one, err)
	}
}

// TestAnInvalidFileNamesFileLineAndField: whatever is wrong in a file,
// the error says where and, when it is one field, which.
func TestAnInvalidFileNamesFileLineAndField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, file string
		wantLoad   string // Load's error; "" when Load reads it
		wantTasks  string // Tasks' error
	}{
		{"unknown field", "tasks:\n  - name: gold\n    rule: 0 * * * *\n    rules: 1 * * * *\n",
			`x.yaml:4: task "gold": rules: unknown field (known: after, after_condition, alert_channels,`, ""},
		{"unknown retry field", "name: gold\nrule: 0 * * * *\nretry:\n  max: 1\n  delay: 5\n",
			`x.yaml:5: task "gold": retry.delay: unknown field (known: backoff, delay_max_seconds, delay_seconds`, ""},
		{"unknown param field", "name: gold\nrule: 0 * * * *\nparams:\n  - name: DAY\n    regex: x\n",
			`x.yaml:5: task "gold": params[0].regex: unknown field (known: default, name, pattern, required)`, ""},
		{"a word for a number", "name: gold\nrule: 0 * * * *\ntimeout: soon\n",
			`x.yaml:3: task "gold": timeout: want a whole number, got "soon"`, ""},
		{"a list for text", "name: gold\nrule: [0, 1]\n", `x.yaml:2: task "gold": rule: want text, got a list`, ""},
		{"a field twice", "name: gold\nrule: 0 * * * *\nrule: 1 * * * *\n", `x.yaml:3: task "gold": rule: given twice (first at line 2)`, ""},
		{"broken YAML", "name: gold\nrule: \"0 * * * *\n", "x.yaml:2: found unexpected end of stream", ""},
		{"not a mapping", "- gold\n", "x.yaml:1: want a task (a mapping) or a mapping with a tasks: list, got a list", ""},
		{"tasks not a list", "tasks: gold\n", `x.yaml:1: tasks: want a list of tasks, got "gold"`, ""},
		{"invalid rule", "tasks:\n  - name: gold\n    timeout: 60\n    rule: '*/2 25 * * *'\n", "",
			`x.yaml:4: task "gold": rule: invalid rule "*/2 25 * * *": hour: 25 is out of range 0-23`},
		{"invalid retry", "name: gold\nrule: 0 * * * *\nretry:\n  max: 1\n  backoff: 0.5\n", "",
			`x.yaml:5: task "gold": retry.backoff: retry_backoff 0.5: want 1 (a fixed wait) to 10`},
		{"invalid overlap", "name: gold\nrule: 0 * * * *\noverlap_policy: often\n", "",
			`x.yaml:3: task "gold": overlap_policy: one of skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all`},
		{"invalid param", "name: gold\nrule: 0 * * * *\nparams:\n  - name: 1DAY\n", "",
			`x.yaml:3: task "gold": params: parameter name "1DAY"`},
		{"no name", "rule: 0 * * * *\n", "", `x.yaml:1: name: invalid task name ""`},
		{"after not a list", "name: gold\nafter: extract\n", `x.yaml:2: task "gold": after: want a list of text, got "extract"`, ""},
		{"after itself", "name: gold\ntimeout: 60\nafter:\n  - extract\n  - gold\n", "",
			`x.yaml:3: task "gold": after: "gold" is this task: a task cannot run after itself`},
		{"bad deadline", "name: gold\nrule: 0 * * * *\ndeadline: 7am\n", "", `x.yaml:3: task "gold": deadline: "7am" is not a deadline`},
		{"bad condition", "name: gold\nafter: [a]\nafter_condition: some\n", "", `x.yaml:3: task "gold": after_condition: "some": want one of`},
		{"no rule, no after", "name: gold\ntimeout: 60\n", "", `x.yaml:1: task "gold": rule: required`},
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"x.yaml": tt.file})
		srcs, err := taskdef.Load(filepath.Join(dir, "x.yaml"))
		if tt.wantLoad != "" {
			var fe *taskdef.FieldError
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tt.wantLoad)) || !errors.As(err, &fe) {
				t.Errorf("%s: Load: %v\nwant %s", tt.desc, err, tt.wantLoad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Load: %v", tt.desc, err)
			continue
		}
		if _, err := taskdef.Tasks(srcs); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tt.wantTasks)) {
			t.Errorf("%s: Tasks: %v\nwant %s", tt.desc, err, tt.wantTasks)
		}
	}
}

// TestATaskNamedTwiceIsRefusedNamingBoth: across files and within one.
func TestATaskNamedTwiceIsRefusedNamingBoth(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"a.yaml": "tasks:\n  - name: gold\n    rule: 0 * * * *\n",
		"b.yaml": "# again\nname: gold\nrule: 1 * * * *\n",
		"c.yaml": "name: tin\nrule: 0 * * * *\n---\nname: tin\nrule: 1 * * * *\n",
	})
	_, err := taskdef.Load(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml"))
	want := "defined twice: at " + filepath.Join(dir, "a.yaml") + ":2 and at " + filepath.Join(dir, "b.yaml") + ":2"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("across files: %v\nwant %s", err, want)
	}
	_, err = taskdef.Load(filepath.Join(dir, "c.yaml"))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:1 and at "+filepath.Join(dir, "c.yaml")+":4") {
		t.Errorf("within a file: %v", err)
	}
}
