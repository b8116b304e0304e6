package e2e

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// Two workers, each allowed one process at a time, share a task that
// fires every second and runs for two: Temporal must hand the overlapping
// runs to the free worker, and no fire may run twice.
func TestTwoWorkersShareTheRunsWithoutDoubles(t *testing.T) {
	t.Parallel()
	s := startSystem(t, false)
	pids := map[int]bool{}
	for i := 0; i < 2; i++ {
		pids[startWorkerProcess(t, s, "SCHETASK_MAX_CONCURRENT_RUNS=1").Process.Pid] = true
	}
	s.writeTask(t, "shared", map[string]string{"index.sh": "sleep 1.5\necho done\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "shared", Rule: "* * * * * *", Overlap: tasktype.OverlapAllowAll})

	testenv.Eventually(t, 30*time.Second, func() string {
		n := 0
		for _, r := range s.runs(t, "shared") {
			if r.Status == tasktype.RunSucceeded {
				n++
			}
		}
		if n < 6 {
			return strconv.Itoa(n) + " succeeded runs so far"
		}
		return ""
	})
	s.exec(t, `UPDATE t_task_list SET task_status = 0 WHERE task_name = 'shared'`)

	byWorker := map[int]int{}
	fires := map[time.Time]int{}
	rows, err := s.env.Store.Pool().Query(context.Background(),
		`SELECT scheduled_time, worker_pid FROM t_task_exec_list WHERE task_name = 'shared' AND worker_pid IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at time.Time
		var pid int
		if err := rows.Scan(&at, &pid); err != nil {
			t.Fatal(err)
		}
		fires[at]++
		byWorker[pid]++
	}
	rows.Close()
	for at, n := range fires {
		if n > 1 {
			t.Errorf("the fire at %s ran %d times", at, n)
		}
	}
	for pid := range byWorker {
		if !pids[pid] {
			t.Errorf("a run was executed by pid %d, which is neither worker", pid)
		}
	}
	if len(byWorker) != 2 {
		t.Errorf("runs per worker: %v, want both workers used", byWorker)
	}
	t.Logf("runs per worker: %v", byWorker)
}

// TestWorkerStoppedWithSIGTERMDrainsThenStopsItsRuns: a worker asked to
// stop lets a run that ends within the drain time finish, gives one that
// does not SIGTERM (which the task sees), and both runs end recorded, with
// no process left and no run lost.
func TestWorkerStoppedWithSIGTERMDrainsThenStopsItsRuns(t *testing.T) {
	t.Parallel()
	s := startSystem(t, false)
	w := startWorkerProcess(t, s, "SCHETASK_WORKER_DRAIN=3s", "SCHETASK_KILL_GRACE=2s")
	s.writeTask(t, "short", map[string]string{"index.sh": "sleep 2\necho finished\n"})
	s.writeTask(t, "long", map[string]string{"index.sh": "trap 'echo got SIGTERM; exit 7' TERM\necho started\nwhile true; do sleep 0.1; done\n"})
	for _, name := range []string{"short", "long"} {
		s.insertTask(t, &testenv.TaskOpts{Name: name, Rule: never})
		s.runNow(t, name)
	}
	var pids []int
	for _, name := range []string{"short", "long"} {
		r := s.waitRun(t, name, 20*time.Second, "is running", func(r tasktype.Run) bool { return r.Status == tasktype.RunRunning && r.PID != nil })
		pids = append(pids, *r.PID)
	}

	stopped := time.Now()
	if err := w.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("worker exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop within 30 s of SIGTERM")
	}
	took := time.Since(stopped)
	if took < 3*time.Second {
		t.Errorf("the worker stopped %s after SIGTERM, before the 3 s drain", took)
	}
	requireGone(t, pids...)

	// The end hooks run on whichever worker is up: start one, as an operator would.
	s.startWorker(t)
	short := s.waitRun(t, "short", 20*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	long := s.waitRun(t, "long", 20*time.Second, "was stopped with its worker", func(r tasktype.Run) bool { return r.Status == tasktype.RunKilled })
	if !strings.Contains(long.Error, "stopped with its worker") || long.ExitCode == nil || *long.ExitCode != tasktype.ExitKilled {
		t.Errorf("stopped run: exit %v, %q", long.ExitCode, long.Error)
	}
	if b, err := os.ReadFile(s.layout.Abs(long.LogPath)); err != nil || !strings.Contains(string(b), "got SIGTERM") {
		t.Errorf("the task did not see SIGTERM: log %q, %v", b, err)
	}
	if b, err := os.ReadFile(s.layout.Abs(short.LogPath)); err != nil || !strings.Contains(string(b), "finished") {
		t.Errorf("the short task did not finish: log %q, %v", b, err)
	}
	for _, name := range []string{"short", "long"} {
		if runs := s.runs(t, name); len(runs) != 1 {
			t.Errorf("%s has %d runs, want 1: %s", name, len(runs), describeRuns(runs))
		}
	}
}
