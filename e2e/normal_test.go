package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// seedSucceededRuns writes n succeeded runs of the task that took took
// each and published files, as if it had run before.
func (s *system) seedSucceededRuns(t *testing.T, task string, n int, took time.Duration, files []string) {
	t.Helper()
	for i := range n {
		start := time.Now().Add(-time.Duration(i+1) * time.Hour)
		id := fmt.Sprintf("seed-%s-%d", task, i)
		s.exec(t, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
				scheduled_time, start_time, process_start_time, end_time, status, exit_code, published_files)
			VALUES ($1, $2, $2, $2, $3, $3, $3, $4, 'succeeded', 0, $5)`, task, id, start, start.Add(took), append([]string{}, files...))
	}
}

// alertsOf are the kind: title of the task's alerts of the given kinds.
func (s *system) alertsOf(t *testing.T, task string, kinds ...alert.Kind) []string {
	t.Helper()
	var out []string
	for _, a := range s.alertRows(t, task) {
		if slices.Contains(kinds, alert.Kind(a.Kind)) {
			out = append(out, a.Kind+": "+a.Title)
		}
	}
	slices.Sort(out)
	return out
}

// TestSlowerThanUsualIsAnnouncedWhileTheRunGoes: a task whose succeeded
// runs took 1 s gets the slow alert while a run that sleeps is still
// going, saying what usual was; a task with only four succeeded runs
// does not, however long its run takes.
func TestSlowerThanUsualIsAnnouncedWhileTheRunGoes(t *testing.T) {
	s := startSystem(t, true, func(env *testenv.Env) { env.Config.MonitorInterval = 500 * time.Millisecond })
	for _, name := range []string{"sluggish", "newcomer"} {
		s.writeTask(t, name, map[string]string{"index.sh": "sleep 15\n"})
		// Threshold max(3 × 1 s, 1 s + 3 s) = 4 s.
		s.insertTask(t, &testenv.TaskOpts{Name: name, Rule: "0 0 1 1 *", SlowMarginSeconds: new(3)})
	}
	s.seedSucceededRuns(t, "sluggish", 5, time.Second, nil)
	s.seedSucceededRuns(t, "newcomer", 4, time.Second, nil)
	s.runNow(t, "sluggish")
	s.runNow(t, "newcomer")

	var slow []string
	testenv.Eventually(t, 30*time.Second, func() string {
		slow = nil
		for _, a := range s.alertRows(t, "sluggish") {
			if a.Kind == string(alert.KindSlow) {
				slow = append(slow, a.Title)
			}
		}
		if len(slow) == 0 {
			return fmt.Sprintf("no slow alert of sluggish; runs: %s", describeRuns(s.runs(t, "sluggish")))
		}
		return ""
	})
	run := s.waitRun(t, "sluggish", time.Second, "is running", func(r tasktype.Run) bool { return r.Status == tasktype.RunRunning })
	if len(slow) != 1 || !strings.HasPrefix(slow[0], fmt.Sprintf("run #%d still running after ", run.ID)) ||
		!strings.HasSuffix(slow[0], "; usually 1.0 s – 1.0 s") {
		t.Errorf("slow alerts of sluggish: %q; want one for run #%d saying usually 1.0 s – 1.0 s", slow, run.ID)
	}

	// Well past the threshold, with checks in between: still nothing.
	s.waitRun(t, "newcomer", 20*time.Second, "has run for 7 s", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunRunning && r.ProcessStartTime != nil && time.Since(*r.ProcessStartTime) > 7*time.Second
	})
	for _, a := range s.alertRows(t, "newcomer") {
		if a.Kind == string(alert.KindSlow) {
			t.Errorf("newcomer has four succeeded runs and got a slow alert: %q", a.Title)
		}
	}
}

// TestARunUnlikeTheUsualOnesIsAnnouncedWhenItEnds: a task whose succeeded
// runs took 10 s and published a file, and whose run now exits at once
// with nothing in publish/, gets "fast" and "did nothing"; the same task
// with only four such runs gets neither.
func TestARunUnlikeTheUsualOnesIsAnnouncedWhenItEnds(t *testing.T) {
	s := startSystem(t, true)
	for _, name := range []string{"hollow", "fledgling"} {
		s.writeTask(t, name, map[string]string{"index.sh": "exit 0\n"})
		s.insertTask(t, &testenv.TaskOpts{Name: name, Rule: "0 0 1 1 *"})
	}
	s.seedSucceededRuns(t, "hollow", 5, 10*time.Second, []string{"report.csv"})
	s.seedSucceededRuns(t, "fledgling", 4, 10*time.Second, []string{"report.csv"})
	s.runNow(t, "hollow")
	s.runNow(t, "fledgling")

	var run, fledgling tasktype.Run
	for _, name := range []string{"hollow", "fledgling"} {
		r := s.waitRun(t, name, 30*time.Second, "succeeded", func(r tasktype.Run) bool {
			return r.Status == tasktype.RunSucceeded && !strings.HasPrefix(r.WorkflowID, "seed-")
		})
		if name == "hollow" {
			run = r
		} else {
			fledgling = r
		}
	}
	// The end hook records the outcome, then raises.
	want := []string{
		fmt.Sprintf("did_nothing: run #%d succeeded but published nothing; usually publishes (5 of the last 5 runs did)", run.ID),
		fmt.Sprintf("fast: run #%d took ", run.ID),
	}
	var got []string
	testenv.Eventually(t, 10*time.Second, func() string {
		if got = s.alertsOf(t, "hollow", alert.KindFast, alert.KindDidNothing); len(got) < 2 {
			return fmt.Sprintf("alerts of hollow: %q", got)
		}
		return ""
	})
	if len(got) != 2 || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) ||
		!strings.HasSuffix(got[1], "; usually 10 s – 10 s") {
		t.Errorf("alerts of hollow:\n%q\nwant:\n%q… usually 10 s – 10 s", got, want)
	}
	// The end hook raises after it records the outcome: its alerts are
	// all in once the run's workflow has closed.
	testenv.Eventually(t, 10*time.Second, func() string {
		d, err := s.env.Temporal.DescribeWorkflowExecution(context.Background(), fledgling.WorkflowID, fledgling.RunID)
		if err != nil {
			return err.Error()
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return "fledgling's run is still open"
		}
		return ""
	})
	if got := s.alertsOf(t, "fledgling", alert.KindFast, alert.KindDidNothing, alert.KindSlow); len(got) != 0 {
		t.Errorf("fledgling has four succeeded runs and got %q", got)
	}
}
