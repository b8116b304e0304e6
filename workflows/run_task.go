// Package workflows holds schetask's workflows: RunTask, one run of a
// task per schedule fire (or chain start), and ChainGate, one per
// downstream task and logical date, which starts the task when its
// upstreams' runs allow. It is deterministic code; every side effect is
// an activity of the activities package.
package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/schetask/schetask/activities"
	"github.com/schetask/schetask/tasktype"
)

// SignalKill is the signal that kills a run: `temporal workflow signal
// --workflow-id <id> --name kill`. Its optional payload is a KillRequest.
const SignalKill = "kill"

// KillRequest says who asked for a kill and why.
type KillRequest struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// RunTaskInput is the schedule's workflow argument: the task and the
// settings its runs need. Sync writes it into the schedule.
type RunTaskInput struct {
	TaskName      string
	TimeZone      string
	Timeout       time.Duration
	TimeoutAction tasktype.TimeoutAction
	// HeartbeatTimeout is how long ExecTask may stay silent before the run
	// is declared lost.
	HeartbeatTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL.
	KillGrace time.Duration
	// MaxRunDuration bounds a run when Timeout is zero.
	MaxRunDuration time.Duration
	// Retry is the task's retry policy; nil retries nothing (and keeps the
	// input of tasks without retries as it was before retries existed).
	Retry *tasktype.Retry `json:",omitempty"`
	// Params are the parameter values a person started the run with
	// (control.RunWithParams); nil for the schedule's fires, which take
	// the declared defaults. Every attempt of the fire gets them.
	Params map[string]string `json:",omitempty"`
	// LogicalDate is the date a chain started the run for (its gate's, or
	// the failed run's for an on-failure run); the run's scheduled time
	// is then this date. nil for a schedule's fires.
	LogicalDate *time.Time `json:",omitempty"`
	// UpstreamRuns are the runs whose ends started this one.
	UpstreamRuns []int64 `json:",omitempty"`
}

// RunTaskResult is how the run ended: its last attempt.
type RunTaskResult struct {
	RunID    int64
	Version  string
	Status   tasktype.RunStatus
	ExitCode int
	Error    string
	// Attempts is how many attempts the fire made (0 in results from
	// before retries existed, meaning 1).
	Attempts int `json:",omitempty"`
}

// scheduledStartTime is the search attribute a schedule sets on each run.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// RunTask runs a task for one fire: start hook, exec (killable by signal,
// bounded by the task's timeout), end hook. It always records the run's
// end, also when the run is killed, times out, or its worker dies. A run
// the task's retry policy wants tried again is followed, after a durable
// timer, by another attempt with its own row and log, up to the policy's
// count; only the last attempt's end raises the outcome alert.
func RunTask(ctx workflow.Context, in RunTaskInput) (RunTaskResult, error) {
	var retry tasktype.Retry
	if in.Retry != nil {
		retry = *in.Retry
	}
	for attempt := 1; ; attempt++ {
		res, again, err := runAttempt(ctx, in, attempt, retry)
		if err != nil {
			return res, err
		}
		if !again {
			notifyChain(ctx, in, res)
			return res, nil
		}
		if !waitToRetry(ctx, retry.Wait(attempt)) {
			// Killed or cancelled while waiting: the last attempt's end
			// stands, and now raises its alert.
			var a *activities.Activities
			endCtx, _ := workflow.NewDisconnectedContext(hookOptions(ctx))
			var run tasktype.Run
			if err := workflow.ExecuteLocalActivity(endCtx, a.RetriesStopped, activities.RetriesStoppedInput{
				TaskName: in.TaskName, RunID: res.RunID}).Get(endCtx, &run); err != nil {
				return res, fmt.Errorf("end hook: %w", err)
			}
			notifyChain(ctx, in, res)
			return res, nil
		}
	}
}

// notifyChain tells the tasks chained to the fire's end about it (see
// activities.NotifyChain), after its last attempt: durably, retried
// through a database or Temporal outage. Histories from before chains
// have no such step and replay without it.
//
// Version 2 runs it as a local activity, in the workflow task that ran
// the end hook, like the hooks: as a regular activity (version 1) an
// attempt in flight when Temporal went down was only retried after its
// minute's timeout, holding the workflow open, and under overlap policy
// skip its schedule dropped the catch-up fire and the fires after it.
func notifyChain(ctx workflow.Context, in RunTaskInput, res RunTaskResult) {
	v := workflow.GetVersion(ctx, "chain-notify", workflow.DefaultVersion, 2)
	if v == workflow.DefaultVersion {
		return
	}
	var a *activities.Activities
	notice := activities.NotifyChainInput{
		Task: in.TaskName, RunID: res.RunID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		Status: res.Status, ScheduledTime: scheduledOf(ctx, in),
	}
	retry := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}
	// Also when the workflow was cancelled: a killed run is a failure.
	notifyCtx, _ := workflow.NewDisconnectedContext(ctx)
	var err error
	if v == 1 {
		notifyCtx = workflow.WithActivityOptions(notifyCtx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, RetryPolicy: retry,
		})
		err = workflow.ExecuteActivity(notifyCtx, a.NotifyChain, notice).Get(notifyCtx, nil)
	} else {
		notifyCtx = workflow.WithLocalActivityOptions(notifyCtx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 30 * time.Second, RetryPolicy: retry,
		})
		err = workflow.ExecuteLocalActivity(notifyCtx, a.NotifyChain, notice).Get(notifyCtx, nil)
	}
	if err != nil {
		workflow.GetLogger(ctx).Error("notify chain", "error", err)
	}
}

// hookOptions are the local activity options of the start and end hooks.
func hookOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Minute,
		// Hooks are idempotent; keep trying through a database outage.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
}

// waitToRetry waits d on a durable timer, and reports false when a kill
// request or the workflow's cancellation came first.
func waitToRetry(ctx workflow.Context, d time.Duration) bool {
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	waited, stopped := false, false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, d), func(f workflow.Future) { waited = f.Get(ctx, nil) == nil })
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalKill), func(c workflow.ReceiveChannel, _ bool) {
		var req KillRequest
		c.Receive(ctx, &req)
		workflow.GetLogger(ctx).Info("retries stopped", "by", req.By, "reason", req.Reason)
		stopped = true
	})
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { stopped = true })
	for !waited && !stopped {
		sel.Select(ctx)
	}
	return waited && !stopped
}

// runAttempt runs one attempt of the fire and says whether the policy
// wants another after it.
func runAttempt(ctx workflow.Context, in RunTaskInput, attempt int, retry tasktype.Retry) (RunTaskResult, bool, error) {
	var a *activities.Activities
	info := workflow.GetInfo(ctx)
	scheduled := scheduledOf(ctx, in)
	hookCtx := hookOptions(ctx)

	var started activities.StartRunResult
	if err := workflow.ExecuteLocalActivity(hookCtx, a.StartRun, activities.StartRunInput{
		TaskName: in.TaskName, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		ScheduledTime: scheduled, TimeZone: in.TimeZone, Attempt: attempt, Params: in.Params,
		LogicalDate: in.LogicalDate, UpstreamRuns: in.UpstreamRuns,
	}).Get(ctx, &started); err != nil {
		return RunTaskResult{}, false, fmt.Errorf("start hook: %w", err)
	}
	finish := activities.FinishRunInput{TaskName: in.TaskName, RunID: started.RunID, Version: started.Version}
	if started.Problem != "" {
		code := tasktype.ExitNoEntrypoint
		if started.ProblemExitCode != 0 {
			code = started.ProblemExitCode
		}
		finish.Status, finish.ExitCode, finish.Error = tasktype.RunFailed, code, started.Problem
	} else {
		finish.Archive = true
		execRun(ctx, in, started, &finish)
	}
	// Not after a kill on request or the workflow's cancellation (Wants
	// never retries killed), nor past the policy's count.
	again := attempt <= retry.Max && ctx.Err() == nil && retry.Wants(finish.Status, finish.ExitCode)
	if again {
		finish.RetryIn = retry.Wait(attempt)
	}

	// The end hook runs even when the workflow itself was cancelled.
	endCtx, _ := workflow.NewDisconnectedContext(hookCtx)
	var run tasktype.Run
	if err := workflow.ExecuteLocalActivity(endCtx, a.FinishRun, finish).Get(endCtx, &run); err != nil {
		return RunTaskResult{}, false, fmt.Errorf("end hook: %w", err)
	}
	res := RunTaskResult{RunID: started.RunID, Version: started.Version, Status: finish.Status,
		ExitCode: finish.ExitCode, Error: finish.Error}
	if retry.Max > 0 {
		res.Attempts = attempt
	}
	return res, again, nil
}

// execRun runs ExecTask and fills in how the run ended.
func execRun(ctx workflow.Context, in RunTaskInput, started activities.StartRunResult, finish *activities.FinishRunInput) {
	var a *activities.Activities
	logger := workflow.GetLogger(ctx)
	limit := in.Timeout
	if limit <= 0 {
		limit = in.MaxRunDuration
	}
	execCtx, cancelExec := workflow.WithCancel(ctx)
	execCtx = workflow.WithActivityOptions(execCtx, workflow.ActivityOptions{
		// A backstop: the workflow's own timer ends the run on time, and
		// the activity gets its grace period and a margin on top.
		StartToCloseTimeout: limit + in.KillGrace + time.Minute,
		HeartbeatTimeout:    in.HeartbeatTimeout,
		WaitForCancellation: true,
		// Never run a task twice for one fire.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	execFuture := workflow.ExecuteActivity(execCtx, a.ExecTask, activities.ExecTaskInput{
		TaskName: in.TaskName, RunID: started.RunID, Version: started.Version, LogPath: started.LogPath,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, ScheduledTime: scheduledOf(ctx, in),
		TimeZone: in.TimeZone, Attempt: started.Attempt, Params: started.Params,
		LogicalDate: started.LogicalDate, UpstreamRuns: in.UpstreamRuns, UpstreamHistory: started.UpstreamHistory,
	})

	var stopped tasktype.RunStatus // why we cancelled ExecTask, if we did
	var stopReason string
	done := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(execFuture, func(workflow.Future) { done = true })
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalKill), func(c workflow.ReceiveChannel, _ bool) {
		var req KillRequest
		c.Receive(ctx, &req)
		if stopped == "" {
			stopped, stopReason = tasktype.RunKilled, killMessage(req)
			logger.Info("killing run", "by", req.By, "reason", req.Reason)
			cancelExec()
		}
	})
	var timeoutAlert workflow.Future
	if in.Timeout > 0 {
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		defer cancelTimer()
		sel.AddFuture(workflow.NewTimer(timerCtx, in.Timeout), func(f workflow.Future) {
			if f.Get(ctx, nil) != nil || stopped != "" {
				return
			}
			kill := in.TimeoutAction != tasktype.TimeoutWarn
			if kill {
				stopped, stopReason = tasktype.RunTimedOut, fmt.Sprintf("run passed its timeout of %s", in.Timeout)
				cancelExec()
			}
			// The alert goes out now, not when the run ends.
			alertCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
				StartToCloseTimeout: 30 * time.Second,
				RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
			})
			timeoutAlert = workflow.ExecuteLocalActivity(alertCtx, a.AlertTimeout, activities.TimeoutAlertInput{
				TaskName: in.TaskName, RunID: started.RunID, Timeout: in.Timeout, Killed: kill})
		})
	}
	workflowCancelled := false
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {
		// The workflow itself was cancelled (CancelOther overlap, or by
		// hand); ExecTask, in a child context, is cancelled with it.
		workflowCancelled = true
		if stopped == "" {
			stopped, stopReason = tasktype.RunKilled, "workflow cancelled"
		}
	})
	for !done && !workflowCancelled {
		sel.Select(ctx)
	}

	var res activities.ExecTaskResult
	err := execFuture.Get(ctx, &res)
	if timeoutAlert != nil {
		if aerr := timeoutAlert.Get(ctx, nil); aerr != nil {
			logger.Error("timeout alert", "error", aerr)
		}
	}
	switch {
	case err == nil && res.StoppedWithWorker:
		finish.Status, finish.ExitCode, finish.Error = tasktype.RunKilled, res.ExitCode, res.Error
	case err == nil:
		// The process ended on its own, even if a kill or timeout came in
		// the same instant: ExecTask returns an error when it killed it.
		finish.ExitCode, finish.Error = res.ExitCode, res.Error
		finish.Status = tasktype.RunSucceeded
		if res.ExitCode != 0 {
			finish.Status = tasktype.RunFailed
		}
	case stopped == tasktype.RunKilled:
		finish.Status, finish.ExitCode, finish.Error = tasktype.RunKilled, tasktype.ExitKilled, stopReason
	case stopped == tasktype.RunTimedOut:
		finish.Status, finish.ExitCode, finish.Error = tasktype.RunTimedOut, tasktype.ExitTimedOut, stopReason
	default:
		finish.Status, finish.ExitCode, finish.Error = classifyExecError(err, limit)
	}
}

// classifyExecError names the end of a run whose ExecTask failed on its own.
func classifyExecError(err error, limit time.Duration) (tasktype.RunStatus, int, string) {
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		switch te.TimeoutType() {
		case enumspb.TIMEOUT_TYPE_HEARTBEAT:
			return tasktype.RunLost, tasktype.ExitLost, "its worker stopped mid-run (shut down, died or lost its connection); a process it left is killed when a worker on its host runs"
		case enumspb.TIMEOUT_TYPE_START_TO_CLOSE, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
			return tasktype.RunTimedOut, tasktype.ExitTimedOut, fmt.Sprintf("run passed the limit of %s", limit)
		}
	}
	return tasktype.RunLost, tasktype.ExitLost, fmt.Sprintf("exec failed: %v", err)
}

func killMessage(req KillRequest) string {
	msg := "killed on request"
	if req.By != "" {
		msg += " by " + req.By
	}
	if req.Reason != "" {
		msg += ": " + req.Reason
	}
	return msg
}

// scheduledOf is the run's scheduled time: its chain's logical date, the
// schedule's fire time, or, started by hand, the workflow's start.
func scheduledOf(ctx workflow.Context, in RunTaskInput) time.Time {
	if in.LogicalDate != nil {
		return *in.LogicalDate
	}
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok {
		return t
	}
	return workflow.GetInfo(ctx).WorkflowStartTime
}
