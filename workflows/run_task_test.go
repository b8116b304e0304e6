package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/schetask/schetask/activities"
	"github.com/schetask/schetask/tasktype"
)

// These tests check the workflow's decisions with Temporal's test
// environment; the activities' real behaviour is tested against real
// servers in the worker and e2e packages.

type fakeRun struct {
	problem  string
	exec     func(ctx context.Context) (activities.ExecTaskResult, error)
	finished *activities.FinishRunInput
	// timeoutAlerts are the AlertTimeout calls.
	timeoutAlerts []activities.TimeoutAlertInput
	// notified are the NotifyChain calls.
	notified []activities.NotifyChainInput
}

func setup(t *testing.T, fr *fakeRun) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// A running activity stops the test clock from skipping ahead.
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflow(RunTask)
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.StartRunInput) (activities.StartRunResult, error) {
		return activities.StartRunResult{RunID: 7, Version: "202611/24/101010", LogPath: "x/logs/202611/24/101010.log", Problem: fr.problem}, nil
	}, activityName("StartRun"))
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.ExecTaskInput) (activities.ExecTaskResult, error) {
		return fr.exec(ctx)
	}, activityName("ExecTask"))
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.FinishRunInput) (tasktype.Run, error) {
		fr.finished = &in
		return tasktype.Run{ID: in.RunID, Status: in.Status}, nil
	}, activityName("FinishRun"))
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.TimeoutAlertInput) error {
		fr.timeoutAlerts = append(fr.timeoutAlerts, in)
		return nil
	}, activityName("AlertTimeout"))
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.NotifyChainInput) error {
		fr.notified = append(fr.notified, in)
		return nil
	}, activityName("NotifyChain"))
	return env
}

func TestRunTaskOutcomes(t *testing.T) {
	t.Parallel()
	blockUntilCancelled := func(ctx context.Context) (activities.ExecTaskResult, error) {
		<-ctx.Done()
		return activities.ExecTaskResult{}, ctx.Err()
	}
	tests := []struct {
		name       string
		input      RunTaskInput
		problem    string
		exec       func(ctx context.Context) (activities.ExecTaskResult, error)
		signalKill time.Duration // 0: none
		want       tasktype.RunStatus
		wantCode   int
		// wantTimeoutAlert is "" (none), "killed" or "goes on".
		wantTimeoutAlert string
		wantNoExec       bool
	}{
		{name: "exit 0 succeeds", exec: func(context.Context) (activities.ExecTaskResult, error) {
			return activities.ExecTaskResult{ExitCode: 0}, nil
		}, want: tasktype.RunSucceeded, wantCode: 0},
		{name: "exit 101 fails with its code", exec: func(context.Context) (activities.ExecTaskResult, error) {
			return activities.ExecTaskResult{ExitCode: 101}, nil
		}, want: tasktype.RunFailed, wantCode: 101},
		{name: "missing entrypoint fails without exec", problem: "no entrypoint", wantNoExec: true,
			want: tasktype.RunFailed, wantCode: tasktype.ExitNoEntrypoint},
		{name: "kill signal kills", exec: blockUntilCancelled, signalKill: 500 * time.Millisecond,
			want: tasktype.RunKilled, wantCode: tasktype.ExitKilled},
		{name: "timeout kills", input: RunTaskInput{Timeout: time.Second, TimeoutAction: tasktype.TimeoutKill},
			exec: blockUntilCancelled, want: tasktype.RunTimedOut, wantCode: tasktype.ExitTimedOut, wantTimeoutAlert: "killed"},
		{name: "timeout with warn lets the run finish", input: RunTaskInput{Timeout: time.Second, TimeoutAction: tasktype.TimeoutWarn},
			exec: func(ctx context.Context) (activities.ExecTaskResult, error) {
				select {
				case <-ctx.Done():
					return activities.ExecTaskResult{}, ctx.Err()
				case <-time.After(1500 * time.Millisecond):
					return activities.ExecTaskResult{ExitCode: 0}, nil
				}
			}, want: tasktype.RunSucceeded, wantCode: 0, wantTimeoutAlert: "goes on"},
		{name: "heartbeat timeout is lost", exec: func(context.Context) (activities.ExecTaskResult, error) {
			return activities.ExecTaskResult{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, errors.New("no heartbeat"))
		}, want: tasktype.RunLost, wantCode: tasktype.ExitLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fr := &fakeRun{problem: tt.problem, exec: tt.exec}
			execCalled := false
			if fr.exec == nil {
				fr.exec = func(context.Context) (activities.ExecTaskResult, error) {
					return activities.ExecTaskResult{}, nil
				}
			}
			inner := fr.exec
			fr.exec = func(ctx context.Context) (activities.ExecTaskResult, error) {
				execCalled = true
				return inner(ctx)
			}
			env := setup(t, fr)
			if tt.signalKill > 0 {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(SignalKill, KillRequest{By: "test"})
				}, tt.signalKill)
			}
			in := tt.input
			in.TaskName, in.HeartbeatTimeout, in.KillGrace, in.MaxRunDuration = "x", 10*time.Second, time.Second, time.Hour
			env.ExecuteWorkflow(RunTask, in)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow error: %v", err)
			}
			var res RunTaskResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.want || res.ExitCode != tt.wantCode {
				t.Errorf("got %s/%d, want %s/%d (error %q)", res.Status, res.ExitCode, tt.want, tt.wantCode, res.Error)
			}
			if fr.finished == nil || fr.finished.Status != tt.want {
				t.Errorf("end hook: %+v, want status %s", fr.finished, tt.want)
			}
			var alerts []string
			for _, a := range fr.timeoutAlerts {
				if a.RunID != 7 || a.Timeout != tt.input.Timeout {
					t.Errorf("timeout alert for run %d after %s, want run 7 after %s", a.RunID, a.Timeout, tt.input.Timeout)
				}
				alerts = append(alerts, map[bool]string{true: "killed", false: "goes on"}[a.Killed])
			}
			if got := strings.Join(alerts, ","); got != tt.wantTimeoutAlert {
				t.Errorf("timeout alerts = %q, want %q", got, tt.wantTimeoutAlert)
			}
			if tt.wantNoExec && execCalled {
				t.Error("exec ran for a task that cannot run")
			}
			if fr.finished != nil && fr.finished.Archive == tt.wantNoExec {
				t.Errorf("archive = %v, want %v", fr.finished.Archive, !tt.wantNoExec)
			}
		})
	}
}

func activityName(name string) activity.RegisterOptions { return activity.RegisterOptions{Name: name} }
