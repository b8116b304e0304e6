package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/schetask/schetask/activities"
	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/worker"
	"github.com/schetask/schetask/workflows"
)

// TestRecordChainHistories records a chain's workflows (see
// TestRecordHistories): an upstream's RunTask that notifies its chain,
// the downstream's gate that starts it, and the run the gate started.
// The RunTask files are named _v2 for chain-notify v2 (a local
// activity); those without the suffix are v1's and stay.
//
//	go test ./workflows/ -run TestRecordChainHistories -record -v
func TestRecordChainHistories(t *testing.T) {
	if !*record {
		t.Skip("records histories only with -record")
	}
	env := testenv.New(t)
	// A gate that cannot start its task gives up within seconds.
	env.Config.ChainWait = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	syncer, err := tasksync.New(serviceconfig.Sync(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(serviceconfig.Worker(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	syncDone, workerDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(syncDone); _ = syncer.Run(ctx) }()
	go func() { defer close(workerDone); _ = w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-syncDone
		<-workerDone
		deleteSchedules(env)
	})
	ctl := &control.Control{Store: env.Store, Client: env.Temporal, ScheduleIDPrefix: env.Config.ScheduleIDPrefix}
	for task, script := range map[string]string{"up": "echo ok\n", "down": "echo ok\n", "fails": "exit 3\n",
		"waits": "echo ok\n", "cleanup": "echo ok\n"} {
		dir := filepath.Join(env.Config.TasksDir, task)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "up"})
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "down"})
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "cleanup"})
	// A period of 10 s: the gate of its failed run gives up soon.
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "fails", Rule: "0,10,20,30,40,50 0 0 1 1 *"})
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "waits"})
	for _, q := range []string{
		`UPDATE t_task_list SET rule = '', after = '{up}' WHERE task_name = 'down'`,
		`UPDATE t_task_list SET rule = '', after = '{fails}' WHERE task_name = 'waits'`,
		`UPDATE t_task_list SET on_failure = '{cleanup}' WHERE task_name = 'fails'`,
	} {
		if _, err := env.Store.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 20*time.Second, func() string {
		if _, err := ctl.RunWithParams(ctx, "down", nil, "recorder"); err == nil {
			// The downstream's schedule exists; that run is not recorded.
			return ""
		} else {
			return err.Error()
		}
	})
	waitRun(t, env, "down", "ended", func(r tasktype.Run) bool { return r.EndTime != nil })
	testenv.Eventually(t, 20*time.Second, func() string {
		if err := ctl.RunNow(ctx, "up"); err != nil {
			return err.Error()
		}
		return ""
	})
	up := waitRun(t, env, "up", "ended", func(r tasktype.Run) bool { return r.EndTime != nil })
	var res workflows.RunTaskResult
	if err := env.Temporal.GetWorkflow(ctx, up.WorkflowID, up.RunID).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, env.Temporal, "run_task_chain_notified_v2", up.WorkflowID, up.RunID)

	down := waitRun(t, env, "down", "was started by the chain", func(r tasktype.Run) bool {
		return len(r.UpstreamRuns) == 1 && r.EndTime != nil
	})
	if err := env.Temporal.GetWorkflow(ctx, down.WorkflowID, down.RunID).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, env.Temporal, "run_task_chain_started_v2", down.WorkflowID, down.RunID)
	gateID := activities.GateWorkflowID(env.Config.ScheduleIDPrefix, "down", *down.LogicalDate)
	if err := env.Temporal.GetWorkflow(ctx, gateID, "").Get(ctx, nil); err != nil {
		t.Fatalf("gate %s: %v", gateID, err)
	}
	writeHistory(t, env.Temporal, "chain_gate_started", gateID, "")

	testenv.Eventually(t, 20*time.Second, func() string {
		if err := ctl.RunNow(ctx, "fails"); err != nil {
			return err.Error()
		}
		return ""
	})
	failed := waitRun(t, env, "fails", "ended", func(r tasktype.Run) bool { return r.EndTime != nil })
	if err := env.Temporal.GetWorkflow(ctx, failed.WorkflowID, failed.RunID).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, env.Temporal, "run_task_chain_failed_v2", failed.WorkflowID, failed.RunID)
	cleanup := waitRun(t, env, "cleanup", "ran on failure", func(r tasktype.Run) bool {
		return len(r.UpstreamRuns) == 1 && r.EndTime != nil
	})
	if err := env.Temporal.GetWorkflow(ctx, cleanup.WorkflowID, cleanup.RunID).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, env.Temporal, "run_task_on_failure_v2", cleanup.WorkflowID, cleanup.RunID)
	gaveUp := activities.GateWorkflowID(env.Config.ScheduleIDPrefix, "waits", *failed.LogicalDate)
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := env.Temporal.GetWorkflow(wctx, gaveUp, "").Get(wctx, nil); err != nil {
		t.Fatalf("gate %s: %v", gaveUp, err)
	}
	writeHistory(t, env.Temporal, "chain_gate_gave_up", gaveUp, "")
}
