package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// StartChainRunInput is the run a gate starts: the task, the logical
// date, and the upstream runs that let it.
type StartChainRunInput struct {
	Task         string
	LogicalDate  time.Time
	UpstreamRuns []int64
}

// StartChainRunResult says whether the run started and, when it did not,
// why.
type StartChainRunResult struct {
	// WorkflowID is the run's workflow id ("" when it did not start).
	WorkflowID string
	// NotRunning says why the task does not run ("" when it started).
	NotRunning string
}

// StartChainRun starts the run of a task a gate's condition let, once
// per task and logical date (a second start of its workflow id counts as
// started). A paused or deleted task, or one without a schedule, does not
// run, and the result says why.
func (a *Activities) StartChainRun(ctx context.Context, in StartChainRunInput) (StartChainRunResult, error) {
	t, err := a.Store.GetTask(ctx, in.Task)
	if errors.Is(err, store.ErrTaskNotFound) {
		return StartChainRunResult{NotRunning: fmt.Sprintf("%s was deleted", in.Task)}, nil
	}
	if err != nil {
		return StartChainRunResult{}, fmt.Errorf("start chain run of %q: %w", in.Task, err)
	}
	if t.Status != tasktype.StatusOn {
		why := fmt.Sprintf("%s is paused", in.Task)
		if t.StatusNote != "" {
			why += ": " + t.StatusNote
		}
		return StartChainRunResult{NotRunning: why}, nil
	}
	id := ChainRunWorkflowID(a.ScheduleIDPrefix, in.Task, in.LogicalDate)
	// Temporal refuses a second start of the id while it keeps the first
	// (the namespace's retention); the run's row says so for longer.
	runs, err := a.Store.RunsOfDate(ctx, in.Task, in.LogicalDate)
	if err != nil {
		return StartChainRunResult{}, fmt.Errorf("start chain run of %q: %w", in.Task, err)
	}
	for _, r := range runs {
		if r.WorkflowID == id {
			return StartChainRunResult{WorkflowID: id}, nil
		}
	}
	err = a.startTaskRun(ctx, in.Task, id, in.LogicalDate, in.UpstreamRuns)
	if errors.Is(err, errNoSchedule) {
		return StartChainRunResult{NotRunning: fmt.Sprintf("%s has no schedule (see its sync state)", in.Task)}, nil
	}
	if err != nil {
		return StartChainRunResult{}, fmt.Errorf("start chain run of %q: %w", in.Task, err)
	}
	a.logger().Info("chain run started", slog.String("task", in.Task), slog.String("workflow_id", id),
		slog.Any("upstream_runs", in.UpstreamRuns))
	return StartChainRunResult{WorkflowID: id}, nil
}

// ChainArrivalsInput names a gate's task and logical date.
type ChainArrivalsInput struct {
	Task        string
	LogicalDate time.Time
}

// ChainArrivals reads the upstream ends an earlier gate of the same task
// and date counted (t_chain_wait.arrived), so a gate opened after
// another gave up, or after it started the task, goes on from them.
func (a *Activities) ChainArrivals(ctx context.Context, in ChainArrivalsInput) (map[string]store.GateArrival, error) {
	w, ok, err := a.Store.GetChainWait(ctx, in.Task, in.LogicalDate)
	if err != nil || !ok {
		return nil, err
	}
	return w.Arrived, nil
}

// RecordChainWaitInput is a gate's state, written at every change.
type RecordChainWaitInput struct {
	Gate    ChainGateInput
	Arrived map[string]store.GateArrival
	// State is store.ChainWaiting, ChainStarted or ChainNotRunning.
	State string
	// Reason says why the task does not run or what it waits for; when
	// empty for a waiting or given-up gate, RecordChainWait writes which
	// upstreams it waits for and what is known of them.
	Reason string
	// Expired says the gate gave up waiting.
	Expired    bool
	WorkflowID string
}

// RecordChainWait writes a gate's state to t_chain_wait. Where the gate
// waits (or gave up) for upstreams that have not reported, the reason
// names them and what holds them: paused, deleted, or no run for the
// date. It is idempotent.
func (a *Activities) RecordChainWait(ctx context.Context, in RecordChainWaitInput) error {
	reason := in.Reason
	if reason == "" && in.State != store.ChainStarted {
		reason = a.missingReason(ctx, in)
	}
	return a.Store.SetChainWait(ctx, store.SetChainWaitParams{
		TaskName: in.Gate.Task, LogicalDate: in.Gate.LogicalDate, Condition: in.Gate.Condition,
		Upstreams: in.Gate.Upstreams, Arrived: in.Arrived, State: in.State, Reason: reason, WorkflowID: in.WorkflowID,
	})
}

// missingReason names the upstreams that have not reported and why.
func (a *Activities) missingReason(ctx context.Context, in RecordChainWaitInput) string {
	var parts []string
	for _, u := range in.Gate.Upstreams {
		if _, ok := in.Arrived[u]; ok {
			continue
		}
		if in.Expired {
			parts = append(parts, fmt.Sprintf("%s never reported (%s)", u, a.upstreamState(ctx, u)))
		} else {
			parts = append(parts, fmt.Sprintf("%s (%s)", u, a.upstreamState(ctx, u)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if in.Expired {
		return fmt.Sprintf("waited %s; %s", shortDuration(in.Gate.Wait), strings.Join(parts, "; "))
	}
	return "waiting for " + strings.Join(parts, ", ")
}

// upstreamState says what is known of an upstream that has not reported.
func (a *Activities) upstreamState(ctx context.Context, name string) string {
	t, err := a.Store.GetTask(ctx, name)
	switch {
	case errors.Is(err, store.ErrTaskNotFound):
		return name + " was deleted"
	case err != nil:
		return name + " could not be read"
	case t.Status != tasktype.StatusOn:
		return name + " is paused"
	}
	return name + " has not ended a run for this date"
}

// shortDuration writes d without trailing zero units: 24h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
