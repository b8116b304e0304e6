package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// paramsTask prints the SCHETASK_PARAM_* variables it got as one JSON
// line.
const paramsTask = `const got = {};
for (const [k, v] of Object.entries(process.env)) {
  if (k.startsWith('SCHETASK_PARAM_')) got[k] = v;
}
console.log('PARAMS ' + JSON.stringify(got));
`

// printedParams reads the PARAMS line of a run's log.
func printedParams(t *testing.T, s *system, run tasktype.Run) map[string]string {
	t.Helper()
	log, err := os.ReadFile(s.layout.Abs(run.LogPath))
	if err != nil {
		t.Fatal(err)
	}
	_, line, ok := strings.Cut(string(log), "PARAMS ")
	if !ok {
		t.Fatalf("log of run %d has no PARAMS line: %q", run.ID, log)
	}
	line, _, _ = strings.Cut(line, "\n")
	var got map[string]string
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("log of run %d: %v in %q", run.ID, err, line)
	}
	return got
}

// Acceptance 5: a parameterised run gets its values as SCHETASK_PARAM_*,
// recorded on the row; a value full of shell metacharacters arrives
// verbatim; an undeclared name is refused.
func TestParamsReachTheProcessVerbatimAndAreRecorded(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	ctx := context.Background()
	s.writeTask(t, "params", map[string]string{"index.js": paramsTask})
	s.insertTask(t, &testenv.TaskOpts{Name: "params", Rule: never})
	s.exec(t, `UPDATE t_task_list SET params = $1 WHERE task_name = 'params'`,
		`[{"name": "day", "required": true}, {"name": "mode", "default": "full", "pattern": "full|quick"}]`)

	nasty := "a b; rm -rf / $(x) \"q\" 'r' `y` \\ * ~ | & > $HOME\n\ttab"
	var id string
	testenv.Eventually(t, 10*time.Second, func() string { // once sync has made the schedule
		var err error
		if id, err = s.control.RunWithParams(ctx, "params", map[string]string{"day": nasty}, "alice"); err != nil {
			return err.Error()
		}
		return ""
	})
	var res workflows.RunTaskResult
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.env.Temporal.GetWorkflow(wctx, id, "").Get(wctx, &res); err != nil {
		t.Fatal(err)
	}
	run, err := s.env.Store.GetRun(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != tasktype.RunSucceeded {
		t.Fatalf("run %d %s (%d): %s", run.ID, run.Status, run.ExitCode, run.Error)
	}
	want := map[string]string{"day": nasty, "mode": "full"}
	if !maps.Equal(run.Params, want) {
		t.Errorf("row params %q, want %q", run.Params, want)
	}
	wantEnv := map[string]string{"SCHETASK_PARAM_DAY": nasty, "SCHETASK_PARAM_MODE": "full"}
	if got := printedParams(t, s, run); !maps.Equal(got, wantEnv) {
		t.Errorf("the process got %q, want %q", got, wantEnv)
	}

	for _, given := range []map[string]string{
		{"day": "x", "dya": "y"},   // undeclared
		{"mode": "quick"},          // required missing
		{"day": "x", "mode": "no"}, // against the pattern
	} {
		if _, err := s.control.RunWithParams(ctx, "params", given, "alice"); !errors.Is(err, tasktype.ErrInvalidParams) {
			t.Errorf("run with %q: %v, want it refused (ErrInvalidParams)", given, err)
		}
	}
	if runs := s.runs(t, "params"); len(runs) != 1 {
		t.Errorf("%d runs, want only the accepted one: %s", len(runs), describeRuns(runs))
	}

	// A scheduled fire (the schedule's trigger, no values) gets the
	// defaults, required ones as "".
	s.runNow(t, "params")
	fire := s.waitRun(t, "params", 30*time.Second, "is the schedule's and ended", func(r tasktype.Run) bool {
		return r.ID != run.ID && r.EndTime != nil
	})
	wantEnv = map[string]string{"SCHETASK_PARAM_DAY": "", "SCHETASK_PARAM_MODE": "full"}
	if got := printedParams(t, s, fire); fire.Status != tasktype.RunSucceeded || !maps.Equal(got, wantEnv) {
		t.Errorf("scheduled fire %s with %q, want success with %q", fire.Status, got, wantEnv)
	}
}
