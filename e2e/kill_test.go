package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// sleeper starts a grandchild that escapes its process group (setsid)
// and would outlive it, records its pid in publish/, and sleeps, unless
// the folder holds a file named "quick".
const sleeper = `#!/bin/sh
if [ -f quick ]; then echo quick; exit 0; fi
setsid sleep 600 &
echo $! > "$SCHETASK_PUBLISH_DIR/grandchild.pid"
echo "started, grandchild $!"
echo "to stderr" >&2
sleep 600
`

// never is a rule that does not fire during a test; runs come from RunNow.
const never = "0 0 1 1 *"

// startSleeper runs the sleeper task now and waits until its process and
// grandchild are up; it returns the run and both pids.
func startSleeper(t *testing.T, s *system, name string) (tasktype.Run, int, int) {
	t.Helper()
	dir := s.writeTask(t, name, map[string]string{"index.sh": sleeper})
	_ = os.Remove(filepath.Join(dir, "publish", "grandchild.pid"))
	s.runNow(t, name)
	run := s.waitRun(t, name, 20*time.Second, "is running with a pid", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunRunning && r.PID != nil
	})
	var grandchild int
	testenv.Eventually(t, 10*time.Second, func() string {
		b, err := os.ReadFile(filepath.Join(dir, "publish", "grandchild.pid"))
		if err != nil {
			return err.Error()
		}
		grandchild, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return err.Error()
		}
		return ""
	})
	if !pidAlive(*run.PID) || !pidAlive(grandchild) {
		t.Fatalf("task process %d or grandchild %d not running", *run.PID, grandchild)
	}
	return run, *run.PID, grandchild
}

func requireGone(t *testing.T, pids ...int) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() string {
		for _, pid := range pids {
			if pidAlive(pid) {
				return fmt.Sprintf("process %d still alive", pid)
			}
		}
		return ""
	})
}

func requireLogKept(t *testing.T, s *system, r tasktype.Run) {
	t.Helper()
	b, err := os.ReadFile(s.layout.Abs(r.LogPath))
	if err != nil {
		t.Fatalf("log of run %d: %v", r.ID, err)
	}
	if !strings.Contains(string(b), "started, grandchild") || !strings.Contains(string(b), "to stderr") {
		t.Errorf("log of run %d = %q", r.ID, b)
	}
}

func TestKillSignalKillsTheWholeProcessTree(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.insertTask(t, &testenv.TaskOpts{Name: "sleepy", Rule: never})
	run, pid, grandchild := startSleeper(t, s, "sleepy")

	// What `temporal workflow signal --name kill` does.
	signalled := time.Now()
	if err := s.env.Temporal.SignalWorkflow(context.Background(), run.WorkflowID, run.RunID, workflows.SignalKill,
		workflows.KillRequest{By: "test"}); err != nil {
		t.Fatal(err)
	}
	killed := s.waitRun(t, "sleepy", 15*time.Second, "was killed", func(r tasktype.Run) bool {
		return r.ID == run.ID && r.Status == tasktype.RunKilled
	})
	requireGone(t, pid, grandchild)
	t.Logf("kill signal → process tree gone and run recorded as killed: %s", time.Since(signalled))
	if killed.ExitCode == nil || *killed.ExitCode != tasktype.ExitKilled || !strings.Contains(killed.Error, "by test") {
		t.Errorf("killed run: exit %v error %q", killed.ExitCode, killed.Error)
	}
	if len(killed.StderrHead) != 1 || killed.StderrHead[0] != "to stderr" {
		t.Errorf("stderr head of killed run = %q", killed.StderrHead)
	}
	requireLogKept(t, s, killed)
}

func TestTaskStatusTwoKillsAndPauses(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.insertTask(t, &testenv.TaskOpts{Name: "sleepy2", Rule: never})
	run, pid, grandchild := startSleeper(t, s, "sleepy2")
	s.exec(t, `UPDATE t_task_list SET task_status = 2 WHERE task_name = 'sleepy2'`)
	killed := s.waitRun(t, "sleepy2", 15*time.Second, "was killed", func(r tasktype.Run) bool {
		return r.ID == run.ID && r.Status == tasktype.RunKilled
	})
	requireGone(t, pid, grandchild)
	requireLogKept(t, s, killed)
	d, err := s.env.Temporal.ScheduleClient().GetHandle(context.Background(), s.control.ScheduleID("sleepy2")).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Schedule.State.Paused {
		t.Error("task_status 2 left the schedule running")
	}
}

func TestTimeoutKillsTheWholeProcessTree(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.insertTask(t, &testenv.TaskOpts{Name: "slow", Rule: never, Timeout: 2 * time.Second})
	run, pid, grandchild := startSleeper(t, s, "slow")
	timedOut := s.waitRun(t, "slow", 20*time.Second, "timed out", func(r tasktype.Run) bool {
		return r.ID == run.ID && r.Status == tasktype.RunTimedOut
	})
	requireGone(t, pid, grandchild)
	requireLogKept(t, s, timedOut)
	if timedOut.ExitCode == nil || *timedOut.ExitCode != tasktype.ExitTimedOut {
		t.Errorf("timed-out run exit code %v", timedOut.ExitCode)
	}
	if d := timedOut.EndTime.Sub(*timedOut.ProcessStartTime); d < 2*time.Second || d > 10*time.Second {
		t.Errorf("a 2 s timeout ended the run after %s", d)
	}
}

func TestWorkerKilledMidRunIsLostOrphanReapedScheduleGoesOn(t *testing.T) {
	t.Parallel()
	s := startSystem(t, false)
	worker := startWorkerProcess(t, s)

	dir := s.writeTask(t, "orphan", map[string]string{"index.sh": sleeper})
	s.insertTask(t, &testenv.TaskOpts{Name: "orphan", Rule: "*/3 * * * * *"})
	run := s.waitRun(t, "orphan", 20*time.Second, "is running with a pid", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunRunning && r.PID != nil
	})
	var grandchild int
	testenv.Eventually(t, 10*time.Second, func() string {
		b, err := os.ReadFile(filepath.Join(dir, "publish", "grandchild.pid"))
		if err == nil {
			grandchild, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if err != nil {
			return err.Error()
		}
		return ""
	})

	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = worker.Wait()
	if !pidAlive(*run.PID) || !pidAlive(grandchild) {
		t.Fatal("the task died with its worker; this test needs it orphaned")
	}
	// From now on the task finishes quickly.
	if err := os.WriteFile(filepath.Join(dir, "quick"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The end hook needs a worker too: restart one, as an operator would.
	restarted := time.Now()
	s.startWorker(t)
	requireGone(t, *run.PID, grandchild)
	lost := s.waitRun(t, "orphan", 20*time.Second, "was declared lost", func(r tasktype.Run) bool {
		return r.ID == run.ID && r.Status == tasktype.RunLost
	})
	if lost.ExitCode == nil || *lost.ExitCode != tasktype.ExitLost || lost.EndTime == nil {
		t.Errorf("lost run: %+v", lost)
	}
	s.waitRun(t, "orphan", 20*time.Second, "succeeded after the restart", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.StartTime.After(restarted)
	})
	for _, r := range s.runs(t, "orphan") {
		if r.Status == tasktype.RunRunning && r.ID <= run.ID {
			t.Errorf("run %d still says running", r.ID)
		}
	}
}

// testLogWriter sends a subprocess's output to the test log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestTerminatedWorkflowStillEndsItsRunAndProcess(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.insertTask(t, &testenv.TaskOpts{Name: "terminated", Rule: never})
	run, pid, grandchild := startSleeper(t, s, "terminated")
	// Terminate skips the end hook: what Temporal Web's Terminate button does.
	if err := s.env.Temporal.TerminateWorkflow(context.Background(), run.WorkflowID, run.RunID, "test"); err != nil {
		t.Fatal(err)
	}
	requireGone(t, pid, grandchild)
	syncer := newSyncer(t, s)
	syncer.AbandonedAfter = 0
	testenv.Eventually(t, 10*time.Second, func() string {
		if _, err := syncer.ReconcileRuns(context.Background()); err != nil {
			return err.Error()
		}
		r, err := s.env.Store.GetRun(context.Background(), run.ID)
		if err != nil {
			return err.Error()
		}
		if r.Status != tasktype.RunKilled || !strings.Contains(r.Error, "terminated") || r.EndTime == nil {
			return fmt.Sprintf("run says %s %q", r.Status, r.Error)
		}
		return ""
	})
}
