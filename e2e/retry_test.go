package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// failUntilAttempt is a task that fails (exit 7) until its attempt n.
func failUntilAttempt(n int) map[string]string {
	return map[string]string{"index.sh": fmt.Sprintf(`echo "attempt $SCHETASK_ATTEMPT"
[ "$SCHETASK_ATTEMPT" -ge %d ] || { echo "not yet" >&2; exit 7; }
`, n)}
}

// fireAttempts waits until the task has want ended attempts of one fire
// and returns them, first attempt first.
func (s *system) fireAttempts(t *testing.T, task string, want int, timeout time.Duration) []tasktype.Run {
	t.Helper()
	var got []tasktype.Run
	testenv.Eventually(t, timeout, func() string {
		got = nil
		for _, r := range s.runs(t, task) {
			if r.EndTime != nil {
				got = append(got, r)
			}
		}
		if len(got) < want {
			return fmt.Sprintf("%d of %d attempts ended: %s", len(got), want, describeRuns(got))
		}
		return ""
	})
	slices.SortFunc(got, func(a, b tasktype.Run) int { return a.Attempt - b.Attempt })
	return got
}

// checkAttempts checks that runs are attempts 1…n of one fire, each with
// its own version and log file.
func (s *system) checkAttempts(t *testing.T, runs []tasktype.Run) {
	t.Helper()
	logs := map[string]bool{}
	for i, r := range runs {
		if r.Attempt != i+1 || !r.ScheduledTime.Equal(runs[0].ScheduledTime) || r.WorkflowID != runs[0].WorkflowID || r.RunID != runs[0].RunID {
			t.Errorf("run #%d: attempt %d of fire %s (workflow %s/%s); want attempt %d of the first's fire %s",
				r.ID, r.Attempt, r.ScheduledTime, r.WorkflowID, r.RunID, i+1, runs[0].ScheduledTime)
		}
		b, err := os.ReadFile(s.layout.Abs(r.LogPath))
		if err != nil || !strings.Contains(string(b), fmt.Sprintf("attempt %d", i+1)) {
			t.Errorf("attempt %d's log %s: %q, %v; want its own log saying attempt %d", i+1, r.LogPath, b, err, i+1)
		}
		logs[r.LogPath] = true
	}
	if len(logs) != len(runs) {
		t.Errorf("%d attempts wrote %d log files", len(runs), len(logs))
	}
}

// TestAFireThatFailsTwiceSucceedsOnItsThirdAttempt: with retry_max = 3, a
// task that fails twice and then succeeds ends as one fire of three
// attempts with three logs and no failure alert, and the waits between
// the attempts follow the backoff (1 s, then 2 s).
func TestAFireThatFailsTwiceSucceedsOnItsThirdAttempt(t *testing.T) {
	s := startSystem(t, true)
	s.writeTask(t, "flaky", failUntilAttempt(3))
	s.insertTask(t, &testenv.TaskOpts{Name: "flaky", Retry: &tasktype.Retry{Max: 3, Delay: time.Second, Backoff: 2, MaxDelay: time.Minute}})
	s.runNow(t, "flaky")

	runs := s.fireAttempts(t, "flaky", 3, 60*time.Second)
	if len(runs) != 3 {
		t.Fatalf("attempts: %s; want exactly 3", describeRuns(runs))
	}
	s.checkAttempts(t, runs)
	for i, want := range []tasktype.RunStatus{tasktype.RunFailed, tasktype.RunFailed, tasktype.RunSucceeded} {
		if runs[i].Status != want {
			t.Errorf("attempt %d: %s, want %s", i+1, runs[i].Status, want)
		}
	}
	if !strings.Contains(runs[0].Error, "retrying in 1s") || !strings.Contains(runs[1].Error, "retrying in 2s") {
		t.Errorf("failed attempts say %q and %q; want each to announce its retry", runs[0].Error, runs[1].Error)
	}
	for i, wait := range []time.Duration{time.Second, 2 * time.Second} {
		gap := runs[i+1].StartTime.Sub(*runs[i].EndTime)
		t.Logf("attempt %d ended → attempt %d started: %s (backoff %s)", i+1, i+2, gap, wait)
		if gap < wait || gap > wait+5*time.Second {
			t.Errorf("attempt %d started %s after attempt %d ended; want the backoff's %s (up to 5 s more)", i+2, gap, i+1, wait)
		}
	}
	if got := s.alertsOf(t, "flaky", alert.KindFailed, alert.KindTimeout, alert.KindLost); len(got) != 0 {
		t.Errorf("alerts of a fire that succeeded on retry: %q; want none", got)
	}
}

// TestAFireThatKeepsFailingAlertsOnceAfterItsLastAttempt: with
// retry_max = 2, a task that always fails makes three attempts and one
// failure alert, for the last, saying three were made.
func TestAFireThatKeepsFailingAlertsOnceAfterItsLastAttempt(t *testing.T) {
	s := startSystem(t, true)
	s.writeTask(t, "doomed", failUntilAttempt(99))
	s.insertTask(t, &testenv.TaskOpts{Name: "doomed", Retry: &tasktype.Retry{Max: 2, Delay: time.Second, Backoff: 1}})
	s.runNow(t, "doomed")

	runs := s.fireAttempts(t, "doomed", 3, 60*time.Second)
	s.checkAttempts(t, runs)
	last := runs[len(runs)-1]
	var failed []string
	testenv.Eventually(t, 20*time.Second, func() string {
		failed = s.alertsOf(t, "doomed", alert.KindFailed)
		if len(failed) == 0 {
			return "no failure alert yet"
		}
		return ""
	})
	want := fmt.Sprintf("failed: run #%d failed with exit code 7 after 3 attempts", last.ID)
	if len(failed) != 1 || failed[0] != want {
		t.Errorf("failure alerts: %q; want exactly %q", failed, want)
	}
	// The workflow has closed: no fourth attempt comes.
	var res workflows.RunTaskResult
	if err := s.env.Temporal.GetWorkflow(context.Background(), last.WorkflowID, last.RunID).Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || res.RunID != last.ID || res.Status != tasktype.RunFailed {
		t.Errorf("workflow result %+v; want 3 attempts ending with run #%d failed", res, last.ID)
	}
	if runs := s.runs(t, "doomed"); len(runs) != 3 {
		t.Errorf("runs after the fire closed: %s; want 3", describeRuns(runs))
	}
}

// TestARetryWaitSurvivesItsWorker: the worker that ran the first attempt
// is killed (SIGKILL) while the fire waits to retry; the second attempt
// still starts when the wait ends, on another worker.
func TestARetryWaitSurvivesItsWorker(t *testing.T) {
	s := startSystem(t, false)
	s.writeTask(t, "phoenix", failUntilAttempt(2))
	const wait = 8 * time.Second
	s.insertTask(t, &testenv.TaskOpts{Name: "phoenix", Retry: &tasktype.Retry{Max: 1, Delay: wait, Backoff: 1}})
	first := startWorkerProcess(t, s)
	s.runNow(t, "phoenix")
	failed := s.waitRun(t, "phoenix", 30*time.Second, "failed", func(r tasktype.Run) bool { return r.Status == tasktype.RunFailed })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	startWorkerProcess(t, s)

	second := s.waitRun(t, "phoenix", wait+30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	gap := second.StartTime.Sub(*failed.EndTime)
	t.Logf("attempt 1 ended → attempt 2 started on the other worker: %s (wait %s)", gap, wait)
	if second.Attempt != 2 || second.WorkflowID != failed.WorkflowID || gap < wait || gap > wait+10*time.Second {
		t.Errorf("second attempt: attempt %d of %s, %s after the first ended; want attempt 2 of %s after %s (up to 10 s more)",
			second.Attempt, second.WorkflowID, gap, failed.WorkflowID, wait)
	}
}

// TestAKillStopsAFireWaitingToRetry: killing the task (as the console's
// kill and task_status = 2 do) while a fire waits for its next attempt
// ends the fire there: no further attempt, the wait cleared from the row,
// and the failure alert held back for the retry goes out.
func TestAKillStopsAFireWaitingToRetry(t *testing.T) {
	s := startSystem(t, true)
	s.writeTask(t, "stubborn", failUntilAttempt(99))
	s.insertTask(t, &testenv.TaskOpts{Name: "stubborn", Retry: &tasktype.Retry{Max: 3, Delay: time.Minute, Backoff: 1}})
	s.runNow(t, "stubborn")
	first := s.waitRun(t, "stubborn", 30*time.Second, "waits to retry", func(r tasktype.Run) bool { return r.RetryAt != nil })

	n, err := s.control.Kill(context.Background(), "stubborn", workflows.KillRequest{By: "test", Reason: "stop retrying"})
	if err != nil || n != 1 {
		t.Fatalf("Kill: %d signalled, %v; want the one waiting fire", n, err)
	}
	var res workflows.RunTaskResult
	if err := s.env.Temporal.GetWorkflow(context.Background(), first.WorkflowID, first.RunID).Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	runs := s.runs(t, "stubborn")
	if len(runs) != 1 || runs[0].RetryAt != nil || !strings.Contains(runs[0].Error, "retries stopped") {
		t.Errorf("runs after the kill: %s (retry_at %v, error %q); want the one attempt, no wait, saying retries stopped",
			describeRuns(runs), runs[0].RetryAt, runs[0].Error)
	}
	want := fmt.Sprintf("failed: run #%d failed with exit code 7", first.ID)
	testenv.Eventually(t, 20*time.Second, func() string {
		if got := s.alertsOf(t, "stubborn", alert.KindFailed); len(got) != 1 || got[0] != want {
			return fmt.Sprintf("failure alerts %q; want %q", got, want)
		}
		return ""
	})
}

// TestAttemptsAreTheFiresRunForTheOverlapPolicy: with skip, the fires that
// come while a fire waits to retry are skipped, as while any run goes on;
// the next fire after its last attempt runs.
func TestAttemptsAreTheFiresRunForTheOverlapPolicy(t *testing.T) {
	s := startSystem(t, true)
	s.writeTask(t, "patient", failUntilAttempt(2))
	s.insertTask(t, &testenv.TaskOpts{Name: "patient", Rule: "*/2 * * * * *", Overlap: tasktype.OverlapSkip,
		Retry: &tasktype.Retry{Max: 1, Delay: 5 * time.Second, Backoff: 1}})
	second := s.waitRun(t, "patient", 40*time.Second, "is a second attempt that ended", func(r tasktype.Run) bool {
		return r.Attempt == 2 && r.EndTime != nil
	})
	// A fire after the fire's last attempt ended.
	s.waitRun(t, "patient", 20*time.Second, "is a fire after the retried one", func(r tasktype.Run) bool {
		return r.ScheduledTime.After(*second.EndTime)
	})
	s.exec(t, `UPDATE t_task_list SET task_status = 0 WHERE task_name = 'patient'`)
	for _, r := range s.runs(t, "patient") {
		if r.ScheduledTime.After(second.ScheduledTime) && r.ScheduledTime.Before(second.EndTime.Add(-time.Second)) {
			t.Errorf("run #%d of the fire at %s started while the fire at %s was between attempts (until %s); skip should drop it",
				r.ID, r.ScheduledTime, second.ScheduledTime, second.EndTime)
		}
	}
}
