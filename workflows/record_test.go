package workflows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/internal/alerttest"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/notify"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/worker"
	"github.com/schetask/schetask/workflows"
)

// TestRecordHistories runs every path of every workflow for real — sync
// makes the schedules, the real worker runs the tasks and delivers the
// alerts to local channel servers — and writes each workflow's history to
// testdata/<name>.json for TestReplayHistories:
//
//	go test ./workflows/ -run TestRecordHistories -record -v
//
// Existing files are kept: record after adding behaviour, under a new
// file name; never re-record to make an old history pass (see
// docs/notes.md, "Workflow versioning").
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("records histories only with -record")
	}
	env := testenv.New(t)
	hook := alerttest.NewWebhook(t, nil)
	slack := alerttest.NewSlack(t)
	env.Config.Webhook = config.WebhookConfig{URL: hook.URL()}
	env.Config.WebhookAllowPrivate = true
	env.Config.Slack = config.SlackConfig{Token: config.NewSecret(slack.Token()), APIURL: slack.APIURL(), Channel: "#alerts"}
	// A failing channel gives up within seconds, not the production day.
	env.Config.AlertRetryMaxInterval = time.Second
	env.Config.AlertGiveUpAfter = 5 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	raiser, err := alert.NewRaiser(serviceconfig.Alert(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := tasksync.New(serviceconfig.Sync(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	syncer.OnTaskDeleted, syncer.OnRunClosed = raiser.TaskDeleted, raiser.RunEnded
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

	type runPath struct {
		file   string // testdata/<file>.json
		task   string
		script string           // index.sh; "" deploys no folder
		row    testenv.TaskOpts // the task's row beyond its name and rule
		kill   bool
		// stopRetry kills the task while its fire waits to retry.
		stopRetry bool
		want      tasktype.RunStatus
		// notify records the Notify workflow of the run's alert too.
		notify string
	}
	paths := []runPath{
		{file: "run_task_succeeded", task: "fine", script: "echo ok\n", want: tasktype.RunSucceeded},
		{file: "run_task_failed", task: "broken", script: "echo 'no db' >&2; exit 3\n", want: tasktype.RunFailed,
			row:    testenv.TaskOpts{AlertChannels: []string{"webhook"}},
			notify: "notify_delivered"},
		{file: "run_task_no_entrypoint", task: "empty", want: tasktype.RunFailed,
			row:    testenv.TaskOpts{AlertChannels: []string{"slack"}, SlackChannel: "#nowhere"},
			notify: "notify_failed"},
		{file: "run_task_killed", task: "sleeper", script: "sleep 600\n", kill: true, want: tasktype.RunKilled},
		{file: "run_task_timed_out", task: "slow", script: "sleep 600\n", want: tasktype.RunTimedOut,
			row: testenv.TaskOpts{Timeout: time.Second, AlertChannels: []string{"webhook"}}},
		{file: "run_task_timeout_warned", task: "lingering", script: "sleep 3; echo done\n", want: tasktype.RunSucceeded,
			row: testenv.TaskOpts{Timeout: time.Second, TimeoutAction: tasktype.TimeoutWarn, AlertChannels: []string{"webhook"}}},
		{file: "run_task_retried", task: "flaky", script: `[ "$SCHETASK_ATTEMPT" -ge 2 ] || exit 7` + "\n", want: tasktype.RunSucceeded,
			row: testenv.TaskOpts{Retry: &tasktype.Retry{Max: 2, Delay: time.Second, Backoff: 2}}},
		{file: "run_task_retries_stopped", task: "stubborn", script: "exit 7\n", stopRetry: true, want: tasktype.RunFailed,
			row: testenv.TaskOpts{Retry: &tasktype.Retry{Max: 2, Delay: time.Minute}}},
	}
	for _, p := range paths {
		if p.script != "" {
			dir := filepath.Join(env.Config.TasksDir, p.task)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "index.sh"), []byte(p.script), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		row := p.row
		row.Name = p.task
		// A rule that never fires during the test: runs come from RunNow.
		row.Rule = "0 0 1 1 *"
		testenv.Task(ctx, t, env.Store.Pool(), &row)
	}
	for _, p := range paths {
		t.Run(p.file, func(t *testing.T) {
			t.Parallel()
			testenv.Eventually(t, 20*time.Second, func() string {
				if err := ctl.RunNow(ctx, p.task); err != nil {
					return err.Error()
				}
				return ""
			})
			run := waitRun(t, env, p.task, "has started", func(r tasktype.Run) bool { return r.WorkflowID != "" })
			if p.kill {
				waitRun(t, env, p.task, "is running with a pid", func(r tasktype.Run) bool {
					return r.Status == tasktype.RunRunning && r.PID != nil
				})
				if err := ctl.KillRun(ctx, run, workflows.KillRequest{By: "recorder", Reason: "recording a kill"}); err != nil {
					t.Fatal(err)
				}
			}
			if p.stopRetry {
				waitRun(t, env, p.task, "waits to retry", func(r tasktype.Run) bool { return r.RetryAt != nil })
				if _, err := ctl.Kill(ctx, p.task, workflows.KillRequest{By: "recorder", Reason: "recording stopped retries"}); err != nil {
					t.Fatal(err)
				}
			}
			var res workflows.RunTaskResult
			if err := env.Temporal.GetWorkflow(ctx, run.WorkflowID, run.RunID).Get(ctx, &res); err != nil {
				t.Fatalf("run of %s: %v", p.task, err)
			}
			if res.Status != p.want {
				t.Fatalf("run of %s ended %s (exit %d, %q), want %s", p.task, res.Status, res.ExitCode, res.Error, p.want)
			}
			writeHistory(t, env.Temporal, p.file, run.WorkflowID, run.RunID)
			if p.notify == "" {
				return
			}
			var alertID int64
			testenv.Eventually(t, 20*time.Second, func() string {
				alerts, err := env.Store.RunAlerts(ctx, res.RunID)
				if err != nil {
					return err.Error()
				}
				for _, a := range alerts {
					if a.DispatchedAt != nil {
						alertID = a.ID
						return ""
					}
				}
				return fmt.Sprintf("no dispatched alert for run %d among %d", res.RunID, len(alerts))
			})
			id := raiser.WorkflowID(alertID)
			var sent notify.WorkflowResult
			if err := env.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &sent); err != nil {
				t.Fatalf("notify %s: %v", id, err)
			}
			t.Logf("alert %d: delivered %v, failed %v", alertID, sent.Delivered, sent.Failed)
			if len(sent.Delivered)+len(sent.Failed) == 0 {
				t.Fatalf("alert %d went to no channel", alertID)
			}
			writeHistory(t, env.Temporal, p.notify, id, "")
		})
	}
}

// waitRun waits for the newest run of the task to satisfy ok.
func waitRun(t *testing.T, env *testenv.Env, task, what string, ok func(tasktype.Run) bool) tasktype.Run {
	t.Helper()
	var found tasktype.Run
	testenv.Eventually(t, 30*time.Second, func() string {
		runs, err := env.Store.ListRuns(context.Background(), task, 1)
		if err != nil {
			return err.Error()
		}
		if len(runs) == 0 {
			return "no run of " + task
		}
		if !ok(runs[0]) {
			return fmt.Sprintf("run %d of %s is %s, not one that %s", runs[0].ID, task, runs[0].Status, what)
		}
		found = runs[0]
		return ""
	})
	return found
}

// writeHistory exports a closed workflow's history as the JSON that
// client.HistoryFromJSON and `temporal workflow show --output json` use,
// unless testdata/<file>.json exists already.
func writeHistory(t *testing.T, c client.Client, file, workflowID, runID string) {
	t.Helper()
	path := filepath.Join("testdata", file+".json")
	if _, err := os.Stat(path); err == nil {
		// A committed history is what running workflows look like; it is
		// replaced by a new file, never rewritten.
		t.Logf("kept %s: delete it first to record it again", path)
		return
	}
	iter := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d events", path, len(h.Events))
}

// deleteSchedules removes the test's schedules, which outlive its database.
func deleteSchedules(env *testenv.Env) {
	ctx := context.Background()
	iter, err := env.Temporal.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return
	}
	prefix := env.Config.ScheduleIDPrefix
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return
		}
		if len(e.ID) > len(prefix) && e.ID[:len(prefix)] == prefix {
			_ = env.Temporal.ScheduleClient().GetHandle(ctx, e.ID).Delete(ctx)
		}
	}
}
