package alert_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// endStateAlerts is the alert each way a run can end deserves ("" for
// none). A run outcome added to tasktype.EndStatuses and not here fails
// TestEveryEndStateHasAnAlertDecision: decide whether it alerts, then add
// it (see docs/extending.md).
var endStateAlerts = map[tasktype.RunStatus]alert.Kind{
	tasktype.RunSucceeded: alert.KindRecovered,
	tasktype.RunFailed:    alert.KindFailed,
	tasktype.RunTimedOut:  alert.KindTimeout,
	tasktype.RunKilled:    "", // whoever killed it knows
	tasktype.RunLost:      alert.KindLost,
}

// TestEveryEndStateHasAnAlertDecision: RunEvent's decision for every end
// state is the one written down above, and no state is left to its
// default by accident.
func TestEveryEndStateHasAnAlertDecision(t *testing.T) {
	t.Parallel()
	for _, status := range tasktype.EndStatuses {
		t.Run(string(status), func(t *testing.T) {
			t.Parallel()
			want, decided := endStateAlerts[status]
			if !decided {
				t.Fatalf("run outcome %q has no alert decision: add it to endStateAlerts and to alert.RunEvent", status)
			}
			code := 1
			ev, ok := alert.RunEvent(tasktype.Run{ID: 7, TaskName: "gold", Status: status, ExitCode: &code})
			if ok != (want != "") || ev.Kind != want {
				t.Errorf("RunEvent(%s) = %q, %v; want %q", status, ev.Kind, ok, want)
			}
			if ok && (ev.Key == "" || ev.Title == "") {
				t.Errorf("RunEvent(%s) has no key or title: %+v", status, ev)
			}
		})
	}
	for status := range endStateAlerts {
		if !slices.Contains(tasktype.EndStatuses, status) {
			t.Errorf("endStateAlerts decides %q, which tasktype.EndStatuses lacks", status)
		}
	}
}

// TestDatabaseAcceptsExactlyTheRunStates: the status_known check of
// t_task_exec_list names exactly running and tasktype.EndStatuses, and a
// run can be recorded as ending in each of them.
func TestDatabaseAcceptsExactlyTheRunStates(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()

	want := []string{string(tasktype.RunRunning)}
	for _, s := range tasktype.EndStatuses {
		want = append(want, string(s))
	}
	got := checkLiterals(t, env, "t_task_exec_list", "status_known")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("status_known accepts %q; tasktype has %q: add a migration or the constant", got, want)
	}

	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "* * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		t.Fatal(err)
	}
	for i, status := range tasktype.EndStatuses {
		run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: "gold", WorkflowID: fmt.Sprintf("wf-%d", i),
			RunID: "r", ScheduledTime: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Location: time.UTC,
			LogPath: func(string) (string, error) { return "", nil }})
		if err != nil {
			t.Fatal(err)
		}
		ended, err := env.Store.FinishRun(ctx, store.FinishRunParams{RunID: run.ID, Status: status, ExitCode: 1})
		if err != nil || ended.Status != status {
			t.Errorf("finish a run as %s: %v (status %q)", status, err, ended.Status)
		}
	}
}

var quoted = regexp.MustCompile(`'([^']*)'`)

// checkLiterals lists the quoted values in a table's CHECK constraint.
func checkLiterals(t *testing.T, env *testenv.Env, table, constraint string) []string {
	t.Helper()
	var def string
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = $1::regclass AND conname = $2`, table, constraint).Scan(&def); err != nil {
		t.Fatalf("constraint %s on %s: %v", constraint, table, err)
	}
	var out []string
	for _, m := range quoted.FindAllStringSubmatch(def, -1) {
		out = append(out, m[1])
	}
	return out
}
