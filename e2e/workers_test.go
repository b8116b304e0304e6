package e2e

import (
	"context"
	"os"
	"os/exec"
	"strconv"
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
	bin := schetaskBinary(t)
	cfg := s.env.Config
	pids := map[int]bool{}
	for i := 0; i < 2; i++ {
		w := exec.Command(bin, "worker")
		w.Env = append(os.Environ(),
			"SCHETASK_DATABASE_URL="+cfg.DatabaseURL,
			"SCHETASK_TEMPORAL_ADDRESS="+cfg.TemporalAddress,
			"SCHETASK_TASK_QUEUE="+cfg.TaskQueue,
			"SCHETASK_TASKS_DIR="+cfg.TasksDir,
			"SCHETASK_METRICS_LISTEN=127.0.0.1:0",
			"SCHETASK_MAX_CONCURRENT_RUNS=1",
		)
		w.Stdout, w.Stderr = testLogWriter{t}, testLogWriter{t}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		pids[w.Process.Pid] = true
		t.Cleanup(func() { _ = w.Process.Signal(os.Interrupt); _ = w.Wait() })
	}
	s.writeTask(t, "shared", map[string]string{"index.sh": "sleep 1.5\necho done\n"})
	s.insertTask(t, "shared", "* * * * * *", `INSERT INTO t_task_list (task_name, rule, overlap_policy) VALUES ($1, $2, 'allow_all')`)

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
